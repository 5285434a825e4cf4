/* cms_bench: triple wrap + unwrap per second through mg_crypto and through a bare loop of the
 * same OpenSSL calls (sign with a label, encrypt, sign; verify, decrypt, verify, with the same
 * keys and the same trust store), in one run, for a message size, with 1 and 2 threads.
 * usage: cms_bench PKI_DIR SIZE SECONDS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include "cms_wrap.h"
#include "cms_keys.h"

static const unsigned char label[] = { 0x31, 0x08, 0x02, 0x01, 0x01, 0x06, 0x03, 0x2a, 0x03, 0x04 };

struct ctx {
    struct cms_policy *p;
    X509 *cert, *recip, *ca;
    EVP_PKEY *key, *rkey;
    X509_STORE *store;
    unsigned char *msg;
    size_t len;
    int bare;
    double seconds;
    long ops;        /* result, per thread */
    double cpu;      /* thread CPU seconds used */
    int failed;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static CMS_ContentInfo *bare_sign(struct ctx *c, BIO *in, int ectype_nid)
{
    unsigned flags = CMS_BINARY | CMS_PARTIAL;
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
    if (ectype_nid)
        CMS_set1_eContentType(cms, OBJ_nid2obj(ectype_nid));
    CMS_SignerInfo *si = CMS_add1_signer(cms, c->cert, c->key, EVP_sha256(), flags | CMS_CADES);
    CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_securityLabel, V_ASN1_SET, label, sizeof label);
    CMS_final(cms, in, NULL, flags);
    return cms;
}

/* The eContent octets of a ContentInfo (the bytes the next layer wraps). */
static int econtent(CMS_ContentInfo *cms, unsigned char **out, int *len)
{
    unsigned char *der = NULL;
    int n = i2d_CMS_ContentInfo(cms, &der);
    const unsigned char *p = der;
    long l;
    int tag, cls;
    ASN1_get_object(&p, &l, &tag, &cls, n);          /* SEQUENCE */
    const unsigned char *q = p;
    ASN1_get_object(&q, &l, &tag, &cls, n);           /* OID */
    q += l;
    ASN1_get_object(&q, &l, &tag, &cls, n);           /* [0] */
    *out = malloc((size_t)l);
    memcpy(*out, q, (size_t)l);
    *len = (int)l;
    OPENSSL_free(der);
    return 0;
}

static int bare_round(struct ctx *c)
{
    /* wrap */
    BIO *in = BIO_new_mem_buf(c->msg, (int)c->len);
    CMS_ContentInfo *s1 = bare_sign(c, in, 0);
    BIO_free(in);
    unsigned char *b1;
    int l1;
    econtent(s1, &b1, &l1);
    STACK_OF(X509) *rs = sk_X509_new_null();
    sk_X509_push(rs, c->recip);
    in = BIO_new_mem_buf(b1, l1);
    CMS_ContentInfo *e = CMS_encrypt(rs, NULL, EVP_aes_128_cbc(), CMS_BINARY | CMS_PARTIAL);
    CMS_set1_eContentType(e, OBJ_nid2obj(NID_pkcs7_signed));
    CMS_final(e, in, NULL, CMS_BINARY);
    BIO_free(in);
    unsigned char *b2;
    int l2;
    econtent(e, &b2, &l2);
    in = BIO_new_mem_buf(b2, l2);
    CMS_ContentInfo *s2 = bare_sign(c, in, NID_pkcs7_enveloped);
    BIO_free(in);
    unsigned char *der = NULL;
    int dl = i2d_CMS_ContentInfo(s2, &der);
    /* unwrap */
    const unsigned char *p = der;
    CMS_ContentInfo *v = d2i_CMS_ContentInfo(NULL, &p, dl);
    BIO *o1 = BIO_new(BIO_s_mem()), *o2 = BIO_new(BIO_s_mem()), *o3 = BIO_new(BIO_s_mem());
    int ok = CMS_verify(v, NULL, c->store, NULL, o1, CMS_BINARY) == 1;
    CMS_ContentInfo *v2 = NULL;
    if (ok) {
        /* rebuild the ContentInfo around the EnvelopedData, decrypt */
        char *mp;
        long ml = BIO_get_mem_data(o1, &mp);
        CMS_ContentInfo *ed = NULL;
        ASN1_OBJECT *oid = OBJ_nid2obj(NID_pkcs7_enveloped);
        unsigned char *ob = NULL;
        int ol = i2d_ASN1_OBJECT(oid, &ob);
        int inner = ASN1_object_size(1, (int)ml, 0) + ol;
        int total = ASN1_object_size(1, inner, V_ASN1_SEQUENCE);
        unsigned char *ci = malloc((size_t)total), *w = ci;
        ASN1_put_object(&w, 1, inner, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
        memcpy(w, ob, (size_t)ol), w += ol;
        ASN1_put_object(&w, 1, (int)ml, 0, V_ASN1_CONTEXT_SPECIFIC);
        memcpy(w, mp, (size_t)ml);
        const unsigned char *cp = ci;
        ed = d2i_CMS_ContentInfo(NULL, &cp, total);
        ok = ed && CMS_decrypt(ed, c->rkey, c->recip, NULL, o2, CMS_BINARY) == 1;
        if (ok) {
            char *ip;
            long il = BIO_get_mem_data(o2, &ip);
            unsigned char *ob2 = NULL;
            int ol2 = i2d_ASN1_OBJECT(OBJ_nid2obj(NID_pkcs7_signed), &ob2);
            int in2 = ASN1_object_size(1, (int)il, 0) + ol2;
            int tot2 = ASN1_object_size(1, in2, V_ASN1_SEQUENCE);
            unsigned char *ci2 = malloc((size_t)tot2), *w2 = ci2;
            ASN1_put_object(&w2, 1, in2, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
            memcpy(w2, ob2, (size_t)ol2), w2 += ol2;
            ASN1_put_object(&w2, 1, (int)il, 0, V_ASN1_CONTEXT_SPECIFIC);
            memcpy(w2, ip, (size_t)il);
            const unsigned char *cp2 = ci2;
            v2 = d2i_CMS_ContentInfo(NULL, &cp2, tot2);
            ok = v2 && CMS_verify(v2, NULL, c->store, NULL, o3, CMS_BINARY) == 1;
            free(ci2);
            OPENSSL_free(ob2);
        }
        free(ci);
        OPENSSL_free(ob);
        CMS_ContentInfo_free(ed);
    }
    CMS_ContentInfo_free(v2);
    BIO_free(o1);
    BIO_free(o2);
    BIO_free(o3);
    CMS_ContentInfo_free(v);
    OPENSSL_free(der);
    free(b1);
    free(b2);
    sk_X509_free(rs);
    CMS_ContentInfo_free(s1);
    CMS_ContentInfo_free(e);
    CMS_ContentInfo_free(s2);
    ERR_clear_error();
    return ok;
}

static int lib_round(struct ctx *c)
{
    struct cms_result w, u;
    int ok = cms_wrap(c->p, CMS_OP_TRIPLE, CMS_FORMAT_DER, c->msg, c->len, &w) == 0 &&
             cms_unwrap(c->p, w.data, w.len, &u) == 0 && u.len == c->len;
    cms_result_free(&u);
    cms_result_free(&w);
    return ok;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
    struct ctx *c = arg;
    double end = now() + c->seconds, cpu0 = cpu_now();
    c->ops = 0;
    while (now() < end) {
        if (!(c->bare ? bare_round(c) : lib_round(c))) {
            c->failed = 1;
            break;
        }
        c->ops++;
    }
    c->cpu = cpu_now() - cpu0;
    return NULL;
}

/* Wall-clock rounds per second; *per_cpu gets rounds per CPU-second (steadier on a shared box). */
static double measure(struct ctx *base, int bare, int threads, double seconds, double *per_cpu)
{
    struct ctx t[2];
    pthread_t th[2];
    for (int i = 0; i < threads; i++) {
        t[i] = *base;
        t[i].bare = bare;
        t[i].seconds = seconds;
        pthread_create(&th[i], NULL, worker, &t[i]);
    }
    long ops = 0;
    double cpu = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        if (t[i].failed) {
            fprintf(stderr, "cms_bench: a %s round failed\n", bare ? "bare" : "library");
            exit(1);
        }
        ops += t[i].ops;
        cpu += t[i].cpu;
    }
    *per_cpu = cpu > 0 ? (double)ops / cpu : 0;
    return (double)ops / seconds;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: cms_bench PKI_DIR SIZE SECONDS\n");
        return 2;
    }
    char path[600];
    struct ctx c = { 0 };
    snprintf(path, sizeof path, "%s/alice.pem", argv[1]);
    cms_keys_load_cert(path, &c.cert);
    snprintf(path, sizeof path, "%s/alice.key", argv[1]);
    cms_keys_load_key(path, NULL, &c.key);
    snprintf(path, sizeof path, "%s/carol.pem", argv[1]);
    cms_keys_load_cert(path, &c.recip);
    snprintf(path, sizeof path, "%s/carol.key", argv[1]);
    cms_keys_load_key(path, NULL, &c.rkey);
    snprintf(path, sizeof path, "%s/ca.pem", argv[1]);
    cms_keys_load_cert(path, &c.ca);
    if (!c.cert || !c.key || !c.recip || !c.rkey || !c.ca) {
        fprintf(stderr, "cms_bench: cannot load the PKI from %s\n", argv[1]);
        return 2;
    }
    c.store = X509_STORE_new();
    X509_STORE_add_cert(c.store, c.ca);
    X509_STORE_set_purpose(c.store, X509_PURPOSE_SMIME_SIGN);
    cms_policy_create(&c.p);
    cms_policy_add_anchor(c.p, c.ca);
    cms_policy_set_signer(c.p, CMS_LAYER_INNER, c.cert, c.key, NULL);
    cms_policy_add_recipient(c.p, c.recip);
    cms_policy_add_key(c.p, c.recip, c.rkey);
    cms_policy_set_label(c.p, CMS_LAYER_INNER, label, sizeof label);
    cms_policy_set_label(c.p, CMS_LAYER_OUTER, label, sizeof label);
    c.len = (size_t)strtoul(argv[2], NULL, 10);
    c.msg = malloc(c.len);
    for (size_t i = 0; i < c.len; i++)
        c.msg[i] = (unsigned char)("abcdefghijklmnopqrstuvwxyz\n"[i % 27]);
    double secs = atof(argv[3]);
    for (int threads = 1; threads <= 2; threads++) {
        /* alternate short slices so that load from other processes hits both sides alike */
        double lib = 0, bare = 0, libc = 0, barec = 0, x;
        for (int k = 0; k < 4; k++) {
            lib += measure(&c, 0, threads, secs / 4, &x) / 4;
            libc += x / 4;
            bare += measure(&c, 1, threads, secs / 4, &x) / 4;
            barec += x / 4;
        }
        printf("size=%zu threads=%d library=%.1f/s bare_openssl=%.1f/s ratio=%.2f "
               "per_cpu_s: library=%.1f bare=%.1f ratio=%.2f library_MBps=%.2f\n", c.len, threads,
               lib, bare, bare > 0 ? lib / bare : 0, libc, barec, barec > 0 ? libc / barec : 0,
               lib * (double)c.len / 1e6);
    }
    cms_policy_free(c.p);
    X509_STORE_free(c.store);
    X509_free(c.cert);
    X509_free(c.recip);
    X509_free(c.ca);
    EVP_PKEY_free(c.key);
    EVP_PKEY_free(c.rkey);
    free(c.msg);
    return 0;
}
