/* lsw_x400: the rfc-822-field list of an IPM heading (lsw_x400.h). */
#include "lsw_x400.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_ipm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const uint8_t RFC822_OID_DER[] = { 0x2b, 0x06, 0x01, 0x07, 0x01, 0x03, 0x02 };

static int is_rfc822(const IPMSExtension_t *e)
{
    return e->type.size == (int)sizeof RFC822_OID_DER && !memcmp(e->type.buf, RFC822_OID_DER, sizeof RFC822_OID_DER);
}

static ExtensionsField_t *heading_exts(InformationObject_t *io)
{
    return io->present == InformationObject_PR_ipm ? io->choice.ipm.heading.extensions : NULL;
}

/* Appends the IA5String items of one RFC822FieldList TLV (v, n) to *lines. */
static int list_read(const uint8_t *v, size_t n, char ***lines, size_t *nl)
{
    ber_tlv_len_t l;
    if (n < 2 || v[0] != 0x30)
        return MG_EPARSE;
    ssize_t ll = mg_ipm_fetch_length(1, v + 1, n - 1, &l);
    if (ll <= 0)
        return MG_EPARSE;
    size_t off = 1 + (size_t)ll;
    size_t end = l < 0 ? n : off + (size_t)l;
    if (l >= 0 && ((size_t)l > n - off))
        return MG_EPARSE;
    while (off < end) {
        if (l < 0 && end - off >= 2 && v[off] == 0 && v[off + 1] == 0)
            return 0; /* end of contents of the indefinite form */
        if (end - off < 2 || v[off] != 0x16) /* primitive IA5String only */
            return MG_EPARSE;
        ber_tlv_len_t il;
        ssize_t k = mg_ipm_fetch_length(0, v + off + 1, end - off - 1, &il);
        if (k <= 0 || il < 0 || (size_t)il > end - off - 1 - (size_t)k)
            return MG_EPARSE;
        const uint8_t *s = v + off + 1 + k;
        if (*nl >= LSW_X400_MAX_FIELDS)
            return MG_ETOOBIG;
        char **nv = realloc(*lines, (*nl + 1) * sizeof *nv);
        if (!nv)
            return MG_ENOMEM;
        *lines = nv;
        if (!(nv[*nl] = malloc((size_t)il + 1)))
            return MG_ENOMEM;
        memcpy(nv[*nl], s, (size_t)il);
        nv[*nl][il] = 0;
        (*nl)++;
        off += 1 + (size_t)k + (size_t)il;
    }
    return l < 0 ? MG_EPARSE : 0; /* an indefinite form must end with its end-of-contents */
}

void lsw_x400_fields_free(char **lines, size_t n)
{
    for (size_t i = 0; lines && i < n; i++)
        free(lines[i]);
    free(lines);
}

/* c looks like an InformationObject ([0] ipm or [1] ipn, constructed): spares a decode of
 * every RFC 5322 message or CMS object. */
static int looks_ipm(const unsigned char *c, size_t len)
{
    return c && len >= 2 && (c[0] == 0xa0 || c[0] == 0xa1);
}

int lsw_x400_fields(const unsigned char *c, size_t len, char ***lines, size_t *n)
{
    *lines = NULL;
    *n = 0;
    if (!looks_ipm(c, len))
        return MG_ENOTFOUND;
    InformationObject_t *io = NULL;
    struct mg_ipm_error err;
    if (mg_ipm_decode_info(c, len, &io, &err) != 0)
        return MG_ENOTFOUND;
    int rc = io->present == InformationObject_PR_ipm ? 0 : MG_ENOTFOUND;
    const ExtensionsField_t *ex = heading_exts(io);
    for (int i = 0; !rc && ex && i < ex->list.count; i++) {
        const IPMSExtension_t *e = ex->list.array[i];
        if (is_rfc822(e) && e->value)
            rc = list_read(e->value->buf, (size_t)e->value->size, lines, n);
    }
    mg_ipm_free_info(io);
    if (rc) {
        lsw_x400_fields_free(*lines, *n);
        *lines = NULL;
        *n = 0;
    }
    return rc;
}

/* "Name:" of line equals name (case-insensitive). */
static int named(const char *line, const char *name)
{
    size_t k = strlen(name);
    return !strncasecmp(line, name, k) && line[k] == ':';
}

const char *lsw_x400_field(char *const *lines, size_t n, const char *name, size_t idx)
{
    for (size_t i = 0; name && i < n; i++)
        if (named(lines[i], name) && idx-- == 0) {
            const char *v = lines[i] + strlen(name) + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    return NULL;
}

static size_t put_len(uint8_t *p, size_t n)
{
    if (n < 0x80) {
        p[0] = (uint8_t)n;
        return 1;
    }
    size_t k = 0;
    for (size_t v = n; v; v >>= 8)
        k++;
    p[0] = (uint8_t)(0x80 | k);
    for (size_t i = 0; i < k; i++)
        p[1 + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
    return 1 + k;
}

static int ia5(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s > 0x7e || ((unsigned char)*s < 0x20 && *s != '\t'))
            return 0;
    return 1;
}

/* The DER of an RFC822FieldList holding lines (n). */
static int list_write(char *const *lines, size_t n, uint8_t **out, size_t *outlen)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++)
        body += 1 + 9 + strlen(lines[i]);
    uint8_t *b = malloc(1 + 9 + body);
    if (!b)
        return MG_ENOMEM;
    size_t o = 0;
    uint8_t *w = b + 10; /* the items first, then the header in front of them */
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(lines[i]);
        w[o++] = 0x16;
        o += put_len(w + o, k);
        memcpy(w + o, lines[i], k);
        o += k;
    }
    uint8_t hdr[10];
    size_t h = 0;
    hdr[h++] = 0x30;
    h += put_len(hdr + h, o);
    memmove(b + h, w, o);
    memcpy(b, hdr, h);
    *out = b;
    *outlen = h + o;
    return 0;
}

int lsw_x400_edit(const unsigned char *c, size_t len, const char *const *remove, const char *const *add,
                  unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    for (size_t i = 0; add && add[i]; i++)
        if (!ia5(add[i]) || !strchr(add[i], ':'))
            return MG_EINVAL;
    if (!looks_ipm(c, len))
        return MG_ENOTFOUND;
    InformationObject_t *io = NULL;
    struct mg_ipm_error err;
    if (mg_ipm_decode_info(c, len, &io, &err) != 0)
        return MG_ENOTFOUND;
    if (io->present != InformationObject_PR_ipm) {
        mg_ipm_free_info(io);
        return MG_ENOTFOUND;
    }
    /* The fields kept: every list's, in order, less the removed names; then the added ones. */
    char **lines = NULL;
    size_t n = 0;
    int rc = 0;
    ExtensionsField_t *ex = heading_exts(io);
    IPMSExtension_t *home = NULL;
    for (int i = 0; !rc && ex && i < ex->list.count; i++) {
        IPMSExtension_t *e = ex->list.array[i];
        if (!is_rfc822(e))
            continue;
        if (e->value)
            rc = list_read(e->value->buf, (size_t)e->value->size, &lines, &n);
        if (!home)
            home = e;
    }
    size_t kept = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        int drop = 0;
        for (size_t k = 0; remove && remove[k] && !drop; k++)
            drop = named(lines[i], remove[k]);
        if (drop)
            free(lines[i]);
        else
            lines[kept++] = lines[i];
    }
    if (!rc)
        n = kept;
    for (size_t i = 0; !rc && add && add[i]; i++) {
        char **nv = n < LSW_X400_MAX_FIELDS ? realloc(lines, (n + 1) * sizeof *nv) : NULL;
        if (!nv) {
            rc = n < LSW_X400_MAX_FIELDS ? MG_ENOMEM : MG_ETOOBIG;
            break;
        }
        lines = nv;
        if (!(lines[n] = strdup(add[i])))
            rc = MG_ENOMEM;
        else
            n++;
    }
    if (!rc && !home && !n) { /* nothing to add and no list: the content as it is */
        lsw_x400_fields_free(lines, n);
        mg_ipm_free_info(io);
        if (!(*out = malloc(len)))
            return MG_ENOMEM;
        memcpy(*out, c, len);
        *outlen = len;
        return 0;
    }
    /* One rfc-822-field extension holds them all (others of the same type are dropped). */
    if (!rc && !home) {
        if (!ex) {
            ex = calloc(1, sizeof *ex);
            if (!ex)
                rc = MG_ENOMEM;
            else {
                io->choice.ipm.heading.extensions = ex;
                ASN_SET_MKPRESENT(&io->choice.ipm.heading._presence_map, Heading_PR_extensions);
            }
        }
        home = rc ? NULL : calloc(1, sizeof *home);
        if (!rc && (!home || !(home->type.buf = malloc(sizeof RFC822_OID_DER)) || ASN_SET_ADD(&ex->list, home))) {
            if (home)
                free(home->type.buf);
            free(home);
            home = NULL;
            rc = MG_ENOMEM;
        } else if (!rc) {
            memcpy(home->type.buf, RFC822_OID_DER, sizeof RFC822_OID_DER);
            home->type.size = (int)sizeof RFC822_OID_DER;
        }
    }
    for (int i = 0; !rc && ex && i < ex->list.count;) {
        IPMSExtension_t *e = ex->list.array[i];
        if (e != home && is_rfc822(e)) {
            asn_set_del(&ex->list, i, 0);
            ASN_STRUCT_FREE(asn_DEF_IPMSExtension, e);
        } else
            i++;
    }
    uint8_t *lv = NULL;
    size_t ll = 0;
    if (!rc)
        rc = list_write(lines, n, &lv, &ll);
    if (!rc) {
        if (!home->value && !(home->value = calloc(1, sizeof *home->value))) {
            free(lv);
            rc = MG_ENOMEM;
        } else {
            free(home->value->buf);
            home->value->buf = lv;
            home->value->size = (int)ll;
        }
    }
    struct mg_buf b;
    mg_buf_init(&b, 0);
    if (!rc)
        rc = mg_ipm_encode_info(io, &b);
    if (!rc) {
        *out = b.data;
        *outlen = b.len;
    } else {
        mg_buf_free(&b);
    }
    lsw_x400_fields_free(lines, n);
    mg_ipm_free_info(io);
    return rc;
}
