/* test_qmgr: the queue manager against a real queue store, with fake channel kinds and an
 * injected clock.
 *
 * The delivery kind "fake" answers by recipient local part: ok* -> 250, tmp* -> 451, bad* ->
 * 550, dead* -> 451 flagged as a destination failure; recipients in domains starting with
 * "park" are parked (the test completes them later, in any order). The processing kind "tag"
 * adds "X-Tag: <channel>" to the content and decides by local part: hold* -> held, disc* ->
 * discarded, rej* -> failed 550, copy* -> continue plus a copy to copied@<domain>. The kind
 * "noproc" cannot process (as a processing channel missing from a build). */
#include "channel.h"
#include "config.h"
#include "message.h"
#include "mg_err.h"
#include "qmgr.h"
#include "queue_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define MAXLOG 256
#define T0 1800000000

struct fx {
    char dir[256];
    uv_loop_t loop;
    uv_timer_t tick;
    struct config *cfg;
    struct queue_store *store;
    struct qmgr *q;
    int64_t now;                        /* the injected clock */
    /* what the delivery channel saw */
    char order[MAXLOG][64];             /* first recipient of each delivery */
    char all[MAXLOG][256];              /* every recipient of each delivery */
    char content[MAXLOG][256];          /* start of each delivered content */
    char chan[MAXLOG][32];              /* the channel of each delivery */
    char coid[MAXLOG][32];              /* its content version's X.400 type ("" = none) */
    size_t ndel;
    int dsn_seen;
    struct channel_delivery *parked[MAXLOG];
    size_t nparked;
    int instances_started, instances_stopped;
    int processed;                      /* process() calls */
    int processed_on_loop;              /* of those, on the loop's thread (not the pool) */
    int audit_calls, audit_fail;
    size_t audit_records;
    int peer_here;                      /* the "awaitk" peer has bound to us */
    int64_t not_before;                 /* what the not_before hook answers (0 = none) */
    int nb_asked;
    size_t await_tries;                 /* deliveries the "awaitk" kind saw */
    int hot;                            /* submissions hand the message and content over
                                           (qmgr_message_added_hot, as mta/submit does) */
    char dsn[8192];                     /* the last DSN delivered (its start) */
    int x400_reports;                   /* X.400 reports asked for (none is made) */
    int x400_next;                      /* submit_body: the next message came in over P1 */
    int x400_reason, x400_diag;         /* the last report item's codes */
    char x400_status[16];
};

static struct fx *g_fx; /* the fake kinds reach the fixture through their instance/conf */
static pthread_t g_loop_thread; /* the thread that runs the loop (main) */

/* ---- fake kinds ---------------------------------------------------------------------------- */

static int fake_configure(const struct config *cfg, const struct config_channel *ch, void **conf,
                          struct config_errors *errs)
{
    (void)conf;
    int n = config_channel_check_keys(cfg, ch, NULL, errs);
    return n < 0 ? n : n ? MG_ECONFIG : 0;
}

static int fake_start(const struct channel_env *env, const struct config_channel *ch, void **inst)
{
    (void)env; (void)ch;
    g_fx->instances_started++;
    *inst = g_fx;
    return 0;
}

static void fake_stop(void *inst, void (*done)(void *), void *arg)
{
    struct fx *f = inst;
    f->instances_stopped++;
    done(arg);
}

static void fake_answer(struct channel_delivery *d)
{
    for (size_t i = 0; i < d->nrcpts; i++) {
        const char *a = d->rcpt_addrs[i];
        if (!strncmp(a, "ok", 2) || !strncmp(a, "copied", 6))
            channel_delivery_set(d, i, 250, "2.0.0", "stored", "fake");
        else if (!strncmp(a, "tmp", 3) || !strncmp(a, "dsnptmp", 7))
            channel_delivery_set(d, i, 451, "4.2.0", "mailbox busy", "fake");
        else if (!strncmp(a, "dead", 4)) {
            channel_delivery_set(d, i, 451, "4.4.1", "connection refused", "fake");
            d->outcomes[i].flags |= CHANNEL_OUT_DEST_FAILURE;
        } else
            channel_delivery_set(d, i, 550, "5.1.1", "no such user", "fake");
    }
}

static void fake_deliver(void *inst, struct channel_delivery *d)
{
    struct fx *f = inst;
    size_t len = 0;
    const unsigned char *c = content_data(d->content, &len);
    if (f->ndel < MAXLOG) {
        snprintf(f->order[f->ndel], sizeof f->order[0], "%s", d->rcpt_addrs[0]);
        f->all[f->ndel][0] = 0;
        for (size_t i = 0; i < d->nrcpts; i++)
            snprintf(f->all[f->ndel] + strlen(f->all[f->ndel]),
                     sizeof f->all[0] - strlen(f->all[f->ndel]), "%s,", d->rcpt_addrs[i]);
        snprintf(f->content[f->ndel], sizeof f->content[0], "%.*s", (int)(len < 255 ? len : 255), c);
        snprintf(f->chan[f->ndel], sizeof f->chan[0], "%s", d->channel ? d->channel->name : "");
        snprintf(f->coid[f->ndel], sizeof f->coid[0], "%s",
                 content_oid(d->content) ? content_oid(d->content) : "");
    }
    f->ndel++;
    if (strstr((const char *)c, "multipart/report")) {
        f->dsn_seen++;
        snprintf(f->dsn, sizeof f->dsn, "%.*s", (int)(len < sizeof f->dsn - 1 ? len : sizeof f->dsn - 1), c);
    }
    const char *at = strchr(d->rcpt_addrs[0], '@');
    if (at && !strncmp(at + 1, "park", 4) && f->nparked < MAXLOG) {
        f->parked[f->nparked++] = d;
        return;
    }
    fake_answer(d);
    channel_delivery_done(d);
}

static const struct channel_kind fake_kind = {
    .name = "fake", .role = CHANNEL_ROLE_DELIVERY, .peer = CHANNEL_PEER_NONE,
    .configure = fake_configure, .start = fake_start, .deliver = fake_deliver, .stop = fake_stop,
};

static int tag_process(const void *conf, const struct channel_task *t, struct channel_result *r)
{
    (void)conf;
    __atomic_add_fetch(&g_fx->processed, 1, __ATOMIC_SEQ_CST);
    if (pthread_equal(pthread_self(), g_loop_thread))
        __atomic_add_fetch(&g_fx->processed_on_loop, 1, __ATOMIC_SEQ_CST);
    size_t len = 0;
    const unsigned char *c = content_data(t->content, &len);
    char head[128];
    int hl = snprintf(head, sizeof head, "X-Tag: %s\r\n", t->channel->name);
    unsigned char *n = malloc(len + (size_t)hl + 1);
    if (!n)
        return MG_ENOMEM;
    memcpy(n, head, (size_t)hl);
    memcpy(n + hl, c, len);
    n[len + (size_t)hl] = 0;
    r->content = content_new(MESSAGE_CONTENT_RFC5322, 0, n, len + (size_t)hl);
    r->content_oid = strdup("22"); /* a type said for the new version (stored with it) */
    for (size_t i = 0; i < t->nrcpts; i++) {
        const char *a = t->rcpt_addrs[i];
        struct channel_outcome *o = &r->rcpts[i].outcome;
        if (!strncmp(a, "hold", 4)) {
            channel_outcome_set(o, CHANNEL_HELD, 0, NULL, "subject hold", NULL);
        } else if (!strncmp(a, "disc", 4)) {
            channel_outcome_set(o, CHANNEL_DISCARDED, 0, NULL, "rule discard", NULL);
            channel_result_add_audit(r, (int)i, "discarded", "rule discard", "", NULL, 0, NULL);
        } else if (!strncmp(a, "rej", 3)) {
            channel_outcome_set(o, CHANNEL_FAILED, 550, "5.7.1", "rejected by rule", NULL);
        } else if (!strncmp(a, "copy", 4)) {
            const char *at = strchr(a, '@');
            char cp[128];
            snprintf(cp, sizeof cp, "copied%s", at ? at : "@x.example");
            channel_result_add_copy(r, cp);
        } else if (!strncmp(a, "dsnp", 4)) {
            /* a converting channel's envelope parameters for the next hop */
            r->rcpts[i].dsn_set = true;
            r->rcpts[i].notify = MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE;
            r->rcpts[i].orcpt = strdup("x400;/C=GB/ADMD= /S=Y/");
            /* RFC 2156 A.3.2: the originating MTA asked for failures the originator did not */
            r->rcpts[i].gateway_notify = MESSAGE_NOTIFY_FAILURE;
            /* the new content's X.400 type */
            free(r->content_oid);
            r->content_oid = strdup("1.3.26.0.4406.0.4.1");
            r->env_set = true;
            r->envid = strdup("X400-MTS-Identifier: [/C=GB/ADMD= /;q1]");
            char mts[64];
            snprintf(mts, sizeof mts, "[C=GB;ADMD= ;PRMD=Q]%.20s", t->msg->id);
            r->mts_id = strdup(mts);
            r->ret = MESSAGE_RET_HDRS;
            r->x400_env = malloc(3);
            if (r->x400_env) {
                memcpy(r->x400_env, "\x31\x01\x00", 3);
                r->x400_env_len = 3;
            }
        } else if (!strncmp(a, "ren", 3)) {
            char na[128];
            snprintf(na, sizeof na, "ok-renamed%s", strchr(a, '@'));
            r->rcpts[i].next_addr = strdup(na);
        }
    }
    return 0;
}

static const struct channel_kind tag_kind = {
    .name = "tag", .role = CHANNEL_ROLE_PROCESSING, .configure = fake_configure,
    .process = tag_process,
};
/* The same work, declared cheap: small content runs on the loop thread (qmgr_stage.c). */
static const struct channel_kind qtag_kind = {
    .name = "qtag", .role = CHANNEL_ROLE_PROCESSING, .configure = fake_configure,
    .process = tag_process, .inline_max = 1024,
};
static const struct channel_kind noproc_kind = {
    .name = "noproc", .role = CHANNEL_ROLE_PROCESSING, .configure = fake_configure,
};
/* "awaitk": a delivery kind to an x400 peer reached only when it comes to us (like the p1
 * channel with an inbound_only peer): deferred with CHANNEL_OUT_AWAIT_PEER until it is here. */
static void await_deliver(void *inst, struct channel_delivery *d)
{
    struct fx *f = inst;
    f->await_tries++;
    for (size_t i = 0; i < d->nrcpts; i++) {
        if (f->peer_here) {
            channel_delivery_set(d, i, 250, "2.0.0", "over its association", "p-hidden");
        } else {
            channel_delivery_set(d, i, 451, "4.4.1", "waiting for p-hidden to bind", NULL);
            d->outcomes[i].flags |= CHANNEL_OUT_AWAIT_PEER;
        }
    }
    channel_delivery_done(d);
}

static const struct channel_kind await_kind = {
    .name = "awaitk", .role = CHANNEL_ROLE_DELIVERY, .peer = CHANNEL_PEER_X400,
    .configure = fake_configure, .start = fake_start, .deliver = await_deliver, .stop = fake_stop,
};


/* A shaper's stand-in: the label it saw goes into the content, and the new label is "HIGH". */
static int relabel_process(const void *conf, const struct channel_task *t, struct channel_result *r)
{
    (void)conf;
    char head[64];
    int hl = snprintf(head, sizeof head, "X-Label-Seen: %.*s\r\n", (int)t->label_len,
                      t->label ? (const char *)t->label : "");
    unsigned char *n = malloc((size_t)hl + 1);
    if (!n || !(r->label = malloc(4))) {
        free(n);
        return MG_ENOMEM;
    }
    memcpy(n, head, (size_t)hl + 1);
    r->content = content_new(MESSAGE_CONTENT_RFC5322, 0, n, (size_t)hl);
    memcpy(r->label, "HIGH", 4);
    r->label_len = 4;
    r->label_set = true;
    return 0;
}

static const struct channel_kind relabel_kind = {
    .name = "relabel", .role = CHANNEL_ROLE_PROCESSING, .configure = fake_configure,
    .process = relabel_process,
};
static const struct channel_kind *const kinds[] = { &fake_kind, &tag_kind, &noproc_kind, &await_kind,
                                                     &relabel_kind, &qtag_kind, NULL };

static int audit_append(void *ctx, const char *qid, const char *channel,
                        const char *const *rcpt_addrs, const struct channel_audit *recs, size_t n,
                        void (*cb)(void *arg, int status), void *arg)
{
    struct fx *f = ctx;
    (void)qid; (void)channel; (void)rcpt_addrs; (void)recs;
    f->audit_calls++;
    if (f->audit_fail)
        return MG_EDB;
    f->audit_records += n;
    cb(arg, 0);
    return 0;
}

/* ---- fixture ------------------------------------------------------------------------------- */

#define CONF_FMT \
    "global = { hostname = \"qmgr.test\"; var_dir = \"%s\"; };\n" \
    "queue = { retry_min = 60; retry_max = 3600; max_lifetime = %d; delay_warning = 0;" \
    " max_active_deliveries = %d; };\n" \
    "listeners = ( { name = \"smtp\"; protocol = \"smtp\"; listen = \"127.0.0.1:2525\";" \
    " relay_networks = [ \"127.0.0.0/8\" ]; } );\n" \
    "channels = ( { name = \"local\"; type = \"fake\"; concurrency = %d; },\n" \
    "             { name = \"slowch\"; type = \"fake\"; concurrency = 10; max_message_size = 2048; },\n" \
    "             { name = \"fastch\"; type = \"fake\"; concurrency = 10; },\n" \
    "             { name = \"policy\"; type = \"tag\"; },\n" \
    "             { name = \"quick\"; type = \"qtag\"; },\n" \
    "             { name = \"enc\"; type = \"noproc\"; },\n" \
    "             { name = \"shape\"; type = \"relabel\"; },\n" \
    "             { name = \"hidden\"; type = \"awaitk\"; } );\n" \
    "peers = ( { name = \"p-hidden\"; type = \"x400\"; mta_name = \"H\"; our_mta_name = \"U\";" \
    " dialogue = \"two-way-alternate\"; inbound_only = true; max_message_size = 1500; } );\n" \
    "routes = ( { domain = \"cms.example\"; chain = [ \"enc\", \"local\" ]; },\n" \
    "           { domain = \"lr.example\"; label_at_least = \"HIGH\"; chain = [ \"shape\", \"fastch\" ]; },\n" \
    "           { domain = \"lr.example\"; chain = [ \"shape\", \"local\" ]; },\n" \
    "           { domain_suffix = \"rules.example\"; chain = [ \"policy\", \"local\" ]; },\n" \
    "           { domain_suffix = \"quick.example\"; chain = [ \"quick\", \"local\" ]; },\n" \
    "           { domain = \"two.example\"; chain = [ \"quick\", \"policy\", \"local\" ]; },\n" \
    "           { domain = \"park-slow.example\"; chain = [ \"slowch\" ]; },\n" \
    "           { domain = \"park-fast.example\"; chain = [ \"fastch\" ]; },\n" \
    "           { domain = \"fast.example\"; chain = [ \"fastch\" ]; },\n" \
    "           { domain = \"hidden.example\"; chain = [ \"hidden\" ]; peer = \"p-hidden\"; },\n" \
    "           { domain = \"narrow.example\"; chain = [ \"slowch\" ]; },\n" \
    "           { default = true; chain = [ \"local\" ]; } );\n"

static int64_t fake_now(void *ctx) { return ((struct fx *)ctx)->now; }
/* The X.400 report builder's place: records what it was asked for, builds nothing. */
static int fake_x400_report(void *ctx, const struct message *orig, const struct report_item *items,
                            size_t n, const void *content, size_t content_len, int64_t now,
                            struct message **out_msg, unsigned char **out_content, size_t *out_len)
{
    (void)orig; (void)content; (void)content_len; (void)now;
    struct fx *f = ctx;
    f->x400_reports++;
    if (n) {
        f->x400_reason = items[n - 1].x400_reason;
        f->x400_diag = items[n - 1].x400_diagnostic;
        snprintf(f->x400_status, sizeof f->x400_status, "%s", items[n - 1].status ? items[n - 1].status : "");
    }
    *out_msg = NULL;
    *out_content = NULL;
    *out_len = 0;
    return 0;
}
static int64_t fake_not_before(void *ctx, const struct message *m)
{
    struct fx *f = ctx;
    f->nb_asked++;
    return m->nrcpts ? f->not_before : 0;
}
static void on_tick(uv_timer_t *t) { (void)t; }

static struct config *load(struct fx *f, int lifetime, int max_active, int concurrency)
{
    char text[4096];
    snprintf(text, sizeof text, CONF_FMT, f->dir, lifetime, max_active, concurrency);
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;
    struct config_load_opts o = { .kinds = kinds };
    int rc = config_load_text_ex("qmgr-test.conf", text, strlen(text), &o, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.v[i].text);
    config_errors_free(&errs);
    assert_int_equal(rc, 0);
    return cfg;
}

static void fx_open3(struct fx *f, int lifetime, int max_active, int concurrency)
{
    g_fx = f;
    if (!f->now)
        f->now = T0;
    f->cfg = load(f, lifetime, max_active, concurrency);
    uv_loop_init(&f->loop);
    uv_timer_init(&f->loop, &f->tick);
    uv_timer_start(&f->tick, on_tick, 5, 5);   /* keeps uv_run(ONCE) from blocking */
    char db[300];
    snprintf(db, sizeof db, "%s/queue.db", f->dir);
    assert_int_equal(queue_store_open(&f->store, &f->loop, db, NULL), 0);
    struct qmgr_opts o = { .now = fake_now, .now_ctx = f,
                           .x400_report = fake_x400_report, .x400_ctx = f,
                           .audit = { .append = audit_append, .ctx = f },
                           .not_before = fake_not_before, .not_before_ctx = f };
    assert_int_equal(qmgr_create(&f->q, &f->loop, f->store, f->cfg, &o), 0);
}

static void fx_open(struct fx *f, int lifetime, int max_active)
{
    fx_open3(f, lifetime, max_active, 10);
}

static void drained(void *arg) { *(int *)arg = 1; }

static void fx_close(struct fx *f)
{
    int done = 0;
    qmgr_drain(f->q, drained, &done);
    while (!done)
        uv_run(&f->loop, UV_RUN_ONCE);
    qmgr_free(f->q);
    f->q = NULL;
    queue_store_close(f->store);
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    config_free(f->cfg);
    f->cfg = NULL;
    assert_int_equal(f->instances_started, f->instances_stopped);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    g_loop_thread = pthread_self();
    snprintf(f->dir, sizeof f->dir, "/tmp/mg-qmgr-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

/* The same tests with the submission's hand-over: the queue manager plans a new message from
 * what was committed instead of reading it back; every outcome must be the same. */
static int setup_hot(void **state)
{
    setup(state);
    ((struct fx *)*state)->hot = 1;
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

struct sub { struct fx *f; struct message *m; const char *body; size_t len; int done; int status; };

static void on_submit(void *arg, int status)
{
    struct sub *s = arg;
    s->done = 1;
    s->status = status;
    if (status != 0 || !s->f->q)
        return;
    if (!s->f->hot) {
        qmgr_message_added(s->f->q, s->m);
        return;
    }
    struct message *m = message_dup(s->m);
    unsigned char *c = malloc(s->len ? s->len : 1);
    assert_non_null(m);
    assert_non_null(c);
    memcpy(c, s->body, s->len);
    if (s->f->hot == 2 && s->len > 0)
        c[0] = 'X'; /* t_hot_not_read_back: tells the handed-over copy from the stored one */
    qmgr_message_added_hot(s->f->q, m, c, s->len);
}

static void submit_body(struct fx *f, const char *from, const char *const *rcpts, const char *body,
                        size_t blen, char id_out[MESSAGE_ID_SIZE]);

/* Submits a message (durably) and, if the qmgr exists, tells it. */
static void submit(struct fx *f, const char *from, const char *const *rcpts, int prio, int hold,
                   int64_t arrival, char id_out[MESSAGE_ID_SIZE])
{
    if (prio < 0) { /* a body of -prio octets (a size limit's test) */
        char *b = malloc((size_t)-prio);
        assert_non_null(b);
        memset(b, 'x', (size_t)-prio);
        memcpy(b, "Subject: big\r\n\r\n", 17);
        submit_body(f, from, rcpts, b, (size_t)-prio, id_out);
        free(b);
        return;
    }
    struct message *m = message_create();
    assert_non_null(m);
    assert_int_equal(message_set_originator(m, from), 0);
    for (; *rcpts; rcpts++)
        assert_int_equal(message_add_rcpt(m, *rcpts, NULL, 0, NULL), 0);
    m->priority = prio;
    m->arrival = arrival ? arrival : f->now;
    if (hold)
        assert_int_equal(message_set_hold(m, 1, "test"), 0);
    static const char body[] = "Subject: t\r\n\r\nhello\r\n";
    struct sub s = { .f = f, .m = m, .body = body, .len = sizeof body - 1 };
    assert_int_equal(queue_store_submit(f->store, m, body, sizeof body - 1, on_submit, &s), 0);
    while (!s.done)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(s.status, 0);
    if (id_out)
        snprintf(id_out, MESSAGE_ID_SIZE, "%s", m->id);
    message_free(m);
}

static void submit_body(struct fx *f, const char *from, const char *const *rcpts, const char *body,
                        size_t blen, char id_out[MESSAGE_ID_SIZE])
{
    struct message *m = message_create();
    assert_non_null(m);
    assert_int_equal(message_set_originator(m, from), 0);
    for (; *rcpts; rcpts++)
        assert_int_equal(message_add_rcpt(m, *rcpts, NULL, 0, NULL), 0);
    m->arrival = f->now;
    if (f->x400_next)
        assert_int_equal(message_set_received(m, "MTA-T [127.0.0.1]", "P1"), 0);
    struct sub s = { .f = f, .m = m, .body = body, .len = blen };
    assert_int_equal(queue_store_submit(f->store, m, body, blen, on_submit, &s), 0);
    while (!s.done)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(s.status, 0);
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
static int p_parked(struct fx *f, const void *n) { return f->nparked >= *(const size_t *)n; }
static int p_ndel(struct fx *f, const void *n) { return f->ndel >= *(const size_t *)n; }

/* Runs the loop a few turns (to show that something does NOT happen). */
static void spin(struct fx *f, int n)
{
    for (int i = 0; i < n; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
}

static struct message *get(struct fx *f, const char *id)
{
    struct message *m = NULL;
    assert_int_equal(queue_store_get(f->store, id, &m), 0);
    return m;
}

/* Completes parked delivery i (fake answers by local part). */
static void unpark(struct fx *f, size_t i)
{
    struct channel_delivery *d = f->parked[i];
    assert_non_null(d);
    f->parked[i] = NULL;
    fake_answer(d);
    channel_delivery_done(d);
}

/* ---- the basics -------------------------------------------------------------------------- */

static void t_delivered_and_removed(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "sender@example.org", (const char *[]){ "ok1@example.net", "ok2@example.net", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_gone, id));
    assert_true(run_until(f, p_idle, NULL));  /* the entry goes after the removal commits */
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
    size_t two = 2;
    assert_true(run_until(f, p_ndel, &two));
    assert_true(run_until(f, p_idle, NULL));
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.reports, 1);
    assert_int_equal(f->dsn_seen, 1);        /* the DSN was delivered to okSender@ */
    fx_close(f);
}

static void t_tempfail_defers_with_backoff(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "tmp@example.net", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_idle, NULL));
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_DEFERRED);
    assert_int_equal(m->rcpts[0].attempts, 1);
    assert_int_equal(m->rcpts[0].next_attempt, T0 + 60);   /* exact: the clock is ours */
    assert_non_null(strstr(m->rcpts[0].last_reply, "451 4.2.0"));
    message_free(m);
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.waiting, 1);
    /* 59 s later nothing happens; at 60 s the retry runs and doubles the delay */
    f->now = T0 + 59;
    qmgr_kick(f->q);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->ndel, 1);
    f->now = T0 + 60;
    qmgr_kick(f->q);
    size_t two = 2;
    assert_true(run_until(f, p_ndel, &two));
    assert_true(run_until(f, p_idle, NULL));
    m = get(f, id);
    assert_int_equal(m->rcpts[0].attempts, 2);
    assert_int_equal(m->rcpts[0].next_attempt, T0 + 60 + 120);
    message_free(m);
    /* flush: tried again now */
    assert_int_equal(qmgr_flush(f->q), 1);
    size_t three = 3;
    assert_true(run_until(f, p_ndel, &three));
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
    submit(f, "okSender@example.org", (const char *[]){ "tmp@example.net", NULL }, 1, 0, T0 - 100, id);
    assert_true(run_until(f, p_gone, id));
    size_t two = 2;
    assert_true(run_until(f, p_ndel, &two));
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.reports, 1);
    assert_int_equal(f->dsn_seen, 1);
    fx_close(f);
}

static int p_queued3(struct fx *f, const void *unused)
{
    (void)unused;
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    return st.queued == 3 && f->nparked == 1;
}

static void t_priority_order_and_recovery(void **state)
{
    struct fx *f = *state;
    fx_open3(f, 100000, 1, 1);                          /* one delivery at a time */
    struct qmgr *q = f->q;
    f->q = NULL;                                        /* submit without telling the qmgr */
    submit(f, "s@example.org", (const char *[]){ "ok-low@park.example", NULL }, 1, 0, 0, NULL);
    submit(f, "s@example.org", (const char *[]){ "ok-flash@park.example", NULL }, 5, 0, 0, NULL);
    submit(f, "s@example.org", (const char *[]){ "ok-mid@park.example", NULL }, 3, 0, 0, NULL);
    submit(f, "s@example.org", (const char *[]){ "ok-low2@park.example", NULL }, 1, 0, 0, NULL);
    f->q = q;
    /* qmgr_start is the restart path: everything in the store is scheduled */
    assert_int_equal(qmgr_start(f->q), 0);
    /* The first message loaded takes the free slot; the others wait at the destination, where
     * they are served highest priority first, then oldest first. */
    assert_true(run_until(f, p_queued3, NULL));
    static const char *const want[] = { "ok-flash@park.example", "ok-mid@park.example",
                                        "ok-low@park.example", "ok-low2@park.example" };
    size_t k = 0;
    for (size_t i = 1; i < 4; i++, k++) {
        unpark(f, i - 1);
        size_t n = i + 1;
        assert_true(run_until(f, p_parked, &n));
        if (!strcmp(want[k], f->order[0]))
            k++;
        assert_string_equal(f->order[i], want[k]);
    }
    unpark(f, 3);
    assert_true(run_until(f, p_idle, NULL));
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
    admin_status = 99;
    assert_int_equal(qmgr_delete(f->q, id2, on_admin, NULL), 0);
    assert_true(run_until(f, p_admin, NULL));
    assert_int_equal(admin_status, 0);
    assert_true(gone(f, id2));
    assert_true(run_until(f, p_idle, NULL));
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.messages, 0);
    assert_int_equal(qmgr_retry(f->q, id2), MG_ENOTFOUND);
    fx_close(f);
}

/* ---- destinations -------------------------------------------------------------------------- */

/* The review's head-of-line case: 10 global slots, 30 messages to a slow destination, then one
 * to a fast one: the fast one is delivered while the slow one holds its slots. */
/* The hand-over is really used: the delivery carries the content handed over with the
 * committed message (marked here), not the stored copy read back; a message that arrives
 * held is not kept hot and is read from the store when released. */
static void t_hot_not_read_back(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    f->hot = 2;
    char id[MESSAGE_ID_SIZE], held[MESSAGE_ID_SIZE];
    submit(f, "sender@example.org", (const char *[]){ "ok1@example.net", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_gone, id));
    assert_int_equal(f->ndel, 1);
    assert_int_equal(strncmp(f->content[0], "Xubject: t", 10), 0);
    submit(f, "sender@example.org", (const char *[]){ "ok2@example.net", NULL }, 1, 1, 0, held);
    admin_status = 99;
    assert_int_equal(qmgr_release(f->q, held, on_admin, NULL), 0);
    assert_true(run_until(f, p_admin, NULL));
    assert_int_equal(admin_status, 0);
    assert_true(run_until(f, p_gone, held));
    assert_int_equal(f->ndel, 2);
    assert_int_equal(strncmp(f->content[1], "Subject: t", 10), 0);
    assert_true(run_until(f, p_idle, NULL));
    fx_close(f);
}

static void t_head_of_line(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    for (int i = 0; i < 30; i++)
        submit(f, "s@example.org", (const char *[]){ "ok@park-slow.example", NULL }, 1, 0, 0, NULL);
    size_t nine = 9;
    assert_true(run_until(f, p_parked, &nine));
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "ok@fast.example", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_gone, id));
    /* the slow destination keeps 9 of the 10 slots; the last was left for the fast one */
    assert_int_equal(f->nparked, 9);
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.deliveries, 9);
    assert_int_equal(st.queued, 21);
    /* out-of-order completions: finish the parked ones from the last to the first */
    for (size_t i = f->nparked; i-- > 0;)
        unpark(f, i);
    size_t all = 30;
    for (;;) {
        /* completions may start the next deliveries at once (content already loaded) */
        for (size_t i = 0; i < f->nparked; i++)
            if (f->parked[i])
                unpark(f, i);
        if (f->nparked >= all)
            break;
        size_t want = f->nparked + 1;
        if (!run_until(f, p_parked, &want)) {
            qmgr_get_stats(f->q, &st);
            fail_msg("parked=%zu deliveries=%zu queued=%zu active=%zu delivered=%llu", f->nparked,
                     st.deliveries, st.queued, st.active, (unsigned long long)st.delivered);
        }
    }
    assert_true(run_until(f, p_idle, NULL));
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.delivered, 31);
    fx_close(f);
}

/* Fairness: a destination holding slots leaves one for a newcomer, and the last free slot goes
 * to a destination holding less than half of them. */
static void t_fair_between_destinations(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 4);
    assert_int_equal(qmgr_start(f->q), 0);
    for (int i = 0; i < 8; i++)
        submit(f, "s@example.org", (const char *[]){ "ok@park-slow.example", NULL }, 1, 0, 0, NULL);
    size_t three = 3;
    assert_true(run_until(f, p_parked, &three));
    spin(f, 50);
    assert_int_equal(f->nparked, 3);                    /* A keeps one slot free */
    submit(f, "s@example.org", (const char *[]){ "ok@park-fast.example", NULL }, 1, 0, 0, NULL);
    submit(f, "s@example.org", (const char *[]){ "ok@park-fast.example", NULL }, 1, 0, 0, NULL);
    size_t four = 4;
    assert_true(run_until(f, p_parked, &four));
    assert_non_null(strstr(f->order[3], "park-fast"));  /* B got the free slot at once */
    spin(f, 50);
    assert_int_equal(f->nparked, 4);
    unpark(f, 0);                                       /* one of A's ends */
    size_t five = 5;
    assert_true(run_until(f, p_parked, &five));
    assert_non_null(strstr(f->order[4], "park-fast"));  /* B's second before A's fourth */
    for (;;) {
        for (size_t i = 0; i < f->nparked; i++)
            if (f->parked[i])
                unpark(f, i);
        struct qmgr_stats st;
        qmgr_get_stats(f->q, &st);
        if (st.delivered == 10)
            break;
        size_t want = f->nparked + 1;
        assert_true(run_until(f, p_parked, &want));
    }
    fx_close(f);
}

/* A destination failure throttles the destination: waiting deliveries are deferred with the
 * one reason without reaching the channel; after retry_min it is probed again. */
static void t_throttle_and_release(void **state)
{
    struct fx *f = *state;
    fx_open3(f, 100000, 10, 1);                         /* one delivery at a time to "local" */
    assert_int_equal(qmgr_start(f->q), 0);
    char ids[5][MESSAGE_ID_SIZE];
    for (int i = 0; i < 5; i++)
        submit(f, "s@example.org", (const char *[]){ "dead@example.net", NULL }, 1, 0, 0, ids[i]);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->ndel, 1);                       /* only the first reached the channel */
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.deferred, 5);
    assert_int_equal(st.throttled, 1);
    struct message *m = get(f, ids[4]);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_DEFERRED);
    assert_non_null(strstr(m->rcpts[0].last_reply, "throttled"));
    assert_non_null(strstr(m->rcpts[0].last_reply, "connection refused"));
    message_free(m);
    /* a new message for it meanwhile is deferred at once too */
    submit(f, "s@example.org", (const char *[]){ "dead@example.net", NULL }, 1, 0, 0, NULL);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->ndel, 1);
    /* after retry_min the destination is probed with one delivery, the others wait */
    f->now = T0 + 61;
    qmgr_kick(f->q);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->ndel, 2);
    fx_close(f);
}

/* An operator holds a peer: nothing starts for it, what arrives is deferred with the reason;
 * after the release the next attempt goes through. */
static int seen_held;
static void count_held(void *arg, const struct qmgr_dest_info *d)
{
    (void)arg;
    seen_held += d->held != NULL;
}

static void admin_done(void *arg, int status)
{
    int *st = arg;
    *st = status == 0 ? 1 : status;
}

static int p_set(struct fx *f, const void *flag)
{
    (void)f;
    return *(const int *)flag != 0;
}

static void list_hold(void *arg, const char *peer, const char *reason, int64_t since)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 200 - n, "%s=%s@%lld;", peer, reason, (long long)since);
}

static void t_peer_hold(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    /* "local" has no peer: use the parked slow channel's peerless destination? No: hold works
     * by peer name, so a peerless destination is never held. */
    int d1 = 0, d2 = 0, d3 = 0;
    assert_int_equal(qmgr_peer_hold(f->q, "p0", "maintenance", admin_done, &d1), 0);
    assert_int_equal(qmgr_peer_hold(f->q, "p0", "maintenance 2", admin_done, &d2), MG_EEXIST);
    assert_string_equal(qmgr_peer_held(f->q, "p0"), "maintenance 2");   /* in force at once */
    assert_null(qmgr_peer_held(f->q, "p1"));
    assert_int_equal(qmgr_peer_hold(f->q, "", "x", admin_done, &d3), MG_EINVAL);
    assert_true(run_until(f, p_set, &d2));
    assert_int_equal(d1, 1);
    assert_int_equal(d2, 1);                            /* both durable */
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "ok@example.net", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_gone, id));            /* peerless: never held */
    /* a hold on a peer the configuration does not name (removed since): kept and listed */
    d3 = 0;
    assert_int_equal(qmgr_peer_hold(f->q, "gone", NULL, admin_done, &d3), 0);
    assert_true(run_until(f, p_set, &d3));
    fx_close(f);

    /* a restart keeps both, with their reasons and times, before anything is scheduled */
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    assert_string_equal(qmgr_peer_held(f->q, "p0"), "maintenance 2");
    assert_string_equal(qmgr_peer_held(f->q, "gone"), "");
    char seen[200] = "";
    qmgr_foreach_peer_hold(f->q, list_hold, seen);
    const char *a = strstr(seen, "p0=maintenance 2@"), *b = strstr(seen, "gone=@");
    assert_non_null(a);
    assert_non_null(b);
    long long ta = 0, tb = 0;   /* since: when each was first held (the store's clock) */
    assert_int_equal(sscanf(strchr(a, '@') + 1, "%lld", &ta), 1);
    assert_int_equal(sscanf(strchr(b, '@') + 1, "%lld", &tb), 1);
    assert_true(ta > 0 && tb >= ta && tb <= (long long)time(NULL));
    d1 = 0;
    assert_int_equal(qmgr_peer_release(f->q, "p0", admin_done, &d1), 0);
    assert_int_equal(qmgr_peer_release(f->q, "p0", admin_done, &d1), MG_ENOTFOUND);
    assert_true(run_until(f, p_set, &d1));
    assert_int_equal(d1, 1);
    seen_held = 0;
    qmgr_foreach_dest(f->q, count_held, NULL);
    assert_int_equal(seen_held, 0);
    fx_close(f);

    /* and a release too */
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    assert_null(qmgr_peer_held(f->q, "p0"));
    assert_non_null(qmgr_peer_held(f->q, "gone"));
    fx_close(f);
}

/* Deferred delivery: a message whose not_before lies ahead stays queued and untouched (no
 * attempt, no outcome), a flush does not send it early, and it goes at that time. */
static void t_not_before(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    f->not_before = T0 + 100;
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "ok@example.net", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->ndel, 0);
    assert_true(f->nb_asked >= 1);
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_PENDING);   /* no attempt was made */
    assert_int_equal(m->rcpts[0].attempts, 0);
    message_free(m);
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.waiting, 1);
    assert_int_equal(qmgr_flush(f->q), 1);                     /* forced: still not early */
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->ndel, 0);
    f->now = T0 + 99;
    qmgr_kick(f->q);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->ndel, 0);
    f->now = T0 + 100;
    qmgr_kick(f->q);
    assert_true(run_until(f, p_gone, id));
    assert_int_equal(f->ndel, 1);
    fx_close(f);
}

/* A peer reached only when it binds to us: the deferred message waits (back-off 60 s) until
 * qmgr_peer_wake, which makes it due at once; a wake for another peer, or a second wake, does
 * nothing. qmgr_channel_instance finds the delivery instances of the current configuration. */
static void t_await_peer_wake(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    assert_ptr_equal(qmgr_channel_instance(f->q, "hidden"), f);
    assert_ptr_equal(qmgr_channel_instance(f->q, "local"), f);
    assert_null(qmgr_channel_instance(f->q, "policy"));   /* processing: no instance */
    assert_null(qmgr_channel_instance(f->q, "nope"));
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "x@hidden.example", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->await_tries, 1);
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_DEFERRED);
    assert_int_equal(m->rcpts[0].next_attempt, T0 + 60);
    assert_non_null(strstr(m->rcpts[0].last_reply, "waiting for p-hidden to bind"));
    message_free(m);
    assert_int_equal(qmgr_peer_wake(f->q, "someone-else"), 0);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->await_tries, 1);
    /* the peer binds 10 s later: delivered now, long before the back-off */
    f->now = T0 + 10;
    f->peer_here = 1;
    assert_int_equal(qmgr_peer_wake(f->q, "p-hidden"), 1);
    assert_true(run_until(f, p_gone, id));
    assert_int_equal(f->await_tries, 2);
    assert_int_equal(qmgr_peer_wake(f->q, "p-hidden"), 0);  /* nothing waits any more */
    fx_close(f);
}

/* The waiting survives a restart: a message deferred for the inbound-only peer before the
 * daemon stopped is found in the store (its recipient deferred after a delivery to that
 * peer) at the peer's first bind after the start and made due at once, not at its back-off;
 * a message deferred for another destination is not; a second wake finds nothing. */
static void t_await_peer_wake_after_restart(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE], other[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "x@hidden.example", NULL }, 1, 0, 0, id);
    submit(f, "s@example.org", (const char *[]){ "tmp@else.example", NULL }, 1, 0, 0, other);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->await_tries, 1);
    fx_close(f);
    /* restarted: nothing in memory says who waits */
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->await_tries, 1);          /* its back-off (T0 + 60) has not come */
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_DEFERRED);
    assert_string_equal(m->rcpts[0].peer, "p-hidden");
    message_free(m);
    size_t before = f->ndel;
    assert_int_equal(qmgr_peer_wake(f->q, "someone-else"), 0);
    f->now = T0 + 10;
    f->peer_here = 1;
    /* none known in memory: the store is read on the pool and what it finds is made due */
    assert_int_equal(qmgr_peer_wake(f->q, "p-hidden"), 0);
    assert_true(run_until(f, p_gone, id));
    assert_int_equal(f->await_tries, 2);
    assert_int_equal(f->ndel, before);            /* the other message still waits */
    assert_false(gone(f, other));
    assert_int_equal(qmgr_peer_wake(f->q, "p-hidden"), 0);
    fx_close(f);
}

/* Size limits: content over the limit of the delivery channel (slowch: 2048) or of the
 * route's peer (p-hidden: 1500) fails those recipients with 5.3.4 before the channel is
 * called; at the limit it goes on (slowch is the channel with a limit). The originator's DSN says why. */
static const struct size_case {
    const char *name, *rcpt;
    int size;
    int delivered;                      /* 1: the channel was called */
    const char *why;
    int x400;                           /* came in over P1: an X.400 report is asked for */
} size_cases[] = {
    { "channel_limit_over", "ok@narrow.example", 2049, 0, "over the size limit of 2048 octets of channel 'slowch'", 0 },
    { "channel_limit_at", "ok@narrow.example", 2048, 1, NULL, 0 },
    { "peer_limit_over", "x@hidden.example", 1501, 0, "over the size limit of 1500 octets of peer 'p-hidden'", 0 },
    { "peer_limit_under", "x@hidden.example", 1400, 1, NULL, 0 },
    { "peer_limit_over_x400", "x@hidden.example", 1600, 0, NULL, 1 },
};

static void t_size_limit(void **state)
{
    struct fx *f = *state;
    for (size_t k = 0; k < sizeof size_cases / sizeof *size_cases; k++) {
        const struct size_case *c = &size_cases[k];
        fx_open(f, 100000, 10);
        assert_int_equal(qmgr_start(f->q), 0);
        f->ndel = 0;
        f->await_tries = 0;
        f->dsn_seen = 0;
        f->peer_here = 1;
        f->x400_reports = 0;
        char id[MESSAGE_ID_SIZE];
        if (c->x400)
            f->x400_next = 1;
        submit(f, "okSender@example.org", (const char *[]){ c->rcpt, NULL }, -c->size, 0, 0, id);
        f->x400_next = 0;
        assert_true(run_until(f, p_gone, id));
        assert_true(run_until(f, p_idle, NULL));
        size_t calls = f->await_tries;
        for (size_t i = 0; i < f->ndel && i < MAXLOG; i++)
            calls += strcmp(f->chan[i], "slowch") == 0;
        if (c->x400) {
            /* unable-to-transfer (1) / content-too-long (7), 5.3.4, no DSN */
            assert_int_equal(calls, 0);
            assert_int_equal(f->x400_reports, 1);
            assert_int_equal(f->x400_reason, 1);
            assert_int_equal(f->x400_diag, 7);
            assert_string_equal(f->x400_status, "5.3.4");
            assert_int_equal(f->dsn_seen, 0);
        } else if (c->delivered) {
            assert_int_equal(calls, 1);
            assert_int_equal(f->dsn_seen, 0);
        } else {
            if (calls != 0 || f->dsn_seen != 1 || !strstr(f->dsn, "5.3.4") || !strstr(f->dsn, c->why))
                fail_msg("%s: calls %zu dsn %d:\n%s", c->name, calls, f->dsn_seen, f->dsn);
        }
        fx_close(f);
    }
}

/* ---- processing chains --------------------------------------------------------------------- */

static void t_processing_outcomes(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "okSender@example.org",
           (const char *[]){ "ok@rules.example", "hold@rules.example", "disc@rules.example",
                             "rej@rules.example", "ren@rules.example", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_idle, NULL));
    size_t two = 2;                                     /* the tagged delivery and the DSN */
    assert_true(run_until(f, p_ndel, &two));
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->processed, 1);
    /* ok@ and the renamed one travelled together, with the tagged content */
    int tagged = 0;
    for (size_t i = 0; i < f->ndel; i++)
        if (!strncmp(f->content[i], "X-Tag: policy\r\n", 15))
            tagged++;
    assert_int_equal(tagged, 1);
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_DELIVERED);
    assert_int_equal(m->rcpts[0].stage, 1);
    assert_int_equal(m->rcpts[0].cversion, 1);
    assert_int_equal(m->rcpts[1].state, MESSAGE_RCPT_HELD);
    assert_non_null(strstr(m->rcpts[1].last_reply, "held by channel policy: subject hold"));
    assert_int_equal(m->rcpts[2].state, MESSAGE_RCPT_DELIVERED);   /* discarded: final */
    assert_non_null(strstr(m->rcpts[2].last_reply, "discarded"));
    assert_int_equal(m->rcpts[3].state, MESSAGE_RCPT_FAILED);
    assert_non_null(strstr(m->rcpts[3].last_reply, "550 5.7.1 rejected by rule"));
    assert_int_equal(m->rcpts[4].state, MESSAGE_RCPT_DELIVERED);
    assert_string_equal(m->rcpts[4].next_addr, "ok-renamed@rules.example");
    assert_string_equal(m->rcpts[4].addr, "ren@rules.example");    /* the original stays */
    message_free(m);
    assert_int_equal(f->dsn_seen, 1);                   /* only for the rejected one */
    assert_int_equal(f->audit_records, 1);              /* the discard */
    struct qmgr_stats st;
    qmgr_get_stats(f->q, &st);
    assert_int_equal(st.held, 1);                       /* parked: only the held one left */
    assert_int_equal(st.messages, 1);                   /* the DSN was delivered and removed */
    /* release: the held recipient goes through the chain again */
    admin_status = 99;
    assert_int_equal(qmgr_release(f->q, id, on_admin, NULL), 0);
    assert_true(run_until(f, p_admin, NULL));
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->processed, 2);
    m = get(f, id);
    assert_int_equal(m->rcpts[1].state, MESSAGE_RCPT_HELD);        /* the rule holds it again */
    message_free(m);
    fx_close(f);
}

/* A kind that declares its work cheap (inline_max) runs small content on the loop thread, with
 * the same outcomes as on the pool; content over its limit, and other kinds, go to the pool. */
static void t_inline_processing(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE], big[MESSAGE_ID_SIZE], other[MESSAGE_ID_SIZE];
    submit(f, "okSender@example.org",
           (const char *[]){ "ok@quick.example", "hold@quick.example", "rej@quick.example",
                             "ren@quick.example", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_idle, NULL));
    size_t two = 2;                                     /* the tagged delivery and the DSN */
    assert_true(run_until(f, p_ndel, &two));
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->processed, 1);
    assert_int_equal(f->processed_on_loop, 1);
    assert_int_equal(strncmp(f->content[0], "X-Tag: quick\r\n", 14), 0);
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_DELIVERED);
    assert_int_equal(m->rcpts[0].cversion, 1);
    assert_int_equal(m->rcpts[1].state, MESSAGE_RCPT_HELD);
    assert_non_null(strstr(m->rcpts[1].last_reply, "held by channel quick: subject hold"));
    assert_int_equal(m->rcpts[2].state, MESSAGE_RCPT_FAILED);
    assert_string_equal(m->rcpts[3].next_addr, "ok-renamed@quick.example");
    message_free(m);
    assert_int_equal(f->dsn_seen, 1);
    /* over the kind's limit: the pool */
    submit(f, "okSender@example.org", (const char *[]){ "ok@quick.example", NULL }, -2000, 0, 0, big);
    assert_true(run_until(f, p_gone, big));
    assert_int_equal(f->processed, 2);
    assert_int_equal(f->processed_on_loop, 1);
    /* a kind that says nothing: the pool */
    submit(f, "okSender@example.org", (const char *[]){ "ok@rules.example", NULL }, 1, 0, 0, other);
    assert_true(run_until(f, p_gone, other));
    assert_int_equal(f->processed, 3);
    assert_int_equal(f->processed_on_loop, 1);
    fx_close(f);
}

/* Recipients on different chains each get their own content. */
static void t_per_group_content(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "ok@rules.example", "ok@plain.example", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_gone, id));
    assert_int_equal(f->ndel, 2);
    for (size_t i = 0; i < 2; i++) {
        if (strstr(f->order[i], "rules.example"))
            assert_int_equal(strncmp(f->content[i], "X-Tag: policy", 13), 0);
        else
            assert_int_equal(strncmp(f->content[i], "Subject: t", 10), 0);
    }
    fx_close(f);
}

/* A processing channel that converts between worlds sets the next hop's envelope parameters
 * (NOTIFY and ORCPT per recipient, ENVID, RET, the MTS identifier, the X.411 envelope): they are
 * on the message the delivery sees. The stage is kept in memory (qmgr_stage.c): while the
 * delivery is in flight the store has the message as received; when the delivery ends the
 * message final, the history row has the identifiers (report matching), and when it defers
 * the stage is written before the outcome, every parameter with it. */
static void t_stage_envelope_params(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE], mts[64];
    submit(f, "s@example.org", (const char *[]){ "dsnp@park.rules.example", NULL }, 1, 0, 0, id);
    snprintf(mts, sizeof mts, "[C=GB;ADMD= ;PRMD=Q]%s", id);
    size_t one = 1;
    assert_true(run_until(f, p_parked, &one));
    const struct message *dm = f->parked[0]->msg;
    assert_int_equal(dm->rcpts[0].notify, MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE);
    assert_string_equal(dm->rcpts[0].orcpt, "x400;/C=GB/ADMD= /S=Y/");
    assert_string_equal(dm->envid, "X400-MTS-Identifier: [/C=GB/ADMD= /;q1]");
    assert_string_equal(dm->mts_id, mts);
    assert_int_equal(dm->ret, MESSAGE_RET_HDRS);
    assert_int_equal(dm->x400_env_len, 3);
    /* the delivery's content version carries the type the channel said */
    assert_non_null(content_oid(f->parked[0]->content));
    assert_string_equal(content_oid(f->parked[0]->content), "1.3.26.0.4406.0.4.1");
    assert_true(dm->rcpts[0].flags & MESSAGE_RCPT_F_GW_FAILURE);
    assert_false(dm->rcpts[0].flags & MESSAGE_RCPT_F_GW_SUCCESS);
    assert_int_equal(dm->rcpts[0].cversion, 1);
    /* kept: nothing of the stage is in the store yet */
    struct queue_store_version sv;
    assert_int_equal(queue_store_read_version(f->store, id, 1, &sv), MG_ENOTFOUND);
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].stage, 0);
    assert_int_equal(m->rcpts[0].cversion, 0);
    assert_null(m->envid);
    assert_null(m->mts_id);
    message_free(m);
    struct queue_store_subject sub;
    assert_int_equal(queue_store_find_subject(f->store, mts, &sub), MG_ENOTFOUND);
    unpark(f, 0);                 /* 550: final, a report, removed */
    assert_true(run_until(f, p_gone, id));
    assert_int_equal(queue_store_find_subject(f->store, mts, &sub), 0);
    assert_string_equal(sub.id, id);
    assert_int_equal(sub.live, 0);
    assert_int_equal(queue_store_find_subject(f->store, "X400-MTS-Identifier: [/C=GB/ADMD= /;q1]",
                                              &sub), 0);
    assert_string_equal(sub.id, id);

    /* deferred: the stage is written first, with every parameter */
    char id2[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "dsnptmp@park.rules.example", NULL }, 1, 0, 0, id2);
    snprintf(mts, sizeof mts, "[C=GB;ADMD= ;PRMD=Q]%s", id2);
    size_t two = 2;
    assert_true(run_until(f, p_parked, &two));
    unpark(f, 1);
    assert_true(run_until(f, p_idle, NULL));
    m = get(f, id2);
    assert_int_equal(m->rcpts[0].stage, 1);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_DEFERRED);
    assert_true(m->rcpts[0].flags & MESSAGE_RCPT_F_GW_FAILURE);
    assert_int_equal(m->rcpts[0].notify, MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE);
    assert_string_equal(m->rcpts[0].orcpt, "x400;/C=GB/ADMD= /S=Y/");
    assert_string_equal(m->envid, "X400-MTS-Identifier: [/C=GB/ADMD= /;q1]");
    assert_string_equal(m->mts_id, mts);
    assert_int_equal(m->ret, MESSAGE_RET_HDRS);
    assert_int_equal(m->x400_env_len, 3);
    assert_memory_equal(m->x400_env, "\x31\x01\x00", 3);
    assert_int_equal(queue_store_read_version(f->store, id2, m->rcpts[0].cversion, &sv), 0);
    assert_string_equal(sv.content_oid, "1.3.26.0.4406.0.4.1");
    assert_int_equal(strncmp((const char *)sv.data, "X-Tag: policy", 13), 0);
    queue_store_version_free(&sv);
    message_free(m);
    assert_int_equal(queue_store_find_subject(f->store, mts, &sub), 0);
    assert_int_equal(sub.live, 1);
    fx_close(f);
}

/* A processing stage kept in memory costs the store nothing when the message is delivered;
 * after a "crash" while the delivery is in flight the store has the message before the stage,
 * and the next process runs it again (as after a real crash); once the delivery defers, the
 * stage is durable and is not run again after a restart. */
static void t_stage_durable_across_restart(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    struct queue_store_stats s0, s1;
    queue_store_get_stats(f->store, &s0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "ok@park.rules.example", NULL }, 1, 0, 0, id);
    size_t one = 1;
    assert_true(run_until(f, p_parked, &one));
    assert_int_equal(f->processed, 1);
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].stage, 0);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_PENDING);
    message_free(m);
    unpark(f, 0);
    assert_true(run_until(f, p_gone, id));
    assert_true(run_until(f, p_idle, NULL));
    queue_store_get_stats(f->store, &s1);
    assert_int_equal(s1.writes - s0.writes, 3);   /* submit, outcome, finish: no stage */
    fx_close(f);

    /* A store where the stage is done but the delivery not (it deferred). */
    f->ndel = 0;
    f->nparked = 0;
    fx_open(f, 100000, 10);
    char id2[MESSAGE_ID_SIZE];
    struct qmgr *q = f->q;
    f->q = NULL;
    submit(f, "s@example.org", (const char *[]){ "tmp@rules.example", NULL }, 1, 0, 0, id2);
    f->q = q;
    assert_int_equal(qmgr_start(f->q), 0);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->processed, 2);
    assert_int_equal(f->ndel, 1);                 /* deferred by the delivery channel */
    fx_close(f);
    f->ndel = 0;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    assert_int_equal(qmgr_flush(f->q), 1);
    size_t one2 = 1;
    assert_true(run_until(f, p_ndel, &one2));
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->processed, 2);            /* not processed again after the restart */
    assert_int_equal(strncmp(f->content[0], "X-Tag: policy", 13), 0);
    assert_string_equal(f->coid[0], "22");        /* the version's type, read from the store */
    fx_close(f);
}

/* Two kept stages in a row are written oldest first when the delivery defers (each write
 * needs the version before it), and the restart delivers the last one without processing. */
static void t_two_kept_stages(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "ok@two.example", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_gone, id));
    assert_int_equal(f->processed, 2);
    assert_int_equal(strncmp(f->content[0], "X-Tag: policy\r\nX-Tag: quick\r\n", 29), 0);
    char id2[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "tmp@two.example", NULL }, 1, 0, 0, id2);
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->processed, 4);
    struct message *m = get(f, id2);
    assert_int_equal(m->rcpts[0].stage, 2);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_DEFERRED);
    struct queue_store_version sv;
    assert_int_equal(queue_store_read_version(f->store, id2, m->rcpts[0].cversion, &sv), 0);
    assert_int_equal(strncmp((const char *)sv.data, "X-Tag: policy\r\nX-Tag: quick\r\n", 29), 0);
    queue_store_version_free(&sv);
    message_free(m);
    fx_close(f);
    f->ndel = 0;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    assert_int_equal(qmgr_flush(f->q), 1);
    size_t one = 1;
    assert_true(run_until(f, p_ndel, &one));
    assert_true(run_until(f, p_idle, NULL));
    assert_int_equal(f->processed, 4);
    assert_int_equal(strncmp(f->content[0], "X-Tag: policy\r\nX-Tag: quick\r\n", 29), 0);
    fx_close(f);
}

static void t_copy_to(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "copy-ok@rules.example", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_gone, id));
    /* copy-ok@ is not "ok": it fails; copied@ goes through its own route and is delivered */
    int copied = 0;
    for (size_t i = 0; i < f->ndel; i++)
        copied += strstr(f->all[i], "copied@rules.example") != NULL;
    assert_int_equal(copied, 1);
    fx_close(f);
}

static void t_channel_cannot_process_holds(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "ok@cms.example", "ok@other.example", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_idle, NULL));
    size_t one = 1;
    assert_true(run_until(f, p_ndel, &one));
    assert_true(run_until(f, p_idle, NULL));
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_HELD);
    assert_non_null(strstr(m->rcpts[0].last_reply, "enc"));
    assert_int_equal(m->rcpts[1].state, MESSAGE_RCPT_DELIVERED);  /* the other goes on */
    message_free(m);
    assert_int_equal(f->ndel, 1);
    fx_close(f);
}

/* A decision that cannot be audited does not move the message. */
static void t_audit_failure_blocks_stage(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    f->audit_fail = 1;
    assert_int_equal(qmgr_start(f->q), 0);
    char id[MESSAGE_ID_SIZE];
    submit(f, "s@example.org", (const char *[]){ "disc@rules.example", NULL }, 1, 0, 0, id);
    assert_true(run_until(f, p_idle, NULL));
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_PENDING);
    assert_int_equal(m->rcpts[0].stage, 0);
    message_free(m);
    f->audit_fail = 0;
    f->now += 61;
    qmgr_kick(f->q);
    assert_true(run_until(f, p_gone, id));
    assert_int_equal(f->audit_records, 1);
    fx_close(f);
}

/* ---- the delivery gate (label access control) ------------------------------------------- */

static int gate_calls;
static int gate_check(void *ctx, const struct channel_task *t, struct channel_result *r)
{
    (void)ctx;
    __atomic_add_fetch(&gate_calls, 1, __ATOMIC_SEQ_CST);
    if (t->peer || !t->channel->delivery)
        return MG_EINVAL;                         /* "local" has no peer; only delivery groups */
    for (size_t i = 0; i < t->nrcpts; i++) {
        const char *a = t->rcpt_addrs[i];
        struct channel_outcome *o = &r->rcpts[i].outcome;
        if (!strncmp(a, "deny", 4)) {
            channel_outcome_set(o, CHANNEL_FAILED, 550, "5.7.1", "not cleared for this message", NULL);
            channel_result_add_audit(r, (int)i, "access-denied", "clearance", "label", "L", 1, NULL);
        } else if (!strncmp(a, "dirdown", 7)) {
            channel_outcome_set(o, CHANNEL_DEFERRED, 451, "4.7.0", "directory unreachable", NULL);
        } else {
            channel_result_add_audit(r, (int)i, "access-granted", "clearance", "label", "L", 1, NULL);
        }
    }
    return 0;
}

static void t_delivery_gate(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    /* recreate the qmgr with a gate */
    qmgr_free(f->q);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    struct qmgr_opts o = { .now = fake_now, .now_ctx = f, .audit = { .append = audit_append, .ctx = f },
                           .gate = { .check = gate_check } };
    assert_int_equal(qmgr_create(&f->q, &f->loop, f->store, f->cfg, &o), 0);
    assert_int_equal(qmgr_start(f->q), 0);
    gate_calls = 0;
    char id[MESSAGE_ID_SIZE];
    submit(f, "okSender@example.org",
           (const char *[]){ "ok@example.net", "deny@example.net", "dirdown@example.net", NULL }, 1, 0, 0, id);
    size_t two = 2;                           /* ok@ and the DSN about deny@ */
    assert_true(run_until(f, p_ndel, &two));
    assert_true(run_until(f, p_idle, NULL));
    for (size_t i = 0; i < f->ndel; i++) {
        assert_null(strstr(f->all[i], "deny@"));      /* never handed to the channel */
        assert_null(strstr(f->all[i], "dirdown@"));
    }
    struct message *m = get(f, id);
    assert_int_equal(m->rcpts[0].state, MESSAGE_RCPT_DELIVERED);
    assert_int_equal(m->rcpts[1].state, MESSAGE_RCPT_FAILED);
    assert_non_null(strstr(m->rcpts[1].last_reply, "550 5.7.1 not cleared"));
    assert_int_equal(m->rcpts[2].state, MESSAGE_RCPT_DEFERRED);
    message_free(m);
    assert_int_equal(f->dsn_seen, 1);
    assert_true(f->audit_records >= 3);       /* granted, denied; the DSN's own grant */
    /* the deferred one meets the gate again at its next attempt */
    int before = gate_calls;
    f->now += 61;
    qmgr_kick(f->q);
    assert_true(run_until(f, p_idle, NULL));
    assert_true(gate_calls > before);
    fx_close(f);
}

/* ---- routing by label ----------------------------------------------------------------------- */

/* The labels module's stand-in: a rule with label_at_least = "HIGH" holds for the label "HIGH". */
static int route_calls;
static int fake_route_match(void *ctx, const struct config *cfg, const struct config_route *r, const void *der,
                            size_t len)
{
    (void)ctx; (void)cfg;
    __atomic_add_fetch(&route_calls, 1, __ATOMIC_SEQ_CST);
    return r->label->at_least && len == strlen(r->label->at_least) && !memcmp(der, r->label->at_least, len);
}

/* Submits one message with an envelope label. */
static void submit_labelled(struct fx *f, const char *rcpt, const char *label, char id_out[MESSAGE_ID_SIZE])
{
    struct message *m = message_create();
    assert_non_null(m);
    assert_int_equal(message_set_originator(m, "s@example.org"), 0);
    assert_int_equal(message_add_rcpt(m, rcpt, NULL, 0, NULL), 0);
    if (label)
        assert_int_equal(message_set_label(m, label, strlen(label)), 0);
    m->arrival = f->now;
    static const char body[] = "Subject: t\r\n\r\nhello\r\n";
    struct sub s = { .f = f, .m = m, .body = body, .len = sizeof body - 1 };
    assert_int_equal(queue_store_submit(f->store, m, body, sizeof body - 1, on_submit, &s), 0);
    while (!s.done)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(s.status, 0);
    snprintf(id_out, MESSAGE_ID_SIZE, "%s", m->id);
    message_free(m);
}

static void qmgr_with_route_label(struct fx *f, bool matcher)
{
    qmgr_free(f->q);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    struct qmgr_opts o = { .now = fake_now, .now_ctx = f, .audit = { .append = audit_append, .ctx = f } };
    if (matcher)
        o.route_label.match = fake_route_match;
    assert_int_equal(qmgr_create(&f->q, &f->loop, f->store, f->cfg, &o), 0);
    assert_int_equal(qmgr_start(f->q), 0);
}

/* The first stage is planned with the envelope's label; the shaper's new label routes the next
 * stage (the rule for "HIGH" shares the shaper as its first stage). A message labelled HIGH from
 * the start takes that rule at once; the shaper saw each message's label of the moment. */
static void t_route_by_label_after_shaper(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    qmgr_with_route_label(f, true);
    route_calls = 0;
    char low[MESSAGE_ID_SIZE], high[MESSAGE_ID_SIZE], none[MESSAGE_ID_SIZE];
    submit_labelled(f, "ok-low@lr.example", "LOW", low);
    assert_true(run_until(f, p_gone, low));
    submit_labelled(f, "ok-high@lr.example", "HIGH", high);
    assert_true(run_until(f, p_gone, high));
    submit_labelled(f, "ok-none@lr.example", NULL, none);
    assert_true(run_until(f, p_gone, none));
    assert_int_equal(f->ndel, 3);
    assert_string_equal(f->order[0], "ok-low@lr.example");
    assert_string_equal(f->chan[0], "fastch");      /* relabelled HIGH by the shaper */
    assert_string_equal(f->content[0], "X-Label-Seen: LOW\r\n");
    assert_string_equal(f->chan[1], "fastch");
    assert_string_equal(f->content[1], "X-Label-Seen: HIGH\r\n");
    assert_string_equal(f->chan[2], "fastch");      /* unlabelled, then HIGH after the shaper */
    assert_string_equal(f->content[2], "X-Label-Seen: \r\n");
    assert_true(route_calls >= 4);
    fx_close(f);
}

/* Without the matcher (no labels module), rules with label conditions never match. */
static void t_route_label_without_matcher(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    qmgr_with_route_label(f, false);
    char id[MESSAGE_ID_SIZE];
    submit_labelled(f, "ok-high@lr.example", "HIGH", id);
    assert_true(run_until(f, p_gone, id));
    assert_int_equal(f->ndel, 1);
    assert_string_equal(f->chan[0], "local");
    fx_close(f);
}

/* ---- drain and reload with deliveries in flight ------------------------------------------- */

static int released;
static void on_release(void *arg, const struct config *old)
{
    (void)arg;
    released++;
    config_free((struct config *)old);
}

static void t_reload_and_drain_in_flight(void **state)
{
    struct fx *f = *state;
    fx_open(f, 100000, 10);
    assert_int_equal(qmgr_start(f->q), 0);
    assert_int_equal(f->instances_started, 4);  /* local, slowch, fastch, hidden */
    for (int i = 0; i < 3; i++)
        submit(f, "s@example.org", (const char *[]){ "ok@park-slow.example", NULL }, 1, 0, 0, NULL);
    size_t three = 3;
    assert_true(run_until(f, p_parked, &three));
    /* reload: new instances start; the old configuration waits for its deliveries */
    released = 0;
    struct config *n = load(f, 100000, 10, 10);
    qmgr_set_config(f->q, n, on_release, NULL);
    f->cfg = n;
    assert_int_equal(f->instances_started, 8);
    assert_int_equal(released, 0);
    unpark(f, 0);
    unpark(f, 1);
    assert_true(run_until(f, p_idle, NULL) || 1);
    assert_int_equal(released, 0);
    /* drain with one still in flight: done only after it completes */
    int done = 0;
    qmgr_drain(f->q, drained, &done);
    for (int i = 0; i < 20; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(done, 0);
    unpark(f, 2);
    while (!done)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(released, 1);
    assert_int_equal(f->instances_stopped, 8);
    qmgr_free(f->q);
    f->q = NULL;
    queue_store_close(f->store);
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    config_free(f->cfg);
    f->cfg = NULL;
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
        cmocka_unit_test_setup_teardown(t_head_of_line, setup, teardown),
        cmocka_unit_test_setup_teardown(t_fair_between_destinations, setup, teardown),
        cmocka_unit_test_setup_teardown(t_throttle_and_release, setup, teardown),
        cmocka_unit_test_setup_teardown(t_processing_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(t_per_group_content, setup, teardown),
        cmocka_unit_test_setup_teardown(t_inline_processing, setup, teardown),
        cmocka_unit_test_setup_teardown(t_stage_envelope_params, setup, teardown),
        cmocka_unit_test_setup_teardown(t_stage_durable_across_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(t_two_kept_stages, setup, teardown),
        cmocka_unit_test_setup_teardown(t_copy_to, setup, teardown),
        cmocka_unit_test_setup_teardown(t_channel_cannot_process_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(t_audit_failure_blocks_stage, setup, teardown),
        cmocka_unit_test_setup_teardown(t_delivery_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(t_peer_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(t_await_peer_wake, setup, teardown),
        cmocka_unit_test_setup_teardown(t_await_peer_wake_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(t_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(t_not_before, setup, teardown),
        cmocka_unit_test_setup_teardown(t_route_by_label_after_shaper, setup, teardown),
        cmocka_unit_test_setup_teardown(t_route_label_without_matcher, setup, teardown),
        cmocka_unit_test_setup_teardown(t_reload_and_drain_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(t_hot_not_read_back, setup, teardown),
#define HOT(t) { #t " (hot hand-over)", t, setup_hot, teardown, NULL }
        HOT(t_delivered_and_removed),
        HOT(t_failure_returns_dsn),
        HOT(t_tempfail_defers_with_backoff),
        HOT(t_priority_order_and_recovery),
        HOT(t_hold_release_delete),
        HOT(t_head_of_line),
        HOT(t_processing_outcomes),
        HOT(t_per_group_content),
        HOT(t_inline_processing),
        HOT(t_delivery_gate),
        HOT(t_not_before),
        HOT(t_route_by_label_after_shaper),
        HOT(t_reload_and_drain_in_flight),
#undef HOT
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
