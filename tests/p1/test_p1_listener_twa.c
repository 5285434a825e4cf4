/* test_p1_listener_twa: the inbound listener (p1_listener, real TCP on 127.0.0.1, port 0)
 * sending the owner's messages for the bound peer over the peer's own association: our
 * initiator machine binds in two-way-alternate mode, transfers its message, passes the turn
 * when asked, receives the listener's messages and releases; each lent message's outcome
 * comes back to the owner once, confirmed only after the initiator acknowledged it. In
 * monologue, or with nothing queued, the listener never asks for the turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "mg_buf.h"
#include "p1_listener.h"
#include "p1_test_util.h"

/* The owner's side: a fake queue of messages for the peer. */
struct owner {
    struct mg_buf out[2];
    size_t nout, next;
    int outcome[2];              /* -1 until out_done */
    int nexts;                   /* out_next calls that took one */
    int apdus;                   /* the initiator's messages stored */
    int unbound;                 /* bound associations that ended */
    int twa_bound_after;         /* p1_listener_twa_bound when the association ended */
};

/* The initiator (what a peer MTA, or our p1 channel, does). */
struct client {
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct p1_assoc a;
    struct mg_buf mine;
    int bound, mine_confirmed, please_seen, received, released, aborted, closed;
    struct mg_buf last;
    char reason[160];
    struct p1_listener *l;
};

static int on_bind(void *arg, struct p1_conn *c, const struct p1_ind *ind, int busy,
                   struct p1_bind *ours, long *err)
{
    (void)arg;
    (void)c;
    (void)busy;
    if (strcmp(ind->bind.name, "MIXGATE-A") != 0) {
        *err = P1_BIND_ERR_AUTHENTICATION;
        return 1;
    }
    *ours = (struct p1_bind){1, "MIXGATE-B", "pw-b", 1};
    return 0;
}

static void on_apdu(void *arg, struct p1_conn *c, const uint8_t *apdu, size_t len)
{
    struct owner *o = arg;
    (void)apdu;
    (void)len;
    o->apdus++;
    p1_conn_apdu_done(c, 0);
}

static int out_pending(void *arg, struct p1_conn *c)
{
    struct owner *o = arg;
    assert_string_equal(p1_conn_peer_mta(c), "MIXGATE-A");
    return o->next < o->nout;
}

static int out_next(void *arg, struct p1_conn *c, const uint8_t **apdu, size_t *len, void **tok)
{
    struct owner *o = arg;
    (void)c;
    if (o->next >= o->nout)
        return 0;
    *apdu = o->out[o->next].data;
    *len = o->out[o->next].len;
    *tok = &o->outcome[o->next++];
    o->nexts++;
    return 1;
}

static struct p1_listener *the_listener;

static void on_unbound(void *arg, struct p1_conn *c)
{
    struct owner *o = arg;
    o->unbound++;
    assert_string_equal(p1_conn_peer_mta(c), "MIXGATE-A");
    o->twa_bound_after = p1_listener_twa_bound(the_listener, "MIXGATE-A");
}

static void out_done(void *arg, struct p1_conn *c, void *tok, int outcome, const char *reason)
{
    (void)arg;
    (void)c;
    (void)reason;
    int *slot = tok;
    assert_int_equal(*slot, -1);
    *slot = outcome;
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void cl_flush(struct client *cl)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    assert_int_equal(p1_chain_drain(&cl->a.out, &b), 0);
    if (b.len == 0 || cl->closed) {
        mg_buf_free(&b);
        return;
    }
    uv_write_t *w = malloc(sizeof *w);
    assert_non_null(w);
    size_t n;
    void *data = mg_buf_steal(&b, &n);
    w->data = data;
    uv_buf_t ub = uv_buf_init(data, (unsigned)n);
    assert_int_equal(uv_write(w, (uv_stream_t *)&cl->tcp, &ub, 1, on_written), 0);
}

static void cl_close(struct client *cl)
{
    if (cl->closed)
        return;
    cl->closed = 1;
    uv_close((uv_handle_t *)&cl->tcp, NULL);
    p1_listener_close(cl->l, NULL, NULL);
}

static void cl_events(struct client *cl)
{
    struct p1_ind ind;
    while (p1_assoc_next_ind(&cl->a, &ind)) {
        switch (ind.type) {
        case P1_IND_BIND_RESULT:
            cl->bound = ind.accepted;
            if (ind.accepted)
                assert_int_equal(p1_assoc_transfer(&cl->a, cl->mine.data, cl->mine.len), 0);
            break;
        case P1_IND_TURN_PLEASE:
            cl->please_seen++;
            if (cl->mine_confirmed)
                assert_int_equal(p1_assoc_give_turn(&cl->a), 0);
            break;
        case P1_IND_TRANSFER_CONFIRMED:
            cl->mine_confirmed = 1;
            /* Our work is done: the turn to the responder when it asked, else release. */
            if (cl->please_seen)
                assert_int_equal(p1_assoc_give_turn(&cl->a), 0);
            else
                assert_int_equal(p1_assoc_release(&cl->a), 0);
            break;
        case P1_IND_APDU:
            cl->received++;
            mg_buf_reset(&cl->last);
            mg_buf_append(&cl->last, ind.apdu, ind.apdu_len);
            assert_int_equal(p1_assoc_apdu_durable(&cl->a), 0);
            break;
        case P1_IND_TURN_RECEIVED:
            assert_int_equal(p1_assoc_release(&cl->a), 0);
            break;
        case P1_IND_RELEASED:
            cl->released = 1;
            break;
        case P1_IND_ABORTED:
            cl->aborted = 1;
            snprintf(cl->reason, sizeof cl->reason, "%s", ind.reason);
            break;
        default:
            break;
        }
    }
    cl_flush(cl);
    if (cl->released || cl->aborted)
        cl_close(cl);
}

static void cl_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)h;
    b->base = malloc(sz);
    b->len = b->base ? sz : 0;
}

static void cl_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct client *cl = s->data;
    if (n > 0 && !cl->closed) {
        p1_assoc_input(&cl->a, b->base, (size_t)n);
        cl_events(cl);
    } else if (n < 0 && !cl->closed) {
        snprintf(cl->reason, sizeof cl->reason, "connection closed: %s", uv_strerror((int)n));
        cl_close(cl);
    }
    free(b->base);
}

static void cl_connected(uv_connect_t *req, int status)
{
    struct client *cl = req->data;
    assert_int_equal(status, 0);
    assert_int_equal(uv_read_start((uv_stream_t *)&cl->tcp, cl_alloc, cl_read), 0);
    assert_int_equal(p1_assoc_start(&cl->a), 0);
    cl_flush(cl);
}

static void listener_twa(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum p1_mode mode;
        long dialogue;
        size_t queued;
        int want_please, want_received;
    } cases[] = {
        {"normal-twa-two-queued", P1_MODE_1988_NORMAL, P1_DIALOGUE_TWA, 2, 1, 2},
        {"1984-twa-one-queued", P1_MODE_1984, P1_DIALOGUE_TWA, 1, 1, 1},
        {"x410-twa-nothing-queued", P1_MODE_1988_X410, P1_DIALOGUE_TWA, 0, 0, 0},
        {"normal-monologue-never-sends", P1_MODE_1988_NORMAL, P1_DIALOGUE_MONOLOGUE, 2, 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uv_loop_t loop;
        assert_int_equal(uv_loop_init(&loop), 0);
        struct owner o;
        memset(&o, 0, sizeof o);
        o.nout = cases[k].queued;
        for (size_t i = 0; i < 2; i++) {
            mg_buf_init(&o.out[i], 0);
            ptu_make_apdu(&o.out[i], 3000 + 5000 * i);
            o.outcome[i] = -1;
        }
        struct p1_listener_opts lo = {.listen = "127.0.0.1:0", .max_assocs = 4};
        struct p1_listener_cbs cbs = {on_bind, on_apdu, out_pending, out_next, out_done, on_unbound};
        struct client cl;
        memset(&cl, 0, sizeof cl);
        assert_int_equal(p1_listener_create(&cl.l, &loop, &lo, &cbs, &o), 0);
        the_listener = cl.l;
        o.twa_bound_after = -1;
        struct p1_assoc_cfg ic = {.initiator = 1,
                                  .mode = cases[k].mode,
                                  .window = 3,
                                  .dialogue = cases[k].dialogue,
                                  .bind = {1, "MIXGATE-A", "pw-a", 1},
                                  .expect_name = "MIXGATE-B",
                                  .expect_password = "pw-b"};
        p1_assoc_init(&cl.a, &ic);
        mg_buf_init(&cl.mine, 0);
        mg_buf_init(&cl.last, 0);
        ptu_make_apdu(&cl.mine, 2000);
        uv_tcp_init(&loop, &cl.tcp);
        cl.tcp.data = &cl;
        cl.creq.data = &cl;
        struct sockaddr_in sa;
        uv_ip4_addr("127.0.0.1", p1_listener_port(cl.l), &sa);
        assert_int_equal(uv_tcp_connect(&cl.creq, &cl.tcp, (struct sockaddr *)&sa, cl_connected), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (!cl.released || cl.aborted)
            fail_msg("%s: not released (%s)", cases[k].name, cl.reason);
        assert_int_equal(cl.bound, 1);
        assert_int_equal(o.apdus, 1);
        assert_int_equal(o.unbound, 1);          /* the released association, once */
        assert_int_equal(o.twa_bound_after, 0);  /* no longer counted as bound */
        assert_int_equal(cl.please_seen, cases[k].want_please);
        assert_int_equal(cl.received, cases[k].want_received);
        assert_int_equal(o.nexts, cases[k].want_received);
        for (int i = 0; i < 2; i++)
            assert_int_equal(o.outcome[i], i < cases[k].want_received ? P1_TWA_CONFIRMED : -1);
        if (cl.received)
            assert_memory_equal(cl.last.data, o.out[cl.received - 1].data,
                                o.out[cl.received - 1].len);
        assert_int_equal(uv_loop_close(&loop), 0);
        p1_assoc_free(&cl.a);
        mg_buf_free(&cl.mine);
        mg_buf_free(&cl.last);
        for (size_t i = 0; i < 2; i++)
            mg_buf_free(&o.out[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(listener_twa)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
