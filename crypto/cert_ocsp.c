/* cert_ocsp: OCSP client on OpenSSL's HTTP client and OCSP functions (see cert_ocsp.h). */
#define _GNU_SOURCE /* timegm */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/ocsp.h>
#include <openssl/http.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "cert_ocsp.h"
#include "mg_err.h"

static int why_set(char *why, size_t n, int rc, const char *msg)
{
    if (why && n)
        snprintf(why, n, "%s", msg);
    ERR_clear_error();
    return rc;
}

int cert_ocsp_check_response(OCSP_REQUEST *req, OCSP_CERTID *id, const unsigned char *der,
                             size_t len, X509 *issuer, X509_STORE *anchors,
                             STACK_OF(X509) *untrusted, int *status, long long *next_update,
                             char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = 0;
    if (len > CERT_OCSP_MAX_RESPONSE)
        return why_set(why, whylen, MG_EPROTO, "OCSP response too large");
    const unsigned char *q = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &q, (long)len);
    OCSP_BASICRESP *bs = NULL;
    int rc;
    if (!resp) {
        rc = why_set(why, whylen, MG_EIO, "no answer from the OCSP responder");
        goto out;
    }
    if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        rc = why_set(why, whylen, MG_EPROTO, OCSP_response_status_str(OCSP_response_status(resp)));
        goto out;
    }
    /* the issuer is the usual responder (a CA-signed response names it but need not carry it) */
    STACK_OF(X509) *signers = untrusted ? X509_chain_up_ref(untrusted) : sk_X509_new_null();
    int verified = signers && X509_add_cert(signers, issuer, X509_ADD_FLAG_UP_REF) &&
                   (bs = OCSP_response_get1_basic(resp)) != NULL && OCSP_check_nonce(req, bs) > 0 &&
                   OCSP_basic_verify(bs, signers, anchors, 0) > 0;
    sk_X509_pop_free(signers, X509_free);
    if (!verified) {
        rc = why_set(why, whylen, MG_EVERIFY, "OCSP response not trusted (signer or nonce)");
        goto out;
    }
    int st, reason;
    ASN1_GENERALIZEDTIME *rev, *thisupd, *nextupd;
    if (!OCSP_resp_find_status(bs, id, &st, &reason, &rev, &thisupd, &nextupd) ||
        !OCSP_check_validity(thisupd, nextupd, 300, -1)) {
        rc = why_set(why, whylen, MG_EVERIFY, "OCSP response has no current status for the certificate");
        goto out;
    }
    *status = st == V_OCSP_CERTSTATUS_GOOD ? CERT_OCSP_GOOD
            : st == V_OCSP_CERTSTATUS_REVOKED ? CERT_OCSP_REVOKED : CERT_OCSP_UNKNOWN;
    *next_update = 0;
    struct tm tm;
    if (nextupd && ASN1_TIME_to_tm(nextupd, &tm))
        *next_update = (long long)timegm(&tm);
    rc = 0;
    why_set(why, whylen, 0, OCSP_cert_status_str(st));
out:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return rc;
}

int cert_ocsp_query(X509 *cert, X509 *issuer, const char *url, int timeout, X509_STORE *anchors,
                    STACK_OF(X509) *untrusted, int *status, long long *next_update,
                    char *why, size_t whylen)
{
    STACK_OF(OPENSSL_STRING) *aia = NULL;
    if (!url) {
        aia = X509_get1_ocsp(cert);
        url = sk_OPENSSL_STRING_num(aia) > 0 ? sk_OPENSSL_STRING_value(aia, 0) : NULL;
        if (!url) {
            X509_email_free(aia);
            return why_set(why, whylen, MG_ENOTFOUND, "no OCSP responder URL");
        }
    }
    int rc = MG_EIO, ssl = 0;
    char *host = NULL, *port = NULL, *path = NULL;
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
    OCSP_RESPONSE *resp = NULL;
    BIO *reqbio = NULL, *respbio = NULL;
    if (!req || !id || !OCSP_request_add0_id(req, id)) {
        OCSP_CERTID_free(id);
        rc = why_set(why, whylen, MG_ENOMEM, "cannot build OCSP request");
        goto out;
    }
    OCSP_CERTID *idref = id; /* owned by req now */
    if (!OCSP_request_add1_nonce(req, NULL, -1) ||
        !OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path, NULL, NULL) || ssl) {
        rc = why_set(why, whylen, MG_EINVAL, "bad OCSP URL (http:// only)");
        goto out;
    }
    reqbio = BIO_new(BIO_s_mem());
    if (!reqbio || i2d_OCSP_REQUEST_bio(reqbio, req) <= 0)
        goto out;
    respbio = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0,
                                 NULL, "application/ocsp-request", reqbio,
                                 "application/ocsp-response", 1, CERT_OCSP_MAX_RESPONSE, timeout, 0);
    unsigned char *der = NULL;
    int derlen;
    if (!respbio || !(resp = d2i_OCSP_RESPONSE_bio(respbio, NULL)) ||
        (derlen = i2d_OCSP_RESPONSE(resp, &der)) <= 0) {
        rc = why_set(why, whylen, MG_EIO, "no answer from the OCSP responder");
        goto out;
    }
    /* checked from its encoding, by the same code the fuzz target crypto_ocsp drives */
    rc = cert_ocsp_check_response(req, idref, der, (size_t)derlen, issuer, anchors, untrusted,
                                  status, next_update, why, whylen);
    OPENSSL_free(der);
out:
    if (rc == MG_EIO && why && !why[0])
        why_set(why, whylen, rc, "OCSP request failed");
    OCSP_RESPONSE_free(resp);
    OCSP_REQUEST_free(req);
    BIO_free(reqbio);
    BIO_free(respbio);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    X509_email_free(aia);
    ERR_clear_error();
    return rc;
}
