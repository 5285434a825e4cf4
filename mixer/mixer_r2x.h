/* mixer_r2x: pieces of the RFC 5322 -> X.400 conversion shared by its modules (mixer_r2x.c,
 * mixer_r2x_mmhs.c, mixer_r2x_body.c) and by mixer_mdn (MDN -> IPN). Internal to the
 * library; the public entry point is mixer_conv_to_x400 (mixer_conv.h). */
#ifndef MIXER_R2X_H
#define MIXER_R2X_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mixer_addr.h"
#include "mixer_ber.h"
#include "mixer_conv.h"
#include "mixer_hdr.h"

#define MAX_MBOX 256

/* One conversion's state: the gateway's mapping, the target content type, where errors are
 * explained (the first one wins), and room for the mailboxes of one field. */
struct r2x {
    const struct mixer_gw *gw;
    enum mixer_content ct;
    char *why;
    size_t whysize;
    /* owned: room for nmb mailboxes, grown by mixer_r2x_mboxes up to MAX_MBOX as a field needs
     * it. The full 256 (some 360 KB) per message was an mmap, page faults and an munmap for
     * every conversion under ASan (15 to 20% of mixer_to_x400) and a large zeroed-on-demand
     * block in the daemon, where most fields hold one to a few mailboxes. */
    struct mixer_mbox *mb;
    size_t nmb;
};

/* mixer_r2x.c */
/* "Name: value" as one IA5String of an rfc-822-field list. */
void mixer_r2x_ia5_field(struct mixer_ber *w, const char *name, size_t nl, const char *value);
/* The mailboxes of a header value into c->mb; *n of them. */
int mixer_r2x_mboxes(struct r2x *c, const char *value, size_t *n);
/* ORDescriptor of one mailbox (mixer_r2x_ordesc with c's gateway and content type). */
int mixer_r2x_desc(struct r2x *c, struct mixer_ber *w, unsigned cls, unsigned num,
                   const struct mixer_mbox *m);
/* One RFC 5322 message as an IPM (tag cls/num); depth counts nesting. */
int mixer_r2x_ipm(struct r2x *c, struct mixer_ber *w, unsigned cls, unsigned num, const char *msg,
                  size_t len, int depth);

/* mixer_r2x_mmhs.c */
/* One MMHS-* field as a P772 heading extension; the field stays (not used) when its value
 * does not match RFC 6477. */
int mixer_r2x_mmhs_field(struct r2x *c, struct mixer_ber *w, struct mixer_field *f);
/* MMHS-Other-Recipients-Indicator-To / -CC together as one extension. */
void mixer_r2x_mmhs_other(struct mixer_ber *w, struct mixer_hdrs *h);

/* mixer_r2x_body.c: the body of an entity whose headers are h as body parts. */
int mixer_r2x_body_parts(struct r2x *c, struct mixer_ber *w, struct mixer_hdrs *h, const char *p,
                         size_t n, bool digest, int depth);

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
