/* dsn: builds RFC 3464 delivery status notifications (multipart/report;
 * report-type=delivery-status) about a queued message. A pure function: from the original
 * envelope, per-recipient outcomes, the original content and options it produces a new message
 * (envelope with the null reverse path, one recipient: the original originator) and its content,
 * ready for queue_store_submit. It never reports about a message with a null reverse path
 * (a report about a report), and honours each recipient's NOTIFY and the envelope's RET. */
#ifndef DSN_H
#define DSN_H

#include <stddef.h>
#include <stdint.h>

#include "message.h"

/* RFC 3464 Action field. */
enum dsn_action {
    DSN_ACTION_FAILED = 0,
    DSN_ACTION_DELAYED,
    DSN_ACTION_DELIVERED,
    DSN_ACTION_RELAYED,
    DSN_ACTION_EXPANDED,
};

/* One recipient's outcome. Strings are borrowed for the call. */
struct dsn_rcpt {
    uint32_t rcpt;            /* index into the original message's recipients (addr, ORCPT,
                                 NOTIFY come from there) */
    enum dsn_action action;
    const char *status;       /* RFC 3463 code "5.1.1"; NULL = derived from the action */
    const char *remote_mta;   /* host name of the MTA that answered, or NULL */
    const char *diagnostic;   /* the remote reply, e.g. "550 5.1.1 no such user", or NULL */
    int64_t last_attempt;     /* unix seconds, 0 = not given */
    int64_t will_retry_until; /* unix seconds, for "delayed" only; 0 = not given */
};

struct dsn_opts {
    const char *reporting_mta; /* our host name (required) */
    const char *from;          /* From: of the report; NULL = "MAILER-DAEMON@<reporting_mta>" */
    int64_t now;               /* unix seconds for Date: */
    size_t max_returned;       /* RET=FULL returns at most this many bytes of content (then
                                  headers only); 0 = 10 MiB */
    int priority;              /* priority of the report message (0..5) */
};

/* Builds the report. On success returns 0 and either *out_msg and *out_content (caller owns:
 * message_free and free) or, when no report is due (null originator, every NOTIFY excludes the
 * action, n == 0), *out_msg = NULL and *out_content = NULL. The boundary uses the
 * message id to stay unique. The new message has no id yet (submit assigns it).
 * Errors: MG_EINVAL (bad index or options), MG_ENOMEM. */
int dsn_build(const struct message *orig, const struct dsn_rcpt *r, size_t n,
              const void *content, size_t content_len, const struct dsn_opts *opts,
              struct message **out_msg, unsigned char **out_content, size_t *out_len);

/* 1 when a recipient with this NOTIFY wants a report for this action (NOTIFY not given means
 * FAILURE,DELAY; relayed/expanded follow SUCCESS). */
int dsn_wanted(unsigned notify, enum dsn_action action);
/* "failed", "delayed", ... */
const char *dsn_action_name(enum dsn_action a);

#endif
