/* Recovery read of a damaged queue database (issue 14): a row whose values are out of range
 * (disk fault, edit by hand, bug) must never crash the daemon nor lose the other messages. The
 * damaged message is held with a reason: at once in what the store reads back (index, listing,
 * envelope, all with values made safe), and durably once the writer has run. One case per kind
 * of damage; each damages the second of three messages directly in SQLite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <uv.h>

#include "message.h"
#include "mg_err.h"
#include "queue_store.h"

struct damage_case {
    const char *name;
    const char *sql;  /* ?1 = the damaged message's id */
    const char *what; /* expected reason after "damaged queue row: " (prefix of it) */
};

static const struct damage_case cases[] = {
    { "rcpt_state_out_of_range", "UPDATE rcpts SET state = 9 WHERE msg_id = ?1 AND idx = 0",
      "recipient state out of range" },
    { "rcpt_address_empty", "UPDATE rcpts SET addr = '' WHERE msg_id = ?1 AND idx = 1",
      "recipient " },
    { "priority_out_of_range", "UPDATE messages SET priority = 77 WHERE id = ?1",
      "priority out of range" },
    { "priority_negative", "UPDATE messages SET priority = -1 WHERE id = ?1",
      "priority out of range" },
    { "hold_flag_garbage", "UPDATE messages SET hold = -3 WHERE id = ?1", "hold flag out of range" },
    { "ret_out_of_range", "UPDATE messages SET ret = 12 WHERE id = ?1", "RET out of range" },
    { "content_type_out_of_range", "UPDATE messages SET content_type = 40 WHERE id = ?1",
      "content type out of range" },
    { "no_recipients", "DELETE FROM rcpts WHERE msg_id = ?1", "no recipients" },
};

struct fx {
    char dir[256];
    char path[300];
    char ids[3][MESSAGE_ID_SIZE];
    uv_loop_t loop;
};

static void on_done(void *arg, int status)
{
    int *left = arg;
    assert_int_equal(status, 0);
    (*left)--;
}

static void wait_left(uv_loop_t *loop, int *left)
{
    while (*left > 0)
        uv_run(loop, UV_RUN_ONCE);
}

static void close_store(struct fx *f, struct queue_store *s)
{
    queue_store_close(s);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* lets the async handle close */
}

/* Three messages with two recipients each. */
static void make_queue(struct fx *f)
{
    struct queue_store *s = NULL;
    assert_int_equal(queue_store_open(&s, &f->loop, f->path, NULL), 0);
    for (int k = 0; k < 3; k++) {
        struct message *m = message_create();
        assert_non_null(m);
        assert_int_equal(message_set_originator(m, "alice@example.org"), 0);
        assert_int_equal(message_add_rcpt(m, "bob@example.net", NULL, 0, NULL), 0);
        assert_int_equal(message_add_rcpt(m, "carol@example.net", NULL, 0, NULL), 0);
        int left = 1;
        assert_int_equal(queue_store_submit(s, m, "Subject: x\r\n\r\nx\r\n", 17, on_done, &left), 0);
        wait_left(&f->loop, &left);
        memcpy(f->ids[k], m->id, MESSAGE_ID_SIZE);
        message_free(m);
    }
    close_store(f, s);
}

static void damage(const struct fx *f, const char *sql, const char *id)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_true(sqlite3_changes(db) > 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

struct listing {
    const struct fx *f;
    int held[3];
    int seen[3];
    char reason[3][200];
};

static int list_cb(void *arg, const struct queue_store_summary *sm)
{
    struct listing *l = arg;
    for (int k = 0; k < 3; k++)
        if (!strcmp(sm->e.id, l->f->ids[k])) {
            l->seen[k] = 1;
            l->held[k] = sm->e.hold;
            snprintf(l->reason[k], sizeof l->reason[k], "%s", sm->hold_reason ? sm->hold_reason : "");
            assert_true(sm->e.priority <= MESSAGE_PRIORITY_MAX);
        }
    return 0;
}

static void expect_reason(const char *got, const struct damage_case *c)
{
    static const char prefix[] = "damaged queue row: ";
    if (strncmp(got, prefix, sizeof prefix - 1) != 0 ||
        strncmp(got + sizeof prefix - 1, c->what, strlen(c->what)) != 0)
        fail_msg("%s: reason \"%s\", want \"%s%s...\"", c->name, got, prefix, c->what);
}

static void run_case(const struct damage_case *c)
{
    struct fx f;
    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "%s/mg-queue-damaged-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(f.dir));
    snprintf(f.path, sizeof f.path, "%s/queue.db", f.dir);
    assert_int_equal(uv_loop_init(&f.loop), 0);
    make_queue(&f);
    damage(&f, c->sql, f.ids[1]);

    /* the start-up read: every message is in the index, the damaged one held */
    struct queue_store *s = NULL;
    assert_int_equal(queue_store_open(&s, &f.loop, f.path, NULL), 0);
    struct queue_store_index_entry *ix = NULL;
    size_t n = 0;
    assert_int_equal(queue_store_load_index_array(s, &ix, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        int k = !strcmp(ix[i].id, f.ids[0]) ? 0 : !strcmp(ix[i].id, f.ids[1]) ? 1 : 2;
        assert_string_equal(ix[i].id, f.ids[k]);
        assert_int_equal(ix[i].hold, k == 1);
        assert_true(ix[i].priority <= MESSAGE_PRIORITY_MAX);
    }
    free(ix);
    /* envelopes: the damaged one made safe and held with the reason, the others whole */
    for (int k = 0; k < 3; k++) {
        struct message *m = NULL;
        assert_int_equal(queue_store_get(s, f.ids[k], &m), 0);
        assert_true(m->priority >= MESSAGE_PRIORITY_MIN && m->priority <= MESSAGE_PRIORITY_MAX);
        assert_true((unsigned)m->ret <= MESSAGE_RET_FULL);
        assert_true((unsigned)m->content_type <= MESSAGE_CONTENT_OTHER);
        for (size_t i = 0; i < m->nrcpts; i++)
            assert_true((unsigned)m->rcpts[i].state < MESSAGE_RCPT_STATE_COUNT);
        if (k == 1) {
            assert_int_equal(m->hold, 1);
            assert_non_null(m->hold_reason);
            expect_reason(m->hold_reason, c);
        } else {
            assert_int_equal(m->hold, 0);
            assert_int_equal(m->nrcpts, 2);
        }
        message_free(m);
    }
    close_store(&f, s); /* the writer finishes the hold the index asked for */

    /* durable: a read-only open (as `mixgate queue list` does) lists it held with the reason */
    struct queue_store_opts ro = { .read_only = 1 };
    assert_int_equal(queue_store_open(&s, NULL, f.path, &ro), 0);
    struct listing l = { .f = &f };
    assert_int_equal(queue_store_list(s, NULL, list_cb, &l), 0);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(l.seen[k], 1);
        assert_int_equal(l.held[k], k == 1);
    }
    expect_reason(l.reason[1], c);
    assert_string_equal(l.reason[0], "");
    queue_store_close(s);

    uv_loop_close(&f.loop);
    char p[400];
    snprintf(p, sizeof p, "%s-wal", f.path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", f.path);
    unlink(p);
    unlink(f.path);
    rmdir(f.dir);
}

static void test_damaged_rows_are_held(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("[ case ] %s\n", cases[i].name);
        run_case(&cases[i]);
    }
}

/* A history row with NULL strings (the schema forbids them; a damaged file may not) is shown
 * with empty strings, never handed on as NULL. */
static int hist_cb(void *arg, const struct queue_store_history *h)
{
    int *n = arg;
    assert_non_null(h->id);
    assert_non_null(h->originator);
    assert_non_null(h->outcome);
    (*n)++;
    return 0;
}

static void test_history_null_strings(void **state)
{
    (void)state;
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/mg-queue-hist-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/queue.db", dir);
    struct queue_store *s = NULL;
    assert_int_equal(queue_store_open(&s, NULL, path, NULL), 0); /* creates the schema */
    queue_store_close(s);
    /* a history table without the NOT NULL constraints, as a damaged schema page could give */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "DROP TABLE history; CREATE TABLE history (seq INTEGER PRIMARY KEY, id TEXT,"
        " originator TEXT, arrival INTEGER, finished INTEGER, nrcpts INTEGER, ndelivered INTEGER,"
        " nfailed INTEGER, outcome TEXT); INSERT INTO history (seq) VALUES (1);",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct queue_store_opts ro = { .read_only = 1 };
    assert_int_equal(queue_store_open(&s, NULL, path, &ro), 0);
    int n = 0;
    assert_int_equal(queue_store_history(s, 0, hist_cb, &n), 0);
    assert_int_equal(n, 1);
    queue_store_close(s);
    char p[400];
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_rows_are_held),
        cmocka_unit_test(test_history_null_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
