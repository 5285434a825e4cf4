/* cms_unwrap: CMS / S/MIME unwrap of message bytes, every layer (cms_unwrap and
 * cms_unwrap_detached in cms_wrap.h): verification against the policy's anchors, decryption
 * with its keys (or the key process), the ESS attributes each signature carries, and
 * header protection. The helpers both sides share are in cms_wrap.c (cms_internal.h). */
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
        return cms_wrap_fail(res, MG_EVERIFY, "%s: content altered (message digest mismatch)", what);
    case CMS_R_VERIFICATION_FAILURE:
        return cms_wrap_fail(res, MG_EVERIFY, "%s: signature does not verify", what);
    case CMS_R_SIGNER_CERTIFICATE_NOT_FOUND:
        return cms_wrap_fail(res, MG_ENOKEY, "%s: signer certificate not found", what);
    case CMS_R_NO_CONTENT:
        return cms_wrap_fail(res, MG_EPARSE, "%s: detached signature without content", what);
    default:
        return cms_wrap_fail(res, MG_EVERIFY, "%s: verification failed", what);
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
    if (ok && cms_wrap_bio_take(o, out, outlen))
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
            return cms_wrap_fail(res, MG_ENOMEM, "out of memory");
        for (int i = 0; i < sk_X509_num(p->untrusted); i++)
            if (!sk_X509_push(both, sk_X509_value(p->untrusted, i))) {
                sk_X509_free(both);
                return cms_wrap_fail(res, MG_ENOMEM, "out of memory");
            }
        vcerts = both;
    }
    STACK_OF(X509) *signers = NULL;
    struct mg_buf canon;
    mg_buf_init(&canon, 0);
    cms_wrap_oid_text(CMS_get0_eContentType(cms), l->content_type, sizeof l->content_type);

    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
    if (sk_CMS_SignerInfo_num(sis) <= 0) {
        rc = cms_wrap_fail(res, MG_EVERIFY, "signed layer has no signature");
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
            cms_wrap_fail(res, rc, "signer %s", why);
            free(*out);
            *out = NULL;
            goto out;
        }
    }
    /* every signer of this layer verified: returned for the caller to harvest */
    for (int i = 0; i < sk_X509_num(signers); i++)
        if (!X509_add_cert(res->signers, sk_X509_value(signers, i),
                           X509_ADD_FLAG_UP_REF | X509_ADD_FLAG_NO_DUP)) {
            rc = cms_wrap_fail(res, MG_ENOMEM, "out of memory");
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
    cms_wrap_oid_text(CMS_get0_eContentType(cms), l->content_type, sizeof l->content_type);
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
        rc = cms_wrap_fail(res, MG_ENOKEY, "no private key for any recipient (%s)", l->recipients);
    } else if (!opened) {
        rc = cms_wrap_fail(res, MG_ECRYPTO, "content-encryption key does not decrypt: recipient info damaged");
    } else {
        BIO *o = BIO_new(BIO_s_mem());
        unsigned long e;
        if (o && CMS_decrypt(cms, NULL, NULL, NULL, o, CMS_BINARY) == 1)
            rc = cms_wrap_bio_take(o, out, outlen);
        else if (ERR_GET_LIB(e = ERR_peek_last_error()) == ERR_LIB_CMS &&
                 (ERR_GET_REASON(e) == CMS_R_UNKNOWN_CIPHER ||
                  ERR_GET_REASON(e) == CMS_R_CIPHER_INITIALISATION_ERROR))
            rc = cms_wrap_fail(res, MG_ENOTSUP, "content cipher not available (legacy algorithm?)");
        else
            /* OpenSSL hides a failed key decryption behind a random key (MMA countermeasure);
             * we keep that, so a damaged recipient info and damaged ciphertext read alike and
             * the gateway is no padding oracle */
            rc = cms_wrap_fail(res, MG_ECRYPTO,
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
        if (!(l = cms_wrap_new_layer(res, CMS_KIND_SIGNED)))
            return cms_wrap_fail(res, MG_ETOOBIG, "too many nested layers");
        return verify_layer(p, cms, certs, d, dlen, have_d, l, out, outlen, res);
    case NID_pkcs7_enveloped:
    case NID_id_smime_ct_authEnvelopedData:
        if (!(l = cms_wrap_new_layer(res, nid == NID_pkcs7_enveloped ? CMS_KIND_ENVELOPED
                                                             : CMS_KIND_AUTH_ENVELOPED)))
            return cms_wrap_fail(res, MG_ETOOBIG, "too many nested layers");
        return decrypt_layer(p, cms, l, out, outlen, res);
    default: {
        char t[64];
        cms_wrap_oid_text(CMS_get0_type(cms), t, sizeof t);
        return cms_wrap_fail(res, MG_ENOTSUP, "CMS content type %s not supported", t);
    }
    }
}

static int is_layer_nid(int nid)
{
    return nid == NID_pkcs7_signed || cms_wrap_is_enveloped_nid(nid);
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

/* keep_signatures: a SignedData found under an envelope (a layer opened before it that is not
 * a signature) is verified and then kept, so the recipient can check it too; only the
 * envelope (and a signature over it) goes. MIME and DER alike. */
static int keeps_signature(const struct cms_policy *p, const struct cms_result *res,
                           CMS_ContentInfo *cms)
{
    int under_envelope = 0;
    for (int i = 0; p->keep_signatures && i < res->nlayers; i++)
        under_envelope |= res->layers[i].kind != CMS_KIND_SIGNED;
    return under_envelope && OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed;
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
        if (kind == CMS_MIME_OTHER && res->nlayers > 0 && cms_mime_has_protected_headers(ent, entlen)) {
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
            rc = cms_wrap_fail(res, MG_EPARSE, "malformed S/MIME entity");
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
        if (dcont && (rc = cms_wrap_bio_take(dcont, &d, &dl)) != 0) {
            BIO_free(dcont);
            CMS_ContentInfo_free(cms);
            sk_X509_pop_free(certs, X509_free);
            break;
        }
        BIO_free(dcont);
        int keep = keeps_signature(p, res, cms);
        rc = open_layer(p, cms, certs, d, dl, d != NULL, &o, &ol, res);
        CMS_ContentInfo_free(cms);
        sk_X509_pop_free(certs, X509_free);
        free(d);
        if (rc)
            break;
        if (keep) {
            free(o);
            res->kept_signature = 1;
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
        return cms_wrap_fail(res, MG_EPARSE, "not an S/MIME message");
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
            rc = cms_wrap_fail(res, MG_EPARSE, "not a CMS ContentInfo");
            break;
        }
        if (!certs && q != cur + curlen) {
            CMS_ContentInfo_free(cms);
            rc = cms_wrap_fail(res, MG_EPARSE, "trailing bytes after the CMS ContentInfo");
            break;
        }
        if (OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_data && res->nlayers == 0) {
            CMS_ContentInfo_free(cms);
            sk_X509_pop_free(certs, X509_free);
            rc = cms_wrap_fail(res, MG_EPARSE, "plain id-data: no CMS protection to remove");
            break;
        }
        unsigned char *o = NULL;
        size_t ol = 0;
        int keep = keeps_signature(p, res, cms); /* kept as encoded (cur) */
        /* external content (a detached signature) applies to the outermost layer only */
        int first = res->nlayers == 0;
        rc = open_layer(p, cms, certs, first ? ext : NULL, first ? extlen : 0, first && ext, &o,
                        &ol, res);
        int next = OBJ_obj2nid(CMS_get0_eContentType(cms));
        CMS_ContentInfo_free(cms);
        sk_X509_pop_free(certs, X509_free);
        if (rc)
            break;
        if (keep) {
            free(o);
            res->kept_signature = 1;
            break;
        }
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
    enum cms_mime_kind k = res->kept_signature ? CMS_MIME_OTHER : cms_mime_classify(cur, curlen);
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
        return cms_wrap_fail(res, MG_EPARSE, "empty message");
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
        if (cms_wrap_is_outer_header(&f))
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
        return cms_wrap_fail(res, MG_ENOMEM, "out of memory");
    if (!p || !sig || !content)
        return cms_wrap_fail(res, MG_EINVAL, "bad arguments");
    if (siglen > p->max_size || clen > p->max_size || clen > INT_MAX)
        return cms_wrap_fail(res, MG_ETOOBIG, "input exceeds the limit of %zu bytes", p->max_size);
    if (!cms_wrap_is_der(sig, siglen))
        return cms_wrap_fail(res, MG_EPARSE, "detached signature is not DER CMS");
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
        return cms_wrap_fail(res, MG_ENOMEM, "out of memory");
    if (!p || !in)
        return cms_wrap_fail(res, MG_EINVAL, "bad arguments");
    if (len > p->max_size || len > INT_MAX)
        return cms_wrap_fail(res, MG_ETOOBIG, "message of %zu bytes exceeds the limit of %zu", len, p->max_size);
    ERR_clear_error();
    int rc;
    if (cms_wrap_is_pem(in, len)) {
        /* PEM CMS (or PKCS7) as `openssl cms -outform PEM` writes it. Only a first line that is
         * such a start line: a header line beginning "-----BEGIN " was taken for PEM, and
         * OpenSSL's PEM reader skips lines to the first block anywhere, so a message carrying a
         * PEM ContentInfo in its body would have read as that (found by the crypto_wrap fuzz
         * target: our own signature over a message whose first field began "-----BEGIN " did
         * not unwrap). */
        BIO *b = BIO_new_mem_buf(in, (int)len);
        CMS_ContentInfo *cms = b ? PEM_read_bio_CMS(b, NULL, NULL, NULL) : NULL;
        unsigned char *der = NULL;
        size_t dl = 0;
        BIO_free(b);
        if (!cms)
            rc = cms_wrap_fail(res, MG_EPARSE, "PEM input is not a CMS ContentInfo");
        else if ((rc = cms_wrap_der_of(cms, &der, &dl)) == 0)
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

