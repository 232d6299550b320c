/*
 * iobuf.c: owns the I/O buffer free list (layout in iobuf.h). The free list is bounded: buffers beyond
 * IOBUF_FREE_MAX go back to libc, so a burst of traffic does not pin its peak memory forever.
 */
#include "iobuf.h"

#include <stdlib.h>
#include <string.h>

#define IOBUF_FREE_MAX 4096

static IOBuf *free_list;
static int	n_free;
static int	n_in_use;

static IOBuf *
iobuf_new(size_t cap, bool big)
{
	IOBuf	   *buf;

	if (!big && free_list)
	{
		buf = free_list;
		free_list = buf->next_free;
		n_free--;
	}
	else if (!(buf = malloc(sizeof(IOBuf) + cap)))
		return NULL;
	buf->next_free = NULL;
	buf->cap = (uint32_t) cap;
	buf->start = buf->end = 0;
	buf->big = big;
	n_in_use++;
	return buf;
}

static void
iobuf_dispose(IOBuf *buf)
{
	n_in_use--;
	if (buf->big || n_free >= IOBUF_FREE_MAX)
	{
		free(buf);
		return;
	}
	buf->next_free = free_list;
	free_list = buf;
	n_free++;
}

bool
iobuf_reserve(IOBuf **bufp, size_t need, bool may_grow)
{
	IOBuf	   *buf = *bufp;
	size_t		len;
	IOBuf	   *bigger;

	if (!buf)
	{
		size_t		cap = need > IOBUF_SIZE ? need : IOBUF_SIZE;

		if (cap > IOBUF_SIZE && !may_grow)
			return false;
		*bufp = iobuf_new(cap, cap > IOBUF_SIZE);
		return *bufp != NULL;
	}
	if (buf->cap - buf->end >= need)
		return true;
	len = buf->end - buf->start;
	if (buf->cap - len >= need)
	{
		memmove(buf->data, buf->data + buf->start, len);
		buf->start = 0;
		buf->end = (uint32_t) len;
		return true;
	}
	if (!may_grow || len + need > (size_t) IOBUF_MAX_MESSAGE + IOBUF_SIZE)
		return false;
	bigger = iobuf_new(len + need, true);
	if (!bigger)
		return false;
	memcpy(bigger->data, buf->data + buf->start, len);
	bigger->end = (uint32_t) len;
	iobuf_dispose(buf);
	*bufp = bigger;
	return true;
}

bool
iobuf_grow_toward(IOBuf **bufp, size_t missing)
{
	size_t		len = iobuf_len(*bufp);
	size_t		step = len > IOBUF_SIZE ? len : IOBUF_SIZE;

	if (*bufp && (*bufp)->cap > len)
		return true;			/* room left: conn_recv compacts and fills it first */
	return iobuf_reserve(bufp, missing < step ? missing : step, true);
}

bool
iobuf_append(IOBuf **bufp, const void *data, size_t len)
{
	if (!iobuf_reserve(bufp, len, true))
		return false;
	memcpy((*bufp)->data + (*bufp)->end, data, len);
	(*bufp)->end += (uint32_t) len;
	return true;
}

void
iobuf_consume(IOBuf **bufp, size_t n)
{
	IOBuf	   *buf = *bufp;

	buf->start += (uint32_t) n;
	if (buf->start >= buf->end)
	{
		iobuf_dispose(buf);
		*bufp = NULL;
	}
}

void
iobuf_release(IOBuf **bufp)
{
	if (*bufp)
	{
		iobuf_dispose(*bufp);
		*bufp = NULL;
	}
}

int
iobuf_in_use(void)
{
	return n_in_use;
}

int
iobuf_free_count(void)
{
	return n_free;
}
