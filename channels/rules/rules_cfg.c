/* rules_cfg: the libconfig getters of the rules compiler. Each reports a problem as
 * file:line through config_errors_addf, in the loader's words ("must be a string, not a
 * number", "unknown key 'x' (did you mean 'y'?)"), and says whether the key was present. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "rules_int.h"

void rules_cfg_err(struct rules_cfg *c, const config_setting_t *s, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->bad = true;
    int line = s ? (int)config_setting_source_line(s) : 0;
    if (config_errors_addf(c->errs, c->file, line, "%s", buf) == MG_ENOMEM)
        c->oom = true;
}

char *rules_cfg_dup(struct rules_cfg *c, const char *s)
{
    char *p = strdup(s);
    if (!p)
        c->oom = true;
    return p;
}

void rules_cfg_lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Edit distance for did-you-mean (short strings only). */
static unsigned distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    unsigned row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned best =
                diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *rules_cfg_suggest(const char *name, const char *const *known)
{
    const char *best = NULL;
    unsigned bestd = 3;
    for (; *known; known++) {
        unsigned d = distance(name, *known);
        if (d < bestd) {
            bestd = d;
            best = *known;
        }
    }
    return best;
}

int rules_cfg_find_word(const char *s, const char *const *words)
{
    for (int i = 0; words[i]; i++)
        if (!strcasecmp(s, words[i]))
            return i;
    return -1;
}

void rules_cfg_check_keys(struct rules_cfg *c, const config_setting_t *grp, const char *const *keys,
                          const char *what)
{
    int n = config_setting_length(grp);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
        const char *name = config_setting_name(m);
        if (!name || rules_cfg_find_word(name, keys) >= 0)
            continue;
        const char *best = rules_cfg_suggest(name, keys);
        if (best)
            rules_cfg_err(c, m, "unknown key '%s' %s (did you mean '%s'?)", name, what, best);
        else
            rules_cfg_err(c, m, "unknown key '%s' %s", name, what);
    }
}

const char *rules_cfg_type_word(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "a number";
    case CONFIG_TYPE_FLOAT: return "a decimal number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "something else";
    }
}

/* ---- getters: 1 = present and valid, 0 = absent, -1 = wrong (reported) ---------------- */

int rules_cfg_get_str(struct rules_cfg *c, const config_setting_t *g, const char *key,
                      const char **out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        rules_cfg_err(c, s, "rule '%s': '%s' must be a string, not %s", c->rule, key,
                      rules_cfg_type_word(s));
        return -1;
    }
    *out = config_setting_get_string(s);
    if (strlen(*out) > RULES_MAX_STRING) {
        rules_cfg_err(c, s, "rule '%s': '%s' is longer than %d bytes", c->rule, key,
                      RULES_MAX_STRING);
        return -1;
    }
    return 1;
}

int rules_cfg_get_bool(struct rules_cfg *c, const config_setting_t *g, const char *key, int *out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        rules_cfg_err(c, s, "rule '%s': '%s' must be true or false", c->rule, key);
        return -1;
    }
    *out = config_setting_get_bool(s) ? 1 : 0;
    return 1;
}

int rules_cfg_get_int(struct rules_cfg *c, const config_setting_t *g, const char *key, int64_t lo,
                      int64_t hi, int64_t *out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
        rules_cfg_err(c, s, "rule '%s': '%s' must be a number, not %s", c->rule, key,
                      rules_cfg_type_word(s));
        return -1;
    }
    long long v = config_setting_get_int64(s);
    if (v < lo || v > hi) {
        rules_cfg_err(c, s, "rule '%s': '%s' = %lld is out of range (%lld..%lld)", c->rule, key, v,
                      (long long)lo, (long long)hi);
        return -1;
    }
    *out = v;
    return 1;
}

/* A size: a number of bytes or a string with k, M, G (config_parse_size). */
int rules_cfg_get_size(struct rules_cfg *c, const config_setting_t *g, const char *key,
                       int64_t *out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        uint64_t v = 0;
        if (config_parse_size(config_setting_get_string(s), (uint64_t)INT64_MAX, &v) != 0) {
            rules_cfg_err(c, s, "rule '%s': '%s' = \"%s\" is not a size", c->rule, key,
                          config_setting_get_string(s));
            return -1;
        }
        *out = (int64_t)v;
        return 1;
    }
    return rules_cfg_get_int(c, g, key, 0, INT64_MAX, out);
}

/* A string or an array/list of strings; *out points into the tree (n entries, owned array). */
int rules_cfg_get_strs(struct rules_cfg *c, const config_setting_t *g, const char *key,
                       const char ***out, size_t *n, const config_setting_t **where)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    *out = NULL;
    *n = 0;
    if (!s)
        return 0;
    *where = s;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_STRING) {
        *out = malloc(sizeof **out);
        if (!*out) {
            c->oom = true;
            return -1;
        }
        (*out)[0] = config_setting_get_string(s);
        *n = 1;
    } else if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
        int len = config_setting_length(s);
        if (len == 0) {
            rules_cfg_err(c, s, "rule '%s': '%s' is empty", c->rule, key);
            return -1;
        }
        if (len > RULES_MAX_VALUES) {
            rules_cfg_err(c, s, "rule '%s': '%s' has more than %d entries", c->rule, key,
                          RULES_MAX_VALUES);
            return -1;
        }
        *out = calloc((size_t)len, sizeof **out);
        if (!*out) {
            c->oom = true;
            return -1;
        }
        for (int i = 0; i < len; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                rules_cfg_err(c, e, "rule '%s': '%s' must hold strings, not %s", c->rule, key,
                              rules_cfg_type_word(e));
                free(*out);
                *out = NULL;
                return -1;
            }
            (*out)[i] = config_setting_get_string(e);
        }
        *n = (size_t)len;
    } else {
        rules_cfg_err(c, s, "rule '%s': '%s' must be a string or a list of strings, not %s",
                      c->rule, key, rules_cfg_type_word(s));
        return -1;
    }
    for (size_t i = 0; i < *n; i++)
        if (strlen((*out)[i]) > RULES_MAX_STRING) {
            rules_cfg_err(c, s, "rule '%s': a value of '%s' is longer than %d bytes", c->rule, key,
                          RULES_MAX_STRING);
            free(*out);
            *out = NULL;
            *n = 0;
            return -1;
        }
    return 1;
}

bool rules_cfg_has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}
