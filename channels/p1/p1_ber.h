/* p1_ber: the small BER reader and writer the upper layers share. The reader walks one TLV
 * in place (definite or indefinite length, nesting bounded) and never trusts a length; the
 * writer emits identifier and definite length octets. Only what the OSI upper layers and
 * the MTA bind need: one-octet identifiers (tags 0..30). */
#ifndef P1_BER_H
#define P1_BER_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"

struct p1_tlv {
    uint8_t id;          /* first identifier octet (class, constructed bit, tag < 31) */
    const uint8_t *v;    /* contents (for indefinite length: without the end-of-contents) */
    size_t len;
    size_t total;        /* identifier + length + contents (+ EOC) */
};

#define P1_BER_CONS 0x20

/* Read the TLV at p. 0, MG_EINCOMPLETE (n too short), MG_EPARSE. */
int p1_ber_read(const uint8_t *p, size_t n, struct p1_tlv *t);
/* Iterate the TLVs inside a constructed value: *off starts at 0; returns 1 with *t set, 0 at
 * the end, negative on error. */
int p1_ber_next(const struct p1_tlv *outer, size_t *off, struct p1_tlv *t);
/* Find the first child with identifier id; 1 found, 0 not, negative error. */
int p1_ber_find(const struct p1_tlv *outer, uint8_t id, struct p1_tlv *t);
/* INTEGER contents (1..8 octets) into *out. */
int p1_ber_int(const struct p1_tlv *t, long *out);
/* Concatenate an OCTET STRING's contents (primitive or constructed segments) into dst via
 * the callback; depth-limited. */
int p1_ber_octets(const struct p1_tlv *t, int (*sink)(void *arg, const uint8_t *p, size_t n),
                  void *arg);

/* Size of identifier+length octets for a contents length. */
size_t p1_ber_hdr_len(size_t len);
/* Write identifier+length into h (at least 6 bytes), return its size. */
size_t p1_ber_hdr(uint8_t *h, uint8_t id, size_t len);
int p1_ber_put(struct mg_buf *b, uint8_t id, const void *v, size_t len);
int p1_ber_put_int(struct mg_buf *b, uint8_t id, long v);
/* Wrap the bytes of b from offset start to its end as the contents of (id). */
int p1_ber_wrap(struct mg_buf *b, size_t start, uint8_t id);

#endif
