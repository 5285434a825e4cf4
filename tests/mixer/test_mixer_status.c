/* The one RFC 3463 status -> X.400 reason / diagnostic table (RFC 2156 5.1.8.4), row by row:
 * the rows below are the RFC's table as printed (status "X.s.d" for both classes 4 and 5;
 * "None" = no diagnostic; X.1.5 and X.6.4 are positive only and map as their X.n.0; a code the
 * table lacks maps as X.n.0). Each row is checked in the table (mixer_report_reason_of) and
 * in the X.400 non-delivery report the P1 side builds for one of our outcomes with that
 * status (p1_report_build, read back with mixer_report_from_ber), so the MIXER DSN mapping
 * and our own reports cannot disagree. Also the outcomes the P1 side reports as delivery
 * reports: delivered, relayed (type-of-MTS-user other, gateway-generated supplementary
 * information naming the gateway, RFC 2156 4.6.2.3) and expanded (dl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "message.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mixer_report.h"
#include "oraddr.h"
#include "p1_report.h"
#include "report.h"

#define NONE (-1)

/* RFC 2156 5.1.8.4 "DSN code / X400 code", every row. */
static const struct {
    const char *sd; /* "s.d" of X.s.d */
    int reason, diag;
} rfc_table[] = {
    {"0.0", 1, NONE}, {"1.0", 1, NONE}, {"1.1", 1, 0},    {"1.2", 1, 0},    {"1.3", 1, 0},
    {"1.4", 1, 1},    {"1.5", 1, NONE}, /* positive only: as X.1.0 */
    {"1.6", 1, 43},   {"1.7", 1, 11},   {"1.8", 1, 11},   {"2.0", 1, NONE}, {"2.1", 1, 4},
    {"2.2", 1, 4},    {"2.3", 1, 7},    {"2.4", 1, 30},   {"3.0", 0, NONE}, {"3.1", 1, 2},
    {"3.2", 1, 2},    {"3.3", 1, 18},   {"3.4", 1, 7},    {"3.5", 1, NONE}, {"4.0", 0, NONE},
    {"4.1", 0, NONE}, {"4.2", 0, NONE}, {"4.3", 6, NONE}, {"4.4", 0, NONE}, {"4.5", 1, 2},
    {"4.6", 1, 3},    {"4.7", 1, 5},    {"5.0", 1, NONE}, {"5.1", 1, 14},   {"5.2", 1, 14},
    {"5.3", 1, 16},   {"5.4", 1, 14},   {"5.5", 1, 18},   {"6.0", 2, NONE}, {"6.1", 1, 6},
    {"6.2", 1, 9},    {"6.3", 2, 8},    {"6.4", 2, NONE}, /* positive only: as X.6.0 */
    {"6.5", 2, 47},   {"7.0", 1, 46},   {"7.1", 1, 29},   {"7.2", 1, 28},   {"7.3", 1, 46},
    {"7.4", 1, 46},   {"7.5", 1, 46},   {"7.6", 1, 46},   {"7.7", 1, 46},
    /* not in the table: "5.2.37 would map onto the same as 5.2.0, namely 1/None" */
    {"2.37", 1, NONE}, {"9.9", 1, NONE},
};

static struct message *subject_message(void)
{
    struct message *m = message_create();
    assert_non_null(m);
    assert_int_equal(message_set_originator(m, "/C=FR/ADMD= /PRMD=Z/S=op/"), 0);
    assert_int_equal(message_set_x400(m, "[/C=FR/ADMD= /PRMD=Z/;abc-1]", "22", NULL, 0), 0);
    assert_int_equal(message_set_received(m, "PEER [127.0.0.1]", "P1"), 0);
    snprintf(m->id, sizeof m->id, "1K20AG4B5A9D00");
    assert_int_equal(message_add_rcpt(m, "/C=GB/ADMD= /PRMD=X/S=rcpt/", NULL, 0, NULL), 0);
    return m;
}

/* Our outcome item -> the report the P1 side builds -> its one recipient, read back. */
static void report_of(const struct report_item *it, struct mixer_report *out)
{
    struct message *m = subject_message();
    struct oraddr us;
    assert_int_equal(oraddr_parse("/C=XX/ADMD= /PRMD=MIXGATE/", &us, NULL, 0), 0);
    struct message *rm = NULL;
    unsigned char *content = NULL;
    size_t len = 0;
    assert_int_equal(p1_report_build(&us, m, it, 1, NULL, 0, 1796613075, &rm, &content, &len), 0);
    assert_non_null(rm);
    char why[200] = "";
    int rc = mixer_report_from_ber(content, len, out, NULL, why, sizeof why);
    if (rc)
        fail_msg("report does not read back: %s", why);
    assert_int_equal(out->nrcpts, 1);
    message_free(rm);
    free(content);
    message_free(m);
}

static void test_table_rows(void **state)
{
    (void)state;
    struct mixer_report *r = calloc(1, sizeof *r);
    assert_non_null(r);
    for (size_t i = 0; i < sizeof rfc_table / sizeof rfc_table[0]; i++) {
        for (int cls = 4; cls <= 5; cls++) {
            char status[16];
            snprintf(status, sizeof status, "%d.%s", cls, rfc_table[i].sd);
            int reason = -2, diag = -2;
            mixer_report_reason_of(status, &reason, &diag);
            if (reason != rfc_table[i].reason || diag != rfc_table[i].diag)
                fail_msg("table row X.%s (%s): %d/%d, RFC 2156 says %d/%d", rfc_table[i].sd,
                         status, reason, diag, rfc_table[i].reason, rfc_table[i].diag);
            struct report_item it = {.rcpt = 0, .action = DSN_ACTION_FAILED, .status = status,
                                     .diagnostic = "no", .x400_reason = CHANNEL_X400_NONE,
                                     .x400_diagnostic = CHANNEL_X400_NONE};
            report_of(&it, r);
            if (r->rcpts[0].delivered || r->rcpts[0].reason != rfc_table[i].reason ||
                r->rcpts[0].diagnostic != rfc_table[i].diag)
                fail_msg("P1 report for %s: %d/%d, RFC 2156 says %d/%d", status,
                         r->rcpts[0].reason, r->rcpts[0].diagnostic, rfc_table[i].reason,
                         rfc_table[i].diag);
        }
    }
    free(r);
}

/* The channel's own X.411 codes win; a missing diagnostic comes from the table only when
 * the table agrees on the reason. */
static void test_channel_codes(void **state)
{
    (void)state;
    static const struct {
        const char *name, *status;
        int reason, diag, want_reason, want_diag;
    } cases[] = {
        {"both given", "5.1.1", 1, 3, 1, 3},
        {"reason given, table agrees", "5.3.4", 1, CHANNEL_X400_NONE, 1, 7},
        {"reason given, table differs", "4.4.1", 1, CHANNEL_X400_NONE, 1, NONE},
        {"neither: the table", "5.4.6", CHANNEL_X400_NONE, CHANNEL_X400_NONE, 1, 3},
        {"no status: 5.0.0", "", CHANNEL_X400_NONE, CHANNEL_X400_NONE, 1, NONE},
    };
    struct mixer_report *r = calloc(1, sizeof *r);
    assert_non_null(r);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct report_item it = {.rcpt = 0, .action = DSN_ACTION_FAILED,
                                 .status = cases[k].status, .x400_reason = cases[k].reason,
                                 .x400_diagnostic = cases[k].diag};
        report_of(&it, r);
        if (r->rcpts[0].reason != cases[k].want_reason ||
            r->rcpts[0].diagnostic != cases[k].want_diag)
            fail_msg("case %s: %d/%d", cases[k].name, r->rcpts[0].reason, r->rcpts[0].diagnostic);
    }
    free(r);
}

/* Positive outcomes: delivery reports; relayed and expanded carry their type of MTS user and
 * read back as those DSN actions. */
static void test_positive(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum dsn_action action;
        int mts_user;
        const char *dsn_action;
    } cases[] = {
        {"delivered", DSN_ACTION_DELIVERED, MIXER_MTS_USER_PUBLIC, "delivered"},
        {"relayed", DSN_ACTION_RELAYED, MIXER_MTS_USER_OTHER, "relayed"},
        {"expanded", DSN_ACTION_EXPANDED, MIXER_MTS_USER_DL, "expanded"},
    };
    struct mixer_report *r = calloc(1, sizeof *r);
    assert_non_null(r);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct report_item it = {.rcpt = 0, .action = cases[k].action, .status = "2.0.0",
                                 .diagnostic = "250 2.0.0 queued as X1",
                                 .x400_reason = CHANNEL_X400_NONE,
                                 .x400_diagnostic = CHANNEL_X400_NONE};
        report_of(&it, r);
        if (!r->rcpts[0].delivered || r->rcpts[0].mts_user != cases[k].mts_user ||
            strcmp(mixer_report_action(&r->rcpts[0]), cases[k].dsn_action) != 0)
            fail_msg("case %s: delivered %d, type %d, action %s", cases[k].name,
                     r->rcpts[0].delivered, r->rcpts[0].mts_user,
                     mixer_report_action(&r->rcpts[0]));
        if (cases[k].action == DSN_ACTION_RELAYED)
            assert_string_equal(r->rcpts[0].supplementary,
                                "gateway-generated report: relayed by /C=XX/ADMD= /PRMD=MIXGATE/"
                                ": 250 2.0.0 queued as X1");
    }
    /* a delay is never an X.400 report */
    struct message *m = subject_message();
    struct oraddr us;
    assert_int_equal(oraddr_parse("/C=XX/ADMD= /PRMD=MIXGATE/", &us, NULL, 0), 0);
    struct report_item d = {.rcpt = 0, .action = DSN_ACTION_DELAYED, .status = "4.4.1",
                            .x400_reason = CHANNEL_X400_NONE, .x400_diagnostic = CHANNEL_X400_NONE};
    struct message *rm = NULL;
    unsigned char *c = NULL;
    size_t l = 0;
    assert_int_equal(p1_report_build(&us, m, &d, 1, NULL, 0, 0, &rm, &c, &l), 0);
    assert_null(rm);
    message_free(m);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_rows),
        cmocka_unit_test(test_channel_codes),
        cmocka_unit_test(test_positive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
