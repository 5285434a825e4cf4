/* cms_wrap: CMS / S/MIME wrap on message bytes (see cms_wrap.h; the unwrap side is cms_unwrap.c).
 * OpenSSL does the cryptography and the S/MIME encoding; this file chains the layers, adds the
 * ESS attributes OpenSSL has no flag for (security label, equivalent labels, ML expansion
 * history: CMS_PARTIAL then CMS_signed_add1_attr_by_NID), nests binary layers with real
 * eContentTypes, checks certificates against the policy and turns failures into MG_E* codes
 * with a one-line reason. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/pem.h> /* before cms.h: it declares PEM_read_bio_CMS */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include "cms_wrap.h"
#include "cms_internal.h"
#include "cms_fastread.h"
#include "cms_mime.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_log.h"

#define MAX_NEST CMS_MAX_LAYERS

void cms_result_init(struct cms_result *r)
{
    memset(r, 0, sizeof *r);
}

static void layer_clear(struct cms_layer *l)
{
    X509_free(l->signer_cert);
    free(l->label);
    free(l->equiv);
    free(l->mlexp);
    memset(l, 0, sizeof *l);
}

void cms_result_free(struct cms_result *r)
{
    if (!r)
        return;
    free(r->data);
    for (int i = 0; i < r->nlayers && i < CMS_MAX_LAYERS; i++)
        layer_clear(&r->layers[i]);
    sk_X509_pop_free(r->signers, X509_free);
    memset(r, 0, sizeof *r);
}

/* Sets res->reason from fmt and the first OpenSSL error, clears the error queue, returns rc. */
int cms_wrap_fail(struct cms_result *res, int rc, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    if (e && ERR_reason_error_string(e))
        snprintf(res->reason, sizeof res->reason, "%s (%s)", msg, ERR_reason_error_string(e));
    else
        snprintf(res->reason, sizeof res->reason, "%s", msg);
    ERR_clear_error();
    return rc;
}

struct cms_layer *cms_wrap_new_layer(struct cms_result *res, enum cms_layer_kind kind)
{
    if (res->nlayers >= CMS_MAX_LAYERS)
        return NULL;
    struct cms_layer *l = &res->layers[res->nlayers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    return l;
}

void cms_wrap_oid_text(const ASN1_OBJECT *o, char *out, size_t outsz)
{
    if (!o || OBJ_obj2txt(out, (int)outsz, o, 1) <= 0)
        snprintf(out, outsz, "1.2.840.113549.1.7.1");
}

/* Copies a memory BIO's contents into a new NUL-terminated buffer (owned by the caller; an
 * empty BIO gives an empty buffer, never NULL). A memory BIO that was never written has no
 * data pointer at all (an empty signed or encrypted content, an empty first MIME part), and
 * memcpy from NULL is undefined even for 0 bytes: issue 14's fuzzing finding. */
int cms_wrap_bio_take(BIO *b, unsigned char **out, size_t *len)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n < 0 || (n > 0 && !p))
        return MG_EIO;
    unsigned char *c = malloc((size_t)n + 1);
    if (!c)
        return MG_ENOMEM;
    if (n > 0)
        memcpy(c, p, (size_t)n);
    c[n] = 0;
    *out = c;
    *len = (size_t)n;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Signing                                                                                  */

static int add_attr(CMS_SignerInfo *si, int nid, int type, const unsigned char *der, size_t len)
{
    if (!der)
        return 1;
    return CMS_signed_add1_attr_by_NID(si, nid, type, der, (int)len);
}

static int add_receipt_request(CMS_SignerInfo *si, const char *to)
{
    STACK_OF(GENERAL_NAMES) *rto = sk_GENERAL_NAMES_new_null();
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gen = a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_EMAIL, to, 0);
    int ok = 0;
    if (!rto || !gens || !gen || !sk_GENERAL_NAME_push(gens, gen))
        goto out;
    gen = NULL;
    if (!sk_GENERAL_NAMES_push(rto, gens))
        goto out;
    gens = NULL;
    /* allorfirst 0 = receipts from all recipients; the request takes the receiptsTo stack */
    CMS_ReceiptRequest *rr = CMS_ReceiptRequest_create0(NULL, -1, 0, NULL, rto);
    rto = NULL;
    if (!rr)
        goto out;
    ok = CMS_add1_ReceiptRequest(si, rr);
    CMS_ReceiptRequest_free(rr);
out:
    GENERAL_NAME_free(gen);
    GENERAL_NAMES_free(gens);
    sk_GENERAL_NAMES_pop_free(rto, GENERAL_NAMES_free);
    return ok;
}

/* SignedData over data with the signer's attributes; ectype NULL = id-data. */
static int sign_data(const struct cms_policy *p, const struct cms_signer *s, int with_receipt,
                     const unsigned char *data, size_t len, const ASN1_OBJECT *ectype, int detached,
                     CMS_ContentInfo **out, struct cms_result *res)
{
    if (!s->cert || !s->key)
        return cms_wrap_fail(res, MG_ENOKEY, "no signing key and certificate configured");
    char why[300];
    int rc = cms_policy_check_cert(p, s->cert, s->chain, X509_PURPOSE_SMIME_SIGN, why, sizeof why);
    if (rc)
        return cms_wrap_fail(res, rc, "signer not usable: %s", why);
    unsigned flags = CMS_BINARY | CMS_PARTIAL | (detached ? CMS_DETACHED : 0);
    BIO *in = BIO_new_mem_buf(data, (int)len);
    CMS_ContentInfo *cms = in ? CMS_sign(NULL, NULL, s->chain, NULL, flags) : NULL;
    if (!cms)
        goto err;
    if (ectype && !CMS_set1_eContentType(cms, ectype))
        goto err;
    /* CMS_CADES adds signingCertificateV2 (RFC 5035) */
    CMS_SignerInfo *si = CMS_add1_signer(cms, s->cert, s->key, EVP_sha256(), flags | CMS_CADES);
    if (!si)
        goto err;
    if (!add_attr(si, NID_id_smime_aa_securityLabel, V_ASN1_SET, s->label, s->label_len) ||
        !add_attr(si, NID_id_smime_aa_equivalentLabels, V_ASN1_SEQUENCE, s->equiv, s->equiv_len) ||
        !add_attr(si, NID_id_smime_aa_mlExpandHistory, V_ASN1_SEQUENCE, s->mlexp, s->mlexp_len))
        goto err;
    if (with_receipt && p->receipt_to && !add_receipt_request(si, p->receipt_to))
        goto err;
    /* detached too: detached_entity writes the multipart/signed from the finalized SignedData */
    if (!CMS_final(cms, in, NULL, flags))
        goto err;
    BIO_free(in);
    *out = cms;
    return 0;
err:
    BIO_free(in);
    CMS_ContentInfo_free(cms);
    return cms_wrap_fail(res, MG_ECRYPTO, "signing failed");
}

/* ---------------------------------------------------------------------------------------- */
/* Encryption                                                                               */

static const EVP_CIPHER *policy_cipher(const struct cms_policy *p)
{
    switch (p->cipher) {
    case CMS_CIPHER_AES256_CBC: return EVP_aes_256_cbc();
    case CMS_CIPHER_AES128_GCM: return EVP_aes_128_gcm();
    case CMS_CIPHER_AES256_GCM: return EVP_aes_256_gcm();
    default: return EVP_aes_128_cbc();
    }
}

/* A recipient certificate must chain to an anchor, be in its validity period, not be revoked
 * (CMS_encrypt itself checks none of this), allow email protection and the key's use. */
static int check_recipient(const struct cms_policy *p, X509 *cert, struct cms_result *res)
{
    char why[300];
    int rc = cms_policy_check_cert(p, cert, NULL, X509_PURPOSE_ANY, why, sizeof why);
    if (rc)
        return cms_wrap_fail(res, rc, "recipient not usable: %s", why);
    uint32_t xku = X509_get_extended_key_usage(cert);
    uint32_t ku = X509_get_key_usage(cert);
    int is_ec = EVP_PKEY_is_a(X509_get0_pubkey(cert), "EC");
    if (!(xku & (XKU_SMIME | XKU_ANYEKU)) ||
        !(ku & (is_ec ? X509v3_KU_KEY_AGREEMENT : X509v3_KU_KEY_ENCIPHERMENT))) {
        char subj[200];
        X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof subj);
        return cms_wrap_fail(res, MG_EDENIED, "recipient %s: certificate not for S/MIME encryption", subj);
    }
    return 0;
}

int cms_wrap_check_recipient(const struct cms_policy *p, X509 *cert, char *why, size_t whylen)
{
    struct cms_result res;
    cms_result_init(&res);
    int rc = p && cert ? check_recipient(p, cert, &res) : MG_EINVAL;
    if (why && whylen)
        snprintf(why, whylen, "%s", rc ? res.reason : "");
    cms_result_free(&res);
    return rc;
}

static int add_recipient(const struct cms_policy *p, CMS_ContentInfo *cms, X509 *cert)
{
    CMS_RecipientInfo *ri = CMS_add1_recipient_cert(cms, cert, CMS_KEY_PARAM);
    if (!ri)
        return 0;
    EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
    if (!pctx)
        return 1;
    if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS && p->rsa_oaep) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0)
            return 0;
    } else if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE && p->ecdh_sha256) {
        if (EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0)
            return 0;
    }
    return 1;
}

static int encrypt_data(const struct cms_policy *p, const unsigned char *data, size_t len,
                        const ASN1_OBJECT *ectype, CMS_ContentInfo **out, struct cms_result *res)
{
    int n = sk_X509_num(p->recipients);
    X509 *self = p->encrypt_to_self ? p->signer[CMS_LAYER_INNER].cert : NULL;
    if (n <= 0 && !self)
        return cms_wrap_fail(res, MG_ENOKEY, "no recipient certificate");
    for (int i = 0; i < n; i++) {
        int rc = check_recipient(p, sk_X509_value(p->recipients, i), res);
        if (rc)
            return rc;
    }
    unsigned flags = CMS_BINARY | CMS_PARTIAL;
    BIO *in = BIO_new_mem_buf(data, (int)len);
    CMS_ContentInfo *cms = in ? CMS_encrypt(NULL, NULL, policy_cipher(p), flags) : NULL;
    if (!cms)
        goto err;
    for (int i = 0; i < n; i++)
        if (!add_recipient(p, cms, sk_X509_value(p->recipients, i)))
            goto err;
    if (self && X509_find_by_issuer_and_serial(p->recipients, X509_get_issuer_name(self),
                                               X509_get_serialNumber(self)) == NULL &&
        !add_recipient(p, cms, self))
        goto err;
    if (ectype && !CMS_set1_eContentType(cms, ectype))
        goto err;
    if (!CMS_final(cms, in, NULL, flags))
        goto err;
    BIO_free(in);
    *out = cms;
    return 0;
err:
    BIO_free(in);
    CMS_ContentInfo_free(cms);
    return cms_wrap_fail(res, MG_ECRYPTO, "encryption failed");
}

/* 1 if every policy recipient already has a RecipientInfo in cms. */
static int covers_recipients(const struct cms_policy *p, CMS_ContentInfo *cms)
{
    STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
    int n = sk_X509_num(p->recipients);
    if (!ris || n == 0)
        return 0;
    for (int i = 0; i < n; i++) {
        X509 *c = sk_X509_value(p->recipients, i);
        int found = 0;
        for (int j = 0; j < sk_CMS_RecipientInfo_num(ris) && !found; j++) {
            CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, j);
            if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS) {
                found = CMS_RecipientInfo_ktri_cert_cmp(ri, c) == 0;
            } else if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE) {
                STACK_OF(CMS_RecipientEncryptedKey) *reks = CMS_RecipientInfo_kari_get0_reks(ri);
                for (int k = 0; k < sk_CMS_RecipientEncryptedKey_num(reks) && !found; k++)
                    found = CMS_RecipientEncryptedKey_cert_cmp(
                                sk_CMS_RecipientEncryptedKey_value(reks, k), c) == 0;
            }
        }
        if (!found)
            return 0;
    }
    ERR_clear_error();
    return 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Wrap                                                                                     */

static int record_wrap_layer(struct cms_result *res, enum cms_layer_kind kind,
                             const struct cms_signer *s, const ASN1_OBJECT *ectype)
{
    struct cms_layer *l = cms_wrap_new_layer(res, kind);
    if (!l)
        return MG_ETOOBIG;
    cms_wrap_oid_text(ectype, l->content_type, sizeof l->content_type);
    if (s && s->cert) {
        X509_NAME_oneline(X509_get_subject_name(s->cert), l->signer, sizeof l->signer);
        if (s->label && (l->label = malloc(s->label_len))) {
            memcpy(l->label, s->label, s->label_len);
            l->label_len = s->label_len;
        }
    }
    return 0;
}

/* The kind of layer encrypt_data makes: a GCM cipher gives AuthEnvelopedData (RFC 5083). Both
 * forms record it so, as the reader does (the binary wrap said "enveloped" for either: found by
 * the crypto_wrap fuzz target's round trip). */
static enum cms_layer_kind encrypted_kind(const struct cms_policy *p)
{
    return p->cipher >= CMS_CIPHER_AES128_GCM ? CMS_KIND_AUTH_ENVELOPED : CMS_KIND_ENVELOPED;
}

int cms_wrap_is_enveloped_nid(int nid)
{
    return nid == NID_pkcs7_enveloped || nid == NID_id_smime_ct_authEnvelopedData;
}

/* The signer used for the outer layer: its own if set, else the inner key and certificate with
 * the outer label and attributes (built in *tmp, references borrowed). */
static const struct cms_signer *pick_outer(const struct cms_policy *p, struct cms_signer *tmp)
{
    if (p->signer[CMS_LAYER_OUTER].cert)
        return &p->signer[CMS_LAYER_OUTER];
    *tmp = p->signer[CMS_LAYER_OUTER];
    tmp->cert = p->signer[CMS_LAYER_INNER].cert;
    tmp->key = p->signer[CMS_LAYER_INNER].key;
    tmp->chain = p->signer[CMS_LAYER_INNER].chain;
    return tmp;
}

int cms_wrap_der_of(CMS_ContentInfo *cms, unsigned char **out, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_CMS_ContentInfo(cms, &der);
    if (n <= 0)
        return MG_ECRYPTO;
    unsigned char *c = malloc((size_t)n);
    if (!c) {
        OPENSSL_free(der);
        return MG_ENOMEM;
    }
    memcpy(c, der, (size_t)n);
    OPENSSL_free(der);
    *out = c;
    *len = (size_t)n;
    return 0;
}

/* Binary wrap: cur holds content octets of type cur_type (NULL = policy content type). */
static int wrap_der(const struct cms_policy *p, unsigned ops, const unsigned char *in, size_t len,
                    struct cms_result *res)
{
    unsigned char *cur = NULL;      /* owned: content octets for the next layer */
    size_t curlen = 0;
    const ASN1_OBJECT *ctype = p->content_type;
    unsigned char *ci = NULL;       /* owned: the last ContentInfo produced */
    size_t cilen = 0;
    int rc = 0;

    /* Input that already is CMS: continue from it (encrypt and/or outer-sign a signed message). */
    CMS_ContentInfo *incms = NULL;
    if (!(ops & CMS_OP_SIGN) && cms_wrap_is_der(in, len)) {
        const unsigned char *q = in;
        incms = d2i_CMS_ContentInfo(NULL, &q, (long)len);
    }
    ERR_clear_error();
    if (incms) {
        int nid = OBJ_obj2nid(CMS_get0_type(incms));
        if ((ops & CMS_OP_ENCRYPT) && cms_wrap_is_enveloped_nid(nid) && covers_recipients(p, incms)) {
            res->skipped_encrypt = 1;
            ops &= ~(unsigned)CMS_OP_ENCRYPT;
        }
        const unsigned char *c;
        size_t clen;
        if ((rc = cms_der_unwrap(in, len, &c, &clen)) != 0) {
            CMS_ContentInfo_free(incms);
            return cms_wrap_fail(res, rc, "input ContentInfo not re-encodable");
        }
        /* id-data is the one type whose content is not carried as its encoding: the eContent
         * of a layer over data holds the octets themselves (RFC 5652 5.2), not the OCTET
         * STRING around them (the recipient got that header as part of the message: found by
         * the crypto_wrap fuzz target) */
        ASN1_OCTET_STRING **os = nid == NID_pkcs7_data ? CMS_get0_content(incms) : NULL;
        if (os && *os) {
            c = ASN1_STRING_get0_data(*os);
            clen = (size_t)ASN1_STRING_length(*os);
        }
        ctype = CMS_get0_type(incms);
        cur = malloc(clen ? clen : 1);
        if (!cur) {
            CMS_ContentInfo_free(incms);
            return MG_ENOMEM;
        }
        memcpy(cur, c, clen);
        curlen = clen;
        if (!ops) { /* nothing left to add: hand back the input */
            ci = malloc(len);
            if (ci)
                memcpy(ci, in, len), cilen = len;
        }
    } else {
        cur = malloc(len ? len : 1);
        if (!cur)
            return MG_ENOMEM;
        memcpy(cur, in, len);
        curlen = len;
    }

    static const unsigned order[] = { CMS_OP_SIGN, CMS_OP_ENCRYPT, CMS_OP_OUTER_SIGN };
    for (size_t i = 0; i < 3 && !rc; i++) {
        if (!(ops & order[i]))
            continue;
        CMS_ContentInfo *cms = NULL;
        struct cms_signer tmp;
        const struct cms_signer *s = NULL;
        if (order[i] == CMS_OP_ENCRYPT) {
            rc = encrypt_data(p, cur, curlen, ctype, &cms, res);
        } else {
            s = order[i] == CMS_OP_SIGN ? &p->signer[CMS_LAYER_INNER] : pick_outer(p, &tmp);
            rc = sign_data(p, s, order[i] == CMS_OP_SIGN, cur, curlen, ctype, 0, &cms, res);
        }
        if (rc)
            break;
        rc = record_wrap_layer(res, order[i] == CMS_OP_ENCRYPT ? encrypted_kind(p) : CMS_KIND_SIGNED,
                               s, ctype);
        free(ci);
        ci = NULL;
        if (!rc)
            rc = cms_wrap_der_of(cms, &ci, &cilen);
        ctype = CMS_get0_type(cms);
        int nid = OBJ_obj2nid(ctype);
        CMS_ContentInfo_free(cms);
        ctype = OBJ_nid2obj(nid); /* static table object: outlives cms */
        if (rc)
            break;
        const unsigned char *c;
        size_t clen;
        if ((rc = cms_der_unwrap(ci, cilen, &c, &clen)) != 0)
            break;
        unsigned char *n = malloc(clen ? clen : 1);
        if (!n) {
            rc = MG_ENOMEM;
            break;
        }
        memcpy(n, c, clen);
        free(cur);
        cur = n;
        curlen = clen;
    }
    CMS_ContentInfo_free(incms);
    free(cur);
    if (!rc && !ci)
        rc = cms_wrap_fail(res, MG_EINVAL, "nothing to do");
    if (rc) {
        free(ci);
        return rc;
    }
    res->data = ci;
    res->len = cilen;
    return 0;
}

/* Writes cms as a MIME entity (SMIME_write_CMS), CRLF line ends, without MIME-Version. */
/* The smime-type of an opaque entity for cms, as OpenSSL's S/MIME writer names it, or NULL
 * for a kind this file leaves to that writer (certs-only, receipts, compressed data). */
static const char *opaque_smime_type(CMS_ContentInfo *cms)
{
    int nid = OBJ_obj2nid(CMS_get0_type(cms));
    if (nid == NID_pkcs7_enveloped)
        return "enveloped-data";
    if (nid == NID_id_smime_ct_authEnvelopedData)
        return "authEnveloped-data";
    if (nid == NID_pkcs7_signed &&
        OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_id_smime_ct_receipt &&
        sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) > 0)
        return "signed-data";
    return NULL;
}

/* der as base64 in 64-column lines, each ended with CRLF, as OpenSSL's S/MIME writer breaks
 * them. */
static int append_base64_lines(struct mg_buf *out, const unsigned char *der, size_t dl)
{
    /* 48 octets make a 64-column line; EVP_EncodeBlock NUL-terminates, hence the + 3 */
    int rc = mg_buf_reserve(out, (dl + 47) / 48 * 66 + 3);
    for (size_t off = 0; !rc && off < dl; off += 48) {
        size_t n = dl - off < 48 ? dl - off : 48;
        int w = EVP_EncodeBlock((unsigned char *)out->data + out->len, der + off, (int)n);
        out->len += (size_t)w;
        memcpy(out->data + out->len, "\r\n", 2);
        out->len += 2;
    }
    return rc;
}

/* An opaque S/MIME entity (application/pkcs7-mime) written here, not by SMIME_write_CMS: the
 * same fields in the same order and the base64 body in 64-column lines, but CRLF at once and
 * the DER encoded in one pass. OpenSSL's writer goes through a chain of BIOs (its base64 filter
 * buffers every 48 bytes) and bare-LF lines we then rewrite: a third of the cost of a signed
 * and encrypted message's wrap. unit.crypto_cms checks the two give the same bytes. */
static int opaque_entity(CMS_ContentInfo *cms, const char *type, struct mg_buf *out)
{
    unsigned char *der = NULL;
    size_t dl = 0;
    int rc = cms_wrap_der_of(cms, &der, &dl);
    if (rc)
        return rc;
    mg_buf_reset(out);
    rc = mg_buf_appendf(out, "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n"
                             "Content-Type: application/pkcs7-mime; smime-type=%s;"
                             " name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
                        type);
    if (!rc)
        rc = append_base64_lines(out, der, dl);
    if (!rc)
        rc = mg_buf_append(out, "\r\n", 2);
    free(der);
    return rc;
}

/* The micalg parameter of a multipart/signed (RFC 8551 3.5.3.2): the signers' digests, as
 * OpenSSL's writer names them for the digests we sign with. */
static int append_micalg(struct mg_buf *out, CMS_ContentInfo *cms)
{
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
    int rc = 0;
    for (int i = 0; !rc && i < sk_CMS_SignerInfo_num(sis); i++) {
        X509_ALGOR *dig = NULL;
        CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, i), NULL, NULL, &dig, NULL);
        const char *name;
        switch (dig ? OBJ_obj2nid(dig->algorithm) : NID_undef) {
        case NID_md5: name = "md5"; break;
        case NID_sha1: name = "sha1"; break;
        case NID_sha224: name = "sha-224"; break;
        case NID_sha256: name = "sha-256"; break;
        case NID_sha384: name = "sha-384"; break;
        case NID_sha512: name = "sha-512"; break;
        default: name = "unknown"; break;
        }
        rc = mg_buf_appendf(out, "%s%s", i ? "," : "", name);
    }
    return rc;
}

/* A clear-signed entity (multipart/signed, RFC 8551 3.5.3) written here, not by
 * SMIME_write_CMS: the same fields, preamble and part order as OpenSSL's writer, a boundary of
 * 32 random hex digits as it makes them, and the content part exactly the octets signed (they
 * are CRLF already). OpenSSL streams the content through a BIO chain that signs while it copies,
 * then base64 through a filter with bare-LF lines that we rewrote: with the signing done by
 * CMS_final this is one pass. unit.crypto_cms checks the result against OpenSSL's writer. */
static int detached_entity(CMS_ContentInfo *cms, const unsigned char *data, size_t len,
                           struct mg_buf *out)
{
    unsigned char rnd[32];
    char bound[33];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return MG_ECRYPTO;
    for (size_t i = 0; i < 32; i++) {
        unsigned c = rnd[i] & 0xf;
        bound[i] = (char)(c < 10 ? '0' + c : 'A' + c - 10);
    }
    bound[32] = 0;
    unsigned char *der = NULL;
    size_t dl = 0;
    int rc = cms_wrap_der_of(cms, &der, &dl);
    if (rc)
        return rc;
    mg_buf_reset(out);
    rc = mg_buf_appendf(out, "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
                             " micalg=\"");
    if (!rc)
        rc = append_micalg(out, cms);
    if (!rc)
        rc = mg_buf_appendf(out, "\"; boundary=\"----%s\"\r\n\r\nThis is an S/MIME signed message"
                                 "\r\n\r\n------%s\r\n", bound, bound);
    if (!rc)
        rc = mg_buf_append(out, data, len);
    if (!rc)
        rc = mg_buf_appendf(out, "\r\n------%s\r\nContent-Type: application/pkcs7-signature;"
                                 " name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n"
                                 "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n",
                            bound);
    if (!rc)
        rc = append_base64_lines(out, der, dl);
    if (!rc)
        rc = mg_buf_appendf(out, "\r\n------%s--\r\n\r\n", bound);
    free(der);
    return rc;
}

static int smime_entity(CMS_ContentInfo *cms, const unsigned char *data, size_t len, int detached,
                        struct mg_buf *out)
{
    if (detached)
        return detached_entity(cms, data, len, out);
    const char *type = opaque_smime_type(cms);
    if (type)
        return opaque_entity(cms, type, out);
    BIO *o = BIO_new(BIO_s_mem());
    int rc = MG_ECRYPTO;
    if (!o)
        goto done;
    if (!SMIME_write_CMS(o, cms, NULL, CMS_CRLFEOL | CMS_BINARY))
        goto done;
    char *p;
    long n = BIO_get_mem_data(o, &p);
    static const char mv[] = "MIME-Version: 1.0\r\n";
    if (n >= (long)sizeof mv - 1 && !memcmp(p, mv, sizeof mv - 1))
        p += sizeof mv - 1, n -= (long)sizeof mv - 1;
    mg_buf_reset(out);
    /* canonical CRLF throughout: OpenSSL writes base64 bodies with bare LF, and the next layer
     * must sign exactly what a reader's MIME parser hands back */
    rc = cms_mime_append_crlf(out, (const unsigned char *)p, (size_t)n);
done:
    BIO_free(o);
    return rc;
}

int cms_wrap_is_outer_header(const struct cms_mime_field *f)
{
    return !(f->namelen >= 8 && strncasecmp(f->name, "Content-", 8) == 0) &&
           !cms_mime_field_is(f, "MIME-Version");
}

/* Fields kept on the outside with header protection: just enough to route and thread. */
static int is_minimal_header(const struct cms_mime_field *f)
{
    static const char *const keep[] = { "From", "To", "Cc", "Date", "Message-ID", "Subject",
                                        "Received", "Return-Path", NULL };
    for (int i = 0; keep[i]; i++)
        if (cms_mime_field_is(f, keep[i]))
            return 1;
    return 0;
}

/* One header field with CRLF line ends. The last field of a message with no body may have no
 * line end at all; it gets one, or the next field written after it (MIME-Version) would run
 * into its value (found by the crypto_wrap fuzz target). */
static int append_field(struct mg_buf *b, const struct cms_mime_field *f)
{
    int rc = cms_mime_append_crlf(b, (const unsigned char *)f->raw, f->rawlen);
    if (!rc && (f->rawlen == 0 || f->raw[f->rawlen - 1] != '\n'))
        rc = mg_buf_append(b, "\r\n", 2);
    return rc;
}

static int wrap_mime(const struct cms_policy *p, unsigned ops, const unsigned char *in, size_t len,
                     struct cms_result *res)
{
    const unsigned char *hdr, *body;
    size_t hl, bl;
    if (cms_mime_split(in, len, &hdr, &hl, &body, &bl))
        return cms_wrap_fail(res, MG_EPARSE, "empty message");
    struct mg_buf outer, ent, next;
    mg_buf_init(&outer, p->max_size * 2 + 4096);
    mg_buf_init(&ent, p->max_size * 2 + 4096);
    mg_buf_init(&next, p->max_size * 2 + 4096);
    int rc = 0;
    size_t pos = 0;
    struct cms_mime_field f;
    int hp = p->header_protection;
    int have_ct = 0;

    /* Outer header and the first entity. */
    while (cms_mime_next_field(hdr, hl, &pos, &f)) {
        if (hp ? is_minimal_header(&f) : cms_wrap_is_outer_header(&f)) {
            if (hp && (ops & CMS_OP_ENCRYPT) && cms_mime_field_is(&f, "Subject"))
                rc = mg_buf_append(&outer, "Subject: [...]\r\n", 16);
            else
                rc = append_field(&outer, &f);
        } else if (!hp && !cms_wrap_is_outer_header(&f)) {
            if (cms_mime_field_is(&f, "Content-Type"))
                have_ct = 1;
            if (!cms_mime_field_is(&f, "MIME-Version"))
                rc = append_field(&ent, &f);
        }
        if (rc)
            goto out;
    }
    if (hp) {
        /* RFC 8551 section 3.1: the whole message becomes a message/rfc822 entity */
        rc = mg_buf_append(&ent, "Content-Type: message/rfc822\r\n\r\n", 32);
        if (!rc)
            rc = cms_mime_append_crlf(&ent, in, len);
    } else {
        if (!have_ct)
            rc = mg_buf_append(&ent, "Content-Type: text/plain; charset=us-ascii\r\n", 44);
        if (!rc)
            rc = mg_buf_append(&ent, "\r\n", 2);
        if (!rc)
            rc = cms_mime_append_crlf(&ent, body, bl);
    }
    if (rc)
        goto out;

    /* Already encrypted for the same recipients: never encrypt again. */
    if ((ops & CMS_OP_ENCRYPT) && !hp && cms_mime_classify(ent.data, ent.len) == CMS_MIME_PKCS7) {
        BIO *b = BIO_new_mem_buf(ent.data, (int)ent.len);
        CMS_ContentInfo *c = b ? SMIME_read_CMS(b, NULL) : NULL;
        if (c && cms_wrap_is_enveloped_nid(OBJ_obj2nid(CMS_get0_type(c))) && covers_recipients(p, c)) {
            res->skipped_encrypt = 1;
            ops &= ~(unsigned)(CMS_OP_ENCRYPT | CMS_OP_SIGN);
        }
        CMS_ContentInfo_free(c);
        BIO_free(b);
        ERR_clear_error();
    }

    if (!ops && res->skipped_encrypt) { /* nothing to add: the message goes out unchanged */
        unsigned char *c = malloc(len ? len : 1);
        if (!c) {
            rc = MG_ENOMEM;
            goto out;
        }
        memcpy(c, in, len);
        res->data = c;
        res->len = len;
        goto out;
    }
    static const unsigned order[] = { CMS_OP_SIGN, CMS_OP_ENCRYPT, CMS_OP_OUTER_SIGN };
    for (size_t i = 0; i < 3; i++) {
        if (!(ops & order[i]))
            continue;
        CMS_ContentInfo *cms = NULL;
        struct cms_signer tmp;
        const struct cms_signer *s = NULL;
        int detached = 0;
        if (order[i] == CMS_OP_ENCRYPT) {
            rc = encrypt_data(p, ent.data, ent.len, NULL, &cms, res);
        } else {
            s = order[i] == CMS_OP_SIGN ? &p->signer[CMS_LAYER_INNER] : pick_outer(p, &tmp);
            detached = p->detached;
            rc = sign_data(p, s, order[i] == CMS_OP_SIGN, ent.data, ent.len, NULL, detached, &cms, res);
        }
        if (rc)
            goto out;
        rc = record_wrap_layer(res, order[i] == CMS_OP_ENCRYPT ? encrypted_kind(p) : CMS_KIND_SIGNED,
                               s, NULL);
        if (!rc)
            rc = smime_entity(cms, ent.data, ent.len, detached, &next);
        CMS_ContentInfo_free(cms);
        if (rc) {
            cms_wrap_fail(res, rc, "S/MIME encoding failed");
            goto out;
        }
        struct mg_buf t = ent;
        ent = next;
        next = t;
    }
    if (!ops && !res->skipped_encrypt) {
        rc = cms_wrap_fail(res, MG_EINVAL, "nothing to do");
        goto out;
    }
    if ((rc = mg_buf_append(&outer, "MIME-Version: 1.0\r\n", 19)) ||
        (rc = mg_buf_append(&outer, ent.data, ent.len)))
        goto out;
    /* The reader takes what parses as a ContentInfo as DER (cms_unwrap): a first header line
     * that begins one, with a length our S/MIME after it fills, would make our own output read
     * as DER (and fail with trailing bytes). Found by the crypto_wrap fuzz target. */
    if (cms_wrap_is_der(outer.data, outer.len)) {
        const unsigned char *q = outer.data;
        CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &q, (long)outer.len);
        ERR_clear_error();
        if (ci) {
            CMS_ContentInfo_free(ci);
            rc = cms_wrap_fail(res, MG_EPARSE, "the first header line begins a CMS ContentInfo: "
                                               "the wrapped message would read as DER");
            goto out;
        }
    }
    /* The same for PEM: a first field that begins with a CMS PEM start line (continued on the
     * next line, so it has its colon) would make the reader take our output as PEM. */
    if (cms_wrap_is_pem(outer.data, outer.len)) {
        rc = cms_wrap_fail(res, MG_EPARSE, "the first header line is a CMS PEM start line: "
                                           "the wrapped message would read as PEM");
        goto out;
    }
    res->data = mg_buf_steal(&outer, &res->len);
out:
    if (rc == MG_ETOOBIG)
        cms_wrap_fail(res, rc, "message too big");
    mg_buf_free(&outer);
    mg_buf_free(&ent);
    mg_buf_free(&next);
    return rc;
}

int cms_wrap_is_pem(const unsigned char *in, size_t len)
{
    static const char *const starts[] = { "-----BEGIN CMS-----", "-----BEGIN PKCS7-----" };
    if (!in || !len)
        return 0;
    const unsigned char *nl = memchr(in, '\n', len);
    size_t n = nl ? (size_t)(nl - in) : len;
    while (n && (in[n - 1] == '\r' || in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
        if (n == strlen(starts[i]) && !memcmp(in, starts[i], n))
            return 1;
    return 0;
}

int cms_wrap_is_der(const unsigned char *in, size_t len)
{
    if (len < 2 || in[0] != 0x30)
        return 0;
    const unsigned char *q = in;
    long l;
    int tag, cls;
    int r = ASN1_get_object(&q, &l, &tag, &cls, (long)(len > LONG_MAX ? LONG_MAX : len));
    ERR_clear_error();
    if (r & 0x80)
        return 0;
    /* next must be an OBJECT IDENTIFIER (the contentType) */
    return (size_t)(q - in) < len && *q == 0x06;
}

int cms_wrap(const struct cms_policy *p, unsigned ops, enum cms_format fmt,
             const unsigned char *in, size_t len, struct cms_result *res)
{
    cms_result_init(res);
    if (!p || !in || !ops || (ops & ~(unsigned)CMS_OP_TRIPLE))
        return cms_wrap_fail(res, MG_EINVAL, "bad arguments");
    /* OpenSSL's BIOs take int lengths and MIME canonicalization can double the size */
    if (len > p->max_size || len > INT_MAX / 4)
        return cms_wrap_fail(res, MG_ETOOBIG, "message of %zu bytes exceeds the limit of %zu", len, p->max_size);
    ERR_clear_error();
    int rc = fmt == CMS_FORMAT_DER ? wrap_der(p, ops, in, len, res) : wrap_mime(p, ops, in, len, res);
    ERR_clear_error();
    return rc;
}

