/* queue_store_apply: the SQL of the queue store's writes and how each queued write is applied
 * inside the writer's transaction (queue_store.c batches them, commits, and calls back). */
#include "queue_store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "mg_err.h"
#include "mg_log.h"

const char *const queue_store_wstmt_sql[W_COUNT] = {
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

static void reset_stmt(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int queue_store_step_done(struct queue_store *s, sqlite3_stmt *st, const char *what)
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

/* A peer hold row set (reason) or removed (no reason). Prepared per use: operators do this by
 * hand, rarely. */
static int apply_peer(struct queue_store *s, const struct op *op)
{
    sqlite3_stmt *st = NULL;
    const char *sql = op->reason
        ? "INSERT INTO peer_holds (peer, reason, since) VALUES (?1, ?2, ?3)"
          " ON CONFLICT (peer) DO UPDATE SET reason = excluded.reason"
        : "DELETE FROM peer_holds WHERE peer = ?1";
    if (sqlite3_prepare_v2(s->wdb, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(s->wdb, "peer_hold");
    sqlite3_bind_text(st, 1, op->peer, -1, SQLITE_STATIC);
    if (op->reason) {
        sqlite3_bind_text(st, 2, op->reason, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, op->when);
    }
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(s->wdb, "peer_hold");
    sqlite3_finalize(st);
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

int queue_store_apply_op(struct queue_store *s, const struct op *op)
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
    case OP_PEER:
        return apply_peer(s, op);
    }
    mg_panic("queue_store: unknown op kind %d", (int)op->kind);
}
