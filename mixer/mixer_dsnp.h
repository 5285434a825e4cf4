/* mixer_dsnp: RFC 2156 appendix A, the SMTP DSN parameters of RFC 3461 (NOTIFY, RET, ENVID,
 * ORCPT) <-> the X.411 report requests and identifiers of a message transfer envelope, and that
 * envelope itself as a neutral struct <-> DER MessageTransferEnvelope (what the gateway hands
 * the P1 side for a message it converted, and reads from one that came over P1).
 *
 * The mapping (appendix A 3.1 / 3.2, section 5.2):
 *   NOTIFY -> per-recipient-indicators: NEVER: neither originator bit; SUCCESS: originator-report;
 *     otherwise (FAILURE, DELAY or not given): originator-non-delivery-report. The originating
 *     MTA bits (ours, as the gateway) ask at least as much: a report when SUCCESS, else a
 *     non-delivery report, so that the gateway can always give the DSN the originator asked for.
 *   per-recipient-indicators -> NOTIFY: neither originator bit: NEVER; originator-report:
 *     SUCCESS,FAILURE (X.411 "report" asks for delivery AND non-delivery reports; RFC 2156 names
 *     only SUCCESS, which alone would silence the failure the originator asked to hear of);
 *     originator-non-delivery-report: FAILURE. X.400 has no delay report: never DELAY.
 *   RET -> content-return-request: always set (5.2: the gateway requests the content back in
 *     every case, as even RET=HDRS needs the returned headers); content-return-request ->
 *     RET: FULL when set, HDRS when not (A.3.2).
 *   ENVID -> content-correlator "SMTP/NOTARY ENVID: <envid>" (IA5, A.3.1), never the MTS
 *     identifier; MTS identifier -> ENVID "X400-MTS-Identifier: [gdi;local]" (A.3.2), left
 *     out when longer than RFC 3461's 100 characters.
 *   ORCPT (type x400 or rfc822, address mapped to O/R) -> one redirection-history element
 *     (reason alias, the conversion time) when it is not the recipient itself (A.3.1);
 *     the first redirection's intended recipient -> ORCPT "x400;<std-or-address>" (A.3.2). */
#ifndef MIXER_DSNP_H
#define MIXER_DSNP_H

#include <stdbool.h>
#include <stddef.h>

#include "mg_buf.h"
#include "mixer_addr.h"

/* RFC 3461 NOTIFY bits (the values of the queue's enum message_notify). */
enum mixer_notify {
    MIXER_NOTIFY_NEVER = 1u << 0,
    MIXER_NOTIFY_SUCCESS = 1u << 1,
    MIXER_NOTIFY_FAILURE = 1u << 2,
    MIXER_NOTIFY_DELAY = 1u << 3,
};
/* RFC 3461 RET (the values of the queue's enum message_ret). */
enum mixer_ret { MIXER_RET_UNSPEC = 0, MIXER_RET_HDRS = 1, MIXER_RET_FULL = 2 };

/* X.411 PerRecipientIndicators bits in the first octet (bit n = 0x80 >> n). */
#define MIXER_PRI_RESPONSIBILITY 0x80u
#define MIXER_PRI_MTA_REPORT 0x40u
#define MIXER_PRI_MTA_NDR 0x20u
#define MIXER_PRI_ORIG_REPORT 0x10u
#define MIXER_PRI_ORIG_NDR 0x08u

#define MIXER_DSNP_ENVID_PREFIX "SMTP/NOTARY ENVID: "
#define MIXER_DSNP_MTSID_PREFIX "X400-MTS-Identifier: "
#define MIXER_DSNP_ENVID_MAX 100 /* RFC 3461 4.4 */
#define MIXER_DSNP_ORCPT_MAX 500 /* RFC 3461 4.2 */
#define MIXER_DSNP_CORRELATOR_MAX 512 /* ub-content-correlator-length */

/* NOTIFY (0 = not given) -> per-recipient-indicators, responsibility included. */
unsigned mixer_dsnp_indicators(unsigned notify);
/* per-recipient-indicators -> NOTIFY bits (never 0). */
unsigned mixer_dsnp_notify(unsigned indicators);
/* RFC 2156 A.3.2: the reports the gateway itself must give the originating MTA beyond the
 * NOTIFY it passes on (mixer_dsnp_notify): SUCCESS when the MTA asks for a report
 * (originating-MTA-report) and the originator does not, FAILURE when the MTA asks for
 * non-delivery reports (either MTA bit) and the originator asked for none (NEVER); 0 when the
 * originator's request covers the MTA's. */
unsigned mixer_dsnp_gateway_notify(unsigned indicators);
/* content-return-request -> RET, and RET -> content-return-request. */
enum mixer_ret mixer_dsnp_ret(bool content_return_request);
bool mixer_dsnp_content_return(enum mixer_ret ret);
/* ENVID -> content-correlator text. MG_ETOOBIG past the X.411 bound, MG_EINVAL for an ENVID
 * that is not printable ASCII. */
int mixer_dsnp_correlator(const char *envid, char *out, size_t outsize);
/* content-correlator -> ENVID when it carries one ("SMTP/NOTARY ENVID: " prefix), else
 * MG_ENOTFOUND. */
int mixer_dsnp_envid_of_correlator(const char *correlator, char *out, size_t outsize);
/* MTS identifier "[gdi;local]" -> ENVID. MG_ETOOBIG past 100 characters. */
int mixer_dsnp_envid_of_mts_id(const char *mts_id, char *out, size_t outsize);

/* ---- the envelope ---- */

struct mixer_dsnp_rcpt {
    char addr[MIXER_ADDR_MAX];  /* recipient-name, std-or-address */
    unsigned indicators;        /* per-recipient-indicators (first octet) */
    char orcpt[MIXER_ADDR_MAX]; /* originally intended recipient (first redirection), "" = none */
    char redirected[32];        /* its redirection time (UTCTime); "" = the trace arrival */
};

struct mixer_dsnp_env {
    char mts_id[MIXER_ADDR_MAX];     /* message-identifier "[/C=../ADMD=../PRMD=../;local]" */
    char originator[MIXER_ADDR_MAX]; /* originator-name, std-or-address */
    char content_type[64];           /* "22", "2" or a dotted OID */
    int priority;                    /* X.411 Priority: 0 normal, 1 non-urgent, 2 urgent */
    int precedence;                  /* STANAG 4406 precedence 0..5 (ACP 123 priority-level-
                                        qualifier chooses within the pair), -1 = none */
    bool content_return;             /* per-message-indicators content-return-request */
    char correlator[MIXER_DSNP_CORRELATOR_MAX + 1]; /* content-correlator (IA5), "" = none */
    char trace_gdi[MIXER_ADDR_MAX];  /* the first trace element's domain "/C=../ADMD=../" */
    char arrival[32];                /* its arrival time (UTCTime) */
    size_t nrcpts, cap;
    struct mixer_dsnp_rcpt *rcpts;   /* owned */
};

void mixer_dsnp_env_init(struct mixer_dsnp_env *e);
void mixer_dsnp_env_free(struct mixer_dsnp_env *e);
/* Appends a recipient (zeroed) and returns it; NULL when out of memory or past 32767. */
struct mixer_dsnp_rcpt *mixer_dsnp_env_add(struct mixer_dsnp_env *e);

/* The envelope -> DER MessageTransferEnvelope appended to out (decoded back before it is
 * returned). The trace holds one element: trace_gdi, arrival, relayed, converted to IA5 text
 * and eit-mixer (RFC 2156 5.1.3). MG_EINVAL / MG_EPARSE / MG_ENOTSUP with why set. */
int mixer_dsnp_env_to_ber(const struct mixer_dsnp_env *e, struct mg_buf *out, char *why,
                          size_t whysize);
/* DER/BER MessageTransferEnvelope (hostile) -> the envelope. MG_EPARSE (why set), MG_ENOMEM,
 * MG_ETOOBIG. */
int mixer_dsnp_env_from_ber(const void *ber, size_t len, struct mixer_dsnp_env *e, char *why,
                            size_t whysize);

#endif
