/*
 * version.h: the release version of faregate-pooler, shown by --version and SHOW VERSION.
 */
#ifndef FAREGATE_POOLER_VERSION_H
#define FAREGATE_POOLER_VERSION_H

#define FAREGATE_POOLER_VERSION "0.1.0"

#endif
