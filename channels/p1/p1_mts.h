/* p1_mts: an MTS-APDU (X.411 message, probe or report as transferred over P1) in the plain
 * fields the switch works with: O/R names in the RFC 2156 textual form (oraddr.h), the MTS
 * identifier as text, the content type as a dotted OID (or "22" for the built-in P22
 * content), the priority on the queue's 0..5 scale, the trace (how many elements, whether
 * ours is among them), the recipients with their per-recipient fields, and slices of the
 * original bytes: the envelope exactly as received (so a relay re-emits it) and the content.
 * Decoding goes through the asn1c codecs (mg_asn1) with their constraint checks; a peer's bad
 * bytes are an error with the reason, never an abort. */
#ifndef P1_MTS_H
#define P1_MTS_H

#include <stddef.h>
#include <stdint.h>

#include "oraddr.h"

enum p1_mts_kind { P1_MTS_MESSAGE = 0, P1_MTS_PROBE, P1_MTS_REPORT };

#define P1_MTS_ADDR_MAX (ORADDR_TEXT_MAX + 64)

struct p1_mts_rcpt {
    char addr[P1_MTS_ADDR_MAX];   /* RFC 2156 text */
    long osrn;                    /* originally specified recipient number */
    int responsibility;           /* the per-recipient indicator: this MTA must deliver/relay */
    int delivery_report;          /* the indicators ask for a delivery report: originator-report
                                     or originating-MTA-report (X.411 12.2.1.1.1.9) */
};

struct p1_mts_in {
    enum p1_mts_kind kind;
    char mts_id[P1_MTS_ADDR_MAX + 80]; /* "[/C=GB/ADMD= /PRMD=X/;local-id]" (RFC 2156 4.6.1) */
    char originator[P1_MTS_ADDR_MAX]; /* message/probe originator; report: its destination */
    char content_oid[128];        /* dotted OID, or "22"/"2" for a built-in type; "" report */
    int priority;                 /* 0..5: non-urgent 0, normal 1, urgent 3 */
    size_t ntrace;                /* trace elements in the envelope */
    int trace_has_us;             /* one of them names our global domain identifier */
    const uint8_t *envelope;      /* the envelope TLV as received (a slice of the APDU) */
    size_t envelope_len;
    uint8_t *content;             /* owned: the content octets (message, report) */
    size_t content_len;
    char critical[64];            /* "" or the first extension marked critical for transfer
                                     that this relay does not support ("standard 5", an OID):
                                     the message must not be transferred (NDR with
                                     unsupported-critical-function) */
    uint8_t *label;               /* owned or NULL: the message-security-label extension
                                     (standard 20) value, a SecurityLabel, for the queue's label */
    size_t label_len;
    struct p1_mts_rcpt *rcpts;    /* owned array */
    size_t nrcpts;
    int64_t deferred;             /* message: X.411 deferred-delivery-time (unix s), 0 none */
    uint64_t content_length;      /* probe: content-length, 0 = not given */
    char eits[128];               /* probe: original encoded information types, the built-in
                                     bit names ("ia5-text g3-facsimile"), "" none */
    size_t eits_extended;         /* probe: how many extended (OID) encoded information types */
};

/* Decodes apdu (borrowed: envelope points into it). our_gdi: the configured global domain
 * identifier (C, ADMD, PRMD; NULL = none) for the loop check. 0, or MG_EPARSE / MG_ECONSTRAINT
 * / MG_ETOOBIG / MG_ENOMEM with why filled. On error *m holds nothing to free. */
int p1_mts_decode(const uint8_t *apdu, size_t len, const struct oraddr *our_gdi,
                  struct p1_mts_in *m, char *why, size_t whysz);
void p1_mts_in_free(struct p1_mts_in *m);

/* What p1_mts_build makes: a new message or probe from plain fields (mixgate p1 send, and
 * X.400 reports of ours). Strings borrowed. */
struct p1_mts_out {
    enum p1_mts_kind kind;        /* P1_MTS_MESSAGE or P1_MTS_PROBE */
    const char *local_id;         /* local part of the MTS identifier (IA5, <= 32) */
    const struct oraddr *gdi;     /* our domain (C, ADMD, PRMD): identifier and trace */
    const char *originator;       /* O/R text */
    const char *const *rcpts;     /* O/R text */
    size_t nrcpts;
    const char *content_oid;      /* dotted, or a built-in type number ("22") */
    const uint8_t *content;       /* message: the content octets */
    size_t content_len;
    int priority;                 /* 0..5 */
    long now;                     /* time() of the trace arrival */
    long deferred;                /* message: deferred-delivery-time (unix s), 0 = none */
    const uint8_t *label;         /* NULL or an X.411 SecurityLabel (DER): the envelope's
                                     message-security-label (standard extension 20) */
    size_t label_len;
};
/* DER of the MTS-APDU into *der (malloc'ed, caller frees). 0, MG_EINVAL (a field does not
 * fit X.411: why says which), MG_ENOMEM. */
int p1_mts_build(const struct p1_mts_out *o, uint8_t **der, size_t *len, char *why, size_t whysz);

/* The MTS-APDU a relay sends for a stored transfer: the envelope exactly as received with
 * our trace element (gdi, now, relayed) appended to its trace, and the content (message: the
 * content octets; report: the ReportTransferContent encoding). report: the APDU is a report.
 * DER-length outer headers, every inner octet as received. 0, MG_EPARSE (the stored envelope
 * is not one), MG_ENOMEM. */
int p1_mts_relay(const uint8_t *env, size_t env_len, int report, const uint8_t *content,
                 size_t content_len, const struct oraddr *gdi, long now, uint8_t **apdu,
                 size_t *len);

/* The stored envelope env (a MessageTransferEnvelope, or with report a ReportTransferEnvelope)
 * with label (an X.411 SecurityLabel, DER) as its message-security-label, for a relay whose
 * label a processing stage changed (a shaper's x411-envelope output): every other member and
 * extension as received, the label's extension field replaced or added. *out NULL (and 0) when
 * the envelope already carries exactly that label. 0, MG_EPARSE (not an envelope), MG_ENOMEM. */
int p1_mts_env_set_label(const uint8_t *env, size_t env_len, int report, const uint8_t *label,
                         size_t label_len, uint8_t **out, size_t *out_len);

/* A report we send that a processing channel made (the mixer's X.400 form of a DSN): the
 * ReportTransferContent as made (content, BER), in a new ReportTransferEnvelope with our
 * identifier (gdi, local_id), the report destination dest (O/R text: the subject's
 * originator), our trace element (now) and, when label_len, the message-security-label (an
 * X.411 SecurityLabel: the report's subject's). The whole APDU is decoded once before it is given
 * out. 0, MG_EINVAL (a field X.411 does not allow), MG_EPARSE (the content is not a
 * ReportTransferContent), MG_ENOMEM; why says which. */
int p1_mts_report_apdu(const struct oraddr *gdi, const char *local_id, const char *dest,
                       long now, const uint8_t *content, size_t content_len, const uint8_t *label,
                       size_t label_len, uint8_t **apdu, size_t *len, char *why, size_t whysz);

/* In a copy of a stored MessageTransferEnvelope: clear the responsibility indicator of every
 * recipient whose O/R address (canonical text) is not in keep[0..nkeep), so that a message
 * split between next hops makes each responsible for its own recipients only (X.411 12.2.1.1).
 * Lengths do not change. 0, MG_EPARSE. */
int p1_mts_responsibility(uint8_t *env, size_t env_len, const char *const *keep, size_t nkeep);

/* Whether a stored MessageTransferEnvelope asks for a delivery report for the recipient addr
 * (canonical O/R text): its per-recipient indicators carry originating-MTA-report or
 * originator-report. A next hop we transfer it to then sends that report over X.400 (it is
 * responsible from the transfer on): our own "relayed" DSN would be a second one. 1 asked,
 * 0 not (or no such recipient), MG_EPARSE, MG_EINVAL. */
int p1_mts_report_requested(const uint8_t *env, size_t env_len, const char *addr);

/* The deferred-delivery-time ([0] UTCTime) of a stored MessageTransferEnvelope (or a 1984
 * UMPDUEnvelope: the same tag): 1 with *when (unix seconds), 0 when it has none, MG_EPARSE when
 * the envelope or the time is not well formed. */
int p1_mts_deferred_time(const uint8_t *env, size_t env_len, int64_t *when);
/* A UTCTime's contents ("YYMMDDhhmm[ss](Z|+hhmm|-hhmm)", X.680 47.3; years 50..99 are 19xx)
 * as unix seconds: 0 or MG_EPARSE. */
int p1_mts_utctime(const uint8_t *s, size_t n, int64_t *out);

struct ORName;
/* An ORName's address part as RFC 2156 text (0, MG_ETOOBIG, MG_EPARSE). */
int p1_mts_orname_text(const struct ORName *n, char *buf, size_t bufsz);

#endif
