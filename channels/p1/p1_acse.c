/* p1_acse: AARQ/AARE/RLRQ/RLRE/ABRT for the MTS-transfer application context. */
#include "p1_acse.h"

#include <string.h>

#include "mg_err.h"
#include "p1_ber.h"

static const uint8_t oid_mts_transfer[] = {0x56, 0x00, 0x01, 0x06}; /* 2.6.0.1.6 */
static const uint8_t oid_ber[] = {0x51, 0x01};

static int user_info(const struct p1_tlv *ui, struct p1_acse *out)
{
    struct p1_tlv x, f;
    size_t off = 0, o2 = 0;
    int rc = p1_ber_next(ui, &off, &x);
    if (rc <= 0)
        return rc; /* empty: no user information */
    if (x.id != 0x28)
        return MG_EPROTO;
    while ((rc = p1_ber_next(&x, &o2, &f)) == 1) {
        if (f.id == 0x02) {
            if (p1_ber_int(&f, &out->ui_pcid))
                return MG_EPROTO;
        } else if (f.id == 0xa0) {
            struct p1_tlv in;
            if (p1_ber_read(f.v, f.len, &in) || in.total != f.len)
                return MG_EPROTO;
            out->ui = f.v;
            out->ui_len = f.len;
        }
    }
    return rc;
}

int p1_acse_decode(const uint8_t *p, size_t n, struct p1_acse *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->diag = out->reason = out->ui_pcid = -1;
    struct p1_tlv top, f;
    size_t off = 0;
    int rc;
    if (p1_ber_read(p, n, &top) || top.total != n || top.id < 0x60 || top.id > 0x64)
        goto bad;
    out->type = (enum p1_acse_type)(top.id - 0x60);
    while ((rc = p1_ber_next(&top, &off, &f)) == 1) {
        struct p1_tlv in;
        if (f.id == 0xa1 && out->type <= P1_AARE) {
            if (p1_ber_find(&f, 0x06, &in) == 1 && in.len == sizeof oid_mts_transfer &&
                memcmp(in.v, oid_mts_transfer, in.len) == 0)
                out->mts_transfer = 1;
        } else if (f.id == 0xa2 && out->type == P1_AARE) {
            if (p1_ber_find(&f, 0x02, &in) != 1 || p1_ber_int(&in, &out->result))
                goto bad;
        } else if (f.id == 0xa3 && out->type == P1_AARE) {
            struct p1_tlv c;
            size_t o2 = 0;
            if (p1_ber_next(&f, &o2, &c) == 1 && p1_ber_find(&c, 0x02, &in) == 1 &&
                p1_ber_int(&in, &out->diag))
                goto bad;
        } else if (f.id == 0x80 && out->type == P1_ABRT) {
            if (p1_ber_int(&f, &out->source))
                goto bad;
        } else if (f.id == 0x80 && (out->type == P1_RLRQ || out->type == P1_RLRE)) {
            if (p1_ber_int(&f, &out->reason))
                goto bad;
        } else if (f.id == 0xbe) {
            if (user_info(&f, out))
                goto bad;
        }
    }
    if (rc < 0)
        goto bad;
    return 0;
bad:
    *why = "malformed ACSE APDU";
    return MG_EPROTO;
}

static int put_user(struct mg_buf *b, long pcid, const uint8_t *user, size_t len)
{
    if (!user)
        return 0;
    size_t start = b->len;
    int rc = p1_ber_put(b, 0x06, oid_ber, sizeof oid_ber);
    if (!rc)
        rc = p1_ber_put_int(b, 0x02, pcid);
    if (!rc)
        rc = p1_ber_put(b, 0xa0, user, len);
    if (!rc)
        rc = p1_ber_wrap(b, start, 0x28);
    if (!rc)
        rc = p1_ber_wrap(b, start, 0xbe);
    return rc;
}

static int put_ctx(struct mg_buf *b)
{
    size_t start = b->len;
    int rc = p1_ber_put(b, 0x06, oid_mts_transfer, sizeof oid_mts_transfer);
    return rc ? rc : p1_ber_wrap(b, start, 0xa1);
}

int p1_acse_aarq(struct mg_buf *b, long pcid, const uint8_t *user, size_t len)
{
    size_t start = b->len;
    int rc = put_ctx(b);
    if (!rc)
        rc = put_user(b, pcid, user, len);
    return rc ? rc : p1_ber_wrap(b, start, 0x60);
}

int p1_acse_aare(struct mg_buf *b, long result, long diag, long pcid, const uint8_t *user,
                 size_t len)
{
    size_t start = b->len;
    int rc = put_ctx(b);
    size_t r = b->len;
    if (!rc)
        rc = p1_ber_put_int(b, 0x02, result);
    if (!rc)
        rc = p1_ber_wrap(b, r, 0xa2);
    size_t d = b->len;
    if (!rc)
        rc = p1_ber_put_int(b, 0x02, diag); /* acse-service-user diagnostic */
    if (!rc)
        rc = p1_ber_wrap(b, d, 0xa1);
    if (!rc)
        rc = p1_ber_wrap(b, d, 0xa3);
    if (!rc)
        rc = put_user(b, pcid, user, len);
    return rc ? rc : p1_ber_wrap(b, start, 0x61);
}

int p1_acse_rlrq(struct mg_buf *b)
{
    static const uint8_t v[] = {0x62, 0x03, 0x80, 0x01, 0x00};
    return mg_buf_append(b, v, sizeof v);
}

int p1_acse_rlre(struct mg_buf *b)
{
    static const uint8_t v[] = {0x63, 0x03, 0x80, 0x01, 0x00};
    return mg_buf_append(b, v, sizeof v);
}

int p1_acse_abrt(struct mg_buf *b, long source, long pcid, const uint8_t *user, size_t len)
{
    size_t start = b->len;
    int rc = p1_ber_put_int(b, 0x80, source);
    if (!rc)
        rc = put_user(b, pcid, user, len);
    return rc ? rc : p1_ber_wrap(b, start, 0x64);
}
