/*
 * iobuf.h: per-connection I/O buffers, lent from a free list only while bytes are in flight.
 *
 * Layout of one IOBuf (a single allocation: header, then cap bytes of data):
 *
 *     data: [0 ........ start) [start ........ end) [end ........ cap)
 *            consumed, garbage   bytes owned by      free space for the
 *                                the connection      next recv()/append
 *
 * A connection has at most two: rbuf (bytes received from its socket and not yet handled: for a client
 * these are its requests, for a server its replies) and wbuf (bytes to send to its socket: forwarded
 * messages of the peer plus what the pooler writes itself). A client whose autocommit read runs on a
 * replica also has its kept request and held reply in two more (routing.c) until it goes idle. When
 * start == end the buffer goes back to the free list, so an idle connection holds none. Buffers are IOBUF_SIZE bytes; a single message that
 * must be inspected whole and is larger than that (a huge Parse or Query) gets a one-off "big" buffer,
 * freed (not pooled) once empty. A big buffer grows with the bytes actually received (iobuf_grow_toward
 * at most doubles it per step), never to the length a peer merely claims, so a header announcing 256 MB
 * followed by a few bytes costs a few kB, not 256 MB.
 */
#ifndef FAREGATE_IOBUF_H
#define FAREGATE_IOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOBUF_SIZE (32 * 1024 - 64)
#define IOBUF_MAX_MESSAGE (256 * 1024 * 1024)	/* longest message the pooler inspects whole */

typedef struct IOBuf
{
	struct IOBuf *next_free;	/* link on the free list */
	uint32_t	cap;			/* bytes in data[] */
	uint32_t	start;			/* first byte not yet consumed */
	uint32_t	end;			/* one past the last valid byte */
	bool		big;			/* one-off oversize buffer: freed, not pooled */
	uint8_t		data[];
} IOBuf;

/* iobuf_len: valid bytes; iobuf_space: room at the end after compaction. */
static inline uint32_t
iobuf_len(const IOBuf *buf)
{
	return buf ? buf->end - buf->start : 0;
}

static inline uint8_t *
iobuf_head(const IOBuf *buf)
{
	return (uint8_t *) buf->data + buf->start;
}

/*
 * iobuf_reserve: makes *bufp (taken from the free list when NULL) hold at least need free bytes at its
 * end, compacting it first. With may_grow it moves the contents to a bigger buffer when need does not
 * fit; without, it fails instead. Returns false when there is no room (or no memory).
 */
__attribute__((warn_unused_result))
extern bool iobuf_reserve(IOBuf **bufp, size_t need, bool may_grow);

/*
 * iobuf_grow_toward: makes room for the next part of a message still missing `missing` bytes: grows a
 * full buffer to at most twice its contents (at least IOBUF_SIZE of room), never past `missing`.
 * Returns false when there is no memory.
 */
__attribute__((warn_unused_result))
extern bool iobuf_grow_toward(IOBuf **bufp, size_t missing);

/* iobuf_append: copies len bytes to the end (growing as needed). */
__attribute__((warn_unused_result))
extern bool iobuf_append(IOBuf **bufp, const void *data, size_t len);

/* iobuf_consume: drops n bytes at the start and gives the buffer back once it is empty. */
extern void iobuf_consume(IOBuf **bufp, size_t n);

/* iobuf_release: gives the buffer back whatever it holds (for closing connections). */
extern void iobuf_release(IOBuf **bufp);

/* iobuf_in_use, iobuf_free_count: buffers lent out and buffers on the free list (SHOW LISTS). */
extern int	iobuf_in_use(void);
extern int	iobuf_free_count(void);

#endif
