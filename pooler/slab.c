/*
 * slab.c: owns the fixed-size object caches (see slab.h). Chunks are allocated in growing batches of
 * objects and never freed; a released object goes on the head of a singly linked free list stored in
 * its own first bytes, and is zeroed again when handed out.
 */
#include "slab.h"

#include <stdlib.h>
#include <string.h>

#define SLAB_MIN_BATCH 16
#define SLAB_MAX_BATCH 1024

typedef struct FreeObj
{
	struct FreeObj *next;
} FreeObj;

struct Slab
{
	const char *name;
	size_t		size;
	FreeObj    *free_list;
	int			total;
	int			n_free;
	int			batch;
	void	   *chunks;			/* every chunk, linked through its first word (never freed) */
};

#define CHUNK_HEADER 16			/* keeps the objects after the link 16-byte aligned */
#define SLAB_REGISTRY_MAX 16

/* every live cache, for SHOW MEM (a handful, created at start) */
static Slab *registry[SLAB_REGISTRY_MAX];

Slab *
slab_create(const char *name, size_t size)
{
	Slab	   *slab = calloc(1, sizeof(Slab));

	if (!slab)
		return NULL;
	slab->name = name;
	/* keep every object aligned for any member type */
	slab->size = (size < sizeof(FreeObj) ? sizeof(FreeObj) : size + 15) & ~(size_t) 15;
	slab->batch = SLAB_MIN_BATCH;
	for (int i = 0; i < SLAB_REGISTRY_MAX; i++)
		if (!registry[i])
		{
			registry[i] = slab;
			break;
		}
	return slab;
}

/* slab_grow: carves a new chunk into free objects; the batch doubles up to SLAB_MAX_BATCH. */
static int
slab_grow(Slab *slab)
{
	char	   *chunk = malloc(CHUNK_HEADER + slab->size * slab->batch);

	if (!chunk)
		return 0;
	*(void **) chunk = slab->chunks;
	slab->chunks = chunk;
	for (int i = slab->batch - 1; i >= 0; i--)
	{
		FreeObj    *obj = (FreeObj *) (chunk + CHUNK_HEADER + (size_t) i * slab->size);

		obj->next = slab->free_list;
		slab->free_list = obj;
	}
	slab->total += slab->batch;
	slab->n_free += slab->batch;
	if (slab->batch < SLAB_MAX_BATCH)
		slab->batch *= 2;
	return 1;
}

void *
slab_alloc(Slab *slab)
{
	FreeObj    *obj;

	if (!slab->free_list && !slab_grow(slab))
		return NULL;
	obj = slab->free_list;
	if (!obj)
		return NULL;
	slab->free_list = obj->next;
	slab->n_free--;
	memset(obj, 0, slab->size);
	return obj;
}

void
slab_free(Slab *slab, void *obj)
{
	FreeObj    *f = obj;

	f->next = slab->free_list;
	slab->free_list = f;
	slab->n_free++;
}

void
slab_destroy(Slab *slab)
{
	for (int i = 0; i < SLAB_REGISTRY_MAX; i++)
		if (registry[i] == slab)
			registry[i] = NULL;
	while (slab->chunks)
	{
		void	   *next = *(void **) slab->chunks;

		free(slab->chunks);
		slab->chunks = next;
	}
	free(slab);
}

int
slab_total(const Slab *slab)
{
	return slab->total;
}

int
slab_free_count(const Slab *slab)
{
	return slab->n_free;
}

void
slab_walk(void (*cb) (void *arg, const char *name, size_t size, int used, int n_free), void *arg)
{
	for (int i = 0; i < SLAB_REGISTRY_MAX; i++)
		if (registry[i])
			cb(arg, registry[i]->name, registry[i]->size, registry[i]->total - registry[i]->n_free,
			   registry[i]->n_free);
}
