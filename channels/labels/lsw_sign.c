/* lsw_sign: MTA signatures carrying the ESS label (lsw_sign.h), on crypto/cms_wrap. */
#include "lsw_sign.h"
#include "cms_keys.h"
#include "cms_policy.h"
#include "cms_wrap.h"
#include "mg_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lsw_signer {
    X509 *cert;
    EVP_PKEY *key;
    STACK_OF(X509) *anchors;   /* NULL = none */
};

void lsw_signer_free(struct lsw_signer *s)
{
    if (!s)
        return;
    X509_free(s->cert);
    EVP_PKEY_free(s->key);
    sk_X509_pop_free(s->anchors, X509_free);
    free(s);
}

int lsw_signer_load(const char *cert, const char *key, const char *ca, struct lsw_signer **out, char *why,
                    size_t whyn)
{
    *out = NULL;
    struct lsw_signer *s = calloc(1, sizeof *s);
    if (!s)
        return MG_ENOMEM;
    int rc = cms_keys_load_cert(cert, &s->cert);
    if (rc)
        snprintf(why, whyn, "sign_cert %s: %s", cert, mg_strerror(rc));
    else if ((rc = cms_keys_load_key(key, NULL, &s->key)))
        snprintf(why, whyn, "sign_key %s: %s", key, mg_strerror(rc));
    else if (ca && (rc = cms_keys_load_certs(ca, NULL, &s->anchors)))
        snprintf(why, whyn, "sign_ca %s: %s", ca, mg_strerror(rc));
    if (rc) {
        lsw_signer_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int lsw_sign(const struct lsw_signer *s, const unsigned char *content, size_t len, const unsigned char *ess,
             size_t ess_len, unsigned char **out, size_t *outlen, char *why, size_t whyn)
{
    *out = NULL;
    struct cms_policy *p = NULL;
    int rc = cms_policy_create(&p);
    if (!rc)
        rc = cms_policy_set_signer(p, CMS_LAYER_INNER, s->cert, s->key, NULL);
    for (int i = 0; !rc && s->anchors && i < sk_X509_num(s->anchors); i++)
        rc = cms_policy_add_anchor(p, sk_X509_value(s->anchors, i));
    if (!rc)
        rc = cms_policy_set_label(p, CMS_LAYER_INNER, ess, ess_len);
    if (rc) {
        snprintf(why, whyn, "signing policy: %s", mg_strerror(rc));
        cms_policy_free(p);
        return rc;
    }
    struct cms_result res;
    cms_result_init(&res);
    rc = cms_wrap(p, CMS_OP_SIGN, CMS_FORMAT_MIME, content, len, &res);
    if (rc) {
        snprintf(why, whyn, "signing: %s", res.reason[0] ? res.reason : mg_strerror(rc));
    } else {
        *out = res.data;
        *outlen = res.len;
        res.data = NULL;
    }
    cms_result_free(&res);
    cms_policy_free(p);
    return rc;
}
