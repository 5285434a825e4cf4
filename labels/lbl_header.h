/* lbl_header: label-carrying Internet mail header fields.
 * X-X411: base64 of a BER X.411 SecurityLabel (unpadded base64 is accepted).
 * SIO-Label and SIO-Label-History (RFC 7444): ';'-separated parameters, values as tokens or
 * quoted strings: marking, fgcolor, bgcolor, type (":ess", ":x411", ":xml") and label (base64
 * of the DER for :ess and :x411, the XML text for :xml). */
#ifndef LBL_HEADER_H
#define LBL_HEADER_H

#include <stddef.h>

#include "lbl_label.h"
#include "lbl_spif.h"

#define LBL_HEADER_MAX_BYTES (64 * 1024)

/* Base64 through OpenSSL; decoding tolerates missing padding and folding white space. */
int lbl_b64_encode(const unsigned char *in, size_t len, char **out);
int lbl_b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* One parsed SIO-Label (or SIO-Label-History) field: parameters in order. */
#define LBL_SIO_MAX_PARAMS 16
struct lbl_sio {
    unsigned n;
    char *name[LBL_SIO_MAX_PARAMS];    /* owned, lower-case */
    char *value[LBL_SIO_MAX_PARAMS];   /* owned, unquoted */
};
/* Accepts the value with or without the "SIO-Label:" field name. */
int lbl_sio_parse(const char *text, size_t len, struct lbl_sio *out, struct lbl_err *err);
const char *lbl_sio_get(const struct lbl_sio *s, const char *name);
void lbl_sio_free(struct lbl_sio *s);

/* Label from an SIO-Label field (type :ess, :x411 or :xml). */
int lbl_sio_decode(const char *text, size_t len, const struct lbl_policy_set *set, struct lbl_label *out,
                   struct lbl_err *err);
/* "SIO-Label: marking=...; fgcolor=...; type=\":ess\"; label=\"...\"" (marking and colour when p
 * is given). */
int lbl_sio_encode(const struct lbl_label *l, const struct lbl_policy *p, char **out, struct lbl_err *err);
/* "SIO-Label-History: change=...; changed-by=...; changed-at=...; prev-type=...; prev-label=...":
 * records the label a message had before a change. */
int lbl_sio_history_encode(const struct lbl_label *prev, const char *change, const char *by, const char *at,
                           char **out, struct lbl_err *err);
/* The previous label recorded in an SIO-Label-History field. */
int lbl_sio_history_decode(const char *text, size_t len, const struct lbl_policy_set *set, struct lbl_label *prev,
                           struct lbl_err *err);

int lbl_xx411_decode(const char *text, size_t len, struct lbl_label *out, struct lbl_err *err);
int lbl_xx411_encode(const struct lbl_label *l, const struct lbl_policy *p, char **out, struct lbl_err *err);

#endif
