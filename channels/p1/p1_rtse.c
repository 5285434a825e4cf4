/* p1_rtse: RTSE APDUs in normal and X.410-1984 mode, and the framing of transferred APDUs. */
#include "p1_rtse.h"

#include <string.h>

#include "mg_err.h"
#include "p1_ber.h"

static void defaults(struct p1_rtse *out)
{
    memset(out, 0, sizeof *out);
    out->window = P1_RTSE_DEFAULT_WINDOW;
    out->app_protocol = out->reason = -1;
}

/* The members shared by RTORQ/RTOAC and the pUserData of PConnect/PAccept. */
static int members(const struct p1_tlv *set, struct p1_rtse *out, uint8_t cd_tag)
{
    size_t off = 0;
    struct p1_tlv f;
    int rc;
    while ((rc = p1_ber_next(set, &off, &f)) == 1) {
        if (f.id == 0x80) {
            if (p1_ber_int(&f, &out->checkpoint) || out->checkpoint < 0)
                return MG_EPROTO;
        } else if (f.id == 0x81) {
            if (p1_ber_int(&f, &out->window) || out->window < 1)
                return MG_EPROTO;
        } else if (f.id == 0x82) {
            if (p1_ber_int(&f, &out->dialogue) || out->dialogue < 0 || out->dialogue > 1)
                return MG_EPROTO;
        } else if (f.id == 0x84) {
            if (p1_ber_int(&f, &out->app_protocol))
                return MG_EPROTO;
        } else if (f.id == cd_tag) {
            struct p1_tlv c;
            size_t o2 = 0;
            if (p1_ber_next(&f, &o2, &c) != 1)
                return MG_EPROTO;
            if (c.id == 0xa0) {
                struct p1_tlv in;
                if (p1_ber_read(c.v, c.len, &in) || in.total != c.len)
                    return MG_EPROTO;
                out->data = c.v;
                out->len = c.len;
            } else {
                out->recover = 1;
            }
        }
    }
    return rc;
}

static int rtorj_members(const struct p1_tlv *set, struct p1_rtse *out)
{
    size_t off = 0;
    struct p1_tlv f;
    int rc;
    while ((rc = p1_ber_next(set, &off, &f)) == 1) {
        if (f.id == 0x80) {
            if (p1_ber_int(&f, &out->reason))
                return MG_EPROTO;
        } else if (f.id == 0xa1) {
            struct p1_tlv in;
            if (p1_ber_read(f.v, f.len, &in) || in.total != f.len)
                return MG_EPROTO;
            out->data = f.v;
            out->len = f.len;
        }
    }
    return rc;
}

int p1_rtse_decode(const uint8_t *p, size_t n, struct p1_rtse *out, const char **why)
{
    defaults(out);
    struct p1_tlv t;
    if (p1_ber_read(p, n, &t) || t.total != n)
        goto bad;
    switch (t.id) {
    case 0xb0:
        out->type = P1_RTORQ;
        if (members(&t, out, 0xa3) || (!out->data && !out->recover))
            goto bad;
        return 0;
    case 0xb1:
        out->type = P1_RTOAC;
        if (members(&t, out, 0xa2) || !out->data)
            goto bad;
        return 0;
    case 0xb2:
        out->type = P1_RTORJ;
        if (rtorj_members(&t, out))
            goto bad;
        return 0;
    case 0xb6: {
        out->type = P1_RTAB;
        struct p1_tlv r;
        int rc = p1_ber_find(&t, 0x80, &r);
        if (rc < 0 || (rc == 1 && p1_ber_int(&r, &out->reason)))
            goto bad;
        return 0;
    }
    case 0x02:
        out->type = P1_RTTP;
        if (p1_ber_int(&t, &out->priority))
            goto bad;
        return 0;
    case 0x04:
    case 0x24:
        out->type = P1_RTTR;
        out->data = p;
        out->len = n;
        return 0;
    default:
        goto bad;
    }
bad:
    *why = "malformed RTSE APDU";
    return MG_EPROTO;
}

int p1_rtse_decode_x410(enum p1_rtse_type want, const uint8_t *p, size_t n, struct p1_rtse *out,
                        const char **why)
{
    defaults(out);
    out->type = want;
    struct p1_tlv t, f;
    size_t off = 0;
    int rc, have_ud = 0;
    if (p1_ber_read(p, n, &t) || t.total != n || t.id != 0x31)
        goto bad;
    while ((rc = p1_ber_next(&t, &off, &f)) == 1) {
        if (f.id == 0x80 && want == P1_RTORJ) {
            if (p1_ber_int(&f, &out->reason))
                goto bad;
        } else if (f.id == 0x80 || f.id == 0xa0) {
            /* DataTransferSyntax x409(0), the only one: ISO 8823's X.410-1984 mode selector
             * { [0] 0 } (what X.410 MTAs send), or a bare [0] 0. */
            struct p1_tlv in = f;
            long syntax;
            if (f.id == 0xa0 && p1_ber_find(&f, 0x80, &in) != 1)
                goto bad;
            if (p1_ber_int(&in, &syntax) || syntax != 0)
                goto bad;
        } else if (f.id == 0xa1 && want == P1_RTORJ) {
            struct p1_tlv in;
            if (p1_ber_read(f.v, f.len, &in) || in.total != f.len)
                goto bad;
            out->data = f.v;
            out->len = f.len;
        } else if (f.id == 0xa1) {
            if (members(&f, out, want == P1_RTORQ ? 0xa3 : 0xa2))
                goto bad;
            have_ud = 1;
        }
    }
    if (rc < 0 || (want != P1_RTORJ && (!have_ud || (!out->data && !out->recover))))
        goto bad;
    if (want == P1_RTORQ && out->app_protocol < 0)
        out->app_protocol = P1_APP_PROTOCOL_1984; /* DEFAULT 1 */
    return 0;
bad:
    *why = "malformed X.410 PConnect/PAccept/PRefuse";
    return MG_EPROTO;
}

static int put_members(struct mg_buf *b, long checkpoint, long window, long dialogue,
                       uint8_t cd_tag, const uint8_t *open, size_t len)
{
    int rc = 0;
    if (checkpoint != 0)
        rc = p1_ber_put_int(b, 0x80, checkpoint);
    if (!rc && window != P1_RTSE_DEFAULT_WINDOW)
        rc = p1_ber_put_int(b, 0x81, window);
    if (!rc && dialogue > 0)
        rc = p1_ber_put_int(b, 0x82, dialogue);
    size_t cd = b->len;
    if (!rc)
        rc = p1_ber_put(b, 0xa0, open, len);
    if (!rc)
        rc = p1_ber_wrap(b, cd, cd_tag);
    return rc;
}

/* The X.410 DataTransferSyntax x409 as a set: byte for byte ISO 8823's mode selector of the
 * X.410-1984 mode, so PConnect/PAccept are also CP/CPA PPDUs of that mode. */
static const uint8_t x409_syntax[] = {0xa0, 0x03, 0x80, 0x01, 0x00};

int p1_rtse_rtorq(struct mg_buf *b, int x410, long checkpoint, long window, long dialogue,
                  long app_protocol, const uint8_t *open, size_t len)
{
    size_t start = b->len;
    int rc = x410 ? mg_buf_append(b, x409_syntax, sizeof x409_syntax) : 0;
    size_t ud = b->len;
    /* applicationProtocol first and always (BER lets a SET's members come in any order, and
     * a DEFAULT be sent): a reader that dispatches the bind by it sees it before the bind. */
    if (!rc && x410)
        rc = p1_ber_put_int(b, 0x84, app_protocol);
    if (!rc)
        rc = put_members(b, checkpoint, window, dialogue, 0xa3, open, len);
    if (!rc && x410)
        rc = p1_ber_wrap(b, ud, 0xa1);
    return rc ? rc : p1_ber_wrap(b, start, x410 ? 0x31 : 0xb0);
}

int p1_rtse_rtoac(struct mg_buf *b, int x410, long checkpoint, long window, const uint8_t *open,
                  size_t len)
{
    size_t start = b->len;
    int rc = x410 ? mg_buf_append(b, x409_syntax, sizeof x409_syntax) : 0;
    size_t ud = b->len;
    if (!rc)
        rc = put_members(b, checkpoint, window, 0, 0xa2, open, len);
    if (!rc && x410)
        rc = p1_ber_wrap(b, ud, 0xa1);
    return rc ? rc : p1_ber_wrap(b, start, x410 ? 0x31 : 0xb1);
}

int p1_rtse_rtorj(struct mg_buf *b, int x410, long reason, const uint8_t *user, size_t len)
{
    size_t start = b->len;
    int rc = 0;
    if (x410 && reason < 0)
        reason = P1_RTS_VALIDATION_FAILURE;
    if (reason >= 0)
        rc = p1_ber_put_int(b, 0x80, reason);
    if (!rc && user)
        rc = p1_ber_put(b, 0xa1, user, len);
    return rc ? rc : p1_ber_wrap(b, start, x410 ? 0x31 : 0xb2);
}

int p1_rtse_rtab(struct mg_buf *b, long reason)
{
    size_t start = b->len;
    int rc = reason >= 0 ? p1_ber_put_int(b, 0x80, reason) : 0;
    return rc ? rc : p1_ber_wrap(b, start, 0xb6);
}

int p1_rtse_rttp(struct mg_buf *b, long priority)
{
    return p1_ber_put_int(b, 0x02, priority);
}

size_t p1_rtse_external_hdr(uint8_t *h, long pcid, size_t len)
{
    uint8_t in[16];
    size_t k = 0;
    in[k++] = 0x02;
    if (pcid > 127) {
        in[k++] = 0x02;
        in[k++] = (uint8_t)(pcid >> 8);
    } else {
        in[k++] = 0x01;
    }
    in[k++] = (uint8_t)pcid;
    size_t a0 = p1_ber_hdr_len(len);
    size_t n = p1_ber_hdr(h, 0x28, k + a0 + len);
    memcpy(h + n, in, k);
    n += k;
    n += p1_ber_hdr(h + n, 0xa0, len);
    return n;
}

int p1_rtse_external_value(const uint8_t *p, size_t n, const uint8_t **apdu, size_t *alen)
{
    struct p1_tlv x, f;
    size_t off = 0;
    int rc;
    if (p1_ber_read(p, n, &x) || x.total != n || x.id != 0x28)
        return MG_EPROTO;
    while ((rc = p1_ber_next(&x, &off, &f)) == 1) {
        if (f.id == 0xa0) {
            struct p1_tlv in;
            if (p1_ber_read(f.v, f.len, &in) || in.total != f.len)
                return MG_EPROTO;
            *apdu = f.v;
            *alen = f.len;
            return 0;
        }
    }
    return MG_EPROTO;
}

int p1_rtse_prepend_rttr(struct p1_chain *c)
{
    uint8_t h[8];
    size_t n = p1_ber_hdr(h, 0x04, c->total);
    return p1_chain_prepend(c, h, n);
}

static int sink(void *arg, const uint8_t *p, size_t n)
{
    return p1_reasm_append(arg, p, n);
}

int p1_rtse_rttr_collect(const uint8_t *p, size_t n, struct p1_reasm *r)
{
    struct p1_tlv t;
    if (p1_ber_read(p, n, &t) || t.total != n || (t.id != 0x04 && t.id != 0x24))
        return MG_EPROTO;
    return p1_ber_octets(&t, sink, r);
}
