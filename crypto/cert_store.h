/* cert_store: certificates, private keys (encrypted PKCS#8 at rest), trust anchors and CRLs in
 * SQLite, indexed by RFC 822 address and by X.400 O/R address (as text). One store object per
 * thread (one SQLite connection each); the file may be shared between processes. */
#ifndef CERT_STORE_H
#define CERT_STORE_H

#include <stdio.h>
#include <openssl/x509.h>
#include <openssl/evp.h>
#include "cms_policy.h"

struct cms_result;
struct cert_store;

/* Opens (creating) the store. pass encrypts private keys at rest; NULL = keys neither stored
 * nor read. */
int cert_store_open(struct cert_store **out, const char *path, const char *pass);
void cert_store_close(struct cert_store *s);

/* Add one certificate (duplicates are merged: a key or the anchor flag is added to the row).
 * key may be NULL; orname is an X.400 O/R address as text, may be NULL. *id gets the row id. */
int cert_store_add(struct cert_store *s, X509 *cert, EVP_PKEY *key, int anchor, const char *orname,
                   long long *id);
int cert_store_add_crl(struct cert_store *s, X509_CRL *crl);
/* Import a file: PEM (certificates, CRLs, a private key matching one of the certificates), DER
 * certificate or CRL, or PKCS#12 (p12pass). Returns the number of items added or MG_E*. */
int cert_store_import_file(struct cert_store *s, const char *path, const char *p12pass, int anchor,
                           const char *orname);

/* Fetch a DER CRL over HTTP (http:// only; timeout in seconds) and cache it in the store.
 * Returns 0, MG_EIO (fetch failed), MG_EPARSE (not a CRL). */
int cert_store_fetch_crl(struct cert_store *s, const char *url, int timeout);
/* Fetch the CRL of every http:// distribution point named by a stored certificate. Returns the
 * number fetched, or MG_E* on a store error (fetch failures are counted out and skipped). */
int cert_store_refresh_crls(struct cert_store *s, int timeout);

/* Ask OCSP about every stored non-anchor certificate whose issuer is stored too, at url (NULL =
 * each certificate's AIA responder), responses verified against p's anchors; answers are cached
 * until their nextUpdate (1 hour when none) and loaded by cert_store_fill_policy. Returns the
 * number of answers cached (failures are skipped: the policy's revocation mode decides). */
int cert_store_ocsp_refresh(struct cert_store *s, const struct cms_policy *p, const char *url,
                            int timeout);

/* Newest certificate for addr (rfc822 or O/R address) that is valid now and passes the
 * policy's path validation and revocation checks: never an expired or revoked one. why (may
 * be NULL) gets the reason the last candidate was refused. */
int cert_store_find_encryption_cert(struct cert_store *s, const char *addr,
                                    const struct cms_policy *p, X509 **out, char *why,
                                    size_t whylen);
/* Loads anchors, all certificates (as untrusted intermediates), CRLs and every private key we
 * hold into the policy (decryption tries all keys: key rotation). */
int cert_store_fill_policy(struct cert_store *s, struct cms_policy *p);
/* Harvesting, the caller's job after cms_unwrap (a channel does it on its pool thread): store
 * every certificate in res->signers (the signers that verified, with their path; also when a
 * later layer failed). Returns the number new to the store, or MG_E*. */
int cert_store_harvest(struct cert_store *s, const struct cms_result *res);
/* Store one harvested certificate (no key, not an anchor) unless it is there already: a known
 * certificate costs one read, no write lock; the check and the insert are one transaction, so
 * connections harvesting at once count a certificate new once. Returns 1 (new), 0 (known) or
 * MG_E*. */
int cert_store_harvest_cert(struct cert_store *s, X509 *cert);

/* One line per certificate: id, flags, validity, emails, O/R address, subject. */
int cert_store_list(struct cert_store *s, FILE *f);
/* The certificate of row id (caller frees). */
int cert_store_get(struct cert_store *s, long long id, X509 **out, int *has_key);

#endif
