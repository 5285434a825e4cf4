/* mixgate audit: reads the audit store (every label decision and crypto action), newest
 * first, as key=value lines or one JSON array. Opens the database read-only, so it works while
 * the daemon writes it. Exit status: 0 records shown, 1 none matched, 2 usage or error. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_time.h"
#include "config.h"
#include "mg_err.h"
#include "mg_log.h"

const char cmd_audit_summary[] = "show audit records (label decisions, crypto actions)";

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mixgate audit [-c CONFIG | --db PATH] [--since T] [--until T] [--qid ID]\n"
        "                     [--decision D] [--rcpt ADDR] [--limit N] [--json]\n"
        "  -c CONFIG     read <var_dir>/audit.db of this configuration\n"
        "  --db PATH     read this audit database (default $MIXGATE_VAR/audit.db, ./var/audit.db)\n"
        "  --since T     records at or after T;  --until T  records before T\n"
        "                T: RFC 3339 (2026-12-07T10:00:00Z), a date (2026-12-07, UTC),\n"
        "                or relative to now (-90s, -15m, -1h, -2d, -1w), or now\n"
        "  --qid ID      one message;  --decision D  one decision (e.g. access-denied)\n"
        "  --rcpt ADDR   one recipient (case-insensitive)\n"
        "  --limit N     at most N records (newest first)\n"
        "  --json        one JSON array of objects (subject bytes in base64)\n"
        "exit status: 0 records shown, 1 no record matched, 2 usage or error\n");
}

struct out {
    int json;
    size_t n;
};

/* ---------------------------------------------------------------- formatting */

static void fmt_time(int64_t us, char *buf, size_t sz)
{
    time_t sec = (time_t)(us / 1000000);
    long frac = (long)(us % 1000000);
    if (frac < 0) {
        sec -= 1;
        frac += 1000000;
    }
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        snprintf(buf, sz, "%" PRId64 "us", us);
        return;
    }
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, sz, "%s.%06ldZ", base, frac);
}

static void put_kv(const char *key, const char *val, int last)
{
    /* the longest field is 2048 bytes; each byte may become a 4-byte escape */
    char q[4 * AUDIT_REASON_MAX + 8];
    printf("%s=%s%s", key, mg_log_quote(val, q, sizeof q), last ? "\n" : " ");
}

static void print_line(const struct audit_entry *e)
{
    char t[64];
    fmt_time(e->r.time_us, t, sizeof t);
    printf("time=%s seq=%" PRId64 " ", t, e->seq);
    put_kv("qid", e->r.qid, 0);
    put_kv("rcpt", e->r.rcpt, 0);
    put_kv("channel", e->r.channel, 0);
    put_kv("decision", e->r.decision, 0);
    put_kv("reason", e->r.reason, 0);
    put_kv("subject_kind", e->r.subject_kind, 0);
    printf("subject_len=%zu ", e->r.subject_len);
    put_kv("summary", e->r.summary, 1);
}

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2, min = 0x80, cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, min = 0x800, cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A JSON string. Bytes that are not UTF-8 are written as the code point of the same value
 * (\u00XX), so the output is always valid JSON whatever a channel put in a reason. */
static void put_json_str(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    putchar('"');
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t l = utf8_len(p + i, n - i);
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c < 0x20 || c == 0x7f || l == 0) {
            printf("\\u%04x", c);
            l = 1;
        } else {
            fwrite(p + i, 1, l, stdout);
        }
        i += l;
    }
    putchar('"');
}

static void put_base64(const unsigned char *d, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    putchar('"');
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        putchar(tab[(v >> 18) & 63]);
        putchar(tab[(v >> 12) & 63]);
        putchar(i + 1 < n ? tab[(v >> 6) & 63] : '=');
        putchar(i + 2 < n ? tab[v & 63] : '=');
    }
    putchar('"');
}

static void print_json(const struct audit_entry *e, int first)
{
    char t[64];
    fmt_time(e->r.time_us, t, sizeof t);
    printf("%s  {\"seq\": %" PRId64 ", \"time\": \"%s\", \"time_us\": %" PRId64,
           first ? "[\n" : ",\n", e->seq, t, e->r.time_us);
    static const char *const keys[] = { "qid", "rcpt", "channel", "decision", "reason",
                                        "subject_kind", "summary" };
    const char *vals[] = { e->r.qid, e->r.rcpt, e->r.channel, e->r.decision, e->r.reason,
                           e->r.subject_kind, e->r.summary };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        printf(", \"%s\": ", keys[i]);
        put_json_str(vals[i]);
    }
    printf(", \"subject\": ");
    if (e->r.subject)
        put_base64(e->r.subject, e->r.subject_len);
    else
        printf("null");
    putchar('}');
}

static int on_entry(void *arg, const struct audit_entry *e)
{
    struct out *o = arg;
    if (o->json)
        print_json(e, o->n == 0);
    else
        print_line(e);
    o->n++;
    return 0;
}

/* ---------------------------------------------------------------- arguments */

static int bad(const char *what, const char *arg)
{
    fprintf(stderr, "mixgate audit: %s%s%s (mixgate audit --help)\n", what, arg ? ": " : "",
            arg ? arg : "");
    return 2;
}

static int is_token(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > AUDIT_DECISION_MAX)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* The database: --db, <var_dir>/audit.db of -c, or $MIXGATE_VAR/audit.db. */
static int db_path(const char *db, const char *conf, char *buf, size_t sz)
{
    int n;
    if (db) {
        n = snprintf(buf, sz, "%s", db);
    } else if (conf) {
        struct config *cfg = NULL;
        struct config_errors errs = { 0 };
        int rc = config_load(conf, &cfg, &errs);
        /* the configuration's own file:line messages are the reason; one line of ours only
         * when it gave none */
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].text);
        if (rc != 0 && errs.n == 0)
            fprintf(stderr, "mixgate audit: cannot use %s: %s\n", conf, mg_strerror(rc));
        config_errors_free(&errs);
        if (rc != 0)
            return 2;
        n = snprintf(buf, sz, "%s/audit.db", cfg->global.var_dir);
        config_free(cfg);
    } else {
        const char *var = getenv("MIXGATE_VAR");
        n = snprintf(buf, sz, "%s/audit.db", var && *var ? var : "./var");
    }
    if (n < 0 || (size_t)n >= sz)
        return bad("database path too long", NULL);
    return 0;
}

static int64_t real_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int cmd_audit_main(int argc, char **argv)
{
    const char *db = NULL, *conf = NULL, *since = NULL, *until = NULL;
    struct audit_filter f = { 0 };
    struct out o = { 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            o.json = 1;
            continue;
        }
        static const char *const with_value[] = { "-c", "--db", "--since", "--until", "--qid",
                                                  "--decision", "--rcpt", "--limit" };
        size_t k = 0;
        while (k < sizeof with_value / sizeof with_value[0] && strcmp(a, with_value[k]))
            k++;
        if (k == sizeof with_value / sizeof with_value[0])
            return bad(a[0] == '-' ? "unknown option" : "unexpected argument", a);
        if (i + 1 >= argc)
            return bad("option needs a value", a);
        const char *v = argv[++i];
        const char **slot[] = { &conf, &db, &since, &until, &f.qid, &f.decision, &f.rcpt, NULL };
        if (slot[k] && *slot[k])
            return bad("option given twice", a);
        if (slot[k]) {
            *slot[k] = v;
            continue;
        }
        char *end = NULL;
        unsigned long long lim = strtoull(v, &end, 10);
        if (f.limit || v[0] < '0' || v[0] > '9' || *end || lim == 0 || lim > 1000000000ULL)
            return bad("--limit wants a number from 1 to 1000000000", v);
        f.limit = (size_t)lim;
    }
    if (db && conf)
        return bad("-c and --db exclude each other", NULL);
    if (f.decision && !is_token(f.decision))
        return bad("--decision is a token of [a-z0-9-]", f.decision);
    int64_t now = real_now_us();
    if (since && audit_time_parse(since, now, &f.since_us) != 0)
        return bad("--since: not a time (RFC 3339, a date, or -1h style)", since);
    if (until && audit_time_parse(until, now, &f.until_us) != 0)
        return bad("--until: not a time (RFC 3339, a date, or -1h style)", until);
    /* 0 means "no bound" in the filter. --since at the epoch is no bound anyway (record
     * times are never negative); --until at the epoch must still match nothing. */
    if (until && f.until_us == 0)
        f.until_us = INT64_MIN + 1;
    if (since && until && f.since_us >= f.until_us)
        return bad("--since is not before --until", NULL);

    /* the store logs its warnings for the daemon; here the one line below says it all */
    mg_log_set_level(MG_LOG_ERROR);
    char path[4096];
    int rc = db_path(db, conf, path, sizeof path);
    if (rc != 0)
        return rc;
    rc = audit_query_path(path, &f, on_entry, &o);
    if (rc != 0) {
        fprintf(stderr, "mixgate audit: cannot read %s: %s\n", path,
                rc == MG_ENOTFOUND ? "no such file" : rc == MG_EDB ? "not an audit database"
                                                                   : mg_strerror(rc));
        return 2;
    }
    if (o.json)
        printf(o.n ? "\n]\n" : "[]\n");
    return o.n ? 0 : 1;
}
