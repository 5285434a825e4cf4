/* admin_queue: the operator's view of the queue over the control socket: `queue list` (one
 * entry per message with each recipient's state and last reason, like postqueue -p; filters;
 * JSON), `queue cat` (envelope and content), `queue history`, and hold / release / delete /
 * retry on several ids or on every message a filter selects. Every word of a request is
 * understood or the request is refused: a typo never becomes a reason or a no-op. */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include "admin_queue.h"
#include "inbound_p1.h"

#include "mg_err.h"
#include "mg_log.h"
#include "route.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- filters ------------------------------------------------------------------------------ */

struct qfilter {
    int state;              /* enum message_rcpt_state, or -1 = any */
    int held;               /* -1 any, 1 held (message or a recipient), 0 not held */
    const char *peer, *channel, *from, *to;
    const char *held_reason; /* exact hold reason (peer release) */
    int64_t older_s;        /* -1 = any */
    int json;
    int all;                /* --all given (bulk operations) */
    int raw;                /* --raw (cat) */
};

static int parse_duration(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0)
        return MG_EINVAL;
    long long mul = 1;
    if (*end == 's') mul = 1, end++;
    else if (*end == 'm') mul = 60, end++;
    else if (*end == 'h') mul = 3600, end++;
    else if (*end == 'd') mul = 86400, end++;
    if (*end || v > INT64_MAX / 86400)
        return MG_EINVAL;
    *out = (int64_t)(v * mul);
    return 0;
}

/* Reads the options in argv[from..argc) that `allowed` names ("fjar": filters, --json, --all,
 * --raw); ids (when ids != NULL) are collected, anything else is an error in err. */
static int parse_args(int argc, char **argv, int from, const char *allowed, struct qfilter *f,
                      const char **ids, size_t *nids, char *err, size_t errlen)
{
    *f = (struct qfilter){ .state = -1, .held = -1, .older_s = -1 };
    if (nids)
        *nids = 0;
    int filters = strchr(allowed, 'f') != NULL;
    for (int i = from; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (filters && (!strcmp(a, "--state") || !strcmp(a, "--peer") || !strcmp(a, "--channel") ||
                        !strcmp(a, "--older") || !strcmp(a, "--from") || !strcmp(a, "--to") ||
                        !strcmp(a, "--held-reason"))) {
            if (!v) {
                snprintf(err, errlen, "%s needs a value", a);
                return MG_EINVAL;
            }
            i++;
            if (!strcmp(a, "--state")) {
                enum message_rcpt_state st;
                if (!strcmp(v, "held")) {
                    f->held = 1;
                } else if (message_rcpt_state_parse(v, &st) == 0) {
                    f->state = (int)st;
                } else {
                    snprintf(err, errlen, "--state takes pending, deferred, held, delivered or failed, not '%s'", v);
                    return MG_EINVAL;
                }
            } else if (!strcmp(a, "--older")) {
                if (parse_duration(v, &f->older_s) != 0) {
                    snprintf(err, errlen, "--older takes a duration like 90s, 30m, 4h, 2d, not '%s'", v);
                    return MG_EINVAL;
                }
            } else {
                *(!strcmp(a, "--peer") ? &f->peer : !strcmp(a, "--channel") ? &f->channel
                  : !strcmp(a, "--from") ? &f->from : !strcmp(a, "--to") ? &f->to : &f->held_reason) = v;
            }
        } else if (filters && !strcmp(a, "--held")) {
            f->held = 1;
        } else if (filters && !strcmp(a, "--not-held")) {
            f->held = 0;
        } else if (strchr(allowed, 'j') && !strcmp(a, "--json")) {
            f->json = 1;
        } else if (strchr(allowed, 'a') && !strcmp(a, "--all")) {
            f->all = 1;
        } else if (strchr(allowed, 'r') && !strcmp(a, "--raw")) {
            f->raw = 1;
        } else if (ids && message_id_valid(a) && *nids < CONTROL_ARGS_MAX) {
            ids[(*nids)++] = a;
        } else {
            snprintf(err, errlen, "%s '%s'", a[0] == '-' ? "unknown option" : ids ? "not a queue id:" : "unexpected argument", a);
            return MG_EINVAL;
        }
    }
    return 0;
}

static int rcpt_on_chain(struct daemon *d, const struct message *m, const struct message_rcpt *r,
                         const char *channel, const char *peer)
{
    /* Where the switch sends it: the route of its label (admin_route_rcpt), and the peer or
     * channel of its last attempt. Before any attempt the recorded names are submission's
     * guess, made before the label was known (the first rule whose label conditions might
     * hold), so they do not count then. */
    const struct config_route *rt = NULL;
    int routed = admin_route_rcpt(d, m, r, &rt) == 0 && rt;
    int tried = r->attempts > 0;
    if (peer) {
        if (tried && r->peer && !strcmp(r->peer, peer))
            return 1;
        return routed && rt->peer && !strcmp(rt->peer->name, peer);
    }
    if (tried && r->chain && !strcmp(r->chain, channel))
        return 1;
    for (size_t c = 0; routed && c < rt->n_chain; c++)
        if (!strcmp(rt->chain[c]->name, channel))
            return 1;
    return 0;
}

static int filter_match(struct daemon *d, const struct qfilter *f, const struct message *m, int64_t now)
{
    if (f->older_s >= 0 && now - m->arrival < f->older_s)
        return 0;
    if (f->from && fnmatch(f->from, m->originator, FNM_CASEFOLD) != 0)
        return 0;
    if (f->held_reason && (!m->hold || !m->hold_reason || strcmp(f->held_reason, m->hold_reason)))
        return 0;
    int any_held = m->hold;
    int state = f->state < 0, to = !f->to, peer = !f->peer, channel = !f->channel;
    for (size_t i = 0; i < m->nrcpts; i++) {
        const struct message_rcpt *r = &m->rcpts[i];
        any_held |= r->state == MESSAGE_RCPT_HELD;
        state |= (int)r->state == f->state;
        to |= f->to && fnmatch(f->to, r->addr, FNM_CASEFOLD) == 0;
        int live = !message_rcpt_state_is_final(r->state);
        peer |= f->peer && live && rcpt_on_chain(d, m, r, NULL, f->peer);
        channel |= f->channel && live && rcpt_on_chain(d, m, r, f->channel, NULL);
    }
    if (f->held >= 0 && any_held != f->held)
        return 0;
    return state && to && peer && channel;
}

static int collect_id(void *arg, const struct queue_store_summary *s)
{
    struct admin_ids *iv = arg;
    if (iv->n == iv->cap) {
        size_t cap = iv->cap ? iv->cap * 2 : 64;
        void *p = realloc(iv->v, cap * sizeof *iv->v);
        if (!p)
            return MG_ENOMEM;
        iv->v = p;
        iv->cap = cap;
    }
    snprintf(iv->v[iv->n++], MESSAGE_ID_SIZE, "%s", s->e.id);
    return 0;
}

int admin_queue_ids(struct daemon *d, struct admin_ids *iv)
{
    struct queue_store_filter f = { .held = -1 };
    *iv = (struct admin_ids){ 0 };
    return queue_store_list(d->store, &f, collect_id, iv);
}

/* ---- output helpers ----------------------------------------------------------------------- */


/* A JSON string (RFC 8259): quotes, backslash and control bytes escaped; other bytes as is. */
void admin_json_str(struct control_req *req, const char *s)
{
    char buf[1024];
    size_t o = 0;
    control_req_printf(req, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (o + 8 > sizeof buf) {
            control_req_printf(req, "%.*s", (int)o, buf);
            o = 0;
        }
        if (*p == '"' || *p == '\\')
            o += (size_t)snprintf(buf + o, sizeof buf - o, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "\\u%04x", *p);
        else
            buf[o++] = (char)*p;
    }
    control_req_printf(req, "%.*s\"", (int)o, buf);
}

static void print_text(struct control_req *req, const struct message *m)
{
    char t[32], n[32];
    admin_fmt_time(m->arrival, t, sizeof t);
    control_req_printf(req, "%s%c %9llu %s  <%s>\n", m->id, m->hold ? '!' : ' ',
                       (unsigned long long)m->content_size, t, m->originator);
    if (m->hold)
        control_req_printf(req, "%18s(held: %s)\n", "", m->hold_reason ? m->hold_reason : "no reason given");
    int64_t nb = inbound_p1_not_before(m);
    if (nb > (int64_t)time(NULL)) {
        admin_fmt_time(nb, n, sizeof n);
        control_req_printf(req, "%18s(deferred delivery until %s)\n", "", n);
    }
    for (size_t i = 0; i < m->nrcpts; i++) {
        const struct message_rcpt *r = &m->rcpts[i];
        const char *st = r->state == MESSAGE_RCPT_HELD ? "held" : message_rcpt_state_name(r->state);
        control_req_printf(req, "%18s%-9s <%s>", "", st, r->addr);
        if (r->peer)
            control_req_printf(req, " peer=%s", r->peer);
        if (r->attempts)
            control_req_printf(req, " attempts=%u", r->attempts);
        if (r->state == MESSAGE_RCPT_DEFERRED) {
            admin_fmt_time(r->next_attempt, n, sizeof n);
            control_req_printf(req, " next=%s", n);
        }
        if (r->last_reply)
            control_req_printf(req, " (%s)", r->last_reply);
        control_req_printf(req, "\n");
    }
}

static void print_json(struct control_req *req, const struct message *m, int first)
{
    char t[32];
    admin_fmt_time(m->arrival, t, sizeof t);
    control_req_printf(req, "%s{\"id\":\"%s\",\"size\":%llu,\"arrival\":\"%s\",\"priority\":%d,\"originator\":",
                       first ? "" : ",\n", m->id, (unsigned long long)m->content_size, t, m->priority);
    admin_json_str(req, m->originator);
    control_req_printf(req, ",\"held\":%s,\"hold_reason\":", m->hold ? "true" : "false");
    if (m->hold_reason)
        admin_json_str(req, m->hold_reason);
    else
        control_req_printf(req, "null");
    control_req_printf(req, ",\"recipients\":[");
    for (size_t i = 0; i < m->nrcpts; i++) {
        const struct message_rcpt *r = &m->rcpts[i];
        char la[32], na[32];
        admin_fmt_time(r->last_attempt, la, sizeof la);
        admin_fmt_time(r->next_attempt, na, sizeof na);
        control_req_printf(req, "%s{\"address\":", i ? "," : "");
        admin_json_str(req, r->addr);
        control_req_printf(req, ",\"state\":\"%s\",\"attempts\":%u,\"last_attempt\":\"%s\",\"next_attempt\":\"%s\",\"peer\":",
                           r->state == MESSAGE_RCPT_HELD ? "held" : message_rcpt_state_name(r->state),
                           r->attempts, la, r->state == MESSAGE_RCPT_DEFERRED ? na : "-");
        admin_json_str(req, r->peer ? r->peer : "");
        control_req_printf(req, ",\"channel\":");
        admin_json_str(req, r->chain ? r->chain : "");
        control_req_printf(req, ",\"reason\":");
        admin_json_str(req, r->last_reply ? r->last_reply : "");
        control_req_printf(req, "}");
    }
    control_req_printf(req, "]}");
}

/* ---- list --------------------------------------------------------------------------------- */

static void do_list(struct daemon *d, struct control_req *req, int argc, char **argv)
{
    struct qfilter f;
    char err[256];
    int from = 2;
    /* The first word may still be the old state name. */
    static const char *const legacy[] = { "all", "deferred", "held", "active", "pending" };
    const char *leg = NULL;
    for (size_t i = 0; argc > 2 && i < sizeof legacy / sizeof *legacy; i++)
        if (!strcmp(argv[2], legacy[i]))
            leg = legacy[i], from = 3;
    if (parse_args(argc, argv, from, "fj", &f, NULL, NULL, err, sizeof err) != 0) {
        control_req_finish(req, MG_EINVAL, err);
        return;
    }
    if (leg && !strcmp(leg, "held"))
        f.held = 1;
    else if (leg && !strcmp(leg, "deferred"))
        f.state = MESSAGE_RCPT_DEFERRED, f.held = 0;
    else if (leg && (!strcmp(leg, "active") || !strcmp(leg, "pending")))
        f.state = MESSAGE_RCPT_PENDING, f.held = 0;
    struct admin_ids iv;
    int rc = admin_queue_ids(d, &iv);
    int64_t now = (int64_t)time(NULL);
    size_t shown = 0;
    unsigned long long bytes = 0;
    if (f.json)
        control_req_printf(req, "[");
    else
        control_req_printf(req, "%-16s  %9s %-20s  %s\n", "-Queue ID-", "--Size--", "----Arrival Time----",
                           "-Sender/Recipient (state, peer, reason)-");
    for (size_t i = 0; rc == 0 && i < iv.n; i++) {
        struct message *m = NULL;
        if (queue_store_get(d->store, iv.v[i], &m) != 0)
            continue; /* gone since the listing */
        if (filter_match(d, &f, m, now)) {
            if (f.json)
                print_json(req, m, shown == 0);
            else
                print_text(req, m);
            shown++;
            bytes += m->content_size;
        }
        message_free(m);
    }
    free(iv.v);
    if (f.json)
        control_req_printf(req, "]\n");
    else if (rc == 0)
        control_req_printf(req, "-- %zu message%s, %llu bytes\n", shown, shown == 1 ? "" : "s", bytes);
    control_req_finish(req, rc, NULL);
}

/* ---- cat ---------------------------------------------------------------------------------- */

static void b64_lines(struct control_req *req, const unsigned char *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char line[80];
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        line[o++] = tbl[v >> 18 & 63];
        line[o++] = tbl[v >> 12 & 63];
        line[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        line[o++] = i + 2 < n ? tbl[v & 63] : '=';
        if (o >= 76 || i + 3 >= n) {
            control_req_printf(req, "%.*s\n", (int)o, line);
            o = 0;
        }
    }
}

static const char *content_type_name(enum message_content_type t)
{
    switch (t) {
    case MESSAGE_CONTENT_RFC5322: return "rfc5322";
    case MESSAGE_CONTENT_X400_P22: return "x400-p22";
    case MESSAGE_CONTENT_X400_REPORT: return "x400-report";
    case MESSAGE_CONTENT_OTHER: break;
    }
    return "other";
}

/* The envelope as header-like lines, a blank line, "content-base64 TYPE SIZE", then the bytes
 * in base64: the client shows them (text, or decoded X.400) or writes them raw. */
static void do_cat(struct daemon *d, struct control_req *req, int argc, char **argv)
{
    struct qfilter f;
    char err[256] = "";
    const char *ids[CONTROL_ARGS_MAX];
    size_t nids = 0;
    if (parse_args(argc, argv, 2, "r", &f, ids, &nids, err, sizeof err) != 0 || nids != 1) {
        control_req_finish(req, MG_EINVAL, nids != 1 && !err[0] ? "cat takes one queue id" : err);
        return;
    }
    struct message *m = NULL;
    int rc = queue_store_get(d->store, ids[0], &m);
    if (rc != 0) {
        control_req_finish(req, rc, rc == MG_ENOTFOUND ? "no such message in the queue" : NULL);
        return;
    }
    unsigned char *data = NULL;
    size_t len = 0;
    if ((rc = queue_store_read_content(d->store, m->id, &data, &len)) != 0) {
        message_free(m);
        control_req_finish(req, rc, "cannot read the content");
        return;
    }
    char t[32];
    admin_fmt_time(m->arrival, t, sizeof t);
    control_req_printf(req, "*** ENVELOPE RECORDS %s ***\nqueue_id: %s\narrival: %s\nsender: <%s>\n"
                            "content_type: %s\ncontent_size: %zu\n",
                       m->id, m->id, t, m->originator, content_type_name(m->content_type), len);
    if (m->envid)
        control_req_printf(req, "envid: %s\n", m->envid);
    if (m->received_from)
        control_req_printf(req, "received_from: %s (%s)\n", m->received_from,
                           m->received_proto ? m->received_proto : "-");
    if (m->hold)
        control_req_printf(req, "held: %s\n", m->hold_reason ? m->hold_reason : "yes");
    for (size_t i = 0; i < m->nrcpts; i++) {
        const struct message_rcpt *r = &m->rcpts[i];
        control_req_printf(req, "recipient: <%s> state=%s%s%s\n", r->addr,
                           r->state == MESSAGE_RCPT_HELD ? "held" : message_rcpt_state_name(r->state),
                           r->orcpt ? " orcpt=" : "", r->orcpt ? r->orcpt : "");
    }
    control_req_printf(req, "*** MESSAGE CONTENTS %s ***\ncontent-base64 %s %zu\n", m->id,
                       content_type_name(m->content_type), len);
    b64_lines(req, data, len);
    control_req_printf(req, "*** END OF MESSAGE %s ***\n", m->id);
    free(data);
    message_free(m);
    control_req_finish(req, 0, NULL);
}

/* ---- history ------------------------------------------------------------------------------ */

struct hist_ctx {
    struct control_req *req;
    const char *id;
    size_t shown;
};

static int hist_one(void *arg, const struct queue_store_history *h)
{
    struct hist_ctx *c = arg;
    if (c->id && strcmp(c->id, h->id))
        return 0;
    char a[32], f[32];
    admin_fmt_time(h->arrival, a, sizeof a);
    admin_fmt_time(h->finished, f, sizeof f);
    control_req_printf(c->req, "%s %-7s arrival=%s finished=%s from=<%s> rcpts=%u delivered=%u failed=%u\n",
                       h->id, h->outcome, a, f, h->originator ? h->originator : "", h->nrcpts,
                       h->ndelivered, h->nfailed);
    c->shown++;
    return 0;
}

static int audit_one(void *arg, const struct audit_entry *e)
{
    struct hist_ctx *c = arg;
    char t[32];
    admin_fmt_time(e->r.time_us / 1000000, t, sizeof t);
    control_req_printf(c->req, "  %s audit channel=%s decision=%s rcpt=<%s> reason=\"%s\"\n", t, e->r.channel,
                       e->r.decision, e->r.rcpt, e->r.reason);
    return 0;
}

static void do_history(struct daemon *d, struct control_req *req, int argc, char **argv)
{
    struct qfilter f;
    char err[256] = "";
    const char *ids[CONTROL_ARGS_MAX];
    size_t nids = 0;
    if (parse_args(argc, argv, 2, "", &f, ids, &nids, err, sizeof err) != 0 || nids > 1) {
        control_req_finish(req, MG_EINVAL, err[0] ? err : "history takes at most one queue id");
        return;
    }
    struct hist_ctx c = { .req = req, .id = nids ? ids[0] : NULL };
    if (c.id) {
        struct message *m = NULL;
        if (queue_store_get(d->store, c.id, &m) == 0) {
            char t[32];
            admin_fmt_time(m->arrival, t, sizeof t);
            control_req_printf(req, "%s queued  arrival=%s from=<%s>%s%s\n", m->id, t, m->originator,
                               m->hold ? " held: " : "", m->hold ? (m->hold_reason ? m->hold_reason : "yes") : "");
            for (size_t i = 0; i < m->nrcpts; i++) {
                const struct message_rcpt *r = &m->rcpts[i];
                char la[32];
                admin_fmt_time(r->last_attempt, la, sizeof la);
                control_req_printf(req, "  <%s> %s attempts=%u last=%s%s%s\n", r->addr,
                                   r->state == MESSAGE_RCPT_HELD ? "held" : message_rcpt_state_name(r->state),
                                   r->attempts, la, r->last_reply ? " reply: " : "", r->last_reply ? r->last_reply : "");
            }
            c.shown++;
            message_free(m);
        }
    }
    int rc = queue_store_history(d->store, c.id ? 0 : 100, hist_one, &c);
    if (rc == 0 && c.id) {
        struct audit_filter af = { .qid = c.id };
        rc = audit_query(d->audit, &af, audit_one, &c);
        if (c.shown == 0) {
            control_req_finish(req, MG_ENOTFOUND, "no such message in the queue or its history");
            return;
        }
    }
    control_req_finish(req, rc, NULL);
}

/* ---- bulk operations ---------------------------------------------------------------------- */

enum bulk_op { BULK_HOLD, BULK_RELEASE, BULK_DELETE, BULK_RETRY };
static const char *const bulk_names[] = { "hold", "release", "delete", "retry" };

struct bulk {
    struct daemon *d;
    struct control_req *req;
    enum bulk_op op;
    char *reason;                     /* owned; hold only */
    struct admin_ids ids;                 /* owned */
    size_t next, done, failed;
};

static void bulk_step(struct bulk *b);

static void bulk_report(struct bulk *b, const char *id, int rc)
{
    if (rc == 0) {
        b->done++;
        if (b->op == BULK_HOLD)
            mg_info("event=admin_hold qid=%s reason=\"%s\"", id, b->reason);
        else
            mg_info("event=admin_%s qid=%s", bulk_names[b->op], id);
        control_req_printf(b->req, "%s: %s\n", id, b->op == BULK_HOLD ? "held" : b->op == BULK_RELEASE ? "released"
                                                                   : b->op == BULK_DELETE ? "deleted" : "due now");
    } else {
        b->failed++;
        control_req_printf(b->req, "%s: %s\n", id, rc == MG_ENOTFOUND ? "no such message in the queue"
                                               : rc == MG_ESTATE ? "held: release it first" : mg_strerror(rc));
    }
}

static void bulk_done_one(void *arg, int status)
{
    struct bulk *b = arg;
    bulk_report(b, b->ids.v[b->next - 1], status);
    bulk_step(b);
}

static void bulk_step(struct bulk *b)
{
    while (b->next < b->ids.n) {
        const char *id = b->ids.v[b->next++];
        int rc;
        switch (b->op) {
        case BULK_RETRY: rc = qmgr_retry(b->d->qmgr, id); break;
        case BULK_HOLD: rc = qmgr_hold(b->d->qmgr, id, b->reason, bulk_done_one, b); break;
        case BULK_RELEASE: rc = qmgr_release(b->d->qmgr, id, bulk_done_one, b); break;
        default: rc = qmgr_delete(b->d->qmgr, id, bulk_done_one, b); break;
        }
        if (rc == 0 && b->op != BULK_RETRY)
            return; /* bulk_done_one goes on */
        bulk_report(b, id, rc);
    }
    char sum[128];
    snprintf(sum, sizeof sum, "%zu of %zu failed", b->failed, b->ids.n);
    control_req_printf(b->req, "-- %zu message%s %s\n", b->done, b->done == 1 ? "" : "s",
                       b->op == BULK_HOLD ? "held" : b->op == BULK_RELEASE ? "released"
                       : b->op == BULK_DELETE ? "deleted" : "made due");
    control_req_finish(b->req, b->failed ? MG_ENOTFOUND : 0, b->failed ? sum : NULL);
    free(b->reason);
    free(b->ids.v);
    free(b);
}

static void do_bulk(struct daemon *d, struct control_req *req, enum bulk_op op, int argc, char **argv)
{
    /* hold: everything after --reason is the reason (the protocol splits words). */
    int end = argc;
    char reason[512] = "held by administrator";
    if (op == BULK_HOLD) {
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--reason")) {
                end = i;
                reason[0] = 0;
                for (int k = i + 1; k < argc; k++)
                    snprintf(reason + strlen(reason), sizeof reason - strlen(reason), "%s%s", k > i + 1 ? " " : "", argv[k]);
                if (!reason[0]) {
                    control_req_finish(req, MG_EINVAL, "--reason needs a text");
                    return;
                }
                break;
            }
        }
    }
    struct qfilter f;
    char err[256];
    const char *ids[CONTROL_ARGS_MAX];
    size_t nids = 0;
    if (parse_args(end, argv, 2, "fa", &f, ids, &nids, err, sizeof err) != 0) {
        control_req_finish(req, MG_EINVAL, err);
        return;
    }
    int filtered = f.state >= 0 || f.held >= 0 || f.peer || f.channel || f.from || f.to || f.older_s >= 0 ||
                   f.held_reason;
    if (f.all == (nids > 0) || (filtered && !f.all)) {
        control_req_finish(req, MG_EINVAL, nids ? "give queue ids or --all [filters], not both"
                                                : filtered ? "filters select messages only with --all"
                                                           : "which messages? give queue ids or --all [filters]");
        return;
    }
    struct bulk *b = calloc(1, sizeof *b);
    if (!b || !(b->reason = strdup(reason))) {
        free(b);
        control_req_finish(req, MG_ENOMEM, NULL);
        return;
    }
    b->d = d;
    b->req = req;
    b->op = op;
    int rc = 0;
    if (f.all) {
        struct admin_ids all;
        rc = admin_queue_ids(d, &all);
        int64_t now = (int64_t)time(NULL);
        for (size_t i = 0; rc == 0 && i < all.n; i++) {
            struct message *m = NULL;
            if (queue_store_get(d->store, all.v[i], &m) != 0)
                continue;
            if (filter_match(d, &f, m, now)) {
                struct queue_store_summary s = { 0 };
                snprintf(s.e.id, sizeof s.e.id, "%s", m->id);
                rc = collect_id(&b->ids, &s);
            }
            message_free(m);
        }
        free(all.v);
    } else {
        for (size_t i = 0; rc == 0 && i < nids; i++) {
            struct queue_store_summary s = { 0 };
            snprintf(s.e.id, sizeof s.e.id, "%s", ids[i]);
            rc = collect_id(&b->ids, &s);
        }
    }
    if (rc != 0) {
        free(b->reason);
        free(b->ids.v);
        free(b);
        control_req_finish(req, rc, NULL);
        return;
    }
    bulk_step(b);
}

int admin_queue_handle(struct daemon *d, struct control_req *req, int argc, char **argv)
{
    const char *op = argv[1];
    if (!strcmp(op, "list"))
        do_list(d, req, argc, argv);
    else if (!strcmp(op, "cat"))
        do_cat(d, req, argc, argv);
    else if (!strcmp(op, "history"))
        do_history(d, req, argc, argv);
    else if (!strcmp(op, "hold"))
        do_bulk(d, req, BULK_HOLD, argc, argv);
    else if (!strcmp(op, "release"))
        do_bulk(d, req, BULK_RELEASE, argc, argv);
    else if (!strcmp(op, "delete"))
        do_bulk(d, req, BULK_DELETE, argc, argv);
    else if (!strcmp(op, "retry"))
        do_bulk(d, req, BULK_RETRY, argc, argv);
    else
        return 0;
    return 1;
}
