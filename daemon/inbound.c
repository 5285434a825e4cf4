/* inbound: the SMTP listeners' wiring. The submission policy (relay and peer checks, queue
 * full, RCPT-time routing, the mapping to struct message, the durable enqueue) is mta/submit,
 * shared with the P1 listener; this file only translates SMTP to it and back: the envelope's
 * fields into plain ones, and submit's verdicts into SMTP replies. The client gets its 250
 * only from the enqueue's completion, i.e. once the message is durable. */
#include "daemon.h"
#include "inbound_p1.h"
#include "mg_err.h"
#include "mg_log.h"
#include "msgid.h"
#include "smtp_server.h"
#include "relay.h"
#include "submit.h"
#include "tls_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One SMTP transaction waiting for its enqueue. */
struct inbound_txn {
    struct daemon *d;
    struct smtp_server_txn *txn;
    char session[64];       /* for the line that accepts the message */
    char message_id[256];   /* "<...>" or "-" */
};

static struct submit_ctx submit_ctx(struct daemon *d)
{
    struct submit_ctx c = { .cfg = d->cfg, .store = d->store, .qmgr = d->qmgr,
                            .label = d->label_hook.extract ? &d->label_hook : NULL };
    return c;
}

/* The origin of an SMTP envelope; ss receives the client's socket address. */
static struct submit_origin smtp_origin(struct listener_rt *lr, const struct smtp_envelope *env,
                                        struct sockaddr_storage *ss)
{
    struct submit_origin o = {
        .listener = config_find_listener(lr->d->cfg, lr->name),
        .client_addr = env->client_addr,
        .client_name = env->helo,
        .proto = env->tls ? (env->esmtp ? "ESMTPS" : "SMTPS") : (env->esmtp ? "ESMTP" : "SMTP"),
        .session = env->session_id,
    };
    memset(ss, 0, sizeof *ss);
    if (env->client_addr && (uv_ip4_addr(env->client_addr, env->client_port, (struct sockaddr_in *)ss) == 0 ||
                             uv_ip6_addr(env->client_addr, env->client_port, (struct sockaddr_in6 *)ss) == 0))
        o.client = (const struct sockaddr *)ss;
    return o;
}

/* submit's verdicts as SMTP replies (RFC 5321 §4.2.2, RFC 3463). */
static int verdict_code(enum submit_verdict v)
{
    switch (v) {
    case SUBMIT_OK: return 250;
    case SUBMIT_UNAVAILABLE: return 421;
    case SUBMIT_QUEUE_FULL: return 452;
    case SUBMIT_RELAY_DENIED: return 554;
    case SUBMIT_NO_ROUTE: return 550;
    case SUBMIT_UNSUPPORTED_ADDRESS: return 553;
    case SUBMIT_LABEL_REJECTED: return 554;
    }
    return 451;
}

static int on_rcpt(void *arg, const struct smtp_envelope *env, const struct smtp_rcpt *rcpt,
                   struct smtp_reply *reply)
{
    struct listener_rt *lr = arg;
    struct submit_ctx ctx = submit_ctx(lr->d);
    struct sockaddr_storage ss;
    struct submit_origin o = smtp_origin(lr, env, &ss);
    struct submit_rcpt r = { .kind = SUBMIT_ADDR_MAILBOX, .addr = rcpt->addr };
    struct submit_result res;
    int rc = submit_check_rcpt(&ctx, &o, &r, &res);
    if (rc == 0)
        return 0;
    if (rc == MG_EINVAL)
        smtp_reply_set(reply, 451, "4.3.0", "local error in processing");
    else
        smtp_reply_set(reply, verdict_code(res.verdict), res.status, res.reason);
    return 1;
}

static unsigned notify_bits(unsigned smtp)
{
    unsigned n = 0;
    if (smtp & SMTP_NOTIFY_NEVER) n |= MESSAGE_NOTIFY_NEVER;
    if (smtp & SMTP_NOTIFY_SUCCESS) n |= MESSAGE_NOTIFY_SUCCESS;
    if (smtp & SMTP_NOTIFY_FAILURE) n |= MESSAGE_NOTIFY_FAILURE;
    if (smtp & SMTP_NOTIFY_DELAY) n |= MESSAGE_NOTIFY_DELAY;
    return n;
}

static void on_enqueued(void *arg, int status, const struct message *msg)
{
    struct inbound_txn *it = arg;
    struct smtp_reply r;
    if (status == 0) {
        it->d->received++;
        /* The line an operator greps for: the session, the queue id and the Message-ID. */
        char q[300];
        mg_info("event=accepted session=%s qid=%s message_id=%s", it->session, msg->id,
                mg_log_quote(it->message_id, q, sizeof q));
        char text[128];
        snprintf(text, sizeof text, "Ok: queued as %s", msg->id);
        smtp_reply_set(&r, 250, "2.0.0", text);
    } else {
        it->d->rejected++;
        char text[200];
        snprintf(text, sizeof text, "cannot queue the message now: %s", mg_strerror(status));
        smtp_reply_set(&r, 451, "4.3.0", text);
    }
    smtp_server_txn_complete(it->txn, &r);
    free(it);
}

/* RFC 6710: the queue priority an MT-PRIORITY parameter asks for (STANAG4406 policy), when
 * the client is trusted: inside the listener's relay_networks. From anyone else it is ignored
 * (RFC 6710 leaves the policy to the server; an untrusted client must not jump the queue):
 * -1, the default priority. */
static int mt_priority(struct listener_rt *lr, const struct smtp_envelope *env,
                       const struct submit_origin *o)
{
    if (!env->mt_priority_given)
        return -1;
    int trusted = 0;
    for (size_t i = 0; o->listener && o->client && i < o->listener->n_relay_networks; i++)
        trusted |= relay_cidr_contains(&o->listener->relay_networks[i], o->client);
    if (!trusted) {
        mg_info("event=mt_priority_ignored session=%s client=%s mt_priority=%d listener=%s",
                env->session_id ? env->session_id : "-", env->client_addr ? env->client_addr : "-",
                env->mt_priority, lr->name);
        return -1;
    }
    return smtp_mt_priority_to_queue(env->mt_priority);
}

/* The SMTP envelope in submit's plain fields (ORCPT as "type;address", RFC 3461 §4.2). */
static int build_message(struct listener_rt *lr, const struct smtp_envelope *env, struct message **out)
{
    struct submit_rcpt *rcpts = calloc(env->nrcpts ? env->nrcpts : 1, sizeof *rcpts);
    char **orcpts = calloc(env->nrcpts ? env->nrcpts : 1, sizeof *orcpts);
    int rc = rcpts && orcpts ? 0 : MG_ENOMEM;
    for (size_t i = 0; !rc && i < env->nrcpts; i++) {
        const struct smtp_rcpt *sr = &env->rcpts[i];
        rcpts[i].kind = SUBMIT_ADDR_MAILBOX;
        rcpts[i].addr = sr->addr;
        rcpts[i].notify = notify_bits(sr->notify);
        if (sr->orcpt) {
            const char *type = sr->orcpt_type ? sr->orcpt_type : "rfc822";
            size_t n = strlen(type) + 1 + strlen(sr->orcpt) + 1;
            orcpts[i] = malloc(n);
            if (!orcpts[i]) {
                rc = MG_ENOMEM;
                break;
            }
            snprintf(orcpts[i], n, "%s;%s", type, sr->orcpt);
            rcpts[i].orcpt = orcpts[i];
        }
    }
    if (!rc) {
        struct sockaddr_storage pss;
        struct submit_origin po = smtp_origin(lr, env, &pss);
        struct submit_envelope se = {
            .originator = env->mail_from,
            .envid = env->envid,
            .ret = env->ret == SMTP_RET_FULL ? MESSAGE_RET_FULL
                   : env->ret == SMTP_RET_HDRS ? MESSAGE_RET_HDRS : MESSAGE_RET_UNSPEC,
            .priority = mt_priority(lr, env, &po),
            .content_type = MESSAGE_CONTENT_RFC5322,
            .rcpts = rcpts,
            .nrcpts = env->nrcpts,
        };
        struct submit_ctx ctx = submit_ctx(lr->d);
        struct sockaddr_storage ss;
        struct submit_origin o = smtp_origin(lr, env, &ss);
        rc = submit_build_message(&ctx, &o, &se, out);
    }
    for (size_t i = 0; orcpts && i < env->nrcpts; i++)
        free(orcpts[i]);
    free(orcpts);
    free(rcpts);
    return rc;
}

static void on_message(void *arg, struct smtp_server_txn *txn, struct smtp_envelope *env)
{
    struct listener_rt *lr = arg;
    struct daemon *d = lr->d;
    struct inbound_txn *it = calloc(1, sizeof *it);
    struct message *msg = NULL;
    int rc = it ? build_message(lr, env, &msg) : MG_ENOMEM;
    if (rc == 0) {
        it->d = d;
        it->txn = txn;
        size_t len;
        unsigned char *content = smtp_envelope_take_content(env, &len);
        snprintf(it->session, sizeof it->session, "%s", env->session_id ? env->session_id : "-");
        if (msgid_find(content, len, it->message_id, sizeof it->message_id) != 0)
            snprintf(it->message_id, sizeof it->message_id, "-");
        struct submit_ctx ctx = submit_ctx(d);
        struct sockaddr_storage ss;
        struct submit_origin o = smtp_origin(lr, env, &ss);
        struct submit_result res;
        rc = submit_label(&ctx, &o, msg, &content, &len, &res); /* 5xx at end of DATA */
        if (rc == MG_EDENIED || rc == MG_ETEMP) {
            struct smtp_reply r;
            smtp_reply_set(&r, rc == MG_ETEMP ? 451 : verdict_code(res.verdict), res.status, res.reason);
            d->rejected++;
            message_free(msg);
            free(content);
            smtp_server_txn_complete(txn, &r);
            free(it);
            return;
        }
        if (rc != 0) {
            message_free(msg);
            free(content);
            goto fail;
        }
        rc = submit_enqueue(&ctx, msg, content, len, on_enqueued, it); /* takes msg and content */
        if (rc == 0)
            return;
    } else {
        message_free(msg);
    }
fail:;
    struct smtp_reply r;
    char text[200];
    snprintf(text, sizeof text, "cannot queue the message: %s", mg_strerror(rc));
    if (rc == MG_ETOOBIG)
        smtp_reply_set(&r, 552, "5.3.4", text);
    else
        smtp_reply_set(&r, 451, "4.3.0", text);
    mg_error("event=queue_write_failed op=submit session=%s error=\"%s\"", env->session_id, mg_strerror(rc));
    smtp_server_txn_complete(txn, &r);
    free(it);
}

int inbound_start(struct daemon *d)
{
    d->listeners = calloc(d->cfg->n_listeners ? d->cfg->n_listeners : 1, sizeof *d->listeners);
    if (!d->listeners)
        return MG_ENOMEM;
    for (size_t i = 0; i < d->cfg->n_listeners; i++) {
        const struct config_listener *l = &d->cfg->listeners[i];
        struct listener_rt *lr = &d->listeners[d->nlisteners];
        lr->d = d;
        lr->name = strdup(l->name);
        if (!lr->name)
            return MG_ENOMEM;
        if (l->protocol == CONFIG_PROTO_P1) {
            int rc = inbound_p1_start(lr, l);
            if (rc != 0) {
                mg_error("event=listen_failed listener=%s listen=%s error=\"%s\"", l->name, l->listen, mg_strerror(rc));
                free(lr->name);
                return rc;
            }
            d->nlisteners++;
            d->listeners_open++;
            continue;
        }
        if (l->tls.cert) {
            int rc = tls_io_ctx_server_create(&lr->tls, l->tls.cert, l->tls.key);
            if (rc != 0) {
                mg_error("event=tls_setup_failed listener=%s cert=%s error=\"%s\"", l->name, l->tls.cert, mg_strerror(rc));
                return rc;
            }
        }
        struct smtp_server_opts o = {
            .hostname = d->cfg->global.hostname,
            .listen = l->listen,
            .max_message_size = l->max_message_size,
            .max_recipients = l->max_recipients,
            .max_line_length = l->max_line_length,
            .max_sessions = l->max_sessions,
            .max_sessions_per_client = l->max_sessions_per_client,
            .cmd_timeout_ms = l->command_timeout * 1000u,
            .data_timeout_ms = l->data_timeout * 1000u,
            .first_cmd_timeout_ms = l->first_command_timeout * 1000u,
            .max_conn_rate = l->max_connection_rate,
            .tls_ctx = lr->tls,
            .require_tls = l->tls.require_tls,
        };
        struct smtp_server_callbacks cbs = { .rcpt = on_rcpt, .message = on_message };
        int rc = smtp_server_create(&lr->srv, d->loop, &o, &cbs, lr);
        if (rc != 0) {
            mg_error("event=listen_failed listener=%s listen=%s error=\"%s\"", l->name, l->listen, mg_strerror(rc));
            tls_io_ctx_free(lr->tls);
            free(lr->name);
            return rc;
        }
        snprintf(lr->listen, sizeof lr->listen, "%s", l->listen);
        lr->port = smtp_server_port(lr->srv);
        d->nlisteners++;
        d->listeners_open++;
        mg_info("event=listening listener=%s protocol=smtp listen=%s port=%d tls=%s", l->name, l->listen,
                smtp_server_port(lr->srv), lr->tls ? "starttls" : "none");
    }
    return 0;
}

static void on_server_closed(void *arg)
{
    struct listener_rt *lr = arg;
    struct daemon *d = lr->d;
    lr->srv = NULL;
    lr->p1 = NULL;
    if (--d->listeners_open == 0) {
        for (size_t i = 0; i < d->nlisteners; i++) {
            tls_io_ctx_free(d->listeners[i].tls);
            free(d->listeners[i].name);
        }
        free(d->listeners);
        d->listeners = NULL;
        d->nlisteners = 0;
        if (d->inbound_stopped)
            d->inbound_stopped(d);
    }
}

void inbound_stop(struct daemon *d, void (*done)(struct daemon *d))
{
    d->inbound_stopped = done;
    if (d->listeners_open == 0) {
        free(d->listeners);
        d->listeners = NULL;
        done(d);
        return;
    }
    for (size_t i = 0; i < d->nlisteners; i++) {
        if (d->listeners[i].srv)
            smtp_server_close(d->listeners[i].srv, on_server_closed, &d->listeners[i]);
        else if (d->listeners[i].p1)
            inbound_p1_close(&d->listeners[i], on_server_closed);
    }
}
