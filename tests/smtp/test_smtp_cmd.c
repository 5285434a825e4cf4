/* test_smtp_cmd: table-driven cases for the SMTP command-line parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mg_err.h"
#include "smtp_cmd.h"

#define ALL (SMTP_CMD_ALLOW_DSN | SMTP_CMD_ALLOW_SMTPUTF8 | SMTP_CMD_ALLOW_8BITMIME | SMTP_CMD_ALLOW_SIZE | \
             SMTP_CMD_ALLOW_MT_PRIORITY)

struct pcase {
    const char *name;
    const char *line;
    unsigned allow;
    size_t max_size;
    int code;               /* 0 = must parse */
    const char *enhanced;   /* expected on failure */
    enum smtp_verb verb;    /* expected on success */
    const char *path;       /* expected path (MAIL/RCPT) or arg (HELO/EHLO/VRFY), NULL = skip */
};

static const struct pcase cases[] = {
    { "ehlo", "EHLO client.example", ALL, 0, 0, NULL, SMTP_VERB_EHLO, "client.example" },
    { "ehlo-lower", "ehlo client.example", ALL, 0, 0, NULL, SMTP_VERB_EHLO, "client.example" },
    { "ehlo-literal", "EHLO [192.0.2.1]", ALL, 0, 0, NULL, SMTP_VERB_EHLO, "[192.0.2.1]" },
    { "ehlo-ipv6-literal", "EHLO [IPv6:2001:db8::1]", ALL, 0, 0, NULL, SMTP_VERB_EHLO, "[IPv6:2001:db8::1]" },
    { "ehlo-trailing-words", "EHLO host.example some junk", ALL, 0, 0, NULL, SMTP_VERB_EHLO, "host.example" },
    { "ehlo-empty", "EHLO", ALL, 0, 501, "5.5.4", 0, NULL },
    { "ehlo-bad-chars", "EHLO bad/host<x>", ALL, 0, 501, "5.5.4", 0, NULL },
    { "ehlo-underscore", "EHLO my_host.example", ALL, 0, 0, NULL, SMTP_VERB_EHLO, "my_host.example" },
    { "ehlo-bad-literal", "EHLO [1.2.3.4", ALL, 0, 501, "5.5.4", 0, NULL },
    { "helo", "HELO x", ALL, 0, 0, NULL, SMTP_VERB_HELO, "x" },
    { "mail-simple", "MAIL FROM:<a@b.example>", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a@b.example" },
    { "mail-null", "MAIL FROM:<>", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "" },
    { "mail-space-after-colon", "MAIL FROM: <a@b.example>", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a@b.example" },
    { "mail-lowercase-kw", "mail from:<a@b.example>", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a@b.example" },
    { "mail-source-route", "MAIL FROM:<@r1.example,@r2.example:a@b.example>", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a@b.example" },
    { "mail-quoted-local", "MAIL FROM:<\"john doe\"@b.example>", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "\"john doe\"@b.example" },
    { "mail-quoted-escape", "MAIL FROM:<\"a\\\"b\"@b.example>", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "\"a\\\"b\"@b.example" },
    { "mail-literal-domain", "MAIL FROM:<a@[192.0.2.7]>", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a@[192.0.2.7]" },
    { "mail-atext", "MAIL FROM:<a.b+c=d/e!#$%&'*?^_`{|}~@x.example>", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a.b+c=d/e!#$%&'*?^_`{|}~@x.example" },
    { "mail-no-brackets", "MAIL FROM:a@b.example", ALL, 0, 553, "5.1.3", 0, NULL },
    { "mail-no-colon", "MAIL FROM <a@b.example>", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-no-domain", "MAIL FROM:<a>", ALL, 0, 553, "5.1.3", 0, NULL },
    { "mail-double-dot", "MAIL FROM:<a..b@x.example>", ALL, 0, 553, "5.1.3", 0, NULL },
    { "mail-trailing-dot-domain", "MAIL FROM:<a@x.example.>", ALL, 0, 553, "5.1.3", 0, NULL },
    { "mail-unclosed", "MAIL FROM:<a@x.example", ALL, 0, 553, "5.1.3", 0, NULL },
    { "mail-unclosed-quote", "MAIL FROM:<\"abc@x.example>", ALL, 0, 553, "5.1.3", 0, NULL },
    { "mail-garbage-after", "MAIL FROM:<a@x.example>junk", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-local-too-long", "MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.example>", ALL, 0, 553, "5.1.3", 0, NULL },
    { "mail-size", "MAIL FROM:<a@b.example> SIZE=1000", ALL, 5000, 0, NULL, SMTP_VERB_MAIL, "a@b.example" },
    { "mail-size-too-big", "MAIL FROM:<a@b.example> SIZE=100000", ALL, 5000, 552, "5.3.4", 0, NULL },
    { "mail-size-garbage", "MAIL FROM:<a@b.example> SIZE=12x", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-size-overflow", "MAIL FROM:<a@b.example> SIZE=999999999999999999999999", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-size-not-offered", "MAIL FROM:<a@b.example> SIZE=10", 0, 0, 555, "5.5.4", 0, NULL },
    { "mail-body-8bit", "MAIL FROM:<a@b.example> BODY=8BITMIME", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a@b.example" },
    { "mail-body-binary", "MAIL FROM:<a@b.example> BODY=BINARYMIME", ALL, 0, 555, "5.5.4", 0, NULL },
    { "mail-body-bad", "MAIL FROM:<a@b.example> BODY=9BIT", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-dsn", "MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ+2B1", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a@b.example" },
    { "mail-dsn-not-offered", "MAIL FROM:<a@b.example> RET=HDRS", SMTP_CMD_ALLOW_SIZE, 0, 555, "5.5.4", 0, NULL },
    { "mail-ret-bad", "MAIL FROM:<a@b.example> RET=ALL", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-envid-bad-xtext", "MAIL FROM:<a@b.example> ENVID=a+ZZ", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-dup-param", "MAIL FROM:<a@b.example> RET=HDRS RET=FULL", ALL, 0, 501, "5.5.4", 0, NULL },
    /* RFC 6710 MT-PRIORITY: priority-value = (["-"] %x31-39) / "0" */
    { "mail-mt-priority", "MAIL FROM:<a@b.example> MT-PRIORITY=4", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a@b.example" },
    { "mail-mt-priority-negative", "MAIL FROM:<a@b.example> mt-priority=-9", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a@b.example" },
    { "mail-mt-priority-zero", "MAIL FROM:<a@b.example> MT-PRIORITY=0", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "a@b.example" },
    { "mail-mt-priority-minus-zero", "MAIL FROM:<a@b.example> MT-PRIORITY=-0", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-mt-priority-ten", "MAIL FROM:<a@b.example> MT-PRIORITY=10", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-mt-priority-plus", "MAIL FROM:<a@b.example> MT-PRIORITY=+3", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-mt-priority-empty", "MAIL FROM:<a@b.example> MT-PRIORITY=", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-mt-priority-novalue", "MAIL FROM:<a@b.example> MT-PRIORITY", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-mt-priority-twice", "MAIL FROM:<a@b.example> MT-PRIORITY=1 MT-PRIORITY=2", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-mt-priority-not-offered", "MAIL FROM:<a@b.example> MT-PRIORITY=1", SMTP_CMD_ALLOW_DSN, 0, 555, "5.5.4", 0, NULL },
    { "mail-unknown-param", "MAIL FROM:<a@b.example> AUTH=<>", ALL, 0, 555, "5.5.4", 0, NULL },
    { "mail-bad-param-syntax", "MAIL FROM:<a@b.example> =x", ALL, 0, 501, "5.5.4", 0, NULL },
    { "mail-utf8", "MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.example> SMTPUTF8", ALL, 0, 0, NULL, SMTP_VERB_MAIL, "j\xc3\xb6rg@b\xc3\xbc" "cher.example" },
    { "mail-utf8-without-param", "MAIL FROM:<j\xc3\xb6rg@b.example>", ALL, 0, 553, "5.6.7", 0, NULL },
    { "mail-utf8-invalid", "MAIL FROM:<j\xc3(rg@b.example> SMTPUTF8", ALL, 0, 553, "5.1.3", 0, NULL },
    { "mail-utf8-overlong", "MAIL FROM:<\xc0\xafx@b.example> SMTPUTF8", ALL, 0, 553, "5.1.3", 0, NULL },
    { "mail-smtputf8-value", "MAIL FROM:<a@b.example> SMTPUTF8=yes", ALL, 0, 501, "5.5.4", 0, NULL },
    { "rcpt-simple", "RCPT TO:<c@d.example>", ALL, 0, 0, NULL, SMTP_VERB_RCPT, "c@d.example" },
    { "rcpt-postmaster", "RCPT TO:<Postmaster>", ALL, 0, 0, NULL, SMTP_VERB_RCPT, "Postmaster" },
    { "rcpt-null", "RCPT TO:<>", ALL, 0, 553, "5.1.3", 0, NULL },
    { "rcpt-bare-local", "RCPT TO:<bob>", ALL, 0, 553, "5.1.3", 0, NULL },
    { "rcpt-notify", "RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+40d.example", ALL, 0, 0, NULL, SMTP_VERB_RCPT, "c@d.example" },
    { "rcpt-notify-never-mixed", "RCPT TO:<c@d.example> NOTIFY=NEVER,DELAY", ALL, 0, 501, "5.5.4", 0, NULL },
    { "rcpt-notify-bad", "RCPT TO:<c@d.example> NOTIFY=SOMETIMES", ALL, 0, 501, "5.5.4", 0, NULL },
    { "rcpt-notify-dup", "RCPT TO:<c@d.example> NOTIFY=DELAY,DELAY", ALL, 0, 501, "5.5.4", 0, NULL },
    { "rcpt-orcpt-no-type", "RCPT TO:<c@d.example> ORCPT=c@d.example", ALL, 0, 501, "5.5.4", 0, NULL },
    { "rcpt-mail-param", "RCPT TO:<c@d.example> SIZE=10", ALL, 0, 555, "5.5.4", 0, NULL },
    { "data", "DATA", ALL, 0, 0, NULL, SMTP_VERB_DATA, NULL },
    { "data-arg", "DATA now", ALL, 0, 501, "5.5.4", 0, NULL },
    { "bdat", "BDAT 100", ALL, 0, 0, NULL, SMTP_VERB_BDAT, NULL },
    { "bdat-last", "BDAT 0 LAST", ALL, 0, 0, NULL, SMTP_VERB_BDAT, NULL },
    { "bdat-bad", "BDAT x", ALL, 0, 501, "5.5.4", 0, NULL },
    { "bdat-bad-last", "BDAT 10 FIRST", ALL, 0, 501, "5.5.4", 0, NULL },
    { "bdat-none", "BDAT", ALL, 0, 501, "5.5.4", 0, NULL },
    { "rset", "RSET", ALL, 0, 0, NULL, SMTP_VERB_RSET, NULL },
    { "noop-arg", "NOOP anything", ALL, 0, 0, NULL, SMTP_VERB_NOOP, "anything" },
    { "quit", "QUIT", ALL, 0, 0, NULL, SMTP_VERB_QUIT, NULL },
    { "quit-trailing-space", "QUIT ", ALL, 0, 0, NULL, SMTP_VERB_QUIT, NULL },
    { "vrfy", "VRFY bob", ALL, 0, 0, NULL, SMTP_VERB_VRFY, "bob" },
    { "vrfy-empty", "VRFY", ALL, 0, 501, "5.5.4", 0, NULL },
    { "help", "HELP", ALL, 0, 0, NULL, SMTP_VERB_HELP, "" },
    { "starttls", "STARTTLS", ALL, 0, 0, NULL, SMTP_VERB_STARTTLS, NULL },
    { "unknown", "FOO bar", ALL, 0, 500, "5.5.2", 0, NULL },
    { "empty", "", ALL, 0, 500, "5.5.2", 0, NULL },
    { "verb-prefix", "MAILX FROM:<a@b>", ALL, 0, 500, "5.5.2", 0, NULL },
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct pcase *t = &cases[i];
        struct smtp_cmd c;
        struct smtp_reply r;
        int rc = smtp_cmd_parse(t->line, strlen(t->line), t->allow, t->max_size, &c, &r);
        if (t->code == 0) {
            if (rc != 0)
                fail_msg("case %s: expected success, got %d %s %s", t->name, r.code, r.enhanced, r.text);
            if (c.verb != t->verb)
                fail_msg("case %s: verb %d, expected %d", t->name, c.verb, t->verb);
            if (t->path) {
                const char *got = (t->verb == SMTP_VERB_MAIL || t->verb == SMTP_VERB_RCPT) ? c.path : c.arg;
                if (strcmp(got, t->path) != 0)
                    fail_msg("case %s: got \"%s\", expected \"%s\"", t->name, got, t->path);
            }
        } else {
            if (rc != MG_EPARSE)
                fail_msg("case %s: expected failure %d, parsed as verb %d", t->name, t->code, c.verb);
            if (r.code != t->code || strcmp(r.enhanced, t->enhanced) != 0)
                fail_msg("case %s: got %d %s (%s), expected %d %s", t->name, r.code, r.enhanced,
                         r.text, t->code, t->enhanced);
        }
    }
}

/* Parameter values land in the right fields. */
static void test_params(void **state)
{
    (void)state;
    struct smtp_cmd c;
    struct smtp_reply r;
    const char *l = "MAIL FROM:<a@b.example> SIZE=1234 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1 SMTPUTF8";
    assert_int_equal(smtp_cmd_parse(l, strlen(l), ALL, 0, &c, &r), 0);
    assert_int_equal(c.size, 1234);
    assert_int_equal(c.body, SMTP_BODY_8BITMIME);
    assert_int_equal(c.ret, SMTP_RET_HDRS);
    assert_string_equal(c.envid, "QQ+1");
    assert_int_equal(c.smtputf8, 1);
    assert_int_equal(c.mt_priority_given, 0);
    l = "MAIL FROM:<a@b.example> MT-PRIORITY=-4";
    assert_int_equal(smtp_cmd_parse(l, strlen(l), ALL, 0, &c, &r), 0);
    assert_int_equal(c.mt_priority_given, 1);
    assert_int_equal(c.mt_priority, -4);

    l = "RCPT TO:<c@d.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;c+2Bx+40d.example";
    assert_int_equal(smtp_cmd_parse(l, strlen(l), ALL, 0, &c, &r), 0);
    assert_int_equal(c.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY);
    assert_string_equal(c.orcpt_type, "rfc822");
    assert_string_equal(c.orcpt, "c+x@d.example");

    l = "BDAT 4096 LAST";
    assert_int_equal(smtp_cmd_parse(l, strlen(l), ALL, 0, &c, &r), 0);
    assert_int_equal(c.chunk_size, 4096);
    assert_int_equal(c.last, 1);
}

/* RFC 6710's STANAG4406 policy between MT-PRIORITY and the queue's six precedences. */
static void test_mt_priority_policy(void **state)
{
    (void)state;
    static const struct {
        int mt, queue;
    } to_queue[] = {
        {-9, 0}, {-5, 0}, {-4, 0}, {-3, 0}, {-2, 1}, {-1, 1}, {0, 2}, {1, 2},
        {2, 3},  {3, 3},  {4, 4},  {5, 4},  {6, 5},  {7, 5},  {9, 5},
    };
    for (size_t i = 0; i < sizeof to_queue / sizeof to_queue[0]; i++)
        if (smtp_mt_priority_to_queue(to_queue[i].mt) != to_queue[i].queue)
            fail_msg("MT-PRIORITY %d: queue %d, want %d", to_queue[i].mt,
                     smtp_mt_priority_to_queue(to_queue[i].mt), to_queue[i].queue);
    /* deferred -4, routine -2, priority 0, immediate 2, flash 4, override 6 */
    static const int of_queue[6] = {-4, -2, 0, 2, 4, 6};
    for (int p = 0; p < 6; p++) {
        assert_int_equal(smtp_mt_priority_of_queue(p), of_queue[p]);
        assert_int_equal(smtp_mt_priority_to_queue(of_queue[p]), p);
    }
}

/* Limits: the longest accepted line, and one octet more. */
static void test_limits(void **state)
{
    (void)state;
    char line[SMTP_CMD_MAX_LINE + 2];
    struct smtp_cmd c;
    struct smtp_reply r;
    memset(line, 'x', sizeof line);
    memcpy(line, "NOOP ", 5);
    assert_int_equal(smtp_cmd_parse(line, SMTP_CMD_MAX_LINE, ALL, 0, &c, &r), 0);
    assert_int_equal(smtp_cmd_parse(line, SMTP_CMD_MAX_LINE + 1, ALL, 0, &c, &r), MG_EPARSE);
    assert_int_equal(r.code, 500);
    assert_string_equal(r.enhanced, "5.5.2");
    /* NUL inside a line is refused. */
    assert_int_equal(smtp_cmd_parse("NOOP a\0b", 8, ALL, 0, &c, &r), MG_EPARSE);
    /* A 255-octet domain with 63-octet labels is fine, a 258-octet one is refused. */
    char l63[64], dom[400];
    memset(l63, 'a', 63);
    l63[63] = 0;
    snprintf(dom, sizeof dom, "MAIL FROM:<a@%s.%s.%s.%.62s>", l63, l63, l63, l63);
    assert_int_equal(smtp_cmd_parse(dom, strlen(dom), ALL, 0, &c, &r), 0);
    snprintf(dom, sizeof dom, "MAIL FROM:<a@%s.%s.%s.%s.xy>", l63, l63, l63, l63);
    assert_int_equal(smtp_cmd_parse(dom, strlen(dom), ALL, 0, &c, &r), MG_EPARSE);
    /* A 64-octet label is refused. */
    const char *l64 = "MAIL FROM:<a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x>";
    assert_int_equal(smtp_cmd_parse(l64, strlen(l64), ALL, 0, &c, &r), MG_EPARSE);
}

struct xcase {
    const char *name, *decoded, *encoded;
};
static const struct xcase xcases[] = {
    { "plain", "abc", "abc" },
    { "plus", "a+b", "a+2Bb" },
    { "equals", "a=b", "a+3Db" },
    { "space", "a b", "a+20b" },
    { "utf8", "\xc3\xa9", "+C3+A9" },
};

static void test_xtext(void **state)
{
    (void)state;
    char buf[64];
    for (size_t i = 0; i < sizeof xcases / sizeof xcases[0]; i++) {
        const struct xcase *x = &xcases[i];
        if (smtp_cmd_xtext_encode(x->decoded, buf, sizeof buf) < 0 || strcmp(buf, x->encoded))
            fail_msg("case %s: encode gave %s", x->name, buf);
        if (smtp_cmd_xtext_decode(x->encoded, strlen(x->encoded), buf, sizeof buf) < 0 ||
            strcmp(buf, x->decoded))
            fail_msg("case %s: decode gave %s", x->name, buf);
    }
    assert_true(smtp_cmd_xtext_decode("+2", 2, buf, sizeof buf) < 0);
    assert_true(smtp_cmd_xtext_decode("+00", 3, buf, sizeof buf) < 0);
    assert_true(smtp_cmd_xtext_decode("+2b", 3, buf, sizeof buf) < 0);
    assert_true(smtp_cmd_xtext_decode("abcdef", 6, buf, 4) < 0);
    assert_true(smtp_cmd_xtext_encode("abcdef", buf, 4) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_xtext),
        cmocka_unit_test(test_mt_priority_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
