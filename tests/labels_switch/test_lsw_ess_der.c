/* Tests of the ESS label of a binary X.400 content signed as a whole (STANAG 4406 Annex B,
 * RFC 3854/3855): a P772 content (test-vectors/ipm/p772-full.p772) signed the way
 * `openssl cms -sign -binary -nodetach -outform DER` signs it, with the ESS security label
 * (1.2.840.113549.1.9.16.2.2) among the signed attributes, made here with OpenSSL's CMS API
 * (the command line has no option for an arbitrary signed attribute) and a throw-away key.
 * The label is found in the ContentInfo, in a bare SignedData, through lsw_find_labels as at
 * submission from P1; not in unsigned, unlabelled, enveloped or truncated contents. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels.h"
#include "lbl_ber.h"
#include "lsw.h"
#include "lsw_int.h"
#include "lsw_smime.h"
#include "mg_err.h"

static char SRC[1024], SPIF[1100];

static const char *env(void *ctx, const char *name)
{
    (void)ctx;
    return !strcmp(name, "SPIF") ? SPIF : NULL;
}

static struct {
    struct config *cfg;
    struct lsw *l;
    unsigned char *p772;        /* the unsigned content */
    size_t p772_len;
    unsigned char *ess;         /* the label, ESS DER */
    size_t ess_len;
    EVP_PKEY *key;
    X509 *cert;
} G;

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *b = malloc(1 << 20);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

/* A self-signed signer made for the run (nothing is verified by the extraction). */
static void make_signer(void)
{
    G.key = EVP_EC_gen("P-256");
    assert_non_null(G.key);
    G.cert = X509_new();
    X509_set_version(G.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(G.cert), 1);
    X509_NAME *nm = X509_get_subject_name(G.cert);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"signer.test", -1, -1, 0);
    X509_set_issuer_name(G.cert, nm);
    X509_gmtime_adj(X509_getm_notBefore(G.cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(G.cert), 3600);
    X509_set_pubkey(G.cert, G.key);
    assert_true(X509_sign(G.cert, G.key, EVP_sha256()) > 0);
}

/* Signs content as `openssl cms -sign -binary -nodetach -outform DER` does, plus the ESS label
 * (when given) as a signed attribute. bare: the SignedData without its ContentInfo. */
static unsigned char *sign(const unsigned char *c, size_t n, const unsigned char *label, size_t ll, int bare,
                           size_t *outn)
{
    BIO *in = BIO_new_mem_buf(c, (int)n);
    CMS_ContentInfo *ci = CMS_sign(NULL, NULL, NULL, in, CMS_BINARY | CMS_PARTIAL);
    assert_non_null(ci);
    CMS_SignerInfo *si = CMS_add1_signer(ci, G.cert, G.key, EVP_sha256(), CMS_BINARY | CMS_PARTIAL);
    assert_non_null(si);
    if (label) {
        ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113549.1.9.16.2.2", 1);
        assert_int_equal(CMS_signed_add1_attr_by_OBJ(si, oid, V_ASN1_SEQUENCE, label, (int)ll), 1);
        ASN1_OBJECT_free(oid);
    }
    assert_int_equal(CMS_final(ci, in, NULL, CMS_BINARY), 1);
    unsigned char *der = NULL;
    int len = i2d_CMS_ContentInfo(ci, &der);
    assert_true(len > 0);
    CMS_ContentInfo_free(ci);
    BIO_free(in);
    unsigned char *out = malloc((size_t)len);
    memcpy(out, der, (size_t)len);
    *outn = (size_t)len;
    OPENSSL_free(der);
    if (bare) {
        /* ContentInfo ::= SEQUENCE { contentType OID (11 bytes), [0] { SignedData } }: skip the
         * outer header, the OID and the [0] header (all definite lengths in DER) */
        size_t o = 1 + ((out[1] & 0x80) ? 1 + (out[1] & 0x7f) : 1);
        o += 11;
        o += 1 + ((out[o + 1] & 0x80) ? 1 + (out[o + 1] & 0x7f) : 1);
        memmove(out, out + o, *outn - o);
        *outn -= o;
    }
    return out;
}

struct dcase {
    const char *name;
    int signed_, labelled, bare, truncate;
    int want;                  /* lsw_smime_ess_label_der's result */
};

static const struct dcase dcases[] = {
    { "contentinfo_signed_labelled", 1, 1, 0, 0, 0 },
    { "bare_signeddata_labelled", 1, 1, 1, 0, 0 },
    { "signed_without_label", 1, 0, 0, 0, MG_ENOTFOUND },
    { "unsigned_p772", 0, 0, 0, 0, MG_ENOTFOUND },
    { "truncated_signed", 1, 1, 0, 1, MG_ENOTFOUND },
};

static void run_dcase(void **state)
{
    const struct dcase *c = *state;
    size_t n = G.p772_len;
    unsigned char *content = c->signed_ ? sign(G.p772, G.p772_len, c->labelled ? G.ess : NULL, G.ess_len, c->bare, &n)
                                        : G.p772;
    if (c->truncate)
        n /= 2;
    unsigned char *der = NULL;
    size_t dl = 0;
    assert_int_equal(lsw_smime_ess_label_der(content, n, &der, &dl), c->want);
    if (c->want == 0) {
        assert_int_equal(dl, G.ess_len);
        assert_memory_equal(der, G.ess, dl);
    } else {
        assert_null(der);
    }
    /* the MIME path does not take binary content for a message */
    unsigned char *d2 = NULL;
    size_t l2 = 0;
    assert_int_equal(lsw_smime_ess_label(content, n, &d2, &l2), MG_ENOTFOUND);
    free(der);
    if (content != G.p772)
        free(content);
}

/* As at submission from P1 (extract = [ "x411", "ess" ]): the X.411 envelope label and the ESS
 * label of the signed content are both found, the ESS one decoded to the label that was signed. */
static void find_labels_in_signed_p1_content(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *content = sign(G.p772, G.p772_len, G.ess, G.ess_len, 0, &n);
    struct lsw_sources s = { .src = { LSW_SRC_X411, LSW_SRC_ESS }, .nsrc = 2 };
    struct lsw_found *f = NULL;
    size_t nf = 0;
    char errs[600];
    assert_int_equal(lsw_find_labels(&s, lsw_policies(G.l), content, n, G.ess, G.ess_len, &f, &nf, errs, sizeof errs),
                     0);
    assert_int_equal(nf, 2);
    assert_int_equal(f[1].src, LSW_SRC_ESS);
    struct lbl_label want;
    lbl_label_init(&want);
    struct lbl_err err = { "" };
    assert_int_equal(lbl_ess_decode(G.ess, G.ess_len, &want, &err), 0);
    assert_true(lbl_label_equal(&f[1].label, &want));
    assert_true(lbl_label_equal(&f[0].label, &want));
    lbl_label_free(&want);
    lsw_found_free(f, nf);
    /* the unsigned content: only the envelope's */
    assert_int_equal(lsw_find_labels(&s, lsw_policies(G.l), G.p772, G.p772_len, G.ess, G.ess_len, &f, &nf, errs,
                                     sizeof errs), 0);
    assert_int_equal(nf, 1);
    assert_int_equal(f[0].src, LSW_SRC_X411);
    lsw_found_free(f, nf);
    free(content);
}

/* An enveloped (encrypted) content is CMS but not signed: no label, no error. */
static void enveloped_is_not_signed(void **state)
{
    (void)state;
    BIO *in = BIO_new_mem_buf(G.p772, (int)G.p772_len);
    STACK_OF(X509) *to = sk_X509_new_null();
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    X509 *rc = X509_new();
    X509_set_version(rc, 2);
    X509_set_issuer_name(rc, X509_get_subject_name(G.cert));
    X509_set_subject_name(rc, X509_get_subject_name(G.cert));
    X509_gmtime_adj(X509_getm_notBefore(rc), 0);
    X509_gmtime_adj(X509_getm_notAfter(rc), 3600);
    X509_set_pubkey(rc, rsa);
    X509_sign(rc, rsa, EVP_sha256());
    sk_X509_push(to, rc);
    CMS_ContentInfo *ci = CMS_encrypt(to, in, EVP_aes_128_cbc(), CMS_BINARY);
    assert_non_null(ci);
    unsigned char *der = NULL;
    int len = i2d_CMS_ContentInfo(ci, &der);
    unsigned char *lab = NULL;
    size_t ll = 0;
    assert_int_equal(lsw_smime_ess_label_der(der, (size_t)len, &lab, &ll), MG_ENOTFOUND);
    OPENSSL_free(der);
    CMS_ContentInfo_free(ci);
    sk_X509_pop_free(to, X509_free);
    EVP_PKEY_free(rsa);
    BIO_free(in);
}

int main(void)
{
    const char *src = getenv("MIXGATE_SOURCE_DIR");
    snprintf(SRC, sizeof SRC, "%s", src ? src : ".");
    snprintf(SPIF, sizeof SPIF, "%s/etc/examples/labels/example-spif.xml", SRC);
    static const char conf[] =
        "global = { hostname = \"t.test\"; var_dir = \"/tmp/lsw-ess-der-unit\"; };\n"
        "listeners = ( { name = \"in\"; listen = \"127.0.0.1:1\"; } );\n"
        "channels = ( { name = \"a\"; type = \"file\"; directory = \"/a\"; } );\n"
        "routes = ( { default = true; chain = [ \"a\" ]; } );\n"
        "labels = { spif = \"${SPIF}\"; };\n";
    struct config_errors errs = { 0 };
    if (channels_config_load_text("d.conf", conf, sizeof conf - 1, env, NULL, &G.cfg, &errs) ||
        lsw_load(G.cfg, &G.l, &errs)) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].text);
        return 1;
    }
    char path[1200], e[600];
    snprintf(path, sizeof path, "%s/test-vectors/ipm/p772-full.p772", SRC);
    G.p772 = slurp(path, &G.p772_len);
    if (lsw_label_from_text(G.l,
                            "<label xmlns='http://surevine.com/xmlns/spiffy'><policy id='1.3.6.1.4.1.99999.7'/>"
                            "<classification lacv='4'/><tag type='permissive' id='1.3.6.1.4.1.99999.7.1' lacv='1'/>"
                            "</label>",
                            &G.ess, &G.ess_len, e, sizeof e)) {
        fprintf(stderr, "label: %s\n", e);
        return 1;
    }
    make_signer();
    int failed = 0;
    struct CMUnitTest t[sizeof dcases / sizeof *dcases];
    for (size_t i = 0; i < sizeof dcases / sizeof *dcases; i++)
        t[i] = (struct CMUnitTest){ dcases[i].name, run_dcase, NULL, NULL, (void *)&dcases[i] };
    failed += _cmocka_run_group_tests("lsw_ess_der", t, sizeof dcases / sizeof *dcases, NULL, NULL);
    const struct CMUnitTest more[] = {
        cmocka_unit_test(find_labels_in_signed_p1_content),
        cmocka_unit_test(enveloped_is_not_signed),
    };
    failed += cmocka_run_group_tests_name("lsw_ess_der_more", more, NULL, NULL);
    X509_free(G.cert);
    EVP_PKEY_free(G.key);
    free(G.p772);
    free(G.ess);
    lsw_free(G.l);
    config_free(G.cfg);
    return failed ? 1 : 0;
}
