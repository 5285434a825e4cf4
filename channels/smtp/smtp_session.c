/* smtp_session: RFC 5321 server state machine (see smtp_session.h). Sequencing follows
 * RFC 5321 §4.1.4, pipelining RFC 2920, BDAT RFC 3030, STARTTLS RFC 3207, SMTPUTF8 RFC 6531.
 *
 * End of data is recognised only as CRLF "." CRLF. A lone LF ends a line for everything else
 * (and is stored as CRLF), but "." on a line reached or ended by a lone LF is content, not the
 * end: accepting LF.LF, LF.CRLF or CRLF.LF as the end is what makes "SMTP smuggling" possible
 * when the next hop disagrees about where the message ends. */
#include "smtp_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_err.h"
#include "mg_log.h"
#include "smtp_cmd.h"

static void reply(struct smtp_session *s, int code, const char *enh, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void log_reply(struct smtp_session *s, int code, const char *enh, const char *text)
{
    if (code < 400)
        return;
    char q[300];
    mg_info("event=smtp_reject session=%s client=%s cmd=%s code=%d enhanced=%s text=%s",
            s->env.session_id ? s->env.session_id : "-", s->env.client_addr ? s->env.client_addr : "-",
            s->last_verb ? s->last_verb : "-", code, enh && *enh ? enh : "-",
            mg_log_quote(text, q, sizeof q));
}

static void reply(struct smtp_session *s, int code, const char *enh, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* Never let a callback's text break the framing. */
    for (char *p = text; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    int rc = (enh && *enh) ? mg_buf_appendf(&s->out, "%d %s %s\r\n", code, enh, text)
                           : mg_buf_appendf(&s->out, "%d %s\r\n", code, text);
    if (rc)
        s->state = SMTP_SESSION_DONE;
    log_reply(s, code, enh, text);
}

static void reply_r(struct smtp_session *s, const struct smtp_reply *r)
{
    int code = r->code;
    /* A callback that returns something that is not a reply gets a safe temporary failure. */
    if (code < 200 || code > 599) {
        reply(s, 451, "4.3.0", "Local error in processing");
        return;
    }
    reply(s, code, r->enhanced, "%s", r->text[0] ? r->text : code < 300 ? "Ok" : "Refused");
    /* 421 means the service is closing the channel (RFC 5321 §3.8): do it. */
    if (code == 421)
        s->state = SMTP_SESSION_DONE;
}

void smtp_session_init(struct smtp_session *s, const struct smtp_session_cfg *cfg,
                       const char *session_id, const char *client_addr, int client_port)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    mg_buf_init(&s->in, 0);
    mg_buf_init(&s->out, 0);
    mg_buf_init(&s->content, 0);
    smtp_envelope_init(&s->env);
    /* Allocation failures here surface as NULL fields, which every user tolerates. */
    smtp_envelope_set_str(&s->env.session_id, session_id);
    smtp_envelope_set_str(&s->env.client_addr, client_addr);
    s->env.client_port = client_port;
    s->prev_crlf = 1;
}

void smtp_session_free(struct smtp_session *s)
{
    mg_buf_free(&s->in);
    mg_buf_free(&s->out);
    mg_buf_free(&s->content);
    smtp_envelope_free(&s->env);
}

void smtp_session_greet(struct smtp_session *s)
{
    reply(s, 220, NULL, "%s ESMTP mixgate", s->cfg->hostname);
}

static void reset_txn(struct smtp_session *s)
{
    smtp_envelope_reset_txn(&s->env);
    s->have_mail = 0;
    mg_buf_free(&s->content);
    mg_buf_init(&s->content, 0);
    s->content_started = s->too_big = s->bare_lf = s->nomem = 0;
    s->prev_crlf = 1;
    s->data_cont = 0;
    s->folded = 0;
    s->data_line_len = 0;
    s->bdat_used = 0;
}

static void count_error(struct smtp_session *s)
{
    unsigned max = s->cfg->max_errors ? s->cfg->max_errors : 20;
    if (++s->errors >= max && s->state != SMTP_SESSION_DONE) {
        reply(s, 421, "4.7.0", "%s Too many errors, closing connection", s->cfg->hostname);
        s->state = SMTP_SESSION_DONE;
    }
}

static size_t max_size(const struct smtp_session *s)
{
    return s->cfg->max_size ? s->cfg->max_size : (size_t)10 << 20;
}

/* Start the content with our Received: header (RFC 5321 §4.4) and size the buffer's limit so
 * the message itself may be max_size octets. */
static void start_content(struct smtp_session *s)
{
    const struct smtp_envelope *e = &s->env;
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *proto = e->smtputf8 ? (s->tls ? "UTF8SMTPS" : "UTF8SMTP")
                                    : e->esmtp ? (s->tls ? "ESMTPS" : "ESMTP") : "SMTP";
    const char *addr = e->client_addr ? e->client_addr : "unknown";
    int v6 = strchr(addr, ':') != NULL;
    mg_buf_reset(&s->content);
    s->content.limit = 0;
    int rc = mg_buf_appendf(&s->content, "Received: from %s ([%s%s])\r\n", e->helo ? e->helo : "unknown",
                            v6 ? "IPv6:" : "", addr);
    if (!rc && s->tls)
        rc = mg_buf_appendf(&s->content, "\t(using %s with cipher %s)\r\n",
                            e->tls_version ? e->tls_version : "TLS",
                            e->tls_cipher ? e->tls_cipher : "unknown");
    if (!rc)
        rc = mg_buf_appendf(&s->content, "\tby %s (mixgate) with %s id %s.%lu",
                            s->cfg->hostname, proto, e->session_id ? e->session_id : "-",
                            s->txn_count);
    /* "for" only with a single recipient: listing several would disclose them to each other. */
    if (!rc && e->nrcpts == 1)
        rc = mg_buf_appendf(&s->content, "\r\n\tfor <%s>", e->rcpts[0].addr);
    if (!rc)
        rc = mg_buf_appendf(&s->content, "; %s\r\n", date);
    if (rc)
        s->nomem = 1;
    s->content.limit = s->content.len + max_size(s);
    s->content_started = 1;
}

static void content_append(struct smtp_session *s, const void *p, size_t n)
{
    if (s->too_big || s->nomem)
        return;
    int rc = mg_buf_append(&s->content, p, n);
    if (rc == MG_ETOOBIG)
        s->too_big = 1;
    else if (rc)
        s->nomem = 1;
}

static size_t max_line(const struct smtp_session *s)
{
    return s->cfg->max_line ? s->cfg->max_line : SMTP_SESSION_MAX_DATA_LINE;
}

/* Hand the complete message over, or reply with the reason it cannot be. */
static void finish_message(struct smtp_session *s)
{
    if (s->too_big) {
        reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
    } else if (s->nomem) {
        reply(s, 451, "4.3.0", "Out of memory, try again later");
    } else if (s->bare_lf && s->cfg->bare_lf_reject) {
        reply(s, 554, "5.6.0", "Bare LF in message content; lines must end in CRLF");
    } else {
        struct smtp_envelope *m = calloc(1, sizeof *m);
        if (!m) {
            reply(s, 451, "4.3.0", "Out of memory, try again later");
            reset_txn(s);
            s->state = SMTP_SESSION_CMD;
            return;
        }
        const struct smtp_envelope *e = &s->env;
        /* Session facts are copied, the transaction is moved. */
        smtp_envelope_set_str(&m->session_id, e->session_id);
        smtp_envelope_set_str(&m->helo, e->helo);
        smtp_envelope_set_str(&m->client_addr, e->client_addr);
        smtp_envelope_set_str(&m->tls_version, e->tls_version);
        smtp_envelope_set_str(&m->tls_cipher, e->tls_cipher);
        m->esmtp = e->esmtp;
        m->client_port = e->client_port;
        m->tls = s->tls;
        m->mail_from = s->env.mail_from;
        s->env.mail_from = NULL;
        m->envid = s->env.envid;
        s->env.envid = NULL;
        m->size = e->size;
        m->body = e->body;
        m->smtputf8 = e->smtputf8;
        m->ret = e->ret;
        m->mt_priority = e->mt_priority;
        m->mt_priority_given = e->mt_priority_given;
        m->rcpts = s->env.rcpts;
        m->nrcpts = e->nrcpts;
        s->env.rcpts = NULL;
        s->env.nrcpts = 0;
        m->content = mg_buf_steal(&s->content, &m->content_len);
        char q[600];
        if (s->folded)
            mg_info("event=smtp_long_lines_folded session=%s lines=%lu max_line_length=%zu",
                    m->session_id ? m->session_id : "-", s->folded, max_line(s));
        mg_info("event=smtp_message session=%s client=%s from=<%s> nrcpt=%zu size=%zu tls=%s",
                m->session_id ? m->session_id : "-", m->client_addr ? m->client_addr : "-",
                mg_log_quote(m->mail_from ? m->mail_from : "", q, sizeof q), m->nrcpts,
                m->content_len, m->tls ? "yes" : "no");
        reset_txn(s);
        s->state = SMTP_SESSION_WAIT;
        s->cfg->on_message(s->cfg->hook_arg, s, m);
        return;
    }
    reset_txn(s);
    s->state = SMTP_SESSION_CMD;
}

void smtp_session_message_done(struct smtp_session *s, const struct smtp_reply *r)
{
    if (s->state != SMTP_SESSION_WAIT)
        return;
    s->last_verb = "DATA";
    if (!r)
        reply(s, 250, "2.0.0", "Ok: queued as %s.%lu", s->env.session_id ? s->env.session_id : "-",
              s->txn_count);
    else
        reply_r(s, r);
    if (s->state == SMTP_SESSION_WAIT)
        s->state = SMTP_SESSION_CMD;
    /* Resume any pipelined commands that arrived meanwhile (unless we are already inside the
     * processing loop, i.e. the callback answered synchronously). */
    smtp_session_input(s, NULL, 0);
}

void smtp_session_timeout(struct smtp_session *s)
{
    if (s->state == SMTP_SESSION_DONE || s->state == SMTP_SESSION_WAIT)
        return;
    reply(s, 421, "4.4.2", "%s Timeout exceeded, closing connection", s->cfg->hostname);
    s->state = SMTP_SESSION_DONE;
}

int smtp_session_in_content(const struct smtp_session *s)
{
    return s->state == SMTP_SESSION_DATA || s->state == SMTP_SESSION_BDAT;
}

void smtp_session_tls_started(struct smtp_session *s, const char *version, const char *cipher)
{
    if (!s->tls) {
        s->tls = 1;
        s->env.tls = 1;
        s->have_helo = 0;
        smtp_envelope_set_str(&s->env.helo, NULL);
        reset_txn(s);
    }
    if (version)
        smtp_envelope_set_str(&s->env.tls_version, version);
    if (cipher)
        smtp_envelope_set_str(&s->env.tls_cipher, cipher);
}

static void do_ehlo(struct smtp_session *s, const struct smtp_cmd *c)
{
    reset_txn(s);
    s->have_helo = 1;
    s->env.esmtp = c->verb == SMTP_VERB_EHLO;
    smtp_envelope_set_str(&s->env.helo, c->arg);
    if (!s->env.esmtp) {
        reply(s, 250, NULL, "%s", s->cfg->hostname);
        return;
    }
    struct mg_buf *o = &s->out;
    mg_buf_appendf(o, "250-%s Hello %s [%s]\r\n", s->cfg->hostname, c->arg,
                   s->env.client_addr ? s->env.client_addr : "unknown");
    mg_buf_appendf(o, "250-PIPELINING\r\n250-SIZE %zu\r\n250-8BITMIME\r\n", max_size(s));
    mg_buf_appendf(o, "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n");
    /* RFC 6710 with the STANAG 4406 policy: the queue's priorities are its six precedences
     * (the values count only from trusted clients, the daemon's submission decides) */
    mg_buf_appendf(o, "250-MT-PRIORITY STANAG4406\r\n");
    if (s->cfg->tls_available && !s->tls)
        mg_buf_appendf(o, "250-STARTTLS\r\n");
    if (mg_buf_appendf(o, "250-CHUNKING\r\n250 SMTPUTF8\r\n"))
        s->state = SMTP_SESSION_DONE;
}

static void do_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
    struct smtp_envelope *e = &s->env;
    if (!s->have_helo) {
        reply(s, 503, "5.5.1", "Send EHLO or HELO first");
        count_error(s);
        return;
    }
    if (s->have_mail) {
        reply(s, 503, "5.5.1", "Nested MAIL command");
        count_error(s);
        return;
    }
    if (s->cfg->require_tls && !s->tls) {
        reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
        return;
    }
    if (smtp_envelope_set_str(&e->mail_from, c->path) ||
        (c->envid_given && smtp_envelope_set_str(&e->envid, c->envid))) {
        reply(s, 451, "4.3.0", "Out of memory");
        reset_txn(s);
        return;
    }
    e->size = c->size;
    e->body = c->body;
    e->smtputf8 = c->smtputf8;
    e->ret = c->ret;
    e->mt_priority = c->mt_priority;
    e->mt_priority_given = c->mt_priority_given;
    if (s->cfg->cbs && s->cfg->cbs->mail) {
        struct smtp_reply r = { 0 };
        if (s->cfg->cbs->mail(s->cfg->cb_arg, e, &r)) {
            reply_r(s, &r);
            reset_txn(s);
            return;
        }
    }
    s->have_mail = 1;
    s->txn_count++;
    reply(s, 250, "2.1.0", "Ok");
}

static void do_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
    struct smtp_envelope *e = &s->env;
    if (!s->have_mail) {
        reply(s, 503, "5.5.1", "Need MAIL before RCPT");
        count_error(s);
        return;
    }
    size_t maxr = s->cfg->max_rcpts ? s->cfg->max_rcpts : 100;
    if (e->nrcpts >= maxr) {
        reply(s, 452, "4.5.3", "Too many recipients");
        return;
    }
    if (c->path_utf8 && !e->smtputf8) {
        reply(s, 553, "5.6.7", "Non-ASCII recipient address needs SMTPUTF8");
        return;
    }
    struct smtp_rcpt r = {
        .addr = (char *)c->path,
        .notify = c->notify,
        .orcpt_type = c->orcpt_given ? (char *)c->orcpt_type : NULL,
        .orcpt = c->orcpt_given ? (char *)c->orcpt : NULL,
    };
    if (s->cfg->cbs && s->cfg->cbs->rcpt) {
        struct smtp_reply rr = { 0 };
        if (s->cfg->cbs->rcpt(s->cfg->cb_arg, e, &r, &rr)) {
            reply_r(s, &rr);
            return;
        }
    }
    if (smtp_envelope_add_rcpt(e, r.addr, r.notify, r.orcpt_type, r.orcpt)) {
        reply(s, 451, "4.3.0", "Out of memory");
        return;
    }
    reply(s, 250, "2.1.5", "Ok");
}

static void bdat_chunk_done(struct smtp_session *s);

static void do_bdat(struct smtp_session *s, const struct smtp_cmd *c)
{
    s->bdat_remaining = c->chunk_size;
    s->bdat_last = c->last;
    s->bdat_discard = 0;
    memset(&s->bdat_err, 0, sizeof s->bdat_err);
    /* RFC 3030 §2: the chunk is read even when the command is refused. */
    struct smtp_reply *r = &s->bdat_err;
    if (!s->env.esmtp) {
        r->code = 503;
        snprintf(r->enhanced, sizeof r->enhanced, "5.5.1");
        snprintf(r->text, sizeof r->text, "BDAT needs EHLO");
    } else if (!s->have_mail || s->env.nrcpts == 0) {
        r->code = 503;
        snprintf(r->enhanced, sizeof r->enhanced, "5.5.1");
        snprintf(r->text, sizeof r->text, s->have_mail ? "No valid recipients" : "Need MAIL first");
    }
    if (r->code) {
        s->bdat_discard = 1;
        count_error(s);
    } else {
        if (!s->bdat_used) {
            s->bdat_used = 1;
            start_content(s);
        }
        /* Refuse early what cannot fit, so a huge declared chunk is never buffered. */
        if (!s->too_big && c->chunk_size > s->content.limit - s->content.len)
            s->too_big = 1;
    }
    if (s->state != SMTP_SESSION_DONE) {
        s->state = SMTP_SESSION_BDAT;
        if (s->bdat_remaining == 0) /* "BDAT 0 LAST" has no chunk to wait for */
            bdat_chunk_done(s);
    }
}

static void bdat_chunk_done(struct smtp_session *s)
{
    s->state = SMTP_SESSION_CMD;
    s->last_verb = "BDAT";
    if (s->bdat_discard) {
        reply_r(s, &s->bdat_err);
        return;
    }
    if (s->too_big) {
        reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
        reset_txn(s);
        return;
    }
    if (s->nomem) {
        reply(s, 451, "4.3.0", "Out of memory, try again later");
        reset_txn(s);
        return;
    }
    if (s->bdat_last) {
        finish_message(s);
        return;
    }
    reply(s, 250, "2.0.0", "%zu octets received", s->content.len);
}

static void do_command(struct smtp_session *s, const char *line, size_t len)
{
    struct smtp_cmd c;
    struct smtp_reply err;
    unsigned allow = s->env.esmtp ? (SMTP_CMD_ALLOW_DSN | SMTP_CMD_ALLOW_SMTPUTF8 |
                                     SMTP_CMD_ALLOW_8BITMIME | SMTP_CMD_ALLOW_SIZE |
                                     SMTP_CMD_ALLOW_MT_PRIORITY)
                                  : 0;
    if (smtp_cmd_parse(line, len, allow, max_size(s), &c, &err)) {
        s->last_verb = "?";
        reply_r(s, &err);
        count_error(s);
        return;
    }
    s->last_verb = smtp_cmd_verb_name(c.verb);
    switch (c.verb) {
    case SMTP_VERB_HELO:
    case SMTP_VERB_EHLO:
        do_ehlo(s, &c);
        break;
    case SMTP_VERB_MAIL:
        do_mail(s, &c);
        break;
    case SMTP_VERB_RCPT:
        do_rcpt(s, &c);
        break;
    case SMTP_VERB_DATA:
        if (!s->have_mail) {
            reply(s, 503, "5.5.1", "Need MAIL command");
            count_error(s);
        } else if (s->bdat_used) {
            reply(s, 503, "5.5.1", "DATA not allowed after BDAT");
            count_error(s);
        } else if (s->env.nrcpts == 0) {
            reply(s, 554, "5.5.1", "No valid recipients");
        } else {
            reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
            start_content(s);
            s->state = SMTP_SESSION_DATA;
        }
        break;
    case SMTP_VERB_BDAT:
        do_bdat(s, &c);
        break;
    case SMTP_VERB_RSET:
        reset_txn(s);
        reply(s, 250, "2.0.0", "Ok");
        break;
    case SMTP_VERB_NOOP:
        reply(s, 250, "2.0.0", "Ok");
        break;
    case SMTP_VERB_QUIT:
        reply(s, 221, "2.0.0", "%s closing connection", s->cfg->hostname);
        s->state = SMTP_SESSION_DONE;
        break;
    case SMTP_VERB_VRFY:
        reply(s, 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
        break;
    case SMTP_VERB_EXPN:
        reply(s, 502, "5.5.1", "EXPN not supported");
        break;
    case SMTP_VERB_HELP:
        reply(s, 214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP%s",
              s->cfg->tls_available ? " STARTTLS" : "");
        break;
    case SMTP_VERB_STARTTLS:
        if (!s->cfg->tls_available) {
            reply(s, 454, "4.7.0", "TLS not available");
        } else if (s->tls) {
            reply(s, 503, "5.5.1", "TLS already active");
            count_error(s);
        } else if (s->have_mail) {
            reply(s, 503, "5.5.1", "STARTTLS not allowed inside a transaction");
            count_error(s);
        } else {
            reply(s, 220, "2.0.0", "Ready to start TLS");
            /* RFC 3207 §4.2 and the 2011 STARTTLS injection bugs: anything the client
             * pipelined after STARTTLS in plaintext is dropped, never executed under TLS. */
            s->in_off = s->in.len;
            s->want_starttls = 1;
        }
        break;
    case SMTP_VERB_UNKNOWN:
        break;
    }
}

/* Content of one line (or of a piece of one): folded into pieces of at most max_line octets,
 * each ended by CRLF. Real mailers send longer lines than RFC 5321 allows; refusing the whole
 * message for one of them loses mail, so the line is kept, split (as Postfix does). */
static void content_folded(struct smtp_session *s, const char *p, size_t n)
{
    size_t lim = max_line(s);
    while (n > lim) {
        content_append(s, p, lim);
        content_append(s, "\r\n", 2);
        s->folded++;
        p += lim;
        n -= lim;
    }
    content_append(s, p, n);
    content_append(s, "\r\n", 2);
}

/* One DATA line, terminator excluded; crlf tells how it ended. Returns 1 at end of data. */
static int data_line(struct smtp_session *s, const char *p, size_t n, int crlf)
{
    if (crlf && s->prev_crlf && n == 1 && p[0] == '.' && !s->data_cont)
        return 1;
    if (!crlf)
        s->bare_lf = 1;
    if (n && p[0] == '.' && !s->data_cont) { /* dot-stuffing, RFC 5321 §4.5.2 */
        p++;
        n--;
    }
    content_folded(s, p, n);
    s->data_cont = 0;
    s->prev_crlf = crlf;
    return 0;
}

static void process(struct smtp_session *s)
{
    while (s->state != SMTP_SESSION_DONE && s->state != SMTP_SESSION_WAIT && !s->want_starttls) {
        size_t avail = s->in.len - s->in_off;
        if (!avail || !s->in.data)
            break;
        const char *base = (const char *)s->in.data + s->in_off;
        if (s->state == SMTP_SESSION_BDAT) {
            size_t take = avail < s->bdat_remaining ? avail : s->bdat_remaining;
            if (!s->bdat_discard)
                content_append(s, base, take);
            s->in_off += take;
            s->bdat_remaining -= take;
            if (s->bdat_remaining == 0)
                bdat_chunk_done(s);
            continue;
        }
        const char *lf = memchr(base, '\n', avail);
        if (s->state == SMTP_SESSION_DATA) {
            if (!lf) {
                /* A partial line is kept only up to the limit (plus a CR that may precede the
                 * LF): beyond it a piece is folded off, so an endless line never grows the
                 * buffer and is never refused. */
                size_t lim = max_line(s);
                if (avail <= lim + 1)
                    break;
                const char *p = base;
                size_t take = lim;
                if (!s->data_cont && p[0] == '.') { /* dot-stuffing applies to the line's start */
                    p++;
                    s->in_off++;
                }
                content_append(s, p, take);
                content_append(s, "\r\n", 2);
                s->folded++;
                s->in_off += take;
                s->data_cont = 1;
                s->prev_crlf = 0;
                continue;
            }
            size_t n = (size_t)(lf - base);
            int crlf = n > 0 && base[n - 1] == '\r';
            s->in_off += n + 1;
            if (data_line(s, base, crlf ? n - 1 : n, crlf)) {
                s->last_verb = "DATA";
                finish_message(s);
            }
            continue;
        }
        /* Command state. */
        if (!lf) {
            if (avail > SMTP_CMD_MAX_LINE + 1) {
                s->skip_line = 1;
                s->in_off += avail;
            }
            break;
        }
        size_t n = (size_t)(lf - base);
        s->in_off += n + 1;
        s->commands++;
        if (s->skip_line || n > SMTP_CMD_MAX_LINE + 1) {
            s->skip_line = 0;
            s->last_verb = "?";
            reply(s, 500, "5.5.2", "Line too long");
            count_error(s);
            continue;
        }
        int crlf = n > 0 && base[n - 1] == '\r';
        if (!crlf && s->cfg->bare_lf_reject) {
            s->last_verb = "?";
            reply(s, 500, "5.5.2", "Bare LF in command; lines must end in CRLF");
            count_error(s);
            continue;
        }
        do_command(s, base, crlf ? n - 1 : n);
    }
    /* Compact the input buffer once per batch rather than per line. */
    if (s->in_off) {
        mg_buf_consume(&s->in, s->in_off);
        s->in_off = 0;
    }
}

int smtp_session_input(struct smtp_session *s, const void *data, size_t len)
{
    if (s->state == SMTP_SESSION_DONE)
        return 0;
    if (len) {
        int rc;
        if (s->in_off && s->in_off == s->in.len) {
            mg_buf_reset(&s->in);
            s->in_off = 0;
        }
        if ((rc = mg_buf_append(&s->in, data, len))) {
            reply(s, 421, "4.3.0", "Out of memory, closing connection");
            s->state = SMTP_SESSION_DONE;
            return rc;
        }
    }
    if (s->processing)
        return 0;
    s->processing = 1;
    process(s);
    s->processing = 0;
    return 0;
}
