/* p1_cms: CMS-protected X.400 content on P1 (see p1_cms.h). */
#include "p1_cms.h"

#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "mg_ipm.h"
#include "NotificationExtensionsField.h"
#include "p1_ber.h"

/* DER contents of the CMS content-type OIDs a protected content may have on top */
static const uint8_t OID_SIGNED[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };
static const uint8_t OID_ENVELOPED[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03 };
static const uint8_t OID_AUTHENV[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10,
                                       0x01, 0x17 };

/* 1.2.840.113549.1 (PKCS): id-signedData, id-envelopedData, id-ct-* are all under it */
static const uint8_t PKCS_ARC[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01 };

static int is(const struct p1_tlv *t, const uint8_t *oid, size_t n)
{
    return t->len == n && !memcmp(t->v, oid, n);
}

int p1_cms_is_content_info(const uint8_t *c, size_t n)
{
    struct p1_tlv ci, ct, body;
    size_t off = 0;
    if (!c || p1_ber_read(c, n, &ci) != 0 || ci.total != n || ci.id != 0x30)
        return 0;
    if (p1_ber_next(&ci, &off, &ct) != 1 || ct.id != 0x06 ||
        !(is(&ct, OID_SIGNED, sizeof OID_SIGNED) || is(&ct, OID_ENVELOPED, sizeof OID_ENVELOPED) ||
          is(&ct, OID_AUTHENV, sizeof OID_AUTHENV)))
        return 0;
    if (p1_ber_next(&ci, &off, &body) != 1 || body.id != 0xa0)
        return 0;
    return p1_ber_next(&ci, &off, &body) == 0; /* nothing after [0] */
}

/* The DER contents of a dotted OID into out (at most cap bytes): its length, or -1. */
static long oid_der(const char *dotted, uint8_t *out, size_t cap)
{
    unsigned long arcs[32];
    size_t n = 0;
    const char *p = dotted;
    while (*p && n < 32) {
        char *end;
        if (*p < '0' || *p > '9')
            return -1;
        arcs[n++] = strtoul(p, &end, 10);
        p = end;
        if (*p == '.')
            p++;
        else if (*p)
            return -1;
    }
    if (*p || n < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39))
        return -1;
    size_t o = 0;
    for (size_t i = 1; i < n; i++) {
        unsigned long v = i == 1 ? arcs[0] * 40 + arcs[1] : arcs[i];
        uint8_t tmp[10];
        size_t k = 0;
        do
            tmp[k++] = (uint8_t)(v & 0x7f);
        while ((v >>= 7) && k < sizeof tmp);
        if (o + k > cap)
            return -1;
        while (k--)
            out[o++] = (uint8_t)(tmp[k] | (k ? 0x80 : 0));
    }
    return (long)o;
}

/* keep_pkcs: a PKCS / S/MIME type already there stays (p1_cms_retype); else replaced. */
static int retype(const uint8_t *env, size_t len, const char *oid, int keep_pkcs, uint8_t **out,
                  size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    uint8_t od[64];
    int builtin = oid && (!strcmp(oid, "2") || !strcmp(oid, "22"));
    long ol = builtin ? 1 : oid ? oid_der(oid, od, sizeof od) : -1;
    if (ol <= 0)
        return MG_EINVAL;
    if (builtin)
        od[0] = (uint8_t)atoi(oid); /* BuiltInContentType ::= [APPLICATION 6] INTEGER */
    struct p1_tlv e, t;
    if (!env || p1_ber_read(env, len, &e) != 0 || e.total != len || e.id != 0x31)
        return MG_EPARSE;
    struct mg_buf body;
    mg_buf_init(&body, 0);
    size_t off = 0, start = 0;
    int r, rc = 0, found = 0;
    while (!rc && (start = off, r = p1_ber_next(&e, &off, &t)) == 1) {
        if (t.id == 0x06 || t.id == 0x46) { /* extended / built-in [APPLICATION 6] */
            found++;
            /* an envelope that names a PKCS / S/MIME type already (CMS content that came in
             * so, whatever its reading of RFC 3855) keeps what its originator wrote */
            if (keep_pkcs && t.id == 0x06 && t.len >= sizeof PKCS_ARC &&
                !memcmp(t.v, PKCS_ARC, sizeof PKCS_ARC))
                rc = mg_buf_append(&body, e.v + start, t.total);
            else
                rc = p1_ber_put(&body, builtin ? 0x46 : 0x06, od, (size_t)ol);
        } else {
            rc = mg_buf_append(&body, e.v + start, t.total);
        }
    }
    if (!rc && (r < 0 || found != 1))
        rc = MG_EPARSE;
    struct mg_buf o;
    mg_buf_init(&o, 0);
    if (!rc)
        rc = p1_ber_put(&o, 0x31, body.data, body.len);
    mg_buf_free(&body);
    if (rc) {
        mg_buf_free(&o);
        return rc;
    }
    *out = mg_buf_steal(&o, outlen);
    return 0;
}

int p1_cms_retype(const uint8_t *env, size_t len, const char *oid, uint8_t **out, size_t *outlen)
{
    return retype(env, len, oid, 1, out, outlen);
}

int p1_cms_set_type(const uint8_t *env, size_t len, const char *oid, uint8_t **out, size_t *outlen)
{
    return retype(env, len, oid, 0, out, outlen);
}

/* P772 when the IPM's heading (an IPN's notification extensions) names a STANAG 4406
 * extension; P22 otherwise, and for bytes that are no IPM. */
static const char *ipm_kind(const uint8_t *c, size_t n)
{
    InformationObject_t *io = NULL;
    struct mg_ipm_error err;
    if (!c || !n || mg_ipm_decode_info(c, n, &io, &err) != 0)
        return "22";
    IPMSExtension_t **arr = NULL;
    int count = mg_ipm_info_extensions(io, &arr);
    const char *kind = "22";
    for (int i = 0; i < count; i++) {
        char oid[128];
        if (mg_ipm_oid_str(&arr[i]->type, oid, sizeof oid) == 0 && !strncmp(oid, "1.3.26.0.4406.", 14))
            kind = P1_CMS_P772;
    }
    mg_ipm_free_info(io);
    return kind;
}

static int pkcs_type(const char *oid)
{
    return oid && !strncmp(oid, "1.2.840.113549.1.", 17);
}

int p1_cms_content_type(const uint8_t *c, size_t n, const char *stored, char *out, size_t outsz)
{
    const char *want;
    if (p1_cms_is_content_info(c, n))
        want = pkcs_type(stored) ? stored : P1_CMS_CONTENT_INFO;
    else if (!stored || !*stored || pkcs_type(stored))
        want = ipm_kind(c, n);
    else
        want = stored;
    if (strlen(want) >= outsz)
        return MG_EINVAL;
    memcpy(out, want, strlen(want) + 1);
    return !stored || strcmp(stored, want) != 0;
}

/* The built-in types' OIDs (X.420 id-mct-p2 / id-mct-p22) as the envelope's built-in form. */
static const char *builtin_form(const char *oid)
{
    if (!strcmp(oid, "2.6.1.10.1"))
        return "22";
    if (!strcmp(oid, "2.6.1.10.0"))
        return "2";
    return oid;
}

int p1_cms_version_type(const char *version, const char *stored, char *out, size_t outsz)
{
    if (!version || !*version)
        return MG_EINVAL;
    const char *want = builtin_form(version);
    /* the same type in either form, or CMS content that travelled as CMS already: the
     * envelope says it as it was received */
    if (stored && *stored &&
        (!strcmp(builtin_form(stored), want) || (pkcs_type(want) && pkcs_type(stored))))
        want = stored;
    if (strlen(want) >= outsz)
        return MG_EINVAL;
    memcpy(out, want, strlen(want) + 1);
    return !stored || strcmp(stored, want) != 0;
}
