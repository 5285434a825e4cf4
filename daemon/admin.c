/* admin: answers control-socket requests (`mixgate queue ...`, `mixgate status`). Reads come
 * from the store's read connection; changes go through the queue manager so that its
 * schedule and the store agree. */
#include "admin_peers.h"
#include "admin_queue.h"
#include "daemon.h"
#include "inbound_p1.h"
#include "lsw.h"
#include "route.h"
#include "mg_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fmt_age(int64_t secs, char *buf, size_t n)
{
    if (secs < 0)
        secs = 0;
    if (secs < 120)
        snprintf(buf, n, "%llds", (long long)secs);
    else if (secs < 7200)
        snprintf(buf, n, "%lldm", (long long)(secs / 60));
    else if (secs < 172800)
        snprintf(buf, n, "%lldh", (long long)(secs / 3600));
    else
        snprintf(buf, n, "%lldd", (long long)(secs / 86400));
}

/* "2026-12-07T10:00:00Z" (UTC), or "-" for 0: every time the admin requests print. */
void admin_fmt_time(int64_t t, char *buf, size_t n)
{
    if (!t) {
        snprintf(buf, n, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool routes_by_label(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_routes; i++)
        if (cfg->routes[i].label)
            return true;
    return false;
}

int admin_route_rcpt(struct daemon *d, const struct message *m, const struct message_rcpt *r,
                     const struct config_route **rt)
{
    struct route_label rl = { .der = m->label, .len = m->label_len, .match = lsw_gate_route_match,
                              .ctx = d->labels };
    struct queue_store_version v = { 0 };
    int have_v = 0;
    /* Only a configuration that routes by label needs the version's own label: the read is
     * then worth it (the queue manager reads it too, qmgr_job.c rcpt_route_label). */
    if (r->cversion && routes_by_label(d->cfg) &&
        queue_store_read_version(d->store, m->id, r->cversion, &v) == 0) {
        have_v = 1;
        if (v.label_set) {
            rl.der = v.label;
            rl.len = v.label_len;
        }
    }
    int rc = route_lookup_msg(d->cfg, r->addr, &rl, rt);
    if (have_v)
        queue_store_version_free(&v);
    return rc;
}

static void do_show(struct daemon *d, struct control_req *req, const char *id)
{
    struct message *m = NULL;
    int rc = message_id_valid(id) ? queue_store_get(d->store, id, &m) : MG_ENOTFOUND;
    if (rc != 0) {
        control_req_finish(req, rc, rc == MG_ENOTFOUND ? "no such message in the queue" : NULL);
        return;
    }
    char t[64];
    admin_fmt_time(m->arrival, t, sizeof t);
    control_req_printf(req, "id: %s\narrival: %s\nfrom: <%s>\npriority: %d\nsize: %llu\n", m->id, t,
                       m->originator, m->priority, (unsigned long long)m->content_size);
    if (m->envid)
        control_req_printf(req, "envid: %s\n", m->envid);
    control_req_printf(req, "ret: %s\n", m->ret == MESSAGE_RET_FULL ? "full" : m->ret == MESSAGE_RET_HDRS ? "hdrs" : "-");
    if (m->received_from)
        control_req_printf(req, "received-from: %s (%s)\n", m->received_from, m->received_proto ? m->received_proto : "-");
    control_req_printf(req, "held: %s%s%s\n", m->hold ? "yes" : "no", m->hold_reason ? " reason: " : "",
                       m->hold_reason ? m->hold_reason : "");
    if (m->label_len)
        control_req_printf(req, "label: %zu bytes\n", m->label_len);
    if (m->mts_id)
        control_req_printf(req, "mts-id: %s\n", m->mts_id);
    if (m->content_oid || m->content_type == MESSAGE_CONTENT_X400_REPORT)
        control_req_printf(req, "content-type: %s\n",
                           m->content_oid ? m->content_oid : "X.400 report");
    if (m->x400_env_len)
        control_req_printf(req, "x400-envelope: %zu bytes (as received)\n", m->x400_env_len);
    int64_t ddt = inbound_p1_not_before(m);
    if (ddt) {
        admin_fmt_time(ddt, t, sizeof t);
        control_req_printf(req, "deferred-delivery: %s (%s)\n", t, ddt > (int64_t)time(NULL)
                           ? "X.411 deferred delivery time: kept in the queue until then"
                           : "passed");
    }
    for (size_t i = 0; i < m->nrcpts; i++) {
        const struct message_rcpt *r = &m->rcpts[i];
        char la[64], na[64], nb[64];
        admin_fmt_time(r->last_attempt, la, sizeof la);
        admin_fmt_time(r->next_attempt, na, sizeof na);
        control_req_printf(req, "rcpt %zu: <%s>%s state=%s attempts=%u last=%s", i, r->addr,
                           r->kind == MESSAGE_ADDR_ORADDR ? " (O/R)" : "",
                           message_rcpt_state_name(r->state), r->attempts, la);
        if (r->state == MESSAGE_RCPT_DEFERRED)
            control_req_printf(req, " next=%s", na);
        if (r->notify)
            control_req_printf(req, " notify=%s", message_notify_format(r->notify, nb, sizeof nb));
        /* The chain as the current configuration routes the recipient, and where it is (rules
         * with label conditions judged on the label the switch routes by). */
        const struct config_route *rt = NULL;
        if (admin_route_rcpt(d, m, r, &rt) == 0 && rt->n_chain) {
            char chain[1024] = "";
            for (size_t c = 0; c < rt->n_chain; c++)
                snprintf(chain + strlen(chain), sizeof chain - strlen(chain), "%s%s",
                         c ? "," : "", rt->chain[c]->name);
            size_t at = r->stage < rt->n_chain ? r->stage : rt->n_chain - 1;
            control_req_printf(req, " chain=%s stage=%u/%zu at=%s version=%u", chain, r->stage,
                               rt->n_chain - 1, rt->chain[at]->name, r->cversion);
        } else {
            control_req_printf(req, " chain=- (no route) stage=%u", r->stage);
        }
        control_req_printf(req, " last_channel=%s peer=%s", r->chain ? r->chain : "-",
                           r->peer ? r->peer : "-");
        if (r->next_addr)
            control_req_printf(req, "\n    next-hop address: <%s>", r->next_addr);
        if (r->last_reply)
            control_req_printf(req, "\n    %s: %s", r->state == MESSAGE_RCPT_HELD ? "held" : "reply",
                               r->last_reply);
        control_req_printf(req, "\n");
    }
    message_free(m);
    control_req_finish(req, 0, NULL);
}

static void do_status(struct daemon *d, struct control_req *req)
{
    struct qmgr_stats st;
    qmgr_get_stats(d->qmgr, &st);
    struct queue_store_stats ss;
    queue_store_get_stats(d->store, &ss);
    char up[32];
    fmt_age((int64_t)time(NULL) - d->started, up, sizeof up);
    control_req_printf(req, "mixgated: %s, up %s, config %s\n", d->stopping ? "stopping" : "running", up,
                       d->config_path);
    control_req_printf(req, "queue: messages=%zu held=%zu ready=%zu waiting=%zu active=%zu deliveries=%zu\n",
                       st.messages, st.held, st.ready, st.waiting, st.active, st.deliveries);
    control_req_printf(req, "since start: received=%lu rejected=%lu delivered=%llu deferred=%llu failed=%llu reports=%llu\n",
                       d->received, d->rejected, (unsigned long long)st.delivered,
                       (unsigned long long)st.deferred, (unsigned long long)st.failed,
                       (unsigned long long)st.reports);
    control_req_printf(req, "store: commits=%llu writes=%llu max_batch=%llu failed_commits=%llu\n",
                       (unsigned long long)ss.commits, (unsigned long long)ss.writes,
                       (unsigned long long)ss.max_batch, (unsigned long long)ss.failed_commits);
    control_req_printf(req, "outbound: connections=%zu destinations=%zu throttled=%zu\n",
                       st.connections, st.destinations, st.throttled);
    /* What is bound, not what the configuration says now: a reload does not rebind. */
    for (size_t i = 0; i < d->nlisteners; i++) {
        const struct listener_rt *lr = &d->listeners[i];
        const struct config_listener *now = config_find_listener(d->cfg, lr->name);
        char note[256] = "";
        if (!now)
            snprintf(note, sizeof note, " (removed from the configuration: restart to close it)");
        else if (strcmp(now->listen, lr->listen))
            snprintf(note, sizeof note, " (configuration now says %s: restart to apply)", now->listen);
        control_req_printf(req, "listener %s: listening on %s port=%d%s\n", lr->name, lr->listen, lr->port, note);
    }
    for (size_t i = 0; i < d->cfg->n_listeners; i++) {
        int bound = 0;
        for (size_t k = 0; k < d->nlisteners; k++)
            bound |= !strcmp(d->listeners[k].name, d->cfg->listeners[i].name);
        if (!bound)
            control_req_printf(req, "listener %s: not listening (added by a reload: restart to open %s)\n",
                               d->cfg->listeners[i].name, d->cfg->listeners[i].listen);
    }
    control_req_finish(req, 0, NULL);
}

void admin_handle(void *ctx, struct control_req *req, int argc, char **argv)
{
    struct daemon *d = ctx;
    if (admin_peers_handle(d, req, argc, argv))
        return;
    if (!strcmp(argv[0], "status")) {
        do_status(d, req);
        return;
    }
    if (strcmp(argv[0], "queue") || argc < 2) {
        control_req_finish(req, MG_EINVAL, "unknown request");
        return;
    }
    if (admin_queue_handle(d, req, argc, argv))
        return;
    const char *op = argv[1];
    const char *id = argc > 2 ? argv[2] : NULL;
    if (!strcmp(op, "flush")) {
        if (argc != 2) {
            control_req_finish(req, MG_EINVAL, "flush takes no arguments");
            return;
        }
        size_t n = qmgr_flush(d->qmgr);
        control_req_printf(req, "%zu message(s) scheduled for delivery now\n", n);
        control_req_finish(req, 0, NULL);
    } else if (!strcmp(op, "show")) {
        if (argc != 3)
            control_req_finish(req, MG_EINVAL, "show takes one queue id");
        else
            do_show(d, req, id);
    } else {
        control_req_finish(req, MG_EINVAL, "unknown queue operation");
    }
}
