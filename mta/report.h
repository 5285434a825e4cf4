/* report: the one place that decides which report a message gets, and builds it.
 *
 * For each recipient outcome the queue manager records, report_decide() says whether a report
 * is due and of which action (failed, delayed, delivered, relayed), honouring NOTIFY, the
 * "never a report about a report" rule and whether the next hop took the reporting duty on.
 * report_build() then makes one report message for all the recipients of one attempt, in the
 * originator's world: an RFC 3464 DSN (dsn.c) for an Internet originator, an X.400 delivery /
 * non-delivery report for an X.400 one through the builder the P1 channel registers
 * (report_x400_builder; without one, X.400 originators get no report and the failure is logged
 * with its X.400 codes: nothing is dropped from the queue because of it). Reports are built from
 * the content as received (version 0), never from a processing channel's rewrite. */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "dsn.h"
#include "message.h"
#include "queue_store.h"

/* The originator's world decides the report format. */
enum report_world { REPORT_WORLD_INTERNET, REPORT_WORLD_X400 };
enum report_world report_world_of(const struct message *m);

/* One recipient's entry in a report. Strings are borrowed for the call. */
struct report_item {
    uint32_t rcpt;             /* index into the message's recipients */
    enum dsn_action action;
    const char *status;        /* RFC 3463 */
    const char *remote_mta;
    const char *diagnostic;    /* the reply or reason */
    int x400_reason, x400_diagnostic; /* CHANNEL_X400_NONE when not from / for X.400 */
    int64_t last_attempt;
    int64_t will_retry_until;  /* delayed only */
};

/* Returns 1 and sets *action when recipient r (of message m) gets a report for outcome o
 * (final state as recorded: delivered/relayed/failed; `delayed` for a first delay warning),
 * else 0. */
int report_decide(const struct message *m, const struct message_rcpt *r,
                  const struct channel_outcome *o, int delayed, enum dsn_action *action);

/* Builds an X.400 report: same contract as dsn_build (the P1 channel provides it). */
typedef int (*report_x400_build_fn)(void *ctx, const struct message *orig,
                                    const struct report_item *items, size_t n,
                                    const void *content, size_t content_len, int64_t now,
                                    struct message **out_msg, unsigned char **out_content,
                                    size_t *out_len);

struct report_ctx {
    const char *reporting_mta;            /* our host name */
    int64_t now;
    report_x400_build_fn x400;            /* NULL: no X.400 reports in this build */
    void *x400_ctx;
    /* Borrowed, may be NULL: the security label of a report whose subject has none (the label
     * switch's report label). A report carries its subject's label (X.411: the report's
     * message-security-label is the subject's), so the delivery gate decides it like the
     * subject; this one stands in when the subject had none. */
    const unsigned char *unlabelled_label;
    size_t unlabelled_label_len;
};

/* Builds the report for items[0..n) of orig in its originator's world. The report carries
 * orig's label, else ctx->unlabelled_label (both builders copy orig->label). *out_msg NULL when no
 * report is due or possible (logged by the caller). Errors: MG_EINVAL, MG_ENOMEM. */
int report_build(const struct report_ctx *ctx, const struct message *orig,
                 const struct report_item *items, size_t n, const void *content,
                 size_t content_len, struct message **out_msg, unsigned char **out_content,
                 size_t *out_len);

/* A report that arrives later (an X.400 report for a message we relayed, a DSN for one we
 * forwarded) names its subject by MTS identifier or ENVID: finds that message, still queued or
 * in the history, and logs the match (event=report_matched / report_unmatched) so an operator
 * can follow a non-delivery back to the message. 0 (out filled), MG_ENOTFOUND, MG_EINVAL. */
int report_match(struct queue_store *store, const char *report_qid, const char *subject_key,
                 struct queue_store_subject *out);

/* 1 when m is itself a report (a DSN or an X.400 report): it never gets one. */
int report_is_report(const struct message *m);

#endif
