/* cms_keys: file loaders for certificates, keys and CRLs (see cms_keys.h). */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/err.h>
#include "cms_keys.h"
#include "mg_buf.h"
#include "mg_err.h"

#define MAX_FILE (16u << 20)

static int is_pem(const unsigned char *d, size_t len)
{
    return len >= 11 && memmem(d, len < 4096 ? len : 4096, "-----BEGIN ", 11) != NULL;
}

int cms_keys_parse_certs(const unsigned char *data, size_t len, STACK_OF(X509) **out)
{
    if (len > INT32_MAX)
        return MG_ETOOBIG;
    if (!*out && !(*out = sk_X509_new_null()))
        return MG_ENOMEM;
    int n = 0;
    if (is_pem(data, len)) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        X509 *x;
        while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
            if (!sk_X509_push(*out, x)) {
                X509_free(x);
                break;
            }
            n++;
        }
        BIO_free(b);
    } else {
        const unsigned char *q = data;
        X509 *x = d2i_X509(NULL, &q, (long)len);
        if (x && sk_X509_push(*out, x))
            n++;
        else
            X509_free(x);
    }
    ERR_clear_error();
    return n > 0 ? 0 : MG_EPARSE;
}

int cms_keys_load_p12(const unsigned char *der, size_t len, const char *pass, EVP_PKEY **key,
                      X509 **cert, STACK_OF(X509) **chain)
{
    const unsigned char *q = der;
    PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)len);
    int rc = MG_EPARSE;
    if (p12) {
        rc = PKCS12_parse(p12, pass ? pass : "", key, cert, chain) == 1 ? 0 : MG_ENOKEY;
        PKCS12_free(p12);
    }
    ERR_clear_error();
    return rc;
}

int cms_keys_load_certs(const char *path, const char *pass, STACK_OF(X509) **out)
{
    unsigned char *d;
    size_t len;
    int rc = mg_read_file(path, MAX_FILE, &d, &len);
    if (rc)
        return rc;
    rc = cms_keys_parse_certs(d, len, out);
    if (rc == MG_EPARSE) { /* maybe PKCS#12 */
        EVP_PKEY *k = NULL;
        X509 *c = NULL;
        STACK_OF(X509) *ch = NULL;
        if (cms_keys_load_p12(d, len, pass, &k, &c, &ch) == 0 && c) {
            rc = sk_X509_push(*out, c) ? 0 : MG_ENOMEM;
            if (rc)
                X509_free(c);
            for (int i = 0; !rc && i < sk_X509_num(ch); i++) {
                X509 *x = sk_X509_value(ch, i);
                X509_up_ref(x);
                if (!sk_X509_push(*out, x)) {
                    X509_free(x);
                    rc = MG_ENOMEM;
                }
            }
        }
        EVP_PKEY_free(k);
        sk_X509_pop_free(ch, X509_free);
    }
    free(d);
    return rc;
}

int cms_keys_load_cert(const char *path, X509 **out)
{
    STACK_OF(X509) *sk = NULL;
    int rc = cms_keys_load_certs(path, NULL, &sk);
    if (!rc) {
        *out = sk_X509_shift(sk);
        rc = *out ? 0 : MG_EPARSE;
    }
    sk_X509_pop_free(sk, X509_free);
    return rc;
}

int cms_keys_load_key(const char *path, const char *pass, EVP_PKEY **out)
{
    unsigned char *d;
    size_t len;
    int rc = mg_read_file(path, MAX_FILE, &d, &len);
    if (rc)
        return rc;
    EVP_PKEY *k = NULL;
    if (is_pem(d, len)) {
        BIO *b = BIO_new_mem_buf(d, (int)len);
        /* an empty passphrase callback result fails cleanly instead of prompting */
        k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)(pass ? pass : "")) : NULL;
        BIO_free(b);
    } else {
        const unsigned char *q = d;
        k = d2i_AutoPrivateKey(NULL, &q, (long)len);
        if (!k) {
            X509 *c = NULL;
            STACK_OF(X509) *ch = NULL;
            cms_keys_load_p12(d, len, pass, &k, &c, &ch);
            X509_free(c);
            sk_X509_pop_free(ch, X509_free);
        }
    }
    free(d);
    ERR_clear_error();
    if (!k)
        return MG_ENOKEY;
    *out = k;
    return 0;
}

int cms_keys_parse_crls(const unsigned char *d, size_t len, STACK_OF(X509_CRL) **out)
{
    if (len > INT32_MAX) /* the memory BIO takes an int length */
        return MG_ETOOBIG;
    if (!*out && !(*out = sk_X509_CRL_new_null()))
        return MG_ENOMEM;
    int n = 0;
    if (is_pem(d, len)) {
        BIO *b = BIO_new_mem_buf(d, (int)len);
        X509_CRL *c;
        while (b && (c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
            if (!sk_X509_CRL_push(*out, c)) {
                X509_CRL_free(c);
                break;
            }
            n++;
        }
        BIO_free(b);
    } else {
        const unsigned char *q = d;
        X509_CRL *c = d2i_X509_CRL(NULL, &q, (long)len);
        if (c && sk_X509_CRL_push(*out, c))
            n++;
        else
            X509_CRL_free(c);
    }
    ERR_clear_error();
    return n > 0 ? 0 : MG_EPARSE;
}

int cms_keys_load_crls(const char *path, STACK_OF(X509_CRL) **out)
{
    unsigned char *d;
    size_t len;
    int rc = mg_read_file(path, MAX_FILE, &d, &len);
    if (rc)
        return rc;
    rc = cms_keys_parse_crls(d, len, out);
    free(d);
    return rc;
}

int cms_keys_read_pass(const char *path, char *buf, size_t bufsz)
{
    unsigned char *d;
    size_t len;
    /* mg_read_file reads in 64 KiB steps: a smaller limit would refuse every file */
    int rc = mg_read_file(path, 1u << 17, &d, &len);
    if (rc)
        return rc;
    size_t n = 0;
    while (n < len && d[n] != '\n' && d[n] != '\r')
        n++;
    if (n + 1 > bufsz) {
        free(d);
        return MG_ETOOBIG;
    }
    memcpy(buf, d, n);
    buf[n] = 0;
    free(d);
    return 0;
}
