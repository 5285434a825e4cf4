/* admin_peers: `mixgate peers` (per configured SMTP and X.400 peer: deliveries open, messages
 * queued and deferred, the last error and when, the next attempt) and `mixgate peer
 * hold|release|flush NAME`. The queue manager's per-destination state (qmgr_foreach_dest)
 * gives what is happening now; the queue gives what is waiting.
 *
 * `peer hold` holds the peer in the queue manager (qmgr_peer_hold: no delivery to it starts;
 * what waits or arrives for it is deferred with the reason) and also holds every message
 * queued now with a recipient for the peer (reason "peer NAME held by operator"), which
 * survives a restart; `peer release` undoes both. */
#include "admin_peers.h"

#include "admin_queue.h"
#include "mg_err.h"
#include "mg_log.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct peer_row {
    const char *name;          /* the config's or the queue manager's, valid during the request */
    const char *type, *host;
    size_t active, waiting;
    int64_t throttled_until;
    char last_error[256];
    size_t queued, deferred;   /* messages */
    int64_t last_attempt, next_attempt;
    size_t last_msg;           /* index+1 of the last message counted (once per message) */
    size_t last_def;
};

struct peer_table {
    struct peer_row *v;        /* owned */
    size_t n;
};

static struct peer_row *row_for(struct peer_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].name, name))
            return &t->v[i];
    return NULL;
}

static void dest_cb(void *arg, const struct qmgr_dest_info *di)
{
    struct peer_table *t = arg;
    struct peer_row *r = row_for(t, di->peer ? di->peer : di->channel);
    if (!r)
        return; /* a channel without a peer (file): not a peer */
    r->active += di->active;
    r->waiting += di->waiting;
    if (di->throttled_until > r->throttled_until)
        r->throttled_until = di->throttled_until;
    if (di->last_error && di->last_error[0])
        snprintf(r->last_error, sizeof r->last_error, "%s", di->last_error);
}

/* The peer a live recipient is going to: the one it last tried, else its route's by its label
 * (before an attempt the recorded peer is submission's guess, made before the label was known). */
static const char *rcpt_peer(struct daemon *d, const struct message *m, const struct message_rcpt *rc)
{
    if (rc->peer && rc->attempts > 0)
        return rc->peer;
    const struct config_route *rt = NULL;
    if (admin_route_rcpt(d, m, rc, &rt) == 0 && rt)
        return rt->peer ? rt->peer->name : NULL;
    return rc->peer;
}



static void do_peers(struct daemon *d, struct control_req *req, int argc, char **argv)
{
    int json = argc == 2 && !strcmp(argv[1], "--json");
    if (argc > 2 || (argc == 2 && !json)) {
        control_req_finish(req, MG_EINVAL, "peers takes only --json");
        return;
    }
    struct peer_table t = { .v = calloc(d->cfg->n_peers ? d->cfg->n_peers : 1, sizeof *t.v) };
    if (!t.v) {
        control_req_finish(req, MG_ENOMEM, NULL);
        return;
    }
    for (size_t i = 0; i < d->cfg->n_peers; i++) {
        const struct config_peer *p = &d->cfg->peers[i];
        struct peer_row *r = &t.v[t.n++];
        r->name = p->name;
        r->type = p->type == CONFIG_PEER_X400 ? "x400" : "smtp";
        r->host = p->host ? p->host : p->mx ? "(mx)" : p->presentation_address ? p->presentation_address : "-";
    }
    qmgr_foreach_dest(d->qmgr, dest_cb, &t);
    struct admin_ids iv;
    int rc = admin_queue_ids(d, &iv);
    for (size_t i = 0; rc == 0 && i < iv.n; i++) {
        struct message *m = NULL;
        if (queue_store_get(d->store, iv.v[i], &m) != 0)
            continue;
        for (size_t k = 0; k < m->nrcpts; k++) {
            const struct message_rcpt *rc2 = &m->rcpts[k];
            if (message_rcpt_state_is_final(rc2->state))
                continue;
            const char *pn = rcpt_peer(d, m, rc2);
            struct peer_row *r = pn ? row_for(&t, pn) : NULL;
            if (!r)
                continue;
            if (r->last_msg != i + 1)
                r->queued++, r->last_msg = i + 1;
            if (rc2->state == MESSAGE_RCPT_DEFERRED) {
                if (r->last_def != i + 1)
                    r->deferred++, r->last_def = i + 1;
                if (!r->next_attempt || rc2->next_attempt < r->next_attempt)
                    r->next_attempt = rc2->next_attempt;
                if (rc2->last_reply && rc2->last_attempt >= r->last_attempt && !r->last_error[0])
                    snprintf(r->last_error, sizeof r->last_error, "%s", rc2->last_reply);
            }
            if (rc2->last_attempt > r->last_attempt && rc2->state == MESSAGE_RCPT_DEFERRED)
                r->last_attempt = rc2->last_attempt;
        }
        message_free(m);
    }
    free(iv.v);
    if (!json)
        control_req_printf(req, "%-16s %-4s %-24s %4s %6s %8s %-20s %-20s %s\n", "PEER", "TYPE", "HOST",
                           "CONN", "QUEUED", "DEFERRED", "LAST ERROR AT", "NEXT ATTEMPT", "LAST ERROR");
    else
        control_req_printf(req, "[");
    for (size_t i = 0; i < t.n; i++) {
        const struct peer_row *r = &t.v[i];
        char la[32], na[32];
        admin_fmt_time(r->last_error[0] ? r->last_attempt : 0, la, sizeof la);
        admin_fmt_time(r->next_attempt ? r->next_attempt : r->throttled_until, na, sizeof na);
        if (!json) {
            control_req_printf(req, "%-16s %-4s %-24s %4zu %6zu %8zu %-20s %-20s %s\n", r->name, r->type, r->host,
                               r->active, r->queued, r->deferred, la, na, r->last_error[0] ? r->last_error : "-");
            continue;
        }
        char e[600];
        size_t o = 0;
        for (const char *p = r->last_error; *p && o + 8 < sizeof e; p++) {
            if (*p == '"' || *p == '\\')
                e[o++] = '\\', e[o++] = *p;
            else if ((unsigned char)*p < 0x20)
                o += (size_t)snprintf(e + o, sizeof e - o, "\\u%04x", (unsigned char)*p);
            else
                e[o++] = *p;
        }
        e[o] = 0;
        control_req_printf(req, "%s{\"name\":\"%s\",\"type\":\"%s\",\"connections\":%zu,\"waiting\":%zu,"
                                "\"queued\":%zu,\"deferred\":%zu,\"last_error\":\"%s\",\"last_error_at\":\"%s\","
                                "\"next_attempt\":\"%s\"}",
                           i ? ",\n" : "", r->name, r->type, r->active, r->waiting, r->queued, r->deferred, e,
                           la, na);
    }
    if (json)
        control_req_printf(req, "]\n");
    free(t.v);
    control_req_finish(req, rc, NULL);
}

/* peer hold|release|flush NAME: the words of a bulk queue request on that peer's messages. */
static void do_peer(struct daemon *d, struct control_req *req, int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "hold") && strcmp(argv[1], "release") && strcmp(argv[1], "flush"))) {
        control_req_finish(req, MG_EINVAL, "peer takes hold|release|flush NAME");
        return;
    }
    const char *name = argv[2];
    if (!config_find_peer(d->cfg, name)) {
        control_req_finish(req, MG_ENOTFOUND, "no such peer in the configuration");
        return;
    }
    char reason_w[96];
    snprintf(reason_w, sizeof reason_w, "peer %s held by operator", name);
    char *w[16];
    int n = 0;
    w[n++] = "queue";
    if (!strcmp(argv[1], "flush")) {
        w[n++] = "retry", w[n++] = "--all", w[n++] = "--not-held";
        w[n++] = "--state", w[n++] = "deferred";
    } else if (!strcmp(argv[1], "hold")) {
        mg_info("event=admin_peer_hold peer=%s", name);
        int hr = qmgr_peer_hold(d->qmgr, name, reason_w);
        if (hr != 0 && hr != MG_EEXIST) {
            control_req_finish(req, hr, NULL);
            return;
        }
        w[n++] = "hold", w[n++] = "--all", w[n++] = "--not-held", w[n++] = "--reason";
        w[n++] = "peer", w[n++] = (char *)name, w[n++] = "held", w[n++] = "by", w[n++] = "operator";
        /* --peer goes before --reason (everything after it is the reason) */
        memmove(&w[4], &w[2], (size_t)(n - 2) * sizeof *w);
        w[2] = "--peer", w[3] = (char *)name;
        n += 2;
        w[n] = NULL;
        admin_queue_handle(d, req, n, w);
        return;
    } else {
        mg_info("event=admin_peer_release peer=%s", name);
        qmgr_peer_release(d->qmgr, name); /* MG_ENOTFOUND: only its messages were held */
        w[n++] = "release", w[n++] = "--all", w[n++] = "--held-reason", w[n++] = reason_w;
    }
    w[n++] = "--peer";
    w[n++] = (char *)name;
    w[n] = NULL;
    admin_queue_handle(d, req, n, w);
}

int admin_peers_handle(struct daemon *d, struct control_req *req, int argc, char **argv)
{
    if (!strcmp(argv[0], "peers"))
        do_peers(d, req, argc, argv);
    else if (!strcmp(argv[0], "peer"))
        do_peer(d, req, argc, argv);
    else
        return 0;
    return 1;
}
