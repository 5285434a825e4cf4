/* mixer_conv: whole-content conversion between an X.400 interpersonal message (P22 / P772
 * IPM, BER) and an Internet message (RFC 5322 + MIME), by RFC 2156 (heading <-> header),
 * RFC 6477 (P772 heading extensions <-> MMHS-* fields) and RFC 2157 (body parts <-> MIME).
 * No I/O: bytes in, bytes out. Envelope (P1 / SMTP) fields and reports are mapped by the
 * caller; reports will get their own entry points beside these (mixer_report, to come). */
#ifndef MIXER_CONV_H
#define MIXER_CONV_H

#include <stddef.h>

#include "mg_buf.h"
#include "mixer_addr.h"

enum mixer_content {
    MIXER_CONTENT_P2 = 2,     /* IPMS 1984, content type 2: no heading extensions (app. B) */
    MIXER_CONTENT_P22 = 22,   /* IPMS 1988, content type 22 (2.6.1.10.1) */
    MIXER_CONTENT_P772 = 772, /* STANAG 4406, 1.3.26.0.4406.0.4.1 */
};
const char *mixer_content_oid(enum mixer_content ct);

/* Limits: nesting of forwarded messages and multiparts, output size. */
#define MIXER_CONV_MAX_DEPTH 8
#define MIXER_CONV_MAX_OUT (64u * 1024u * 1024u)

/* Object identifiers RFC 2156 appendix D defines. */
#define MIXER_OID_RFC822_FIELD_LIST "1.3.6.1.7.1.3.2"

/* X.400 content (P22 InformationObject or P772 MMInformationObject carrying an IPM) ->
 * RFC 5322 message appended to out (CRLF line ends). MG_EPARSE / MG_ECONSTRAINT for content
 * that does not decode, MG_ENOTSUP for an IPN (not mapped here yet), with why filled. */
int mixer_conv_to_822(const struct mixer_gw *gw, enum mixer_content ct, const void *ber,
                      size_t len, struct mg_buf *out, char *why, size_t whysize);

/* RFC 5322 message -> X.400 content of type ct (BER, checked by decoding it back) appended
 * to out. MG_EPARSE for a message that cannot be read, MG_ETOOBIG past the limits. */
int mixer_conv_to_x400(const struct mixer_gw *gw, enum mixer_content ct, const void *msg,
                       size_t len, struct mg_buf *out, char *why, size_t whysize);

/* The STANAG 4406 primary precedence an RFC 5322 message states in MMHS-Primary-Precedence
 * (name or number, RFC 6477): 0 deferred .. 5 override, up to 31 for national values; -1 when
 * it states none or the header cannot be read. The queue priority follows it. */
int mixer_conv_precedence(const void *msg, size_t len);

/* Which content type an IPM's BER says it is, for a P1 envelope that must name it: P772 when
 * its heading carries a STANAG 4406 extension (1.3.26.0.4406.*), else P22. The message model
 * keeps one content type for all IPMS content, so the P1 side asks here. MG_EPARSE when the
 * bytes are not an IPM/IPN. */
int mixer_conv_content_kind(const void *ber, size_t len, enum mixer_content *out);

/* Base64 (RFC 2045) helpers shared by the two directions. */
int mixer_conv_b64_encode(const void *p, size_t n, struct mg_buf *out);
int mixer_conv_b64_decode(const char *s, size_t n, struct mg_buf *out);
/* Quoted-printable decode (RFC 2045 6.7). */
int mixer_conv_qp_decode(const char *s, size_t n, struct mg_buf *out);

#endif
