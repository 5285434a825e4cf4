/* queue_store_read: every read of the queue store (see queue_store.h): the start-up index (a
 * damaged row is made safe and held, never trusted), envelopes, content versions, streaming
 * content, listings and history. Reads use the read connection under its mutex, from any
 * thread. */
#include "queue_store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "mg_log.h"

void queue_store_read_close(struct queue_store *s)
{
    for (size_t i = 0; i < sizeof s->rs / sizeof s->rs[0]; i++) {
        sqlite3_finalize(s->rs[i]);
        s->rs[i] = NULL;
    }
}

/* ---------------------------------------------------------------- reads */

/* A damaged database (disk fault, an edit by hand, a bug) must not crash the daemon nor lose the
 * other messages: a row whose values are out of range is read as a held message whose values
 * are made safe, with the reason; the start-up index also writes that hold (load_index). */
#define DAMAGED_PREFIX "damaged queue row: "

/* Why the index row (INDEX_SELECT) is damaged, or NULL. */
static const char *index_damage(sqlite3_stmt *st)
{
    sqlite3_int64 prio = sqlite3_column_int64(st, 2), hold = sqlite3_column_int64(st, 3);
    if (prio < MESSAGE_PRIORITY_MIN || prio > MESSAGE_PRIORITY_MAX)
        return DAMAGED_PREFIX "priority out of range";
    if (hold != 0 && hold != 1)
        return DAMAGED_PREFIX "hold flag out of range";
    if (sqlite3_column_int64(st, 4) == 0)
        return DAMAGED_PREFIX "no recipients";
    if (sqlite3_column_double(st, 13) > 0)
        return DAMAGED_PREFIX "recipient state out of range or no address";
    sqlite3_int64 ret = sqlite3_column_int64(st, 14), ctype = sqlite3_column_int64(st, 15);
    if (ret < 0 || ret > MESSAGE_RET_FULL)
        return DAMAGED_PREFIX "RET out of range";
    if (ctype < 0 || ctype > MESSAGE_CONTENT_OTHER)
        return DAMAGED_PREFIX "content type out of range";
    return NULL;
}

static void index_from_row(sqlite3_stmt *st, struct queue_store_index_entry *e)
{
    memset(e, 0, sizeof(*e));
    const unsigned char *id = sqlite3_column_text(st, 0);
    if (id)
        strncpy(e->id, (const char *)id, MESSAGE_ID_SIZE - 1);
    e->arrival = sqlite3_column_int64(st, 1);
    e->priority = (uint8_t)sqlite3_column_int(st, 2);
    e->hold = (uint8_t)sqlite3_column_int(st, 3);
    if (index_damage(st)) {
        e->hold = 1;
        if (e->priority > MESSAGE_PRIORITY_MAX)
            e->priority = MESSAGE_PRIORITY_DEFAULT;
    }
    e->nrcpts = (uint32_t)sqlite3_column_int64(st, 4);
    e->npending = (uint32_t)sqlite3_column_int64(st, 5);
    e->ndeferred = (uint32_t)sqlite3_column_int64(st, 6);
    e->ndelivered = (uint32_t)sqlite3_column_int64(st, 7);
    e->nfailed = (uint32_t)sqlite3_column_int64(st, 8);
    e->next_attempt = sqlite3_column_int64(st, 9); /* NULL (all final) reads as 0 */
    e->nheld = (uint32_t)sqlite3_column_int64(st, 16);
}

static int read_prepare(struct queue_store *s, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(s->rdb, sql, -1, st, NULL) != SQLITE_OK)
        return db_err(s->rdb, "prepare_read");
    return 0;
}

/* The reads every job makes (envelope, recipients, a content version) keep their prepared
 * statement: parsing the SQL again for every message was a measurable share of the relay's
 * CPU. Caller holds rmu; read_done() resets the statement for the next use. */
enum { R_MSG, R_RCPTS, R_VERSION };
static int read_cached(struct queue_store *s, int which, const char *sql, sqlite3_stmt **st)
{
    if (!s->rs[which] &&
        sqlite3_prepare_v3(s->rdb, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->rs[which], NULL) != SQLITE_OK)
        return db_err(s->rdb, "prepare_read");
    *st = s->rs[which];
    return 0;
}

static void read_done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

int queue_store_load_index(struct queue_store *s,
                           int (*cb)(void *arg, const struct queue_store_index_entry *e),
                           void *arg)
{
    if (!s || !cb)
        return MG_EINVAL;
    pthread_mutex_lock(&s->rmu);
    sqlite3_stmt *st = NULL;
    int rc = read_prepare(s, INDEX_SELECT " GROUP BY m.id ORDER BY m.id", &st);
    while (rc == 0) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = db_err(s->rdb, "load_index");
            break;
        }
        struct queue_store_index_entry e;
        index_from_row(st, &e);
        if (!message_id_valid(e.id)) {
            /* no command can name it: left in the database as it is for the operator */
            mg_warn("event=queue_row_damaged what=\"invalid queue id\" action=skipped");
            continue;
        }
        const char *why = index_damage(st);
        if (why) {
            mg_warn("event=queue_row_damaged qid=%s what=\"%s\" action=held", e.id,
                    why + strlen(DAMAGED_PREFIX));
            /* made durable by the writer (read-only stores have none); the index says held now */
            if (s->thread_started)
                queue_store_hold(s, e.id, why, NULL, NULL);
        }
        rc = cb(arg, &e);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

struct index_array {
    struct queue_store_index_entry *v;
    size_t n, cap;
};

static int index_array_add(void *arg, const struct queue_store_index_entry *e)
{
    struct index_array *a = arg;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        struct queue_store_index_entry *v = realloc(a->v, cap * sizeof(*v));
        if (!v)
            return MG_ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = *e;
    return 0;
}

int queue_store_load_index_array(struct queue_store *s, struct queue_store_index_entry **out,
                                 size_t *n)
{
    if (!out || !n)
        return MG_EINVAL;
    struct index_array a = { 0 };
    int rc = queue_store_load_index(s, index_array_add, &a);
    if (rc != 0) {
        free(a.v);
        return rc;
    }
    *out = a.v;
    *n = a.n;
    return 0;
}

/* Checks a message read back; a damaged one is made safe (values in range) and held with the
 * reason. 0 or MG_ENOMEM. */
static int make_safe(struct message *m)
{
    const char *why = NULL;
    if (m->priority < MESSAGE_PRIORITY_MIN || m->priority > MESSAGE_PRIORITY_MAX) {
        why = DAMAGED_PREFIX "priority out of range";
        m->priority = MESSAGE_PRIORITY_DEFAULT;
    }
    if ((unsigned)m->ret > MESSAGE_RET_FULL) {
        why = DAMAGED_PREFIX "RET out of range";
        m->ret = MESSAGE_RET_UNSPEC;
    }
    if ((unsigned)m->content_type > MESSAGE_CONTENT_OTHER) {
        why = DAMAGED_PREFIX "content type out of range";
        m->content_type = MESSAGE_CONTENT_OTHER;
    }
    if (m->hold != 0 && m->hold != 1)
        why = DAMAGED_PREFIX "hold flag out of range";
    if (m->nrcpts == 0)
        why = DAMAGED_PREFIX "no recipients";
    for (size_t i = 0; i < m->nrcpts; i++) {
        struct message_rcpt *r = &m->rcpts[i];
        if ((unsigned)r->state >= MESSAGE_RCPT_STATE_COUNT) {
            why = DAMAGED_PREFIX "recipient state out of range";
            r->state = MESSAGE_RCPT_DEFERRED; /* tried again once released */
        }
        if (!r->addr[0])
            why = DAMAGED_PREFIX "recipient without an address";
        r->notify &= MESSAGE_NOTIFY_NEVER | MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE |
                     MESSAGE_NOTIFY_DELAY;
    }
    if (!why)
        return 0;
    mg_warn("event=queue_row_damaged qid=%s what=\"%s\" action=held", m->id,
            why + strlen(DAMAGED_PREFIX));
    m->hold = 1;
    free(m->hold_reason);
    m->hold_reason = strdup(why);
    return m->hold_reason ? 0 : MG_ENOMEM;
}

static int get_locked(struct queue_store *s, const char *id, struct message **out)
{
    sqlite3_stmt *st = NULL;
    int rc = read_cached(s, R_MSG, "SELECT arrival, priority, originator, envid, ret, received_from,"
                             " received_proto, hold, hold_reason, label, content_type,"
                             " content_size, expire_at, content_version, mts_id,"
                             " content_oid, x400_env FROM messages WHERE id = ?", &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        rc = r == SQLITE_DONE ? MG_ENOTFOUND : db_err(s->rdb, "get");
        read_done(st);
        return rc;
    }
    struct message *m = calloc(1, sizeof(*m));
    if (!m) {
        read_done(st);
        return MG_ENOMEM;
    }
    memcpy(m->id, id, strlen(id) + 1);
    m->arrival = sqlite3_column_int64(st, 0);
    m->priority = sqlite3_column_int(st, 1);
    rc |= col_dup(st, 2, &m->originator);
    rc |= col_dup(st, 3, &m->envid);
    m->ret = (enum message_ret)sqlite3_column_int(st, 4);
    rc |= col_dup(st, 5, &m->received_from);
    rc |= col_dup(st, 6, &m->received_proto);
    m->hold = sqlite3_column_int(st, 7);
    rc |= col_dup(st, 8, &m->hold_reason);
    int label_len = sqlite3_column_bytes(st, 9);
    if (rc == 0 && label_len > 0) {
        m->label = malloc((size_t)label_len);
        if (m->label) {
            memcpy(m->label, sqlite3_column_blob(st, 9), (size_t)label_len);
            m->label_len = (size_t)label_len;
        } else {
            rc = MG_ENOMEM;
        }
    }
    m->content_type = (enum message_content_type)sqlite3_column_int(st, 10);
    m->content_size = (uint64_t)sqlite3_column_int64(st, 11);
    m->expire_at = sqlite3_column_int64(st, 12);
    m->content_version = (uint32_t)sqlite3_column_int64(st, 13);
    rc |= col_dup(st, 14, &m->mts_id);
    rc |= col_dup(st, 15, &m->content_oid);
    int env_len = sqlite3_column_bytes(st, 16);
    if (rc == 0 && env_len > 0) {
        m->x400_env = malloc((size_t)env_len);
        if (m->x400_env) {
            memcpy(m->x400_env, sqlite3_column_blob(st, 16), (size_t)env_len);
            m->x400_env_len = (size_t)env_len;
        } else {
            rc = MG_ENOMEM;
        }
    }
    read_done(st);
    st = NULL;
    if (rc == 0 && !m->originator)
        rc = (m->originator = strdup("")) ? 0 : MG_ENOMEM;
    if (rc == 0)
        rc = read_cached(s, R_RCPTS, "SELECT addr, orcpt, notify, state, flags, attempts, next_attempt,"
                             " last_attempt, last_reply, status, remote_mta, route, chain, peer,"
                             " stage, cversion, next_addr, addr_kind FROM rcpts WHERE msg_id = ?"
                             " ORDER BY idx",
                          &st);
    if (rc == 0)
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    while (rc == 0) {
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = db_err(s->rdb, "get_rcpts");
            break;
        }
        struct message_rcpt *rp = NULL;
        const char *addr = (const char *)sqlite3_column_text(st, 0);
        /* bypass message_add_rcpt's checks: stored rows were checked when submitted */
        if (m->nrcpts == m->rcpts_cap) {
            size_t cap = m->rcpts_cap ? m->rcpts_cap * 2 : 4;
            struct message_rcpt *v = realloc(m->rcpts, cap * sizeof(*v));
            if (!v) {
                rc = MG_ENOMEM;
                break;
            }
            m->rcpts = v;
            m->rcpts_cap = cap;
        }
        rp = &m->rcpts[m->nrcpts++];
        memset(rp, 0, sizeof(*rp));
        rc |= (rp->addr = strdup(addr ? addr : "")) ? 0 : MG_ENOMEM;
        rc |= col_dup(st, 1, &rp->orcpt);
        rp->notify = (unsigned)sqlite3_column_int(st, 2);
        rp->state = (enum message_rcpt_state)sqlite3_column_int(st, 3);
        rp->flags = (unsigned)sqlite3_column_int(st, 4);
        rp->attempts = (uint32_t)sqlite3_column_int64(st, 5);
        rp->next_attempt = sqlite3_column_int64(st, 6);
        rp->last_attempt = sqlite3_column_int64(st, 7);
        rc |= col_dup(st, 8, &rp->last_reply);
        rc |= col_dup(st, 9, &rp->status);
        rc |= col_dup(st, 10, &rp->remote_mta);
        rc |= col_dup(st, 11, &rp->route);
        rc |= col_dup(st, 12, &rp->chain);
        rc |= col_dup(st, 13, &rp->peer);
        rp->stage = (uint32_t)sqlite3_column_int64(st, 14);
        rp->cversion = (uint32_t)sqlite3_column_int64(st, 15);
        rc |= col_dup(st, 16, &rp->next_addr);
        rp->kind = (enum message_addr_kind)sqlite3_column_int(st, 17);
    }
    read_done(st);
    if (rc == 0)
        rc = make_safe(m);
    if (rc != 0) {
        message_free(m);
        return rc < 0 ? rc : MG_ENOMEM;
    }
    *out = m;
    return 0;
}

int queue_store_get(struct queue_store *s, const char *id, struct message **out)
{
    if (!s || check_id(id) != 0 || !out)
        return MG_EINVAL;
    /* both selects in one read transaction, so envelope and recipients are one snapshot */
    pthread_mutex_lock(&s->rmu);
    /* Inside a read callback (a statement is running) the connection already reads one
     * snapshot; only start a transaction of our own when none is open. */
    int own = 1;
    for (sqlite3_stmt *p = sqlite3_next_stmt(s->rdb, NULL); p; p = sqlite3_next_stmt(s->rdb, p))
        if (sqlite3_stmt_busy(p))
            own = 0;
    int rc = own ? exec_sql(s->rdb, "BEGIN") : 0;
    if (rc == 0) {
        rc = get_locked(s, id, out);
        if (own)
            exec_sql(s->rdb, "COMMIT");
    }
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

/* The current content joins on messages.content_version; version 0 is the content as received. */
#define CURRENT_CONTENT_SQL                                                                 \
    "SELECT c.data, c.type, c.rowid FROM content c JOIN messages m"                         \
    " ON m.id = c.msg_id AND c.version = m.content_version WHERE c.msg_id = ?"
#define ORIGINAL_CONTENT_SQL                                                                \
    "SELECT data, type, rowid FROM content WHERE msg_id = ? AND version = 0"

static int read_content_sql(struct queue_store *s, const char *id, const char *sql,
                            enum message_content_type *type, unsigned char **data, size_t *len)
{
    if (!s || check_id(id) != 0 || !data || !len)
        return MG_EINVAL;
    pthread_mutex_lock(&s->rmu);
    sqlite3_stmt *st = NULL;
    int rc = read_prepare(s, sql, &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            size_t n = (size_t)sqlite3_column_bytes(st, 0);
            const void *p = sqlite3_column_blob(st, 0);
            unsigned char *b = malloc(n + 1);
            if (b) {
                if (n)
                    memcpy(b, p, n);
                b[n] = '\0';
                *data = b;
                *len = n;
                if (type)
                    *type = (enum message_content_type)sqlite3_column_int(st, 1);
            } else {
                rc = MG_ENOMEM;
            }
        } else {
            rc = r == SQLITE_DONE ? MG_ENOTFOUND : db_err(s->rdb, "read_content");
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

int queue_store_read_content(struct queue_store *s, const char *id, unsigned char **data,
                             size_t *len)
{
    return read_content_sql(s, id, CURRENT_CONTENT_SQL, NULL, data, len);
}

int queue_store_read_original(struct queue_store *s, const char *id,
                              enum message_content_type *type, unsigned char **data, size_t *len)
{
    return read_content_sql(s, id, ORIGINAL_CONTENT_SQL, type, data, len);
}

int queue_store_read_version(struct queue_store *s, const char *id, uint32_t version,
                             struct queue_store_version *out)
{
    if (!s || check_id(id) != 0 || !out)
        return MG_EINVAL;
    memset(out, 0, sizeof *out);
    out->priority = -1;
    pthread_mutex_lock(&s->rmu);
    sqlite3_stmt *st = NULL;
    int rc = read_cached(s, R_VERSION, "SELECT data, type, label, priority, originator, content_oid"
                             " FROM content"
                             " WHERE msg_id = ? AND version = ?", &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, version);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            size_t n = (size_t)sqlite3_column_bytes(st, 0);
            const void *p = sqlite3_column_blob(st, 0);
            out->data = malloc(n + 1);
            if (!out->data) {
                rc = MG_ENOMEM;
            } else {
                if (n)
                    memcpy(out->data, p, n);
                out->data[n] = 0;
                out->len = n;
            }
            out->type = (enum message_content_type)sqlite3_column_int(st, 1);
            if (rc == 0 && sqlite3_column_type(st, 2) != SQLITE_NULL) {
                size_t ln = (size_t)sqlite3_column_bytes(st, 2);
                out->label_set = 1;
                if (ln) {
                    out->label = malloc(ln);
                    if (out->label) {
                        memcpy(out->label, sqlite3_column_blob(st, 2), ln);
                        out->label_len = ln;
                    } else {
                        rc = MG_ENOMEM;
                    }
                }
            }
            if (sqlite3_column_type(st, 3) != SQLITE_NULL)
                out->priority = sqlite3_column_int(st, 3);
            if (rc == 0)
                rc = col_dup(st, 4, &out->originator);
            if (rc == 0)
                rc = col_dup(st, 5, &out->content_oid);
        } else {
            rc = r == SQLITE_DONE ? MG_ENOTFOUND : db_err(s->rdb, "read_version");
        }
    }
    read_done(st);
    pthread_mutex_unlock(&s->rmu);
    if (rc != 0)
        queue_store_version_free(out);
    return rc;
}

void queue_store_version_free(struct queue_store_version *v)
{
    if (!v)
        return;
    free(v->data);
    free(v->label);
    free(v->originator);
    free(v->content_oid);
    v->data = v->label = NULL;
    v->originator = v->content_oid = NULL;
}

struct queue_store_content {
    sqlite3 *db;        /* owned: a private read connection */
    sqlite3_blob *blob; /* owned */
    uint64_t size;
};

int queue_store_content_open(struct queue_store *s, const char *id,
                             struct queue_store_content **out, uint64_t *size)
{
    if (!s || check_id(id) != 0 || !out)
        return MG_EINVAL;
    struct queue_store_content *c = calloc(1, sizeof(*c));
    if (!c)
        return MG_ENOMEM;
    int rc = open_db(s->path, SQLITE_OPEN_READONLY, &c->db);
    sqlite3_stmt *st = NULL;
    sqlite3_int64 rowid = 0;
    if (rc == 0 && sqlite3_prepare_v2(c->db, CURRENT_CONTENT_SQL, -1, &st, NULL) != SQLITE_OK)
        rc = db_err(c->db, "content_open");
    if (rc == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            rowid = sqlite3_column_int64(st, 2);
        else
            rc = r == SQLITE_DONE ? MG_ENOTFOUND : db_err(c->db, "content_open");
    }
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_blob_open(c->db, "main", "content", "data", rowid, 0, &c->blob) !=
                       SQLITE_OK)
        rc = db_err(c->db, "blob_open");
    if (rc != 0) {
        queue_store_content_close(c);
        return rc;
    }
    c->size = (uint64_t)sqlite3_blob_bytes(c->blob);
    if (size)
        *size = c->size;
    *out = c;
    return 0;
}

int queue_store_content_read(struct queue_store_content *c, uint64_t offset, void *buf,
                             size_t n, size_t *got)
{
    if (!c || (!buf && n) || !got)
        return MG_EINVAL;
    *got = 0;
    if (offset >= c->size || n == 0)
        return 0;
    uint64_t left = c->size - offset;
    size_t take = left < n ? (size_t)left : n;
    if (take > INT32_MAX)
        take = INT32_MAX;
    if (sqlite3_blob_read(c->blob, buf, (int)take, (int)offset) != SQLITE_OK)
        return db_err(c->db, "blob_read");
    *got = take;
    return 0;
}

void queue_store_content_close(struct queue_store_content *c)
{
    if (!c)
        return;
    sqlite3_blob_close(c->blob);
    sqlite3_close(c->db);
    free(c);
}

int queue_store_list(struct queue_store *s, const struct queue_store_filter *f,
                     int (*cb)(void *arg, const struct queue_store_summary *m), void *arg)
{
    if (!s || !cb)
        return MG_EINVAL;
    struct queue_store_filter all = { .held = -1 };
    if (!f)
        f = &all;
    if (f->after_id && check_id(f->after_id) != 0)
        return MG_EINVAL;
    pthread_mutex_lock(&s->rmu);
    sqlite3_stmt *st = NULL;
    int rc = read_prepare(s, INDEX_SELECT " WHERE m.id > ? GROUP BY m.id ORDER BY m.id", &st);
    if (rc == 0)
        sqlite3_bind_text(st, 1, f->after_id ? f->after_id : "", -1, SQLITE_STATIC);
    size_t shown = 0;
    while (rc == 0 && (f->limit == 0 || shown < f->limit)) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = db_err(s->rdb, "list");
            break;
        }
        struct queue_store_summary sm;
        index_from_row(st, &sm.e);
        if (f->held >= 0 && (int)sm.e.hold != (f->held ? 1 : 0))
            continue;
        if (f->state_mask) {
            unsigned have = (sm.e.npending ? 1u << MESSAGE_RCPT_PENDING : 0) |
                            (sm.e.ndelivered ? 1u << MESSAGE_RCPT_DELIVERED : 0) |
                            (sm.e.ndeferred ? 1u << MESSAGE_RCPT_DEFERRED : 0) |
                            (sm.e.nfailed ? 1u << MESSAGE_RCPT_FAILED : 0);
            if (!(have & f->state_mask))
                continue;
        }
        const unsigned char *o = sqlite3_column_text(st, 10);
        sm.originator = o ? (const char *)o : "";
        sm.hold_reason = (const char *)sqlite3_column_text(st, 11);
        sm.content_size = (uint64_t)sqlite3_column_int64(st, 12);
        shown++;
        rc = cb(arg, &sm);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

int queue_store_history(struct queue_store *s, size_t limit,
                        int (*cb)(void *arg, const struct queue_store_history *h), void *arg)
{
    if (!s || !cb)
        return MG_EINVAL;
    pthread_mutex_lock(&s->rmu);
    sqlite3_stmt *st = NULL;
    int rc = read_prepare(s, "SELECT id, originator, outcome, arrival, finished, nrcpts,"
                             " ndelivered, nfailed FROM history ORDER BY seq DESC LIMIT ?", &st);
    if (rc == 0)
        sqlite3_bind_int64(st, 1, limit ? (sqlite3_int64)limit : -1);
    while (rc == 0) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = db_err(s->rdb, "history");
            break;
        }
        const char *hid = (const char *)sqlite3_column_text(st, 0);
        const char *hor = (const char *)sqlite3_column_text(st, 1);
        const char *hout = (const char *)sqlite3_column_text(st, 2);
        struct queue_store_history h = {
            .id = hid ? hid : "", /* NOT NULL in the schema, but a damaged file may hold one */
            .originator = hor ? hor : "",
            .outcome = hout ? hout : "",
            .arrival = sqlite3_column_int64(st, 3),
            .finished = sqlite3_column_int64(st, 4),
            .nrcpts = (uint32_t)sqlite3_column_int64(st, 5),
            .ndelivered = (uint32_t)sqlite3_column_int64(st, 6),
            .nfailed = (uint32_t)sqlite3_column_int64(st, 7),
        };
        rc = cb(arg, &h);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rmu);
    return rc;
}


int queue_store_find_subject(struct queue_store *s, const char *key, struct queue_store_subject *out)
{
    if (!s || !key || !*key || !out || strlen(key) > 1024)
        return MG_EINVAL;
    memset(out, 0, sizeof *out);
    static const char *const sql[] = {
        "SELECT id, originator, arrival, 0 FROM messages WHERE mts_id = ?1 OR envid = ?1 LIMIT 1",
        "SELECT id, originator, arrival, finished FROM history WHERE mts_id = ?1 OR envid = ?1"
        " ORDER BY seq DESC LIMIT 1",
    };
    pthread_mutex_lock(&s->rmu);
    int rc = MG_ENOTFOUND;
    for (int i = 0; i < 2 && rc == MG_ENOTFOUND; i++) {
        sqlite3_stmt *st = NULL;
        int prc = read_prepare(s, sql[i], &st);
        if (prc != 0) {
            rc = prc;
            break;
        }
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            const unsigned char *id = sqlite3_column_text(st, 0);
            const unsigned char *orig = sqlite3_column_text(st, 1);
            snprintf(out->id, sizeof out->id, "%s", id ? (const char *)id : "");
            snprintf(out->originator, sizeof out->originator, "%s", orig ? (const char *)orig : "");
            out->arrival = sqlite3_column_int64(st, 2);
            out->finished = sqlite3_column_int64(st, 3);
            out->live = i == 0;
            rc = 0;
        } else if (r != SQLITE_DONE) {
            rc = db_err(s->rdb, "find_subject");
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

int queue_store_peer_holds(struct queue_store *s,
                           int (*cb)(void *arg, const char *peer, const char *reason, int64_t since),
                           void *arg)
{
    if (!s || !cb)
        return MG_EINVAL;
    pthread_mutex_lock(&s->rmu);
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->rdb, "SELECT peer, reason, since FROM peer_holds ORDER BY peer", -1,
                           &st, NULL) != SQLITE_OK) {
        /* a file no writer of this version has opened yet (the CLI on a stopped daemon's
         * older queue) has no table: no holds */
        if (!strstr(sqlite3_errmsg(s->rdb), "no such table"))
            rc = db_err(s->rdb, "peer_holds");
        st = NULL;
    }
    while (rc == 0 && st) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = db_err(s->rdb, "peer_holds");
            break;
        }
        const char *peer = (const char *)sqlite3_column_text(st, 0);
        const char *reason = (const char *)sqlite3_column_text(st, 1);
        if (peer && *peer)
            rc = cb(arg, peer, reason ? reason : "", sqlite3_column_int64(st, 2));
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

int queue_store_deferred_for_peer(struct queue_store *s, const char *peer,
                                  int (*cb)(void *arg, const char *id), void *arg)
{
    if (!s || !peer || !*peer || !cb)
        return MG_EINVAL;
    pthread_mutex_lock(&s->rmu);
    sqlite3_stmt *st = NULL;
    int rc = read_prepare(s, "SELECT DISTINCT msg_id FROM rcpts WHERE state = ?1 AND peer = ?2"
                             " ORDER BY msg_id", &st);
    if (rc == 0) {
        sqlite3_bind_int(st, 1, MESSAGE_RCPT_DEFERRED);
        sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
    }
    while (rc == 0) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = db_err(s->rdb, "deferred_for_peer");
            break;
        }
        const unsigned char *id = sqlite3_column_text(st, 0);
        if (id && message_id_valid((const char *)id))
            rc = cb(arg, (const char *)id);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rmu);
    return rc;
}
