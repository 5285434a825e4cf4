/* p1_buf: the buffers of the P1 stack. A send chain is a list of segments, each either bytes
 * the chain owns (the headers the layers write) or a borrowed slice of the caller's payload
 * (the message, never copied on the way out); p1_chain_iov hands it to a writer as an
 * uv_buf_t-like array. A reassembly buffer grows to the size of what arrives, up to a limit
 * it reports as MG_ETOOBIG (never truncates): it is the one copy of a large message. */
#ifndef P1_BUF_H
#define P1_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"

struct p1_seg {
    const uint8_t *ext; /* borrowed bytes, or NULL: bytes at own.data + off */
    size_t off, len;
};

struct p1_chain {
    struct mg_buf own;   /* owned header bytes (segments refer to them by offset) */
    struct p1_seg *seg;  /* owned array */
    size_t nseg, cap;
    size_t head;         /* segments before head are sent */
    size_t total;        /* unsent bytes */
};

/* What a writer gets: base and length, as uv_buf_t has. */
struct p1_iov {
    const void *base;
    size_t len;
};

void p1_chain_init(struct p1_chain *c);
void p1_chain_free(struct p1_chain *c);
void p1_chain_reset(struct p1_chain *c);
/* Append a copy of n bytes (owned) / a borrowed slice (must outlive the chain's use of it). */
int p1_chain_own(struct p1_chain *c, const void *p, size_t n);
int p1_chain_borrow(struct p1_chain *c, const void *p, size_t n);
/* Put a copy of n header bytes in front of everything unsent. */
int p1_chain_prepend(struct p1_chain *c, const void *p, size_t n);
/* Append every unsent byte of src (owned bytes copied, borrowed slices stay borrowed),
 * limited to the range [from, from+n) of src's unsent bytes. */
int p1_chain_append_range(struct p1_chain *c, const struct p1_chain *src, size_t from, size_t n);
/* Fill up to max iovs with the unsent bytes, return the count. */
size_t p1_chain_iov(const struct p1_chain *c, struct p1_iov *iov, size_t max);
/* n bytes were written. When nothing is left the owned storage is reset. */
void p1_chain_consume(struct p1_chain *c, size_t n);
/* Copy every unsent byte into out (tests, pcaps) and consume them. */
int p1_chain_drain(struct p1_chain *c, struct mg_buf *out);

struct p1_reasm {
    struct mg_buf b;
};
void p1_reasm_init(struct p1_reasm *r, size_t limit);
void p1_reasm_free(struct p1_reasm *r);
void p1_reasm_reset(struct p1_reasm *r);
/* 0, MG_ETOOBIG past the limit (nothing appended), MG_ENOMEM. */
int p1_reasm_append(struct p1_reasm *r, const void *p, size_t n);

#endif
