/*
 * faregate.h
 *	  Cross-file API of the faregate extension: the library version and each module's init hook
 *	  (called from _PG_init in faregate.c).
 */
#ifndef FAREGATE_H
#define FAREGATE_H

#define FAREGATE_VERSION "0.2"

extern void _PG_init(void);

/* fares.c: faregate.timezone and the fare cache's invalidation callback */
extern void fares_define_gucs(void);
/* queues.c: defines the faregate.queue_* settings */
extern void queues_define_gucs(void);

#endif							/* FAREGATE_H */
