/* p1_tpkt: RFC 1006 + ISO 8073 class 0 over a byte stream, sans I/O. */
#include "p1_tpkt.h"

#include <string.h>

#include "mg_err.h"

#define TPDU_CR 0xE0
#define TPDU_CC 0xD0
#define TPDU_DR 0x80
#define TPDU_DT 0xF0
#define TPDU_ER 0x70
#define PAR_SIZE 0xC0
#define PAR_CALLING 0xC1
#define PAR_CALLED 0xC2

static unsigned size_code(unsigned size)
{
    unsigned c = 7;
    while (c < 13 && (1u << (c + 1)) <= size)
        c++;
    return c;
}

void p1_tpkt_init(struct p1_tpkt *t, int initiator, size_t max_tsdu, unsigned want_size)
{
    memset(t, 0, sizeof *t);
    t->initiator = initiator;
    t->want_size = 1u << size_code(want_size ? want_size : 2048);
    t->tpdu_size = 128;
    t->src_ref = initiator ? 0x4d31 : 0x4d32;
    mg_buf_init(&t->pkt, P1_TPKT_MAX);
    p1_reasm_init(&t->tsdu, max_tsdu);
}

void p1_tpkt_free(struct p1_tpkt *t)
{
    mg_buf_free(&t->pkt);
    p1_reasm_free(&t->tsdu);
}

static int fail(struct p1_tpkt *t, int rc, const char *why)
{
    t->why = why;
    return rc;
}

/* Variable part of CR/CC: TSELs and TPDU size. */
static int parse_params(struct p1_tpkt *t, const uint8_t *p, size_t n, struct p1_tpkt_ind *ind)
{
    size_t i = 0;
    while (i < n) {
        if (n - i < 2 || p[i + 1] > n - i - 2)
            return fail(t, MG_EPROTO, "COTP parameter overruns the TPDU");
        uint8_t code = p[i], len = p[i + 1];
        const uint8_t *v = p + i + 2;
        if (code == PAR_CALLING || code == PAR_CALLED) {
            if (len > P1_SEL_MAX)
                return fail(t, MG_EPROTO, "TSEL longer than 32 octets");
            struct p1_sel *s = code == PAR_CALLING ? &ind->calling : &ind->called;
            s->len = len;
            memcpy(s->v, v, len);
        } else if (code == PAR_SIZE) {
            if (len != 1 || v[0] < 7 || v[0] > 13)
                return fail(t, MG_EPROTO, "bad COTP TPDU size parameter");
            ind->tpdu_size = 1u << v[0];
        }
        i += 2u + len;
    }
    return 0;
}

static int tpdu(struct p1_tpkt *t, const uint8_t *p, size_t n, struct p1_tpkt_ind *ind)
{
    if (n < 2 || p[0] == 0xff || p[0] > n - 1)
        return fail(t, MG_EPROTO, "COTP length indicator overruns the TPKT");
    size_t li = p[0];
    uint8_t code = p[1] & 0xF0;
    if (code == TPDU_DT) {
        if (li != 2)
            return fail(t, MG_EPROTO, "class 0 DT with a length indicator other than 2");
        if (!t->connected)
            return fail(t, MG_EPROTO, "DT before the transport connection");
        int rc = p1_reasm_append(&t->tsdu, p + 3, n - 3);
        if (rc)
            return fail(t, rc, rc == MG_ETOOBIG ? "TSDU larger than the configured limit"
                                                : "out of memory");
        if (p[2] & 0x80) {
            ind->type = P1_TPKT_DATA;
            ind->data = t->tsdu.b.data;
            ind->len = t->tsdu.b.len;
            t->tsdu_done = 1;
        }
        return 0;
    }
    if (code == TPDU_CR || code == TPDU_CC) {
        if (li < 6)
            return fail(t, MG_EPROTO, "CR/CC shorter than its fixed part");
        if ((p[6] & 0xF0) != 0)
            return fail(t, MG_EPROTO, "transport class other than 0 proposed");
        ind->tpdu_size = 128;
        int rc = parse_params(t, p + 7, li - 6, ind);
        if (rc)
            return rc;
        uint16_t src = (uint16_t)(p[4] << 8 | p[5]);
        if (code == TPDU_CR) {
            if (t->initiator || t->connected)
                return fail(t, MG_EPROTO, "unexpected CR");
            t->dst_ref = src;
            ind->type = P1_TPKT_CONNECT;
        } else {
            if (!t->initiator || t->connected)
                return fail(t, MG_EPROTO, "unexpected CC");
            t->dst_ref = src;
            /* An absent size in the CC accepts nothing larger than the default. */
            t->tpdu_size = ind->tpdu_size < t->want_size ? ind->tpdu_size : t->want_size;
            t->connected = 1;
            ind->type = P1_TPKT_CONFIRM;
        }
        return 0;
    }
    if (code == TPDU_DR) {
        ind->type = P1_TPKT_DISCONNECT;
        ind->reason = li >= 6 ? p[6] : 0;
        t->connected = 0;
        return 0;
    }
    if (code == TPDU_ER) {
        ind->type = P1_TPKT_ERROR_PDU;
        ind->reason = li >= 4 ? p[4] : 0;
        return 0;
    }
    return fail(t, MG_EPROTO, "unknown or class 1-4 TPDU code");
}

int p1_tpkt_input(struct p1_tpkt *t, const uint8_t *p, size_t n, size_t *used,
                  struct p1_tpkt_ind *ind)
{
    memset(ind, 0, sizeof *ind);
    *used = 0;
    if (t->tsdu_done) {
        p1_reasm_reset(&t->tsdu);
        t->tsdu_done = 0;
    }
    while (*used < n) {
        if (t->hdr_have < 4) {
            size_t k = 4 - t->hdr_have;
            if (k > n - *used)
                k = n - *used;
            memcpy(t->hdr + t->hdr_have, p + *used, k);
            t->hdr_have += k;
            *used += k;
            if (t->hdr_have < 4)
                return 0;
            if (t->hdr[0] != 3 || t->hdr[1] != 0)
                return fail(t, MG_EPROTO, "not a TPKT (version 3)");
            size_t len = (size_t)t->hdr[2] << 8 | t->hdr[3];
            if (len < 7)
                return fail(t, MG_EPROTO, "TPKT shorter than a TPDU");
            t->body_len = len - 4;
            mg_buf_reset(&t->pkt);
        }
        size_t k = t->body_len - t->pkt.len;
        if (k > n - *used)
            k = n - *used;
        if (mg_buf_append(&t->pkt, p + *used, k))
            return fail(t, MG_ENOMEM, "out of memory");
        *used += k;
        if (t->pkt.len < t->body_len)
            return 0;
        t->hdr_have = 0;
        int rc = tpdu(t, t->pkt.data, t->pkt.len, ind);
        if (rc || ind->type != P1_TPKT_NONE)
            return rc;
    }
    return 0;
}

static int put_sel(uint8_t *h, size_t *n, uint8_t code, const struct p1_sel *s)
{
    if (!s || s->len == 0)
        return 0;
    h[(*n)++] = code;
    h[(*n)++] = s->len;
    memcpy(h + *n, s->v, s->len);
    *n += s->len;
    return 0;
}

static int conn_tpdu(struct p1_tpkt *t, uint8_t code, const struct p1_sel *calling,
                     const struct p1_sel *called, struct p1_chain *out)
{
    uint8_t h[4 + 7 + 3 + 2 * (2 + P1_SEL_MAX)];
    size_t n = 4;
    h[n++] = 0; /* LI, set below */
    h[n++] = code;
    h[n++] = (uint8_t)(code == TPDU_CR ? 0 : t->dst_ref >> 8);
    h[n++] = (uint8_t)(code == TPDU_CR ? 0 : t->dst_ref);
    h[n++] = (uint8_t)(t->src_ref >> 8);
    h[n++] = (uint8_t)t->src_ref;
    h[n++] = 0; /* class 0, no options */
    put_sel(h, &n, PAR_CALLING, calling);
    put_sel(h, &n, PAR_CALLED, called);
    h[n++] = PAR_SIZE;
    h[n++] = 1;
    h[n++] = (uint8_t)size_code(code == TPDU_CR ? t->want_size : t->tpdu_size);
    h[4] = (uint8_t)(n - 5);
    h[0] = 3;
    h[1] = 0;
    h[2] = (uint8_t)(n >> 8);
    h[3] = (uint8_t)n;
    return p1_chain_own(out, h, n);
}

int p1_tpkt_connect(struct p1_tpkt *t, const struct p1_sel *calling, const struct p1_sel *called,
                    struct p1_chain *out)
{
    return conn_tpdu(t, TPDU_CR, calling, called, out);
}

int p1_tpkt_accept(struct p1_tpkt *t, const struct p1_tpkt_ind *cr, struct p1_chain *out)
{
    t->tpdu_size = cr->tpdu_size < t->want_size ? cr->tpdu_size : t->want_size;
    t->connected = 1;
    return conn_tpdu(t, TPDU_CC, &cr->calling, &cr->called, out);
}

int p1_tpkt_disconnect(struct p1_tpkt *t, uint8_t reason, struct p1_chain *out)
{
    uint8_t h[11] = {3, 0, 0, 11, 6, TPDU_DR, (uint8_t)(t->dst_ref >> 8), (uint8_t)t->dst_ref,
                     (uint8_t)(t->src_ref >> 8), (uint8_t)t->src_ref, reason};
    t->connected = 0;
    return p1_chain_own(out, h, sizeof h);
}

int p1_tpkt_data(struct p1_tpkt *t, const struct p1_chain *tsdu, struct p1_chain *out)
{
    size_t room = t->tpdu_size - 3, total = tsdu->total, off = 0;
    do {
        size_t k = total - off < room ? total - off : room;
        size_t len = k + 7;
        uint8_t h[7] = {3, 0, (uint8_t)(len >> 8), (uint8_t)len, 2, TPDU_DT,
                        (uint8_t)(off + k == total ? 0x80 : 0)};
        int rc = p1_chain_own(out, h, sizeof h);
        if (!rc)
            rc = p1_chain_append_range(out, tsdu, off, k);
        if (rc)
            return rc;
        off += k;
    } while (off < total);
    return 0;
}
