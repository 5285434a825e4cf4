/* lbl_ber: ESS and X.411 security labels and X.841 clearances in BER/DER (lbl_ber.h).
 * The label, clearance and SecurityCategory envelopes are asn1's generated types (mg_asn1).
 * Each category value is an open type ("value [1] ANY", kept as bytes by asn1 for us): the
 * NATO tag bodies below (RestrictiveTag, PermissiveTag ::= SEQUENCE { tagName OID,
 * attributeFlags BIT STRING }, EnumeratedTag ::= SEQUENCE { tagName OID, attributeList SET OF
 * INTEGER }, InformativeTag ::= SEQUENCE { tagName OID, field CHOICE { BIT STRING, SET OF
 * INTEGER } }) and the MISSI NamedTagSet form are walked here with asn1c's own TLV primitives
 * (ber_fetch_tag/ber_fetch_length) and its OID, BIT STRING and INTEGER codecs: asn1 has no
 * types for these small structures, and adding a module for them would tie every SPIF's
 * category syntax to the asn1 component. Lengths are checked against the enclosing value. */
#include "lbl_ber.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbl_spif_int.h"
#include "mg_asn1.h"
#include "mg_buf.h"
#include "mg_err.h"

#include <BIT_STRING.h>
#include <INTEGER.h>
#include <OBJECT_IDENTIFIER.h>
#include <ber_tlv_length.h>
#include <ber_tlv_tag.h>
#include <ESSPrivacyMark.h>
#include <PrivacyMark.h>
#include <SecurityCategories.h>
#include <SecurityCategory.h>
#include <EquivalentLabels.h>

#define MISSI_OID "2.16.840.1.101.2.1.8.1"
#define MAX_BITMAP_LACV (8u * 8192u) /* a bitmap category value above this is refused */

/* ---- TLV walking over asn1c primitives -------------------------------------------------------- */

struct tlv {
    ber_tlv_tag_t tag;
    int constructed;
    const unsigned char *v; /* value */
    size_t vlen;
    size_t total;           /* header + value */
};

static int tlv_read(const unsigned char *p, size_t len, struct tlv *t)
{
    ber_tlv_tag_t tag;
    ssize_t tl = ber_fetch_tag(p, len, &tag);
    if (tl <= 0)
        return MG_EPARSE;
    ber_tlv_len_t vl;
    ssize_t ll = ber_fetch_length(BER_TLV_CONSTRUCTED(p), p + tl, len - (size_t)tl, &vl);
    /* Definite lengths only inside category values (what every encoder of them writes). */
    if (ll <= 0 || vl < 0 || (size_t)vl > len - (size_t)tl - (size_t)ll)
        return MG_EPARSE;
    t->tag = tag;
    t->constructed = BER_TLV_CONSTRUCTED(p) ? 1 : 0;
    t->v = p + tl + ll;
    t->vlen = (size_t)vl;
    t->total = (size_t)tl + (size_t)ll + (size_t)vl;
    return 0;
}

static int is_tag(const struct tlv *t, int cls, int num)
{
    return BER_TAG_CLASS(t->tag) == (ber_tlv_tag_t)cls && BER_TAG_VALUE(t->tag) == (ber_tlv_tag_t)num;
}

static int oid_from(const struct tlv *t, char *out)
{
    OBJECT_IDENTIFIER_t oid = { (uint8_t *)t->v, (int)t->vlen };
    return mg_asn1_oid_str(&oid, out, LBL_OID_MAX) ? MG_EPARSE : 0;
}

static int put_tlv(struct mg_buf *b, unsigned char tag, const void *v, size_t n);
static unsigned char *tolerant_copy(const unsigned char *p, size_t len, int retag_mark, size_t *outlen);

typedef int (*add_fn)(void *obj, const char *tagset, enum lbl_tag_type type, unsigned long lacv);

static int bits_from(const struct tlv *t, void *obj, add_fn add, const char *ts, enum lbl_tag_type type)
{
    if (t->vlen < 1 || t->v[0] > 7 || (t->vlen == 1 && t->v[0]))
        return MG_EPARSE;
    size_t nbytes = t->vlen - 1;
    for (size_t i = 0; i < nbytes; i++)
        for (int b = 0; b < 8; b++)
            if (t->v[1 + i] & (0x80 >> b)) {
                unsigned long lacv = (unsigned long)(i * 8 + (size_t)b);
                int rc = add(obj, ts, type, lacv);
                if (rc)
                    return rc;
            }
    return 0;
}

static int ints_from(const struct tlv *set, void *obj, add_fn add, const char *ts, enum lbl_tag_type type)
{
    const unsigned char *p = set->v;
    size_t left = set->vlen;
    while (left) {
        struct tlv it;
        /* a non-negative value that fits the model's unsigned long: up to eight octets, or nine
         * when the first is the zero a value of 2^63 or more needs before its top bit (put_ints
         * writes it so; the campaign's labels_codec round trip found eight refused it) */
        if (tlv_read(p, left, &it) || !is_tag(&it, ASN_TAG_CLASS_UNIVERSAL, 2) || !it.vlen || it.vlen > 9 ||
            (it.v[0] & 0x80) || (it.vlen == 9 && it.v[0] != 0))
            return MG_EPARSE;
        INTEGER_t iv = { (uint8_t *)it.v, (int)it.vlen };
        unsigned long lacv;
        if (asn_INTEGER2ulong(&iv, &lacv))
            return MG_EPARSE;
        int rc = add(obj, ts, type, lacv);
        if (rc)
            return rc;
        p += it.total;
        left -= it.total;
    }
    return 0;
}

/* The bytes asn1c keeps for "value [1] ANY": the [1] wrapper is stripped if present. */
static int unwrap_value(const ANY_t *any, struct tlv *inner)
{
    struct tlv t;
    if (!any->buf || tlv_read(any->buf, (size_t)any->size, &t) || t.total != (size_t)any->size)
        return MG_EPARSE;
    if (is_tag(&t, ASN_TAG_CLASS_CONTEXT, 1) && t.constructed) {
        struct tlv in;
        if (tlv_read(t.v, t.vlen, &in) || in.total != t.vlen)
            return MG_EPARSE;
        *inner = in;
        return 0;
    }
    *inner = t;
    return 0;
}

static int nato_category(const char *type_oid, const struct tlv *seq, void *obj, add_fn add)
{
    enum lbl_tag_type type;
    if (!strcmp(type_oid, LBL_OID_NATO_RESTRICTIVE))
        type = LBL_TAG_RESTRICTIVE;
    else if (!strcmp(type_oid, LBL_OID_NATO_PERMISSIVE))
        type = LBL_TAG_PERMISSIVE;
    else if (!strcmp(type_oid, LBL_OID_NATO_ENUM_PERMISSIVE))
        type = LBL_TAG_ENUM_PERMISSIVE;
    else if (!strcmp(type_oid, LBL_OID_NATO_ENUM_RESTRICTIVE))
        type = LBL_TAG_ENUM_RESTRICTIVE;
    else if (!strcmp(type_oid, LBL_OID_NATO_INFORMATIVE))
        type = LBL_TAG_INFORMATIVE;
    else
        return MG_ENOTSUP;
    if (!is_tag(seq, ASN_TAG_CLASS_UNIVERSAL, 16) || !seq->constructed)
        return MG_EPARSE;
    struct tlv name, field;
    if (tlv_read(seq->v, seq->vlen, &name) || !is_tag(&name, ASN_TAG_CLASS_UNIVERSAL, 6) ||
        tlv_read(seq->v + name.total, seq->vlen - name.total, &field) || name.total + field.total != seq->vlen)
        return MG_EPARSE;
    char ts[LBL_OID_MAX];
    if (oid_from(&name, ts))
        return MG_EPARSE;
    if (is_tag(&field, ASN_TAG_CLASS_UNIVERSAL, 3) && type != LBL_TAG_ENUM_PERMISSIVE &&
        type != LBL_TAG_ENUM_RESTRICTIVE)
        return bits_from(&field, obj, add, ts, type);
    if (is_tag(&field, ASN_TAG_CLASS_UNIVERSAL, 17) && type != LBL_TAG_RESTRICTIVE && type != LBL_TAG_PERMISSIVE)
        return ints_from(&field, obj, add, ts, type);
    return MG_EPARSE;
}

/* MISSI: SET OF NamedTagSet { tagSetName OID, securityTags SEQUENCE OF SecurityTag } with
 * SecurityTag [1] restrictive bitmap, [2] enumerated attributes, [6] permissive bitmap,
 * [7] free form (tagType7); each body is an implicitly tagged SEQUENCE whose last component
 * carries the values. */
static int missi_categories(const struct tlv *set, void *obj, add_fn add)
{
    const unsigned char *p = set->v;
    size_t left = set->vlen;
    while (left) {
        struct tlv nts, name, tags;
        if (tlv_read(p, left, &nts) || !is_tag(&nts, ASN_TAG_CLASS_UNIVERSAL, 16) ||
            tlv_read(nts.v, nts.vlen, &name) || !is_tag(&name, ASN_TAG_CLASS_UNIVERSAL, 6) ||
            tlv_read(nts.v + name.total, nts.vlen - name.total, &tags) || name.total + tags.total != nts.vlen)
            return MG_EPARSE;
        char ts[LBL_OID_MAX];
        if (oid_from(&name, ts))
            return MG_EPARSE;
        const unsigned char *q = tags.v;
        size_t ql = tags.vlen;
        while (ql) {
            struct tlv st, body;
            if (tlv_read(q, ql, &st) || BER_TAG_CLASS(st.tag) != ASN_TAG_CLASS_CONTEXT || !st.constructed)
                return MG_EPARSE;
            /* The values are the last TLV inside the tag body. */
            const unsigned char *r = st.v;
            size_t rl = st.vlen;
            int have = 0;
            while (rl) {
                if (tlv_read(r, rl, &body))
                    return MG_EPARSE;
                have = 1;
                r += body.total;
                rl -= body.total;
            }
            if (!have)
                return MG_EPARSE;
            int rc;
            switch (BER_TAG_VALUE(st.tag)) {
            case 1: rc = bits_from(&body, obj, add, ts, LBL_TAG_RESTRICTIVE); break;
            case 2: rc = ints_from(&body, obj, add, ts, LBL_TAG_ENUM_RESTRICTIVE); break;
            case 6: rc = bits_from(&body, obj, add, ts, LBL_TAG_PERMISSIVE); break;
            case 7:
                rc = is_tag(&body, ASN_TAG_CLASS_UNIVERSAL, 3) ? bits_from(&body, obj, add, ts, LBL_TAG_INFORMATIVE)
                                                              : ints_from(&body, obj, add, ts, LBL_TAG_INFORMATIVE);
                break;
            default: rc = MG_ENOTSUP;
            }
            if (rc)
                return rc;
            q += st.total;
            ql -= st.total;
        }
        p += nts.total;
        left -= nts.total;
    }
    return 0;
}

static int decode_categories(const struct SecurityCategory *const *cats, int n, void *obj, add_fn add,
                             struct lbl_label *raw, struct lbl_err *err)
{
    for (int i = 0; i < n; i++) {
        char type[LBL_OID_MAX];
        struct tlv v;
        if (mg_asn1_oid_str(&cats[i]->type, type, sizeof type) || unwrap_value(&cats[i]->value, &v)) {
            lbl_err_set(err, "security category %d is malformed", i + 1);
            return MG_EPARSE;
        }
        int rc = !strcmp(type, MISSI_OID) ? missi_categories(&v, obj, add) : nato_category(type, &v, obj, add);
        if (rc == MG_ENOTSUP && raw) {
            rc = lbl_label_add_raw(raw, type, v.v - (v.total - v.vlen), v.total);
            if (rc)
                return rc;
            continue;
        }
        if (rc == MG_ENOTSUP) {
            lbl_err_set(err, "security category type %s is not supported", type);
            return rc;
        }
        if (rc) {
            lbl_err_set(err, "security category %d (%s) is malformed", i + 1, type);
            return rc == MG_ETOOBIG ? rc : MG_EPARSE;
        }
    }
    return 0;
}

static int add_label(void *obj, const char *ts, enum lbl_tag_type t, unsigned long lacv)
{
    return lbl_label_add_cat(obj, ts, t, lacv);
}

static int add_clear(void *obj, const char *ts, enum lbl_tag_type t, unsigned long lacv)
{
    return lbl_clearance_add_cat(obj, ts, t, lacv);
}

static int decode_err(int rc, const struct mg_asn1_err *ae, const char *what, struct lbl_err *err)
{
    lbl_err_set(err, "Failed to parse BER/DER encoded %s: %s at offset %zu", what, ae->what[0] ? ae->what : mg_strerror(rc),
                ae->offset);
    return rc;
}

/* The start of every decoder here: size limits, a strict decode, then one retry on a
 * tolerant_copy() for what real labels get wrong (retag_mark: a UTF8String privacy mark in
 * X.411). On failure the strict decode's error is the one reported. noun is "label" or
 * "clearance" (size messages), what the type's name (parse messages). */
static int decode_tolerant(const asn_TYPE_descriptor_t *td, const void *ber, size_t len, int retag_mark,
                           const char *noun, const char *what, void **v, struct lbl_err *err)
{
    if (!len) {
        lbl_err_set(err, "No data to parse");
        return MG_EPARSE;
    }
    if (len > LBL_BER_MAX_BYTES) {
        lbl_err_set(err, "%s larger than %d bytes", noun, LBL_BER_MAX_BYTES);
        return MG_ETOOBIG;
    }
    struct mg_asn1_err ae = { 0 };
    int rc = mg_asn1_decode(td, ber, len, v, &ae);
    if (!rc)
        return 0;
    size_t fl = 0;
    unsigned char *fixed = tolerant_copy(ber, len, retag_mark, &fl);
    struct mg_asn1_err ae2 = { 0 };
    if (!fixed || mg_asn1_decode(td, fixed, fl, v, &ae2)) {
        free(fixed);
        return decode_err(rc, &ae, what, err);
    }
    free(fixed);
    return 0;
}

static int set_mark(struct lbl_label *l, const uint8_t *buf, int size)
{
    if (size <= 0 || size > 4096)
        return MG_EPARSE;
    char *m = malloc((size_t)size + 1);
    if (!m)
        return MG_ENOMEM;
    memcpy(m, buf, (size_t)size);
    m[size] = 0;
    int rc = strlen(m) == (size_t)size ? lbl_label_set_privacy(l, m) : MG_EPARSE;
    free(m);
    return rc;
}

static int ess_from(const ESSSecurityLabel_t *v, struct lbl_label *out, struct lbl_err *err)
{
    int rc = 0;
    if (mg_asn1_oid_str(&v->security_policy_identifier, out->policy, sizeof out->policy) || !out->policy[0]) {
        lbl_err_set(err, "ESS security label without a security policy identifier");
        return MG_EPARSE;
    }
    if (v->security_classification) {
        if (*v->security_classification < 0) {
            lbl_err_set(err, "negative security classification");
            return MG_EPARSE;
        }
        out->has_class = 1;
        out->class_lacv = (unsigned long)*v->security_classification;
    }
    if (v->privacy_mark) {
        const OCTET_STRING_t *s = v->privacy_mark->present == ESSPrivacyMark_PR_pString
                                      ? &v->privacy_mark->choice.pString
                                      : &v->privacy_mark->choice.utf8String;
        if ((rc = set_mark(out, s->buf, s->size))) {
            lbl_err_set(err, "privacy mark is malformed");
            return rc;
        }
    }
    if (v->security_categories)
        rc = decode_categories((const struct SecurityCategory *const *)v->security_categories->list.array,
                               v->security_categories->list.count, out, add_label, out, err);
    return rc;
}

int lbl_ess_decode(const void *der, size_t len, struct lbl_label *out, struct lbl_err *err)
{
    lbl_label_free(out);
    ESSSecurityLabel_t *v = NULL;
    int rc = decode_tolerant(&asn_DEF_ESSSecurityLabel, der, len, 0, "label", "ESS security label",
                             (void **)&v, err);
    if (rc)
        return rc;
    rc = ess_from(v, out, err);
    mg_asn1_free_ESSSecurityLabel(v);
    if (rc)
        lbl_label_free(out);
    return rc;
}

int lbl_ess_decode_equivalent(const void *der, size_t len, struct lbl_label **out, size_t *n, struct lbl_err *err)
{
    *out = NULL;
    *n = 0;
    if (!len) {
        lbl_err_set(err, "No data to parse");
        return MG_EPARSE;
    }
    if (len > LBL_BER_MAX_BYTES) {
        lbl_err_set(err, "equivalent labels larger than %d bytes", LBL_BER_MAX_BYTES);
        return MG_ETOOBIG;
    }
    EquivalentLabels_t *v = NULL;
    struct mg_asn1_err ae = { 0 };
    int rc = mg_asn1_decode_EquivalentLabels(der, len, &v, &ae);
    if (rc)
        return decode_err(rc, &ae, "EquivalentLabels", err);
    struct lbl_label *arr = v->list.count ? calloc((size_t)v->list.count, sizeof *arr) : NULL;
    if (v->list.count && !arr)
        rc = MG_ENOMEM;
    for (int i = 0; i < v->list.count && !rc; i++)
        rc = ess_from(v->list.array[i], &arr[i], err);
    if (rc) {
        for (int i = 0; arr && i < v->list.count; i++)
            lbl_label_free(&arr[i]);
        free(arr);
    } else {
        *out = arr;
        *n = (size_t)v->list.count;
    }
    mg_asn1_free_EquivalentLabels(v);
    return rc;
}

/* Tolerated encoder habits, applied only after a strict decode failed: an empty SET of
 * security categories (spiffing writes one for a label without categories; the type says
 * SIZE (1..MAX)) is dropped, and for X.411 a UTF8String privacy mark whose text is
 * PrintableString-safe is retagged. Returns a new buffer (caller frees) or NULL if nothing
 * applies. Only the outermost SET/SEQUENCE is touched, with a definite short-form length. */
static unsigned char *tolerant_copy(const unsigned char *p, size_t len, int retag_mark, size_t *outlen)
{
    struct tlv top;
    if (tlv_read(p, len, &top) || top.total != len || !top.constructed ||
        !(is_tag(&top, ASN_TAG_CLASS_UNIVERSAL, 17) || is_tag(&top, ASN_TAG_CLASS_UNIVERSAL, 16)))
        return NULL;
    struct mg_buf body;
    mg_buf_init(&body, LBL_BER_MAX_BYTES);
    const unsigned char *q = top.v;
    size_t left = top.vlen;
    int changed = 0;
    while (left) {
        struct tlv e;
        if (tlv_read(q, left, &e)) {
            mg_buf_free(&body);
            return NULL;
        }
        int printable_mark = retag_mark && is_tag(&e, ASN_TAG_CLASS_UNIVERSAL, 12) && !e.constructed;
        for (size_t i = 0; printable_mark && i < e.vlen; i++) {
            char c = (char)e.v[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr(" '()+,-./:=?", c)))
                printable_mark = 0;
        }
        if (is_tag(&e, ASN_TAG_CLASS_UNIVERSAL, 17) && e.constructed && e.vlen == 0) {
            changed = 1; /* empty categories: dropped */
        } else if (printable_mark) {
            unsigned char t = 0x13;
            if (mg_buf_append(&body, &t, 1) || mg_buf_append(&body, q + 1, e.total - 1)) {
                mg_buf_free(&body);
                return NULL;
            }
            changed = 1;
        } else if (mg_buf_append(&body, q, e.total)) {
            mg_buf_free(&body);
            return NULL;
        }
        q += e.total;
        left -= e.total;
    }
    struct mg_buf out;
    mg_buf_init(&out, LBL_BER_MAX_BYTES);
    if (!changed || put_tlv(&out, p[0], body.data, body.len)) {
        mg_buf_free(&body);
        mg_buf_free(&out);
        return NULL;
    }
    mg_buf_free(&body);
    return mg_buf_steal(&out, outlen);
}

int lbl_x411_decode(const void *ber, size_t len, struct lbl_label *out, struct lbl_err *err)
{
    lbl_label_free(out);
    SecurityLabel_t *v = NULL;
    int rc = decode_tolerant(&asn_DEF_SecurityLabel, ber, len, 1, "label", "X.411 security label",
                             (void **)&v, err);
    if (rc)
        return rc;
    if (v->security_policy_identifier &&
        mg_asn1_oid_str(v->security_policy_identifier, out->policy, sizeof out->policy)) {
        lbl_err_set(err, "malformed security policy identifier");
        rc = MG_EPARSE;
        goto out;
    }
    if (v->security_classification) {
        if (*v->security_classification < 0) {
            lbl_err_set(err, "negative security classification");
            rc = MG_EPARSE;
            goto out;
        }
        out->has_class = 1;
        out->class_lacv = (unsigned long)*v->security_classification;
    }
    if (v->privacy_mark && (rc = set_mark(out, v->privacy_mark->buf, v->privacy_mark->size))) {
        lbl_err_set(err, "privacy mark is malformed");
        goto out;
    }
    if (v->security_categories)
        rc = decode_categories((const struct SecurityCategory *const *)v->security_categories->list.array,
                               v->security_categories->list.count, out, add_label, out, err);
out:
    mg_asn1_free_SecurityLabel(v);
    if (rc)
        lbl_label_free(out);
    return rc;
}

int lbl_clearance_ber_decode(const void *ber, size_t len, struct lbl_clearance *out, struct lbl_err *err)
{
    lbl_clearance_free(out);
    Clearance_t *v = NULL;
    int rc = decode_tolerant(&asn_DEF_Clearance, ber, len, 0, "clearance", "clearance", (void **)&v, err);
    if (rc)
        return rc;
    if (mg_asn1_oid_str(&v->policyId, out->policy, sizeof out->policy)) {
        lbl_err_set(err, "malformed clearance policy identifier");
        rc = MG_EPARSE;
        goto out;
    }
    if (!v->classList)
        rc = lbl_clearance_add_class(out, 1); /* DEFAULT {unclassified} */
    else
        for (int i = 0; i < v->classList->size && !rc; i++)
            for (int b = 0; b < 8 && !rc; b++)
                if (v->classList->buf[i] & (0x80 >> b))
                    rc = lbl_clearance_add_class(out, (unsigned long)(i * 8 + b));
    if (!rc && v->securityCategories)
        rc = decode_categories((const struct SecurityCategory *const *)v->securityCategories->list.array,
                               v->securityCategories->list.count, out, add_clear, NULL, err);
out:
    mg_asn1_free_Clearance(v);
    if (rc)
        lbl_clearance_free(out);
    return rc;
}

/* ---- encoding ------------------------------------------------------------------------------- */

static int put_len(struct mg_buf *b, size_t n)
{
    unsigned char h[9];
    size_t k = 0;
    if (n < 128) {
        h[k++] = (unsigned char)n;
    } else {
        unsigned char tmp[8];
        size_t m = 0;
        for (size_t v = n; v; v >>= 8)
            tmp[m++] = (unsigned char)(v & 0xff);
        h[k++] = (unsigned char)(0x80 | m);
        while (m)
            h[k++] = tmp[--m];
    }
    return mg_buf_append(b, h, k);
}

static int put_tlv(struct mg_buf *b, unsigned char tag, const void *v, size_t n)
{
    int rc = mg_buf_append(b, &tag, 1);
    rc = rc ? rc : put_len(b, n);
    return rc ? rc : mg_buf_append(b, v, n);
}

static int put_oid(struct mg_buf *b, const char *dotted)
{
    OBJECT_IDENTIFIER_t oid = { 0 };
    if (mg_asn1_oid_set(&oid, dotted))
        return MG_EINVAL;
    int rc = put_tlv(b, 0x06, oid.buf, (size_t)oid.size);
    free(oid.buf);
    return rc;
}

/* DER BIT STRING of the set bits (trailing zero bits trimmed). */
static int put_bits(struct mg_buf *b, const unsigned long *lacvs, size_t n)
{
    unsigned long hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (lacvs[i] >= MAX_BITMAP_LACV)
            return MG_ETOOBIG;
        if (lacvs[i] > hi)
            hi = lacvs[i];
    }
    size_t nb = n ? hi / 8 + 1 : 0;
    unsigned char *v = calloc(1, nb + 1);
    if (!v)
        return MG_ENOMEM;
    v[0] = n ? (unsigned char)(7 - hi % 8) : 0;
    for (size_t i = 0; i < n; i++)
        v[1 + lacvs[i] / 8] |= (unsigned char)(0x80 >> (lacvs[i] % 8));
    int rc = put_tlv(b, 0x03, v, nb + 1);
    free(v);
    return rc;
}

static int cmp_ul(const void *a, const void *b)
{
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return x < y ? -1 : x > y;
}

/* SET OF INTEGER in DER order (ascending for these non-negative single values). */
static int put_ints(struct mg_buf *b, unsigned char settag, unsigned long *lacvs, size_t n)
{
    qsort(lacvs, n, sizeof *lacvs, cmp_ul);
    struct mg_buf in;
    mg_buf_init(&in, LBL_BER_MAX_BYTES);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char v[9];
        size_t k = 0;
        unsigned char tmp[8];
        size_t m = 0;
        unsigned long x = lacvs[i];
        do {
            tmp[m++] = (unsigned char)(x & 0xff);
            x >>= 8;
        } while (x);
        if (tmp[m - 1] & 0x80)
            v[k++] = 0;
        while (m)
            v[k++] = tmp[--m];
        rc = put_tlv(&in, 0x02, v, k);
    }
    rc = rc ? rc : put_tlv(b, settag, in.data, in.len);
    mg_buf_free(&in);
    return rc;
}

static const char *type_oid(enum lbl_tag_type t)
{
    switch (t) {
    case LBL_TAG_RESTRICTIVE: return LBL_OID_NATO_RESTRICTIVE;
    case LBL_TAG_PERMISSIVE: return LBL_OID_NATO_PERMISSIVE;
    case LBL_TAG_ENUM_PERMISSIVE: return LBL_OID_NATO_ENUM_PERMISSIVE;
    case LBL_TAG_ENUM_RESTRICTIVE: return LBL_OID_NATO_ENUM_RESTRICTIVE;
    default: return LBL_OID_NATO_INFORMATIVE;
    }
}

/* Informative tags use the SPIF's tag7Encoding when the policy is known, else a bitset. */
static int t7_enumerated(const struct lbl_policy *p, const char *ts)
{
    if (!p)
        return 0;
    int tsi = lbl_policy_tagset_by_oid(p, ts);
    for (size_t t = 0; tsi >= 0 && t < p->ntags; t++)
        if (p->tags[t].tagset == tsi && p->tags[t].type == LBL_TAG_INFORMATIVE)
            return p->tags[t].t7_enumerated;
    return 0;
}

static void free_cats(SecurityCategories_t *sc)
{
    if (sc)
        ASN_STRUCT_FREE(asn_DEF_SecurityCategories, sc);
}

static int add_raw_categories(const struct lbl_label *l, SecurityCategories_t **sc)
{
    if (!l->nraw)
        return 0;
    if (!*sc && !(*sc = calloc(1, sizeof **sc)))
        return MG_ENOMEM;
    for (size_t i = 0; i < l->nraw; i++) {
        SecurityCategory_t *c = calloc(1, sizeof *c);
        if (!c)
            return MG_ENOMEM;
        if (mg_asn1_oid_set(&c->type, l->raw[i].type) ||
            OCTET_STRING_fromBuf((OCTET_STRING_t *)&c->value, (const char *)l->raw[i].value, (int)l->raw[i].len) ||
            ASN_SET_ADD(&(*sc)->list, c)) {
            ASN_STRUCT_FREE(asn_DEF_SecurityCategory, c);
            return MG_ENOMEM;
        }
    }
    return 0;
}

/* One SecurityCategory per (tag set, type), NATO encodings. */
static int build_categories(const struct lbl_cat *cats, size_t n, const struct lbl_policy *p,
                            SecurityCategories_t **out)
{
    *out = NULL;
    if (!n)
        return 0;
    SecurityCategories_t *sc = calloc(1, sizeof *sc);
    unsigned char *done = calloc(n, 1);
    unsigned long *vals = calloc(n, sizeof *vals);
    int rc = (!sc || !done || !vals) ? MG_ENOMEM : 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (done[i])
            continue;
        size_t k = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && cats[j].type == cats[i].type && !strcmp(cats[j].tagset, cats[i].tagset)) {
                vals[k++] = cats[j].lacv;
                done[j] = 1;
            }
        struct mg_buf body, seq;
        mg_buf_init(&body, LBL_BER_MAX_BYTES);
        mg_buf_init(&seq, LBL_BER_MAX_BYTES);
        rc = put_oid(&body, cats[i].tagset);
        switch (cats[i].type) {
        case LBL_TAG_RESTRICTIVE:
        case LBL_TAG_PERMISSIVE: rc = rc ? rc : put_bits(&body, vals, k); break;
        case LBL_TAG_ENUM_PERMISSIVE:
        case LBL_TAG_ENUM_RESTRICTIVE: rc = rc ? rc : put_ints(&body, 0x31, vals, k); break;
        default:
            rc = rc ? rc : t7_enumerated(p, cats[i].tagset) ? put_ints(&body, 0x31, vals, k) : put_bits(&body, vals, k);
        }
        rc = rc ? rc : put_tlv(&seq, 0x30, body.data, body.len);
        SecurityCategory_t *c = rc ? NULL : calloc(1, sizeof *c);
        if (!rc && !c)
            rc = MG_ENOMEM;
        if (!rc && (mg_asn1_oid_set(&c->type, type_oid(cats[i].type)) ||
                    OCTET_STRING_fromBuf((OCTET_STRING_t *)&c->value, (const char *)seq.data, (int)seq.len))) {
            rc = MG_ENOMEM;
        }
        if (!rc && ASN_SET_ADD(&sc->list, c))
            rc = MG_ENOMEM;
        if (rc && c)
            ASN_STRUCT_FREE(asn_DEF_SecurityCategory, c);
        mg_buf_free(&body);
        mg_buf_free(&seq);
    }
    free(done);
    free(vals);
    if (rc) {
        free_cats(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

static int printable(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(" '()+,-./:=?", c)))
            return 0;
    }
    return 1;
}

static int encode_err(int rc, const char *what, struct lbl_err *err)
{
    if (rc == MG_ETOOBIG)
        lbl_err_set(err, "%s: a bitmap category value is too large to encode", what);
    else if (rc == MG_ECONSTRAINT)
        lbl_err_set(err, "%s: value violates the ASN.1 constraints", what);
    else
        lbl_err_set(err, "%s: %s", what, mg_strerror(rc));
    return rc;
}

int lbl_ess_encode(const struct lbl_label *l, const struct lbl_policy *p, unsigned char **out, size_t *len,
                   struct lbl_err *err)
{
    *out = NULL;
    if (!l->policy[0]) {
        lbl_err_set(err, "an ESS security label needs a security policy identifier");
        return MG_EINVAL;
    }
    ESSSecurityLabel_t *v = calloc(1, sizeof *v);
    if (!v)
        return MG_ENOMEM;
    int rc = mg_asn1_oid_set(&v->security_policy_identifier, l->policy) ? MG_EINVAL : 0;
    if (!rc && l->has_class) {
        v->security_classification = malloc(sizeof *v->security_classification);
        if (!v->security_classification)
            rc = MG_ENOMEM;
        else
            *v->security_classification = (long)l->class_lacv;
    }
    if (!rc && l->privacy_mark) {
        v->privacy_mark = calloc(1, sizeof *v->privacy_mark);
        if (!v->privacy_mark)
            rc = MG_ENOMEM;
        else {
            int pr = printable(l->privacy_mark);
            v->privacy_mark->present = pr ? ESSPrivacyMark_PR_pString : ESSPrivacyMark_PR_utf8String;
            OCTET_STRING_t *s = pr ? &v->privacy_mark->choice.pString : &v->privacy_mark->choice.utf8String;
            if (OCTET_STRING_fromString(s, l->privacy_mark))
                rc = MG_ENOMEM;
        }
    }
    if (!rc)
        rc = build_categories(l->cats, l->ncats, p, &v->security_categories);
    if (!rc)
        rc = add_raw_categories(l, &v->security_categories);
    if (!rc)
        rc = mg_asn1_encode_ESSSecurityLabel(v, out, len);
    mg_asn1_free_ESSSecurityLabel(v);
    return rc ? encode_err(rc, "ESS security label", err) : 0;
}

int lbl_x411_encode(const struct lbl_label *l, const struct lbl_policy *p, unsigned char **out, size_t *len,
                    struct lbl_err *err)
{
    *out = NULL;
    if (l->privacy_mark && !printable(l->privacy_mark)) {
        lbl_err_set(err, "X.411 privacy mark must be a PrintableString: \"%s\"", l->privacy_mark);
        return MG_EINVAL;
    }
    SecurityLabel_t *v = calloc(1, sizeof *v);
    if (!v)
        return MG_ENOMEM;
    int rc = 0;
    if (l->policy[0]) {
        v->security_policy_identifier = calloc(1, sizeof *v->security_policy_identifier);
        rc = !v->security_policy_identifier                                         ? MG_ENOMEM
             : mg_asn1_oid_set(v->security_policy_identifier, l->policy) ? MG_EINVAL
                                                                                   : 0;
    }
    if (!rc && l->has_class) {
        v->security_classification = malloc(sizeof *v->security_classification);
        if (!v->security_classification)
            rc = MG_ENOMEM;
        else
            *v->security_classification = (long)l->class_lacv;
    }
    if (!rc && l->privacy_mark) {
        v->privacy_mark = OCTET_STRING_new_fromBuf(&asn_DEF_PrivacyMark, l->privacy_mark, -1);
        if (!v->privacy_mark)
            rc = MG_ENOMEM;
    }
    if (!rc)
        rc = build_categories(l->cats, l->ncats, p, &v->security_categories);
    if (!rc)
        rc = add_raw_categories(l, &v->security_categories);
    if (!rc)
        rc = mg_asn1_encode_SecurityLabel(v, out, len);
    mg_asn1_free_SecurityLabel(v);
    return rc ? encode_err(rc, "X.411 security label", err) : 0;
}

int lbl_clearance_ber_encode(const struct lbl_clearance *c, unsigned char **out, size_t *len, struct lbl_err *err)
{
    *out = NULL;
    Clearance_t *v = calloc(1, sizeof *v);
    if (!v)
        return MG_ENOMEM;
    int rc = mg_asn1_oid_set(&v->policyId, c->policy) ? MG_EINVAL : 0;
    if (!rc && c->nclasses) {
        unsigned long hi = 0;
        for (size_t i = 0; i < c->nclasses; i++)
            hi = c->classes[i] > hi ? c->classes[i] : hi;
        if (hi >= 256)
            rc = MG_ETOOBIG;
        v->classList = rc ? NULL : calloc(1, sizeof *v->classList);
        if (!rc && !v->classList)
            rc = MG_ENOMEM;
        if (!rc) {
            v->classList->size = (int)(hi / 8 + 1);
            v->classList->buf = calloc(1, (size_t)v->classList->size);
            if (!v->classList->buf)
                rc = MG_ENOMEM;
            else {
                v->classList->bits_unused = (int)(7 - hi % 8);
                for (size_t i = 0; i < c->nclasses; i++)
                    v->classList->buf[c->classes[i] / 8] |= (uint8_t)(0x80 >> (c->classes[i] % 8));
            }
        }
    }
    SecurityCategories_t *sc = NULL;
    if (!rc)
        rc = build_categories(c->cats, c->ncats, NULL, &sc);
    if (!rc && sc) {
        /* Same element type, different container struct: move the list over. */
        v->securityCategories = calloc(1, sizeof *v->securityCategories);
        if (!v->securityCategories)
            rc = MG_ENOMEM;
        else {
            for (int i = 0; i < sc->list.count && !rc; i++)
                if (ASN_SET_ADD(&v->securityCategories->list, sc->list.array[i]))
                    rc = MG_ENOMEM;
                else
                    sc->list.array[i] = NULL;
        }
        free_cats(sc);
    }
    if (!rc)
        rc = mg_asn1_encode_Clearance(v, out, len);
    mg_asn1_free_Clearance(v);
    return rc ? encode_err(rc, "clearance", err) : 0;
}
