/* libFuzzer target: cms_unwrap of arbitrary DER, PEM and S/MIME input, with the fixed test-only
 * PKI of fuzz/keys (crypto_fuzz_policy.h): the seeds (fuzz/gen-crypto-corpus.sh) verify and
 * decrypt, so mutations reach inner layers of triple wraps, header protection and the success
 * paths. Every input must return cleanly, whatever it is; a success must give a content. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "cms_wrap.h"
#include "crypto_fuzz_policy.h"
#include "mg_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cms_result r;
    int rc = cms_unwrap(fuzz_crypto_policy(), data, size, &r);
    if (rc == 0 && (!r.data || r.nlayers < 0 || r.nlayers > CMS_MAX_LAYERS))
        mg_panic("cms_unwrap succeeded without a content");
    cms_result_free(&r);
    return 0;
}
