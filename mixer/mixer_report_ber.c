/* mixer_report_ber: struct mixer_report <-> DER X.411 ReportTransferContent (the content of a
 * queued X.400 report, MESSAGE_CONTENT_X400_REPORT). Reading goes through the asn1 codec
 * (hostile BER); writing uses the mixer_ber writer and the result is decoded again before
 * anyone sees it. The tags below are X.411's (module with IMPLICIT TAGS). */
#include "mixer_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_asn1.h"
#include "mg_err.h"
#include "mixer_ber.h"
#include "mixer_or.h"
#include "mixer_orname.h"

#include "ContentCorrelator.h"
#include "ExtensionField.h"
#include "Extensions.h"
#include "PerRecipientReportTransferFields.h"
#include "PrivateDomainIdentifier.h"
#include "ReportTransferContent.h"
#include "ReportTransferEnvelope.h"
#include "TraceInformationElement.h"

#define WHY(...) (why && whysize ? (void)snprintf(why, whysize, __VA_ARGS__) : (void)0)

static void ostr(const OCTET_STRING_t *s, char *out, size_t outsize)
{
    size_t n = s && s->buf ? (size_t)s->size : 0;
    if (n >= outsize)
        n = outsize - 1;
    for (size_t i = 0; i < n; i++) /* printable ASCII only: the value goes into mail headers */
        out[i] = s->buf[i] >= 0x20 && s->buf[i] < 0x7f ? (char)s->buf[i] : ' ';
    out[n] = '\0';
}

static int orname_text(const ORName_t *n, char *out, size_t outsize)
{
    struct mixer_or or;
    int rc = mixer_orname_read(&n->built_in_standard_attributes,
                               n->built_in_domain_defined_attributes, n->extension_attributes, &or);
    return rc ? rc : mixer_or_print(&or, out, outsize);
}

static int gdi_text(const GlobalDomainIdentifier_t *g, const LocalIdentifier_t *local, char *out,
                    size_t outsize)
{
    return mixer_report_ber_id_text(g, local, out, outsize);
}

int mixer_report_ber_id_text(const struct GlobalDomainIdentifier *g,
                             const struct OCTET_STRING *local, char *out, size_t outsize)
{
    struct mixer_or or;
    char v[MIXER_OR_VALUE_MAX], text[MIXER_REPORT_ADDR_MAX], loc[128];
    mixer_or_init(&or);
    ostr(g->country_name.present == CountryName_PR_x121_dcc_code
             ? &g->country_name.choice.x121_dcc_code
             : &g->country_name.choice.iso_3166_alpha2_code,
         v, sizeof v);
    int rc = mixer_or_add(&or, MIXER_OR_C, NULL, v, strlen(v));
    ostr(g->administration_domain_name.present == AdministrationDomainName_PR_numeric
             ? &g->administration_domain_name.choice.numeric
             : &g->administration_domain_name.choice.printable,
         v, sizeof v);
    if (!rc)
        rc = mixer_or_add(&or, MIXER_OR_ADMD, NULL, v, strlen(v));
    if (!rc && g->private_domain_identifier) {
        const PrivateDomainIdentifier_t *p = g->private_domain_identifier;
        ostr(p->present == PrivateDomainIdentifier_PR_numeric ? &p->choice.numeric
                                                              : &p->choice.printable,
             v, sizeof v);
        rc = mixer_or_add(&or, MIXER_OR_PRMD, NULL, v, strlen(v));
    }
    if (!rc)
        rc = mixer_or_print(&or, text, sizeof text);
    ostr(local, loc, sizeof loc);
    if (!rc) {
        int w = snprintf(out, outsize, "[%s;%s]", text, loc);
        rc = w < 0 || (size_t)w >= outsize ? MG_ETOOBIG : 0;
    }
    return rc;
}

int mixer_report_from_ber(const void *ber, size_t len, struct mixer_report *out,
                          struct mg_buf *returned, char *why, size_t whysize)
{
    mixer_report_init(out);
    ReportTransferContent_t *c = NULL;
    struct mg_asn1_err err;
    int rc = mg_asn1_decode(&asn_DEF_ReportTransferContent, ber, len, (void **)&c, &err);
    if (rc) {
        WHY("report content does not decode: %s", err.what);
        return rc == MG_ENOMEM ? rc : MG_EPARSE;
    }
    rc = gdi_text(&c->subject_identifier.global_domain_identifier,
                  &c->subject_identifier.local_identifier, out->subject_id, sizeof out->subject_id);
    if (rc)
        WHY("subject identifier cannot be written as text");
    if (!rc && c->content_identifier)
        ostr(c->content_identifier, out->content_id, sizeof out->content_id);
    /* the content correlator (standard extension 23), IA5 only (RFC 2156 5.3.8.1) */
    for (int i = 0; !rc && c->extensions && i < c->extensions->list.count; i++) {
        const ExtensionField_t *f = c->extensions->list.array[i];
        if (f->type.present != ExtensionType_PR_standard_extension ||
            f->type.choice.standard_extension != 23 || !f->value || f->value->size <= 0)
            continue;
        ContentCorrelator_t *cc = NULL;
        struct mg_asn1_err cerr;
        if (mg_asn1_decode(&asn_DEF_ContentCorrelator, f->value->buf, (size_t)f->value->size,
                           (void **)&cc, &cerr) == 0 &&
            cc->present == ContentCorrelator_PR_ia5text)
            ostr(&cc->choice.ia5text, out->correlator, sizeof out->correlator);
        mg_asn1_free(&asn_DEF_ContentCorrelator, cc);
    }
    int n = c->per_recipient_fields.list.count;
    if (!rc && (n <= 0 || n > MIXER_REPORT_MAX_RCPTS)) {
        WHY("report with %d recipients", n);
        rc = MG_ETOOBIG;
    }
    for (int i = 0; !rc && i < n; i++) {
        const PerRecipientReportTransferFields_t *f = c->per_recipient_fields.list.array[i];
        struct mixer_report_rcpt *p = &out->rcpts[out->nrcpts++];
        p->reason = p->diagnostic = -1;
        rc = orname_text(&f->actual_recipient_name, p->final_rcpt, sizeof p->final_rcpt);
        if (rc) {
            WHY("recipient %d: actual-recipient-name cannot be written as text", i + 1);
            break;
        }
        snprintf(p->final_type, sizeof p->final_type, "x400");
        if (f->originally_intended_recipient_name &&
            orname_text(f->originally_intended_recipient_name, p->original_rcpt,
                        sizeof p->original_rcpt) == 0)
            snprintf(p->original_type, sizeof p->original_type, "x400");
        p->number = f->originally_specified_recipient_number > 0 &&
                            f->originally_specified_recipient_number < 32768
                        ? (int)f->originally_specified_recipient_number
                        : 0;
        const LastTraceInformation_t *lt = &f->last_trace_information;
        if (lt->report_type.present == ReportType_PR_delivery) {
            p->delivered = 1;
            snprintf(p->status, sizeof p->status, "2.0.0");
            ostr(&lt->report_type.choice.delivery.message_delivery_time, p->when, sizeof p->when);
            long u = lt->report_type.choice.delivery.type_of_MTS_user;
            p->mts_user = u >= 0 && u <= 256 ? (int)u : MIXER_MTS_USER_OTHER;
        } else {
            const NonDeliveryReport_t *nd = &lt->report_type.choice.non_delivery;
            p->reason = nd->non_delivery_reason_code >= 0 && nd->non_delivery_reason_code < 1000
                            ? (int)nd->non_delivery_reason_code
                            : 1;
            if (nd->non_delivery_diagnostic_code && *nd->non_delivery_diagnostic_code >= 0 &&
                *nd->non_delivery_diagnostic_code < 1000)
                p->diagnostic = (int)*nd->non_delivery_diagnostic_code;
            mixer_report_status_of(p->reason, p->diagnostic, p->status, sizeof p->status);
            ostr(&lt->arrival_time, p->when, sizeof p->when);
        }
        if (!out->arrival[0])
            ostr(&lt->arrival_time, out->arrival, sizeof out->arrival);
        if (f->supplementary_information)
            ostr(f->supplementary_information, p->supplementary, sizeof p->supplementary);
    }
    if (!rc && c->returned_content && c->returned_content->size > 0 && returned) {
        rc = mg_buf_append(returned, c->returned_content->buf, (size_t)c->returned_content->size);
        if (!rc) {
            out->returned = returned->data;
            out->returned_len = returned->len;
        }
    }
    mg_asn1_free(&asn_DEF_ReportTransferContent, c);
    return rc;
}

int mixer_report_envelope_from_ber(const void *ber, size_t len, struct mixer_report *r,
                                   char *why, size_t whysize)
{
    ReportTransferEnvelope_t *e = NULL;
    struct mg_asn1_err err;
    int rc = mg_asn1_decode(&asn_DEF_ReportTransferEnvelope, ber, len, (void **)&e, &err);
    if (rc) {
        WHY("report envelope does not decode: %s", err.what);
        return rc == MG_ENOMEM ? rc : MG_EPARSE;
    }
    if (gdi_text(&e->report_identifier.global_domain_identifier,
                 &e->report_identifier.local_identifier, r->report_id, sizeof r->report_id))
        r->report_id[0] = '\0';
    if (e->trace_information.list.count > 0) {
        const TraceInformationElement_t *t = e->trace_information.list.array[0];
        char text[MIXER_REPORT_ADDR_MAX];
        IA5String_t none = {0};
        /* "[gdi;]" from gdi_text, without the brackets and the empty local part */
        if (gdi_text(&t->global_domain_identifier, &none, text, sizeof text) == 0 &&
            strlen(text) >= 3) {
            text[strlen(text) - 2] = '\0';
            snprintf(r->reporting_gdi, sizeof r->reporting_gdi, "%s", text + 1);
        }
        ostr(&t->domain_supplied_information.arrival_time, r->first_trace, sizeof r->first_trace);
    }
    mg_asn1_free(&asn_DEF_ReportTransferEnvelope, e);
    return 0;
}

static int is_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* s as PrintableString, truncated to outsize - 1: other characters become blanks. */
static void printable(const char *s, char *out, size_t outsize)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?";
    if (!outsize)
        return;
    size_t n = strnlen(s, outsize - 1); /* truncation is the point: a bounded X.411 string */
    memcpy(out, s, n);
    out[n] = 0;
    for (char *c = out; *c; c++)
        if (!strchr(ok, *c))
            *c = ' ';
}

/* "[/C=../ADMD=../PRMD=../;local]" as [APPLICATION 4] MTSIdentifier. */
static int write_mts_id(struct mixer_ber *w, const char *id, char *why, size_t whysize)
{
    return mixer_report_ber_mts_id(w, id, why, whysize);
}

void mixer_report_ber_gdi(struct mixer_ber *w, const char *cc, const char *admd, const char *prmd)
{
    mixer_ber_open(w, MIXER_BER_APP, 3);
    mixer_ber_open(w, MIXER_BER_APP, 1);
    mixer_ber_str(w, MIXER_BER_UNIV, is_digits(cc) ? MIXER_BER_NUMERICSTRING : MIXER_BER_PRINTABLESTRING, cc);
    mixer_ber_close(w);
    mixer_ber_open(w, MIXER_BER_APP, 2);
    admd = admd ? admd : " ";
    mixer_ber_str(w, MIXER_BER_UNIV, is_digits(admd) ? MIXER_BER_NUMERICSTRING : MIXER_BER_PRINTABLESTRING, admd);
    mixer_ber_close(w);
    if (prmd && *prmd)
        mixer_ber_str(w, MIXER_BER_UNIV, is_digits(prmd) ? MIXER_BER_NUMERICSTRING : MIXER_BER_PRINTABLESTRING, prmd);
    mixer_ber_close(w);
}

int mixer_report_ber_mts_id(struct mixer_ber *w, const char *id, char *why, size_t whysize)
{
    const char *semi = strrchr(id, ';'), *end = strrchr(id, ']');
    struct mixer_or gdi;
    if (id[0] != '[' || !semi || !end || end < semi || end[1] != '\0' || end == semi + 1 ||
        mixer_or_parse(id + 1, (size_t)(semi - id - 1), &gdi, NULL, 0) ||
        !mixer_or_get(&gdi, MIXER_OR_C, 0)) {
        WHY("subject identifier \"%.200s\" is not [global-domain-identifier;local]", id);
        return MG_EINVAL;
    }
    const char *cc = mixer_or_get(&gdi, MIXER_OR_C, 0), *admd = mixer_or_get(&gdi, MIXER_OR_ADMD, 0),
               *prmd = mixer_or_get(&gdi, MIXER_OR_PRMD, 0);
    mixer_ber_open(w, MIXER_BER_APP, 4);
    mixer_report_ber_gdi(w, cc, admd, prmd);
    mixer_ber_prim(w, MIXER_BER_UNIV, MIXER_BER_IA5STRING, semi + 1, (size_t)(end - semi - 1));
    mixer_ber_close(w);
    return 0;
}

static int write_orname(struct mixer_ber *w, const char *text, unsigned tag, char *why,
                        size_t whysize)
{
    struct mixer_or or;
    char pw[200] = "";
    int rc = mixer_or_parse(text, strlen(text), &or, pw, sizeof pw);
    if (!rc)
        rc = mixer_orname_write(w, &or, true, MIXER_BER_CTX, tag);
    if (rc)
        WHY("O/R address \"%.200s\": %s", text, pw[0] ? pw : mg_strerror(rc));
    return rc;
}

int mixer_report_to_ber(const struct mixer_report *r, const char *now_utc, struct mg_buf *out,
                        char *why, size_t whysize)
{
    if (!r || r->nrcpts == 0 || r->nrcpts > MIXER_REPORT_MAX_RCPTS || !now_utc) {
        WHY("no recipient to report on");
        return MG_EINVAL;
    }
    struct mixer_ber w;
    mixer_ber_init(&w, out);
    mixer_ber_open(&w, MIXER_BER_UNIV, MIXER_BER_SET);
    int rc = write_mts_id(&w, r->subject_id, why, whysize);
    /* X.411 8.3.1.1.1: the subject's content type travels with returned content, so that the
     * receiver (and tshark) can read it: built-in [APPLICATION 6] INTEGER, or extended OID */
    if (!rc && r->returned && r->returned_len && r->returned_type) {
        if (strchr(r->returned_type, '.'))
            mixer_ber_oid(&w, MIXER_BER_UNIV, 6, r->returned_type);
        else
            mixer_ber_int(&w, MIXER_BER_APP, 6, strtol(r->returned_type, NULL, 10));
    }
    if (!rc && r->content_id[0]) {
        char cid[17]; /* ub-content-id-length */
        printable(r->content_id, cid, sizeof cid);
        mixer_ber_str(&w, MIXER_BER_APP, 10, cid);
    }
    mixer_ber_open(&w, MIXER_BER_CTX, 0);
    for (size_t i = 0; !rc && i < r->nrcpts; i++) {
        const struct mixer_report_rcpt *p = &r->rcpts[i];
        /* the delivery time defaults to the arrival time (RFC 2156 5.1.8.3) */
        const char *when = p->when[0] ? p->when : r->arrival[0] ? r->arrival : now_utc;
        mixer_ber_open(&w, MIXER_BER_UNIV, MIXER_BER_SET);
        rc = write_orname(&w, p->final_rcpt, 0, why, whysize);
        mixer_ber_int(&w, MIXER_BER_CTX, 1, p->number > 0 ? p->number : (long)i + 1);
        /* RFC 2156 5.1.8.3: bit 1 (originating-MTA-report) for a delivery, bit 2
         * (originating-MTA-non-delivery-report) for a non-delivery */
        const unsigned char ind[2] = {0x00, p->delivered ? 0x40 : 0x20};
        mixer_ber_prim(&w, MIXER_BER_CTX, 2, ind, sizeof ind);
        mixer_ber_open(&w, MIXER_BER_CTX, 3);
        mixer_ber_str(&w, MIXER_BER_CTX, 0, r->arrival[0] ? r->arrival : now_utc);
        mixer_ber_open(&w, MIXER_BER_CTX, 1);
        if (p->delivered) {
            mixer_ber_open(&w, MIXER_BER_CTX, 0);
            mixer_ber_str(&w, MIXER_BER_CTX, 0, when);
            if (p->mts_user > 0) /* type-of-MTS-user [1], DEFAULT public */
                mixer_ber_int(&w, MIXER_BER_CTX, 1, p->mts_user);
            mixer_ber_close(&w);
        } else {
            mixer_ber_open(&w, MIXER_BER_CTX, 1);
            mixer_ber_int(&w, MIXER_BER_CTX, 0, p->reason >= 0 ? p->reason : 1);
            if (p->diagnostic >= 0)
                mixer_ber_int(&w, MIXER_BER_CTX, 1, p->diagnostic);
            mixer_ber_close(&w);
        }
        mixer_ber_close(&w);
        mixer_ber_close(&w);
        /* an Internet original recipient has no O/R form here: only x400 ones are carried */
        if (!rc && p->original_rcpt[0] &&
            (!p->original_type[0] || !strcmp(p->original_type, "x400")))
            rc = write_orname(&w, p->original_rcpt, 4, why, whysize);
        if (!rc && p->supplementary[0]) {
            char sup[MIXER_REPORT_TEXT_MAX];
            printable(p->supplementary, sup, sizeof sup);
            mixer_ber_str(&w, MIXER_BER_CTX, 5, sup);
        }
        mixer_ber_close(&w);
    }
    mixer_ber_close(&w);
    if (!rc && r->returned && r->returned_len)
        mixer_ber_prim(&w, MIXER_BER_CTX, 1, r->returned, r->returned_len);
    if (!rc && r->correlator[0]) {
        /* extensions [3]: content-correlator (23), its value an explicit [2] */
        char corr[MIXER_REPORT_CORR_MAX];
        size_t n = strnlen(r->correlator, sizeof corr - 1);
        for (size_t i = 0; i < n; i++) /* IA5 */
            corr[i] = (unsigned char)r->correlator[i] < 0x80 ? r->correlator[i] : '?';
        corr[n] = 0;
        mixer_ber_open(&w, MIXER_BER_CTX, 3);
        mixer_ber_open(&w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        mixer_ber_int(&w, MIXER_BER_CTX, 0, 23);
        mixer_ber_open(&w, MIXER_BER_CTX, 2);
        mixer_ber_str(&w, MIXER_BER_UNIV, MIXER_BER_IA5STRING, corr);
        mixer_ber_close(&w);
        mixer_ber_close(&w);
        mixer_ber_close(&w);
    }
    mixer_ber_close(&w);
    int frc = mixer_ber_finish(&w);
    rc = rc ? rc : frc;
    if (!rc) { /* what we wrote must be what X.411 says */
        ReportTransferContent_t *c = NULL;
        struct mg_asn1_err err;
        rc = mg_asn1_decode(&asn_DEF_ReportTransferContent, out->data, out->len, (void **)&c, &err);
        if (rc)
            WHY("the report built does not decode: %s", err.what);
        mg_asn1_free(&asn_DEF_ReportTransferContent, c);
        if (rc && rc != MG_ENOMEM)
            rc = MG_EINVAL;
    }
    return rc;
}
