/* qmgr: the queue manager. Schedules every queued message on the libuv loop and moves each
 * recipient along its route's chain of channels (see channel.h and docs/architecture.md):
 *
 *  - Messages: due messages are taken highest priority first, then oldest first, up to
 *    queue.max_active_messages at once (a job holds the envelope; content versions are loaded
 *    when a stage or a delivery needs them).
 *  - Processing: due recipients are grouped by (route, stage, content version); each group's
 *    processing channel runs on the libuv thread pool (at most queue.max_processing at once) and
 *    its result (new content version, addresses, per-recipient continue / fail / hold /
 *    discard, audit records) is made durable before the group moves on. A crash at any stage
 *    resumes from the last durable stage; a content version belongs to the recipients that took
 *    that chain, so nobody receives another group's content.
 *  - Delivery: recipients at their chain's delivery channel are grouped by (channel instance,
 *    peer, next hop, content version) and queued at that destination. Each destination has its
 *    own concurrency limit (the peer's max_connections, or the channel's concurrency), global
 *    slots (queue.max_active_deliveries) go round-robin among destinations with work waiting,
 *    and a destination with a delivery in flight never takes the last free slot (nor the
 *    slots others are waiting for): a slow destination cannot hold back a fast one. A delivery whose failure concerns the destination (connect,
 *    TLS, bind) throttles it: its waiting deliveries are deferred at once with that one reason,
 *    and it is tried again, one delivery at a time, after retry_min.
 *  - Outcomes are recorded durably per recipient (delivered / relayed / failed / deferred with
 *    exponential back-off until the lifetime ends / held) and report.c decides and builds the
 *    reports.
 *  - Channel instances of a configuration are started when it is installed and stopped when a
 *    reload retired it and no job routed with it is left (or at drain).
 *
 * Memory: one compact entry per queued message; envelopes only for the active jobs.
 * Threads: every function runs on the loop thread. */
#ifndef QMGR_H
#define QMGR_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "channel.h"
#include "config.h"
#include "route.h"
#include "message.h"
#include "queue_store.h"
#include "report.h"

struct qmgr;

/* Where the audit records of processing channels go (audit.c through the daemon). append
 * copies what it needs and calls cb(arg, status) on the loop thread once the records are
 * durable (0) or could not be written (<0: the stage is not applied and retried later). */
struct qmgr_audit_sink {
    int (*append)(void *ctx, const char *qid, const char *channel,
                  const char *const *rcpt_addrs, const struct channel_audit *recs, size_t n,
                  void (*cb)(void *arg, int status), void *arg);
    void *ctx;
};

/* A check every delivery group passes before it is queued at its destination: the label access
 * control against the recipient, the delivery channel and the peer (labels/, through the daemon).
 * It runs on the thread pool like a processing stage, with task->channel the delivery channel and
 * task->peer / task->next_hop set; per recipient CONTINUE (go on), FAILED (a report), DEFERRED
 * (e.g. a directory that cannot be reached: never allow by default) or HELD; audit records are
 * made durable before the group moves. Nothing else is stored when every recipient continues: the
 * check runs again at every attempt, since clearances and labels may change in between. */
struct qmgr_gate {
    int (*check)(void *ctx, const struct channel_task *t, struct channel_result *r);
    /* Optional, loop thread: 0 when the configuration needs no gate at all (e.g. no labels are
     * configured), so plain relaying pays nothing for it. NULL = always needed. */
    int (*needed)(void *ctx, const struct config *cfg);
    /* Optional, pool thread: the label a report about an unlabelled subject carries (the
     * report's own subject label otherwise; report.h), *der owned by the caller, NULL = none.
     * 0 or MG_E*. */
    int (*report_label)(void *ctx, const struct config *cfg, unsigned char **der, size_t *len);
    void *ctx;
};

/* Told of every recipient outcome recorded (metrics by channel and peer, delivery latency):
 * state is the recorded state (DELIVERED, FAILED, DEFERRED); latency the seconds since the
 * message arrived. Loop thread; must not call back into the queue manager. */
struct qmgr_outcome_sink {
    void (*recorded)(void *ctx, const struct config_channel *ch, const struct config_peer *peer,
                     enum message_rcpt_state state, int64_t latency);
    void *ctx;
};

struct qmgr_opts {
    int64_t (*now)(void *ctx);        /* unix seconds; NULL = time(NULL) (tests inject) */
    void *now_ctx;
    report_x400_build_fn x400_report; /* NULL until the P1 channel provides it */
    void *x400_ctx;
    struct qmgr_audit_sink audit;     /* append NULL: records are logged only */
    struct qmgr_gate gate;            /* check NULL: no delivery gate */
    struct qmgr_outcome_sink outcomes; /* recorded NULL: none */
    /* The matcher of route rules' label conditions (the label switch's; der/len/unknown are
     * not used here: each recipient's label is that of its content version, so a shaper's new
     * label is what routes the next stage). match NULL: rules with label conditions never
     * match. */
    struct route_label route_label;
    /* Optional: the earliest time a message may be processed or delivered (the X.411 deferred
     * delivery time of an X.400 envelope), 0 = none. Asked on the loop thread each time a job
     * has loaded the envelope; a later time ends the job with nothing done and the message due
     * then (also against retry/flush: a deferred delivery never leaves early). */
    int64_t (*not_before)(void *ctx, const struct message *m);
    void *not_before_ctx;
};

/* cfg is borrowed: see qmgr_set_config. opts may be NULL. */
int qmgr_create(struct qmgr **out, uv_loop_t *loop, struct queue_store *store,
                const struct config *cfg, const struct qmgr_opts *opts);
/* Starts the configuration's delivery channel instances, loads the queue index from the store
 * (restart recovery) and starts scheduling. */
int qmgr_start(struct qmgr *q);

/* Installs a new configuration (SIGHUP) and starts its channel instances. The old one is
 * borrowed until release_old(arg, old) is called, which happens once no job routed with it is
 * in flight and its instances have stopped (possibly at once). */
void qmgr_set_config(struct qmgr *q, const struct config *cfg,
                     void (*release_old)(void *arg, const struct config *old), void *arg);

/* A message was committed by queue_store_submit: schedule it (msg is only read). */
void qmgr_message_added(struct qmgr *q, const struct message *msg);
/* The same, handing over the committed message and its content (malloc'd, len bytes): both
 * are owned by the queue manager from now on, even when it drops them. A message that starts
 * soon is planned from them instead of being read back from the store. */
void qmgr_message_added_hot(struct qmgr *q, struct message *msg, unsigned char *content,
                            size_t len);

/* Stops starting jobs; done(arg) runs once the jobs in flight, the store writes they caused
 * and the channel instances have finished. Then qmgr_free. */
void qmgr_drain(struct qmgr *q, void (*done)(void *arg), void *arg);
void qmgr_free(struct qmgr *q);

/* Re-reads the clock: moves due messages to the ready lists, ends expired throttles, starts
 * what it can (the loop's timer does this by itself; tests with an injected clock call it). */
void qmgr_kick(struct qmgr *q);

/* ---- admin (the control socket) ------------------------------------------------------- */

/* Completion of an admin operation: 0 or MG_E* (MG_ENOTFOUND: no such id). */
typedef void (*qmgr_admin_cb)(void *arg, int status);
int qmgr_hold(struct qmgr *q, const char *id, const char *reason, qmgr_admin_cb cb, void *arg);
/* Also releases the recipients a processing channel held. */
int qmgr_release(struct qmgr *q, const char *id, qmgr_admin_cb cb, void *arg);
int qmgr_delete(struct qmgr *q, const char *id, qmgr_admin_cb cb, void *arg);
/* Makes a (not held) message due now. MG_ENOTFOUND; 0 otherwise. */
int qmgr_retry(struct qmgr *q, const char *id);
/* Makes every deferred, not held message due now; returns how many. */
size_t qmgr_flush(struct qmgr *q);

/* Per-peer hold (`mixgate peer hold NAME [--reason TEXT]`): no delivery to that peer starts
 * while it is held (whatever configuration routed it); deliveries waiting for it and arriving
 * later are deferred with "peer NAME held by operator[: reason]" (reason NULL or "": none). Kept by peer name, in memory at once and in the queue store
 * (queue_store_peer_hold), so a restart keeps it: qmgr_start loads the holds before it
 * schedules anything. 0 or MG_EEXIST (already held: reason updated): cb(arg, status) follows
 * once the store has written it (status 0: durable). MG_ENOTFOUND (release: not held),
 * MG_ENOMEM, MG_EINVAL, or the store's refusal (the hold is in force in memory anyway, the
 * release too): no cb then. */
int qmgr_peer_hold(struct qmgr *q, const char *peer, const char *reason, qmgr_admin_cb cb,
                   void *arg);
int qmgr_peer_release(struct qmgr *q, const char *peer, qmgr_admin_cb cb, void *arg);
/* Every held peer (configured or not: a hold outlives its peer's removal from the
 * configuration, so the operator can still see and release it), with the reason and since
 * when (unix seconds). */
void qmgr_foreach_peer_hold(const struct qmgr *q,
                            void (*fn)(void *arg, const char *peer, const char *reason,
                                       int64_t since),
                            void *arg);
/* The reason a peer is held, or NULL. */
const char *qmgr_peer_held(const struct qmgr *q, const char *peer);

/* A peer reached only when it comes to us has come (an inbound P1 bind): the messages whose
 * deliveries to it were deferred with CHANNEL_OUT_AWAIT_PEER become due now; at its first
 * bind since start also those the store shows deferred after a delivery to it (they waited
 * across a restart: read on the pool, made due when the read is back, logged then). Returns
 * how many were made due at once. */
size_t qmgr_peer_wake(struct qmgr *q, const char *peer);

/* The running instance of the channel named name in the current configuration (what its
 * kind's start returned), or NULL (no such channel, not a delivery channel, not started, or
 * stopping). For the daemon's inbound side, which hands work to a delivery channel (an
 * inbound P1 association lent to the p1 channel). Valid until the next qmgr_set_config;
 * the caller must not keep it beyond the current callback. */
void *qmgr_channel_instance(const struct qmgr *q, const char *name);

struct qmgr_stats {
    size_t messages;         /* in the queue */
    size_t held;             /* held by an operator, or only held recipients left */
    size_t ready;            /* due, waiting for a job */
    size_t waiting;          /* deferred until a later time */
    size_t active;           /* messages with a job in flight */
    size_t processing;       /* processing stages in flight */
    size_t deliveries;       /* deliveries in flight */
    size_t queued;           /* deliveries waiting at their destination */
    size_t destinations;     /* destinations known (with work or throttled) */
    size_t throttled;
    size_t connections;      /* open connections of the delivery channels */
    uint64_t delivered, failed, deferred, held_rcpts, reports; /* recipients since start */
};
void qmgr_get_stats(const struct qmgr *q, struct qmgr_stats *st);

/* One destination, for `mixgate status` and tests. Strings valid during the callback. */
struct qmgr_dest_info {
    const char *channel, *peer, *next_hop;
    uint32_t limit;
    size_t active, waiting;
    int64_t throttled_until;   /* 0 = not throttled */
    const char *last_error;    /* "" = none */
    const char *held;          /* the operator's hold reason, NULL = not held */
};
void qmgr_foreach_dest(const struct qmgr *q, void (*cb)(void *arg, const struct qmgr_dest_info *d),
                       void *arg);

/* Back-off after `attempts` failed attempts: retry_min * 2^(attempts-1), at most retry_max. */
uint32_t qmgr_backoff(const struct config_queue *qc, uint32_t attempts);

#endif
