/* queue_store: durable queue in SQLite (WAL, synchronous=FULL) with a group-committing writer
 * thread. See queue_store.h for the threading and ownership rules, docs/queue.md for the
 * design and the measurements behind it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include "queue_store_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mg_err.h"
#include "mg_log.h"

#define SCHEMA_VERSION 6
#define DEFAULT_MAX_BATCH 1024
#define DEFAULT_MAX_BATCH_BYTES (64u << 20)
#define DEFAULT_MAX_CONTENT (256u << 20)
#define DEFAULT_HISTORY_KEEP 10000
#define BUSY_TIMEOUT_MS 10000
#define MG_STR2(x) #x
#define MG_STR(x) MG_STR2(x)

/* Recipient rows and the message row are separate tables so that loading the index reads
 * only small rows; content lives in its own rowid table so envelope pages never hold content
 * and incremental blob I/O (which needs a rowid table) can stream it. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS messages ("
    " id TEXT PRIMARY KEY NOT NULL, arrival INTEGER NOT NULL, priority INTEGER NOT NULL,"
    " originator TEXT NOT NULL, envid TEXT, ret INTEGER NOT NULL,"
    " received_from TEXT, received_proto TEXT, hold INTEGER NOT NULL, hold_reason TEXT,"
    " label BLOB, content_type INTEGER NOT NULL, content_size INTEGER NOT NULL,"
    " expire_at INTEGER NOT NULL, content_version INTEGER NOT NULL DEFAULT 0,"
    " mts_id TEXT, content_oid TEXT, x400_env BLOB);"
    "CREATE TABLE IF NOT EXISTS rcpts ("
    " msg_id TEXT NOT NULL, idx INTEGER NOT NULL, addr TEXT NOT NULL, orcpt TEXT,"
    " notify INTEGER NOT NULL, state INTEGER NOT NULL, flags INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, next_attempt INTEGER NOT NULL, last_attempt INTEGER NOT NULL,"
    " last_reply TEXT, status TEXT, remote_mta TEXT, route TEXT, chain TEXT, peer TEXT,"
    " stage INTEGER NOT NULL DEFAULT 0, cversion INTEGER NOT NULL DEFAULT 0, next_addr TEXT,"
    " addr_kind INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (msg_id, idx)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS content ("
    " msg_id TEXT NOT NULL, version INTEGER NOT NULL, type INTEGER NOT NULL,"
    " data BLOB NOT NULL, label BLOB, priority INTEGER, originator TEXT, content_oid TEXT,"
    " UNIQUE (msg_id, version));"
    "CREATE TABLE IF NOT EXISTS history ("
    " seq INTEGER PRIMARY KEY, id TEXT NOT NULL, originator TEXT NOT NULL,"
    " arrival INTEGER NOT NULL, finished INTEGER NOT NULL, nrcpts INTEGER NOT NULL,"
    " ndelivered INTEGER NOT NULL, nfailed INTEGER NOT NULL, outcome TEXT NOT NULL,"
    " mts_id TEXT, envid TEXT);"
    /* a report that arrives later finds its subject by identifier (report_match) */
    "CREATE INDEX IF NOT EXISTS history_mts_id ON history (mts_id) WHERE mts_id IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS history_envid ON history (envid) WHERE envid IS NOT NULL;"
    /* the operator's peer holds (`mixgate peer hold`), kept across restarts. Created on any
     * open, so schema 6 files without it get it; an older mixgated ignores it. */
    "CREATE TABLE IF NOT EXISTS peer_holds ("
    " peer TEXT PRIMARY KEY NOT NULL, reason TEXT NOT NULL, since INTEGER NOT NULL) WITHOUT ROWID;";




static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

int queue_store_db_err(sqlite3 *db, const char *what)
{
    mg_warn("event=queue_store_error op=%s sqlite=\"%s\"", what, db ? sqlite3_errmsg(db) : "open");
    return MG_EDB;
}

int queue_store_exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        mg_warn("event=queue_store_error sql=\"%.40s\" sqlite=\"%s\"", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return MG_EDB;
    }
    return 0;
}

void queue_store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int queue_store_col_dup(sqlite3_stmt *st, int i, char **out)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t) {
        *out = NULL;
        return 0;
    }
    *out = strdup((const char *)t);
    return *out ? 0 : MG_ENOMEM;
}

int queue_store_open_db(const char *path, int flags, sqlite3 **out)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        int rc = db_err(db, "open");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db, 1);
    *out = db;
    return 0;
}

/* ---------------------------------------------------------------- batches (queue_store_apply.c applies each write) */

/* Applies a batch of writes in one transaction, and sets every op's status; returns 1 when a
 * commit happened. Each write must succeed or fail alone (a duplicate id, an unknown message
 * leave the others of the batch intact). The common batch has no failure, so it first runs
 * plainly; only when a write fails is the transaction rolled back and the batch run again with
 * a savepoint around each write (two statements more per write, a fifth of the writer's time
 * when it was the only way). */
static int apply_all(struct queue_store *s, struct op *batch, int savepoints, int *removed)
{
    *removed = 0;
    for (struct op *op = batch; op; op = op->next) {
        if (savepoints && step_done(s, s->ws[W_SAVEPOINT], "savepoint") != 0) {
            op->status = MG_EDB;
            continue;
        }
        op->status = queue_store_apply_op(s, op);
        if (!savepoints && op->status != 0)
            return -1;
        if (op->status != 0)
            step_done(s, s->ws[W_ROLLBACK_SP], "rollback_to");
        else if (op->kind == OP_DELETE || op->kind == OP_FINISH)
            *removed = 1;
        if (savepoints)
            step_done(s, s->ws[W_RELEASE_SP], "release");
    }
    return 0;
}

static int run_batch(struct queue_store *s, struct op *batch)
{
    int removed = 0;
    int rc = step_done(s, s->ws[W_BEGIN], "begin");
    if (rc == 0 && apply_all(s, batch, 0, &removed) != 0) {
        exec_sql(s->wdb, "ROLLBACK");
        rc = step_done(s, s->ws[W_BEGIN], "begin");
        if (rc == 0)
            apply_all(s, batch, 1, &removed);
    }
    if (rc != 0) {
        for (struct op *op = batch; op; op = op->next)
            op->status = MG_EDB;
        return 0;
    }
    if (removed) {
        sqlite3_stmt *st = s->ws[W_HIST_TRIM];
        sqlite3_bind_int64(st, 1, (sqlite3_int64)s->opts.history_keep);
        step_done(s, st, "history_trim"); /* best effort: the table is only bounded by it */
    }
    if (step_done(s, s->ws[W_COMMIT], "commit") != 0) {
        exec_sql(s->wdb, "ROLLBACK");
        for (struct op *op = batch; op; op = op->next)
            if (op->status == 0)
                op->status = MG_EDB;
        return 0;
    }
    return 1;
}

static void op_free(struct op *op)
{
    if (!op)
        return;
    for (size_t i = 0; op->u && i < op->nu; i++) {
        free((char *)op->u[i].reply);
        free((char *)op->u[i].status);
        free((char *)op->u[i].remote_mta);
        free((char *)op->u[i].route);
        free((char *)op->u[i].chain);
        free((char *)op->u[i].peer);
    }
    free(op->u);
    free(op->reason);
    free(op->peer);
    for (size_t i = 0; op->st.rcpts && i < op->st.nrcpts; i++) {
        free((char *)op->st.rcpts[i].reply);
        free((char *)op->st.rcpts[i].status);
        free((char *)op->st.rcpts[i].next_addr);
        free((char *)op->st.rcpts[i].chain);
        free((char *)op->st.rcpts[i].orcpt);
    }
    free((char *)op->st.envid);
    free((void *)op->st.x400_env);
    free((char *)op->st.mts_id);
    free((char *)op->st.content_oid);
    free((void *)op->st.rcpts);
    for (size_t i = 0; op->st.add && i < op->st.nadd; i++)
        free((char *)op->st.add[i]);
    free((void *)op->st.add);
    free((void *)op->st.add_stages);
    free((void *)op->st.label);
    free((char *)op->st.originator);
    free(op);
}

static void complete_list(struct op *list)
{
    while (list) {
        struct op *next = list->next;
        if (list->cb)
            list->cb(list->arg, list->status);
        op_free(list);
        list = next;
    }
}

static void *writer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "mg-store"); /* for top -H, perf and the operator's eye */
    struct queue_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->pending && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->pending)
            break; /* stopping and drained */
        /* Take everything queued, up to the batch limits: this is the group commit. */
        struct op *batch = s->pending, *last = batch;
        size_t n = 1, bytes = batch->content_len;
        while (last->next && n < s->opts.max_batch &&
               bytes + last->next->content_len <= s->opts.max_batch_bytes) {
            last = last->next;
            bytes += last->content_len;
            n++;
        }
        s->pending = last->next;
        if (!s->pending)
            s->pending_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->mu);

        int committed = run_batch(s, batch);

        pthread_mutex_lock(&s->mu);
        if (committed)
            s->stats.commits++;
        else
            s->stats.failed_commits++;
        s->stats.writes += n;
        if (n > s->stats.max_batch)
            s->stats.max_batch = n;
        if (s->done_tail)
            s->done_tail->next = batch;
        else
            s->done = batch;
        s->done_tail = last;
        pthread_mutex_unlock(&s->mu);
        uv_async_send(&s->async);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static struct op *take_done(struct queue_store *s)
{
    pthread_mutex_lock(&s->mu);
    struct op *list = s->done;
    s->done = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    return list;
}

static void on_async(uv_async_t *h)
{
    complete_list(take_done(h->data));
}

/* Queues one write (with a loop) or applies it now (without). Takes ownership of op. */
static int enqueue(struct queue_store *s, struct op *op)
{
    if (!s->wdb) {
        op_free(op);
        return MG_ESTATE;
    }
    if (!s->loop) {
        op->next = NULL;
        int committed = run_batch(s, op);
        s->stats.commits += committed ? 1 : 0;
        s->stats.failed_commits += committed ? 0 : 1;
        s->stats.writes++;
        if (s->stats.max_batch < 1)
            s->stats.max_batch = 1;
        int status = op->status;
        complete_list(op);
        return status;
    }
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        op_free(op);
        return MG_ESTATE;
    }
    op->next = NULL;
    if (s->pending_tail)
        s->pending_tail->next = op;
    else
        s->pending = op;
    s->pending_tail = op;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static struct op *op_new(enum op_kind kind, const char *id, queue_store_cb cb, void *arg)
{
    struct op *op = calloc(1, sizeof(*op));
    if (!op)
        return NULL;
    op->kind = kind;
    op->cb = cb;
    op->arg = arg;
    op->when = now_s();
    if (id)
        memcpy(op->id, id, strlen(id) + 1);
    return op;
}

/* Ids reach SQL only as bound values, but we still insist on the id form: they are also used
 * in logs and by callers in file names. */
int queue_store_check_id(const char *id)
{
    return message_id_valid(id) ? 0 : MG_EINVAL;
}

/* ---------------------------------------------------------------- open / close */

static int init_schema(struct queue_store *s)
{
    /* WAL + synchronous=FULL: a commit returns after the WAL is fsync'd, so a completed write
     * survives power loss; readers never block the writer. */
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->wdb, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
        rc = db_err(s->wdb, "journal_mode");
    sqlite3_finalize(st);
    if (rc == 0)
        rc = exec_sql(s->wdb, "PRAGMA synchronous=FULL");
    if (rc == 0)
        rc = exec_sql(s->wdb, "BEGIN IMMEDIATE");
    if (rc != 0)
        return rc;
    int version = -1;
    if (sqlite3_prepare_v2(s->wdb, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version == 2) {
        /* 2 -> 3: per-recipient chain progress and content versions per recipient group */
        rc = exec_sql(s->wdb, "ALTER TABLE rcpts ADD COLUMN stage INTEGER NOT NULL DEFAULT 0;"
                              "ALTER TABLE rcpts ADD COLUMN cversion INTEGER NOT NULL DEFAULT 0;"
                              "ALTER TABLE rcpts ADD COLUMN next_addr TEXT;"
                              "ALTER TABLE content ADD COLUMN label BLOB;"
                              "ALTER TABLE content ADD COLUMN priority INTEGER;"
                              "ALTER TABLE content ADD COLUMN originator TEXT;"
                              "UPDATE rcpts SET cversion = (SELECT content_version FROM messages"
                              " WHERE id = rcpts.msg_id);");
        if (rc == 0) {
            mg_info("event=queue_schema_upgraded path=%s from=2 to=3", s->path);
            version = 3;
        }
    }
    if (rc == 0 && version == 3) {
        /* 3 -> 4: X.400 messages: recipient address kind, MTS identifier, content type and
         * the original MTS envelope */
        rc = exec_sql(s->wdb, "ALTER TABLE rcpts ADD COLUMN addr_kind INTEGER NOT NULL DEFAULT 0;"
                              "ALTER TABLE messages ADD COLUMN mts_id TEXT;"
                              "ALTER TABLE messages ADD COLUMN content_oid TEXT;"
                              "ALTER TABLE messages ADD COLUMN x400_env BLOB;");
        if (rc == 0) {
            mg_info("event=queue_schema_upgraded path=%s from=3 to=4", s->path);
            version = 4;
        }
    }
    if (rc == 0 && version == 4) {
        /* 4 -> 5: history keeps the identifiers a later report names its subject by */
        rc = exec_sql(s->wdb, "ALTER TABLE history ADD COLUMN mts_id TEXT;"
                              "ALTER TABLE history ADD COLUMN envid TEXT;");
        if (rc == 0) {
            mg_info("event=queue_schema_upgraded path=%s from=4 to=5", s->path);
            version = 5;
        }
    }
    if (rc == 0 && version == 5) {
        /* 5 -> 6: each content version names its own X.400 content type (a cms channel
         * opens CMS to the P772 inside; the message's content_oid is what it arrived as).
         * Versions stored before have none: the p1 channel reads the type from the bytes. */
        rc = exec_sql(s->wdb, "ALTER TABLE content ADD COLUMN content_oid TEXT;"
                              "PRAGMA user_version=" MG_STR(SCHEMA_VERSION));
        if (rc == 0) {
            mg_info("event=queue_schema_upgraded path=%s from=5 to=%d", s->path, SCHEMA_VERSION);
            version = SCHEMA_VERSION;
        }
    }
    if (rc == 0 && version != 0 && version != SCHEMA_VERSION) {
        mg_warn("event=queue_store_error path=%s schema_version=%d expected=%d", s->path, version,
                SCHEMA_VERSION);
        rc = MG_EDB;
    }
    if (rc == 0)
        rc = exec_sql(s->wdb, schema_sql);
    if (rc == 0 && version == 0)
        rc = exec_sql(s->wdb, "PRAGMA user_version=" MG_STR(SCHEMA_VERSION));
    if (rc == 0)
        rc = exec_sql(s->wdb, "COMMIT");
    else
        exec_sql(s->wdb, "ROLLBACK");
    for (int i = 0; rc == 0 && i < W_COUNT; i++)
        if (sqlite3_prepare_v3(s->wdb, queue_store_wstmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->ws[i],
                               NULL) != SQLITE_OK)
            rc = db_err(s->wdb, "prepare");
    return rc;
}

static void close_dbs(struct queue_store *s)
{
    for (int i = 0; i < W_COUNT; i++)
        sqlite3_finalize(s->ws[i]);
    queue_store_read_close(s);
    sqlite3_close(s->wdb);
    sqlite3_close(s->rdb);
    s->wdb = s->rdb = NULL;
}

static void store_free(struct queue_store *s)
{
    pthread_mutex_destroy(&s->rmu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->path);
    free(s);
}

static void on_close(uv_handle_t *h)
{
    store_free(h->data);
}

int queue_store_open(struct queue_store **out, uv_loop_t *loop, const char *path,
                     const struct queue_store_opts *opts)
{
    if (!out || !path)
        return MG_EINVAL;
    struct queue_store *s = calloc(1, sizeof(*s));
    if (!s)
        return MG_ENOMEM;
    if (opts)
        s->opts = *opts;
    if (!s->opts.max_batch)
        s->opts.max_batch = DEFAULT_MAX_BATCH;
    if (!s->opts.max_batch_bytes)
        s->opts.max_batch_bytes = DEFAULT_MAX_BATCH_BYTES;
    if (!s->opts.max_content)
        s->opts.max_content = DEFAULT_MAX_CONTENT;
    if (!s->opts.history_keep)
        s->opts.history_keep = DEFAULT_HISTORY_KEEP;
    s->loop = s->opts.read_only ? NULL : loop;
    message_idgen_init(&s->idgen, (uint32_t)getpid());
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->rmu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->path = strdup(path);
    int rc = s->path ? 0 : MG_ENOMEM;
    if (rc == 0 && !s->opts.read_only) {
        rc = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s->wdb);
        if (rc == 0)
            rc = init_schema(s);
    }
    if (rc == 0)
        rc = open_db(path, SQLITE_OPEN_READONLY, &s->rdb);
    if (rc == 0 && s->opts.read_only) {
        /* a read-only open of a file that is not a queue fails here, not at the first read */
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->rdb, "SELECT count(*) FROM messages", -1, &st, NULL) !=
            SQLITE_OK)
            rc = db_err(s->rdb, "open_read_only");
        sqlite3_finalize(st);
    }
    if (rc == 0 && s->loop) {
        if (uv_async_init(s->loop, &s->async, on_async) != 0) {
            rc = MG_EIO;
        } else {
            s->async.data = s;
            if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
                mg_warn("event=queue_store_error path=%s op=thread_create", path);
                /* the handle lives inside s: s is released in the close callback */
                close_dbs(s);
                uv_close((uv_handle_t *)&s->async, on_close);
                return MG_ENOMEM;
            }
            s->thread_started = 1;
        }
    }
    if (rc != 0) {
        close_dbs(s);
        store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void queue_store_close(struct queue_store *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        s->thread_started = 0;
    }
    complete_list(take_done(s));
    close_dbs(s);
    if (s->loop)
        uv_close((uv_handle_t *)&s->async, on_close);
    else
        store_free(s);
}

void queue_store_new_id(struct queue_store *s, char out[MESSAGE_ID_SIZE])
{
    message_idgen_next(&s->idgen, out);
}

/* ---------------------------------------------------------------- public writes */

int queue_store_submit(struct queue_store *s, struct message *msg, const void *content,
                       size_t content_len, queue_store_cb cb, void *arg)
{
    if (!s || !msg || (!content && content_len))
        return MG_EINVAL;
    if (msg->nrcpts == 0 || msg->priority < MESSAGE_PRIORITY_MIN ||
        msg->priority > MESSAGE_PRIORITY_MAX)
        return MG_EINVAL;
    if (msg->id[0] && !message_id_valid(msg->id))
        return MG_EINVAL;
    if (content_len > s->opts.max_content || msg->nrcpts > MESSAGE_RCPTS_MAX ||
        msg->label_len > MESSAGE_LABEL_MAX)
        return MG_ETOOBIG;
    /* the fields may have been set without the setters: check what the tables require */
    if ((unsigned)msg->content_type > MESSAGE_CONTENT_OTHER || (unsigned)msg->ret > MESSAGE_RET_FULL)
        return MG_EINVAL;
    for (size_t i = 0; i < msg->nrcpts; i++)
        if (!msg->rcpts[i].addr || (unsigned)msg->rcpts[i].state >= MESSAGE_RCPT_STATE_COUNT)
            return MG_EINVAL;
    struct op *op = op_new(OP_SUBMIT, NULL, cb, arg);
    if (!op)
        return MG_ENOMEM;
    if (!msg->id[0])
        message_idgen_next(&s->idgen, msg->id);
    if (!msg->arrival)
        msg->arrival = now_s();
    msg->content_size = content_len;
    memcpy(op->id, msg->id, sizeof(op->id));
    op->msg = msg;
    op->content = content;
    op->content_len = content_len;
    return enqueue(s, op);
}

static int dup_opt(const char **dst, const char *src)
{
    if (!src)
        return 0;
    if (strlen(src) > MESSAGE_TEXT_MAX)
        return MG_ETOOBIG;
    *dst = strdup(src);
    return *dst ? 0 : MG_ENOMEM;
}

int queue_store_update_rcpts(struct queue_store *s, const char *id,
                             const struct queue_store_rcpt_update *u, size_t n, int64_t when,
                             queue_store_cb cb, void *arg)
{
    if (!s || check_id(id) != 0 || !u || n == 0 || n > MESSAGE_RCPTS_MAX)
        return MG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned)u[i].state >= MESSAGE_RCPT_STATE_COUNT)
            return MG_EINVAL;
    struct op *op = op_new(OP_UPDATE, id, cb, arg);
    if (!op)
        return MG_ENOMEM;
    op->when = when;
    op->u = calloc(n, sizeof(*op->u));
    int rc = op->u ? 0 : MG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct queue_store_rcpt_update *c = &op->u[i];
        op->nu = i + 1;
        c->rcpt = u[i].rcpt;
        c->state = u[i].state;
        c->counts_attempt = u[i].counts_attempt;
        c->next_attempt = u[i].next_attempt;
        c->flags_set = u[i].flags_set;
        rc = dup_opt(&c->reply, u[i].reply);
        if (rc == 0)
            rc = dup_opt(&c->status, u[i].status);
        if (rc == 0)
            rc = dup_opt(&c->remote_mta, u[i].remote_mta);
        if (rc == 0)
            rc = dup_opt(&c->route, u[i].route);
        if (rc == 0)
            rc = dup_opt(&c->chain, u[i].chain);
        if (rc == 0)
            rc = dup_opt(&c->peer, u[i].peer);
    }
    if (rc != 0) {
        op_free(op);
        return rc;
    }
    return enqueue(s, op);
}

int queue_store_hold(struct queue_store *s, const char *id, const char *reason,
                     queue_store_cb cb, void *arg)
{
    if (!s || check_id(id) != 0)
        return MG_EINVAL;
    if (reason && strlen(reason) > MESSAGE_TEXT_MAX)
        return MG_ETOOBIG;
    struct op *op = op_new(OP_HOLD, id, cb, arg);
    if (!op)
        return MG_ENOMEM;
    if (reason && !(op->reason = strdup(reason))) {
        op_free(op);
        return MG_ENOMEM;
    }
    return enqueue(s, op);
}

static int simple_op(struct queue_store *s, enum op_kind kind, const char *id, queue_store_cb cb,
                     void *arg)
{
    if (!s || check_id(id) != 0)
        return MG_EINVAL;
    struct op *op = op_new(kind, id, cb, arg);
    if (!op)
        return MG_ENOMEM;
    return enqueue(s, op);
}

int queue_store_peer_hold(struct queue_store *s, const char *peer, const char *reason,
                          queue_store_cb cb, void *arg)
{
    if (!s || !peer || !*peer || strlen(peer) > MESSAGE_TEXT_MAX ||
        (reason && strlen(reason) > MESSAGE_TEXT_MAX))
        return MG_EINVAL;
    struct op *op = op_new(OP_PEER, NULL, cb, arg);
    if (!op)
        return MG_ENOMEM;
    if (!(op->peer = strdup(peer)) || (reason && !(op->reason = strdup(reason)))) {
        op_free(op);
        return MG_ENOMEM;
    }
    return enqueue(s, op);
}

int queue_store_release(struct queue_store *s, const char *id, queue_store_cb cb, void *arg)
{
    return simple_op(s, OP_RELEASE, id, cb, arg);
}

int queue_store_delete(struct queue_store *s, const char *id, queue_store_cb cb, void *arg)
{
    return simple_op(s, OP_DELETE, id, cb, arg);
}

int queue_store_finish(struct queue_store *s, const char *id, queue_store_cb cb, void *arg)
{
    return simple_op(s, OP_FINISH, id, cb, arg);
}

int queue_store_finish_env(struct queue_store *s, const char *id, const char *mts_id,
                           int env_set, const char *envid, queue_store_cb cb, void *arg)
{
    if (!s || check_id(id) != 0)
        return MG_EINVAL;
    struct op *op = op_new(OP_FINISH, id, cb, arg);
    if (!op)
        return MG_ENOMEM;
    op->st.env_set = env_set != 0;
    if (dup_opt(&op->st.mts_id, mts_id) != 0 ||
        (env_set && dup_opt(&op->st.envid, envid) != 0)) {
        op_free(op);
        return MG_ENOMEM;
    }
    return enqueue(s, op);
}

int queue_store_apply_stage(struct queue_store *s, const char *id,
                            const struct queue_store_stage *g, queue_store_cb cb, void *arg)
{
    if (!s || check_id(id) != 0 || !g || (g->nrcpts && !g->rcpts) || (g->nadd && !g->add) ||
        (g->new_version && ((!g->content && g->len) || (unsigned)g->type > MESSAGE_CONTENT_OTHER ||
                            g->version == 0)))
        return MG_EINVAL;
    if (g->nrcpts > MESSAGE_RCPTS_MAX || g->nadd > MESSAGE_RCPTS_MAX)
        return MG_EINVAL;
    if ((g->new_version && g->len > s->opts.max_content) || g->label_len > MESSAGE_LABEL_MAX)
        return MG_ETOOBIG;
    for (size_t i = 0; i < g->nrcpts; i++)
        if ((unsigned)g->rcpts[i].state >= MESSAGE_RCPT_STATE_COUNT)
            return MG_EINVAL;
    for (size_t i = 0; i < g->nadd; i++)
        if (!g->add[i] || strlen(g->add[i]) > MESSAGE_ADDR_MAX)
            return MG_EINVAL;
    struct op *op = op_new(OP_STAGE, id, cb, arg);
    if (!op)
        return MG_ENOMEM;
    op->st = *g;
    op->st.rcpts = NULL;
    op->st.add = NULL;
    op->st.add_stages = NULL;
    op->st.label = NULL;
    op->st.originator = NULL;
    op->st.envid = NULL;
    op->st.x400_env = NULL;
    op->st.mts_id = NULL;
    op->st.content_oid = NULL;
    op->st.nrcpts = op->st.nadd = 0;
    op->content = g->content;
    op->content_len = g->len;
    int rc = 0;
    struct queue_store_stage_rcpt *rv = g->nrcpts ? calloc(g->nrcpts, sizeof *rv) : NULL;
    if (g->nrcpts && !rv)
        rc = MG_ENOMEM;
    op->st.rcpts = rv;
    for (size_t i = 0; rc == 0 && i < g->nrcpts; i++) {
        rv[i] = g->rcpts[i];
        rv[i].reply = rv[i].status = rv[i].next_addr = rv[i].chain = rv[i].orcpt = NULL;
        op->st.nrcpts = i + 1;
        rc = dup_opt(&rv[i].reply, g->rcpts[i].reply);
        if (rc == 0)
            rc = dup_opt(&rv[i].status, g->rcpts[i].status);
        if (rc == 0)
            rc = dup_opt(&rv[i].next_addr, g->rcpts[i].next_addr);
        if (rc == 0)
            rc = dup_opt(&rv[i].chain, g->rcpts[i].chain);
        if (rc == 0)
            rc = dup_opt(&rv[i].orcpt, g->rcpts[i].orcpt);
    }
    const char **av = g->nadd ? calloc(g->nadd, sizeof *av) : NULL;
    if (rc == 0 && g->nadd && !av)
        rc = MG_ENOMEM;
    op->st.add = av;
    for (size_t i = 0; rc == 0 && i < g->nadd; i++) {
        op->st.nadd = i + 1;
        rc = (av[i] = strdup(g->add[i])) ? 0 : MG_ENOMEM;
    }
    if (rc == 0 && g->nadd && g->add_stages) {
        uint32_t *sv = malloc(g->nadd * sizeof *sv);
        if (sv) {
            memcpy(sv, g->add_stages, g->nadd * sizeof *sv);
            op->st.add_stages = sv;
        } else {
            rc = MG_ENOMEM;
        }
    }
    if (rc == 0 && g->label_set && g->label_len) {
        void *l = malloc(g->label_len);
        if (l) {
            memcpy(l, g->label, g->label_len);
            op->st.label = l;
        } else {
            rc = MG_ENOMEM;
        }
    }
    if (rc == 0 && g->originator)
        rc = dup_opt(&op->st.originator, g->originator);
    if (rc == 0 && g->envid)
        rc = dup_opt(&op->st.envid, g->envid);
    if (rc == 0 && g->mts_id)
        rc = dup_opt(&op->st.mts_id, g->mts_id);
    if (rc == 0)
        rc = dup_opt(&op->st.content_oid, g->content_oid);
    if (rc == 0 && g->x400_env) {
        void *e = g->x400_env_len <= MESSAGE_X400_ENV_MAX ? malloc(g->x400_env_len ? g->x400_env_len : 1) : NULL;
        if (e) {
            memcpy(e, g->x400_env, g->x400_env_len);
            op->st.x400_env = e;
        } else {
            rc = g->x400_env_len > MESSAGE_X400_ENV_MAX ? MG_ETOOBIG : MG_ENOMEM;
        }
    }
    if (rc != 0) {
        op_free(op);
        return rc;
    }
    return enqueue(s, op);
}

void queue_store_get_stats(struct queue_store *s, struct queue_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}
