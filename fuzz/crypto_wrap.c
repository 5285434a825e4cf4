/* libFuzzer target: cms_wrap of a hostile message (the switch signs, encrypts and triple-wraps
 * what an SMTP or P1 peer sent), then cms_unwrap of its own output with the same fixed
 * test-only PKI (crypto_fuzz_policy.h), which must give the content back as cms_wrap.h defines
 * it: a wrap the switch's own reader cannot open, or that opens to other bytes, is a bug
 * (abort, so libFuzzer reports it). A message the wrap refuses with an error is fine.
 *
 * Unit: one option byte, then the message.
 *   bits 0-2  the layers: 1 sign, 2 encrypt, 4 outer sign, any sum (0 = triple wrap)
 *   bit 3     DER (binary CMS; the message is content octets or a ContentInfo) instead of MIME
 *   bit 4     MIME: header protection (RFC 8551 3.1); DER: the P772 eContentType
 *   bit 5     MIME: multipart/signed (detached) instead of opaque signatures
 *   bit 6     ESS attributes: inner and outer security labels, equivalent labels, a receipt
 *             request
 *   bit 7     algorithms: 0 alice (RSA, PKCS#1 v1.5) and AES-128-CBC; 1 alice and bob (RSA-OAEP
 *             and ECDH with the SHA-256 KDF), AES-256-GCM (AuthEnvelopedData), bob signs the
 *             outer layer
 * The sixteen writer policies are built once; the reader is the crypto targets' policy (keys of
 * alice and bob, the test CA and its CRL).
 *
 * Signing keys, by the message's length (not an option bit, so every option value has both):
 * a message whose length is a multiple of 8 is signed as the options say (alice, RSA 2048); any
 * other by bob (EC P-256) in alice's place, and read back by a reader that holds bob's key first
 * (so with bit 7 the content is opened by ECDH, not alice's RSA key; without it alice is the only
 * recipient and still decrypts). Why: RSA 2048 private-key operations (two or three per triple
 * wrap: signing and alice's decryption) were about a third of the target's time in perf, while
 * what this target exists to reach is cms_wrap's and cms_unwrap's own code (layers, framing,
 * header protection, labels, the layer records and the model's checks), which takes the same
 * paths for either key: the same CMS_sign and CMS_add1_signer calls, pick_outer's fallback to the inner
 * signer, the same recipient setup (OAEP still set for alice with bit 7). RSA signing and
 * decryption stay reached, by one length in eight. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <strings.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include "cms_wrap.h"
#include "cms_internal.h"
#include "cms_mime.h"
#include "crypto_fuzz_policy.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OPT_DER 0x08
#define OPT_HP 0x10
#define OPT_DETACHED 0x20
#define OPT_LABELS 0x40
#define OPT_STRONG 0x80

/* ESSSecurityLabel { classification, policy 1.2.3.4 } (DER) and EquivalentLabels of one */
static const unsigned char label_inner[] = { 0x31, 0x08, 0x02, 0x01, 0x01, 0x06, 0x03, 0x2a, 0x03, 0x04 };
static const unsigned char label_outer[] = { 0x31, 0x08, 0x02, 0x01, 0x02, 0x06, 0x03, 0x2a, 0x03, 0x04 };
static const unsigned char equiv[] = { 0x30, 0x0a, 0x31, 0x08, 0x02, 0x01, 0x03, 0x06, 0x03,
                                       0x2a, 0x03, 0x05 };

static struct cms_policy *writers[2][16]; /* [0] alice signs, [1] bob; built once, read-only after */
/* the crypto targets' policy ([0]), and the same with bob's key first ([1]); built once,
 * read-only afterwards (but for their caches). Checked at the current time, not at
 * FUZZ_CHECK_TIME as the other crypto targets: a policy with a fixed check time never uses the
 * cache of validated certificates (cms_vcache), so every input validated alice's and bob's
 * certificates again, path and CRL with an RSA verification per link, two to four times (the
 * recipients in the wrap, the signers in the unwrap: a quarter of the time in perf), where the
 * daemon validates them once in CMS_VCACHE_TTL. The keys and CRL run 2020-2099, so our own
 * layers read the same any day; only a certificate an input carries can read differently on
 * another day, at the edge of its validity. Certificates that fail are never cached, so the
 * validation code is reached as before (and the cache's own code now too). */
static struct cms_policy *readers[2];

static X509 *load_cert(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.pem", FUZZ_KEYS_DIR, name);
    X509 *c = NULL;
    if (cms_keys_load_cert(path, &c))
        mg_panic("fuzz setup: cannot load %s", path);
    return c;
}

static EVP_PKEY *load_key(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.key", FUZZ_KEYS_DIR, name);
    EVP_PKEY *k = NULL;
    if (cms_keys_load_key(path, NULL, &k))
        mg_panic("fuzz setup: cannot load %s", path);
    return k;
}

static struct cms_policy *make_writer(unsigned opt, int ec)
{
    struct cms_policy *p = NULL;
    if (cms_policy_clone(readers[0], &p))
        mg_panic("fuzz setup: policy clone");
    X509 *alice = load_cert("alice"), *bob = load_cert("bob");
    int rc = cms_policy_add_recipient(p, alice);
    if (ec) {
        /* bob signs in alice's place; the outer layer is still signed by the inner signer
         * unless bit 7 names bob for it */
        EVP_PKEY *bk = load_key("bob");
        rc = rc || cms_policy_set_signer(p, CMS_LAYER_INNER, bob, bk, NULL);
        EVP_PKEY_free(bk);
    }
    if (opt & OPT_STRONG) {
        EVP_PKEY *bk = load_key("bob");
        rc = rc || cms_policy_add_recipient(p, bob) ||
             cms_policy_set_signer(p, CMS_LAYER_OUTER, bob, bk, NULL);
        EVP_PKEY_free(bk);
        cms_policy_set_cipher(p, CMS_CIPHER_AES256_GCM);
        cms_policy_set_rsa_oaep(p, 1);
        cms_policy_set_ecdh_sha256(p, 1);
    }
    cms_policy_set_header_protection(p, (opt & OPT_HP) != 0);
    if (opt & OPT_HP)
        rc = rc || cms_policy_set_content_type(p, "1.3.26.0.4406.0.4.1");
    cms_policy_set_detached(p, (opt & OPT_DETACHED) != 0);
    if (opt & OPT_LABELS)
        rc = rc || cms_policy_set_label(p, CMS_LAYER_INNER, label_inner, sizeof label_inner) ||
             cms_policy_set_label(p, CMS_LAYER_OUTER, label_outer, sizeof label_outer) ||
             cms_policy_set_equivalent_labels(p, CMS_LAYER_INNER, equiv, sizeof equiv) ||
             cms_policy_set_receipt_request(p, "receipts@example.org");
    X509_free(alice);
    X509_free(bob);
    if (rc)
        mg_panic("fuzz setup: writer policy %#x", opt);
    return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    mg_log_set_level(MG_LOG_ERROR);
    readers[0] = fuzz_crypto_policy_build("alice", "bob", 0);
    readers[1] = fuzz_crypto_policy_build("bob", "alice", 0);
    for (unsigned i = 0; i < 16; i++) {
        writers[0][i] = make_writer(i << 4, 0);
        writers[1][i] = make_writer(i << 4, 1);
    }
    return 0;
}

static int popcount3(unsigned ops)
{
    return (ops & 1) + ((ops >> 1) & 1) + ((ops >> 2) & 1);
}

static int is_smime(const unsigned char *d, size_t len)
{
    enum cms_mime_kind k = cms_mime_classify(d, len);
    return k == CMS_MIME_SIGNED_MULTIPART || k == CMS_MIME_PKCS7;
}

/* What cms_unwrap gives back for a MIME wrap without header protection of in, by the rules of
 * cms_wrap.h: the non-Content header fields stay outside, the Content-* fields and the body
 * (CRLF line ends; text/plain when no Content-Type) are the protected entity; the reader puts
 * the outer fields back in front with MIME-Version. *deeper: the entity is S/MIME itself, so
 * the reader goes on into it (no exact expectation). Returns 0 or MG_E*. */
static int expect_mime(const unsigned char *in, size_t len, struct mg_buf *want, int *deeper)
{
    const unsigned char *hdr, *body;
    size_t hl, bl;
    if (cms_mime_split(in, len, &hdr, &hl, &body, &bl))
        return MG_EPARSE;
    struct mg_buf outer, ent;
    mg_buf_init(&outer, 0);
    mg_buf_init(&ent, 0);
    size_t pos = 0;
    struct cms_mime_field f;
    int have_ct = 0, rc = 0;
    while (!rc && cms_mime_next_field(hdr, hl, &pos, &f)) {
        if (cms_mime_field_is(&f, "MIME-Version"))
            continue;
        struct mg_buf *to = &outer;
        if (f.namelen >= 8 && !strncasecmp(f.name, "Content-", 8)) {
            have_ct |= cms_mime_field_is(&f, "Content-Type");
            to = &ent;
        }
        /* every field ends with CRLF, also a last one that had no line end */
        rc = cms_mime_append_crlf(to, (const unsigned char *)f.raw, f.rawlen);
        if (!rc && f.raw[f.rawlen - 1] != '\n')
            rc = mg_buf_append(to, "\r\n", 2);
    }
    if (!rc && !have_ct)
        rc = mg_buf_append(&ent, "Content-Type: text/plain; charset=us-ascii\r\n", 44);
    if (!rc)
        rc = mg_buf_append(&ent, "\r\n", 2);
    if (!rc)
        rc = cms_mime_append_crlf(&ent, body, bl);
    *deeper = !rc && is_smime(ent.data, ent.len);
    mg_buf_reset(want);
    if (rc || *deeper) {
        /* nothing exact to expect */
    } else if (cms_mime_classify(ent.data, ent.len) == CMS_MIME_RFC822) {
        /* a message/rfc822 entity reads as header protection: its inner message comes back */
        const unsigned char *h, *b;
        size_t l1, l2;
        cms_mime_split(ent.data, ent.len, &h, &l1, &b, &l2);
        rc = mg_buf_append(want, b, l2);
    } else if (cms_mime_has_protected_headers(ent.data, ent.len)) {
        /* RFC 9788: the entity is the message; only the outer trace fields stay */
        pos = 0;
        while (!rc && cms_mime_next_field(outer.data, outer.len, &pos, &f))
            if (cms_mime_field_is(&f, "Received") || cms_mime_field_is(&f, "Return-Path"))
                rc = mg_buf_append(want, f.raw, f.rawlen);
        if (!rc)
            rc = mg_buf_append(want, "MIME-Version: 1.0\r\n", 19);
        if (!rc)
            rc = mg_buf_append(want, ent.data, ent.len);
    } else {
        if (outer.len)
            rc = mg_buf_append(want, outer.data, outer.len);
        if (!rc && outer.len)
            rc = mg_buf_append(want, "MIME-Version: 1.0\r\n", 19);
        if (!rc)
            rc = mg_buf_append(want, ent.data, ent.len);
    }
    mg_buf_free(&outer);
    mg_buf_free(&ent);
    return rc;
}

static void mismatch(const char *what, unsigned opt, int rc, const struct cms_result *w,
                     const struct cms_result *u)
{
    mg_panic("crypto_wrap option %#x: %s (unwrap %s: %s; wrap: %d layers, %s; unwrap: %d layers)",
             opt, what, mg_errname(rc), u->reason, w->nlayers, w->reason, u->nlayers);
}

static int same(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
    return al == bl && (!al || !memcmp(a, b, al));
}

/* OpenSSL opens an RSA PKCS#1 v1.5 key transport whose encrypted key is damaged with a random
 * content key (its defence against a padding oracle, RFC 3218 2.3), so the content decrypts,
 * to garbage, when the CBC padding happens to come out right: one time in 256. A direct read
 * of the input that succeeded by that chance is no expectation for ours, which draws another
 * key: it is one when eight more reads give the same. Called only before a mismatch. */
static int direct_by_chance(const struct cms_policy *rp, const unsigned char *in, size_t len,
                            const struct cms_result *direct)
{
    for (int i = 0; i < 8; i++) {
        struct cms_result again;
        int rc = cms_unwrap(rp, in, len, &again);
        int differs = rc != 0 || again.nlayers != direct->nlayers ||
                      !same(again.data, again.len, direct->data, direct->len);
        cms_result_free(&again);
        if (differs)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned opt = data[0];
    unsigned ops = opt & 7 ? opt & 7 : CMS_OP_TRIPLE;
    enum cms_format fmt = opt & OPT_DER ? CMS_FORMAT_DER : CMS_FORMAT_MIME;
    int ec = (size - 1) % 8 != 0; /* see the header: RSA for one length in eight */
    const struct cms_policy *wp = writers[ec][opt >> 4];
    const struct cms_policy *rp = readers[ec];
    const unsigned char *in = data + 1;
    size_t len = size - 1;

    struct cms_result w, u, direct;
    cms_result_init(&u);
    cms_result_init(&direct);
    int rc = cms_wrap(wp, ops, fmt, in, len, &w);
    if (rc) {
        if (w.data || w.nlayers > CMS_MAX_LAYERS)
            mg_panic("cms_wrap failed (%s) but returned data", mg_errname(rc));
        cms_result_free(&w);
        return 0;
    }
    if (!w.data)
        mg_panic("cms_wrap succeeded without data");

    /* the layers cms_wrap says it added: those asked for, but an encryption it skipped (the
     * input already encrypted for the same recipients; MIME then adds no inner signature
     * either) */
    unsigned added = ops;
    if (w.skipped_encrypt)
        added &= fmt == CMS_FORMAT_DER ? ~(unsigned)CMS_OP_ENCRYPT : (unsigned)CMS_OP_OUTER_SIGN;
    int n = popcount3(added);
    if (w.nlayers != n)
        mismatch("wrap records another number of layers than it added", opt, 0, &w, &u);

    /* what the reader must give back, where the wrap API defines it exactly */
    struct mg_buf want;
    mg_buf_init(&want, 0);
    int exact = 1;      /* want holds the content unwrap must return */
    int deeper = 0;     /* the content is protected itself: the reader may go on into it */
    int more = 0;       /* the input's own layers, opened after ours */
    if (fmt == CMS_FORMAT_DER) {
        CMS_ContentInfo *ci = NULL;
        if (!(ops & CMS_OP_SIGN) && cms_wrap_is_der(in, len)) {
            const unsigned char *q = in;
            ci = d2i_CMS_ContentInfo(NULL, &q, (long)len);
            ERR_clear_error();
        }
        if (ci) {
            /* a ContentInfo carries on: its content, of its type, is what our layers wrap (of
             * id-data the octets, RFC 5652 5.2), and the layers it has are opened after ours,
             * as the reader opens them alone */
            const unsigned char *c;
            size_t cl;
            if (cms_der_unwrap(in, len, &c, &cl))
                mismatch("wrapped a ContentInfo it cannot take apart", opt, 0, &w, &u);
            ASN1_OCTET_STRING **os = OBJ_obj2nid(CMS_get0_type(ci)) == NID_pkcs7_data ?
                                     CMS_get0_content(ci) : NULL;
            if (os && *os) {
                c = ASN1_STRING_get0_data(*os);
                cl = (size_t)ASN1_STRING_length(*os);
            }
            deeper = 1;
            if (cms_unwrap(rp, in, len, &direct) == 0) {
                more = direct.nlayers;
                if (mg_buf_append(&want, direct.data, direct.len))
                    abort();
            } else if (mg_buf_append(&want, c, cl)) { /* exact if the reader stops after ours */
                abort();
            }
            CMS_ContentInfo_free(ci);
            exact = 0;
        } else {
            deeper = is_smime(in, len);
            exact = !deeper;
            if (mg_buf_append(&want, in, len))
                abort();
        }
    } else if (opt & OPT_HP) {
        /* header protection: the whole message is a message/rfc822 entity, read back whole */
        if (cms_mime_append_crlf(&want, in, len))
            abort();
    } else if (expect_mime(in, len, &want, &deeper)) {
        mismatch("wrapped a message the model cannot split", opt, 0, &w, &u);
    } else {
        exact = !deeper;
    }

    rc = cms_unwrap(rp, w.data, w.len, &u);
    /* our own layers (outermost first in u, innermost first in w) must all open */
    for (int i = 0; i < n && i < u.nlayers; i++) {
        const struct cms_layer *ul = &u.layers[i], *wl = &w.layers[n - 1 - i];
        if (ul->status != 0)
            mismatch("one of our own layers does not open", opt, rc, &w, &u);
        if (ul->kind != wl->kind)
            mismatch("a layer reads back as another kind than the wrap recorded", opt, rc, &w, &u);
        if (wl->label_len && !same(ul->label, ul->label_len, wl->label, wl->label_len))
            mismatch("a layer's security label reads back different", opt, rc, &w, &u);
    }
    if (n == 0) {
        /* nothing added (already encrypted for the same recipients): the input went out as it
         * came, and reads as it reads */
    } else if (u.nlayers < n) {
        mismatch("the reader found fewer layers than the wrap added", opt, rc, &w, &u);
    } else if (rc == 0) {
        if (!u.data)
            mismatch("unwrap succeeded without a content", opt, rc, &w, &u);
        if (u.nlayers > n && !deeper)
            mismatch("the reader found more layers than the wrap added", opt, rc, &w, &u);
        if (direct.data && u.nlayers != n + more && !direct_by_chance(rp, in, len, &direct))
            mismatch("the input's own layers read differently under ours", opt, rc, &w, &u);
        if ((exact || direct.data || (fmt == CMS_FORMAT_DER && u.nlayers == n)) &&
            !same(u.data, u.len, want.data, want.len) &&
            !(direct.data && direct_by_chance(rp, in, len, &direct)))
            mismatch("the content reads back different", opt, rc, &w, &u);
    } else if (!deeper || (direct.data && !direct_by_chance(rp, in, len, &direct))) {
        /* only a layer that was in the input already (or that its Content-Type claims) may
         * fail */
        mismatch("its own output does not unwrap", opt, rc, &w, &u);
    }
    mg_buf_free(&want);
    cms_result_free(&w);
    cms_result_free(&u);
    cms_result_free(&direct);
    return 0;
}
