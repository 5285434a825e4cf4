/* mixgate cms: sign, verify, encrypt, decrypt, triple-wrap and unwrap files with mg_crypto.
 * Exit 0 on success, 1 when verification or decryption fails (or policy refuses a key), 2 on
 * usage or input errors; always one line on stderr saying why. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cms_wrap.h"
#include "cms_keys.h"
#include "cms_receipt.h"
#include "cert_store.h"
#include "mg_buf.h"
#include "mg_err.h"

const char cmd_cms_summary[] = "sign, verify, encrypt, decrypt, triple-wrap, unwrap S/MIME or CMS";

#define CMS_CLI_MAX_INPUT (64u << 20)

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mixgate cms sign|verify|encrypt|decrypt|triple-wrap|unwrap [options] [FILE]\n"
        "       mixgate cms receipt [options] SIGNED   (ESS signed receipt, signed with --key)\n"
        "       mixgate cms verify-receipt --original SIGNED [options] RECEIPT\n"
        "  FILE (default stdin) is an RFC 5322 message or DER CMS (detected on input).\n"
        "  --key FILE --cert FILE      signer (and decryption) key and certificate (PEM/DER/P12)\n"
        "  --outer-key FILE --outer-cert FILE   outer signer for triple wrap (default: --key)\n"
        "  --pass FILE                 passphrase for encrypted keys / PKCS#12 (first line)\n"
        "  --recip CERT                encryption recipient, repeatable\n"
        "  --ca FILE                   trust anchors, repeatable;  --untrusted FILE  intermediates\n"
        "  --crl FILE                  CRL, repeatable;  --revocation none|open|closed\n"
        "  --store DB                  certificate store: recipients by --to, keys, anchors, CRLs\n"
        "  --to ADDR                   recipient address looked up in --store, repeatable\n"
        "  --harvest                   with --store: keep the certificates of verified signers\n"
        "  --label FILE --outer-label FILE     ESSSecurityLabel DER for inner / outer signature\n"
        "  --equivalent-labels FILE    EquivalentLabels DER (inner signature)\n"
        "  --receipt-to ADDR           request a signed receipt sent to ADDR\n"
        "  --cipher aes128|aes256|aes128-gcm|aes256-gcm   (default aes128)\n"
        "  --oaep  --ecdh-sha256  --detached  --header-protection  --encrypt-to-self\n"
        "  --der                       binary CMS output (P772 content etc.), no MIME\n"
        "  --content-type OID          eContentType of binary content (default id-data)\n"
        "  --content FILE              verify: detached content for a DER signature\n"
        "  --original FILE             verify-receipt: the signed message the receipt is for\n"
        "  --at UNIXTIME               validate certificates at this time\n"
        "  -o FILE                     output file (default stdout)\n");
}

struct opts {
    const char *key, *cert, *okey, *ocert, *pass, *out, *label, *olabel, *equiv, *receipt_to,
        *ctype, *store, *content, *orig;
    int der, harvest;
};

static int load_blob(struct cms_policy *p, const char *path, int which, int kind)
{
    unsigned char *d;
    size_t len;
    int rc = mg_read_file(path, 1u << 20, &d, &len);
    if (rc)
        return rc;
    if (kind == 0)
        rc = cms_policy_set_label(p, (enum cms_layer_which)which, d, len);
    else
        rc = cms_policy_set_equivalent_labels(p, (enum cms_layer_which)which, d, len);
    free(d);
    return rc;
}

static int add_certs(struct cms_policy *p, const char *path, int (*add)(struct cms_policy *, X509 *))
{
    STACK_OF(X509) *sk = NULL;
    int rc = cms_keys_load_certs(path, NULL, &sk);
    for (int i = 0; !rc && i < sk_X509_num(sk); i++)
        rc = add(p, sk_X509_value(sk, i));
    sk_X509_pop_free(sk, X509_free);
    return rc;
}

static int set_signer(struct cms_policy *p, int which, const char *certf, const char *keyf,
                      const char *pass, int also_decrypt)
{
    STACK_OF(X509) *sk = NULL;
    EVP_PKEY *k = NULL;
    int rc = cms_keys_load_certs(certf, pass, &sk);
    if (!rc)
        rc = cms_keys_load_key(keyf, pass, &k);
    if (!rc) {
        X509 *c = sk_X509_shift(sk);
        rc = cms_policy_set_signer(p, (enum cms_layer_which)which, c, k, sk_X509_num(sk) ? sk : NULL);
        if (!rc && also_decrypt)
            rc = cms_policy_add_key(p, c, k);
        X509_free(c);
    }
    EVP_PKEY_free(k);
    sk_X509_pop_free(sk, X509_free);
    return rc;
}

static void hex(FILE *f, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

static void print_layers(const struct cms_result *r)
{
    static const char *const kinds[] = { "?", "signed", "enveloped", "authenveloped", };
    for (int i = 0; i < r->nlayers; i++) {
        const struct cms_layer *l = &r->layers[i];
        fprintf(stderr, "layer %d: %s", i + 1, kinds[l->kind <= 3 ? l->kind : 0]);
        if (l->kind == CMS_KIND_SIGNED) {
            fprintf(stderr, " signer=\"%s\" verify=%s", l->signer,
                    l->status ? mg_errname(l->status) : "ok");
            if (l->label) {
                fprintf(stderr, " label=");
                hex(stderr, l->label, l->label_len);
            }
            if (l->equiv) {
                fprintf(stderr, " equivalent-labels=");
                hex(stderr, l->equiv, l->equiv_len);
            }
            if (l->mlexp) {
                fprintf(stderr, " ml-expansion-history=");
                hex(stderr, l->mlexp, l->mlexp_len);
            }
            if (l->receipt_requested)
                fprintf(stderr, " receipt-requested=yes");
        } else {
            fprintf(stderr, " recipients=%d [%s] decrypt=%s", l->nrecipients, l->recipients,
                    l->status ? mg_errname(l->status) : "ok");
        }
        fprintf(stderr, " content-type=%s\n", l->content_type);
    }
}

static int exit_code(int rc)
{
    switch (rc) {
    case 0: return 0;
    case MG_EVERIFY: case MG_ENOKEY: case MG_ECRYPTO: case MG_EREVOKED: case MG_EEXPIRED:
    case MG_EUNTRUSTED: case MG_EDENIED:
        return 1;
    default:
        return 2;
    }
}

int cmd_cms_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    unsigned ops = 0;
    int unwrap = 0, receipt = 0;
    if (!strcmp(action, "sign")) ops = CMS_OP_SIGN;
    else if (!strcmp(action, "encrypt")) ops = CMS_OP_ENCRYPT;
    else if (!strcmp(action, "triple-wrap")) ops = CMS_OP_TRIPLE;
    else if (!strcmp(action, "verify") || !strcmp(action, "decrypt") || !strcmp(action, "unwrap"))
        unwrap = 1;
    else if (!strcmp(action, "receipt"))
        receipt = 1;
    else if (!strcmp(action, "verify-receipt"))
        receipt = 2;
    else {
        fprintf(stderr, "mixgate cms: unknown action '%s'\n", action);
        return 2;
    }
    enum { O_KEY = 256, O_CERT, O_OKEY, O_OCERT, O_PASS, O_RECIP, O_CA, O_UNTRUSTED, O_CRL,
           O_REVOC, O_LABEL, O_OLABEL, O_EQUIV, O_RTO, O_CIPHER, O_OAEP, O_ECDH, O_DETACHED,
           O_HP, O_SELF, O_DER, O_CTYPE, O_AT, O_STORE, O_TO, O_CONTENT, O_HARVEST, O_ORIG };
    static const struct option lopts[] = {
        { "key", 1, 0, O_KEY }, { "cert", 1, 0, O_CERT }, { "outer-key", 1, 0, O_OKEY },
        { "outer-cert", 1, 0, O_OCERT }, { "pass", 1, 0, O_PASS }, { "recip", 1, 0, O_RECIP },
        { "ca", 1, 0, O_CA }, { "untrusted", 1, 0, O_UNTRUSTED }, { "crl", 1, 0, O_CRL },
        { "revocation", 1, 0, O_REVOC }, { "label", 1, 0, O_LABEL },
        { "outer-label", 1, 0, O_OLABEL }, { "equivalent-labels", 1, 0, O_EQUIV },
        { "receipt-to", 1, 0, O_RTO }, { "cipher", 1, 0, O_CIPHER }, { "oaep", 0, 0, O_OAEP },
        { "ecdh-sha256", 0, 0, O_ECDH }, { "detached", 0, 0, O_DETACHED },
        { "header-protection", 0, 0, O_HP }, { "encrypt-to-self", 0, 0, O_SELF },
        { "der", 0, 0, O_DER }, { "content-type", 1, 0, O_CTYPE }, { "at", 1, 0, O_AT },
        { "store", 1, 0, O_STORE }, { "to", 1, 0, O_TO }, { "content", 1, 0, O_CONTENT }, { "harvest", 0, 0, O_HARVEST }, { "original", 1, 0, O_ORIG }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
    };
    struct cms_policy *p = NULL;
    struct cert_store *store = NULL;
    struct cms_result res;
    cms_result_init(&res);
    struct opts o = { 0 };
    char pass[1024] = "";
    const char *tos[32];
    int ntos = 0;
    int rc = cms_policy_create(&p);
    if (rc) {
        fprintf(stderr, "mixgate cms: %s\n", mg_strerror(rc));
        return 2;
    }
    /* first pass: files that other options depend on (passphrase) */
    optind = 2;
    int c;
    const char *what = "option";
    while ((c = getopt_long(argc, argv, "o:h", lopts, NULL)) != -1) {
        if (c == O_PASS && (rc = cms_keys_read_pass(optarg, pass, sizeof pass))) {
            what = optarg;
            goto out;
        }
        if (c == '?') {
            rc = MG_EINVAL;
            goto usage_err;
        }
    }
    optind = 2;
    while (!rc && (c = getopt_long(argc, argv, "o:h", lopts, NULL)) != -1) {
        what = optarg ? optarg : "option";
        switch (c) {
        case 'h': usage(stdout); cms_policy_free(p); return 0;
        case 'o': o.out = optarg; break;
        case O_KEY: o.key = optarg; break;
        case O_CERT: o.cert = optarg; break;
        case O_OKEY: o.okey = optarg; break;
        case O_OCERT: o.ocert = optarg; break;
        case O_PASS: break;
        case O_RECIP: rc = add_certs(p, optarg, cms_policy_add_recipient); break;
        case O_CA: rc = add_certs(p, optarg, cms_policy_add_anchor); break;
        case O_UNTRUSTED: rc = add_certs(p, optarg, cms_policy_add_untrusted); break;
        case O_CRL: {
            STACK_OF(X509_CRL) *crls = NULL;
            rc = cms_keys_load_crls(optarg, &crls);
            for (int i = 0; !rc && i < sk_X509_CRL_num(crls); i++)
                rc = cms_policy_add_crl(p, sk_X509_CRL_value(crls, i));
            sk_X509_CRL_pop_free(crls, X509_CRL_free);
            break;
        }
        case O_REVOC:
            if (!strcmp(optarg, "none")) cms_policy_set_revocation(p, CMS_REVOCATION_NONE);
            else if (!strcmp(optarg, "open")) cms_policy_set_revocation(p, CMS_REVOCATION_FAIL_OPEN);
            else if (!strcmp(optarg, "closed")) cms_policy_set_revocation(p, CMS_REVOCATION_FAIL_CLOSED);
            else rc = MG_EINVAL;
            break;
        case O_LABEL: o.label = optarg; break;
        case O_OLABEL: o.olabel = optarg; break;
        case O_EQUIV: o.equiv = optarg; break;
        case O_RTO: rc = cms_policy_set_receipt_request(p, optarg); break;
        case O_CIPHER:
            if (!strcmp(optarg, "aes128")) cms_policy_set_cipher(p, CMS_CIPHER_AES128_CBC);
            else if (!strcmp(optarg, "aes256")) cms_policy_set_cipher(p, CMS_CIPHER_AES256_CBC);
            else if (!strcmp(optarg, "aes128-gcm")) cms_policy_set_cipher(p, CMS_CIPHER_AES128_GCM);
            else if (!strcmp(optarg, "aes256-gcm")) cms_policy_set_cipher(p, CMS_CIPHER_AES256_GCM);
            else rc = MG_EINVAL;
            break;
        case O_OAEP: cms_policy_set_rsa_oaep(p, 1); break;
        case O_ECDH: cms_policy_set_ecdh_sha256(p, 1); break;
        case O_DETACHED: cms_policy_set_detached(p, 1); break;
        case O_HP: cms_policy_set_header_protection(p, 1); break;
        case O_SELF: cms_policy_set_encrypt_to_self(p, 1); break;
        case O_DER: o.der = 1; break;
        case O_CTYPE: rc = cms_policy_set_content_type(p, optarg); break;
        case O_AT: cms_policy_set_check_time(p, strtoll(optarg, NULL, 10)); break;
        case O_STORE: o.store = optarg; break;
        case O_CONTENT: o.content = optarg; break;
        case O_HARVEST: o.harvest = 1; break;
        case O_ORIG: o.orig = optarg; break;
        case O_TO:
            if (ntos < 32) tos[ntos++] = optarg;
            else rc = MG_ETOOBIG;
            break;
        default: rc = MG_EINVAL; goto usage_err;
        }
    }
    if (rc)
        goto out;
    what = "options";
    if ((o.key != NULL) != (o.cert != NULL) || (o.okey != NULL) != (o.ocert != NULL)) {
        rc = MG_EINVAL;
        goto usage_err;
    }
    if (o.cert && (rc = set_signer(p, CMS_LAYER_INNER, o.cert, o.key, pass, 1))) {
        what = o.cert;
        goto out;
    }
    if (o.ocert && (rc = set_signer(p, CMS_LAYER_OUTER, o.ocert, o.okey, pass, 0))) {
        what = o.ocert;
        goto out;
    }
    if ((o.label && (rc = load_blob(p, what = o.label, CMS_LAYER_INNER, 0))) ||
        (o.olabel && (rc = load_blob(p, what = o.olabel, CMS_LAYER_OUTER, 0))) ||
        (o.equiv && (rc = load_blob(p, what = o.equiv, CMS_LAYER_INNER, 1))))
        goto out;
    if (o.store) {
        what = o.store;
        if ((rc = cert_store_open(&store, o.store, pass[0] ? pass : NULL)) ||
            (rc = cert_store_fill_policy(store, p)))
            goto out;
        for (int i = 0; i < ntos; i++) {
            X509 *rc_cert = NULL;
            char why[300];
            what = tos[i];
            if ((rc = cert_store_find_encryption_cert(store, tos[i], p, &rc_cert, why, sizeof why))) {
                fprintf(stderr, "mixgate cms %s: %s: %s: %s\n", action, tos[i], mg_errname(rc), why);
                goto done;
            }
            rc = cms_policy_add_recipient(p, rc_cert);
            X509_free(rc_cert);
            if (rc)
                goto out;
        }
    } else if (ntos || o.harvest) {
        what = ntos ? "--to needs --store" : "--harvest needs --store";
        rc = MG_EINVAL;
        goto out;
    }
    const char *inpath = optind < argc ? argv[optind] : NULL;
    unsigned char *in = NULL;
    size_t inlen = 0;
    what = inpath ? inpath : "stdin";
    rc = mg_read_file(inpath ? inpath : "/dev/stdin", CMS_CLI_MAX_INPUT, &in, &inlen);
    if (rc)
        goto out;
    if (receipt == 1) {
        rc = cms_receipt_make(p, in, inlen, &res);
    } else if (receipt == 2) {
        unsigned char *od = NULL;
        size_t ol = 0;
        what = o.orig ? o.orig : "--original is required";
        if (!o.orig || (rc = mg_read_file(o.orig, CMS_CLI_MAX_INPUT, &od, &ol))) {
            rc = rc ? rc : MG_EINVAL;
            free(in);
            goto out;
        }
        rc = cms_receipt_verify(p, in, inlen, od, ol, &res);
        free(od);
        free(in);
        if (rc)
            fprintf(stderr, "mixgate cms %s: %s: %s\n", action, mg_errname(rc), res.reason);
        else
            fprintf(stderr, "mixgate cms verify-receipt: ok: receipt from \"%s\"\n",
                    res.layers[0].signer);
        goto done;
    } else if (unwrap && o.content) {
        unsigned char *cd = NULL;
        size_t cl = 0;
        what = o.content;
        if ((rc = mg_read_file(o.content, CMS_CLI_MAX_INPUT, &cd, &cl))) {
            free(in);
            goto out;
        }
        rc = cms_unwrap_detached(p, in, inlen, cd, cl, &res);
        free(cd);
    } else if (unwrap)
        rc = cms_unwrap(p, in, inlen, &res);
    else
        rc = cms_wrap(p, ops, o.der ? CMS_FORMAT_DER : CMS_FORMAT_MIME, in, inlen, &res);
    free(in);
    if (unwrap)
        print_layers(&res);
    /* harvesting is the caller's, as for a channel: the signers that verified, also when a
     * later layer then failed */
    int harvested = 0;
    if (o.harvest && unwrap && (harvested = cert_store_harvest(store, &res)) < 0)
        fprintf(stderr, "mixgate cms %s: harvest: %s\n", action, mg_strerror(harvested));
    if (rc) {
        fprintf(stderr, "mixgate cms %s: %s: %s\n", action, mg_errname(rc), res.reason);
        goto done;
    }
    if (unwrap && !strcmp(action, "decrypt")) {
        int any = 0;
        for (int i = 0; i < res.nlayers; i++)
            any |= res.layers[i].kind != CMS_KIND_SIGNED;
        if (!any) {
            rc = MG_EPARSE;
            fprintf(stderr, "mixgate cms decrypt: input is not encrypted\n");
            goto done;
        }
    }
    if (o.harvest && unwrap && harvested >= 0)
        fprintf(stderr, "mixgate cms %s: harvested %d new signer certificate(s)\n", action,
                harvested);
    if (res.header_mismatch)
        fprintf(stderr, "mixgate cms %s: warning: %s\n", action, res.reason);
    if (o.out)
        rc = mg_write_file_atomic(o.out, res.data, res.len, 0644);
    else
        rc = fwrite(res.data, 1, res.len, stdout) == res.len && fflush(stdout) == 0 ? 0 : MG_EIO;
    if (rc) {
        fprintf(stderr, "mixgate cms %s: cannot write %s: %s\n", action, o.out ? o.out : "stdout",
                mg_strerror(rc));
        goto done;
    }
    if (res.skipped_encrypt)
        fprintf(stderr, "mixgate cms %s: already encrypted for these recipients: not encrypted again\n",
                action);
    else if (unwrap)
        fprintf(stderr, "mixgate cms %s: ok: %s\n", action, res.reason);
    goto done;
usage_err:
    usage(stderr);
out:
    fprintf(stderr, "mixgate cms %s: %s: %s\n", action, what, mg_strerror(rc));
done:
    cms_result_free(&res);
    cert_store_close(store);
    cms_policy_free(p);
    return exit_code(rc);
}
