/* mixer_orname: X.411 ORName / ORAddress <-> the RFC 2156 attribute model (mixer_or).
 * Writing produces BER (through mixer_ber); reading walks the asn1c value. Printable and
 * teletex variants share one RFC 2156 key ("yen*{165}"): a teletex-only value made of
 * PrintableString characters reads as printable (4.1.1). */
#ifndef MIXER_ORNAME_H
#define MIXER_ORNAME_H

#include <stdbool.h>

#include "mixer_ber.h"
#include "mixer_or.h"

struct BuiltInStandardAttributes;
struct BuiltInDomainDefinedAttributes;
struct ExtensionAttributes;

/* Write or as ORName ([APPLICATION 0] SEQUENCE, the form in IPMS ORDescriptor) when
 * orname, else as ORAddress (SEQUENCE). tag_cls/tag_num replace the outer tag when
 * tag_cls != 0 (an IMPLICIT context tag). MG_ENOTSUP for attributes that have no BER form
 * here (NET-*), MG_EINVAL for an empty address. */
int mixer_orname_write(struct mixer_ber *w, const struct mixer_or *or, bool orname,
                       unsigned tag_cls, unsigned tag_num);

/* Read the three parts shared by ORName_t and ORAddress_t. MG_ENOTSUP for an attribute we
 * cannot represent (extended-network-address, universal/BMP attributes), MG_ETOOBIG for too
 * many attributes, MG_EPARSE for a malformed extension attribute value. */
int mixer_orname_read(const struct BuiltInStandardAttributes *bsa,
                      const struct BuiltInDomainDefinedAttributes *dda,
                      const struct ExtensionAttributes *ext, struct mixer_or *out);

/* RFC 2156 teletex-string text of T.61 octets ("a{165}b"). */
int mixer_orname_t61_text(const unsigned char *p, size_t n, char *out, size_t outsize);
/* Octets of a teletex-string text ("{165}" groups decoded). MG_EPARSE when malformed. */
int mixer_orname_t61_octets(const char *s, size_t n, unsigned char *out, size_t outsize,
                            size_t *outlen);

#endif
