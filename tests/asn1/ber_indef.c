/* ber_indef: BER re-encoders for tests (indefinite lengths and segmented strings, and the
 * normal form to compare values); see ber_indef.h. Written here because no library offers a
 * schema-less BER rewriter; it trusts nothing about its input but is for tests only. */
#include "ber_indef.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_buf.h"

#define MAX_DEPTH 200

struct tlv {
    size_t hdr;          /* identifier + length octets */
    size_t body;         /* offset of contents */
    size_t end;          /* offset after the TLV (after EOC when indefinite) */
    size_t cend;         /* offset after the contents (before EOC) */
    unsigned char id[8]; /* identifier octets */
    size_t idlen;
    int constructed;
    int indefinite;
};

static int parse(const unsigned char *p, size_t start, size_t limit, unsigned depth, struct tlv *t);

/* Find where an indefinite-length constructed body ends (position of its EOC). */
static int find_eoc(const unsigned char *p, size_t pos, size_t limit, unsigned depth, size_t *eoc)
{
    while (pos + 2 <= limit) {
        if (p[pos] == 0 && p[pos + 1] == 0) {
            *eoc = pos;
            return 0;
        }
        struct tlv c;
        if (parse(p, pos, limit, depth + 1, &c))
            return -1;
        pos = c.end;
    }
    return -1;
}

static int parse(const unsigned char *p, size_t start, size_t limit, unsigned depth, struct tlv *t)
{
    size_t i = start;
    if (depth > MAX_DEPTH || i >= limit)
        return -1;
    t->constructed = (p[i] & 0x20) != 0;
    t->idlen = 1;
    t->id[0] = p[i];
    if ((p[i++] & 0x1f) == 0x1f) {
        do {
            if (i >= limit || t->idlen >= sizeof t->id)
                return -1;
            t->id[t->idlen++] = p[i];
        } while (p[i++] & 0x80);
    }
    if (i >= limit)
        return -1;
    unsigned char l0 = p[i++];
    size_t len = 0;
    t->indefinite = 0;
    if (l0 == 0x80) {
        if (!t->constructed)
            return -1;
        t->indefinite = 1;
    } else if (l0 & 0x80) {
        unsigned n = l0 & 0x7f;
        if (n > sizeof(size_t) || n > 4)
            return -1;
        for (unsigned k = 0; k < n; k++) {
            if (i >= limit)
                return -1;
            len = (len << 8) | p[i++];
        }
    } else {
        len = l0;
    }
    t->hdr = i - start;
    t->body = i;
    if (t->indefinite) {
        size_t eoc;
        if (find_eoc(p, i, limit, depth, &eoc))
            return -1;
        t->cend = eoc;
        t->end = eoc + 2;
    } else {
        if (len > limit - i)
            return -1;
        t->cend = i + len;
        t->end = i + len;
        if (t->constructed) {
            size_t pos = i;
            while (pos < t->cend) {
                struct tlv c;
                if (parse(p, pos, t->cend, depth + 1, &c))
                    return -1;
                pos = c.end;
            }
        }
    }
    return 0;
}

/* Universal primitive strings whose constructed form X.690 allows (OCTET STRING and the
 * restricted character strings). */
static int is_string_tag(unsigned char id0)
{
    if ((id0 & 0xc0) != 0)
        return 0;
    switch (id0 & 0x1f) {
    case 4: case 12: case 18: case 19: case 20: case 21: case 22: case 25: case 26: case 27:
    case 28: case 30:
        return 1;
    default:
        return 0;
    }
}

static int put_len(struct mg_buf *b, size_t len)
{
    unsigned char tmp[9];
    size_t n = 0;
    if (len < 0x80) {
        tmp[0] = (unsigned char)len;
        return mg_buf_append(b, tmp, 1);
    }
    for (size_t v = len; v; v >>= 8)
        n++;
    tmp[0] = (unsigned char)(0x80 | n);
    for (size_t k = 0; k < n; k++)
        tmp[1 + k] = (unsigned char)(len >> (8 * (n - 1 - k)));
    return mg_buf_append(b, tmp, n + 1);
}

static int convert(const unsigned char *p, const struct tlv *t, size_t seg, unsigned depth,
                   struct mg_buf *b)
{
    static const unsigned char eoc[2] = {0, 0};
    if (t->constructed) {
        unsigned char id0 = (unsigned char)(t->id[0] | 0x20);
        if (mg_buf_append(b, &id0, 1) || mg_buf_append(b, t->id + 1, t->idlen - 1) ||
            mg_buf_append(b, "\x80", 1))
            return -1;
        size_t pos = t->body;
        while (pos < t->cend) {
            struct tlv c;
            if (parse(p, pos, t->cend, depth + 1, &c) || convert(p, &c, seg, depth + 1, b))
                return -1;
            pos = c.end;
        }
        return mg_buf_append(b, eoc, 2);
    }
    size_t clen = t->cend - t->body;
    if (seg > 0 && t->idlen == 1 && is_string_tag(t->id[0]) && clen > seg) {
        unsigned char id0 = (unsigned char)(t->id[0] | 0x20);
        if (mg_buf_append(b, &id0, 1) || mg_buf_append(b, "\x80", 1))
            return -1;
        for (size_t off = 0; off < clen; off += seg) {
            size_t n = clen - off < seg ? clen - off : seg;
            if (mg_buf_append(b, "\x04", 1) || put_len(b, n) ||
                mg_buf_append(b, p + t->body + off, n))
                return -1;
        }
        return mg_buf_append(b, eoc, 2);
    }
    return mg_buf_append(b, p + t->body - t->hdr, t->hdr + clen);
}

/* Append the joined contents of a (possibly constructed) string. */
static int join_string(const unsigned char *p, const struct tlv *t, unsigned depth, struct mg_buf *b)
{
    if (!t->constructed)
        return mg_buf_append(b, p + t->body, t->cend - t->body);
    size_t pos = t->body;
    while (pos < t->cend) {
        struct tlv c;
        if (parse(p, pos, t->cend, depth + 1, &c) || join_string(p, &c, depth + 1, b))
            return -1;
        pos = c.end;
    }
    return 0;
}

static int normalize(const unsigned char *p, const struct tlv *t, unsigned depth, struct mg_buf *b)
{
    if (t->constructed && t->idlen == 1 && is_string_tag(t->id[0])) {
        struct mg_buf s;
        mg_buf_init(&s, 0);
        unsigned char id0 = (unsigned char)(t->id[0] & ~0x20);
        int rc = join_string(p, t, depth, &s);
        if (!rc)
            rc = mg_buf_append(b, &id0, 1) || put_len(b, s.len) || mg_buf_append(b, s.data, s.len);
        mg_buf_free(&s);
        return rc ? -1 : 0;
    }
    if (mg_buf_append(b, t->id, t->idlen))
        return -1;
    if (!t->constructed)
        return put_len(b, t->cend - t->body) || mg_buf_append(b, p + t->body, t->cend - t->body)
                   ? -1 : 0;
    struct mg_buf inner;
    mg_buf_init(&inner, 0);
    size_t pos = t->body;
    int rc = 0;
    while (pos < t->cend) {
        struct tlv c;
        if (parse(p, pos, t->cend, depth + 1, &c) || normalize(p, &c, depth + 1, &inner)) {
            rc = -1;
            break;
        }
        pos = c.end;
    }
    if (!rc)
        rc = put_len(b, inner.len) || mg_buf_append(b, inner.data, inner.len);
    mg_buf_free(&inner);
    return rc ? -1 : 0;
}

static int run(const unsigned char *in, size_t len, size_t seg, int norm, unsigned char **out,
               size_t *outlen)
{
    struct tlv t;
    struct mg_buf b;
    *out = NULL;
    *outlen = 0;
    if (!in || parse(in, 0, len, 0, &t) || t.end != len)
        return -1;
    mg_buf_init(&b, 0);
    int rc = norm ? normalize(in, &t, 0, &b) : convert(in, &t, seg, 0, &b);
    if (rc) {
        mg_buf_free(&b);
        return -1;
    }
    *out = mg_buf_steal(&b, outlen);
    return *out ? 0 : -1;
}

int ber_indef_convert(const unsigned char *in, size_t len, size_t seg, unsigned char **out,
                      size_t *outlen)
{
    return run(in, len, seg, 0, out, outlen);
}

int ber_indef_normalize(const unsigned char *in, size_t len, unsigned char **out, size_t *outlen)
{
    return run(in, len, 0, 1, out, outlen);
}
