/* mixer_report: RFC 2156 5.1.8 / 5.3.8 mapping between X.400 delivery / non-delivery reports
 * and RFC 3464 delivery status notifications (multipart/report; report-type=delivery-status).
 * The X.400 side is a plain structure (struct mixer_report) so that both directions and the
 * DSN parser need no ASN.1; mixer_report_ber.c fills it from / writes it as a DER
 * ReportTransferContent. No I/O, no globals. */
#ifndef MIXER_REPORT_H
#define MIXER_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"

#define MIXER_REPORT_MAX_RCPTS 64
#define MIXER_REPORT_ADDR_MAX 512
#define MIXER_REPORT_TEXT_MAX 256
#define MIXER_REPORT_CORR_MAX 513 /* ub-content-correlator-length + 1 */

/* One reported recipient (PerRecipientReportTransferFields / a DSN per-recipient group). */
struct mixer_report_rcpt {
    char final_rcpt[MIXER_REPORT_ADDR_MAX];    /* actual-recipient-name, std-or-address text */
    char final_type[16];                       /* address type of final_rcpt ("" = x400) */
    char original_rcpt[MIXER_REPORT_ADDR_MAX]; /* originally-intended-recipient-name or ""; a
                                                  DSN Original-Recipient (any type) */
    char original_type[16];                    /* address type of original_rcpt: "x400" or
                                                  "rfc822" ("" = x400) */
    char final_822[MIXER_REPORT_ADDR_MAX];     /* RFC 822 forms of the two (mixer_report_map */
    char original_822[MIXER_REPORT_ADDR_MAX];  /* or the DSN), "" when unknown */
    int delivered;                             /* 1 = delivery report, 0 = non-delivery */
    int mts_user;                              /* a delivery report's X.411 TypeOfMTSUser:
                                                  0 public (default) .. 3 dl .. 6 other */
    int reason;                                /* NonDeliveryReasonCode, -1 = none */
    int diagnostic;                            /* NonDeliveryDiagnosticCode, -1 = none */
    int number;                                /* originally-specified-recipient-number, 0 = none */
    char status[16];                           /* RFC 3463 code as found in / put in the DSN */
    char supplementary[MIXER_REPORT_TEXT_MAX]; /* supplementary-information or "" */
    char when[32];                             /* UTCTime of delivery / last trace arrival */
};

struct mixer_report {
    char subject_id[MIXER_REPORT_ADDR_MAX]; /* MTS identifier "[/C=../ADMD=../;local]" */
    char content_id[MIXER_REPORT_TEXT_MAX]; /* content-identifier or "" */
    char correlator[MIXER_REPORT_CORR_MAX]; /* content-correlator (IA5) or "": "SMTP/NOTARY
                                               ENVID: <envid>" carries the DSN's ENVID
                                               (RFC 2156 A.3.1, 5.3.8.1) */
    char arrival[32];                       /* UTCTime: last trace arrival of the first
                                               recipient, or "" */
    /* From the ReportTransferEnvelope (mixer_report_envelope_from_ber), "" when unknown: */
    char report_id[MIXER_REPORT_ADDR_MAX];  /* report-identifier "[gdi;local]" */
    char reporting_gdi[MIXER_REPORT_ADDR_MAX]; /* the domain of the first trace element */
    char first_trace[32];                   /* its arrival time (UTCTime) */
    size_t nrcpts;
    struct mixer_report_rcpt rcpts[MIXER_REPORT_MAX_RCPTS];
    const unsigned char *returned; /* returned content (borrowed) or NULL */
    const char *returned_type;     /* its content type for mixer_report_to_ber: a built-in
                                      number ("22") or a dotted OID; NULL = not written */
    size_t returned_len;
    int returned_headers_only;     /* a DSN's text/rfc822-headers part (not the content) */
};

/* What the gateway writes into DSN headers. */
struct mixer_report_dsn_opts {
    const char *gateway;       /* our host name (DSN-Gateway, From postmaster@) */
    const char *reporting_mta; /* the X.400 MTA the report came from, text; NULL = gateway */
    const char *to;            /* RFC 822 report destination */
    const char *message_id;    /* Message-ID without <> */
    int64_t now;               /* Date: */
    int returned_is_822;       /* returned content is RFC 822 (message/rfc822), else the
                                  part is application/octet-stream (X.400 content) */
};

void mixer_report_init(struct mixer_report *r);

/* X.411 TypeOfMTSUser of a delivery report. */
enum mixer_mts_user {
    MIXER_MTS_USER_PUBLIC = 0, MIXER_MTS_USER_PRIVATE = 1, MIXER_MTS_USER_MS = 2,
    MIXER_MTS_USER_DL = 3, MIXER_MTS_USER_PDAU = 4, MIXER_MTS_USER_PHYSICAL = 5,
    MIXER_MTS_USER_OTHER = 6,
};
/* The RFC 3464 action of a reported recipient: "failed" for a non-delivery; for a delivery
 * "expanded" when the recipient was a distribution list (type-of-MTS-user dl: the list took
 * the message and expanded it), "relayed" when it was another kind of MTS user (other: the
 * message left X.400 for a system that gives no further reports), else "delivered". RFC 2156
 * 5.3.8.1 says "delivered" for every delivery report; the finer actions are RFC 3464's own
 * meaning of those delivery reports. */
const char *mixer_report_action(const struct mixer_report_rcpt *p);
/* "dl", "other", ... for X400-Type-of-MTS-User; NULL for an unknown value. */
const char *mixer_report_mts_user_name(int mts_user);

/* RFC 2156 5.3.8.2: reason / diagnostic (diagnostic -1 = absent) -> RFC 3463 "d.d.d". */
void mixer_report_status_of(int reason, int diagnostic, char *out, size_t outsize);
/* RFC 2156 5.1.8.4: RFC 3463 status -> reason / diagnostic (-1 = none). Unknown detail codes
 * map as X.n.0; anything else is unable-to-transfer with no diagnostic. */
void mixer_report_reason_of(const char *status, int *reason, int *diagnostic);
const char *mixer_report_reason_name(int reason);
const char *mixer_report_diag_name(int diagnostic);

/* X.400 report -> DSN (RFC 3464 / RFC 6522 message with headers). MG_EINVAL, MG_ENOMEM,
 * MG_ETOOBIG (out's limit). */
int mixer_report_to_dsn(const struct mixer_report *r, const struct mixer_report_dsn_opts *o,
                        struct mg_buf *out);

/* DSN (a whole RFC 5322 message, hostile) -> the report. Recipients whose action is not
 * failed or delivered (delayed, relayed, expanded) are skipped: RFC 2156 5.1.8.3 sends an IPM
 * for them (the DSN converted as a message; both when a DSN has both kinds); *skipped counts
 * them. Returned content points into data. MG_EPARSE with why set
 * when the message is not a delivery-status report or has no usable recipient. */
int mixer_dsn_parse(const void *data, size_t len, struct mixer_report *out, size_t *skipped,
                    char *why, size_t whysize);

struct mixer_gw;
/* Addresses into the target world (RFC 2156 4.3 via mixer_addr): to_x400 maps Internet
 * Final-Recipient / Original-Recipient addresses to O/R text (type "x400"); the other way
 * fills final_822 / original_822 with the RFC 822 forms of the O/R ones (the DSN carries
 * both, RFC 2156 5.3.8.1). MG_EPARSE / MG_EINVAL / MG_ETOOBIG with why set. */
int mixer_report_map(struct mixer_report *r, const struct mixer_gw *gw, int to_x400, char *why,
                     size_t whysize);

/* DER ReportTransferContent (hostile) -> the report. Returned content, when present, is
 * appended to *returned (caller's buffer, may be NULL) and r->returned points into it. Status
 * codes are filled from the tables. MG_EPARSE (why set), MG_ETOOBIG, MG_ENOMEM. */
int mixer_report_from_ber(const void *ber, size_t len, struct mixer_report *out,
                          struct mg_buf *returned, char *why, size_t whysize);
/* DER ReportTransferEnvelope (hostile; the stored envelope of a queued X.400 report) ->
 * report_id, reporting_gdi and first_trace of r (RFC 2156 5.3.8.3: X400-MTS-Identifier,
 * Reporting-MTA, Date). MG_EPARSE (why set), MG_ENOMEM. */
int mixer_report_envelope_from_ber(const void *ber, size_t len, struct mixer_report *r,
                                   char *why, size_t whysize);
/* The report -> DER ReportTransferContent into out (checked by decoding it again). Every
 * final_rcpt must be a std-or-address (map Internet ones first); an Original-Recipient of
 * another type is left out. now_utc ("YYMMDDhhmmssZ") stands in for absent times.
 * MG_EINVAL (a subject identifier that is not [gdi;local], or a value X.411 bounds refuse),
 * MG_EPARSE (a recipient that is not a std-or-address), MG_ENOTSUP (an O/R attribute
 * without BER form), MG_ENOMEM; why says which. */
int mixer_report_to_ber(const struct mixer_report *r, const char *now_utc, struct mg_buf *out,
                        char *why, size_t whysize);

/* Shared with mixer_dsnp (the message envelope): MTS identifiers and global domain
 * identifiers, written with mixer_ber / read from the asn1c values. */
struct mixer_ber;
struct GlobalDomainIdentifier;
struct OCTET_STRING;
/* "[/C=../ADMD=../PRMD=../;local]" as [APPLICATION 4] MTSIdentifier. MG_EINVAL (why set). */
int mixer_report_ber_mts_id(struct mixer_ber *w, const char *id, char *why, size_t whysize);
/* [APPLICATION 3] GlobalDomainIdentifier (admd NULL = " "; prmd NULL or "" = absent). */
void mixer_report_ber_gdi(struct mixer_ber *w, const char *cc, const char *admd, const char *prmd);
/* "[/C=../ADMD=../;local]" of a GDI and a local identifier. */
int mixer_report_ber_id_text(const struct GlobalDomainIdentifier *g,
                             const struct OCTET_STRING *local, char *out, size_t outsize);

#endif
