/* lsw_certclear: a recipient's clearance from its certificate in the cert store (crypto/): the
 * X.841 clearance attribute (2.5.4.55) in the certificate's subjectDirectoryAttributes
 * extension (2.5.29.9, RFC 5280 4.2.1.8). Only a certificate the store would encrypt to (valid
 * now, path validated against the store's anchors, not revoked) is taken. */
#ifndef LSW_CERTCLEAR_H
#define LSW_CERTCLEAR_H

#include <stddef.h>

#include "lbl_label.h"

/* The clearance attribute's first value (BER) in a DER subjectDirectoryAttributes value:
 * *val points into der. 0 or MG_ENOTFOUND / MG_EPARSE. Untrusted input: bounds checked. */
int lsw_sda_clearance(const unsigned char *der, size_t len, const unsigned char **val, size_t *vlen);

/* 0 (*out filled), MG_ENOTFOUND (no usable certificate, or no clearance in it: why says which)
 * or MG_ETEMP (the store cannot be opened). Opens the store for the call (one connection per
 * thread is the store's rule). */
int lsw_cert_clearance(const char *store_path, const char *addr, struct lbl_clearance *out, char *why,
                       size_t whyn);

#endif
