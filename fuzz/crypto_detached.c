/* libFuzzer target: cms_unwrap_detached, a detached DER signature (RFC 4134 4.3 style) over a
 * separate content, both outside input. Unit: fuzz_split.h (signature, then content). With the
 * fixed test PKI (crypto_fuzz_policy.h) the seeds verify, so the success path is reached. */
#include <stddef.h>
#include <stdint.h>
#include "cms_wrap.h"
#include "crypto_fuzz_policy.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sig, *content;
    size_t siglen, clen;
    if (fuzz_split(data, size, &sig, &siglen, &content, &clen))
        return 0;
    struct cms_result r;
    int rc = cms_unwrap_detached(fuzz_crypto_policy(), sig, siglen, content, clen, &r);
    if (rc == 0 && !r.data)
        mg_panic("detached signature verified without a content");
    cms_result_free(&r);
    return 0;
}
