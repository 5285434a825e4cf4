/* report: report decision and building for both worlds (see report.h). */
#include "report.h"
#include "mg_err.h"
#include "mg_log.h"

#include <stdlib.h>
#include <string.h>

enum report_world report_world_of(const struct message *m)
{
    /* An X.400 originator arrived over P1 (the P1 channel sets received_proto "P1"). */
    if (m->received_proto && !strcmp(m->received_proto, "P1"))
        return REPORT_WORLD_X400;
    return REPORT_WORLD_INTERNET;
}

int report_is_report(const struct message *m)
{
    if (m->content_type == MESSAGE_CONTENT_X400_REPORT)
        return 1;
    /* RFC 5321 4.5.5: a report goes out with the null reverse path, and nothing is ever sent
     * back to it. */
    return !m->originator || !m->originator[0];
}

/* The reports r's originator gets from us: its NOTIFY (0: RFC 3461's default), plus what
 * the gateway serves the X.400 originating MTA itself (RFC 2156 A.3.2), even under NEVER. */
static unsigned report_notify(const struct message_rcpt *r)
{
    unsigned gw = ((r->flags & MESSAGE_RCPT_F_GW_SUCCESS) ? MESSAGE_NOTIFY_SUCCESS : 0) |
                  ((r->flags & MESSAGE_RCPT_F_GW_FAILURE) ? MESSAGE_NOTIFY_FAILURE : 0);
    if (!gw)
        return r->notify;
    unsigned n = r->notify ? r->notify : MESSAGE_NOTIFY_FAILURE | MESSAGE_NOTIFY_DELAY;
    if (n & MESSAGE_NOTIFY_NEVER)
        n = 0;
    return n | gw;
}

int report_decide(const struct message *m, const struct message_rcpt *r,
                  const struct channel_outcome *o, int delayed, enum dsn_action *action)
{
    if (report_is_report(m))
        return 0;
    enum dsn_action a;
    if (delayed)
        a = DSN_ACTION_DELAYED;
    else if (o->action == CHANNEL_FAILED)
        a = DSN_ACTION_FAILED;
    else if (o->action == CHANNEL_DELIVERED)
        a = DSN_ACTION_DELIVERED;
    else if (o->action == CHANNEL_RELAYED) {
        /* The next hop reports from now on when it took the DSN parameters, unless the
         * gateway owes the X.400 originating MTA a report NOTIFY did not pass on. */
        if ((o->flags & CHANNEL_OUT_NEXT_HOP_REPORTS) && !(r->flags & MESSAGE_RCPT_F_GW_SUCCESS))
            return 0;
        a = DSN_ACTION_RELAYED;
    } else
        return 0;
    if (!dsn_wanted(report_notify(r), a))
        return 0;
    *action = a;
    return 1;
}

int report_build(const struct report_ctx *ctx, const struct message *orig,
                 const struct report_item *items, size_t n, const void *content,
                 size_t content_len, struct message **out_msg, unsigned char **out_content,
                 size_t *out_len)
{
    if (!ctx || !orig || (!items && n) || !out_msg || !out_content || !out_len)
        return MG_EINVAL;
    *out_msg = NULL;
    *out_content = NULL;
    *out_len = 0;
    if (n == 0 || report_is_report(orig))
        return 0;
    /* The builders give the report orig's label: a read-only view of orig with the stand-in
     * label when it has none (the struct is copied, not what it points to). */
    struct message view;
    if ((!orig->label || !orig->label_len) && ctx->unlabelled_label && ctx->unlabelled_label_len) {
        view = *orig;
        view.label = (unsigned char *)ctx->unlabelled_label;
        view.label_len = ctx->unlabelled_label_len;
        orig = &view;
    }
    if (report_world_of(orig) == REPORT_WORLD_X400) {
        if (!ctx->x400)
            return 0;
        return ctx->x400(ctx->x400_ctx, orig, items, n, content, content_len, ctx->now, out_msg,
                         out_content, out_len);
    }
    struct dsn_rcpt *dr = calloc(n, sizeof *dr);
    if (!dr)
        return MG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        dr[i].rcpt = items[i].rcpt;
        dr[i].action = items[i].action;
        dr[i].status = items[i].status;
        dr[i].remote_mta = items[i].remote_mta;
        dr[i].diagnostic = items[i].diagnostic;
        dr[i].last_attempt = items[i].last_attempt;
        dr[i].will_retry_until = items[i].will_retry_until;
    }
    struct dsn_opts o = { .reporting_mta = ctx->reporting_mta, .now = ctx->now,
                          .priority = orig->priority };
    int rc = dsn_build(orig, dr, n, content, content_len, &o, out_msg, out_content, out_len);
    free(dr);
    return rc;
}

int report_match(struct queue_store *store, const char *report_qid, const char *subject_key,
                 struct queue_store_subject *out)
{
    if (!store || !subject_key || !*subject_key || !out)
        return MG_EINVAL;
    char q[1100];
    int rc = queue_store_find_subject(store, subject_key, out);
    if (rc == 0)
        mg_info("event=report_matched qid=%s subject=%s subject_qid=%s subject_state=%s "
                "originator=<%s>", report_qid ? report_qid : "-",
                mg_log_quote(subject_key, q, sizeof q), out->id, out->live ? "queued" : "finished",
                out->originator);
    else if (rc == MG_ENOTFOUND)
        mg_info("event=report_unmatched qid=%s subject=%s", report_qid ? report_qid : "-",
                mg_log_quote(subject_key, q, sizeof q));
    return rc;
}
