/* p1_buf: send chains of owned headers and borrowed payload slices; reassembly buffers. */
#include "p1_buf.h"

#include <stdlib.h>
#include <string.h>

#include "mg_err.h"

void p1_chain_init(struct p1_chain *c)
{
    memset(c, 0, sizeof *c);
    mg_buf_init(&c->own, 0);
}

void p1_chain_free(struct p1_chain *c)
{
    mg_buf_free(&c->own);
    free(c->seg);
    memset(c, 0, sizeof *c);
}

void p1_chain_reset(struct p1_chain *c)
{
    mg_buf_reset(&c->own);
    c->nseg = c->head = c->total = 0;
}

static int seg_insert(struct p1_chain *c, size_t at, struct p1_seg s)
{
    if (s.len == 0)
        return 0;
    if (c->nseg == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        struct p1_seg *n = realloc(c->seg, ncap * sizeof *n);
        if (!n)
            return MG_ENOMEM;
        c->seg = n;
        c->cap = ncap;
    }
    memmove(&c->seg[at + 1], &c->seg[at], (c->nseg - at) * sizeof *c->seg);
    c->seg[at] = s;
    c->nseg++;
    c->total += s.len;
    return 0;
}

int p1_chain_own(struct p1_chain *c, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    size_t off = c->own.len;
    int rc = mg_buf_append(&c->own, p, n);
    if (rc)
        return rc;
    if (c->nseg > c->head) {
        struct p1_seg *last = &c->seg[c->nseg - 1];
        if (!last->ext && last->off + last->len == off) {
            last->len += n;
            c->total += n;
            return 0;
        }
    }
    return seg_insert(c, c->nseg, (struct p1_seg){NULL, off, n});
}

int p1_chain_borrow(struct p1_chain *c, const void *p, size_t n)
{
    return seg_insert(c, c->nseg, (struct p1_seg){p, 0, n});
}

int p1_chain_prepend(struct p1_chain *c, const void *p, size_t n)
{
    size_t off = c->own.len;
    int rc = mg_buf_append(&c->own, p, n);
    if (rc)
        return rc;
    return seg_insert(c, c->head, (struct p1_seg){NULL, off, n});
}

static const uint8_t *seg_ptr(const struct p1_chain *c, const struct p1_seg *s)
{
    return s->ext ? s->ext : c->own.data + s->off;
}

int p1_chain_append_range(struct p1_chain *c, const struct p1_chain *src, size_t from, size_t n)
{
    for (size_t i = src->head; i < src->nseg && n > 0; i++) {
        const struct p1_seg *s = &src->seg[i];
        if (from >= s->len) {
            from -= s->len;
            continue;
        }
        size_t take = s->len - from;
        if (take > n)
            take = n;
        const uint8_t *p = seg_ptr(src, s) + from;
        int rc = s->ext ? p1_chain_borrow(c, p, take) : p1_chain_own(c, p, take);
        if (rc)
            return rc;
        n -= take;
        from = 0;
    }
    return n ? MG_EINVAL : 0;
}

size_t p1_chain_iov(const struct p1_chain *c, struct p1_iov *iov, size_t max)
{
    size_t k = 0;
    for (size_t i = c->head; i < c->nseg && k < max; i++, k++) {
        iov[k].base = seg_ptr(c, &c->seg[i]);
        iov[k].len = c->seg[i].len;
    }
    return k;
}

void p1_chain_consume(struct p1_chain *c, size_t n)
{
    while (n > 0 && c->head < c->nseg) {
        struct p1_seg *s = &c->seg[c->head];
        size_t take = n < s->len ? n : s->len;
        if (s->ext)
            s->ext += take;
        else
            s->off += take;
        s->len -= take;
        c->total -= take;
        n -= take;
        if (s->len == 0)
            c->head++;
    }
    if (c->head == c->nseg)
        p1_chain_reset(c);
}

int p1_chain_drain(struct p1_chain *c, struct mg_buf *out)
{
    for (size_t i = c->head; i < c->nseg; i++) {
        int rc = mg_buf_append(out, seg_ptr(c, &c->seg[i]), c->seg[i].len);
        if (rc)
            return rc;
    }
    p1_chain_consume(c, c->total);
    return 0;
}

void p1_reasm_init(struct p1_reasm *r, size_t limit)
{
    mg_buf_init(&r->b, limit);
}

void p1_reasm_free(struct p1_reasm *r)
{
    mg_buf_free(&r->b);
}

void p1_reasm_reset(struct p1_reasm *r)
{
    mg_buf_reset(&r->b);
}

int p1_reasm_append(struct p1_reasm *r, const void *p, size_t n)
{
    if (r->b.limit && (n > r->b.limit || r->b.len > r->b.limit - n))
        return MG_ETOOBIG;
    return mg_buf_append(&r->b, p, n);
}
