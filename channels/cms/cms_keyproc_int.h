/* cms_keyproc_int: PKCS#11 keys for the key process (and for check-config, which loads keys in
 * process), implemented in cms_keyproc_p11.c. */
#ifndef CMS_KEYPROC_INT_H
#define CMS_KEYPROC_INT_H

#include <openssl/evp.h>

/* 1 if path is a PKCS#11 URI. */
int cms_keyproc_is_pkcs11(const char *path);
/* The private key a PKCS#11 URI names, through the pkcs11 engine; pin may be NULL. Returns 0,
 * MG_ENOTSUP (no engine) or MG_ENOKEY. */
int cms_keyproc_load_pkcs11(const char *uri, const char *pin, EVP_PKEY **out);

#endif
