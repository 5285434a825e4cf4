/* test_report_decide: which outcome of a recipient gets a report of ours (report_decide):
 * NOTIFY as given, the next hop that took the report duties on (CHANNEL_OUT_NEXT_HOP_REPORTS:
 * an SMTP server with the DSN extension, an X.400 peer asked for the delivery report), and the
 * reports a gateway owes the X.400 originating MTA beyond NOTIFY (RFC 2156 A.3.2:
 * MESSAGE_RCPT_F_GW_SUCCESS / _FAILURE). Named cases, one outcome each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "channel.h"
#include "message.h"
#include "report.h"

enum { NONE = -1 };

struct case_ {
    const char *name;
    unsigned notify;          /* the recipient's NOTIFY (0 = not given) */
    unsigned flags;           /* its message_rcpt_flag bits */
    enum channel_action act;
    unsigned oflags;          /* the outcome's channel_outcome_flag bits */
    int delayed;
    int want;                 /* the dsn_action reported, or NONE */
};

#define S MESSAGE_NOTIFY_SUCCESS
#define F MESSAGE_NOTIFY_FAILURE
#define D MESSAGE_NOTIFY_DELAY
#define NEVER MESSAGE_NOTIFY_NEVER
#define GWS MESSAGE_RCPT_F_GW_SUCCESS
#define GWF MESSAGE_RCPT_F_GW_FAILURE
#define NHR CHANNEL_OUT_NEXT_HOP_REPORTS

static const struct case_ cases[] = {
    { "default_failure_reported", 0, 0, CHANNEL_FAILED, 0, 0, DSN_ACTION_FAILED },
    { "default_delivery_silent", 0, 0, CHANNEL_DELIVERED, 0, 0, NONE },
    { "default_delay_reported", 0, 0, CHANNEL_DEFERRED, 0, 1, DSN_ACTION_DELAYED },
    { "success_delivered", S, 0, CHANNEL_DELIVERED, 0, 0, DSN_ACTION_DELIVERED },
    { "success_relayed_no_dsn_next_hop", S, 0, CHANNEL_RELAYED, 0, 0, DSN_ACTION_RELAYED },
    { "success_relayed_next_hop_reports", S, 0, CHANNEL_RELAYED, NHR, 0, NONE },
    { "never_failure_silent", NEVER, 0, CHANNEL_FAILED, 0, 0, NONE },
    /* A.3.2: the originating MTA asked for more than the originator */
    { "gw_success_relayed_although_next_hop", F, GWS, CHANNEL_RELAYED, NHR, 0, DSN_ACTION_RELAYED },
    { "gw_success_delivered", F, GWS, CHANNEL_DELIVERED, 0, 0, DSN_ACTION_DELIVERED },
    { "gw_success_keeps_failure", F, GWS, CHANNEL_FAILED, 0, 0, DSN_ACTION_FAILED },
    { "gw_failure_under_never", NEVER, GWF, CHANNEL_FAILED, 0, 0, DSN_ACTION_FAILED },
    { "gw_failure_under_never_no_delivery", NEVER, GWF, CHANNEL_DELIVERED, 0, 0, NONE },
    { "gw_failure_under_never_next_hop", NEVER, GWF, CHANNEL_RELAYED, NHR, 0, NONE },
    { "gw_both_under_never_relayed", NEVER, GWS | GWF, CHANNEL_RELAYED, 0, 0, DSN_ACTION_RELAYED },
    { "gw_success_default_notify_keeps_delay", 0, GWS, CHANNEL_DEFERRED, 0, 1, DSN_ACTION_DELAYED },
};

static void run(void **state)
{
    const struct case_ *c = *state;
    struct message *m = message_create();
    assert_non_null(m);
    assert_int_equal(message_set_originator(m, "ops@example.org"), 0);
    struct message_rcpt *r = NULL;
    assert_int_equal(message_add_rcpt(m, "rcpt@example.net", NULL, c->notify, &r), 0);
    r->flags = c->flags;
    struct channel_outcome o;
    channel_outcome_set(&o, c->act, 0, NULL, "x", NULL);
    o.flags = c->oflags;
    enum dsn_action a = DSN_ACTION_FAILED;
    int got = report_decide(m, r, &o, c->delayed, &a);
    if ((got ? (int)a : NONE) != c->want)
        fail_msg("%s: got %s %d, want %d", c->name, got ? "report" : "none", got ? (int)a : NONE,
                 c->want);
    /* a report itself never gets one, whatever the flags */
    assert_int_equal(message_set_originator(m, ""), 0);
    assert_int_equal(report_decide(m, r, &o, c->delayed, &a), 0);
    message_free(m);
}

int main(void)
{
    struct CMUnitTest t[sizeof cases / sizeof *cases];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        t[i] = (struct CMUnitTest){ cases[i].name, run, NULL, NULL, (void *)&cases[i] };
    return cmocka_run_group_tests(t, NULL, NULL);
}
