/* p1_session: ISO 8327-1 version 2 SPDU codec and the token/activity/serial state RTSE uses. */
#include "p1_session.h"

#include <string.h>

#include "mg_err.h"

/* Parameter (group) identifiers. */
#define PGI_CONN_ID 1
#define PGI_CONN_ACCEPT 5
#define PI_CALLED_REF 9
#define PI_CALLING_REF 10
#define PI_COMMON_REF 11
#define PI_SYNC_TYPE 15
#define PI_TOKEN_ITEM 16
#define PI_TD 17
#define PI_PROTO_OPTIONS 19
#define PI_SUR 20
#define PI_VERSION 22
#define PI_TOKEN_SETTING 26
#define PI_ACTIVITY_ID 41
#define PI_SERIAL 42
#define PI_REASON 50
#define PI_CALLING_SSEL 51
#define PI_CALLED_SSEL 52
#define PI_OVERFLOW 60
#define PI_UD 193
#define PI_EXT_UD 194

/* Read an LI at p (1 or 3 octets). */
static int read_li(const uint8_t *p, size_t n, size_t *li, size_t *hl)
{
    if (n < 1)
        return MG_EPROTO;
    if (p[0] != 0xff) {
        *li = p[0];
        *hl = 1;
        return 0;
    }
    if (n < 3)
        return MG_EPROTO;
    *li = (size_t)p[1] << 8 | p[2];
    *hl = 3;
    return 0;
}

static int parse_serial(const uint8_t *v, size_t n, unsigned long *out)
{
    if (n < 1 || n > 6)
        return MG_EPROTO;
    unsigned long s = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return MG_EPROTO;
        s = s * 10 + (unsigned long)(v[i] - '0');
    }
    *out = s;
    return 0;
}

static int parse_params(const uint8_t *p, size_t n, struct p1_spdu *s, int depth, const char **why)
{
    size_t i = 0;
    while (i < n) {
        uint8_t code = p[i++];
        size_t li, hl;
        if (read_li(p + i, n - i, &li, &hl) || li > n - i - hl) {
            *why = "session parameter overruns its SPDU";
            return MG_EPROTO;
        }
        const uint8_t *v = p + i + hl;
        i += hl + li;
        switch (code) {
        case PGI_CONN_ID:
        case PGI_CONN_ACCEPT:
            if (depth > 0) {
                *why = "nested session parameter group";
                return MG_EPROTO;
            }
            if (parse_params(v, li, s, depth + 1, why))
                return MG_EPROTO;
            break;
        case PI_SYNC_TYPE:
            if (li != 1)
                goto bad;
            s->has_sync_type = 1;
            s->sync_type = v[0];
            break;
        case PI_TOKEN_ITEM:
            if (li != 1)
                goto bad;
            s->has_tokens = 1;
            s->tokens = v[0];
            break;
        case PI_TD:
            if (li != 1)
                goto bad;
            s->has_td = 1;
            s->td = v[0];
            break;
        case PI_PROTO_OPTIONS:
            if (li != 1)
                goto bad;
            s->protocol_options = v[0];
            break;
        case PI_SUR:
            if (li != 2)
                goto bad;
            s->has_req = 1;
            s->requirements = (uint16_t)(v[0] << 8 | v[1]);
            break;
        case PI_VERSION:
            if (li != 1)
                goto bad;
            s->has_version = 1;
            s->version = v[0];
            break;
        case PI_TOKEN_SETTING:
            if (li != 1)
                goto bad;
            s->has_token_setting = 1;
            s->token_setting = v[0];
            break;
        case PI_ACTIVITY_ID:
            if (li < 1 || li > 6)
                goto bad;
            s->actid = v;
            s->actid_len = li;
            break;
        case PI_SERIAL:
            if (parse_serial(v, li, &s->serial))
                goto bad;
            s->has_serial = 1;
            break;
        case PI_REASON:
            if (li < 1)
                goto bad;
            s->has_reason = 1;
            s->reason = v[0];
            if (li > 1) {
                s->has_ud = 1;
                s->ud = v + 1;
                s->ud_len = li - 1;
            }
            break;
        case PI_CALLING_SSEL:
        case PI_CALLED_SSEL:
            if (li > 16)
                goto bad;
            {
                struct p1_sel *sel = code == PI_CALLING_SSEL ? &s->calling_ssel : &s->called_ssel;
                sel->len = (uint8_t)li;
                memcpy(sel->v, v, li);
            }
            break;
        case PI_OVERFLOW:
            s->has_overflow = 1;
            break;
        case PI_UD:
        case PI_EXT_UD:
            s->has_ud = 1;
            s->ud = v;
            s->ud_len = li;
            break;
        default:
            break; /* references and other parameters RTSE does not use */
        }
        continue;
    bad:
        *why = "malformed session parameter";
        return MG_EPROTO;
    }
    return 0;
}

/* One SPDU at p; *used is its size including the user information that follows a DT. */
static int parse_one(const uint8_t *p, size_t n, struct p1_spdu *s, int cat2, size_t *used,
                     const char **why)
{
    memset(s, 0, sizeof *s);
    size_t li, hl;
    if (n < 2 || read_li(p + 1, n - 1, &li, &hl) || li > n - 1 - hl) {
        *why = "SPDU length indicator overruns the TSDU";
        return MG_EPROTO;
    }
    s->si = p[0];
    if (parse_params(p + 1 + hl, li, s, 0, why))
        return MG_EPROTO;
    *used = 1 + hl + li;
    if (cat2 && s->si == P1_SI_DT) {
        s->has_ud = 1;
        s->ud = p + *used;
        s->ud_len = n - *used;
        *used = n;
    }
    return 0;
}

int p1_session_parse(const uint8_t *tsdu, size_t len, struct p1_spdu *out, size_t *count,
                     const char **why)
{
    *count = 0;
    if (len == 0) {
        *why = "empty TSDU";
        return MG_EPROTO;
    }
    size_t used;
    uint8_t si = tsdu[0];
    if (si == P1_SI_GT || si == P1_SI_PT) {
        if (parse_one(tsdu, len, &out[0], 0, &used, why))
            return MG_EPROTO;
        *count = 1;
        if (used == len)
            return 0; /* a category 0 SPDU on its own (token give/please) */
        out[0].cat0 = 1;
        size_t first = used;
        if (parse_one(tsdu + first, len - first, &out[1], 1, &used, why))
            return MG_EPROTO;
        if (first + used != len) {
            *why = "octets after a concatenated category 2 SPDU";
            return MG_EPROTO;
        }
        *count = 2;
        return 0;
    }
    if (parse_one(tsdu, len, &out[0], 0, &used, why))
        return MG_EPROTO;
    *count = 1;
    if (used != len) {
        *why = "octets after a category 1 SPDU (extended concatenation is not supported)";
        return MG_EPROTO;
    }
    return 0;
}

static int put_li(struct mg_buf *b, size_t li)
{
    uint8_t h[3];
    if (li > 0xffff)
        return MG_ETOOBIG;
    if (li < 255) {
        h[0] = (uint8_t)li;
        return mg_buf_append(b, h, 1);
    }
    h[0] = 0xff;
    h[1] = (uint8_t)(li >> 8);
    h[2] = (uint8_t)li;
    return mg_buf_append(b, h, 3);
}

static int put_param(struct mg_buf *b, uint8_t code, const void *v, size_t len)
{
    int rc = mg_buf_append(b, &code, 1);
    if (!rc)
        rc = put_li(b, len);
    if (!rc && len)
        rc = mg_buf_append(b, v, len);
    return rc;
}

static int put_u8(struct mg_buf *b, uint8_t code, uint8_t v)
{
    return put_param(b, code, &v, 1);
}

int p1_session_encode(struct mg_buf *b, const struct p1_spdu *s)
{
    struct mg_buf pv;
    mg_buf_init(&pv, 0);
    int rc = 0;
    uint8_t tmp[8];
    if (s->si == P1_SI_CN || s->si == P1_SI_AC) {
        struct mg_buf g;
        mg_buf_init(&g, 0);
        rc = put_u8(&g, PI_PROTO_OPTIONS, s->protocol_options);
        if (!rc)
            rc = put_u8(&g, PI_VERSION, s->has_version ? s->version : 2);
        if (!rc && s->has_token_setting)
            rc = put_u8(&g, PI_TOKEN_SETTING, s->token_setting);
        if (!rc)
            rc = put_param(&pv, PGI_CONN_ACCEPT, g.data, g.len);
        mg_buf_free(&g);
    }
    if (!rc && s->has_sync_type)
        rc = put_u8(&pv, PI_SYNC_TYPE, s->sync_type);
    if (!rc && s->has_tokens)
        rc = put_u8(&pv, PI_TOKEN_ITEM, s->tokens);
    if (!rc && s->has_td)
        rc = put_u8(&pv, PI_TD, s->td);
    if (!rc && s->has_req) {
        tmp[0] = (uint8_t)(s->requirements >> 8);
        tmp[1] = (uint8_t)s->requirements;
        rc = put_param(&pv, PI_SUR, tmp, 2);
    }
    if (!rc && s->calling_ssel.len)
        rc = put_param(&pv, PI_CALLING_SSEL, s->calling_ssel.v, s->calling_ssel.len);
    if (!rc && (s->called_ssel.len || s->si == P1_SI_AC))
        rc = put_param(&pv, PI_CALLED_SSEL, s->called_ssel.v, s->called_ssel.len);
    if (!rc && s->actid_len)
        rc = put_param(&pv, PI_ACTIVITY_ID, s->actid, s->actid_len);
    if (!rc && s->has_serial) {
        int k = 0;
        char d[8];
        unsigned long v = s->serial % 1000000;
        do {
            d[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        for (int i = 0; i < k; i++)
            tmp[i] = (uint8_t)d[k - 1 - i];
        rc = put_param(&pv, PI_SERIAL, tmp, (size_t)k);
    }
    if (!rc && s->has_reason) {
        /* The reason code carries the user data (RF: rejection by the SS-user). */
        struct mg_buf r;
        mg_buf_init(&r, 0);
        rc = mg_buf_append(&r, &s->reason, 1);
        if (!rc && s->has_ud)
            rc = mg_buf_append(&r, s->ud, s->ud_len);
        if (!rc)
            rc = put_param(&pv, PI_REASON, r.data, r.len);
        mg_buf_free(&r);
    } else if (!rc && s->has_ud) {
        size_t max = s->si == P1_SI_CN ? P1_SESSION_EXT_UD_MAX : P1_SESSION_EXT_UD_MAX;
        if (s->ud_len > max)
            rc = MG_ETOOBIG;
        else
            rc = put_param(&pv, s->ud_len > P1_SESSION_UD_MAX && s->si == P1_SI_CN ? PI_EXT_UD
                                                                                  : PI_UD,
                           s->ud, s->ud_len);
    }
    if (!rc)
        rc = mg_buf_append(b, &s->si, 1);
    if (!rc)
        rc = put_li(b, pv.len);
    if (!rc && pv.len)
        rc = mg_buf_append(b, pv.data, pv.len);
    mg_buf_free(&pv);
    return rc;
}

int p1_session_prepend_dt(struct p1_chain *c)
{
    static const uint8_t gt_dt[4] = {P1_SI_GT, 0, P1_SI_DT, 0};
    return p1_chain_prepend(c, gt_dt, sizeof gt_dt);
}

void p1_session_init(struct p1_session *s, int initiator)
{
    memset(s, 0, sizeof *s);
    s->initiator = initiator;
}

void p1_session_cn_fields(struct p1_spdu *sp, const struct p1_sel *calling,
                          const struct p1_sel *called)
{
    memset(sp, 0, sizeof *sp);
    sp->si = P1_SI_CN;
    sp->has_version = 1;
    sp->version = 2;
    sp->has_token_setting = 1;
    sp->token_setting = 0; /* every token on the initiator's side */
    sp->has_req = 1;
    sp->requirements = P1_SUR_RTSE;
    if (calling)
        sp->calling_ssel = *calling;
    if (called)
        sp->called_ssel = *called;
}

void p1_session_ac_fields(struct p1_spdu *sp, uint16_t requirements,
                          const struct p1_sel *responding)
{
    memset(sp, 0, sizeof *sp);
    sp->si = P1_SI_AC;
    sp->has_version = 1;
    sp->version = 2;
    sp->has_token_setting = 1;
    sp->token_setting = 0;
    sp->has_req = 1;
    sp->requirements = requirements;
    if (responding)
        sp->called_ssel = *responding;
}

void p1_session_connected(struct p1_session *s, uint16_t requirements)
{
    s->requirements = requirements;
    s->tokens = s->initiator ? P1_TOK_ALL : 0;
    s->in_activity = 0;
    s->vm = s->va = 1;
}
