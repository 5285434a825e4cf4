/* mixer_r2x: pieces of the RFC 5322 -> X.400 conversion that mixer_mdn (MDN -> IPN) shares.
 * Internal to the library; the public entry point is mixer_conv_to_x400 (mixer_conv.h). */
#ifndef MIXER_R2X_H
#define MIXER_R2X_H

#include <stdbool.h>
#include <stddef.h>

#include "mixer_addr.h"
#include "mixer_ber.h"
#include "mixer_hdr.h"

/* ORDescriptor for one mailbox (universal SET, or the IMPLICIT tag cls/num when cls != 0);
 * x84: restricted to 1984 attributes (common name as the DDA "Common"). */
int mixer_r2x_ordesc(const struct mixer_gw *gw, struct mixer_ber *w, unsigned cls, unsigned num,
                     const struct mixer_mbox *m, bool x84, char *why, size_t whysize);
/* IPMIdentifier contents (inside a tag the caller opened) from a msg-id without <>; *cut when
 * it had to be shortened to 64 characters. */
void mixer_r2x_ipmid(struct mixer_ber *w, const char *id, bool *cut);

/* An MDN (RFC 8098 multipart/report; report-type=disposition-notification) as an IPN
 * ([1] of InformationObject) written to w. MG_ENOTFOUND when msg is not an MDN (convert it as
 * an IPM), MG_EPARSE when it is one without the fields an IPN needs. */
int mixer_mdn_to_ipn(const struct mixer_gw *gw, const char *msg, size_t len,
                     struct mixer_ber *w, char *why, size_t whysize);

#endif
