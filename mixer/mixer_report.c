/* mixer_report: X.400 DR/NDR <-> RFC 3464 DSN (mixer_report.h). The status tables are RFC 2156
 * 5.3.8.2 (reason/diagnostic -> status) and 5.1.8.4 (status -> reason/diagnostic); the exact
 * X.400 codes also travel in "Diagnostic-Code: x400; Reason n (name); Diagnostic n (name)" so
 * a report that goes X.400 -> DSN -> X.400 keeps them even where the tables are not inverse. */
#include "mixer_report.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mg_err.h"
#include "mixer_addr.h"
#include "mixer_conv.h"
#include "mixer_hdr.h"

static const char *const reason_names[] = {
    "transfer-failure", "unable-to-transfer", "conversion-not-performed",
    "physical-rendition-not-performed", "physical-delivery-not-performed",
    "restricted-delivery", "directory-operation-unsuccessful",
    "deferred-delivery-not-performed", "transfer-failure-for-security-reason",
};

static const char *const diag_names[] = {
    "unrecognised-OR-name", "ambiguous-OR-name", "mts-congestion", "loop-detected",
    "recipient-unavailable", "maximum-time-expired", "encoded-information-types-unsupported",
    "content-too-long", "conversion-impractical", "implicit-conversion-prohibited",
    "implicit-conversion-not-subscribed", "invalid-arguments", "content-syntax-error",
    "size-constraint-violation", "protocol-violation", "content-type-not-supported",
    "too-many-recipients", "no-bilateral-agreement", "unsupported-critical-function",
    "conversion-with-loss-prohibited", "line-too-long", "page-split", "pictorial-symbol-loss",
    "punctuation-symbol-loss", "alphabetic-character-loss", "multiple-information-loss",
    "recipient-reassignment-prohibited", "redirection-loop-detected", "dl-expansion-prohibited",
    "no-dl-submit-permission", "dl-expansion-failure", "physical-rendition-attributes-not-supported",
    "undeliverable-mail-physical-delivery-address-incorrect",
    "undeliverable-mail-physical-delivery-office-incorrect-or-invalid",
    "undeliverable-mail-physical-delivery-address-incomplete",
    "undeliverable-mail-recipient-unknown", "undeliverable-mail-recipient-deceased",
    "undeliverable-mail-organization-expired", "undeliverable-mail-recipient-refused-to-accept",
    "undeliverable-mail-recipient-did-not-claim",
    "undeliverable-mail-recipient-changed-address-permanently",
    "undeliverable-mail-recipient-changed-address-temporarily",
    "undeliverable-mail-recipient-changed-temporary-address",
    "undeliverable-mail-new-address-unknown", "undeliverable-mail-recipient-did-not-want-forwarding",
    "undeliverable-mail-originator-prohibited-forwarding", "secure-messaging-error",
    "unable-to-downgrade", "unable-to-complete-transfer", "transfer-attempts-limit-reached",
};

#define NREASONS ((int)(sizeof reason_names / sizeof reason_names[0]))
#define NDIAGS ((int)(sizeof diag_names / sizeof diag_names[0]))

const char *mixer_report_reason_name(int reason)
{
    return reason >= 0 && reason < NREASONS ? reason_names[reason] : "unknown";
}

const char *mixer_report_diag_name(int diagnostic)
{
    return diagnostic >= 0 && diagnostic < NDIAGS ? diag_names[diagnostic] : "unknown";
}

/* RFC 2156 5.3.8.2: specific reason / diagnostic pairs; otherwise by reason ("n/Any"). */
static const struct {
    int reason, diag;
    const char *status;
} x2s[] = {
    {1, 0, "5.1.1"},  {1, 1, "5.1.4"},  {1, 2, "4.3.1"},  {1, 3, "5.4.6"},  {1, 4, "4.2.1"},
    {1, 5, "4.4.7"},  {1, 6, "5.6.1"},  {1, 7, "5.2.3"},  {2, 8, "5.6.3"},  {2, 9, "5.6.3"},
    {1, 10, "5.6.3"}, {1, 11, "5.5.2"}, {1, 12, "5.5.2"}, {1, 13, "5.5.2"}, {1, 14, "5.5.0"},
    {1, 15, "5.6.1"}, {1, 16, "5.5.3"}, {1, 17, "5.4.4"}, {1, 18, "5.3.3"}, {2, 19, "5.6.2"},
    {2, 20, "5.6.0"}, {2, 21, "5.6.0"}, {2, 22, "5.6.2"}, {2, 23, "5.6.2"}, {2, 24, "5.6.2"},
    {2, 25, "5.6.2"}, {1, 26, "5.4.0"}, {1, 27, "5.4.6"}, {1, 28, "5.7.2"}, {1, 29, "5.7.1"},
    {1, 30, "4.2.4"}, {4, 31, "5.6.0"}, {1, 43, "5.1.6"}, {1, 46, "5.7.0"}, {2, 47, "5.3.3"},
    {0, 48, "5.3.4"}, {0, 49, "4.4.7"},
};

/* "n/Any" of the same table, by reason 0..7. */
static const char *const by_reason[] = {"4.4.0", "5.0.0", "5.6.3", "5.6.0",
                                        "5.1.0", "5.7.1", "5.4.3", "5.3.3"};

/* RFC 2156 5.1.8.4 (the status class is ignored: X.s.d; -1 = no diagnostic). X.1.5 and
 * X.6.4 are positive only and map as their X.n.0. */
static const struct {
    const char *sd;
    int reason, diag;
} s2x[] = {
    {"0.0", 1, -1}, {"1.0", 1, -1},  {"1.1", 1, 0},   {"1.2", 1, 0},   {"1.3", 1, 0},
    {"1.4", 1, 1},  {"1.6", 1, 43},  {"1.7", 1, 11},  {"1.8", 1, 11},  {"2.0", 1, -1},
    {"2.1", 1, 4},  {"2.2", 1, 4},   {"2.3", 1, 7},   {"2.4", 1, 30},  {"3.0", 0, -1},
    {"3.1", 1, 2},  {"3.2", 1, 2},   {"3.3", 1, 18},  {"3.4", 1, 7},   {"3.5", 1, -1},
    {"4.0", 0, -1}, {"4.1", 0, -1},  {"4.2", 0, -1},  {"4.3", 6, -1},  {"4.4", 0, -1},
    {"4.5", 1, 2},  {"4.6", 1, 3},   {"4.7", 1, 5},   {"5.0", 1, -1},  {"5.1", 1, 14},
    {"5.2", 1, 14}, {"5.3", 1, 16},  {"5.4", 1, 14},  {"5.5", 1, 18},  {"6.0", 2, -1},
    {"6.1", 1, 6},  {"6.2", 1, 9},   {"6.3", 2, 8},   {"6.5", 2, 47},  {"7.0", 1, 46},
    {"7.1", 1, 29}, {"7.2", 1, 28},  {"7.3", 1, 46},  {"7.4", 1, 46},  {"7.5", 1, 46},
    {"7.6", 1, 46}, {"7.7", 1, 46},
};

void mixer_report_status_of(int reason, int diagnostic, char *out, size_t outsize)
{
    for (size_t i = 0; i < sizeof x2s / sizeof x2s[0]; i++)
        if (x2s[i].reason == reason && x2s[i].diag == diagnostic) {
            snprintf(out, outsize, "%s", x2s[i].status);
            return;
        }
    snprintf(out, outsize, "%s",
             reason >= 0 && reason < (int)(sizeof by_reason / sizeof by_reason[0])
                 ? by_reason[reason]
                 : "5.0.0");
}

void mixer_report_reason_of(const char *status, int *reason, int *diagnostic)
{
    *reason = 1; /* unable-to-transfer */
    *diagnostic = -1;
    if (!status || !isdigit((unsigned char)status[0]) || status[1] != '.')
        return;
    const char *sd = status + 2;
    const char *dot = strchr(sd, '.');
    if (!dot || dot == sd || (size_t)(dot - sd) > 3 || !dot[1] || strlen(dot + 1) > 3 ||
        strspn(sd, "0123456789") != (size_t)(dot - sd) || strspn(dot + 1, "0123456789") != strlen(dot + 1))
        return; /* not status-code = class "." 1*3digit "." 1*3digit */
    char n0[16];
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof s2x / sizeof s2x[0]; i++)
            if (!strcmp(s2x[i].sd, sd)) {
                *reason = s2x[i].reason;
                *diagnostic = s2x[i].diag;
                return;
            }
        /* not in the table: as X.n.0 (RFC 2156 5.1.8.4: "5.2.37" maps as "5.2.0") */
        snprintf(n0, sizeof n0, "%.*s.0", (int)(dot - sd), sd);
        sd = n0;
    }
}

void mixer_report_init(struct mixer_report *r)
{
    memset(r, 0, sizeof *r);
}

const char *mixer_report_action(const struct mixer_report_rcpt *p)
{
    if (!p->delivered)
        return "failed";
    if (p->mts_user == MIXER_MTS_USER_DL)
        return "expanded";
    if (p->mts_user == MIXER_MTS_USER_OTHER)
        return "relayed";
    return "delivered";
}

const char *mixer_report_mts_user_name(int mts_user)
{
    static const char *const names[] = {"public", "private", "ms", "dl", "pdau",
                                        "physical-recipient", "other"};
    return mts_user >= 0 && mts_user <= 6 ? names[mts_user] : NULL;
}

static int utc_to_822(const char *u, char *out, size_t outsize)
{
    return mixer_hdr_utc_to_date(u, strlen(u), out, outsize);
}

static int put_field(struct mg_buf *b, const char *name, const char *val)
{
    /* values from X.400 may hold anything: keep one printable line */
    int rc = mg_buf_appendf(b, "%s: ", name);
    for (const char *p = val; !rc && *p; p++) {
        char c = (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ? ' ' : *p;
        rc = mg_buf_append(b, &c, 1);
    }
    return rc ? rc : mg_buf_appendf(b, "\r\n");
}

static int is_x400(const char *type)
{
    return !type[0] || !strcasecmp(type, "x400");
}

/* One tab-indented line of the human-readable part (values may come from hostile input). */
static int put_text(struct mg_buf *b, const char *val)
{
    int rc = mg_buf_append(b, "\t", 1);
    for (const char *p = val; !rc && *p; p++) {
        char c = (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ? ' ' : *p;
        rc = mg_buf_append(b, &c, 1);
    }
    return rc ? rc : mg_buf_append(b, "\r\n", 2);
}

int mixer_report_to_dsn(const struct mixer_report *r, const struct mixer_report_dsn_opts *o,
                        struct mg_buf *out)
{
    if (!r || !o || !o->gateway || !o->to || r->nrcpts == 0 || r->nrcpts > MIXER_REPORT_MAX_RCPTS)
        return MG_EINVAL;
    size_t nok = 0;
    for (size_t i = 0; i < r->nrcpts; i++)
        nok += r->rcpts[i].delivered ? 1 : 0;
    const char *kind = nok == r->nrcpts ? "success" : nok ? "success and failures" : "failure";
    char date[64], boundary[96];
    time_t now = (time_t)o->now;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    snprintf(boundary, sizeof boundary, "=_mixgate-dsn-%lld", (long long)o->now);
    /* Date: from the first element of the report's trace (RFC 2156 5.3.8.3), else now */
    char hdate[64];
    const char *dv = r->first_trace[0] && utc_to_822(r->first_trace, hdate, sizeof hdate) == 0
                         ? hdate
                         : date;
    int rc = mg_buf_appendf(out, "From: postmaster@%s\r\nTo: <%s>\r\nDate: %s\r\n", o->gateway,
                            o->to, dv);
    if (!rc && o->message_id)
        rc = mg_buf_appendf(out, "Message-ID: <%s>\r\n", o->message_id);
    if (!rc && r->report_id[0]) /* RFC 2156 5.3.8.3 */
        rc = put_field(out, "X400-MTS-Identifier", r->report_id);
    if (!rc)
        rc = mg_buf_appendf(out, "Subject: Delivery-Report (%s)\r\nMessage-Type: Delivery Report\r\n"
                                 "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
                                 "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n"
                                 "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                                 "This report relates to your message:\r\n",
                            kind, boundary, boundary);
    /* dr-summary: the content correlator when there is one (5.3.8.1) */
    if (!rc)
        rc = put_text(out, r->correlator[0] ? r->correlator : r->subject_id);
    /* RFC 2156 5.3.8.1 dr-recipients: the RFC 822 form of the originally specified
     * recipient (the originally intended one, else the actual one) */
    for (size_t i = 0; i < r->nrcpts && !rc; i++) {
        const struct mixer_report_rcpt *p = &r->rcpts[i];
        int oirn = p->original_rcpt[0] && is_x400(p->original_type);
        const char *mbox = oirn ? (p->original_822[0] ? p->original_822 : p->original_rcpt)
                                : (p->final_822[0] ? p->final_822 : p->final_rcpt);
        char d[64] = "";
        if (p->delivered && p->when[0] && utc_to_822(p->when, d, sizeof d) != 0)
            d[0] = '\0';
        rc = mg_buf_appendf(out, "\r\nYour message was %s to:\r\n",
                            p->delivered ? "successfully delivered" : "not delivered");
        if (!rc)
            rc = put_text(out, mbox);
        if (!rc && p->delivered && d[0])
            rc = mg_buf_appendf(out, "at %s\r\n", d);
        if (!rc && !p->delivered)
            rc = mg_buf_appendf(out, "for the following reason: %s%s%s\r\n",
                                mixer_report_reason_name(p->reason), p->diagnostic >= 0 ? ", " : "",
                                p->diagnostic >= 0 ? mixer_report_diag_name(p->diagnostic) : "");
        if (!rc && !p->delivered && p->supplementary[0])
            rc = put_text(out, p->supplementary);
    }
    if (!rc)
        rc = mg_buf_appendf(out, "\r\n%s\r\n",
                            r->returned && r->returned_len ? "The Original Message follows:"
                                                           : "The Original Message is not available");
    if (!rc)
        rc = mg_buf_appendf(out, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
                                 "Reporting-MTA: x400; %s\r\nDSN-Gateway: dns; %s\r\n",
                            boundary,
                            o->reporting_mta  ? o->reporting_mta
                            : r->reporting_gdi[0] ? r->reporting_gdi
                                                  : o->gateway,
                            o->gateway);
    char d822[64];
    if (!rc && r->arrival[0] && utc_to_822(r->arrival, d822, sizeof d822) == 0)
        rc = put_field(out, "Arrival-Date", d822);
    if (!rc)
        rc = put_field(out, "X400-Conversion-Date", date);
    /* RFC 2156 5.3.8.1: a content correlator made from an ENVID gives the ENVID back;
     * any other is X400-Content-Correlator and the subject identifier is the envelope id */
    static const char envid_prefix[] = "SMTP/NOTARY ENVID: ";
    bool envid = !strncasecmp(r->correlator, envid_prefix, sizeof envid_prefix - 1) &&
                 r->correlator[sizeof envid_prefix - 1];
    if (!rc)
        rc = put_field(out, "Original-Envelope-Id",
                       envid ? r->correlator + sizeof envid_prefix - 1 : r->subject_id);
    if (!rc && r->correlator[0] && !envid)
        rc = put_field(out, "X400-Content-Correlator", r->correlator);
    if (!rc && r->content_id[0])
        rc = put_field(out, "X400-Content-Identifier", r->content_id);
    for (size_t i = 0; i < r->nrcpts && !rc; i++) {
        const struct mixer_report_rcpt *p = &r->rcpts[i];
        char status[16], line[MIXER_REPORT_ADDR_MAX + 32];
        if (p->delivered)
            snprintf(status, sizeof status, "2.0.0");
        else
            mixer_report_status_of(p->reason, p->diagnostic, status, sizeof status);
        rc = mg_buf_appendf(out, "\r\n");
        const char *ftype = p->final_type[0] ? p->final_type : "x400";
        if (p->original_rcpt[0] && is_x400(p->original_type)) {
            /* RFC 2156 5.3.8.1: with an originally intended recipient, that one is the
             * final / original recipient and the actual one a redirection */
            if (p->original_822[0])
                snprintf(line, sizeof line, "rfc822; %s", p->original_822);
            else
                snprintf(line, sizeof line, "x400; %s", p->original_rcpt);
            if (!rc)
                rc = put_field(out, "Final-Recipient", line);
            snprintf(line, sizeof line, "x400; %s", p->original_rcpt);
            if (!rc)
                rc = put_field(out, "Original-Recipient", line);
            snprintf(line, sizeof line, "%s; %s", ftype, p->final_rcpt);
            if (!rc)
                rc = put_field(out, "X400-Redirect-Recipient", line);
            snprintf(line, sizeof line, "rfc822; %s", p->final_822);
            if (!rc && p->final_822[0])
                rc = put_field(out, "X400-Mapped-Redirect-Recipient", line);
        } else {
            const char *orig = p->original_rcpt[0] ? p->original_rcpt : p->final_822;
            snprintf(line, sizeof line, "rfc822; %s", orig);
            if (!rc && orig[0])
                rc = put_field(out, "Original-Recipient", line);
            snprintf(line, sizeof line, "%s; %s", ftype, p->final_rcpt);
            if (!rc)
                rc = put_field(out, "Final-Recipient", line);
        }
        if (!rc)
            rc = mg_buf_appendf(out, "Action: %s\r\nStatus: %s\r\n", mixer_report_action(p),
                                status);
        if (!rc && !p->delivered) {
            if (p->diagnostic >= 0)
                snprintf(line, sizeof line, "x400; Reason %d (%s); Diagnostic %d (%s)", p->reason,
                         mixer_report_reason_name(p->reason), p->diagnostic,
                         mixer_report_diag_name(p->diagnostic));
            else
                snprintf(line, sizeof line, "x400; Reason %d (%s)", p->reason,
                         mixer_report_reason_name(p->reason));
            rc = put_field(out, "Diagnostic-Code", line);
        }
        if (!rc && p->delivered && p->when[0] && utc_to_822(p->when, d822, sizeof d822) == 0)
            rc = put_field(out, "X400-Delivery-Time", d822);
        /* 5.3.8.1: X400-Type-of-MTS-User, a labelled integer; public is the default */
        const char *un = mixer_report_mts_user_name(p->mts_user);
        if (!rc && p->delivered && p->mts_user > 0)
            rc = mg_buf_appendf(out, "X400-Type-of-MTS-User: %s (%d)\r\n", un ? un : "",
                                p->mts_user);
        if (!rc && p->number > 0)
            rc = mg_buf_appendf(out, "X400-Originally-Specified-Recipient-Number: %d\r\n", p->number);
        if (!rc && p->supplementary[0]) {
            /* EBNF: <"> printablestring <">; a quote inside cannot occur in PrintableString */
            char q[MIXER_REPORT_TEXT_MAX + 4];
            snprintf(q, sizeof q, "\"%s\"", p->supplementary);
            for (char *c = q + 1; c[1]; c++)
                if (*c == '"')
                    *c = '\'';
            rc = put_field(out, "X400-Supplementary-Info", q);
        }
    }
    if (!rc && r->returned && r->returned_len) {
        /* X.400 content is BER: base64 in an application/octet-stream part */
        rc = mg_buf_appendf(out, "\r\n--%s\r\nContent-Type: %s\r\n%s\r\n", boundary,
                            o->returned_is_822 ? "message/rfc822" : "application/octet-stream",
                            o->returned_is_822 ? "" : "Content-Transfer-Encoding: base64\r\n");
        if (!rc)
            rc = o->returned_is_822 ? mg_buf_append(out, r->returned, r->returned_len)
                                    : mixer_conv_b64_encode(r->returned, r->returned_len, out);
    }
    if (!rc)
        rc = mg_buf_appendf(out, "\r\n--%s--\r\n", boundary);
    return rc;
}

int mixer_report_map(struct mixer_report *r, const struct mixer_gw *gw, int to_x400, char *why,
                     size_t whysize)
{
    struct mixer_or or;
    enum mixer_addr_how how;
    char buf[MIXER_ADDR_MAX];
    for (size_t i = 0; i < r->nrcpts; i++) {
        struct mixer_report_rcpt *p = &r->rcpts[i];
        int rc = 0;
        if (to_x400) {
            for (int k = 0; k < 2 && !rc; k++) {
                char *a = k ? p->original_rcpt : p->final_rcpt;
                char *t = k ? p->original_type : p->final_type;
                if (!a[0] || is_x400(t))
                    continue;
                rc = mixer_addr_to_or(gw, a, strlen(a), &or, &how, why, whysize);
                if (!rc)
                    rc = mixer_or_print(&or, a, MIXER_REPORT_ADDR_MAX);
                if (!rc)
                    snprintf(t, 16, "x400");
            }
        } else {
            /* the RFC 822 forms, for the DSN's rfc822 fields and the text part */
            for (int k = 0; k < 2 && !rc; k++) {
                const char *a = k ? p->original_rcpt : p->final_rcpt;
                const char *t = k ? p->original_type : p->final_type;
                char *o822 = k ? p->original_822 : p->final_822;
                if (!a[0] || !is_x400(t) || o822[0])
                    continue;
                rc = mixer_or_parse(a, strlen(a), &or, why, whysize);
                if (!rc)
                    rc = mixer_addr_to_822(gw, &or, buf, sizeof buf, &how, why, whysize);
                if (!rc) {
                    int w = snprintf(o822, MIXER_REPORT_ADDR_MAX, "%s", buf);
                    rc = w < 0 || w >= MIXER_REPORT_ADDR_MAX ? MG_ETOOBIG : 0;
                }
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}
