/* config_get: the loader's toolkit (see config_get.h). */
#define _GNU_SOURCE /* asprintf, vasprintf, strndup */
#include "config_get.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mg_hostport.h"

/* ---- error list ---------------------------------------------------------------------- */

int config_errors_addf(struct config_errors *errs, const char *file, int line, const char *fmt, ...)
{
    if (!errs)
        return 0;
    if (errs->n == errs->cap) {
        size_t ncap = errs->cap ? errs->cap * 2 : 8;
        struct config_error *nv = realloc(errs->v, ncap * sizeof *nv);
        if (!nv)
            return MG_ENOMEM;
        errs->v = nv;
        errs->cap = ncap;
    }
    struct config_error *e = &errs->v[errs->n];
    memset(e, 0, sizeof *e);
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&e->message, fmt, ap);
    va_end(ap);
    if (n < 0) {
        e->message = NULL;
        return MG_ENOMEM;
    }
    const char *f = file ? file : "(config)";
    e->file = strdup(f);
    if (line > 0)
        n = asprintf(&e->text, "%s:%d: %s", f, line, e->message);
    else
        n = asprintf(&e->text, "%s: %s", f, e->message);
    if (n < 0)
        e->text = NULL;
    if (!e->file || !e->text) {
        free(e->file);
        free(e->text);
        free(e->message);
        return MG_ENOMEM;
    }
    e->line = line;
    errs->n++;
    return 0;
}

void config_errors_free(struct config_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->n; i++) {
        free(errs->v[i].file);
        free(errs->v[i].message);
        free(errs->v[i].text);
    }
    free(errs->v);
    memset(errs, 0, sizeof *errs);
}

/* ---- notations ----------------------------------------------------------------------- */

/* Digits only, no sign, no overflow past max. */
static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0)
        return MG_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return MG_EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return MG_ETOOBIG;
        v = v * 10 + d;
    }
    if (v > max)
        return MG_ETOOBIG;
    *out = v;
    return 0;
}

static int scaled(const char *s, uint64_t max, uint64_t *out, uint64_t (*unit)(char))
{
    if (!s || !*s)
        return MG_EINVAL;
    size_t n = strlen(s);
    uint64_t mult = 1;
    if (s[n - 1] < '0' || s[n - 1] > '9') {
        mult = unit(s[n - 1]);
        if (!mult)
            return MG_EINVAL;
        n--;
    }
    uint64_t v;
    int rc = parse_u64(s, n, UINT64_MAX, &v);
    if (rc)
        return rc;
    if (mult > 1 && v > max / mult)
        return MG_ETOOBIG;
    if (v * mult > max)
        return MG_ETOOBIG;
    *out = v * mult;
    return 0;
}

static uint64_t duration_unit(char c)
{
    switch (c) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    default: return 0;
    }
}

static uint64_t size_unit(char c)
{
    switch (c) {
    case 'k': case 'K': return 1024;
    case 'm': case 'M': return 1024 * 1024;
    case 'g': case 'G': return 1024 * 1024 * 1024;
    default: return 0;
    }
}

int config_parse_duration(const char *s, uint64_t max, uint64_t *out)
{
    return scaled(s, max, out, duration_unit);
}

int config_parse_size(const char *s, uint64_t max, uint64_t *out)
{
    return scaled(s, max, out, size_unit);
}

/* Returns 0, MG_EINVAL, or HOST_BITS (a network address with bits set past the prefix). */

int config_get_cidr_parse(const char *s, struct config_cidr *out)
{
    if (!s || !out)
        return MG_EINVAL;
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof addr)
        return MG_EINVAL;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    struct config_cidr c;
    memset(&c, 0, sizeof c);
    unsigned maxbits;
    if (inet_pton(AF_INET, addr, c.addr) == 1) {
        c.family = AF_INET;
        maxbits = 32;
    } else if (inet_pton(AF_INET6, addr, c.addr) == 1) {
        c.family = AF_INET6;
        maxbits = 128;
    } else {
        return MG_EINVAL;
    }
    c.prefix = maxbits;
    if (slash) {
        uint64_t p;
        if (strlen(slash + 1) > 3 || parse_u64(slash + 1, strlen(slash + 1), maxbits, &p))
            return MG_EINVAL;
        c.prefix = (unsigned)p;
    }
    /* Host bits set usually means a typo in the prefix length; say so rather than guess. */
    for (unsigned bit = c.prefix; bit < maxbits; bit++)
        if (c.addr[bit / 8] & (0x80u >> (bit % 8)))
            return HOST_BITS;
    *out = c;
    return 0;
}

int config_parse_cidr(const char *s, struct config_cidr *out)
{
    return config_get_cidr_parse(s, out) ? MG_EINVAL : 0;
}

/* ---- the loader ---------------------------------------------------------------------- */


bool config_get_line_is_bad(const struct loader *L, int line)
{
    for (size_t i = 0; i < L->n_bad; i++)
        if (L->bad_lines[i] == line)
            return true;
    return false;
}

void config_get_err(struct loader *L, int line, const char *fmt, ...)
{
    if (line > 0 && config_get_line_is_bad(L, line))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (config_errors_addf(&L->errs, L->file, line, "%s", msg))
        L->oom = true;
}

int config_get_line(const config_setting_t *s)
{
    return s ? (int)config_setting_source_line(s) : 0;
}

char *config_get_strdup(struct loader *L, const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        L->oom = true;
    return d;
}

void *config_get_calloc(struct loader *L, size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        L->oom = true;
    return p;
}

/* Edit distance, to suggest the intended key for a typo (short strings only). */
unsigned config_get_edit_distance(const char *a, const char *b)
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
            unsigned best = diag + (a[i - 1] != b[j - 1]);
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

bool config_get_in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (!strcmp(*list, s))
            return true;
    return false;
}

/* Every member of grp must be in keys (members in `skip` are reported by the caller);
 * what = "in listener 'smtp'" etc. */
void config_get_check_keys_skip(struct loader *L, const config_setting_t *grp, const char *const *keys,
                            const char *const *skip, const char *kind, const char *what)
{
    int n = config_setting_length(grp);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
        const char *name = config_setting_name(m);
        if (!name || config_get_in_list(keys, name) || (skip && config_get_in_list(skip, name)))
            continue;
        const char *best = NULL;
        unsigned bestd = 3;
        for (const char *const *k = keys; *k; k++) {
            unsigned d = config_get_edit_distance(name, *k);
            if (d < bestd) {
                bestd = d;
                best = *k;
            }
        }
        if (best)
            config_get_err(L, config_get_line(m), "unknown %s '%s' %s (did you mean '%s'?)", kind, name, what, best);
        else
            config_get_err(L, config_get_line(m), "unknown %s '%s' %s", kind, name, what);
    }
}

void config_get_check_keys(struct loader *L, const config_setting_t *grp, const char *const *keys,
                       const char *kind, const char *what)
{
    config_get_check_keys_skip(L, grp, keys, NULL, kind, what);
}

void config_get_check_keys_except(struct loader *L, const config_setting_t *grp,
                              const char *const *keys, const char *const *skip, const char *what)
{
    config_get_check_keys_skip(L, grp, keys, skip, "key", what);
}

const char *config_get_type_word(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT: case CONFIG_TYPE_INT64: return "a number";
    case CONFIG_TYPE_FLOAT: return "a decimal number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "something else";
    }
}

/* Getters: 1 = present and valid, 0 = absent, -1 = present but wrong (error reported). */

int config_get_str(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                   const char **out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        config_get_err(L, config_get_line(s), "%s: '%s' must be a string, not %s", what, key, config_get_type_word(s));
        return -1;
    }
    *out = config_setting_get_string(s);
    return 1;
}

/* A non-empty string, duplicated into *out. */
int config_get_dup(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                   char **out)
{
    const char *v;
    int r = config_get_str(L, g, key, what, &v);
    if (r <= 0)
        return r;
    if (!*v) {
        config_get_err(L, config_get_line(config_setting_get_member(g, key)), "%s: '%s' must not be empty", what, key);
        return -1;
    }
    free(*out);
    *out = config_get_strdup(L, v);
    return 1;
}

int config_get_bool(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                    bool *out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        config_get_err(L, config_get_line(s), "%s: '%s' must be true or false, not %s", what, key, config_get_type_word(s));
        return -1;
    }
    *out = config_setting_get_bool(s) != 0;
    return 1;
}

int config_get_uint(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                    uint64_t min, uint64_t max, uint32_t *out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
        config_get_err(L, config_get_line(s), "%s: '%s' must be a whole number, not %s", what, key, config_get_type_word(s));
        return -1;
    }
    long long v = config_setting_get_int64(s);
    if (v < 0 || (uint64_t)v < min || (uint64_t)v > max) {
        config_get_err(L, config_get_line(s), "%s: '%s' = %lld is out of range (%" PRIu64 "..%" PRIu64 ")", what, key,
             v, min, max);
        return -1;
    }
    *out = (uint32_t)v;
    return 1;
}


int config_get_scaled(struct loader *L, const config_setting_t *g, const char *key,
                      const char *what, uint64_t min, uint64_t max, uint64_t *out, scaled_fn fn,
                      const char *kind, const char *example)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    uint64_t v;
    if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
        long long iv = config_setting_get_int64(s);
        if (iv < 0) {
            config_get_err(L, config_get_line(s), "%s: '%s' must not be negative", what, key);
            return -1;
        }
        v = (uint64_t)iv;
    } else if (t == CONFIG_TYPE_STRING) {
        const char *str = config_setting_get_string(s);
        int rc = fn(str, UINT64_MAX, &v);
        if (rc == MG_ETOOBIG) {
            v = UINT64_MAX;
        } else if (rc) {
            config_get_err(L, config_get_line(s), "%s: '%s' = \"%s\" is not a %s (%s)", what, key, str, kind, example);
            return -1;
        }
    } else {
        config_get_err(L, config_get_line(s), "%s: '%s' must be a %s (%s), not %s", what, key, kind, example,
             config_get_type_word(s));
        return -1;
    }
    if (v < min || v > max) {
        config_get_err(L, config_get_line(s), "%s: '%s' is out of range (%" PRIu64 "..%" PRIu64 ")", what, key, min, max);
        return -1;
    }
    *out = v;
    return 1;
}

int config_get_dur(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                   uint64_t min, uint64_t max, uint32_t *out)
{
    uint64_t v;
    int r = config_get_scaled(L, g, key, what, min, max, &v, config_parse_duration, "duration",
                       "seconds, or \"30s\", \"5m\", \"4h\", \"5d\"");
    if (r > 0)
        *out = (uint32_t)v;
    return r;
}

int config_get_size(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                    uint64_t min, uint64_t max, uint64_t *out)
{
    return config_get_scaled(L, g, key, what, min, max, out, config_parse_size, "size",
                      "bytes, or \"512k\", \"50M\", \"1G\"");
}

int config_get_enum(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                    const char *const *names, int *out)
{
    const char *v;
    int r = config_get_str(L, g, key, what, &v);
    if (r <= 0)
        return r;
    for (int i = 0; names[i]; i++) {
        if (!strcmp(names[i], v)) {
            *out = i;
            return 1;
        }
    }
    char allowed[256] = "";
    for (int i = 0; names[i]; i++) {
        if (i)
            strncat(allowed, ", ", sizeof allowed - strlen(allowed) - 1);
        strncat(allowed, names[i], sizeof allowed - strlen(allowed) - 1);
    }
    config_get_err(L, config_get_line(config_setting_get_member(g, key)), "%s: '%s' = \"%s\" is not one of: %s", what,
         key, v, allowed);
    return -1;
}

/* A list or array of strings; returns the setting (1), or 0 absent, -1 wrong. */
int config_get_strlist(struct loader *L, const config_setting_t *g, const char *key,
                       const char *what, const config_setting_t **out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
        config_get_err(L, config_get_line(s), "%s: '%s' must be a list of strings [ \"...\", ... ], not %s", what, key,
             config_get_type_word(s));
        return -1;
    }
    int n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            config_get_err(L, config_get_line(e) ? config_get_line(e) : config_get_line(s), "%s: '%s' must be a list of strings, element %d is %s",
                 what, key, i + 1, config_get_type_word(e));
            return -1;
        }
    }
    *out = s;
    return 1;
}

bool config_get_valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* Checks a domain (letters, digits, '-', '_', UTF-8 bytes; labels of 1..63) and returns it
 * lower-cased. dot_prefix: a leading '.' is allowed (meaning "subdomains of"). A final '.'
 * (absolute form) is dropped. NULL when invalid (or out of memory: L->oom). */
char *config_get_norm_domain(struct loader *L, const char *s, bool dot_prefix)
{
    size_t n = strlen(s);
    size_t start = 0;
    if (dot_prefix && n > 0 && s[0] == '.')
        start = 1;
    if (n > start && s[n - 1] == '.')
        n--;
    if (n <= start || n - start > DOMAIN_MAX_LEN)
        return NULL;
    size_t label = 0;
    for (size_t i = start; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (label == 0)
                return NULL;
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-' && c != '_' && c < 0x80)
            return NULL;
        if (++label > 63)
            return NULL;
    }
    if (label == 0)
        return NULL;
    char *d = malloc(n + 1);
    if (!d) {
        L->oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = (char)tolower((unsigned char)s[i]);
    d[n] = '\0';
    return d;
}

/* "host:port", "[v6]:port", "[v6]", "host", or a bare IPv6 address. *host is allocated. */
int config_get_split_hostport(const char *s, char **host, uint16_t *port, bool *has_port)
{
    /* The one host:port notation of the project (util/mg_hostport: the same rules for
     * listeners, peers and the SMTP client). */
    struct mg_hostport hp;
    if (mg_hostport_parse(s, 0, &hp) != 0)
        return hp.err && !strncmp(hp.err, "port ", 5) ? BAD_PORT : MG_EINVAL;
    *has_port = hp.has_port != 0;
    if (hp.has_port)
        *port = (uint16_t)hp.port;
    if (!hp.host[0] || strlen(hp.host) > DOMAIN_MAX_LEN)
        return MG_EINVAL;
    *host = strdup(hp.host);
    return *host ? 0 : MG_ENOMEM;
}


/* ---- names written in the file (the loader reads them, the dump writes them) ---------- */

const char *const config_log_names[] = { "stderr", "syslog", NULL };
const char *const config_level_names[] = { "debug", "info", "warn", "error", NULL };
const enum mg_log_level config_level_values[] = { MG_LOG_DEBUG, MG_LOG_INFO, MG_LOG_WARN, MG_LOG_ERROR };
const char *const config_protocol_names[] = { "smtp", "p1", NULL };
const char *const config_peer_type_names[] = { "smtp", "x400", NULL };
const char *const config_starttls_names[] = { "none", "opportunistic", "required", NULL };
const char *const config_dialogue_names[] = { "monologue", "two-way-alternate", NULL };

/* An OSI selector key ("text", 'hex'H or #decimal). */
void config_get_sel(struct loader *L, const config_setting_t *g, const char *key,
                     const char *what, struct config_sel *out)
{
    const char *v;
    if (config_get_str(L, g, key, what, &v) > 0 && config_parse_sel(v, out) != 0)
        config_get_err(L, config_get_line(config_setting_get_member(g, key)),
             "%s: '%s' = \"%s\" is not a selector (\"text\", 'hex'H or #number, at most %d "
             "octets)", what, key, v, CONFIG_SEL_MAX);
}

