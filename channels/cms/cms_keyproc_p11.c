/* cms_keyproc_p11: keys in a hardware security module, for the key process. A LOAD whose path
 * is a PKCS#11 URI (RFC 7512, "pkcs11:token=...;object=...") is opened through the Debian
 * packaged OpenSSL pkcs11 engine (libengine-pkcs11-openssl, libp11), which by default reaches
 * every module p11-kit knows (SoftHSM2 in the tests); the passphrase file holds the PIN. The
 * key stays in the module: the key process only asks it for operations.
 * The engine API is deprecated in OpenSSL 3.0 (a provider for PKCS#11 is not packaged in
 * Debian 12), hence the suppression, confined to this file. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>
#include <openssl/engine.h>
#include <openssl/err.h>

#include "cms_keyproc_int.h"
#include "mg_err.h"

int cms_keyproc_is_pkcs11(const char *path)
{
    return !strncmp(path, "pkcs11:", 7);
}

int cms_keyproc_load_pkcs11(const char *uri, const char *pin, EVP_PKEY **out)
{
    ENGINE *e = ENGINE_by_id("pkcs11");
    if (!e) {
        ERR_clear_error();
        return MG_ENOTSUP;
    }
    if (pin && *pin && !ENGINE_ctrl_cmd_string(e, "PIN", pin, 0)) {
        ENGINE_free(e);
        ERR_clear_error();
        return MG_ENOTSUP;
    }
    if (!ENGINE_init(e)) {
        ENGINE_free(e);
        ERR_clear_error();
        return MG_ENOTSUP;
    }
    /* the engine stays initialised while the key process lives: its keys use it */
    EVP_PKEY *k = ENGINE_load_private_key(e, uri, NULL, NULL);
    ENGINE_free(e); /* the structural reference; the functional one stays */
    ERR_clear_error();
    if (!k)
        return MG_ENOKEY;
    *out = k;
    return 0;
}
