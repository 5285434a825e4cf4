/* mg_ipm: decode/encode/free of IPMS content and the second decoding step for open types;
 * mg_ipm_diagnose locates decode failures (asn1c reports only "failed", with no offset). */
#include "mg_ipm.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "constr_CHOICE.h"
#include "constr_SEQUENCE.h"
#include "constr_SET.h"
#include "constr_SET_OF.h"

#include "mg_asn1.h"
#include "NotificationExtensionsField.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_print.h"

/* asn1c recursion guard: an IPM can nest IPMs (message body parts, returned IPMs), so a
 * hostile input could otherwise recurse until the stack is gone. */
#define DECODE_STACK_LIMIT (256u * 1024u)
#define DIAG_MAX_DEPTH 64

static void set_err(struct mg_ipm_error *err, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(struct mg_ipm_error *err, size_t off, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    err->offset = off;
    vsnprintf(err->what, sizeof err->what, fmt, ap);
    va_end(ap);
}

int mg_ipm_decode(asn_TYPE_descriptor_t *td, const void *buf, size_t len, void **out,
                  struct mg_ipm_error *err)
{
    if (!td || !out || (!buf && len))
        return MG_EINVAL;
    *out = NULL;
    if (len > MG_IPM_MAX_INPUT) {
        set_err(err, 0, "input of %zu bytes is over the %u byte limit", len, MG_IPM_MAX_INPUT);
        return MG_ETOOBIG;
    }
    /* asn1-core's decode: structural BER check first (asn1c's own length parser has
     * undefined behaviour on over-long lengths, and says nothing about where it failed),
     * then asn1c, then constraints (with the fix for constraints asn1c loses) and SIZE rules. */
    struct mg_asn1_err ae = {0};
    int rc = mg_asn1_decode(td, buf, len, out, &ae);
    if (rc == 0)
        return 0;
    *out = NULL;
    set_err(err, ae.offset, "%s", ae.what);
    if (rc == MG_EPARSE && mg_asn1_ber_check(buf, len, NULL) == 0)
        mg_ipm_diagnose(td, buf, len, err); /* well-formed BER of the wrong shape: say where */
    return rc;
}

static int buf_cb(const void *p, size_t n, void *key)
{
    return mg_buf_append(key, p, n) == 0 ? 0 : -1;
}

int mg_ipm_encode(asn_TYPE_descriptor_t *td, const void *value, struct mg_buf *out)
{
    if (!td || !value || !out)
        return MG_EINVAL;
    size_t before = out->len;
    asn_enc_rval_t r = der_encode(td, (void *)value, buf_cb, out);
    if (r.encoded < 0) {
        out->len = before;
        return out->limit && out->len + 1 >= out->limit ? MG_ETOOBIG : MG_EPARSE;
    }
    return 0;
}

void mg_ipm_free(asn_TYPE_descriptor_t *td, void *value)
{
    if (td && value)
        ASN_STRUCT_FREE(*td, value);
}

int mg_ipm_decode_info(const void *buf, size_t len, InformationObject_t **out,
                       struct mg_ipm_error *err)
{
    return mg_ipm_decode(&asn_DEF_InformationObject, buf, len, (void **)out, err);
}

int mg_ipm_decode_ipm(const void *buf, size_t len, IPM_t **out, struct mg_ipm_error *err)
{
    return mg_ipm_decode(&asn_DEF_IPM, buf, len, (void **)out, err);
}

int mg_ipm_decode_ipn(const void *buf, size_t len, IPN_t **out, struct mg_ipm_error *err)
{
    return mg_ipm_decode(&asn_DEF_IPN, buf, len, (void **)out, err);
}

int mg_ipm_decode_mm(const void *buf, size_t len, MMInformationObject_t **out,
                     struct mg_ipm_error *err)
{
    return mg_ipm_decode(&asn_DEF_MMInformationObject, buf, len, (void **)out, err);
}

int mg_ipm_encode_info(const InformationObject_t *v, struct mg_buf *out)
{
    return mg_ipm_encode(&asn_DEF_InformationObject, v, out);
}

int mg_ipm_encode_ipm(const IPM_t *v, struct mg_buf *out)
{
    return mg_ipm_encode(&asn_DEF_IPM, v, out);
}

int mg_ipm_encode_ipn(const IPN_t *v, struct mg_buf *out)
{
    return mg_ipm_encode(&asn_DEF_IPN, v, out);
}

int mg_ipm_encode_mm(const MMInformationObject_t *v, struct mg_buf *out)
{
    return mg_ipm_encode(&asn_DEF_MMInformationObject, v, out);
}

void mg_ipm_free_info(InformationObject_t *v)
{
    mg_ipm_free(&asn_DEF_InformationObject, v);
}

void mg_ipm_free_ipm(IPM_t *v)
{
    mg_ipm_free(&asn_DEF_IPM, v);
}

void mg_ipm_free_ipn(IPN_t *v)
{
    mg_ipm_free(&asn_DEF_IPN, v);
}

void mg_ipm_free_mm(MMInformationObject_t *v)
{
    mg_ipm_free(&asn_DEF_MMInformationObject, v);
}

int mg_ipm_oid_str(const OBJECT_IDENTIFIER_t *oid, char *buf, size_t size)
{
    unsigned long arcs[40];
    if (!oid || !buf || size == 0)
        return MG_EINVAL;
    buf[0] = '\0';
    int n = OBJECT_IDENTIFIER_get_arcs(oid, arcs, sizeof arcs[0], 40);
    if (n < 2 || n > 40)
        return MG_EPARSE;
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        int w = snprintf(buf + used, size - used, i ? ".%lu" : "%lu", arcs[i]);
        if (w < 0 || (size_t)w >= size - used)
            return MG_ETOOBIG;
        used += (size_t)w;
    }
    return 0;
}

void mg_ipm_typed_free(struct mg_ipm_typed *t)
{
    if (!t)
        return;
    if (t->td && t->value)
        ASN_STRUCT_FREE(*t->td, t->value);
    t->value = NULL;
    t->td = NULL;
    t->entry = NULL;
}

static int typed_decode(const OBJECT_IDENTIFIER_t *oid, const ANY_t *val,
                        struct mg_ipm_typed *out, struct mg_ipm_error *err)
{
    char dotted[128];
    memset(out, 0, sizeof *out);
    int rc = mg_ipm_oid_str(oid, dotted, sizeof dotted);
    if (rc) {
        set_err(err, 0, "malformed object identifier");
        return MG_EPARSE;
    }
    out->entry = mg_ipm_oid_lookup(dotted);
    if (!out->entry || !out->entry->td || !val)
        return 0;
    void *v = NULL;
    rc = mg_ipm_decode(out->entry->td, val->buf, (size_t)val->size, &v, err);
    if (rc) {
        if (err) {
            /* Prefix the extension's name: "primary-precedence (1.3...): <what>". */
            char pref[160];
            int pl = snprintf(pref, sizeof pref, "%s (%s): ", out->entry->name, dotted);
            size_t plen = pl < 0 ? 0 : (size_t)pl >= sizeof pref ? sizeof pref - 1 : (size_t)pl;
            size_t wlen = strnlen(err->what, sizeof err->what - 1);
            if (plen + wlen >= sizeof err->what)
                wlen = sizeof err->what - 1 - plen;
            memmove(err->what + plen, err->what, wlen);
            memcpy(err->what, pref, plen);
            err->what[plen + wlen] = '\0';
        }
        return rc;
    }
    out->td = out->entry->td;
    out->value = v;
    return 0;
}

int mg_ipm_ext_decode(const IPMSExtension_t *ext, struct mg_ipm_typed *out,
                      struct mg_ipm_error *err)
{
    if (!ext || !out)
        return MG_EINVAL;
    return typed_decode(&ext->type, ext->value, out, err);
}

int mg_ipm_bodypart_decode(const BodyPartInstance_t *inst, struct mg_ipm_typed *out,
                           struct mg_ipm_error *err)
{
    if (!inst || !out)
        return MG_EINVAL;
    return typed_decode(&inst->type_id, &inst->value, out, err);
}

int mg_ipm_ext_find(const ExtensionsField_t *exts, const char *dotted,
                    struct mg_ipm_typed *out, struct mg_ipm_error *err)
{
    if (!dotted || !out)
        return MG_EINVAL;
    memset(out, 0, sizeof *out);
    for (int i = 0; exts && i < exts->list.count; i++) {
        char s[128];
        const IPMSExtension_t *e = exts->list.array[i];
        if (e && mg_ipm_oid_str(&e->type, s, sizeof s) == 0 && strcmp(s, dotted) == 0)
            return mg_ipm_ext_decode(e, out, err);
    }
    return MG_ENOTFOUND;
}

ssize_t mg_ipm_fetch_length(int constructed, const void *buf, size_t size, ber_tlv_len_t *len)
{
    const uint8_t *p = buf;
    if (size == 0)
        return 0;
    if (p[0] < 0x80) {
        *len = p[0];
        return 1;
    }
    if (p[0] == 0x80) {
        if (!constructed)
            return -1; /* indefinite length is for constructed encodings only */
        *len = -1;
        return 1;
    }
    size_t n = p[0] & 0x7f;
    if (p[0] == 0xff || n > sizeof(ber_tlv_len_t) - 1)
        return -1; /* reserved, or more than we can hold without overflow */
    if (size < 1 + n)
        return 0;
    unsigned long long v = 0;
    for (size_t i = 1; i <= n; i++)
        v = (v << 8) | p[i];
    if (v > (unsigned long long)SSIZE_MAX)
        return -1;
    *len = (ber_tlv_len_t)v;
    return (ssize_t)(1 + n);
}

/* ---- locating decode failures ---- */

/* Total size of the TLV at p (definite or indefinite), or 0 if it is malformed. */
static size_t tlv_size(const uint8_t *p, size_t n, int depth)
{
    ber_tlv_tag_t tag;
    ber_tlv_len_t len;
    if (depth > DIAG_MAX_DEPTH)
        return 0;
    ssize_t tl = ber_fetch_tag(p, n, &tag);
    if (tl <= 0)
        return 0;
    int cons = BER_TLV_CONSTRUCTED(p);
    ssize_t ll = mg_ipm_fetch_length(cons, p + tl, n - (size_t)tl, &len);
    if (ll <= 0)
        return 0;
    size_t hdr = (size_t)(tl + ll);
    if (len >= 0)
        return (size_t)len <= n - hdr ? hdr + (size_t)len : 0;
    if (!cons)
        return 0;
    size_t off = hdr;
    while (off + 2 <= n) {
        if (p[off] == 0 && p[off + 1] == 0)
            return off + 2;
        size_t s = tlv_size(p + off, n - off, depth + 1);
        if (!s)
            return 0;
        off += s;
    }
    return 0;
}

struct diag {
    const uint8_t *base;
    struct mg_ipm_error *err;
    int found;
};

static void tag_str(ber_tlv_tag_t t, char *buf, size_t size)
{
    if (t == (ber_tlv_tag_t)-1)
        snprintf(buf, size, "(any tag)");
    else
        ber_tlv_tag_snprint(t, buf, size);
}

static void diag_fail(struct diag *d, const uint8_t *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void diag_fail(struct diag *d, const uint8_t *at, const char *path, const char *fmt, ...)
{
    if (d->found)
        return;
    d->found = 1;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_err(d->err, (size_t)(at - d->base), "%s%s%s", path, *path ? ": " : "", msg);
}

/* Does td at this position accept a TLV with tag t? (untagged CHOICE/ANY: checked inside) */
static int elm_accepts(const asn_TYPE_member_t *elm, ber_tlv_tag_t t)
{
    if (elm->tag != (ber_tlv_tag_t)-1)
        return elm->tag == t;
    if (elm->type->tags_count > 0)
        return elm->type->tags[0] == t;
    enum mg_print_kind k = mg_print_kind(elm->type);
    if (k == MG_PK_ANY)
        return 1;
    if (k == MG_PK_CHOICE)
        for (int i = 0; i < elm->type->elements_count; i++)
            if (elm_accepts(&elm->type->elements[i], t))
                return 1;
    return 0;
}

static void diag_value(struct diag *d, asn_TYPE_descriptor_t *td, int tag_mode,
                       ber_tlv_tag_t expect, const uint8_t *p, size_t n, const char *path,
                       int depth);

static void diag_children(struct diag *d, asn_TYPE_descriptor_t *td, enum mg_print_kind k,
                          const uint8_t *c, size_t n, int indefinite, const char *path, int depth)
{
    size_t off = 0;
    int next = 0; /* SEQUENCE: first element not yet matched */
    int idx = 0;
    char sub[512];
    while (off < n && !d->found) {
        if (indefinite && off + 2 <= n && c[off] == 0 && c[off + 1] == 0)
            break;
        ber_tlv_tag_t t;
        if (ber_fetch_tag(c + off, n - off, &t) <= 0) {
            diag_fail(d, c + off, path, "malformed tag");
            return;
        }
        size_t s = tlv_size(c + off, n - off, 0);
        if (!s) {
            diag_fail(d, c + off, path, "element length runs past the end of its container");
            return;
        }
        char ts[48];
        tag_str(t, ts, sizeof ts);
        if (k == MG_PK_SEQUENCE_OF || k == MG_PK_SET_OF) {
            const asn_TYPE_member_t *e = &td->elements[0];
            snprintf(sub, sizeof sub, "%s[%d]", path, idx);
            if (!elm_accepts(e, t)) {
                char es[48];
                tag_str(e->tag != (ber_tlv_tag_t)-1 ? e->tag
                        : e->type->tags_count ? e->type->tags[0] : (ber_tlv_tag_t)-1,
                        es, sizeof es);
                diag_fail(d, c + off, sub, "expected %s %s, found %s", es, e->type->name, ts);
                return;
            }
            diag_value(d, e->type, e->tag_mode, e->tag, c + off, s, sub, depth + 1);
        } else {
            int found = -1;
            if (k == MG_PK_SEQUENCE) {
                for (int i = next; i < td->elements_count; i++) {
                    if (elm_accepts(&td->elements[i], t)) {
                        found = i;
                        break;
                    }
                    if (!td->elements[i].optional && !td->elements[i].default_value) {
                        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "",
                                 td->elements[i].name);
                        diag_fail(d, c + off, sub, "missing (expected %s, found %s)",
                                  td->elements[i].type->name, ts);
                        return;
                    }
                }
                next = found + 1;
            } else {
                for (int i = 0; i < td->elements_count; i++)
                    if (elm_accepts(&td->elements[i], t)) {
                        found = i;
                        break;
                    }
            }
            if (found < 0) {
                const char *want = NULL;
                for (int i = k == MG_PK_SEQUENCE ? next : 0; i < td->elements_count && !want; i++)
                    if (!td->elements[i].optional && !td->elements[i].default_value)
                        want = td->elements[i].name;
                diag_fail(d, c + off, path, "unexpected element %s in %s%s%s", ts, td->name,
                          want ? "; expected " : "", want ? want : "");
                return;
            }
            const asn_TYPE_member_t *e = &td->elements[found];
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", e->name);
            diag_value(d, e->type, e->tag_mode, e->tag, c + off, s, sub, depth + 1);
        }
        off += s;
        idx++;
    }
    if (!d->found && k == MG_PK_SEQUENCE) {
        for (int i = next; i < td->elements_count; i++)
            if (!td->elements[i].optional && !td->elements[i].default_value) {
                snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", td->elements[i].name);
                diag_fail(d, c + off, sub, "missing (expected %s)", td->elements[i].type->name);
                return;
            }
    }
}

static void diag_value(struct diag *d, asn_TYPE_descriptor_t *td, int tag_mode,
                       ber_tlv_tag_t expect, const uint8_t *p, size_t n, const char *path,
                       int depth)
{
    if (d->found)
        return;
    if (depth > DIAG_MAX_DEPTH) {
        diag_fail(d, p, path, "nested too deeply");
        return;
    }
    /* Does this piece decode on its own? Then the failure is elsewhere. */
    asn_codec_ctx_t ctx = {.max_stack_size = DECODE_STACK_LIMIT};
    void *tmp = NULL;
    asn_dec_rval_t r = td->ber_decoder(&ctx, td, &tmp, p, n, tag_mode);
    ASN_STRUCT_FREE(*td, tmp);
    if (r.code == RC_OK)
        return;
    enum mg_print_kind k = mg_print_kind(td);
    ber_tlv_tag_t t;
    ber_tlv_len_t len;
    ssize_t tl = ber_fetch_tag(p, n, &t);
    if (tl <= 0) {
        diag_fail(d, p, path, "malformed tag (expected %s)", td->name);
        return;
    }
    char ts[48], es[48];
    tag_str(t, ts, sizeof ts);
    if (expect == (ber_tlv_tag_t)-1 && td->tags_count > 0)
        expect = td->tags[0];
    if (expect != (ber_tlv_tag_t)-1 && t != expect) {
        tag_str(expect, es, sizeof es);
        diag_fail(d, p, path, "expected %s %s, found %s", es, td->name, ts);
        return;
    }
    if (expect == (ber_tlv_tag_t)-1 && k == MG_PK_CHOICE) {
        /* Untagged CHOICE: the alternative is this very TLV. */
        for (int i = 0; i < td->elements_count; i++) {
            const asn_TYPE_member_t *e = &td->elements[i];
            if (elm_accepts(e, t)) {
                char sub[512];
                snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", e->name);
                diag_value(d, e->type, e->tag_mode, e->tag, p, n, sub, depth + 1);
                if (!d->found)
                    diag_fail(d, p, sub, "%s does not decode", e->type->name);
                return;
            }
        }
        diag_fail(d, p, path, "%s is not an alternative of %s", ts, td->name);
        return;
    }
    int cons = BER_TLV_CONSTRUCTED(p);
    ssize_t ll = mg_ipm_fetch_length(cons, p + tl, n - (size_t)tl, &len);
    if (ll <= 0) {
        diag_fail(d, p + tl, path, "malformed length of %s", td->name);
        return;
    }
    size_t hdr = (size_t)(tl + ll);
    if (len >= 0 && (size_t)len > n - hdr) {
        diag_fail(d, p + tl, path, "length %ld of %s runs past the end of the input (%zu left)",
                  (long)len, td->name, n - hdr);
        return;
    }
    size_t body = len >= 0 ? (size_t)len : n - hdr;
    /* Explicit wrappers: [n] EXPLICIT over the type, or a tagged CHOICE. */
    if (tag_mode == 1 || (k == MG_PK_CHOICE && td->tags_count > 0)) {
        if (!cons) {
            diag_fail(d, p, path, "explicit tag %s must be constructed", ts);
            return;
        }
        if (k == MG_PK_CHOICE && tag_mode != 1) {
            diag_value(d, td, 0, (ber_tlv_tag_t)-1, p + hdr, body, path, depth + 1);
            return;
        }
        /* asn1c: an explicit member tag wraps the type's own tags */
        diag_value(d, td, 0, (ber_tlv_tag_t)-1, p + hdr, body, path, depth + 1);
        return;
    }
    if (k == MG_PK_SEQUENCE || k == MG_PK_SET || k == MG_PK_SEQUENCE_OF || k == MG_PK_SET_OF) {
        if (!cons) {
            diag_fail(d, p, path, "%s must be constructed", td->name);
            return;
        }
        diag_children(d, td, k, p + hdr, body, len < 0, path, depth);
        if (!d->found)
            diag_fail(d, p, path, "%s does not decode (elements are each valid)", td->name);
        return;
    }
    diag_fail(d, p, path, "%s %s does not decode (%zu content bytes%s)", ts, td->name, body,
              cons ? ", constructed" : "");
}

void mg_ipm_diagnose(asn_TYPE_descriptor_t *td, const void *buf, size_t len,
                     struct mg_ipm_error *err)
{
    struct diag d = {.base = buf, .err = err};
    if (!td || !buf)
        return;
    size_t s = tlv_size(buf, len, 0);
    if (!s) {
        ber_tlv_tag_t t;
        if (ber_fetch_tag(buf, len, &t) <= 0)
            set_err(err, 0, "not BER: malformed tag (expected %s)", td->name);
        else
            set_err(err, 0, "%s: lengths run past the end of the %zu byte input "
                    "(truncated or not BER)", td->name, len);
        /* Still walk what is there: a wrong tag early on is the more useful message. */
    }
    diag_value(&d, td, 0, (ber_tlv_tag_t)-1, buf, len, "", 0);
    if (!d.found && s)
        set_err(err, 0, "%s does not decode", td->name);
}

int mg_ipm_info_extensions(const InformationObject_t *io, IPMSExtension_t ***arr)
{
    *arr = NULL;
    if (io->present == InformationObject_PR_ipm && io->choice.ipm.heading.extensions) {
        *arr = io->choice.ipm.heading.extensions->list.array;
        return io->choice.ipm.heading.extensions->list.count;
    }
    if (io->present == InformationObject_PR_ipn && io->choice.ipn.notification_extensions) {
        *arr = io->choice.ipn.notification_extensions->list.array;
        return io->choice.ipn.notification_extensions->list.count;
    }
    return 0;
}
