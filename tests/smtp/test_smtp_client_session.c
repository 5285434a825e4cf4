/* test_smtp_client_session: the SMTP client protocol without I/O, driven by scripted peer
 * replies. Each named case feeds steps (peer bytes, a message to send, TLS done, QUIT, a
 * transport failure) and checks three things: every byte the session wrote (the commands),
 * the events it raised, and each recipient's result. Plus dot-stuffing byte for byte, and
 * that the stuffed pieces point into the content instead of copying it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "mg_log.h"
#include "smtp_client_session.h"

/* ---- envelopes ---- */

enum envkind { ENV_PLAIN, ENV_ONE, ENV_DSN, ENV_UTF8, ENV_8BIT, ENV_BIG, ENV_PRIO };

static void build_env(struct smtp_envelope *e, enum envkind k)
{
    smtp_envelope_init(e);
    smtp_envelope_set_str(&e->mail_from, k == ENV_UTF8 ? "s\xc3\xa9nder@x.test" : "a@x.test");
    if (k == ENV_DSN) {
        smtp_envelope_add_rcpt(e, "b@y.test", SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE, "rfc822", "b+x@y.test");
        smtp_envelope_add_rcpt(e, "c@y.test", SMTP_NOTIFY_NEVER, NULL, NULL);
        e->ret = SMTP_RET_HDRS;
        smtp_envelope_set_str(&e->envid, "id=1");
    } else {
        smtp_envelope_add_rcpt(e, "b@y.test", 0, NULL, NULL);
        if (k != ENV_ONE)
            smtp_envelope_add_rcpt(e, "c@y.test", 0, NULL, NULL);
    }
    if (k == ENV_8BIT)
        e->body = SMTP_BODY_8BITMIME;
    if (k == ENV_PRIO) { /* RFC 6710 */
        e->mt_priority = -4;
        e->mt_priority_given = 1;
    }
    const char *content = k == ENV_BIG ? "0123456789012345678901234567890123456789\r\n" : "Hi\r\n";
    e->content = (unsigned char *)strdup(content);
    e->content_len = strlen(content);
}

/* ---- the driver ---- */

struct step {
    char kind;          /* 'S' peer bytes, 'E' send envelope, 'T' TLS done, 'Q' quit, 'X' transport fails */
    const char *data;   /* 'S': the bytes; 'E': the envkind as "0".."6"; 'X': unused */
};

struct scase {
    const char *name;
    enum smtp_client_tls tls;
    struct step steps[12];
    const char *wire;    /* everything the session wrote */
    const char *events;  /* R ready, T starttls, B body, M done (results in [...]), F failed, C closed,
                            e<rc> send refused */
    int final_state;
};

#define GREET "220 mx.test ESMTP\r\n"
#define EHLO_PIPE "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"
#define EHLO_PLAIN "250-mx.test\r\n250 SIZE 1000\r\n"
#define EHLO_DSN "250-mx.test\r\n250-PIPELINING\r\n250 DSN\r\n"
#define EHLO_PRIO "250-mx.test\r\n250-PIPELINING\r\n250 MT-PRIORITY MIXER\r\n"
#define EHLO_TLS "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
#define C_EHLO "EHLO client.test\r\n"
#define C_TXN2 "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n"

static const struct scase cases[] = {
    { "pipelined, one recipient refused", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "0" },
        { 'S', "250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n354 go\r\n" }, { 'S', "250 2.0.0 queued\r\n" } },
      C_EHLO C_TXN2 "BODY",
      "R B M[250 2.0.0,550 5.1.1]", SCS_READY },
    { "one command at a time without PIPELINING", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PLAIN }, { 'E', "0" }, { 'S', "250 ok\r\n" }, { 'S', "250 ok\r\n" },
        { 'S', "251 forwarded\r\n" }, { 'S', "354 go\r\n" }, { 'S', "250 ok\r\n" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\nBODY",
      "R B M[250,250]", SCS_READY },
    { "MAIL refused: every recipient gets it, no RSET", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PLAIN }, { 'E', "0" }, { 'S', "451 4.3.0 try later\r\n" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4\r\n", "R M[451 4.3.0,451 4.3.0]", SCS_READY },
    { "pipelined MAIL refused: the rest of the group is answered", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "0" },
        { 'S', "550 5.7.1 no\r\n503 5.5.1 MAIL first\r\n503 5.5.1 MAIL first\r\n503 5.5.1 no\r\n" } },
      C_EHLO C_TXN2, "R M[550 5.7.1,550 5.7.1]", SCS_READY },
    { "all recipients refused: DATA refused, then RSET", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "0" },
        { 'S', "250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n" },
        { 'S', "250 reset\r\n" } },
      C_EHLO C_TXN2 "RSET\r\n", "R M[550 5.1.1,550 5.1.1]", SCS_READY },
    { "no recipient accepted but 354: empty content", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "0" },
        { 'S', "250 ok\r\n550 5.1.1 no\r\n450 4.2.0 later\r\n354 go\r\n" }, { 'S', "554 empty\r\n" } },
      C_EHLO C_TXN2 ".\r\n", "R M[550 5.1.1,450 4.2.0]", SCS_READY },
    { "without PIPELINING no DATA when every RCPT failed", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PLAIN }, { 'E', "1" }, { 'S', "250 ok\r\n" },
        { 'S', "550 5.1.1 no\r\n" }, { 'S', "250 ok\r\n" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nRSET\r\n", "R M[550 5.1.1]", SCS_READY },
    { "content refused at the end of data", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "1" },
        { 'S', "250 ok\r\n250 ok\r\n354 go\r\n" }, { 'S', "554 5.7.1 spam\r\n" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nDATA\r\nBODY", "R B M[554 5.7.1]",
      SCS_READY },
    { "DSN parameters when offered", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_DSN }, { 'E', "2" },
        { 'S', "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n" }, { 'S', "250 ok\r\n" } },
      C_EHLO "MAIL FROM:<a@x.test> RET=HDRS ENVID=id+3D1\r\n"
             "RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@y.test\r\n"
             "RCPT TO:<c@y.test> NOTIFY=NEVER\r\nDATA\r\nBODY",
      "R B M[250,250]", SCS_READY },
    { "MT-PRIORITY when offered", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PRIO }, { 'E', "6" } },
      C_EHLO "MAIL FROM:<a@x.test> MT-PRIORITY=-4\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n",
      "R", SCS_TXN },
    { "no MT-PRIORITY when not offered", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "6" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n",
      "R", SCS_TXN },
    { "no DSN parameters when not offered", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "2" },
        { 'S', "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n" }, { 'S', "250 ok\r\n" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\nBODY",
      "R B M[250,250]", SCS_READY },
    { "8BITMIME declared when offered", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "4" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4 BODY=8BITMIME\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n",
      "R", SCS_TXN },
    { "8BITMIME needed, not offered", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PLAIN }, { 'E', "4" } },
      C_EHLO, "R M[554 5.6.3,554 5.6.3]", SCS_READY },
    { "SMTPUTF8 needed, not offered", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "3" } },
      C_EHLO, "R M[553 5.6.7,553 5.6.7]", SCS_READY },
    { "over the peer's SIZE", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', "250-mx.test\r\n250 SIZE 10\r\n" }, { 'E', "5" } },
      C_EHLO, "R M[552 5.3.4,552 5.3.4]", SCS_READY },
    { "HELO after EHLO refused with 5xx", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', "502 5.5.2 what\r\n" }, { 'S', "250 mx.test\r\n" }, { 'E', "1" } },
      C_EHLO "HELO client.test\r\nMAIL FROM:<a@x.test>\r\n", "R", SCS_TXN },
    { "EHLO refused with 4xx", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', "450 busy\r\n" } }, C_EHLO, "F450/4.4.0", SCS_DONE },
    { "greeting 554", SMTP_CLIENT_TLS_NONE,
      { { 'S', "554 5.7.1 go away\r\n" } }, "", "F554/5.7.1", SCS_DONE },
    { "greeting 421 at once", SMTP_CLIENT_TLS_NONE,
      { { 'S', "421 4.3.2 busy\r\n" } }, "", "F421/4.3.2", SCS_DONE },
    { "multi-line greeting split across reads", SMTP_CLIENT_TLS_NONE,
      { { 'S', "220-mx.test wel" }, { 'S', "come\r\n220-more\r" }, { 'S', "\n220 end\r\n" } },
      C_EHLO, "", SCS_EHLO },
    { "bare LF line ends from the peer", SMTP_CLIENT_TLS_NONE,
      { { 'S', "220 hi\n" }, { 'S', "250-mx\n250 PIPELINING\n" } }, C_EHLO, "R", SCS_READY },
    { "malformed reply", SMTP_CLIENT_TLS_NONE,
      { { 'S', "hello there\r\n" } }, "", "F421/4.5.0", SCS_DONE },
    { "reply code out of range", SMTP_CLIENT_TLS_NONE,
      { { 'S', "620 what\r\n" } }, "", "F421/4.5.0", SCS_DONE },
    { "bad separator after the code", SMTP_CLIENT_TLS_NONE,
      { { 'S', "220_x\r\n" } }, "", "F421/4.5.0", SCS_DONE },
    { "overlong line without LF", SMTP_CLIENT_TLS_NONE,
      { { 'S', "220 " }, { 'S', "@4200" } }, "", "F421/4.5.0", SCS_DONE },
    { "421 in the middle of a transaction", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "0" }, { 'S', "250 ok\r\n250 ok\r\n421 4.3.2 bye\r\n" } },
      C_EHLO C_TXN2, "R F421/4.3.2 M[421 4.3.2,421 4.3.2]!", SCS_DONE },
    { "transport fails while waiting for the content reply", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "0" },
        { 'S', "250 ok\r\n250 ok\r\n550 5.1.1 no\r\n354 go\r\n" }, { 'X', NULL } },
      C_EHLO C_TXN2 "BODY", "R B F421/4.4.2 M[421 4.4.2,550 5.1.1]!", SCS_DONE },
    { "RSET refused spoils the connection after the results", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "1" },
        { 'S', "250 ok\r\n550 5.1.1 no\r\n554 no\r\n" }, { 'S', "500 what\r\n" }, { 'E', "1" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nDATA\r\nRSET\r\n",
      "R F421/4.4.0 M[550 5.1.1] eMG_ECLOSED", SCS_DONE },
    { "second message while one is in flight", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "1" }, { 'E', "1" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nDATA\r\n", "R eMG_ESTATE", SCS_TXN },
    { "send before the greeting", SMTP_CLIENT_TLS_NONE,
      { { 'E', "1" } }, "", "eMG_ESTATE", SCS_GREETING },
    { "enhanced code of the wrong class is text", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'E', "1" },
        { 'S', "250 ok\r\n550 2.1.1 odd\r\n554 5.5.1 no\r\n" }, { 'S', "250 ok\r\n" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nDATA\r\nRSET\r\n", "R M[550]", SCS_READY },
    { "STARTTLS when offered, input after 220 dropped, EHLO again", SMTP_CLIENT_TLS_OPPORTUNISTIC,
      { { 'S', GREET }, { 'S', EHLO_TLS }, { 'S', "220 go ahead\r\n250 injected\r\n" }, { 'T', NULL },
        { 'S', "250-mx.test\r\n250 PIPELINING\r\n" } },
      C_EHLO "STARTTLS\r\n" C_EHLO, "T R", SCS_READY },
    { "TLS required, not offered", SMTP_CLIENT_TLS_REQUIRED,
      { { 'S', GREET }, { 'S', EHLO_PIPE } }, C_EHLO, "F421/4.7.0", SCS_DONE },
    { "TLS required, STARTTLS refused", SMTP_CLIENT_TLS_REQUIRED,
      { { 'S', GREET }, { 'S', EHLO_TLS }, { 'S', "454 4.7.0 no\r\n" } },
      C_EHLO "STARTTLS\r\n", "F421/4.7.0", SCS_DONE },
    { "opportunistic, STARTTLS refused: plaintext", SMTP_CLIENT_TLS_OPPORTUNISTIC,
      { { 'S', GREET }, { 'S', EHLO_TLS }, { 'S', "454 4.7.0 no\r\n" } },
      C_EHLO "STARTTLS\r\n", "R", SCS_READY },
    { "no STARTTLS with TLS off even when offered", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_TLS } }, C_EHLO, "R", SCS_READY },
    { "QUIT and its reply", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'Q', NULL }, { 'S', "221 bye\r\n" } },
      C_EHLO "QUIT\r\n", "R C", SCS_DONE },
    { "unsolicited reply while idle is ignored", SMTP_CLIENT_TLS_NONE,
      { { 'S', GREET }, { 'S', EHLO_PIPE }, { 'S', "250 spurious\r\n" }, { 'E', "1" } },
      C_EHLO "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nDATA\r\n", "R", SCS_TXN },
    { "too many lines in one reply", SMTP_CLIENT_TLS_NONE,
      { { 'S', "@250-x\r\n" } }, "", "F421/4.5.0", SCS_DONE },
};

static void append(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *dst, size_t cap, const char *fmt, ...)
{
    size_t l = strlen(dst);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + l, cap - l, fmt, ap);
    va_end(ap);
}

static void note_events(struct smtp_client_session *s, char *ev, size_t cap, char *wire, size_t wcap)
{
    unsigned e = s->events;
    s->events = 0;
    if (e & SCS_EV_STARTTLS)
        append(ev, cap, "%sT", *ev ? " " : "");
    if (e & SCS_EV_BODY) {
        append(ev, cap, "%sB", *ev ? " " : "");
        append(wire, wcap, "BODY"); /* the transport writes the content; not the session's bytes */
    }
    if (e & SCS_EV_FAILED)
        append(ev, cap, "%sF%d/%s", *ev ? " " : "", s->fail.code, s->fail.enhanced);
    if (e & SCS_EV_MSG_DONE) {
        size_t n;
        int st;
        struct smtp_reply *r = smtp_client_session_take_results(s, &n, &st);
        assert_non_null(r);
        append(ev, cap, "%sM[", *ev ? " " : "");
        for (size_t i = 0; i < n; i++)
            append(ev, cap, "%s%d%s%s", i ? "," : "", r[i].code, r[i].enhanced[0] ? " " : "", r[i].enhanced);
        append(ev, cap, "]%s", st ? "!" : "");
        free(r);
    }
    if (e & SCS_EV_CLOSED)
        append(ev, cap, "%sC", *ev ? " " : "");
    if (e & SCS_EV_READY)
        append(ev, cap, "%sR", *ev ? " " : "");
}

/* "@4200" = 4200 'x'; "@250-x\r\n" = that line 250 times. */
static void feed(struct smtp_client_session *s, const char *d)
{
    if (!strcmp(d, "@4200")) {
        char *b = malloc(4200);
        memset(b, 'x', 4200);
        smtp_client_session_input(s, b, 4200);
        free(b);
        return;
    }
    if (!strcmp(d, "@250-x\r\n")) {
        for (int i = 0; i < 250 && s->state != SCS_DONE; i++)
            smtp_client_session_input(s, "250-x\r\n", 7);
        return;
    }
    smtp_client_session_input(s, d, strlen(d));
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const struct scase *c = &cases[ci];
        struct smtp_client_session_cfg cfg = { .helo = "client.test", .peer = "mx.test [192.0.2.1]",
                                               .starttls = c->tls };
        struct smtp_client_session s;
        smtp_client_session_init(&s, &cfg);
        struct smtp_envelope envs[4];
        size_t nenv = 0;
        char wire[4096] = "", ev[512] = "";
        for (size_t k = 0; k < 12 && c->steps[k].kind; k++) {
            const struct step *st = &c->steps[k];
            switch (st->kind) {
            case 'S':
                feed(&s, st->data);
                break;
            case 'E': {
                assert_true(nenv < 4);
                struct smtp_envelope *e = &envs[nenv++];
                build_env(e, (enum envkind)(st->data[0] - '0'));
                int rc = smtp_client_session_send(&s, e);
                if (rc)
                    append(ev, sizeof ev, "%se%s", *ev ? " " : "", mg_errname(rc));
                break;
            }
            case 'T':
                smtp_client_session_tls_started(&s);
                break;
            case 'Q':
                smtp_client_session_quit(&s);
                break;
            case 'X':
                smtp_client_session_fail(&s, 421, "4.4.2", "lost");
                break;
            }
            append(wire, sizeof wire, "%.*s", (int)s.out.len, (const char *)s.out.data);
            mg_buf_reset(&s.out);
            note_events(&s, ev, sizeof ev, wire, sizeof wire);
        }
        if (strcmp(wire, c->wire))
            fail_msg("case \"%s\": wrote\n%s\nexpected\n%s", c->name, wire, c->wire);
        if (strcmp(ev, c->events))
            fail_msg("case \"%s\": events \"%s\", expected \"%s\"", c->name, ev, c->events);
        if ((int)s.state != c->final_state)
            fail_msg("case \"%s\": state %d, expected %d", c->name, (int)s.state, c->final_state);
        smtp_client_session_free(&s);
        for (size_t i = 0; i < nenv; i++)
            smtp_envelope_free(&envs[i]);
    }
}

/* EHLO keywords and the extension facts, including case and a SIZE without a number. */
static void test_ehlo_keywords(void **state)
{
    (void)state;
    struct smtp_client_session_cfg cfg = { .helo = "c.test", .peer = "p" };
    struct smtp_client_session s;
    smtp_client_session_init(&s, &cfg);
    const char *r = GREET "250-mx.test says hi\r\n250-pipelining\r\n250-SIZE\r\n250-Dsn\r\n"
                    "250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250-STARTTLS\r\n"
                    "250-XVERYLONGKEYWORDTHATISNOTANYTHINGWEKNOW and args\r\n250 ENHANCEDSTATUSCODES\r\n";
    smtp_client_session_input(&s, r, strlen(r));
    assert_true(s.events & SCS_EV_READY);
    assert_int_equal(s.ext.esmtp, 1);
    assert_int_equal(s.ext.pipelining, 1);
    assert_int_equal(s.ext.size_ext, 1);
    assert_int_equal(s.ext.max_size, 0);
    assert_int_equal(s.ext.dsn, 1);
    assert_int_equal(s.ext.eightbitmime, 1);
    assert_int_equal(s.ext.smtputf8, 1);
    assert_int_equal(s.ext.chunking, 1);
    assert_int_equal(s.ext.starttls_offered, 1);
    assert_string_equal(s.last.text, "ENHANCEDSTATUSCODES");
    smtp_client_session_free(&s);

    /* The greeting line's name is not a keyword. */
    smtp_client_session_init(&s, &cfg);
    r = GREET "250 PIPELINING\r\n";
    smtp_client_session_input(&s, r, strlen(r));
    assert_int_equal(s.ext.esmtp, 1);
    assert_int_equal(s.ext.pipelining, 0);
    smtp_client_session_free(&s);
}

/* Envelopes that must not reach the wire. */
static void test_bad_envelopes(void **state)
{
    (void)state;
    struct smtp_client_session_cfg cfg = { .helo = "c.test", .peer = "p" };
    struct smtp_client_session s;
    smtp_client_session_init(&s, &cfg);
    const char *r = GREET EHLO_DSN;
    smtp_client_session_input(&s, r, strlen(r));
    assert_int_equal(s.state, SCS_READY);
    mg_buf_reset(&s.out);
    static const struct {
        const char *name, *from, *rcpt, *orcpt_type;
    } bad[] = {
        { "space in recipient", "a@x.test", "b @y.test", NULL },
        { "CRLF in recipient", "a@x.test", "b@y.test\r\nRSET", NULL },
        { "bracket in sender", "a>@x.test", "b@y.test", NULL },
        { "empty recipient", "a@x.test", "", NULL },
        { "bad ORCPT type", "a@x.test", "b@y.test", "rfc 822" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct smtp_envelope e;
        smtp_envelope_init(&e);
        smtp_envelope_set_str(&e.mail_from, bad[i].from);
        smtp_envelope_add_rcpt(&e, bad[i].rcpt, 0, bad[i].orcpt_type, bad[i].orcpt_type ? "x@y" : NULL);
        if (smtp_client_session_send(&s, &e) != MG_EINVAL)
            fail_msg("%s: not refused", bad[i].name);
        smtp_envelope_free(&e);
    }
    struct smtp_envelope none;
    smtp_envelope_init(&none);
    assert_int_equal(smtp_client_session_send(&s, &none), MG_EINVAL);
    assert_int_equal(s.out.len, 0);
    assert_int_equal(s.state, SCS_READY);
    smtp_client_session_free(&s);
}

/* The longest legal RCPT: a 512-octet path and a 500-octet ORCPT that xtext triples. */
static void test_longest_rcpt(void **state)
{
    (void)state;
    struct smtp_client_session_cfg cfg = { .helo = "c.test", .peer = "p" };
    struct smtp_client_session s;
    smtp_client_session_init(&s, &cfg);
    const char *r = GREET EHLO_DSN;
    smtp_client_session_input(&s, r, strlen(r));
    assert_int_equal(s.state, SCS_READY);
    mg_buf_reset(&s.out);
    s.events = 0;
    char addr[513], orcpt[501];
    memset(addr, 'a', 512);
    memcpy(addr + 500, "@b.example.xy", 12);
    addr[512] = 0;
    memset(orcpt, '+', 500);
    orcpt[500] = 0;
    struct smtp_envelope e;
    smtp_envelope_init(&e);
    smtp_envelope_set_str(&e.mail_from, "a@x.test");
    smtp_envelope_add_rcpt(&e, addr, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY, "rfc822", orcpt);
    assert_int_equal(smtp_client_session_send(&s, &e), 0);
    assert_int_equal(s.state, SCS_TXN);
    assert_int_equal(s.events, 0);
    const char *rcpt = strstr((const char *)s.out.data, "RCPT TO:<");
    assert_non_null(rcpt);
    const char *end = strstr(rcpt, "\r\n");
    assert_non_null(end);
    /* 9 + 512 + 1 + " NOTIFY=SUCCESS,FAILURE,DELAY" + " ORCPT=rfc822;" + 1500 */
    assert_int_equal((size_t)(end - rcpt), 9 + 512 + 1 + 29 + 14 + 1500);
    smtp_client_session_free(&s);
    smtp_envelope_free(&e);
}

/* ---- dot-stuffing ---- */

struct dcase {
    const char *name;
    const char *in;
    size_t len;          /* 0 = strlen(in) */
    const char *out;
    size_t outlen;       /* 0 = strlen(out) */
};

static const struct dcase dcases[] = {
    { "empty", "", 0, ".\r\n", 0 },
    { "one char, no newline", "a", 0, "a\r\n.\r\n", 0 },
    { "CRLF line", "a\r\n", 0, "a\r\n.\r\n", 0 },
    { "bare LF line", "a\n", 0, "a\r\n.\r\n", 0 },
    { "only LF", "\n", 0, "\r\n.\r\n", 0 },
    { "only a dot", ".", 0, "..\r\n.\r\n", 0 },
    { "dot line CRLF", ".\r\n", 0, "..\r\n.\r\n", 0 },
    { "the terminator itself as content", "x\r\n.\r\ny", 0, "x\r\n..\r\ny\r\n.\r\n", 0 },
    { "mixed: dots, CRLF, bare LF, no final newline",
      ".a\r\n..b\nc\r\n.\n.\r\nend", 0, "..a\r\n...b\r\nc\r\n..\r\n..\r\nend\r\n.\r\n", 0 },
    { "dot not at the start of a line", "a.b\r\n a.\n", 0, "a.b\r\n a.\r\n.\r\n", 0 },
    { "bare CR is left alone", "a\rb\r.c", 0, "a\rb\r.c\r\n.\r\n", 0 },
    { "CR CR LF", "a\r\r\n.b", 0, "a\r\r\n..b\r\n.\r\n", 0 },
    { "consecutive bare LFs", "\n\n.\n", 0, "\r\n\r\n..\r\n.\r\n", 0 },
    { "NUL bytes pass through", "a\0.\n.\0", 6, "a\0.\r\n..\0\r\n.\r\n", 13 },
};

static void stuff(const void *in, size_t len, unsigned char **out, size_t *outlen, int *copied)
{
    struct smtp_dotstuff it;
    smtp_dotstuff_init(&it, in, len);
    size_t cap = 2 * len + 8, n = 0;
    unsigned char *o = malloc(cap);
    const void *b;
    size_t l;
    *copied = 0;
    while (smtp_dotstuff_next(&it, &b, &l)) {
        assert_true(l > 0);
        const unsigned char *p = b;
        /* A piece is either inside the content or a short insertion (never a copy of it). */
        int inside = len && p >= (const unsigned char *)in && p + l <= (const unsigned char *)in + len;
        if (!inside && l > 3)
            *copied = 1;
        assert_true(n + l <= cap);
        memcpy(o + n, p, l);
        n += l;
    }
    *out = o;
    *outlen = n;
}

static void test_dotstuff(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dcases / sizeof dcases[0]; i++) {
        const struct dcase *d = &dcases[i];
        size_t len = d->len ? d->len : strlen(d->in);
        size_t explen = d->outlen ? d->outlen : strlen(d->out);
        unsigned char *o;
        size_t n;
        int copied;
        stuff(d->in, len, &o, &n, &copied);
        if (n != explen || memcmp(o, d->out, n))
            fail_msg("case \"%s\": got %zu bytes \"%.*s\"", d->name, n, (int)n, (const char *)o);
        if (copied)
            fail_msg("case \"%s\": a piece was a copy of the content", d->name);
        free(o);
    }
}

/* A large message: mostly long runs, so a few pieces carry almost all bytes. */
static void test_dotstuff_large(void **state)
{
    (void)state;
    size_t len = 1u << 20;
    unsigned char *in = malloc(len);
    for (size_t i = 0; i < len; i++)
        in[i] = (i % 100 == 99) ? '\n' : (i % 100 == 0 && i % 300 == 0) ? '.' : 'x';
    struct smtp_dotstuff it;
    smtp_dotstuff_init(&it, in, len);
    const void *b;
    size_t l, total = 0, pieces = 0, lines = 0, dots = 0;
    while (smtp_dotstuff_next(&it, &b, &l)) {
        total += l;
        pieces++;
    }
    for (size_t i = 0; i < len; i++) {
        lines += in[i] == '\n';
        dots += (i == 0 || in[i - 1] == '\n') && in[i] == '.';
    }
    /* every bare LF gains a CR, every leading dot a dot, plus CRLF (no final LF) and ".\r\n" */
    int ends_lf = in[len - 1] == '\n';
    assert_int_equal(total, len + lines + dots + (ends_lf ? 0 : 2) + 3);
    assert_true(pieces <= 2 * (lines + dots) + 3);
    free(in);
}

int main(void)
{
    mg_log_set_level(MG_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_ehlo_keywords),
        cmocka_unit_test(test_bad_envelopes),
        cmocka_unit_test(test_longest_rcpt),
        cmocka_unit_test(test_dotstuff),
        cmocka_unit_test(test_dotstuff_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
