/* qmgr_internal: the queue manager's own structures, shared by its parts:
 *   qmgr.c        the message index, ready lists, wait heap, timer, configurations, admin
 *   qmgr_job.c    a job: load, plan by chain stage, delivery rounds, recording outcomes
 *   qmgr_stage.c  content versions and processing stages (and the delivery gate)
 *   qmgr_dest.c   destinations: per-destination queues, limits, round-robin, throttling
 * Nothing here is part of the queue manager's interface (qmgr.h). */
#ifndef QMGR_INTERNAL_H
#define QMGR_INTERNAL_H

#include "qmgr.h"

#define QNONE UINT32_MAX
#define NPRIO (MESSAGE_PRIORITY_MAX + 1)
#define QMGR_MAX_ROUNDS 32   /* processing rounds per job: a chain is never longer */

enum {
    QE_HELD = 1u << 0,      /* an operator held the message */
    QE_ACTIVE = 1u << 1,    /* a job is processing it */
    QE_READY = 1u << 2,     /* in a ready list */
    QE_DELETED = 1u << 3,   /* gone from the store; freed when no list or job holds it */
    QE_FORCE = 1u << 4,     /* retry/flush: deliver deferred recipients now */
    QE_PARKED = 1u << 5,    /* only recipients held by a channel are left: nothing to do */
};

/* One per queued message: kept small (see the memory target in qmgr.h). */
struct qentry {
    char id[MESSAGE_ID_SIZE];
    int64_t arrival;
    int64_t next_attempt;
    struct qentry *hnext;             /* hash chain */
    struct qentry *rprev, *rnext;     /* ready list */
    uint32_t heap_idx;                /* index in the wait heap or QNONE */
    uint8_t priority;
    uint8_t flags;
    struct qhot *hot;                 /* owned or NULL: the message as committed (below) */
};

/* A message the submission step handed over with its content when it was committed: the
 * job that starts it plans from these instead of reading both back from the store (one trip
 * through the thread pool and two SQLite reads less on the common path). Bounded by
 * QMGR_HOT_MAX bytes in all; dropped when the entry is touched by anything but a job start. */
struct qhot {
    struct message *msg;              /* owned */
    struct content *c;                /* owned reference: version 0 */
};
#define QMGR_HOT_MAX (16u << 20)
#define QMGR_HOT_ONE (1u << 20)

/* A configuration, the jobs routed with it, and its running channel instances. */
struct cfgref {
    struct qmgr *q;
    const struct config *cfg;
    int refs;                         /* jobs routed with it */
    void (*release)(void *arg, const struct config *old);
    void *release_arg;
    void **insts;                     /* per cfg->channels[i]: running instance or NULL */
    int stopping, stops_pending;
    int retired;                      /* no longer current */
};

struct qjob;
struct qdest;

/* A content version a job has loaded (or a processing stage made). */
struct jversion {
    uint32_t version;
    struct content *c;                /* owned reference */
    char *originator;                 /* owned or NULL = the message's */
    int priority;                     /* -1 = the message's */
    int label_set;
    unsigned char *label; size_t label_len; /* owned */
};

enum qgroup_state { QG_NEW, QG_QUEUED, QG_LOADING, QG_ACTIVE, QG_DONE };

/* Recipients of one job that travel together through one stage. */
struct qgroup {
    struct qjob *j;
    const struct config_route *route;     /* NULL: no route */
    const char *no_route;                 /* static text when route is NULL (why) */
    const struct config_channel *channel; /* the channel at this stage (NULL: no route) */
    const struct config_peer *peer;
    uint32_t stage;                       /* index of channel in route->chain */
    int gate;                             /* a delivery group at the delivery gate */
    uint32_t version;                     /* the content version the group carries */
    char next_hop[256];
    size_t nrcpts, cap;
    uint32_t *rcpts;                      /* owned: indexes into msg->rcpts */
    const char **addrs;                   /* owned array; strings borrowed from msg */
    struct channel_outcome *outcomes;     /* owned */
    enum qgroup_state state;
    /* processing */
    uv_work_t work;
    struct channel_result result;
    int proc_rc;
    struct jversion *in;                  /* borrowed from the job's cache, or &loaded */
    struct jversion loaded;               /* a version the work function had to load */
    void (*ready)(struct qgroup *g, int rc); /* qmgr_job_need_version's callback */
    /* delivery */
    struct channel_delivery del;
    struct qdest *dest;
    struct qgroup *dnext;                 /* in the destination's FIFO */
};

struct qjob {
    struct qmgr *q;
    struct qentry *e;
    struct cfgref *cref;
    uv_work_t work;
    int load_rc;
    struct qjob *hot_next;                /* in qmgr.hotq: started from a hot entry */
    struct message *msg;                  /* owned */
    struct qgroup *groups;                /* owned array of this round */
    size_t ngroups, pending;
    int round;
    int processing_round;                 /* this round runs processing stages */
    struct jversion **versions;           /* owned cache (each owned) */
    size_t nversions;
    size_t stage_writes;                  /* stage results not yet durable */
    struct stage_write **kept;            /* owned (each owned): stages applied in memory
                                             only, oldest first (qmgr_stage.c "kept stages") */
    size_t nkept;
    /* outcomes to record at the end (deliveries, and processing failures/deferrals) */
    struct jrec { uint32_t rcpt; const struct config_channel *channel;
                  const struct config_peer *peer; struct channel_outcome o; } *recs;
    size_t nrecs, caprecs;
    uint8_t *rdone;                       /* owned, per recipient: bit 0 has a record (not
                                             planned again in this job), bit 1 passed the
                                             delivery gate in this job */
    size_t nrdone;
    /* recording: the updates, kept until the report (if any) is submitted */
    struct queue_store_rcpt_update *upd; size_t nupd;
    char (*replies)[700];
    char (*statuses)[16];
    /* the report, while it is built and submitted */
    uv_work_t rwork;
    struct report_item *ritems; size_t nritems;
    char (*rtexts)[700];
    struct message *dsn_msg;
    unsigned char *dsn_content; size_t dsn_len;
    int dsn_rc;
    int update_failed;                    /* the update issued with the finish failed */
    int finish_refused;                   /* the store refused the finish: end on the update */
};

/* A (configuration, channel instance, peer, next hop) delivery queue. */
struct qdest {
    struct qmgr *q;
    struct cfgref *cref;                  /* holds a ref while the destination exists */
    const struct config_channel *channel;
    const struct config_peer *peer;
    void *inst;                           /* the channel instance (cref's) */
    char next_hop[256];
    uint32_t limit;
    size_t active, waiting;
    struct qgroup *whead, *wtail;
    int64_t throttled_until;
    int probing;                          /* after a throttle: one delivery at a time */
    char last_error[560];
    int in_ring;
    struct qdest *rnext, *rprev;          /* ring of destinations with work waiting */
    struct qdest *next;                   /* all destinations */
};

struct qmgr {
    uv_loop_t *loop;
    struct queue_store *store;
    struct qmgr_opts opts;
    struct cfgref *cref;                  /* current configuration */

    struct qentry **buckets;              /* id hash */
    size_t nbuckets, nentries, nheld;
    struct qentry *rhead[NPRIO], *rtail[NPRIO];
    size_t nready;
    struct qentry **heap;                 /* min-heap on next_attempt */
    size_t nheap, heapcap;
    uv_timer_t timer;
    uv_idle_t hot_idle;                   /* plans the hot jobs after the loop's I/O */
    uv_idle_t proc_idle;                  /* runs the inline processing groups (qmgr_stage.c) */
    int open_handles;                     /* while closing: the handles not yet closed */

    size_t active_jobs, writes_pending;
    size_t processing;                    /* processing works in flight */
    struct qgroup **procq; size_t nprocq, capprocq; /* processing groups waiting for a slot */
    struct qgroup **inlq; size_t ninlq, capinlq;    /* taken, to run on the loop thread */
    size_t active_deliveries, queued_deliveries;
    struct qdest *dests;                  /* all */
    struct qdest *ring;                   /* destinations with work waiting (cursor) */
    size_t ndests, nring;
    int draining, started, stopping_insts;
    int dest_pumping, dest_repump;
    int pumping, repump;                  /* qmgr_pump is not re-entered: it loops again */
    struct qjob *hotq, *hotq_tail;        /* jobs started from hot entries, to plan */
    size_t hot_bytes;                     /* content held by hot entries */
    void (*drain_cb)(void *arg);
    void *drain_arg;
    uint64_t n_delivered, n_failed, n_deferred, n_held, n_reports;
    struct qhold { char *peer, *reason; int64_t since; struct qhold *next; } *holds; /* owned */
    struct qawait *awaits;                /* owned: qmgr_await.c */
};

/* qmgr.c */
int64_t qmgr_now(const struct qmgr *q);
void qmgr_pump(struct qmgr *q);
void qmgr_maybe_drained(struct qmgr *q);
void qmgr_job_end(struct qjob *j, int finished);
void qmgr_cfgref_put(struct qmgr *q, struct cfgref *r);
void *qmgr_instance(const struct cfgref *r, const struct config_channel *ch);
int64_t qmgr_next_due(const struct message *m);
int qmgr_entry_hold(struct qmgr *q, struct qentry *e);
/* Frees e's hot message and content, if any. */
void qmgr_entry_hot_drop(struct qmgr *q, struct qentry *e);
/* The message index (qmgr.c), for the admin operations (qmgr_admin.c): find or remove an
 * entry by id, take it off the wait heap or its ready list, put it on a ready list, place it
 * by its state (held, ready now, or waiting on the heap), and re-arm the heap's timer. */
struct qentry *qmgr_hash_find(const struct qmgr *q, const char *id);
void qmgr_hash_remove(struct qmgr *q, struct qentry *e);
void qmgr_heap_remove(struct qmgr *q, struct qentry *e);
void qmgr_ready_remove(struct qmgr *q, struct qentry *e);
void qmgr_ready_push(struct qmgr *q, struct qentry *e);
void qmgr_place(struct qmgr *q, struct qentry *e);
void qmgr_arm_timer(struct qmgr *q);

/* qmgr_await.c: remember that message id waits for peer to come (0 or MG_ENOMEM); free all. */
int qmgr_await_add(struct qmgr *q, const char *peer, const char *id);
void qmgr_await_free(struct qmgr *q);

/* qmgr_job.c */
enum { RD_RECORDED = 1, RD_GATED = 2 };     /* qjob.rdone bits */
int qmgr_job_mark(struct qjob *j, uint32_t rcpt, uint8_t bit);
int qmgr_job_marked(const struct qjob *j, uint32_t rcpt, uint8_t bit);
/* Queues one outcome to record at the job's end (the recipient is not planned again). */
int qmgr_job_add_rec(struct qjob *j, uint32_t rcpt, const struct config_channel *ch,
                     const struct config_peer *peer, const struct channel_outcome *o);
/* Plans the job's next round (after a processing round's results are durable). */
void qmgr_job_round(struct qjob *j);
/* Starts a job for e (marks it active, holds a reference on the current configuration).
 * 0, or MG_ENOMEM with nothing changed. */
int qmgr_job_start(struct qmgr *q, struct qentry *e);
/* Plans the jobs qmgr_job_start took from hot entries (called by qmgr_pump, not re-entered). */
void qmgr_job_run_hot(struct qmgr *q);
void qmgr_job_free(struct qjob *j);
/* A delivery group has finished (called by qmgr_dest.c). */
void qmgr_job_group_done(struct qgroup *g);
/* Calls ready(g, 0) once g's content version is in the job's cache (loading it on the pool
 * when needed; now or later), or ready(g, error). */
void qmgr_job_need_version(struct qgroup *g, void (*ready)(struct qgroup *g, int rc));
struct jversion *qmgr_job_version(struct qjob *j, uint32_t v);
void qmgr_proc_pump(struct qmgr *q);

/* qmgr_proc.c */
void qmgr_jversion_clear(struct jversion *v);
/* Moves *v into j's version cache (v is left empty); returns the cached entry (an existing one
 * of the same version wins) or NULL (out of memory: v is cleared). */
struct jversion *qmgr_version_put(struct qjob *j, struct jversion *v);
void qmgr_job_prefetch(struct qjob *j);
/* Puts content c (version 0 as committed; the reference is taken) in j's version cache. */
int qmgr_job_adopt_v0(struct qjob *j, struct content *c);
/* Has any route rule label conditions? (then plans need each recipient's version label) */
bool qmgr_routes_by_label(const struct config *cfg);
int qmgr_proc_enqueue(struct qmgr *q, struct qgroup *g);

/* qmgr_stage.c */
/* Every processing group of the round is back: make the results durable, then plan again. */
void qmgr_proc_round_done(struct qjob *j);
/* Kept stages (qmgr_stage.c): write them now, in order (before any other write of the job). */
void qmgr_kept_flush(struct qjob *j);
/* Drops them unwritten (the job ends; the store keeps the state before them). */
void qmgr_kept_clear(struct qjob *j);
/* Queues the store's finish of j's message; the history row takes the identifiers kept stages
 * gave it, which are then dropped. As queue_store_finish. */
int qmgr_job_finish_write(struct qjob *j, queue_store_cb cb);

/* qmgr_dest.c */
void qmgr_dest_enqueue(struct qmgr *q, struct qgroup *g);
void qmgr_dest_pump(struct qmgr *q);
/* Frees idle destinations (throttle over, nothing queued or active). */
void qmgr_dest_gc(struct qmgr *q, int all);
int64_t qmgr_dest_next_wakeup(const struct qmgr *q);
/* Drain: fails every waiting delivery temporarily (they stay queued). */
void qmgr_dest_drain(struct qmgr *q);
/* A peer was held: its waiting deliveries are deferred with the reason. */
void qmgr_dest_peer_held(struct qmgr *q, const char *peer, const char *reason);

/* qmgr_admin.c: the peer holds the store kept (queue_store_peer_holds) made the queue
 * manager's at start. 0, or MG_ENOMEM; a table that does not read is logged, not fatal. */
int qmgr_peer_holds_load(struct qmgr *q);

#endif
