/* lsw_sign: the shaper's `ess-signature` output: the MTA signs the content (S/MIME, via the cms
 * library) with the label as the ESS security label of its signature. */
#ifndef LSW_SIGN_H
#define LSW_SIGN_H

#include <stddef.h>

struct lsw_signer;

/* Loads the MTA's certificate, key and trust anchors (PEM files; ca may be NULL) at load time.
 * 0, or MG_E* with why filled. */
int lsw_signer_load(const char *cert, const char *key, const char *ca, struct lsw_signer **out, char *why,
                    size_t whyn);
void lsw_signer_free(struct lsw_signer *s);
/* Signs content with ess (ESSSecurityLabel DER) as the signed label; *out malloc'd. Thread-safe
 * for a shared signer (a policy is built per call). 0 or MG_E* with why filled. */
int lsw_sign(const struct lsw_signer *s, const unsigned char *content, size_t len, const unsigned char *ess,
             size_t ess_len, unsigned char **out, size_t *outlen, char *why, size_t whyn);

#endif
