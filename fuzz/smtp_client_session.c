/* fuzz target smtp_client_session: the SMTP client protocol fed a hostile peer's replies (no
 * sockets). The first input byte picks the options: STARTTLS mode (bits 0-1), which message
 * to send (bits 2-4: DSN parameters, SMTPUTF8, 8BITMIME, several recipients), whether to QUIT
 * after the first message (bit 5) and a small reply-line limit (bit 6). The rest is split into
 * reads at every 0xFF byte. The harness acts like the transport: it starts "TLS" when asked,
 * walks the dot-stuffed content when asked, sends a message whenever the session is ready
 * (up to three) and takes every result; it aborts when the session breaks its own contract. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_log.h"
#include "smtp_client_session.h"

static void build_env(struct smtp_envelope *e, uint8_t opt)
{
    smtp_envelope_init(e);
    smtp_envelope_set_str(&e->mail_from, (opt & 8) ? "s\xc3\xa9nder@x.test" : "a@x.test");
    unsigned notify = (opt & 4) ? SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE : 0;
    smtp_envelope_add_rcpt(e, "b@y.test", notify, (opt & 4) ? "rfc822" : NULL, (opt & 4) ? "b+1@y.test" : NULL);
    if (opt & 16) {
        smtp_envelope_add_rcpt(e, "c@y.test", notify, NULL, NULL);
        smtp_envelope_add_rcpt(e, "d@y.test", 0, NULL, NULL);
    }
    if (opt & 4) {
        e->ret = SMTP_RET_FULL;
        smtp_envelope_set_str(&e->envid, "env=1");
    }
    if (opt & 8)
        e->body = SMTP_BODY_8BITMIME;
    static const char content[] = "Subject: x\r\n\r\n.dot\nbare\r\n..\r\nno end";
    e->content = malloc(sizeof content - 1);
    if (e->content) {
        memcpy(e->content, content, sizeof content - 1);
        e->content_len = sizeof content - 1;
    }
}

struct fz {
    struct smtp_client_session s;
    struct smtp_envelope env;
    int have_env, sent, quit_after_first;
    uint8_t opt;
};

static void drive(struct fz *f)
{
    struct smtp_client_session *s = &f->s;
    for (int guard = 0; guard < 8 && s->events; guard++) {
        unsigned ev = s->events;
        s->events = 0;
        mg_buf_reset(&s->out); /* the transport wrote the commands */
        if (ev & SCS_EV_STARTTLS) {
            if (s->state != SCS_TLS)
                abort();
            smtp_client_session_tls_started(s);
        }
        if (ev & SCS_EV_BODY) {
            /* The same read may already hold the final reply or a failure after the 354, so
             * the state may have moved on; the envelope must still be there. */
            if (!s->env)
                abort();
            struct smtp_dotstuff it;
            smtp_dotstuff_init(&it, s->env->content, s->env->content_len);
            const void *b;
            size_t l, total = 0;
            while (smtp_dotstuff_next(&it, &b, &l))
                total += l;
            if (total < s->env->content_len + 3)
                abort();
        }
        if (ev & SCS_EV_MSG_DONE) {
            size_t n;
            int st;
            struct smtp_reply *r = smtp_client_session_take_results(s, &n, &st);
            if (!r || n != f->env.nrcpts)
                abort();
            for (size_t i = 0; i < n; i++)
                if (r[i].code < 200 || r[i].code > 599)
                    abort(); /* every recipient gets a real reply */
            free(r);
            smtp_envelope_free(&f->env);
            f->have_env = 0;
            if (f->quit_after_first)
                smtp_client_session_quit(s);
        }
        if (smtp_client_session_usable(s) && s->state == SCS_READY && !f->have_env && f->sent < 3 &&
            !(f->quit_after_first && f->sent)) {
            build_env(&f->env, f->opt);
            f->have_env = 1;
            f->sent++;
            if (smtp_client_session_send(s, &f->env)) {
                smtp_envelope_free(&f->env);
                f->have_env = 0;
            }
        }
    }
    mg_buf_reset(&s->out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    mg_log_set_level(MG_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    struct fz f;
    memset(&f, 0, sizeof f);
    f.opt = opt;
    f.quit_after_first = (opt >> 5) & 1;
    struct smtp_client_session_cfg cfg = {
        .helo = "client.test",
        .peer = "mx.test [192.0.2.1]",
        .starttls = (enum smtp_client_tls)(opt & 3) > SMTP_CLIENT_TLS_REQUIRED ? SMTP_CLIENT_TLS_REQUIRED
                                                                               : (enum smtp_client_tls)(opt & 3),
        .max_reply_lines = (opt & 64) ? 3 : 0,
    };
    smtp_client_session_init(&f.s, &cfg);
    size_t start = 1;
    for (size_t i = 1; i <= size; i++) {
        if (i == size || data[i] == 0xFF) {
            smtp_client_session_input(&f.s, data + start, i - start);
            drive(&f);
            start = i + 1;
        }
    }
    /* The transport gives up (timeout): whatever is outstanding must be reported. */
    smtp_client_session_fail(&f.s, 421, "4.4.2", "timeout");
    drive(&f);
    if (f.have_env && f.s.env)
        abort(); /* a message in flight was not reported after a failure */
    smtp_client_session_free(&f.s);
    if (f.have_env)
        smtp_envelope_free(&f.env);
    return 0;
}
