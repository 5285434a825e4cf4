/* Tests for mta/dsn: each case builds a report and parses it back with GMime 3 to check the
 * MIME structure (multipart/report; report-type=delivery-status, three parts) and every
 * delivery-status field; plus the cases where no report is due. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "dsn.h"
#include "message.h"
#include "mg_err.h"

static const char original[] =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.net\r\n"
    "Subject: quarterly figures\r\n"
    "Message-ID: <orig-1@example.org>\r\n"
    "\r\n"
    "Line one of the body.\n"          /* bare LF on purpose: the report normalises to CRLF */
    "Line two of the body.\r\n";

static struct message *make_orig(const char *originator, unsigned notify, enum message_ret ret)
{
    struct message *m = message_create();
    assert_non_null(m);
    memcpy(m->id, "0V9ABCDEFGHJKM", MESSAGE_ID_SIZE - 1);
    assert_int_equal(message_set_originator(m, originator), 0);
    assert_int_equal(message_set_envid(m, "ENV-42"), 0);
    m->ret = ret;
    m->arrival = 1790000000; /* Mon, 21 Sep 2026 14:13:20 +0000 */
    assert_int_equal(message_add_rcpt(m, "bob@example.net", "rfc822;bob+2Bx@example.net", notify,
                                      NULL), 0);
    assert_int_equal(message_add_rcpt(m, "carol@example.net", NULL, notify, NULL), 0);
    assert_int_equal(message_add_rcpt(m, "dave@example.net", NULL, MESSAGE_NOTIFY_NEVER, NULL),
                     0);
    return m;
}

static GByteArray *part_bytes(GMimeObject *o)
{
    assert_true(GMIME_IS_PART(o));
    GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(o));
    assert_non_null(dw);
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(dw, mem);
    GByteArray *copy = g_byte_array_new();
    GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    g_byte_array_append(copy, ba->data, ba->len);
    g_object_unref(mem);
    return copy;
}

/* The delivery-status body is a series of header blocks separated by empty lines; GMime
 * parses each block as the header of an (empty) part. */
#define MAX_BLOCKS 8
static int status_blocks(const GByteArray *ba, GMimeObject *blocks[MAX_BLOCKS])
{
    int n = 0;
    const char *p = (const char *)ba->data, *end = p + ba->len;
    while (p < end && n < MAX_BLOCKS) {
        const char *sep = g_strstr_len(p, end - p, "\r\n\r\n");
        const char *bend = sep ? sep + 2 : end;
        GString *blk = g_string_new_len(p, bend - p);
        g_string_append(blk, "\r\n");
        GMimeStream *st = g_mime_stream_mem_new_with_buffer(blk->str, blk->len);
        GMimeParser *ps = g_mime_parser_new_with_stream(st);
        blocks[n] = g_mime_parser_construct_part(ps, NULL);
        assert_non_null(blocks[n]);
        n++;
        g_object_unref(ps);
        g_object_unref(st);
        g_string_free(blk, TRUE);
        p = sep ? sep + 4 : end;
        while (p + 1 < end && p[0] == '\r' && p[1] == '\n')
            p += 2;
    }
    return n;
}

struct expect_rcpt {
    const char *final, *original, *action, *status, *remote, *diag, *last, *retry;
};

static void check_field(GMimeObject *o, const char *name, const char *want, const char *casename)
{
    const char *got = g_mime_object_get_header(o, name);
    if (!want) {
        if (got)
            fail_msg("case %s: %s present: %s", casename, name, got);
        return;
    }
    if (!got || strcmp(got, want) != 0)
        fail_msg("case %s: %s = %s, want %s", casename, name, got ? got : "(none)", want);
}

static void test_reports(void **state)
{
    (void)state;
    struct dsn_opts opts = { .reporting_mta = "gw.example.mil", .now = 1790003600,
                             .priority = 4 };
    static const struct {
        const char *name;
        unsigned notify;
        enum message_ret ret;
        struct dsn_rcpt r[3];
        size_t n;
        const char *subject;
        const char *third_type; /* NULL: no third part */
        int nexpect;
        struct expect_rcpt e[2];
    } cases[] = {
        { "failure, headers returned", 0, MESSAGE_RET_HDRS,
          { { .rcpt = 0, .action = DSN_ACTION_FAILED, .status = "5.1.1",
              .remote_mta = "mx.example.net", .diagnostic = "550 5.1.1 no such user",
              .last_attempt = 1790001000 },
            { .rcpt = 2, .action = DSN_ACTION_FAILED, .status = "5.1.1" } },
          2, "Delivery Status Notification (Failure)", "text/rfc822-headers", 1,
          { { "rfc822; bob@example.net", "rfc822;bob+x@example.net", "failed", "5.1.1",
              "dns; mx.example.net", "smtp; 550 5.1.1 no such user",
              "Mon, 21 Sep 2026 14:30:00 +0000", NULL } } },
        { "delay with retry-until, full content", 0, MESSAGE_RET_FULL,
          { { .rcpt = 1, .action = DSN_ACTION_DELAYED, .diagnostic = "connection refused",
              .last_attempt = 1790000600, .will_retry_until = 1790432000 } },
          1, "Delivery Status Notification (Delay)", "message/rfc822", 1,
          { { "rfc822; carol@example.net", NULL, "delayed", "4.0.0", NULL,
              "X-mixgate; connection refused", "Mon, 21 Sep 2026 14:23:20 +0000",
              "Sat, 26 Sep 2026 14:13:20 +0000" } } },
        { "success and relayed with NOTIFY=SUCCESS, unspecified RET", MESSAGE_NOTIFY_SUCCESS,
          MESSAGE_RET_UNSPEC,
          { { .rcpt = 0, .action = DSN_ACTION_DELIVERED, .status = "2.0.0",
              .remote_mta = "mx.example.net", .diagnostic = "250 2.0.0 queued as X" },
            { .rcpt = 1, .action = DSN_ACTION_RELAYED, .status = "bogus" } },
          2, "Delivery Status Notification (Success)", "text/rfc822-headers", 2,
          { { "rfc822; bob@example.net", "rfc822;bob+x@example.net", "delivered", "2.0.0",
              "dns; mx.example.net", "smtp; 250 2.0.0 queued as X", NULL, NULL },
            { "rfc822; carol@example.net", NULL, "relayed", "2.0.0", NULL, NULL, NULL,
              NULL } } },
        { "mixed: delay suppressed by NOTIFY=FAILURE", MESSAGE_NOTIFY_FAILURE, MESSAGE_RET_FULL,
          { { .rcpt = 0, .action = DSN_ACTION_DELAYED },
            { .rcpt = 1, .action = DSN_ACTION_FAILED, .status = "5.7.1",
              .diagnostic = "554 5.7.1 label\r\nInjected: header" } },
          2, "Delivery Status Notification (Failure)", "message/rfc822", 1,
          { { "rfc822; carol@example.net", NULL, "failed", "5.7.1", NULL,
              "smtp; 554 5.7.1 label  Injected: header", NULL, NULL } } },
    };
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        struct message *orig = make_orig("alice@example.org", cases[ci].notify, cases[ci].ret);
        assert_int_equal(message_set_label(orig, "LBL", 3), 0);
        struct message *out = NULL;
        unsigned char *content = NULL;
        size_t len = 0;
        int rc = dsn_build(orig, cases[ci].r, cases[ci].n, original, strlen(original), &opts,
                           &out, &content, &len);
        if (rc != 0 || !out)
            fail_msg("case %s: rc %d out %p", cases[ci].name, rc, (void *)out);

        /* envelope of the report */
        assert_string_equal(out->originator, "");
        assert_int_equal(out->nrcpts, 1);
        assert_string_equal(out->rcpts[0].addr, "alice@example.org");
        assert_int_equal(out->rcpts[0].notify, MESSAGE_NOTIFY_NEVER);
        assert_int_equal(out->priority, 4);
        assert_int_equal(out->label_len, 3);
        assert_int_equal(out->content_type, MESSAGE_CONTENT_RFC5322);
        assert_int_equal(strlen((char *)content), len);
        assert_null(strstr((char *)content, "\nInjected:"));

        GMimeStream *st = g_mime_stream_mem_new_with_buffer((const char *)content, len);
        GMimeParser *ps = g_mime_parser_new_with_stream(st);
        GMimeMessage *msg = g_mime_parser_construct_message(ps, NULL);
        assert_non_null(msg);
        assert_string_equal(g_mime_message_get_subject(msg), cases[ci].subject);
        char *to = internet_address_list_to_string(g_mime_message_get_to(msg), NULL, FALSE);
        assert_string_equal(to, "alice@example.org");
        g_free(to);
        assert_string_equal(g_mime_object_get_header(GMIME_OBJECT(msg), "Auto-Submitted"),
                            "auto-replied");
        GMimeObject *top = g_mime_message_get_mime_part(msg);
        GMimeContentType *ct = g_mime_object_get_content_type(top);
        assert_true(g_mime_content_type_is_type(ct, "multipart", "report"));
        assert_string_equal(g_mime_content_type_get_parameter(ct, "report-type"),
                            "delivery-status");
        assert_true(GMIME_IS_MULTIPART(top));
        GMimeMultipart *mp = GMIME_MULTIPART(top);
        int nparts = g_mime_multipart_get_count(mp);
        assert_int_equal(nparts, cases[ci].third_type ? 3 : 2);
        GMimeObject *p0 = g_mime_multipart_get_part(mp, 0);
        assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(p0), "text",
                                                "plain"));
        GByteArray *human = part_bytes(p0);
        g_byte_array_append(human, (const guint8 *)"", 1);
        assert_non_null(strstr((char *)human->data, "gw.example.mil"));
        g_byte_array_unref(human);

        GMimeObject *p1 = g_mime_multipart_get_part(mp, 1);
        assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(p1), "message",
                                                "delivery-status"));
        GByteArray *ds = part_bytes(p1);
        GMimeObject *blocks[MAX_BLOCKS];
        int nb = status_blocks(ds, blocks);
        g_byte_array_unref(ds);
        if (nb != 1 + cases[ci].nexpect)
            fail_msg("case %s: %d status blocks", cases[ci].name, nb);
        check_field(blocks[0], "Reporting-MTA", "dns; gw.example.mil", cases[ci].name);
        check_field(blocks[0], "Original-Envelope-Id", "ENV-42", cases[ci].name);
        check_field(blocks[0], "Arrival-Date", "Mon, 21 Sep 2026 14:13:20 +0000",
                    cases[ci].name);
        for (int i = 0; i < cases[ci].nexpect; i++) {
            const struct expect_rcpt *e = &cases[ci].e[i];
            GMimeObject *b = blocks[1 + i];
            check_field(b, "Final-Recipient", e->final, cases[ci].name);
            check_field(b, "Original-Recipient", e->original, cases[ci].name);
            check_field(b, "Action", e->action, cases[ci].name);
            check_field(b, "Status", e->status, cases[ci].name);
            check_field(b, "Remote-MTA", e->remote, cases[ci].name);
            check_field(b, "Diagnostic-Code", e->diag, cases[ci].name);
            check_field(b, "Last-Attempt-Date", e->last, cases[ci].name);
            check_field(b, "Will-Retry-Until", e->retry, cases[ci].name);
        }
        for (int i = 0; i < nb; i++)
            g_object_unref(blocks[i]);

        if (cases[ci].third_type) {
            GMimeObject *p2 = g_mime_multipart_get_part(mp, 2);
            char *t = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(p2));
            assert_string_equal(t, cases[ci].third_type);
            g_free(t);
            if (GMIME_IS_MESSAGE_PART(p2)) {
                /* full content: the original message, body included */
                GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(p2));
                assert_string_equal(g_mime_message_get_subject(inner), "quarterly figures");
                assert_string_equal(g_mime_message_get_message_id(inner), "orig-1@example.org");
                GMimeObject *body = g_mime_message_get_mime_part(inner);
                GByteArray *bb = part_bytes(body);
                g_byte_array_append(bb, (const guint8 *)"", 1);
                assert_string_equal((char *)bb->data,
                                    "Line one of the body.\r\nLine two of the body.\r\n");
                g_byte_array_unref(bb);
            } else {
                GByteArray *hb = part_bytes(p2);
                g_byte_array_append(hb, (const guint8 *)"", 1);
                assert_non_null(strstr((char *)hb->data, "Subject: quarterly figures\r\n"));
                assert_null(strstr((char *)hb->data, "Line one"));
                g_byte_array_unref(hb);
            }
        }
        g_object_unref(msg);
        g_object_unref(ps);
        g_object_unref(st);
        message_free(out);
        message_free(orig);
        free(content);
    }
}

/* No report: null reverse path (never a report about a report), NOTIFY=NEVER, NOTIFY that
 * excludes the action, nothing to report. */
static void test_no_report(void **state)
{
    (void)state;
    struct dsn_opts opts = { .reporting_mta = "gw.example.mil", .now = 1790003600 };
    static const struct {
        const char *name, *originator;
        unsigned notify;
        struct dsn_rcpt r;
        size_t n;
    } cases[] = {
        { "null sender", "", 0, { .rcpt = 0, .action = DSN_ACTION_FAILED }, 1 },
        { "null sender <>", "<>", 0, { .rcpt = 0, .action = DSN_ACTION_FAILED }, 1 },
        { "notify never", "a@b", MESSAGE_NOTIFY_NEVER, { .rcpt = 0, .action = DSN_ACTION_FAILED },
          1 },
        { "success not requested", "a@b", 0, { .rcpt = 1, .action = DSN_ACTION_DELIVERED }, 1 },
        { "delay not requested", "a@b", MESSAGE_NOTIFY_FAILURE,
          { .rcpt = 0, .action = DSN_ACTION_DELAYED }, 1 },
        { "nothing to report", "a@b", 0, { .rcpt = 0 }, 0 },
    };
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        struct message *orig = make_orig(cases[ci].originator, cases[ci].notify,
                                         MESSAGE_RET_FULL);
        struct message *out = (struct message *)1;
        unsigned char *content = (unsigned char *)1;
        size_t len = 9;
        int rc = dsn_build(orig, &cases[ci].r, cases[ci].n, original, strlen(original), &opts,
                           &out, &content, &len);
        if (rc != 0 || out || content || len)
            fail_msg("case %s: rc %d", cases[ci].name, rc);
        message_free(orig);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    struct message *orig = make_orig("a@b", 0, MESSAGE_RET_HDRS);
    struct dsn_opts opts = { .reporting_mta = "gw", .now = 1 };
    struct dsn_opts no_mta = { .now = 1 };
    struct dsn_opts bad_prio = { .reporting_mta = "gw", .priority = 9 };
    struct dsn_rcpt bad_index = { .rcpt = 3, .action = DSN_ACTION_FAILED };
    struct dsn_rcpt bad_action = { .rcpt = 0, .action = 7 };
    struct dsn_rcpt ok = { .rcpt = 0, .action = DSN_ACTION_FAILED };
    struct message *out = NULL;
    unsigned char *c = NULL;
    size_t len = 0;
    static const char *const names[] = { "index past rcpts", "unknown action", "no reporting mta",
                                         "priority 9" };
    int got[4];
    got[0] = dsn_build(orig, &bad_index, 1, NULL, 0, &opts, &out, &c, &len);
    got[1] = dsn_build(orig, &bad_action, 1, NULL, 0, &opts, &out, &c, &len);
    got[2] = dsn_build(orig, &ok, 1, NULL, 0, &no_mta, &out, &c, &len);
    got[3] = dsn_build(orig, &ok, 1, NULL, 0, &bad_prio, &out, &c, &len);
    for (int i = 0; i < 4; i++)
        if (got[i] != MG_EINVAL)
            fail_msg("case %s: %d", names[i], got[i]);
    /* an X.400 content is not returned: two parts only */
    orig->content_type = MESSAGE_CONTENT_X400_P22;
    assert_int_equal(dsn_build(orig, &ok, 1, "\x30\x03\x02\x01\x01", 5, &opts, &out, &c, &len), 0);
    assert_non_null(out);
    assert_null(strstr((char *)c, "rfc822-headers"));
    assert_non_null(strstr((char *)c, "message/delivery-status"));
    message_free(out);
    free(c);
    message_free(orig);
}

/* Hostile or odd input: the report stays well-formed (CRLF lines under 998 octets, no header
 * injected from peer text, a boundary that does not occur in the returned content). */
static void test_hostile_input(void **state)
{
    (void)state;
    char longdiag[3001];
    memset(longdiag, 'x', sizeof(longdiag) - 1);
    memcpy(longdiag, "550 ", 4);
    longdiag[sizeof(longdiag) - 1] = '\0';
    static const char boundary_clash[] =
        "Subject: clash\r\n\r\n--=_mixgate-dsn-0V9ABCDEFGHJKM-1790003600-0\r\n"
        "--=_mixgate-dsn-0V9ABCDEFGHJKM-1790003600-0--\r\n";
    const struct {
        const char *name, *addr, *diag, *remote, *content;
        enum message_ret ret;
        size_t max_returned;
        const char *third; /* expected type of the third part, NULL = none */
    } cases[] = {
        { "long diagnostic", "bob@example.net", longdiag, "mx", original, MESSAGE_RET_HDRS, 0,
          "text/rfc822-headers" },
        { "boundary in content", "bob@example.net", "550 no", NULL, boundary_clash,
          MESSAGE_RET_FULL, 0, "message/rfc822" },
        { "non-ascii address, CRLF in remote mta", "j\xc3\xb6s\xc3\xa9@example.net", "550 no",
          "mx\r\nBcc: evil@example.com", original, MESSAGE_RET_HDRS, 0, "text/rfc822-headers" },
        { "content without header end", "bob@example.net", NULL, NULL,
          "Subject: only headers\r\nX-A: b", MESSAGE_RET_HDRS, 0, "text/rfc822-headers" },
        { "full content over max_returned", "bob@example.net", NULL, NULL, original,
          MESSAGE_RET_FULL, 20, "text/rfc822-headers" },
        { "LF-only content, full", "bob@example.net", NULL, NULL,
          "Subject: lf\n\nline\nline\n", MESSAGE_RET_FULL, 0, "message/rfc822" },
        { "empty content", "bob@example.net", NULL, NULL, "", MESSAGE_RET_FULL, 0, NULL },
    };
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        struct message *orig = message_create();
        assert_non_null(orig);
        memcpy(orig->id, "0V9ABCDEFGHJKM", MESSAGE_ID_SIZE - 1);
        assert_int_equal(message_set_originator(orig, "alice@example.org"), 0);
        assert_int_equal(message_add_rcpt(orig, cases[ci].addr, NULL, 0, NULL), 0);
        orig->ret = cases[ci].ret;
        struct dsn_rcpt r = { .rcpt = 0, .action = DSN_ACTION_FAILED,
                              .diagnostic = cases[ci].diag, .remote_mta = cases[ci].remote };
        struct dsn_opts opts = { .reporting_mta = "gw.example.mil", .now = 1790003600,
                                 .max_returned = cases[ci].max_returned };
        struct message *out = NULL;
        unsigned char *c = NULL;
        size_t len = 0;
        int rc = dsn_build(orig, &r, 1, cases[ci].content, strlen(cases[ci].content), &opts,
                           &out, &c, &len);
        if (rc != 0 || !out)
            fail_msg("case %s: rc %d", cases[ci].name, rc);
        /* line discipline */
        size_t line = 0;
        for (size_t i = 0; i < len; i++) {
            if (c[i] == '\n') {
                if (i == 0 || c[i - 1] != '\r')
                    fail_msg("case %s: bare LF at %zu", cases[ci].name, i);
                line = 0;
            } else if (++line > 998) {
                fail_msg("case %s: line over 998 octets at %zu", cases[ci].name, i);
            }
        }
        assert_null(strstr((char *)c, "\r\nBcc:"));
        /* structure */
        GMimeStream *st = g_mime_stream_mem_new_with_buffer((const char *)c, len);
        GMimeParser *ps = g_mime_parser_new_with_stream(st);
        GMimeMessage *msg = g_mime_parser_construct_message(ps, NULL);
        assert_non_null(msg);
        GMimeObject *top = g_mime_message_get_mime_part(msg);
        assert_true(GMIME_IS_MULTIPART(top));
        int nparts = g_mime_multipart_get_count(GMIME_MULTIPART(top));
        if (nparts != (cases[ci].third ? 3 : 2))
            fail_msg("case %s: %d parts", cases[ci].name, nparts);
        GByteArray *ds = part_bytes(g_mime_multipart_get_part(GMIME_MULTIPART(top), 1));
        GMimeObject *blocks[MAX_BLOCKS];
        int nb = status_blocks(ds, blocks);
        g_byte_array_unref(ds);
        assert_int_equal(nb, 2);
        check_field(blocks[1], "Action", "failed", cases[ci].name);
        check_field(blocks[1], "Status", "5.0.0", cases[ci].name);
        const char *diag = g_mime_object_get_header(blocks[1], "Diagnostic-Code");
        if (cases[ci].diag)
            assert_true(diag && strlen(diag) <= 998);
        for (int i = 0; i < nb; i++)
            g_object_unref(blocks[i]);
        if (cases[ci].third) {
            GMimeObject *p2 = g_mime_multipart_get_part(GMIME_MULTIPART(top), 2);
            char *t = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(p2));
            if (strcmp(t, cases[ci].third) != 0)
                fail_msg("case %s: third part %s", cases[ci].name, t);
            g_free(t);
            if (GMIME_IS_MESSAGE_PART(p2)) {
                GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(p2));
                assert_non_null(inner);
                assert_non_null(g_mime_message_get_subject(inner));
            }
        }
        g_object_unref(msg);
        g_object_unref(ps);
        g_object_unref(st);
        message_free(out);
        message_free(orig);
        free(c);
    }
}

static void test_wanted(void **state)
{
    (void)state;
    static const struct {
        unsigned notify;
        enum dsn_action a;
        int want;
    } cases[] = {
        { 0, DSN_ACTION_FAILED, 1 },
        { 0, DSN_ACTION_DELAYED, 1 },
        { 0, DSN_ACTION_DELIVERED, 0 },
        { MESSAGE_NOTIFY_NEVER, DSN_ACTION_FAILED, 0 },
        { MESSAGE_NOTIFY_SUCCESS, DSN_ACTION_EXPANDED, 1 },
        { MESSAGE_NOTIFY_SUCCESS, DSN_ACTION_FAILED, 0 },
        { MESSAGE_NOTIFY_DELAY, DSN_ACTION_DELAYED, 1 },
        { MESSAGE_NOTIFY_FAILURE | MESSAGE_NOTIFY_SUCCESS, DSN_ACTION_RELAYED, 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (dsn_wanted(cases[i].notify, cases[i].a) != cases[i].want)
            fail_msg("case %zu: notify %u action %s", i, cases[i].notify,
                     dsn_action_name(cases[i].a));
}

int main(void)
{
    g_mime_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports),
        cmocka_unit_test(test_no_report),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_hostile_input),
        cmocka_unit_test(test_wanted),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    g_mime_shutdown();
    return rc;
}
