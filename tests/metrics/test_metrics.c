/* Tests of mta/metrics.c: registration rules, the text exposition (escaping, histogram
 * buckets cumulative with +Inf, _sum and _count), updates from several threads, and the
 * scrape request parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "mg_err.h"

static char *render(struct metrics *m, struct mg_buf *b)
{
    memset(b, 0, sizeof *b);
    assert_int_equal(metrics_render(m, b), 0);
    return b->data ? (char *)b->data : "";
}

struct reg_case {
    const char *name;
    enum metrics_kind kind;
    const char *label;
    int rc;
};

static void t_registration_rules(void **state)
{
    (void)state;
    static const struct reg_case cases[] = {
        { "mixgate_x_total", METRICS_COUNTER, "channel", 0 },
        { "mixgate_x", METRICS_COUNTER, "channel", MG_EINVAL },      /* counter without _total */
        { "9mixgate", METRICS_GAUGE, "channel", MG_EINVAL },
        { "mixgate-x", METRICS_GAUGE, "channel", MG_EINVAL },
        { "mixgate_g", METRICS_GAUGE, "__reserved", MG_EINVAL },
        { "mixgate_h", METRICS_HISTOGRAM, "le", MG_EINVAL },
        { "mixgate_h", METRICS_HISTOGRAM, "bad-label", MG_EINVAL },
        { "mixgate:rule_g", METRICS_GAUGE, "peer", 0 },
    };
    struct metrics *m;
    assert_int_equal(metrics_create(&m), 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct metrics_family *f = NULL;
        const char *labels[] = { cases[i].label };
        int rc = metrics_family(m, cases[i].name, "h", cases[i].kind, labels, 1, NULL, 0, &f);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): rc %d, want %d", i, cases[i].name, rc, cases[i].rc);
    }
    /* the same family again is the same one; a different shape under the name is refused */
    struct metrics_family *a, *b;
    const char *l1[] = { "channel" }, *l2[] = { "peer" };
    assert_int_equal(metrics_family(m, "mixgate_x_total", "h", METRICS_COUNTER, l1, 1, NULL, 0, &a), 0);
    assert_int_equal(metrics_family(m, "mixgate_x_total", "other help", METRICS_COUNTER, l1, 1, NULL, 0, &b), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(metrics_family(m, "mixgate_x_total", "h", METRICS_COUNTER, l2, 1, NULL, 0, &b), MG_EEXIST);
    assert_int_equal(metrics_family(m, "mixgate_x_total", "h", METRICS_GAUGE, l1, 1, NULL, 0, &b), MG_EEXIST);
    /* a gauge update on a counter family is refused */
    assert_int_equal(metrics_set(a, (const char *[]){ "x" }, 1), MG_EINVAL);
    metrics_free(m);
}

static void t_exposition(void **state)
{
    (void)state;
    struct metrics *m;
    assert_int_equal(metrics_create(&m), 0);
    struct metrics_family *c, *g, *h;
    const char *cl[] = { "channel", "peer" };
    assert_int_equal(metrics_family(m, "mixgate_delivered_total", "Recipients delivered.\nby channel \\ peer",
                                    METRICS_COUNTER, cl, 2, NULL, 0, &c), 0);
    assert_int_equal(metrics_family(m, "mixgate_queue_messages", "Messages queued.", METRICS_GAUGE,
                                    (const char *[]){ "state" }, 1, NULL, 0, &g), 0);
    static const double bk[] = { 0.1, 1, 10 };
    assert_int_equal(metrics_family(m, "mixgate_latency_seconds", "Latency.", METRICS_HISTOGRAM, NULL, 0, bk, 3, &h), 0);
    assert_int_equal(metrics_inc(c, (const char *[]){ "smtp-out", "a\"b\\c\nd" }, 2), 0);
    assert_int_equal(metrics_inc(c, (const char *[]){ "smtp-out", "a\"b\\c\nd" }, 1), 0);
    assert_int_equal(metrics_inc(c, (const char *[]){ "smtp-out", "a\"b\\c\nd" }, -5), 0); /* ignored */
    assert_int_equal(metrics_set(g, (const char *[]){ "held" }, 4), 0);
    assert_int_equal(metrics_set(g, (const char *[]){ "held" }, 2.5), 0);
    assert_int_equal(metrics_observe(h, NULL, 0.05), 0);
    assert_int_equal(metrics_observe(h, NULL, 0.5), 0);
    assert_int_equal(metrics_observe(h, NULL, 0.5), 0);
    assert_int_equal(metrics_observe(h, NULL, 99), 0);
    struct mg_buf b;
    const char *want =
        "# HELP mixgate_delivered_total Recipients delivered.\\nby channel \\\\ peer\n"
        "# TYPE mixgate_delivered_total counter\n"
        "mixgate_delivered_total{channel=\"smtp-out\",peer=\"a\\\"b\\\\c\\nd\"} 3\n"
        "# HELP mixgate_queue_messages Messages queued.\n"
        "# TYPE mixgate_queue_messages gauge\n"
        "mixgate_queue_messages{state=\"held\"} 2.5\n"
        "# HELP mixgate_latency_seconds Latency.\n"
        "# TYPE mixgate_latency_seconds histogram\n"
        "mixgate_latency_seconds_bucket{le=\"0.10000000000000001\"} 1\n"
        "mixgate_latency_seconds_bucket{le=\"1\"} 3\n"
        "mixgate_latency_seconds_bucket{le=\"10\"} 3\n"
        "mixgate_latency_seconds_bucket{le=\"+Inf\"} 4\n"
        "mixgate_latency_seconds_sum 100.05\n"
        "mixgate_latency_seconds_count 4\n";
    assert_string_equal(render(m, &b), want);
    free(b.data);
    metrics_clear(g);
    assert_null(strstr(render(m, &b), "state=\"held\""));
    free(b.data);
    metrics_free(m);
}

struct thr { struct metrics_family *f; int id; };

static void *bump(void *arg)
{
    struct thr *t = arg;
    const char *v[] = { t->id % 2 ? "odd" : "even" };
    for (int i = 0; i < 10000; i++)
        metrics_inc(t->f, v, 1);
    return NULL;
}

static void t_threads(void **state)
{
    (void)state;
    struct metrics *m;
    assert_int_equal(metrics_create(&m), 0);
    struct metrics_family *f;
    assert_int_equal(metrics_family(m, "mixgate_ops_total", "Ops.", METRICS_COUNTER,
                                    (const char *[]){ "kind" }, 1, NULL, 0, &f), 0);
    pthread_t th[4];
    struct thr a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct thr){ f, i };
        pthread_create(&th[i], NULL, bump, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    struct mg_buf b;
    char *out = render(m, &b);
    assert_non_null(strstr(out, "mixgate_ops_total{kind=\"even\"} 20000\n"));
    assert_non_null(strstr(out, "mixgate_ops_total{kind=\"odd\"} 20000\n"));
    free(b.data);
    metrics_free(m);
}

struct http_case {
    const char *name, *in;
    int rc;
    const char *path;
    int head;
};

static void t_http_parse(void **state)
{
    (void)state;
    static const struct http_case cases[] = {
        { "get", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 0, "/metrics", 0 },
        { "query dropped", "GET /metrics?name[]=x HTTP/1.0\r\n\r\n", 0, "/metrics", 0 },
        { "bare lf", "GET / HTTP/1.1\n\n", 0, "/", 0 },
        { "head", "HEAD /metrics HTTP/1.1\r\n\r\n", 0, "/metrics", 1 },
        { "incomplete", "GET /metrics HTTP/1.1\r\nHost: x\r\n", MG_EINCOMPLETE, "", 0 },
        { "post", "POST /metrics HTTP/1.1\r\n\r\n", MG_ENOTSUP, "/metrics", 0 },
        { "no version", "GET /metrics\r\n\r\n", MG_EPARSE, "", 0 },
        { "http 2", "GET /metrics HTTP/2.0\r\n\r\n", MG_EPARSE, "", 0 },
        { "absolute form", "GET http://x/metrics HTTP/1.1\r\n\r\n", MG_EPARSE, "", 0 },
        { "lowercase method", "get /metrics HTTP/1.1\r\n\r\n", MG_EPARSE, "", 0 },
        { "control byte in path", "GET /me\x01trics HTTP/1.1\r\n\r\n", MG_EPARSE, "", 0 },
        { "double space", "GET  /metrics HTTP/1.1\r\n\r\n", MG_EPARSE, "", 0 },
        { "empty", "\r\n\r\n", MG_EPARSE, "", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[64];
        int head = -1;
        int rc = metrics_http_parse(cases[i].in, strlen(cases[i].in), path, sizeof path, &head);
        if (rc != cases[i].rc || (rc == 0 && (strcmp(path, cases[i].path) || head != cases[i].head)))
            fail_msg("case %s: rc %d path '%s' head %d", cases[i].name, rc, path, head);
    }
    /* a head that never ends is too big, not incomplete for ever; a path over the buffer too */
    char big[METRICS_HTTP_MAX_HEAD + 10];
    memset(big, 'a', sizeof big);
    char path[8];
    int head;
    assert_int_equal(metrics_http_parse(big, sizeof big, path, sizeof path, &head), MG_ETOOBIG);
    const char *longp = "GET /metrics/long HTTP/1.1\r\n\r\n";
    assert_int_equal(metrics_http_parse(longp, strlen(longp), path, sizeof path, &head), MG_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_registration_rules),
        cmocka_unit_test(t_exposition),
        cmocka_unit_test(t_threads),
        cmocka_unit_test(t_http_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
