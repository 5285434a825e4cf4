/* cms_receipt: ESS signed receipts (see cms_receipt.h). OpenSSL builds and checks the receipt
 * (CMS_sign_receipt / CMS_verify_receipt); this file reads either encoding, verifies the
 * original first and maps failures to MG_E* codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include "cms_receipt.h"
#include "cms_fastread.h"
#include "cms_internal.h"
#include "cms_mime.h"
#include "mg_err.h"

static int rfail(struct cms_result *res, int rc, const char *msg)
{
    unsigned long e = ERR_peek_last_error();
    if (e && ERR_reason_error_string(e))
        snprintf(res->reason, sizeof res->reason, "%s (%s)", msg, ERR_reason_error_string(e));
    else
        snprintf(res->reason, sizeof res->reason, "%s", msg);
    ERR_clear_error();
    return rc;
}

/* The certificates cms_fastread cut out of c put back, in their order (CMS_add1_cert), so
 * CMS_verify and CMS_verify_receipt see what OpenSSL's own readers give. Frees certs; returns
 * c, or NULL (c freed) when one cannot be put back (the same one twice): the caller then reads
 * the input the usual way. */
static CMS_ContentInfo *put_back(CMS_ContentInfo *c, STACK_OF(X509) *certs)
{
    for (int i = 0; c && i < sk_X509_num(certs); i++)
        if (CMS_add1_cert(c, sk_X509_value(certs, i)) != 1) {
            CMS_ContentInfo_free(c);
            c = NULL;
            ERR_clear_error();
        }
    sk_X509_pop_free(certs, X509_free);
    return c;
}

/* A receipt or an original read through cms_fastread, as cms_unwrap reads: the certificates a
 * SignedData carries come decoded from the policy's cache instead of being decoded again
 * (OpenSSL 3.0 decodes each one's public key through its provider decoders: half the time of
 * checking a receipt, and the same certificates come with every receipt and original from a
 * peer). DER, or an application/pkcs7-mime entity (SMIME_read_CMS gives it no detached
 * content either); a multipart/signed is left to SMIME_read_CMS, whose detached content has
 * its line ends converted where cms_fast_read's has them as they are. NULL when the fast
 * reader steps aside: the caller reads the input the usual way. */
static CMS_ContentInfo *read_cached(const struct cms_policy *p, const unsigned char *in, size_t len, int mime)
{
    CMS_ContentInfo *c = NULL;
    STACK_OF(X509) *certs = NULL;
    const unsigned char *dc = NULL;
    size_t dl = 0;
    int r = mime ? cms_fast_read(p->vcache, in, len, &c, &certs, &dc, &dl)
                 : cms_fast_d2i(p->vcache, in, len, &c, &certs);
    if (r != 1)
        return NULL;
    if (dc) {
        CMS_ContentInfo_free(c);
        sk_X509_pop_free(certs, X509_free);
        return NULL;
    }
    return put_back(c, certs);
}

/* DER ContentInfo, or an S/MIME message/entity (with detached content in *dcont). */
static CMS_ContentInfo *read_any(const struct cms_policy *p, const unsigned char *in, size_t len, BIO **dcont,
                                 int *mime)
{
    *dcont = NULL;
    *mime = !cms_wrap_is_der(in, len);
    if (len > INT32_MAX)
        return NULL;
    CMS_ContentInfo *c = read_cached(p, in, len, *mime);
    if (c)
        return c;
    if (!*mime) {
        const unsigned char *q = in;
        c = d2i_CMS_ContentInfo(NULL, &q, (long)len);
        if (c && q != in + len) {
            CMS_ContentInfo_free(c);
            c = NULL;
        }
        return c;
    }
    BIO *b = BIO_new_mem_buf(in, (int)len);
    c = b ? SMIME_read_CMS(b, dcont) : NULL;
    BIO_free(b);
    return c;
}

static int decrypt_any(const struct cms_policy *p, CMS_ContentInfo *cms, BIO *out)
{
    for (size_t i = 0; i < p->nkeys; i++) {
        if (CMS_decrypt_set1_pkey_and_peer(cms, p->keys[i].key, p->keys[i].cert, NULL) == 1 &&
            CMS_decrypt(cms, NULL, NULL, NULL, out, CMS_BINARY) == 1)
            return 1;
        ERR_clear_error();
    }
    return 0;
}

/* The first signed layer carrying a receiptRequest, found by opening the layers above it
 * (verify, decrypt with the policy's keys: a triple wrap carries the request in its inner
 * signature). *found is owned by the caller; *mime tells the outer encoding. */
static int find_request_layer(const struct cms_policy *p, const unsigned char *in, size_t len,
                              CMS_ContentInfo **found, int *mime, struct cms_result *res)
{
    unsigned char *cur = malloc(len ? len : 1);
    size_t curlen = len;
    int rc = MG_ENOTFOUND;
    if (!cur)
        return MG_ENOMEM;
    memcpy(cur, in, len);
    for (int depth = 0; depth < CMS_MAX_LAYERS; depth++) {
        BIO *dc = NULL;
        int m;
        CMS_ContentInfo *cms = read_any(p, cur, curlen, &dc, &m);
        if (depth == 0)
            *mime = m;
        if (!cms) {
            BIO_free(dc);
            rc = rfail(res, MG_EPARSE, depth ? "inner layer is not CMS or S/MIME"
                                             : "not a CMS or S/MIME message");
            break;
        }
        int nid = OBJ_obj2nid(CMS_get0_type(cms));
        BIO *o = BIO_new(BIO_s_mem());
        int ok = 0;
        if (nid == NID_pkcs7_signed) {
            if (CMS_verify(cms, p->untrusted, p->anchors, dc, o, CMS_BINARY) != 1) {
                rc = rfail(res, MG_EVERIFY, "signed layer does not verify");
            } else {
                CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
                CMS_ReceiptRequest *rr = NULL;
                if (si && CMS_get1_ReceiptRequest(si, &rr) > 0) {
                    CMS_ReceiptRequest_free(rr);
                    *found = cms;
                    cms = NULL;
                    rc = 0;
                } else {
                    ok = 1;
                }
            }
        } else if (nid == NID_pkcs7_enveloped || nid == NID_id_smime_ct_authEnvelopedData) {
            ok = decrypt_any(p, cms, o);
            if (!ok)
                rc = rfail(res, MG_ENOKEY, "cannot decrypt the layer above the receipt request");
        } else {
            rc = rfail(res, MG_ENOTFOUND, "no receipt requested");
        }
        int next = cms ? OBJ_obj2nid(CMS_get0_eContentType(cms)) : 0;
        CMS_ContentInfo_free(cms);
        BIO_free(dc);
        ERR_clear_error();
        if (!ok) {
            BIO_free(o);
            break;
        }
        char *ptr;
        long n = BIO_get_mem_data(o, &ptr);
        unsigned char *nxt = NULL;
        size_t nl = 0;
        if (!m && (next == NID_pkcs7_signed || next == NID_pkcs7_enveloped ||
                   next == NID_id_smime_ct_authEnvelopedData))
            rc = cms_der_wrap(next, (const unsigned char *)ptr, (size_t)n, &nxt, &nl);
        else if (m && cms_mime_classify((const unsigned char *)ptr, (size_t)n) != CMS_MIME_PKCS7 &&
                 cms_mime_classify((const unsigned char *)ptr, (size_t)n) != CMS_MIME_SIGNED_MULTIPART)
            rc = rfail(res, MG_ENOTFOUND, "no receipt requested");
        else if (m && (nxt = malloc((size_t)n + 1)) != NULL)
            memcpy(nxt, ptr, (size_t)n), nl = (size_t)n, rc = 0;
        else
            rc = m ? MG_ENOMEM : rfail(res, MG_ENOTFOUND, "no receipt requested");
        BIO_free(o);
        if (rc)
            break;
        free(cur);
        cur = nxt;
        curlen = nl;
        rc = MG_ENOTFOUND;
    }
    if (rc == MG_ENOTFOUND && !res->reason[0])
        rfail(res, rc, "no receipt requested");
    free(cur);
    return rc;
}

int cms_receipt_make(const struct cms_policy *p, const unsigned char *msg, size_t len,
                     struct cms_result *res)
{
    cms_result_init(res);
    const struct cms_signer *s = &p->signer[CMS_LAYER_INNER];
    if (!s->cert || !s->key)
        return rfail(res, MG_ENOKEY, "no signing key and certificate configured");
    if (len > p->max_size)
        return rfail(res, MG_ETOOBIG, "message too big");
    ERR_clear_error();
    int mime = 0;
    CMS_ContentInfo *cms = NULL, *rcpt = NULL;
    BIO *out = NULL;
    int rc = find_request_layer(p, msg, len, &cms, &mime, res);
    if (rc)
        goto done;
    res->nlayers = 1;
    res->layers[0].kind = CMS_KIND_SIGNED;
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    res->layers[0].receipt_requested = 1;
    if (!(rcpt = CMS_sign_receipt(si, s->cert, s->key, s->chain, CMS_BINARY))) {
        rc = rfail(res, MG_ECRYPTO, "cannot sign the receipt");
        goto done;
    }
    out = BIO_new(BIO_s_mem());
    if (!out || !(mime ? SMIME_write_CMS(out, rcpt, NULL, CMS_BINARY | CMS_CRLFEOL)
                       : i2d_CMS_bio(out, rcpt))) {
        rc = rfail(res, MG_ECRYPTO, "cannot encode the receipt");
        goto done;
    }
    char *ptr;
    long n = BIO_get_mem_data(out, &ptr);
    if (!(res->data = malloc((size_t)n + 1))) {
        rc = MG_ENOMEM;
        goto done;
    }
    memcpy(res->data, ptr, (size_t)n);
    res->len = (size_t)n;
    snprintf(res->reason, sizeof res->reason, "signed receipt made");
done:
    BIO_free(out);
    CMS_ContentInfo_free(cms);
    CMS_ContentInfo_free(rcpt);
    ERR_clear_error();
    return rc;
}

int cms_receipt_verify(const struct cms_policy *p, const unsigned char *receipt, size_t rlen,
                       const unsigned char *orig, size_t olen, struct cms_result *res)
{
    cms_result_init(res);
    if (rlen > p->max_size || olen > p->max_size)
        return rfail(res, MG_ETOOBIG, "input too big");
    ERR_clear_error();
    BIO *rd = NULL;
    int m1, m2, rc = 0;
    CMS_ContentInfo *o = NULL;
    CMS_ContentInfo *r = read_any(p, receipt, rlen, &rd, &m1);
    if (!r) {
        rc = rfail(res, MG_EPARSE, "receipt is not CMS or S/MIME");
        goto done;
    }
    if ((rc = find_request_layer(p, orig, olen, &o, &m2, res)) != 0)
        goto done;
    res->nlayers = 1;
    res->layers[0].kind = CMS_KIND_SIGNED;
    snprintf(res->layers[0].content_type, sizeof res->layers[0].content_type,
             "1.2.840.113549.1.9.16.1.1");
    if (OBJ_obj2nid(CMS_get0_eContentType(r)) != NID_id_smime_ct_receipt) {
        rc = rfail(res, MG_EPARSE, "not a signed receipt");
        goto done;
    }
    if (CMS_verify_receipt(r, o, p->untrusted, p->anchors, CMS_BINARY) != 1) {
        rc = rfail(res, MG_EVERIFY, "receipt does not verify against the original");
        goto done;
    }
    STACK_OF(X509) *signers = CMS_get0_signers(r);
    if (sk_X509_num(signers) > 0) {
        X509 *sc = sk_X509_value(signers, 0);
        X509_NAME_oneline(X509_get_subject_name(sc), res->layers[0].signer,
                          sizeof res->layers[0].signer);
        X509_up_ref(sc);
        res->layers[0].signer_cert = sc;
    }
    sk_X509_free(signers);
    snprintf(res->reason, sizeof res->reason, "receipt verified");
done:
    res->layers[0].status = rc;
    BIO_free(rd);
    CMS_ContentInfo_free(r);
    CMS_ContentInfo_free(o);
    ERR_clear_error();
    return rc;
}
