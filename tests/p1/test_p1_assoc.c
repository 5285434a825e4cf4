/* The P1 association machine (p1_assoc): the real initiator streams replayed into our
 * responder get the real responder's outcome; our initiator fed the real responder streams
 * binds and transfers; our initiator against our responder in memory in all three modes for
 * APDUs of 1 octet to 20 MB across checkpoints and the window; refused binds, aborts, limits,
 * the turn; and tshark, as an independent judge, dissects a pcap of what we send. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>


#include "mg_err.h"
#include "p1_acse.h"
#include "p1_assoc.h"
#include "p1_pres.h"
#include "p1_session.h"
#include "p1_test_util.h"
#include "pcap_writer.h"

#define SKIP_WITHOUT(buf, rel)                                                                  \
    do {                                                                                        \
        if (ptu_vector(rel, buf))                                                               \
            skip();                                                                             \
    } while (0)

/* The session SPDU of each TSDU in a byte stream, as text ("CC AC PT+42 DN"). */
static void spdu_trace(const uint8_t *p, size_t n, int initiator_side, char *out, size_t max)
{
    struct p1_tpkt t;
    p1_tpkt_init(&t, !initiator_side, 1u << 26, 0);
    t.connected = !initiator_side;
    out[0] = 0;
    size_t off = 0, o = 0;
    while (off < n) {
        struct p1_tpkt_ind ind;
        size_t used;
        if (p1_tpkt_input(&t, p + off, n - off, &used, &ind))
            fail_msg("bad TPKT stream: %s", t.why);
        off += used;
        const char *sep = o ? " " : "";
        if (ind.type == P1_TPKT_CONNECT) {
            t.connected = 1;
            o += (size_t)snprintf(out + o, max - o, "%sCR", sep);
        }
        else if (ind.type == P1_TPKT_CONFIRM || (ind.type == P1_TPKT_NONE && 0))
            o += (size_t)snprintf(out + o, max - o, "%sCC", sep);
        else if (ind.type == P1_TPKT_DATA) {
            struct p1_spdu sp[P1_SESSION_MAX_SPDUS];
            size_t count;
            const char *why;
            if (p1_session_parse(ind.data, ind.len, sp, &count, &why))
                fail_msg("bad session TSDU: %s", why);
            if (count == 2)
                o += (size_t)snprintf(out + o, max - o, "%s%s+%d", sep,
                                      sp[0].si == P1_SI_GT ? "GT" : "PT", sp[1].si);
            else
                o += (size_t)snprintf(out + o, max - o, "%s%d", sep, sp[0].si);
        }
        if (used == 0)
            break;
    }
    p1_tpkt_free(&t);
}

/* A responder stream starts with a CC TPDU the initiator-side parser rejects: skip it. */
static size_t skip_cc(const uint8_t *p, size_t n)
{
    return n >= 4 && p[5] == 0xd0 ? (size_t)(p[2] << 8 | p[3]) : 0;
}

/* ---- responder replay ---- */

static void responder_replay(void **state)
{
    (void)state;
    static const struct {
        const char *name, *initiator, *responder;
        int accepted, refused, apdus, released;
        const char *trace;          /* what we send, as SPDU codes */
    } cases[] = {
        {"ping-success", "streams/wsample-ping-success-initiator.tpkt",
         "streams/wsample-ping-success-responder.tpkt", 1, 0, 0, 1, "14 10"},
        {"ping-refuse", "streams/wsample-ping-refuse-initiator.tpkt",
         "streams/wsample-ping-refuse-responder.tpkt", 0, 1, 0, 0, "12"},
        {"p772-transfer", "streams/wsample-p772-transfer-initiator.tpkt",
         "streams/wsample-p772-transfer-responder.tpkt", 1, 0, 1, 1, "14 PT+42 10"},
    };
    struct mg_buf want_apdu;
    SKIP_WITHOUT(&want_apdu, "ber/wsample-p1-MTS-APDU-message-p772.ber");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mg_buf in, real;
        SKIP_WITHOUT(&in, cases[i].initiator);
        SKIP_WITHOUT(&real, cases[i].responder);
        struct p1_assoc_cfg cfg = {.initiator = 0};
        struct ptu_side r;
        ptu_side_init(&r, &cfg);
        /* The peer we expect, as the capture shows it (ping-refuse sends the password " "). */
        r.expect_name = "percival.smhs.co.uk";
        r.expect_password = "excalibur";
        r.answer = (struct p1_bind){1, "guinevere.smhs.co.uk", "merlin", 1};
        r.defer_durable = 1;
        int acked = 0;
        for (size_t off = 0; off < in.len; off += 7) {
            size_t k = in.len - off < 7 ? in.len - off : 7;
            assert_int_equal(p1_assoc_input(&r.a, in.data + off, k), 0);
            ptu_side_events(&r);
            if (r.apdus && !acked) {
                /* Nothing is acknowledged before the caller says the APDU is durable. */
                struct mg_buf before;
                mg_buf_init(&before, 0);
                p1_chain_drain(&r.a.out, &before);
                mg_buf_append(&r.sent, before.data, before.len);
                char t[256];
                spdu_trace(r.sent.data + skip_cc(r.sent.data, r.sent.len),
                           r.sent.len - skip_cc(r.sent.data, r.sent.len), 0, t, sizeof t);
                assert_string_equal(t, "14");
                assert_int_equal(r.last_apdu.len, want_apdu.len);
                assert_memory_equal(r.last_apdu.data, want_apdu.data, want_apdu.len);
                assert_int_equal(p1_assoc_apdu_durable(&r.a), 0);
                acked = 1;
                mg_buf_free(&before);
            }
        }
        ptu_flow(&r, NULL, 0);
        if (r.bind_requests != 1)
            fail_msg("%s: %d bind requests", cases[i].name, r.bind_requests);
        assert_string_equal(r.peer_bind.name, "percival.smhs.co.uk");
        assert_int_equal(r.a.mode, P1_MODE_1988_NORMAL);
        assert_int_equal(r.apdus, cases[i].apdus);
        assert_int_equal(r.released, cases[i].released);
        assert_int_equal(r.aborted, 0);
        assert_int_equal(r.a.state, P1_AS_CLOSED);
        /* Our answers are the real responder's, SPDU for SPDU. */
        char ours[256], theirs[256];
        size_t sk = skip_cc(r.sent.data, r.sent.len), rk = skip_cc(real.data, real.len);
        assert_true(sk > 0 && rk > 0);
        spdu_trace(r.sent.data + sk, r.sent.len - sk, 0, ours, sizeof ours);
        spdu_trace(real.data + rk, real.len - rk, 0, theirs, sizeof theirs);
        assert_string_equal(ours, cases[i].trace);
        /* The real responder answers MAA/AEA with PT (2) first, as we do. */
        assert_string_equal(theirs, cases[i].trace);
        if (cases[i].refused) {
            /* Our refusal carries authentication-error: read it back with our initiator. */
            struct p1_assoc_cfg icfg = {.initiator = 1};
            struct ptu_side ini;
            ptu_side_init(&ini, &icfg);
            ini.a.state = P1_AS_WAIT_AC;
            ini.a.tpkt.connected = 1;
            p1_assoc_input(&ini.a, r.sent.data + sk, r.sent.len - sk);
            ptu_side_events(&ini);
            assert_int_equal(ini.bind_refused, 1);
            assert_int_equal(ini.bind_error, P1_BIND_ERR_AUTHENTICATION);
            ptu_side_free(&ini);
        }
        ptu_side_free(&r);
        mg_buf_free(&in);
        mg_buf_free(&real);
    }
    mg_buf_free(&want_apdu);
}

/* ---- initiator replay ---- */

static void initiator_replay(void **state)
{
    (void)state;
    static const struct {
        const char *name, *responder, *password;
        int transfer, accepted, refused;
        const char *trace;
    } cases[] = {
        {"ping-success", "streams/wsample-ping-success-responder.tpkt", "excalibur", 0, 1, 0,
         "CR 13 9"},
        {"ping-refuse", "streams/wsample-ping-refuse-responder.tpkt", " ", 0, 0, 1, "CR 13"},
        {"p772-transfer", "streams/wsample-p772-transfer-responder.tpkt", "excalibur", 1, 1, 0,
         "CR 13 GT+45 GT+1 GT+41 9"},
    };
    struct mg_buf apdu;
    SKIP_WITHOUT(&apdu, "ber/wsample-p1-MTS-APDU-message-p772.ber");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mg_buf rsp;
        SKIP_WITHOUT(&rsp, cases[i].responder);
        struct p1_assoc_cfg cfg = {.initiator = 1,
                                   .mode = P1_MODE_1988_NORMAL,
                                   .checkpoint_kib = 63,
                                   .calling_tsel = {7, "X400-88"},
                                   .called_tsel = {7, "X400-88"},
                                   .bind = {1, "percival.smhs.co.uk", "", 1},
                                   .expect_name = "guinevere.smhs.co.uk",
                                   .expect_password = "merlin"};
        snprintf(cfg.bind.password, sizeof cfg.bind.password, "%s", cases[i].password);
        struct ptu_side s;
        ptu_side_init(&s, &cfg);
        assert_int_equal(p1_assoc_start(&s.a), 0);
        /* Feed the responder's TPKTs one at a time, acting on what we learn. */
        size_t off = 0;
        int transferred = 0, released = 0;
        while (off < rsp.len) {
            ptu_flow(&s, NULL, 0);
            size_t len = (size_t)(rsp.data[off + 2] << 8 | rsp.data[off + 3]);
            assert_int_equal(p1_assoc_input(&s.a, rsp.data + off, len), 0);
            off += len;
            ptu_side_events(&s);
            if (s.bind_accepted && cases[i].transfer && !transferred) {
                assert_int_equal(p1_assoc_transfer(&s.a, apdu.data, apdu.len), 0);
                transferred = 1;
            } else if (s.bind_accepted && (!cases[i].transfer || s.confirmed) && !released) {
                assert_int_equal(p1_assoc_release(&s.a), 0);
                released = 1;
            }
        }
        ptu_flow(&s, NULL, 0);
        if (s.bind_accepted != cases[i].accepted || s.bind_refused != cases[i].refused)
            fail_msg("%s: accepted %d refused %d", cases[i].name, s.bind_accepted,
                     s.bind_refused);
        if (cases[i].refused)
            assert_int_equal(s.bind_error, P1_BIND_ERR_AUTHENTICATION);
        else {
            assert_string_equal(s.peer_bind.name, "guinevere.smhs.co.uk");
            assert_int_equal(s.released, 1);
        }
        assert_int_equal(s.confirmed, cases[i].transfer);
        assert_int_equal(s.aborted, 0);
        char t[256];
        spdu_trace(s.sent.data, s.sent.len, 1, t, sizeof t);
        assert_string_equal(t, cases[i].trace);
        ptu_side_free(&s);
        mg_buf_free(&rsp);
    }
    mg_buf_free(&apdu);
}

/* ---- our initiator against our responder ---- */

struct pair {
    struct ptu_side i, r;
};

static void pair_init(struct pair *p, enum p1_mode mode, long ckpt, long window, long dialogue,
                      const char *password, size_t max_apdu)
{
    struct p1_assoc_cfg ic = {.initiator = 1,
                              .mode = mode,
                              .checkpoint_kib = ckpt,
                              .window = window,
                              .dialogue = dialogue,
                              .called_tsel = {3, "P1X"},
                              .called_ssel = {2, "S1"},
                              .called_psel = {2, "P1"},
                              .bind = {1, "MIXGATE-A", "", 1},
                              .expect_name = "MIXGATE-B",
                              .expect_password = "pw-b"};
    snprintf(ic.bind.password, sizeof ic.bind.password, "%s", password);
    struct p1_assoc_cfg rc = {.initiator = 0, .max_apdu = max_apdu, .window = 8};
    ptu_side_init(&p->i, &ic);
    ptu_side_init(&p->r, &rc);
    p->r.expect_name = "MIXGATE-A";
    p->r.expect_password = "pw-a";
    p->r.answer = (struct p1_bind){1, "MIXGATE-B", "pw-b", 1};
    assert_int_equal(p1_assoc_start(&p->i.a), 0);
}

static void pair_free(struct pair *p)
{
    ptu_side_free(&p->i);
    ptu_side_free(&p->r);
}

static const enum p1_mode modes[] = {P1_MODE_1988_NORMAL, P1_MODE_1988_X410, P1_MODE_1984};

static void pair_transfers(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t size;
        long ckpt, window;
        size_t chunk;     /* octets per input call */
        int count;        /* APDUs in the association */
    } cases[] = {
        {"1-octet", 1, 4, 3, 0, 1},
        {"1000-no-checkpoints", 1000, 0, 3, 0, 1},
        {"70k-ckpt-4-window-1", 70000, 4, 1, 0, 2},
        {"70k-odd-chunks", 70000, 1, 2, 97, 1},
        {"1M-ckpt-63", 1u << 20, 63, 3, 0, 3},
        {"20M-ckpt-16-window-3", 20u << 20, 16, 3, 0, 1},
        {"checkpoint-beyond-any-size", 5000, 1L << 40, 3, 0, 1},
    };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            struct pair p;
            pair_init(&p, modes[m], cases[c].ckpt, cases[c].window, 0, "pw-a", 0);
            ptu_run(&p.i, &p.r, cases[c].chunk);
            if (p.i.bind_accepted != 1 || p.r.bind_requests != 1)
                fail_msg("%s/%s: not bound (%s)", p1_mode_name(modes[m]), cases[c].name,
                         p.i.abort_reason);
            assert_int_equal(p.r.a.mode, modes[m]);
            /* The responder learns the addresses the initiator used. */
            const struct p1_ind *br = &p.r.last_bind_request;
            assert_int_equal(br->called_tsel.len, 3);
            assert_memory_equal(br->called_tsel.v, "P1X", 3);
            assert_int_equal(br->called_ssel.len, 2);
            assert_int_equal(br->called_psel.len, modes[m] == P1_MODE_1988_NORMAL ? 2 : 0);
            struct mg_buf apdu;
            mg_buf_init(&apdu, 0);
            ptu_make_apdu(&apdu, cases[c].size);
            for (int k = 0; k < cases[c].count; k++) {
                assert_int_equal(p1_assoc_transfer(&p.i.a, apdu.data, apdu.len), 0);
                /* A second transfer while one is in progress is refused. */
                assert_int_equal(p1_assoc_transfer(&p.i.a, apdu.data, apdu.len), MG_ESTATE);
                ptu_run(&p.i, &p.r, cases[c].chunk);
                if (p.i.confirmed != k + 1)
                    fail_msg("%s/%s: transfer %d not confirmed (%s / %s)",
                             p1_mode_name(modes[m]), cases[c].name, k, p.i.abort_reason,
                             p.r.abort_reason);
                assert_int_equal(p.r.apdus, k + 1);
                assert_int_equal(p.r.last_apdu.len, apdu.len);
                assert_memory_equal(p.r.last_apdu.data, apdu.data, apdu.len);
            }
            /* Checkpoints: one minor sync per chunk but the last; never more unconfirmed
             * than the window. */
            long ck = cases[c].ckpt;
            if (ck > 0 && ck < (1L << 20)) {
                size_t chunk = (size_t)ck * 1024;
                /* The EXTERNAL header (normal mode) may add one chunk. */
                size_t min_chunks = (apdu.len + chunk - 1) / chunk;
                assert_true(p.i.a.sess.vm >= min_chunks);
                assert_true(p.i.a.sess.vm <= min_chunks + 1);
            } else {
                assert_int_equal(p.i.a.sess.vm, 1);
            }
            assert_true(p.i.max_unconfirmed <= (size_t)cases[c].window);
            assert_int_equal(p1_assoc_release(&p.i.a), 0);
            ptu_run(&p.i, &p.r, cases[c].chunk);
            assert_int_equal(p.i.released, 1);
            assert_int_equal(p.r.released, 1);
            assert_int_equal(p.i.aborted + p.r.aborted, 0);
            mg_buf_free(&apdu);
            pair_free(&p);
        }
    }
}

static void pair_wrong_password(void **state)
{
    (void)state;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct pair p;
        pair_init(&p, modes[m], 0, 3, 0, "wrong", 0);
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.r.bind_requests, 1);
        assert_int_equal(p.i.bind_accepted, 0);
        assert_int_equal(p.i.bind_refused, 1);
        assert_int_equal(p.i.bind_error, P1_BIND_ERR_AUTHENTICATION);
        assert_int_equal(p.i.a.state, P1_AS_CLOSED);
        assert_int_equal(p.r.a.state, P1_AS_CLOSED);
        pair_free(&p);
    }
    /* The responder's credentials are wrong: our initiator aborts. */
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct pair p;
        pair_init(&p, modes[m], 0, 3, 0, "pw-a", 0);
        snprintf(p.r.answer.password, sizeof p.r.answer.password, "not-pw-b");
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.i.bind_accepted, 0);
        assert_int_equal(p.i.aborted, 1);
        assert_non_null(strstr(p.i.abort_reason, "wrong password"));
        assert_int_equal(p.r.aborted, 1);
        pair_free(&p);
    }
}

/* The responder's other refusals reach the initiator as the right bind error. */
static void pair_bind_errors(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int busy, deny_twa;
        long want;
    } cases[] = {{"busy", 1, 0, P1_BIND_ERR_BUSY},
                 {"twa-refused", 0, 1, P1_BIND_ERR_UNACCEPTABLE_DIALOGUE_MODE}};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            struct pair p;
            pair_init(&p, modes[m], 0, 3, P1_DIALOGUE_TWA, "pw-a", 0);
            p.r.busy = cases[c].busy;
            p.r.deny_twa = cases[c].deny_twa;
            ptu_run(&p.i, &p.r, 0);
            if (p.i.bind_refused != 1 || p.i.bind_error != cases[c].want)
                fail_msg("%s/%s: refused %d error %ld", p1_mode_name(modes[m]), cases[c].name,
                         p.i.bind_refused, p.i.bind_error);
            assert_int_equal(p.i.a.state, P1_AS_CLOSED);
            pair_free(&p);
        }
    }
}

static void pair_abort_mid_activity(void **state)
{
    (void)state;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct pair p;
        pair_init(&p, modes[m], 1, 2, 0, "pw-a", 0);
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.i.bind_accepted, 1);
        struct mg_buf apdu;
        mg_buf_init(&apdu, 0);
        ptu_make_apdu(&apdu, 100000);
        assert_int_equal(p1_assoc_transfer(&p.i.a, apdu.data, apdu.len), 0);
        /* One round: the first window of checkpoints reaches the responder. */
        ptu_flow(&p.i, &p.r, 0);
        assert_true(p.r.a.rx_active);
        assert_true(p.r.a.rx.b.len > 0);
        assert_int_equal(p1_assoc_abort(&p.i.a, "operator stop"), 0);
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.i.aborted, 1);
        assert_string_equal(p.i.abort_reason, "operator stop");
        assert_int_equal(p.r.aborted, 1);
        assert_int_equal(p.r.apdus, 0);          /* nothing delivered */
        assert_int_equal(p.r.a.rx.b.len, 0);     /* and nothing kept */
        assert_int_equal(p.i.confirmed, 0);
        mg_buf_free(&apdu);
        pair_free(&p);
    }
}

/* An APDU over the receiver's limit is refused the RTSE way (exception report, activity
 * discard) and the association goes on: the next, smaller APDU is delivered. */
static void pair_apdu_over_limit(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t size;
        long ckpt;
    } cases[] = {{"one-chunk", 5000, 0}, {"across-checkpoints", 50000, 1}};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            struct pair p;
            pair_init(&p, modes[m], cases[c].ckpt, 3, 0, "pw-a", 4000);
            ptu_run(&p.i, &p.r, 0);
            struct mg_buf big, small;
            mg_buf_init(&big, 0);
            mg_buf_init(&small, 0);
            ptu_make_apdu(&big, cases[c].size);
            ptu_make_apdu(&small, 3000);
            assert_int_equal(p1_assoc_transfer(&p.i.a, big.data, big.len), 0);
            ptu_run(&p.i, &p.r, 0);
            if (p.i.transfer_refused != 1 || p.r.transfer_discarded != 1)
                fail_msg("%s/%s: refused %d discarded %d (%s)", p1_mode_name(modes[m]),
                         cases[c].name, p.i.transfer_refused, p.r.transfer_discarded,
                         p.r.abort_reason);
            assert_non_null(strstr(p.r.abort_reason, "larger than the limit"));
            assert_int_equal(p.i.aborted + p.r.aborted, 0);
            assert_int_equal(p.i.confirmed, 0);
            assert_int_equal(p.r.apdus, 0);
            assert_int_equal(p1_assoc_transfer(&p.i.a, small.data, small.len), 0);
            ptu_run(&p.i, &p.r, 0);
            assert_int_equal(p.i.confirmed, 1);
            assert_int_equal(p.r.apdus, 1);
            assert_memory_equal(p.r.last_apdu.data, small.data, small.len);
            mg_buf_free(&big);
            mg_buf_free(&small);
            pair_free(&p);
        }
    }
}

static void pair_turn(void **state)
{
    (void)state;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct pair p;
        pair_init(&p, modes[m], 0, 3, P1_DIALOGUE_TWA, "pw-a", 0);
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.i.bind_accepted, 1);
        struct mg_buf apdu;
        mg_buf_init(&apdu, 0);
        ptu_make_apdu(&apdu, 3000);
        /* The responder cannot send without the turn; it asks for it. */
        assert_int_equal(p1_assoc_transfer(&p.r.a, apdu.data, apdu.len), MG_ESTATE);
        assert_int_equal(p1_assoc_please_turn(&p.r.a, 1), 0);
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.i.turn_please, 1);
        assert_int_equal(p1_assoc_give_turn(&p.i.a), 0);
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.r.turn_received, 1);
        assert_int_equal(p1_assoc_transfer(&p.r.a, apdu.data, apdu.len), 0);
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.r.confirmed, 1);
        assert_int_equal(p.i.apdus, 1);
        assert_memory_equal(p.i.last_apdu.data, apdu.data, apdu.len);
        /* Only the initiator releases, and only holding the turn: it gets the turn back. */
        assert_int_equal(p1_assoc_release(&p.i.a), MG_ESTATE);
        assert_int_equal(p1_assoc_release(&p.r.a), MG_ESTATE);
        assert_int_equal(p1_assoc_give_turn(&p.r.a), 0);
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.i.turn_received, 1);
        assert_int_equal(p1_assoc_release(&p.i.a), 0);
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.i.released + p.r.released, 2);
        mg_buf_free(&apdu);
        pair_free(&p);
    }
}

/* ---- our messages over the peer's association (p1_twa) ---- */

struct fake_src {
    struct mg_buf apdu[3];
    size_t n, next, taken;
    int outcome[3];              /* -1 until done */
    char reason[3][160];
};

static int fs_pending(void *arg)
{
    struct fake_src *f = arg;
    return f->next < f->n;
}

static int fs_next(void *arg, const uint8_t **apdu, size_t *len, void **tok)
{
    struct fake_src *f = arg;
    if (f->next >= f->n)
        return 0;
    *apdu = f->apdu[f->next].data;
    *len = f->apdu[f->next].len;
    *tok = &f->outcome[f->next];
    f->next++;
    f->taken++;
    return 1;
}

static void fs_done(void *arg, void *tok, enum p1_twa_outcome o, const char *reason)
{
    struct fake_src *f = arg;
    int *slot = tok;
    assert_int_equal(*slot, -1); /* once per message */
    *slot = (int)o;
    snprintf(f->reason[slot - f->outcome], sizeof f->reason[0], "%s", reason ? reason : "");
}

/* The initiator (our p1 channel's side) transfers its message; the responder, holding
 * messages for it, asks for the turn, sends them once given it, and gives the turn back so
 * the initiator can release. Monologue: the responder never asks. */
static void pair_twa_responder_sends(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        long dialogue;
        size_t nmsgs;
        int initiator_asks_back;  /* the initiator wants the turn back during the first */
        int abort_mid;            /* the initiator aborts during the responder's transfer */
        size_t want_sent;         /* confirmed to the responder */
    } cases[] = {
        {"twa-two-messages", P1_DIALOGUE_TWA, 2, 0, 0, 2},
        {"twa-nothing-queued", P1_DIALOGUE_TWA, 0, 0, 0, 0},
        {"twa-turn-asked-back", P1_DIALOGUE_TWA, 2, 1, 0, 1},
        {"twa-aborted-mid-transfer", P1_DIALOGUE_TWA, 1, 0, 1, 0},
        {"monologue-never-sends", P1_DIALOGUE_MONOLOGUE, 2, 0, 0, 0},
    };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            const char *mn = p1_mode_name(modes[m]), *cn = cases[c].name;
            struct fake_src f;
            memset(&f, 0, sizeof f);
            f.n = cases[c].nmsgs;
            for (size_t k = 0; k < 3; k++) {
                mg_buf_init(&f.apdu[k], 0);
                ptu_make_apdu(&f.apdu[k], cases[c].abort_mid ? 60000 : 2000 + 1000 * k);
                f.outcome[k] = -1;
            }
            struct p1_twa_src src = {fs_pending, fs_next, fs_done, &f};
            struct p1_twa twa;
            p1_twa_init(&twa, &src);
            struct pair p;
            pair_init(&p, modes[m], cases[c].abort_mid ? 1 : 0, 1, cases[c].dialogue, "pw-a", 0);
            p.r.twa = &twa;
            /* The initiator's own message first, in its turn. */
            struct mg_buf mine;
            mg_buf_init(&mine, 0);
            ptu_make_apdu(&mine, 1500);
            ptu_flow(&p.i, &p.r, 0);
            ptu_side_events(&p.r);
            while (!p.i.bind_accepted && (ptu_flow(&p.r, &p.i, 0) || ptu_flow(&p.i, &p.r, 0))) {
                ptu_side_events(&p.i);
                ptu_side_events(&p.r);
            }
            if (p.i.bind_accepted != 1)
                fail_msg("%s/%s: not bound (%s)", mn, cn, p.i.abort_reason);
            assert_int_equal(p1_assoc_transfer(&p.i.a, mine.data, mine.len), 0);
            ptu_run(&p.i, &p.r, 0);
            assert_int_equal(p.i.confirmed, 1);
            assert_int_equal(p.r.apdus, 1);
            int want_ask = cases[c].dialogue == P1_DIALOGUE_TWA && cases[c].nmsgs > 0;
            if (p.i.turn_please != want_ask)
                fail_msg("%s/%s: turn asked %d, want %d", mn, cn, p.i.turn_please, want_ask);
            if (want_ask) {
                /* Our channel's side gives the turn once its transfer is confirmed. */
                assert_int_equal(p1_assoc_give_turn(&p.i.a), 0);
                if (cases[c].initiator_asks_back || cases[c].abort_mid) {
                    /* Hold the first acknowledgement so the request overtakes it. */
                    p.i.defer_durable = 1;
                    ptu_flow(&p.i, &p.r, 0);
                    ptu_side_events(&p.r);
                    ptu_flow(&p.r, &p.i, 0); /* the responder's first transfer starts */
                    ptu_side_events(&p.i);
                    assert_true(twa.tok != NULL);
                    if (cases[c].abort_mid) {
                        assert_int_equal(p1_assoc_abort(&p.i.a, "operator stop"), 0);
                    } else {
                        assert_int_equal(p1_assoc_please_turn(&p.i.a, 1), 0);
                        ptu_run(&p.i, &p.r, 0);
                        assert_int_equal(p.i.apdus, 1);
                        assert_int_equal(p1_assoc_apdu_durable(&p.i.a), 0);
                    }
                    p.i.defer_durable = 0;
                }
                ptu_run(&p.i, &p.r, 0);
            }
            if (twa.sent != cases[c].want_sent || p.i.apdus != (int)cases[c].want_sent)
                fail_msg("%s/%s: sent %u, initiator received %d, want %zu (%s / %s)", mn, cn,
                         twa.sent, p.i.apdus, cases[c].want_sent, p.i.abort_reason,
                         p.r.abort_reason);
            for (size_t k = 0; k < cases[c].want_sent; k++)
                assert_int_equal(f.outcome[k], P1_TWA_CONFIRMED);
            if (cases[c].want_sent)
                assert_memory_equal(p.i.last_apdu.data, f.apdu[cases[c].want_sent - 1].data,
                                    f.apdu[cases[c].want_sent - 1].len);
            if (cases[c].abort_mid) {
                /* Lost, not relayed: the channel defers it and the peer never had it. */
                assert_int_equal(f.outcome[0], P1_TWA_LOST);
                assert_int_equal(p.i.apdus, 0);
                assert_int_equal(p.r.aborted, 1);
            } else {
                /* Whatever was not taken stays queued; the initiator holds the turn again
                 * and releases. */
                for (size_t k = f.taken; k < f.n; k++)
                    assert_int_equal(f.outcome[k], -1);
                assert_int_equal(f.taken, cases[c].want_sent);
                assert_int_equal(p.i.turn_received, want_ask);
                assert_int_equal(p1_assoc_release(&p.i.a), 0);
                ptu_run(&p.i, &p.r, 0);
                if (p.i.released + p.r.released != 2)
                    fail_msg("%s/%s: not released (%s / %s)", mn, cn, p.i.abort_reason,
                             p.r.abort_reason);
                assert_int_equal(p.i.aborted + p.r.aborted, 0);
            }
            for (size_t k = 0; k < 3; k++)
                mg_buf_free(&f.apdu[k]);
            mg_buf_free(&mine);
            pair_free(&p);
        }
    }
}

/* A recovery request (the real RTORQ of the P772 capture's first association) is refused
 * with cannotRecover: recovery of interrupted transfers is not offered. */
static void responder_refuses_recovery(void **state)
{
    (void)state;
    struct mg_buf rq;
    SKIP_WITHOUT(&rq, "ber/wsample-rtse-RTORQ-recover.ber");
    struct mg_buf acse, ud, cn;
    mg_buf_init(&acse, 0);
    mg_buf_init(&ud, 0);
    mg_buf_init(&cn, 0);
    assert_int_equal(p1_acse_aarq(&acse, P1_PCTX_RTSE, rq.data, rq.len), 0);
    assert_int_equal(p1_pres_cp(&ud, NULL, NULL, acse.data, acse.len), 0);
    struct p1_spdu sp;
    p1_session_cn_fields(&sp, NULL, NULL);
    sp.has_ud = 1;
    sp.ud = ud.data;
    sp.ud_len = ud.len;
    assert_int_equal(p1_session_encode(&cn, &sp), 0);
    /* Our initiator's CR, then that CN, into our responder; its answer into the initiator. */
    struct p1_assoc_cfg icfg = {.initiator = 1}, rcfg = {.initiator = 0};
    struct ptu_side i, r;
    ptu_side_init(&i, &icfg);
    ptu_side_init(&r, &rcfg);
    assert_int_equal(p1_assoc_start(&i.a), 0);
    ptu_flow(&i, &r, 0);
    ptu_flow(&r, &i, 0); /* CC: our initiator sends its own CN, which we drop */
    p1_chain_reset(&i.a.out);
    struct p1_chain c, out;
    p1_chain_init(&c);
    p1_chain_init(&out);
    p1_chain_own(&c, cn.data, cn.len);
    p1_tpkt_data(&i.a.tpkt, &c, &out);
    struct mg_buf wire;
    mg_buf_init(&wire, 0);
    p1_chain_drain(&out, &wire);
    assert_int_equal(p1_assoc_input(&r.a, wire.data, wire.len), 0);
    ptu_side_events(&r);
    assert_int_equal(r.bind_requests, 0);
    assert_int_equal(r.a.state, P1_AS_CLOSED);
    ptu_flow(&r, &i, 0);
    assert_int_equal(i.bind_refused, 1);
    assert_string_equal(i.abort_reason, "recovery refused (cannotRecover)");
    mg_buf_free(&wire);
    p1_chain_free(&c);
    p1_chain_free(&out);
    ptu_side_free(&i);
    ptu_side_free(&r);
    mg_buf_free(&acse);
    mg_buf_free(&ud);
    mg_buf_free(&cn);
    mg_buf_free(&rq);
}

/* Garbage from the peer ends the association with a reason; a timeout too. */
static void responder_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t n;
        uint8_t b[40];
        const char *reason;
    } cases[] = {
        {"not-tpkt", 4, {1, 2, 3, 4}, "TPKT"},
        {"dt-before-cr", 8, {3, 0, 0, 8, 2, 0xf0, 0x80, 1}, "DT before"},
        {"cr-then-garbage-spdu", 20,
         {3, 0, 0, 11, 6, 0xe0, 0, 0, 0, 1, 0, 3, 0, 0, 9, 2, 0xf0, 0x80, 0x0d, 0x05},
         "SPDU length"},
        {"cr-then-finish", 20,
         {3, 0, 0, 11, 6, 0xe0, 0, 0, 0, 1, 0, 3, 0, 0, 9, 2, 0xf0, 0x80, 0x09, 0x00},
         "expected a session CONNECT"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct p1_assoc_cfg cfg = {.initiator = 0};
        struct ptu_side r;
        ptu_side_init(&r, &cfg);
        assert_true(p1_assoc_input(&r.a, cases[i].b, cases[i].n) < 0);
        ptu_side_events(&r);
        if (r.aborted != 1 || !strstr(r.abort_reason, cases[i].reason))
            fail_msg("%s: aborted %d reason \"%s\"", cases[i].name, r.aborted, r.abort_reason);
        assert_int_equal(r.a.state, P1_AS_CLOSED);
        ptu_side_free(&r);
    }
    struct p1_assoc_cfg cfg = {.initiator = 0};
    struct ptu_side r;
    ptu_side_init(&r, &cfg);
    p1_assoc_timeout(&r.a);
    ptu_side_events(&r);
    assert_int_equal(r.aborted, 1);
    assert_non_null(strstr(r.abort_reason, "timed out"));
    ptu_side_free(&r);
}

/* ---- tshark as the judge ---- */

static void tap_pcap(void *arg, int from_responder, const uint8_t *p, size_t n)
{
    assert_int_equal(pcapw_send(arg, from_responder, p, n), 0);
}

static char *run_tshark(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "tshark -r %s -V 2>&1", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    struct mg_buf text;
    mg_buf_init(&text, 64u << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(mg_buf_append(&text, chunk, n), 0);
    assert_int_equal(pclose(f), 0);
    size_t len;
    return (char *)mg_buf_steal(&text, &len);
}

/* One association of ours (bind, optionally one transfer of the real P772 MTS-APDU with
 * 1 KiB checkpoints, release) written as a pcap; tshark's decode returned (malloc'ed). */
static char *association_in_tshark(enum p1_mode mode, const struct mg_buf *apdu, char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct pcapw w;
    assert_int_equal(pcapw_open(&w, path, 0x0a000001, 40102, 0x0a000002, 102), 0);
    struct pair p;
    pair_init(&p, mode, 1, 3, 0, "pw-a", 0);
    p.i.tap = p.r.tap = tap_pcap;
    p.i.tap_arg = p.r.tap_arg = &w;
    ptu_run(&p.i, &p.r, 0);
    assert_int_equal(p.i.bind_accepted, 1);
    if (apdu) {
        assert_int_equal(p1_assoc_transfer(&p.i.a, apdu->data, apdu->len), 0);
        ptu_run(&p.i, &p.r, 0);
        assert_int_equal(p.i.confirmed, 1);
    }
    assert_int_equal(p1_assoc_release(&p.i.a), 0);
    ptu_run(&p.i, &p.r, 0);
    assert_int_equal(p.r.released, 1);
    assert_int_equal(pcapw_close(&w), 0);
    pair_free(&p);
    return run_tshark(path);
}

static void expect_in(const char *name, const char *t, const char *const *want, const char *path)
{
    for (size_t k = 0; want[k]; k++)
        if (!strstr(t, want[k])) {
            fprintf(stderr, "%s\n", t);
            fail_msg("%s: tshark output lacks \"%s\" (pcap kept: %s)", name, want[k], path);
        }
}

static void done_with(const char *path)
{
    if (getenv("MIXGATE_KEEP_PCAP"))
        fprintf(stderr, "pcap kept: %s\n", path);
    else
        unlink(path);
}

static int clean(const char *t)
{
    return !strstr(t, "Malformed") && !strstr(t, "[Expert Info (Error") &&
           !strstr(t, "[Expert Info (Warning");
}

/* Clean but for frames carrying session DATA TRANSFER SPDUs (X.410-mode user data, which
 * tshark reads as presentation PPDUs): every other frame, and every frame's TPKT, COTP and
 * session headers before the data, must be clean. */
static int clean_but_x410_data(const char *t)
{
    const char *f = strstr(t, "Frame ");
    while (f) {
        const char *next = strstr(f + 6, "\nFrame ");
        size_t n = next ? (size_t)(next - f) : strlen(f);
        char *block = strndup(f, n);
        assert_non_null(block);
        int bad = !clean(block) && !strstr(block, "SPDU Type: DATA TRANSFER (DT)");
        bad = bad || strstr(block, "Malformed Packet: COTP") || strstr(block, "Malformed Packet: TPKT");
        free(block);
        if (bad)
            return 0;
        f = next ? next + 1 : NULL;
    }
    return 1;
}

/* The real P772 MTS-APDU with 3000 more octets of body text (one more segment of its
 * constructed IA5String; the content OCTET STRING's length adjusted), so that its transfer
 * crosses 1 KiB checkpoints and still decodes in tshark down to the P772 body. */
static int grow_p772(struct mg_buf *apdu)
{
    static const uint8_t content[] = {0x04, 0x82, 0x01, 0xb3};
    static const uint8_t text[] = {0x36, 0x80, 0x04, 0x07, 'h', 'e', 'l', 'l', 'o'};
    uint8_t *c = memmem(apdu->data, apdu->len, content, sizeof content);
    uint8_t *t = memmem(apdu->data, apdu->len, text, sizeof text);
    if (!c || !t || t < c)
        return -1;
    size_t at = (size_t)(t - apdu->data) + 2, extra = 3000;
    size_t clen = (size_t)(c[2] << 8 | c[3]) + 4 + extra;
    c[2] = (uint8_t)(clen >> 8);
    c[3] = (uint8_t)clen;
    struct mg_buf n;
    mg_buf_init(&n, 0);
    mg_buf_append(&n, apdu->data, at);
    uint8_t h[4] = {0x04, 0x82, (uint8_t)(extra >> 8), (uint8_t)extra};
    mg_buf_append(&n, h, 4);
    for (size_t i = 0; i < extra; i++)
        mg_buf_append(&n, i % 64 == 63 ? "\n" : "x", 1);
    mg_buf_append(&n, apdu->data + at, apdu->len - at);
    mg_buf_free(apdu);
    *apdu = n;
    return 0;
}

static void tshark_judges_our_bytes(void **state)
{
    (void)state;
    struct mg_buf apdu;
    SKIP_WITHOUT(&apdu, "ber/wsample-p1-MTS-APDU-message-p772.ber");
    assert_int_equal(grow_p772(&apdu), 0);
    if (system("tshark -v >/dev/null 2>&1") != 0) {
        fprintf(stderr, "*** tshark not installed: pcap dissection test SKIPPED ***\n");
        mg_buf_free(&apdu);
        skip();
    }
    static const char *const bind_normal[] = {
        "ISO 8327-1 OSI Session Protocol", "ISO 8823 OSI Presentation Protocol",
        "aSO-context-name: 2.6.0.1.6", "X.228 OSI Reliable Transfer Service",
        "initiator-name: MIXGATE-A", "ia5-string: pw-a", "responder-name: MIXGATE-B",
        "ia5-string: pw-b", "rlrq", "rlre", NULL};
    static const char *const transfer_normal[] = {
        "ACTIVITY START", "MINOR SYNC POINT", "MAJOR SYNC POINT", "MAJOR SYNC ACK",
        "X.411 Message Transfer Service", "MTS-APDU: message (0)", "STANAG 4406 Message",
        "subject: P772 Message", NULL};
    static const char *const bind_x410[] = {
        "ISO 8327-1 OSI Session Protocol", "mode-value: x410-1984-mode (0)",
        "x410-mode-parameters", "initiator-name: MIXGATE-A", "ia5-string: pw-a",
        "responder-name: MIXGATE-B", "ia5-string: pw-b", "FINISH (FN)", "DISCONNECT (DN)", NULL};
    static const char *const transfer_x410[] = {
        "ACTIVITY START", "MINOR SYNC POINT", "MINOR SYNC ACK", "MAJOR SYNC POINT",
        "MAJOR SYNC ACK", NULL};
    static const struct {
        const char *name;
        enum p1_mode mode;
        const char *const *bind, *const *transfer;
    } cases[] = {
        {"1988-normal", P1_MODE_1988_NORMAL, bind_normal, transfer_normal},
        {"1988-x410", P1_MODE_1988_X410, bind_x410, transfer_x410},
        {"1984", P1_MODE_1984, bind_x410, transfer_x410},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Bind and release: every layer dissected, nothing malformed, no expert warning. */
        char path[] = "/tmp/mixgate-p1-pcap-XXXXXX";
        char *t = association_in_tshark(cases[i].mode, NULL, path);
        if (!clean(t)) {
            fprintf(stderr, "%s\n", t);
            fail_msg("%s: tshark found errors in %s (kept for inspection)", cases[i].name, path);
        }
        expect_in(cases[i].name, t, cases[i].bind, path);
        done_with(path);
        free(t);
        /* A whole association with a transfer. In normal mode it must be just as clean and
         * tshark reassembles our RTTR segments into the P772 message. In X.410 mode tshark
         * (4.0) hands session DATA user data to its presentation dissector as if it were
         * normal mode, so it cannot read an X.410-mode transfer (anyone's): there every frame
         * but the DATA ones must be clean. */
        char path2[] = "/tmp/mixgate-p1-pcap-XXXXXX";
        t = association_in_tshark(cases[i].mode, &apdu, path2);
        if (cases[i].mode == P1_MODE_1988_NORMAL ? !clean(t) : !clean_but_x410_data(t)) {
            fprintf(stderr, "%s\n", t);
            fail_msg("%s: tshark found errors in %s (kept for inspection)", cases[i].name,
                     path2);
        }
        expect_in(cases[i].name, t, cases[i].transfer, path2);
        done_with(path2);
        free(t);
    }
    mg_buf_free(&apdu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(responder_replay),       cmocka_unit_test(initiator_replay),
        cmocka_unit_test(pair_transfers),         cmocka_unit_test(pair_wrong_password),
        cmocka_unit_test(pair_bind_errors),       cmocka_unit_test(pair_abort_mid_activity), cmocka_unit_test(pair_apdu_over_limit),
        cmocka_unit_test(pair_turn),              cmocka_unit_test(pair_twa_responder_sends),              cmocka_unit_test(responder_bad_input),
        cmocka_unit_test(responder_refuses_recovery),
        cmocka_unit_test(tshark_judges_our_bytes),
    };
    return cmocka_run_group_tests_name("p1_assoc", tests, NULL, NULL);
}
