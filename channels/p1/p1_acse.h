/* p1_acse: the ACSE APDUs of an MTS-transfer association (AARQ, AARE, RLRQ, RLRE, ABRT), with
 * the application context id-ac-mts-transfer and RTSE APDUs carried in user-information as
 * an EXTERNAL (BER, presentation context of RTSE). Decoded in place; encoders append. */
#ifndef P1_ACSE_H
#define P1_ACSE_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"

enum p1_acse_type { P1_AARQ = 0, P1_AARE = 1, P1_RLRQ = 2, P1_RLRE = 3, P1_ABRT = 4 };

struct p1_acse {
    enum p1_acse_type type;
    int mts_transfer;         /* application context is id-ac-mts-transfer 2.6.0.1.6 */
    long result;              /* AARE: 0 accepted, 1 rejected-permanent, 2 rejected-transient */
    long diag;                /* AARE result-source-diagnostic value, -1 absent */
    long source;              /* ABRT: 0 user, 1 provider */
    long reason;              /* RLRQ/RLRE reason, -1 absent */
    long ui_pcid;             /* user-information EXTERNAL indirect reference, -1 absent */
    const uint8_t *ui;        /* its single ASN.1 value (a whole TLV) */
    size_t ui_len;
};

int p1_acse_decode(const uint8_t *p, size_t n, struct p1_acse *out, const char **why);
/* user: the RTSE APDU for user-information (may be NULL), in presentation context pcid. */
int p1_acse_aarq(struct mg_buf *b, long pcid, const uint8_t *user, size_t len);
int p1_acse_aare(struct mg_buf *b, long result, long diag, long pcid, const uint8_t *user,
                 size_t len);
int p1_acse_rlrq(struct mg_buf *b);
int p1_acse_rlre(struct mg_buf *b);
int p1_acse_abrt(struct mg_buf *b, long source, long pcid, const uint8_t *user, size_t len);

#endif
