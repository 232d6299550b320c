/*
 * slab.h: fixed-size object caches. Objects are carved from chunks of many objects and returned to a
 * free list when released, so connection objects are never malloc'ed one by one and never given back
 * to libc (PgBouncer's slab idea, without its statistics).
 */
#ifndef FAREGATE_SLAB_H
#define FAREGATE_SLAB_H

#include <stddef.h>

typedef struct Slab Slab;

/* slab_create: a cache of objects of size bytes, named for SHOW LISTS-style reporting. */
extern Slab *slab_create(const char *name, size_t size);

/* slab_alloc: a zeroed object, or NULL when memory is exhausted. */
__attribute__((warn_unused_result))
extern void *slab_alloc(Slab *slab);

/* slab_free: returns obj to the cache's free list. */
extern void slab_free(Slab *slab, void *obj);

/* slab_destroy: frees every chunk and the cache (all objects must be unused). */
extern void slab_destroy(Slab *slab);

/* slab_total, slab_free_count: objects carved so far, and those on the free list. */
extern int	slab_total(const Slab *slab);
extern int	slab_free_count(const Slab *slab);

/* slab_walk: cb for every cache: name, object size (bytes), objects in use and free (SHOW MEM). */
extern void slab_walk(void (*cb) (void *arg, const char *name, size_t size, int used, int n_free), void *arg);

#endif
