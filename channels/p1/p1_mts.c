/* p1_mts: MTS-APDU -> the switch's plain fields (p1_mts.h). */
#include "p1_mts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_asn1.h"
#include "mg_err.h"
#include "p1_ber.h"

#include "BuiltInDomainDefinedAttribute.h"
#include "BuiltInDomainDefinedAttributes.h"
#include "CountryName.h"
#include "AdministrationDomainName.h"
#include "ExtensionAttribute.h"
#include "ExtensionAttributes.h"
#include "ExtensionField.h"
#include "Extensions.h"
#include "PrivateDomainIdentifier.h"
#include "PrivateDomainName.h"
#include "OrganizationalUnitNames.h"
#include "PersonalName.h"
#include "PerRecipientMessageTransferFields.h"
#include "PerRecipientProbeTransferFields.h"
#include "TraceInformationElement.h"
#include "EncodedInformationTypes.h"
#include "ExtendedEncodedInformationTypes.h"

#define MAX_RCPTS 10000

static void why_set(char *why, size_t n, const char *what, const char *detail)
{
    if (why && n)
        snprintf(why, n, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

/* Appends one attribute; values are copied verbatim (PrintableString has no '/' issue except
 * the '/' itself, which the textual form quotes with '$'). */
static int put(struct oraddr *o, const char *key, const uint8_t *v, size_t n)
{
    if (!v)
        return 0;
    if (o->n >= ORADDR_MAX_ATTRS)
        return MG_ETOOBIG;
    if (n >= ORADDR_VAL_MAX)
        return MG_ETOOBIG;
    struct oraddr_attr *a = &o->a[o->n];
    snprintf(a->key, sizeof a->key, "%s", key);
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x20 || v[i] == 0x7f)
            return MG_EPARSE;
    memcpy(a->val, v, n);
    a->val[n] = '\0';
    if (n == 0 || (n == 1 && v[0] == ' '))
        strcpy(a->val, " ");
    o->n++;
    return 0;
}

#define PUTS(o, k, s) ((s) ? put((o), (k), (s)->buf, (s)->size) : 0)

static int gdi_attrs(struct oraddr *o, const GlobalDomainIdentifier_t *g)
{
    int rc = 0;
    const CountryName_t *c = &g->country_name;
    if (c->present == CountryName_PR_x121_dcc_code)
        rc = put(o, "C", c->choice.x121_dcc_code.buf, c->choice.x121_dcc_code.size);
    else if (c->present == CountryName_PR_iso_3166_alpha2_code)
        rc = put(o, "C", c->choice.iso_3166_alpha2_code.buf, c->choice.iso_3166_alpha2_code.size);
    const AdministrationDomainName_t *a = &g->administration_domain_name;
    if (!rc && a->present == AdministrationDomainName_PR_numeric)
        rc = put(o, "ADMD", a->choice.numeric.buf, a->choice.numeric.size);
    else if (!rc && a->present == AdministrationDomainName_PR_printable)
        rc = put(o, "ADMD", a->choice.printable.buf, a->choice.printable.size);
    const PrivateDomainIdentifier_t *p = g->private_domain_identifier;
    if (!rc && p && p->present == PrivateDomainIdentifier_PR_numeric)
        rc = put(o, "PRMD", p->choice.numeric.buf, p->choice.numeric.size);
    else if (!rc && p && p->present == PrivateDomainIdentifier_PR_printable)
        rc = put(o, "PRMD", p->choice.printable.buf, p->choice.printable.size);
    return rc;
}

int p1_mts_orname_text(const struct ORName *n, char *buf, size_t bufsz)
{
    struct oraddr o = { 0 };
    const BuiltInStandardAttributes_t *b = &n->built_in_standard_attributes;
    int rc = 0;
    if (b->country_name) {
        const CountryName_t *c = b->country_name;
        rc = c->present == CountryName_PR_x121_dcc_code
                 ? put(&o, "C", c->choice.x121_dcc_code.buf, c->choice.x121_dcc_code.size)
                 : put(&o, "C", c->choice.iso_3166_alpha2_code.buf, c->choice.iso_3166_alpha2_code.size);
    }
    if (!rc && b->administration_domain_name) {
        const AdministrationDomainName_t *a = b->administration_domain_name;
        rc = a->present == AdministrationDomainName_PR_numeric
                 ? put(&o, "ADMD", a->choice.numeric.buf, a->choice.numeric.size)
                 : put(&o, "ADMD", a->choice.printable.buf, a->choice.printable.size);
    }
    if (!rc && b->private_domain_name) {
        const PrivateDomainName_t *p = b->private_domain_name;
        rc = p->present == PrivateDomainName_PR_numeric
                 ? put(&o, "PRMD", p->choice.numeric.buf, p->choice.numeric.size)
                 : put(&o, "PRMD", p->choice.printable.buf, p->choice.printable.size);
    }
    if (!rc)
        rc = PUTS(&o, "X121", b->network_address);
    if (!rc)
        rc = PUTS(&o, "T-ID", b->terminal_identifier);
    if (!rc)
        rc = PUTS(&o, "O", b->organization_name);
    if (!rc)
        rc = PUTS(&o, "UA-ID", b->numeric_user_identifier);
    for (int i = 0; !rc && b->organizational_unit_names && i < b->organizational_unit_names->list.count; i++)
        rc = PUTS(&o, "OU", b->organizational_unit_names->list.array[i]);
    if (!rc && b->personal_name) {
        const PersonalName_t *pn = b->personal_name;
        rc = put(&o, "S", pn->surname.buf, pn->surname.size);
        if (!rc)
            rc = PUTS(&o, "G", pn->given_name);
        if (!rc)
            rc = PUTS(&o, "I", pn->initials);
        if (!rc)
            rc = PUTS(&o, "GQ", pn->generation_qualifier);
    }
    /* Extension attributes: the common name (1 printable, 2 teletex) has a textual key;
     * the others stay in the stored envelope only. */
    const ExtensionAttributes_t *ea = n->extension_attributes;
    for (int i = 0; !rc && ea && i < ea->list.count; i++) {
        const ExtensionAttribute_t *x = ea->list.array[i];
        if (x->extension_attribute_type != 1 && x->extension_attribute_type != 2)
            continue;
        struct p1_tlv t;
        if (p1_ber_read(x->extension_attribute_value.buf,
                        (size_t)x->extension_attribute_value.size, &t) != 0 ||
            (t.id & P1_BER_CONS))
            return MG_EPARSE;
        rc = put(&o, "CN", t.v, t.len);
    }
    const BuiltInDomainDefinedAttributes_t *dd = n->built_in_domain_defined_attributes;
    for (int i = 0; !rc && dd && i < dd->list.count; i++) {
        char key[ORADDR_KEY_MAX];
        const BuiltInDomainDefinedAttribute_t *d = dd->list.array[i];
        if ((size_t)d->type.size + 4 > sizeof key)
            return MG_ETOOBIG;
        snprintf(key, sizeof key, "DD.%.*s", (int)d->type.size, (const char *)d->type.buf);
        rc = put(&o, key, d->value.buf, d->value.size);
    }
    if (rc)
        return rc;
    if (o.n == 0)
        return MG_EPARSE; /* a directory name only: no address to route or show */
    /* Canonical order and form through the text parser (quotes, blank ADMD). */
    char tmp[P1_MTS_ADDR_MAX];
    rc = oraddr_format(&o, tmp, sizeof tmp);
    return rc ? rc : oraddr_normalize(tmp, buf, bufsz, NULL, 0);
}

static int mts_id_text(const MTSIdentifier_t *id, char *buf, size_t n)
{
    struct oraddr o = { 0 };
    char g[P1_MTS_ADDR_MAX];
    int rc = gdi_attrs(&o, &id->global_domain_identifier);
    if (!rc)
        rc = oraddr_format(&o, g, sizeof g);
    if (rc)
        return rc;
    for (size_t i = 0; i < (size_t)id->local_identifier.size; i++)
        if (id->local_identifier.buf[i] < 0x20 || id->local_identifier.buf[i] >= 0x7f)
            return MG_EPARSE;
    int w = snprintf(buf, n, "[%s;%.*s]", g, (int)id->local_identifier.size,
                     (const char *)id->local_identifier.buf);
    return w < 0 || (size_t)w >= n ? MG_ETOOBIG : 0;
}

static int content_type_text(const ContentType_t *ct, char *buf, size_t n)
{
    if (ct->present == ContentType_PR_built_in) {
        snprintf(buf, n, "%ld", ct->choice.built_in);
        return 0;
    }
    return mg_asn1_oid_str(&ct->choice.extended, buf, n);
}

static void trace_check(struct p1_mts_in *m, const TraceInformation_t *t, const struct oraddr *us)
{
    m->ntrace = (size_t)t->list.count;
    for (int i = 0; us && i < t->list.count; i++) {
        struct oraddr g = { 0 };
        if (gdi_attrs(&g, &t->list.array[i]->global_domain_identifier) != 0)
            continue;
        /* Equal in every attribute both have, and the same set (C, ADMD, PRMD). */
        if (g.n == us->n && oraddr_matches(us, &g))
            m->trace_has_us = 1;
    }
}

/* The queue's 0..5 (STANAG 4406 precedence) from the X.411 priority and, when present, the
 * STANAG 4406 priority-level-qualifier extension (1.3.26.0.4406.0.8.0, low 0 / high 1): ACP 123
 * pairs deferred/routine with non-urgent, priority/immediate with normal, flash/override with
 * urgent, the qualifier choosing within the pair. Without it: non-urgent 0, normal 1 (routine,
 * the queue's default), urgent 3. */
static int precedence(long priority, const struct Extensions *ext)
{
    int base = priority == Priority_urgent ? 2 : priority == Priority_non_urgent ? 0 : 1;
    for (int i = 0; ext && i < ext->list.count; i++) {
        const ExtensionField_t *f = ext->list.array[i];
        if (f->type.present != ExtensionType_PR_private_extension || !f->value ||
            !mg_asn1_oid_is(&f->type.choice.private_extension, "1.3.26.0.4406.0.8.0"))
            continue;
        struct p1_tlv t;
        long q;
        if (p1_ber_read(f->value->buf, (size_t)f->value->size, &t) == 0 &&
            (t.id == 0x02 || t.id == 0x0a) && p1_ber_int(&t, &q) == 0 && (q == 0 || q == 1))
            return 2 * base + (int)q;
    }
    return base == 2 ? 3 : base;
}

/* An extension marked critical for transfer (criticality bit 1) that this relay does not
 * support. A relay meets some by doing nothing (it never reassigns, expands or converts) and
 * carries the others it reads (label, correlator, trace, the STANAG 4406 qualifier). */
static void critical_check(struct p1_mts_in *m, const struct Extensions *ext)
{
    static const long ok[] = { 1, 3, 4, 20, 23, 37, 38 };
    for (int i = 0; ext && i < ext->list.count && !m->critical[0]; i++) {
        const ExtensionField_t *f = ext->list.array[i];
        const BIT_STRING_t *c = f->criticality;
        if (!c || c->size < 1 || !(c->buf[0] & 0x40))
            continue;
        if (f->type.present == ExtensionType_PR_standard_extension) {
            long t = f->type.choice.standard_extension;
            int known = 0;
            for (size_t k = 0; k < sizeof ok / sizeof *ok; k++)
                known |= ok[k] == t;
            if (!known)
                snprintf(m->critical, sizeof m->critical, "standard %ld", t);
        } else if (f->type.present == ExtensionType_PR_private_extension &&
                   !mg_asn1_oid_is(&f->type.choice.private_extension, "1.3.26.0.4406.0.8.0")) {
            if (mg_asn1_oid_str(&f->type.choice.private_extension, m->critical, sizeof m->critical))
                snprintf(m->critical, sizeof m->critical, "private (unprintable OID)");
        }
    }
}

/* The X.411 message-security-label (standard extension 20) as the queue's label. */
static int label_of(struct p1_mts_in *m, const struct Extensions *ext)
{
    for (int i = 0; ext && i < ext->list.count; i++) {
        const ExtensionField_t *f = ext->list.array[i];
        if (f->type.present != ExtensionType_PR_standard_extension ||
            f->type.choice.standard_extension != 20 || !f->value || f->value->size <= 0)
            continue;
        if (!(m->label = malloc((size_t)f->value->size)))
            return MG_ENOMEM;
        memcpy(m->label, f->value->buf, (size_t)f->value->size);
        m->label_len = (size_t)f->value->size;
        return 0;
    }
    return 0;
}

static int rcpt_add(struct p1_mts_in *m, const ORName_t *name, long osrn,
                    const BIT_STRING_t *ind)
{
    struct p1_mts_rcpt *r = &m->rcpts[m->nrcpts];
    int rc = p1_mts_orname_text(name, r->addr, sizeof r->addr);
    if (rc)
        return rc;
    r->osrn = osrn;
    /* PerRecipientIndicators bit 0: responsibility. */
    r->responsibility = ind && ind->size > 0 && (ind->buf[0] & 0x80);
    /* Bits 1 originating-MTA-report and 3 originator-report: a delivery report is asked for,
     * by the originator or by its MTA (RFC 2156 A.3.2: the stronger request is served). */
    r->delivery_report = ind && ind->size > 0 && (ind->buf[0] & 0x50);
    m->nrcpts++;
    return 0;
}

/* The envelope TLV: the first element inside the [n] of the APDU. */
static int envelope_slice(const uint8_t *apdu, size_t len, struct p1_mts_in *m)
{
    struct p1_tlv outer, t;
    size_t off = 0;
    if (p1_ber_read(apdu, len, &outer) != 0 || !(outer.id & P1_BER_CONS))
        return MG_EPARSE;
    if (p1_ber_next(&outer, &off, &t) != 1)
        return MG_EPARSE;
    m->envelope = outer.v;
    m->envelope_len = t.total;
    return 0;
}

/* The built-in encoded information types as their X.411 names, and the extended ones counted
 * (a probe's original-encoded-information-types: what the limits are checked against). */
static void eits_text(const EncodedInformationTypes_t *e, struct p1_mts_in *m)
{
    static const char *const names[] = { "unknown", "telex", "ia5-text", "g3-facsimile",
                                         "g4-class-1", "teletex", "videotex", "voice", "sfd",
                                         "mixed-mode" };
    const BIT_STRING_t *b = &e->built_in_encoded_information_types;
    for (size_t i = 0; i < sizeof names / sizeof *names && b->buf; i++) {
        size_t byte = i / 8;
        if (b->size <= 0 || byte >= (size_t)b->size || !(b->buf[byte] & (0x80 >> (i % 8))))
            continue;
        size_t used = strlen(m->eits);
        snprintf(m->eits + used, sizeof m->eits - used, "%s%s", used ? " " : "", names[i]);
    }
    if (e->extended_encoded_information_types)
        m->eits_extended = (size_t)e->extended_encoded_information_types->list.count;
}

int p1_mts_decode(const uint8_t *apdu, size_t len, const struct oraddr *our_gdi,
                  struct p1_mts_in *m, char *why, size_t whysz)
{
    memset(m, 0, sizeof *m);
    if (why && whysz)
        why[0] = '\0';
    MTS_APDU_t *a = NULL;
    struct mg_asn1_err err;
    int rc = mg_asn1_decode_MTS_APDU(apdu, len, &a, &err);
    if (rc) {
        why_set(why, whysz, "MTS-APDU does not decode", err.what);
        return rc;
    }
    rc = envelope_slice(apdu, len, m);
    if (rc)
        why_set(why, whysz, "MTS-APDU: no envelope", NULL);
    int count = 0;
    if (!rc) {
        switch (a->present) {
        case MTS_APDU_PR_message:
            count = a->choice.message.envelope.per_recipient_fields.list.count;
            break;
        case MTS_APDU_PR_probe:
            count = a->choice.probe.per_recipient_fields.list.count;
            break;
        case MTS_APDU_PR_report:
            count = 1;
            break;
        default:
            rc = MG_EPARSE;
            why_set(why, whysz, "MTS-APDU: unknown alternative", NULL);
        }
    }
    if (!rc && (count < 1 || count > MAX_RCPTS)) {
        rc = MG_ETOOBIG;
        why_set(why, whysz, "MTS-APDU: recipient count out of range", NULL);
    }
    if (!rc && !(m->rcpts = calloc((size_t)count, sizeof *m->rcpts)))
        rc = MG_ENOMEM;
    const char *what = "";
    if (!rc && a->present == MTS_APDU_PR_message) {
        const Message_t *msg = &a->choice.message;
        const MessageTransferEnvelope_t *e = &msg->envelope;
        m->kind = P1_MTS_MESSAGE;
        what = "message identifier";
        rc = mts_id_text(&e->message_identifier, m->mts_id, sizeof m->mts_id);
        if (!rc && (what = "originator name"))
            rc = p1_mts_orname_text(&e->originator_name, m->originator, sizeof m->originator);
        if (!rc && (what = "content type"))
            rc = content_type_text(&e->content_type, m->content_oid, sizeof m->content_oid);
        m->priority = precedence(e->priority, e->extensions);
        if (!rc && e->deferred_delivery_time &&
            p1_mts_deferred_time(m->envelope, m->envelope_len, &m->deferred) < 0) {
            rc = MG_EPARSE;
            what = "deferred delivery time";
        }
        if (!rc)
            rc = label_of(m, e->extensions);
        critical_check(m, e->extensions);
        trace_check(m, &e->trace_information, our_gdi);
        for (int i = 0; !rc && i < count; i++) {
            const PerRecipientMessageTransferFields_t *f = e->per_recipient_fields.list.array[i];
            what = "recipient name";
            rc = rcpt_add(m, &f->recipient_name, f->originally_specified_recipient_number,
                          &f->per_recipient_indicators);
        }
        if (!rc && msg->content.size) {
            if (!(m->content = malloc(msg->content.size)))
                rc = MG_ENOMEM;
            else
                memcpy(m->content, msg->content.buf, (m->content_len = msg->content.size));
        }
    } else if (!rc && a->present == MTS_APDU_PR_probe) {
        const Probe_t *p = &a->choice.probe;
        m->kind = P1_MTS_PROBE;
        what = "probe identifier";
        rc = mts_id_text(&p->probe_identifier, m->mts_id, sizeof m->mts_id);
        if (!rc && (what = "originator name"))
            rc = p1_mts_orname_text(&p->originator_name, m->originator, sizeof m->originator);
        if (!rc && (what = "content type"))
            rc = content_type_text(&p->content_type, m->content_oid, sizeof m->content_oid);
        m->priority = 1;
        if (p->content_length && *p->content_length > 0)
            m->content_length = (uint64_t)*p->content_length;
        if (p->original_encoded_information_types)
            eits_text(p->original_encoded_information_types, m);
        trace_check(m, &p->trace_information, our_gdi);
        for (int i = 0; !rc && i < count; i++) {
            const PerRecipientProbeTransferFields_t *f = p->per_recipient_fields.list.array[i];
            what = "recipient name";
            rc = rcpt_add(m, &f->recipient_name, f->originally_specified_recipient_number,
                          &f->per_recipient_indicators);
        }
    } else if (!rc && a->present == MTS_APDU_PR_report) {
        /* A report travels to its report-destination-name: that is its one "recipient". */
        const Report_t *r = &a->choice.report;
        m->kind = P1_MTS_REPORT;
        m->priority = 1;
        what = "report identifier";
        rc = mts_id_text(&r->envelope.report_identifier, m->mts_id, sizeof m->mts_id);
        if (!rc && (what = "report destination name"))
            rc = rcpt_add(m, &r->envelope.report_destination_name, 0, NULL);
        if (!rc)
            m->rcpts[0].responsibility = 1;
        if (!rc) /* X.411: the subject's label, which the gate decides the report on */
            rc = label_of(m, r->envelope.extensions);
        trace_check(m, &r->envelope.trace_information, our_gdi);
        /* The report content is re-encoded from the decoded value: it is only used to relay
         * the report, and DER of a value we checked is what it was. */
        if (!rc) {
            unsigned char *der = NULL;
            size_t dl = 0;
            rc = mg_asn1_encode_der(&asn_DEF_ReportTransferContent, &r->content, &der, &dl);
            m->content = der;
            m->content_len = dl;
        }
    }
    if (rc && why && whysz && !why[0])
        snprintf(why, whysz, "MTS-APDU: bad %s (%s)", what, mg_strerror(rc));
    mg_asn1_free_MTS_APDU(a);
    if (rc)
        p1_mts_in_free(m);
    return rc;
}

void p1_mts_in_free(struct p1_mts_in *m)
{
    if (!m)
        return;
    free(m->rcpts);
    free(m->content);
    free(m->label);
    m->rcpts = NULL;
    m->content = NULL;
    m->label = NULL;
    m->nrcpts = 0;
}

static int digits(const uint8_t *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int p1_mts_utctime(const uint8_t *s, size_t n, int64_t *out)
{
    if (n < 11 || n > 17)
        return MG_EPARSE;
    int yy = digits(s, 2), mo = digits(s + 2, 2), dd = digits(s + 4, 2), hh = digits(s + 6, 2),
        mi = digits(s + 8, 2), ss = 0;
    size_t i = 10;
    if (n - i >= 3 && s[i] >= '0' && s[i] <= '9') {
        ss = digits(s + i, 2);
        i += 2;
    }
    if (yy < 0 || mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh < 0 || hh > 23 || mi < 0 ||
        mi > 59 || ss < 0 || ss > 59)
        return MG_EPARSE;
    int64_t off = 0;
    if (n - i == 1 && s[i] == 'Z') {
        off = 0;
    } else if (n - i == 5 && (s[i] == '+' || s[i] == '-')) {
        int oh = digits(s + i + 1, 2), om = digits(s + i + 3, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return MG_EPARSE;
        off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    } else {
        return MG_EPARSE;
    }
    /* days from the civil date (proleptic Gregorian), no timezone state involved */
    int64_t y = yy < 50 ? 2000 + yy : 1900 + yy, m = mo;
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *out = days * 86400 + hh * 3600 + mi * 60 + ss - off;
    return 0;
}

int p1_mts_deferred_time(const uint8_t *env, size_t env_len, int64_t *when)
{
    struct p1_tlv e, f;
    *when = 0;
    if (!env || p1_ber_read(env, env_len, &e) != 0 || e.id != 0x31)
        return MG_EPARSE;
    int rc = p1_ber_find(&e, 0x80, &f); /* [0] IMPLICIT UTCTime, primitive */
    if (rc <= 0)
        return rc < 0 ? MG_EPARSE : 0;
    return p1_mts_utctime(f.v, f.len, when) == 0 ? 1 : MG_EPARSE;
}

/* Calls fn(arg, addr, ind) for each recipient of a stored MessageTransferEnvelope that has
 * per-recipient indicators (ind: the BIT STRING's contents, ind[0] the unused-bit count;
 * writable in place, lengths never change). 0, MG_EPARSE. */
static int each_rcpt(uint8_t *env, size_t env_len,
                     void (*fn)(void *arg, const char *addr, uint8_t *ind, size_t n), void *arg)
{
    struct p1_tlv e, f, r, x;
    if (!env || p1_ber_read(env, env_len, &e) != 0 || e.id != 0x31)
        return MG_EPARSE;
    size_t off = 0;
    int rc;
    while ((rc = p1_ber_next(&e, &off, &f)) == 1) {
        if (f.id != 0xa2) /* per-recipient-fields [2] */
            continue;
        size_t roff = 0;
        while ((rc = p1_ber_next(&f, &roff, &r)) == 1) {
            /* one PerRecipientMessageTransferFields SET: the recipient name first */
            size_t xoff = 0, start = 0;
            char addr[P1_MTS_ADDR_MAX] = "";
            int have = 0;
            while ((start = xoff, rc = p1_ber_next(&r, &xoff, &x)) == 1) {
                if (x.id == 0x60 && !have) {
                    ORName_t *n = NULL;
                    if (mg_asn1_decode_ORName(r.v + start, x.total, &n, NULL) == 0 &&
                        p1_mts_orname_text(n, addr, sizeof addr) == 0)
                        have = 1;
                    mg_asn1_free_ORName(n);
                } else if (x.id == 0x81 && x.len >= 2 && have) {
                    fn(arg, addr, (uint8_t *)x.v, x.len);
                }
            }
            if (rc < 0)
                return MG_EPARSE;
        }
        if (rc < 0)
            return MG_EPARSE;
    }
    return rc < 0 ? MG_EPARSE : 0;
}

struct keep_set {
    const char *const *keep;
    size_t nkeep;
};

static void clear_responsibility(void *arg, const char *addr, uint8_t *ind, size_t n)
{
    const struct keep_set *k = arg;
    (void)n;
    int kept = 0;
    for (size_t i = 0; i < k->nkeep && !kept; i++)
        kept = k->keep[i] && strcmp(k->keep[i], addr) == 0;
    if (!kept)
        ind[1] &= 0x7f; /* bit 0: responsibility */
}

int p1_mts_responsibility(uint8_t *env, size_t env_len, const char *const *keep, size_t nkeep)
{
    struct keep_set k = { keep, nkeep };
    return each_rcpt(env, env_len, clear_responsibility, &k);
}

struct report_ask {
    const char *addr;
    int asked;
};

static void report_bits(void *arg, const char *addr, uint8_t *ind, size_t n)
{
    struct report_ask *a = arg;
    (void)n;
    /* bit 1 originating-MTA-report, bit 3 originator-report (X.411 12.2.1.1.1.9): either
     * asks for a delivery report, which the MTA that delivers sends back over X.400 */
    if (!strcmp(addr, a->addr) && (ind[1] & 0x50))
        a->asked = 1;
}

int p1_mts_report_requested(const uint8_t *env, size_t env_len, const char *addr)
{
    if (!addr)
        return MG_EINVAL;
    struct report_ask a = { addr, 0 };
    /* read only: each_rcpt's callback here writes nothing */
    int rc = each_rcpt((uint8_t *)env, env_len, report_bits, &a);
    return rc ? rc : a.asked;
}
