/* lbl_codec: one entry point for every label format, with detection. All formats decode to and
 * encode from the one lbl_label model, so any pair converts through it. */
#ifndef LBL_CODEC_H
#define LBL_CODEC_H

#include <stddef.h>

#include "lbl_label.h"
#include "lbl_spif.h"

enum lbl_format {
    LBL_FMT_AUTO = 0,
    LBL_FMT_XML,       /* Surevine XML (http://surevine.com/xmlns/spiffy) */
    LBL_FMT_NATO,      /* ADatP-4774 confidentiality label XML */
    LBL_FMT_ESS,       /* ESSSecurityLabel, DER (RFC 2634) */
    LBL_FMT_X411,      /* X.411 SecurityLabel, DER */
    LBL_FMT_XX411,     /* "X-X411: " header, base64 of the X.411 BER */
    LBL_FMT_SIO,       /* "SIO-Label: " header (RFC 7444) */
    LBL_FMT_MARKING,   /* display marking text (parsed through the SPIF) */
};

/* "xml", "nato", "ess", "x411", "x-x411", "sio", "marking" (case-insensitive). */
int lbl_format_parse(const char *name, enum lbl_format *out);
const char *lbl_format_name(enum lbl_format f);
enum lbl_format lbl_format_detect(const void *data, size_t len);

/* Decodes a label. set resolves names (ADatP-4774); a display marking is parsed under each
 * policy of the set in turn (the first that yields it wins; the error is the first policy's).
 * Empty input fails with "No data to parse". */
int lbl_decode(const void *data, size_t len, enum lbl_format fmt, const struct lbl_policy_set *set,
               struct lbl_label *out, struct lbl_err *err);
/* Encodes a label; p is its policy (needed for ADatP-4774, markings and the SIO-Label marking;
 * may be NULL for the formats that carry only numbers). *out is malloc'd and NUL-terminated
 * (BER output is binary: use *len). */
int lbl_encode(const struct lbl_label *l, enum lbl_format fmt, const struct lbl_policy *p, char **out, size_t *len,
               struct lbl_err *err);

/* A clearance in Surevine XML, ADatP-4774 XML or X.841 BER (detected). */
int lbl_decode_clearance(const void *data, size_t len, const struct lbl_policy_set *set, struct lbl_clearance *out,
                         struct lbl_err *err);

/* The label's policy in the set, or NULL with "Unknown policy id: OID". */
const struct lbl_policy *lbl_policy_of(const struct lbl_policy_set *set, const struct lbl_label *l,
                                       struct lbl_err *err);

#endif
