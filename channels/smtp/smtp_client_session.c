/* smtp_client_session: the SMTP client protocol without I/O (see smtp_client_session.h).
 * Sequencing follows RFC 5321 §4.1.4 and §4.3, pipelining RFC 2920, STARTTLS RFC 3207, DSN
 * RFC 3461, 8BITMIME RFC 6152, SMTPUTF8 RFC 6531, SIZE RFC 1870. Replies come from the peer,
 * i.e. from outside: every length is checked and nothing here aborts. */
#include "smtp_client_session.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "smtp_cmd.h"

/* ---------------------------------------------------------------- failure and results */

static void msg_done(struct smtp_client_session *s, int status)
{
    if (!s->env || s->results_final)
        return;
    s->results_final = 1;
    s->msg_status = status;
    s->events |= SCS_EV_MSG_DONE;
}

void smtp_client_session_fail(struct smtp_client_session *s, int code, const char *enh, const char *text)
{
    if (s->state == SCS_DONE)
        return;
    s->state = SCS_DONE;
    smtp_reply_set(&s->fail, code, enh, text);
    s->events |= SCS_EV_FAILED;
    if (s->env && !s->results_final) {
        /* Connection-level failure: everything still outstanding is temporary. */
        int c = code >= 500 ? 421 : code;
        const char *e = enh && enh[0] == '5' ? "4.4.2" : enh;
        for (size_t i = 0; i < s->env->nrcpts; i++) {
            struct smtp_reply *r = &s->results[i];
            if (r->code == 0 || (r->code >= 200 && r->code < 300) || s->accepted[i])
                smtp_reply_set(r, c, e, text);
        }
        msg_done(s, MG_ECLOSED);
    }
}

static void failf(struct smtp_client_session *s, int code, const char *enh, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void failf(struct smtp_client_session *s, int code, const char *enh, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    smtp_client_session_fail(s, code, enh, text);
}

static void sendf(struct smtp_client_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(struct smtp_client_session *s, const char *fmt, ...)
{
    /* The longest command: RCPT with a 512-octet path, NOTIFY, and a 500-octet ORCPT that
     * xtext triples: about 2.1 KB. */
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) {
        failf(s, 421, "4.3.0", "Command too long");
        return;
    }
    if (mg_buf_append(&s->out, buf, (size_t)n))
        failf(s, 421, "4.3.0", "Out of memory");
}

/* ---------------------------------------------------------------- replies */

/* Enhanced status "class.subject.detail" (RFC 3463) at the start of text; taken only when its
 * class matches the reply's first digit. The rest (after spaces) is the text, cut to fit. */
static void parse_enhanced(const char *text, struct smtp_reply *r)
{
    const char *p = text;
    int parts = 0;
    size_t i = 0;
    while (parts < 3) {
        size_t d = 0;
        while (isdigit((unsigned char)p[i]) && d < 3)
            i++, d++;
        if (!d)
            break;
        parts++;
        if (parts < 3) {
            if (p[i] != '.')
                break;
            i++;
        }
    }
    if (parts == 3 && (p[i] == ' ' || p[i] == 0) && i < sizeof r->enhanced && p[0] == '0' + r->code / 100) {
        memcpy(r->enhanced, p, i);
        r->enhanced[i] = 0;
        p += i;
        while (*p == ' ')
            p++;
    } else {
        r->enhanced[0] = 0;
    }
    size_t tl = strlen(p);
    if (tl >= sizeof r->text)
        tl = sizeof r->text - 1; /* long reply texts are cut, the code is what matters */
    memcpy(r->text, p, tl);
    r->text[tl] = 0;
}

/* The EHLO reply's lines after the first, one keyword each (RFC 5321 §4.1.1.1). */
static void ehlo_keywords(struct smtp_client_session *s)
{
    struct smtp_client_ext *x = &s->ext;
    memset(x, 0, sizeof *x);
    x->esmtp = 1;
    char *save = NULL;
    char *lines = (char *)s->reply_text.data;
    int first = 1;
    for (char *l = lines ? strtok_r(lines, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        if (first) { /* the first line names the server, not an extension */
            first = 0;
            continue;
        }
        char kw[32];
        size_t k = 0;
        while (l[k] && l[k] != ' ' && k < sizeof kw - 1) {
            kw[k] = (char)toupper((unsigned char)l[k]);
            k++;
        }
        kw[k] = 0;
        if (!strcmp(kw, "PIPELINING"))
            x->pipelining = 1;
        else if (!strcmp(kw, "SIZE")) {
            x->size_ext = 1;
            x->max_size = (size_t)strtoull(l + k, NULL, 10);
        } else if (!strcmp(kw, "DSN"))
            x->dsn = 1;
        else if (!strcmp(kw, "8BITMIME"))
            x->eightbitmime = 1;
        else if (!strcmp(kw, "SMTPUTF8"))
            x->smtputf8 = 1;
        else if (!strcmp(kw, "CHUNKING"))
            x->chunking = 1;
        else if (!strcmp(kw, "STARTTLS"))
            x->starttls_offered = 1;
        else if (!strcmp(kw, "MT-PRIORITY"))
            x->mt_priority = 1;
    }
}

static void ready(struct smtp_client_session *s)
{
    s->state = SCS_READY;
    s->events |= SCS_EV_READY;
}

static void after_ehlo(struct smtp_client_session *s)
{
    int want_tls = s->cfg.starttls != SMTP_CLIENT_TLS_NONE && !s->tls && !s->cfg.no_tls;
    if (want_tls && s->ext.starttls_offered) {
        s->state = SCS_STARTTLS;
        sendf(s, "STARTTLS\r\n");
        return;
    }
    if (s->cfg.starttls == SMTP_CLIENT_TLS_REQUIRED && !s->tls) {
        failf(s, 421, "4.7.0", "TLS required but %s does not offer STARTTLS", s->cfg.peer);
        return;
    }
    ready(s);
}

/* ---------------------------------------------------------------- transaction */

static void send_mail_cmd(struct smtp_client_session *s)
{
    const struct smtp_envelope *e = s->env;
    char params[600] = "";
    size_t o = 0;
    const struct smtp_client_ext *x = &s->ext;
    if (x->size_ext)
        o += (size_t)snprintf(params + o, sizeof params - o, " SIZE=%zu", e->content_len);
    if (x->eightbitmime && (e->body == SMTP_BODY_8BITMIME || e->body == SMTP_BODY_7BIT))
        o += (size_t)snprintf(params + o, sizeof params - o, " BODY=%s",
                              e->body == SMTP_BODY_8BITMIME ? "8BITMIME" : "7BIT");
    if (e->smtputf8 && x->smtputf8)
        o += (size_t)snprintf(params + o, sizeof params - o, " SMTPUTF8");
    if (x->dsn && e->ret != SMTP_RET_NONE)
        o += (size_t)snprintf(params + o, sizeof params - o, " RET=%s", e->ret == SMTP_RET_FULL ? "FULL" : "HDRS");
    if (x->dsn && e->envid) {
        char xt[400];
        if (smtp_cmd_xtext_encode(e->envid, xt, sizeof xt) >= 0)
            o += (size_t)snprintf(params + o, sizeof params - o, " ENVID=%s", xt);
    }
    /* RFC 6710: the message's priority travels on to a server that takes it */
    if (x->mt_priority && e->mt_priority_given && e->mt_priority >= -9 && e->mt_priority <= 9)
        o += (size_t)snprintf(params + o, sizeof params - o, " MT-PRIORITY=%d", e->mt_priority);
    (void)o;
    sendf(s, "MAIL FROM:<%s>%s\r\n", e->mail_from ? e->mail_from : "", params);
}

static void send_rcpt_cmd(struct smtp_client_session *s, size_t i)
{
    const struct smtp_rcpt *r = &s->env->rcpts[i];
    char params[1700] = "";
    size_t o = 0;
    if (s->ext.dsn && r->notify) {
        static const struct {
            unsigned bit;
            const char *name;
        } nm[] = { { SMTP_NOTIFY_NEVER, "NEVER" }, { SMTP_NOTIFY_SUCCESS, "SUCCESS" },
                   { SMTP_NOTIFY_FAILURE, "FAILURE" }, { SMTP_NOTIFY_DELAY, "DELAY" } };
        o += (size_t)snprintf(params + o, sizeof params - o, " NOTIFY=");
        int first = 1;
        for (size_t k = 0; k < 4; k++)
            if (r->notify & nm[k].bit) {
                o += (size_t)snprintf(params + o, sizeof params - o, "%s%s", first ? "" : ",", nm[k].name);
                first = 0;
            }
    }
    if (s->ext.dsn && r->orcpt && r->orcpt_type) {
        char xt[1600];
        if (smtp_cmd_xtext_encode(r->orcpt, xt, sizeof xt) >= 0)
            o += (size_t)snprintf(params + o, sizeof params - o, " ORCPT=%s;%s", r->orcpt_type, xt);
    }
    (void)o;
    sendf(s, "RCPT TO:<%s>%s\r\n", r->addr, params);
}

/* Send the next command(s) of the group: all of them with PIPELINING, else one. */
static void send_txn(struct smtp_client_session *s)
{
    size_t from = s->next_expect; /* commands before this index have been answered */
    size_t last = s->ext.pipelining ? s->nexpect - 1 : from;
    for (size_t k = from; k <= last && k < s->nexpect && s->state != SCS_DONE; k++) {
        switch (s->expects[k]) {
        case SCS_EX_MAIL:
            send_mail_cmd(s);
            break;
        case SCS_EX_RCPT:
            send_rcpt_cmd(s, k - 1);
            break;
        case SCS_EX_DATA:
            sendf(s, "DATA\r\n");
            break;
        }
    }
}

static void txn_finished(struct smtp_client_session *s)
{
    /* A transaction that did not end with the reply to the content leaves MAIL open on the
     * server (or might): RSET before the next one. */
    if (!s->data_ok && s->mail_ok) {
        s->state = SCS_RSET;
        sendf(s, "RSET\r\n");
        return;
    }
    s->state = SCS_READY;
    msg_done(s, 0);
}

/* One reply of the group MAIL, RCPT..., DATA. */
static void txn_reply(struct smtp_client_session *s, const struct smtp_reply *r)
{
    const struct smtp_envelope *e = s->env;
    if (s->next_expect >= s->nexpect) /* cannot happen: DATA's reply leaves SCS_TXN */
        return;
    enum smtp_client_expect ex = s->expects[s->next_expect++];
    switch (ex) {
    case SCS_EX_MAIL:
        s->mail_ok = r->code >= 200 && r->code < 300;
        if (!s->mail_ok)
            for (size_t i = 0; i < e->nrcpts; i++)
                s->results[i] = *r;
        break;
    case SCS_EX_RCPT: {
        size_t i = s->rcpt_next++;
        if (s->mail_ok && i < e->nrcpts) {
            s->results[i] = *r;
            if (r->code >= 200 && r->code < 300) {
                s->accepted[i] = 1;
                s->any_accepted = 1;
            }
        }
        break;
    }
    case SCS_EX_DATA:
        if (r->code == 354 && s->mail_ok && s->any_accepted) {
            s->state = SCS_BODY;
            s->events |= SCS_EV_BODY;
            return;
        }
        if (r->code == 354) {
            /* The server wants content although no recipient is left: end it empty. */
            sendf(s, ".\r\n");
            s->state = SCS_BODY;
            s->data_ok = 0;
            return;
        }
        for (size_t i = 0; i < e->nrcpts; i++)
            if (s->accepted[i])
                s->results[i] = *r;
        txn_finished(s);
        return;
    }
    if (s->next_expect < s->nexpect && !s->ext.pipelining) {
        /* Without PIPELINING the next command goes only now, and only if it still matters. */
        if (!s->mail_ok) {
            s->state = SCS_READY;
            msg_done(s, 0);
            return;
        }
        if (s->expects[s->next_expect] == SCS_EX_DATA && !s->any_accepted) {
            txn_finished(s);
            return;
        }
        send_txn(s);
    }
}

static void handle_reply(struct smtp_client_session *s)
{
    const struct smtp_reply *r = &s->last;
    switch (s->state) {
    case SCS_GREETING:
        if (r->code != 220) {
            failf(s, r->code >= 400 ? r->code : 421, r->enhanced[0] ? r->enhanced : "4.4.0",
                  "Greeting from %s: %d %s", s->cfg.peer, r->code, r->text);
            return;
        }
        s->state = SCS_EHLO;
        sendf(s, "EHLO %s\r\n", s->cfg.helo);
        return;
    case SCS_EHLO:
        if (r->code == 250) {
            ehlo_keywords(s);
            after_ehlo(s);
            return;
        }
        if (r->code >= 500 && !s->tls) { /* RFC 5321 §3.2: fall back to HELO */
            s->state = SCS_HELO;
            sendf(s, "HELO %s\r\n", s->cfg.helo);
            return;
        }
        failf(s, r->code >= 400 ? r->code : 421, "4.4.0", "EHLO refused: %d %s", r->code, r->text);
        return;
    case SCS_HELO:
        if (r->code != 250) {
            failf(s, r->code >= 400 ? r->code : 421, "4.4.0", "HELO refused: %d %s", r->code, r->text);
            return;
        }
        memset(&s->ext, 0, sizeof s->ext);
        after_ehlo(s);
        return;
    case SCS_STARTTLS:
        if (r->code == 220) {
            s->state = SCS_TLS;
            s->events |= SCS_EV_STARTTLS;
            return;
        }
        if (s->cfg.starttls == SMTP_CLIENT_TLS_REQUIRED) {
            failf(s, 421, "4.7.0", "STARTTLS refused: %d %s", r->code, r->text);
            return;
        }
        s->cfg.no_tls = 1;
        ready(s);
        return;
    case SCS_TXN:
        txn_reply(s, r);
        return;
    case SCS_BODY: {
        const struct smtp_envelope *e = s->env;
        s->data_ok = s->any_accepted;
        for (size_t i = 0; i < e->nrcpts; i++)
            if (s->accepted[i])
                s->results[i] = *r;
        s->state = SCS_READY;
        msg_done(s, 0);
        return;
    }
    case SCS_RSET:
        if (r->code != 250) {
            struct smtp_reply keep = *r;
            msg_done(s, 0); /* the results stand; only the connection is spoilt */
            failf(s, 421, "4.4.0", "RSET refused: %d %s", keep.code, keep.text);
            return;
        }
        s->state = SCS_READY;
        msg_done(s, 0);
        return;
    case SCS_QUIT:
        s->state = SCS_DONE;
        s->events |= SCS_EV_CLOSED;
        return;
    default: /* a reply nobody asked for (READY, TLS, DONE): ignored */
        return;
    }
}

static void reset_reply(struct smtp_client_session *s)
{
    mg_buf_reset(&s->reply_text);
    s->reply_lines = 0;
}

void smtp_client_session_input(struct smtp_client_session *s, const void *data, size_t len)
{
    if (s->state == SCS_DONE || s->state == SCS_TLS)
        return; /* nothing may arrive in plaintext during the handshake (RFC 3207) */
    if (mg_buf_append(&s->in, data, len)) {
        failf(s, 421, "4.3.0", "Input too large from %s", s->cfg.peer);
        return;
    }
    size_t off = 0;
    size_t maxl = s->cfg.max_reply_lines ? s->cfg.max_reply_lines : 200;
    while (s->state != SCS_DONE) {
        const char *base = (const char *)s->in.data + off;
        size_t avail = s->in.len - off;
        const char *lf = avail ? memchr(base, '\n', avail) : NULL;
        if (!lf) {
            if (avail > SMTP_CLIENT_SESSION_MAX_LINE)
                failf(s, 421, "4.5.0", "Reply line too long from %s", s->cfg.peer);
            break;
        }
        size_t n = (size_t)(lf - base);
        off += n + 1;
        if (n && base[n - 1] == '\r')
            n--;
        if (n > SMTP_CLIENT_SESSION_MAX_LINE) {
            failf(s, 421, "4.5.0", "Reply line too long from %s", s->cfg.peer);
            break;
        }
        if (n < 3 || !isdigit((unsigned char)base[0]) || !isdigit((unsigned char)base[1]) ||
            !isdigit((unsigned char)base[2]) || (n > 3 && base[3] != ' ' && base[3] != '-') ||
            base[0] < '2' || base[0] > '5') {
            failf(s, 421, "4.5.0", "Malformed reply from %s", s->cfg.peer);
            break;
        }
        if (++s->reply_lines > maxl) {
            failf(s, 421, "4.5.0", "Reply too long from %s", s->cfg.peer);
            break;
        }
        const char *text = n > 4 ? base + 4 : "";
        size_t tl = n > 4 ? n - 4 : 0;
        if (mg_buf_append(&s->reply_text, text, tl) || mg_buf_append(&s->reply_text, "\n", 1)) {
            failf(s, 421, "4.3.0", "Reply too large from %s", s->cfg.peer);
            break;
        }
        if (n > 3 && base[3] == '-')
            continue;
        /* The code of the last line counts (RFC 5321 §4.2.1 says all lines carry the same). */
        s->last.code = (base[0] - '0') * 100 + (base[1] - '0') * 10 + (base[2] - '0');
        char tbuf[300];
        snprintf(tbuf, sizeof tbuf, "%.*s", (int)(tl < 299 ? tl : 299), text);
        parse_enhanced(tbuf, &s->last);
        /* 421 at any point means the server is closing (RFC 5321 §3.8). */
        if (s->last.code == 421 && s->state != SCS_QUIT) {
            reset_reply(s);
            smtp_client_session_fail(s, 421, s->last.enhanced[0] ? s->last.enhanced : "4.4.2", s->last.text);
            break;
        }
        handle_reply(s);
        reset_reply(s);
        if (s->state == SCS_TLS) { /* the rest, if any, was injected before the handshake */
            off = s->in.len;
            break;
        }
    }
    if (s->state == SCS_DONE) {
        mg_buf_reset(&s->in);
        reset_reply(s);
        return;
    }
    mg_buf_consume(&s->in, off > s->in.len ? s->in.len : off);
}

void smtp_client_session_tls_started(struct smtp_client_session *s)
{
    if (s->state != SCS_TLS)
        return;
    s->tls = 1;
    memset(&s->ext, 0, sizeof s->ext); /* RFC 3207 §4.2: forget what was learnt */
    mg_buf_reset(&s->in);
    reset_reply(s);
    s->state = SCS_EHLO;
    sendf(s, "EHLO %s\r\n", s->cfg.helo);
}

/* ---------------------------------------------------------------- sending */

static int has_8bit(const char *p)
{
    for (; p && *p; p++)
        if ((unsigned char)*p & 0x80)
            return 1;
    return 0;
}

/* Addresses go on the wire inside <...>: no controls, spaces or brackets that could end the
 * path or inject a command (the envelope comes from our queue, but it came from outside). */
static int addr_ok(const char *a, int allow_empty)
{
    if (!a || (!*a && !allow_empty) || strlen(a) > SMTP_CMD_MAX_PATH)
        return 0;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p < 0x21 || *p == 0x7f || *p == '<' || *p == '>')
            return 0;
    return 1;
}

static int env_ok(const struct smtp_envelope *env);

static int word_ok(const char *w)
{
    if (!w || !*w || strlen(w) > 32)
        return 0;
    for (const char *p = w; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return 0;
    return 1;
}

int smtp_client_session_check_env(const struct smtp_envelope *env)
{
    return env_ok(env) ? 0 : MG_EINVAL;
}

static int env_ok(const struct smtp_envelope *env)
{
    if (!env || env->nrcpts == 0 || !env->rcpts)
        return 0;
    if (!addr_ok(env->mail_from ? env->mail_from : "", 1))
        return 0;
    for (size_t i = 0; i < env->nrcpts; i++) {
        const struct smtp_rcpt *r = &env->rcpts[i];
        if (!addr_ok(r->addr, 0) || (r->orcpt && !word_ok(r->orcpt_type)) ||
            (r->orcpt && strlen(r->orcpt) > SMTP_CMD_MAX_ORCPT))
            return 0;
    }
    if (env->envid && strlen(env->envid) > SMTP_CMD_MAX_ENVID)
        return 0;
    return env->content || env->content_len == 0;
}

static void drop_message(struct smtp_client_session *s)
{
    free(s->results);
    free(s->accepted);
    free(s->expects);
    s->results = NULL;
    s->accepted = NULL;
    s->expects = NULL;
    s->env = NULL;
    s->results_final = 0;
    s->msg_status = 0;
}

int smtp_client_session_send(struct smtp_client_session *s, const struct smtp_envelope *env)
{
    if (!env_ok(env))
        return MG_EINVAL;
    if (s->state == SCS_DONE || s->state == SCS_QUIT)
        return MG_ECLOSED;
    if (s->state != SCS_READY || s->env)
        return MG_ESTATE;
    s->results = calloc(env->nrcpts, sizeof *s->results);
    s->accepted = calloc(env->nrcpts, sizeof *s->accepted);
    s->expects = calloc(env->nrcpts + 2, sizeof *s->expects);
    s->env = env;
    if (!s->results || !s->accepted || !s->expects) {
        drop_message(s);
        return MG_ENOMEM;
    }
    s->mail_ok = s->data_ok = s->any_accepted = 0;
    s->rcpt_next = s->next_expect = 0;
    /* What the peer cannot take is refused here, per RFC 6531 §3.4 / RFC 6152 §3 / RFC 1870. */
    struct smtp_reply local = { 0 };
    int is_utf8 = env->smtputf8 || has_8bit(env->mail_from);
    for (size_t i = 0; i < env->nrcpts && !is_utf8; i++)
        is_utf8 = has_8bit(env->rcpts[i].addr);
    if (is_utf8 && !s->ext.smtputf8)
        smtp_reply_set(&local, 553, "5.6.7", "The peer does not support SMTPUTF8 (RFC 6531)");
    else if (env->body == SMTP_BODY_8BITMIME && !s->ext.eightbitmime)
        smtp_reply_set(&local, 554, "5.6.3", "The peer does not support 8BITMIME (RFC 6152)");
    else if (s->ext.max_size && env->content_len > s->ext.max_size)
        smtp_reply_set(&local, 552, "5.3.4", "Message larger than the peer's SIZE limit");
    if (local.code) {
        for (size_t i = 0; i < env->nrcpts; i++)
            s->results[i] = local;
        msg_done(s, 0);
        return 0;
    }
    s->nexpect = 0;
    s->expects[s->nexpect++] = SCS_EX_MAIL;
    for (size_t i = 0; i < env->nrcpts; i++)
        s->expects[s->nexpect++] = SCS_EX_RCPT;
    s->expects[s->nexpect++] = SCS_EX_DATA;
    s->state = SCS_TXN;
    send_txn(s);
    return 0;
}

struct smtp_reply *smtp_client_session_take_results(struct smtp_client_session *s, size_t *n, int *status)
{
    *n = 0;
    *status = 0;
    if (!s->env || !s->results_final)
        return NULL;
    struct smtp_reply *r = s->results;
    *n = s->env->nrcpts;
    *status = s->msg_status;
    s->results = NULL;
    drop_message(s);
    return r;
}

int smtp_client_session_quit(struct smtp_client_session *s)
{
    if (s->state != SCS_READY)
        return 0;
    s->state = SCS_QUIT;
    sendf(s, "QUIT\r\n");
    return s->state == SCS_QUIT;
}

int smtp_client_session_waiting(const struct smtp_client_session *s)
{
    switch (s->state) {
    case SCS_READY:
    case SCS_DONE:
        return 0;
    case SCS_BODY:
        return 2;
    default:
        return 1;
    }
}

int smtp_client_session_usable(const struct smtp_client_session *s)
{
    return s->state == SCS_READY || s->state == SCS_TXN || s->state == SCS_BODY || s->state == SCS_RSET;
}

void smtp_client_session_init(struct smtp_client_session *s, const struct smtp_client_session_cfg *cfg)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    if (!s->cfg.helo)
        s->cfg.helo = "localhost";
    if (!s->cfg.peer)
        s->cfg.peer = "-";
    mg_buf_init(&s->in, 1 << 20);
    mg_buf_init(&s->out, 0);
    mg_buf_init(&s->reply_text, 1 << 20);
    s->state = SCS_GREETING;
}

void smtp_client_session_free(struct smtp_client_session *s)
{
    drop_message(s);
    mg_buf_free(&s->in);
    mg_buf_free(&s->out);
    mg_buf_free(&s->reply_text);
}

/* ---------------------------------------------------------------- dot-stuffing */

void smtp_dotstuff_init(struct smtp_dotstuff *it, const void *content, size_t len)
{
    memset(it, 0, sizeof *it);
    it->p = content;
    it->n = content ? len : 0;
    it->bol = 1;
}

int smtp_dotstuff_next(struct smtp_dotstuff *it, const void **base, size_t *len)
{
    for (;;) {
        if (it->ins) {
            *base = it->ins;
            *len = strlen(it->ins);
            it->ins = NULL;
            return 1;
        }
        while (it->i < it->n) {
            size_t i = it->i++;
            unsigned char ch = it->p[i];
            const char *ins = NULL;
            if (it->bol && ch == '.')
                ins = ".";
            else if (ch == '\n' && (i == 0 || it->p[i - 1] != '\r'))
                ins = "\r";
            it->bol = ch == '\n';
            if (!ins)
                continue;
            /* The insertion goes before byte i: first the run up to it, if any. */
            it->ins = ins;
            size_t run = it->run;
            it->run = i;
            if (i > run) {
                *base = it->p + run;
                *len = i - run;
                return 1;
            }
            break;
        }
        if (it->ins)
            continue;
        if (it->run < it->n) {
            *base = it->p + it->run;
            *len = it->n - it->run;
            it->run = it->n;
            return 1;
        }
        if (it->stage == 0) {
            it->stage = 1;
            if (it->n && it->p[it->n - 1] != '\n') {
                *base = "\r\n";
                *len = 2;
                return 1;
            }
        }
        if (it->stage == 1) {
            it->stage = 2;
            *base = ".\r\n";
            *len = 3;
            return 1;
        }
        return 0;
    }
}
