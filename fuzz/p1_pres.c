/* fuzz target p1_pres: presentation PPDUs (CP, CPA, CPR, user data, ARU/ARP) and the ACSE
 * APDU of each PDV; a CP that decodes is answered with our CPA and CPR, which must decode. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "p1_acse.h"
#include "p1_pres.h"

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
            (void)p1_acse_decode(pp.pdv[i].v, pp.pdv[i].len, &a, &why);
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
