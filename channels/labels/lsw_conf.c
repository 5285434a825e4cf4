/* lsw_conf: loads the top-level `labels = { ... }` group (lsw.h): policies, clearances per
 * recipient (table and file), per channel and per peer, and per-listener extraction settings.
 * Every problem is reported with file:line through config_errors_addf, all of them at once. */
#define _GNU_SOURCE
#include "lsw_int.h"
#include "lbl_ber.h"
#include "lbl_codec.h"
#include "lbl_marking.h"
#include "mg_err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LSW_FILE_MAX (1024 * 1024)

static int sline(const config_setting_t *s) { return s ? config_setting_source_line(s) : 0; }

static int read_file(const char *path, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? MG_ENOTFOUND : MG_EIO;
    unsigned char *b = malloc(LSW_FILE_MAX + 1);
    if (!b) {
        fclose(f);
        return MG_ENOMEM;
    }
    size_t n = fread(b, 1, LSW_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > LSW_FILE_MAX) {
        free(b);
        return bad ? MG_EIO : MG_ETOOBIG;
    }
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

int lsw_read_clearance(const struct lbl_policy_set *set, const char *v, struct lbl_clearance *out,
                       struct lbl_err *err)
{
    while (isspace((unsigned char)*v))
        v++;
    if (*v == '<')
        return lbl_decode_clearance(v, strlen(v), set, out, err);
    unsigned char *d = NULL;
    size_t n = 0;
    int rc = read_file(v, &d, &n);
    if (rc) {
        lbl_err_set(err, "%s: cannot read: %s", v, mg_strerror(rc));
        return rc;
    }
    rc = lbl_decode_clearance(d, n, set, out, err);
    free(d);
    return rc;
}

int lsw_read_label(const struct lbl_policy_set *set, const char *v, struct lbl_label *out, struct lbl_err *err)
{
    const char *s = v;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '<' || !strncasecmp(s, "SIO-Label:", 10) || !strncasecmp(s, "X-X411:", 7))
        return lbl_decode(s, strlen(s), LBL_FMT_AUTO, set, out, err);
    unsigned char *d = NULL;
    size_t n = 0;
    int rc = read_file(s, &d, &n);
    if (rc == MG_ENOTFOUND) /* not a file: a display marking */
        return lbl_decode(s, strlen(s), LBL_FMT_MARKING, set, out, err);
    if (rc) {
        lbl_err_set(err, "%s: cannot read: %s", s, mg_strerror(rc));
        return rc;
    }
    rc = lbl_decode(d, n, LBL_FMT_AUTO, set, out, err);
    free(d);
    return rc;
}

static const char *const src_names[LSW_NSRC] = { "x411", "ess", "x-x411", "sio-label", "xml", "header",
                                                  "subject", "flot", "sio-label-history" };

const char *lsw_src_name(enum lsw_src s) { return (unsigned)s < LSW_NSRC ? src_names[s] : "?"; }

static int src_parse(const char *s, enum lsw_src *out)
{
    for (int i = 0; i < LSW_NSRC; i++)
        if (!strcasecmp(s, src_names[i])) {
            *out = (enum lsw_src)i;
            return 0;
        }
    if (!strcasecmp(s, "sio")) {
        *out = LSW_SRC_SIO;
        return 0;
    }
    return MG_EINVAL;
}

static int get_str(const config_setting_t *g, const char *name, const char *file, const char *what, char **out,
                   const char *def, struct config_errors *errs)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    const char *v = def;
    if (s) {
        v = config_setting_get_string(s);
        if (!v) {
            config_errors_addf(errs, file, sline(s), "%s: '%s' must be a string", what, name);
            return MG_ECONFIG;
        }
    }
    *out = v ? strdup(v) : NULL;
    return v && !*out ? MG_ENOMEM : 0;
}

static int get_enum(const config_setting_t *g, const char *name, const char *file, const char *what,
                    const char *const *names, int *out, struct config_errors *errs)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    if (!s)
        return 0;
    const char *v = config_setting_get_string(s);
    for (int i = 0; v && names[i]; i++)
        if (!strcasecmp(v, names[i])) {
            *out = i;
            return 0;
        }
    char list[200] = "";
    for (int i = 0; names[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", i ? ", " : "", names[i]);
    config_errors_addf(errs, file, sline(s), "%s: '%s' must be one of %s", what, name, list);
    return MG_ECONFIG;
}

static int check_keys(const config_setting_t *g, const char *file, const char *what, const char *const *keys,
                      struct config_errors *errs)
{
    int bad = 0;
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *n = config_setting_name(m);
        int ok = 0;
        for (size_t k = 0; n && keys[k] && !ok; k++)
            ok = !strcmp(n, keys[k]);
        if (!ok) {
            config_errors_addf(errs, file, sline(m), "unknown key '%s' in %s", n ? n : "?", what);
            bad = 1;
        }
    }
    return bad ? MG_ECONFIG : 0;
}

int lsw_sources_parse(const config_setting_t *g, const char *file, const char *what, struct lsw_sources *s,
                      struct config_errors *errs)
{
    int rc = 0;
    const config_setting_t *l = config_setting_get_member(g, "extract");
    if (l && !config_setting_is_array(l) && !config_setting_is_list(l)) {
        config_errors_addf(errs, file, sline(l), "%s: 'extract' must be a list of places", what);
        rc = MG_ECONFIG;
    } else if (l) {
        for (int i = 0; i < config_setting_length(l); i++) {
            const char *v = config_setting_get_string_elem(l, i);
            enum lsw_src x;
            if (!v || src_parse(v, &x)) {
                config_errors_addf(errs, file, sline(l),
                                   "%s: unknown label place '%s' (x411, ess, x-x411, sio-label, xml, header, "
                                   "subject, flot, sio-label-history)", what, v ? v : "?");
                rc = MG_ECONFIG;
            } else if (s->nsrc < LSW_NSRC) {
                s->src[s->nsrc++] = x;
            }
        }
    }
    int r2 = get_str(g, "x_x411_header", file, what, &s->xx411_header, "X-X411", errs);
    if (!r2) r2 = get_str(g, "xml_header", file, what, &s->xml_header, "X-Security-Label-XML", errs);
    if (!r2) r2 = get_str(g, "text_header", file, what, &s->text_header, "X-Security-Marking", errs);
    if (!r2) r2 = get_str(g, "header_regex", file, what, &s->header_re, NULL, errs);
    if (!r2) r2 = get_str(g, "subject_regex", file, what, &s->subject_re, "^[[:space:]]*\\[(.*)\\]", errs);
    if (!r2) r2 = get_str(g, "flot_regex", file, what, &s->flot_re, NULL, errs);
    /* compiled here, once: an expression that does not compile is the configuration's error,
     * with its line, not a failure of every marking read after */
    static const char *const keys[] = { "header_regex", "subject_regex", "flot_regex" };
    const char *re[] = { s->header_re, s->subject_re, s->flot_re };
    struct lbl_marking_re **rx[] = { &s->header_rx, &s->subject_rx, &s->flot_rx };
    for (size_t i = 0; i < 3 && !rc && !r2; i++) {
        struct lbl_err e = { .msg = "" };
        lbl_marking_re_free(*rx[i]);
        int c = lbl_marking_re_new(re[i], rx[i], &e);
        if (c == MG_ENOMEM) {
            r2 = c;
        } else if (c) {
            const config_setting_t *m = config_setting_get_member(g, keys[i]);
            config_errors_addf(errs, file, sline(m ? m : g), "%s: '%s' = \"%s\" does not compile (%s)",
                               what, keys[i], re[i] ? re[i] : "", e.msg);
            r2 = MG_ECONFIG;
        }
    }
    return rc ? rc : r2;
}

int lsw_sources_compile(struct lsw_sources *s)
{
    const char *re[] = { s->header_re, s->subject_re, s->flot_re };
    struct lbl_marking_re **rx[] = { &s->header_rx, &s->subject_rx, &s->flot_rx };
    for (size_t i = 0; i < 3; i++) {
        lbl_marking_re_free(*rx[i]);
        if (lbl_marking_re_new(re[i], rx[i], NULL) == MG_ENOMEM)
            return MG_ENOMEM;
    }
    return 0;
}

void lsw_sources_free(struct lsw_sources *s)
{
    free(s->xx411_header);
    free(s->xml_header);
    free(s->text_header);
    free(s->header_re);
    free(s->subject_re);
    free(s->flot_re);
    lbl_marking_re_free(s->header_rx);
    lbl_marking_re_free(s->subject_rx);
    lbl_marking_re_free(s->flot_rx);
    memset(s, 0, sizeof *s);
}

int lsw_load_policies(const config_setting_t *g, const char *file, const char *what, struct lbl_policy_set **out,
                      struct config_errors *errs)
{
    *out = NULL;
    struct lbl_policy_set *set = lbl_policy_set_create();
    if (!set)
        return MG_ENOMEM;
    const config_setting_t *one = config_setting_get_member(g, "spif");
    const config_setting_t *more = config_setting_get_member(g, "spifs");
    int rc = 0;
    for (int i = -1; more ? i < config_setting_length(more) : i < 0; i++) {
        const config_setting_t *s = i < 0 ? one : config_setting_get_elem(more, (unsigned)i);
        if (!s)
            continue;
        const char *path = config_setting_get_string(s);
        if (!path) {
            config_errors_addf(errs, file, sline(s), "%s: a SPIF is given by its path (a string)", what);
            rc = MG_ECONFIG;
            continue;
        }
        struct lbl_policy *p = NULL;
        struct lbl_err err = { "" };
        if (lbl_policy_load_file(path, NULL, &p, &err)) {
            config_errors_addf(errs, file, sline(s), "%s: SPIF %s: %s", what, path, err.msg);
            rc = MG_ECONFIG;
            continue;
        }
        int a = lbl_policy_set_add(set, p);
        if (a == MG_EEXIST && i >= 0)
            continue; /* the governing SPIF listed again */
        if (a) {
            config_errors_addf(errs, file, sline(s), "%s: SPIF %s: %s", what, path, mg_strerror(a));
            rc = MG_ECONFIG;
        }
    }
    if (!rc && !lbl_policy_set_count(set)) {
        config_errors_addf(errs, file, sline(g), "%s: 'spif' (the governing policy) is required", what);
        rc = MG_ECONFIG;
    }
    if (rc) {
        lbl_policy_set_free(set);
        return rc;
    }
    *out = set;
    return 0;
}

static const char *const top_keys[] = { "spif", "spifs", "unlabelled", "recipient_clearance", "clearances",
                                        "clearances_file", "channels", "peers", "submission", "ldap", "cert_store",
                                        "report_label", NULL };
static const char *const sub_keys[] = { "listener", "extract", "governing", "on_missing", "on_invalid",
                                        "on_inconsistent", "inconsistency_header", "default_label", "class_defaults",
                                        "x_x411_header", "xml_header", "text_header", "header_regex",
                                        "subject_regex", "flot_regex", NULL };

/* The label of a report whose subject has none (lsw_report_label): `report_label` (any form
 * the engine reads, valid under the governing SPIF), else, with `unlabelled = "deny"`, the
 * governing policy's least sensitive classification with no categories. Why: X.411 gives a
 * report the security label of its subject, so the gate decides the report as it decided the
 * subject; an unlabelled subject refused by `unlabelled = "deny"` would leave an unlabelled
 * report that the same rule refuses, and the originator would never hear. With "allow" an
 * unlabelled report passes as its subject did, and a label of our choosing would only ask the
 * originator for a clearance the subject never needed. */
static int load_report_label(struct lsw *l, const config_setting_t *g, const char *file, struct config_errors *errs)
{
    struct lbl_label lb;
    lbl_label_init(&lb);
    const config_setting_t *rl = config_setting_get_member(g, "report_label");
    int rc = 0;
    if (rl) {
        const char *v = config_setting_get_string(rl);
        struct lbl_err err = { "" };
        struct lbl_reasons why = { 0 };
        if (!v || lsw_read_label(l->set, v, &lb, &err)) {
            config_errors_addf(errs, file, sline(rl), "labels: report_label: %s", v ? err.msg : "must be a string");
            rc = MG_ECONFIG;
        } else if (!lbl_validate(l->gov, &lb, &why)) {
            config_errors_addf(errs, file, sline(rl), "labels: report_label is not valid under the governing SPIF: %s",
                               why.n ? why.r[0] : "policy mismatch");
            rc = MG_ECONFIG;
        }
    } else if (l->unlabelled_allow) {
        lbl_label_free(&lb);
        return 0;
    } else {
        unsigned long lacv;
        if (lbl_policy_class_lowest(l->gov, &lacv) == 0) {
            snprintf(lb.policy, sizeof lb.policy, "%s", lbl_policy_oid(l->gov) ? lbl_policy_oid(l->gov) : "");
            lb.has_class = 1;
            lb.class_lacv = lacv;
        } else {
            lbl_label_free(&lb);
            return 0; /* a policy without classifications: reports stay unlabelled */
        }
    }
    if (!rc)
        rc = lsw_label_encode(&lb, l->gov, &l->report_label, &l->report_label_len);
    if (rc && rc != MG_ECONFIG) {
        config_errors_addf(errs, file, rl ? sline(rl) : sline(g), "labels: the report label cannot be encoded: %s",
                           mg_strerror(rc));
        rc = rc == MG_ENOMEM ? rc : MG_ECONFIG;
    }
    lbl_label_free(&lb);
    return rc;
}

int lsw_report_label(const struct lsw *l, unsigned char **der, size_t *len)
{
    *der = NULL;
    *len = 0;
    if (!l || !l->report_label_len)
        return 0;
    if (!(*der = malloc(l->report_label_len)))
        return MG_ENOMEM;
    memcpy(*der, l->report_label, l->report_label_len);
    *len = l->report_label_len;
    return 0;
}

static int add_rclear(struct lsw *l, enum lsw_match m, const char *value, const char *cv, const char *file,
                      int line, struct config_errors *errs)
{
    struct lsw_rclear *n = realloc(l->rc, (l->nrc + 1) * sizeof *n);
    if (!n)
        return MG_ENOMEM;
    l->rc = n;
    struct lsw_rclear *r = &n[l->nrc];
    memset(r, 0, sizeof *r);
    lbl_clearance_init(&r->c);
    struct lbl_err err = { "" };
    if (lsw_read_clearance(l->set, cv, &r->c, &err)) {
        lbl_clearance_free(&r->c);
        config_errors_addf(errs, file, line, "labels: clearance of %s: %s", value, err.msg);
        return MG_ECONFIG;
    }
    r->m = m;
    r->value = strdup(value);
    if (!r->value) {
        lbl_clearance_free(&r->c);
        return MG_ENOMEM;
    }
    if (m != LSW_M_PATTERN) {
        char *at = m == LSW_M_ADDR ? strrchr(r->value, '@') : r->value;
        for (char *p = at; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    l->nrc++;
    return 0;
}

/* ${MIXGATE_CLEARANCES}: "address  path" per line, '#' starts a comment. */
static int load_clearances_file(struct lsw *l, const char *path, const char *file, int line,
                                struct config_errors *errs)
{
    unsigned char *d = NULL;
    size_t n = 0;
    int rc = read_file(path, &d, &n);
    if (rc) {
        config_errors_addf(errs, file, line, "labels: clearances_file %s: %s", path, mg_strerror(rc));
        return MG_ECONFIG;
    }
    int lno = 0, bad = 0;
    for (char *s = (char *)d, *next; s && *s; s = next) {
        lno++;
        next = strchr(s, '\n');
        if (next)
            *next++ = 0;
        char *h = strchr(s, '#');
        if (h)
            *h = 0;
        char *addr = strtok_r(s, " \t\r", &h);
        char *cp = addr ? strtok_r(NULL, " \t\r", &h) : NULL;
        if (!addr)
            continue;
        if (!cp || strtok_r(NULL, " \t\r", &h)) {
            config_errors_addf(errs, path, lno, "expected: address clearance-file");
            bad = 1;
            continue;
        }
        int r = add_rclear(l, strchr(addr, '@') ? LSW_M_ADDR : LSW_M_DOMAIN, addr, cp, path, lno, errs);
        if (r == MG_ENOMEM) {
            free(d);
            return r;
        }
        bad |= r != 0;
    }
    free(d);
    return bad ? MG_ECONFIG : 0;
}

static int load_named(struct lsw *l, const config_setting_t *list, const char *key, struct lsw_nclear **out,
                      size_t *n, const char *file, struct config_errors *errs)
{
    int rc = 0;
    for (int i = 0; list && i < config_setting_length(list); i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        const char *name = NULL, *cv = NULL;
        config_setting_lookup_string(g, key, &name);
        config_setting_lookup_string(g, "clearance", &cv);
        if (!name || !cv) {
            config_errors_addf(errs, file, sline(g), "labels: each entry needs '%s' and 'clearance'", key);
            rc = MG_ECONFIG;
            continue;
        }
        struct lsw_nclear *v = realloc(*out, (*n + 1) * sizeof *v);
        if (!v)
            return MG_ENOMEM;
        *out = v;
        struct lsw_nclear *e = &v[*n];
        lbl_clearance_init(&e->c);
        struct lbl_err err = { "" };
        if (lsw_read_clearance(l->set, cv, &e->c, &err)) {
            lbl_clearance_free(&e->c);
            config_errors_addf(errs, file, sline(g), "labels: clearance of %s %s: %s", key, name, err.msg);
            rc = MG_ECONFIG;
            continue;
        }
        if (!(e->name = strdup(name))) {
            lbl_clearance_free(&e->c);
            return MG_ENOMEM;
        }
        (*n)++;
    }
    return rc;
}

static int load_submission(struct lsw *l, const config_setting_t *g, const char *file, struct config_errors *errs)
{
    struct lsw_extract *v = realloc(l->ex, (l->nex + 1) * sizeof *v);
    if (!v)
        return MG_ENOMEM;
    l->ex = v;
    struct lsw_extract *e = &v[l->nex++];
    memset(e, 0, sizeof *e);
    lbl_label_init(&e->default_label);
    e->line = sline(g);
    e->governing = -1;
    char what[160];
    const char *ln = NULL;
    config_setting_lookup_string(g, "listener", &ln);
    snprintf(what, sizeof what, "labels: submission '%s'", ln ? ln : "?");
    int rc = check_keys(g, file, what, sub_keys, errs);
    if (!ln) {
        config_errors_addf(errs, file, e->line, "%s: 'listener' is required", what);
        rc = MG_ECONFIG;
    } else if (!(e->listener = strdup(ln))) {
        return MG_ENOMEM;
    }
    int r = lsw_sources_parse(g, file, what, &e->s, errs);
    rc = rc ? rc : r;
    if (!config_setting_get_member(g, "extract")) {
        e->s.src[0] = LSW_SRC_ESS; /* the default for SMTP */
        e->s.nsrc = 1;
    }
    const char *gv = NULL;
    if (config_setting_lookup_string(g, "governing", &gv) && strcasecmp(gv, "first")) {
        enum lsw_src x;
        for (size_t i = 0; !src_parse(gv, &x) && i < e->s.nsrc; i++)
            if (e->s.src[i] == x)
                e->governing = (int)i;
        if (e->governing < 0) {
            config_errors_addf(errs, file, sline(config_setting_get_member(g, "governing")),
                               "%s: 'governing' must be \"first\" or one of the places in 'extract'", what);
            rc = MG_ECONFIG;
        }
    }
    static const char *const miss[] = { "reject", "default", "accept", NULL };
    static const char *const inv[] = { "reject", "default", "correct", NULL };
    static const char *const inc[] = { "reject", "header", "audit", NULL };
    int x = 0;
    if (!get_enum(g, "on_missing", file, what, miss, &x, errs)) e->on_missing = (enum lsw_missing)x; else rc = MG_ECONFIG;
    x = 0;
    if (!get_enum(g, "on_invalid", file, what, inv, &x, errs)) e->on_invalid = (enum lsw_invalid)x; else rc = MG_ECONFIG;
    x = 1;
    if (!get_enum(g, "on_inconsistent", file, what, inc, &x, errs)) e->on_inconsistent = (enum lsw_incons)x; else rc = MG_ECONFIG;
    r = get_str(g, "inconsistency_header", file, what, &e->incons_header, "X-Security-Label-Inconsistent", errs);
    rc = rc ? rc : r;
    const config_setting_t *dl = config_setting_get_member(g, "default_label");
    if (dl) {
        const char *dv = config_setting_get_string(dl);
        struct lbl_err err = { "" };
        struct lbl_reasons why = { 0 };
        if (!dv || lsw_read_label(l->set, dv, &e->default_label, &err)) {
            config_errors_addf(errs, file, sline(dl), "%s: default_label: %s", what, dv ? err.msg : "must be a string");
            rc = MG_ECONFIG;
        } else if (!lbl_validate(l->gov, &e->default_label, &why)) {
            config_errors_addf(errs, file, sline(dl), "%s: default_label is not valid under the governing SPIF: %s",
                               what, why.n ? why.r[0] : "policy mismatch");
            rc = MG_ECONFIG;
        } else {
            e->has_default = true;
        }
    }
    const config_setting_t *cd = config_setting_get_member(g, "class_defaults");
    for (int i = 0; cd && i < config_setting_length(cd); i++) {
        const char *dv = config_setting_get_string_elem(cd, i);
        struct lbl_label *cv = realloc(e->class_defaults, (e->nclass_defaults + 1) * sizeof *cv);
        if (!cv)
            return MG_ENOMEM;
        e->class_defaults = cv;
        struct lbl_label *cl = &cv[e->nclass_defaults];
        lbl_label_init(cl);
        struct lbl_err err = { "" };
        struct lbl_reasons why = { 0 };
        if (!dv || lsw_read_label(l->set, dv, cl, &err)) {
            config_errors_addf(errs, file, sline(cd), "%s: class_defaults: %s", what, dv ? err.msg : "must be strings");
            lbl_label_free(cl);
            rc = MG_ECONFIG;
            continue;
        }
        e->nclass_defaults++;
        if (!lbl_validate(l->gov, cl, &why)) {
            config_errors_addf(errs, file, sline(cd), "%s: class_defaults: %s is not valid under the governing SPIF",
                               what, dv);
            rc = MG_ECONFIG;
        }
    }
    if ((e->on_missing == LSW_MISSING_DEFAULT || e->on_invalid == LSW_INVALID_DEFAULT) && !dl) {
        config_errors_addf(errs, file, e->line, "%s: on_missing/on_invalid = \"default\" needs 'default_label'", what);
        rc = MG_ECONFIG;
    }
    return rc;
}

static int load_ldap(struct lsw *l, const config_setting_t *g, const char *file, struct config_errors *errs)
{
    static const char *const keys[] = { "uri", "base", "filter", "attribute", "bind_dn", "password", "timeout", NULL };
    struct lsw_ldap *d = calloc(1, sizeof *d);
    if (!d)
        return MG_ENOMEM;
    l->ldap = d;
    int rc = check_keys(g, file, "labels.ldap", keys, errs);
    int r = get_str(g, "uri", file, "labels.ldap", &d->uri, NULL, errs);
    if (!r) r = get_str(g, "base", file, "labels.ldap", &d->base, "", errs);
    if (!r) r = get_str(g, "filter", file, "labels.ldap", &d->filter, "(mail=%s)", errs);
    if (!r) r = get_str(g, "attribute", file, "labels.ldap", &d->attribute, "clearance", errs);
    if (!r) r = get_str(g, "bind_dn", file, "labels.ldap", &d->bind_dn, NULL, errs);
    if (!r) r = get_str(g, "password", file, "labels.ldap", &d->password, NULL, errs);
    int t = 5;
    config_setting_lookup_int(g, "timeout", &t);
    d->timeout = t > 0 && t <= 300 ? t : 5;
#ifndef MG_LSW_HAVE_LDAP
    config_errors_addf(errs, file, sline(g), "labels.ldap: this build has no LDAP client (libldap-dev)");
    r = MG_ECONFIG;
#endif
    if (!r && (!d->uri || strncmp(d->uri, "ldap", 4))) {
        config_errors_addf(errs, file, sline(g), "labels.ldap: 'uri' (ldap://host:port) is required");
        r = MG_ECONFIG;
    }
    return rc ? rc : r;
}

int lsw_load(const struct config *cfg, struct lsw **out, struct config_errors *errs)
{
    *out = NULL;
    const config_setting_t *g = config_lookup(&cfg->tree, "labels");
    if (!g)
        return 0;
    const char *file = cfg->path;
    if (!config_setting_is_group(g)) {
        config_errors_addf(errs, file, sline(g), "labels: must be a group { ... }");
        return MG_ECONFIG;
    }
    struct lsw *l = calloc(1, sizeof *l);
    if (!l)
        return MG_ENOMEM;
    l->rcpt_required = true;
    int rc = check_keys(g, file, "labels", top_keys, errs);
    int r = lsw_load_policies(g, file, "labels", &l->set, errs);
    if (r) {
        lsw_free(l);
        return r;
    }
    l->gov = lbl_policy_set_get(l->set, 0);
    static const char *const ul[] = { "deny", "allow", NULL };
    int x = 0;
    if (!get_enum(g, "unlabelled", file, "labels", ul, &x, errs))
        l->unlabelled_allow = x == 1;
    else
        rc = MG_ECONFIG;
    int b;
    if (config_setting_lookup_bool(g, "recipient_clearance", &b))
        l->rcpt_required = b;
    const config_setting_t *cl = config_setting_get_member(g, "clearances");
    for (int i = 0; cl && i < config_setting_length(cl) && r != MG_ENOMEM; i++) {
        const config_setting_t *e = config_setting_get_elem(cl, (unsigned)i);
        const char *cv = NULL, *v = NULL;
        enum lsw_match m = LSW_M_ADDR;
        if (config_setting_lookup_string(e, "recipient", &v)) m = LSW_M_ADDR;
        else if (config_setting_lookup_string(e, "domain", &v)) m = LSW_M_DOMAIN;
        else if (config_setting_lookup_string(e, "pattern", &v)) m = LSW_M_PATTERN;
        config_setting_lookup_string(e, "clearance", &cv);
        if (!v || !cv) {
            config_errors_addf(errs, file, sline(e),
                               "labels: a clearance entry needs 'recipient', 'domain' or 'pattern', and 'clearance'");
            rc = MG_ECONFIG;
            continue;
        }
        r = add_rclear(l, m, v, cv, file, sline(e), errs);
        rc = rc ? rc : r;
    }
    const char *cf = NULL;
    if (r != MG_ENOMEM && config_setting_lookup_string(g, "clearances_file", &cf) && *cf) {
        r = load_clearances_file(l, cf, file, sline(config_setting_get_member(g, "clearances_file")), errs);
        rc = rc ? rc : r;
    }
    if (r != MG_ENOMEM) {
        r = load_named(l, config_setting_get_member(g, "channels"), "channel", &l->ch, &l->nch, file, errs);
        rc = rc ? rc : r;
    }
    if (r != MG_ENOMEM) {
        r = load_named(l, config_setting_get_member(g, "peers"), "peer", &l->peer, &l->npeer, file, errs);
        rc = rc ? rc : r;
    }
    /* x400 peers may carry their own `clearance` (config.c keeps it for us): loaded here, once */
    for (size_t i = 0; r != MG_ENOMEM && i < cfg->n_peers; i++) {
        const struct config_peer *p = &cfg->peers[i];
        int listed = 0;
        for (size_t k = 0; k < l->npeer && !listed; k++)
            listed = !strcmp(l->peer[k].name, p->name);
        if (!p->clearance || listed)
            continue;
        struct lsw_nclear *v = realloc(l->peer, (l->npeer + 1) * sizeof *v);
        if (!v) {
            r = MG_ENOMEM;
            break;
        }
        l->peer = v;
        struct lsw_nclear *e = &v[l->npeer];
        lbl_clearance_init(&e->c);
        struct lbl_err err = { "" };
        if (lsw_read_clearance(l->set, p->clearance, &e->c, &err)) {
            lbl_clearance_free(&e->c);
            config_errors_addf(errs, file, p->line, "peer '%s': clearance: %s", p->name, err.msg);
            rc = MG_ECONFIG;
            continue;
        }
        if (!(e->name = strdup(p->name))) {
            lbl_clearance_free(&e->c);
            r = MG_ENOMEM;
            break;
        }
        l->npeer++;
    }
    for (size_t i = 0; i < l->npeer; i++)
        if (!config_find_peer(cfg, l->peer[i].name)) {
            config_errors_addf(errs, file, sline(g), "labels: peers: no peer called '%s'", l->peer[i].name);
            rc = MG_ECONFIG;
        }
    for (size_t i = 0; i < l->nch; i++)
        if (!config_find_channel(cfg, l->ch[i].name)) {
            config_errors_addf(errs, file, sline(g), "labels: channels: no channel called '%s'", l->ch[i].name);
            rc = MG_ECONFIG;
        }
    if (r != MG_ENOMEM) {
        r = get_str(g, "cert_store", file, "labels", &l->cert_store, NULL, errs);
        rc = rc ? rc : r;
#ifndef MG_LSW_HAVE_CERTS
        if (l->cert_store) {
            config_errors_addf(errs, file, sline(config_setting_get_member(g, "cert_store")),
                               "labels: cert_store: this build has no crypto component");
            rc = MG_ECONFIG;
        }
#endif
    }
    const config_setting_t *lg = config_setting_get_member(g, "ldap");
    if (lg && r != MG_ENOMEM) {
        r = load_ldap(l, lg, file, errs);
        rc = rc ? rc : r;
    }
    const config_setting_t *sub = config_setting_get_member(g, "submission");
    for (int i = 0; sub && i < config_setting_length(sub) && r != MG_ENOMEM; i++) {
        r = load_submission(l, config_setting_get_elem(sub, (unsigned)i), file, errs);
        rc = rc ? rc : r;
        const struct lsw_extract *e = &l->ex[l->nex - 1];
        if (r != MG_ENOMEM && e->listener && !config_find_listener(cfg, e->listener)) {
            config_errors_addf(errs, file, e->line, "labels: submission: no listener called '%s'", e->listener);
            rc = MG_ECONFIG;
        }
    }
    if (r != MG_ENOMEM && l->gov) {
        r = lsw_route_load(l, cfg, errs);
        rc = rc ? rc : r;
    }
    if (r != MG_ENOMEM && l->gov) {
        r = load_report_label(l, g, file, errs);
        rc = rc ? rc : r;
    }
    if (r == MG_ENOMEM)
        rc = r;
    if (rc) {
        lsw_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void lsw_free(struct lsw *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nrc; i++) {
        free(l->rc[i].value);
        lbl_clearance_free(&l->rc[i].c);
    }
    free(l->rc);
    for (size_t i = 0; i < l->nch; i++) {
        free(l->ch[i].name);
        lbl_clearance_free(&l->ch[i].c);
    }
    free(l->ch);
    for (size_t i = 0; i < l->npeer; i++) {
        free(l->peer[i].name);
        lbl_clearance_free(&l->peer[i].c);
    }
    free(l->peer);
    for (size_t i = 0; i < l->nex; i++) {
        free(l->ex[i].listener);
        free(l->ex[i].incons_header);
        lsw_sources_free(&l->ex[i].s);
        lbl_label_free(&l->ex[i].default_label);
        for (size_t k = 0; k < l->ex[i].nclass_defaults; k++)
            lbl_label_free(&l->ex[i].class_defaults[k]);
        free(l->ex[i].class_defaults);
    }
    free(l->ex);
    free(l->cert_store);
    free(l->report_label);
    lsw_route_free(l);
    if (l->ldap) {
        free(l->ldap->uri);
        free(l->ldap->base);
        free(l->ldap->filter);
        free(l->ldap->attribute);
        free(l->ldap->bind_dn);
        free(l->ldap->password);
        free(l->ldap);
    }
    lbl_policy_set_free(l->set);
    free(l);
}

const struct lbl_policy_set *lsw_policies(const struct lsw *l) { return l->set; }
const struct lbl_policy *lsw_governing(const struct lsw *l) { return l->gov; }

int lsw_config_check(const struct config *cfg, struct config_errors *errs)
{
    struct lsw *l = NULL;
    int rc = lsw_load(cfg, &l, errs);
    if (rc == 0 && !l)
        rc = lsw_route_check_unconfigured(cfg, errs);
    lsw_free(l);
    return rc;
}

int lsw_label_encode(const struct lbl_label *l, const struct lbl_policy *p, unsigned char **out, size_t *len)
{
    struct lbl_err err = { "" };
    if (l->policy[0])
        return lbl_ess_encode(l, p, out, len, &err);
    return lbl_x411_encode(l, p, out, len, &err);
}

int lsw_label_from_text(const struct lsw *l, const char *text, unsigned char **der, size_t *len, char *err,
                        size_t errn)
{
    struct lbl_label lb;
    lbl_label_init(&lb);
    struct lbl_err e = { "" };
    int rc = lsw_read_label(l->set, text, &lb, &e);
    if (rc) {
        snprintf(err, errn, "%s", e.msg);
    } else {
        const struct lbl_policy *p = lbl_policy_set_find(l->set, lb.policy);
        rc = lsw_label_encode(&lb, p ? p : l->gov, der, len);
        if (rc)
            snprintf(err, errn, "the label cannot be encoded: %s", mg_strerror(rc));
    }
    lbl_label_free(&lb);
    return rc;
}

int lsw_label_decode(const void *der, size_t len, struct lbl_label *out, struct lbl_err *err)
{
    return lbl_decode(der, len, LBL_FMT_ESS, NULL, out, err); /* falls back to X.411 */
}
