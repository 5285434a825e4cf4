/* lbl_header: X-X411, SIO-Label and SIO-Label-History header fields (lbl_header.h).
 * Base64 is OpenSSL's (EVP_EncodeBlock/EVP_DecodeBlock); this file only restores the padding
 * that senders sometimes drop and strips folding white space first. The parameter syntax is
 * a small tokenizer: name=value pairs separated by ';', values as tokens or quoted strings. */
#include "lbl_header.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "lbl_ber.h"
#include "lbl_marking.h"
#include "lbl_spif_int.h"
#include "lbl_xml.h"
#include "mg_buf.h"
#include "mg_err.h"

int lbl_b64_encode(const unsigned char *in, size_t len, char **out)
{
    if (len > LBL_HEADER_MAX_BYTES)
        return MG_ETOOBIG;
    *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!*out)
        return MG_ENOMEM;
    EVP_EncodeBlock((unsigned char *)*out, in, (int)len);
    return 0;
}

int lbl_b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
    *out = NULL;
    if (len > LBL_HEADER_MAX_BYTES)
        return MG_ETOOBIG;
    char *clean = malloc(len + 4);
    if (!clean)
        return MG_ENOMEM;
    size_t n = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad || !(isalnum((unsigned char)c) || c == '+' || c == '/')) {
            free(clean);
            return MG_EPARSE;
        }
        clean[n++] = c;
    }
    if (n % 4 == 1 || pad > 2) {
        free(clean);
        return MG_EPARSE;
    }
    size_t want = n * 3 / 4; /* bytes the significant characters carry */
    while (n % 4)
        clean[n++] = '=';
    unsigned char *buf = malloc(n / 4 * 3 + 1);
    if (!buf) {
        free(clean);
        return MG_ENOMEM;
    }
    int got = n ? EVP_DecodeBlock(buf, (unsigned char *)clean, (int)n) : 0;
    free(clean);
    if (got < 0 || (size_t)got < want) {
        free(buf);
        return MG_EPARSE;
    }
    *out = buf;
    *outlen = want;
    return 0;
}

/* ---- parameters -------------------------------------------------------------------------------- */

void lbl_sio_free(struct lbl_sio *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        free(s->name[i]);
        free(s->value[i]);
    }
    memset(s, 0, sizeof *s);
}

const char *lbl_sio_get(const struct lbl_sio *s, const char *name)
{
    for (unsigned i = 0; i < s->n; i++)
        if (!strcmp(s->name[i], name))
            return s->value[i];
    return NULL;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int lbl_sio_parse(const char *text, size_t len, struct lbl_sio *out, struct lbl_err *err)
{
    memset(out, 0, sizeof *out);
    if (len > LBL_HEADER_MAX_BYTES) {
        lbl_err_set(err, "header field longer than %d bytes", LBL_HEADER_MAX_BYTES);
        return MG_ETOOBIG;
    }
    const char *p = text, *end = text + len;
    const char *colon = memchr(p, ':', len);
    const char *eq = memchr(p, '=', len);
    if (colon && (!eq || colon < eq)) /* "SIO-Label:" or "SIO-Label-History:" field name */
        p = colon + 1;
    while (p < end) {
        while (p < end && (is_ws(*p) || *p == ';'))
            p++;
        if (p >= end)
            break;
        const char *ns = p;
        while (p < end && *p != '=' && *p != ';' && !is_ws(*p))
            p++;
        size_t nl = (size_t)(p - ns);
        while (p < end && is_ws(*p))
            p++;
        if (!nl || p >= end || *p != '=') {
            lbl_err_set(err, "parameter without a value at offset %zu", (size_t)(ns - text));
            goto bad;
        }
        p++;
        while (p < end && is_ws(*p))
            p++;
        struct mg_buf v;
        mg_buf_init(&v, LBL_HEADER_MAX_BYTES);
        int rc = 0;
        if (p < end && *p == '"') {
            p++;
            while (p < end && *p != '"' && !rc) {
                if (*p == '\\' && p + 1 < end)
                    p++;
                rc = mg_buf_append(&v, p++, 1);
            }
            if (p >= end) {
                mg_buf_free(&v);
                lbl_err_set(err, "unterminated quoted string");
                goto bad;
            }
            p++;
        } else {
            while (p < end && *p != ';' && !is_ws(*p) && !rc)
                rc = mg_buf_append(&v, p++, 1);
        }
        rc = rc ? rc : mg_buf_append(&v, "", 1);
        if (rc || out->n >= LBL_SIO_MAX_PARAMS) {
            mg_buf_free(&v);
            lbl_err_set(err, "too many or too long parameters");
            goto bad;
        }
        char *name = malloc(nl + 1);
        if (!name) {
            mg_buf_free(&v);
            goto bad;
        }
        for (size_t i = 0; i < nl; i++)
            name[i] = (char)tolower((unsigned char)ns[i]);
        name[nl] = 0;
        out->name[out->n] = name;
        out->value[out->n++] = (char *)mg_buf_steal(&v, NULL);
    }
    return 0;
bad:
    lbl_sio_free(out);
    return MG_EPARSE;
}

/* type + label parameters to a label (prefix "" or "prev-"). */
static int typed_label(const struct lbl_sio *s, const char *prefix, const struct lbl_policy_set *set,
                       struct lbl_label *out, struct lbl_err *err)
{
    char tn[32], ln[32];
    snprintf(tn, sizeof tn, "%stype", prefix);
    snprintf(ln, sizeof ln, "%slabel", prefix);
    const char *type = lbl_sio_get(s, tn), *label = lbl_sio_get(s, ln);
    if (!label) {
        lbl_err_set(err, "no %s parameter", ln);
        return MG_EPARSE;
    }
    if (!type)
        type = ":ess";
    if (!strcasecmp(type, ":xml"))
        return lbl_xml_parse_label(label, strlen(label), set, out, err);
    unsigned char *der;
    size_t n;
    int rc = lbl_b64_decode(label, strlen(label), &der, &n);
    if (rc) {
        lbl_err_set(err, "%s is not base64", ln);
        return rc;
    }
    if (!strcasecmp(type, ":ess"))
        rc = lbl_ess_decode(der, n, out, err);
    else if (!strcasecmp(type, ":x411"))
        rc = lbl_x411_decode(der, n, out, err);
    else {
        lbl_err_set(err, "unknown label type \"%s\"", type);
        rc = MG_ENOTSUP;
    }
    free(der);
    return rc;
}

int lbl_sio_decode(const char *text, size_t len, const struct lbl_policy_set *set, struct lbl_label *out,
                   struct lbl_err *err)
{
    struct lbl_sio s;
    int rc = lbl_sio_parse(text, len, &s, err);
    if (rc)
        return rc;
    rc = typed_label(&s, "", set, out, err);
    lbl_sio_free(&s);
    return rc;
}

int lbl_sio_history_decode(const char *text, size_t len, const struct lbl_policy_set *set, struct lbl_label *prev,
                           struct lbl_err *err)
{
    struct lbl_sio s;
    int rc = lbl_sio_parse(text, len, &s, err);
    if (rc)
        return rc;
    rc = typed_label(&s, "prev-", set, prev, err);
    lbl_sio_free(&s);
    return rc;
}

static int quoted(struct mg_buf *b, const char *name, const char *v)
{
    int rc = mg_buf_appendf(b, "%s%s=\"", b->len && b->data[b->len - 1] != ' ' ? "; " : "", name);
    for (; *v && !rc; v++) {
        if (*v == '"' || *v == '\\')
            rc = mg_buf_append(b, "\\", 1);
        if (*v == '\r' || *v == '\n')
            continue; /* header values stay on one logical line */
        rc = rc ? rc : mg_buf_append(b, v, 1);
    }
    return rc ? rc : mg_buf_append(b, "\"", 1);
}

static int finish(struct mg_buf *b, int rc, char **out)
{
    rc = rc ? rc : mg_buf_append(b, "", 1);
    if (rc) {
        mg_buf_free(b);
        return rc;
    }
    *out = (char *)mg_buf_steal(b, NULL);
    return 0;
}

int lbl_sio_encode(const struct lbl_label *l, const struct lbl_policy *p, char **out, struct lbl_err *err)
{
    unsigned char *der;
    size_t n;
    *out = NULL;
    int rc = lbl_ess_encode(l, p, &der, &n, err);
    if (rc)
        return rc;
    char *b64;
    rc = lbl_b64_encode(der, n, &b64);
    free(der);
    if (rc)
        return rc;
    struct mg_buf b;
    mg_buf_init(&b, LBL_HEADER_MAX_BYTES);
    rc = mg_buf_appendf(&b, "SIO-Label: ");
    if (!rc && p) {
        char *m = NULL;
        if (lbl_marking(p, l, "", LBL_LOC_XHEADER, &m, err) == 0) {
            rc = quoted(&b, "marking", m);
            int ci = l->has_class ? lbl_policy_class_index(p, l->class_lacv) : -1;
            if (!rc && ci >= 0 && p->classes[ci].color)
                rc = quoted(&b, "fgcolor", p->classes[ci].color);
        }
        free(m);
    }
    rc = rc ? rc : quoted(&b, "type", ":ess");
    rc = rc ? rc : quoted(&b, "label", b64);
    free(b64);
    return finish(&b, rc, out);
}

int lbl_sio_history_encode(const struct lbl_label *prev, const char *change, const char *by, const char *at,
                           char **out, struct lbl_err *err)
{
    unsigned char *der;
    size_t n;
    *out = NULL;
    int rc = lbl_ess_encode(prev, NULL, &der, &n, err);
    if (rc)
        return rc;
    char *b64;
    rc = lbl_b64_encode(der, n, &b64);
    free(der);
    if (rc)
        return rc;
    struct mg_buf b;
    mg_buf_init(&b, LBL_HEADER_MAX_BYTES);
    rc = mg_buf_appendf(&b, "SIO-Label-History: ");
    rc = rc ? rc : quoted(&b, "change", change ? change : ":update");
    if (!rc && by)
        rc = quoted(&b, "changed-by", by);
    if (!rc && at)
        rc = quoted(&b, "changed-at", at);
    rc = rc ? rc : quoted(&b, "prev-type", ":ess");
    rc = rc ? rc : quoted(&b, "prev-label", b64);
    free(b64);
    return finish(&b, rc, out);
}

int lbl_xx411_decode(const char *text, size_t len, struct lbl_label *out, struct lbl_err *err)
{
    const char *p = text, *end = text + len;
    while (p < end && is_ws(*p))
        p++;
    if ((size_t)(end - p) >= 7 && !strncasecmp(p, "X-X411:", 7))
        p += 7;
    unsigned char *ber;
    size_t n;
    int rc = lbl_b64_decode(p, (size_t)(end - p), &ber, &n);
    if (rc) {
        lbl_err_set(err, "X-X411 value is not base64");
        return rc;
    }
    rc = lbl_x411_decode(ber, n, out, err);
    free(ber);
    return rc;
}

int lbl_xx411_encode(const struct lbl_label *l, const struct lbl_policy *p, char **out, struct lbl_err *err)
{
    unsigned char *der;
    size_t n;
    *out = NULL;
    int rc = lbl_x411_encode(l, p, &der, &n, err);
    if (rc)
        return rc;
    char *b64;
    rc = lbl_b64_encode(der, n, &b64);
    free(der);
    if (rc)
        return rc;
    struct mg_buf b;
    mg_buf_init(&b, LBL_HEADER_MAX_BYTES);
    rc = mg_buf_appendf(&b, "X-X411: %s", b64);
    free(b64);
    return finish(&b, rc, out);
}
