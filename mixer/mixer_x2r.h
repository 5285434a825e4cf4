/* mixer_x2r: the pieces the X.400 -> RFC 5322 conversion (mixer_conv_to_822) is built from,
 * shared by its modules: mixer_x2r.c (addresses, identifiers, the heading, one IPM, the entry
 * point), mixer_x2r_ext.c (heading extensions: RFC 6477 MMHS-* fields and the rfc-822-field
 * list), mixer_x2r_body.c (RFC 2157 body parts) and mixer_x2r_ipn.c (notifications). Internal
 * to the library. */
#ifndef MIXER_X2R_H
#define MIXER_X2R_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mg_buf.h"
#include "mixer_addr.h"
#include "mixer_ber.h"

#include "Body.h"
#include "IPM.h"
#include "IPMIdentifier.h"
#include "IPMSExtension.h"
#include "IPN.h"
#include "ORDescriptor.h"

/* The conversion's state: the gateway's mapping and where errors are explained. */
struct x2r {
    const struct mixer_gw *gw;
    char *why;
    size_t whysize;
    unsigned boundary_seq; /* makes MIME boundaries unique within one message */
};

#define WHY(...) (c->why ? (void)snprintf(c->why, c->whysize, __VA_ARGS__) : (void)0)

/* Header fields restored from the rfc-822-field extension (or a 1984 RFC-822-Headers part). */
struct mixer_x2r_restored {
    struct mg_buf lines; /* "Name: value\r\n" restored from rfc-822-field */
    struct mg_buf trace; /* the restored Received lines: they go first (RFC 5322 3.6.7) */
    bool has_msgid, has_subject, has_dnt;
};

/* mixer_x2r.c */
/* "Name: value\r\n" with CR/LF inside the value made blanks. */
int mixer_x2r_field(struct mg_buf *out, const char *name, const char *value);
int mixer_x2r_ordesc_to_mbox(struct x2r *c, const ORDescriptor_t *d, char *out, size_t outsize);
int mixer_x2r_ipmid_to_msgid(struct x2r *c, const IPMIdentifier_t *id, char *out,
                             size_t outsize);
/* "Name: a, b" of count ORDescriptors. */
int mixer_x2r_descs(struct x2r *c, struct mg_buf *out, const char *name, int count,
                    ORDescriptor_t **d);
/* "Name: <RFC 5322 date>" of a UTCTime. */
int mixer_x2r_time_field(struct x2r *c, struct mg_buf *out, const char *name, const uint8_t *p,
                         size_t n);
long mixer_x2r_ber_int(const struct mixer_tlv *t);
/* One IPM as a complete RFC 5322 message; depth counts forwarded-message nesting. */
int mixer_x2r_ipm(struct x2r *c, const IPM_t *m, struct mg_buf *out, int depth);

/* mixer_x2r_ext.c */
/* One "Name: value" line into the restored fields. */
int mixer_x2r_ext_restore(struct mixer_x2r_restored *r, const uint8_t *v, size_t vlen);
/* One heading extension as header fields; *handled false for one to list as discarded. */
int mixer_x2r_ext_one(struct x2r *c, const IPMSExtension_t *e, const char *oid,
                      struct mg_buf *out, struct mixer_x2r_restored *r, bool *handled);

/* mixer_x2r_body.c: the body as the MIME part of the message (headers from Content-Type on). */
int mixer_x2r_body_parts(struct x2r *c, const Body_t *body, struct mg_buf *out, int depth);

/* mixer_x2r_ipn.c: an IPN as the RFC 2156 5.3.5 text message (or an RFC 8098 MDN). */
int mixer_x2r_ipn(struct x2r *c, const IPN_t *n, struct mg_buf *out);

#endif
