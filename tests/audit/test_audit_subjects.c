/* Tests for the audit store's subjects (schema version 2): a certificate or label that many
 * records name is stored once and every record reads it back; retention deletes a subject
 * only when no record names it any more; subjects are append-only on a raw connection (an
 * insert of a stored subject cannot replace its bytes); a version 1 file (subjects inside the
 * records) is read as it is and migrated by the writer with its records intact; the file
 * grows by a record's size, not by its certificate's, when the certificate repeats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "audit.h"
#include "mg_err.h"

#include "audit_test_raw.h"

#define T0 1796637600000000LL /* 2026-12-07T10:00:00Z in microseconds */
#define SEC 1000000LL

struct fx {
    char dir[256];
    char path[300];
    struct audit *a;
    _Atomic int64_t now;
    unsigned char cert_a[1100], cert_b[900]; /* stand-ins for two certificates' DER */
};

static int64_t fx_clock(void *arg)
{
    struct fx *f = arg;
    return atomic_load(&f->now);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/mg-audit-subj-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/audit.db", f->dir);
    atomic_store(&f->now, T0);
    for (size_t i = 0; i < sizeof f->cert_a; i++)
        f->cert_a[i] = (unsigned char)(i * 7 + 1);
    for (size_t i = 0; i < sizeof f->cert_b; i++)
        f->cert_b[i] = (unsigned char)(i * 13 + 5);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->a)
        audit_close(f->a);
    rm_store(f->path, f->dir);
    free(f);
    return 0;
}

/* The store without a loop: appends are applied in the calling thread. */
static int fx_open(struct fx *f, int64_t retention_s)
{
    struct audit_opts o = { .retention_s = retention_s, .clock_us = fx_clock, .clock_arg = f };
    return audit_open(&f->a, NULL, f->path, &o);
}

static void fx_close(struct fx *f)
{
    audit_close(f->a);
    f->a = NULL;
}

static struct audit_record cert_rec(int64_t t, const char *qid, const char *dec,
                                    const unsigned char *cert, size_t len)
{
    return (struct audit_record){ .time_us = t, .qid = qid, .channel = "protect",
                                  .decision = dec, .reason = "test",
                                  .subject_kind = cert ? "cert" : "", .subject = cert,
                                  .subject_len = cert ? len : 0,
                                  .summary = cert ? "/CN=test" : "" };
}

/* What a query gave back, by qid. */
struct seen {
    size_t n;
    char qid[16][16];
    char kind[16][16];
    size_t len[16];
    int same_a[16], same_b[16];
    const struct fx *f;
};

static int collect(void *arg, const struct audit_entry *e)
{
    struct seen *s = arg;
    if (s->n < 16) {
        snprintf(s->qid[s->n], sizeof s->qid[0], "%s", e->r.qid);
        snprintf(s->kind[s->n], sizeof s->kind[0], "%s", e->r.subject_kind);
        s->len[s->n] = e->r.subject_len;
        s->same_a[s->n] = e->r.subject_len == sizeof s->f->cert_a &&
                          !memcmp(e->r.subject, s->f->cert_a, sizeof s->f->cert_a);
        s->same_b[s->n] = e->r.subject_len == sizeof s->f->cert_b &&
                          !memcmp(e->r.subject, s->f->cert_b, sizeof s->f->cert_b);
    }
    s->n++;
    return 0;
}

static size_t find(const struct seen *s, const char *qid)
{
    for (size_t i = 0; i < s->n && i < 16; i++)
        if (!strcmp(s->qid[i], qid))
            return i;
    fail_msg("no record %s", qid);
    return 0;
}

/* One integer from a raw connection (the store may be open beside it). */
static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Three records name certificate A, one B, one none: two subjects are stored, no record holds
 * the bytes itself, and every record reads back its own subject. */
static void test_stored_once(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 0), 0);
    struct audit_record r[5] = {
        cert_rec(T0, "Q1", "encrypted", f->cert_a, sizeof f->cert_a),
        cert_rec(T0, "Q2", "encrypted", f->cert_a, sizeof f->cert_a),
        cert_rec(T0, "Q3", "signature-verified", f->cert_b, sizeof f->cert_b),
        cert_rec(T0, "Q4", "signed", NULL, 0),
    };
    assert_int_equal(audit_append(f->a, r, 4, NULL, NULL), 0);
    r[4] = cert_rec(T0 + SEC, "Q5", "encrypted", f->cert_a, sizeof f->cert_a);
    assert_int_equal(audit_append(f->a, &r[4], 1, NULL, NULL), 0);

    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM subjects"), 2);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM records WHERE subject IS NOT NULL"), 0);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM records"
                                      " WHERE subject_sha256 IS NOT NULL"), 4);
    /* the first record's time is the subject's */
    assert_true(raw_int(f->path, "SELECT MAX(time_us) FROM subjects") == T0);

    struct seen s = { .f = f };
    assert_int_equal(audit_query(f->a, NULL, collect, &s), 0);
    assert_int_equal(s.n, 5);
    assert_true(s.same_a[find(&s, "Q1")]);
    assert_true(s.same_a[find(&s, "Q2")]);
    assert_true(s.same_a[find(&s, "Q5")]);
    assert_true(s.same_b[find(&s, "Q3")]);
    assert_string_equal(s.kind[find(&s, "Q3")], "cert");
    assert_int_equal(s.len[find(&s, "Q4")], 0);
    assert_string_equal(s.kind[find(&s, "Q4")], "");
    /* a reader in another handle (as `mixgate audit`) reads the same */
    struct seen s2 = { .f = f };
    assert_int_equal(audit_query_path(f->path, NULL, collect, &s2), 0);
    assert_int_equal(s2.n, 5);
    assert_true(s2.same_b[find(&s2, "Q3")]);
}

/* Retention at open deletes the old records, then the subject only they named (B); A stays,
 * a newer record still names it. Later, when that record goes too, so does A. */
static void test_retention(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 0), 0);
    struct audit_record r[3] = {
        cert_rec(T0 - 7200 * SEC, "OLD-A", "encrypted", f->cert_a, sizeof f->cert_a),
        cert_rec(T0 - 7200 * SEC, "OLD-B", "signature-verified", f->cert_b, sizeof f->cert_b),
        cert_rec(T0 - 10 * SEC, "NEW-A", "encrypted", f->cert_a, sizeof f->cert_a),
    };
    assert_int_equal(audit_append(f->a, r, 3, NULL, NULL), 0);
    fx_close(f);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM subjects"), 2);

    assert_int_equal(fx_open(f, 3600), 0);
    struct audit_stats st;
    audit_get_stats(f->a, &st);
    assert_int_equal(st.pruned, 2);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM subjects"), 1);
    struct seen s = { .f = f };
    assert_int_equal(audit_query(f->a, NULL, collect, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.qid[0], "NEW-A");
    assert_true(s.same_a[0]);
    fx_close(f);

    /* two hours on: the last record ages out, and with it the subject */
    atomic_store(&f->now, T0 + 7200 * SEC);
    assert_int_equal(fx_open(f, 3600), 0);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM records"), 0);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM subjects"), 0);
}

/* A raw connection can neither change nor delete a subject, and inserting one already stored
 * (a REPLACE too) leaves its bytes as they were. */
static void test_append_only(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 3600), 0);
    struct audit_record r = cert_rec(T0 - 10 * 3600 * SEC, "Q", "encrypted", f->cert_a,
                                     sizeof f->cert_a);
    assert_int_equal(audit_append(f->a, &r, 1, NULL, NULL), 0);
    static const struct {
        const char *name, *sql, *msg;
    } refused[] = {
        { "update", "UPDATE subjects SET data = x'00'", "append-only" },
        { "delete", "DELETE FROM subjects", "mixgate_audit_may_delete" },
    };
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
            char err[256];
            int rc = raw_exec(f->path, refused[i].sql, err, sizeof err);
            print_message("%s (store %s): %d %s\n", refused[i].name, pass ? "closed" : "open",
                          rc, err);
            assert_int_not_equal(rc, SQLITE_OK);
            assert_non_null(strstr(err, refused[i].msg));
        }
        char err[256];
        assert_int_equal(raw_exec(f->path, "INSERT OR REPLACE INTO subjects (sha256, time_us, data)"
                                           " SELECT sha256, 0, x'00' FROM subjects", err, sizeof err),
                         SQLITE_OK);
        assert_int_equal(raw_exec(f->path, "INSERT INTO subjects (sha256, time_us, data)"
                                           " SELECT sha256, 0, x'00' FROM subjects", err, sizeof err),
                         SQLITE_OK);
        assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM subjects"), 1);
        assert_int_equal(raw_int(f->path, "SELECT length(data) FROM subjects"),
                         (long long)sizeof f->cert_a);
        if (pass == 0)
            fx_close(f);
    }
    struct seen s = { .f = f };
    assert_int_equal(audit_query_path(f->path, NULL, collect, &s), 0);
    assert_int_equal(s.n, 1);
    assert_true(s.same_a[0]);
}

/* The schema of version 1, as that version wrote it (the function in the trigger is defined
 * on the writer's connection only; a raw connection can create the file regardless). */
static const char v1_sql[] =
    "CREATE TABLE records (seq INTEGER PRIMARY KEY AUTOINCREMENT, time_us INTEGER NOT NULL,"
    " qid TEXT NOT NULL, rcpt TEXT NOT NULL, channel TEXT NOT NULL, decision TEXT NOT NULL,"
    " reason TEXT NOT NULL, subject_kind TEXT NOT NULL, subject BLOB, summary TEXT NOT NULL);"
    "CREATE INDEX records_time ON records (time_us, seq);"
    "CREATE INDEX records_qid ON records (qid, time_us);"
    "CREATE INDEX records_rcpt ON records (rcpt COLLATE NOCASE, time_us);"
    "CREATE TRIGGER records_no_update BEFORE UPDATE ON records"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
    "CREATE TRIGGER records_no_delete BEFORE DELETE ON records"
    " WHEN NOT mixgate_audit_may_delete(OLD.time_us)"
    " BEGIN SELECT RAISE(ABORT, 'audit records are deleted only by retention'); END;"
    "CREATE TRIGGER records_no_replace BEFORE INSERT ON records"
    " WHEN EXISTS (SELECT 1 FROM records WHERE seq = NEW.seq)"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
    "PRAGMA journal_mode=WAL;"
    "PRAGMA user_version=1;";

/* A version 1 file: a reader reads its records' subjects where they are; the writer migrates
 * it (version 2) and the old record still reads back, beside new ones that store the same
 * certificate once in subjects. A file of an unknown later version is refused. */
static void test_version1_file(void **state)
{
    struct fx *f = *state;
    char err[256];
    assert_int_equal(raw_exec(f->path, v1_sql, err, sizeof err), SQLITE_OK);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO records (time_us, qid, rcpt, channel,"
                                            " decision, reason, subject_kind, subject, summary)"
                                            " VALUES (?, 'V1', '', 'protect', 'encrypted', '',"
                                            " 'cert', ?, '/CN=old')", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, T0 - 60 * SEC);
    sqlite3_bind_blob(st, 2, f->cert_a, sizeof f->cert_a, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    chmod(f->path, 0600);

    struct seen s = { .f = f };
    assert_int_equal(audit_query_path(f->path, NULL, collect, &s), 0);
    assert_int_equal(s.n, 1);
    assert_true(s.same_a[0]);
    assert_string_equal(s.kind[0], "cert");

    assert_int_equal(fx_open(f, 0), 0);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 2);
    struct audit_record r[2] = {
        cert_rec(T0, "V2", "encrypted", f->cert_a, sizeof f->cert_a),
        cert_rec(T0, "V2B", "encrypted", f->cert_a, sizeof f->cert_a),
    };
    assert_int_equal(audit_append(f->a, r, 2, NULL, NULL), 0);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM subjects"), 1);
    struct seen s2 = { .f = f };
    assert_int_equal(audit_query(f->a, NULL, collect, &s2), 0);
    assert_int_equal(s2.n, 3);
    assert_true(s2.same_a[find(&s2, "V1")]);
    assert_true(s2.same_a[find(&s2, "V2")]);
    assert_true(s2.same_a[find(&s2, "V2B")]);
    fx_close(f);

    /* a version this code does not know: neither written nor read */
    assert_int_equal(raw_exec(f->path, "PRAGMA user_version=3", err, sizeof err), SQLITE_OK);
    assert_int_equal(fx_open(f, 0), MG_EDB);
    assert_int_equal(audit_query_path(f->path, NULL, collect, &(struct seen){ .f = f }), MG_EDB);
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* 2,000 records that name the same 1.1 KB certificate: the file (checkpointed at close) holds
 * the certificate once; with the bytes in every record it would hold 2.2 MB of them. */
static void test_file_growth(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open(f, 0), 0);
    char qid[16];
    struct audit_record r[100];
    for (int b = 0; b < 20; b++) {
        for (int i = 0; i < 100; i++) {
            snprintf(qid, sizeof qid, "Q%d", b * 100 + i);
            r[i] = cert_rec(T0 + b * 100 + i, qid, "encrypted", f->cert_a, sizeof f->cert_a);
        }
        assert_int_equal(audit_append(f->a, r, 100, NULL, NULL), 0);
    }
    fx_close(f);
    char wal[320];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    long long size = file_size(f->path) + file_size(wal);
    print_message("2000 records naming one certificate: %lld bytes\n", size);
    assert_true(size < 2000LL * (long long)sizeof f->cert_a / 4);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM subjects"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version1_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_growth, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
