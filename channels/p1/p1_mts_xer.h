/* p1_mts_xer: the XER writers p1_mts_build and p1_report share (X.411 values written as XER
 * from O/R attributes, then decoded and checked by the asn1c codec). Each returns 0 or
 * MG_ENOMEM. */
#ifndef P1_MTS_XER_H
#define P1_MTS_XER_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"
#include "oraddr.h"

struct ORName;
struct Extensions;

/* <tag>escaped v</tag>; nothing when v is NULL. */
int p1_xer_elem(struct mg_buf *x, const char *tag, const char *v);
/* A GlobalDomainIdentifier (C, ADMD, PRMD of g) inside <tag>. */
int p1_xer_gdi(struct mg_buf *x, const char *tag, const struct oraddr *g);
/* An ORName's address attributes inside <tag> (not the common name: p1_xer_add_cn). */
int p1_xer_orname(struct mg_buf *x, const char *tag, const struct oraddr *o);
/* After decoding: the common name of o as n's extension attribute (0, MG_EINVAL, MG_ENOMEM). */
int p1_xer_add_cn(struct ORName *n, const struct oraddr *o);
/* Adds the message-security-label extension (standard extension 20) with the X.411
 * SecurityLabel label (DER, copied) to *ext (allocated when NULL). 0, MG_EINVAL (label is not
 * a valid X.411 SecurityLabel), MG_ENOMEM. */
int p1_xer_add_label(struct Extensions **ext, const uint8_t *label, size_t len);
/* 1 when label is a valid X.411 SecurityLabel (DER or BER), else 0. */
int p1_xer_label_ok(const uint8_t *label, size_t len);

#endif
