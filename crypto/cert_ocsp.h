/* cert_ocsp: one OCSP query (RFC 6960) over HTTP for a certificate, with the response verified
 * against the trust anchors and checked for nonce and freshness. Used by cert_store, which
 * caches the answers; no state here. */
#ifndef CERT_OCSP_H
#define CERT_OCSP_H

#include <stddef.h>
#include <openssl/x509.h>
#include <openssl/ocsp.h>

enum cert_ocsp_status { CERT_OCSP_GOOD = 0, CERT_OCSP_REVOKED = 1, CERT_OCSP_UNKNOWN = 2 };

/* url: http:// responder (NULL = the certificate's AIA OCSP URL). timeout in seconds.
 * On 0, *status and *next_update (unix time; 0 = none given) are set. Returns MG_EIO (no
 * answer), MG_EVERIFY (response not signed by a trusted responder, nonce or time wrong),
 * MG_ENOTFOUND (no responder URL), MG_EPROTO (responder error status). */
int cert_ocsp_query(X509 *cert, X509 *issuer, const char *url, int timeout, X509_STORE *anchors,
                    STACK_OF(X509) *untrusted, int *status, long long *next_update,
                    char *why, size_t whylen);

/* Largest OCSP response read (as cert_ocsp_query's HTTP limit). */
#define CERT_OCSP_MAX_RESPONSE 100000

/* Checks one DER OCSPResponse (outside input) against the request it answers (its nonce) and
 * id, the certificate it is about: status successful, signed by issuer (or a delegate in
 * untrusted) under anchors, a current status. Same results as cert_ocsp_query, which uses it;
 * exported for the fuzz target crypto_ocsp. */
int cert_ocsp_check_response(OCSP_REQUEST *req, OCSP_CERTID *id, const unsigned char *der,
                             size_t len, X509 *issuer, X509_STORE *anchors,
                             STACK_OF(X509) *untrusted, int *status, long long *next_update,
                             char *why, size_t whylen);

#endif
