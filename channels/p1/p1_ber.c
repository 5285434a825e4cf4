/* p1_ber: in-place BER TLV reading and definite-length writing for the P1 stack. */
#include "p1_ber.h"

#include <string.h>

#include "mg_err.h"

#define P1_BER_MAX_DEPTH 32

static int read_tlv(const uint8_t *p, size_t n, struct p1_tlv *t, int depth)
{
    if (depth > P1_BER_MAX_DEPTH)
        return MG_EPARSE;
    if (n < 2)
        return MG_EINCOMPLETE;
    if ((p[0] & 0x1f) == 0x1f)
        return MG_EPARSE; /* high tag numbers: not used by these protocols */
    t->id = p[0];
    size_t i = 1;
    uint8_t l0 = p[i++];
    if (l0 == 0x80) {
        if (!(t->id & P1_BER_CONS))
            return MG_EPARSE;
        size_t off = i;
        for (;;) {
            if (n - off < 2)
                return MG_EINCOMPLETE;
            if (p[off] == 0 && p[off + 1] == 0) {
                t->v = p + i;
                t->len = off - i;
                t->total = off + 2;
                return 0;
            }
            struct p1_tlv in;
            int rc = read_tlv(p + off, n - off, &in, depth + 1);
            if (rc)
                return rc;
            off += in.total;
        }
    }
    size_t len = 0;
    if (l0 & 0x80) {
        unsigned k = l0 & 0x7f;
        if (k == 0 || k > 4)
            return MG_EPARSE;
        if (n - i < k)
            return MG_EINCOMPLETE;
        for (unsigned j = 0; j < k; j++)
            len = (len << 8) | p[i++];
    } else {
        len = l0;
    }
    if (len > n - i)
        return MG_EINCOMPLETE;
    t->v = p + i;
    t->len = len;
    t->total = i + len;
    return 0;
}

int p1_ber_read(const uint8_t *p, size_t n, struct p1_tlv *t)
{
    return read_tlv(p, n, t, 0);
}

int p1_ber_next(const struct p1_tlv *outer, size_t *off, struct p1_tlv *t)
{
    if (*off >= outer->len)
        return 0;
    int rc = p1_ber_read(outer->v + *off, outer->len - *off, t);
    if (rc)
        return rc == MG_EINCOMPLETE ? MG_EPARSE : rc;
    *off += t->total;
    return 1;
}

int p1_ber_find(const struct p1_tlv *outer, uint8_t id, struct p1_tlv *t)
{
    size_t off = 0;
    int rc;
    while ((rc = p1_ber_next(outer, &off, t)) == 1)
        if (t->id == id)
            return 1;
    return rc;
}

int p1_ber_int(const struct p1_tlv *t, long *out)
{
    if (t->len < 1 || t->len > 8 || (t->id & P1_BER_CONS))
        return MG_EPARSE;
    unsigned long long u = (t->v[0] & 0x80) ? ~0ULL : 0;
    for (size_t i = 0; i < t->len; i++)
        u = (u << 8) | t->v[i];
    *out = (long)u;
    return 0;
}

static int octets(const struct p1_tlv *t, int (*sink)(void *, const uint8_t *, size_t), void *arg,
                  int depth)
{
    if (depth > P1_BER_MAX_DEPTH)
        return MG_EPARSE;
    if (!(t->id & P1_BER_CONS))
        return sink(arg, t->v, t->len);
    size_t off = 0;
    struct p1_tlv in;
    int rc;
    while ((rc = p1_ber_next(t, &off, &in)) == 1) {
        if (in.id != 0x04 && in.id != 0x24)
            return MG_EPARSE;
        if ((rc = octets(&in, sink, arg, depth + 1)) != 0)
            return rc;
    }
    return rc;
}

int p1_ber_octets(const struct p1_tlv *t, int (*sink)(void *arg, const uint8_t *p, size_t n),
                  void *arg)
{
    return octets(t, sink, arg, 0);
}

size_t p1_ber_hdr_len(size_t len)
{
    if (len < 0x80)
        return 2;
    if (len < 0x100)
        return 3;
    if (len < 0x10000)
        return 4;
    if (len < 0x1000000)
        return 5;
    return 6;
}

size_t p1_ber_hdr(uint8_t *h, uint8_t id, size_t len)
{
    size_t n = p1_ber_hdr_len(len);
    h[0] = id;
    if (n == 2) {
        h[1] = (uint8_t)len;
    } else {
        h[1] = (uint8_t)(0x80 | (n - 2));
        for (size_t i = 0; i < n - 2; i++)
            h[n - 1 - i] = (uint8_t)(len >> (8 * i));
    }
    return n;
}

int p1_ber_put(struct mg_buf *b, uint8_t id, const void *v, size_t len)
{
    uint8_t h[6];
    size_t hl = p1_ber_hdr(h, id, len);
    int rc = mg_buf_append(b, h, hl);
    return rc ? rc : mg_buf_append(b, v, len);
}

int p1_ber_put_int(struct mg_buf *b, uint8_t id, long v)
{
    uint8_t tmp[8];
    size_t n = 8;
    unsigned long long u = (unsigned long long)v;
    for (int i = 7; i >= 0; i--, u >>= 8)
        tmp[i] = (uint8_t)u;
    size_t s = 0;
    while (s < 7 && ((tmp[s] == 0 && !(tmp[s + 1] & 0x80)) ||
                     (tmp[s] == 0xff && (tmp[s + 1] & 0x80))))
        s++;
    return p1_ber_put(b, id, tmp + s, n - s);
}

int p1_ber_wrap(struct mg_buf *b, size_t start, uint8_t id)
{
    size_t len = b->len - start;
    uint8_t h[6];
    size_t hl = p1_ber_hdr(h, id, len);
    int rc = mg_buf_reserve(b, hl);
    if (rc)
        return rc;
    memmove(b->data + start + hl, b->data + start, len);
    memcpy(b->data + start, h, hl);
    b->len += hl;
    b->data[b->len] = 0;
    return 0;
}
