/* Tests for mta/audit: group commit, appends from several threads, durability across
 * close/reopen, copy semantics, records acknowledged before a SIGKILL, append-only enforcement
 * on a raw connection, retention (at open, hourly, in chunks), query filters and order, a
 * reader in a second process beside a live writer, draining at close, the synchronous mode,
 * file modes, error paths, and the time-string parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <uv.h>

#include "audit.h"
#include "audit_time.h"
#include "mg_err.h"

#include "audit_test_raw.h"

#define T0 1796637600000000LL /* 2026-12-07T10:00:00Z in microseconds */
#define SEC 1000000LL

static const char *self_exe; /* argv[0] of this test, re-executed as the reader process */

struct fx {
    char dir[256];
    char path[300];
    uv_loop_t loop;
    struct audit *a;
    _Atomic int64_t now; /* the injected clock (read by the writer thread) */
};

static int64_t fx_clock(void *arg)
{
    struct fx *f = arg;
    return atomic_load(&f->now);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/mg-audit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/audit.db", f->dir);
    atomic_store(&f->now, T0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    *state = f;
    return 0;
}

/* Opens the fixture's store: with the loop or without, with a retention age. */
static int fx_open(struct fx *f, int with_loop, int64_t retention_s)
{
    struct audit_opts o = { .retention_s = retention_s, .clock_us = fx_clock, .clock_arg = f };
    return audit_open(&f->a, with_loop ? &f->loop : NULL, f->path, &o);
}

static void fx_close(struct fx *f)
{
    audit_close(f->a);
    f->a = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT); /* lets the async handle close */
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (f->a)
        fx_close(f);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    rm_store(f->path, f->dir);
    free(f);
    return 0;
}

struct waiter {
    int done, nfail, status;
};

static void on_done(void *arg, int status)
{
    struct waiter *w = arg;
    w->done++;
    w->status = status;
    if (status != 0)
        w->nfail++;
}

static void wait_for(uv_loop_t *loop, struct waiter *w, int target)
{
    while (w->done < target)
        uv_run(loop, UV_RUN_ONCE);
}

static struct audit_record rec(int64_t t, const char *qid, const char *rcpt, const char *dec)
{
    return (struct audit_record){ .time_us = t, .qid = qid, .rcpt = rcpt, .channel = "shaper",
                                  .decision = dec, .reason = "test" };
}

/* Appends with the loop and waits until durable; returns the callback's status. */
static int append_wait(struct fx *f, const struct audit_record *r, size_t n)
{
    struct waiter w = { 0 };
    int rc = audit_append(f->a, r, n, on_done, &w);
    if (rc != 0)
        return rc;
    wait_for(&f->loop, &w, 1);
    assert_int_equal(w.done, 1);
    return w.status;
}

/* Collected query results. */
struct got {
    size_t n;
    int64_t seq[64];
    int64_t time[64];
    char qid[64][AUDIT_QID_MAX + 1];
};

static int collect(void *arg, const struct audit_entry *e)
{
    struct got *g = arg;
    if (g->n < 64) {
        g->seq[g->n] = e->seq;
        g->time[g->n] = e->r.time_us;
        snprintf(g->qid[g->n], sizeof g->qid[0], "%s", e->r.qid);
    }
    g->n++;
    return 0;
}

static size_t count_all(struct audit *a)
{
    struct got g = { 0 };
    assert_int_equal(audit_query(a, NULL, collect, &g), 0);
    return g.n;
}

/* ---------------------------------------------------------------- group commit */

/* Many appends issued from the loop in one go commit in few transactions, every callback runs
 * exactly once with 0. A raw connection holds the write lock while they are queued, so the
 * batching does not depend on timing: the writer can commit at most what it took before the
 * lock plus everything after it. */
static void test_group_commit(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 1, 0), 0);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

    enum { N = 500 };
    struct waiter w[N];
    memset(w, 0, sizeof w);
    for (int i = 0; i < N; i++) {
        char qid[16];
        snprintf(qid, sizeof qid, "Q%05d", i);
        struct audit_record r = rec(T0 + i, qid, "", "label-extracted");
        assert_int_equal(audit_append(f->a, &r, 1, on_done, &w[i]), 0);
    }
    assert_int_equal(sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    for (int i = 0; i < N; i++)
        wait_for(&f->loop, &w[i], 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(w[i].done, 1);
        assert_int_equal(w[i].status, 0);
    }
    struct audit_stats st;
    audit_get_stats(f->a, &st);
    print_message("group commit: %d appends in %llu commits (max batch %llu)\n", N,
                  (unsigned long long)st.commits, (unsigned long long)st.max_batch);
    assert_true(st.commits >= 1 && st.commits <= 2);
    assert_int_equal(st.appends, N);
    assert_int_equal(st.records, N);
    assert_true(st.max_batch >= N / 2);
    assert_int_equal(count_all(f->a), N);
    /* no callback runs twice, even after the loop has nothing more to do */
    uv_run(&f->loop, UV_RUN_NOWAIT);
    for (int i = 0; i < N; i++)
        assert_int_equal(w[i].done, 1);
}

struct mt {
    struct fx *f;
    int id;
    pthread_t loop_thread;
    _Atomic int done, bad_thread, failed;
};

enum { MT_THREADS = 4, MT_EACH = 100 };

static void on_done_mt(void *arg, int status)
{
    struct mt *m = arg;
    if (!pthread_equal(pthread_self(), m->loop_thread))
        atomic_fetch_add(&m->bad_thread, 1);
    if (status != 0)
        atomic_fetch_add(&m->failed, 1);
    atomic_fetch_add(&m->done, 1);
}

struct mt_arg {
    struct mt *m;
    int id;
};

static void *mt_main(void *arg)
{
    struct mt_arg *ta = arg;
    for (int i = 0; i < MT_EACH; i++) {
        char qid[16];
        snprintf(qid, sizeof qid, "T%d-%03d", ta->id, i);
        struct audit_record r = rec(T0 + ta->id * MT_EACH + i, qid, "", "decrypted");
        if (audit_append(ta->m->f->a, &r, 1, on_done_mt, ta->m) != 0)
            atomic_fetch_add(&ta->m->failed, 1);
    }
    return NULL;
}

/* Appends from several threads at once (processing channels on the thread pool): every
 * record is written once and every callback runs on the loop thread. */
/* Appends go in without savepoints; one that fails rolls its batch back, and the batch is
 * applied again with each append in its own savepoint: the others are kept, in order. */
static void test_failing_append_isolated(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 1, 0), 0);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "CREATE TRIGGER refuse_bad BEFORE INSERT ON records"
                                       " WHEN NEW.qid = 'BAD' BEGIN SELECT RAISE(ABORT, 'refused'); END;",
                                  NULL, NULL, NULL), SQLITE_OK);
    /* the writer waits on this lock, so the appends below meet in one or two batches */
    assert_int_equal(sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    static const char *const qids[] = { "OK1", "OK2", "BAD", "OK3", "OK4" };
    enum { N = sizeof qids / sizeof qids[0] };
    struct waiter w[N];
    memset(w, 0, sizeof w);
    for (int i = 0; i < N; i++) {
        struct audit_record r = rec(T0 + i, qids[i], "", "signed");
        assert_int_equal(audit_append(f->a, &r, 1, on_done, &w[i]), 0);
    }
    assert_int_equal(sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 0; i < N; i++)
        wait_for(&f->loop, &w[i], 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(w[i].status, strcmp(qids[i], "BAD") ? 0 : MG_EDB);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(raw, "SELECT group_concat(qid, ',') FROM"
                                             " (SELECT qid FROM records ORDER BY seq)", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "OK1,OK2,OK3,OK4");
    sqlite3_finalize(st);
    sqlite3_close(raw);
    struct audit_stats as;
    audit_get_stats(f->a, &as);
    assert_int_equal(as.records, N - 1);
}

static void test_append_from_threads(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 1, 0), 0);
    struct mt m = { .f = f, .loop_thread = pthread_self() };
    pthread_t th[MT_THREADS];
    struct mt_arg ta[MT_THREADS];
    for (int i = 0; i < MT_THREADS; i++) {
        ta[i] = (struct mt_arg){ &m, i };
        assert_int_equal(pthread_create(&th[i], NULL, mt_main, &ta[i]), 0);
    }
    while (atomic_load(&m.done) + atomic_load(&m.failed) < MT_THREADS * MT_EACH)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < MT_THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&m.failed), 0);
    assert_int_equal(atomic_load(&m.bad_thread), 0);
    assert_int_equal(atomic_load(&m.done), MT_THREADS * MT_EACH);
    assert_int_equal(count_all(f->a), MT_THREADS * MT_EACH);
    struct got g = { 0 };
    struct audit_filter one = { .qid = "T3-099" };
    assert_int_equal(audit_query(f->a, &one, collect, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.time[0], T0 + 3 * MT_EACH + 99);
}

/* ---------------------------------------------------------------- durability, copies */

static const unsigned char label_der[] = { 0x31, 0x0b, 0x80, 0x01, 0x02, 0x06, 0x06, 0x2b,
                                           0x06, 0x01, 0x04, 0x01, 0x00, 0x00, 0xff };

struct one {
    int seen;
    struct audit_record r;
    char buf[4][128];
    unsigned char subject[64];
};

static int keep_one(void *arg, const struct audit_entry *e)
{
    struct one *o = arg;
    o->seen++;
    o->r = e->r;
    snprintf(o->buf[0], sizeof o->buf[0], "%s|%s|%s", e->r.qid, e->r.rcpt, e->r.channel);
    snprintf(o->buf[1], sizeof o->buf[1], "%s|%s", e->r.decision, e->r.reason);
    snprintf(o->buf[2], sizeof o->buf[2], "%s|%s", e->r.subject_kind, e->r.summary);
    assert_true(e->r.subject_len <= sizeof o->subject);
    if (e->r.subject)
        memcpy(o->subject, e->r.subject, e->r.subject_len);
    return 0;
}

/* Every field survives close and reopen (through a read-only handle, as the CLI reads). */
static void test_durable_reopen(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 1, 0), 0);
    struct audit_record r = { .time_us = T0 + 42, .qid = "0V9ABCDEFGHJKM",
                              .rcpt = "Alice@Example.ORG", .channel = "shaper-in",
                              .decision = "access-denied",
                              .reason = "clearance lacks category \"ALPHA\"",
                              .subject_kind = "label", .subject = label_der,
                              .subject_len = sizeof label_der, .summary = "NATO SECRET ALPHA" };
    assert_int_equal(append_wait(f, &r, 1), 0);
    fx_close(f);

    struct one o = { 0 };
    assert_int_equal(audit_query_path(f->path, NULL, keep_one, &o), 0);
    assert_int_equal(o.seen, 1);
    assert_int_equal(o.r.time_us, T0 + 42);
    assert_string_equal(o.buf[0], "0V9ABCDEFGHJKM|Alice@Example.ORG|shaper-in");
    assert_string_equal(o.buf[1], "access-denied|clearance lacks category \"ALPHA\"");
    assert_string_equal(o.buf[2], "label|NATO SECRET ALPHA");
    assert_int_equal(o.r.subject_len, sizeof label_der);
    assert_memory_equal(o.subject, label_der, sizeof label_der);

    /* reopening for writing keeps it and appends after it; a record without a subject reads
     * back with subject NULL */
    assert_int_equal(fx_open(f, 0, 0), 0);
    struct audit_record r2 = rec(T0 + 43, "0V9ABCDEFGHJKN", "", "label-defaulted");
    assert_int_equal(audit_append(f->a, &r2, 1, NULL, NULL), 0);
    struct audit_filter flt = { .limit = 1 };
    memset(&o, 0, sizeof o);
    assert_int_equal(audit_query(f->a, &flt, keep_one, &o), 0);
    assert_int_equal(o.seen, 1);
    assert_string_equal(o.buf[0], "0V9ABCDEFGHJKN||shaper");
    assert_null(o.r.subject);
    assert_int_equal(o.r.subject_len, 0);
    assert_int_equal(count_all(f->a), 2);
}

/* The records are copied at the call: the caller's strings and subject are freed and
 * overwritten before the writer runs (ASan catches a late read), and the stored values are
 * the ones given. time_us 0 becomes the clock's "now" at the call. */
static void test_copy_semantics(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 1, 0), 0);
    char *qid = strdup("0V9COPYCOPY001");
    char *rcpt = strdup("bob@example.net");
    char *reason = strdup("label converted to national policy");
    unsigned char *subj = malloc(sizeof label_der);
    assert_non_null(qid);
    assert_non_null(rcpt);
    assert_non_null(reason);
    assert_non_null(subj);
    memcpy(subj, label_der, sizeof label_der);
    char decision[32] = "label-converted";
    struct audit_record r = { .time_us = 0, .qid = qid, .rcpt = rcpt, .channel = "shaper",
                              .decision = decision, .reason = reason, .subject_kind = "label",
                              .subject = subj, .subject_len = sizeof label_der };
    struct waiter w = { 0 };
    assert_int_equal(audit_append(f->a, &r, 1, on_done, &w), 0);
    memset(qid, 'X', strlen(qid));
    memset(decision, 'z', sizeof decision - 1);
    memset(subj, 0, sizeof label_der);
    free(qid);
    free(rcpt);
    free(reason);
    free(subj);
    atomic_store(&f->now, T0 + 99 * SEC); /* the time was taken at the call */
    wait_for(&f->loop, &w, 1);
    assert_int_equal(w.status, 0);

    struct one o = { 0 };
    assert_int_equal(audit_query(f->a, NULL, keep_one, &o), 0);
    assert_int_equal(o.seen, 1);
    assert_int_equal(o.r.time_us, T0);
    assert_string_equal(o.buf[0], "0V9COPYCOPY001|bob@example.net|shaper");
    assert_string_equal(o.buf[1], "label-converted|label converted to national policy");
    assert_memory_equal(o.subject, label_der, sizeof label_der);
}

/* ---------------------------------------------------------------- append-only */

/* UPDATE and DELETE through a second, raw connection fail (while the store is open and after
 * it is closed); INSERT, which is what append-only allows, works. */
static void test_append_only(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 1, 3600), 0);
    struct audit_record r[2] = { rec(T0 - 10 * 3600 * SEC, "OLD", "", "signed"),
                                 rec(T0, "NEW", "a@example.org", "access-granted") };
    assert_int_equal(append_wait(f, r, 2), 0);

    static const struct {
        const char *name, *sql, *msg;
    } cases[] = {
        { "update one", "UPDATE records SET reason = 'forged' WHERE qid = 'NEW'",
          "append-only" },
        { "update all", "UPDATE records SET decision = 'access-granted'", "append-only" },
        { "delete one", "DELETE FROM records WHERE qid = 'NEW'", "mixgate_audit_may_delete" },
        { "delete old", "DELETE FROM records WHERE qid = 'OLD'", "mixgate_audit_may_delete" },
        { "delete all", "DELETE FROM records", "mixgate_audit_may_delete" },
        { "replace", "REPLACE INTO records (seq, time_us, qid, rcpt, channel, decision, reason,"
                     " subject_kind, summary) SELECT seq, time_us, qid, rcpt, channel, 'x', '',"
                     " '', '' FROM records", "append-only" },
        { "insert or replace", "INSERT OR REPLACE INTO records (seq, time_us, qid, rcpt, channel,"
                               " decision, reason, subject_kind, summary)"
                               " VALUES (1, 0, 'X', '', '', 'x', '', '', '')", "append-only" },
        { "upsert", "INSERT INTO records (seq, time_us, qid, rcpt, channel, decision, reason,"
                    " subject_kind, summary) VALUES (1, 0, 'X', '', '', 'x', '', '', '')"
                    " ON CONFLICT (seq) DO UPDATE SET reason = 'forged'", "append-only" },
        { "insert with a used seq", "INSERT INTO records (seq, time_us, qid, rcpt, channel,"
                                    " decision, reason, subject_kind, summary)"
                                    " VALUES (2, 0, 'X', '', '', 'x', '', '', '')",
          "append-only" },
    };
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char err[256];
            int rc = raw_exec(f->path, cases[i].sql, err, sizeof err);
            print_message("%s (store %s): %d %s\n", cases[i].name, pass ? "closed" : "open", rc,
                          err);
            assert_int_not_equal(rc, SQLITE_OK);
            assert_non_null(strstr(err, cases[i].msg));
        }
        if (pass == 0) {
            assert_int_equal(count_all(f->a), 2);
            fx_close(f);
        }
    }
    char err[256];
    assert_int_equal(raw_exec(f->path,
                              "INSERT INTO records (time_us, qid, rcpt, channel, decision,"
                              " reason, subject_kind, summary)"
                              " VALUES (1, 'RAW', '', 'x', 'signed', '', '', '')",
                              err, sizeof err),
                     SQLITE_OK);
    assert_int_equal(audit_query_path(f->path, NULL, collect, &(struct got){ 0 }), 0);
    struct got g = { 0 };
    assert_int_equal(audit_query_path(f->path, NULL, collect, &g), 0);
    assert_int_equal(g.n, 3);
}

/* ---------------------------------------------------------------- retention */

/* At open, records past the age go and the others stay; later the writer prunes again once the
 * clock has moved an hour, in the same transaction as an append, never earlier. */
static void test_retention(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 0, 0), 0); /* keep for ever: nothing is deleted */
    struct audit_record r[4] = { rec(T0 - 7200 * SEC, "A", "", "signed"),
                                 rec(T0 - 3601 * SEC, "B", "", "signed"),
                                 rec(T0 - 1800 * SEC, "C", "", "signed"),
                                 rec(T0 - 10 * SEC, "D", "", "signed") };
    assert_int_equal(audit_append(f->a, r, 4, NULL, NULL), 0);
    fx_close(f);
    assert_int_equal(fx_open(f, 0, 0), 0);
    assert_int_equal(count_all(f->a), 4);
    fx_close(f);

    assert_int_equal(fx_open(f, 1, 3600), 0);
    struct audit_stats st;
    audit_get_stats(f->a, &st);
    assert_int_equal(st.pruned, 2);
    struct got g = { 0 };
    assert_int_equal(audit_query(f->a, NULL, collect, &g), 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.qid[0], "D");
    assert_string_equal(g.qid[1], "C");

    /* 59 minutes later: not due yet, even for an old record appended now */
    atomic_store(&f->now, T0 + 3540 * SEC);
    struct audit_record old = rec(T0 - 5 * 3600 * SEC, "E", "", "signed");
    assert_int_equal(append_wait(f, &old, 1), 0);
    assert_int_equal(count_all(f->a), 3);

    /* past the hour: the next append's transaction deletes everything older than now - 1h */
    atomic_store(&f->now, T0 + 3601 * SEC);
    struct audit_record fresh = rec(0, "F", "", "signed");
    assert_int_equal(append_wait(f, &fresh, 1), 0);
    memset(&g, 0, sizeof g);
    assert_int_equal(audit_query(f->a, NULL, collect, &g), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.qid[0], "F");
    assert_int_equal(g.time[0], T0 + 3601 * SEC);
    audit_get_stats(f->a, &st);
    assert_int_equal(st.pruned, 2 + 3);
}

/* Retention at open deletes more than one chunk (5000) and nothing newer. */
static void test_retention_chunks(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 0, 0), 0);
    static struct audit_record r[1000];
    for (int round = 0; round < 12; round++) {
        for (int i = 0; i < 1000; i++)
            r[i] = rec(T0 - (100000 + round * 1000 + i) * SEC, "OLD", "", "signed");
        assert_int_equal(audit_append(f->a, r, 1000, NULL, NULL), 0);
    }
    struct audit_record keep = rec(T0 - 60 * SEC, "KEEP", "", "encrypted");
    assert_int_equal(audit_append(f->a, &keep, 1, NULL, NULL), 0);
    fx_close(f);
    assert_int_equal(fx_open(f, 0, 86400), 0);
    struct audit_stats st;
    audit_get_stats(f->a, &st);
    assert_int_equal(st.pruned, 12000);
    struct got g = { 0 };
    assert_int_equal(audit_query(f->a, NULL, collect, &g), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.qid[0], "KEEP");
}

/* ---------------------------------------------------------------- queries */

/* Fixed records: [i] has seq i + 1. Times are not in append order on purpose. */
static void fill_query_set(struct fx *f)
{
    struct audit_record r[] = {
        rec(T0 + 10 * SEC, "Q1", "", "label-extracted"),            /* seq 1 */
        rec(T0 + 20 * SEC, "Q1", "a@example.org", "access-granted"), /* seq 2 */
        rec(T0 + 20 * SEC, "Q1", "b@example.org", "access-denied"),  /* seq 3 */
        rec(T0 + 5 * SEC, "Q2", "", "label-defaulted"),              /* seq 4 */
        rec(T0 + 30 * SEC, "Q2", "A@EXAMPLE.ORG", "access-denied"),  /* seq 5 */
        rec(T0 + 40 * SEC, "Q3", "c@example.org", "encrypted"),      /* seq 6 */
    };
    assert_int_equal(audit_append(f->a, r, sizeof r / sizeof r[0], NULL, NULL), 0);
}

static void test_query_filters(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 0, 0), 0);
    fill_query_set(f);
    static const struct {
        const char *name;
        struct audit_filter f;
        int64_t want[8]; /* seqs, newest first, 0-terminated */
    } cases[] = {
        { "all, newest first, same time by seq", { 0 }, { 6, 5, 3, 2, 1, 4 } },
        { "limit", { .limit = 2 }, { 6, 5 } },
        { "since inclusive", { .since_us = T0 + 20 * SEC }, { 6, 5, 3, 2 } },
        { "until exclusive", { .until_us = T0 + 20 * SEC }, { 1, 4 } },
        { "window", { .since_us = T0 + 10 * SEC, .until_us = T0 + 31 * SEC }, { 5, 3, 2, 1 } },
        { "qid", { .qid = "Q1" }, { 3, 2, 1 } },
        { "decision", { .decision = "access-denied" }, { 5, 3 } },
        { "rcpt ignores case", { .rcpt = "a@Example.org" }, { 5, 2 } },
        { "qid and decision", { .qid = "Q2", .decision = "access-denied" }, { 5 } },
        { "qid, decision, limit", { .qid = "Q1", .decision = "access-granted", .limit = 5 },
          { 2 } },
        { "no match", { .qid = "Q9" }, { 0 } },
        { "empty strings are no filter", { .qid = "", .decision = "", .rcpt = "" },
          { 6, 5, 3, 2, 1, 4 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct got g = { 0 };
        assert_int_equal(audit_query(f->a, &cases[i].f, collect, &g), 0);
        size_t n = 0;
        while (cases[i].want[n])
            n++;
        if (g.n != n)
            fail_msg("%s: %zu records, want %zu", cases[i].name, g.n, n);
        for (size_t k = 0; k < n; k++)
            if (g.seq[k] != cases[i].want[k])
                fail_msg("%s: record %zu is seq %lld, want %lld", cases[i].name, k,
                         (long long)g.seq[k], (long long)cases[i].want[k]);
    }
}

static int stop_after_two(void *arg, const struct audit_entry *e)
{
    (void)e;
    int *n = arg;
    return ++*n == 2 ? 7 : 0;
}

/* A callback's nonzero value stops the query and is returned. */
static void test_query_stop(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 0, 0), 0);
    fill_query_set(f);
    int n = 0;
    assert_int_equal(audit_query(f->a, NULL, stop_after_two, &n), 7);
    assert_int_equal(n, 2);
}

/* ---------------------------------------------------------------- killed writer */

struct chain {
    struct audit *a;
    int next; /* shared counter of record numbers */
};

struct pending_rec { /* one append in flight: owned by it until its callback */
    struct chain *c;
    int num;
};

static void on_child_durable(void *arg, int status);

static void child_append_next(struct chain *c)
{
    if (c->next >= 200000)
        return; /* the parent is gone: stop some time */
    char qid[16];
    snprintf(qid, sizeof qid, "K%06d", c->next);
    struct audit_record r = rec(T0 + c->next, qid, "", "signed");
    struct pending_rec *p = malloc(sizeof *p);
    if (!p)
        exit(3);
    *p = (struct pending_rec){ c, c->next++ };
    if (audit_append(c->a, &r, 1, on_child_durable, p) != 0)
        exit(4);
}

/* Reports a durable record to the parent, then starts the next append. */
static void on_child_durable(void *arg, int status)
{
    struct pending_rec *p = arg;
    if (status != 0)
        exit(5);
    printf("%d\n", p->num);
    fflush(stdout);
    struct chain *c = p->c;
    free(p);
    child_append_next(c);
}

/* Child mode: appends for ever through the writer thread, 8 appends in flight, printing the
 * number of each record once its callback said it is durable. */
static int child_append(const char *path)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct chain c = { 0 };
    if (audit_open(&c.a, &loop, path, NULL) != 0)
        return 2;
    for (int i = 0; i < 8; i++)
        child_append_next(&c);
    uv_run(&loop, UV_RUN_DEFAULT);
    return 0;
}

/* Every record whose callback reported it durable is there after the writer process is
 * killed with SIGKILL in the middle of its work. */
static void test_killed_writer(void **state)
{
    struct fx *f = *state;
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(self_exe, self_exe, "--child-append", f->path, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *in = fdopen(fd[0], "r");
    assert_non_null(in);
    enum { ACKS = 300 };
    static int acked[ACKS];
    char line[32];
    int n = 0;
    while (n < ACKS && fgets(line, sizeof line, in))
        acked[n++] = atoi(line);
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    fclose(in);
    assert_int_equal(n, ACKS);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    assert_int_equal(fx_open(f, 0, 0), 0);
    size_t total = count_all(f->a);
    print_message("killed writer: %d acknowledged, %zu on disk\n", n, total);
    assert_true(total >= ACKS);
    for (int i = 0; i < n; i++) {
        char qid[16];
        snprintf(qid, sizeof qid, "K%06d", acked[i]);
        struct audit_filter one = { .qid = qid };
        struct got g = { 0 };
        assert_int_equal(audit_query(f->a, &one, collect, &g), 0);
        if (g.n != 1)
            fail_msg("%s acknowledged but %zu on disk", qid, g.n);
    }
}

/* ---------------------------------------------------------------- a second process */

/* Child mode of this binary: counts the records of a file read-only and checks the order. */
static int child_query(const char *path)
{
    struct got g = { 0 };
    int rc = audit_query_path(path, NULL, collect, &g);
    for (size_t i = 1; rc == 0 && i < g.n && i < 64; i++)
        if (g.time[i] > g.time[i - 1])
            rc = 99;
    printf("%d %zu\n", rc, g.n);
    return 0;
}

/* A reader in another process sees every durable record while the writer keeps appending. */
static void test_second_process_reader(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 1, 0), 0);
    enum { FIRST = 200 };
    static struct audit_record r[FIRST];
    for (int i = 0; i < FIRST; i++)
        r[i] = rec(T0 + i, "BEFORE", "", "signature-verified");
    assert_int_equal(append_wait(f, r, FIRST), 0);

    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(self_exe, self_exe, "--child-query", f->path, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    /* keep writing until the child has answered */
    int appended = 0;
    struct pollfd p = { .fd = fd[0], .events = POLLIN };
    while (poll(&p, 1, 0) == 0 && appended < 100000) {
        struct audit_record more = rec(T0 + FIRST + appended, "DURING", "", "decrypted");
        assert_int_equal(append_wait(f, &more, 1), 0);
        appended++;
    }
    char out[64] = { 0 };
    ssize_t got = read(fd[0], out, sizeof out - 1);
    close(fd[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(got > 0);
    int rc = -1;
    size_t n = 0;
    assert_int_equal(sscanf(out, "%d %zu", &rc, &n), 2);
    print_message("reader saw %zu records while the writer appended %d\n", n, appended);
    assert_int_equal(rc, 0);
    assert_true(n >= FIRST);
    assert_true(n <= (size_t)(FIRST + appended));
    assert_int_equal(count_all(f->a), FIRST + appended);
}

/* ---------------------------------------------------------------- close */

struct reappend {
    struct audit *a;
    int done, status, again;
};

/* A callback run by audit_close: the store is closing, so a new append is refused. */
static void on_done_reappend(void *arg, int status)
{
    struct reappend *r = arg;
    r->done++;
    r->status = status;
    struct audit_record x = rec(T0, "LATE", "", "signed");
    r->again = audit_append(r->a, &x, 1, on_done, NULL);
}

/* audit_close commits every queued append and runs its callback (with 0) before returning,
 * without the loop running; appends from those callbacks fail with MG_ESTATE. */
static void test_close_drains(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 1, 0), 0);
    enum { N = 50 };
    struct waiter w = { 0 };
    for (int i = 0; i < N; i++) {
        struct audit_record r = rec(T0 + i, "CLOSE", "", "encrypted");
        assert_int_equal(audit_append(f->a, &r, 1, on_done, &w), 0);
    }
    struct reappend ra = { .a = f->a };
    struct audit_record r = rec(T0 + N, "CLOSE", "", "encrypted");
    assert_int_equal(audit_append(f->a, &r, 1, on_done_reappend, &ra), 0);
    audit_close(f->a);
    f->a = NULL;
    assert_int_equal(w.done, N);
    assert_int_equal(w.nfail, 0);
    assert_int_equal(ra.done, 1);
    assert_int_equal(ra.status, 0);
    assert_int_equal(ra.again, MG_ESTATE);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(w.done, N); /* nothing runs twice */
    struct got g = { 0 };
    assert_int_equal(audit_query_path(f->path, NULL, collect, &g), 0);
    assert_int_equal(g.n, N + 1);
}

/* ---------------------------------------------------------------- synchronous mode */

static void test_sync_mode(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 0, 0), 0);
    struct waiter w = { 0 };
    struct audit_record r = rec(T0, "S1", "", "cert-harvested");
    r.subject_kind = "cert";
    r.subject = "\x30\x03\x02\x01\x01";
    r.subject_len = 5;
    r.summary = "CN=Alice,O=Example";
    assert_int_equal(audit_append(f->a, &r, 1, on_done, &w), 0);
    assert_int_equal(w.done, 1); /* before audit_append returned */
    assert_int_equal(w.status, 0);
    assert_int_equal(audit_append(f->a, &r, 1, NULL, NULL), 0);
    struct audit_stats st;
    audit_get_stats(f->a, &st);
    assert_int_equal(st.commits, 2);
    assert_int_equal(st.records, 2);
    assert_int_equal(count_all(f->a), 2);
    /* the loop was never used */
    assert_int_equal(uv_loop_alive(&f->loop), 0);
}

/* ---------------------------------------------------------------- files and errors */

static mode_t file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* The database and its WAL and shared-memory files are 0600 whatever the umask; an existing
 * file others could read is narrowed. */
static void test_file_modes(void **state)
{
    struct fx *f = *state;
    mode_t old = umask(022);
    assert_int_equal(fx_open(f, 1, 0), 0);
    struct audit_record r = rec(T0, "M", "", "signed");
    assert_int_equal(append_wait(f, &r, 1), 0);
    char p[320];
    assert_int_equal(file_mode(f->path), 0600);
    snprintf(p, sizeof p, "%s-wal", f->path);
    assert_int_equal(file_mode(p), 0600);
    snprintf(p, sizeof p, "%s-shm", f->path);
    assert_int_equal(file_mode(p), 0600);
    fx_close(f);
    assert_int_equal(chmod(f->path, 0644), 0);
    assert_int_equal(fx_open(f, 0, 0), 0);
    assert_int_equal(file_mode(f->path), 0600);
    umask(old);
}

static void test_open_errors(void **state)
{
    struct fx *f = *state;
    struct audit *a = NULL;
    char p[400];
    /* a directory that does not exist; a path through a regular file */
    snprintf(p, sizeof p, "%s/missing/audit.db", f->dir);
    assert_int_equal(audit_open(&a, &f->loop, p, NULL), MG_EIO);
    assert_null(a);
    snprintf(p, sizeof p, "%s/plain", f->dir);
    FILE *pf = fopen(p, "w");
    assert_non_null(pf);
    fputs("this is not a database, it is a plain text file of some length......\n", pf);
    fclose(pf);
    char q[420];
    snprintf(q, sizeof q, "%s/audit.db", p);
    assert_int_equal(audit_open(&a, &f->loop, q, NULL), MG_EIO);
    /* a file that is not an SQLite database, for writing and for reading */
    assert_int_equal(audit_open(&a, NULL, p, NULL), MG_EDB);
    assert_int_equal(audit_query_path(p, NULL, collect, &(struct got){ 0 }), MG_EDB);
    unlink(p);
    /* read-only: no such file */
    assert_int_equal(audit_query_path(f->path, NULL, collect, &(struct got){ 0 }),
                     MG_ENOTFOUND);
    /* bad arguments */
    assert_int_equal(audit_open(NULL, NULL, f->path, NULL), MG_EINVAL);
    assert_int_equal(audit_open(&a, NULL, "", NULL), MG_EINVAL);
    struct audit_opts neg = { .retention_s = -1 };
    assert_int_equal(audit_open(&a, NULL, f->path, &neg), MG_EINVAL);
    struct audit_opts huge = { .retention_s = AUDIT_RETENTION_MAX + 1 };
    assert_int_equal(audit_open(&a, NULL, f->path, &huge), MG_EINVAL);
    /* a read-only handle refuses appends */
    assert_int_equal(fx_open(f, 0, 0), 0);
    fx_close(f);
    struct audit_opts ro = { .read_only = 1 };
    assert_int_equal(audit_open(&a, &f->loop, f->path, &ro), 0);
    struct audit_record r = rec(T0, "X", "", "signed");
    struct waiter w = { 0 };
    assert_int_equal(audit_append(a, &r, 1, on_done, &w), MG_ESTATE);
    assert_int_equal(w.done, 0);
    audit_close(a);
}

/* Every field past its limit is MG_ETOOBIG, every malformed field MG_EINVAL; the callback is
 * never called and nothing is written (not even the good records of the same call). */
static void test_append_errors(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 1, 0), 0);
    static char big[AUDIT_SUBJECT_MAX + 2];
    memset(big, 'a', sizeof big - 1);
#define BIG(n) (big + sizeof big - 1 - (n)) /* a string of n letters */
    static const unsigned char der[4] = { 0x30, 0x02, 0x05, 0x00 };
    static const struct {
        const char *name;
        struct audit_record r;
        int want;
    } cases[] = {
        { "qid too long", { .qid = BIG(AUDIT_QID_MAX + 1), .decision = "signed" }, MG_ETOOBIG },
        { "rcpt too long", { .rcpt = BIG(AUDIT_RCPT_MAX + 1), .decision = "signed" },
          MG_ETOOBIG },
        { "channel too long", { .channel = BIG(AUDIT_CHANNEL_MAX + 1), .decision = "signed" },
          MG_ETOOBIG },
        { "decision too long", { .decision = BIG(AUDIT_DECISION_MAX + 1) }, MG_ETOOBIG },
        { "reason too long", { .decision = "signed", .reason = BIG(AUDIT_REASON_MAX + 1) },
          MG_ETOOBIG },
        { "summary too long", { .decision = "signed", .summary = BIG(AUDIT_SUMMARY_MAX + 1) },
          MG_ETOOBIG },
        { "subject too big", { .decision = "signed", .subject_kind = "cert", .subject = big,
                               .subject_len = AUDIT_SUBJECT_MAX + 1 }, MG_ETOOBIG },
        { "kind too long", { .decision = "signed", .subject_kind = BIG(AUDIT_KIND_MAX + 1) },
          MG_ETOOBIG },
        { "no decision", { .qid = "Q" }, MG_EINVAL },
        { "empty decision", { .decision = "" }, MG_EINVAL },
        { "upper-case decision", { .decision = "Access-Denied" }, MG_EINVAL },
        { "decision with space", { .decision = "access denied" }, MG_EINVAL },
        { "kind with dot", { .decision = "signed", .subject_kind = "x.509" }, MG_EINVAL },
        { "newline in qid", { .qid = "Q\n1", .decision = "signed" }, MG_EINVAL },
        { "escape in rcpt", { .rcpt = "a\x1b@b", .decision = "signed" }, MG_EINVAL },
        { "DEL in channel", { .channel = "c\x7f", .decision = "signed" }, MG_EINVAL },
        { "subject without kind", { .decision = "signed", .subject = der, .subject_len = 4 },
          MG_EINVAL },
        { "subject length without bytes", { .decision = "signed", .subject_kind = "label",
                                            .subject_len = 4 }, MG_EINVAL },
        { "negative time", { .time_us = -1, .decision = "signed" }, MG_EINVAL },
    };
    struct waiter w = { 0 };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct audit_record two[2] = { rec(T0, "GOOD", "", "signed"), cases[i].r };
        int rc = audit_append(f->a, two, 2, on_done, &w);
        if (rc != cases[i].want)
            fail_msg("%s: %d (%s), want %d", cases[i].name, rc, mg_errname(rc), cases[i].want);
    }
    /* limits hold exactly at the edge */
    struct audit_record edge = { .qid = BIG(AUDIT_QID_MAX), .rcpt = BIG(AUDIT_RCPT_MAX),
                                 .channel = BIG(AUDIT_CHANNEL_MAX), .decision = "signed",
                                 .reason = BIG(AUDIT_REASON_MAX),
                                 .summary = BIG(AUDIT_SUMMARY_MAX), .subject_kind = "cert",
                                 .subject = big, .subject_len = AUDIT_SUBJECT_MAX };
    /* counts */
    struct audit_record r = rec(T0, "C", "", "signed");
    assert_int_equal(audit_append(f->a, &r, 0, on_done, &w), MG_EINVAL);
    assert_int_equal(audit_append(f->a, NULL, 1, on_done, &w), MG_EINVAL);
    assert_int_equal(audit_append(NULL, &r, 1, on_done, &w), MG_EINVAL);
    static struct audit_record many[AUDIT_APPEND_MAX + 1];
    for (size_t i = 0; i < AUDIT_APPEND_MAX + 1; i++)
        many[i] = r;
    assert_int_equal(audit_append(f->a, many, AUDIT_APPEND_MAX + 1, on_done, &w), MG_ETOOBIG);
    assert_int_equal(w.done, 0);
    assert_int_equal(count_all(f->a), 0);
    assert_int_equal(append_wait(f, &edge, 1), 0);
    assert_int_equal(append_wait(f, many, AUDIT_APPEND_MAX), 0);
    assert_int_equal(count_all(f->a), 1 + AUDIT_APPEND_MAX);
#undef BIG
}

/* ---------------------------------------------------------------- time strings */

static void test_time_parse(void **state)
{
    (void)state;
    const int64_t now = T0 + 123456;
    static const struct {
        const char *in;
        int ok;
        int64_t want;
    } cases[] = {
        /* expected values from Python's datetime, not from this code */
        { "2026-12-07T10:00:00Z", 1, 1796637600000000LL },
        { "2026-12-07t10:00:00z", 1, 1796637600000000LL },
        { "2026-12-07 10:00:00Z", 1, 1796637600000000LL },
        { "2026-12-07T10:00:00.5Z", 1, 1796637600500000LL },
        { "2026-12-07T10:00:00.123456789Z", 1, 1796637600123456LL },
        { "2026-12-07T11:30:00+01:30", 1, 1796637600000000LL },
        { "2026-12-07T05:00:00-05:00", 1, 1796637600000000LL },
        { "2026-12-07", 1, 1796601600000000LL },
        { "1970-01-01", 1, 0 },
        { "1969-12-31T23:59:59Z", 1, -1000000LL },
        { "2000-03-01", 1, 951868800000000LL },
        { "2024-02-29", 1, 1709164800000000LL },
        { "1900-03-01", 1, -2203891200000000LL },
        { "0001-01-01", 1, -62135596800000000LL },
        { "9999-12-31T23:59:59Z", 1, 253402300799000000LL },
        { "2016-12-31T23:59:60Z", 1, 1483228800000000LL },
        { "-90s", 1, T0 + 123456 - 90 * SEC },
        { "-15m", 1, T0 + 123456 - 900 * SEC },
        { "-1h", 1, T0 + 123456 - 3600 * SEC },
        { "-2d", 1, T0 + 123456 - 2 * 86400 * SEC },
        { "-1w", 1, T0 + 123456 - 7 * 86400 * SEC },
        { "-0s", 1, T0 + 123456 },
        { "now", 1, T0 + 123456 },
        { "", 0, 0 },
        { "-", 0, 0 },
        { "-h", 0, 0 },
        { "-1", 0, 0 },
        { "-1y", 0, 0 },
        { "-1hh", 0, 0 },
        { "-1234567890h", 0, 0 },
        { "-999999999w", 0, 0 },
        { "-3660000d", 1, T0 + 123456 - 3660000LL * 86400 * SEC },
        { "-3660001d", 0, 0 },
        { "+1h", 0, 0 },
        { "2026-13-01", 0, 0 },
        { "2026-00-01", 0, 0 },
        { "2026-02-29", 0, 0 },
        { "1900-02-29", 0, 0 },
        { "2026-04-31", 0, 0 },
        { "2026-12-7", 0, 0 },
        { "26-12-07", 0, 0 },
        { "2026-12-07T", 0, 0 },
        { "2026-12-07T10:00Z", 0, 0 },
        { "2026-12-07T10:00:00", 0, 0 },
        { "2026-12-07T24:00:00Z", 0, 0 },
        { "2026-12-07T10:60:00Z", 0, 0 },
        { "2026-12-07T10:00:61Z", 0, 0 },
        { "2026-12-07T10:00:00.Z", 0, 0 },
        { "2026-12-07T10:00:00+0100", 0, 0 },
        { "2026-12-07T10:00:00+24:00", 0, 0 },
        { "2026-12-07T10:00:00Zjunk", 0, 0 },
        { "2026-12-07T10:00:00.1234567890123456789Z", 0, 0 },
        { "2026-12-07junk", 0, 0 },
        { "yesterday", 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = 42;
        int rc = audit_time_parse(cases[i].in, now, &got);
        if (cases[i].ok && (rc != 0 || got != cases[i].want))
            fail_msg("'%s': rc %d value %lld, want %lld", cases[i].in, rc, (long long)got,
                     (long long)cases[i].want);
        if (!cases[i].ok && rc != MG_EPARSE)
            fail_msg("'%s': rc %d, want MG_EPARSE", cases[i].in, rc);
    }
    int64_t v;
    assert_int_equal(audit_time_parse(NULL, now, &v), MG_EPARSE);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--child-query"))
        return child_query(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--child-append"))
        return child_append(argv[2]);
    self_exe = "/proc/self/exe";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_commit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failing_append_isolated, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_append_from_threads, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_durable_reopen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_copy_semantics, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_append_only, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_retention, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_retention_chunks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_query_filters, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_query_stop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_killed_writer, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_second_process_reader, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_close_drains, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sync_mode, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_file_modes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_append_errors, fx_setup, fx_teardown),
        cmocka_unit_test(test_time_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
