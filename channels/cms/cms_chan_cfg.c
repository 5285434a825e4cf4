/* cms_chan_cfg: loads and checks the options of a `cms` channel (every problem reported as
 * file:line) and builds its immutable configuration: the base CMS policy (the gateway's key
 * and certificate, trust anchors, CRLs, algorithms) and the encryption policy. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cert_store.h"
#include "cms_chan_int.h"
#include "cms_keyproc.h"
#include "mg_buf.h"
#include "cms_keyproc_int.h"
#include "cms_keys.h"
#include "cms_wrap.h"
#include "mg_err.h"

/* The loader's state for one channel. */
struct cfgctx {
    const struct config *cfg;
    const struct config_channel *ch;
    struct config_errors *errs;
    bool bad, oom;
};

static void err(struct cfgctx *c, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void err(struct cfgctx *c, const config_setting_t *s, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->bad = true;
    int line = s ? (int)config_setting_source_line(s) : c->ch->line;
    if (config_errors_addf(c->errs, c->cfg->path, line, "channel '%s': %s", c->ch->name, buf) ==
        MG_ENOMEM)
        c->oom = true;
}

/* The string value of key, NULL when absent (a wrong type is reported). */
static const char *get_str(struct cfgctx *c, const char *key, const config_setting_t **where)
{
    const config_setting_t *s = config_setting_get_member(c->ch->settings, key);
    if (where)
        *where = s;
    if (!s)
        return NULL;
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        err(c, s, "'%s' must be a string", key);
        return NULL;
    }
    return config_setting_get_string(s);
}

static bool get_bool(struct cfgctx *c, const char *key, bool dflt)
{
    const config_setting_t *s = config_setting_get_member(c->ch->settings, key);
    if (!s)
        return dflt;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        err(c, s, "'%s' must be true or false", key);
        return dflt;
    }
    return config_setting_get_bool(s) != 0;
}

/* One of names[] (index), dflt when absent; a wrong value lists the choices. */
static int get_enum(struct cfgctx *c, const char *key, const char *const *names, int dflt)
{
    const config_setting_t *s;
    const char *v = get_str(c, key, &s);
    if (!v)
        return dflt;
    char list[256] = "";
    for (int i = 0; names[i]; i++) {
        if (!strcasecmp(v, names[i]))
            return i;
        size_t o = strlen(list);
        snprintf(list + o, sizeof list - o, "%s\"%s\"", i ? ", " : "", names[i]);
    }
    err(c, s, "'%s' must be one of %s, not \"%s\"", key, list, v);
    return dflt;
}

/* A string or a list of strings: calls fn for each. Returns the number seen. */
static size_t each_str(struct cfgctx *c, const char *key,
                       void (*fn)(struct cfgctx *, const config_setting_t *, const char *, void *),
                       void *arg)
{
    const config_setting_t *s = config_setting_get_member(c->ch->settings, key);
    if (!s)
        return 0;
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        fn(c, s, config_setting_get_string(s), arg);
        return 1;
    }
    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) {
        err(c, s, "'%s' must be a string or a list of strings", key);
        return 0;
    }
    size_t n = 0;
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            err(c, e, "'%s' must list strings", key);
            continue;
        }
        fn(c, e, config_setting_get_string(e), arg);
        n++;
    }
    return n;
}

static void add_op(struct cfgctx *c, const config_setting_t *s, const char *v, void *arg)
{
    static const char *const names[] = { "decrypt", "verify", "strip", "sign", "encrypt",
                                         "triple-wrap", NULL };
    unsigned *ops = arg;
    for (int i = 0; names[i]; i++)
        if (!strcasecmp(v, names[i])) {
            *ops |= 1u << i;
            return;
        }
    err(c, s, "unknown operation \"%s\" (decrypt, verify, strip, sign, encrypt, triple-wrap)", v);
}

static void add_anchor(struct cfgctx *c, const config_setting_t *s, const char *v, void *arg)
{
    struct cmsch_conf *cc = arg;
    STACK_OF(X509) *certs = NULL;
    int rc = cms_keys_load_certs(v, NULL, &certs);
    if (rc)
        err(c, s, "cannot load trust anchors from %s: %s", v, mg_strerror(rc));
    for (int i = 0; !rc && i < sk_X509_num(certs); i++)
        if (cms_policy_add_anchor(cc->policy, sk_X509_value(certs, i)))
            c->oom = true;
    sk_X509_pop_free(certs, X509_free);
}

static void add_crl(struct cfgctx *c, const config_setting_t *s, const char *v, void *arg)
{
    struct cmsch_conf *cc = arg;
    STACK_OF(X509_CRL) *crls = NULL;
    int rc = cms_keys_load_crls(v, &crls);
    if (rc)
        err(c, s, "cannot load CRLs from %s: %s", v, mg_strerror(rc));
    for (int i = 0; !rc && i < sk_X509_CRL_num(crls); i++)
        if (cms_policy_add_crl(cc->policy, sk_X509_CRL_value(crls, i)))
            c->oom = true;
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
}

static void add_archive(struct cfgctx *c, const config_setting_t *s, const char *v, void *arg)
{
    struct cmsch_conf *cc = arg;
    X509 *x = NULL;
    int rc = cms_keys_load_cert(v, &x);
    if (rc) {
        err(c, s, "cannot load the archive certificate %s: %s", v, mg_strerror(rc));
        return;
    }
    if ((!cc->archive && !(cc->archive = sk_X509_new_null())) || !sk_X509_push(cc->archive, x)) {
        X509_free(x);
        c->oom = true;
    }
}

static void add_glob(struct cfgctx *c, const config_setting_t *s, const char *v, void *arg)
{
    (void)s;
    struct cmsch_conf *cc = arg;
    char **n = realloc(cc->select_rcpts, (cc->n_select_rcpts + 1) * sizeof *n);
    if (!n || !(n[cc->n_select_rcpts] = strdup(v))) {
        if (n)
            cc->select_rcpts = n;
        c->oom = true;
        return;
    }
    cc->select_rcpts = n;
    cc->n_select_rcpts++;
}

/* The gateway's own identity: signs as the MTA and decrypts what is sent to it. */
static void load_identity(struct cfgctx *c, struct cmsch_conf *cc)
{
    const config_setting_t *cs, *ks, *ps;
    const char *cert = get_str(c, "cert", &cs), *key = get_str(c, "key", &ks);
    const char *passf = get_str(c, "key_pass_file", &ps);
    if (!cert && !key)
        return;
    if (!cert || !key) {
        err(c, cert ? cs : ks, "'cert' and 'key' go together");
        return;
    }
    /* with a key process (mixgated) the key is loaded there, never here: only its public
     * half and a connection for the private operations come back */
    int kpfd = cms_keyproc_env_fd();
    char pass[256] = "", why[300];
    int rc;
    if (kpfd < 0 && passf && (rc = cms_keys_read_pass(passf, pass, sizeof pass)) != 0) {
        err(c, ps, "cannot read %s: %s", passf, mg_strerror(rc));
        return;
    }
    STACK_OF(X509) *certs = NULL;
    EVP_PKEY *pk = NULL;
    if ((rc = cms_keys_load_certs(cert, NULL, &certs)) != 0 || sk_X509_num(certs) < 1) {
        err(c, cs, "cannot load the certificate %s: %s", cert, mg_strerror(rc ? rc : MG_EPARSE));
    } else if (kpfd < 0 && cms_keyproc_is_pkcs11(key) &&
               (rc = cms_keyproc_load_pkcs11(key, passf ? pass : NULL, &pk)) != 0) {
        err(c, ks, "cannot load the private key %s: %s", key, mg_strerror(rc));
    } else if (kpfd < 0 && !pk && (rc = cms_keys_load_key(key, passf ? pass : NULL, &pk)) != 0) {
        err(c, ks, "cannot load the private key %s: %s", key, mg_strerror(rc));
    } else if (kpfd >= 0 && (rc = cms_keyproc_load_key(kpfd, key, passf, &pk, why, sizeof why))) {
        err(c, ks, "cannot load the private key %s: %s", key, why);
    } else {
        X509 *leaf = sk_X509_value(certs, 0);
        STACK_OF(X509) *chain = sk_X509_dup(certs);
        if (chain)
            (void)sk_X509_shift(chain);
        rc = cms_policy_set_signer(cc->policy, CMS_LAYER_INNER, leaf, pk, chain);
        if (rc == MG_ENOKEY)
            err(c, ks, "the private key %s does not belong to the certificate %s", key, cert);
        else if (rc || (rc = cms_policy_add_key(cc->policy, leaf, pk)) != 0)
            c->oom = true;
        else
            cc->has_signer = true;
        sk_X509_free(chain);
    }
    OPENSSL_cleanse(pass, sizeof pass);
    EVP_PKEY_free(pk);
    sk_X509_pop_free(certs, X509_free);
}

/* Anchors, intermediates, CRLs, OCSP answers and (with a passphrase) keys from the store. */
static void load_store(struct cfgctx *c, struct cmsch_conf *cc)
{
    const config_setting_t *ss, *ps;
    const char *store = get_str(c, "store", &ss), *passf = get_str(c, "store_pass_file", &ps);
    if (!store) {
        if (passf)
            err(c, ps, "'store_pass_file' needs 'store'");
        return;
    }
    if (passf && cms_keyproc_env_fd() >= 0) {
        /* the store's keys would be decrypted into this (network-facing) process */
        err(c, ps, "'store_pass_file': keys held in the store cannot be used with the key "
                   "process yet; give the gateway's key as 'key'");
        return;
    }
    char pass[256] = "";
    int rc;
    if (passf && (rc = cms_keys_read_pass(passf, pass, sizeof pass)) != 0) {
        err(c, ps, "cannot read %s: %s", passf, mg_strerror(rc));
        return;
    }
    struct cert_store *s = NULL;
    if ((rc = cert_store_open(&s, store, passf ? pass : NULL)) != 0)
        err(c, ss, "cannot open the certificate store %s: %s", store, mg_strerror(rc));
    else if ((rc = cert_store_fill_policy(s, cc->policy)) != 0)
        err(c, ss, "cannot read the certificate store %s: %s", store, mg_strerror(rc));
    else if (!(cc->store = strdup(store)))
        c->oom = true;
    cert_store_close(s);
    OPENSSL_cleanse(pass, sizeof pass);
}

/* One `equivalent_labels` entry: a file holding an ESSSecurityLabel (DER). */
static void add_equiv(struct cfgctx *c, const config_setting_t *s, const char *v, void *arg)
{
    struct cmsch_conf *cc = arg;
    unsigned char *d = NULL, *canon = NULL;
    size_t len = 0, cl = 0;
    int rc;
    if (cc->n_equiv >= CMSCH_EQUIV_MAX_LABELS) {
        err(c, s, "'equivalent_labels': at most %d labels", CMSCH_EQUIV_MAX_LABELS);
        return;
    }
    if ((rc = mg_read_file(v, CMSCH_EQUIV_MAX, &d, &len)) != 0) {
        err(c, s, "cannot read the equivalent label %s: %s", v, mg_strerror(rc));
        return;
    }
    rc = cmsch_equiv_canon(d, len, &canon, &cl);
    free(d);
    if (rc == MG_ENOMEM) {
        c->oom = true;
        return;
    }
    if (rc) {
        err(c, s, "the equivalent label %s is not an ESSSecurityLabel (DER, RFC 2634 3.2)", v);
        return;
    }
    unsigned char **nv = realloc(cc->equiv, (cc->n_equiv + 1) * sizeof *nv);
    if (nv)
        cc->equiv = nv;
    size_t *nl = nv ? realloc(cc->equiv_len, (cc->n_equiv + 1) * sizeof *nl) : NULL;
    if (nl)
        cc->equiv_len = nl;
    if (!nv || !nl) {
        free(canon);
        c->oom = true;
        return;
    }
    cc->equiv[cc->n_equiv] = canon;
    cc->equiv_len[cc->n_equiv++] = cl;
}

static const char *const known_keys[] = {
    "operations", "cert", "key", "key_pass_file", "ca", "crl", "store", "store_pass_file",
    "revocation", "cipher", "key_transport", "ecdh_kdf", "peer_cert", "archive_cert",
    "encrypt_to_self", "encrypt", "encrypt_recipients", "subject_keyword", "no_certificate",
    "no_key", "bad_signature", "status_header", "status_header_name", "status_footer", "harvest",
    "header_protection", "signature_form", "refresh", "refresh_timeout", "encrypt_header",
    "encrypt_classification_min", "ocsp_url", "receipt_to", "equivalent_labels",
    "equivalent_labels_from_shaper", NULL,
};

int cmsch_configure(const struct config *cfg, const struct config_channel *ch, void **conf,
                    struct config_errors *errs)
{
    struct cfgctx c = { .cfg = cfg, .ch = ch, .errs = errs };
    int unknown = config_channel_check_keys(cfg, ch, known_keys, errs);
    if (unknown < 0)
        return unknown;
    if (unknown > 0)
        c.bad = true;
    struct cmsch_conf *cc = calloc(1, sizeof *cc);
    if (!cc || cms_policy_create(&cc->policy)) {
        free(cc);
        return MG_ENOMEM;
    }
    if (!config_setting_get_member(ch->settings, "operations"))
        err(&c, NULL, "'operations' is required (decrypt, verify, strip, sign, encrypt, "
                      "triple-wrap)");
    else if (each_str(&c, "operations", add_op, &cc->ops) == 0 && !c.bad)
        err(&c, config_setting_get_member(ch->settings, "operations"), "'operations' is empty");

    static const char *const revs[] = { "none", "fail-open", "fail-closed", NULL };
    cc->revocation = get_enum(&c, "revocation", revs, 1);
    cms_policy_set_revocation(cc->policy, (enum cms_revocation)cc->revocation);
    /* AES-128-CBC by default: STANAG 4406 Annex B's algorithm for interoperability */
    static const char *const ciphers[] = { "aes128-cbc", "aes256-cbc", "aes128-gcm",
                                           "aes256-gcm", NULL };
    cms_policy_set_cipher(cc->policy, (enum cms_cipher)get_enum(&c, "cipher", ciphers, 0));
    static const char *const kts[] = { "rsa-pkcs1", "rsa-oaep", NULL };
    cms_policy_set_rsa_oaep(cc->policy, get_enum(&c, "key_transport", kts, 0));
    static const char *const kdfs[] = { "sha1", "sha256", NULL };
    cms_policy_set_ecdh_sha256(cc->policy, get_enum(&c, "ecdh_kdf", kdfs, 0));
    cms_policy_set_encrypt_to_self(cc->policy, get_bool(&c, "encrypt_to_self", false));
    cms_policy_set_header_protection(cc->policy, get_bool(&c, "header_protection", false));
    static const char *const forms[] = { "opaque", "detached", NULL };
    cc->detached = get_enum(&c, "signature_form", forms, 1) == 1;
    cms_policy_set_detached(cc->policy, cc->detached);
    /* without strip, a client's signature under an envelope reaches the recipient too */
    cms_policy_set_keep_signatures(cc->policy, !(cc->ops & CMSCH_STRIP));

    static const char *const keyless[] = { "hold", "return", "clear", NULL };
    cc->keyless = (enum cmsch_keyless)get_enum(&c, "no_certificate", keyless, 0);
    static const char *const nokey[] = { "pass", "hold", NULL };
    cc->nokey = (enum cmsch_nokey)get_enum(&c, "no_key", nokey, 0);
    static const char *const badsig[] = { "tag", "hold", "return", NULL };
    cc->badsig = (enum cmsch_badsig)get_enum(&c, "bad_signature", badsig, 1);
    static const char *const sel[] = { "all", "recipients", "subject-keyword", "header",
                                        "classification", NULL };
    cc->select = (enum cmsch_select)get_enum(&c, "encrypt", sel, 0);
    cc->status_header = get_bool(&c, "status_header", true);
    cc->status_footer = get_bool(&c, "status_footer", false);
    cc->harvest = get_bool(&c, "harvest", false);

    const config_setting_t *s;
    const char *v = get_str(&c, "status_header_name", &s);
    if (v) {
        bool ok = *v != 0;
        for (const char *p = v; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '-')
                ok = false;
        if (!ok)
            err(&c, s, "'status_header_name' must be a header field name ([A-Za-z0-9-])");
    }
    if (!(cc->header_name = strdup(v ? v : "X-Mixgate-Security")))
        c.oom = true;

    each_str(&c, "encrypt_recipients", add_glob, cc);
    const char *kw = get_str(&c, "subject_keyword", &s);
    if (kw && !*kw)
        err(&c, s, "'subject_keyword' is empty");
    if (cc->select == CMSCH_SELECT_KEYWORD && !(cc->keyword = strdup(kw ? kw : "[encrypt]")))
        c.oom = true;
    if (cc->select == CMSCH_SELECT_RECIPIENTS && cc->n_select_rcpts == 0)
        err(&c, NULL, "encrypt = \"recipients\" needs 'encrypt_recipients'");
    if (cc->select != CMSCH_SELECT_RECIPIENTS && cc->n_select_rcpts)
        err(&c, config_setting_get_member(ch->settings, "encrypt_recipients"),
            "'encrypt_recipients' needs encrypt = \"recipients\"");
    if (cc->select != CMSCH_SELECT_KEYWORD && kw)
        err(&c, s, "'subject_keyword' needs encrypt = \"subject-keyword\"");
    const char *eh = get_str(&c, "encrypt_header", &s);
    if (eh) {
        bool ok = *eh != 0;
        for (const char *p = eh; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '-')
                ok = false;
        if (!ok)
            err(&c, s, "'encrypt_header' must be a header field name ([A-Za-z0-9-])");
        else if (cc->select != CMSCH_SELECT_HEADER)
            err(&c, s, "'encrypt_header' needs encrypt = \"header\"");
    }
    if (cc->select == CMSCH_SELECT_HEADER &&
        !(cc->select_header = strdup(eh ? eh : "X-Mixgate-Encrypt")))
        c.oom = true;
    const config_setting_t *cm = config_setting_get_member(ch->settings, "encrypt_classification_min");
    if (cm && (config_setting_type(cm) != CONFIG_TYPE_INT || config_setting_get_int(cm) < 0 ||
               config_setting_get_int(cm) > 255))
        err(&c, cm, "'encrypt_classification_min' must be a number from 0 to 255");
    else if (cm && cc->select != CMSCH_SELECT_CLASSIFICATION)
        err(&c, cm, "'encrypt_classification_min' needs encrypt = \"classification\"");
    else if (cc->select == CMSCH_SELECT_CLASSIFICATION && !cm)
        err(&c, NULL, "encrypt = \"classification\" needs 'encrypt_classification_min'");
    else if (cm)
        cc->classification_min = config_setting_get_int(cm);

    load_identity(&c, cc);
    each_str(&c, "ca", add_anchor, cc);
    each_str(&c, "crl", add_crl, cc);
    each_str(&c, "archive_cert", add_archive, cc);
    load_store(&c, cc);
    const char *peer = get_str(&c, "peer_cert", &s);
    int rc;
    if (peer && (rc = cms_keys_load_cert(peer, &cc->peer_cert)) != 0)
        err(&c, s, "cannot load the peer certificate %s: %s", peer, mg_strerror(rc));

    /* what each operation needs, so a mistake shows at load time and not on the first message */
    bool wraps = cc->ops & (CMSCH_ENCRYPT | CMSCH_TRIPLE);
    if ((cc->ops & (CMSCH_SIGN | CMSCH_TRIPLE)) && !cc->has_signer && !c.bad)
        err(&c, NULL, "operations sign and triple-wrap need the gateway's 'cert' and 'key'");
    if (wraps && !cc->peer_cert && !cc->store && !c.bad)
        err(&c, NULL, "operation encrypt needs 'peer_cert' or a 'store' to find recipients' "
                      "certificates");
    if ((cc->ops & CMSCH_ENCRYPT) && (cc->ops & CMSCH_TRIPLE))
        err(&c, NULL, "'triple-wrap' already encrypts: name 'encrypt' or 'triple-wrap'");
    if ((cc->ops & CMSCH_STRIP) && !(cc->ops & (CMSCH_DECRYPT | CMSCH_VERIFY)))
        err(&c, NULL, "operation strip needs verify or decrypt");
    if (cc->harvest && !cc->store)
        err(&c, NULL, "'harvest' needs a 'store'");
    /* CRL / OCSP refresh: hourly by default when there is a store to keep them in */
    cc->refresh_interval = cc->store ? 3600 : 0;
    cc->refresh_timeout = 10;
    const config_setting_t *rs;
    const char *rv = get_str(&c, "refresh", &rs);
    uint64_t secs = 0;
    if (rv && !cc->store)
        err(&c, rs, "'refresh' needs a 'store' (the revocation data is kept there)");
    else if (rv && config_parse_duration(rv, 30 * 86400, &secs))
        err(&c, rs, "'refresh' must be a duration such as \"1h\" (\"0\" = never)");
    else if (rv)
        cc->refresh_interval = (uint32_t)secs;
    rv = get_str(&c, "receipt_to", &rs);
    if (rv && (!strchr(rv, '@') || strpbrk(rv, " \t\r\n<>")))
        err(&c, rs, "'receipt_to' must be an address (local@domain)");
    else if (rv && !(cc->ops & (CMSCH_SIGN | CMSCH_TRIPLE)))
        err(&c, rs, "'receipt_to' needs operation sign or triple-wrap");
    else if (rv && cms_policy_set_receipt_request(cc->policy, rv))
        c.oom = true;
    /* EquivalentLabels go into our own signatures only */
    each_str(&c, "equivalent_labels", add_equiv, cc);
    cc->equiv_from_shaper = get_bool(&c, "equivalent_labels_from_shaper", false);
    if ((cc->n_equiv || cc->equiv_from_shaper) && !(cc->ops & (CMSCH_SIGN | CMSCH_TRIPLE)))
        err(&c, config_setting_get_member(ch->settings, cc->n_equiv ? "equivalent_labels"
                                                                    : "equivalent_labels_from_shaper"),
            "'%s' needs operation sign or triple-wrap (the labels go into the MTA's signature)",
            cc->n_equiv ? "equivalent_labels" : "equivalent_labels_from_shaper");
    rv = get_str(&c, "ocsp_url", &rs);
    if (rv && strncmp(rv, "http://", 7))
        err(&c, rs, "'ocsp_url' must be an http:// URL (OCSP is signed; no TLS needed)");
    else if (rv && !cc->store)
        err(&c, rs, "'ocsp_url' needs a 'store' (the answers are kept there)");
    else if (rv && !(cc->ocsp_url = strdup(rv)))
        c.oom = true;
    rv = get_str(&c, "refresh_timeout", &rs);
    if (rv && (config_parse_duration(rv, 300, &secs) || secs == 0))
        err(&c, rs, "'refresh_timeout' must be a duration from 1s to 5m");
    else if (rv)
        cc->refresh_timeout = (uint32_t)secs;
    if (peer && !wraps)
        err(&c, s, "'peer_cert' needs operation encrypt or triple-wrap");
    if (cc->peer_cert && !c.bad) {
        char why[300];
        if ((rc = cms_wrap_check_recipient(cc->policy, cc->peer_cert, why, sizeof why)) != 0)
            err(&c, s, "the peer certificate %s is not usable: %s", peer, why);
    }
    for (int i = 0; cc->archive && !c.bad && i < sk_X509_num(cc->archive); i++) {
        char why[300];
        if (cms_wrap_check_recipient(cc->policy, sk_X509_value(cc->archive, i), why, sizeof why))
            err(&c, config_setting_get_member(ch->settings, "archive_cert"),
                "an archive certificate is not usable: %s", why);
    }
    for (int i = 0; cc->archive && !c.bad && i < sk_X509_num(cc->archive); i++)
        if (cms_policy_add_recipient(cc->policy, sk_X509_value(cc->archive, i)))
            c.oom = true;

    if (!c.oom && !c.bad && cmsch_live_create(cc))
        c.oom = true;
    if (c.oom || c.bad) {
        cmsch_conf_free(cc);
        return c.oom ? MG_ENOMEM : MG_ECONFIG;
    }
    *conf = cc;
    return 0;
}

void cmsch_conf_free(struct cmsch_conf *c)
{
    if (!c)
        return;
    cmsch_live_free(c->live);
    cms_policy_free(c->policy);
    X509_free(c->peer_cert);
    sk_X509_pop_free(c->archive, X509_free);
    free(c->store);
    for (size_t i = 0; i < c->n_select_rcpts; i++)
        free(c->select_rcpts[i]);
    free(c->select_rcpts);
    free(c->keyword);
    free(c->select_header);
    free(c->ocsp_url);
    free(c->header_name);
    for (size_t i = 0; i < c->n_equiv; i++)
        free(c->equiv[i]);
    free(c->equiv);
    free(c->equiv_len);
    free(c);
}

void cmsch_conf_dump(const void *conf, FILE *f)
{
    const struct cmsch_conf *c = conf;
    static const char *const ops[] = { "decrypt", "verify", "strip", "sign", "encrypt",
                                       "triple-wrap" };
    fprintf(f, " operations = [");
    for (int i = 0, n = 0; i < 6; i++)
        if (c->ops & (1u << i))
            fprintf(f, "%s\"%s\"", n++ ? ", " : " ", ops[i]);
    static const char *const kl[] = { "hold", "return", "clear" };
    static const char *const nk[] = { "pass", "hold" };
    static const char *const bs[] = { "tag", "hold", "return" };
    static const char *const se[] = { "all", "recipients", "subject-keyword", "header",
                                      "classification" };
    fprintf(f, " ]; encrypt = \"%s\"; no_certificate = \"%s\"; no_key = \"%s\";"
               " bad_signature = \"%s\"; status_header = %s; status_footer = %s; harvest = %s;",
            se[c->select], kl[c->keyless], nk[c->nokey], bs[c->badsig],
            c->status_header ? "true" : "false", c->status_footer ? "true" : "false",
            c->harvest ? "true" : "false");
    /* equivalent_labels (files) and the key and certificate paths are not kept once loaded:
     * config_dump writes them as the configuration gave them */
    if (c->equiv_from_shaper)
        fprintf(f, " equivalent_labels_from_shaper = true;");
}
