/* inbound_p1: the P1 listeners' wiring. A bind is accepted only from a configured x400 peer
 * with the right MTA name and password (and calling address when the peer asks for it); each
 * transferred MTS-APDU is mapped (channels/p1/p1_mts) to submit's plain fields, each
 * recipient checked by mta/submit (O/R routing), and the message enqueued; the transfer is
 * confirmed (p1_conn_apdu_done) only from the enqueue's completion, i.e. once durable.
 * Two-way alternate: an inbound association of a peer is lent to the p1 channel instances of
 * the current configuration (qmgr_channel_instance), which send the deliveries waiting for
 * that peer over it in our turn; a peer reached only when it binds (inbound_only) has its
 * deferred messages woken by its bind (qmgr_peer_wake). */
#include "daemon.h"
#include "inbound_p1.h"
#include "lsw.h"
#include "mg_err.h"
#include "mg_log.h"
#include "p1_channel.h"
#include "p1_listener.h"
#include "p1_mts.h"
#include "p1_probe.h"
#include "mixer_report.h"
#include "p1_report.h"
#include "report.h"
#include "route.h"
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Where a transferred MTS-APDU came from: an association on our listener, or one of the
 * p1 channel's own two-way-alternate associations in the peer's turn. done(tok, status)
 * confirms it (0: durable) or aborts the association. */
struct p1_from {
    char session[32], addr[64], mta[80];
    const char *listener;        /* the p1 listener whose checks apply (its name) */
    void (*done)(void *tok, int status);
    void *tok;
};

/* One transfer waiting for its enqueue. */
struct p1_txn {
    struct daemon *d;
    struct p1_from from;
    struct submit_ctx ctx;
    struct message *report;      /* owned: queued after the message, before the confirmation */
    unsigned char *report_body;  /* owned */
    size_t report_len;
};

static const struct config_peer *peer_by_mta(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct config_peer *p = &cfg->peers[i];
        if (p->type == CONFIG_PEER_X400 && p->mta_name && strcmp(p->mta_name, name) == 0)
            return p;
    }
    return NULL;
}

/* ---- two-way alternate: the p1 channel's deliveries over the peer's own association ---- */

/* Calls fn for every p1 delivery channel instance of the current configuration; stops at
 * the first that returns non-zero and returns that. */
static int each_p1_inst(struct daemon *d, int (*fn)(void *inst, void *arg), void *arg)
{
    for (size_t i = 0; i < d->cfg->n_channels; i++) {
        const struct config_channel *ch = &d->cfg->channels[i];
        void *inst = ch->kind == &p1_channel_kind ? qmgr_channel_instance(d->qmgr, ch->name) : NULL;
        int rc = inst ? fn(inst, arg) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

static int in_bound(void *arg, const struct config_peer *p)
{
    struct daemon *d = arg;
    for (size_t i = 0; i < d->nlisteners && p->mta_name; i++)
        if (d->listeners[i].p1 && p1_listener_twa_bound(d->listeners[i].p1, p->mta_name))
            return 1;
    return 0;
}

static void in_kick(void *arg, const struct config_peer *p)
{
    struct daemon *d = arg;
    for (size_t i = 0; i < d->nlisteners && p->mta_name; i++)
        if (d->listeners[i].p1)
            p1_listener_out_kick(d->listeners[i].p1, p->mta_name);
}

static void on_channel_apdu(void *arg, const struct config_peer *peer, const uint8_t *apdu,
                            size_t len, void *token);

static int set_inbound(void *inst, void *arg)
{
    const struct p1_channel_inbound in = { in_bound, in_kick, arg };
    const struct p1_channel_receiver rx = { on_channel_apdu, arg };
    p1_channel_set_inbound(inst, &in);
    p1_channel_set_receiver(inst, &rx);
    return 0;
}

void inbound_p1_channels_started(struct daemon *d)
{
    each_p1_inst(d, set_inbound, d);
}

struct lend_req {
    const char *peer;
    const uint8_t **apdu;
    size_t *len;
    void **tok;
};

static int inst_waiting(void *inst, void *arg)
{
    return p1_channel_waiting(inst, ((struct lend_req *)arg)->peer);
}

static int inst_lend(void *inst, void *arg)
{
    struct lend_req *r = arg;
    struct p1_lease *l = NULL;
    if (!p1_channel_lend(inst, r->peer, r->apdu, r->len, &l))
        return 0;
    *r->tok = l;
    return 1;
}

static int inst_gone(void *inst, void *arg)
{
    p1_channel_peer_gone(inst, arg);
    return 0;
}

static const struct config_peer *peer_by_mta(const struct config *cfg, const char *name);

static int out_pending(void *arg, struct p1_conn *c)
{
    struct listener_rt *lr = arg;
    const struct config_peer *p = peer_by_mta(lr->d->cfg, p1_conn_peer_mta(c));
    struct lend_req r = { .peer = p ? p->name : NULL };
    return p && each_p1_inst(lr->d, inst_waiting, &r);
}

static int out_next(void *arg, struct p1_conn *c, const uint8_t **apdu, size_t *len, void **tok)
{
    struct listener_rt *lr = arg;
    const struct config_peer *p = peer_by_mta(lr->d->cfg, p1_conn_peer_mta(c));
    struct lend_req r = { .peer = p ? p->name : NULL, .apdu = apdu, .len = len, .tok = tok };
    return p && each_p1_inst(lr->d, inst_lend, &r);
}

static void out_done(void *arg, struct p1_conn *c, void *tok, int outcome, const char *reason)
{
    (void)arg;
    (void)c;
    p1_channel_lease_done(tok, outcome, reason);
}

static void on_unbound(void *arg, struct p1_conn *c)
{
    struct listener_rt *lr = arg;
    const struct config_peer *p = peer_by_mta(lr->d->cfg, p1_conn_peer_mta(c));
    if (p)
        each_p1_inst(lr->d, inst_gone, p->name);
}

static int on_bind(void *arg, struct p1_conn *c, const struct p1_ind *ind, int busy,
                   struct p1_bind *ours, long *err)
{
    struct listener_rt *lr = arg;
    const struct config *cfg = lr->d->cfg;
    const char *name = ind->bind.authenticated ? ind->bind.name : "";
    const struct config_peer *p = peer_by_mta(cfg, name);
    if (!p) {
        *err = P1_BIND_ERR_AUTHENTICATION;
        mg_warn("event=p1_bind_refused session=%s client=%s name=\"%s\" error=%s "
                "reason=\"no x400 peer has this MTA name\"", p1_conn_id(c),
                p1_conn_peer_addr(c), name, p1_bind_error_name(*err));
        return 1;
    }
    if (p->check_calling_address && (!p->host || strcmp(p->host, p1_conn_peer_addr(c)) != 0)) {
        *err = P1_BIND_ERR_AUTHENTICATION;
        mg_warn("event=p1_bind_refused session=%s client=%s peer=%s error=%s "
                "reason=\"calling address is not the peer's host\"", p1_conn_id(c),
                p1_conn_peer_addr(c), p->name, p1_bind_error_name(*err));
        return 1;
    }
    struct p1_bind_expect e = {
        .name = p->mta_name,
        .password = p->password,
        .allow_twa = 1,
        .busy = busy,
    };
    const char *why = NULL;
    if (p1_bind_decide(&ind->bind, ind->dialogue, &e, err, &why) != 0) {
        mg_warn("event=p1_bind_refused session=%s client=%s peer=%s error=%s reason=\"%s\"",
                p1_conn_id(c), p1_conn_peer_addr(c), p->name, p1_bind_error_name(*err),
                why ? why : "");
        return 1;
    }
    ours->authenticated = 1;
    snprintf(ours->name, sizeof ours->name, "%s", p->our_mta_name ? p->our_mta_name : "");
    if (p->our_password) {
        snprintf(ours->password, sizeof ours->password, "%s", p->our_password);
        ours->has_password = 1;
    }
    mg_info("event=p1_bind_accepted session=%s client=%s peer=%s mta=\"%s\" mode=%s "
            "dialogue=%s", p1_conn_id(c), p1_conn_peer_addr(c), p->name, name,
            p1_mode_name(ind->mode), ind->dialogue == P1_DIALOGUE_TWA ? "two-way-alternate"
                                                                      : "monologue");
    if (ind->dialogue == P1_DIALOGUE_TWA) {
        /* Our messages for it may go over this association: those deferred because it is
         * reached only when it binds come now (the bind is accepted before they arrive). */
        inbound_p1_channels_started(lr->d);
        qmgr_peer_wake(lr->d->qmgr, p->name);
    }
    return 0;
}

static void on_enqueued(void *arg, int status, const struct message *msg)
{
    struct p1_txn *t = arg;
    if (status == 0 && t->report) {
        /* The message is durable; its report (non-delivery of the refused recipients, or a
         * probe's answer) next, then the confirmation. */
        struct message *rm = t->report;
        t->report = NULL;
        mg_info("event=p1_report_queued session=%s subject=%s", t->from.session, msg->id);
        int rc = submit_enqueue(&t->ctx, rm, t->report_body, t->report_len, on_enqueued, t);
        t->report_body = NULL;
        if (rc == 0)
            return;
        status = rc;
    }
    message_free(t->report);
    free(t->report_body);
    if (status == 0) {
        t->d->received++;
        mg_info("event=p1_transfer_confirmed session=%s id=%s", t->from.session, msg->id);
    } else {
        t->d->rejected++;
        mg_warn("event=p1_transfer_failed session=%s error=\"%s\"", t->from.session,
                mg_strerror(status));
    }
    t->from.done(t->from.tok, status);
    free(t);
}

/* A report from a peer names its subject: find that message (queued or finished) for the
 * operator's log. The report itself is relayed like any message whatever the outcome. */
static void match_subject(struct daemon *d, const struct p1_mts_in *m)
{
    struct mixer_report *r = malloc(sizeof *r);
    if (!r)
        return;
    mixer_report_init(r);
    char why[200];
    struct queue_store_subject subj;
    if (mixer_report_from_ber(m->content, m->content_len, r, NULL, why, sizeof why) == 0 &&
        r->subject_id[0])
        report_match(d->store, NULL, r->subject_id, &subj);
    else
        mg_info("event=report_unmatched mts_id=\"%s\" reason=\"no readable subject identifier\"",
                m->mts_id);
    free(r);
}

/* X.411 non-delivery reason and diagnostic for a refused recipient (the report carries them):
 * unable-to-transfer (1) with unrecognised-OR-name (0) for no route, no diagnostic else. */
static void log_refused(const struct p1_from *c, const char *mts_id, const char *to,
                        const struct submit_result *res)
{
    int reason = 1, diag = res->verdict == SUBMIT_NO_ROUTE ? 0 : -1;
    mg_warn("event=p1_rcpt_refused session=%s mts_id=\"%s\" to=\"%s\" reason=%s "
            "x400_reason=%d x400_diagnostic=%d", c->session, mts_id, to,
            submit_verdict_name(res->verdict), reason, diag);
}

/* A report about m (an incoming message or probe) for the recipients with verdicts[i] set:
 * OK -> delivery entry (a probe's affirmation), else non-delivery with unable-to-transfer and
 * the diagnostic: diag_override, else diags[i] (a probe's limits; NULL / -1 = none), else
 * that of the verdict. *out (and its content) are ready to enqueue, routed; NULL
 * when no report is due. */
static int make_report(struct daemon *d, const struct p1_from *c, const struct submit_ctx *ctx,
                       const struct p1_mts_in *m, const int *want, const struct submit_result *res,
                       int diag_override, const int *diags, struct message **out,
                       unsigned char **body, size_t *blen)
{
    *out = NULL;
    *body = NULL;
    *blen = 0;
    struct message *pm = message_create();
    struct report_item *items = calloc(m->nrcpts, sizeof *items);
    int rc = pm && items ? 0 : MG_ENOMEM;
    if (!rc)
        rc = message_set_originator(pm, m->originator);
    if (!rc)
        rc = message_set_x400(pm, m->mts_id, m->content_oid, NULL, 0);
    if (!rc)
        rc = message_set_received(pm, c->mta, "P1");
    if (!rc)
        snprintf(pm->id, sizeof pm->id, "P%08lX%.5s", (unsigned long)time(NULL), c->session);
    /* The report carries its subject's label (X.411); a subject refused for its label (none,
     * or not valid) has none the gate could pass: the labels group's report label stands in. */
    int label_refused = 0;
    for (size_t i = 0; i < m->nrcpts; i++)
        label_refused |= want[i] && res[i].verdict == SUBMIT_LABEL_REJECTED;
    if (!rc && m->label && m->label_len && !label_refused) {
        rc = message_set_label(pm, m->label, m->label_len);
    } else if (!rc && d->labels) {
        unsigned char *rl = NULL; /* owned */
        size_t rll = 0;
        rc = lsw_gate_report_label(d->labels, ctx->cfg, &rl, &rll);
        if (!rc && rl)
            rc = message_set_label(pm, rl, rll);
        if (!rc && rl)
            mg_info("event=report_labelled session=%s mts_id=\"%s\" reason=\"the subject %s: the labels "
                    "group's report label\" label_bytes=%zu", c->session, m->mts_id,
                    label_refused ? "was refused for its label" : "has no security label", rll);
        free(rl);
    }
    size_t n = 0;
    for (size_t i = 0; !rc && i < m->nrcpts; i++) {
        rc = message_add_rcpt(pm, m->rcpts[i].addr, NULL, 0, NULL);
        if (rc || !want[i])
            continue;
        int ok = res[i].verdict == SUBMIT_OK;
        items[n++] = (struct report_item){
            .rcpt = (uint32_t)i, .action = ok ? DSN_ACTION_DELIVERED : DSN_ACTION_FAILED,
            .status = ok ? "2.0.0" : res[i].status, .diagnostic = ok ? NULL : res[i].reason,
            .x400_reason = ok ? -1 : 1,
            .x400_diagnostic = ok ? -1 : diag_override >= 0 ? diag_override
                                          : diags && diags[i] >= 0 ? diags[i]
                                          : res[i].verdict == SUBMIT_NO_ROUTE ? 0
                                          : res[i].verdict == SUBMIT_LABEL_REJECTED ? 46 /* secure-messaging-error */
                                          : -1,
        };
    }
    if (!rc && n)
        rc = p1_report_build(d->has_x400_gdi ? &d->x400_gdi : NULL, pm, items, n, NULL, 0,
                             (int64_t)time(NULL), out, body, blen);
    message_free(pm);
    free(items);
    if (!rc && *out) {
        const struct config_route *rt = NULL;
        if (route_lookup(ctx->cfg, (*out)->rcpts[0].addr, &rt) == 0) {
            char line[32];
            snprintf(line, sizeof line, "line%d", rt->line);
            message_rcpt_set_route(&(*out)->rcpts[0], line, rt->chain[rt->n_chain - 1]->name,
                                   rt->peer ? rt->peer->name : NULL);
        }
    }
    return rc;
}

static void take_apdu(struct daemon *d, const struct p1_from *c, const uint8_t *apdu, size_t len)
{
    const struct config *cfg = d->cfg;
    struct p1_mts_in m;
    char why[256];
    int rc = p1_mts_decode(apdu, len, cfg->global.x400_gdi, &m, why, sizeof why);
    if (rc) {
        mg_warn("event=p1_apdu_refused session=%s mta=\"%s\" reason=\"%s\"", c->session,
                c->mta, why);
        c->done(c->tok, rc);
        return;
    }
    if (m.kind == P1_MTS_REPORT)
        match_subject(d, &m);
    if (m.deferred) {
        char when[32];
        time_t tt = (time_t)m.deferred;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        mg_info("event=p1_deferred_delivery session=%s mts_id=\"%s\" until=%s", c->session,
                m.mts_id, when);
    }
    struct submit_ctx ctx = { .cfg = cfg, .store = d->store, .qmgr = d->qmgr };
    struct submit_origin o = {
        .listener = config_find_listener(cfg, c->listener),
        .client_addr = c->addr,
        .client_name = c->mta,
        .proto = "P1",
        .session = c->session,
    };
    /* Every recipient through submission's checks; a probe is only answered (affirmation or
     * not, from routing), a message queued for its accepted recipients with a non-delivery
     * report for the others (never for a report's destination: no report about a report). */
    int probe = m.kind == P1_MTS_PROBE;
    int loop = !probe && (m.trace_has_us || m.ntrace > cfg->global.x400_max_hops);
    struct submit_rcpt *rcpts = calloc(m.nrcpts, sizeof *rcpts);
    struct submit_result *res = calloc(m.nrcpts, sizeof *res);
    int *want = calloc(m.nrcpts, sizeof *want);
    int *diags = probe ? calloc(m.nrcpts, sizeof *diags) : NULL;
    struct p1_probe_verdict *pv = probe ? calloc(m.nrcpts, sizeof *pv) : NULL;
    size_t n = 0, nwant = 0;
    rc = rcpts && res && want && (!probe || (diags && pv)) ? 0 : MG_ENOMEM;
    size_t others = 0;
    for (size_t i = 0; !rc && i < m.nrcpts; i++) {
        if (m.kind != P1_MTS_REPORT && !m.rcpts[i].responsibility) {
            /* X.411 12.2.1.1: another MTA answers for this recipient (a message split between
             * next hops names every recipient in each transfer); it is carried only for
             * information, and taking it too would deliver it twice */
            others++;
            continue;
        }
        /* a delivery report asked for (by the originator or its MTA) is a success
         * notification here; else the defaults (failures) */
        struct submit_rcpt r = { .kind = SUBMIT_ADDR_ORADDR, .addr = m.rcpts[i].addr,
                                 .notify = m.kind == P1_MTS_MESSAGE && m.rcpts[i].delivery_report
                                               ? MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE |
                                                     MESSAGE_NOTIFY_DELAY
                                               : 0 };
        int crc = submit_check_rcpt(&ctx, &o, &r, &res[i]);
        if (crc == 0 && m.critical[0]) {
            /* X.411: not transferred with an unsupported critical-for-transfer extension */
            crc = MG_EDENIED;
            res[i].verdict = SUBMIT_RELAY_DENIED;
            res[i].status = "5.3.3";
            res[i].reason = "unsupported critical extension";
            res[i].route = NULL;
        }
        if (crc == MG_EINVAL) {
            rc = MG_EINVAL;
        } else if (probe) {
            /* Answered from routing and then from the limits the message would meet. */
            want[i] = 1;
            nwant++;
            diags[i] = -1;
            if (crc == 0) {
                p1_probe_check(cfg, o.listener, res[i].route, &m, &pv[i]);
                if (!pv[i].ok) {
                    crc = MG_EDENIED;
                    res[i].verdict = SUBMIT_RELAY_DENIED;
                    res[i].status = pv[i].status;
                    res[i].reason = pv[i].why;
                    diags[i] = pv[i].x400_diagnostic;
                }
            }
            mg_info("event=p1_probe session=%s mts_id=\"%s\" to=\"%s\" answer=%s%s%s%s",
                    c->session, m.mts_id, m.rcpts[i].addr,
                    crc == 0 ? "affirmation" : "non-affirmation", crc ? " reason=\"" : "",
                    crc ? res[i].reason : "", crc ? "\"" : "");
        } else if (crc == 0 || loop) {
            rcpts[n++] = r; /* a loop is held with every recipient, for the operator */
        } else {
            log_refused(c, m.mts_id, m.rcpts[i].addr, &res[i]);
            if (m.kind != P1_MTS_REPORT) {
                want[i] = 1;
                nwant++;
            }
        }
    }
    struct message *msg = NULL, *rep = NULL;
    unsigned char *rbody = NULL;
    size_t rlen = 0;
    if (others)
        mg_info("event=p1_not_responsible session=%s mts_id=\"%s\" recipients=%zu of=%zu",
                c->session, m.mts_id, others, m.nrcpts);
    if (m.critical[0])
        mg_warn("event=p1_unsupported_critical session=%s mts_id=\"%s\" extension=\"%s\"",
                c->session, m.mts_id, m.critical);
    if (!rc && n > 0) {
        struct submit_envelope se = {
            .originator = m.kind == P1_MTS_REPORT ? "" : m.originator,
            .ret = MESSAGE_RET_UNSPEC,
            .priority = m.priority,
            .content_type = m.kind == P1_MTS_REPORT ? MESSAGE_CONTENT_X400_REPORT
                                                    : MESSAGE_CONTENT_X400_P22,
            .rcpts = rcpts,
            .nrcpts = n,
            .mts_id = m.mts_id,
            .content_oid = m.content_oid[0] ? m.content_oid : NULL,
            .x400_env = m.envelope,
            .x400_env_len = m.envelope_len,
        };
        rc = submit_build_message(&ctx, &o, &se, &msg);
        if (!rc && m.label)
            rc = message_set_label(msg, m.label, m.label_len); /* the X.411 security label */
        if (!rc && loop) {
            char reason[160];
            snprintf(reason, sizeof reason, "loop detected: %s (%zu trace elements)",
                     m.trace_has_us ? "our domain is in the trace" : "too many hops", m.ntrace);
            rc = message_set_hold(msg, 1, reason);
            mg_warn("event=p1_loop session=%s mts_id=\"%s\" reason=\"%s\"", c->session,
                    m.mts_id, reason);
        }
        /* The label step, as after DATA for SMTP (labels.submission of this listener: the X.411
         * envelope label, the ESS label of a content signed as a whole, ...). A refusal is a
         * non-delivery report for every recipient it would have gone to; a temporary one refuses
         * the transfer (the peer tries again). Reports skip it: they carry their subject's label
         * (their envelope's message-security-label) or none, and the gate decides them on it. */
        if (!rc && m.kind != P1_MTS_REPORT) {
            struct submit_result lres;
            ctx.label = d->label_hook.extract ? &d->label_hook : NULL;
            int lrc = submit_label(&ctx, &o, msg, &m.content, &m.content_len, &lres);
            if (lrc == MG_EDENIED) {
                mg_warn("event=p1_label_refused session=%s mts_id=\"%s\" qid=%s reason=\"%s\"", c->session,
                        m.mts_id, msg->id, lres.reason);
                for (size_t i = 0; i < m.nrcpts; i++)
                    if (res[i].verdict == SUBMIT_OK) {
                        res[i] = lres;
                        want[i] = 1;
                        nwant++;
                    }
                message_free(msg);
                msg = NULL;
            } else if (lrc) {
                rc = lrc;
            }
        }
    }
    if (!rc && nwant)
        rc = make_report(d, c, &ctx, &m, want, res, m.critical[0] ? 18 : -1, diags, &rep, &rbody,
                         &rlen);
    free(rcpts);
    free(res);
    free(want);
    free(diags);
    free(pv);
    if (!rc && !msg && !rep) {
        /* Nothing to queue (a report none of whose destinations we route): logged above. */
        mg_warn("event=p1_no_recipient session=%s mts_id=\"%s\"", c->session, m.mts_id);
        p1_mts_in_free(&m);
        c->done(c->tok, 0);
        return;
    }
    struct p1_txn *t = rc ? NULL : calloc(1, sizeof *t);
    if (!rc && !t)
        rc = MG_ENOMEM;
    if (!rc) {
        t->from = *c;
        t->d = d;
        t->ctx = ctx;
        if (msg) {
            /* the message first, its report after it (on_enqueued), then the confirmation */
            t->report = rep;
            t->report_body = rbody;
            t->report_len = rlen;
            rep = NULL;
            rbody = NULL;
            unsigned char *content = m.content;
            size_t clen = m.content_len;
            m.content = NULL;
            if (!content && !(content = malloc(1)))
                rc = MG_ENOMEM;
            if (!rc)
                rc = submit_enqueue(&ctx, msg, content, clen, on_enqueued, t); /* takes both */
            else
                message_free(msg);
            msg = NULL;
        } else {
            rc = submit_enqueue(&ctx, rep, rbody, rlen, on_enqueued, t); /* takes both */
            rep = NULL;
            rbody = NULL;
        }
        if (rc) {
            message_free(t->report);
            free(t->report_body);
        }
    }
    if (rc) {
        message_free(msg);
        message_free(rep);
        free(rbody);
        free(t);
        mg_warn("event=p1_transfer_failed session=%s mts_id=\"%s\" error=\"%s\"", c->session,
                m.mts_id, mg_strerror(rc));
        c->done(c->tok, rc);
    }
    p1_mts_in_free(&m);
}

static void conn_done(void *tok, int status)
{
    p1_conn_apdu_done(tok, status);
}

static void from_set(struct p1_from *f, const char *session, const char *addr, const char *mta)
{
    snprintf(f->session, sizeof f->session, "%s", session);
    snprintf(f->addr, sizeof f->addr, "%s", addr ? addr : "");
    snprintf(f->mta, sizeof f->mta, "%s", mta ? mta : "");
}

static void on_apdu(void *arg, struct p1_conn *c, const uint8_t *apdu, size_t len)
{
    struct listener_rt *lr = arg;
    struct p1_from f = { .listener = lr->name, .done = conn_done, .tok = c };
    from_set(&f, p1_conn_id(c), p1_conn_peer_addr(c), p1_conn_peer_mta(c));
    take_apdu(lr->d, &f, apdu, len);
}

/* The peer's message over one of the p1 channel's own two-way-alternate associations, in the
 * peer's turn: taken as on the p1 listener that belongs to that peer (its policies and limits
 * apply): the one its 'listener' names; else, with several, the one it is bound to now; else
 * the first. Acknowledged once durable. */
static void on_channel_apdu(void *arg, const struct config_peer *peer, const uint8_t *apdu,
                            size_t len, void *token)
{
    struct daemon *d = arg;
    const struct config_listener *l = peer->listener ? config_peer_p1_listener(d->cfg, peer) : NULL;
    for (size_t i = 0; i < d->nlisteners && !l && peer->mta_name; i++)
        if (d->listeners[i].p1 && p1_listener_twa_bound(d->listeners[i].p1, peer->mta_name))
            l = config_find_listener(d->cfg, d->listeners[i].name);
    if (!l)
        l = config_peer_p1_listener(d->cfg, peer);
    const char *lname = l ? l->name : NULL;
    struct p1_from f = { .listener = lname, .done = p1_channel_apdu_done, .tok = token };
    char session[32];
    snprintf(session, sizeof session, "out-%.20s", peer->name);
    from_set(&f, session, peer->host, peer->mta_name);
    if (!lname) {
        mg_warn("event=p1_apdu_refused session=%s mta=\"%s\" reason=\"no p1 listener\"",
                f.session, f.mta);
        p1_channel_apdu_done(token, MG_ESTATE);
        return;
    }
    mg_debug("event=p1_channel_apdu session=%s peer=%s listener=%s", f.session, peer->name, lname);
    take_apdu(d, &f, apdu, len);
}

static int sel_of(const struct config_sel *s, struct p1_sel *out)
{
    memset(out, 0, sizeof *out);
    if (s->len > P1_SEL_MAX)
        return MG_ETOOBIG;
    memcpy(out->v, s->v, s->len);
    out->len = (uint8_t)s->len;
    return 0;
}

int inbound_p1_start(struct listener_rt *lr, const struct config_listener *l)
{
    struct p1_listener_opts o = {
        .listen = l->listen,
        .max_assocs = l->max_sessions,
        .idle_timeout_ms = l->idle_timeout * 1000u,
        .max_apdu = (size_t)l->max_message_size + 65536,
    };
    if (sel_of(&l->tsel, &o.tsel) || sel_of(&l->ssel, &o.ssel) || sel_of(&l->psel, &o.psel))
        return MG_ETOOBIG;
    struct p1_listener_cbs cbs = { .bind = on_bind, .apdu = on_apdu, .out_pending = out_pending,
                                   .out_next = out_next, .out_done = out_done,
                                   .unbound = on_unbound };
    int rc = p1_listener_create(&lr->p1, lr->d->loop, &o, &cbs, lr);
    if (rc == 0)
        mg_info("event=listening listener=%s protocol=p1 listen=%s port=%d", l->name, l->listen,
                p1_listener_port(lr->p1));
    return rc;
}

void inbound_p1_close(struct listener_rt *lr, void (*done)(void *arg))
{
    p1_listener_close(lr->p1, done, lr);
}

int64_t inbound_p1_not_before(const struct message *m)
{
    int64_t when = 0;
    if (!m || !m->x400_env_len || m->content_type == MESSAGE_CONTENT_X400_REPORT)
        return 0;
    return p1_mts_deferred_time(m->x400_env, m->x400_env_len, &when) == 1 ? when : 0;
}

static int64_t not_before(void *ctx, const struct message *m)
{
    (void)ctx;
    return inbound_p1_not_before(m);
}

void inbound_p1_report_opts(struct daemon *d, struct qmgr_opts *qo)
{
    qo->not_before = not_before;
    if (d->cfg->global.x400_gdi) {
        d->x400_gdi = *d->cfg->global.x400_gdi;
        d->has_x400_gdi = 1;
    }
    qo->x400_report = p1_report_build;
    qo->x400_ctx = d->has_x400_gdi ? &d->x400_gdi : NULL;
}
