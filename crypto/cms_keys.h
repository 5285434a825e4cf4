/* cms_keys: load certificates, private keys and CRLs from files in PEM, DER or PKCS#12, and
 * passphrases from files. Used by the CLI, the certificate store and the tests. */
#ifndef CMS_KEYS_H
#define CMS_KEYS_H

#include <stddef.h>
#include <openssl/x509.h>
#include <openssl/evp.h>

/* Every certificate in the file (PEM with one or more, DER, or PKCS#12 with pass). Appends to
 * *out (created if NULL). Returns 0, MG_EIO, MG_EPARSE or MG_ENOMEM. */
int cms_keys_load_certs(const char *path, const char *pass, STACK_OF(X509) **out);
/* Convenience: the first certificate of the file. */
int cms_keys_load_cert(const char *path, X509 **out);
/* A private key: PEM (plain or encrypted PKCS#8), DER PKCS#8, or PKCS#12 (with pass). */
int cms_keys_load_key(const char *path, const char *pass, EVP_PKEY **out);
/* PKCS#12 key, certificate and its chain. */
int cms_keys_load_p12(const unsigned char *der, size_t len, const char *pass, EVP_PKEY **key,
                      X509 **cert, STACK_OF(X509) **chain);
/* CRLs in PEM or DER. Appends to *out (created if NULL). */
int cms_keys_load_crls(const char *path, STACK_OF(X509_CRL) **out);
int cms_keys_parse_crls(const unsigned char *data, size_t len, STACK_OF(X509_CRL) **out);
/* Certificates from bytes (PEM or DER). */
int cms_keys_parse_certs(const unsigned char *data, size_t len, STACK_OF(X509) **out);
/* First line of a file, without its line end, into buf. */
int cms_keys_read_pass(const char *path, char *buf, size_t bufsz);

#endif
