/*
 * test_slab.c: unit tests of the buffer and object caches: iobuf.c (pooled I/O buffers) and
 * slab.c (fixed-size object slabs).
 */
#include <stdlib.h>
#include <string.h>

#include "iobuf.h"
#include "slab.h"
#include "tap.h"

static void
test_iobuf_slab(void)
{
	IOBuf	   *buf = NULL;
	int			before = iobuf_in_use();
	Slab	   *slab = slab_create("test", 40);
	void	   *objs[100];
	bool		zeroed = true;

	tap_ok(iobuf_append(&buf, "hello", 5) && iobuf_len(buf) == 5, "append takes a buffer");
	tap_is_long(iobuf_in_use(), before + 1, "one buffer lent");
	iobuf_consume(&buf, 5);
	tap_ok(buf == NULL && iobuf_in_use() == before, "an emptied buffer goes back");
	tap_ok(!iobuf_reserve(&buf, IOBUF_SIZE + 1, false), "no growth when not allowed");
	tap_ok(iobuf_reserve(&buf, IOBUF_SIZE + 1, true) && buf->big && buf->cap >= IOBUF_SIZE + 1,
		   "an oversize message gets a big buffer");
	iobuf_release(&buf);
	tap_ok(iobuf_append(&buf, "abcdef", 6), "append");
	iobuf_consume(&buf, 2);
	tap_ok(iobuf_reserve(&buf, IOBUF_SIZE - 4, false) && buf->start == 0 && memcmp(buf->data, "cdef", 4) == 0,
		   "reserve compacts the live bytes to the front");
	iobuf_release(&buf);

	for (int i = 0; i < 100; i++)
	{
		objs[i] = slab_alloc(slab);
		memset(objs[i], 0xff, 40);
	}
	for (int i = 0; i < 100; i++)
		slab_free(slab, objs[i]);
	tap_is_long(slab_free_count(slab), slab_total(slab), "every object back on the free list");
	for (int i = 0; i < 100; i++)
	{
		uint8_t    *p = slab_alloc(slab);

		for (int j = 0; j < 40; j++)
			zeroed = zeroed && p[j] == 0;
	}
	tap_ok(zeroed, "objects come back zeroed");
	slab_destroy(slab);
}

int
main(void)
{
	test_iobuf_slab();
	return tap_done();
}
