/* queue_store: the durable queue. Envelopes, recipient states and content live in one SQLite
 * database in WAL mode with synchronous=FULL (content as a blob in its own table; the reasons
 * and measurements are in docs/queue.md).
 *
 * Writes (submit, recipient updates, hold/release, delete, finish) go through ONE writer
 * thread that takes every queued write, applies them in one transaction, commits (one fsync
 * for the whole batch: group commit), then completes their callbacks on the libuv loop thread
 * through a uv_async handle. A callback with status 0 means the change is durable.
 * When a call that takes a callback returns an error, the callback is never called.
 *
 * Reads (load index, get, list, content) use a separate read connection (WAL lets readers run
 * beside the writer); they are synchronous, serialized by SQLite's own mutex, and may be called
 * from any thread (e.g. content reads from the libuv thread pool).
 *
 * Without a loop (queue_store_open with loop == NULL, e.g. the CLI working on a stopped
 * daemon's queue), writes are applied synchronously in the calling thread: the callback (if
 * any) is called before the function returns, and the function returns the same status. */
#ifndef QUEUE_STORE_H
#define QUEUE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "message.h"

struct queue_store;

/* Completion of a write: status 0 (durable) or a negative MG_E* code (nothing changed).
 * Called on the loop thread (or synchronously without a loop). */
typedef void (*queue_store_cb)(void *arg, int status);

struct queue_store_opts {
    size_t max_batch;       /* most writes in one transaction; 0 = 1024 */
    size_t max_batch_bytes; /* content bytes in one transaction before it is cut; 0 = 64 MiB */
    size_t max_content;     /* largest content accepted by submit; 0 = 256 MiB */
    size_t history_keep;    /* rows kept in the history table; 0 = 10000 */
    int read_only;          /* 1: open for reads only (no writer; writes return MG_ESTATE) */
};

/* Opens (creating when needed, unless read_only) the database at path. loop may be NULL (see
 * above); opts may be NULL. With a loop, open and close run on the loop thread. */
int queue_store_open(struct queue_store **out, uv_loop_t *loop, const char *path,
                     const struct queue_store_opts *opts);
/* Waits for every queued write to commit, stops the writer and completes the remaining
 * callbacks (on this thread), then closes the database. With a loop, the uv_async handle is
 * closed with uv_close and the store memory is released in its close callback: run the loop
 * (uv_run) once more before uv_loop_close. NULL is fine. Writes issued from the callbacks
 * completed here fail with MG_ESTATE; the store must not be used after this call. */
void queue_store_close(struct queue_store *s);

/* A fresh queue id from the store's generator (loop thread only). */
void queue_store_new_id(struct queue_store *s, char out[MESSAGE_ID_SIZE]);

/* --- writes (group-committed) ------------------------------------------------------------- */

/* Stores a new message: envelope, every recipient and the content, in one transaction.
 * Fills msg->id (when "") and msg->arrival (when 0) and msg->content_size before returning.
 * Ownership: msg and content are BORROWED: they must stay valid and unchanged until cb runs.
 * Errors: MG_EINVAL (no recipients, bad priority), MG_ETOOBIG; via cb: MG_EEXIST (id used),
 * MG_EDB. */
int queue_store_submit(struct queue_store *s, struct message *msg, const void *content,
                       size_t content_len, queue_store_cb cb, void *arg);

/* One recipient's outcome after a delivery attempt. Strings are copied at the call. */
struct queue_store_rcpt_update {
    uint32_t rcpt;                /* index into the message's recipients */
    enum message_rcpt_state state;
    int counts_attempt;           /* 1: attempts += 1 and last_attempt = when */
    int64_t next_attempt;         /* for DEFERRED: unix seconds of the next try */
    const char *reply;            /* NULL = unchanged */
    const char *status;           /* RFC 3463 code; NULL = unchanged */
    const char *remote_mta;       /* NULL = unchanged */
    const char *route, *chain, *peer; /* NULL = unchanged */
    unsigned flags_set;           /* enum message_rcpt_flag bits to add */
};
/* Applies n updates to message id at time when (unix seconds). Errors via cb: MG_ENOTFOUND
 * (no such message or recipient index), MG_EDB. */
int queue_store_update_rcpts(struct queue_store *s, const char *id,
                             const struct queue_store_rcpt_update *u, size_t n, int64_t when,
                             queue_store_cb cb, void *arg);
/* Hold (with a reason, may be NULL) or release a message. MG_ENOTFOUND via cb. */
int queue_store_hold(struct queue_store *s, const char *id, const char *reason,
                     queue_store_cb cb, void *arg);
int queue_store_release(struct queue_store *s, const char *id, queue_store_cb cb, void *arg);
/* Removes a message whatever its state (administrator action); recorded in history with
 * outcome "deleted". MG_ENOTFOUND via cb. */
int queue_store_delete(struct queue_store *s, const char *id, queue_store_cb cb, void *arg);
/* Removes a message once every recipient is final, recording one history row (counts of
 * delivered/failed). MG_ESTATE via cb when a recipient is not final; MG_ENOTFOUND. */
int queue_store_finish(struct queue_store *s, const char *id, queue_store_cb cb, void *arg);
/* queue_store_finish, with the history row taking mts_id (when non-NULL) and, when env_set,
 * envid (NULL = none) instead of the stored message's: the identifiers a stage gave the message
 * that was never written (qmgr: kept stages), which report matching looks up in history. */
int queue_store_finish_env(struct queue_store *s, const char *id, const char *mts_id,
                           int env_set, const char *envid, queue_store_cb cb, void *arg);

/* One processing stage's result for one recipient group (see qmgr: chains). Applied in one
 * transaction, so after a crash either the whole stage is durable or none of it. */
struct queue_store_stage_rcpt {
    uint32_t rcpt;                /* index into the message's recipients */
    uint32_t stage;               /* processing channels of its chain now passed */
    enum message_rcpt_state state; /* PENDING (go on), FAILED, DELIVERED (discarded), HELD */
    const char *reply;            /* NULL = unchanged (the failure or hold reason) */
    const char *status;           /* NULL = unchanged */
    const char *next_addr;        /* NULL = unchanged: the address as the next hop sees it */
    const char *chain;            /* NULL = unchanged */
    unsigned flags_set;           /* enum message_rcpt_flag bits to add */
    int dsn_set;                  /* 1: notify and orcpt replace the recipient's (a converting
                                     channel's RFC 3461 parameters for the next hop) */
    unsigned notify;              /* enum message_notify bits */
    const char *orcpt;            /* NULL = none */
};
struct queue_store_stage {
    uint32_t version;             /* the content version the group's recipients now carry */
    int new_version;              /* 1: store `version` (it must be new): content, type, label,
                                     priority and originator below */
    enum message_content_type type;
    const void *content;          /* BORROWED until cb */
    size_t len;
    int label_set;                /* 1: the version has its own label (len 0 = none) */
    const void *label; size_t label_len;
    int priority;                 /* -1 = the message's */
    const char *originator;       /* NULL = the message's */
    const char *content_oid;      /* the version's X.400 content type (dotted OID, or "22" /
                                     "2" built in); NULL = none said */
    int env_set;                  /* 1: envid and ret replace the message's (RFC 3461) */
    const char *envid;            /* NULL = none */
    int ret;                      /* enum message_ret */
    const void *x400_env;         /* non-NULL: the message's X.411 envelope from now on */
    size_t x400_env_len;
    const char *mts_id;           /* non-NULL: the message's MTS identifier from now on */
    const struct queue_store_stage_rcpt *rcpts; size_t nrcpts; /* copied */
    const char *const *add;       /* new recipients (copied): NOTIFY=NEVER, stage 0 */
    size_t nadd;
    uint32_t add_version;         /* the content version the added recipients carry */
    const uint32_t *add_stages;   /* per added recipient: its stage (NULL = all 0) */
};
/* Versions that no recipient carries any more are dropped (version 0, the content as
 * received, always stays for reports). Errors via cb: MG_ENOTFOUND, MG_EEXIST (version taken),
 * MG_EDB; at the call: MG_EINVAL, MG_ETOOBIG. */
int queue_store_apply_stage(struct queue_store *s, const char *id,
                            const struct queue_store_stage *g, queue_store_cb cb, void *arg);

/* --- reads (synchronous, any thread) ------------------------------------------------------- */

/* Compact start-up index: one entry per message still in the queue (about 48 bytes; 100,000
 * deferred messages are under 5 MB). */
struct queue_store_index_entry {
    char id[MESSAGE_ID_SIZE];
    int64_t arrival;
    int64_t next_attempt;  /* earliest next_attempt over non-final recipients (0 = now) */
    uint32_t nrcpts;
    uint32_t npending, ndeferred, ndelivered, nfailed;
    uint32_t nheld;        /* recipients a processing channel held */
    uint8_t priority;
    uint8_t hold;
};
/* Calls cb for every message in the queue, in id (arrival) order. cb returns 0 to go on or a
 * nonzero value to stop (which load_index returns). e is valid during the call only. */
int queue_store_load_index(struct queue_store *s,
                           int (*cb)(void *arg, const struct queue_store_index_entry *e),
                           void *arg);
/* The same into one malloc'd array (caller frees *out with free()). */
int queue_store_load_index_array(struct queue_store *s, struct queue_store_index_entry **out,
                                 size_t *n);

/* Full envelope of one message; caller frees *out with message_free. MG_ENOTFOUND. */
int queue_store_get(struct queue_store *s, const char *id, struct message **out);
/* One content version with what goes with it. Free with queue_store_version_free. */
struct queue_store_version {
    enum message_content_type type;
    unsigned char *data;          /* owned, NUL-terminated past len */
    size_t len;
    int label_set;                /* the version has its own label (else the message's) */
    unsigned char *label;         /* owned or NULL */
    size_t label_len;
    int priority;                 /* -1 = the message's */
    char *originator;             /* owned or NULL = the message's */
    char *content_oid;            /* owned or NULL: the version's X.400 content type (NULL for
                                     version 0 and versions stored before schema 6) */
};
/* MG_ENOTFOUND when the message or the version does not exist. */
int queue_store_read_version(struct queue_store *s, const char *id, uint32_t version,
                             struct queue_store_version *out);
void queue_store_version_free(struct queue_store_version *v);

/* Whole latest content (the highest version made) into a malloc'd buffer (caller frees *data with free(); NUL-terminated past
 * *len for convenience). MG_ENOTFOUND. */
int queue_store_read_content(struct queue_store *s, const char *id, unsigned char **data,
                             size_t *len);

/* The content as received (version 0), whatever set_content did since; *type (optional) gets
 * its type. Caller frees *data. MG_ENOTFOUND. */
int queue_store_read_original(struct queue_store *s, const char *id,
                              enum message_content_type *type, unsigned char **data, size_t *len);

/* Streaming content reads (current version) (for large contents): open, read pieces, close. Each handle has its
 * own read-only SQLite connection and incremental blob handle (so a long delivery does not pin
 * the shared read connection to an old snapshot). Use a handle from one thread at a time; the
 * caller owns it and closes it (before closing the store). */
struct queue_store_content;
int queue_store_content_open(struct queue_store *s, const char *id,
                             struct queue_store_content **out, uint64_t *size);
/* Reads up to n bytes at offset; *got = bytes read (0 at the end). */
int queue_store_content_read(struct queue_store_content *c, uint64_t offset, void *buf,
                             size_t n, size_t *got);
void queue_store_content_close(struct queue_store_content *c);

/* Listing for `mixgate queue list`. */
struct queue_store_filter {
    unsigned state_mask;  /* bit (1u << state): messages with a recipient in that state; 0 = all */
    int held;             /* -1 = any, 0 = not held, 1 = held only */
    size_t limit;         /* 0 = no limit */
    const char *after_id; /* paging: ids greater than this; NULL = from the start */
};
struct queue_store_summary {
    struct queue_store_index_entry e;
    const char *originator;  /* valid during the callback only */
    const char *hold_reason; /* NULL when not held */
    uint64_t content_size;
};
int queue_store_list(struct queue_store *s, const struct queue_store_filter *f,
                     int (*cb)(void *arg, const struct queue_store_summary *m), void *arg);

/* History of finished or deleted messages (bounded to history_keep rows), newest first. */
struct queue_store_history {
    const char *id, *originator, *outcome; /* outcome: "done" or "deleted"; valid in cb only */
    int64_t arrival, finished;
    uint32_t nrcpts, ndelivered, nfailed;
};
/* The subject of a report that arrives later: the message whose MTS identifier (X.400) or ENVID
 * (RFC 3461) is key, still queued (live = 1) or finished (from the history; the newest). Fills
 * out (strings copied into it). 0, MG_ENOTFOUND, MG_EINVAL. */
struct queue_store_subject {
    char id[MESSAGE_ID_SIZE];
    int live;                 /* 1: still in the queue */
    char originator[MESSAGE_ADDR_MAX + 1];
    int64_t arrival, finished; /* finished: 0 while live */
};
int queue_store_find_subject(struct queue_store *s, const char *key, struct queue_store_subject *out);

/* The messages with a recipient DEFERRED after a delivery to the peer named peer (its stored
 * peer name), in id order: cb(arg, id) for each (id valid during the call); a nonzero return
 * stops and is returned. For the queue manager after a restart: what waits for a peer that
 * only comes to us (qmgr_peer_wake). 0, MG_EINVAL, MG_EIO. */
int queue_store_deferred_for_peer(struct queue_store *s, const char *peer,
                                  int (*cb)(void *arg, const char *id), void *arg);

/* The operator's peer holds, kept across restarts: queue_store_peer_hold sets one (reason
 * non-NULL; an existing hold takes the new reason and keeps its time) or removes it (reason
 * NULL; removing one that is not there is not an error), through the writer like every write.
 * MG_EINVAL (no peer, or longer than MESSAGE_TEXT_MAX). queue_store_peer_holds gives each
 * (peer name order; strings valid during the call); a nonzero return stops and is returned.
 * A queue file without the table (never opened for writing by this version) has none. */
int queue_store_peer_hold(struct queue_store *s, const char *peer, const char *reason,
                          queue_store_cb cb, void *arg);
int queue_store_peer_holds(struct queue_store *s,
                           int (*cb)(void *arg, const char *peer, const char *reason, int64_t since),
                           void *arg);

int queue_store_history(struct queue_store *s, size_t limit,
                        int (*cb)(void *arg, const struct queue_store_history *h), void *arg);

/* Counters (for tests, logs and `mixgate queue stats`). */
struct queue_store_stats {
    uint64_t commits;   /* transactions committed by the writer */
    uint64_t writes;    /* write operations completed (any status) */
    uint64_t max_batch; /* most writes seen in one transaction */
    uint64_t failed_commits;
};
void queue_store_get_stats(struct queue_store *s, struct queue_store_stats *out);

#endif
