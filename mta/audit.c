/* audit: append-only audit store in SQLite (WAL, synchronous=FULL) with a group-committing
 * writer thread, modelled on queue_store. See audit.h for threading and ownership rules,
 * docs/audit.md for the schema and why it looks like this. Reads are in audit_query.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "mg_err.h"
#include "mg_log.h"

#define SCHEMA_VERSION 2 /* 2: subjects stored once (table subjects); 1: in every record */
#define DEFAULT_MAX_BATCH 1024
#define BUSY_TIMEOUT_MS 10000
#define PRUNE_CHUNK 5000                      /* rows deleted per transaction by retention */
#define PRUNE_EVERY_US (3600LL * 1000000LL)   /* retention runs at most once an hour */
#define MG_STR2(x) #x
#define MG_STR(x) MG_STR2(x)

/* Subjects (a certificate, a label) are stored once, keyed by the SHA-256 of their bytes, and
 * records name them (subject_sha256): a signing or encrypting gateway records the same few
 * certificates on every message, about 1 KB each that the store wrote again every time. A
 * subject's time_us is that of the record that first stored it. Retention deletes a subject
 * once no record names it any more (records_subject finds them); as records, a subject row is
 * never changed, and a raw DELETE fails. An insert of a subject already stored is ignored by
 * its trigger, so no one can replace a subject's bytes either. Version 1 files kept the bytes
 * in records.subject; their records keep them there (the column stays, NULL in new rows). */
#define SUBJECTS_SQL                                                                            \
    "CREATE TABLE IF NOT EXISTS subjects (sha256 BLOB PRIMARY KEY, time_us INTEGER NOT NULL,"   \
    " data BLOB NOT NULL) WITHOUT ROWID;"                                                       \
    "CREATE INDEX IF NOT EXISTS subjects_time ON subjects (time_us);"                           \
    "CREATE INDEX IF NOT EXISTS records_subject ON records (subject_sha256)"                    \
    " WHERE subject_sha256 IS NOT NULL;"                                                        \
    "CREATE TRIGGER IF NOT EXISTS subjects_no_update BEFORE UPDATE ON subjects"                 \
    " BEGIN SELECT RAISE(ABORT, 'audit subjects are append-only'); END;"                        \
    "CREATE TRIGGER IF NOT EXISTS subjects_no_delete BEFORE DELETE ON subjects"                 \
    " WHEN NOT mixgate_audit_may_delete(OLD.time_us)"                                           \
    " BEGIN SELECT RAISE(ABORT, 'audit subjects are deleted only by retention'); END;"          \
    "CREATE TRIGGER IF NOT EXISTS subjects_keep BEFORE INSERT ON subjects"                      \
    " WHEN EXISTS (SELECT 1 FROM subjects WHERE sha256 = NEW.sha256)"                           \
    " BEGIN SELECT RAISE(IGNORE); END;"

/* seq is AUTOINCREMENT so a number is never reused after retention deleted the newest rows:
 * a gap in seq is always a deletion. The triggers make the table append-only for every
 * connection: the delete trigger lets a row go only when the writer connection's function
 * says the retention step is running and the row is older than its cut-off; on any other
 * connection that function does not exist and the DELETE fails. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS records ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, time_us INTEGER NOT NULL, qid TEXT NOT NULL,"
    " rcpt TEXT NOT NULL, channel TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL,"
    " subject_kind TEXT NOT NULL, subject BLOB, summary TEXT NOT NULL, subject_sha256 BLOB);"
    "CREATE INDEX IF NOT EXISTS records_time ON records (time_us, seq);"
    "CREATE INDEX IF NOT EXISTS records_qid ON records (qid, time_us);"
    "CREATE INDEX IF NOT EXISTS records_rcpt ON records (rcpt COLLATE NOCASE, time_us);"
    "CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records"
    " WHEN NOT mixgate_audit_may_delete(OLD.time_us)"
    " BEGIN SELECT RAISE(ABORT, 'audit records are deleted only by retention'); END;"
    /* REPLACE deletes the row it conflicts with without firing delete triggers (unless
     * recursive_triggers is on): refuse an insert that names an existing seq */
    "CREATE TRIGGER IF NOT EXISTS records_no_replace BEFORE INSERT ON records"
    " WHEN EXISTS (SELECT 1 FROM records WHERE seq = NEW.seq)"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
    SUBJECTS_SQL;

static const char insert_sql[] =
    "INSERT INTO records (time_us, qid, rcpt, channel, decision, reason, subject_kind,"
    " subject_sha256, summary) VALUES (?,?,?,?,?,?,?,?,?)";
static const char subject_sql[] = "INSERT INTO subjects (sha256, time_us, data) VALUES (?,?,?)";
static const char prune_sql[] =
    "DELETE FROM records WHERE seq IN"
    " (SELECT seq FROM records WHERE time_us < ?1 ORDER BY time_us LIMIT " MG_STR(PRUNE_CHUNK) ")";
/* after the records: the subjects older than the cut-off that no record names any more */
static const char prune_subjects_sql[] =
    "DELETE FROM subjects WHERE sha256 IN (SELECT sha256 FROM subjects WHERE time_us < ?1 AND"
    " NOT EXISTS (SELECT 1 FROM records WHERE subject_sha256 = subjects.sha256) LIMIT "
    MG_STR(PRUNE_CHUNK) ")";

/* One audit_append: owned by the store from queueing until its callback has run. The records
 * and every string and subject they point to live in the same allocation (after recs[]). */
struct op {
    struct op *next;
    int status;
    audit_cb cb;
    void *arg;
    size_t n;
    struct audit_record recs[];
};

/* Transaction-control statements of the writer's batches, parsed once: sqlite3_exec parsed
 * them again for every batch and every append (6% of a signing gateway's CPU). */
enum ctl { CTL_BEGIN, CTL_SAVEPOINT, CTL_RELEASE, CTL_ROLLBACK_TO, CTL_COMMIT, CTL_ROLLBACK,
           CTL_COUNT };
static const char *const ctl_sql[CTL_COUNT] = {
    [CTL_BEGIN] = "BEGIN IMMEDIATE", [CTL_SAVEPOINT] = "SAVEPOINT w", [CTL_RELEASE] = "RELEASE w",
    [CTL_ROLLBACK_TO] = "ROLLBACK TO w", [CTL_COMMIT] = "COMMIT", [CTL_ROLLBACK] = "ROLLBACK",
};

struct audit {
    uv_loop_t *loop;            /* NULL: synchronous appends */
    uv_async_t async;           /* wakes the loop when appends completed */
    struct audit_opts opts;
    char *path;                 /* owned */
    sqlite3 *wdb;               /* writer connection: writer thread (or caller without loop) */
    sqlite3_stmt *ins, *ins_subject, *prune, *prune_subjects;
    sqlite3_stmt *ctl[CTL_COUNT]; /* transaction control, prepared once (ctl_sql) */
    int64_t prune_cutoff_us;    /* writer only: != 0 while the retention step runs */
    int64_t next_prune_us;      /* writer only */
    int prune_more;             /* writer only: the last chunk was full */
    struct audit_reader rd;     /* the read connection (audit_query.c) */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;         /* guards everything below */
    pthread_cond_t cv;
    struct op *pending, *pending_tail;
    struct op *done, *done_tail;
    int stopping;
    struct audit_stats stats;
};

static int64_t real_clock_us(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_us(const struct audit *a)
{
    return a->opts.clock_us(a->opts.clock_arg);
}

int audit_db_err(sqlite3 *db, const char *path, const char *what)
{
    char q[512], m[256];
    mg_warn("event=audit_error path=%s op=%s sqlite=%s", mg_log_quote(path, q, sizeof q), what,
            mg_log_quote(db ? sqlite3_errmsg(db) : "open", m, sizeof m));
    return MG_EDB;
}

static int exec_sql(struct audit *a, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(a->wdb, sql, NULL, NULL, &msg) != SQLITE_OK) {
        char q[512], m[256];
        mg_warn("event=audit_error path=%s op=%s sqlite=%s", mg_log_quote(a->path, q, sizeof q),
                what, mg_log_quote(msg ? msg : "?", m, sizeof m));
        sqlite3_free(msg);
        return MG_EDB;
    }
    return 0;
}

/* One prepared control statement of the writer (what: the log's op name). */
static int ctl(struct audit *a, enum ctl which, const char *what)
{
    sqlite3_stmt *st = a->ctl[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return audit_db_err(a->wdb, a->path, what);
    return 0;
}

/* ---------------------------------------------------------------- the retention gate */

/* mixgate_audit_may_delete(time_us), called by the delete trigger: true only on the writer
 * connection, only while the retention step runs, only for rows older than its cut-off. */
static void fn_may_delete(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const struct audit *a = sqlite3_user_data(ctx);
    int ok = argc == 1 && a->prune_cutoff_us != 0 &&
             sqlite3_value_type(argv[0]) == SQLITE_INTEGER &&
             sqlite3_value_int64(argv[0]) < a->prune_cutoff_us;
    sqlite3_result_int(ctx, ok);
}

/* One retention step inside the caller's transaction: deletes up to PRUNE_CHUNK records older
 * than the retention age. A failure is logged and retried in an hour; it never fails the
 * appends beside it. */
static void prune_step(struct audit *a)
{
    int64_t now = now_us(a);
    a->next_prune_us = now + PRUNE_EVERY_US;
    a->prune_more = 0;
    if (exec_sql(a, "SAVEPOINT p", "prune") != 0)
        return;
    a->prune_cutoff_us = now - a->opts.retention_s * 1000000;
    sqlite3_bind_int64(a->prune, 1, a->prune_cutoff_us);
    int rc = sqlite3_step(a->prune);
    sqlite3_reset(a->prune);
    int changes = sqlite3_changes(a->wdb), subjects = 0;
    if (rc == SQLITE_DONE) {
        sqlite3_bind_int64(a->prune_subjects, 1, a->prune_cutoff_us);
        rc = sqlite3_step(a->prune_subjects);
        sqlite3_reset(a->prune_subjects);
        subjects = sqlite3_changes(a->wdb);
    }
    a->prune_cutoff_us = 0;
    if (rc != SQLITE_DONE) {
        audit_db_err(a->wdb, a->path, "prune");
        exec_sql(a, "ROLLBACK TO p", "prune");
    } else {
        a->prune_more = changes == PRUNE_CHUNK || subjects == PRUNE_CHUNK;
        pthread_mutex_lock(&a->mu);
        a->stats.pruned += (uint64_t)changes;
        pthread_mutex_unlock(&a->mu);
        if (changes > 0 || subjects > 0)
            mg_info("event=audit_pruned records=%d subjects=%d retention_s=%lld", changes,
                    subjects, (long long)a->opts.retention_s);
    }
    exec_sql(a, "RELEASE p", "prune");
}

/* Writer thread (or open): is a retention step due now? */
static int prune_due(const struct audit *a)
{
    return a->opts.retention_s > 0 && (a->prune_more || now_us(a) >= a->next_prune_us);
}

/* ---------------------------------------------------------------- applying appends */

static void bind_str(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Stores a record's subject unless it is stored already (the trigger ignores the insert);
 * sha receives its key. */
static int put_subject(struct audit *a, const struct audit_record *r, unsigned char sha[32])
{
    if (!EVP_Digest(r->subject, r->subject_len, sha, NULL, EVP_sha256(), NULL))
        return MG_ENOMEM;
    sqlite3_stmt *st = a->ins_subject;
    sqlite3_bind_blob(st, 1, sha, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->time_us);
    sqlite3_bind_blob(st, 3, r->subject, (int)r->subject_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : audit_db_err(a->wdb, a->path, "insert_subject");
}

static int apply_op(struct audit *a, const struct op *op)
{
    for (size_t i = 0; i < op->n; i++) {
        const struct audit_record *r = &op->recs[i];
        unsigned char sha[32];
        int rc = r->subject_len ? put_subject(a, r, sha) : 0;
        if (rc != 0)
            return rc;
        sqlite3_stmt *st = a->ins;
        sqlite3_bind_int64(st, 1, r->time_us);
        bind_str(st, 2, r->qid);
        bind_str(st, 3, r->rcpt);
        bind_str(st, 4, r->channel);
        bind_str(st, 5, r->decision);
        bind_str(st, 6, r->reason);
        bind_str(st, 7, r->subject_kind);
        if (r->subject_len)
            sqlite3_bind_blob(st, 8, sha, 32, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 8);
        bind_str(st, 9, r->summary);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_DONE)
            return audit_db_err(a->wdb, a->path, "insert");
    }
    return 0;
}

/* Applies a batch of appends (may be NULL: a retention step alone) in one transaction. The
 * appends go in without savepoints; only when one fails is the transaction rolled back and the
 * batch applied again with each append in its own savepoint, so one failing append leaves the
 * others intact. Sets every op's status; returns 1 when a commit happened. */
static int run_batch(struct audit *a, struct op *batch)
{
    int isolate = 0;
again:
    if (ctl(a, CTL_BEGIN, "begin") != 0) {
        for (struct op *op = batch; op; op = op->next)
            op->status = MG_EDB;
        /* a retention step that cannot start waits its hour, or the writer would spin on it */
        if (prune_due(a)) {
            a->next_prune_us = now_us(a) + PRUNE_EVERY_US;
            a->prune_more = 0;
        }
        return 0;
    }
    for (struct op *op = batch; op; op = op->next) {
        if (!isolate) {
            op->status = apply_op(a, op);
            if (op->status != 0) {
                ctl(a, CTL_ROLLBACK, "rollback");
                isolate = 1;
                goto again;
            }
            continue;
        }
        if (ctl(a, CTL_SAVEPOINT, "savepoint") != 0) {
            op->status = MG_EDB;
            continue;
        }
        op->status = apply_op(a, op);
        if (op->status != 0)
            ctl(a, CTL_ROLLBACK_TO, "rollback");
        ctl(a, CTL_RELEASE, "release");
    }
    if (prune_due(a))
        prune_step(a);
    if (ctl(a, CTL_COMMIT, "commit") != 0) {
        ctl(a, CTL_ROLLBACK, "rollback");
        for (struct op *op = batch; op; op = op->next)
            if (op->status == 0)
                op->status = MG_EDB;
        return 0;
    }
    return 1;
}

static void count_batch(struct audit *a, const struct op *batch, size_t n, int committed)
{
    if (committed)
        a->stats.commits++;
    else
        a->stats.failed_commits++;
    a->stats.appends += n;
    if (n > a->stats.max_batch)
        a->stats.max_batch = n;
    for (const struct op *op = batch; op; op = op->next)
        if (op->status == 0)
            a->stats.records += op->n;
}

static void complete_list(struct op *list)
{
    while (list) {
        struct op *next = list->next;
        if (list->cb)
            list->cb(list->arg, list->status);
        free(list);
        list = next;
    }
}

/* Absolute real time of the next hourly wake-up (retention without any appends). */
static struct timespec wake_at(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += PRUNE_EVERY_US / 1000000;
    return ts;
}

static void *writer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "mg-audit"); /* for top -H, perf and the operator's eye */
    struct audit *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        if (!a->pending && !a->stopping && !prune_due(a)) {
            struct timespec ts = wake_at();
            pthread_cond_timedwait(&a->cv, &a->mu, &ts);
            continue;
        }
        if (!a->pending && a->stopping)
            break; /* stopping and drained */
        /* Take everything queued, up to max_batch appends: this is the group commit. */
        struct op *batch = a->pending, *last = batch;
        size_t n = batch ? 1 : 0;
        while (last && last->next && n < a->opts.max_batch) {
            last = last->next;
            n++;
        }
        if (last) {
            a->pending = last->next;
            if (!a->pending)
                a->pending_tail = NULL;
            last->next = NULL;
        }
        pthread_mutex_unlock(&a->mu);

        int committed = run_batch(a, batch);

        pthread_mutex_lock(&a->mu);
        count_batch(a, batch, n, committed);
        if (batch) {
            if (a->done_tail)
                a->done_tail->next = batch;
            else
                a->done = batch;
            a->done_tail = last;
            pthread_mutex_unlock(&a->mu);
            uv_async_send(&a->async);
            pthread_mutex_lock(&a->mu);
        }
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static struct op *take_done(struct audit *a)
{
    pthread_mutex_lock(&a->mu);
    struct op *list = a->done;
    a->done = a->done_tail = NULL;
    pthread_mutex_unlock(&a->mu);
    return list;
}

static void on_async(uv_async_t *h)
{
    complete_list(take_done(h->data));
}

/* ---------------------------------------------------------------- validation and copying */

/* Token of [a-z0-9-]{min,max}. */
static int check_token(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return MG_ETOOBIG;
    if (n < min)
        return MG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return MG_EINVAL;
    return 0;
}

/* A field that names something (queue id, recipient, channel): no control characters. */
static int check_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return MG_ETOOBIG;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return MG_EINVAL;
    return 0;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* Checks one record; adds the bytes its copy needs to *bytes. */
static int check_record(const struct audit_record *r, size_t *bytes)
{
    int rc;
    if ((rc = check_name(nz(r->qid), AUDIT_QID_MAX)) != 0 ||
        (rc = check_name(nz(r->rcpt), AUDIT_RCPT_MAX)) != 0 ||
        (rc = check_name(nz(r->channel), AUDIT_CHANNEL_MAX)) != 0 ||
        (rc = check_token(nz(r->decision), 1, AUDIT_DECISION_MAX)) != 0 ||
        (rc = check_token(nz(r->subject_kind), 0, AUDIT_KIND_MAX)) != 0)
        return rc;
    if (strlen(nz(r->reason)) > AUDIT_REASON_MAX || strlen(nz(r->summary)) > AUDIT_SUMMARY_MAX ||
        r->subject_len > AUDIT_SUBJECT_MAX)
        return MG_ETOOBIG;
    if (r->subject_len && (!r->subject || !nz(r->subject_kind)[0]))
        return MG_EINVAL;
    if (r->time_us < 0)
        return MG_EINVAL;
    const char *strs[] = { r->qid, r->rcpt, r->channel, r->decision, r->reason,
                           r->subject_kind, r->summary };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        *bytes += strlen(nz(strs[i])) + 1;
    *bytes += r->subject_len;
    return 0;
}

static const char *copy_str(char **arena, const char *s)
{
    size_t n = strlen(nz(s)) + 1;
    char *d = *arena;
    memcpy(d, nz(s), n);
    *arena += n;
    return d;
}

/* One allocation holding the op, the records and everything they point to. */
static struct op *op_copy(const struct audit *a, const struct audit_record *recs, size_t n,
                          size_t bytes)
{
    struct op *op = malloc(sizeof *op + n * sizeof(struct audit_record) + bytes);
    if (!op)
        return NULL;
    memset(op, 0, sizeof *op);
    op->n = n;
    char *arena = (char *)&op->recs[n];
    int64_t now = now_us(a);
    for (size_t i = 0; i < n; i++) {
        const struct audit_record *s = &recs[i];
        struct audit_record *d = &op->recs[i];
        d->time_us = s->time_us ? s->time_us : now;
        d->qid = copy_str(&arena, s->qid);
        d->rcpt = copy_str(&arena, s->rcpt);
        d->channel = copy_str(&arena, s->channel);
        d->decision = copy_str(&arena, s->decision);
        d->reason = copy_str(&arena, s->reason);
        d->subject_kind = copy_str(&arena, s->subject_kind);
        d->summary = copy_str(&arena, s->summary);
        d->subject_len = s->subject_len;
        d->subject = NULL;
        if (s->subject_len) {
            memcpy(arena, s->subject, s->subject_len);
            d->subject = arena;
            arena += s->subject_len;
        }
    }
    return op;
}

/* ---------------------------------------------------------------- appends */

int audit_append(struct audit *a, const struct audit_record *recs, size_t n, audit_cb cb,
                 void *arg)
{
    if (!a || !recs || n == 0)
        return MG_EINVAL;
    if (n > AUDIT_APPEND_MAX)
        return MG_ETOOBIG;
    if (!a->wdb)
        return MG_ESTATE;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = check_record(&recs[i], &bytes);
        if (rc != 0)
            return rc;
    }
    struct op *op = op_copy(a, recs, n, bytes); /* owned by the store from here */
    if (!op)
        return MG_ENOMEM;
    op->cb = cb;
    op->arg = arg;
    if (!a->loop) {
        int committed = run_batch(a, op);
        count_batch(a, op, 1, committed);
        int status = op->status;
        complete_list(op);
        return status;
    }
    pthread_mutex_lock(&a->mu);
    if (a->stopping) {
        pthread_mutex_unlock(&a->mu);
        free(op);
        return MG_ESTATE;
    }
    if (a->pending_tail)
        a->pending_tail->next = op;
    else
        a->pending = op;
    a->pending_tail = op;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

/* ---------------------------------------------------------------- open / close */

static int open_db(const char *path, int flags, sqlite3 **out)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        int rc = audit_db_err(db, path, "open");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db, 1);
    *out = db;
    return 0;
}

/* Creates the file mode 0600 before SQLite sees it (SQLite gives its -wal and -shm files the
 * database file's mode), and narrows an existing file that others could read. */
static int create_private(const char *path)
{
    char q[512];
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        mg_warn("event=audit_error path=%s op=create error=%s", mg_log_quote(path, q, sizeof q),
                mg_log_quote(strerror(e), q + 256, 256));
        return MG_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077) && fchmod(fd, 0600) != 0)
        mg_warn("event=audit_error path=%s op=chmod", mg_log_quote(path, q, sizeof q));
    close(fd);
    return 0;
}

/* Schema version of the file, -1 when it cannot be read. */
static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int init_writer(struct audit *a)
{
    /* WAL + synchronous=FULL: a commit returns after the WAL is fsync'd, so a completed append
     * survives power loss; readers in other processes never block the writer. */
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(a->wdb, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
        rc = audit_db_err(a->wdb, a->path, "journal_mode");
    sqlite3_finalize(st);
    if (rc == 0)
        rc = exec_sql(a, "PRAGMA synchronous=FULL", "synchronous");
    if (rc == 0 && sqlite3_create_function(a->wdb, "mixgate_audit_may_delete", 1, SQLITE_UTF8,
                                           a, fn_may_delete, NULL, NULL) != SQLITE_OK)
        rc = audit_db_err(a->wdb, a->path, "create_function");
    if (rc == 0)
        rc = exec_sql(a, "BEGIN IMMEDIATE", "begin");
    if (rc != 0)
        return rc;
    int version = user_version(a->wdb);
    /* version 1: records get the subject key column; the schema below adds the rest */
    if (rc == 0 && version == 1)
        rc = exec_sql(a, "ALTER TABLE records ADD COLUMN subject_sha256 BLOB", "migrate");
    if (rc == 0 && version != 0 && version != 1 && version != SCHEMA_VERSION) {
        char q[512];
        mg_warn("event=audit_error path=%s schema_version=%d expected=%d",
                mg_log_quote(a->path, q, sizeof q), version, SCHEMA_VERSION);
        rc = MG_EDB;
    }
    if (rc == 0)
        rc = exec_sql(a, schema_sql, "schema");
    if (rc == 0 && version != SCHEMA_VERSION)
        rc = exec_sql(a, "PRAGMA user_version=" MG_STR(SCHEMA_VERSION), "user_version");
    if (rc == 0 && version == 1) {
        char q[512];
        mg_info("event=audit_migrated path=%s from=1 to=" MG_STR(SCHEMA_VERSION),
                mg_log_quote(a->path, q, sizeof q));
    }
    if (rc == 0)
        rc = exec_sql(a, "COMMIT", "commit");
    else
        exec_sql(a, "ROLLBACK", "rollback");
    if (rc == 0 && (sqlite3_prepare_v3(a->wdb, insert_sql, -1, SQLITE_PREPARE_PERSISTENT,
                                       &a->ins, NULL) != SQLITE_OK ||
                    sqlite3_prepare_v3(a->wdb, subject_sql, -1, SQLITE_PREPARE_PERSISTENT,
                                       &a->ins_subject, NULL) != SQLITE_OK ||
                    sqlite3_prepare_v3(a->wdb, prune_sql, -1, SQLITE_PREPARE_PERSISTENT,
                                       &a->prune, NULL) != SQLITE_OK ||
                    sqlite3_prepare_v3(a->wdb, prune_subjects_sql, -1,
                                       SQLITE_PREPARE_PERSISTENT, &a->prune_subjects,
                                       NULL) != SQLITE_OK))
        rc = audit_db_err(a->wdb, a->path, "prepare");
    for (int i = 0; rc == 0 && i < CTL_COUNT; i++)
        if (sqlite3_prepare_v3(a->wdb, ctl_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &a->ctl[i],
                               NULL) != SQLITE_OK)
            rc = audit_db_err(a->wdb, a->path, "prepare");
    /* retention at open: every old record, chunk by chunk, before the first append */
    while (rc == 0 && prune_due(a))
        rc = run_batch(a, NULL) ? 0 : MG_EDB;
    return rc;
}

/* The read connection; a read-only open of a file that is not an audit store fails here. */
static int init_reader(struct audit *a)
{
    if (a->opts.read_only && access(a->path, F_OK) != 0)
        return errno == ENOENT ? MG_ENOTFOUND : MG_EIO;
    int rc = open_db(a->path, SQLITE_OPEN_READONLY, &a->rd.db);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(a->rd.db, "SELECT seq FROM records LIMIT 0", -1, &st, NULL) !=
        SQLITE_OK)
        rc = audit_db_err(a->rd.db, a->path, "open_read");
    sqlite3_finalize(st);
    a->rd.version = rc == 0 ? user_version(a->rd.db) : 0;
    if (rc == 0 && a->rd.version > SCHEMA_VERSION)
        rc = audit_db_err(a->rd.db, a->path, "schema_version");
    return rc;
}

static void close_dbs(struct audit *a)
{
    sqlite3_finalize(a->ins);
    sqlite3_finalize(a->ins_subject);
    sqlite3_finalize(a->prune);
    sqlite3_finalize(a->prune_subjects);
    a->ins = a->ins_subject = a->prune = a->prune_subjects = NULL;
    for (int i = 0; i < CTL_COUNT; i++) {
        sqlite3_finalize(a->ctl[i]);
        a->ctl[i] = NULL;
    }
    /* the read-only connection first: the last connection to close checkpoints and removes
     * the WAL, which only the writer can do */
    sqlite3_close(a->rd.db);
    sqlite3_close(a->wdb);
    a->wdb = a->rd.db = NULL;
}

static void audit_free(struct audit *a)
{
    pthread_mutex_destroy(&a->rd.mu);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a->path);
    free(a);
}

static void on_close(uv_handle_t *h)
{
    audit_free(h->data);
}

int audit_open(struct audit **out, uv_loop_t *loop, const char *path,
               const struct audit_opts *opts)
{
    if (!out || !path || !*path)
        return MG_EINVAL;
    if (opts && (opts->retention_s < 0 || opts->retention_s > AUDIT_RETENTION_MAX))
        return MG_EINVAL;
    struct audit *a = calloc(1, sizeof *a); /* owned by the caller until audit_close */
    if (!a)
        return MG_ENOMEM;
    if (opts)
        a->opts = *opts;
    if (!a->opts.max_batch)
        a->opts.max_batch = DEFAULT_MAX_BATCH;
    if (!a->opts.clock_us)
        a->opts.clock_us = real_clock_us;
    a->loop = a->opts.read_only ? NULL : loop;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&a->rd.mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->path = strdup(path);
    int rc = a->path ? 0 : MG_ENOMEM;
    if (rc == 0 && !a->opts.read_only) {
        rc = create_private(path);
        if (rc == 0)
            rc = open_db(path, SQLITE_OPEN_READWRITE, &a->wdb);
        if (rc == 0)
            rc = init_writer(a);
    }
    if (rc == 0)
        rc = init_reader(a);
    if (rc == 0 && a->loop) {
        if (uv_async_init(a->loop, &a->async, on_async) != 0) {
            rc = MG_EIO;
        } else {
            a->async.data = a;
            if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
                mg_warn("event=audit_error op=thread_create");
                close_dbs(a);
                uv_close((uv_handle_t *)&a->async, on_close); /* frees a */
                return MG_ENOMEM;
            }
            a->thread_started = 1;
        }
    }
    if (rc != 0) {
        close_dbs(a);
        audit_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void audit_close(struct audit *a)
{
    if (!a)
        return;
    if (a->thread_started) {
        pthread_mutex_lock(&a->mu);
        a->stopping = 1;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thread, NULL);
        a->thread_started = 0;
    }
    complete_list(take_done(a));
    close_dbs(a);
    if (a->loop)
        uv_close((uv_handle_t *)&a->async, on_close);
    else
        audit_free(a);
}

void audit_get_stats(struct audit *a, struct audit_stats *out)
{
    pthread_mutex_lock(&a->mu);
    *out = a->stats;
    pthread_mutex_unlock(&a->mu);
}

struct audit_reader *audit_reader(struct audit *a)
{
    return &a->rd;
}

const char *audit_path(const struct audit *a)
{
    return a->path;
}
