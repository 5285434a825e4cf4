/* audit: the append-only audit store. Every security decision a channel takes (a label
 * extracted, defaulted, corrected or found inconsistent; an access decision per recipient; a
 * label converted; a signature verified or not; a message decrypted, encrypted, signed; a
 * certificate harvested; a message discarded by a rule) is one record in its own SQLite file
 * (WAL, synchronous=FULL, created mode 0600: it holds labels and certificates). docs/audit.md
 * has the schema and the reasons.
 *
 * Writes go through ONE writer thread that takes every queued append, inserts them in one
 * transaction, commits (one fsync for the batch: group commit), then completes their
 * callbacks on the libuv loop thread through a uv_async handle. A callback with status 0 means
 * the records are durable: the queue manager moves a message on only from that callback.
 * When a call that takes a callback returns an error, the callback is never called.
 *
 * The store never updates a record and deletes only by the retention age (at open, then at
 * most once an hour). SQLite triggers refuse every UPDATE, and every DELETE that does not come
 * from the writer's retention step, on any connection (including a raw sqlite3 shell).
 *
 * Reads (audit_query) use a separate read-only connection, from any thread; a second process
 * (`mixgate audit`) opens the file read-only while the daemon writes (WAL lets readers run
 * beside the writer).
 *
 * Without a loop (audit_open with loop == NULL), appends are applied synchronously in the
 * calling thread: the callback (if any) runs before audit_append returns, and audit_append
 * returns the same status. */
#ifndef AUDIT_H
#define AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Size limits of one record (bytes, without the NUL). Longer fields fail with MG_ETOOBIG. */
#define AUDIT_QID_MAX 64
#define AUDIT_RCPT_MAX 1024
#define AUDIT_CHANNEL_MAX 128
#define AUDIT_DECISION_MAX 40      /* [a-z0-9-]{1,40} */
#define AUDIT_KIND_MAX 16          /* [a-z0-9-]{0,16}: "label", "cert", "" */
#define AUDIT_REASON_MAX 2048
#define AUDIT_SUMMARY_MAX 2048
#define AUDIT_SUBJECT_MAX 65536    /* a label's or certificate's encoding */
#define AUDIT_APPEND_MAX 1024      /* records in one audit_append */

struct audit;

/* One record. For audit_append every pointer is borrowed for the call only (the store copies
 * it). NULL strings mean "". qid, rcpt, channel and subject_kind must not hold control
 * characters; reason and summary are free text. */
struct audit_record {
    int64_t time_us;          /* unix microseconds; 0 = now (at the call) */
    const char *qid;          /* queue id; "" for a decision about no message */
    const char *rcpt;         /* recipient; "" = a message-level decision */
    const char *channel;      /* channel instance name */
    const char *decision;     /* short token, [a-z0-9-]{1,40}, e.g. "access-denied" */
    const char *reason;       /* free text */
    const char *subject_kind; /* "label", "cert" or "" (none); [a-z0-9-]{0,16} */
    const void *subject;      /* encoding of the label or certificate; NULL when none */
    size_t subject_len;       /* 0 when none; needs a subject_kind */
    const char *summary;      /* printable summary of the subject: marking, subject DN */
};

/* Completion of an append: 0 (durable) or a negative MG_E* (none of its records written).
 * Called on the loop thread (or synchronously without a loop). */
typedef void (*audit_cb)(void *arg, int status);

#define AUDIT_RETENTION_MAX (1000LL * 366 * 86400) /* seconds: 1000 years */

struct audit_opts {
    int64_t retention_s;  /* records older than this are deleted; 0 = keep for ever;
                           * at most AUDIT_RETENTION_MAX (else MG_EINVAL) */
    size_t max_batch;     /* most appends in one transaction; 0 = 1024 */
    int read_only;        /* 1: reads only (no writer; appends fail with MG_ESTATE) */
    /* Clock for "now" (record times given as 0, retention): unix microseconds. NULL = the
     * real-time clock. Tests inject one; it is called from the writer thread too. */
    int64_t (*clock_us)(void *arg);
    void *clock_arg;
};

/* Opens the store at path, creating it (mode 0600) unless read_only, and deletes records past
 * the retention age. loop may be NULL (synchronous appends; see above); opts may be NULL.
 * With a loop, open and close run on the loop thread. Errors: MG_EIO (cannot create or open
 * the file: the reason is logged), MG_ENOTFOUND (read_only and no such file), MG_EDB (not an
 * audit store, newer schema), MG_EINVAL (retention out of range, empty path), MG_ENOMEM. */
int audit_open(struct audit **out, uv_loop_t *loop, const char *path,
               const struct audit_opts *opts);
/* Waits for every queued append to commit, stops the writer and completes the remaining
 * callbacks (on this thread), then closes the database. With a loop, the uv_async handle is
 * closed with uv_close and the memory is released in its close callback: run the loop once
 * more before uv_loop_close. NULL is fine. Appends from the callbacks completed here fail with
 * MG_ESTATE; the store must not be used after this call. */
void audit_close(struct audit *a);

/* Appends n records (1..AUDIT_APPEND_MAX), copied at the call, all or none. cb may be NULL.
 * With a loop it may be called from any thread (a processing channel on the thread pool) until
 * audit_close; cb still runs on the loop thread. Without a loop: one thread at a time.
 * Errors (cb not called): MG_EINVAL (n == 0, bad decision or kind token, control characters,
 * subject without a kind), MG_ETOOBIG (a field past its limit, n too large), MG_ESTATE
 * (read-only or closing), MG_ENOMEM. Via cb: MG_EDB. */
int audit_append(struct audit *a, const struct audit_record *recs, size_t n, audit_cb cb,
                 void *arg);

/* --- reads (synchronous, any thread) ------------------------------------------------------- */

struct audit_filter {
    int64_t since_us;     /* time >= since_us; 0 = no lower bound */
    int64_t until_us;     /* time < until_us; 0 = no upper bound */
    const char *qid;      /* exact; NULL or "" = any */
    const char *decision; /* exact; NULL or "" = any */
    const char *rcpt;     /* exact, ASCII case-insensitive; NULL or "" = any */
    size_t limit;         /* most records; 0 = no limit */
};

/* A record as read back: the fields of struct audit_record (strings never NULL, subject NULL
 * when absent) plus its sequence number (append order, never reused). Valid during the
 * callback only. */
struct audit_entry {
    int64_t seq;
    struct audit_record r;
};

/* Calls cb for every record matching f (NULL = all), newest first (time, then sequence). cb
 * returns 0 to go on or a nonzero value to stop, which audit_query returns. */
int audit_query(struct audit *a, const struct audit_filter *f,
                int (*cb)(void *arg, const struct audit_entry *e), void *arg);
/* The same on a file: opens it read-only (works while a daemon writes it), queries, closes. */
int audit_query_path(const char *path, const struct audit_filter *f,
                     int (*cb)(void *arg, const struct audit_entry *e), void *arg);

/* Counters (tests and logs). */
struct audit_stats {
    uint64_t commits;        /* transactions committed by the writer */
    uint64_t appends;        /* audit_append calls completed (any status) */
    uint64_t records;        /* records written */
    uint64_t max_batch;      /* most appends seen in one transaction */
    uint64_t pruned;         /* records deleted by retention */
    uint64_t failed_commits;
};
void audit_get_stats(struct audit *a, struct audit_stats *out);

#endif
