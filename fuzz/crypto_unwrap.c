/* libFuzzer target: cms_unwrap of arbitrary DER, PEM and S/MIME input. The policy holds a fixed
 * RSA key and certificate made once per process (so decryption paths run too) and a trust
 * anchor; every input must return cleanly, whatever it is. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "cms_wrap.h"
#include "mg_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built once per fuzzing process: the fuzzer's only state, read-only after creation. */
static struct cms_policy *fuzz_policy(void)
{
    static struct cms_policy *p;
    if (p)
        return p;
    EVP_PKEY *k = EVP_RSA_gen(1024);
    X509 *c = X509_new();
    if (!k || !c || cms_policy_create(&p))
        mg_panic("fuzz setup");
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                               (const unsigned char *)"fuzz", -1, -1, 0);
    X509_set_issuer_name(c, X509_get_subject_name(c));
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 3600L * 24 * 365);
    X509_set_pubkey(c, k);
    X509_sign(c, k, EVP_sha256());
    cms_policy_add_anchor(p, c);
    cms_policy_add_key(p, c, k);
    cms_policy_set_max_size(p, 1u << 20);
    X509_free(c);
    EVP_PKEY_free(k);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cms_result r;
    cms_unwrap(fuzz_policy(), data, size, &r);
    cms_result_free(&r);
    return 0;
}
