/* test_qmgr: the queue manager against a real queue store and a scripted transport.
 * The transport answers by recipient local part: ok* -> 250, tmp* -> 451, bad* -> 550. */
#include "config.h"
#include "message.h"
#include "mg_err.h"
#include "qmgr.h"
#include "queue_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define MAXLOG 64

struct fx {
    char dir[256];
    uv_loop_t loop;
    uv_timer_t tick;
    struct config *cfg;
    struct queue_store *store;
    struct qmgr *q;
    /* what the transport saw */
    char order[MAXLOG][64];          /* first recipient of each delivery */
    int prio[MAXLOG];
    size_t ndel;
    int dsn_seen;                    /* a multipart/report went through the transport */
    int submitted;
};

#define CONF_FMT \
    "global = { hostname = \"qmgr.test\"; var_dir = \"%s\"; };\n" \
    "queue = { retry_min = 60; retry_max = 3600; max_lifetime = %d; delay_warning = 0;" \
    " max_active_deliveries = %d; };\n" \
    "listeners = ( { name = \"smtp\"; protocol = \"smtp\"; listen = \"127.0.0.1:2525\";" \
    " relay_networks = [ \"127.0.0.0/8\" ]; } );\n" \
    "channels = ( { name = \"local\"; type = \"file\"; directory = \"%s/deliver\"; },\n" \
    "             { name = \"enc\"; type = \"cms\"; } );\n" \
    "routes = ( { domain = \"cms.example\"; chain = [ \"enc\", \"local\" ]; },\n" \
    "           { default = true; chain = [ \"local\" ]; } );\n"

static void fake_deliver(void *arg, struct qmgr_delivery *d)
{
    struct fx *f = arg;
    if (f->ndel < MAXLOG) {
        snprintf(f->order[f->ndel], sizeof f->order[0], "%s", d->msg->rcpts[d->rcpts[0]].addr);
        f->prio[f->ndel] = d->msg->priority;
    }
    f->ndel++;
    if (d->content && strstr((const char *)d->content, "multipart/report"))
        f->dsn_seen++;
    for (size_t i = 0; i < d->nrcpts; i++) {
        const char *a = d->msg->rcpts[d->rcpts[i]].addr;
        if (!strncmp(a, "ok", 2))
            qmgr_delivery_set(d, i, 250, "2.0.0", "stored", "fake");
        else if (!strncmp(a, "tmp", 3))
            qmgr_delivery_set(d, i, 451, "4.2.0", "mailbox busy", "fake");
        else
            qmgr_delivery_set(d, i, 550, "5.1.1", "no such user", "fake");
    }
    qmgr_delivery_done(d);
}

static void on_tick(uv_timer_t *t) { (void)t; }

static void fx_open(struct fx *f, int lifetime, int max_active)
{
    char text[2048];
    snprintf(text, sizeof text, CONF_FMT, f->dir, lifetime, max_active, f->dir);
    struct config_errors errs = { 0 };
    int rc = config_load_text("qmgr-test.conf", text, strlen(text), NULL, NULL, &f->cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.v[i].text);
    config_errors_free(&errs);
    assert_int_equal(rc, 0);
    uv_loop_init(&f->loop);
    uv_timer_init(&f->loop, &f->tick);
    uv_timer_start(&f->tick, on_tick, 5, 5);   /* keeps uv_run(ONCE) from blocking */
    char db[300];
    snprintf(db, sizeof db, "%s/queue.db", f->dir);
    assert_int_equal(queue_store_open(&f->store, &f->loop, db, NULL), 0);
    assert_int_equal(qmgr_create(&f->q, &f->loop, f->store, f->cfg), 0);
    struct qmgr_transport t = { .deliver = fake_deliver, .arg = f };
    qmgr_set_transport(f->q, CONFIG_CHANNEL_FILE, &t);
}

static void drained(void *arg) { *(int *)arg = 1; }

static void fx_close(struct fx *f)
{
    int done = 0;
    qmgr_drain(f->q, drained, &done);
    while (!done)
        uv_run(&f->loop, UV_RUN_ONCE);
    qmgr_free(f->q);
    queue_store_close(f->store);
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    config_free(f->cfg);
    f->cfg = NULL;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/mg-qmgr-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

struct sub { struct fx *f; struct message *m; int done; int status; };

static void on_submit(void *arg, int status)
{
    struct sub *s = arg;
    s->done = 1;
    s->status = status;
    if (status == 0 && s->f->q)
        qmgr_message_added(s->f->q, s->m);
}

/* Submits a message (durably) and, if the qmgr exists, tells it. */
static void submit(struct fx *f, const char *from, const char *const *rcpts, int prio, int hold,
                   int64_t arrival, char id_out[MESSAGE_ID_SIZE])
{
    struct message *m = message_create();
    assert_non_null(m);
    assert_int_equal(message_set_originator(m, from), 0);
    for (; *rcpts; rcpts++)
        assert_int_equal(message_add_rcpt(m, *rcpts, NULL, 0, NULL), 0);
    m->priority = prio;
    m->arrival = arrival;
    if (hold)
        assert_int_equal(message_set_hold(m, 1, "test"), 0);
    static const char body[] = "Subject: t\r\n\r\nhello\r\n";
    struct sub s = { .f = f, .m = m };
    assert_int_equal(queue_store_submit(f->store, m, body, sizeof body - 1, on_submit, &s), 0);
    while (!s.done)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(s.status, 0);
    if (id_out)
        snprintf(id_out, MESSAGE_ID_SIZE, "%s", m->id);
    message_free(m);
}

static int gone(struct fx *f, const char *id)
{
    struct message *m = NULL;
    int rc = queue_store_get(f->store, id, &m);
    message_free(m);
    return rc == MG_ENOTFOUND;
}

/* Runs the loop until pred(f, arg) or about 10 s. */
static int run_until(struct fx *f, int (*pred)(struct fx *, const void *), const void *arg)
{
    for (int i = 0; i < 2000; i++) {
        if (pred(f, arg))
            return 1;
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    return pred(f, arg);
}

static int p_gone(struct fx *f, const void *id) { return gone(f, id); }
static int p_idle(struct fx *f, const void *unused)
{
    (void)unused;
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    return st.active == 0 && st.ready == 0;
}

static struct message *get(struct fx *f, const char *id)
{
    struct message *m = NULL;
    assert_int_equal(queue_store_get(f->store, id, &m), 0);
    return m;
}

static void t_delivered_and_removed(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "sender@example.org", (const char *[]){ "ok1@example.net", "ok2@example.net", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_gone, id));
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.delivered, 2);
    assert_int_equal(st.messages, 0);
    assert_int_equal(f->ndel, 1);            /* both recipients travelled together */
    fx_close(f);
}

static void t_failure_returns_dsn(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "okSender@example.org", (const char *[]){ "bad@example.net", "ok@example.net", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_gone, id));
    assert_true(run_until(f, p_idle, NULL));
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.reports, 1);
    assert_int_equal(f->dsn_seen, 1);        /* the DSN was delivered to okSender@ */
    assert_int_equal(st.messages, 0);
    fx_close(f);
}

static void t_tempfail_defers_with_backoff(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    int64_t before = (int64_t)time(NULL);
    submit(f, "s@example.org", (const char *[]){ "tmp@example.net", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_idle, NULL));
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_DEFERRED);
    assert_int_equal(m->rcpts[0].attempts, 1);
    assert_true(m->rcpts[0].next_attempt >= before + 60 && m->rcpts[0].next_attempt <= before + 62);
    assert_non_null(strstr(m->rcpts[0].last_reply, "451 4.2.0"));
    message_free(m);
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.waiting, 1);
    /* flush: tried again now, deferred again with a doubled delay */
    assert_int_equal(qmgr_flush(f->q), 1);
    assert_true(run_until(f, p_idle, NULL));
    m = get(f, id);
    assert_int_equal(m->rcpts[0].attempts, 2);
    assert_true(m->rcpts[0].next_attempt >= before + 120);
    message_free(m);
    assert_int_equal(f->ndel, 2);
    fx_close(f);
}

static void t_backoff_curve(void **state)
{
    (void)state;
    struct config_queue qc = { .retry_min = 60, .retry_max = 3600 };
    assert_int_equal(qmgr_backoff(&qc, 1), 60);
    assert_int_equal(qmgr_backoff(&qc, 2), 120);
    assert_int_equal(qmgr_backoff(&qc, 3), 240);
    assert_int_equal(qmgr_backoff(&qc, 7), 3600);
    assert_int_equal(qmgr_backoff(&qc, 1000), 3600);
}

static void t_expired_fails_with_447(void **state)
{
    struct fx *f = *state;
    fx_open(f, 60, 10);                                 /* lifetime: 60 s, message 100 s old */
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "okSender@example.org", (const char *[]){ "tmp@example.net", NULL }, 1, 0,
           (int64_t)time(NULL) - 100, id);
    assert_true(run_until(f, p_gone, id));
    assert_true(run_until(f, p_idle, NULL));
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.reports, 1);
    assert_int_equal(f->dsn_seen, 1);
    fx_close(f);
}

static void t_priority_order_and_recovery(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 1);                              /* one delivery at a time */
    struct qmgr *q = f->q;
    f->q = NULL;                                        /* submit without telling the qmgr */
    submit(f, "s@example.org", (const char *[]){ "ok-low@example.net", NULL }, 1, 0, 0, NULL);
    submit(f, "s@example.org", (const char *[]){ "ok-flash@example.net", NULL }, 5, 0, 0, NULL);
    submit(f, "s@example.org", (const char *[]){ "ok-mid@example.net", NULL }, 3, 0, 0, NULL);
    submit(f, "s@example.org", (const char *[]){ "ok-low2@example.net", NULL }, 1, 0, 0, NULL);
    f->q = q;
    /* qmgr_start is the restart path: everything in the store is scheduled */
    assert_int_equal(qmgr_start(f->q), 0);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->ndel, 4);
    assert_string_equal(f->order[0], "ok-flash@example.net");
    assert_string_equal(f->order[1], "ok-mid@example.net");
    assert_string_equal(f->order[2], "ok-low@example.net");   /* oldest first within a level */
    assert_string_equal(f->order[3], "ok-low2@example.net");
    fx_close(f);
}

static int admin_status = 99;
static void on_admin(void *arg, int status) { (void)arg; admin_status = status; }
static int p_admin(struct fx *f, const void *unused) { (void)f; (void)unused; return admin_status != 99; }

static void t_hold_release_delete(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE], id2[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "ok@example.net", NULL }, 1, 1, 0, id);
    submit(f, "s@example.org", (const char *[]){ "tmp@example.net", NULL }, 1, 0, 0, id2);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->ndel, 1);                       /* only the one not held */
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.held, 1);
    admin_status = 99;
    assert_int_equal(qmgr_release(f->q, id, on_admin, NULL), 0);
    assert_true(run_until(f, p_admin, NULL));
    assert_int_equal(admin_status, 0);
    assert_true(run_until(f, p_gone, id));
    /* delete the deferred one */
    admin_status = 99;
    assert_int_equal(qmgr_delete(f->q, id2, on_admin, NULL), 0);
    assert_true(run_until(f, p_admin, NULL));
    assert_int_equal(admin_status, 0);
    assert_true(gone(f, id2));
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.messages, 0);
    assert_int_equal(qmgr_retry(f->q, id2), MG_ENOTFOUND);
    fx_close(f);
}

static void t_unavailable_channel_holds(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "ok@cms.example", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_idle, NULL));
    struct message *m = get(f, id);
    assert_int_equal(m->hold, 1);
    assert_non_null(m->hold_reason);
    assert_non_null(strstr(m->hold_reason, "enc"));
    message_free(m);
    assert_int_equal(f->ndel, 0);
    fx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_backoff_curve),
        cmocka_unit_test_setup_teardown(t_delivered_and_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(t_failure_returns_dsn, setup, teardown),
        cmocka_unit_test_setup_teardown(t_tempfail_defers_with_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(t_expired_fails_with_447, setup, teardown),
        cmocka_unit_test_setup_teardown(t_priority_order_and_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(t_hold_release_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(t_unavailable_channel_holds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
