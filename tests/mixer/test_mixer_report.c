/* Tests of the report mapping (mixer_report): X.400 DR/NDR -> RFC 3464 DSN against golden
 * .out files under test-vectors/mixer/report (x400-*.out), DSN -> X.400 report of the golden
 * dsn-*.in messages (the report dumped as text, compared with dsn-*.out), round trips
 * (report -> DSN -> report keeps every field the DSN carries), the RFC 2156 status tables, and
 * hostile DSNs rejected without a crash. UTCTimes are written with "+0000": RFC 5322 has no
 * "Z", so a "Z" comes back as "+0000" (same instant). MIXER_REGEN=1 rewrites the golden files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mg_buf.h"
#include "mg_err.h"
#include "mixer_addr.h"
#include "mixer_ber.h"
#include "mixer_or.h"
#include "mixer_orname.h"
#include "mixer_report.h"
#include "mixer_table.h"

static const char *src_dir(void)
{
    const char *s = getenv("MIXGATE_SOURCE_DIR");
    return s && *s ? s : ".";
}

static struct mixer_tables tables;
static struct mixer_gw gw;

static int setup(void **state)
{
    (void)state;
    char p[1024], err[256] = "";
    mixer_tables_init(&tables);
    const char *names[2] = {"rfc2or", "or2rfc"};
    for (int k = 0; k < 2; k++) {
        unsigned char *t = NULL;
        size_t len = 0;
        snprintf(p, sizeof p, "%s/test-vectors/mixer/tables/%s", src_dir(), names[k]);
        if (mg_read_file(p, 0, &t, &len) != 0 ||
            mixer_tables_load(&tables, (enum mixer_table_kind)k, p, (const char *)t, len, err,
                              sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", p, err);
            free(t);
            return -1;
        }
        free(t);
    }
    memset(&gw, 0, sizeof gw);
    gw.tables = &tables;
    snprintf(gw.domain, sizeof gw.domain, "x400.example");
    const char *o = "/C=GB/ADMD= /PRMD=Example/O=MIXER/";
    return mixer_or_parse(o, strlen(o), &gw.or, NULL, 0);
}

static int teardown(void **state)
{
    (void)state;
    mixer_tables_free(&tables);
    return 0;
}

static void golden(const char *rel, const struct mg_buf *out)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/test-vectors/mixer/report/%s", src_dir(), rel);
    if (getenv("MIXER_REGEN")) {
        assert_int_equal(mg_write_file_atomic(p, out->data, out->len, 0644), 0);
        return;
    }
    unsigned char *want = NULL;
    size_t len = 0;
    if (mg_read_file(p, 0, &want, &len) != 0)
        fail_msg("%s: missing golden file (run with MIXER_REGEN=1 and review)", p);
    if (len != out->len || memcmp(want, out->data, len) != 0) {
        fprintf(stderr, "---- got (%zu bytes)\n%.*s\n---- want %s\n", out->len, (int)out->len,
                (const char *)out->data, p);
        free(want);
        fail_msg("%s differs", rel);
    }
    free(want);
}

/* The report as text: what the golden dsn-*.out files hold. */
static void dump(const struct mixer_report *r, struct mg_buf *b)
{
    mg_buf_appendf(b, "subject-identifier: %s\narrival: %s\ncontent-identifier: %s\n",
                   r->subject_id, r->arrival, r->content_id);
    for (size_t i = 0; i < r->nrcpts; i++) {
        const struct mixer_report_rcpt *p = &r->rcpts[i];
        mg_buf_appendf(b, "recipient %zu: %s; %s\n  original: %s; %s\n  type: %s\n", i,
                       p->final_type, p->final_rcpt, p->original_type, p->original_rcpt,
                       p->delivered ? "delivery" : "non-delivery");
        if (!p->delivered)
            mg_buf_appendf(b, "  reason: %d (%s)\n  diagnostic: %d (%s)\n", p->reason,
                           mixer_report_reason_name(p->reason), p->diagnostic,
                           p->diagnostic >= 0 ? mixer_report_diag_name(p->diagnostic) : "none");
        mg_buf_appendf(b, "  status: %s\n  number: %d\n  supplementary: %s\n  when: %s\n",
                       p->status, p->number, p->supplementary, p->when);
    }
    mg_buf_appendf(b, "returned: %zu bytes\n", r->returned_len);
}

static const struct mixer_report_dsn_opts opts = {
    .gateway = "gw.example.org",
    .reporting_mta = "/C=GB/ADMD= /PRMD=Example/",
    .to = "alice@example.org",
    .message_id = "R1@gw.example.org",
    .now = 1700000000,
    .returned_is_822 = 1,
};

static void add(struct mixer_report *r, const char *final, const char *orig, int delivered,
                int reason, int diag, const char *supp)
{
    struct mixer_report_rcpt *p = &r->rcpts[r->nrcpts++];
    snprintf(p->final_rcpt, sizeof p->final_rcpt, "%s", final);
    snprintf(p->original_rcpt, sizeof p->original_rcpt, "%s", orig);
    if (orig[0])
        snprintf(p->original_type, sizeof p->original_type, "x400");
    p->delivered = delivered;
    p->reason = delivered ? -1 : reason;
    p->diagnostic = delivered ? -1 : diag;
    p->number = (int)r->nrcpts;
    snprintf(p->supplementary, sizeof p->supplementary, "%s", supp);
    if (delivered)
        snprintf(p->when, sizeof p->when, "231114221320+0000");
}

/* X.400 -> DSN cases: the report built here, the DSN golden, then back. */
static void build_case(int k, struct mixer_report *r)
{
    mixer_report_init(r);
    snprintf(r->subject_id, sizeof r->subject_id, "[/C=GB/ADMD= /PRMD=Example/;M42.1]");
    snprintf(r->arrival, sizeof r->arrival, "231114221300+0000");
    switch (k) {
    case 0: /* one non-delivery: unrecognised O/R name */
        add(r, "/C=GB/ADMD= /PRMD=Example/O=Sales/S=Smith/", "/C=GB/ADMD= /PRMD=Example/S=Bob/", 0,
            1, 0, "no such user");
        break;
    case 1: /* one delivery */
        add(r, "/C=GB/ADMD= /PRMD=Example/S=Jones/", "", 1, 0, 0, "");
        break;
    default: /* mixed, with returned content and a reason without diagnostic */
        add(r, "/C=GB/ADMD= /PRMD=Example/S=Jones/", "", 1, 0, 0, "");
        add(r, "/C=GB/ADMD= /PRMD=Example/S=Loop/", "", 0, 1, 3, "");
        add(r, "/C=GB/ADMD= /PRMD=Example/S=Conv/", "", 0, 2, -1, "conversion failed");
        r->returned = (const unsigned char *)"Subject: hi\r\n\r\nbody\r\n";
        r->returned_len = strlen((const char *)r->returned);
        snprintf(r->content_id, sizeof r->content_id, "CID-7");
        break;
    }
}

static void same_rcpts(const struct mixer_report *a, const struct mixer_report *b)
{
    assert_string_equal(b->subject_id, a->subject_id);
    assert_string_equal(b->arrival, a->arrival);
    assert_string_equal(b->content_id, a->content_id);
    assert_int_equal(b->nrcpts, a->nrcpts);
    for (size_t i = 0; i < a->nrcpts; i++) {
        const struct mixer_report_rcpt *x = &a->rcpts[i], *y = &b->rcpts[i];
        assert_string_equal(y->final_rcpt, x->final_rcpt);
        assert_string_equal(y->original_rcpt, x->original_rcpt);
        assert_int_equal(y->delivered, x->delivered);
        assert_int_equal(y->reason, x->reason);
        assert_int_equal(y->diagnostic, x->diagnostic);
        assert_int_equal(y->number, x->number);
        assert_string_equal(y->supplementary, x->supplementary);
        if (x->delivered)
            assert_string_equal(y->when, x->when);
    }
    assert_int_equal(b->returned_len, a->returned_len);
    if (a->returned_len)
        assert_memory_equal(b->returned, a->returned, a->returned_len);
}

/* X.400 -> DSN: the report built here is written as DER ReportTransferContent (golden .ber),
 * read back (every field survives), mapped and written as a DSN (golden .out), which parses
 * back to the same report. */
static void test_x400_to_dsn(void **state)
{
    (void)state;
    static const char *const names[] = {"x400-ndr", "x400-dr", "x400-mixed"};
    for (int k = 0; k < 3; k++) {
        struct mixer_report *r = calloc(1, sizeof *r), *x = calloc(1, sizeof *x),
                            *back = calloc(1, sizeof *back);
        assert_non_null(r);
        assert_non_null(x);
        assert_non_null(back);
        build_case(k, r);
        char why[256] = "", rel[64];
        struct mg_buf ber, ret, dsn;
        mg_buf_init(&ber, 0);
        mg_buf_init(&ret, 0);
        mg_buf_init(&dsn, 0);
        int rc = mixer_report_to_ber(r, "231114221400Z", &ber, why, sizeof why);
        if (rc)
            fail_msg("%s: %s", names[k], why);
        snprintf(rel, sizeof rel, "%s.ber", names[k]);
        golden(rel, &ber);
        rc = mixer_report_from_ber(ber.data, ber.len, x, &ret, why, sizeof why);
        if (rc)
            fail_msg("%s: %s", names[k], why);
        same_rcpts(r, x);
        assert_int_equal(mixer_report_map(x, &gw, 0, why, sizeof why), 0);
        assert_int_equal(mixer_report_to_dsn(x, &opts, &dsn), 0);
        snprintf(rel, sizeof rel, "%s.out", names[k]);
        golden(rel, &dsn);
        /* and back: every field the DSN carries comes home */
        size_t skipped = 99;
        assert_int_equal(mixer_dsn_parse(dsn.data, dsn.len, back, &skipped, why, sizeof why), 0);
        assert_int_equal(skipped, 0);
        same_rcpts(x, back);
        for (size_t i = 0; i < back->nrcpts; i++)
            assert_string_equal(back->rcpts[i].final_type, "x400");
        /* and to X.400 again: the same DER (the original recipient maps back) */
        struct mg_buf ber2;
        mg_buf_init(&ber2, 0);
        assert_int_equal(mixer_report_map(back, &gw, 1, why, sizeof why), 0);
        assert_int_equal(mixer_report_to_ber(back, "231114221400Z", &ber2, why, sizeof why), 0);
        assert_int_equal(ber2.len, ber.len);
        assert_memory_equal(ber2.data, ber.data, ber.len);
        mg_buf_free(&ber2);
        mg_buf_free(&ber);
        mg_buf_free(&ret);
        mg_buf_free(&dsn);
        free(r);
        free(x);
        free(back);
    }
}

/* DSN -> X.400: golden inputs from Internet MTAs (and our own output), dumped. */
static void test_dsn_to_x400(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t nrcpts, skipped;
        int to_x400; /* has an X.400 subject identifier, so it becomes an X.400 report */
    } cases[] = {
        {"dsn-postfix-bounce", 1, 0, 0},
        {"dsn-mixed-delayed", 2, 1, 0},
        {"dsn-x400-envid", 1, 0, 1},
        {"dsn-x400-returned", 2, 0, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char p[1024], rel[128];
        snprintf(p, sizeof p, "%s/test-vectors/mixer/report/%s.in", src_dir(), cases[k].name);
        unsigned char *in = NULL;
        size_t len = 0;
        assert_int_equal(mg_read_file(p, 0, &in, &len), 0);
        struct mixer_report *r = calloc(1, sizeof *r);
        assert_non_null(r);
        size_t skipped = 0;
        char why[128] = "";
        int rc = mixer_dsn_parse(in, len, r, &skipped, why, sizeof why);
        if (rc)
            fail_msg("%s: %s", cases[k].name, why);
        assert_int_equal(r->nrcpts, cases[k].nrcpts);
        assert_int_equal(skipped, cases[k].skipped);
        struct mg_buf out;
        mg_buf_init(&out, 0);
        dump(r, &out);
        /* to X.400: Internet recipients mapped, DER written and read back */
        assert_int_equal(mixer_report_map(r, &gw, 1, why, sizeof why), 0);
        struct mg_buf ber, ret;
        mg_buf_init(&ber, 0);
        mg_buf_init(&ret, 0);
        rc = mixer_report_to_ber(r, "231114221400Z", &ber, why, sizeof why);
        if (!cases[k].to_x400) {
            assert_int_equal(rc, MG_EINVAL); /* no subject identifier: nothing to relate to */
        } else {
            if (rc)
                fail_msg("%s: %s", cases[k].name, why);
            struct mixer_report *x = calloc(1, sizeof *x);
            assert_non_null(x);
            assert_int_equal(mixer_report_from_ber(ber.data, ber.len, x, &ret, why, sizeof why), 0);
            mg_buf_appendf(&out, "---- as X.400 report (DER read back)\n");
            dump(x, &out);
            free(x);
        }
        mg_buf_free(&ber);
        mg_buf_free(&ret);
        snprintf(rel, sizeof rel, "%s.out", cases[k].name);
        golden(rel, &out);
        mg_buf_free(&out);
        free(r);
        free(in);
    }
}

/* RFC 2156 A.3.1 / 5.3.8.1: the content correlator of a report. One the gateway made from an
 * ENVID ("SMTP/NOTARY ENVID: ") gives the ENVID back as Original-Envelope-Id; any other is
 * X400-Content-Correlator and the subject identifier stays the envelope id. Both survive the
 * DER, and a DSN's ENVID comes back as the correlator. */
static void test_correlator(void **state)
{
    (void)state;
    static const struct {
        const char *name, *correlator, *want_envid, *want_field;
    } cases[] = {
        {"ENVID made by the gateway", "SMTP/NOTARY ENVID: env-7", "Original-Envelope-Id: env-7\r\n", NULL},
        {"X.400 correlator", "Subject:/Message-ID:/Date:/To:",
         "Original-Envelope-Id: [/C=GB/ADMD= /PRMD=Example/;M42.1]\r\n",
         "X400-Content-Correlator: Subject:/Message-ID:/Date:/To:\r\n"},
        {"no correlator", "", "Original-Envelope-Id: [/C=GB/ADMD= /PRMD=Example/;M42.1]\r\n",
         NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct mixer_report *r = calloc(1, sizeof *r), *back = calloc(1, sizeof *back);
        assert_non_null(r);
        assert_non_null(back);
        mixer_report_init(r);
        snprintf(r->subject_id, sizeof r->subject_id, "[/C=GB/ADMD= /PRMD=Example/;M42.1]");
        snprintf(r->correlator, sizeof r->correlator, "%s", cases[k].correlator);
        add(r, "/C=GB/ADMD= /PRMD=Example/S=A/", "", 0, 1, 0, "");
        struct mg_buf ber, dsn;
        mg_buf_init(&ber, 0);
        mg_buf_init(&dsn, 0);
        char why[256] = "";
        assert_int_equal(mixer_report_to_ber(r, "231114221400Z", &ber, why, sizeof why), 0);
        assert_int_equal(mixer_report_from_ber(ber.data, ber.len, back, NULL, why, sizeof why), 0);
        if (strcmp(back->correlator, cases[k].correlator) != 0)
            fail_msg("case %s: correlator \"%s\" after DER", cases[k].name, back->correlator);
        struct mixer_report_dsn_opts o = {.gateway = "gw.example", .to = "a@example.org",
                                          .message_id = "m@gw.example", .now = 0};
        assert_int_equal(mixer_report_to_dsn(back, &o, &dsn), 0);
        assert_int_equal(mg_buf_append(&dsn, "", 1), 0);
        if (!strstr((const char *)dsn.data, cases[k].want_envid))
            fail_msg("case %s: no %s", cases[k].name, cases[k].want_envid);
        if (cases[k].want_field && !strstr((const char *)dsn.data, cases[k].want_field))
            fail_msg("case %s: no %s", cases[k].name, cases[k].want_field);
        if (!cases[k].want_field && strstr((const char *)dsn.data, "X400-Content-Correlator:"))
            fail_msg("case %s: an X400-Content-Correlator field", cases[k].name);
        /* the DSN read back: an ENVID becomes the correlator again */
        size_t skipped = 0;
        mixer_report_init(back);
        assert_int_equal(mixer_dsn_parse(dsn.data, dsn.len - 1, back, &skipped, why, sizeof why), 0);
        if (k == 0)
            assert_string_equal(back->correlator, "SMTP/NOTARY ENVID: env-7");
        if (k == 1)
            assert_string_equal(back->correlator, cases[k].correlator);
        mg_buf_free(&ber);
        mg_buf_free(&dsn);
        free(r);
        free(back);
    }
}

/* Delayed, relayed and expanded recipients. X.400 -> DSN: a delivery report's
 * type-of-MTS-user dl is RFC 3464 "expanded", other is "relayed", the others "delivered";
 * X400-Type-of-MTS-User carries it and the DER keeps it. DSN -> X.400 (RFC 2156 5.1.8.3):
 * delayed, relayed and expanded recipients are not in the report (an IPM carries them). */
static void test_actions(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int delivered, mts_user;
        const char *action, *type_field;
    } cases[] = {
        {"delivered to a user", 1, 0, "Action: delivered\r\n", NULL},
        {"delivered to a message store", 1, 2, "Action: delivered\r\n",
         "X400-Type-of-MTS-User: ms (2)\r\n"},
        {"a distribution list expanded it", 1, 3, "Action: expanded\r\n",
         "X400-Type-of-MTS-User: dl (3)\r\n"},
        {"another kind of MTS user took it", 1, 6, "Action: relayed\r\n",
         "X400-Type-of-MTS-User: other (6)\r\n"},
        {"non-delivery", 0, 0, "Action: failed\r\n", NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct mixer_report *r = calloc(1, sizeof *r), *back = calloc(1, sizeof *back);
        assert_non_null(r);
        assert_non_null(back);
        mixer_report_init(r);
        snprintf(r->subject_id, sizeof r->subject_id, "[/C=GB/ADMD= /PRMD=Example/;M42.1]");
        add(r, "/C=GB/ADMD= /PRMD=Example/S=List/", "", cases[k].delivered, 1, 0, "");
        r->rcpts[0].mts_user = cases[k].mts_user;
        struct mg_buf ber, dsn;
        mg_buf_init(&ber, 0);
        mg_buf_init(&dsn, 0);
        char why[256] = "";
        assert_int_equal(mixer_report_to_ber(r, "231114221400Z", &ber, why, sizeof why), 0);
        assert_int_equal(mixer_report_from_ber(ber.data, ber.len, back, NULL, why, sizeof why), 0);
        if (back->rcpts[0].mts_user != cases[k].mts_user)
            fail_msg("case %s: type-of-MTS-user %d after DER", cases[k].name,
                     back->rcpts[0].mts_user);
        struct mixer_report_dsn_opts o = {.gateway = "gw.example", .to = "a@example.org",
                                          .message_id = "m@gw.example", .now = 0};
        assert_int_equal(mixer_report_to_dsn(back, &o, &dsn), 0);
        assert_int_equal(mg_buf_append(&dsn, "", 1), 0);
        const char *d = (const char *)dsn.data;
        if (!strstr(d, cases[k].action))
            fail_msg("case %s: no %s", cases[k].name, cases[k].action);
        if (cases[k].type_field ? !strstr(d, cases[k].type_field)
                                : strstr(d, "X400-Type-of-MTS-User") != NULL)
            fail_msg("case %s: X400-Type-of-MTS-User wrong", cases[k].name);
        /* the DSN read back: a delivered one keeps its type; relayed / expanded are skipped */
        size_t skipped = 0;
        mixer_report_init(back);
        int prc = mixer_dsn_parse(dsn.data, dsn.len - 1, back, &skipped, why, sizeof why);
        if (cases[k].mts_user == 3 || cases[k].mts_user == 6) {
            assert_int_equal(prc, MG_EPARSE); /* nothing left for a report: an IPM */
            assert_int_equal(skipped, 1);
        } else {
            assert_int_equal(prc, 0);
            assert_int_equal(back->rcpts[0].mts_user, cases[k].mts_user);
        }
        mg_buf_free(&ber);
        mg_buf_free(&dsn);
        free(r);
        free(back);
    }
    /* a DSN with failed, expanded, relayed and delayed recipients: the report holds the
     * failed one, the three others are counted for the IPM */
    char p[1024];
    snprintf(p, sizeof p, "%s/test-vectors/mixer/report/dsn-x400-relayed.in", src_dir());
    unsigned char *in = NULL;
    size_t len = 0, skipped = 0;
    assert_int_equal(mg_read_file(p, 0, &in, &len), 0);
    struct mixer_report *r = calloc(1, sizeof *r);
    assert_non_null(r);
    char why[128] = "";
    assert_int_equal(mixer_dsn_parse(in, len, r, &skipped, why, sizeof why), 0);
    assert_int_equal(r->nrcpts, 1);
    assert_int_equal(skipped, 3);
    assert_int_equal(r->rcpts[0].delivered, 0);
    assert_int_equal(r->rcpts[0].diagnostic, 0); /* 5.1.1: unrecognised-OR-name */
    free(r);
    free(in);
}

/* RFC 2156 5.3.8.2 and 5.1.8.4. */
static void test_status_tables(void **state)
{
    (void)state;
    static const struct {
        int reason, diag;
        const char *status;
    } x2s[] = {
        {1, 0, "5.1.1"}, {1, 1, "5.1.4"}, {1, 2, "4.3.1"}, {1, 3, "5.4.6"}, {1, 5, "4.4.7"},
        {1, 7, "5.2.3"}, {1, 29, "5.7.1"}, {0, 48, "5.3.4"}, {0, 9, "4.4.0"}, {1, 99, "5.0.0"},
        {2, -1, "5.6.3"}, {1, -1, "5.0.0"}, {3, 1, "5.6.0"}, {4, 35, "5.1.0"}, {5, -1, "5.7.1"},
        {6, 2, "5.4.3"}, {7, -1, "5.3.3"}, {8, -1, "5.0.0"}, {2, 24, "5.6.2"}, {1, 26, "5.4.0"},
        {4, 31, "5.6.0"}, {1, 10, "5.6.3"},
    };
    for (size_t i = 0; i < sizeof x2s / sizeof x2s[0]; i++) {
        char s[16];
        mixer_report_status_of(x2s[i].reason, x2s[i].diag, s, sizeof s);
        assert_string_equal(s, x2s[i].status);
    }
    static const struct {
        const char *status;
        int reason, diag;
    } s2x[] = {
        {"5.1.1", 1, 0},   {"4.1.1", 1, 0},   {"5.1.4", 1, 1},   {"5.1.6", 1, 43},
        {"5.2.2", 1, 4},   {"5.2.3", 1, 7},   {"4.3.1", 1, 2},   {"4.3.0", 0, -1},
        {"4.4.3", 6, -1},  {"5.4.6", 1, 3},   {"4.4.7", 1, 5},   {"5.5.3", 1, 16},
        {"5.6.1", 1, 6},   {"5.6.3", 2, 8},   {"5.6.5", 2, 47},  {"5.7.1", 1, 29},
        {"5.7.2", 1, 28},  {"5.7.5", 1, 46},  {"5.7.9", 1, 46},  {"5.2.37", 1, -1},
        {"4.4.99", 0, -1}, {"5.1.5", 1, -1},  {"5.9.1", 1, -1},  {"garbage", 1, -1},
        {"", 1, -1},       {"5.4.6.7", 1, -1},
    };
    for (size_t i = 0; i < sizeof s2x / sizeof s2x[0]; i++) {
        int r = -2, d = -2;
        mixer_report_reason_of(s2x[i].status, &r, &d);
        assert_int_equal(r, s2x[i].reason);
        assert_int_equal(d, s2x[i].diag);
    }
    assert_string_equal(mixer_report_diag_name(0), "unrecognised-OR-name");
    assert_string_equal(mixer_report_diag_name(49), "transfer-attempts-limit-reached");
    assert_string_equal(mixer_report_reason_name(1), "unable-to-transfer");
    assert_string_equal(mixer_report_reason_name(-1), "unknown");
}

/* Hostile or unrelated input: an error with a reason, never a crash. */
static void test_bad_dsn(void **state)
{
    (void)state;
    static const struct {
        const char *name, *msg;
    } cases[] = {
        {"plain message", "Subject: x\r\n\r\nhello\r\n"},
        {"no boundary", "Content-Type: multipart/report; report-type=delivery-status\r\n\r\nx"},
        {"empty boundary", "Content-Type: multipart/report; boundary=\"\"\r\n\r\nx"},
        {"no status part", "Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\n"
                           "Content-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"},
        {"only delayed", "Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\n"
                         "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n"
                         "\r\nFinal-Recipient: rfc822; x@y\r\nAction: delayed\r\nStatus: 4.0.0\r\n"
                         "--b--\r\n"},
        {"unterminated", "Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\n"
                         "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n"},
        {"garbage header", "\x01\x02\x03:::\r\n\r\n"},
        {"empty", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mixer_report *r = calloc(1, sizeof *r);
        assert_non_null(r);
        size_t skipped = 0;
        char why[128] = "";
        int rc = mixer_dsn_parse(cases[i].msg, strlen(cases[i].msg), r, &skipped, why, sizeof why);
        if (rc != MG_EPARSE)
            fail_msg("%s: rc %d", cases[i].name, rc);
        free(r);
    }
}

/* What X.411 bounds or cannot carry: cut to the bound, made printable, or refused. */
static void test_ber_limits(void **state)
{
    (void)state;
    static const struct {
        const char *name, *subject, *final, *content_id, *supp;
        int want_rc;
        const char *want_cid, *want_supp;
    } cases[] = {
        {"long content id and odd characters", "[/C=GB/ADMD= /;X1]", "/C=GB/ADMD= /S=A/",
         "a content id longer than 16~", "550 <x@y>; \"full\"", 0, "a content id lon",
         "550  x y    full "},
        {"subject without local part", "[/C=GB/ADMD= /;]", "/C=GB/ADMD= /S=A/", "", "",
         MG_EINVAL, NULL, NULL},
        {"subject not bracketed", "/C=GB/ADMD= /;X1", "/C=GB/ADMD= /S=A/", "", "", MG_EINVAL,
         NULL, NULL},
        {"subject without country", "[/ADMD=x/;X1]", "/C=GB/ADMD= /S=A/", "", "", MG_EINVAL,
         NULL, NULL},
        {"local part beyond 32", "[/C=GB/ADMD= /;0123456789012345678901234567890123]",
         "/C=GB/ADMD= /S=A/", "", "", MG_EINVAL, NULL, NULL},
        {"recipient not an O/R address", "[/C=GB/ADMD= /;X1]", "someone@example.org", "", "",
         MG_EPARSE, NULL, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct mixer_report *r = calloc(1, sizeof *r), *back = calloc(1, sizeof *back);
        assert_non_null(r);
        assert_non_null(back);
        snprintf(r->subject_id, sizeof r->subject_id, "%s", cases[k].subject);
        snprintf(r->content_id, sizeof r->content_id, "%s", cases[k].content_id);
        add(r, cases[k].final, "", 0, 1, 4, cases[k].supp);
        struct mg_buf ber;
        mg_buf_init(&ber, 0);
        char why[256] = "";
        int rc = mixer_report_to_ber(r, "231114221400Z", &ber, why, sizeof why);
        if (rc != cases[k].want_rc)
            fail_msg("%s: rc %d (%s)", cases[k].name, rc, why);
        if (!rc) {
            assert_int_equal(mixer_report_from_ber(ber.data, ber.len, back, NULL, why, sizeof why), 0);
            assert_string_equal(back->content_id, cases[k].want_cid);
            assert_string_equal(back->rcpts[0].supplementary, cases[k].want_supp);
        } else {
            assert_true(why[0] != '\0'); /* the caller learns why */
        }
        mg_buf_free(&ber);
        free(r);
        free(back);
    }
}

/* A ReportTransferEnvelope as the P1 side stores it: the report identifier, the destination
 * and one trace element. */
static void envelope(struct mg_buf *out)
{
    struct mixer_ber w;
    struct mixer_or dest;
    const char *d = "/C=GB/ADMD= /PRMD=Example/S=Alice/";
    assert_int_equal(mixer_or_parse(d, strlen(d), &dest, NULL, 0), 0);
    mixer_ber_init(&w, out);
    mixer_ber_open(&w, MIXER_BER_UNIV, MIXER_BER_SET);
    mixer_ber_open(&w, MIXER_BER_APP, 4); /* report-identifier */
    mixer_ber_open(&w, MIXER_BER_APP, 3);
    mixer_ber_open(&w, MIXER_BER_APP, 1);
    mixer_ber_str(&w, MIXER_BER_UNIV, MIXER_BER_PRINTABLESTRING, "GB");
    mixer_ber_close(&w);
    mixer_ber_open(&w, MIXER_BER_APP, 2);
    mixer_ber_str(&w, MIXER_BER_UNIV, MIXER_BER_PRINTABLESTRING, " ");
    mixer_ber_close(&w);
    mixer_ber_str(&w, MIXER_BER_UNIV, MIXER_BER_PRINTABLESTRING, "Relay");
    mixer_ber_close(&w);
    mixer_ber_str(&w, MIXER_BER_UNIV, MIXER_BER_IA5STRING, "R77");
    mixer_ber_close(&w);
    assert_int_equal(mixer_orname_write(&w, &dest, true, 0, 0), 0); /* report-destination */
    mixer_ber_open(&w, MIXER_BER_APP, 9); /* trace-information */
    mixer_ber_open(&w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    mixer_ber_open(&w, MIXER_BER_APP, 3);
    mixer_ber_open(&w, MIXER_BER_APP, 1);
    mixer_ber_str(&w, MIXER_BER_UNIV, MIXER_BER_PRINTABLESTRING, "GB");
    mixer_ber_close(&w);
    mixer_ber_open(&w, MIXER_BER_APP, 2);
    mixer_ber_str(&w, MIXER_BER_UNIV, MIXER_BER_PRINTABLESTRING, " ");
    mixer_ber_close(&w);
    mixer_ber_str(&w, MIXER_BER_UNIV, MIXER_BER_PRINTABLESTRING, "Relay");
    mixer_ber_close(&w);
    mixer_ber_open(&w, MIXER_BER_UNIV, MIXER_BER_SET);
    mixer_ber_str(&w, MIXER_BER_CTX, 0, "231114221310Z");
    static const unsigned char relayed = 0;
    mixer_ber_prim(&w, MIXER_BER_CTX, 2, &relayed, 1);
    mixer_ber_close(&w);
    mixer_ber_close(&w);
    mixer_ber_close(&w);
    mixer_ber_close(&w);
    assert_int_equal(mixer_ber_finish(&w), 0);
}

/* RFC 2156 5.3.8.3: the report envelope gives X400-MTS-Identifier, Reporting-MTA and Date. */
static void test_envelope(void **state)
{
    (void)state;
    struct mixer_report *r = calloc(1, sizeof *r);
    assert_non_null(r);
    build_case(0, r);
    struct mg_buf env, dsn;
    mg_buf_init(&env, 0);
    mg_buf_init(&dsn, 0);
    envelope(&env);
    golden("report-envelope.ber", &env);
    char why[256] = "";
    if (mixer_report_envelope_from_ber(env.data, env.len, r, why, sizeof why) != 0)
        fail_msg("envelope: %s", why);
    assert_string_equal(r->report_id, "[/C=GB/ADMD= /PRMD=Relay/;R77]");
    assert_string_equal(r->reporting_gdi, "/C=GB/ADMD= /PRMD=Relay/");
    assert_string_equal(r->first_trace, "231114221310Z");
    struct mixer_report_dsn_opts o = opts;
    o.reporting_mta = NULL;
    assert_int_equal(mixer_report_to_dsn(r, &o, &dsn), 0);
    golden("x400-ndr-envelope.out", &dsn);
    /* a broken envelope is refused with a reason; the report keeps what it had */
    static const unsigned char junk[] = {0x31, 0x05, 0x64, 0x03, 0x63, 0x01, 0x00};
    why[0] = '\0';
    assert_int_equal(mixer_report_envelope_from_ber(junk, sizeof junk, r, why, sizeof why),
                     MG_EPARSE);
    assert_true(why[0] != '\0');
    assert_string_equal(r->report_id, "[/C=GB/ADMD= /PRMD=Relay/;R77]");
    mg_buf_free(&env);
    mg_buf_free(&dsn);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x400_to_dsn),
        cmocka_unit_test(test_dsn_to_x400),
        cmocka_unit_test(test_status_tables),
        cmocka_unit_test(test_correlator),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_bad_dsn),
        cmocka_unit_test(test_ber_limits),
        cmocka_unit_test(test_envelope),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
