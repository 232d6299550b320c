/*
 * version.h: the release version of faregate-pooler, shown by --version and SHOW VERSION.
 */
#ifndef FAREGATE_POOLER_VERSION_H
#define FAREGATE_POOLER_VERSION_H

#define FAREGATE_POOLER_VERSION "0.1.0"

/* the first line of --version and the row of SHOW VERSION: one text (PgBouncer's suite compares them) */
#define FAREGATE_POOLER_VERSION_LINE "faregate-pooler " FAREGATE_POOLER_VERSION " (PgBouncer 1.25 compatible console)"

#endif
