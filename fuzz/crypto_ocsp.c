/* libFuzzer target: OCSP responses (cert_ocsp_check_response), as a responder or anything on
 * the path could send them. The request they answer is fixed (fuzz/keys/ocsp-req.der: alice's
 * certificate, a fixed nonce), so the seeds signed by the test CA (gen-crypto-corpus.sh) pass
 * the nonce and signature checks and mutations reach the status and validity code. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <openssl/ocsp.h>
#include "cert_ocsp.h"
#include "cms_keys.h"
#include "mg_buf.h"
#include "mg_log.h"

#ifndef FUZZ_KEYS_DIR
#error "FUZZ_KEYS_DIR (fuzz/keys) must be defined by the build"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ocsp_fixture {
    OCSP_REQUEST *req;
    OCSP_CERTID *id; /* inside req */
    X509 *issuer;
    X509_STORE *anchors;
};

/* Built once per process: the fuzzer's only state, read-only afterwards. */
static const struct ocsp_fixture *fixture(void)
{
    static struct ocsp_fixture f;
    if (f.req)
        return &f;
    unsigned char *d = NULL;
    size_t n = 0;
    if (mg_read_file(FUZZ_KEYS_DIR "/ocsp-req.der", 1u << 16, &d, &n))
        mg_panic("fuzz setup: no %s/ocsp-req.der", FUZZ_KEYS_DIR);
    const unsigned char *q = d;
    f.req = d2i_OCSP_REQUEST(NULL, &q, (long)n);
    free(d);
    OCSP_ONEREQ *one = f.req ? OCSP_request_onereq_get0(f.req, 0) : NULL;
    f.id = one ? OCSP_onereq_get0_id(one) : NULL;
    f.anchors = X509_STORE_new();
    if (!f.id || !f.anchors || cms_keys_load_cert(FUZZ_KEYS_DIR "/ca.pem", &f.issuer) ||
        !X509_STORE_add_cert(f.anchors, f.issuer))
        mg_panic("fuzz setup: OCSP fixture");
    return &f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct ocsp_fixture *f = fixture();
    int status = -1;
    long long next = 0;
    char why[200];
    int rc = cert_ocsp_check_response(f->req, f->id, data, size, f->issuer, f->anchors, NULL,
                                      &status, &next, why, sizeof why);
    if (rc == 0 && status != CERT_OCSP_GOOD && status != CERT_OCSP_REVOKED &&
        status != CERT_OCSP_UNKNOWN)
        mg_panic("OCSP check succeeded without a status");
    return 0;
}
