/* fuzz target p1_rtse: RTSE APDUs in normal mode and X.410 mode (PConnect/PAccept/PRefuse),
 * RTTR contents (segmented OCTET STRING into a bounded reassembly, then the EXTERNAL), the
 * ACSE APDUs that carry them, and MTA bind values. */
#include <stddef.h>
#include <stdint.h>

#include "p1_acse.h"
#include "p1_bind.h"
#include "p1_rtse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    struct p1_rtse r;
    struct p1_bind b;
    long err;
    if (p1_rtse_decode(data, size, &r, &why) == 0 && r.data) {
        (void)p1_bind_decode(r.data, r.len, &b, &why);
        (void)p1_bind_error_decode(r.data, r.len, &err);
    }
    static const enum p1_rtse_type x410[] = {P1_RTORQ, P1_RTOAC, P1_RTORJ};
    for (size_t i = 0; i < 3; i++)
        if (p1_rtse_decode_x410(x410[i], data, size, &r, &why) == 0 && r.data)
            (void)p1_bind_decode(r.data, r.len, &b, &why);
    struct p1_reasm re;
    p1_reasm_init(&re, 1u << 16);
    if (p1_rtse_rttr_collect(data, size, &re) == 0) {
        const uint8_t *apdu;
        size_t alen;
        (void)p1_rtse_external_value(re.b.data, re.b.len, &apdu, &alen);
    }
    p1_reasm_free(&re);
    const uint8_t *apdu;
    size_t alen;
    (void)p1_rtse_external_value(data, size, &apdu, &alen);
    struct p1_acse a;
    if (p1_acse_decode(data, size, &a, &why) == 0 && a.ui)
        (void)p1_rtse_decode(a.ui, a.ui_len, &r, &why);
    (void)p1_bind_decode(data, size, &b, &why);
    return 0;
}
