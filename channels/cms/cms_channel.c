/* cms_channel: the `cms` processing channel kind (see cms_channel.h): adapts the CMS library
 * (crypto/cms_wrap.h) to the chain interface (mta/channel.h). Runs on the thread pool; the
 * parsed configuration (cms_chan_int.h) is shared read-only by every group in flight.
 *
 * Incoming side: a protected message is opened (decrypted when we hold a key, signatures
 * verified), its status stated to the recipient (a header we set and never trust from outside,
 * optionally a footer), verified signers harvested into the store. Outgoing side: per recipient
 * the encryption policy picks a certificate (the peer gateway's or the recipient's from the
 * store); one group gets one content, so recipients needing another encryption than the
 * group's first are regrouped (the stage runs again for them). A recipient policy says to
 * encrypt for is never let through in clear unless no_certificate = "clear" says so; a message
 * the library cannot process is held with the reason, never dropped. */
#define _GNU_SOURCE /* strcasestr */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cert_store.h"
#include "cms_chan_int.h"
#include "cms_channel.h"
#include "cms_mime.h"
#include "cms_wrap.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_log.h"

/* id-ct-contentInfo (RFC 3855): the P1 content type of X.400 content sent under CMS */
#define CMSCH_ID_CT_CONTENT_INFO "1.2.840.113549.1.9.16.1.6"

/* The content as this stage has made it so far. */
struct work {
    const struct cmsch_conf *c;
    const struct cms_policy *pol;  /* the current policy (revocation data refreshed) */
    struct cmsch_pol *polref;      /* its reference (per-policy caches) */
    const struct channel_task *t;
    struct channel_result *r;
    const unsigned char *data;   /* cur or the task's content */
    size_t len;
    unsigned char *cur;          /* owned or NULL (= unchanged) */
    char oid[CONTENT_OID_MAX + 1]; /* cur's X.400 content type, "" = not said */
    char status[600];            /* the security status stated to the recipient, "" = none */
};

static void set_cur(struct work *w, unsigned char *p, size_t n)
{
    free(w->cur);
    w->cur = p;
    w->data = p;
    w->len = n;
}

static void status_add(struct work *w, const char *text)
{
    size_t o = strlen(w->status);
    if (o && o + 2 < sizeof w->status) {
        memcpy(w->status + o, "; ", 3);
        o += 2;
    }
    snprintf(w->status + o, sizeof w->status - o, "%s", text);
}

/* Every recipient of the group still going on gets outcome a. */
static void set_all(struct work *w, enum channel_action a, int code, const char *st,
                    const char *text)
{
    for (size_t i = 0; i < w->t->nrcpts; i++)
        if (w->r->rcpts[i].outcome.action == CHANNEL_CONTINUE)
            channel_outcome_set(&w->r->rcpts[i].outcome, a, code, st, text, NULL);
}

static int audit_cert(struct work *w, int rcpt, const char *decision, const char *reason, X509 *x)
{
    unsigned char *der = NULL;
    int dl = x ? i2d_X509(x, &der) : 0;
    char subj[256] = "";
    if (x)
        X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof subj);
    int rc = channel_result_add_audit(w->r, rcpt, decision, reason, dl > 0 ? "cert" : "",
                                      dl > 0 ? der : NULL, dl > 0 ? (size_t)dl : 0,
                                      x ? subj : NULL);
    OPENSSL_free(der);
    return rc;
}

/* ---- incoming: what protection the message has ----------------------------------------- */

enum prot { PROT_NONE, PROT_SIGNED, PROT_ENVELOPED };

static enum prot protection(const struct work *w)
{
    if (content_type(w->t->content) != MESSAGE_CONTENT_RFC5322)
        return cms_wrap_is_der(w->data, w->len) ? PROT_ENVELOPED : PROT_NONE;
    const unsigned char *h, *b;
    size_t hl, bl;
    char ct[512];
    if (cms_mime_split(w->data, w->len, &h, &hl, &b, &bl) ||
        !cms_mime_get(h, hl, "Content-Type", ct, sizeof ct))
        return PROT_NONE;
    if (strcasestr(ct, "multipart/signed"))
        return PROT_SIGNED;
    if (!strcasestr(ct, "application/pkcs7-mime") && !strcasestr(ct, "application/x-pkcs7-mime") &&
        !strcasestr(ct, "application/cms"))
        return PROT_NONE;
    return strcasestr(ct, "signed-data") ? PROT_SIGNED : PROT_ENVELOPED;
}

static int is_signature_failure(int rc)
{
    return rc == MG_EVERIFY || rc == MG_EREVOKED || rc == MG_EEXPIRED || rc == MG_EUNTRUSTED ||
           rc == MG_EDENIED || rc == MG_ENOKEY;
}

/* Stores the certificates of the verified signers (res->signers: also those of an outer layer
 * when an inner one then failed) in the store, on this pool thread, off the loop: later mail to
 * them can be encrypted. */
static int harvest(struct work *w, const struct cms_result *res)
{
    struct cert_store *s = NULL;
    int rc = cert_store_open(&s, w->c->store, NULL);
    if (rc) {
        mg_warn("cms_harvest_failed channel=%s error=%s", w->t->channel->name, mg_errname(rc));
        return 0; /* the message goes on: harvesting is a convenience, not a decision */
    }
    rc = 0;
    for (int i = 0; !rc && i < sk_X509_num(res->signers); i++) {
        X509 *x = sk_X509_value(res->signers, i);
        int h = cert_store_harvest_cert(s, x);
        if (h == 1)
            rc = audit_cert(w, -1, "cert-harvested", "verified signer stored for encryption", x);
        else if (h < 0)
            mg_warn("cms_harvest_failed channel=%s error=%s", w->t->channel->name,
                    mg_errname(h));
    }
    cert_store_close(s);
    return rc;
}

static int is_content_field(const struct cms_mime_field *f)
{
    return (f->namelen >= 8 && !strncasecmp(f->name, "Content-", 8)) ||
           cms_mime_field_is(f, "MIME-Version");
}

/* The header as it is now (changed upstream after signing: a shaper's relabel, a rule's
 * edit) over the signed entity's Content-* fields and body: what we re-sign as the MTA. */
static int merge_outer(const unsigned char *orig, size_t olen, const unsigned char *inner,
                       size_t ilen, unsigned char **out, size_t *outlen)
{
    const unsigned char *oh, *ob, *ih, *ib;
    size_t ohl, obl, ihl, ibl;
    if (cms_mime_split(orig, olen, &oh, &ohl, &ob, &obl) ||
        cms_mime_split(inner, ilen, &ih, &ihl, &ib, &ibl))
        return MG_EPARSE;
    struct mg_buf o;
    mg_buf_init(&o, 0);
    int rc = 0;
    size_t pos = 0;
    struct cms_mime_field f;
    while (!rc && cms_mime_next_field(oh, ohl, &pos, &f))
        if (!is_content_field(&f))
            rc = cms_mime_append_crlf(&o, (const unsigned char *)f.raw, f.rawlen);
    if (!rc)
        rc = mg_buf_append(&o, "MIME-Version: 1.0\r\n", 19);
    pos = 0;
    while (!rc && cms_mime_next_field(ih, ihl, &pos, &f))
        if (is_content_field(&f) && !cms_mime_field_is(&f, "MIME-Version"))
            rc = cms_mime_append_crlf(&o, (const unsigned char *)f.raw, f.rawlen);
    if (!rc)
        rc = mg_buf_append(&o, "\r\n", 2);
    if (!rc)
        rc = mg_buf_append(&o, ib, ibl);
    if (rc) {
        mg_buf_free(&o);
        return rc;
    }
    *out = mg_buf_steal(&o, outlen);
    return 0;
}

static int opened(struct work *w, struct cms_result *res, enum prot prot)
{
    int rc = 0;
    bool enveloped = false;
    /* the innermost verified signature's label becomes the message's label when it has none
     * (decrypted at the boundary, the content can be checked and relabelled downstream) */
    const struct cms_layer *lab = NULL;
    for (int i = 0; i < res->nlayers; i++)
        if (res->layers[i].kind == CMS_KIND_SIGNED && res->layers[i].label)
            lab = &res->layers[i];
    if (lab && !w->t->msg->label) {
        if (!(w->r->label = malloc(lab->label_len)))
            return MG_ENOMEM;
        memcpy(w->r->label, lab->label, lab->label_len);
        w->r->label_len = lab->label_len;
        w->r->label_set = true;
        rc = channel_result_add_audit(w->r, -1, "label-from-signature", lab->signer, "label",
                                      lab->label, lab->label_len, NULL);
    }
    for (int i = 0; !rc && i < res->nlayers; i++) {
        const struct cms_layer *l = &res->layers[i];
        if (l->kind == CMS_KIND_SIGNED) {
            char why[400];
            snprintf(why, sizeof why, "signed layer %d verified", i + 1);
            rc = audit_cert(w, -1, "signature-verified", why, l->signer_cert);
            char st[300];
            snprintf(st, sizeof st, "signed by %s, verified", l->signer);
            status_add(w, st);
        } else {
            enveloped = true;
            char why[600];
            snprintf(why, sizeof why, "layer %d, recipients: %s", i + 1, l->recipients);
            rc = channel_result_add_audit(w->r, -1, "decrypted", why, "", NULL, 0, NULL);
            status_add(w, "encrypted, decrypted at the boundary");
        }
    }
    if (!rc && res->header_mismatch && (w->c->ops & (CMSCH_SIGN | CMSCH_TRIPLE)) &&
        content_type(w->t->content) == MESSAGE_CONTENT_RFC5322) {
        /* a header under the signature was changed upstream: the old signature no longer
         * speaks for this message; it goes, and the outgoing side signs as the MTA */
        unsigned char *m = NULL;
        size_t ml = 0;
        rc = merge_outer(w->data, w->len, res->data, res->len, &m, &ml);
        if (!rc) {
            set_cur(w, m, ml);
            rc = channel_result_add_audit(w->r, -1, "header-mismatch", res->reason, "", NULL, 0,
                                          "signature removed; signed again as the MTA");
            status_add(w, "header changed after signing: signed again by the gateway");
            return rc;
        }
    } else if (!rc && res->header_mismatch) {
        rc = channel_result_add_audit(w->r, -1, "header-mismatch", res->reason, "", NULL, 0, NULL);
        status_add(w, res->reason);
    }
    /* X.400 content under CMS (RFC 3854): what came out is the content of the innermost
     * layer's type; say which (the P1 envelope still names the CMS type it travelled as) */
    if (!rc && res->kept_signature && content_type(w->t->content) != MESSAGE_CONTENT_RFC5322) {
        /* without strip: the envelope opened, the signature under it (a triple wrap's inner
         * one) stays for the recipient, so the version is CMS still (RFC 3855) */
        char why[300];
        snprintf(why, sizeof why, "X.400 content %s kept under its verified signature; %d CMS "
                 "layer(s) opened", res->layers[res->nlayers - 1].content_type, res->nlayers - 1);
        rc = channel_result_add_audit(w->r, -1, "x400-signature-kept", why, "", NULL, 0, NULL);
        snprintf(w->oid, sizeof w->oid, "%s", CMSCH_ID_CT_CONTENT_INFO);
    } else if (!rc && res->nlayers > 0 && content_type(w->t->content) != MESSAGE_CONTENT_RFC5322 &&
               (enveloped || (w->c->ops & CMSCH_STRIP))) {
        const char *in = res->layers[res->nlayers - 1].content_type;
        char why[200];
        snprintf(why, sizeof why, "X.400 content %s restored from %d CMS layer(s)", in,
                 res->nlayers);
        rc = channel_result_add_audit(w->r, -1, "x400-content-restored", why, "", NULL, 0, NULL);
        /* the version made here is of that type (RFC 3855: what the envelope must say);
         * untyped content (id-data inside) says nothing: the P1 side reads the bytes */
        if (strncmp(in, "1.2.840.113549.1.", 17) != 0)
            snprintf(w->oid, sizeof w->oid, "%s", in);
    }
    /* a signed-only message keeps its signature unless strip says otherwise */
    if (!rc && (enveloped || (w->c->ops & CMSCH_STRIP) || prot == PROT_ENVELOPED)) {
        set_cur(w, res->data, res->len);
        res->data = NULL;
    }
    return rc;
}

static int incoming(struct work *w)
{
    const struct cmsch_conf *c = w->c;
    enum prot prot = protection(w);
    if (prot == PROT_NONE)
        return 0;
    if (prot == PROT_ENVELOPED && !(c->ops & CMSCH_DECRYPT))
        return 0;
    struct cms_result res;
    int urc = cms_unwrap(w->pol, w->data, w->len, &res);
    int rc = 0;
    if (urc == 0) {
        rc = opened(w, &res, prot);
    } else if (urc == MG_ENOKEY && res.nlayers > 0 &&
               res.layers[res.nlayers - 1].kind != CMS_KIND_SIGNED) {
        /* no key for the envelope (MG_ENOKEY on a signed layer: the signer's certificate is
         * missing, a signature failure below) */
        rc = channel_result_add_audit(w->r, -1, "no-key", res.reason, "", NULL, 0, NULL);
        if (c->nokey == CMSCH_NOKEY_HOLD) {
            char why[400];
            snprintf(why, sizeof why, "encrypted for a key this gateway does not hold: %s",
                     res.reason);
            set_all(w, CHANNEL_HELD, 0, NULL, why);
        } else {
            status_add(w, "encrypted, no key held here: passed on encrypted");
        }
    } else if (is_signature_failure(urc)) {
        char why[400];
        snprintf(why, sizeof why, "signature invalid: %s", res.reason);
        X509 *signer = NULL;
        for (int i = 0; i < res.nlayers; i++)
            if (res.layers[i].kind == CMS_KIND_SIGNED && res.layers[i].signer_cert)
                signer = res.layers[i].signer_cert;
        rc = audit_cert(w, -1, "signature-invalid", res.reason, signer);
        if (c->badsig == CMSCH_BADSIG_HOLD)
            set_all(w, CHANNEL_HELD, 0, NULL, why);
        else if (c->badsig == CMSCH_BADSIG_RETURN)
            set_all(w, CHANNEL_FAILED, 550, "5.7.7", why);
        else
            status_add(w, why);
    } else {
        /* damaged, unsupported or too big: an operator looks at it; it is never dropped */
        snprintf(w->r->error, sizeof w->r->error, "cannot open the protected message: %s",
                 res.reason[0] ? res.reason : mg_strerror(urc));
        (void)channel_result_add_audit(w->r, -1, "unwrap-failed", w->r->error, "", NULL, 0, NULL);
        rc = urc;
    }
    if (!rc && c->harvest && sk_X509_num(res.signers) > 0)
        rc = harvest(w, &res);
    cms_result_free(&res);
    return rc;
}

/* The status header (ours replaces any a sender wrote, whether or not we state one: it must
 * not be forgeable from outside) and, for plain text, the footer. */
static int state_status(struct work *w)
{
    const struct cmsch_conf *c = w->c;
    if (content_type(w->t->content) != MESSAGE_CONTENT_RFC5322)
        return 0;
    const unsigned char *h, *b;
    size_t hl, bl;
    if (cms_mime_split(w->data, w->len, &h, &hl, &b, &bl))
        return 0;
    for (char *p = w->status; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    char ct[256] = "", cte[64] = "";
    cms_mime_get(h, hl, "Content-Type", ct, sizeof ct);
    cms_mime_get(h, hl, "Content-Transfer-Encoding", cte, sizeof cte);
    bool plain = (!ct[0] || !strncasecmp(ct, "text/plain", 10)) &&
                 (!cte[0] || !strcasecmp(cte, "7bit") || !strcasecmp(cte, "8bit"));
    bool hdr_on = c->status_header && w->status[0];
    bool foot_on = c->status_footer && w->status[0] && plain;
    struct mg_buf o;
    mg_buf_init(&o, 0);
    int rc = 0;
    if (hdr_on)
        rc = mg_buf_appendf(&o, "%s: %s\r\n", c->header_name, w->status);
    size_t pos = 0;
    struct cms_mime_field f;
    bool had = false;
    while (!rc && cms_mime_next_field(h, hl, &pos, &f)) {
        if (cms_mime_field_is(&f, c->header_name))
            had = true;
        else
            rc = mg_buf_append(&o, f.raw, f.rawlen);
    }
    if (!rc && !hdr_on && !foot_on && !had) {
        mg_buf_free(&o);
        return 0;
    }
    size_t hdr_end = (size_t)(b - w->data);
    size_t blank = hdr_end - (size_t)(h + hl - w->data);
    if (!rc)
        rc = mg_buf_append(&o, h + hl, blank); /* the empty line as it was */
    if (!rc)
        rc = mg_buf_append(&o, b, bl);
    if (!rc && foot_on) {
        if (bl && b[bl - 1] != '\n')
            rc = mg_buf_append(&o, "\r\n", 2);
        if (!rc)
            rc = mg_buf_appendf(&o, "\r\n-- \r\n[%s]\r\n", w->status);
    }
    if (rc) {
        mg_buf_free(&o);
        return rc;
    }
    size_t n;
    unsigned char *p = mg_buf_steal(&o, &n);
    set_cur(w, p, n);
    return 0;
}

/* ---- outgoing: who gets which encryption ------------------------------------------------ */

/* The message-wide selections that rewrite the header (cms_chan_select.c): on 1 or 0 with a
 * new content (*n set), that content becomes the stage's. */
static int take(struct work *w, int (*fn)(const char *, const unsigned char *, size_t,
                                          unsigned char **, size_t *), const char *arg)
{
    if (content_type(w->t->content) != MESSAGE_CONTENT_RFC5322)
        return 0;
    unsigned char *n = NULL;
    size_t nl = 0;
    int rc = fn(arg, w->data, w->len, &n, &nl);
    if (rc >= 0 && n)
        set_cur(w, n, nl);
    return rc;
}

static bool selected(const struct cmsch_conf *c, const char *addr, bool keyword)
{
    switch (c->select) {
    case CMSCH_SELECT_ALL:
        return true;
    case CMSCH_SELECT_KEYWORD:
    case CMSCH_SELECT_HEADER:
    case CMSCH_SELECT_CLASSIFICATION:
        return keyword;
    case CMSCH_SELECT_RECIPIENTS:
        for (size_t i = 0; i < c->n_select_rcpts; i++)
            if (!fnmatch(c->select_rcpts[i], addr, FNM_CASEFOLD))
                return true;
        return false;
    }
    return true;
}

/* The certificate recipient i is to be encrypted to: NULL with why set when there is none. */
static X509 *recipient_cert(struct work *w, struct cert_store **store, const char *addr,
                            char *why, size_t whylen, int *err, int *code)
{
    const struct cmsch_conf *c = w->c;
    *err = 0;
    if (c->peer_cert) {
        /* checked at load time; checked again per policy (revocation data refreshed since)
         * and for its validity period per message */
        const ASN1_TIME *na = X509_get0_notAfter(c->peer_cert);
        time_t now = (time_t)w->t->now;
        bool cached = cmsch_pol_peer_ok(w->polref) && X509_cmp_time(na, &now) > 0;
        if (!cached && (*code = cms_wrap_check_recipient(w->pol, c->peer_cert, why, whylen)) != 0)
            return NULL;
        if (!cached)
            cmsch_pol_set_peer_ok(w->polref);
        X509_up_ref(c->peer_cert);
        return c->peer_cert;
    }
    if (!*store && (*err = cert_store_open(store, c->store, NULL)) != 0) {
        snprintf(why, whylen, "certificate store: %s", mg_strerror(*err));
        return NULL;
    }
    X509 *x = NULL;
    int rc = cert_store_find_encryption_cert(*store, addr, w->pol, &x, why, whylen);
    if (rc == MG_EDB) {
        *err = rc;
        return NULL;
    }
    if (rc == 0 && (rc = cms_wrap_check_recipient(w->pol, x, why, whylen)) != 0) {
        X509_free(x);
        x = NULL;
    }
    *code = rc;
    return rc == 0 ? x : NULL;
}

/* Fail-closed and the certificate lacks a current revocation status (no CRL, no OCSP answer):
 * a temporary condition (the next refresh may bring it), not a keyless recipient. */
static bool status_missing(const struct cmsch_conf *c, int code, const char *why)
{
    return c->revocation == CMS_REVOCATION_FAIL_CLOSED && code == MG_EUNTRUSTED &&
           strstr(why, "CRL") != NULL;
}

/* The X.400 content type of the content being wrapped as a dotted OID (built-in 2 = P2,
 * 22 = P22; an extended type such as P772 as it is), or NULL when it has none or is CMS
 * already: what this channel opened, else what the content version says, else the message's
 * envelope (content as received). */
static const char *x400_content_oid(const struct work *w)
{
    const char *ct = w->oid[0] ? w->oid : content_oid(w->t->content);
    if (!ct || !*ct)
        ct = w->t->msg->content_oid;
    if (!ct || !*ct)
        return NULL;
    if (!strcmp(ct, "22"))
        return "2.6.1.10.1";
    if (!strcmp(ct, "2"))
        return "2.6.1.10.0";
    if (!strchr(ct, '.') || !strncmp(ct, "1.2.840.113549.", 15))
        return NULL;
    return ct;
}

/* One signature's labels: its ESS securityLabel, and its EquivalentLabels per configuration.
 * A label that is no ESSSecurityLabel is left out (audited), never fatal. */
static int label_layer(struct work *w, struct cms_policy *p, enum cms_layer_which which,
                       const unsigned char *label, size_t len, const unsigned char *other,
                       size_t other_len)
{
    int rc = 0;
    if (label && len) {
        int lrc = cms_policy_set_label(p, which, label, len);
        if (lrc == MG_ENOMEM)
            return lrc;
        if (lrc && (rc = channel_result_add_audit(w->r, -1, "label-not-signed",
                                                  "the message's label is not an ESSSecurityLabel",
                                                  "label", label, len, NULL)) != 0)
            return rc;
        if (lrc)
            label = NULL, len = 0;
    }
    const struct cmsch_conf *c = w->c;
    if (!c->n_equiv && !c->equiv_from_shaper)
        return 0;
    unsigned char *eq = NULL;
    size_t eql = 0, nc = 0, ns = 0;
    if ((rc = cmsch_equiv_for(c, label, len, other, other_len, &eq, &eql, &nc, &ns)) != 0)
        return rc;
    if (eq && (rc = cms_policy_set_equivalent_labels(p, which, eq, eql)) == 0) {
        char why[200];
        snprintf(why, sizeof why, "%s signature: %zu equivalent label(s) (%zu from the "
                 "configuration, %zu from the shaper)", which == CMS_LAYER_OUTER ? "outer" : "inner",
                 nc + ns, nc, ns);
        rc = channel_result_add_audit(w->r, -1, "equivalent-labels-signed", why, "label", eq, eql,
                                      NULL);
    }
    free(eq);
    return rc;
}

/* The labels of our signatures. The group's label is the shaper's output when a shaper ran
 * (the content version's), else the message's; the message's own label is the one it came in
 * with. A single signature carries the group's label; a triple wrap (STANAG 4406) carries the
 * message's label inside (end to end) and the group's outside (the next hop's policy). With
 * equivalent_labels_from_shaper each signature's EquivalentLabels holds the other one. */
static int sign_labels(struct work *w, struct cms_policy *p, unsigned ops)
{
    const struct message *m = w->t->msg;
    const unsigned char *cur = w->t->label ? w->t->label : m->label;
    size_t curl = w->t->label ? w->t->label_len : m->label_len;
    const unsigned char *orig = m->label ? m->label : cur;
    size_t origl = m->label ? m->label_len : curl;
    int rc = 0;
    if (ops & CMS_OP_OUTER_SIGN) {
        rc = label_layer(w, p, CMS_LAYER_INNER, orig, origl, cur, curl);
        if (!rc)
            rc = label_layer(w, p, CMS_LAYER_OUTER, cur, curl, orig, origl);
    } else {
        rc = label_layer(w, p, CMS_LAYER_INNER, cur, curl, orig, origl);
    }
    return rc;
}

static int wrap(struct work *w, X509 *cert, const bool *same)
{
    const struct cmsch_conf *c = w->c;
    unsigned ops = 0;
    if (c->ops & CMSCH_TRIPLE)
        ops = cert ? CMS_OP_TRIPLE : CMS_OP_SIGN;
    else
        ops = ((c->ops & CMSCH_SIGN) ? CMS_OP_SIGN : 0) |
              ((cert && (c->ops & CMSCH_ENCRYPT)) ? CMS_OP_ENCRYPT : 0);
    if (!ops)
        return 0;
    struct cms_policy *p = NULL;
    int rc = cms_policy_clone(w->pol, &p);
    if (rc)
        return rc;
    if (cert && (rc = cms_policy_add_recipient(p, cert)) != 0) {
        cms_policy_free(p);
        return rc;
    }
    if (ops & (CMS_OP_SIGN | CMS_OP_OUTER_SIGN)) {
        rc = sign_labels(w, p, ops);
        if (rc) {
            cms_policy_free(p);
            return rc;
        }
    }
    enum cms_format fmt = content_type(w->t->content) == MESSAGE_CONTENT_RFC5322 ? CMS_FORMAT_MIME
                                                                                 : CMS_FORMAT_DER;
    /* X.400 content (RFC 3854, STANAG 4406 Annex B): the innermost eContentType is the
     * content's own type (P772, P22), not id-data, so the far side gets it back as it was */
    const char *x400 = fmt == CMS_FORMAT_DER ? x400_content_oid(w) : NULL;
    if (x400 && (rc = cms_policy_set_content_type(p, x400)) != 0) {
        cms_policy_free(p);
        return rc;
    }
    struct cms_result res;
    rc = cms_wrap(p, ops, fmt, w->data, w->len, &res);
    cms_policy_free(p);
    if (rc) {
        /* never sent in clear because the wrap failed: the group is held with the reason */
        snprintf(w->r->error, sizeof w->r->error, "cannot %s the message: %s",
                 (ops & CMS_OP_ENCRYPT) ? "encrypt" : "sign", res.reason[0] ? res.reason
                                                                             : mg_strerror(rc));
        cms_result_free(&res);
        return rc;
    }
    if (ops & (CMS_OP_SIGN | CMS_OP_OUTER_SIGN)) {
        const char *what = ops == CMS_OP_TRIPLE ? "triple wrap: inner and outer signature"
                                                : "signed as the MTA";
        rc = audit_cert(w, -1, "signed", what, NULL);
    }
    if (!rc && x400) {
        char why[300];
        snprintf(why, sizeof why, "X.400 content %s inside CMS (RFC 3854%s); sent as a "
                 "ContentInfo, P1 content type id-ct-contentInfo (RFC 3855)", x400,
                 ops == CMS_OP_TRIPLE ? ", STANAG 4406 Annex B triple wrap" : "");
        rc = channel_result_add_audit(w->r, -1, "x400-content-protected", why, "", NULL, 0, NULL);
    }
    for (size_t i = 0; !rc && cert && i < w->t->nrcpts; i++)
        if (same[i])
            rc = audit_cert(w, (int)i, "encrypted",
                            res.skipped_encrypt ? "already encrypted for this recipient"
                                                : "encrypted to the recipient's certificate",
                            cert);
    if (!rc) {
        set_cur(w, res.data, res.len);
        res.data = NULL;
        /* X.400 content leaves as a ContentInfo: P1 types it id-ct-contentInfo (RFC 3855) */
        if (fmt == CMS_FORMAT_DER)
            snprintf(w->oid, sizeof w->oid, "%s", CMSCH_ID_CT_CONTENT_INFO);
    }
    cms_result_free(&res);
    return rc;
}

static int outgoing(struct work *w)
{
    const struct cmsch_conf *c = w->c;
    const struct channel_task *t = w->t;
    bool keyword = false;
    /* the message-wide selections: a keyword, a header an earlier stage set, the label */
    if ((c->select == CMSCH_SELECT_KEYWORD || c->select == CMSCH_SELECT_HEADER) &&
        (c->ops & (CMSCH_ENCRYPT | CMSCH_TRIPLE))) {
        int k = c->select == CMSCH_SELECT_KEYWORD ? take(w, cmsch_take_keyword, c->keyword)
                                                  : take(w, cmsch_take_header, c->select_header);
        if (k < 0)
            return k;
        keyword = k == 1;
    } else if (c->select == CMSCH_SELECT_CLASSIFICATION) {
        const unsigned char *lab = w->r->label_set ? w->r->label : t->msg->label;
        size_t ll = w->r->label_set ? w->r->label_len : t->msg->label_len;
        keyword = cmsch_label_classification(lab, ll) >= c->classification_min;
    }
    X509 **certs = calloc(t->nrcpts, sizeof *certs);
    bool *same = calloc(t->nrcpts, sizeof *same);
    struct cert_store *store = NULL;
    int rc = certs && same ? 0 : MG_ENOMEM;
    long lead = -1;
    for (size_t i = 0; !rc && i < t->nrcpts; i++) {
        struct channel_outcome *o = &w->r->rcpts[i].outcome;
        if (o->action != CHANNEL_CONTINUE)
            continue;
        const char *addr = t->msg->rcpts[t->rcpts[i]].addr;
        if ((c->ops & (CMSCH_ENCRYPT | CMSCH_TRIPLE)) && selected(c, addr, keyword)) {
            char why[400] = "";
            int err = 0, code = 0;
            certs[i] = recipient_cert(w, &store, addr, why, sizeof why, &err, &code);
            if (err) {
                snprintf(w->r->error, sizeof w->r->error, "%s", why);
                rc = err;
                break;
            }
            if (!certs[i] && status_missing(c, code, why)) {
                char text[512];
                snprintf(text, sizeof text, "revocation status unavailable for %s: %s", addr, why);
                channel_outcome_set(o, CHANNEL_DEFERRED, 451, "4.7.5", text, NULL);
                rc = channel_result_add_audit(w->r, (int)i, "revocation-unavailable", text, "",
                                              NULL, 0, "deferred");
                continue;
            }
            if (!certs[i]) {
                char text[512];
                snprintf(text, sizeof text, "no usable certificate for %s: %s", addr, why);
                if (c->keyless == CMSCH_KEYLESS_HOLD) {
                    channel_outcome_set(o, CHANNEL_HELD, 0, NULL, text, NULL);
                    rc = channel_result_add_audit(w->r, (int)i, "no-certificate", text, "",
                                                  NULL, 0, "held");
                    continue;
                }
                if (c->keyless == CMSCH_KEYLESS_RETURN) {
                    channel_outcome_set(o, CHANNEL_FAILED, 550, "5.7.1", text, NULL);
                    rc = channel_result_add_audit(w->r, (int)i, "no-certificate", text, "",
                                                  NULL, 0, "returned");
                    continue;
                }
                rc = channel_result_add_audit(w->r, (int)i, "sent-in-clear", text, "", NULL, 0,
                                              "no_certificate = clear");
            }
        }
        if (lead < 0) {
            lead = (long)i;
        } else {
            X509 *a = certs[lead], *b = certs[i];
            if ((a == NULL) != (b == NULL) || (a && X509_cmp(a, b))) {
                channel_outcome_set(o, CHANNEL_REGROUP, 0, NULL, NULL, NULL);
                continue;
            }
        }
        same[i] = true;
    }
    cert_store_close(store);
    if (!rc && lead >= 0)
        rc = wrap(w, certs[lead], same);
    for (size_t i = 0; certs && i < t->nrcpts; i++)
        X509_free(certs[i]);
    free(certs);
    free(same);
    return rc;
}

/* Removes the audit records of recipient i (it is regrouped: its decisions are taken, and
 * recorded, in the round that processes it). */
static void drop_audits(struct channel_result *r, int i)
{
    size_t k = 0;
    for (size_t j = 0; j < r->naudit; j++) {
        if (r->audit[j].rcpt == i) {
            free(r->audit[j].subject);
            free(r->audit[j].summary);
            continue;
        }
        r->audit[k++] = r->audit[j];
    }
    r->naudit = k;
}

/* A held recipient keeps the content version of the stage's result and runs the stage again
 * when an operator releases it. So it must never carry content made for others: encrypted to
 * another certificate, or with the Subject keyword that selected encryption removed (the
 * second run would then send it in clear). When others continue with new content, held
 * recipients are regrouped (decided again in a group of their own, whose content stays as it
 * came); when nobody continues, the content is left as it came. */
static void settle_held(struct work *w)
{
    struct channel_result *r = w->r;
    bool any_continue = false, any_held = false;
    for (size_t i = 0; i < w->t->nrcpts; i++) {
        any_continue |= r->rcpts[i].outcome.action == CHANNEL_CONTINUE;
        any_held |= r->rcpts[i].outcome.action == CHANNEL_HELD;
    }
    if (!w->cur || !any_held)
        return;
    if (!any_continue) {
        set_cur(w, NULL, 0);
        return;
    }
    for (size_t i = 0; i < w->t->nrcpts; i++)
        if (r->rcpts[i].outcome.action == CHANNEL_HELD)
            channel_outcome_set(&r->rcpts[i].outcome, CHANNEL_REGROUP, 0, NULL, NULL, NULL);
}

static int cms_process(const void *conf, const struct channel_task *t, struct channel_result *r)
{
    struct work w = { .c = conf, .t = t, .r = r };
    w.data = content_data(t->content, &w.len);
    cmsch_live_maybe_refresh(w.c, t->now);
    bool revocation_failed = false;
    char why[200];
    struct cmsch_pol *pol = cmsch_live_get(w.c, &revocation_failed, why, sizeof why);
    w.pol = cmsch_pol_policy(pol);
    w.polref = pol;
    int rc = 0;
    if (revocation_failed && w.c->revocation == CMS_REVOCATION_FAIL_CLOSED) {
        /* fail-closed: no decision on certificates without current revocation data; the
         * group waits for the next refresh (retried with back-off) */
        char text[300];
        snprintf(text, sizeof text, "revocation status unavailable: %s", why);
        set_all(&w, CHANNEL_DEFERRED, 451, "4.7.5", text);
        rc = channel_result_add_audit(r, -1, "revocation-unavailable", why, "", NULL, 0, NULL);
        cmsch_live_put(w.c, pol);
        cmsch_metrics_count(w.c, t->channel->name, r);
        return rc;
    }
    if (w.c->ops & (CMSCH_DECRYPT | CMSCH_VERIFY))
        rc = incoming(&w);
    if (!rc && (w.c->ops & (CMSCH_DECRYPT | CMSCH_VERIFY)))
        rc = state_status(&w);
    if (!rc && (w.c->ops & (CMSCH_SIGN | CMSCH_ENCRYPT | CMSCH_TRIPLE)))
        rc = outgoing(&w);
    if (!rc)
        settle_held(&w);
    for (size_t i = 0; !rc && i < t->nrcpts; i++)
        if (r->rcpts[i].outcome.action == CHANNEL_REGROUP)
            drop_audits(r, (int)i);
    if (!rc && w.cur) {
        r->content = content_new(content_type(t->content), 0, w.cur, w.len);
        w.cur = NULL;
        if (!r->content || (w.oid[0] && !(r->content_oid = strdup(w.oid))))
            rc = MG_ENOMEM;
    }
    free(w.cur);
    cmsch_live_put(w.c, pol);
    cmsch_metrics_count(w.c, t->channel->name, r);
    if (rc && !r->error[0])
        snprintf(r->error, sizeof r->error, "%s", mg_strerror(rc));
    return rc;
}

static void cms_conf_free(void *conf)
{
    cmsch_conf_free(conf);
}

const struct channel_kind cms_channel_kind = {
    .name = "cms",
    .role = CHANNEL_ROLE_PROCESSING,
    .configure = cmsch_configure,
    .conf_free = cms_conf_free,
    .conf_dump = cmsch_conf_dump,
    .process = cms_process,
    .metrics = cmsch_metrics_register,
};

/* ---- the key-process probe --------------------------------------------------------------- */

/* The probe's answer for a channel that needs the key process: any non-NULL conf would do. */
static const char needs_keys_mark = 1;

/* Looks only at whether the channel names a private key (its own `key`, or keys held in the
 * store behind `store_pass_file`); loads nothing and checks nothing else (the real load does). */
static int probe_configure(const struct config *cfg, const struct config_channel *ch, void **conf,
                           struct config_errors *errs)
{
    (void)cfg;
    (void)errs;
    if (ch->settings && (config_setting_get_member(ch->settings, "key") ||
                         config_setting_get_member(ch->settings, "store_pass_file")))
        *conf = (void *)&needs_keys_mark;
    return 0;
}

const struct channel_kind cms_channel_probe_kind = {
    .name = "cms",
    .role = CHANNEL_ROLE_PROCESSING,
    .configure = probe_configure,
};
