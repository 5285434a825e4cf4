/* test_smtp_session: the server state machine driven without sockets: scripted client input,
 * the sequence of reply codes, and the envelope and content handed to the message callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_session.h"

struct harness {
    struct smtp_session s;
    struct smtp_session_cfg cfg;
    struct smtp_server_callbacks cbs;
    struct smtp_envelope *msg;  /* last message handed over (owned here) */
    int nmsg;
    int async;                  /* do not complete in the callback */
    int refuse_rcpt;            /* rcpt callback refuses addresses starting with "deny" */
};

static int rcpt_cb(void *arg, const struct smtp_envelope *env, const struct smtp_rcpt *r,
                   struct smtp_reply *reply)
{
    struct harness *h = arg;
    if (!strncmp(r->addr, "closing", 7)) {
        reply->code = 421;
        snprintf(reply->enhanced, sizeof reply->enhanced, "4.3.2");
        return 1;
    }
    if (h->refuse_rcpt && !strncmp(r->addr, "deny", 4)) {
        reply->code = 554;
        snprintf(reply->enhanced, sizeof reply->enhanced, "5.7.1");
        snprintf(reply->text, sizeof reply->text, "Relay access denied\r\ninjected");
        return 1;
    }
    return 0;
}

static void on_message(void *arg, struct smtp_session *sess, struct smtp_envelope *env)
{
    struct harness *h = arg;
    if (h->msg) {
        smtp_envelope_free(h->msg);
        free(h->msg);
    }
    h->msg = env;
    h->nmsg++;
    if (!h->async)
        smtp_session_message_done(&h->s, NULL);
}

static void h_init(struct harness *h, const struct smtp_session_cfg *over)
{
    memset(h, 0, sizeof *h);
    h->cbs.rcpt = rcpt_cb;
    h->refuse_rcpt = 1;
    h->cfg.hostname = "mx.test";
    h->cfg.max_size = 4096;
    h->cfg.max_rcpts = 3;
    h->cfg.max_errors = 5;
    if (over) {
        if (over->max_size)
            h->cfg.max_size = over->max_size;
        h->cfg.bare_lf_reject = over->bare_lf_reject;
        h->cfg.max_line = over->max_line;
        h->cfg.tls_available = over->tls_available;
        h->cfg.require_tls = over->require_tls;
        if (over->max_errors)
            h->cfg.max_errors = over->max_errors;
    }
    h->cfg.cbs = &h->cbs;
    h->cfg.cb_arg = h;
    h->cfg.on_message = on_message;
    h->cfg.hook_arg = h;
    smtp_session_init(&h->s, &h->cfg, "T1", "192.0.2.9", 4000);
    smtp_session_greet(&h->s);
}

static void h_free(struct harness *h)
{
    smtp_session_free(&h->s);
    if (h->msg) {
        smtp_envelope_free(h->msg);
        free(h->msg);
    }
}

/* Final reply lines as "code enhanced" words: "220 250 250 354 250" (continuations skipped). */
static void codes(const struct smtp_session *s, char *out, size_t outsz)
{
    size_t o = 0;
    out[0] = 0;
    const char *p = (const char *)s->out.data, *end = p + s->out.len;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        if (nl - p >= 4 && p[3] == ' ')
            o += (size_t)snprintf(out + o, outsz - o, "%s%.3s", o ? " " : "", p);
        p = nl + 1;
    }
}

/* The content without our Received: header. */
static const char *body_of(const struct smtp_envelope *m)
{
    const char *c = (const char *)m->content;
    if (strncmp(c, "Received: ", 10) != 0)
        return "(no Received header)";
    const char *p = c;
    for (;;) {
        p = strstr(p, "\r\n");
        if (!p)
            return "(broken Received header)";
        p += 2;
        if (*p != '\t')
            return p;
    }
}

#define EH "EHLO c.test\r\n"
#define MF "MAIL FROM:<a@s.test>\r\n"
#define RT "RCPT TO:<b@r.test>\r\n"

struct scase {
    const char *name;
    struct smtp_session_cfg cfg;  /* overrides (0 = harness default) */
    const char *input;
    size_t input_len;             /* 0 = strlen */
    const char *codes;            /* expected final reply codes */
    int nmsg;                     /* messages handed over */
    const char *body;             /* expected body of the last message, NULL = skip */
    int done;                     /* session must be DONE at the end */
};

static const struct scase cases[] = {
    { "basic", { 0 }, EH MF RT "DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n",
      0, "220 250 250 250 354 250 221", 1, "Subject: x\r\n\r\nhi\r\n", 1 },
    { "helo-then-esmtp-param", { 0 }, "HELO c.test\r\nMAIL FROM:<a@s.test> SIZE=10\r\n", 0, "220 250 555", 0, NULL, 0 },
    { "mail-before-helo", { 0 }, MF, 0, "220 503", 0, NULL, 0 },
    { "rcpt-before-mail", { 0 }, EH RT, 0, "220 250 503", 0, NULL, 0 },
    { "data-before-mail", { 0 }, EH "DATA\r\n", 0, "220 250 503", 0, NULL, 0 },
    { "data-no-rcpt", { 0 }, EH MF "DATA\r\n", 0, "220 250 250 554", 0, NULL, 0 },
    { "nested-mail", { 0 }, EH MF MF, 0, "220 250 250 503", 0, NULL, 0 },
    { "too-many-rcpts", { 0 }, EH MF RT RT RT RT, 0, "220 250 250 250 250 250 452", 0, NULL, 0 },
    { "size-declared-too-big", { 0 }, EH "MAIL FROM:<a@s.test> SIZE=5000\r\n", 0, "220 250 552", 0, NULL, 0 },
    { "size-actual-too-big", { .max_size = 10 }, EH MF RT "DATA\r\n0123456789abcdef\r\n.\r\nNOOP\r\n", 0,
      "220 250 250 250 354 552 250", 0, NULL, 0 },
    { "dot-stuffing", { 0 }, EH MF RT "DATA\r\n..leading\r\n.\r\n", 0, "220 250 250 250 354 250", 1,
      ".leading\r\n", 0 },
    { "bare-lf-accepted", { 0 }, "EHLO c.test\n" MF RT "DATA\nline1\nline2\r\n.\r\n", 0,
      "220 250 250 250 354 250", 1, "line1\r\nline2\r\n", 0 },
    { "bare-lf-rejected", { .bare_lf_reject = 1 }, EH MF RT "NOOP\nDATA\r\nline1\nline2\r\n.\r\n", 0,
      "220 250 250 250 500 354 554", 0, NULL, 0 },
    { "smuggling-lf-dot-lf", { 0 }, EH MF RT "DATA\r\nx\n.\nMAIL FROM:<evil@s.test>\r\n.\r\n", 0,
      "220 250 250 250 354 250", 1, "x\r\n\r\nMAIL FROM:<evil@s.test>\r\n", 0 },
    { "smuggling-lf-dot-crlf", { 0 }, EH MF RT "DATA\r\nx\n.\r\nRSET\r\n.\r\n", 0,
      "220 250 250 250 354 250", 1, "x\r\n\r\nRSET\r\n", 0 },
    { "smuggling-crlf-dot-lf", { 0 }, EH MF RT "DATA\r\nx\r\n.\nRSET\r\n.\r\n", 0,
      "220 250 250 250 354 250", 1, "x\r\n\r\nRSET\r\n", 0 },
    { "long-command", { 0 }, EH "NOOP "
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "\r\nNOOP\r\n", 0, "220 250 500 250", 0, NULL, 0 },
    { "bdat", { 0 }, EH MF RT "BDAT 5\r\nhelloBDAT 7 LAST\r\n world\n", 0,
      "220 250 250 250 250 250", 1, "hello world\n", 0 },
    { "bdat-zero-last", { 0 }, EH MF RT "BDAT 3\r\nabcBDAT 0 LAST\r\n", 0, "220 250 250 250 250 250", 1,
      "abc", 0 },
    { "bdat-without-mail-consumes-chunk", { 0 }, EH "BDAT 6\r\nNOOP\r\nNOOP\r\n", 0, "220 250 503 250", 0,
      NULL, 0 },
    { "bdat-too-big", { .max_size = 8 }, EH MF RT "BDAT 20 LAST\r\n01234567890123456789NOOP\r\n", 0,
      "220 250 250 250 552 250", 0, NULL, 0 },
    { "data-after-bdat", { 0 }, EH MF RT "BDAT 1\r\nxDATA\r\n", 0, "220 250 250 250 250 503", 0, NULL, 0 },
    { "misc-commands", { 0 }, EH "VRFY bob\r\nHELP\r\nNOOP\r\nRSET\r\nEXPN list\r\n", 0,
      "220 250 252 214 250 250 502", 0, NULL, 0 },
    { "starttls-unavailable", { 0 }, EH "STARTTLS\r\n", 0, "220 250 454", 0, NULL, 0 },
    { "starttls-drops-pipelined", { .tls_available = 1 }, EH "STARTTLS\r\n" MF RT, 0, "220 250 220", 0, NULL, 0 },
    { "require-tls", { .tls_available = 1, .require_tls = 1 }, EH MF, 0, "220 250 530", 0, NULL, 0 },
    { "too-many-errors", { .max_errors = 3 }, "FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n", 0, "220 500 500 500 421", 0, NULL, 1 },
    { "rcpt-refused-by-callback", { 0 }, EH MF "RCPT TO:<deny@r.test>\r\n" RT, 0, "220 250 250 554 250", 0, NULL, 0 },
    { "rcpt-421-closes", { 0 }, EH MF "RCPT TO:<closing@r.test>\r\n" RT, 0, "220 250 250 421", 0, NULL, 1 },
    { "utf8-rcpt-without-smtputf8", { 0 }, EH MF "RCPT TO:<b\xc3\xbc@r.test>\r\n", 0, "220 250 250 553", 0, NULL, 0 },
    { "utf8-with-smtputf8", { 0 }, EH "MAIL FROM:<a@s.test> SMTPUTF8\r\nRCPT TO:<b\xc3\xbc@r.test>\r\n", 0,
      "220 250 250 250", 0, NULL, 0 },
    { "two-messages", { 0 }, EH MF RT "DATA\r\none\r\n.\r\n" MF RT "DATA\r\ntwo\r\n.\r\n", 0,
      "220 250 250 250 354 250 250 250 354 250", 2, "two\r\n", 0 },
    { "nul-in-command", { 0 }, EH "NOOP a\0b\r\nNOOP\r\n", 13 + 10 + 6, "220 250 500 250", 0, NULL, 0 },
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct scase *t = &cases[i];
        struct harness h;
        h_init(&h, &t->cfg);
        size_t len = t->input_len ? t->input_len : strlen(t->input);
        /* Feed once whole and once byte by byte must give the same result: split reads are
         * the normal case on a socket. */
        for (int pass = 0; pass < 2; pass++) {
            if (pass) {
                h_free(&h);
                h_init(&h, &t->cfg);
                for (size_t k = 0; k < len; k++)
                    smtp_session_input(&h.s, t->input + k, 1);
            } else {
                smtp_session_input(&h.s, t->input, len);
            }
            char got[512];
            codes(&h.s, got, sizeof got);
            if (strcmp(got, t->codes))
                fail_msg("case %s pass %d: replies \"%s\", expected \"%s\"\n%s", t->name, pass, got,
                         t->codes, (const char *)h.s.out.data);
            if (h.nmsg != t->nmsg)
                fail_msg("case %s pass %d: %d messages, expected %d", t->name, pass, h.nmsg, t->nmsg);
            if (t->body && strcmp(body_of(h.msg), t->body))
                fail_msg("case %s pass %d: body \"%s\", expected \"%s\"", t->name, pass, body_of(h.msg),
                         t->body);
            if (t->done && h.s.state != SMTP_SESSION_DONE)
                fail_msg("case %s: session not closed", t->name);
        }
        h_free(&h);
    }
}

/* DSN, SMTPUTF8 and BODY parameters and session facts reach the message callback. */
static void test_envelope(void **state)
{
    (void)state;
    struct harness h;
    h_init(&h, NULL);
    const char *in = EH "MAIL FROM:<a@s.test> RET=HDRS ENVID=id+2B7 BODY=8BITMIME SIZE=100 MT-PRIORITY=-2\r\n"
                        "RCPT TO:<b@r.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40r.test\r\n"
                        "RCPT TO:<c@r.test>\r\nDATA\r\nx\r\n.\r\n";
    smtp_session_input(&h.s, in, strlen(in));
    assert_int_equal(h.nmsg, 1);
    struct smtp_envelope *m = h.msg;
    assert_string_equal(m->helo, "c.test");
    assert_string_equal(m->client_addr, "192.0.2.9");
    assert_int_equal(m->esmtp, 1);
    assert_int_equal(m->tls, 0);
    assert_string_equal(m->mail_from, "a@s.test");
    assert_int_equal(m->ret, SMTP_RET_HDRS);
    assert_string_equal(m->envid, "id+7");
    assert_int_equal(m->body, SMTP_BODY_8BITMIME);
    assert_int_equal(m->size, 100);
    /* RFC 6710: offered with its policy, the value travels with the envelope (whether it
     * counts is the submission's decision: trusted clients only) */
    assert_non_null(strstr((char *)h.s.out.data, "250-MT-PRIORITY STANAG4406\r\n"));
    assert_int_equal(m->mt_priority_given, 1);
    assert_int_equal(m->mt_priority, -2);
    assert_int_equal(m->nrcpts, 2);
    assert_string_equal(m->rcpts[0].addr, "b@r.test");
    assert_int_equal(m->rcpts[0].notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE);
    assert_string_equal(m->rcpts[0].orcpt_type, "rfc822");
    assert_string_equal(m->rcpts[0].orcpt, "b@r.test");
    assert_null(m->rcpts[1].orcpt);
    assert_int_equal(m->rcpts[1].notify, 0);
    /* Received header names the client, us and the protocol. */
    assert_non_null(strstr((char *)m->content, "Received: from c.test ([192.0.2.9])\r\n\tby mx.test (mixgate) with ESMTP id T1.1; "));
    /* Ownership of the content can be taken without a copy. */
    size_t len;
    unsigned char *c = smtp_envelope_take_content(m, &len);
    assert_non_null(c);
    assert_null(m->content);
    free(c);
    h_free(&h);
}

/* An asynchronous completion holds pipelined commands until the reply has been sent. */
static void test_async(void **state)
{
    (void)state;
    struct harness h;
    h_init(&h, NULL);
    h.async = 1;
    const char *in = EH MF RT "DATA\r\nx\r\n.\r\nNOOP\r\nQUIT\r\n";
    smtp_session_input(&h.s, in, strlen(in));
    char got[256];
    codes(&h.s, got, sizeof got);
    assert_string_equal(got, "220 250 250 250 354");
    assert_int_equal(h.s.state, SMTP_SESSION_WAIT);
    assert_int_equal(h.nmsg, 1);
    struct smtp_reply r = { .code = 451, .enhanced = "4.3.0", .text = "queue full" };
    smtp_session_message_done(&h.s, &r);
    codes(&h.s, got, sizeof got);
    assert_string_equal(got, "220 250 250 250 354 451 250 221");
    assert_int_equal(h.s.state, SMTP_SESSION_DONE);
    h_free(&h);
}

/* The rcpt callback's text cannot inject a line; the timeout gives 421 4.4.2. */
static void test_reply_hygiene_and_timeout(void **state)
{
    (void)state;
    struct harness h;
    h_init(&h, NULL);
    h.refuse_rcpt = 1;
    const char *in = EH MF "RCPT TO:<deny@r.test>\r\n";
    smtp_session_input(&h.s, in, strlen(in));
    assert_non_null(strstr((char *)h.s.out.data, "554 5.7.1 Relay access denied  injected\r\n"));
    smtp_session_timeout(&h.s);
    assert_non_null(strstr((char *)h.s.out.data, "421 4.4.2 "));
    assert_int_equal(h.s.state, SMTP_SESSION_DONE);
    h_free(&h);
}

/* Content lines longer than max_line are folded into pieces of max_line octets, never refused
 * (docs/smtp.md); up to max_line they are kept as sent. Dot-stuffing applies to the start of
 * the line only, and a folded piece is never the end of data. Fed whole and byte by byte. */
struct fold_case {
    const char *name;
    size_t max_line;        /* 0 = the default, 998 */
    const char *line;       /* the client's line, '#' repeated by rep (after dot-stuffing) */
    size_t rep;
    const char *want;       /* the stored content after the Received: header, '#' as above */
};

static void expand(char *out, size_t cap, const char *tmpl, size_t rep)
{
    size_t o = 0;
    for (const char *p = tmpl; *p && o + 1 < cap; p++) {
        if (*p != '#') {
            out[o++] = *p;
            continue;
        }
        for (size_t i = 0; i < rep && o + 1 < cap; i++)
            out[o++] = 'y';
    }
    out[o] = 0;
}

static void test_long_lines_folded(void **state)
{
    (void)state;
    static const struct fold_case fcases[] = {
        { "998 kept (default)", 0, "#\r\n", 998, "#\r\n" },
        { "999 folded (default)", 0, "#x\r\n", 998, "#\r\nx\r\n" },
        { "1000 kept at 1000", 1000, "#\r\n", 1000, "#\r\n" },
        { "3 pieces", 10, "0123456789abcdefghijKLM\r\n", 0, "0123456789\r\nabcdefghij\r\nKLM\r\n" },
        { "exact multiple", 4, "abcdefgh\r\n", 0, "abcd\r\nefgh\r\n" },
        { "dot unstuffed once", 4, "..bcdefgh\r\n", 0, ".bcd\r\nefgh\r\n" },
        { "piece starting with a dot kept", 4, "abcd.fgh\r\n", 0, "abcd\r\n.fgh\r\n" },
        { "lone dot after a fold is content", 4, "abcd.\r\nnext\r\n", 0, "abcd\r\n.\r\nnext\r\n" },
        { "several lines", 5, "short\r\nlonger line\r\n", 0, "short\r\nlonge\r\nr lin\r\ne\r\n" },
    };
    for (size_t i = 0; i < sizeof fcases / sizeof *fcases; i++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            struct harness h;
            struct smtp_session_cfg o = { .max_size = 100000, .max_line = fcases[i].max_line };
            h_init(&h, &o);
            const char *pre = EH MF RT "DATA\r\n";
            smtp_session_input(&h.s, pre, strlen(pre));
            char line[4096], want[4096];
            expand(line, sizeof line, fcases[i].line, fcases[i].rep);
            expand(want, sizeof want, fcases[i].want, fcases[i].rep);
            strcat(line, ".\r\n");
            if (bytewise)
                for (size_t k = 0; line[k]; k++)
                    smtp_session_input(&h.s, line + k, 1);
            else
                smtp_session_input(&h.s, line, strlen(line));
            char got[256];
            codes(&h.s, got, sizeof got);
            if (strcmp(got, "220 250 250 250 354 250") || !h.msg)
                fail_msg("%s (%s): replies %s", fcases[i].name, bytewise ? "bytewise" : "whole", got);
            /* the Received: header ends with CRLF; the test message has no header of its own */
            const char *c = (const char *)h.msg->content;
            const char *rcv_end = NULL;
            for (const char *p = c; p + 2 <= c + h.msg->content_len; p++)
                if (p[0] == '\r' && p[1] == '\n' && p + 2 < c + h.msg->content_len && p[2] != ' ' && p[2] != '\t') {
                    rcv_end = p + 2;
                    break;
                }
            assert_non_null(rcv_end);
            size_t blen = h.msg->content_len - (size_t)(rcv_end - c);
            if (blen != strlen(want) || memcmp(rcv_end, want, blen))
                fail_msg("%s (%s): stored '%.*s'", fcases[i].name, bytewise ? "bytewise" : "whole", (int)blen, rcv_end);
            h_free(&h);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_async),
        cmocka_unit_test(test_reply_hygiene_and_timeout),
        cmocka_unit_test(test_long_lines_folded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
