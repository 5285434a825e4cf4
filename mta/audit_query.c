/* audit_query: reads of the audit store (see audit.h): the records a filter selects, newest
 * first, each with its subject, from the store's read connection, which readers share with a
 * live writer (WAL). Split from audit.c, which opens the store and writes it. */
#include "audit_int.h"

#include <stdint.h>
#include <string.h>

#include "mg_err.h"

static void bind_str(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static const char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

int audit_query(struct audit *a, const struct audit_filter *f,
                int (*cb)(void *arg, const struct audit_entry *e), void *arg)
{
    if (!a || !cb)
        return MG_EINVAL;
    static const struct audit_filter all = { 0 };
    if (!f)
        f = &all;
    struct audit_reader *rd = audit_reader(a);
    /* Only the clauses in use, so SQLite can pick the qid / rcpt index. A record's subject is
     * in subjects (version 2), or in the record itself (written by version 1). */
    char sql[640] = "SELECT r.seq, r.time_us, r.qid, r.rcpt, r.channel, r.decision, r.reason,"
                    " r.subject_kind, ";
    strcat(sql, rd->version >= 2 ? "COALESCE(r.subject, s.data), r.summary FROM records r"
                                   " LEFT JOIN subjects s ON s.sha256 = r.subject_sha256"
                                 : "r.subject, r.summary FROM records r");
    strcat(sql, " WHERE r.time_us >= ?1 AND r.time_us < ?2");
    if (f->qid && *f->qid)
        strcat(sql, " AND r.qid = ?3");
    if (f->decision && *f->decision)
        strcat(sql, " AND r.decision = ?4");
    if (f->rcpt && *f->rcpt)
        strcat(sql, " AND r.rcpt = ?5 COLLATE NOCASE");
    strcat(sql, " ORDER BY r.time_us DESC, r.seq DESC LIMIT ?6");

    pthread_mutex_lock(&rd->mu);
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(rd->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = audit_db_err(rd->db, audit_path(a), "query");
        goto out;
    }
    sqlite3_bind_int64(st, 1, f->since_us ? f->since_us : INT64_MIN);
    sqlite3_bind_int64(st, 2, f->until_us ? f->until_us : INT64_MAX);
    if (f->qid && *f->qid)
        bind_str(st, 3, f->qid);
    if (f->decision && *f->decision)
        bind_str(st, 4, f->decision);
    if (f->rcpt && *f->rcpt)
        bind_str(st, 5, f->rcpt);
    sqlite3_bind_int64(st, 6, f->limit && f->limit < INT64_MAX ? (int64_t)f->limit : -1);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct audit_entry e = { .seq = sqlite3_column_int64(st, 0) };
        e.r.time_us = sqlite3_column_int64(st, 1);
        e.r.qid = col_str(st, 2);
        e.r.rcpt = col_str(st, 3);
        e.r.channel = col_str(st, 4);
        e.r.decision = col_str(st, 5);
        e.r.reason = col_str(st, 6);
        e.r.subject_kind = col_str(st, 7);
        e.r.subject = sqlite3_column_blob(st, 8);
        e.r.subject_len = e.r.subject ? (size_t)sqlite3_column_bytes(st, 8) : 0;
        e.r.summary = col_str(st, 9);
        if ((rc = cb(arg, &e)) != 0)
            break;
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = audit_db_err(rd->db, audit_path(a), "query");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&rd->mu);
    return rc;
}

int audit_query_path(const char *path, const struct audit_filter *f,
                     int (*cb)(void *arg, const struct audit_entry *e), void *arg)
{
    struct audit *a = NULL;
    struct audit_opts o = { .read_only = 1 };
    int rc = audit_open(&a, NULL, path, &o);
    if (rc != 0)
        return rc;
    rc = audit_query(a, f, cb, arg);
    audit_close(a);
    return rc;
}
