/* test_submit: the shared submission step (mta/submit) without any protocol: RCPT-time checks
 * as a table of named cases (relay by network and by domain, no route, listener gone, unknown
 * client, O/R address not routable yet), the envelope -> struct message mapping, and the
 * durable enqueue against a real queue store and queue manager (completion only from the
 * loop, then queue full; refused enqueues never call back). */
#include "config.h"
#include "message.h"
#include "mg_err.h"
#include "mg_log.h"
#include "qmgr.h"
#include "queue_store.h"
#include "submit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define CONF_FMT \
    "global = { hostname = \"submit.test\"; var_dir = \"%s\"; };\n" \
    "queue = { max_messages = %d; };\n" \
    "listeners = ( { name = \"in\"; protocol = \"smtp\"; listen = \"127.0.0.1:2525\";\n" \
    "                relay_networks = [ \"127.0.0.0/8\", \"2001:db8::/32\" ];\n" \
    "                local_domains = [ \"local.example\" ]; },\n" \
    "              { name = \"p1\"; protocol = \"p1\"; listen = \"127.0.0.1:1102\"; } );\n" \
    "channels = ( { name = \"local\"; type = \"file\"; directory = \"%s/deliver\"; },\n" \
    "             { name = \"enc\"; type = \"cms\"; } );\n" \
    "routes = ( { domain = \"local.example\"; chain = [ \"local\" ]; },\n" \
    "           { domain = \"cms.example\"; chain = [ \"enc\", \"local\" ]; },\n" \
    "           { or_address = \"/C=DE/ADMD=Admd/\"; chain = [ \"enc\", \"local\" ]; },\n" \
    "           { or_address = \"/C=DE/ADMD=Admd/PRMD=Prmd/\"; chain = [ \"local\" ]; } );\n"

struct fx {
    char dir[256];
    struct config *cfg;
};

static struct config *load(const char *dir, int max_messages)
{
    char text[2048];
    snprintf(text, sizeof text, CONF_FMT, dir, max_messages, dir);
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;
    int rc = config_load_text("submit-test.conf", text, strlen(text), NULL, NULL, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.v[i].text);
    config_errors_free(&errs);
    assert_int_equal(rc, 0);
    return cfg;
}

static void sockaddr_of(const char *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        return;
    }
    assert_int_equal(inet_pton(AF_INET6, a, &s6->sin6_addr), 1);
    s6->sin6_family = AF_INET6;
}

/* ---- RCPT-time checks ---- */

struct ccase {
    const char *name;
    int listener;              /* 0 = removed by a reload, 1 = "in" (smtp), 2 = "p1" */
    const char *client;        /* NULL = address unknown */
    enum submit_addr_kind kind;
    const char *rcpt;
    int rc;
    enum submit_verdict verdict;
    const char *status;
    const char *chain;         /* on SUBMIT_OK: first chain channel */
};

static const struct ccase ccases[] = {
    { "local domain from any client", 1, "203.0.113.9", SUBMIT_ADDR_MAILBOX, "u@local.example", 0, SUBMIT_OK, "2.1.5", "local" },
    { "relay by network (v4)", 1, "127.0.0.1", SUBMIT_ADDR_MAILBOX, "u@cms.example", 0, SUBMIT_OK, "2.1.5", "enc" },
    { "relay by network (v6)", 1, "2001:db8::25", SUBMIT_ADDR_MAILBOX, "u@cms.example", 0, SUBMIT_OK, "2.1.5", "enc" },
    { "relay denied outside the networks", 1, "203.0.113.9", SUBMIT_ADDR_MAILBOX, "u@cms.example", MG_EDENIED, SUBMIT_RELAY_DENIED, "5.7.1", NULL },
    { "relay denied without a client address", 1, NULL, SUBMIT_ADDR_MAILBOX, "u@local.example", MG_EDENIED, SUBMIT_RELAY_DENIED, "5.7.1", NULL },
    { "no route (no default route)", 1, "127.0.0.1", SUBMIT_ADDR_MAILBOX, "u@nowhere.example", MG_EDENIED, SUBMIT_NO_ROUTE, "5.1.2", NULL },
    { "listener removed by a reload", 0, "127.0.0.1", SUBMIT_ADDR_MAILBOX, "u@local.example", MG_ETEMP, SUBMIT_UNAVAILABLE, "4.3.2", NULL },
    { "O/R address over SMTP", 1, "127.0.0.1", SUBMIT_ADDR_ORADDR, "G=Ann;S=Smith;O=Org;P=Prmd;A=Admd;C=DE", MG_EDENIED, SUBMIT_UNSUPPORTED_ADDRESS, "5.1.3", NULL },
    { "O/R address over P1, most specific rule", 2, "203.0.113.9", SUBMIT_ADDR_ORADDR, "G=Ann;S=Smith;O=Org;P=Prmd;A=Admd;C=DE", 0, SUBMIT_OK, "2.1.5", "local" },
    { "O/R address over P1, shorter rule", 2, "203.0.113.9", SUBMIT_ADDR_ORADDR, "/C=DE/ADMD=Admd/PRMD=Other/S=x/", 0, SUBMIT_OK, "2.1.5", "enc" },
    { "O/R address over P1, no rule", 2, "203.0.113.9", SUBMIT_ADDR_ORADDR, "/C=FR/ADMD= /S=x/", MG_EDENIED, SUBMIT_NO_ROUTE, "5.1.2", NULL },
    { "malformed O/R address", 2, "203.0.113.9", SUBMIT_ADDR_ORADDR, "/C=FR/BOGUS=1/", MG_EDENIED, SUBMIT_UNSUPPORTED_ADDRESS, "5.1.3", NULL },
};

static void test_check_rcpt(void **state)
{
    struct fx *f = *state;
    struct submit_ctx ctx = { .cfg = f->cfg };
    for (size_t i = 0; i < sizeof ccases / sizeof ccases[0]; i++) {
        const struct ccase *c = &ccases[i];
        struct sockaddr_storage ss;
        if (c->client)
            sockaddr_of(c->client, &ss);
        struct submit_origin o = {
            .listener = c->listener ? config_find_listener(f->cfg, c->listener == 2 ? "p1" : "in") : NULL,
            .client = c->client ? (const struct sockaddr *)&ss : NULL,
            .client_addr = c->client, .client_name = "client.test", .proto = "ESMTP", .session = "T1",
        };
        struct submit_rcpt r = { .kind = c->kind, .addr = c->rcpt };
        struct submit_result res;
        memset(&res, 0xA5, sizeof res);
        int rc = submit_check_rcpt(&ctx, &o, &r, &res);
        if (rc != c->rc || res.verdict != c->verdict || strcmp(res.status, c->status))
            fail_msg("case \"%s\": rc=%d verdict=%s status=%s", c->name, rc, submit_verdict_name(res.verdict),
                     res.status);
        if (!res.reason || !*res.reason)
            fail_msg("case \"%s\": no reason", c->name);
        if (res.temporary != (c->status[0] == '4'))
            fail_msg("case \"%s\": temporary=%d", c->name, res.temporary);
        if (c->chain && (!res.route || strcmp(res.route->chain[0]->name, c->chain)))
            fail_msg("case \"%s\": wrong route", c->name);
        if (!c->chain && res.route)
            fail_msg("case \"%s\": a route on refusal", c->name);
    }
    struct submit_result res;
    assert_int_equal(submit_check_rcpt(&ctx, NULL, NULL, &res), MG_EINVAL);
}

/* ---- envelope -> message ---- */

static void test_build_message(void **state)
{
    struct fx *f = *state;
    struct submit_ctx ctx = { .cfg = f->cfg };
    struct submit_origin o = { .listener = config_find_listener(f->cfg, "in"), .client_addr = "192.0.2.1",
                               .client_name = "client.test", .proto = "ESMTPS", .session = "T2" };
    const struct submit_rcpt rcpts[] = {
        { SUBMIT_ADDR_MAILBOX, "u@local.example", "rfc822;orig@old.example",
          MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE },
        { SUBMIT_ADDR_MAILBOX, "v@cms.example", NULL, 0 },
        { SUBMIT_ADDR_MAILBOX, "w@nowhere.example", NULL, MESSAGE_NOTIFY_NEVER },
    };
    struct submit_envelope env = { .originator = "s@x.example", .envid = "E-1", .ret = MESSAGE_RET_HDRS,
                                   .priority = -1, .content_type = MESSAGE_CONTENT_RFC5322,
                                   .rcpts = rcpts, .nrcpts = 3 };
    struct message *m = NULL;
    assert_int_equal(submit_build_message(&ctx, &o, &env, &m), 0);
    assert_string_equal(m->originator, "s@x.example");
    assert_string_equal(m->envid, "E-1");
    assert_int_equal(m->ret, MESSAGE_RET_HDRS);
    assert_int_equal(m->priority, MESSAGE_PRIORITY_DEFAULT);
    assert_string_equal(m->received_from, "client.test [192.0.2.1]");
    assert_string_equal(m->received_proto, "ESMTPS");
    assert_int_equal(m->nrcpts, 3);
    assert_string_equal(m->rcpts[0].orcpt, "rfc822;orig@old.example");
    assert_int_equal(m->rcpts[0].notify, MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE);
    assert_string_equal(m->rcpts[0].chain, "local");
    assert_string_equal(m->rcpts[0].route, "line9");
    assert_null(m->rcpts[0].peer);
    assert_string_equal(m->rcpts[1].chain, "enc,local");
    assert_string_equal(m->rcpts[1].route, "line10");
    assert_null(m->rcpts[2].chain); /* routing changed since RCPT: the qmgr decides */
    assert_int_equal(m->rcpts[2].notify, MESSAGE_NOTIFY_NEVER);
    message_free(m);

    /* the null reverse path, a priority, and what is refused */
    env.originator = "";
    env.priority = MESSAGE_PRIORITY_MAX;
    env.nrcpts = 1;
    assert_int_equal(submit_build_message(&ctx, &o, &env, &m), 0);
    assert_string_equal(m->originator, "");
    assert_int_equal(m->priority, MESSAGE_PRIORITY_MAX);
    message_free(m);
    env.priority = MESSAGE_PRIORITY_MAX + 1;
    assert_int_equal(submit_build_message(&ctx, &o, &env, &m), MG_EINVAL);
    assert_null(m);
    env.priority = -1;
    /* An O/R address: canonical form, its kind, its route; the X.400 fields are kept. */
    const struct submit_rcpt orr = { SUBMIT_ADDR_ORADDR, "G=Ann;S=Smith;P=Prmd;A=Admd;C=DE", NULL, 0 };
    static const unsigned char envber[] = { 0x31, 0x03, 0x02, 0x01, 0x05 };
    env.rcpts = &orr;
    env.mts_id = "[C=DE;ADMD=Admd;PRMD=Prmd]X1";
    env.content_oid = "22";
    env.x400_env = envber;
    env.x400_env_len = sizeof envber;
    assert_int_equal(submit_build_message(&ctx, &o, &env, &m), 0);
    assert_string_equal(m->rcpts[0].addr, "/C=DE/ADMD=Admd/PRMD=Prmd/S=Smith/G=Ann/");
    assert_int_equal(m->rcpts[0].kind, MESSAGE_ADDR_ORADDR);
    assert_string_equal(m->rcpts[0].chain, "local");
    assert_string_equal(m->mts_id, "[C=DE;ADMD=Admd;PRMD=Prmd]X1");
    assert_string_equal(m->content_oid, "22");
    assert_int_equal(m->x400_env_len, sizeof envber);
    assert_memory_equal(m->x400_env, envber, sizeof envber);
    struct message *d = message_dup(m);
    assert_non_null(d);
    assert_int_equal(d->rcpts[0].kind, MESSAGE_ADDR_ORADDR);
    assert_memory_equal(d->x400_env, envber, sizeof envber);
    message_free(d);
    message_free(m);
    const struct submit_rcpt bad = { SUBMIT_ADDR_ORADDR, "G=Ann;BOGUS=1", NULL, 0 };
    env.rcpts = &bad;
    assert_int_equal(submit_build_message(&ctx, &o, &env, &m), MG_EPARSE);
    assert_null(m);
}

/* ---- enqueue ---- */

struct eq {
    int calls, status;
    char id[MESSAGE_ID_SIZE];
};

static void on_done(void *arg, int status, const struct message *msg)
{
    struct eq *e = arg;
    e->calls++;
    e->status = status;
    snprintf(e->id, sizeof e->id, "%s", msg->id);
}

static void drained(void *arg) { *(int *)arg = 1; }

static void test_enqueue_then_queue_full(void **state)
{
    struct fx *f = *state;
    struct config *cfg = load(f->dir, 1);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    char db[300];
    snprintf(db, sizeof db, "%s/queue.db", f->dir);
    struct queue_store *store;
    assert_int_equal(queue_store_open(&store, &loop, db, NULL), 0);
    struct qmgr *q;
    assert_int_equal(qmgr_create(&q, &loop, store, cfg, NULL), 0); /* not started: nothing is delivered */
    struct submit_ctx ctx = { .cfg = cfg, .store = store, .qmgr = q };
    struct sockaddr_storage ss;
    sockaddr_of("127.0.0.1", &ss);
    struct submit_origin o = { .listener = config_find_listener(cfg, "in"), .client = (struct sockaddr *)&ss,
                               .client_addr = "127.0.0.1", .client_name = "c.test", .proto = "ESMTP" };
    const struct submit_rcpt r = { SUBMIT_ADDR_MAILBOX, "u@local.example", NULL, 0 };
    struct submit_result res;
    assert_int_equal(submit_check_rcpt(&ctx, &o, &r, &res), 0);

    struct submit_envelope env = { .originator = "s@x.example", .priority = -1, .rcpts = &r, .nrcpts = 1 };
    struct message *m;
    assert_int_equal(submit_build_message(&ctx, &o, &env, &m), 0);
    static const char body[] = "Subject: t\r\n\r\nhello\r\n";
    unsigned char *content = (unsigned char *)strdup(body);
    struct eq e = { 0 };
    assert_int_equal(submit_enqueue(&ctx, m, content, sizeof body - 1, on_done, &e), 0);
    assert_int_equal(e.calls, 0); /* never inside the call */
    while (e.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(e.calls, 1);
    assert_int_equal(e.status, 0);
    assert_int_equal(strlen(e.id), MESSAGE_ID_LEN);
    struct qmgr_stats st;
    qmgr_get_stats(q, &st);
    assert_int_equal(st.messages, 1);
    struct message *back = NULL;
    assert_int_equal(queue_store_get(store, e.id, &back), 0);
    assert_string_equal(back->rcpts[0].chain, "local");
    assert_string_equal(back->received_proto, "ESMTP");
    assert_int_equal(back->content_size, sizeof body - 1);
    message_free(back);

    /* queue.max_messages = 1 is reached */
    assert_int_equal(submit_check_rcpt(&ctx, &o, &r, &res), MG_ETEMP);
    assert_int_equal(res.verdict, SUBMIT_QUEUE_FULL);
    assert_string_equal(res.status, "4.3.1");

    /* a message the store refuses: the callback never runs, nothing leaks */
    struct submit_envelope none = { .originator = "s@x.example", .priority = -1 };
    assert_int_equal(submit_build_message(&ctx, &o, &none, &m), 0);
    struct eq e2 = { 0 };
    assert_int_equal(submit_enqueue(&ctx, m, NULL, 0, on_done, &e2), MG_EINVAL);
    assert_int_equal(submit_enqueue(&ctx, NULL, NULL, 0, on_done, &e2), MG_EINVAL);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(e2.calls, 0);

    int done = 0;
    qmgr_drain(q, drained, &done);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    qmgr_free(q);
    queue_store_close(store);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    config_free(cfg);
}

/* A store opened without a loop (offline tools) completes inside the call: done still runs
 * exactly once on success. */
static void test_enqueue_without_loop(void **state)
{
    struct fx *f = *state;
    char db[300];
    snprintf(db, sizeof db, "%s/offline.db", f->dir);
    struct queue_store *store;
    assert_int_equal(queue_store_open(&store, NULL, db, NULL), 0);
    struct submit_ctx ctx = { .cfg = f->cfg, .store = store };
    struct submit_origin o = { .listener = config_find_listener(f->cfg, "in"), .client_addr = "127.0.0.1",
                               .client_name = "c.test", .proto = "file" };
    const struct submit_rcpt r = { SUBMIT_ADDR_MAILBOX, "u@local.example", NULL, 0 };
    struct submit_envelope env = { .originator = "s@x.example", .priority = -1, .rcpts = &r, .nrcpts = 1 };
    struct message *m;
    assert_int_equal(submit_build_message(&ctx, &o, &env, &m), 0);
    struct eq e = { 0 };
    assert_int_equal(submit_enqueue(&ctx, m, (unsigned char *)strdup("x\r\n"), 3, on_done, &e), 0);
    assert_int_equal(e.calls, 1);
    assert_int_equal(e.status, 0);
    struct submit_envelope none = { .originator = "s@x.example", .priority = -1 };
    assert_int_equal(submit_build_message(&ctx, &o, &none, &m), 0);
    struct eq e2 = { 0 };
    assert_int_equal(submit_enqueue(&ctx, m, NULL, 0, on_done, &e2), MG_EINVAL);
    assert_int_equal(e2.calls, 0); /* the loop-less store called back; submit did not pass it on */
    queue_store_close(store);
}

static int setup(void **state)
{
    static struct fx f;
    snprintf(f.dir, sizeof f.dir, "/tmp/mg-submit-XXXXXX");
    if (!mkdtemp(f.dir))
        return -1;
    f.cfg = load(f.dir, 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    config_free(f->cfg);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    mg_log_set_level(MG_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_rcpt),
        cmocka_unit_test(test_build_message),
        cmocka_unit_test(test_enqueue_then_queue_full),
        cmocka_unit_test(test_enqueue_without_loop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
