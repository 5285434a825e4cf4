/* queue_store_internal: what the queue store's files share (queue_store.c: schema, writer
 * thread, the write calls; queue_store_apply.c: each write's SQL; queue_store_read.c: every
 * read). Not part of the interface (queue_store.h). */
#ifndef QUEUE_STORE_INTERNAL_H
#define QUEUE_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "queue_store.h"

enum wstmt {
    W_INS_MSG, W_INS_RCPT, W_INS_CONTENT, W_UPD_RCPT, W_HOLD, W_RELEASE, W_COUNT_OPEN,
    W_HIST_INS, W_DEL_RCPTS, W_DEL_CONTENT, W_DEL_MSG, W_HIST_TRIM, W_SET_CVER, W_DEL_CVERS,
    W_INS_VERSION, W_UPD_STAGE, W_RELEASE_RCPTS, W_ADD_RCPT, W_UPD_ENV, W_UPD_DSN,
    /* transaction control, prepared once: parsing them for every write cost more than the
     * small writes themselves */
    W_BEGIN, W_SAVEPOINT, W_RELEASE_SP, W_ROLLBACK_SP, W_COMMIT, W_COUNT
};


struct queue_store {
    uv_loop_t *loop;          /* NULL: synchronous writes */
    uv_async_t async;         /* wakes the loop when writes completed */
    struct queue_store_opts opts;
    char *path;               /* owned */
    sqlite3 *wdb;             /* writer connection: writer thread (or caller without a loop) */
    sqlite3_stmt *ws[W_COUNT];
    sqlite3 *rdb;             /* read connection, guarded by rmu */
    sqlite3_stmt *rs[3];      /* the hot reads, prepared once (rdb, under rmu): R_* */
    pthread_mutex_t rmu;      /* recursive: read callbacks may read again */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;       /* guards everything below */
    pthread_cond_t cv;
    struct op *pending, *pending_tail;
    struct op *done, *done_tail;
    int stopping;
    struct queue_store_stats stats;
    struct message_idgen idgen; /* loop thread only */
};

enum op_kind { OP_SUBMIT, OP_UPDATE, OP_HOLD, OP_RELEASE, OP_DELETE, OP_FINISH, OP_STAGE, OP_PEER };

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
    /* OP_HOLD, OP_PEER: owned (OP_PEER: reason NULL = release) */
    char *reason;
    char *peer;               /* OP_PEER: owned */
    /* OP_STAGE: the version's bytes are borrowed (content above); the rest owned copies */
    struct queue_store_stage st;
};

/* Aggregated per-message view shared by the index, the listing and the history rows. */
#define INDEX_SELECT                                                                        \
    "SELECT m.id, m.arrival, m.priority, m.hold, count(r.idx),"                             \
    " total(r.state = 0), total(r.state = 2), total(r.state = 1), total(r.state = 3),"      \
    " min(CASE WHEN r.state IN (0, 2) THEN r.next_attempt END),"                            \
    " m.originator, m.hold_reason, m.content_size,"                                         \
    " total(r.state IS NOT NULL AND (r.state NOT IN (0, 1, 2, 3, 4) OR r.addr = '')),"      \
    " m.ret, m.content_type, total(r.state = 4)"                                            \
    " FROM messages m LEFT JOIN rcpts r ON r.msg_id = m.id"

int queue_store_db_err(sqlite3 *db, const char *what);
int queue_store_exec_sql(sqlite3 *db, const char *sql);
void queue_store_bind_text(sqlite3_stmt *st, int i, const char *s);
int queue_store_col_dup(sqlite3_stmt *st, int i, char **out);
int queue_store_check_id(const char *id);
int queue_store_open_db(const char *path, int flags, sqlite3 **out);
/* queue_store_apply.c: the writer's statements (prepared at open) and one write applied
 * inside the writer's open transaction (its status: 0, MG_EEXIST, MG_ENOTFOUND, MG_ESTATE,
 * MG_EDB). step_done runs a statement that returns no rows and resets it. */
extern const char *const queue_store_wstmt_sql[W_COUNT];
int queue_store_apply_op(struct queue_store *s, const struct op *op);
int queue_store_step_done(struct queue_store *s, sqlite3_stmt *st, const char *what);
/* queue_store_read.c: prepared reads kept across calls, finalized at close. */
void queue_store_read_close(struct queue_store *s);

#define db_err queue_store_db_err
#define exec_sql queue_store_exec_sql
#define bind_text queue_store_bind_text
#define col_dup queue_store_col_dup
#define check_id queue_store_check_id
#define open_db queue_store_open_db
#define step_done queue_store_step_done

#endif
