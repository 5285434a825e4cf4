/* libFuzzer target: cms_unwrap of arbitrary DER, PEM and S/MIME input, with the fixed test-only
 * PKI of fuzz/keys (crypto_fuzz_policy.h): the seeds (fuzz/gen-crypto-corpus.sh) verify and
 * decrypt, so mutations reach inner layers of triple wraps, header protection and the success
 * paths. Every input must return cleanly, whatever it is; a success must give a content.
 * An input of odd length is read as a cms channel without strip reads it (a signature under an
 * envelope is verified and kept: its output is that signed layer, MIME or DER), so both ways
 * of reading every form are reached, with no option byte to change what the seeds mean. */
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
    int keep = size & 1;
    int rc = cms_unwrap(keep ? fuzz_crypto_policy_keep() : fuzz_crypto_policy(), data, size, &r);
    if (rc == 0 && (!r.data || r.nlayers < 0 || r.nlayers > CMS_MAX_LAYERS))
        mg_panic("cms_unwrap succeeded without a content");
    if (rc == 0 && r.kept_signature &&
        (!keep || r.nlayers < 2 || r.layers[r.nlayers - 1].kind != CMS_KIND_SIGNED))
        mg_panic("cms_unwrap kept a signature that is not a signed layer under an envelope");
    cms_result_free(&r);
    return 0;
}
