/* metrics: the registry and its Prometheus text exposition (see metrics.h). A family's
 * series are behind the family's mutex: processing channels update them from the thread
 * pool while the loop thread renders. */
#include "metrics.h"

#include "mg_err.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double METRICS_LATENCY_BUCKETS[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
                                           60, 300, 900, 3600 };
const size_t METRICS_LATENCY_NBUCKETS = sizeof METRICS_LATENCY_BUCKETS / sizeof *METRICS_LATENCY_BUCKETS;

struct series {
    char **values;       /* owned: nlabels strings */
    double value;        /* counter, gauge; histogram: the sum */
    uint64_t count;      /* histogram */
    uint64_t *buckets;   /* owned: histogram, per bucket (not cumulative) */
};

struct metrics_family {
    char *name, *help;   /* owned */
    enum metrics_kind kind;
    char **labels;       /* owned */
    size_t nlabels;
    double *bounds;      /* owned: histogram bucket upper bounds */
    size_t nbounds;
    pthread_mutex_t mu;
    struct series **s;   /* owned */
    size_t n, cap;
};

struct metrics {
    pthread_mutex_t mu;  /* the family list */
    struct metrics_family **f; /* owned */
    size_t n, cap;
};

int metrics_create(struct metrics **out)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return MG_ENOMEM;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return 0;
}

static void series_free(struct series *s, size_t nlabels)
{
    if (!s)
        return;
    for (size_t i = 0; s->values && i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->buckets);
    free(s);
}

static void family_free(struct metrics_family *f)
{
    for (size_t i = 0; i < f->n; i++)
        series_free(f->s[i], f->nlabels);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->labels);
    free(f->s);
    free(f->bounds);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        family_free(m->f[i]);
    free(m->f);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static int name_ok(const char *s, int colon)
{
    if (!s || !*s || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (colon && *s == ':')))
            return 0;
    return 1;
}

static int family_check(const char *name, enum metrics_kind kind, const char *const *labels, size_t nlabels,
                        const double *b, size_t nb)
{
    size_t len = name ? strlen(name) : 0;
    if (!name_ok(name, 1) || (kind == METRICS_COUNTER && (len < 6 || strcmp(name + len - 6, "_total"))))
        return MG_EINVAL;
    for (size_t i = 0; i < nlabels; i++)
        if (!name_ok(labels[i], 0) || !strncmp(labels[i], "__", 2) || !strcmp(labels[i], "le"))
            return MG_EINVAL;
    for (size_t i = 1; i < nb; i++)
        if (!(b[i] > b[i - 1]))
            return MG_EINVAL;
    return 0;
}

int metrics_family(struct metrics *m, const char *name, const char *help, enum metrics_kind kind,
                   const char *const *label_names, size_t nlabels, const double *buckets,
                   size_t nbuckets, struct metrics_family **out)
{
    if (kind == METRICS_HISTOGRAM && !buckets) {
        buckets = METRICS_LATENCY_BUCKETS;
        nbuckets = METRICS_LATENCY_NBUCKETS;
    }
    if (kind != METRICS_HISTOGRAM)
        nbuckets = 0;
    int rc = family_check(name, kind, label_names, nlabels, buckets, nbuckets);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        struct metrics_family *f = m->f[i];
        if (strcmp(f->name, name))
            continue;
        int same = f->kind == kind && f->nlabels == nlabels;
        for (size_t k = 0; same && k < nlabels; k++)
            same = !strcmp(f->labels[k], label_names[k]);
        pthread_mutex_unlock(&m->mu);
        if (!same)
            return MG_EEXIST;
        *out = f;
        return 0;
    }
    rc = MG_ENOMEM;
    struct metrics_family *f = calloc(1, sizeof *f);
    if (!f)
        goto out;
    pthread_mutex_init(&f->mu, NULL);
    f->kind = kind;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->labels = calloc(nlabels ? nlabels : 1, sizeof *f->labels);
    f->bounds = calloc(nbuckets ? nbuckets : 1, sizeof *f->bounds);
    if (!f->name || !f->help || !f->labels || !f->bounds)
        goto fail;
    for (; f->nlabels < nlabels; f->nlabels++)
        if (!(f->labels[f->nlabels] = strdup(label_names[f->nlabels])))
            goto fail;
    if (nbuckets)
        memcpy(f->bounds, buckets, nbuckets * sizeof *buckets);
    f->nbounds = nbuckets;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        void *p = realloc(m->f, cap * sizeof *m->f);
        if (!p)
            goto fail;
        m->f = p;
        m->cap = cap;
    }
    m->f[m->n++] = f;
    *out = f;
    rc = 0;
    goto out;
fail:
    family_free(f);
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* With f->mu held. */
static struct series *series_get(struct metrics_family *f, const char *const *values)
{
    for (size_t i = 0; i < f->n; i++) {
        size_t k = 0;
        while (k < f->nlabels && !strcmp(f->s[i]->values[k], values[k] ? values[k] : ""))
            k++;
        if (k == f->nlabels)
            return f->s[i];
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        void *p = realloc(f->s, cap * sizeof *f->s);
        if (!p)
            return NULL;
        f->s = p;
        f->cap = cap;
    }
    struct series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->values = calloc(f->nlabels ? f->nlabels : 1, sizeof *s->values);
    s->buckets = calloc(f->nbounds ? f->nbounds : 1, sizeof *s->buckets);
    int ok = s->values && s->buckets;
    for (size_t k = 0; ok && k < f->nlabels; k++)
        ok = (s->values[k] = strdup(values[k] ? values[k] : "")) != NULL;
    if (!ok) {
        series_free(s, f->nlabels);
        return NULL;
    }
    f->s[f->n++] = s;
    return s;
}

static int update(struct metrics_family *f, const char *const *values, double v, enum metrics_kind kind)
{
    if (!f || f->kind != kind)
        return MG_EINVAL;
    pthread_mutex_lock(&f->mu);
    struct series *s = series_get(f, values);
    if (s) {
        if (kind == METRICS_COUNTER) {
            if (v > 0)
                s->value += v;
        } else if (kind == METRICS_GAUGE) {
            s->value = v;
        } else {
            s->value += v;
            s->count++;
            for (size_t i = 0; i < f->nbounds; i++)
                if (v <= f->bounds[i]) {
                    s->buckets[i]++;
                    break;
                }
        }
    }
    pthread_mutex_unlock(&f->mu);
    return s ? 0 : MG_ENOMEM;
}

int metrics_inc(struct metrics_family *f, const char *const *v, double d) { return update(f, v, d, METRICS_COUNTER); }
int metrics_set(struct metrics_family *f, const char *const *v, double d) { return update(f, v, d, METRICS_GAUGE); }
int metrics_observe(struct metrics_family *f, const char *const *v, double d) { return update(f, v, d, METRICS_HISTOGRAM); }

void metrics_clear(struct metrics_family *f)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++)
        series_free(f->s[i], f->nlabels);
    f->n = 0;
    pthread_mutex_unlock(&f->mu);
}

/* ---- exposition ----------------------------------------------------------------------- */

static int put_num(struct mg_buf *b, double v)
{
    if (isnan(v))
        return mg_buf_appendf(b, "NaN");
    if (isinf(v))
        return mg_buf_appendf(b, v > 0 ? "+Inf" : "-Inf");
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
        return mg_buf_appendf(b, "%.0f", v);
    return mg_buf_appendf(b, "%.17g", v);
}

/* Label values: backslash, double quote and line feed escaped. HELP: backslash and line feed. */
static int put_escaped(struct mg_buf *b, const char *s, int quotes)
{
    int rc = 0;
    for (; *s && !rc; s++) {
        if (*s == '\\')
            rc = mg_buf_append(b, "\\\\", 2);
        else if (*s == '\n')
            rc = mg_buf_append(b, "\\n", 2);
        else if (quotes && *s == '"')
            rc = mg_buf_append(b, "\\\"", 2);
        else
            rc = mg_buf_append(b, s, 1);
    }
    return rc;
}

static int put_labels(struct mg_buf *b, const struct metrics_family *f, const struct series *s, const char *le)
{
    if (!f->nlabels && !le)
        return 0;
    int rc = mg_buf_append(b, "{", 1);
    for (size_t k = 0; !rc && k < f->nlabels; k++) {
        rc = mg_buf_appendf(b, "%s%s=\"", k ? "," : "", f->labels[k]);
        rc = rc ? rc : put_escaped(b, s->values[k], 1);
        rc = rc ? rc : mg_buf_append(b, "\"", 1);
    }
    if (!rc && le)
        rc = mg_buf_appendf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    return rc ? rc : mg_buf_append(b, "}", 1);
}

static int render_family(struct metrics_family *f, struct mg_buf *b)
{
    static const char *const kinds[] = { "counter", "gauge", "histogram" };
    int rc = mg_buf_appendf(b, "# HELP %s ", f->name);
    rc = rc ? rc : put_escaped(b, f->help, 0);
    rc = rc ? rc : mg_buf_appendf(b, "\n# TYPE %s %s\n", f->name, kinds[f->kind]);
    for (size_t i = 0; !rc && i < f->n; i++) {
        const struct series *s = f->s[i];
        if (f->kind != METRICS_HISTOGRAM) {
            rc = mg_buf_appendf(b, "%s", f->name);
            rc = rc ? rc : put_labels(b, f, s, NULL);
            rc = rc ? rc : mg_buf_append(b, " ", 1);
            rc = rc ? rc : put_num(b, s->value);
            rc = rc ? rc : mg_buf_append(b, "\n", 1);
            continue;
        }
        uint64_t cum = 0;
        for (size_t k = 0; !rc && k <= f->nbounds; k++) {
            char le[64];
            if (k < f->nbounds) {
                cum += s->buckets[k];
                snprintf(le, sizeof le, "%.17g", f->bounds[k]);
            } else {
                cum = s->count;
                snprintf(le, sizeof le, "+Inf");
            }
            rc = mg_buf_appendf(b, "%s_bucket", f->name);
            rc = rc ? rc : put_labels(b, f, s, le);
            rc = rc ? rc : mg_buf_appendf(b, " %llu\n", (unsigned long long)cum);
        }
        rc = rc ? rc : mg_buf_appendf(b, "%s_sum", f->name);
        rc = rc ? rc : put_labels(b, f, s, NULL);
        rc = rc ? rc : mg_buf_append(b, " ", 1);
        rc = rc ? rc : put_num(b, s->value);
        rc = rc ? rc : mg_buf_appendf(b, "\n%s_count", f->name);
        rc = rc ? rc : put_labels(b, f, s, NULL);
        rc = rc ? rc : mg_buf_appendf(b, " %llu\n", (unsigned long long)s->count);
    }
    return rc;
}

int metrics_render(struct metrics *m, struct mg_buf *out)
{
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; !rc && i < m->n; i++) {
        pthread_mutex_lock(&m->f[i]->mu);
        rc = render_family(m->f[i], out);
        pthread_mutex_unlock(&m->f[i]->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* ---- the scrape request ------------------------------------------------------------------- */

static const char *find_head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n')
            return buf + i;
        if (i + 3 < len && buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
            return buf + i;
    }
    return NULL;
}

int metrics_http_parse(const char *buf, size_t len, char *path, size_t pathlen, int *head_only)
{
    *head_only = 0;
    if (pathlen)
        path[0] = 0;
    size_t n = len < METRICS_HTTP_MAX_HEAD ? len : METRICS_HTTP_MAX_HEAD;
    if (!find_head_end(buf, n))
        return len >= METRICS_HTTP_MAX_HEAD ? MG_ETOOBIG : MG_EINCOMPLETE;
    /* request-line = method SP request-target SP HTTP-version (RFC 9112 §3) */
    size_t eol = 0;
    while (eol < n && buf[eol] != '\r' && buf[eol] != '\n')
        eol++;
    size_t sp1 = 0;
    while (sp1 < eol && buf[sp1] != ' ')
        sp1++;
    if (sp1 == 0 || sp1 == eol)
        return MG_EPARSE;
    size_t sp2 = sp1 + 1;
    while (sp2 < eol && buf[sp2] != ' ')
        sp2++;
    if (sp2 == eol || sp2 == sp1 + 1 || buf[sp1 + 1] != '/')
        return MG_EPARSE;
    const char *ver = buf + sp2 + 1;
    size_t vlen = eol - sp2 - 1;
    if (vlen != 8 || memcmp(ver, "HTTP/1.", 7) || (ver[7] != '0' && ver[7] != '1'))
        return MG_EPARSE;
    for (size_t i = 0; i < sp1; i++)
        if (buf[i] < 'A' || buf[i] > 'Z')
            return MG_EPARSE;
    size_t plen = sp2 - sp1 - 1;
    for (size_t i = 0; i < plen; i++) {
        unsigned char c = (unsigned char)buf[sp1 + 1 + i];
        if (c <= 0x20 || c >= 0x7f)
            return MG_EPARSE;
        if (c == '?') {
            plen = i;
            break;
        }
    }
    if (plen + 1 > pathlen)
        return MG_ETOOBIG;
    memcpy(path, buf + sp1 + 1, plen);
    path[plen] = 0;
    if (sp1 == 4 && !memcmp(buf, "HEAD", 4)) {
        *head_only = 1;
        return 0;
    }
    if (sp1 == 3 && !memcmp(buf, "GET", 3))
        return 0;
    return MG_ENOTSUP;
}
