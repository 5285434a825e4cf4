/* Tests for mta/message: queue ids, NOTIFY parsing, state names, setters and copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "message.h"
#include "mg_err.h"

static int cmp_ids(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* 20,000 ids from one generator, some in the same microsecond, some with the clock going back:
 * all valid, strictly increasing, hence unique. */
static void test_id_unique_sorted(void **state)
{
    (void)state;
    enum { N = 20000 };
    char(*ids)[MESSAGE_ID_SIZE] = calloc(N, MESSAGE_ID_SIZE);
    assert_non_null(ids);
    struct message_idgen g;
    message_idgen_init(&g, 7);
    uint64_t t = UINT64_C(1790000000000000);
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            t += 1;          /* usually the clock moves a little */
        if (i % 997 == 0)
            t -= 50;         /* sometimes it steps back */
        message_idgen_next_at(&g, t, ids[i]);
        assert_true(message_id_valid(ids[i]));
        assert_int_equal(strlen(ids[i]), MESSAGE_ID_LEN);
        if (i > 0)
            assert_true(strcmp(ids[i - 1], ids[i]) < 0);
    }
    qsort(ids, N, MESSAGE_ID_SIZE, cmp_ids);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

/* More than 1024 ids in one microsecond borrow the next microsecond and stay ordered. */
static void test_id_sequence_overflow(void **state)
{
    (void)state;
    struct message_idgen g;
    message_idgen_init(&g, 0);
    char prev[MESSAGE_ID_SIZE] = "", cur[MESSAGE_ID_SIZE];
    for (int i = 0; i < 3000; i++) {
        message_idgen_next_at(&g, 1000, cur);
        assert_true(strcmp(prev, cur) < 0);
        memcpy(prev, cur, sizeof(cur));
    }
    assert_true(message_id_time_us(cur) >= 1002);
}

/* Ids carry their time: order of ids from different generators follows the clock. */
static void test_id_time(void **state)
{
    (void)state;
    static const uint64_t times[] = { 0, 1, 1700000000123456ull, 1790000000000000ull,
                                      (UINT64_C(1) << 55) - 1 };
    struct message_idgen a, b;
    message_idgen_init(&a, 3);
    message_idgen_init(&b, 29);
    char ia[MESSAGE_ID_SIZE], ib[MESSAGE_ID_SIZE];
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        message_idgen_next_at(&a, times[i], ia);
        assert_int_equal(message_id_time_us(ia), times[i]);
        if (i + 1 < sizeof(times) / sizeof(times[0])) {
            message_idgen_next_at(&b, times[i + 1], ib);
            assert_true(strcmp(ia, ib) < 0);
        }
    }
    /* real clock: valid and close to now */
    char now[MESSAGE_ID_SIZE];
    message_idgen_next(&a, now);
    assert_true(message_id_valid(now));
}

static void test_id_valid(void **state)
{
    (void)state;
    static const struct {
        const char *name, *id;
        int valid;
    } cases[] = {
        { "good", "0123456789ABCD", 1 },
        { "short", "0123456789ABC", 0 },
        { "long", "0123456789ABCDE", 0 },
        { "letter I", "0123456789ABCI", 0 },
        { "lower case", "0123456789abcd", 0 },
        { "slash", "0123456789AB/D", 0 },
        { "dot dot", "..", 0 },
        { "empty", "", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (message_id_valid(cases[i].id) != cases[i].valid)
            fail_msg("case %s", cases[i].name);
    }
    assert_false(message_id_valid(NULL));
}

static void test_notify_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        unsigned bits;
        const char *out;
    } cases[] = {
        { "NEVER", 0, MESSAGE_NOTIFY_NEVER, "NEVER" },
        { "SUCCESS", 0, MESSAGE_NOTIFY_SUCCESS, "SUCCESS" },
        { "success,failure", 0, MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE,
          "SUCCESS,FAILURE" },
        { "DELAY,FAILURE,SUCCESS", 0,
          MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE | MESSAGE_NOTIFY_DELAY,
          "SUCCESS,FAILURE,DELAY" },
        { "NEVER,SUCCESS", MG_EINVAL, 0, NULL },
        { "SUCCESS,SUCCESS", MG_EINVAL, 0, NULL },
        { "SUCCES", MG_EINVAL, 0, NULL },
        { "SUCCESS,", MG_EINVAL, 0, NULL },
        { "", MG_EINVAL, 0, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned bits = 0;
        int rc = message_notify_parse(cases[i].in, &bits);
        if (rc != cases[i].rc)
            fail_msg("case %s: rc %d", cases[i].in, rc);
        if (rc == 0) {
            char buf[64];
            assert_int_equal(bits, cases[i].bits);
            assert_string_equal(message_notify_format(bits, buf, sizeof(buf)), cases[i].out);
        }
    }
}

static void test_state_names(void **state)
{
    (void)state;
    for (int s = 0; s < MESSAGE_RCPT_STATE_COUNT; s++) {
        enum message_rcpt_state back;
        assert_int_equal(message_rcpt_state_parse(message_rcpt_state_name(s), &back), 0);
        assert_int_equal((int)back, s);
    }
    enum message_rcpt_state back;
    assert_int_equal(message_rcpt_state_parse("queued", &back), MG_EINVAL);
    assert_true(message_rcpt_state_is_final(MESSAGE_RCPT_DELIVERED));
    assert_true(message_rcpt_state_is_final(MESSAGE_RCPT_FAILED));
    assert_false(message_rcpt_state_is_final(MESSAGE_RCPT_PENDING));
    assert_false(message_rcpt_state_is_final(MESSAGE_RCPT_DEFERRED));
}

static void test_setters_limits(void **state)
{
    (void)state;
    struct message *m = message_create();
    assert_non_null(m);
    assert_string_equal(m->originator, "");
    assert_int_equal(m->priority, MESSAGE_PRIORITY_DEFAULT);
    char *big = malloc(MESSAGE_ADDR_MAX + 2);
    memset(big, 'a', MESSAGE_ADDR_MAX + 1);
    big[MESSAGE_ADDR_MAX + 1] = '\0';
    static const struct {
        const char *name;
        int expect;
    } cases[] = { { "originator too long", MG_ETOOBIG }, { "rcpt too long", MG_ETOOBIG },
                  { "rcpt empty", MG_EINVAL }, { "notify never+success", MG_EINVAL },
                  { "label too big", MG_ETOOBIG } };
    int got[5];
    got[0] = message_set_originator(m, big);
    got[1] = message_add_rcpt(m, big, NULL, 0, NULL);
    got[2] = message_add_rcpt(m, "", NULL, 0, NULL);
    got[3] = message_add_rcpt(m, "a@b", NULL, MESSAGE_NOTIFY_NEVER | MESSAGE_NOTIFY_SUCCESS,
                              NULL);
    got[4] = message_set_label(m, big, MESSAGE_LABEL_MAX + 1);
    for (size_t i = 0; i < 5; i++)
        if (got[i] != cases[i].expect)
            fail_msg("case %s: %d", cases[i].name, got[i]);
    assert_int_equal(m->nrcpts, 0);
    assert_string_equal(m->originator, "");
    free(big);

    /* many recipients: the array grows; returned pointer is the new element */
    for (int i = 0; i < 40; i++) {
        char addr[32];
        struct message_rcpt *r = NULL;
        snprintf(addr, sizeof(addr), "u%d@example.org", i);
        assert_int_equal(message_add_rcpt(m, addr, "rfc822;x@y", MESSAGE_NOTIFY_SUCCESS, &r), 0);
        assert_string_equal(r->addr, addr);
        assert_int_equal(r->state, MESSAGE_RCPT_PENDING);
    }
    assert_int_equal(m->nrcpts, 40);
    assert_false(message_is_final(m));
    for (size_t i = 0; i < m->nrcpts; i++)
        m->rcpts[i].state = i % 2 ? MESSAGE_RCPT_DELIVERED : MESSAGE_RCPT_FAILED;
    assert_true(message_is_final(m));
    uint32_t counts[MESSAGE_RCPT_STATE_COUNT];
    message_count_states(m, counts);
    assert_int_equal(counts[MESSAGE_RCPT_DELIVERED], 20);
    assert_int_equal(counts[MESSAGE_RCPT_FAILED], 20);
    assert_int_equal(message_set_hold(m, 1, "label check"), 0);
    assert_string_equal(m->hold_reason, "label check");
    assert_int_equal(message_set_hold(m, 0, "ignored"), 0);
    assert_null(m->hold_reason);
    assert_int_equal(m->hold, 0);
    message_free(m);
}

static void test_dup(void **state)
{
    (void)state;
    struct message *m = message_create();
    assert_non_null(m);
    assert_int_equal(message_set_originator(m, "alice@example.org"), 0);
    assert_int_equal(message_set_envid(m, "ENV-1"), 0);
    assert_int_equal(message_set_received(m, "client [192.0.2.1]", "ESMTPS"), 0);
    assert_int_equal(message_set_label(m, "\x31\x05\x06\x03\x2a\x03\x04", 7), 0);
    struct message_rcpt *r = NULL;
    assert_int_equal(message_add_rcpt(m, "bob@example.net", "rfc822;bob@example.net",
                                      MESSAGE_NOTIFY_FAILURE, &r), 0);
    assert_int_equal(message_rcpt_set_route(r, "out", "cms,smtp", "mx1"), 0);
    assert_int_equal(message_rcpt_set_str(&r->last_reply, "451 4.4.1 later"), 0);
    memcpy(m->id, "0123456789ABCD", MESSAGE_ID_SIZE - 1);
    struct message *d = message_dup(m);
    assert_non_null(d);
    assert_string_equal(d->id, m->id);
    assert_string_equal(d->originator, "alice@example.org");
    assert_string_equal(d->envid, "ENV-1");
    assert_string_equal(d->received_proto, "ESMTPS");
    assert_int_equal(d->label_len, 7);
    assert_memory_equal(d->label, m->label, 7);
    assert_ptr_not_equal(d->label, m->label);
    assert_int_equal(d->nrcpts, 1);
    assert_string_equal(d->rcpts[0].chain, "cms,smtp");
    assert_string_equal(d->rcpts[0].last_reply, "451 4.4.1 later");
    assert_ptr_not_equal(d->rcpts[0].addr, m->rcpts[0].addr);
    message_free(m);
    message_free(d);
    message_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_unique_sorted), cmocka_unit_test(test_id_sequence_overflow),
        cmocka_unit_test(test_id_time),          cmocka_unit_test(test_id_valid),
        cmocka_unit_test(test_notify_parse),     cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_setters_limits),   cmocka_unit_test(test_dup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
