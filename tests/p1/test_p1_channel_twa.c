/* test_p1_channel_twa: the `p1` delivery channel (initiator) and the inbound listener
 * (responder) in one loop over loopback TCP, both in two-way-alternate mode: the channel
 * transfers its delivery (RELAYED once confirmed), passes the turn the listener asked for, takes
 * the listener's queued message through its receiver (acknowledged once the receiver says
 * durable) and gets the turn back. Without a receiver the channel keeps the turn: the
 * listener's message stays with its owner, untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "channels.h"
#include "content.h"
#include "message.h"
#include "mg_buf.h"
#include "p1_channel.h"
#include "p1_listener.h"
#include "p1_test_util.h"

struct world {
    uv_loop_t loop;
    struct p1_listener *l;
    void *inst;
    int use_receiver;
    /* the listener's owner */
    struct mg_buf queued;
    int lent, outcome, stored_at_b, peer_please;
    /* the channel's side */
    int delivered;
    enum channel_action action;
    int received;
    struct mg_buf got;
    const char *peer_seen;
    int stopping, stopped;
};

static int b_bind(void *arg, struct p1_conn *c, const struct p1_ind *ind, int busy,
                  struct p1_bind *ours, long *err)
{
    (void)arg;
    (void)c;
    (void)busy;
    if (strcmp(ind->bind.name, "MTA-A") || strcmp(ind->bind.password, "pw-a")) {
        *err = P1_BIND_ERR_AUTHENTICATION;
        return 1;
    }
    assert_int_equal(ind->dialogue, P1_DIALOGUE_TWA);
    *ours = (struct p1_bind){1, "MTA-B", "pw-b", 1};
    return 0;
}

static void maybe_stop(struct world *w);

static void b_apdu(void *arg, struct p1_conn *c, const uint8_t *apdu, size_t len)
{
    struct world *w = arg;
    (void)apdu;
    (void)len;
    w->stored_at_b++;
    p1_conn_apdu_done(c, 0);
}

static int b_pending(void *arg, struct p1_conn *c)
{
    struct world *w = arg;
    (void)c;
    w->peer_please = 1;
    return !w->lent;
}

static int b_next(void *arg, struct p1_conn *c, const uint8_t **apdu, size_t *len, void **tok)
{
    struct world *w = arg;
    (void)c;
    if (w->lent)
        return 0;
    w->lent = 1;
    *apdu = w->queued.data;
    *len = w->queued.len;
    *tok = &w->outcome;
    return 1;
}

static void b_done(void *arg, struct p1_conn *c, void *tok, int outcome, const char *reason)
{
    struct world *w = arg;
    (void)c;
    (void)reason;
    assert_ptr_equal(tok, &w->outcome);
    assert_int_equal(w->outcome, -1);
    w->outcome = outcome;
    maybe_stop(w);
}

static void a_receive(void *arg, const struct config_peer *peer, const uint8_t *apdu, size_t len,
                      void *token)
{
    struct world *w = arg;
    w->received++;
    w->peer_seen = peer->name;
    mg_buf_reset(&w->got);
    mg_buf_append(&w->got, apdu, len);
    p1_channel_apdu_done(token, 0);
}

static void on_done(struct channel_delivery *d)
{
    struct world *w = d->qmgr_data;
    w->delivered++;
    w->action = d->outcomes[0].action;
    maybe_stop(w);
}

static void listener_closed(void *arg)
{
    (void)arg;
}

static void inst_stopped(void *arg)
{
    struct world *w = arg;
    w->stopped = 1;
    p1_listener_close(w->l, listener_closed, w);
}

static void on_next_tick(uv_idle_t *t)
{
    /* The channel has handled the confirmation (and would have passed the turn by now): stop
     * it; had it passed the turn, the listener would lend its message on these bytes. */
    struct world *w = t->data;
    uv_idle_stop(t);
    uv_close((uv_handle_t *)t, NULL);
    w->stopping = 1;
    p1_channel_kind.stop(w->inst, inst_stopped, w);
}

static uv_idle_t next_tick;

static void maybe_stop(struct world *w)
{
    if (w->stopping || !w->delivered)
        return;
    if (w->use_receiver) {
        if (w->outcome == -1)
            return;
        w->stopping = 1;
        p1_channel_kind.stop(w->inst, inst_stopped, w);
        return;
    }
    uv_idle_init(&w->loop, &next_tick);
    next_tick.data = w;
    uv_idle_start(&next_tick, on_next_tick);
}

static void channel_twa(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int receiver;
    } cases[] = {{"with-receiver", 1}, {"without-receiver-keeps-turn", 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct world w;
        memset(&w, 0, sizeof w);
        w.use_receiver = cases[k].receiver;
        w.outcome = -1;
        mg_buf_init(&w.queued, 0);
        mg_buf_init(&w.got, 0);
        ptu_make_apdu(&w.queued, 4000);
        assert_int_equal(uv_loop_init(&w.loop), 0);
        struct p1_listener_opts lo = {.listen = "127.0.0.1:0", .max_assocs = 4};
        struct p1_listener_cbs cbs = {b_bind, b_apdu, b_pending, b_next, b_done, NULL};
        assert_int_equal(p1_listener_create(&w.l, &w.loop, &lo, &cbs, &w), 0);
        char text[2048];
        snprintf(text, sizeof text,
                 "global = { hostname = \"a.test\"; var_dir = \"/tmp\"; "
                 "x400_domain = \"/C=XX/ADMD= /PRMD=A/\"; };\n"
                 "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
                 "channels = ( { name = \"p1-out\"; type = \"p1\"; } );\n"
                 "peers = ( { name = \"b\"; type = \"x400\"; mta_name = \"MTA-B\"; "
                 "password = \"pw-b\"; our_mta_name = \"MTA-A\"; our_password = \"pw-a\"; "
                 "host = \"127.0.0.1:%d\"; dialogue = \"two-way-alternate\"; "
                 "idle_timeout = 60; } );\n"
                 "routes = ( { or_address = \"*\"; chain = [ \"p1-out\" ]; peer = \"b\"; },\n"
                 "           { default = true; chain = [ \"p1-out\" ]; peer = \"b\"; } );\n",
                 p1_listener_port(w.l));
        struct config *cfg = NULL;
        struct config_errors errs = {0};
        int rc = channels_config_load_text("c.conf", text, strlen(text), NULL, NULL, &cfg, &errs);
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].text);
        config_errors_free(&errs);
        assert_int_equal(rc, 0);
        const struct config_channel *ch = config_find_channel(cfg, "p1-out");
        struct channel_env env = {.loop = &w.loop, .cfg = cfg};
        assert_int_equal(p1_channel_kind.start(&env, ch, &w.inst), 0);
        struct p1_channel_receiver r = {a_receive, &w};
        if (cases[k].receiver)
            p1_channel_set_receiver(w.inst, &r);

        struct message *m = message_create();
        assert_non_null(m);
        assert_int_equal(message_set_originator(m, "/C=XX/ADMD= /PRMD=A/S=orig/"), 0);
        assert_int_equal(message_add_rcpt(m, "/C=XX/ADMD= /PRMD=B/S=rcpt/", NULL, 0, NULL), 0);
        m->content_type = MESSAGE_CONTENT_X400_P22;
        snprintf(m->id, sizeof m->id, "0000000000000A");
        static const uint8_t ipm[] = {0x30, 0x03, 0x04, 0x01, 0x2a};
        struct content *c = content_copy(MESSAGE_CONTENT_X400_P22, 0, ipm, sizeof ipm);
        assert_non_null(c);
        uint32_t idx = 0;
        const char *addrs[1] = {m->rcpts[0].addr};
        struct channel_outcome out[1];
        memset(out, 0, sizeof out);
        struct channel_delivery d = {.msg = m, .content = c, .cfg = cfg, .channel = ch,
                                     .peer = config_find_peer(cfg, "b"), .next_hop = "",
                                     .originator = m->originator, .nrcpts = 1, .rcpts = &idx,
                                     .rcpt_addrs = addrs, .outcomes = out, .done_cb = on_done,
                                     .qmgr_data = &w};
        p1_channel_kind.deliver(w.inst, &d);
        uv_run(&w.loop, UV_RUN_DEFAULT);

        if (w.delivered != 1 || w.action != CHANNEL_RELAYED)
            fail_msg("%s: delivered %d action %d (%s)", cases[k].name, w.delivered,
                     (int)w.action, out[0].text);
        assert_int_equal(w.stored_at_b, 1);
        assert_int_equal(w.stopped, 1);
        assert_int_equal(w.peer_please, 1);   /* the listener had work and asked */
        if (cases[k].receiver) {
            assert_int_equal(w.received, 1);
            assert_string_equal(w.peer_seen, "b");
            assert_int_equal(w.outcome, P1_TWA_CONFIRMED);
            assert_int_equal(w.got.len, w.queued.len);
            assert_memory_equal(w.got.data, w.queued.data, w.queued.len);
        } else {
            assert_int_equal(w.received, 0);
            assert_int_equal(w.lent, 0);      /* never taken: stays with the owner */
            assert_int_equal(w.outcome, -1);
        }
        p1_channel_kind.inst_free(w.inst);
        assert_int_equal(uv_loop_close(&w.loop), 0);
        content_unref(c);
        message_free(m);
        config_free(cfg);
        mg_buf_free(&w.queued);
        mg_buf_free(&w.got);
    }
}

static void on_lend_done(struct channel_delivery *d)
{
    int *n = d->qmgr_data;
    (*n)++;
}

static void lend_stopped(void *arg)
{
    *(int *)arg = 1;
}

/* A delivery waiting in the channel (its association still resolving) lent to an inbound
 * association: each outcome reported as on the channel's own associations. */
static void channel_lends(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int outcome;
        enum channel_action want;
        const char *status;
    } cases[] = {{"confirmed-relayed", P1_LEASE_CONFIRMED, CHANNEL_RELAYED, "2.0.0"},
                 {"refused-failed", P1_LEASE_REFUSED, CHANNEL_FAILED, "5.3.4"},
                 {"lost-deferred", P1_LEASE_LOST, CHANNEL_DEFERRED, "4.4.2"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uv_loop_t loop;
        assert_int_equal(uv_loop_init(&loop), 0);
        static const char text[] =
            "global = { hostname = \"a.test\"; var_dir = \"/tmp\"; };\n"
            "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
            "channels = ( { name = \"p1-out\"; type = \"p1\"; } );\n"
            "peers = ( { name = \"b\"; type = \"x400\"; mta_name = \"MTA-B\"; "
            "password = \"pw-b\"; our_mta_name = \"MTA-A\"; our_password = \"pw-a\"; "
            "host = \"127.0.0.1:1\"; dialogue = \"two-way-alternate\"; } );\n"
            "routes = ( { default = true; chain = [ \"p1-out\" ]; peer = \"b\"; } );\n";
        struct config *cfg = NULL;
        struct config_errors errs = {0};
        assert_int_equal(channels_config_load_text("c.conf", text, strlen(text), NULL, NULL,
                                                   &cfg, &errs), 0);
        config_errors_free(&errs);
        const struct config_channel *ch = config_find_channel(cfg, "p1-out");
        struct channel_env env = {.loop = &loop, .cfg = cfg};
        void *inst = NULL;
        assert_int_equal(p1_channel_kind.start(&env, ch, &inst), 0);
        assert_int_equal(p1_channel_waiting(inst, "b"), 0);
        struct message *m = message_create();
        assert_int_equal(message_set_originator(m, "/C=XX/ADMD= /PRMD=A/S=orig/"), 0);
        assert_int_equal(message_add_rcpt(m, "/C=XX/ADMD= /PRMD=B/S=rcpt/", NULL, 0, NULL), 0);
        m->content_type = MESSAGE_CONTENT_X400_P22;
        snprintf(m->id, sizeof m->id, "0000000000000B");
        static const uint8_t ipm[] = {0x30, 0x03, 0x04, 0x01, 0x2a};
        struct content *c = content_copy(MESSAGE_CONTENT_X400_P22, 0, ipm, sizeof ipm);
        uint32_t idx = 0;
        const char *addrs[1] = {m->rcpts[0].addr};
        struct channel_outcome out[1];
        memset(out, 0, sizeof out);
        int done = 0;
        struct channel_delivery d = {.msg = m, .content = c, .cfg = cfg, .channel = ch,
                                     .peer = config_find_peer(cfg, "b"), .next_hop = "",
                                     .originator = m->originator, .nrcpts = 1, .rcpts = &idx,
                                     .rcpt_addrs = addrs, .outcomes = out,
                                     .done_cb = on_lend_done, .qmgr_data = &done};
        p1_channel_kind.deliver(inst, &d);
        /* Its own association is still resolving: the delivery waits, and can be lent. */
        assert_int_equal(p1_channel_waiting(inst, "b"), 1);
        assert_int_equal(p1_channel_waiting(inst, "nobody"), 0);
        const uint8_t *apdu = NULL;
        size_t len = 0;
        struct p1_lease *lease = NULL;
        assert_int_equal(p1_channel_lend(inst, "b", &apdu, &len, &lease), 1);
        assert_non_null(lease);
        assert_true(len > sizeof ipm);
        assert_int_equal(apdu[0], 0xa0); /* MTS-APDU: message [0] */
        assert_int_equal(p1_channel_waiting(inst, "b"), 0);
        struct p1_lease *none = NULL;
        const uint8_t *apdu2 = NULL;
        assert_int_equal(p1_channel_lend(inst, "b", &apdu2, &len, &none), 0);
        assert_null(none);
        assert_int_equal(done, 0);
        p1_channel_lease_done(lease, cases[k].outcome, "peer says no");
        assert_int_equal(done, 1);
        if (out[0].action != cases[k].want)
            fail_msg("%s: action %d (%s)", cases[k].name, (int)out[0].action, out[0].text);
        assert_string_equal(out[0].status, cases[k].status);
        assert_int_equal(out[0].flags & CHANNEL_OUT_DEST_FAILURE, 0);
        int stopped = 0;
        p1_channel_kind.stop(inst, lend_stopped, &stopped);
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_int_equal(stopped, 1);
        p1_channel_kind.inst_free(inst);
        assert_int_equal(uv_loop_close(&loop), 0);
        content_unref(c);
        message_free(m);
        config_free(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(channel_twa), cmocka_unit_test(channel_lends)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
