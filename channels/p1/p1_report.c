/* p1_report: X.400 DR/NDR as a new queued message (p1_report.h). Built as XER from the plain
 * fields and checked by the asn1c codec; DER out. */
#include "p1_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_asn1.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "p1_ber.h"
#include "p1_mts_xer.h"
#include "mixer_report.h"

#include "ExtensionAttribute.h"
#include "ExtensionAttributes.h"
#include "PerRecipientReportTransferFields.h"

static void utc(int64_t now, char *buf, size_t n)
{
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, n, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "[/C=../ADMD=../PRMD=../;local]" -> the GDI and the local identifier. */
static int split_mts_id(const char *id, struct oraddr *gdi, char *local, size_t ln)
{
    if (!id || id[0] != '[')
        return MG_EPARSE;
    const char *semi = strrchr(id, ';'), *end = strrchr(id, ']');
    if (!semi || !end || end < semi)
        return MG_EPARSE;
    char g[ORADDR_TEXT_MAX];
    size_t gl = (size_t)(semi - id - 1);
    if (gl >= sizeof g || (size_t)(end - semi - 1) >= ln)
        return MG_ETOOBIG;
    memcpy(g, id + 1, gl);
    g[gl] = '\0';
    snprintf(local, ln, "%.*s", (int)(end - semi - 1), semi + 1);
    return oraddr_parse_rule(g, gdi, NULL, 0);
}

static int build(const struct oraddr *us, const struct message *orig,
                 const struct report_item *items, size_t n, int64_t now,
                 struct message **out_msg, unsigned char **out_content, size_t *out_len);

/* The X.400 reason and diagnostic of a non-delivery: the channel's own X.411 codes when it
 * gave them, else RFC 2156 5.1.8.4's table of the RFC 3463 status (the one table, in
 * mixer_report, that the MIXER DSN -> report mapping uses too). A diagnostic the channel
 * left out is taken from the table when the table gives the same reason. */
static void codes_of(const struct report_item *it, int *reason, int *diag)
{
    int tr, td;
    mixer_report_reason_of(it->status && it->status[0] ? it->status : "5.0.0", &tr, &td);
    *reason = it->x400_reason >= 0 ? it->x400_reason : tr;
    *diag = it->x400_diagnostic >= 0 ? it->x400_diagnostic : *reason == tr ? td : -1;
}

int p1_report_build(void *ctx, const struct message *orig, const struct report_item *items,
                    size_t n, const void *content, size_t content_len, int64_t now,
                    struct message **out_msg, unsigned char **out_content, size_t *out_len)
{
    (void)content;
    (void)content_len;
    *out_msg = NULL;
    *out_content = NULL;
    *out_len = 0;
    const struct oraddr *us = ctx;
    struct oraddr fallback;
    if (!us) {
        oraddr_parse("/C=XX/ADMD= /PRMD=MIXGATE/", &fallback, NULL, 0);
        us = &fallback;
    }
    if (!orig || !items || n == 0)
        return MG_EINVAL;
    /* X.400 has no delay report: only final outcomes are reported. */
    struct report_item *fin = calloc(n, sizeof *fin);
    if (!fin)
        return MG_ENOMEM;
    size_t nf = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].action != DSN_ACTION_DELAYED)
            fin[nf++] = items[i];
    int rc0 = nf ? build(us, orig, fin, nf, now, out_msg, out_content, out_len) : 0;
    free(fin);
    return rc0;
}

static int build(const struct oraddr *us, const struct message *orig,
                 const struct report_item *items, size_t n, int64_t now,
                 struct message **out_msg, unsigned char **out_content, size_t *out_len)
{
    struct oraddr dest, subj_gdi;
    char subj_local[128];
    /* Never a report about a report, nor to a null or Internet originator. */
    if (orig->content_type == MESSAGE_CONTENT_X400_REPORT || !orig->originator ||
        oraddr_parse(orig->originator, &dest, NULL, 0) != 0 ||
        split_mts_id(orig->mts_id, &subj_gdi, subj_local, sizeof subj_local) != 0)
        return 0;
    char when[32], local[64];
    utc(now, when, sizeof when);
    snprintf(local, sizeof local, "R%s", orig->id);
    struct mg_buf x;
    mg_buf_init(&x, 0);
    int rc = mg_buf_appendf(&x, "<MTS-APDU><report><envelope><report-identifier>");
    if (!rc)
        rc = p1_xer_gdi(&x, "global-domain-identifier", us);
    if (!rc)
        rc = p1_xer_elem(&x, "local-identifier", local);
    if (!rc)
        rc = mg_buf_appendf(&x, "</report-identifier>");
    if (!rc)
        rc = p1_xer_orname(&x, "report-destination-name", &dest);
    if (!rc)
        rc = mg_buf_appendf(&x, "<trace-information><TraceInformationElement>");
    if (!rc)
        rc = p1_xer_gdi(&x, "global-domain-identifier", us);
    if (!rc)
        rc = mg_buf_appendf(&x, "<domain-supplied-information><arrival-time>%s</arrival-time>"
                                "<routing-action><relayed/></routing-action>"
                                "</domain-supplied-information></TraceInformationElement>"
                                "</trace-information></envelope><content><subject-identifier>", when);
    if (!rc)
        rc = p1_xer_gdi(&x, "global-domain-identifier", &subj_gdi);
    if (!rc)
        rc = p1_xer_elem(&x, "local-identifier", subj_local);
    if (!rc)
        rc = mg_buf_appendf(&x, "</subject-identifier><per-recipient-fields>");
    struct oraddr *rcpt_or = calloc(n, sizeof *rcpt_or);
    if (!rcpt_or)
        rc = MG_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        const struct report_item *it = &items[i];
        if (it->rcpt >= orig->nrcpts || oraddr_parse(orig->rcpts[it->rcpt].addr, &rcpt_or[i], NULL, 0)) {
            rc = MG_EINVAL;
            break;
        }
        rc = mg_buf_appendf(&x, "<PerRecipientReportTransferFields>");
        if (!rc)
            rc = p1_xer_orname(&x, "actual-recipient-name", &rcpt_or[i]);
        if (!rc)
            rc = mg_buf_appendf(&x, "<originally-specified-recipient-number>%u"
                                    "</originally-specified-recipient-number>"
                                    "<per-recipient-indicators>10000000</per-recipient-indicators>"
                                    "<last-trace-information><arrival-time>%s</arrival-time>"
                                    "<report-type>", it->rcpt + 1, when);
        int positive = it->action == DSN_ACTION_DELIVERED || it->action == DSN_ACTION_RELAYED ||
                       it->action == DSN_ACTION_EXPANDED;
        if (!rc && positive) {
            /* relayed (into a world that gives no further reports) and expanded (a list took
             * it) are delivery reports with the type-of-MTS-user other / dl, what the MIXER
             * report mapping reads back as those DSN actions */
            int user = it->action == DSN_ACTION_RELAYED    ? MIXER_MTS_USER_OTHER
                       : it->action == DSN_ACTION_EXPANDED ? MIXER_MTS_USER_DL
                                                           : MIXER_MTS_USER_PUBLIC;
            rc = mg_buf_appendf(&x, "<delivery><message-delivery-time>%s</message-delivery-time>",
                                when);
            if (!rc && user != MIXER_MTS_USER_PUBLIC)
                rc = mg_buf_appendf(&x, "<type-of-MTS-user>%d</type-of-MTS-user>", user);
            if (!rc)
                rc = mg_buf_appendf(&x, "</delivery>");
        } else if (!rc) {
            int reason, diag;
            codes_of(it, &reason, &diag);
            rc = mg_buf_appendf(&x, "<non-delivery><non-delivery-reason-code>%d"
                                    "</non-delivery-reason-code>", reason);
            if (!rc && diag >= 0)
                rc = mg_buf_appendf(&x, "<non-delivery-diagnostic-code>%d"
                                        "</non-delivery-diagnostic-code>", diag);
            if (!rc)
                rc = mg_buf_appendf(&x, "</non-delivery>");
        }
        if (!rc)
            rc = mg_buf_appendf(&x, "</report-type></last-trace-information>");
        char sup[257] = "";
        if (it->action == DSN_ACTION_RELAYED) {
            /* RFC 2156 4.6.2.3: a report the gateway makes says so and names the gateway */
            char g[ORADDR_TEXT_MAX];
            oraddr_format(us, g, sizeof g);
            /* bounded pieces (ub-supplementary-info-length 256): truncation is intended */
            int w = snprintf(sup, sizeof sup, "gateway-generated report: relayed by %.100s", g);
            if (w > 0 && (size_t)w < sizeof sup - 2 && it->diagnostic && it->diagnostic[0]) {
                size_t o = (size_t)w, room = sizeof sup - o - 3;
                size_t dl = strnlen(it->diagnostic, room);
                memcpy(sup + o, ": ", 2);
                memcpy(sup + o + 2, it->diagnostic, dl);
                sup[o + 2 + dl] = '\0';
            }
        } else if (it->diagnostic && it->diagnostic[0]) {
            snprintf(sup, sizeof sup, "%.256s", it->diagnostic);
        }
        if (!rc && sup[0]) {
            /* supplementary-information is a PrintableString: "<bounce@example.org>" in a
             * reply text would make the whole report fail its constraints */
            for (char *p = sup; *p; p++)
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?",
                            *p))
                    *p = ' ';
            rc = p1_xer_elem(&x, "supplementary-information", sup);
        }
        if (!rc)
            rc = mg_buf_appendf(&x, "</PerRecipientReportTransferFields>");
    }
    if (!rc)
        rc = mg_buf_appendf(&x, "</per-recipient-fields></content></report></MTS-APDU>");
    MTS_APDU_t *a = NULL;
    if (!rc) {
        asn_dec_rval_t r = xer_decode(NULL, &asn_DEF_MTS_APDU, (void **)&a, x.data, x.len);
        if (r.code != RC_OK)
            rc = MG_EINVAL;
    }
    mg_buf_free(&x);
    if (!rc) {
        Report_t *rp = &a->choice.report;
        rc = p1_xer_add_cn(&rp->envelope.report_destination_name, &dest);
        for (int i = 0; !rc && i < rp->content.per_recipient_fields.list.count; i++)
            rc = p1_xer_add_cn(&rp->content.per_recipient_fields.list.array[i]->actual_recipient_name,
                               &rcpt_or[i]);
        /* X.411: a report carries the security label of its subject (the message-security-label
         * of the ReportTransferEnvelope). The queue's label is an X.411 SecurityLabel or an ESS
         * one (the same encoding, except that ESS allows a UTF8String privacy mark): only one
         * that is a valid X.411 SecurityLabel goes into the envelope; the queued report carries
         * the label in any case, so the delivery gate decides it. */
        if (!rc && orig->label && orig->label_len &&
            p1_xer_add_label(&rp->envelope.extensions, orig->label, orig->label_len) == MG_ENOMEM)
            rc = MG_ENOMEM;
    }
    unsigned char *env = NULL, *body = NULL;
    size_t elen = 0, blen = 0;
    if (!rc)
        rc = mg_asn1_encode_der(&asn_DEF_ReportTransferEnvelope, &a->choice.report.envelope, &env, &elen);
    if (!rc)
        rc = mg_asn1_encode_der(&asn_DEF_ReportTransferContent, &a->choice.report.content, &body, &blen);
    if (rc == MG_ECONSTRAINT)
        rc = MG_EINVAL;
    mg_asn1_free_MTS_APDU(a);
    free(rcpt_or);
    struct message *m = NULL;
    if (!rc && !(m = message_create()))
        rc = MG_ENOMEM;
    char rid[ORADDR_TEXT_MAX + 80], gdi_text[ORADDR_TEXT_MAX];
    if (!rc) {
        oraddr_format(us, gdi_text, sizeof gdi_text);
        snprintf(rid, sizeof rid, "[%s;%s]", gdi_text, local);
        m->content_type = MESSAGE_CONTENT_X400_REPORT;
        m->priority = orig->priority;
        rc = message_set_originator(m, "");
    }
    if (!rc)
        rc = message_set_x400(m, rid, NULL, env, elen);
    if (!rc)
        rc = message_set_received(m, "mixgate (X.400 report)", "P1");
    if (!rc && orig->label && orig->label_len) /* the subject's label (see above) */
        rc = message_set_label(m, orig->label, orig->label_len);
    struct message_rcpt *r = NULL;
    if (!rc)
        rc = message_add_rcpt(m, orig->originator, NULL, MESSAGE_NOTIFY_NEVER, &r);
    if (!rc)
        r->kind = MESSAGE_ADDR_ORADDR;
    free(env);
    if (rc) {
        message_free(m);
        free(body);
        return rc;
    }
    *out_msg = m;
    *out_content = body;
    *out_len = blen;
    return 0;
}
