/* rules_compile: a `rules` channel's libconfig group -> an immutable struct rules.
 *
 * Every problem is reported (not only the first) as file:line through config_errors_addf, in
 * the style of the configuration loader: unknown keys with a did-you-mean, wrong types, bad
 * regular expressions (regerror's text), impossible ranges, and actions that contradict each
 * other. A rule set with any error is not built at all: half a policy is worse than none. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "rules_int.h"

/* ---- conditions ------------------------------------------------------------------------ */

static const char *const addr_suffix[] = { "", "_domain", "_suffix", "_glob", "_regex", NULL };

static int compile_regex(struct rules_cfg *c, const config_setting_t *where, const char *key,
                         const char *pat, regex_t *re)
{
    /* glibc accepts \1..\9 in extended expressions too; matching with back-references can
     * take exponential time on a hostile header, so they are refused. */
    for (const char *p = pat; *p; p++) {
        if (*p == '\\' && p[1] >= '1' && p[1] <= '9') {
            rules_cfg_err(c, where,
                          "rule '%s': '%s' = \"%s\": back-references (\\%c) are not allowed "
                          "(matching time must stay bounded)",
                          c->rule, key, pat, p[1]);
            return -1;
        }
        if (*p == '\\' && p[1])
            p++;
    }
    int rc = regcomp(re, pat, REG_EXTENDED | REG_ICASE | REG_NOSUB);
    if (rc != 0) {
        char msg[256];
        regerror(rc, re, msg, sizeof msg);
        rules_cfg_err(c, where, "rule '%s': '%s' = \"%s\" is not a valid regular expression: %s",
                      c->rule, key, pat, msg);
        return -1;
    }
    return 0;
}

static int count_stars(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '*';
    return n;
}

static void addr_cond_free(struct rules_addr_cond *a)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->values)
            free(a->values[i]);
        if (a->re)
            regfree(&a->re[i]);
    }
    free(a->values);
    free(a->re);
}

static void compile_addr(struct rules_cfg *c, const config_setting_t *g, struct rules_rule *r)
{
    for (int who = 0; who < 2; who++) {
        for (int k = 0; addr_suffix[k]; k++) {
            char key[40];
            snprintf(key, sizeof key, "%s%s", who ? "recipient" : "originator", addr_suffix[k]);
            const char **vals = NULL;
            size_t n = 0;
            const config_setting_t *where = NULL;
            if (rules_cfg_get_strs(c, g, key, &vals, &n, &where) <= 0)
                continue;
            struct rules_addr_cond *a = &r->addr[r->n_addr];
            *a = (struct rules_addr_cond){ .recipient = who == 1, .kind = (enum rules_addr_kind)k };
            a->values = calloc(n, sizeof *a->values);
            if (k == RULES_ADDR_REGEX)
                a->re = calloc(n, sizeof *a->re);
            if (!a->values || (k == RULES_ADDR_REGEX && !a->re)) {
                c->oom = true;
                free(a->values);
                free(a->re);
                free(vals);
                continue;
            }
            r->n_addr++;
            for (size_t i = 0; i < n; i++) {
                const char *v = vals[i];
                if (k == RULES_ADDR_REGEX) {
                    if (compile_regex(c, where, key, v, &a->re[a->n]) != 0)
                        continue;
                } else if (k != RULES_ADDR_EXACT && (!*v || rules_cfg_has_ctl(v))) {
                    rules_cfg_err(c, where, "rule '%s': '%s' must not be empty", c->rule, key);
                    continue;
                } else if (k == RULES_ADDR_GLOB && count_stars(v) > RULES_MAX_GLOB_STARS) {
                    /* fnmatch backtracks over every '*': keep its time on a long address small */
                    rules_cfg_err(c, where, "rule '%s': '%s' = \"%s\" has more than %d '*'",
                                  c->rule, key, v, RULES_MAX_GLOB_STARS);
                    continue;
                } else if ((k == RULES_ADDR_DOMAIN || k == RULES_ADDR_SUFFIX) && strchr(v, '@')) {
                    rules_cfg_err(c, where,
                                  "rule '%s': '%s' = \"%s\" is a domain: write it without '@'",
                                  c->rule, key, v);
                    continue;
                } else if (k == RULES_ADDR_EXACT && *v && !strchr(v, '@') && v[0] != '/') {
                    rules_cfg_err(c, where,
                                  "rule '%s': '%s' = \"%s\" is not an address (for a domain use "
                                  "'%s_domain')",
                                  c->rule, key, v, who ? "recipient" : "originator");
                    continue;
                }
                char *d = rules_cfg_dup(c, v);
                if (!d) {
                    if (k == RULES_ADDR_REGEX)
                        regfree(&a->re[a->n]);
                    continue;
                }
                if (k != RULES_ADDR_GLOB && k != RULES_ADDR_REGEX)
                    rules_cfg_lower(d);
                a->values[a->n++] = d;
            }
            free(vals);
        }
    }
}

static void compile_header_cond(struct rules_cfg *c, const config_setting_t *s,
                                struct rules_rule *r)
{
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        rules_cfg_err(c, s,
                      "rule '%s': 'header' must be a group { name = \"...\"; regex = \"...\"; } "
                      "or a list of them, not %s",
                      c->rule, rules_cfg_type_word(s));
        return;
    }
    static const char *const keys[] = { "name", "regex", NULL };
    char what[200];
    snprintf(what, sizeof what, "in a header condition of rule '%s'", c->rule);
    rules_cfg_check_keys(c, s, keys, what);
    const char *name = NULL, *pat = NULL;
    int hn = rules_cfg_get_str(c, s, "name", &name), hr = rules_cfg_get_str(c, s, "regex", &pat);
    if (hn == 0)
        rules_cfg_err(c, s, "rule '%s': a header condition needs 'name'", c->rule);
    if (hr == 0)
        rules_cfg_err(c, s, "rule '%s': a header condition needs 'regex' (\"^\" matches any value)",
                      c->rule);
    if (hn != 1 || hr != 1)
        return;
    if (!*name || strchr(name, ':') || strpbrk(name, " \t") || rules_cfg_has_ctl(name)) {
        rules_cfg_err(c, s, "rule '%s': \"%s\" is not a header field name", c->rule, name);
        return;
    }
    struct rules_hdr_cond *h = &r->hdr[r->n_hdr];
    if (compile_regex(c, s, "regex", pat, &h->re) != 0)
        return;
    h->name = rules_cfg_dup(c, name);
    if (!h->name) {
        regfree(&h->re);
        return;
    }
    r->n_hdr++;
}

static void compile_range(struct rules_cfg *c, const config_setting_t *g, const char *base,
                          int64_t lo, int64_t hi, bool size, struct rules_range *out)
{
    char kmin[40], kmax[40];
    snprintf(kmin, sizeof kmin, "%s_min", base);
    snprintf(kmax, sizeof kmax, "%s_max", base);
    int64_t v = 0, vmin = 0, vmax = 0;
    int eq = size ? 0 : rules_cfg_get_int(c, g, base, lo, hi, &v);
    int mn =
        size ? rules_cfg_get_size(c, g, kmin, &vmin) : rules_cfg_get_int(c, g, kmin, lo, hi, &vmin);
    int mx =
        size ? rules_cfg_get_size(c, g, kmax, &vmax) : rules_cfg_get_int(c, g, kmax, lo, hi, &vmax);
    if (eq == 1 && (mn != 0 || mx != 0)) {
        rules_cfg_err(c, config_setting_get_member(g, base),
                      "rule '%s': '%s' conflicts with '%s' / '%s' (use one or the other)", c->rule,
                      base, kmin, kmax);
        return;
    }
    if (eq == 1)
        *out = (struct rules_range){ true, true, v, v };
    if (mn == 1) {
        out->has_min = true;
        out->min = vmin;
    }
    if (mx == 1) {
        out->has_max = true;
        out->max = vmax;
    }
    if (mn == 1 && mx == 1 && vmin > vmax)
        rules_cfg_err(c, config_setting_get_member(g, kmin), "rule '%s': '%s' is greater than '%s'",
                      c->rule, kmin, kmax);
}

static const char *const sens_words[] = { "personal", "private", "company-confidential", NULL };
static const char *const imp_words[] = { "low", "normal", "high", NULL };

static unsigned compile_words(struct rules_cfg *c, const config_setting_t *g, const char *key,
                              const char *const *words)
{
    const char **vals = NULL;
    size_t n = 0;
    const config_setting_t *where = NULL;
    if (rules_cfg_get_strs(c, g, key, &vals, &n, &where) <= 0)
        return 0;
    unsigned mask = 0;
    for (size_t i = 0; i < n; i++) {
        int w = rules_cfg_find_word(vals[i], words);
        if (w >= 0) {
            mask |= 1u << w;
            continue;
        }
        const char *best = rules_cfg_suggest(vals[i], words);
        char list[100] = "";
        for (int j = 0; words[j]; j++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "",
                     words[j]);
        if (best)
            rules_cfg_err(c, where,
                          "rule '%s': '%s' = \"%s\" is not one of: %s (did you mean '%s'?)",
                          c->rule, key, vals[i], list, best);
        else
            rules_cfg_err(c, where, "rule '%s': '%s' = \"%s\" is not one of: %s", c->rule, key,
                          vals[i], list);
    }
    free(vals);
    return mask;
}

/* ---- actions --------------------------------------------------------------------------- */

static const char *const action_words[] = { "continue", "return", "hold", "discard", NULL };

/* "550 5.7.1": a 4xx/5xx reply code and an RFC 3463 status of the same class. */
static bool parse_status(const char *s, int *code, char *status, size_t size)
{
    if (!(s[0] == '4' || s[0] == '5') || !isdigit((unsigned char)s[1]) ||
        !isdigit((unsigned char)s[2]) || s[3] != ' ')
        return false;
    const char *p = s + 4;
    if (p[0] != s[0] || p[1] != '.')
        return false;
    size_t i = 2, digits = 0;
    for (; isdigit((unsigned char)p[i]); i++)
        digits++;
    if (digits < 1 || digits > 3 || p[i] != '.')
        return false;
    i++;
    digits = 0;
    for (; isdigit((unsigned char)p[i]); i++)
        digits++;
    if (digits < 1 || digits > 3 || p[i] != '\0' || i >= size)
        return false;
    *code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    memcpy(status, p, i + 1);
    return true;
}

static bool mime_structure_field(const char *name)
{
    return !strcasecmp(name, "content-type") || !strcasecmp(name, "content-transfer-encoding") ||
           !strcasecmp(name, "mime-version");
}

static bool field_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 200)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126 || s[i] == ':')
            return false;
    return true;
}

static void check_tmpl(struct rules_cfg *c, const config_setting_t *where, const char *key,
                       const char *t)
{
    char msg[200];
    if (rules_tmpl_check(t, msg, sizeof msg) != 0)
        rules_cfg_err(c, where, "rule '%s': '%s': %s", c->rule, key, msg);
    else if (strchr(t, '\r') || strchr(t, '\n'))
        rules_cfg_err(c, where, "rule '%s': '%s' must be one line", c->rule, key);
}

static void compile_edits(struct rules_cfg *c, const config_setting_t *g, struct rules_rule *r)
{
    static const char *const keys[] = { "add_header", "replace_header", "remove_header" };
    for (int k = 0; k < 3; k++) {
        const char **vals = NULL;
        size_t n = 0;
        const config_setting_t *where = NULL;
        if (rules_cfg_get_strs(c, g, keys[k], &vals, &n, &where) <= 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            const char *v = vals[i];
            const char *colon = k == 2 ? v + strlen(v) : strchr(v, ':');
            if (!colon) {
                rules_cfg_err(c, where, "rule '%s': '%s' = \"%s\" must be \"Name: value\"", c->rule,
                              keys[k], v);
                continue;
            }
            size_t nl = (size_t)(colon - v);
            if (!field_name_ok(v, nl)) {
                rules_cfg_err(c, where,
                              "rule '%s': '%s' = \"%s\": \"%.*s\" is not a header field name",
                              c->rule, keys[k], v, (int)(nl > 60 ? 60 : nl), v);
                continue;
            }
            struct rules_edit_tmpl *e = &r->edits[r->n_edits];
            e->op = (enum rules_edit_op)k;
            e->name = strndup(v, nl);
            if (!e->name) {
                c->oom = true;
                continue;
            }
            if (mime_structure_field(e->name)) {
                rules_cfg_err(c, where,
                              "rule '%s': '%s' must not change %s (the body depends on it)",
                              c->rule, keys[k], e->name);
                free(e->name);
                continue;
            }
            if (k != 2) {
                const char *val = colon + 1;
                while (*val == ' ' || *val == '\t')
                    val++;
                check_tmpl(c, where, keys[k], val);
                e->value = rules_cfg_dup(c, val);
                if (!e->value) {
                    free(e->name);
                    continue;
                }
            }
            r->n_edits++;
        }
        free(vals);
    }
    /* One rule adding and removing (or replacing) the same field says two things at once. */
    for (size_t i = 0; i < r->n_edits; i++)
        for (size_t j = i + 1; j < r->n_edits; j++)
            if (r->edits[i].op != r->edits[j].op && !strcasecmp(r->edits[i].name, r->edits[j].name))
                rules_cfg_err(c, g, "rule '%s': conflicting edits of header '%s' (%s and %s)",
                              c->rule, r->edits[i].name, keys[r->edits[i].op],
                              keys[r->edits[j].op]);
}

static char **dup_addrs(struct rules_cfg *c, const char *key, const char **vals, size_t n,
                        const config_setting_t *where, size_t *out_n)
{
    char **v = calloc(n, sizeof *v);
    *out_n = 0;
    if (!v) {
        c->oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!*vals[i] || rules_cfg_has_ctl(vals[i]) || strpbrk(vals[i], " <>")) {
            rules_cfg_err(c, where, "rule '%s': '%s' = \"%s\" is not an address", c->rule, key,
                          vals[i]);
            continue;
        }
        if (!(v[*out_n] = rules_cfg_dup(c, vals[i])))
            continue;
        (*out_n)++;
    }
    return v;
}

static const char *const rule_keys[] = { "name",
                                         "originator",
                                         "originator_domain",
                                         "originator_suffix",
                                         "originator_glob",
                                         "originator_regex",
                                         "recipient",
                                         "recipient_domain",
                                         "recipient_suffix",
                                         "recipient_glob",
                                         "recipient_regex",
                                         "header",
                                         "size_min",
                                         "size_max",
                                         "has_attachments",
                                         "priority",
                                         "priority_min",
                                         "priority_max",
                                         "sensitivity",
                                         "importance",
                                         "signed",
                                         "encrypted",
                                         "classification",
                                         "classification_min",
                                         "classification_max",
                                         "action",
                                         "status",
                                         "text",
                                         "reason",
                                         "discard",
                                         "add_header",
                                         "replace_header",
                                         "remove_header",
                                         "copy",
                                         "notify",
                                         "notify_text",
                                         NULL };

static void compile_actions(struct rules_cfg *c, const config_setting_t *g, struct rules_rule *r)
{
    const char *a = NULL;
    const config_setting_t *as = config_setting_get_member(g, "action");
    if (rules_cfg_get_str(c, g, "action", &a) == 1) {
        int w = rules_cfg_find_word(a, action_words);
        if (w < 0) {
            const char *best = rules_cfg_suggest(a, action_words);
            rules_cfg_err(c, as,
                          "rule '%s': 'action' = \"%s\" is not one of: continue, return, hold, "
                          "discard%s%s%s",
                          c->rule, a, best ? " (did you mean '" : "", best ? best : "",
                          best ? "'?)" : "");
        } else {
            r->action = (enum rules_action)w;
        }
    }
    const char *status = NULL, *text = NULL, *reason = NULL, *ntext = NULL;
    int discard = -1;
    int hs = rules_cfg_get_str(c, g, "status", &status);
    int ht = rules_cfg_get_str(c, g, "text", &text);
    int hr = rules_cfg_get_str(c, g, "reason", &reason);
    int hd = rules_cfg_get_bool(c, g, "discard", &discard);
    int hn = rules_cfg_get_str(c, g, "notify_text", &ntext);
    const config_setting_t *where = NULL;

    if (r->action == RULES_RETURN) {
        if (hs == 0)
            rules_cfg_err(c, as, "rule '%s': action \"return\" needs 'status', e.g. \"550 5.7.1\"",
                          c->rule);
        else if (hs == 1 && !parse_status(status, &r->status_code, r->status, sizeof r->status))
            rules_cfg_err(
                c, config_setting_get_member(g, "status"),
                "rule '%s': 'status' = \"%s\" is not a 4xx or 5xx reply code with an RFC 3463 "
                "status of the same class, e.g. \"550 5.7.1\"",
                c->rule, status);
        if (ht == 1) {
            check_tmpl(c, config_setting_get_member(g, "text"), "text", text);
            r->text = rules_cfg_dup(c, text);
        }
    } else {
        if (hs != 0)
            rules_cfg_err(c, config_setting_get_member(g, "status"),
                          "rule '%s': 'status' is only for action \"return\"", c->rule);
        if (ht != 0)
            rules_cfg_err(c, config_setting_get_member(g, "text"),
                          "rule '%s': 'text' is only for action \"return\"", c->rule);
    }
    if (r->action == RULES_HOLD) {
        if (hr == 0)
            rules_cfg_err(c, as, "rule '%s': action \"hold\" needs 'reason'", c->rule);
        if (hr == 1) {
            if (!*reason)
                rules_cfg_err(c, config_setting_get_member(g, "reason"),
                              "rule '%s': 'reason' is empty", c->rule);
            check_tmpl(c, config_setting_get_member(g, "reason"), "reason", reason);
            r->reason = rules_cfg_dup(c, reason);
        }
    } else if (hr != 0) {
        rules_cfg_err(c, config_setting_get_member(g, "reason"),
                      "rule '%s': 'reason' is only for action \"hold\"", c->rule);
    }
    if (r->action == RULES_DISCARD) {
        if (hd == 0 || (hd == 1 && !discard))
            rules_cfg_err(c, as,
                          "rule '%s': action \"discard\" drops mail silently and needs an "
                          "explicit 'discard = true' in the rule",
                          c->rule);
    } else if (hd != 0) {
        rules_cfg_err(c, config_setting_get_member(g, "discard"),
                      "rule '%s': 'discard' is only for action \"discard\" (the action is \"%s\")",
                      c->rule, rules_action_name(r->action));
    }

    compile_edits(c, g, r);
    const char **vals = NULL;
    size_t n = 0;
    if (rules_cfg_get_strs(c, g, "copy", &vals, &n, &where) == 1) {
        r->copy = dup_addrs(c, "copy", vals, n, where, &r->n_copy);
        free(vals);
    }
    if (rules_cfg_get_strs(c, g, "notify", &vals, &n, &where) == 1) {
        r->notify = dup_addrs(c, "notify", vals, n, where, &r->n_notify);
        free(vals);
    }
    if (hn == 1) {
        if (!config_setting_get_member(g, "notify"))
            rules_cfg_err(c, config_setting_get_member(g, "notify_text"),
                          "rule '%s': 'notify_text' without 'notify'", c->rule);
        check_tmpl(c, config_setting_get_member(g, "notify_text"), "notify_text", ntext);
        r->notify_text = rules_cfg_dup(c, ntext);
    }
    /* Header edits and copies travel with the message; a terminal action ends its way. */
    if (r->action != RULES_CONTINUE) {
        static const char *const along[] = { "add_header", "replace_header", "remove_header",
                                             "copy", NULL };
        for (const char *const *k = along; *k; k++) {
            const config_setting_t *s = config_setting_get_member(g, *k);
            if (s)
                rules_cfg_err(c, s,
                              "rule '%s': '%s' conflicts with action \"%s\" (the message does not "
                              "go on; only 'notify' combines with it)",
                              c->rule, *k, rules_action_name(r->action));
        }
    }
}

static void rule_free(struct rules_rule *r)
{
    free(r->name);
    for (size_t i = 0; i < r->n_addr; i++)
        addr_cond_free(&r->addr[i]);
    free(r->addr);
    for (size_t i = 0; i < r->n_hdr; i++) {
        free(r->hdr[i].name);
        regfree(&r->hdr[i].re);
    }
    free(r->hdr);
    free(r->text);
    free(r->reason);
    for (size_t i = 0; i < r->n_edits; i++) {
        free(r->edits[i].name);
        free(r->edits[i].value);
    }
    free(r->edits);
    for (size_t i = 0; i < r->n_copy; i++)
        free(r->copy[i]);
    free(r->copy);
    for (size_t i = 0; i < r->n_notify; i++)
        free(r->notify[i]);
    free(r->notify);
    free(r->notify_text);
}

static size_t count_strs(const config_setting_t *g, const char *key)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
        int n = config_setting_length(s);
        return n > RULES_MAX_VALUES ? 0 : (size_t)n;
    }
    return 1;
}

static void compile_rule(struct rules_cfg *c, const config_setting_t *g, size_t index,
                         struct rules_rule *r)
{
    char fallback[40];
    snprintf(fallback, sizeof fallback, "#%zu", index + 1);
    c->rule = fallback;
    r->line = (int)config_setting_source_line(g);
    r->has_attachments = r->is_signed = r->is_encrypted = -1;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        rules_cfg_err(c, g, "rule %s must be a group { name = \"...\"; ... }, not %s", fallback,
                      rules_cfg_type_word(g));
        return;
    }
    const char *name = NULL;
    int hn = rules_cfg_get_str(c, g, "name", &name);
    if (hn == 1 && (!*name || rules_cfg_has_ctl(name))) {
        rules_cfg_err(c, config_setting_get_member(g, "name"),
                      "rule %s: 'name' must be a printable, "
                      "non-empty string",
                      fallback);
        hn = -1;
    } else if (hn == 0) {
        rules_cfg_err(c, g, "rule %s has no 'name' (alerts, holds and the audit log name the rule)",
                      fallback);
    }
    r->name = rules_cfg_dup(c, hn == 1 ? name : fallback);
    if (!r->name)
        return;
    c->rule = r->name;
    char what[300];
    snprintf(what, sizeof what, "in rule '%s'", r->name);
    rules_cfg_check_keys(c, g, rule_keys, what);

    r->addr = calloc(10, sizeof *r->addr);
    const config_setting_t *hs = config_setting_get_member(g, "header");
    size_t nh =
        hs && config_setting_type(hs) == CONFIG_TYPE_LIST ? (size_t)config_setting_length(hs) : 1;
    r->hdr = calloc(nh ? nh : 1, sizeof *r->hdr);
    size_t ne = count_strs(g, "add_header") + count_strs(g, "replace_header") +
                count_strs(g, "remove_header");
    r->edits = calloc(ne ? ne : 1, sizeof *r->edits);
    if (!r->addr || !r->hdr || !r->edits) {
        c->oom = true;
        return;
    }
    compile_addr(c, g, r);
    if (hs && config_setting_type(hs) == CONFIG_TYPE_LIST) {
        if (nh == 0)
            rules_cfg_err(c, hs, "rule '%s': 'header' is an empty list", r->name);
        else if (nh > RULES_MAX_VALUES)
            rules_cfg_err(c, hs, "rule '%s': more than %d header conditions", r->name,
                          RULES_MAX_VALUES);
        else
            for (size_t i = 0; i < nh; i++)
                compile_header_cond(c, config_setting_get_elem(hs, (unsigned)i), r);
    } else if (hs) {
        compile_header_cond(c, hs, r);
    }
    compile_range(c, g, "size", 0, INT64_MAX, true, &r->size);
    compile_range(c, g, "priority", 0, 5, false, &r->priority);
    compile_range(c, g, "classification", -1, 255, false, &r->classification);
    rules_cfg_get_bool(c, g, "has_attachments", &r->has_attachments);
    rules_cfg_get_bool(c, g, "signed", &r->is_signed);
    rules_cfg_get_bool(c, g, "encrypted", &r->is_encrypted);
    r->sensitivity = compile_words(c, g, "sensitivity", sens_words);
    r->importance = compile_words(c, g, "importance", imp_words);
    compile_actions(c, g, r);
}

int rules_compile(const config_setting_t *channel_group, const char *file,
                  struct config_errors *errs, struct rules **out)
{
    if (!out)
        return MG_EINVAL;
    *out = NULL;
    if (!channel_group)
        return MG_EINVAL;
    struct rules_cfg c = { .file = file ? file : "?", .errs = errs };
    const char *chname = NULL;
    config_setting_lookup_string(channel_group, "name", &chname);
    if (!chname)
        chname = "?";
    if (config_setting_type(channel_group) != CONFIG_TYPE_GROUP) {
        rules_cfg_err(&c, channel_group, "a rules channel must be a group");
        return MG_ECONFIG;
    }
    static const char *const chan_keys[] = { "name", "type", "rules", NULL };
    char what[300];
    snprintf(what, sizeof what, "in channel '%s'", chname);
    rules_cfg_check_keys(&c, channel_group, chan_keys, what);

    struct rules *rs = calloc(1, sizeof *rs);
    if (!rs)
        return MG_ENOMEM;
    const config_setting_t *list = config_setting_get_member(channel_group, "rules");
    if (!list) {
        rules_cfg_err(&c, channel_group, "channel '%s' of type rules has no 'rules' list", chname);
    } else if (config_setting_type(list) != CONFIG_TYPE_LIST) {
        rules_cfg_err(&c, list, "channel '%s': 'rules' must be a list ( { ... }, { ... } ), not %s",
                      chname, rules_cfg_type_word(list));
    } else if (config_setting_length(list) > RULES_MAX_RULES) {
        rules_cfg_err(&c, list, "channel '%s': more than %d rules", chname, RULES_MAX_RULES);
    } else {
        size_t n = (size_t)config_setting_length(list);
        rs->v = calloc(n ? n : 1, sizeof *rs->v);
        if (!rs->v)
            c.oom = true;
        for (size_t i = 0; rs->v && i < n && !c.oom; i++) {
            compile_rule(&c, config_setting_get_elem(list, (unsigned)i), i, &rs->v[i]);
            rs->n++;
            for (size_t j = 0; j < i; j++)
                if (rs->v[i].name && rs->v[j].name && !strcmp(rs->v[i].name, rs->v[j].name) &&
                    rs->v[i].name[0] != '#') {
                    rules_cfg_err(
                        &c, config_setting_get_elem(list, (unsigned)i),
                        "channel '%s': a second rule named '%s' (the first is at line %d)", chname,
                        rs->v[i].name, rs->v[j].line);
                    break;
                }
        }
    }
    if (c.oom || c.bad) {
        rules_free(rs);
        return c.oom ? MG_ENOMEM : MG_ECONFIG;
    }
    *out = rs;
    return 0;
}

void rules_free(struct rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        rule_free(&r->v[i]);
    free(r->v);
    free(r);
}

size_t rules_count(const struct rules *r)
{
    return r ? r->n : 0;
}

const char *rules_name(const struct rules *r, size_t index)
{
    return r && index < r->n ? r->v[index].name : NULL;
}

const char *rules_action_name(enum rules_action a)
{
    switch (a) {
    case RULES_CONTINUE: return "continue";
    case RULES_RETURN: return "return";
    case RULES_HOLD: return "hold";
    case RULES_DISCARD: return "discard";
    }
    return "?";
}
