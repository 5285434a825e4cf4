/* fuzz target p1_pres: presentation PPDUs (CP, CPA, CPR, user data, ARU/ARP) and the ACSE
 * APDU of each PDV; a CP that decodes is answered with our CPA and CPR, which must decode; an
 * ACSE APDU that decodes is written again by our encoder and must decode to the same type and
 * user information. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p1_acse.h"
#include "p1_pres.h"

/* An ACSE APDU we decoded, written again by our encoder, decodes to the same type and (AARQ,
 * AARE, ABRT) the same user-information value. */
static void reacse(const struct p1_acse *a)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    long pcid = a->ui_pcid < 0 ? 3 : a->ui_pcid;
    int rc = -1;
    if (a->type == P1_AARQ)
        rc = p1_acse_aarq(&b, pcid, a->ui, a->ui_len);
    else if (a->type == P1_AARE)
        rc = p1_acse_aare(&b, a->result, a->diag, pcid, a->ui, a->ui_len);
    else if (a->type == P1_RLRQ)
        rc = p1_acse_rlrq(&b);
    else if (a->type == P1_RLRE)
        rc = p1_acse_rlre(&b);
    else if (a->type == P1_ABRT)
        rc = p1_acse_abrt(&b, a->source, pcid, a->ui, a->ui_len);
    if (rc == 0) {
        struct p1_acse back;
        const char *why = NULL;
        int ui = a->type == P1_AARQ || a->type == P1_AARE || a->type == P1_ABRT; /* RLRQ/RLRE:
                                                    we write no user information in them */
        if (p1_acse_decode(b.data, b.len, &back, &why) || back.type != a->type ||
            (ui && (back.ui_len != a->ui_len || (a->ui_len && memcmp(back.ui, a->ui, a->ui_len)))))
            abort();
    }
    mg_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum p1_ppdu_type types[] = {P1_PPDU_CP, P1_PPDU_CPA, P1_PPDU_CPR, P1_PPDU_TD};
    const char *why = NULL;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        struct p1_ppdu pp;
        if (p1_pres_decode(types[t], data, size, &pp, &why))
            continue;
        for (size_t i = 0; i < pp.npdv; i++) {
            struct p1_acse a;
            if (p1_acse_decode(pp.pdv[i].v, pp.pdv[i].len, &a, &why) == 0)
                reacse(&a);
        }
        if (types[t] == P1_PPDU_CP) {
            static const uint8_t rlre[] = {0x63, 0x03, 0x80, 0x01, 0x00};
            struct mg_buf b;
            struct p1_ppdu back;
            mg_buf_init(&b, 0);
            if (p1_pres_cpa(&b, &pp, NULL, rlre, sizeof rlre) == 0 &&
                p1_pres_decode(P1_PPDU_CPA, b.data, b.len, &back, &why))
                abort();
            mg_buf_reset(&b);
            if (p1_pres_cpr(&b, &pp, rlre, sizeof rlre) == 0 &&
                p1_pres_decode(P1_PPDU_CPR, b.data, b.len, &back, &why))
                abort();
            mg_buf_free(&b);
        }
    }
    struct p1_ppdu ab;
    (void)p1_pres_decode_abort(data, size, &ab, &why);
    return 0;
}
