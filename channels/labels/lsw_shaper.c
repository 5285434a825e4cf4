/* lsw_shaper: the `shaper` processing kind: converts a message's security label into the
 * channel's own policy (through the SPIFs' equivalent policies) and writes it in the forms
 * the next hops understand: SIO-Label, X-X411, an XML label header, a first line of text, the
 * Subject (template), any header whose value is a template, and SIO-Label-History when the
 * label changed. The content version's label becomes the converted one (channel_result.label).
 *
 *   { name = "shape"; type = "shaper"; spif = "out.xml"; spifs = [ ... ];
 *     input = "message";                 # or "content" (extract = [ ... ] as at submission)
 *     outputs = [ "sio-label", "flot" ]; # x-x411, xml, subject, history, history-text,
 *                                        # x411-envelope (privacy mark as PrintableString),
 *                                        # ess-signature (sign_cert, sign_key, sign_ca: the MTA
 *                                        # signs, the label as the signature's ESS label)
 *     keep_inbound = [ "x-x411" ];       # forms whose inbound fields stay
 *     subject_template = "[\${marking}] \${subject}"; flot_template = "\${marking}";
 *     headers = ( { name = "X-Classification"; value = "\${classification}"; } );
 *     (templates: \${marking} \${marking:LOCATION[:LANG]} \${classification} \${policy} \${x411}
 *     \${ess} \${xml} \${subject};
 *     the backslash keeps the configuration's own \${NAME} expansion off them)
 *     remove_inbound = true;             # drop the inbound forms the outputs write
 *     on_no_equivalent = "fail"; lang = ""; } */
#define _GNU_SOURCE
#include "lsw_int.h"
#include "lbl_ber.h"
#include "lbl_header.h"
#include "lbl_marking.h"
#include "lbl_xml.h"
#include "lsw_msg.h"
#include "lsw_x400.h"
#include "lsw_shaper.h"
#include "lsw_sign.h"
#include "mg_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { OUT_SIO = 1, OUT_XX411 = 2, OUT_XML = 4, OUT_FLOT = 8, OUT_SUBJECT = 16, OUT_HISTORY = 32,
       OUT_HISTORY_TEXT = 64, OUT_X411_ENVELOPE = 128, OUT_ESS_SIGNATURE = 256 };
static const char *const onames[] = { "sio-label", "x-x411", "xml", "flot", "subject", "history", "history-text",
                                      "x411-envelope", "ess-signature", NULL };

/* X.411 carries the privacy mark as a PrintableString (X.208): A-Z a-z 0-9 space ' ( ) + , - . / : = ?
 * Other characters become '?' so that the label can go out in an X.400 envelope. Returns 1 when
 * the mark changed. */
static int printable_mark(struct lbl_label *l)
{
    int changed = 0;
    for (char *p = l->privacy_mark; p && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr(" '()+,-./:=?", c))) {
            *p = '?';
            changed = 1;
        }
    }
    return changed;
}

struct shaper_hdr {
    char *name, *value;
};

struct shaper {
    struct lbl_policy_set *set;     /* owned; the output policy first */
    const struct lbl_policy *out;
    bool from_content;
    struct lsw_sources src;
    unsigned outputs;
    char *subject_tpl, *flot_tpl, *lang;
    struct shaper_hdr *hdrs; size_t nhdrs;
    bool remove_inbound;
    unsigned keep;                  /* OUT_* forms whose inbound fields are kept anyway */
    bool hold_no_equiv;
    bool xml_nato;                  /* xml output: ADatP-4774 (else Surevine XML) */
    bool xx411_ess;                 /* x-x411 output: base64 of the ESS label (else X.411) */
    struct lsw_signer *signer;      /* ess-signature: the MTA's certificate and key */
};

static void shaper_free(void *conf)
{
    struct shaper *s = conf;
    if (!s)
        return;
    lbl_policy_set_free(s->set);
#ifdef MG_LSW_HAVE_CERTS
    lsw_signer_free(s->signer);
#endif
    lsw_sources_free(&s->src);
    free(s->subject_tpl);
    free(s->flot_tpl);
    free(s->lang);
    for (size_t i = 0; i < s->nhdrs; i++) {
        free(s->hdrs[i].name);
        free(s->hdrs[i].value);
    }
    free(s->hdrs);
    free(s);
}

static char *dup_or(const config_setting_t *g, const char *k, const char *def)
{
    const char *v = NULL;
    if (!config_setting_lookup_string(g, k, &v))
        v = def;
    return strdup(v);
}

static int shaper_configure(const struct config *cfg, const struct config_channel *ch, void **conf,
                            struct config_errors *errs)
{
    static const char *const keys[] = { "spif", "spifs", "input", "extract", "outputs", "subject_template",
                                        "flot_template", "headers", "remove_inbound", "keep_inbound", "on_no_equivalent", "lang",
                                        "sign_cert", "sign_key", "sign_ca", "xml_format", "x_x411_type",
                                        "x_x411_header", "xml_header", "text_header", "header_regex",
                                        "subject_regex", "flot_regex", NULL };
    int rc = config_channel_check_keys(cfg, ch, keys, errs) ? MG_ECONFIG : 0;
    struct shaper *s = calloc(1, sizeof *s);
    if (!s)
        return MG_ENOMEM;
    char what[200];
    snprintf(what, sizeof what, "channel '%s'", ch->name);
    int r = lsw_load_policies(ch->settings, cfg->path, what, &s->set, errs);
    if (r) {
        shaper_free(s);
        return r;
    }
    s->out = lbl_policy_set_get(s->set, 0);
    /* The switch's own policies too (the input label is usually in the governing one). */
    const config_setting_t *lg = config_lookup(&cfg->tree, "labels");
    struct lbl_policy_set *more = NULL;
    if (lg && lsw_load_policies(lg, cfg->path, "labels", &more, NULL) == 0) {
        /* sets own their policies: load each again for ours */
        for (size_t i = 0; i < lbl_policy_set_count(more); i++) {
            struct lbl_policy *p = NULL;
            if (lbl_policy_load_file(lbl_policy_file(lbl_policy_set_get(more, i)), NULL, &p, NULL) == 0)
                (void)lbl_policy_set_add(s->set, p); /* MG_EEXIST: already there (freed) */
        }
        lbl_policy_set_free(more);
    }
    const char *in = "message";
    config_setting_lookup_string(ch->settings, "input", &in);
    if (!strcasecmp(in, "content"))
        s->from_content = true;
    else if (strcasecmp(in, "message")) {
        config_errors_addf(errs, cfg->path, ch->line, "%s: 'input' must be \"message\" or \"content\"", what);
        rc = MG_ECONFIG;
    }
    r = lsw_sources_parse(ch->settings, cfg->path, what, &s->src, errs);
    rc = rc ? rc : r;
    if (s->from_content && !s->src.nsrc) {
        s->src.src[0] = LSW_SRC_SIO;
        s->src.src[1] = LSW_SRC_XX411;
        s->src.nsrc = 2;
    }
    const config_setting_t *o = config_setting_get_member(ch->settings, "outputs");
    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            o = config_setting_get_member(ch->settings, "keep_inbound");
        for (int i = 0; o && i < config_setting_length(o); i++) {
            const char *v = config_setting_get_string_elem(o, i);
            int k = 0;
            while (v && onames[k] && strcasecmp(v, onames[k]))
                k++;
            if (!v || !onames[k]) {
                config_errors_addf(errs, cfg->path, config_setting_source_line(o),
                                   "%s: unknown %s '%s' (sio-label, x-x411, xml, flot, subject, history, "
                                   "history-text, x411-envelope, ess-signature)", what, pass ? "form in keep_inbound" : "output", v ? v : "?");
                rc = MG_ECONFIG;
            } else if (pass) {
                s->keep |= 1u << k;
            } else {
                s->outputs |= 1u << k;
            }
        }
    }
    s->subject_tpl = dup_or(ch->settings, "subject_template", "[${marking}] ${subject}");
    s->flot_tpl = dup_or(ch->settings, "flot_template", "${marking}");
    s->lang = dup_or(ch->settings, "lang", "");
    int b = 1;
    config_setting_lookup_bool(ch->settings, "remove_inbound", &b);
    s->remove_inbound = b;
    const char *ne = "fail";
    config_setting_lookup_string(ch->settings, "on_no_equivalent", &ne);
    if (!strcasecmp(ne, "hold"))
        s->hold_no_equiv = true;
    else if (strcasecmp(ne, "fail")) {
        config_errors_addf(errs, cfg->path, ch->line, "%s: 'on_no_equivalent' must be \"fail\" or \"hold\"", what);
        rc = MG_ECONFIG;
    }
    const char *xf = "spiffy";
    config_setting_lookup_string(ch->settings, "xml_format", &xf);
    if (!strcasecmp(xf, "nato"))
        s->xml_nato = true;
    else if (strcasecmp(xf, "spiffy")) {
        config_errors_addf(errs, cfg->path, ch->line, "%s: 'xml_format' must be \"spiffy\" or \"nato\" (ADatP-4774)",
                           what);
        rc = MG_ECONFIG;
    }
    const char *xt = "x411";
    config_setting_lookup_string(ch->settings, "x_x411_type", &xt);
    if (!strcasecmp(xt, "ess"))
        s->xx411_ess = true;
    else if (strcasecmp(xt, "x411")) {
        config_errors_addf(errs, cfg->path, ch->line, "%s: 'x_x411_type' must be \"x411\" or \"ess\"", what);
        rc = MG_ECONFIG;
    }
    const config_setting_t *h = config_setting_get_member(ch->settings, "headers");
    for (int i = 0; h && i < config_setting_length(h); i++) {
        const config_setting_t *e = config_setting_get_elem(h, (unsigned)i);
        const char *n = NULL, *v = NULL;
        config_setting_lookup_string(e, "name", &n);
        config_setting_lookup_string(e, "value", &v);
        if (!n || !v || !*n || strpbrk(n, ": \t\r\n")) {
            config_errors_addf(errs, cfg->path, config_setting_source_line(e),
                               "%s: a header needs 'name' (a field name) and 'value' (a template)", what);
            rc = MG_ECONFIG;
            continue;
        }
        struct shaper_hdr *x = realloc(s->hdrs, (s->nhdrs + 1) * sizeof *x);
        if (!x) {
            shaper_free(s);
            return MG_ENOMEM;
        }
        s->hdrs = x;
        x[s->nhdrs].name = strdup(n);
        x[s->nhdrs].value = strdup(v);
        s->nhdrs++;
    }
    if (s->outputs & OUT_ESS_SIGNATURE) {
        const char *sc = NULL, *sk = NULL, *sa = NULL;
        config_setting_lookup_string(ch->settings, "sign_cert", &sc);
        config_setting_lookup_string(ch->settings, "sign_key", &sk);
        config_setting_lookup_string(ch->settings, "sign_ca", &sa);
#ifdef MG_LSW_HAVE_CERTS
        char why[600] = "";
        if (!sc || !sk) {
            config_errors_addf(errs, cfg->path, ch->line, "%s: the ess-signature output needs 'sign_cert' and 'sign_key'",
                               what);
            rc = MG_ECONFIG;
        } else if (lsw_signer_load(sc, sk, sa, &s->signer, why, sizeof why)) {
            config_errors_addf(errs, cfg->path, ch->line, "%s: %s", what, why);
            rc = MG_ECONFIG;
        }
#else
        (void)sc; (void)sk; (void)sa;
        config_errors_addf(errs, cfg->path, ch->line, "%s: ess-signature needs the crypto component", what);
        rc = MG_ECONFIG;
#endif
    }
    if (!s->subject_tpl || !s->flot_tpl || !s->lang)
        rc = MG_ENOMEM;
    if (rc) {
        shaper_free(s);
        return rc;
    }
    *conf = s;
    return 0;
}

/* ${marking} ${classification} ${policy} ${x411} ${ess} ${xml} ${subject} */
struct vars {
    const char *marking, *cls, *policy, *x411, *ess, *xml, *subject;
    const struct lbl_policy *p;     /* for ${marking:LOCATION[:LANG]} */
    const struct lbl_label *l;
};

static char *expand(const char *tpl, const struct vars *v)
{
    size_t cap = strlen(tpl) + 1, n = 0;
    char *out = malloc(cap);
    for (const char *p = tpl; out && *p;) {
        const char *val = NULL;
        char *own = NULL;           /* a marking made for this reference */
        size_t skip = 1;
        if (p[0] == '\\' && p[1] == '$' && p[2] == '{')
            p++; /* "\${name}": written so in the file to escape the configuration's expansion */
        if (p[0] == '$' && p[1] == '{') {
            const char *e = strchr(p, '}');
            if (e) {
                size_t k = (size_t)(e - p - 2);
                static const char *const names[] = { "marking", "classification", "policy", "x411", "ess", "xml",
                                                     "subject" };
                const char *vals[] = { v->marking, v->cls, v->policy, v->x411, v->ess, v->xml, v->subject };
                for (size_t i = 0; i < 7; i++)
                    if (strlen(names[i]) == k && !strncmp(p + 2, names[i], k)) {
                        val = vals[i] ? vals[i] : "";
                        skip = k + 3;
                    }
                /* ${marking:subject} ${marking:pageTop:fr}: any of the SPIF's phrases and languages */
                if (!val && k > 8 && k < 100 && !strncmp(p + 2, "marking:", 8) && v->p && v->l) {
                    char spec[100], *lang;
                    memcpy(spec, p + 10, k - 8);
                    spec[k - 8] = 0;
                    lang = strchr(spec, ':');
                    if (lang)
                        *lang++ = 0;
                    enum lbl_loc loc;
                    if (lbl_loc_parse(spec, &loc) == 0 && lbl_marking(v->p, v->l, lang ? lang : "", loc, &own, NULL) == 0) {
                        val = own;
                        skip = k + 3;
                    }
                }
            }
        }
        size_t add = val ? strlen(val) : 1;
        if (n + add + 1 > cap) {
            cap = (n + add + 1) * 2;
            char *x = realloc(out, cap);
            if (!x) {
                free(out);
                free(own);
                return NULL;
            }
            out = x;
        }
        if (val) {
            /* header values stay on one line */
            for (const char *q = val; *q; q++)
                out[n++] = (*q == '\r' || *q == '\n') ? ' ' : *q;
        } else {
            out[n++] = *p;
        }
        free(own);
        p += skip;
    }
    if (out)
        out[n] = 0;
    return out;
}

static int b64_of(int (*enc)(const struct lbl_label *, const struct lbl_policy *, unsigned char **, size_t *,
                             struct lbl_err *),
                  const struct lbl_label *l, const struct lbl_policy *p, char **out)
{
    unsigned char *der = NULL;
    size_t n = 0;
    struct lbl_err err = { "" };
    int rc = enc(l, p, &der, &n, &err);
    if (!rc)
        rc = lbl_b64_encode(der, n, out);
    free(der);
    return rc;
}

static void set_all(const struct channel_task *t, struct channel_result *r, enum channel_action a, int code,
                    const char *st, const char *text)
{
    for (size_t i = 0; i < t->nrcpts; i++)
        channel_outcome_set(&r->rcpts[i].outcome, a, code, st, text, NULL);
}

/* An X.400 content (P22 / P772 from P1): the header forms (SIO-Label, X-X411, the XML label,
 * SIO-Label-History, configured headers) go to the heading's rfc-822-field extension, where the
 * MIXER carries RFC 5322 fields and extraction reads them back (lsw_x400.h); the subject, the
 * first line of text and the history text have no place there. P2 (1984) has no heading
 * extensions, and a content that is not an IPM (CMS) is left as it is: audited either way. */
static int x400_rebuild(const struct channel_task *t, const unsigned char *c, size_t clen, const char *const *rm,
                        const char *const *adds, int text_forms, unsigned char **nc, size_t *nl,
                        struct channel_result *r)
{
    const char *oid = t->msg ? t->msg->content_oid : NULL;
    int er = !rm[0] && !adds[0]                ? MG_ENOTFOUND /* nothing to write: unchanged */
             : oid && !strcmp(oid, "2") ? MG_ENOTSUP
                                        : lsw_x400_edit(c, clen, rm, adds, nc, nl);
    if (er == MG_ENOTFOUND && !rm[0] && !adds[0]) {
        if (!(*nc = malloc(clen ? clen : 1)))
            return MG_ENOMEM;
        memcpy(*nc, c, clen);
        *nl = clen;
        er = 0;
    }
    int rc = 0;
    if (er == MG_ENOTSUP || er == MG_ENOTFOUND || er == MG_EPARSE || er == MG_EINVAL || er == MG_ETOOBIG) {
        char why[200];
        snprintf(why, sizeof why, "the label's header forms were not written to the X.400 heading: %s",
                 er == MG_ENOTSUP ? "P2 (1984) has no heading extensions"
                 : er == MG_ENOTFOUND ? "the content is not an IPM"
                                      : mg_strerror(er));
        rc = channel_result_add_audit(r, -1, "label-heading-skipped", why, "", NULL, 0, NULL);
        if (!rc && !(*nc = malloc(clen ? clen : 1)))
            rc = MG_ENOMEM;
        if (!rc) {
            memcpy(*nc, c, clen);
            *nl = clen;
        }
        er = rc;
    }
    if (!er && text_forms)
        er = channel_result_add_audit(r, -1, "label-forms-skipped",
                                      "subject and first-line forms are not written to an X.400 content", "", NULL,
                                      0, NULL);
    return er;
}

static int shaper_process(const void *conf, const struct channel_task *t, struct channel_result *r)
{
    const struct shaper *s = conf;
    size_t clen = 0;
    const unsigned char *c = content_data(t->content, &clen);
    struct lbl_label in, out;
    lbl_label_init(&in);
    lbl_label_init(&out);
    struct lbl_err err = { "" };
    int rc = 0, have = 0;
    if (s->from_content) {
        struct lsw_found *f = NULL;
        size_t n = 0;
        rc = lsw_find_labels(&s->src, s->set, c, clen, t->label, t->label_len, &f, &n, NULL, 0);
        if (!rc && n) {
            rc = lbl_label_copy(&in, &f[0].label);
            have = 1;
        }
        lsw_found_free(f, n);
    } else if (t->label && t->label_len) {
        if (lsw_label_decode(t->label, t->label_len, &in, &err) == 0)
            have = 1;
        else
            rc = channel_result_add_audit(r, -1, "label-unreadable", err.msg, "label", t->label, t->label_len, NULL);
    }
    if (rc || !have) {
        if (!rc)
            rc = channel_result_add_audit(r, -1, "label-absent", "no security label to shape: content unchanged", "",
                                          NULL, 0, NULL);
        goto done;
    }
    if (!in.policy[0]) /* an X.411 label without policy: it is taken as the channel's policy */
        snprintf(in.policy, sizeof in.policy, "%s", lbl_policy_oid(s->out));
    int translated = strcmp(in.policy, lbl_policy_oid(s->out)) != 0;
    if (translated) {
        if (lbl_translate(s->set, &in, lbl_policy_oid(s->out), &out, &err)) {
            char why[700];
            snprintf(why, sizeof why, "no equivalent label in policy %s: %s", lbl_policy_name(s->out), err.msg);
            if (s->hold_no_equiv)
                set_all(t, r, CHANNEL_HELD, 0, NULL, why);
            else
                set_all(t, r, CHANNEL_FAILED, 550, "5.7.1", "security label cannot be converted to the next hop's policy");
            rc = channel_result_add_audit(r, -1, "label-translation-failed", why, "label", t->label, t->label_len, NULL);
            goto done;
        }
    } else {
        rc = lbl_label_copy(&out, &in);
        if (rc)
            goto done;
    }
    /* For an X.400 envelope (the content version's label, which the P1 channel sends as X.411):
     * the privacy mark as PrintableString. */
    if ((s->outputs & OUT_X411_ENVELOPE) && printable_mark(&out))
        rc = channel_result_add_audit(r, -1, "label-privacy-mark-converted",
                                      "privacy mark converted to PrintableString for the X.411 envelope", "", NULL, 0,
                                      out.privacy_mark);
    if (rc)
        goto done;
    /* The values every output form is built from. */
    char *mark = NULL, *mflot = NULL, *msubj = NULL, *x411 = NULL, *ess = NULL, *xml = NULL, *subject = NULL;
    char *sio = NULL, *hist = NULL, *xx = NULL;
    lbl_marking(s->out, &out, s->lang, LBL_LOC_PAGEBOTTOM, &mark, NULL);
    lbl_marking(s->out, &out, s->lang, LBL_LOC_FLOT, &mflot, NULL);
    lbl_marking(s->out, &out, s->lang, LBL_LOC_SUBJECT, &msubj, NULL);
    b64_of(lbl_x411_encode, &out, s->out, &x411);
    b64_of(lbl_ess_encode, &out, s->out, &ess);
    if (s->xml_nato)
        lbl_nato_write_label(s->out, &out, &xml, NULL);
    else
        lbl_xml_write_label(&out, &xml);
    lsw_msg_header(c, clen, "Subject", 0, &subject);
    const char *cls = out.has_class ? lbl_policy_class_name(s->out, out.class_lacv) : NULL;
    struct vars v = { mark, cls, lbl_policy_name(s->out), x411, ess, xml, subject ? subject : "", s->out, &out };
    const char *adds[24];
    char *owned[24];
    size_t na = 0, no = 0;
    const char *rm[8];
    size_t nrm = 0;
    if (s->outputs & OUT_SIO) {
        if (lbl_sio_encode(&out, s->out, &sio, &err) == 0)
            adds[na++] = sio;
        if (s->remove_inbound && !(s->keep & OUT_SIO))
            rm[nrm++] = "SIO-Label";
    }
    if (s->outputs & OUT_XX411) {
        const char *b = s->xx411_ess ? ess : x411;
        if (b && asprintf(&xx, "%s: %s", s->src.xx411_header, b) > 0)
            adds[na++] = xx;
        if (s->remove_inbound && !(s->keep & OUT_XX411))
            rm[nrm++] = s->src.xx411_header;
    }
    if ((s->outputs & OUT_XML) && xml) {
        /* one line: the XML's own line ends become spaces */
        char *line = NULL;
        if (asprintf(&line, "%s: %s", s->src.xml_header, xml) > 0) {
            for (char *p = line; *p; p++)
                if (*p == '\r' || *p == '\n')
                    *p = ' ';
            adds[na++] = owned[no++] = line;
        }
        if (s->remove_inbound && !(s->keep & OUT_XML))
            rm[nrm++] = s->src.xml_header;
    } else if ((s->outputs & OUT_XML) && !rc) {
        /* the XML writers refuse what their format cannot carry (a privacy mark with a character
         * XML 1.0 does not allow, a category type it has no place for) rather than write a label
         * that does not parse or says less: the header is left out, and the audit says so */
        rc = channel_result_add_audit(r, -1, "label-xml-not-written",
                                      "the label cannot be written as XML (a privacy mark XML 1.0 cannot carry, "
                                      "or a category the format has no place for)",
                                      "", NULL, 0, NULL);
    }
    if ((s->outputs & OUT_HISTORY) && translated) {
        char at[32];
        snprintf(at, sizeof at, "%lld", (long long)t->now);
        if (lbl_sio_history_encode(&in, "translated", t->cfg->global.hostname ? t->cfg->global.hostname : "mixgate",
                                   at, &hist, &err) == 0)
            adds[na++] = hist;
    }
    for (size_t i = 0; i < s->nhdrs && na < 20; i++) {
        char *val = expand(s->hdrs[i].value, &v), *line = NULL;
        if (val && asprintf(&line, "%s: %s", s->hdrs[i].name, val) > 0) {
            adds[na++] = owned[no++] = line;
            if (s->remove_inbound && nrm < 7)
                rm[nrm++] = s->hdrs[i].name;
        }
        free(val);
    }
    adds[na] = NULL;
    rm[nrm] = NULL;
    char *subj_new = NULL, *flot = NULL;
    if (s->outputs & OUT_SUBJECT) {
        struct vars vs = v;
        vs.marking = msubj ? msubj : mark;
        subj_new = expand(s->subject_tpl, &vs);
    }
    if (s->outputs & OUT_FLOT) {
        struct vars vf = v;
        vf.marking = mflot ? mflot : mark;
        flot = expand(s->flot_tpl, &vf);
    }
    if ((s->outputs & OUT_HISTORY_TEXT) && translated) {
        /* the original label as leading text of the first text part (after a new first line) */
        const struct lbl_policy *ip = lbl_policy_set_find(s->set, in.policy);
        char *im = NULL, *line = NULL;
        if (ip)
            lbl_marking(ip, &in, s->lang, LBL_LOC_FLOT, &im, NULL);
        if (asprintf(&line, "%s%s[original label, policy %s: %s]", flot ? flot : "", flot ? "\n" : "",
                     ip ? lbl_policy_name(ip) : in.policy, im ? im : "(no marking)") > 0) {
            free(flot);
            flot = line;
        }
        free(im);
    }
    struct lsw_msg_edit e = { .remove = rm, .subject = subj_new, .add = adds, .flot = flot };
    unsigned char *nc = NULL;
    size_t nl = 0;
    int er;
    if (content_type(t->content) == MESSAGE_CONTENT_X400_P22) {
        er = x400_rebuild(t, c, clen, rm, adds, subj_new || flot, &nc, &nl, r);
    } else if ((er = lsw_msg_rebuild(c, clen, &e, &nc, &nl)) == MG_ENOTFOUND && flot) {
        /* no first line of text we may write: the rest still */
        e.flot = NULL;
        er = lsw_msg_rebuild(c, clen, &e, &nc, &nl);
        rc = channel_result_add_audit(r, -1, "label-flot-skipped", "no text part to write the marking to", "", NULL,
                                      0, NULL);
    }
#ifdef MG_LSW_HAVE_CERTS
    if (!er && !rc && (s->outputs & OUT_ESS_SIGNATURE)) {
        unsigned char *ess_der = NULL, *sig = NULL;
        size_t ess_len = 0, sl = 0;
        char why[600] = "";
        er = lbl_ess_encode(&out, s->out, &ess_der, &ess_len, &err);
        if (!er)
            er = lsw_sign(s->signer, nc, nl, ess_der, ess_len, &sig, &sl, why, sizeof why);
        else
            snprintf(why, sizeof why, "ESS label: %s", err.msg);
        free(ess_der);
        if (!er) {
            free(nc);
            nc = sig;
            nl = sl;
        } else {
            snprintf(r->error, sizeof r->error, "shaper: %.400s", why);
        }
    }
#endif
    if (!er && !rc) {
        r->content = content_new(content_type(t->content), 0, nc, nl);
        rc = r->content ? 0 : MG_ENOMEM;
        nc = NULL;
        unsigned char *der = NULL;
        size_t dl = 0;
        if (!rc && lsw_label_encode(&out, s->out, &der, &dl) == 0) {
            r->label_set = true;
            r->label = der;
            r->label_len = dl;
            char why[400];
            snprintf(why, sizeof why, "%s label in policy %s", translated ? "converted" : "marked",
                     lbl_policy_name(s->out));
            rc = channel_result_add_audit(r, -1, translated ? "label-converted" : "label-marked", why, "label", der, dl,
                                          mark);
        } else if (!rc) {
            free(der);
            rc = MG_EINVAL;
        }
    } else if (!rc) {
        rc = er;
    }
    free(nc);
    free(subj_new);
    free(flot);
    for (size_t i = 0; i < no; i++)
        free(owned[i]);
    free(mark); free(mflot); free(msubj); free(x411); free(ess); free(xml); free(subject);
    free(sio); free(hist); free(xx);
done:
    lbl_label_free(&in);
    lbl_label_free(&out);
    if (rc && !r->error[0])
        snprintf(r->error, sizeof r->error, "shaper: %s", mg_strerror(rc));
    return rc;
}

const struct channel_kind shaper_channel_kind = {
    .name = "shaper",
    .role = CHANNEL_ROLE_PROCESSING,
    .configure = shaper_configure,
    .conf_free = shaper_free,
    .process = shaper_process,
};
