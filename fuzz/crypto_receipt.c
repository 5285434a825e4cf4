/* libFuzzer target: ESS signed receipts (cms_receipt.c). Unit: fuzz_split.h (a receipt, then the
 * signed original it claims to acknowledge). Both are outside input: the receipt is checked
 * against the original (cms_receipt_verify), and a receipt is made for the original as a
 * recipient would (cms_receipt_make: verify the request, sign with alice's fixed key). */
#include <stddef.h>
#include <stdint.h>
#include "cms_receipt.h"
#include "crypto_fuzz_policy.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rcpt, *orig;
    size_t rlen, olen;
    if (fuzz_split(data, size, &rcpt, &rlen, &orig, &olen))
        return 0;
    const struct cms_policy *p = fuzz_crypto_policy();
    struct cms_result r;
    if (cms_receipt_verify(p, rcpt, rlen, orig, olen, &r) == 0 && r.nlayers < 1)
        mg_panic("receipt verified without a layer");
    cms_result_free(&r);
    if (cms_receipt_make(p, orig, olen, &r) == 0 && !r.data)
        mg_panic("receipt made without output");
    cms_result_free(&r);
    return 0;
}
