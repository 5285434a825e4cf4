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
    "CREATE INDEX IF NOT EXISTS history_envid ON history (envid) WHERE envid IS NOT NULL;";


enum op_kind { OP_SUBMIT, OP_UPDATE, OP_HOLD, OP_RELEASE, OP_DELETE, OP_FINISH, OP_STAGE };

/* One queued write. Owned by the store from queueing until its callback has run. */
struct op {
    struct op *next;
    enum op_kind kind;
    int status;
    queue_store_cb cb;
    void *arg;
    char id[MESSAGE_ID_SIZE];
    /* OP_SUBMIT: borrowed from the caller until cb (content also for OP_STAGE) */
    const struct message *msg;
    const void *content;
    size_t content_len;
    /* OP_UPDATE: owned copies */
    struct queue_store_rcpt_update *u;
    size_t nu;
    int64_t when;
    /* OP_HOLD: owned */
    char *reason;
    /* OP_STAGE: the version's bytes are borrowed (content above); the rest owned copies */
    struct queue_store_stage st;
};


static const char *const wstmt_sql[W_COUNT] = {
    [W_INS_MSG] = "INSERT INTO messages (id, arrival, priority, originator, envid, ret,"
                  " received_from, received_proto, hold, hold_reason, label, content_type,"
                  " content_size, expire_at, mts_id, content_oid, x400_env)"
                  " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [W_INS_RCPT] = "INSERT INTO rcpts (msg_id, idx, addr, orcpt, notify, state, flags, attempts,"
                   " next_attempt, last_attempt, last_reply, status, remote_mta, route, chain,"
                   " peer, addr_kind) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [W_INS_CONTENT] = "INSERT INTO content (msg_id, version, type, data) VALUES (?, ?, ?, ?)",
    [W_UPD_RCPT] = "UPDATE rcpts SET state = ?1, attempts = attempts + ?2,"
                   " last_attempt = CASE WHEN ?2 THEN ?3 ELSE last_attempt END,"
                   " next_attempt = ?4, last_reply = coalesce(?5, last_reply),"
                   " status = coalesce(?6, status), remote_mta = coalesce(?7, remote_mta),"
                   " route = coalesce(?8, route), chain = coalesce(?9, chain),"
                   " peer = coalesce(?10, peer), flags = flags | ?11"
                   " WHERE msg_id = ?12 AND idx = ?13",
    [W_HOLD] = "UPDATE messages SET hold = 1, hold_reason = ? WHERE id = ?",
    [W_RELEASE] = "UPDATE messages SET hold = 0, hold_reason = NULL WHERE id = ?",
    [W_COUNT_OPEN] = "SELECT (SELECT count(*) FROM messages WHERE id = ?1),"
                     " (SELECT count(*) FROM rcpts WHERE msg_id = ?1 AND state IN (0, 2, 4))",
    [W_HIST_INS] = "INSERT INTO history (id, originator, arrival, finished, nrcpts, ndelivered,"
                   " nfailed, outcome, mts_id, envid) SELECT m.id, m.originator, m.arrival, ?2,"
                   " (SELECT count(*) FROM rcpts WHERE msg_id = m.id),"
                   " (SELECT count(*) FROM rcpts WHERE msg_id = m.id AND state = 1),"
                   " (SELECT count(*) FROM rcpts WHERE msg_id = m.id AND state = 3), ?3,"
                   " coalesce(?4, m.mts_id), CASE WHEN ?5 THEN ?6 ELSE m.envid END"
                   " FROM messages m WHERE m.id = ?1",
    [W_DEL_RCPTS] = "DELETE FROM rcpts WHERE msg_id = ?",
    [W_DEL_CONTENT] = "DELETE FROM content WHERE msg_id = ?",
    [W_DEL_MSG] = "DELETE FROM messages WHERE id = ?",
    [W_HIST_TRIM] = "DELETE FROM history WHERE seq <= (SELECT max(seq) FROM history) - ?",
    [W_SET_CVER] = "UPDATE messages SET content_version = max(content_version, ?1) WHERE id = ?2",
    /* versions no recipient carries any more (version 0 stays for reports) */
    [W_DEL_CVERS] = "DELETE FROM content WHERE msg_id = ?1 AND version > 0 AND version NOT IN"
                    " (SELECT cversion FROM rcpts WHERE msg_id = ?1)",
    [W_INS_VERSION] = "INSERT INTO content (msg_id, version, type, data, label, priority, originator,"
                      " content_oid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [W_UPD_STAGE] = "UPDATE rcpts SET stage = ?1, cversion = ?2, state = ?3,"
                    " last_reply = coalesce(?4, last_reply), status = coalesce(?5, status),"
                    " next_addr = coalesce(?6, next_addr), chain = coalesce(?7, chain),"
                    " next_attempt = 0, flags = flags | ?8"
                    " WHERE msg_id = ?9 AND idx = ?10",
    [W_RELEASE_RCPTS] = "UPDATE rcpts SET state = 0, next_attempt = 0 WHERE msg_id = ? AND state = 4",
    [W_ADD_RCPT] = "INSERT INTO rcpts (msg_id, idx, addr, orcpt, notify, state, flags, attempts,"
                   " next_attempt, last_attempt, cversion, stage) SELECT ?1,"
                   " (SELECT coalesce(max(idx), -1) + 1 FROM rcpts WHERE msg_id = ?1), ?2, NULL,"
                   " ?3, 0, 0, 0, 0, 0, ?4, ?5",
    /* a converting channel's envelope parameters for the next hop (apply_stage) */
    [W_UPD_ENV] = "UPDATE messages SET envid = CASE WHEN ?1 THEN ?2 ELSE envid END,"
                  " ret = CASE WHEN ?1 THEN ?3 ELSE ret END, x400_env = coalesce(?4, x400_env),"
                  " mts_id = coalesce(?6, mts_id) WHERE id = ?5",
    [W_UPD_DSN] = "UPDATE rcpts SET notify = ?1, orcpt = ?2 WHERE msg_id = ?3 AND idx = ?4",
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_SAVEPOINT] = "SAVEPOINT w",
    [W_RELEASE_SP] = "RELEASE w",
    [W_ROLLBACK_SP] = "ROLLBACK TO w",
    [W_COMMIT] = "COMMIT",
};


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

/* ---------------------------------------------------------------- applying writes */

static void reset_stmt(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static int step_done(struct queue_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
        ret = MG_EEXIST;
    else if (rc != SQLITE_DONE)
        ret = db_err(s->wdb, what);
    reset_stmt(st);
    return ret;
}

static int insert_content(struct queue_store *s, const char *id, int64_t version,
                          enum message_content_type type, const void *data, size_t len)
{
    sqlite3_stmt *st = s->ws[W_INS_CONTENT];
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, version);
    sqlite3_bind_int(st, 3, (int)type);
    /* zero-length content still needs a non-NULL blob value */
    sqlite3_bind_blob64(st, 4, len ? data : "", len, SQLITE_STATIC);
    return step_done(s, st, "insert_content");
}

static int apply_submit(struct queue_store *s, const struct op *op)
{
    const struct message *m = op->msg;
    sqlite3_stmt *st = s->ws[W_INS_MSG];
    sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, m->arrival);
    sqlite3_bind_int(st, 3, m->priority);
    sqlite3_bind_text(st, 4, m->originator ? m->originator : "", -1, SQLITE_STATIC);
    bind_text(st, 5, m->envid);
    sqlite3_bind_int(st, 6, (int)m->ret);
    bind_text(st, 7, m->received_from);
    bind_text(st, 8, m->received_proto);
    sqlite3_bind_int(st, 9, m->hold ? 1 : 0);
    bind_text(st, 10, m->hold ? m->hold_reason : NULL);
    if (m->label && m->label_len)
        sqlite3_bind_blob(st, 11, m->label, (int)m->label_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 11);
    sqlite3_bind_int(st, 12, (int)m->content_type);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)op->content_len);
    sqlite3_bind_int64(st, 14, m->expire_at);
    bind_text(st, 15, m->mts_id);
    bind_text(st, 16, m->content_oid);
    if (m->x400_env && m->x400_env_len)
        sqlite3_bind_blob(st, 17, m->x400_env, (int)m->x400_env_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 17);
    int rc = step_done(s, st, "insert_message");
    for (size_t i = 0; rc == 0 && i < m->nrcpts; i++) {
        const struct message_rcpt *r = &m->rcpts[i];
        st = s->ws[W_INS_RCPT];
        sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        sqlite3_bind_text(st, 3, r->addr, -1, SQLITE_STATIC);
        bind_text(st, 4, r->orcpt);
        sqlite3_bind_int(st, 5, (int)r->notify);
        sqlite3_bind_int(st, 6, (int)r->state);
        sqlite3_bind_int(st, 7, (int)r->flags);
        sqlite3_bind_int64(st, 8, r->attempts);
        sqlite3_bind_int64(st, 9, r->next_attempt);
        sqlite3_bind_int64(st, 10, r->last_attempt);
        bind_text(st, 11, r->last_reply);
        bind_text(st, 12, r->status);
        bind_text(st, 13, r->remote_mta);
        bind_text(st, 14, r->route);
        bind_text(st, 15, r->chain);
        bind_text(st, 16, r->peer);
        sqlite3_bind_int(st, 17, (int)r->kind);
        rc = step_done(s, st, "insert_rcpt");
    }
    if (rc == 0)
        rc = insert_content(s, m->id, 0, m->content_type, op->content, op->content_len);
    return rc;
}

/* One processing stage's result for a recipient group, in the op's savepoint: the new
 * content version (with its label, priority and originator), every recipient's new stage,
 * version and state, the added recipients, and the versions nobody carries any more dropped. */
static int apply_stage(struct queue_store *s, const struct op *op)
{
    const struct queue_store_stage *g = &op->st;
    sqlite3_stmt *st;
    int rc = 0;
    if (g->new_version) {
        st = s->ws[W_INS_VERSION];
        sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, g->version);
        sqlite3_bind_int(st, 3, (int)g->type);
        sqlite3_bind_blob64(st, 4, op->content_len ? op->content : "", op->content_len, SQLITE_STATIC);
        if (g->label_set && g->label_len)
            sqlite3_bind_blob64(st, 5, g->label, g->label_len, SQLITE_STATIC);
        else if (g->label_set)
            sqlite3_bind_blob64(st, 5, "", 0, SQLITE_STATIC); /* label removed */
        else
            sqlite3_bind_null(st, 5);
        if (g->priority >= 0)
            sqlite3_bind_int(st, 6, g->priority);
        else
            sqlite3_bind_null(st, 6);
        bind_text(st, 7, g->originator);
        bind_text(st, 8, g->content_oid);
        rc = step_done(s, st, "insert_version");
        if (rc == 0) {
            st = s->ws[W_SET_CVER];
            sqlite3_bind_int64(st, 1, g->version);
            sqlite3_bind_text(st, 2, op->id, -1, SQLITE_STATIC);
            rc = step_done(s, st, "set_version");
            if (rc == 0 && sqlite3_changes(s->wdb) == 0)
                rc = MG_ENOTFOUND;
        }
    }
    for (size_t i = 0; rc == 0 && i < g->nrcpts; i++) {
        const struct queue_store_stage_rcpt *r = &g->rcpts[i];
        st = s->ws[W_UPD_STAGE];
        sqlite3_bind_int64(st, 1, r->stage);
        sqlite3_bind_int64(st, 2, g->version);
        sqlite3_bind_int(st, 3, (int)r->state);
        bind_text(st, 4, r->reply);
        bind_text(st, 5, r->status);
        bind_text(st, 6, r->next_addr);
        bind_text(st, 7, r->chain);
        sqlite3_bind_int(st, 8, (int)r->flags_set);
        sqlite3_bind_text(st, 9, op->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 10, r->rcpt);
        rc = step_done(s, st, "update_stage");
        if (rc == 0 && sqlite3_changes(s->wdb) == 0)
            rc = MG_ENOTFOUND;
        if (rc == 0 && r->dsn_set) {
            st = s->ws[W_UPD_DSN];
            sqlite3_bind_int(st, 1, (int)r->notify);
            bind_text(st, 2, r->orcpt);
            sqlite3_bind_text(st, 3, op->id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, r->rcpt);
            rc = step_done(s, st, "update_dsn");
        }
    }
    if (rc == 0 && (g->env_set || g->x400_env || g->mts_id)) {
        st = s->ws[W_UPD_ENV];
        sqlite3_bind_int(st, 1, g->env_set);
        bind_text(st, 2, g->envid);
        sqlite3_bind_int(st, 3, g->ret);
        if (g->x400_env)
            sqlite3_bind_blob64(st, 4, g->x400_env, g->x400_env_len, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 4);
        sqlite3_bind_text(st, 5, op->id, -1, SQLITE_STATIC);
        bind_text(st, 6, g->mts_id);
        rc = step_done(s, st, "update_envelope");
    }
    for (size_t i = 0; rc == 0 && i < g->nadd; i++) {
        st = s->ws[W_ADD_RCPT];
        sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, g->add[i], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, (int)MESSAGE_NOTIFY_NEVER);
        sqlite3_bind_int64(st, 4, g->add_version);
        sqlite3_bind_int64(st, 5, g->add_stages ? g->add_stages[i] : 0);
        rc = step_done(s, st, "add_rcpt");
    }
    if (rc == 0) {
        st = s->ws[W_DEL_CVERS];
        sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
        rc = step_done(s, st, "drop_versions");
    }
    return rc;
}

static int apply_update(struct queue_store *s, const struct op *op)
{
    for (size_t i = 0; i < op->nu; i++) {
        const struct queue_store_rcpt_update *u = &op->u[i];
        sqlite3_stmt *st = s->ws[W_UPD_RCPT];
        sqlite3_bind_int(st, 1, (int)u->state);
        sqlite3_bind_int(st, 2, u->counts_attempt ? 1 : 0);
        sqlite3_bind_int64(st, 3, op->when);
        sqlite3_bind_int64(st, 4, u->state == MESSAGE_RCPT_DEFERRED ? u->next_attempt : 0);
        bind_text(st, 5, u->reply);
        bind_text(st, 6, u->status);
        bind_text(st, 7, u->remote_mta);
        bind_text(st, 8, u->route);
        bind_text(st, 9, u->chain);
        bind_text(st, 10, u->peer);
        sqlite3_bind_int(st, 11, (int)u->flags_set);
        sqlite3_bind_text(st, 12, op->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 13, u->rcpt);
        int rc = step_done(s, st, "update_rcpt");
        if (rc != 0)
            return rc;
        if (sqlite3_changes(s->wdb) == 0)
            return MG_ENOTFOUND;
    }
    return 0;
}

static int apply_hold(struct queue_store *s, const struct op *op)
{
    sqlite3_stmt *st;
    if (op->kind == OP_HOLD) {
        st = s->ws[W_HOLD];
        bind_text(st, 1, op->reason);
        sqlite3_bind_text(st, 2, op->id, -1, SQLITE_STATIC);
    } else {
        st = s->ws[W_RELEASE];
        sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
    }
    int rc = step_done(s, st, "hold");
    if (rc == 0 && sqlite3_changes(s->wdb) == 0)
        rc = MG_ENOTFOUND;
    if (rc == 0 && op->kind == OP_RELEASE) {
        /* recipients a processing channel held go back to their stage */
        st = s->ws[W_RELEASE_RCPTS];
        sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
        rc = step_done(s, st, "release_rcpts");
    }
    return rc;
}

static int apply_remove(struct queue_store *s, const struct op *op)
{
    sqlite3_stmt *st = s->ws[W_COUNT_OPEN];
    sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t exists = 0, open = 0;
    if (rc == SQLITE_ROW) {
        exists = sqlite3_column_int64(st, 0);
        open = sqlite3_column_int64(st, 1);
        rc = 0;
    } else {
        rc = db_err(s->wdb, "count_open");
    }
    reset_stmt(st);
    if (rc != 0)
        return rc;
    if (!exists)
        return MG_ENOTFOUND;
    if (op->kind == OP_FINISH && open > 0)
        return MG_ESTATE;
    st = s->ws[W_HIST_INS];
    sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, op->when);
    sqlite3_bind_text(st, 3, op->kind == OP_FINISH ? "done" : "deleted", -1, SQLITE_STATIC);
    /* bound every time: a statement keeps its bindings from the op before */
    queue_store_bind_text(st, 4, op->st.mts_id);
    sqlite3_bind_int(st, 5, op->st.env_set);
    queue_store_bind_text(st, 6, op->st.envid);
    rc = step_done(s, st, "history");
    static const enum wstmt dels[] = { W_DEL_RCPTS, W_DEL_CONTENT, W_DEL_MSG };
    for (size_t i = 0; rc == 0 && i < sizeof(dels) / sizeof(dels[0]); i++) {
        st = s->ws[dels[i]];
        sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
        rc = step_done(s, st, "delete");
    }
    return rc;
}

static int apply_op(struct queue_store *s, const struct op *op)
{
    switch (op->kind) {
    case OP_SUBMIT:
        return apply_submit(s, op);
    case OP_UPDATE:
        return apply_update(s, op);
    case OP_HOLD:
    case OP_RELEASE:
        return apply_hold(s, op);
    case OP_DELETE:
    case OP_FINISH:
        return apply_remove(s, op);
    case OP_STAGE:
        return apply_stage(s, op);
    }
    mg_panic("queue_store: unknown op kind %d", (int)op->kind);
}

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
        op->status = apply_op(s, op);
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
        if (sqlite3_prepare_v3(s->wdb, wstmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->ws[i],
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
