/* test_smtp_rate: the per-address connection rate (channels/smtp/smtp_rate.c): the limit per
 * sliding minute, addresses counted apart, the window rolling on, and a flood of distinct
 * addresses that fills the fixed table without breaking the count of a busy one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "smtp_rate.h"

struct step {
    const char *addr;
    uint64_t at_ms;
    int want;
};

struct rate_case {
    const char *name;
    unsigned limit;
    struct step steps[12];
};

static void test_rate_cases(void **state)
{
    (void)state;
    static const struct rate_case rcases[] = {
        { "no limit", 0, { { "a", 0, 1 }, { "a", 0, 1 }, { "a", 0, 1 }, { NULL, 0, 0 } } },
        { "third refused", 2, { { "a", 0, 1 }, { "a", 10, 1 }, { "a", 20, 0 }, { "b", 20, 1 }, { NULL, 0, 0 } } },
        { "refusals count", 1, { { "a", 0, 1 }, { "a", 1000, 0 }, { "a", 61000, 0 }, { "a", 200000, 1 }, { NULL, 0, 0 } } },
        /* 2 in the first minute; at 90 s half of them still count: 1 + 1 new = 2 <= 2 */
        { "sliding window", 2, { { "a", 0, 1 }, { "a", 1, 1 }, { "a", 90000, 1 }, { "a", 90001, 0 }, { NULL, 0, 0 } } },
        { "long quiet resets", 1, { { "a", 0, 1 }, { "a", 500000, 1 }, { "a", 500001, 0 }, { NULL, 0, 0 } } },
    };
    for (size_t i = 0; i < sizeof rcases / sizeof *rcases; i++) {
        struct smtp_rate *r = calloc(1, sizeof *r);
        assert_non_null(r);
        for (size_t k = 0; rcases[i].steps[k].addr; k++) {
            const struct step *st = &rcases[i].steps[k];
            int got = smtp_rate_allow(r, st->addr, st->at_ms, rcases[i].limit);
            if (got != st->want)
                fail_msg("%s, step %zu: got %d", rcases[i].name, k, got);
        }
        free(r);
    }
}

static void test_table_flood(void **state)
{
    (void)state;
    struct smtp_rate *r = calloc(1, sizeof *r);
    assert_non_null(r);
    /* the busy address connects between floods of one-off addresses, more than the table holds */
    int refused = 0;
    for (int round = 0; round < 10; round++) {
        char a[48];
        for (int k = 0; k < 3 * SMTP_RATE_SLOTS; k++) {
            snprintf(a, sizeof a, "10.%d.%d.%d", round, k / 256, k % 256);
            assert_int_equal(smtp_rate_allow(r, a, 1000 + (uint64_t)round, 5), 1);
        }
        refused += !smtp_rate_allow(r, "192.0.2.1", 1000 + (uint64_t)round, 5);
    }
    /* a busy address may be forgotten under a flood (bounded memory), but never refused early */
    assert_true(refused <= 5);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_cases),
        cmocka_unit_test(test_table_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
