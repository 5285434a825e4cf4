/* mixer_ber: minimal BER TLV writer (definite lengths, patched on close) and reader. */
#include "mixer_ber.h"

#include <stdlib.h>
#include <string.h>

#include "mg_err.h"

void mixer_ber_init(struct mixer_ber *w, struct mg_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

static void put(struct mixer_ber *w, const void *p, size_t n)
{
    if (!w->err)
        w->err = mg_buf_append(w->out, p, n);
}

static void put_id(struct mixer_ber *w, unsigned cls, unsigned number)
{
    uint8_t id[8];
    size_t k = 0;
    if (number < 31) {
        id[k++] = (uint8_t)(cls | number);
    } else {
        uint8_t tmp[6];
        size_t t = 0;
        id[k++] = (uint8_t)(cls | 31);
        do {
            tmp[t++] = (uint8_t)(number & 0x7f);
            number >>= 7;
        } while (number && t < sizeof tmp);
        while (t > 0) {
            t--;
            id[k++] = (uint8_t)(tmp[t] | (t ? 0x80 : 0));
        }
    }
    put(w, id, k);
}

static size_t len_octets(size_t n, uint8_t *o)
{
    if (n < 128) {
        o[0] = (uint8_t)n;
        return 1;
    }
    size_t k = 0;
    uint8_t tmp[8];
    while (n) {
        tmp[k++] = (uint8_t)(n & 0xff);
        n >>= 8;
    }
    o[0] = (uint8_t)(0x80 | k);
    for (size_t i = 0; i < k; i++)
        o[1 + i] = tmp[k - 1 - i];
    return k + 1;
}

void mixer_ber_open(struct mixer_ber *w, unsigned cls, unsigned number)
{
    if (w->depth >= MIXER_BER_DEPTH) {
        w->err = w->err ? w->err : MG_EINVAL;
        return;
    }
    put_id(w, cls | MIXER_BER_CONS, number);
    w->open[w->depth++] = w->out->len;
    /* room for a 4-octet long form; shrunk on close */
    static const uint8_t room[5] = {0x84, 0, 0, 0, 0};
    put(w, room, sizeof room);
}

void mixer_ber_close(struct mixer_ber *w)
{
    if (w->depth <= 0) {
        w->err = w->err ? w->err : MG_EINVAL;
        return;
    }
    size_t at = w->open[--w->depth];
    if (w->err)
        return;
    size_t content = w->out->len - at - 5;
    uint8_t lo[9];
    size_t ll = len_octets(content, lo);
    if (ll > 5) {
        w->err = MG_ETOOBIG;
        return;
    }
    /* move the content back over the unused length octets */
    memcpy(w->out->data + at, lo, ll);
    memmove(w->out->data + at + ll, w->out->data + at + 5, content);
    w->out->len -= 5 - ll;
    w->out->data[w->out->len] = 0;
}

void mixer_ber_prim(struct mixer_ber *w, unsigned cls, unsigned number, const void *p, size_t n)
{
    uint8_t lo[9];
    put_id(w, cls, number);
    put(w, lo, len_octets(n, lo));
    if (n)
        put(w, p, n);
}

void mixer_ber_str(struct mixer_ber *w, unsigned cls, unsigned number, const char *s)
{
    mixer_ber_prim(w, cls, number, s, strlen(s));
}

void mixer_ber_int(struct mixer_ber *w, unsigned cls, unsigned number, long v)
{
    uint8_t b[sizeof(long) + 1];
    size_t n = 0;
    unsigned long u = (unsigned long)v;
    /* two's complement, minimal octets */
    for (int i = (int)sizeof(long) - 1; i >= 0; i--)
        b[n++] = (uint8_t)(u >> (i * 8));
    size_t s = 0;
    while (s + 1 < n && ((b[s] == 0 && !(b[s + 1] & 0x80)) || (b[s] == 0xff && (b[s + 1] & 0x80))))
        s++;
    mixer_ber_prim(w, cls, number, b + s, n - s);
}

void mixer_ber_bool(struct mixer_ber *w, unsigned cls, unsigned number, int v)
{
    uint8_t b = v ? 0xff : 0;
    mixer_ber_prim(w, cls, number, &b, 1);
}

void mixer_ber_oid(struct mixer_ber *w, unsigned cls, unsigned number, const char *dotted)
{
    unsigned long arcs[32];
    size_t na = 0;
    const char *p = dotted;
    while (*p && na < 32) {
        char *end;
        arcs[na++] = strtoul(p, &end, 10);
        if (end == p || (*end && *end != '.')) {
            w->err = w->err ? w->err : MG_EINVAL;
            return;
        }
        p = *end ? end + 1 : end;
    }
    if (na < 2 || arcs[0] > 2) {
        w->err = w->err ? w->err : MG_EINVAL;
        return;
    }
    uint8_t b[32 * 10];
    size_t n = 0;
    for (size_t i = 1; i < na; i++) {
        unsigned long v = i == 1 ? arcs[0] * 40 + arcs[1] : arcs[i];
        uint8_t tmp[10];
        size_t t = 0;
        do {
            tmp[t++] = (uint8_t)(v & 0x7f);
            v >>= 7;
        } while (v);
        while (t > 0) {
            t--;
            b[n++] = (uint8_t)(tmp[t] | (t ? 0x80 : 0));
        }
        if (i == 1)
            continue;
    }
    mixer_ber_prim(w, cls, number, b, n);
}

void mixer_ber_raw(struct mixer_ber *w, const void *p, size_t n)
{
    put(w, p, n);
}

int mixer_ber_finish(struct mixer_ber *w)
{
    if (!w->err && w->depth != 0)
        w->err = MG_EINVAL;
    return w->err;
}

int mixer_ber_read(const void *vp, size_t n, struct mixer_tlv *t)
{
    const uint8_t *p = vp;
    size_t i = 0;
    if (n < 2)
        return MG_EPARSE;
    t->id = p[0] & 0xe0;
    t->number = p[0] & 0x1f;
    i = 1;
    if (t->number == 31) {
        t->number = 0;
        do {
            if (i >= n || t->number > (1u << 24))
                return MG_EPARSE;
            t->number = (t->number << 7) | (p[i] & 0x7f);
        } while (p[i++] & 0x80);
    }
    if (i >= n)
        return MG_EPARSE;
    size_t len = p[i++];
    if (len & 0x80) {
        size_t k = len & 0x7f;
        if (k == 0 || k > 4 || i + k > n)
            return MG_EPARSE; /* indefinite or too long */
        len = 0;
        for (size_t j = 0; j < k; j++)
            len = (len << 8) | p[i++];
    }
    if (len > n - i)
        return MG_EPARSE;
    t->v = p + i;
    t->vlen = len;
    t->size = i + len;
    return 0;
}
