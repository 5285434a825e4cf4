/* p1_bind: MTA bind argument/result/error codec and credential check. */
#include "p1_bind.h"

#include <string.h>

#include "mg_err.h"
#include "p1_ber.h"

static int put_string(struct mg_buf *b, uint8_t id, const char *s)
{
    return p1_ber_put(b, id, s, strlen(s));
}

int p1_bind_encode(struct mg_buf *b, int kind, int wrapped, const struct p1_bind *v)
{
    size_t start = b->len;
    int rc;
    if (!v->authenticated) {
        static const uint8_t null[] = {0x05, 0x00};
        rc = mg_buf_append(b, null, sizeof null);
    } else {
        rc = put_string(b, 0x80, v->name);
        size_t cred = b->len;
        if (!rc && v->has_password)
            rc = put_string(b, 0x16, v->password);
        if (!rc && v->has_password)
            rc = p1_ber_wrap(b, cred, 0xa1);
        if (!rc)
            rc = p1_ber_wrap(b, start, 0xa1);
    }
    if (!rc && wrapped)
        rc = p1_ber_wrap(b, start, (uint8_t)(0xa0 | kind));
    return rc;
}

static int get_string(const struct p1_tlv *t, char *out, size_t max)
{
    if (t->id & P1_BER_CONS)
        return MG_EPROTO; /* segmented strings: not from an MTA bind */
    if (t->len > max)
        return MG_ETOOBIG;
    for (size_t i = 0; i < t->len; i++)
        if (t->v[i] == 0)
            return MG_EPROTO;
    memcpy(out, t->v, t->len);
    out[t->len] = 0;
    return 0;
}

/* [n] as IMPLICIT string or EXPLICIT around a string. */
static int tagged_string(const struct p1_tlv *t, char *out, size_t max)
{
    if (!(t->id & P1_BER_CONS))
        return get_string(t, out, max);
    struct p1_tlv in;
    size_t off = 0;
    if (p1_ber_next(t, &off, &in) != 1)
        return MG_EPROTO;
    if (in.id == 0x80 || in.id == 0xa0)
        return MG_ENOTSUP; /* strong credentials */
    return get_string(&in, out, max);
}

int p1_bind_decode(const uint8_t *p, size_t n, struct p1_bind *out, const char **why)
{
    memset(out, 0, sizeof *out);
    struct p1_tlv t, f;
    if (p1_ber_read(p, n, &t) || t.total != n)
        goto bad;
    if (t.id == 0xb0 || t.id == 0xb1) {
        size_t off = 0;
        if (p1_ber_next(&t, &off, &f) != 1 || off != t.len)
            goto bad;
        t = f;
    }
    if (t.id == 0x05 && t.len == 0)
        return 0;
    if (t.id != 0xa1 && t.id != 0x31)
        goto bad;
    out->authenticated = 1;
    size_t off = 0;
    int rc, have_name = 0;
    while ((rc = p1_ber_next(&t, &off, &f)) == 1) {
        if ((f.id & 0x1f) == 0 && (f.id & 0xc0) == 0x80) {
            if (tagged_string(&f, out->name, P1_BIND_NAME_MAX))
                goto bad;
            have_name = 1;
        } else if ((f.id & 0x1f) == 1 && (f.id & 0xc0) == 0x80) {
            rc = tagged_string(&f, out->password, P1_BIND_PASSWORD_MAX);
            if (rc == MG_ENOTSUP) {
                *why = "strong credentials are not supported";
                return MG_ENOTSUP;
            }
            if (rc)
                goto bad;
            out->has_password = 1;
        }
    }
    if (rc < 0 || !have_name)
        goto bad;
    return 0;
bad:
    *why = "malformed MTA bind argument or result";
    return MG_EPROTO;
}

int p1_bind_error_encode(struct mg_buf *b, int wrapped, long err)
{
    size_t start = b->len;
    int rc = p1_ber_put_int(b, 0x02, err);
    return rc || !wrapped ? rc : p1_ber_wrap(b, start, 0xb2);
}

int p1_bind_error_decode(const uint8_t *p, size_t n, long *err)
{
    struct p1_tlv t, i;
    if (p1_ber_read(p, n, &t) || t.total != n)
        return MG_EPROTO;
    if (t.id == 0xb2) {
        size_t off = 0;
        if (p1_ber_next(&t, &off, &i) != 1)
            return MG_EPROTO;
        t = i;
    }
    if (t.id != 0x02)
        return MG_EPROTO;
    return p1_ber_int(&t, err);
}

static int same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int p1_bind_check(const struct p1_bind *got, const char *expect_name, const char *expect_password,
                  const char **why)
{
    if (expect_name && (!got->authenticated || strcmp(got->name, expect_name) != 0)) {
        *why = "MTA name does not match the peer's";
        return P1_BIND_ERR_AUTHENTICATION;
    }
    if (expect_password && (!got->has_password || !same(got->password, expect_password))) {
        *why = "wrong password";
        return P1_BIND_ERR_AUTHENTICATION;
    }
    return 0;
}

int p1_bind_decide(const struct p1_bind *got, long dialogue, const struct p1_bind_expect *e,
                   long *err, const char **why)
{
    if (e->busy) {
        *why = "no association can be accepted now";
        *err = P1_BIND_ERR_BUSY;
        return 1;
    }
    if (dialogue != 0 && !e->allow_twa) {
        *why = "two-way-alternate dialogue not accepted from this peer";
        *err = P1_BIND_ERR_UNACCEPTABLE_DIALOGUE_MODE;
        return 1;
    }
    int auth = p1_bind_check(got, e->name, e->password, why);
    if (auth) {
        *err = auth;
        return 1;
    }
    return 0;
}

const char *p1_bind_error_name(long err)
{
    switch (err) {
    case P1_BIND_ERR_BUSY: return "busy";
    case P1_BIND_ERR_AUTHENTICATION: return "authentication-error";
    case P1_BIND_ERR_UNACCEPTABLE_DIALOGUE_MODE: return "unacceptable-dialogue-mode";
    case P1_BIND_ERR_SECURITY_CONTEXT: return "unacceptable-security-context";
    default: return "unknown-bind-error";
    }
}
