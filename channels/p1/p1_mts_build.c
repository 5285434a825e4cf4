/* p1_mts_build: a new MTS-APDU (message or probe) from plain fields (p1_mts.h). The value is
 * written as XER from the O/R attributes and decoded by the asn1c codec (which checks every
 * X.411 constraint), then encoded as DER: no hand-made BER. */
#include "p1_mts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_asn1.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "p1_mts_xer.h"

#include "ExtensionAttribute.h"
#include "ExtensionAttributes.h"
#include "ExtensionField.h"
#include "Extensions.h"
#include "PerRecipientMessageTransferFields.h"
#include "PerRecipientProbeTransferFields.h"
#include "SecurityLabel.h"

static int esc(struct mg_buf *x, const char *s)
{
    int rc = 0;
    for (; *s && !rc; s++) {
        if (*s == '&')
            rc = mg_buf_appendf(x, "&amp;");
        else if (*s == '<')
            rc = mg_buf_appendf(x, "&lt;");
        else if (*s == '>')
            rc = mg_buf_appendf(x, "&gt;");
        else
            rc = mg_buf_append(x, s, 1);
    }
    return rc;
}

int p1_xer_elem(struct mg_buf *x, const char *tag, const char *v)
{
    if (!v)
        return 0;
    int rc = mg_buf_appendf(x, "<%s>", tag);
    if (!rc)
        rc = esc(x, v);
    return rc ? rc : mg_buf_appendf(x, "</%s>", tag);
}

static int all_digits(const char *v)
{
    for (; *v; v++)
        if (*v < '0' || *v > '9')
            return 0;
    return 1;
}

/* A CHOICE of numeric / printable (ADMD, PRMD) or x121-dcc-code / alpha2 (C). */
static int choice(struct mg_buf *x, const char *tag, const char *num, const char *prn,
                  const char *v)
{
    if (!v)
        return 0;
    int rc = mg_buf_appendf(x, "<%s>", tag);
    if (!rc)
        rc = p1_xer_elem(x, all_digits(v) && strcmp(v, " ") ? num : prn, v);
    return rc ? rc : mg_buf_appendf(x, "</%s>", tag);
}

int p1_xer_gdi(struct mg_buf *x, const char *tag, const struct oraddr *g)
{
    int rc = mg_buf_appendf(x, "<%s>", tag);
    if (!rc)
        rc = choice(x, "country-name", "x121-dcc-code", "iso-3166-alpha2-code", oraddr_get(g, "C"));
    if (!rc)
        rc = choice(x, "administration-domain-name", "numeric", "printable", oraddr_get(g, "ADMD"));
    if (!rc)
        rc = choice(x, "private-domain-identifier", "numeric", "printable", oraddr_get(g, "PRMD"));
    return rc ? rc : mg_buf_appendf(x, "</%s>", tag);
}

/* The ORName (address part) of o inside <tag>. */
int p1_xer_orname(struct mg_buf *x, const char *tag, const struct oraddr *o)
{
    int rc = mg_buf_appendf(x, "<%s><built-in-standard-attributes>", tag);
    if (!rc)
        rc = choice(x, "country-name", "x121-dcc-code", "iso-3166-alpha2-code", oraddr_get(o, "C"));
    if (!rc)
        rc = choice(x, "administration-domain-name", "numeric", "printable", oraddr_get(o, "ADMD"));
    if (!rc)
        rc = p1_xer_elem(x, "network-address", oraddr_get(o, "X121"));
    if (!rc)
        rc = p1_xer_elem(x, "terminal-identifier", oraddr_get(o, "T-ID"));
    if (!rc)
        rc = choice(x, "private-domain-name", "numeric", "printable", oraddr_get(o, "PRMD"));
    if (!rc)
        rc = p1_xer_elem(x, "organization-name", oraddr_get(o, "O"));
    if (!rc)
        rc = p1_xer_elem(x, "numeric-user-identifier", oraddr_get(o, "UA-ID"));
    if (!rc && oraddr_get(o, "S")) {
        rc = mg_buf_appendf(x, "<personal-name>");
        if (!rc)
            rc = p1_xer_elem(x, "surname", oraddr_get(o, "S"));
        if (!rc)
            rc = p1_xer_elem(x, "given-name", oraddr_get(o, "G"));
        if (!rc)
            rc = p1_xer_elem(x, "initials", oraddr_get(o, "I"));
        if (!rc)
            rc = p1_xer_elem(x, "generation-qualifier", oraddr_get(o, "GQ"));
        if (!rc)
            rc = mg_buf_appendf(x, "</personal-name>");
    }
    int ous = 0;
    for (size_t i = 0; !rc && i < o->n; i++) {
        if (strcmp(o->a[i].key, "OU"))
            continue;
        if (!ous++)
            rc = mg_buf_appendf(x, "<organizational-unit-names>");
        if (!rc)
            rc = p1_xer_elem(x, "OrganizationalUnitName", o->a[i].val);
    }
    if (!rc && ous)
        rc = mg_buf_appendf(x, "</organizational-unit-names>");
    if (!rc)
        rc = mg_buf_appendf(x, "</built-in-standard-attributes>");
    int dds = 0;
    for (size_t i = 0; !rc && i < o->n; i++) {
        if (strncmp(o->a[i].key, "DD.", 3))
            continue;
        if (!dds++)
            rc = mg_buf_appendf(x, "<built-in-domain-defined-attributes>");
        if (!rc)
            rc = mg_buf_appendf(x, "<BuiltInDomainDefinedAttribute>");
        if (!rc)
            rc = p1_xer_elem(x, "type", o->a[i].key + 3);
        if (!rc)
            rc = p1_xer_elem(x, "value", o->a[i].val);
        if (!rc)
            rc = mg_buf_appendf(x, "</BuiltInDomainDefinedAttribute>");
    }
    if (!rc && dds)
        rc = mg_buf_appendf(x, "</built-in-domain-defined-attributes>");
    return rc ? rc : mg_buf_appendf(x, "</%s>", tag);
}

/* The common name is an extension attribute (type 1, PrintableString): set after XER. */
int p1_xer_add_cn(struct ORName *n, const struct oraddr *o)
{
    const char *cn = oraddr_get(o, "CN");
    if (!cn)
        return 0;
    size_t l = strlen(cn);
    if (l > 64)
        return MG_EINVAL;
    uint8_t tlv[2 + 64];
    tlv[0] = 0x13;
    tlv[1] = (uint8_t)l;
    memcpy(tlv + 2, cn, l);
    ExtensionAttributes_t *ea = calloc(1, sizeof *ea);
    ExtensionAttribute_t *a = calloc(1, sizeof *a);
    uint8_t *v = malloc(l + 2);
    if (!ea || !a || !v || ASN_SET_ADD(&ea->list, a) != 0) {
        free(v);
        free(ea);
        if (a)
            ASN_STRUCT_FREE(asn_DEF_ExtensionAttribute, a);
        return MG_ENOMEM;
    }
    memcpy(v, tlv, l + 2);
    a->extension_attribute_value.buf = v;
    a->extension_attribute_value.size = (int)(l + 2);
    a->extension_attribute_type = 1;
    n->extension_attributes = ea;
    return 0;
}

int p1_xer_label_ok(const uint8_t *label, size_t len)
{
    void *sl = NULL;
    if (!label || !len || len > INT32_MAX || mg_asn1_decode(&asn_DEF_SecurityLabel, label, len, &sl, NULL) != 0)
        return 0;
    mg_asn1_free(&asn_DEF_SecurityLabel, sl);
    return 1;
}

int p1_xer_add_label(struct Extensions **ext, const uint8_t *label, size_t len)
{
    if (!ext || !p1_xer_label_ok(label, len))
        return MG_EINVAL;
    if (!*ext && !(*ext = calloc(1, sizeof **ext)))
        return MG_ENOMEM;
    ExtensionField_t *f = calloc(1, sizeof *f);
    ANY_t *v = calloc(1, sizeof *v);
    uint8_t *b = malloc(len);
    if (!f || !v || !b) {
        free(f);
        free(v);
        free(b);
        return MG_ENOMEM;
    }
    memcpy(b, label, len);
    v->buf = b;
    v->size = (int)len;
    f->type.present = ExtensionType_PR_standard_extension;
    f->type.choice.standard_extension = 20; /* message-security-label */
    f->value = v;
    if (ASN_SET_ADD(&(*ext)->list, f) != 0) {
        free(b);
        free(v);
        free(f);
        return MG_ENOMEM;
    }
    return 0;
}

int p1_mts_build(const struct p1_mts_out *o, uint8_t **der, size_t *len, char *why, size_t whysz)
{
    *der = NULL;
    *len = 0;
    if (!o || !o->gdi || !o->originator || !o->local_id || !o->nrcpts || !o->rcpts)
        return MG_EINVAL;
    int probe = o->kind == P1_MTS_PROBE;
    struct oraddr orig, *rc_or = calloc(o->nrcpts, sizeof *rc_or);
    if (!rc_or)
        return MG_ENOMEM;
    char err[120] = "";
    int rc = oraddr_parse(o->originator, &orig, err, sizeof err);
    if (rc && why)
        snprintf(why, whysz, "originator %s: %s", o->originator, err);
    for (size_t i = 0; !rc && i < o->nrcpts; i++) {
        rc = oraddr_parse(o->rcpts[i], &rc_or[i], err, sizeof err);
        if (rc && why)
            snprintf(why, whysz, "recipient %s: %s", o->rcpts[i], err);
    }
    char when[64];
    time_t t = (time_t)o->now;
    struct tm tm;
    gmtime_r(&t, &tm);
    /* UTCTime: two-digit year (X.680 47.3) */
    snprintf(when, sizeof when, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    const char *prio = o->priority >= 3 ? "urgent" : o->priority == 0 ? "non-urgent" : "normal";
    struct mg_buf x;
    mg_buf_init(&x, 0);
    if (!rc)
        rc = mg_buf_appendf(&x, "<MTS-APDU><%s>", probe ? "probe" : "message><envelope");
    if (!rc)
        rc = mg_buf_appendf(&x, "<%s>", probe ? "probe-identifier" : "message-identifier");
    if (!rc)
        rc = p1_xer_gdi(&x, "global-domain-identifier", o->gdi);
    if (!rc)
        rc = p1_xer_elem(&x, "local-identifier", o->local_id);
    if (!rc)
        rc = mg_buf_appendf(&x, "</%s>", probe ? "probe-identifier" : "message-identifier");
    if (!rc)
        rc = p1_xer_orname(&x, "originator-name", &orig);
    if (!rc) {
        int builtin = !strchr(o->content_oid ? o->content_oid : "22", '.');
        rc = mg_buf_appendf(&x, "<content-type><%s>%s</%s></content-type>",
                            builtin ? "built-in" : "extended", o->content_oid ? o->content_oid : "22",
                            builtin ? "built-in" : "extended");
    }
    if (!rc && probe)
        rc = mg_buf_appendf(&x, "<content-length>%zu</content-length>", o->content_len);
    if (!rc && !probe)
        rc = mg_buf_appendf(&x, "<priority><%s/></priority>", prio);
    if (!rc && !probe && o->deferred > 0) {
        time_t dt = (time_t)o->deferred;
        struct tm dm;
        gmtime_r(&dt, &dm);
        rc = mg_buf_appendf(&x, "<deferred-delivery-time>%02d%02d%02d%02d%02d%02dZ"
                                "</deferred-delivery-time>", dm.tm_year % 100, dm.tm_mon + 1,
                            dm.tm_mday, dm.tm_hour, dm.tm_min, dm.tm_sec);
    }
    if (!rc)
        rc = mg_buf_appendf(&x, "<trace-information><TraceInformationElement>");
    if (!rc)
        rc = p1_xer_gdi(&x, "global-domain-identifier", o->gdi);
    if (!rc)
        rc = mg_buf_appendf(&x, "<domain-supplied-information><arrival-time>%s</arrival-time>"
                                "<routing-action><relayed/></routing-action>"
                                "</domain-supplied-information></TraceInformationElement>"
                                "</trace-information><per-recipient-fields>", when);
    const char *prf = probe ? "PerRecipientProbeTransferFields" : "PerRecipientMessageTransferFields";
    for (size_t i = 0; !rc && i < o->nrcpts; i++) {
        rc = mg_buf_appendf(&x, "<%s>", prf);
        if (!rc)
            rc = p1_xer_orname(&x, "recipient-name", &rc_or[i]);
        /* responsibility, and non-delivery reports to the originating MTA and originator */
        if (!rc)
            rc = mg_buf_appendf(&x, "<originally-specified-recipient-number>%zu"
                                    "</originally-specified-recipient-number>"
                                    "<per-recipient-indicators>10101000</per-recipient-indicators>"
                                    "</%s>", i + 1, prf);
    }
    if (!rc)
        rc = mg_buf_appendf(&x, "</per-recipient-fields>%s</MTS-APDU>",
                            probe ? "</probe>" : "</envelope><content></content></message>");
    MTS_APDU_t *a = NULL;
    if (!rc) {
        asn_dec_rval_t r = xer_decode(NULL, &asn_DEF_MTS_APDU, (void **)&a, x.data, x.len);
        if (r.code != RC_OK) {
            rc = MG_EINVAL;
            if (why)
                snprintf(why, whysz, "a field does not fit X.411 (near octet %zu of the XER)", r.consumed);
        }
    }
    mg_buf_free(&x);
    if (!rc && !probe) {
        MessageTransferEnvelope_t *e = &a->choice.message.envelope;
        rc = p1_xer_add_cn(&e->originator_name, &orig);
        for (int i = 0; !rc && i < e->per_recipient_fields.list.count; i++)
            rc = p1_xer_add_cn(&e->per_recipient_fields.list.array[i]->recipient_name, &rc_or[i]);
        if (!rc && o->content_len &&
            OCTET_STRING_fromBuf(&a->choice.message.content, (const char *)o->content,
                                 (int)o->content_len) != 0)
            rc = MG_ENOMEM;
        if (!rc && o->label_len && (rc = p1_xer_add_label(&e->extensions, o->label, o->label_len)) == MG_EINVAL && why)
            snprintf(why, whysz, "the security label is not an X.411 SecurityLabel");
    } else if (!rc) {
        Probe_t *p = &a->choice.probe;
        rc = p1_xer_add_cn(&p->originator_name, &orig);
        for (int i = 0; !rc && i < p->per_recipient_fields.list.count; i++)
            rc = p1_xer_add_cn(&p->per_recipient_fields.list.array[i]->recipient_name, &rc_or[i]);
        if (!rc && o->label_len && (rc = p1_xer_add_label(&p->extensions, o->label, o->label_len)) == MG_EINVAL && why)
            snprintf(why, whysz, "the security label is not an X.411 SecurityLabel");
    }
    if (!rc) {
        unsigned char *out = NULL;
        rc = mg_asn1_encode_MTS_APDU(a, &out, len);
        if (rc == MG_ECONSTRAINT)
            rc = MG_EINVAL; /* a value outside X.411's bounds */
        if (rc && why)
            snprintf(why, whysz, "a field does not fit X.411 (%s)", mg_strerror(rc));
        *der = out;
    }
    mg_asn1_free_MTS_APDU(a);
    free(rc_or);
    return rc;
}

#include "p1_ber.h"
#include "TraceInformationElement.h"

/* Our trace element, DER. */
static int trace_element(const struct oraddr *gdi, long now, struct mg_buf *out)
{
    char when[64];
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(when, sizeof when, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    struct mg_buf x;
    mg_buf_init(&x, 0);
    int rc = mg_buf_appendf(&x, "<TraceInformationElement>");
    if (!rc)
        rc = p1_xer_gdi(&x, "global-domain-identifier", gdi);
    if (!rc)
        rc = mg_buf_appendf(&x, "<domain-supplied-information><arrival-time>%s</arrival-time>"
                                "<routing-action><relayed/></routing-action>"
                                "</domain-supplied-information></TraceInformationElement>", when);
    TraceInformationElement_t *e = NULL;
    if (!rc) {
        asn_dec_rval_t r = xer_decode(NULL, &asn_DEF_TraceInformationElement, (void **)&e, x.data, x.len);
        rc = r.code == RC_OK ? 0 : MG_EINVAL;
    }
    mg_buf_free(&x);
    unsigned char *der = NULL;
    size_t dl = 0;
    if (!rc)
        rc = mg_asn1_encode_der(&asn_DEF_TraceInformationElement, e, &der, &dl);
    if (!rc)
        rc = mg_buf_append(out, der, dl);
    free(der);
    ASN_STRUCT_FREE(asn_DEF_TraceInformationElement, e);
    return rc;
}

static int put_hdr(struct mg_buf *b, uint8_t id, size_t len)
{
    uint8_t h[8];
    size_t n = p1_ber_hdr(h, id, len);
    return mg_buf_append(b, h, n);
}

int p1_mts_relay(const uint8_t *env, size_t env_len, int report, const uint8_t *content,
                 size_t content_len, const struct oraddr *gdi, long now, uint8_t **apdu,
                 size_t *len)
{
    *apdu = NULL;
    *len = 0;
    struct p1_tlv e, t;
    if (!env || !gdi || p1_ber_read(env, env_len, &e) != 0 || e.total != env_len || e.id != 0x31)
        return MG_EPARSE;
    struct mg_buf elem, body, out;
    mg_buf_init(&elem, 0);
    mg_buf_init(&body, 0);
    mg_buf_init(&out, 0);
    int rc = trace_element(gdi, now, &elem);
    /* The envelope's members verbatim, the trace ([APPLICATION 9]) with ours appended. */
    size_t off = 0, start = 0;
    int found = 0, r;
    while (!rc && (start = off, r = p1_ber_next(&e, &off, &t)) == 1) {
        if (t.id == 0x69) {
            found = 1;
            rc = put_hdr(&body, 0x69, t.len + elem.len);
            if (!rc)
                rc = mg_buf_append(&body, t.v, t.len);
            if (!rc)
                rc = mg_buf_append(&body, elem.data, elem.len);
        } else {
            rc = mg_buf_append(&body, e.v + start, t.total);
        }
    }
    if (!rc && (r < 0 || !found))
        rc = MG_EPARSE;
    /* [0] message { envelope, content OCTET STRING } / [1] report { envelope, content } */
    size_t clen = report ? content_len : p1_ber_hdr_len(content_len) + content_len;
    size_t elen = p1_ber_hdr_len(body.len) + body.len;
    if (!rc)
        rc = put_hdr(&out, report ? 0xa1 : 0xa0, elen + clen);
    if (!rc)
        rc = put_hdr(&out, 0x31, body.len);
    if (!rc)
        rc = mg_buf_append(&out, body.data, body.len);
    if (!rc && !report)
        rc = put_hdr(&out, 0x04, content_len);
    if (!rc && content_len)
        rc = mg_buf_append(&out, content, content_len);
    mg_buf_free(&elem);
    mg_buf_free(&body);
    if (rc) {
        mg_buf_free(&out);
        return rc;
    }
    size_t n;
    *apdu = mg_buf_steal(&out, &n);
    *len = n;
    return 0;
}

/* Is ExtensionField f (a SEQUENCE) the message-security-label (standard extension 20)? Its
 * value (the label's TLV, the contents of [2]) into *lab when it is. */
static int is_label_field(const struct p1_tlv *f, struct p1_tlv *lab)
{
    struct p1_tlv ty;
    long n = -1;
    if (f->id != 0x30 || p1_ber_find(f, 0x80, &ty) != 1 || p1_ber_int(&ty, &n) != 0 || n != 20)
        return 0;
    if (p1_ber_find(f, 0xa2, lab) != 1)
        memset(lab, 0, sizeof *lab);
    return 1;
}

int p1_mts_env_set_label(const uint8_t *env, size_t env_len, int report, const uint8_t *label,
                         size_t label_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    struct p1_tlv e, t;
    if (!env || !label || !label_len || p1_ber_read(env, env_len, &e) != 0 || e.total != env_len ||
        e.id != 0x31)
        return MG_EPARSE;
    const uint8_t ext_id = report ? 0xa1 : 0xa3; /* extensions [1] / [3] of the envelope */
    struct mg_buf body, exts;
    mg_buf_init(&body, 0);
    mg_buf_init(&exts, 0);
    size_t off = 0, start = 0;
    int r, rc = 0, same = 0;
    while (!rc && (start = off, r = p1_ber_next(&e, &off, &t)) == 1) {
        if (t.id != ext_id) {
            rc = mg_buf_append(&body, e.v + start, t.total);
            continue;
        }
        /* the other extensions as they are; the label's own field is replaced */
        struct p1_tlv f, lab;
        size_t fo = 0, fstart = 0;
        int fr;
        while (!rc && (fstart = fo, fr = p1_ber_next(&t, &fo, &f)) == 1) {
            if (is_label_field(&f, &lab)) {
                same |= lab.v && lab.len == label_len && !memcmp(lab.v, label, label_len);
                continue;
            }
            rc = mg_buf_append(&exts, t.v + fstart, f.total);
        }
        if (!rc && fr < 0)
            rc = MG_EPARSE;
    }
    if (!rc && r < 0)
        rc = MG_EPARSE;
    if (!rc && !same) {
        /* ExtensionField { type [0] 20, value [2] label } */
        struct mg_buf fld;
        mg_buf_init(&fld, 0);
        static const uint8_t ty[] = { 0x80, 0x01, 0x14 };
        rc = mg_buf_append(&fld, ty, sizeof ty);
        if (!rc)
            rc = put_hdr(&fld, 0xa2, label_len);
        if (!rc)
            rc = mg_buf_append(&fld, label, label_len);
        if (!rc)
            rc = put_hdr(&exts, 0x30, fld.len);
        if (!rc)
            rc = mg_buf_append(&exts, fld.data, fld.len);
        mg_buf_free(&fld);
        if (!rc)
            rc = put_hdr(&body, ext_id, exts.len);
        if (!rc)
            rc = mg_buf_append(&body, exts.data, exts.len);
    }
    struct mg_buf o;
    mg_buf_init(&o, 0);
    if (!rc && !same)
        rc = put_hdr(&o, 0x31, body.len);
    if (!rc && !same)
        rc = mg_buf_append(&o, body.data, body.len);
    mg_buf_free(&body);
    mg_buf_free(&exts);
    if (rc || same) {
        mg_buf_free(&o);
        return rc;
    }
    size_t n;
    *out = mg_buf_steal(&o, &n);
    *out_len = n;
    return 0;
}

int p1_mts_report_apdu(const struct oraddr *gdi, const char *local_id, const char *dest,
                       long now, const uint8_t *content, size_t content_len, const uint8_t *label,
                       size_t label_len, uint8_t **apdu, size_t *len, char *why, size_t whysz)
{
    *apdu = NULL;
    *len = 0;
    if (!gdi || !local_id || !dest || !content || !content_len)
        return MG_EINVAL;
    struct oraddr to;
    char err[120] = "";
    if (oraddr_parse(dest, &to, err, sizeof err) != 0) {
        if (why)
            snprintf(why, whysz, "report destination %s: %s", dest, err);
        return MG_EINVAL;
    }
    char when[32];
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(when, sizeof when, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    /* The envelope a report we originate travels in (X.411 12.3.1): our identifier, the
     * subject's originator as destination, our trace element. */
    struct mg_buf x;
    mg_buf_init(&x, 0);
    int rc = mg_buf_appendf(&x, "<ReportTransferEnvelope><report-identifier>");
    if (!rc)
        rc = p1_xer_gdi(&x, "global-domain-identifier", gdi);
    if (!rc)
        rc = p1_xer_elem(&x, "local-identifier", local_id);
    if (!rc)
        rc = mg_buf_appendf(&x, "</report-identifier>");
    if (!rc)
        rc = p1_xer_orname(&x, "report-destination-name", &to);
    if (!rc)
        rc = mg_buf_appendf(&x, "<trace-information><TraceInformationElement>");
    if (!rc)
        rc = p1_xer_gdi(&x, "global-domain-identifier", gdi);
    if (!rc)
        rc = mg_buf_appendf(&x, "<domain-supplied-information><arrival-time>%s</arrival-time>"
                                "<routing-action><relayed/></routing-action>"
                                "</domain-supplied-information></TraceInformationElement>"
                                "</trace-information></ReportTransferEnvelope>", when);
    ReportTransferEnvelope_t *e = NULL;
    if (!rc) {
        asn_dec_rval_t r = xer_decode(NULL, &asn_DEF_ReportTransferEnvelope, (void **)&e, x.data,
                                      x.len);
        if (r.code != RC_OK)
            rc = MG_EINVAL;
    }
    mg_buf_free(&x);
    if (!rc)
        rc = p1_xer_add_cn(&e->report_destination_name, &to);
    if (!rc && label_len && (rc = p1_xer_add_label(&e->extensions, label, label_len)) == MG_EINVAL && why)
        snprintf(why, whysz, "the security label is not an X.411 SecurityLabel");
    unsigned char *env = NULL;
    size_t elen = 0;
    if (!rc)
        rc = mg_asn1_encode_der(&asn_DEF_ReportTransferEnvelope, e, &env, &elen);
    ASN_STRUCT_FREE(asn_DEF_ReportTransferEnvelope, e);
    if (rc == MG_ECONSTRAINT)
        rc = MG_EINVAL;
    if (rc && why && !why[0])
        snprintf(why, whysz, "the report envelope does not fit X.411 (%s)", mg_strerror(rc));
    /* [1] Report { envelope, content }: the content is the ReportTransferContent as made */
    struct mg_buf out;
    mg_buf_init(&out, 0);
    if (!rc)
        rc = put_hdr(&out, 0xa1, elen + content_len);
    if (!rc)
        rc = mg_buf_append(&out, env, elen);
    if (!rc)
        rc = mg_buf_append(&out, content, content_len);
    free(env);
    if (!rc) {
        /* Only a well-formed report leaves: the content comes from a conversion. */
        MTS_APDU_t *a = NULL;
        struct mg_asn1_err de;
        memset(&de, 0, sizeof de);
        rc = mg_asn1_decode_MTS_APDU(out.data, out.len, &a, &de);
        mg_asn1_free_MTS_APDU(a);
        if (rc && why)
            snprintf(why, whysz, "the report content is not an X.411 ReportTransferContent (%s)",
                     de.what);
        if (rc)
            rc = MG_EPARSE;
    }
    if (rc) {
        mg_buf_free(&out);
        return rc;
    }
    size_t n;
    *apdu = mg_buf_steal(&out, &n);
    *len = n;
    return 0;
}
