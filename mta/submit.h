/* submit: the submission step every inbound protocol shares (SMTP now, X.400 P1 next): is
 * this recipient acceptable from this client (queue full, relay and peer checks, a route),
 * the mapping of a received envelope to struct message with each recipient's route, and the
 * durable enqueue that must complete before the protocol acknowledges the message.
 *
 * It knows no protocol: callers pass plain fields (no smtp_* or P1 types) and turn the
 * protocol-neutral verdicts into their own answers (SMTP: the reply code table in
 * daemon/inbound.c; P1: non-delivery reason and diagnostic codes, see below).
 *
 *   SMTP in, per RCPT:    submit_check_rcpt(ctx, origin, rcpt, &res)  -> 250 or refuse now
 *   SMTP in, after DATA:  submit_build_message(ctx, origin, env, &msg)
 *                         submit_enqueue(ctx, msg, content, len, done, arg) -> 250 from done
 *   P1 in (to come):      a MessageTransfer has all recipients at once and no per-recipient
 *                         refusal on the wire, so the P1 listener calls submit_check_rcpt for
 *                         each, keeps the accepted ones, and turns each refused one into a
 *                         non-delivery report (res.verdict -> X.411 reason/diagnostic, e.g.
 *                         SUBMIT_NO_ROUTE -> unable-to-transfer / unrecognised-OR-name), then
 *                         builds and enqueues as SMTP does; origin.proto is "P1" and
 *                         origin.client_name the peer MTA name.
 *
 * Addresses: struct submit_rcpt carries a kind. SUBMIT_ADDR_MAILBOX (RFC 5321 "local@domain")
 * goes through the relay checks and the domain rules. SUBMIT_ADDR_ORADDR (an X.400 O/R address
 * in the RFC 2156 textual form, oraddr.h) is accepted on p1 listeners only (the bind
 * authenticated the peer: no relay_networks check), routed by the or_address rules, and
 * stored in its canonical form with kind MESSAGE_ADDR_ORADDR.
 *
 * Threads: the loop thread (enqueue completes there). Everything passed in is borrowed for the
 * duration of the call unless said otherwise. */
#ifndef SUBMIT_H
#define SUBMIT_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"
#include "message.h"

struct queue_store;
struct qmgr;

struct submit_origin;
struct submit_result;

/* Label extraction at submission (channels/labels through the daemon): finds the message's
 * security labels in content, decides (reject / default / correct, consistency), stores the
 * label in msg->label and may replace the content (an added header; *content is then freed
 * and replaced). May assign msg->id (its audit records name it). Returns 0, MG_EDENIED or
 * MG_ETEMP with res filled (verdict SUBMIT_LABEL_REJECTED), or MG_E*. */
struct submit_label_hook {
    int (*extract)(void *ctx, const struct config *cfg, const struct submit_origin *o,
                   struct message *msg, unsigned char **content, size_t *len,
                   struct submit_result *res);
    /* Optional: once the message is stored, submit_enqueue waits for the extraction's audit
     * records of qid to be durable before it completes (the protocol acknowledges only then):
     * returns 0 and calls cb(arg, status) later on the loop thread (or at once), or nonzero when
     * there is nothing to wait for (cb never runs). */
    int (*commit)(void *ctx, const char *qid, void (*cb)(void *arg, int status), void *arg);
    void *ctx;
};

/* The daemon's parts a submission uses; all borrowed. */
struct submit_ctx {
    const struct config *cfg;    /* the configuration in force */
    struct queue_store *store;   /* for submit_enqueue */
    struct qmgr *qmgr;           /* queue size for the queue-full check and scheduling of new
                                    messages; NULL = neither (tests, offline tools) */
    const struct submit_label_hook *label; /* NULL = no label extraction */
};

/* Who hands us the message. */
struct submit_origin {
    const struct config_listener *listener; /* the listener it arrived on; NULL = it was
                                               removed by a reload: temporary refusal */
    const struct sockaddr *client;  /* peer address for relay_networks; NULL = unknown */
    const char *client_addr;        /* numeric text for trace and logs, e.g. "192.0.2.1" */
    const char *client_name;        /* EHLO/HELO argument, or the peer MTA name (P1) */
    const char *proto;              /* trace protocol: "ESMTPS", "ESMTP", "SMTPS", "SMTP", "P1" */
    const char *session;            /* session id for log lines (NULL = "-") */
};

enum submit_addr_kind {
    SUBMIT_ADDR_MAILBOX = 0,     /* RFC 5321 mailbox "local@domain" */
    SUBMIT_ADDR_ORADDR           /* X.400 O/R address, RFC 2156 text (p1 listeners only) */
};

struct submit_rcpt {
    enum submit_addr_kind kind;
    const char *addr;
    const char *orcpt;           /* RFC 3461 ORCPT "addr-type;address" (decoded), or NULL */
    unsigned notify;             /* enum message_notify bits; 0 = not given */
};

enum submit_verdict {
    SUBMIT_OK = 0,
    SUBMIT_UNAVAILABLE,          /* temporary: the listener left the configuration */
    SUBMIT_QUEUE_FULL,           /* temporary: queue.max_messages reached */
    SUBMIT_RELAY_DENIED,         /* permanent: relay/peer check refused */
    SUBMIT_NO_ROUTE,             /* permanent: no route and no default route */
    SUBMIT_UNSUPPORTED_ADDRESS,  /* permanent: an address kind this listener does not take,
                                    or a malformed O/R address */
    SUBMIT_LABEL_REJECTED        /* the security label check refused the message (5.7.1), or
                                    could not run now (temporary) */
};

struct submit_result {
    enum submit_verdict verdict;
    int temporary;               /* 1 = the client should try again later */
    const char *status;          /* RFC 3463 status, e.g. "5.7.1" (static storage) */
    const char *reason;          /* human text (static storage), never NULL */
    const struct config_route *route; /* SUBMIT_OK: the matching route (points into cfg) */
};

/* May this recipient be accepted from this origin now? Fills *res either way and logs a
 * refusal (event=rejected). Returns 0 (SUBMIT_OK), MG_ETEMP (temporary verdicts) or
 * MG_EDENIED (permanent ones); MG_EINVAL for missing arguments. */
int submit_check_rcpt(const struct submit_ctx *ctx, const struct submit_origin *o,
                      const struct submit_rcpt *r, struct submit_result *res);

/* A received envelope in plain fields. */
struct submit_envelope {
    const char *originator;      /* reverse path; "" = null path (a report) */
    const char *envid;           /* RFC 3461 ENVID (decoded) or NULL */
    enum message_ret ret;
    int priority;                /* MESSAGE_PRIORITY_MIN..MAX; -1 = MESSAGE_PRIORITY_DEFAULT */
    enum message_content_type content_type;
    const struct submit_rcpt *rcpts;
    size_t nrcpts;
    /* X.400 (P1 in): all optional */
    const char *mts_id;          /* MTS identifier, text */
    const char *content_oid;     /* content type: dotted OID or "22" */
    const void *x400_env;        /* the MessageTransferEnvelope as received (BER) */
    size_t x400_env_len;
};

/* struct message for env, with the trace (received_from "name [addr]", received_proto) and
 * each recipient's route (name "line<N>", the chain "a,b", the peer) as routing says now.
 * A recipient without a route keeps none (the caller checked it at RCPT time; a reload in
 * between is the queue manager's to handle). *out is owned by the caller (message_free).
 * 0, MG_EINVAL, MG_ETOOBIG (field limits), MG_ENOTSUP (O/R address), MG_ENOMEM. */
int submit_build_message(const struct submit_ctx *ctx, const struct submit_origin *o,
                         const struct submit_envelope *env, struct message **out);

/* The label step between submit_build_message and submit_enqueue (a no-op returning 0 without
 * ctx->label): see struct submit_label_hook. The caller answers a refusal from res. */
int submit_label(const struct submit_ctx *ctx, const struct submit_origin *o, struct message *msg,
                 unsigned char **content, size_t *len, struct submit_result *res);

/* Completion of submit_enqueue: status 0 = the message is durable (the protocol may now say
 * so: SMTP 250, P1 transfer accepted), msg->id is its queue id; else MG_E* (nothing stored).
 * msg is valid only during the call. */
typedef void (*submit_done_cb)(void *arg, int status, const struct message *msg);

/* Store msg and content durably, then log event=received / event=routed, tell the queue
 * manager (when ctx->qmgr) and call done. Ownership of msg and content passes to submit in
 * every case (freed after done, or at once on error). On 0, done runs exactly once, later,
 * from the loop; on error (MG_EINVAL, MG_ETOOBIG, MG_ESTATE, MG_ENOMEM) done never runs. */
int submit_enqueue(const struct submit_ctx *ctx, struct message *msg, unsigned char *content,
                   size_t content_len, submit_done_cb done, void *arg);

/* The verdict's name for logs: "ok", "unavailable", "queue_full", "relay_denied", "no_route",
 * "unsupported_address". */
const char *submit_verdict_name(enum submit_verdict v);

#endif
