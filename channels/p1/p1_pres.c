/* p1_pres: ISO 8823 kernel (CP, CPA, CPR, user data, ARU, ARP) for P1 over RTSE. */
#include "p1_pres.h"

#include <string.h>

#include "mg_err.h"
#include "p1_ber.h"

static const uint8_t oid_acse[] = {0x52, 0x01, 0x00, 0x01};   /* 2.2.1.0.1 */
static const uint8_t oid_rtse[] = {0x56, 0x00, 0x02, 0x0c};   /* 2.6.0.2.12 id-as-mta-rtse */
static const uint8_t oid_mtse[] = {0x56, 0x00, 0x02, 0x07};   /* 2.6.0.2.7 id-as-mtse */
static const uint8_t oid_ber[] = {0x51, 0x01};                 /* 2.1.1 */

static const struct {
    long pcid;
    enum p1_asn asn;
    const uint8_t *oid;
    size_t len;
} our_ctx[] = {{P1_PCTX_ACSE, P1_ASN_ACSE, oid_acse, sizeof oid_acse},
               {P1_PCTX_RTSE, P1_ASN_RTSE, oid_rtse, sizeof oid_rtse},
               {P1_PCTX_MTSE, P1_ASN_MTSE, oid_mtse, sizeof oid_mtse}};

static enum p1_asn asn_of(const struct p1_tlv *oid)
{
    for (size_t i = 0; i < sizeof our_ctx / sizeof our_ctx[0]; i++)
        if (oid->len == our_ctx[i].len && memcmp(oid->v, our_ctx[i].oid, oid->len) == 0)
            return our_ctx[i].asn;
    return P1_ASN_OTHER;
}

static int is_ber(const struct p1_tlv *oid)
{
    return oid->id == 0x06 && oid->len == sizeof oid_ber && memcmp(oid->v, oid_ber, 2) == 0;
}

#define CHECK(x)                                                                                \
    do {                                                                                        \
        if ((x) < 0)                                                                            \
            goto bad;                                                                           \
    } while (0)

static int sel(const struct p1_tlv *t, struct p1_sel *s)
{
    if (t->len > P1_SEL_MAX || (t->id & P1_BER_CONS))
        return MG_EPROTO;
    s->len = (uint8_t)t->len;
    memcpy(s->v, t->v, t->len);
    return 0;
}

/* Fully-encoded-data [APPLICATION 1] SEQUENCE OF PDV-list. */
static int user_data(const struct p1_tlv *ud, struct p1_ppdu *out)
{
    if (ud->id != 0x61)
        return MG_EPROTO; /* simply-encoded data is not used by P1 */
    size_t off = 0;
    struct p1_tlv pdv;
    int rc;
    while ((rc = p1_ber_next(ud, &off, &pdv)) == 1) {
        if (pdv.id != 0x30 || out->npdv == P1_PRES_MAX_PDV)
            return MG_EPROTO;
        struct p1_pdv *d = &out->pdv[out->npdv];
        d->pcid = -1;
        size_t o2 = 0;
        struct p1_tlv f;
        while ((rc = p1_ber_next(&pdv, &o2, &f)) == 1) {
            if (f.id == 0x02) {
                if (p1_ber_int(&f, &d->pcid))
                    return MG_EPROTO;
            } else if (f.id == 0xa0) {
                struct p1_tlv in;
                if (p1_ber_read(f.v, f.len, &in) || in.total != f.len)
                    return MG_EPROTO;
                d->v = f.v;
                d->len = f.len;
            } else if (f.id == 0x81) {
                d->v = f.v;
                d->len = f.len;
            } else if (f.id != 0x06) {
                return MG_EPROTO;
            }
        }
        if (rc < 0 || d->pcid < 0 || !d->v)
            return MG_EPROTO;
        out->npdv++;
    }
    return rc;
}

static int ctx_list(const struct p1_tlv *l, struct p1_ppdu *out, int result_list)
{
    size_t off = 0;
    struct p1_tlv item;
    int rc;
    while ((rc = p1_ber_next(l, &off, &item)) == 1) {
        if (item.id != 0x30)
            return MG_EPROTO;
        if (out->nctx == P1_PRES_MAX_CTX)
            return MG_EPROTO;
        struct p1_tlv f;
        size_t o2 = 0;
        int idx = 0;
        memset(&out->ctx[out->nctx], 0, sizeof out->ctx[0]);
        out->ctx[out->nctx].pcid = -1;
        while ((rc = p1_ber_next(&item, &o2, &f)) == 1) {
            if (result_list) {
                if (f.id == 0x80 && p1_ber_int(&f, &out->ctx[out->nctx].result))
                    return MG_EPROTO;
                if (f.id == 0x81 && f.len == 2 && memcmp(f.v, oid_ber, 2) == 0)
                    out->ctx[out->nctx].ber = 1;
            } else if (idx == 0) {
                if (f.id != 0x02 || p1_ber_int(&f, &out->ctx[out->nctx].pcid))
                    return MG_EPROTO;
            } else if (idx == 1) {
                if (f.id != 0x06)
                    return MG_EPROTO;
                out->ctx[out->nctx].asn = asn_of(&f);
            } else if (idx == 2) {
                struct p1_tlv ts;
                size_t o3 = 0;
                if (f.id != 0x30)
                    return MG_EPROTO;
                while ((rc = p1_ber_next(&f, &o3, &ts)) == 1)
                    if (is_ber(&ts))
                        out->ctx[out->nctx].ber = 1;
                if (rc < 0)
                    return rc;
            }
            idx++;
        }
        if (rc < 0)
            return rc;
        out->nctx++;
    }
    return rc;
}

int p1_pres_decode(enum p1_ppdu_type type, const uint8_t *p, size_t n, struct p1_ppdu *out,
                   const char **why)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    out->provider_reason = -1;
    out->mode = 1;
    struct p1_tlv top, f, nm;
    size_t off = 0;
    int rc;
    if (p1_ber_read(p, n, &top) || top.total != n)
        goto bad;
    if (type == P1_PPDU_TD) {
        CHECK(user_data(&top, out));
        return out->npdv ? 0 : MG_EPROTO;
    }
    if (type == P1_PPDU_CPR) {
        if (top.id != 0x30)
            goto bad; /* X.410-mode CPR (an RTORJ) is not used with normal mode */
        nm = top;
    } else {
        if (top.id != 0x31)
            goto bad;
        nm.id = 0;
        while ((rc = p1_ber_next(&top, &off, &f)) == 1) {
            if (f.id == 0xa0) {
                struct p1_tlv mv;
                CHECK(p1_ber_find(&f, 0x80, &mv));
                CHECK(p1_ber_int(&mv, &out->mode));
            } else if (f.id == 0xa2) {
                nm = f;
            }
        }
        CHECK(rc);
        if (out->mode != 1 || nm.id != 0xa2) {
            *why = "presentation CP/CPA not in normal mode";
            return MG_EPROTO;
        }
    }
    off = 0;
    while ((rc = p1_ber_next(&nm, &off, &f)) == 1) {
        switch (f.id) {
        case 0x81: CHECK(sel(&f, &out->calling)); break;
        case 0x82: CHECK(sel(&f, &out->called)); break;
        case 0x83: CHECK(sel(&f, &out->responding)); break;
        case 0xa4: CHECK(ctx_list(&f, out, 0)); break;
        case 0xa5: CHECK(ctx_list(&f, out, 1)); break;
        case 0x8a: CHECK(p1_ber_int(&f, &out->provider_reason)); break;
        case 0x61:
        case 0x60: CHECK(user_data(&f, out)); break;
        default: break; /* protocol version, requirements: kernel only */
        }
    }
    CHECK(rc);
    return 0;
bad:
    *why = "malformed presentation PPDU";
    return MG_EPROTO;
}

int p1_pres_decode_abort(const uint8_t *p, size_t n, struct p1_ppdu *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->provider_reason = -1;
    struct p1_tlv top, f;
    size_t off = 0;
    int rc;
    if (p1_ber_read(p, n, &top) || top.total != n)
        goto bad;
    if (top.id == 0xa0) {
        out->type = P1_PPDU_ARU;
        while ((rc = p1_ber_next(&top, &off, &f)) == 1)
            if (f.id == 0x61)
                CHECK(user_data(&f, out));
        CHECK(rc);
        return 0;
    }
    if (top.id == 0x30) {
        out->type = P1_PPDU_ARP;
        while ((rc = p1_ber_next(&top, &off, &f)) == 1)
            if (f.id == 0x80)
                CHECK(p1_ber_int(&f, &out->provider_reason));
        CHECK(rc);
        return 0;
    }
bad:
    *why = "malformed presentation abort PPDU";
    return MG_EPROTO;
}

long p1_pres_ctx_of(const struct p1_ppdu *cp, enum p1_asn asn)
{
    for (size_t i = 0; i < cp->nctx; i++)
        if (cp->ctx[i].asn == asn && cp->ctx[i].ber)
            return cp->ctx[i].pcid;
    return -1;
}

int p1_pres_td(struct mg_buf *b, long pcid, const uint8_t *v, size_t len)
{
    size_t start = b->len;
    int rc = p1_ber_put_int(b, 0x02, pcid);
    if (!rc)
        rc = p1_ber_put(b, 0xa0, v, len);
    if (!rc)
        rc = p1_ber_wrap(b, start, 0x30);
    if (!rc)
        rc = p1_ber_wrap(b, start, 0x61);
    return rc;
}

int p1_pres_prepend_td(struct p1_chain *c, long pcid)
{
    size_t v = c->total;
    size_t pdv = 3 + p1_ber_hdr_len(v) + v;
    size_t seq = p1_ber_hdr_len(pdv) + pdv;
    uint8_t h[32];
    size_t n = p1_ber_hdr(h, 0x61, seq);
    n += p1_ber_hdr(h + n, 0x30, pdv);
    struct mg_buf ib;
    mg_buf_init(&ib, 0);
    if (p1_ber_put_int(&ib, 0x02, pcid)) {
        mg_buf_free(&ib);
        return MG_ENOMEM;
    }
    pdv += ib.len - 3;
    seq = p1_ber_hdr_len(pdv) + pdv;
    n = p1_ber_hdr(h, 0x61, seq);
    n += p1_ber_hdr(h + n, 0x30, pdv);
    memcpy(h + n, ib.data, ib.len);
    n += ib.len;
    mg_buf_free(&ib);
    n += p1_ber_hdr(h + n, 0xa0, v);
    return p1_chain_prepend(c, h, n);
}

static int put_mode(struct mg_buf *b)
{
    static const uint8_t mode[] = {0xa0, 0x03, 0x80, 0x01, 0x01};
    return mg_buf_append(b, mode, sizeof mode);
}

int p1_pres_cp(struct mg_buf *b, const struct p1_sel *calling, const struct p1_sel *called,
               const uint8_t *acse, size_t len)
{
    size_t start = b->len;
    int rc = put_mode(b);
    size_t nm = b->len;
    if (!rc && calling && calling->len)
        rc = p1_ber_put(b, 0x81, calling->v, calling->len);
    if (!rc && called && called->len)
        rc = p1_ber_put(b, 0x82, called->v, called->len);
    size_t list = b->len;
    for (size_t i = 0; !rc && i < sizeof our_ctx / sizeof our_ctx[0]; i++) {
        size_t item = b->len;
        rc = p1_ber_put_int(b, 0x02, our_ctx[i].pcid);
        if (!rc)
            rc = p1_ber_put(b, 0x06, our_ctx[i].oid, our_ctx[i].len);
        size_t ts = b->len;
        if (!rc)
            rc = p1_ber_put(b, 0x06, oid_ber, sizeof oid_ber);
        if (!rc)
            rc = p1_ber_wrap(b, ts, 0x30);
        if (!rc)
            rc = p1_ber_wrap(b, item, 0x30);
    }
    if (!rc)
        rc = p1_ber_wrap(b, list, 0xa4);
    if (!rc)
        rc = p1_pres_td(b, P1_PCTX_ACSE, acse, len);
    if (!rc)
        rc = p1_ber_wrap(b, nm, 0xa2);
    if (!rc)
        rc = p1_ber_wrap(b, start, 0x31);
    return rc;
}

static int result_list(struct mg_buf *b, const struct p1_ppdu *cp)
{
    size_t list = b->len;
    int rc = 0;
    for (size_t i = 0; !rc && i < cp->nctx; i++) {
        size_t item = b->len;
        int ok = cp->ctx[i].asn != P1_ASN_OTHER && cp->ctx[i].ber;
        rc = p1_ber_put_int(b, 0x80, ok ? 0 : 2);
        if (!rc && ok)
            rc = p1_ber_put(b, 0x81, oid_ber, sizeof oid_ber);
        if (!rc && !ok)
            rc = p1_ber_put_int(b, 0x82, cp->ctx[i].ber ? 2 : 3); /* abstract/transfer syntax */
        if (!rc)
            rc = p1_ber_wrap(b, item, 0x30);
    }
    return rc ? rc : p1_ber_wrap(b, list, 0xa5);
}

int p1_pres_cpa(struct mg_buf *b, const struct p1_ppdu *cp, const struct p1_sel *responding,
                const uint8_t *acse, size_t len)
{
    size_t start = b->len;
    int rc = put_mode(b);
    size_t nm = b->len;
    if (!rc && responding && responding->len)
        rc = p1_ber_put(b, 0x83, responding->v, responding->len);
    if (!rc)
        rc = result_list(b, cp);
    long pc = p1_pres_ctx_of(cp, P1_ASN_ACSE);
    if (!rc)
        rc = p1_pres_td(b, pc < 0 ? P1_PCTX_ACSE : pc, acse, len);
    if (!rc)
        rc = p1_ber_wrap(b, nm, 0xa2);
    if (!rc)
        rc = p1_ber_wrap(b, start, 0x31);
    return rc;
}

int p1_pres_cpr(struct mg_buf *b, const struct p1_ppdu *cp, const uint8_t *acse, size_t len)
{
    size_t start = b->len;
    int rc = result_list(b, cp);
    long pc = p1_pres_ctx_of(cp, P1_ASN_ACSE);
    if (!rc && acse)
        rc = p1_pres_td(b, pc < 0 ? P1_PCTX_ACSE : pc, acse, len);
    if (!rc)
        rc = p1_ber_wrap(b, start, 0x30);
    return rc;
}

int p1_pres_aru(struct mg_buf *b, long pcid, const uint8_t *v, size_t len)
{
    size_t start = b->len;
    int rc = v ? p1_pres_td(b, pcid, v, len) : 0;
    return rc ? rc : p1_ber_wrap(b, start, 0xa0);
}
