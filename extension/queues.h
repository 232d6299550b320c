/*
 * queues.h
 *	  Cross-file API of queues.c (queue position, ETA and statistics): its GUC definitions, called
 *	  from _PG_init.
 */
#ifndef FAREGATE_QUEUES_H
#define FAREGATE_QUEUES_H

/* queues_define_gucs: defines faregate.queue_* settings (docs/queues.md, "Settings"). */
extern void queues_define_gucs(void);

#endif							/* FAREGATE_QUEUES_H */
