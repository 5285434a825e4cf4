/* cms_wrap: CMS / S/MIME wrap and unwrap on message bytes (see cms_wrap.h).
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
static int fail(struct cms_result *res, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct cms_result *res, int rc, const char *fmt, ...)
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

static struct cms_layer *new_layer(struct cms_result *res, enum cms_layer_kind kind)
{
    if (res->nlayers >= CMS_MAX_LAYERS)
        return NULL;
    struct cms_layer *l = &res->layers[res->nlayers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    return l;
}

static void oid_text(const ASN1_OBJECT *o, char *out, size_t outsz)
{
    if (!o || OBJ_obj2txt(out, (int)outsz, o, 1) <= 0)
        snprintf(out, outsz, "1.2.840.113549.1.7.1");
}

/* Copies a memory BIO's contents into a new NUL-terminated buffer (owned by the caller; an
 * empty BIO gives an empty buffer, never NULL). A memory BIO that was never written has no
 * data pointer at all (an empty signed or encrypted content, an empty first MIME part), and
 * memcpy from NULL is undefined even for 0 bytes: issue 14's fuzzing finding. */
static int bio_take(BIO *b, unsigned char **out, size_t *len)
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
        return fail(res, MG_ENOKEY, "no signing key and certificate configured");
    char why[300];
    int rc = cms_policy_check_cert(p, s->cert, s->chain, X509_PURPOSE_SMIME_SIGN, why, sizeof why);
    if (rc)
        return fail(res, rc, "signer not usable: %s", why);
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
    /* Detached S/MIME is finalized while SMIME_write_CMS streams the content (CMS_STREAM):
     * OpenSSL 3.0's non-streaming multipart/signed output signs a second time and fails. */
    if (!detached && !CMS_final(cms, in, NULL, flags))
        goto err;
    BIO_free(in);
    *out = cms;
    return 0;
err:
    BIO_free(in);
    CMS_ContentInfo_free(cms);
    return fail(res, MG_ECRYPTO, "signing failed");
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
        return fail(res, rc, "recipient not usable: %s", why);
    uint32_t xku = X509_get_extended_key_usage(cert);
    uint32_t ku = X509_get_key_usage(cert);
    int is_ec = EVP_PKEY_is_a(X509_get0_pubkey(cert), "EC");
    if (!(xku & (XKU_SMIME | XKU_ANYEKU)) ||
        !(ku & (is_ec ? X509v3_KU_KEY_AGREEMENT : X509v3_KU_KEY_ENCIPHERMENT))) {
        char subj[200];
        X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof subj);
        return fail(res, MG_EDENIED, "recipient %s: certificate not for S/MIME encryption", subj);
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
        return fail(res, MG_ENOKEY, "no recipient certificate");
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
    return fail(res, MG_ECRYPTO, "encryption failed");
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
    struct cms_layer *l = new_layer(res, kind);
    if (!l)
        return MG_ETOOBIG;
    oid_text(ectype, l->content_type, sizeof l->content_type);
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

static int is_enveloped_nid(int nid)
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

static int der_of(CMS_ContentInfo *cms, unsigned char **out, size_t *len)
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
        if ((ops & CMS_OP_ENCRYPT) && is_enveloped_nid(nid) && covers_recipients(p, incms)) {
            res->skipped_encrypt = 1;
            ops &= ~(unsigned)CMS_OP_ENCRYPT;
        }
        const unsigned char *c;
        size_t clen;
        if ((rc = cms_der_unwrap(in, len, &c, &clen)) != 0) {
            CMS_ContentInfo_free(incms);
            return fail(res, rc, "input ContentInfo not re-encodable");
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
            rc = der_of(cms, &ci, &cilen);
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
        rc = fail(res, MG_EINVAL, "nothing to do");
    if (rc) {
        free(ci);
        return rc;
    }
    res->data = ci;
    res->len = cilen;
    return 0;
}

/* Writes cms as a MIME entity (SMIME_write_CMS), CRLF line ends, without MIME-Version. */
static int smime_entity(CMS_ContentInfo *cms, const unsigned char *data, size_t len, int detached,
                        struct mg_buf *out)
{
    BIO *o = BIO_new(BIO_s_mem());
    BIO *d = detached ? BIO_new_mem_buf(data, (int)len) : NULL;
    int rc = MG_ECRYPTO;
    if (!o || (detached && !d))
        goto done;
    unsigned flags = CMS_CRLFEOL | CMS_BINARY | (detached ? CMS_DETACHED : 0);
    if (!SMIME_write_CMS(o, cms, d, (int)(flags | (detached ? CMS_STREAM : 0))))
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
    BIO_free(d);
    return rc;
}

static int is_outer_header(const struct cms_mime_field *f)
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
        return fail(res, MG_EPARSE, "empty message");
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
        if (hp ? is_minimal_header(&f) : is_outer_header(&f)) {
            if (hp && (ops & CMS_OP_ENCRYPT) && cms_mime_field_is(&f, "Subject"))
                rc = mg_buf_append(&outer, "Subject: [...]\r\n", 16);
            else
                rc = append_field(&outer, &f);
        } else if (!hp && !is_outer_header(&f)) {
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
        if (c && is_enveloped_nid(OBJ_obj2nid(CMS_get0_type(c))) && covers_recipients(p, c)) {
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
            fail(res, rc, "S/MIME encoding failed");
            goto out;
        }
        struct mg_buf t = ent;
        ent = next;
        next = t;
    }
    if (!ops && !res->skipped_encrypt) {
        rc = fail(res, MG_EINVAL, "nothing to do");
        goto out;
    }
    if ((rc = mg_buf_append(&outer, "MIME-Version: 1.0\r\n", 19)) ||
        (rc = mg_buf_append(&outer, ent.data, ent.len)))
        goto out;
    res->data = mg_buf_steal(&outer, &res->len);
out:
    if (rc == MG_ETOOBIG)
        fail(res, rc, "message too big");
    mg_buf_free(&outer);
    mg_buf_free(&ent);
    mg_buf_free(&next);
    return rc;
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
        return fail(res, MG_EINVAL, "bad arguments");
    /* OpenSSL's BIOs take int lengths and MIME canonicalization can double the size */
    if (len > p->max_size || len > INT_MAX / 4)
        return fail(res, MG_ETOOBIG, "message of %zu bytes exceeds the limit of %zu", len, p->max_size);
    ERR_clear_error();
    int rc = fmt == CMS_FORMAT_DER ? wrap_der(p, ops, in, len, res) : wrap_mime(p, ops, in, len, res);
    ERR_clear_error();
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Unwrap                                                                                   */

static int copy_attr(CMS_SignerInfo *si, int nid, unsigned char **out, size_t *len)
{
    int idx = CMS_signed_get_attr_by_NID(si, nid, -1);
    if (idx < 0)
        return 0;
    X509_ATTRIBUTE *a = CMS_signed_get_attr(si, idx);
    ASN1_TYPE *t = a ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
    if (!t || (t->type != V_ASN1_SET && t->type != V_ASN1_SEQUENCE) || !t->value.sequence)
        return 0;
    const ASN1_STRING *s = t->value.sequence;
    if (s->length <= 0 || !(*out = malloc((size_t)s->length)))
        return 0;
    memcpy(*out, s->data, (size_t)s->length);
    *len = (size_t)s->length;
    return 1;
}

static int verify_reason(struct cms_result *res, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    int reason = ERR_GET_LIB(e) == ERR_LIB_CMS ? ERR_GET_REASON(e) : 0;
    switch (reason) {
    case CMS_R_CONTENT_VERIFY_ERROR:
        return fail(res, MG_EVERIFY, "%s: content altered (message digest mismatch)", what);
    case CMS_R_VERIFICATION_FAILURE:
        return fail(res, MG_EVERIFY, "%s: signature does not verify", what);
    case CMS_R_SIGNER_CERTIFICATE_NOT_FOUND:
        return fail(res, MG_ENOKEY, "%s: signer certificate not found", what);
    case CMS_R_NO_CONTENT:
        return fail(res, MG_EPARSE, "%s: detached signature without content", what);
    default:
        return fail(res, MG_EVERIFY, "%s: verification failed", what);
    }
}

static int try_verify(CMS_ContentInfo *cms, STACK_OF(X509) *certs, const unsigned char *d,
                      size_t dlen, int have_d, unsigned char **out, size_t *outlen)
{
    /* The detached content goes through a buffer BIO, not a bare memory BIO: OpenSSL 3.0's
     * CMS_verify copies a memory BIO into a private one that it leaks on some early errors. */
    BIO *mem = have_d ? BIO_new_mem_buf(d, (int)dlen) : NULL;
    BIO *buf = have_d ? BIO_new(BIO_f_buffer()) : NULL;
    BIO *dc = NULL;
    if (mem && buf) {
        dc = BIO_push(buf, mem);
        mem = buf = NULL;
    }
    BIO *o = BIO_new(BIO_s_mem());
    int ok = o && (!have_d || dc) &&
             CMS_verify(cms, certs, NULL, dc, o, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1;
    if (ok && bio_take(o, out, outlen))
        ok = 0;
    BIO_free_all(dc);
    BIO_free(mem);
    BIO_free(buf);
    BIO_free(o);
    return ok;
}

/* Verify one SignedData (detached content in d when have_d) and record it in l. given: the
 * certificates the message carried when cms_fastread cut them out of cms (borrowed), else NULL
 * (they are in cms). */
static int verify_layer(const struct cms_policy *p, CMS_ContentInfo *cms, STACK_OF(X509) *given,
                        const unsigned char *d, size_t dlen, int have_d, struct cms_layer *l,
                        unsigned char **out, size_t *outlen, struct cms_result *res)
{
    int rc = 0;
    STACK_OF(X509) *own = given ? NULL : CMS_get1_certs(cms);
    STACK_OF(X509) *msgcerts = given ? given : own;
    /* where CMS_verify looks for the signer: the message's certificates (cut out of cms, so
     * they go in the list) and the configured intermediates */
    STACK_OF(X509) *vcerts = p->untrusted, *both = NULL;
    if (sk_X509_num(given) > 0) {
        if (!(both = sk_X509_dup(given)))
            return fail(res, MG_ENOMEM, "out of memory");
        for (int i = 0; i < sk_X509_num(p->untrusted); i++)
            if (!sk_X509_push(both, sk_X509_value(p->untrusted, i))) {
                sk_X509_free(both);
                return fail(res, MG_ENOMEM, "out of memory");
            }
        vcerts = both;
    }
    STACK_OF(X509) *signers = NULL;
    struct mg_buf canon;
    mg_buf_init(&canon, 0);
    oid_text(CMS_get0_eContentType(cms), l->content_type, sizeof l->content_type);

    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
    if (sk_CMS_SignerInfo_num(sis) <= 0) {
        rc = fail(res, MG_EVERIFY, "signed layer has no signature");
        goto out;
    }
    CMS_SignerInfo *si0 = sk_CMS_SignerInfo_value(sis, 0);
    copy_attr(si0, NID_id_smime_aa_securityLabel, &l->label, &l->label_len);
    copy_attr(si0, NID_id_smime_aa_equivalentLabels, &l->equiv, &l->equiv_len);
    copy_attr(si0, NID_id_smime_aa_mlExpandHistory, &l->mlexp, &l->mlexp_len);
    CMS_ReceiptRequest *rr = NULL;
    if (CMS_get1_ReceiptRequest(si0, &rr) > 0)
        l->receipt_requested = 1;
    CMS_ReceiptRequest_free(rr);
    ERR_clear_error();

    if (!try_verify(cms, vcerts, d, dlen, have_d, out, outlen)) {
        /* S/MIME signs the canonical (CRLF) form; mail stored with LF ends needs it back */
        int retried = 0;
        if (have_d && memchr(d, '\n', dlen)) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_REASON(e) == CMS_R_CONTENT_VERIFY_ERROR &&
                !cms_mime_append_crlf(&canon, d, dlen) && canon.len != dlen) {
                ERR_clear_error();
                retried = try_verify(cms, vcerts, canon.data, canon.len, 1, out, outlen);
                if (!retried)
                    ERR_put_error(ERR_LIB_CMS, 0, CMS_R_CONTENT_VERIFY_ERROR, __FILE__, __LINE__);
            }
        }
        if (!retried) {
            rc = verify_reason(res, "signed layer");
            goto out;
        }
    }
    signers = CMS_get0_signers(cms);
    for (int i = 0; i < sk_X509_num(signers); i++) {
        X509 *sc = sk_X509_value(signers, i);
        if (i == 0) {
            X509_NAME_oneline(X509_get_subject_name(sc), l->signer, sizeof l->signer);
            X509_up_ref(sc);
            l->signer_cert = sc;
        }
        char why[300];
        rc = cms_policy_check_cert(p, sc, msgcerts, X509_PURPOSE_SMIME_SIGN, why, sizeof why);
        if (rc) {
            fail(res, rc, "signer %s", why);
            free(*out);
            *out = NULL;
            goto out;
        }
    }
    /* every signer of this layer verified: returned for the caller to harvest */
    for (int i = 0; i < sk_X509_num(signers); i++)
        if (!X509_add_cert(res->signers, sk_X509_value(signers, i),
                           X509_ADD_FLAG_UP_REF | X509_ADD_FLAG_NO_DUP)) {
            rc = fail(res, MG_ENOMEM, "out of memory");
            free(*out);
            *out = NULL;
            break;
        }
out:
    l->status = rc;
    sk_X509_free(signers);
    sk_X509_free(both);
    sk_X509_pop_free(own, X509_free);
    mg_buf_free(&canon);
    ERR_clear_error();
    return rc;
}

static void list_recipients(CMS_ContentInfo *cms, struct cms_layer *l)
{
    STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
    size_t o = 0;
    l->recipients[0] = 0;
    for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
        CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
        X509_NAME *issuer = NULL;
        ASN1_INTEGER *sno = NULL;
        ASN1_OCTET_STRING *kid = NULL;
        const char *kind = "other";
        int type = CMS_RecipientInfo_type(ri);
        if (type == CMS_RECIPINFO_TRANS) {
            kind = "ktri";
            CMS_RecipientInfo_ktri_get0_signer_id(ri, &kid, &issuer, &sno);
            l->nrecipients++;
        } else if (type == CMS_RECIPINFO_AGREE) {
            kind = "kari";
            STACK_OF(CMS_RecipientEncryptedKey) *reks = CMS_RecipientInfo_kari_get0_reks(ri);
            if (sk_CMS_RecipientEncryptedKey_num(reks) > 0)
                CMS_RecipientEncryptedKey_get0_id(sk_CMS_RecipientEncryptedKey_value(reks, 0),
                                                  &kid, NULL, NULL, &issuer, &sno);
            l->nrecipients += sk_CMS_RecipientEncryptedKey_num(reks);
        } else {
            kind = type == CMS_RECIPINFO_KEK ? "kekri" : type == CMS_RECIPINFO_PASS ? "pwri" : "ori";
            l->nrecipients++;
        }
        char who[200] = "-";
        if (issuer && sno) {
            char iss[150];
            X509_NAME_oneline(issuer, iss, sizeof iss);
            BIGNUM *bn = ASN1_INTEGER_to_BN(sno, NULL);
            char *hx = bn ? BN_bn2hex(bn) : NULL;
            snprintf(who, sizeof who, "%s#%s", iss, hx ? hx : "?");
            OPENSSL_free(hx);
            BN_free(bn);
        } else if (kid) {
            snprintf(who, sizeof who, "keyid:%d bytes", ASN1_STRING_length(kid));
        }
        int n = snprintf(l->recipients + o, sizeof l->recipients - o, "%s%s %s", o ? "; " : "",
                         kind, who);
        if (n < 0 || (size_t)n >= sizeof l->recipients - o)
            break;
        o += (size_t)n;
    }
    ERR_clear_error();
}

/* 1 if cert is named by any RecipientInfo of cms. */
static int is_recipient(CMS_ContentInfo *cms, X509 *cert)
{
    STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
    int found = 0;
    for (int j = 0; j < sk_CMS_RecipientInfo_num(ris) && !found; j++) {
        CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, j);
        if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS) {
            found = CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0;
        } else if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE) {
            STACK_OF(CMS_RecipientEncryptedKey) *reks = CMS_RecipientInfo_kari_get0_reks(ri);
            for (int k = 0; k < sk_CMS_RecipientEncryptedKey_num(reks) && !found; k++)
                found = CMS_RecipientEncryptedKey_cert_cmp(
                            sk_CMS_RecipientEncryptedKey_value(reks, k), cert) == 0;
        }
    }
    ERR_clear_error();
    return found;
}

/* Decrypt one (Auth)EnvelopedData, trying every key we hold (key rotation). */
static int decrypt_layer(const struct cms_policy *p, CMS_ContentInfo *cms, struct cms_layer *l,
                         unsigned char **out, size_t *outlen, struct cms_result *res)
{
    list_recipients(cms, l);
    oid_text(CMS_get0_eContentType(cms), l->content_type, sizeof l->content_type);
    int matched = 0, opened = 0;
    for (size_t i = 0; i < p->nkeys && !opened; i++) {
        if (!is_recipient(cms, p->keys[i].cert))
            continue;
        matched = 1;
        opened = CMS_decrypt_set1_pkey_and_peer(cms, p->keys[i].key, p->keys[i].cert, NULL) == 1;
        if (!opened)
            ERR_clear_error();
    }
    int rc;
    if (!matched) {
        rc = fail(res, MG_ENOKEY, "no private key for any recipient (%s)", l->recipients);
    } else if (!opened) {
        rc = fail(res, MG_ECRYPTO, "content-encryption key does not decrypt: recipient info damaged");
    } else {
        BIO *o = BIO_new(BIO_s_mem());
        unsigned long e;
        if (o && CMS_decrypt(cms, NULL, NULL, NULL, o, CMS_BINARY) == 1)
            rc = bio_take(o, out, outlen);
        else if (ERR_GET_LIB(e = ERR_peek_last_error()) == ERR_LIB_CMS &&
                 (ERR_GET_REASON(e) == CMS_R_UNKNOWN_CIPHER ||
                  ERR_GET_REASON(e) == CMS_R_CIPHER_INITIALISATION_ERROR))
            rc = fail(res, MG_ENOTSUP, "content cipher not available (legacy algorithm?)");
        else
            /* OpenSSL hides a failed key decryption behind a random key (MMA countermeasure);
             * we keep that, so a damaged recipient info and damaged ciphertext read alike and
             * the gateway is no padding oracle */
            rc = fail(res, MG_ECRYPTO,
                      "content does not decrypt: ciphertext or recipient info damaged");
        BIO_free(o);
    }
    l->status = rc;
    ERR_clear_error();
    return rc;
}

/* One CMS layer in cms: verify or decrypt into out. certs: see verify_layer. */
static int open_layer(const struct cms_policy *p, CMS_ContentInfo *cms, STACK_OF(X509) *certs,
                      const unsigned char *d, size_t dlen, int have_d, unsigned char **out,
                      size_t *outlen, struct cms_result *res)
{
    int nid = OBJ_obj2nid(CMS_get0_type(cms));
    struct cms_layer *l;
    switch (nid) {
    case NID_pkcs7_signed:
        if (!(l = new_layer(res, CMS_KIND_SIGNED)))
            return fail(res, MG_ETOOBIG, "too many nested layers");
        return verify_layer(p, cms, certs, d, dlen, have_d, l, out, outlen, res);
    case NID_pkcs7_enveloped:
    case NID_id_smime_ct_authEnvelopedData:
        if (!(l = new_layer(res, nid == NID_pkcs7_enveloped ? CMS_KIND_ENVELOPED
                                                             : CMS_KIND_AUTH_ENVELOPED)))
            return fail(res, MG_ETOOBIG, "too many nested layers");
        return decrypt_layer(p, cms, l, out, outlen, res);
    default: {
        char t[64];
        oid_text(CMS_get0_type(cms), t, sizeof t);
        return fail(res, MG_ENOTSUP, "CMS content type %s not supported", t);
    }
    }
}

static int is_layer_nid(int nid)
{
    return nid == NID_pkcs7_signed || is_enveloped_nid(nid);
}

/* Compares the outer header with the protected one (RFC 8551 3.1 / RFC 9788). An outer
 * Subject of "[...]" or "..." is a deliberate stand-in, not a mismatch. */
static void check_protected_headers(const unsigned char *outer, size_t olen,
                                    const unsigned char *inner, size_t ilen, struct cms_result *res)
{
    const unsigned char *ih, *ib;
    size_t ihl, ibl;
    if (cms_mime_split(inner, ilen, &ih, &ihl, &ib, &ibl))
        return;
    static const char *const names[] = { "From", "To", "Cc", "Subject", "Date", NULL };
    for (int i = 0; names[i]; i++) {
        char ov[512], iv[512];
        if (!cms_mime_get(outer, olen, names[i], ov, sizeof ov))
            continue;
        int has = cms_mime_get(ih, ihl, names[i], iv, sizeof iv);
        if (!strcmp(names[i], "Subject") && (!strcmp(ov, "[...]") || !strcmp(ov, "...")))
            continue;
        if (!has || strcmp(ov, iv)) {
            res->header_mismatch = 1;
            snprintf(res->reason, sizeof res->reason,
                     "protected header mismatch: %s outside \"%.80s\", inside \"%.80s\"", names[i],
                     ov, has ? iv : "(absent)");
            return;
        }
    }
}

/* 1 if the entity's Content-Type marks its header as the protected message header. */
static int has_protected_headers(const unsigned char *ent, size_t len)
{
    const unsigned char *h, *b;
    size_t hl, bl;
    char ct[512];
    if (cms_mime_split(ent, len, &h, &hl, &b, &bl) || !cms_mime_get(h, hl, "Content-Type", ct, sizeof ct))
        return 0;
    for (char *c = ct; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return strstr(ct, "protected-headers=") != NULL || strstr(ct, "hp=") != NULL;
}

/* MIME unwrap of entity ent (owned, taken) below outer header outer (may be empty). */
static int unwrap_mime_entity(const struct cms_policy *p, struct mg_buf *outer,
                              unsigned char *ent, size_t entlen, struct cms_result *res)
{
    int rc = 0;
    for (;;) {
        enum cms_mime_kind kind = cms_mime_classify(ent, entlen);
        if (kind == CMS_MIME_RFC822 && res->nlayers > 0) {
            const unsigned char *h, *b;
            size_t hl, bl;
            cms_mime_split(ent, entlen, &h, &hl, &b, &bl);
            check_protected_headers(outer->data, outer->len, b, bl, res);
            unsigned char *inner = malloc(bl + 1);
            if (!inner) {
                rc = MG_ENOMEM;
                break;
            }
            memcpy(inner, b, bl);
            free(ent);
            res->data = inner;
            res->len = bl;
            return 0;
        }
        if (kind == CMS_MIME_OTHER && res->nlayers > 0 && has_protected_headers(ent, entlen)) {
            /* RFC 9788 / protected-headers="v1": the inner entity's header is the message
             * header; keep the outer trace fields, check the rest against it */
            const unsigned char *h, *b;
            size_t hl, bl;
            cms_mime_split(ent, entlen, &h, &hl, &b, &bl);
            check_protected_headers(outer->data, outer->len, ent, entlen, res);
            struct mg_buf o;
            mg_buf_init(&o, 0);
            size_t pos = 0;
            struct cms_mime_field f;
            while (!rc && cms_mime_next_field(outer->data, outer->len, &pos, &f))
                if (cms_mime_field_is(&f, "Received") || cms_mime_field_is(&f, "Return-Path"))
                    rc = mg_buf_append(&o, f.raw, f.rawlen);
            if (!rc && !cms_mime_get(h, hl, "MIME-Version", NULL, 0))
                rc = mg_buf_append(&o, "MIME-Version: 1.0\r\n", 19);
            if (!rc)
                rc = mg_buf_append(&o, ent, entlen);
            free(ent);
            if (rc) {
                mg_buf_free(&o);
                return rc;
            }
            res->data = mg_buf_steal(&o, &res->len);
            return 0;
        }
        if (kind != CMS_MIME_SIGNED_MULTIPART && kind != CMS_MIME_PKCS7)
            break;
        BIO *dcont = NULL;
        CMS_ContentInfo *cms = NULL;
        STACK_OF(X509) *certs = NULL; /* owned: the message's certificates, cut out of cms */
        const unsigned char *fd = NULL; /* the signed content of a multipart/signed, in ent */
        size_t fdl = 0;
        if ((rc = cms_fast_read(p->vcache, ent, entlen, &cms, &certs, &fd, &fdl)) < 0)
            break;
        rc = 0;
        if (!cms) {
            BIO *b = BIO_new_mem_buf(ent, (int)entlen);
            cms = b ? SMIME_read_CMS(b, &dcont) : NULL;
            BIO_free(b);
        }
        if (!cms) {
            BIO_free(dcont);
            rc = fail(res, MG_EPARSE, "malformed S/MIME entity");
            break;
        }
        unsigned char *d = NULL, *o = NULL;
        size_t dl = 0, ol = 0;
        if (fd && !(d = malloc(fdl ? fdl : 1))) {
            CMS_ContentInfo_free(cms);
            sk_X509_pop_free(certs, X509_free);
            rc = MG_ENOMEM;
            break;
        }
        if (fd)
            memcpy(d, fd, fdl), dl = fdl;
        if (dcont && (rc = bio_take(dcont, &d, &dl)) != 0) {
            BIO_free(dcont);
            CMS_ContentInfo_free(cms);
            sk_X509_pop_free(certs, X509_free);
            break;
        }
        BIO_free(dcont);
        /* keep_signatures: a signature found under an envelope is verified and kept, so the
         * recipient can check it too (the envelope alone goes) */
        int keep = 0;
        for (int i = 0; p->keep_signatures && i < res->nlayers; i++)
            keep |= res->layers[i].kind != CMS_KIND_SIGNED;
        keep = keep && OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed;
        rc = open_layer(p, cms, certs, d, dl, d != NULL, &o, &ol, res);
        CMS_ContentInfo_free(cms);
        sk_X509_pop_free(certs, X509_free);
        free(d);
        if (rc)
            break;
        if (keep) {
            free(o);
            break;
        }
        free(ent);
        ent = o;
        entlen = ol;
    }
    if (rc) {
        free(ent);
        return rc;
    }
    if (res->nlayers == 0) {
        free(ent);
        return fail(res, MG_EPARSE, "not an S/MIME message");
    }
    if (outer->len && ((rc = mg_buf_append(outer, "MIME-Version: 1.0\r\n", 19)) ||
                       (rc = mg_buf_append(outer, ent, entlen)))) {
        free(ent);
        return rc;
    }
    if (outer->len) {
        free(ent);
        res->data = mg_buf_steal(outer, &res->len);
    } else {
        res->data = ent;
        res->len = entlen;
    }
    return 0;
}

/* not_ci (may be NULL): set when the input is no ContentInfo at all (OpenSSL does not parse
 * it), as opposed to one that fails later (trailing bytes, plain id-data, a layer). */
static int unwrap_der(const struct cms_policy *p, const unsigned char *in, size_t len,
                      const unsigned char *ext, size_t extlen, struct cms_result *res,
                      int *not_ci)
{
    unsigned char *cur = malloc(len ? len : 1);
    size_t curlen = len;
    if (!cur)
        return MG_ENOMEM;
    memcpy(cur, in, len);
    int rc = 0;
    for (;;) {
        CMS_ContentInfo *cms = NULL;
        STACK_OF(X509) *certs = NULL; /* owned: the message's certificates, cut out of cms */
        if ((rc = cms_fast_d2i(p->vcache, cur, curlen, &cms, &certs)) < 0)
            break;
        rc = 0;
        const unsigned char *q = cur;
        if (!cms && !(cms = d2i_CMS_ContentInfo(NULL, &q, (long)curlen))) {
            if (not_ci && res->nlayers == 0)
                *not_ci = 1;
            rc = fail(res, MG_EPARSE, "not a CMS ContentInfo");
            break;
        }
        if (!certs && q != cur + curlen) {
            CMS_ContentInfo_free(cms);
            rc = fail(res, MG_EPARSE, "trailing bytes after the CMS ContentInfo");
            break;
        }
        if (OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_data && res->nlayers == 0) {
            CMS_ContentInfo_free(cms);
            sk_X509_pop_free(certs, X509_free);
            rc = fail(res, MG_EPARSE, "plain id-data: no CMS protection to remove");
            break;
        }
        unsigned char *o = NULL;
        size_t ol = 0;
        /* external content (a detached signature) applies to the outermost layer only */
        int first = res->nlayers == 0;
        rc = open_layer(p, cms, certs, first ? ext : NULL, first ? extlen : 0, first && ext, &o,
                        &ol, res);
        int next = OBJ_obj2nid(CMS_get0_eContentType(cms));
        CMS_ContentInfo_free(cms);
        sk_X509_pop_free(certs, X509_free);
        if (rc)
            break;
        free(cur);
        cur = o;
        curlen = ol;
        if (!is_layer_nid(next))
            break;
        unsigned char *w;
        size_t wl;
        if ((rc = cms_der_wrap(next, cur, curlen, &w, &wl)) != 0)
            break;
        free(cur);
        cur = w;
        curlen = wl;
    }
    if (rc) {
        free(cur);
        return rc;
    }
    /* A MIME entity signed or encrypted in binary form (openssl cms -outform DER) */
    enum cms_mime_kind k = cms_mime_classify(cur, curlen);
    if (k == CMS_MIME_SIGNED_MULTIPART || k == CMS_MIME_PKCS7) {
        struct mg_buf outer;
        mg_buf_init(&outer, 0);
        rc = unwrap_mime_entity(p, &outer, cur, curlen, res);
        mg_buf_free(&outer);
        return rc;
    }
    res->data = cur;
    res->len = curlen;
    return 0;
}

static int unwrap_mime(const struct cms_policy *p, const unsigned char *in, size_t len,
                       struct cms_result *res)
{
    const unsigned char *hdr, *body;
    size_t hl, bl;
    if (cms_mime_split(in, len, &hdr, &hl, &body, &bl))
        return fail(res, MG_EPARSE, "empty message");
    struct mg_buf outer, ent;
    mg_buf_init(&outer, 0);
    mg_buf_init(&ent, 0);
    int rc = 0;
    size_t pos = 0;
    struct cms_mime_field f;
    int crlf = hl == 0 || memmem(hdr, hl, "\r\n", 2) != NULL;
    while (!rc && cms_mime_next_field(hdr, hl, &pos, &f)) {
        if (cms_mime_field_is(&f, "MIME-Version"))
            continue;
        if (is_outer_header(&f))
            rc = cms_mime_append_crlf(&outer, (const unsigned char *)f.raw, f.rawlen);
        else
            rc = mg_buf_append(&ent, f.raw, f.rawlen);
    }
    if (!rc)
        rc = mg_buf_append(&ent, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
    if (!rc)
        rc = mg_buf_append(&ent, body, bl);
    if (rc) {
        mg_buf_free(&outer);
        mg_buf_free(&ent);
        return rc;
    }
    size_t el;
    unsigned char *e = mg_buf_steal(&ent, &el);
    rc = unwrap_mime_entity(p, &outer, e, el, res);
    mg_buf_free(&outer);
    mg_buf_free(&ent);
    return rc;
}

static void summarize(struct cms_result *res)
{
    char *r = res->reason;
    size_t o = 0;
    for (int i = 0; i < res->nlayers && o < sizeof res->reason; i++) {
        static const char *const kinds[] = { "?", "signed", "enveloped", "authenveloped" };
        int n = snprintf(r + o, sizeof res->reason - o, "%s%s", i ? "+" : "",
                         kinds[res->layers[i].kind <= 3 ? res->layers[i].kind : 0]);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

int cms_unwrap_detached(const struct cms_policy *p, const unsigned char *sig, size_t siglen,
                        const unsigned char *content, size_t clen, struct cms_result *res)
{
    cms_result_init(res);
    if (!(res->signers = sk_X509_new_null()))
        return fail(res, MG_ENOMEM, "out of memory");
    if (!p || !sig || !content)
        return fail(res, MG_EINVAL, "bad arguments");
    if (siglen > p->max_size || clen > p->max_size || clen > INT_MAX)
        return fail(res, MG_ETOOBIG, "input exceeds the limit of %zu bytes", p->max_size);
    if (!cms_wrap_is_der(sig, siglen))
        return fail(res, MG_EPARSE, "detached signature is not DER CMS");
    ERR_clear_error();
    int rc = unwrap_der(p, sig, siglen, content, clen, res, NULL);
    if (!rc)
        summarize(res);
    ERR_clear_error();
    return rc;
}

int cms_unwrap(const struct cms_policy *p, const unsigned char *in, size_t len,
               struct cms_result *res)
{
    cms_result_init(res);
    if (!(res->signers = sk_X509_new_null()))
        return fail(res, MG_ENOMEM, "out of memory");
    if (!p || !in)
        return fail(res, MG_EINVAL, "bad arguments");
    if (len > p->max_size || len > INT_MAX)
        return fail(res, MG_ETOOBIG, "message of %zu bytes exceeds the limit of %zu", len, p->max_size);
    ERR_clear_error();
    int rc;
    if (len >= 11 && !memcmp(in, "-----BEGIN ", 11)) {
        /* PEM CMS (or PKCS7) as `openssl cms -outform PEM` writes it */
        BIO *b = BIO_new_mem_buf(in, (int)len);
        CMS_ContentInfo *cms = b ? PEM_read_bio_CMS(b, NULL, NULL, NULL) : NULL;
        unsigned char *der = NULL;
        size_t dl = 0;
        BIO_free(b);
        if (!cms)
            rc = fail(res, MG_EPARSE, "PEM input is not a CMS ContentInfo");
        else if ((rc = der_of(cms, &der, &dl)) == 0)
            rc = unwrap_der(p, der, dl, NULL, 0, res, NULL);
        CMS_ContentInfo_free(cms);
        free(der);
    } else if (cms_wrap_is_der(in, len)) {
        int not_ci = 0;
        rc = unwrap_der(p, in, len, NULL, 0, res, &not_ci);
        /* The sniff (a SEQUENCE, then an OID) is no parse: a MIME message whose first header
         * line begins with such bytes (binary, so no valid field, but kept as one) sniffs as
         * DER too. As documented, what does not parse as a ContentInfo is read as MIME; when
         * that opens no layer either, the DER reason stands (found by the crypto_wrap fuzz
         * target: our own wrap of such a message did not unwrap). A ContentInfo that fails
         * later (trailing bytes, ...) stays DER: it is one, as cms_wrap takes it too. */
        if (rc == MG_EPARSE && not_ci) {
            struct cms_result m;
            cms_result_init(&m);
            int mrc = (m.signers = sk_X509_new_null()) ? unwrap_mime(p, in, len, &m) : MG_ENOMEM;
            if (mrc == 0 || m.nlayers > 0) {
                cms_result_free(res);
                *res = m;
                rc = mrc;
            } else {
                cms_result_free(&m);
            }
        }
    } else {
        rc = unwrap_mime(p, in, len, res);
    }
    if (!rc && !res->header_mismatch)
        summarize(res);
    ERR_clear_error();
    return rc;
}
