/* qmgr: the queue manager. Schedules every queued message on the libuv loop: due messages are
 * taken highest priority first, then oldest first; each recipient is routed with the current
 * configuration and recipients that share a (delivery channel, peer) travel together in one
 * delivery, handed to the transport registered for that channel type (the daemon registers
 * file and smtp). Outcomes are recorded durably: 2xx delivered, 5xx failed, 4xx deferred with
 * exponential back-off until the queue lifetime ends; failures, delays and requested successes
 * produce RFC 3464 reports. Admin operations (hold, release, delete, retry, flush) go through
 * here so the in-memory schedule and the store agree.
 *
 * Memory: one compact entry per queued message (id, times, priority, flags); envelopes and
 * content are loaded only for the deliveries in flight.
 *
 * Threads: every function runs on the loop thread; envelope and content loads run on the libuv
 * thread pool. */
#ifndef QMGR_H
#define QMGR_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "message.h"
#include "queue_store.h"

struct qmgr;

/* The outcome of one recipient in one delivery, as an SMTP-style reply: 2xx/4xx/5xx. */
struct qmgr_outcome {
    int code;              /* 0 = not reported by the transport (treated as 451 4.3.0) */
    char status[16];       /* RFC 3463 "x.y.z" ("" = derived from code) */
    char text[512];        /* reply text, one line */
    char remote[256];      /* the next hop that answered ("" = none / local) */
};

/* One delivery attempt: some recipients of one message over one delivery channel and peer. */
struct qmgr_delivery {
    struct qmgr *q;                        /* borrowed */
    const struct message *msg;             /* borrowed (qmgr owns it until done) */
    const unsigned char *content;          /* borrowed; content_len bytes */
    size_t content_len;
    const struct config *cfg;              /* the config this delivery was routed with; valid
                                              until qmgr_delivery_done */
    const struct config_channel *channel;  /* the chain's delivery channel */
    const struct config_peer *peer;        /* NULL for channels without a peer (file) */
    size_t nrcpts;                         /* recipients in this delivery */
    uint32_t *rcpts;                       /* indexes into msg->rcpts */
    struct qmgr_outcome *outcomes;         /* one per rcpts[i], filled by the transport */
    int next_hop_dsn;                      /* transport: 1 when the next hop took the DSN
                                              parameters (then it reports, not us) */
    void *transport_data;                  /* free for the transport's use */
    void *job;                             /* qmgr's own: the job this delivery belongs to */
};

/* A delivery transport (one per channel type). deliver() starts the delivery and must call
 * qmgr_delivery_done(d) exactly once, on the loop thread, now or later. */
struct qmgr_transport {
    void (*deliver)(void *arg, struct qmgr_delivery *d);
    void *arg;
};

/* Sets outcome i of d (helper for transports). text may be NULL. */
void qmgr_delivery_set(struct qmgr_delivery *d, size_t i, int code, const char *status,
                       const char *text, const char *remote);
void qmgr_delivery_done(struct qmgr_delivery *d);

/* cfg is borrowed: see qmgr_set_config. */
int qmgr_create(struct qmgr **out, uv_loop_t *loop, struct queue_store *store,
                const struct config *cfg);
/* Registers the transport for a delivery channel type (copied). */
void qmgr_set_transport(struct qmgr *q, enum config_channel_type type,
                        const struct qmgr_transport *t);
/* Loads the queue index from the store (restart recovery) and starts scheduling. */
int qmgr_start(struct qmgr *q);

/* Installs a new configuration (SIGHUP). The old one is borrowed until release_old(arg, old)
 * is called, which happens once no delivery routed with it is in flight (possibly at once). */
void qmgr_set_config(struct qmgr *q, const struct config *cfg,
                     void (*release_old)(void *arg, const struct config *old), void *arg);

/* A message was committed by queue_store_submit: schedule it (msg is only read). */
void qmgr_message_added(struct qmgr *q, const struct message *msg);

/* Stops starting deliveries; done(arg) runs once the deliveries in flight and the store
 * writes they caused have finished. Then qmgr_free. */
void qmgr_drain(struct qmgr *q, void (*done)(void *arg), void *arg);
void qmgr_free(struct qmgr *q);

/* ---- admin (the control socket) ------------------------------------------------------- */

/* Completion of an admin operation: 0 or MG_E* (MG_ENOTFOUND: no such id). */
typedef void (*qmgr_admin_cb)(void *arg, int status);
int qmgr_hold(struct qmgr *q, const char *id, const char *reason, qmgr_admin_cb cb, void *arg);
int qmgr_release(struct qmgr *q, const char *id, qmgr_admin_cb cb, void *arg);
int qmgr_delete(struct qmgr *q, const char *id, qmgr_admin_cb cb, void *arg);
/* Makes a (not held) message due now. MG_ENOTFOUND; 0 otherwise. */
int qmgr_retry(struct qmgr *q, const char *id);
/* Makes every deferred, not held message due now; returns how many. */
size_t qmgr_flush(struct qmgr *q);

struct qmgr_stats {
    size_t messages;         /* in the queue */
    size_t held;
    size_t ready;            /* due, waiting for a delivery slot */
    size_t waiting;          /* deferred until a later time */
    size_t active;           /* messages with deliveries in flight */
    size_t deliveries;       /* deliveries in flight */
    uint64_t delivered, failed, deferred, reports; /* recipients since start, DSNs sent */
};
void qmgr_get_stats(const struct qmgr *q, struct qmgr_stats *st);

/* Back-off after `attempts` failed attempts: retry_min * 2^(attempts-1), at most retry_max. */
uint32_t qmgr_backoff(const struct config_queue *qc, uint32_t attempts);

#endif
