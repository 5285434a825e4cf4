/* mixgate cert: the certificate store (import, list, show, export, harvest from signed mail).
 * Exit 0 on success, 1 when a harvested message does not verify, 2 on usage or input errors. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include "cert_store.h"
#include "cms_keys.h"
#include "cms_wrap.h"
#include "mg_buf.h"
#include "mg_err.h"

const char cmd_cert_summary[] = "certificate store: import, list, show, export, harvest";

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mixgate cert import|list|show|export|harvest|fetch-crl|ocsp --store DB [options] [ARG]\n"
        "  import FILE      PEM/DER certificates, CRLs, cert+key PEM, PKCS#12\n"
        "      --anchor     trust the imported certificates as anchors\n"
        "      --orname TEXT  X.400 O/R address of the certificate's owner\n"
        "      --pass FILE  passphrase (first line): key encryption at rest and PKCS#12\n"
        "  list             one line per certificate (A = anchor, K = private key held)\n"
        "  show ID          certificate details;   export ID [-o FILE]  certificate as PEM\n"
        "  harvest MSG      verify a signed message, store its signers' certificates\n"
        "  fetch-crl [URL]  fetch a DER CRL over http:// (default: every distribution point)\n"
        "      --timeout S  seconds per fetch (default 10; OpenSSL retries a refused connect)\n"
        "  ocsp [URL]       ask OCSP (URL or each certificate's AIA responder) and cache the answers\n");
}

int cmd_cert_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1], *db = NULL, *orname = NULL, *out = NULL;
    char pass[1024] = "";
    int anchor = 0, c, rc = 0, timeout = 10;
    static const struct option lopts[] = {
        { "store", 1, 0, 's' }, { "anchor", 0, 0, 'a' }, { "orname", 1, 0, 'O' },
        { "pass", 1, 0, 'p' }, { "timeout", 1, 0, 't' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
    };
    optind = 2;
    while ((c = getopt_long(argc, argv, "o:h", lopts, NULL)) != -1) {
        switch (c) {
        case 's': db = optarg; break;
        case 'a': anchor = 1; break;
        case 'O': orname = optarg; break;
        case 'o': out = optarg; break;
        case 't': timeout = atoi(optarg) > 0 ? atoi(optarg) : 10; break;
        case 'p':
            if ((rc = cms_keys_read_pass(optarg, pass, sizeof pass))) {
                fprintf(stderr, "mixgate cert: %s: %s\n", optarg, mg_strerror(rc));
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    const char *arg = optind < argc ? argv[optind] : NULL;
    int needs_arg = strcmp(action, "list") != 0 && strcmp(action, "fetch-crl") != 0 &&
                    strcmp(action, "ocsp") != 0;
    if (!db || (needs_arg && !arg)) {
        fprintf(stderr, "mixgate cert %s: %s\n", action, !db ? "--store DB is required" : "argument missing");
        return 2;
    }
    struct cert_store *s = NULL;
    if ((rc = cert_store_open(&s, db, pass[0] ? pass : NULL))) {
        fprintf(stderr, "mixgate cert: %s: %s\n", db, mg_strerror(rc));
        return 2;
    }
    int exit_rc = 0;
    if (!strcmp(action, "import")) {
        rc = cert_store_import_file(s, arg, pass, anchor, orname);
        if (rc < 0) {
            fprintf(stderr, "mixgate cert import: %s: %s\n", arg, mg_strerror(rc));
            exit_rc = 2;
        } else {
            fprintf(stderr, "mixgate cert import: %d item(s) from %s\n", rc, arg);
        }
    } else if (!strcmp(action, "list")) {
        if ((rc = cert_store_list(s, stdout))) {
            fprintf(stderr, "mixgate cert list: %s\n", mg_strerror(rc));
            exit_rc = 2;
        }
    } else if (!strcmp(action, "show") || !strcmp(action, "export")) {
        X509 *x = NULL;
        int has_key = 0;
        if ((rc = cert_store_get(s, strtoll(arg, NULL, 10), &x, &has_key))) {
            fprintf(stderr, "mixgate cert %s: %s: %s\n", action, arg, mg_strerror(rc));
            exit_rc = 2;
        } else {
            FILE *f = out ? fopen(out, "w") : stdout;
            if (!f) {
                fprintf(stderr, "mixgate cert %s: cannot write %s\n", action, out);
                exit_rc = 2;
            } else {
                if (!strcmp(action, "show")) {
                    X509_print_fp(f, x);
                    fprintf(f, "private key held: %s\n", has_key ? "yes" : "no");
                } else {
                    PEM_write_X509(f, x);
                }
                if (out)
                    fclose(f);
            }
            X509_free(x);
        }
    } else if (!strcmp(action, "fetch-crl")) {
        rc = arg ? cert_store_fetch_crl(s, arg, timeout) : cert_store_refresh_crls(s, timeout);
        if (rc < 0) {
            fprintf(stderr, "mixgate cert fetch-crl: %s: %s\n", arg ? arg : "distribution points",
                    mg_strerror(rc));
            exit_rc = 2;
        } else {
            fprintf(stderr, "mixgate cert fetch-crl: %d CRL(s) cached\n", arg ? 1 : rc);
        }
    } else if (!strcmp(action, "ocsp")) {
        struct cms_policy *p = NULL;
        if (!(rc = cms_policy_create(&p)) && !(rc = cert_store_fill_policy(s, p)))
            rc = cert_store_ocsp_refresh(s, p, arg, timeout);
        cms_policy_free(p);
        if (rc < 0) {
            fprintf(stderr, "mixgate cert ocsp: %s\n", mg_strerror(rc));
            exit_rc = 2;
        } else {
            fprintf(stderr, "mixgate cert ocsp: %d answer(s) cached\n", rc);
        }
    } else if (!strcmp(action, "harvest")) {
        struct cms_policy *p = NULL;
        struct cms_result res;
        unsigned char *in = NULL;
        size_t len;
        cms_result_init(&res);
        /* the same path as a channel's: unwrap returns the verified signers, we store them */
        int n = 0;
        if ((rc = cms_policy_create(&p)) || (rc = cert_store_fill_policy(s, p)) ||
            (rc = mg_read_file(arg, 64u << 20, &in, &len))) {
            fprintf(stderr, "mixgate cert harvest: %s: %s\n", arg, mg_strerror(rc));
            exit_rc = 2;
        } else if ((rc = cms_unwrap(p, in, len, &res))) {
            fprintf(stderr, "mixgate cert harvest: %s: %s: %s\n", arg, mg_errname(rc), res.reason);
            exit_rc = (rc == MG_EPARSE || rc == MG_EIO) ? 2 : 1;
        } else if ((n = cert_store_harvest(s, &res)) < 0) {
            fprintf(stderr, "mixgate cert harvest: %s\n", mg_strerror(n));
            exit_rc = 2;
        } else {
            fprintf(stderr, "mixgate cert harvest: %d new signer certificate(s) stored\n", n);
        }
        free(in);
        cms_result_free(&res);
        cms_policy_free(p);
    } else {
        fprintf(stderr, "mixgate cert: unknown action '%s'\n", action);
        exit_rc = 2;
    }
    cert_store_close(s);
    return exit_rc;
}
