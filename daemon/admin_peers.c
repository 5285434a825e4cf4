/* admin_peers: `mixgate peers` (per configured SMTP and X.400 peer: deliveries open, messages
 * queued and deferred, the last error and when, the next attempt) and `mixgate peer
 * hold|release|flush NAME`. The queue manager's per-destination state (qmgr_foreach_dest)
 * gives what is happening now; the queue gives what is waiting.
 *
 * `peer hold` holds the peer in the queue manager (qmgr_peer_hold: no delivery to it starts;
 * what waits or arrives for it is deferred with "peer NAME held by operator[: the operator's
 * words]"; kept in the queue store, so it survives a restart) and also holds every message
 * queued now with a recipient for the peer (reason "peer NAME held by operator", which is what
 * `peer release` looks for); `peer release` undoes both. `peers` shows the holds,
 * also of peers the configuration no longer names. */
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
    const char *held;          /* the hold's reason (the queue manager's), or NULL */
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

static void count_hold(void *arg, const char *peer, const char *reason, int64_t since)
{
    (void)peer, (void)reason, (void)since;
    ++*(size_t *)arg;
}

/* A held peer: its row, or a row of its own when the configuration no longer names it. */
static void hold_cb(void *arg, const char *peer, const char *reason, int64_t since)
{
    (void)since;
    struct peer_table *t = arg;
    struct peer_row *r = row_for(t, peer);
    if (!r) {
        r = &t->v[t->n++];
        r->name = peer;
        r->type = "-";
        r->host = "(unconfigured)";
    }
    r->held = reason;
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
    size_t nholds = 0;
    qmgr_foreach_peer_hold(d->qmgr, count_hold, &nholds);
    struct peer_table t = { .v = calloc(d->cfg->n_peers + nholds + 1, sizeof *t.v) };
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
    qmgr_foreach_peer_hold(d->qmgr, hold_cb, &t);
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
        control_req_printf(req, "%-16s %-4s %-24s %4s %6s %8s %-4s %-20s %-20s %s\n", "PEER", "TYPE",
                           "HOST", "CONN", "QUEUED", "DEFERRED", "HELD", "LAST ERROR AT", "NEXT ATTEMPT",
                           "LAST ERROR");
    else
        control_req_printf(req, "[");
    for (size_t i = 0; i < t.n; i++) {
        const struct peer_row *r = &t.v[i];
        char la[32], na[32];
        admin_fmt_time(r->last_error[0] ? r->last_attempt : 0, la, sizeof la);
        admin_fmt_time(r->next_attempt ? r->next_attempt : r->throttled_until, na, sizeof na);
        if (!json) {
            control_req_printf(req, "%-16s %-4s %-24s %4zu %6zu %8zu %-4s %-20s %-20s %s\n", r->name, r->type,
                               r->host, r->active, r->queued, r->deferred, r->held ? "yes" : "-", la, na,
                               r->last_error[0] ? r->last_error : "-");
            continue;
        }
        control_req_printf(req, "%s{\"name\":", i ? ",\n" : "");
        admin_json_str(req, r->name);
        control_req_printf(req, ",\"type\":\"%s\",\"connections\":%zu,\"waiting\":%zu,\"queued\":%zu,"
                                "\"deferred\":%zu,\"held\":%s,\"hold_reason\":",
                           r->type, r->active, r->waiting, r->queued, r->deferred,
                           r->held ? "true" : "false");
        admin_json_str(req, r->held);
        control_req_printf(req, ",\"last_error\":");
        admin_json_str(req, r->last_error);
        control_req_printf(req, ",\"last_error_at\":\"%s\",\"next_attempt\":\"%s\"}", la, na);
    }
    if (json)
        control_req_printf(req, "]\n");
    free(t.v);
    control_req_finish(req, rc, NULL);
}

/* The bulk queue request on the peer's messages, once the peer's own hold or release is
 * durable (or at once for flush and for a release of a peer that was not held). */
struct peer_op {
    struct daemon *d;
    struct control_req *req;
    char op[8];
    char name[];
};

static void peer_messages(struct daemon *d, struct control_req *req, const char *op, const char *name)
{
    char reason_w[MESSAGE_TEXT_MAX + 32];
    snprintf(reason_w, sizeof reason_w, "peer %s held by operator", name);
    char *w[20];
    int n = 0;
    w[n++] = "queue";
    if (!strcmp(op, "flush")) {
        w[n++] = "retry", w[n++] = "--all", w[n++] = "--not-held";
        w[n++] = "--state", w[n++] = "deferred";
    } else if (!strcmp(op, "hold")) {
        /* --peer goes before --reason (everything after it is the reason) */
        w[n++] = "hold", w[n++] = "--all", w[n++] = "--peer", w[n++] = (char *)name;
        w[n++] = "--not-held", w[n++] = "--reason";
        w[n++] = "peer", w[n++] = (char *)name, w[n++] = "held", w[n++] = "by", w[n++] = "operator";
        w[n] = NULL;
        admin_queue_handle(d, req, n, w);
        return;
    } else {
        w[n++] = "release", w[n++] = "--all", w[n++] = "--held-reason", w[n++] = reason_w;
    }
    w[n++] = "--peer";
    w[n++] = (char *)name;
    w[n] = NULL;
    admin_queue_handle(d, req, n, w);
}

static void peer_stored(void *arg, int status)
{
    struct peer_op *po = arg;
    if (status != 0) {
        char why[200];
        snprintf(why, sizeof why, "the peer's %s is in force but was not stored (%s): it does not "
                 "survive a restart", po->op, mg_strerror(status));
        control_req_finish(po->req, status, why);
    } else {
        peer_messages(po->d, po->req, po->op, po->name);
    }
    free(po);
}

/* peer hold NAME [--reason WORDS...] | release NAME | flush NAME. hold: the peer in the queue
 * manager (kept in the queue store, with the operator's words) and then its queued messages;
 * release: both undone. A hold outlives its peer's removal from the configuration, so release
 * also takes a held name the configuration no longer has. */
static void do_peer(struct daemon *d, struct control_req *req, int argc, char **argv)
{
    int ok = argc == 3 && (!strcmp(argv[1], "hold") || !strcmp(argv[1], "release") ||
                           !strcmp(argv[1], "flush"));
    ok = ok || (argc >= 5 && !strcmp(argv[1], "hold") && !strcmp(argv[3], "--reason"));
    if (!ok) {
        control_req_finish(req, MG_EINVAL, "peer takes hold NAME [--reason TEXT], release NAME or flush NAME");
        return;
    }
    const char *op = argv[1], *name = argv[2];
    char said[MESSAGE_TEXT_MAX / 2] = "";   /* the operator's words, one space between */
    for (int i = 4; i < argc; i++) {
        size_t n = strlen(said);
        snprintf(said + n, sizeof said - n, "%s%s", n ? " " : "", argv[i]);
    }
    int held = qmgr_peer_held(d->qmgr, name) != NULL;
    if (!config_find_peer(d->cfg, name) && !(held && !strcmp(op, "release"))) {
        control_req_finish(req, MG_ENOTFOUND, "no such peer in the configuration");
        return;
    }
    if (!strcmp(op, "flush")) {
        peer_messages(d, req, op, name);
        return;
    }
    struct peer_op *po = malloc(sizeof *po + strlen(name) + 1);
    if (!po) {
        control_req_finish(req, MG_ENOMEM, NULL);
        return;
    }
    po->d = d;
    po->req = req;
    snprintf(po->op, sizeof po->op, "%s", op);
    strcpy(po->name, name);
    int rc;
    if (!strcmp(op, "hold")) {
        mg_info("event=admin_peer_hold peer=%s reason=\"%s\"", name, said);
        rc = qmgr_peer_hold(d->qmgr, name, said, peer_stored, po);
        if (rc == MG_EEXIST)
            rc = 0;
    } else {
        mg_info("event=admin_peer_release peer=%s", name);
        rc = qmgr_peer_release(d->qmgr, name, peer_stored, po);
        if (rc == MG_ENOTFOUND) {   /* the peer was not held: only its messages may be */
            free(po);
            peer_messages(d, req, op, name);
            return;
        }
    }
    if (rc != 0) {
        free(po);
        control_req_finish(req, rc, NULL);
    }
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
