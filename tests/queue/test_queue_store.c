/* Tests for mta/queue_store: round trip, restart recovery (clean close and SIGKILL), group
 * commit, recipient state transitions, hold/release, listing, delete/finish with history,
 * streaming content reads, synchronous and read-only modes, and error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <uv.h>

#include "message.h"
#include "mg_err.h"
#include "queue_store.h"

struct fx {
    char dir[256];
    char path[300];
    uv_loop_t loop;
    struct queue_store *s;
};

static void rm_store_files(const struct fx *f)
{
    static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
    char p[320];
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof(f->dir), "%s/mg-queue-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/queue.db", f->dir);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, NULL), 0);
    *state = f;
    return 0;
}

static void fx_close_store(struct fx *f)
{
    queue_store_close(f->s);
    f->s = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT); /* lets the async handle close */
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (f->s)
        fx_close_store(f);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    rm_store_files(f);
    free(f);
    return 0;
}

struct waiter {
    int done;
    int status;
    int nfail;
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

/* Deterministic content for message number seq: a header, then a pattern. */
static void fill_content(unsigned seq, unsigned char *c, size_t len)
{
    int h = snprintf((char *)c, len + 1, "Subject: message %u\r\n\r\n", seq);
    for (size_t i = (size_t)h < len ? (size_t)h : len; i < len; i++)
        c[i] = (unsigned char)('a' + (i * 7 + seq) % 26);
}

static unsigned char *make_content(unsigned seq, size_t len)
{
    unsigned char *c = malloc(len + 1);
    assert_non_null(c);
    fill_content(seq, c, len);
    return c;
}

static struct message *make_msg(unsigned seq, unsigned nrcpts)
{
    struct message *m = message_create();
    assert_non_null(m);
    char buf[64];
    snprintf(buf, sizeof(buf), "sender%u@example.org", seq);
    assert_int_equal(message_set_originator(m, buf), 0);
    snprintf(buf, sizeof(buf), "seq-%u", seq);
    assert_int_equal(message_set_envid(m, buf), 0);
    m->priority = (int)(seq % 6);
    for (unsigned i = 0; i < nrcpts; i++) {
        snprintf(buf, sizeof(buf), "rcpt%u.%u@example.net", seq, i);
        assert_int_equal(message_add_rcpt(m, buf, NULL, 0, NULL), 0);
    }
    return m;
}

static int submit_wait(struct fx *f, struct message *m, const void *c, size_t len)
{
    struct waiter w = { 0 };
    int rc = queue_store_submit(f->s, m, c, len, on_done, &w);
    if (rc != 0)
        return rc;
    wait_for(&f->loop, &w, 1);
    return w.status;
}

static void check_content(struct queue_store *s, const char *id, const unsigned char *c,
                          size_t len)
{
    unsigned char *got = NULL;
    size_t glen = 0;
    assert_int_equal(queue_store_read_content(s, id, &got, &glen), 0);
    assert_int_equal(glen, len);
    if (len)
        assert_memory_equal(got, c, len);
    free(got);
}

/* ---------------------------------------------------------------------------- round trip */

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *name;
        unsigned nrcpts;
        size_t content_len;
        int null_sender, label, dsn_params, hold, priority;
        enum message_content_type type;
    } cases[] = {
        { "one rcpt, small", 1, 100, 0, 0, 0, 0, 1, MESSAGE_CONTENT_RFC5322 },
        { "null sender", 2, 2000, 1, 0, 0, 0, 0, MESSAGE_CONTENT_RFC5322 },
        { "label and dsn params", 3, 4096, 0, 1, 1, 0, 5, MESSAGE_CONTENT_RFC5322 },
        { "held on arrival", 1, 10, 0, 0, 0, 1, 3, MESSAGE_CONTENT_RFC5322 },
        { "x400 content, large", 2, 3u << 20, 0, 1, 0, 0, 4, MESSAGE_CONTENT_X400_P22 },
        { "empty content", 1, 0, 0, 0, 0, 0, 2, MESSAGE_CONTENT_RFC5322 },
        { "many rcpts", 200, 500, 0, 0, 1, 0, 1, MESSAGE_CONTENT_RFC5322 },
    };
    for (unsigned ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        struct message *m = make_msg(ci, cases[ci].nrcpts);
        if (cases[ci].null_sender)
            assert_int_equal(message_set_originator(m, NULL), 0);
        if (cases[ci].label)
            assert_int_equal(message_set_label(m, "\x31\x03\x02\x01\x05\x00\xff", 7), 0);
        if (cases[ci].hold)
            assert_int_equal(message_set_hold(m, 1, "awaiting label review"), 0);
        if (cases[ci].dsn_params) {
            m->ret = MESSAGE_RET_FULL;
            for (size_t i = 0; i < m->nrcpts; i++) {
                m->rcpts[i].notify = MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_DELAY;
                assert_int_equal(message_rcpt_set_str(&m->rcpts[i].orcpt, "rfc822;o+2Bx@y"), 0);
                assert_int_equal(message_rcpt_set_route(&m->rcpts[i], "r1", "cms,smtp", "mx"), 0);
            }
        }
        m->priority = cases[ci].priority;
        m->content_type = cases[ci].type;
        m->expire_at = 1234567 + ci;
        if (cases[ci].type == MESSAGE_CONTENT_X400_P22) {
            /* X.400: an O/R recipient, the MTS identifier, content type and envelope. */
            assert_int_equal(message_set_x400(m, "[C=GB;ADMD= ;PRMD=X]abc", "2.6.1.10.1",
                                              "\x31\x80\x00\x00", 4), 0);
            assert_int_equal(message_rcpt_set_str(&m->rcpts[0].addr, "/C=GB/ADMD= /PRMD=X/S=Y/"), 0);
            m->rcpts[0].kind = MESSAGE_ADDR_ORADDR;
        }
        assert_int_equal(message_set_received(m, "client.example [192.0.2.7]", "ESMTPS"), 0);
        unsigned char *c = make_content(ci, cases[ci].content_len);
        int rc = submit_wait(f, m, c, cases[ci].content_len);
        if (rc != 0)
            fail_msg("case %s: submit %d", cases[ci].name, rc);
        assert_true(message_id_valid(m->id));
        assert_true(m->arrival > 0);

        struct message *g = NULL;
        assert_int_equal(queue_store_get(f->s, m->id, &g), 0);
        assert_string_equal(g->id, m->id);
        assert_string_equal(g->originator, m->originator);
        assert_string_equal(g->envid, m->envid);
        assert_int_equal(g->ret, m->ret);
        assert_int_equal(g->priority, m->priority);
        assert_int_equal(g->arrival, m->arrival);
        assert_int_equal(g->expire_at, m->expire_at);
        assert_string_equal(g->received_from, "client.example [192.0.2.7]");
        assert_string_equal(g->received_proto, "ESMTPS");
        assert_int_equal(g->hold, m->hold);
        if (m->hold)
            assert_string_equal(g->hold_reason, m->hold_reason);
        assert_int_equal(g->label_len, m->label_len);
        if (m->label_len)
            assert_memory_equal(g->label, m->label, m->label_len);
        assert_int_equal(g->content_type, m->content_type);
        assert_int_equal(g->content_size, cases[ci].content_len);
        if (m->mts_id) {
            assert_string_equal(g->mts_id, m->mts_id);
            assert_string_equal(g->content_oid, m->content_oid);
            assert_int_equal(g->x400_env_len, 4);
            assert_memory_equal(g->x400_env, "\x31\x80\x00\x00", 4);
        } else {
            assert_null(g->mts_id);
            assert_null(g->x400_env);
        }
        assert_int_equal(g->nrcpts, m->nrcpts);
        for (size_t i = 0; i < m->nrcpts; i++) {
            assert_string_equal(g->rcpts[i].addr, m->rcpts[i].addr);
            assert_int_equal(g->rcpts[i].kind, m->rcpts[i].kind);
            assert_int_equal(g->rcpts[i].notify, m->rcpts[i].notify);
            assert_int_equal(g->rcpts[i].state, MESSAGE_RCPT_PENDING);
            if (m->rcpts[i].orcpt) {
                assert_string_equal(g->rcpts[i].orcpt, m->rcpts[i].orcpt);
                assert_string_equal(g->rcpts[i].chain, "cms,smtp");
                assert_string_equal(g->rcpts[i].peer, "mx");
            } else {
                assert_null(g->rcpts[i].orcpt);
                assert_null(g->rcpts[i].route);
            }
        }
        check_content(f->s, m->id, c, cases[ci].content_len);

        /* streaming read in odd-sized pieces gives the same bytes */
        struct queue_store_content *sc = NULL;
        uint64_t size = 0;
        assert_int_equal(queue_store_content_open(f->s, m->id, &sc, &size), 0);
        assert_int_equal(size, cases[ci].content_len);
        unsigned char piece[7777];
        uint64_t off = 0;
        for (;;) {
            size_t got = 0;
            assert_int_equal(queue_store_content_read(sc, off, piece, sizeof(piece), &got), 0);
            if (got == 0)
                break;
            assert_memory_equal(piece, c + off, got);
            off += got;
        }
        assert_int_equal(off, cases[ci].content_len);
        queue_store_content_close(sc);

        message_free(g);
        message_free(m);
        free(c);
    }
}

/* ---------------------------------------------------------------------------- restart */

static void test_restart_recovery(void **state)
{
    struct fx *f = *state;
    char ids[3][MESSAGE_ID_SIZE];
    for (unsigned i = 0; i < 3; i++) {
        struct message *m = make_msg(i, 2);
        unsigned char *c = make_content(i, 1000 + i);
        assert_int_equal(submit_wait(f, m, c, 1000 + i), 0);
        memcpy(ids[i], m->id, MESSAGE_ID_SIZE);
        message_free(m);
        free(c);
    }
    struct queue_store_rcpt_update u = { .rcpt = 1, .state = MESSAGE_RCPT_DEFERRED,
                                         .counts_attempt = 1, .next_attempt = 5000,
                                         .reply = "451 4.4.1 try later", .status = "4.4.1",
                                         .remote_mta = "mx.example.net" };
    struct waiter w = { 0 };
    assert_int_equal(queue_store_update_rcpts(f->s, ids[1], &u, 1, 4000, on_done, &w), 0);
    wait_for(&f->loop, &w, 1);
    assert_int_equal(w.status, 0);
    fx_close_store(f);

    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, NULL), 0);
    struct queue_store_index_entry *ix = NULL;
    size_t n = 0;
    assert_int_equal(queue_store_load_index_array(f->s, &ix, &n), 0);
    assert_int_equal(n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_string_equal(ix[i].id, ids[i]); /* id order = arrival order */
        assert_int_equal(ix[i].nrcpts, 2);
        assert_int_equal(ix[i].priority, i % 6);
    }
    assert_int_equal(ix[1].npending, 1);
    assert_int_equal(ix[1].ndeferred, 1);
    assert_int_equal(ix[1].next_attempt, 0); /* one recipient is still pending: now */
    free(ix);
    struct message *g = NULL;
    assert_int_equal(queue_store_get(f->s, ids[1], &g), 0);
    assert_int_equal(g->rcpts[1].state, MESSAGE_RCPT_DEFERRED);
    assert_int_equal(g->rcpts[1].attempts, 1);
    assert_int_equal(g->rcpts[1].last_attempt, 4000);
    assert_int_equal(g->rcpts[1].next_attempt, 5000);
    assert_string_equal(g->rcpts[1].last_reply, "451 4.4.1 try later");
    assert_string_equal(g->rcpts[1].status, "4.4.1");
    assert_string_equal(g->rcpts[1].remote_mta, "mx.example.net");
    message_free(g);
    unsigned char *c = make_content(2, 1002);
    check_content(f->s, ids[2], c, 1002);
    free(c);
}

/* A child process submits (8 in flight) and reports every completed id on a pipe; it is killed
 * with SIGKILL mid-stream. Afterwards every reported message is complete, and every message
 * present at all is complete (never half written). */
#define KILL_RCPTS 3
#define KILL_INFLIGHT 8
#define KILL_REPORTS 150

struct child {
    struct queue_store *s;
    int fd;
    unsigned next;
    struct slot {
        struct child *c;
        struct message *m;
        unsigned char *content;
        unsigned seq;
    } slots[KILL_INFLIGHT];
};

static size_t kill_len(unsigned seq)
{
    return 500 + (seq * 37) % 5000;
}

static void child_submit(struct slot *sl);

static void child_done(void *arg, int status)
{
    struct slot *sl = arg;
    char line[64];
    int n = snprintf(line, sizeof(line), "%u %s %d\n", sl->seq, sl->m->id, status);
    if (write(sl->c->fd, line, (size_t)n) != n)
        _exit(3);
    message_free(sl->m);
    free(sl->content);
    child_submit(sl);
}

static void child_submit(struct slot *sl)
{
    sl->seq = sl->c->next++;
    sl->m = make_msg(sl->seq, KILL_RCPTS);
    sl->content = make_content(sl->seq, kill_len(sl->seq));
    if (queue_store_submit(sl->c->s, sl->m, sl->content, kill_len(sl->seq), child_done, sl) != 0)
        _exit(4);
}

static void child_main(const char *path, int fd)
{
    uv_loop_t loop;
    struct child c = { .fd = fd };
    if (uv_loop_init(&loop) != 0 || queue_store_open(&c.s, &loop, path, NULL) != 0)
        _exit(2);
    for (int i = 0; i < KILL_INFLIGHT; i++) {
        c.slots[i].c = &c;
        child_submit(&c.slots[i]);
    }
    /* runs until the parent kills us; a bound in case the parent went away */
    for (int i = 0; i < 1000000; i++)
        uv_run(&loop, UV_RUN_ONCE);
    _exit(5);
}

static void check_complete(struct queue_store *s, const char *id, unsigned *seq_out)
{
    struct message *g = NULL;
    assert_int_equal(queue_store_get(s, id, &g), 0);
    unsigned seq = 0;
    assert_int_equal(sscanf(g->envid, "seq-%u", &seq), 1);
    assert_int_equal(g->nrcpts, KILL_RCPTS);
    assert_int_equal(g->content_size, kill_len(seq));
    unsigned char *c = make_content(seq, kill_len(seq));
    check_content(s, id, c, kill_len(seq));
    free(c);
    message_free(g);
    *seq_out = seq;
}

static void test_restart_after_sigkill(void **state)
{
    struct fx *f = *state;
    fx_close_store(f); /* the child owns the queue now */
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_main(f->path, p[1]);
    }
    close(p[1]);
    FILE *in = fdopen(p[0], "r");
    assert_non_null(in);
    char(*ids)[MESSAGE_ID_SIZE] = calloc(KILL_REPORTS, MESSAGE_ID_SIZE);
    unsigned *seqs = calloc(KILL_REPORTS, sizeof(*seqs));
    assert_non_null(ids);
    assert_non_null(seqs);
    int got = 0;
    char line[128];
    while (got < KILL_REPORTS && fgets(line, sizeof(line), in)) {
        int status = -100;
        assert_int_equal(sscanf(line, "%u %15s %d", &seqs[got], ids[got], &status), 3);
        assert_int_equal(status, 0);
        got++;
    }
    kill(pid, SIGKILL);
    int wst = 0;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    fclose(in);
    assert_int_equal(got, KILL_REPORTS);
    assert_true(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);

    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, NULL), 0);
    for (int i = 0; i < got; i++) {
        unsigned seq = 0;
        check_complete(f->s, ids[i], &seq);
        assert_int_equal(seq, seqs[i]);
    }
    struct queue_store_index_entry *ix = NULL;
    size_t n = 0;
    assert_int_equal(queue_store_load_index_array(f->s, &ix, &n), 0);
    assert_true(n >= (size_t)got);
    for (size_t i = 0; i < n; i++) {
        unsigned seq;
        assert_int_equal(ix[i].nrcpts, KILL_RCPTS);
        assert_int_equal(ix[i].npending, KILL_RCPTS);
        check_complete(f->s, ix[i].id, &seq);
    }
    free(ix);
    free(ids);
    free(seqs);
}

/* ---------------------------------------------------------------------------- group commit */

static void test_group_commit(void **state)
{
    struct fx *f = *state;
    enum { N = 1000, LEN = 4096 };
    struct message **ms = calloc(N, sizeof(*ms));
    assert_non_null(ms);
    unsigned char *c = make_content(0, LEN);
    struct waiter w = { 0 };
    struct queue_store_stats before, after;
    queue_store_get_stats(f->s, &before);
    for (unsigned i = 0; i < N; i++) {
        ms[i] = make_msg(i, 1);
        assert_int_equal(queue_store_submit(f->s, ms[i], c, LEN, on_done, &w), 0);
    }
    wait_for(&f->loop, &w, N);
    assert_int_equal(w.nfail, 0);
    queue_store_get_stats(f->s, &after);
    uint64_t commits = after.commits - before.commits;
    print_message("group commit: %d submissions of %d bytes in %llu commits (max batch %llu)\n",
                  N, LEN, (unsigned long long)commits, (unsigned long long)after.max_batch);
    assert_true(commits >= 1);
    assert_true(commits <= N / 20);
    assert_int_equal(after.writes - before.writes, N);
    struct queue_store_index_entry *ix = NULL;
    size_t n = 0;
    assert_int_equal(queue_store_load_index_array(f->s, &ix, &n), 0);
    assert_int_equal(n, N);
    free(ix);
    for (unsigned i = 0; i < N; i++)
        message_free(ms[i]);
    free(ms);
    free(c);
}

/* 64 "sessions", each submitting its next message when the previous one is durable (like SMTP
 * clients waiting for 250): the writer still shares each fsync among the sessions waiting. */
struct session_run {
    struct queue_store *s;
    unsigned char *content;
    unsigned next, total, done, failed;
    struct session {
        struct session_run *run;
        struct message *m;
    } sess[64];
};

static void session_done(void *arg, int status);

static void session_start(struct session *se)
{
    struct session_run *r = se->run;
    se->m = make_msg(r->next++, 1);
    if (queue_store_submit(r->s, se->m, r->content, 4096, session_done, se) != 0)
        r->failed++;
}

static void session_done(void *arg, int status)
{
    struct session *se = arg;
    struct session_run *r = se->run;
    r->done++;
    if (status != 0)
        r->failed++;
    message_free(se->m);
    se->m = NULL;
    if (r->next < r->total)
        session_start(se);
}

static void test_group_commit_sessions(void **state)
{
    struct fx *f = *state;
    struct session_run r = { .s = f->s, .total = 1000 };
    r.content = make_content(1, 4096);
    struct queue_store_stats before, after;
    queue_store_get_stats(f->s, &before);
    for (int i = 0; i < 64; i++) {
        r.sess[i].run = &r;
        session_start(&r.sess[i]);
    }
    while (r.done < r.total)
        uv_run(&f->loop, UV_RUN_ONCE);
    queue_store_get_stats(f->s, &after);
    uint64_t commits = after.commits - before.commits;
    print_message("group commit: 64 sessions, %u submissions in %llu commits\n", r.total,
                  (unsigned long long)commits);
    assert_int_equal(r.failed, 0);
    assert_true(commits <= r.total / 4);
    free(r.content);
}

/* One failing write in a batch (a duplicate id) does not undo the others of the batch. */
static void test_batch_isolation(void **state)
{
    struct fx *f = *state;
    struct message *a = make_msg(1, 1), *dup = make_msg(2, 1), *b = make_msg(3, 1);
    struct waiter wa = { 0 }, wd = { 0 }, wb = { 0 };
    assert_int_equal(submit_wait(f, a, "x", 1), 0);
    memcpy(dup->id, a->id, MESSAGE_ID_SIZE);
    assert_int_equal(queue_store_submit(f->s, dup, "y", 1, on_done, &wd), 0);
    assert_int_equal(queue_store_submit(f->s, b, "z", 1, on_done, &wb), 0);
    wait_for(&f->loop, &wd, 1);
    wait_for(&f->loop, &wb, 1);
    assert_int_equal(wd.status, MG_EEXIST);
    assert_int_equal(wb.status, 0);
    check_content(f->s, a->id, (const unsigned char *)"x", 1);
    check_content(f->s, b->id, (const unsigned char *)"z", 1);
    (void)wa;
    message_free(a);
    message_free(dup);
    message_free(b);
}

/* Reads from another thread while the loop submits and the writer commits: every read sees a
 * committed message whole (same content it was submitted with) and nothing fails. */
struct reader {
    struct queue_store *s;
    _Atomic int stop;
    int reads, errors;
};

static int reader_index_cb(void *arg, const struct queue_store_index_entry *e)
{
    struct reader *r = arg;
    unsigned char *c = NULL;
    size_t len = 0;
    struct message *g = NULL;
    if (queue_store_get(r->s, e->id, &g) != 0 || g->nrcpts != 2 ||
        queue_store_read_content(r->s, e->id, &c, &len) != 0 || len != g->content_size)
        r->errors++;
    else {
        unsigned seq = 0;
        unsigned char *want = NULL;
        /* no cmocka asserts on this thread: count errors, the main thread checks them */
        want = malloc(len + 1);
        if (!want || sscanf(g->envid, "seq-%u", &seq) != 1)
            r->errors++;
        else {
            fill_content(seq, want, len);
            if (memcmp(want, c, len) != 0)
                r->errors++;
        }
        free(want);
    }
    r->reads++;
    free(c);
    message_free(g);
    return 0;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    while (!r->stop)
        if (queue_store_load_index(r->s, reader_index_cb, r) != 0)
            r->errors++;
    return NULL;
}

static void test_concurrent_reads(void **state)
{
    struct fx *f = *state;
    enum { N = 300 };
    struct reader rd = { .s = f->s };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &rd), 0);
    struct message *ms[N];
    unsigned char *cs[N];
    struct waiter w = { 0 };
    for (unsigned i = 0; i < N; i++) {
        ms[i] = make_msg(i, 2);
        cs[i] = make_content(i, 100 + i * 13);
        assert_int_equal(queue_store_submit(f->s, ms[i], cs[i], 100 + i * 13, on_done, &w), 0);
        if (i % 10 == 9)
            wait_for(&f->loop, &w, (int)i + 1); /* many small batches */
    }
    wait_for(&f->loop, &w, N);
    rd.stop = 1;
    pthread_join(th, NULL);
    assert_int_equal(w.nfail, 0);
    assert_int_equal(rd.errors, 0);
    assert_true(rd.reads > 0);
    for (unsigned i = 0; i < N; i++) {
        message_free(ms[i]);
        free(cs[i]);
    }
}

/* ---------------------------------------------------------------------------- transitions */

static int update_wait(struct fx *f, const char *id, const struct queue_store_rcpt_update *u,
                       size_t n, int64_t when)
{
    struct waiter w = { 0 };
    int rc = queue_store_update_rcpts(f->s, id, u, n, when, on_done, &w);
    if (rc != 0)
        return rc;
    wait_for(&f->loop, &w, 1);
    return w.status;
}

static int simple_wait(struct fx *f, int (*fn)(struct queue_store *, const char *,
                                               queue_store_cb, void *), const char *id)
{
    struct waiter w = { 0 };
    int rc = fn(f->s, id, on_done, &w);
    if (rc != 0)
        return rc;
    wait_for(&f->loop, &w, 1);
    return w.status;
}

static int index_one(void *arg, const struct queue_store_index_entry *e)
{
    struct queue_store_index_entry *out = arg;
    *out = *e;
    return 0;
}

static void test_state_transitions(void **state)
{
    struct fx *f = *state;
    struct message *m = make_msg(9, 3);
    assert_int_equal(submit_wait(f, m, "body", 4), 0);
    /* Each step: updates, then expected states, attempts, index next_attempt, finish result. */
    static const struct {
        const char *name;
        struct queue_store_rcpt_update u[3];
        size_t nu;
        int64_t when;
        enum message_rcpt_state expect[3];
        uint32_t attempts[3];
        int64_t next_attempt;
        int finish_rc;
    } steps[] = {
        { "all deferred",
          { { .rcpt = 0, .state = MESSAGE_RCPT_DEFERRED, .counts_attempt = 1, .next_attempt = 300,
              .reply = "421 busy" },
            { .rcpt = 1, .state = MESSAGE_RCPT_DEFERRED, .counts_attempt = 1, .next_attempt = 200 },
            { .rcpt = 2, .state = MESSAGE_RCPT_DEFERRED, .counts_attempt = 1, .next_attempt = 400 } },
          3, 100,
          { MESSAGE_RCPT_DEFERRED, MESSAGE_RCPT_DEFERRED, MESSAGE_RCPT_DEFERRED }, { 1, 1, 1 },
          200, MG_ESTATE },
        { "one delivered",
          { { .rcpt = 1, .state = MESSAGE_RCPT_DELIVERED, .counts_attempt = 1,
              .reply = "250 ok", .status = "2.0.0", .remote_mta = "mx1" } },
          1, 200,
          { MESSAGE_RCPT_DEFERRED, MESSAGE_RCPT_DELIVERED, MESSAGE_RCPT_DEFERRED }, { 1, 2, 1 },
          300, MG_ESTATE },
        { "one failed, one rerouted",
          { { .rcpt = 0, .state = MESSAGE_RCPT_FAILED, .counts_attempt = 1,
              .reply = "550 5.1.1 unknown", .status = "5.1.1",
              .flags_set = MESSAGE_RCPT_F_REPORTED },
            { .rcpt = 2, .state = MESSAGE_RCPT_DEFERRED, .counts_attempt = 0, .next_attempt = 900,
              .route = "backup", .peer = "mx2" } },
          2, 300,
          { MESSAGE_RCPT_FAILED, MESSAGE_RCPT_DELIVERED, MESSAGE_RCPT_DEFERRED }, { 2, 2, 1 },
          900, MG_ESTATE },
        { "last delivered",
          { { .rcpt = 2, .state = MESSAGE_RCPT_DELIVERED, .counts_attempt = 1 } },
          1, 900,
          { MESSAGE_RCPT_FAILED, MESSAGE_RCPT_DELIVERED, MESSAGE_RCPT_DELIVERED }, { 2, 2, 2 },
          0, 0 },
    };
    for (size_t si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
        int rc = update_wait(f, m->id, steps[si].u, steps[si].nu, steps[si].when);
        if (rc != 0)
            fail_msg("step %s: update %d", steps[si].name, rc);
        struct message *g = NULL;
        assert_int_equal(queue_store_get(f->s, m->id, &g), 0);
        for (int i = 0; i < 3; i++) {
            if (g->rcpts[i].state != steps[si].expect[i] ||
                g->rcpts[i].attempts != steps[si].attempts[i])
                fail_msg("step %s rcpt %d: state %d attempts %u", steps[si].name, i,
                         g->rcpts[i].state, g->rcpts[i].attempts);
        }
        if (si == 2) {
            assert_string_equal(g->rcpts[0].last_reply, "550 5.1.1 unknown");
            assert_int_equal(g->rcpts[0].flags, MESSAGE_RCPT_F_REPORTED);
            assert_int_equal(g->rcpts[0].last_attempt, 300);
            assert_string_equal(g->rcpts[2].route, "backup");
            assert_string_equal(g->rcpts[2].peer, "mx2");
            assert_int_equal(g->rcpts[2].last_attempt, 100); /* not an attempt: unchanged */
            assert_string_equal(g->rcpts[1].remote_mta, "mx1");
        }
        message_free(g);
        struct queue_store_index_entry e;
        assert_int_equal(queue_store_load_index(f->s, index_one, &e), 0);
        assert_int_equal(e.next_attempt, steps[si].next_attempt);
        rc = simple_wait(f, queue_store_finish, m->id);
        if (rc != steps[si].finish_rc)
            fail_msg("step %s: finish %d", steps[si].name, rc);
    }
    struct message *g = NULL;
    assert_int_equal(queue_store_get(f->s, m->id, &g), MG_ENOTFOUND);
    message_free(m);
}

/* ---------------------------------------------------------------------------- hold, list */

struct listing {
    int n;
    char ids[16][MESSAGE_ID_SIZE];
    char reasons[16][64];
};

static int list_cb(void *arg, const struct queue_store_summary *sm)
{
    struct listing *l = arg;
    if (l->n >= 16)
        return 1;
    memcpy(l->ids[l->n], sm->e.id, MESSAGE_ID_SIZE);
    snprintf(l->reasons[l->n], sizeof(l->reasons[0]), "%s",
             sm->hold_reason ? sm->hold_reason : "");
    assert_true(strncmp(sm->originator, "sender", 6) == 0);
    assert_int_equal(sm->content_size, 10);
    l->n++;
    return 0;
}

static void test_hold_and_list(void **state)
{
    struct fx *f = *state;
    char ids[6][MESSAGE_ID_SIZE];
    for (unsigned i = 0; i < 6; i++) {
        struct message *m = make_msg(i, 2);
        assert_int_equal(submit_wait(f, m, "0123456789", 10), 0);
        memcpy(ids[i], m->id, MESSAGE_ID_SIZE);
        message_free(m);
    }
    struct waiter w = { 0 };
    assert_int_equal(queue_store_hold(f->s, ids[1], "label not permitted", on_done, &w), 0);
    assert_int_equal(queue_store_hold(f->s, ids[4], NULL, on_done, &w), 0);
    wait_for(&f->loop, &w, 2);
    assert_int_equal(w.nfail, 0);
    struct queue_store_rcpt_update du = { .rcpt = 0, .state = MESSAGE_RCPT_DEFERRED,
                                          .counts_attempt = 1, .next_attempt = 50 };
    assert_int_equal(update_wait(f, ids[2], &du, 1, 10), 0);
    struct queue_store_rcpt_update fu = { .rcpt = 1, .state = MESSAGE_RCPT_FAILED };
    assert_int_equal(update_wait(f, ids[3], &fu, 1, 10), 0);

    static const struct {
        const char *name;
        struct queue_store_filter f;
        int after; /* index into ids for after_id, -1 none */
        int expect[6];
        int n;
    } cases[] = {
        { "all", { .held = -1 }, -1, { 0, 1, 2, 3, 4, 5 }, 6 },
        { "held", { .held = 1 }, -1, { 1, 4 }, 2 },
        { "not held", { .held = 0 }, -1, { 0, 2, 3, 5 }, 4 },
        { "deferred", { .held = -1, .state_mask = 1u << MESSAGE_RCPT_DEFERRED }, -1, { 2 }, 1 },
        { "failed or deferred",
          { .held = -1, .state_mask = (1u << MESSAGE_RCPT_FAILED) | (1u << MESSAGE_RCPT_DEFERRED) },
          -1, { 2, 3 }, 2 },
        { "limit", { .held = -1, .limit = 2 }, -1, { 0, 1 }, 2 },
        { "paging", { .held = -1, .limit = 2 }, 1, { 2, 3 }, 2 },
    };
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        struct listing l = { 0 };
        struct queue_store_filter flt = cases[ci].f;
        if (cases[ci].after >= 0)
            flt.after_id = ids[cases[ci].after];
        assert_int_equal(queue_store_list(f->s, &flt, list_cb, &l), 0);
        if (l.n != cases[ci].n)
            fail_msg("case %s: %d listed", cases[ci].name, l.n);
        for (int i = 0; i < l.n; i++)
            if (strcmp(l.ids[i], ids[cases[ci].expect[i]]) != 0)
                fail_msg("case %s: item %d", cases[ci].name, i);
        if (ci == 1) {
            assert_string_equal(l.reasons[0], "label not permitted");
            assert_string_equal(l.reasons[1], "");
        }
    }
    /* release, then the hold is gone (and the reason with it) */
    assert_int_equal(simple_wait(f, queue_store_release, ids[1]), 0);
    struct message *g = NULL;
    assert_int_equal(queue_store_get(f->s, ids[1], &g), 0);
    assert_int_equal(g->hold, 0);
    assert_null(g->hold_reason);
    message_free(g);
    struct queue_store_index_entry *ix = NULL;
    size_t n = 0;
    assert_int_equal(queue_store_load_index_array(f->s, &ix, &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(ix[1].hold, 0);
    assert_int_equal(ix[4].hold, 1);
    free(ix);
}

/* ---------------------------------------------------------------------------- delete, history */

struct hist {
    int n;
    char outcome[8][16];
    uint32_t ndelivered[8], nfailed[8];
};

static int hist_cb(void *arg, const struct queue_store_history *h)
{
    struct hist *hs = arg;
    if (hs->n >= 8)
        return 1;
    snprintf(hs->outcome[hs->n], sizeof(hs->outcome[0]), "%s", h->outcome);
    hs->ndelivered[hs->n] = h->ndelivered;
    hs->nfailed[hs->n] = h->nfailed;
    assert_true(message_id_valid(h->id));
    assert_true(h->finished > 0);
    hs->n++;
    return 0;
}

static void test_delete_and_history(void **state)
{
    struct fx *f = *state;
    fx_close_store(f);
    struct queue_store_opts o = { .history_keep = 3 };
    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, &o), 0);
    char ids[5][MESSAGE_ID_SIZE];
    for (unsigned i = 0; i < 5; i++) {
        struct message *m = make_msg(i, 2);
        assert_int_equal(submit_wait(f, m, "content", 7), 0);
        memcpy(ids[i], m->id, MESSAGE_ID_SIZE);
        message_free(m);
    }
    /* 0: deleted while pending; 1..4: one delivered, one failed, then finished */
    assert_int_equal(simple_wait(f, queue_store_delete, ids[0]), 0);
    for (int i = 1; i < 5; i++) {
        struct queue_store_rcpt_update u[2] = {
            { .rcpt = 0, .state = MESSAGE_RCPT_DELIVERED, .counts_attempt = 1 },
            { .rcpt = 1, .state = MESSAGE_RCPT_FAILED, .counts_attempt = 1 },
        };
        assert_int_equal(update_wait(f, ids[i], u, 2, 77), 0);
        assert_int_equal(simple_wait(f, queue_store_finish, ids[i]), 0);
    }
    unsigned char *c = NULL;
    size_t len = 0;
    static const struct {
        const char *name;
        int rc;
    } gone[] = { { "content of deleted", MG_ENOTFOUND }, { "delete again", MG_ENOTFOUND },
                 { "finish deleted", MG_ENOTFOUND }, { "hold deleted", MG_ENOTFOUND } };
    int got[4];
    got[0] = queue_store_read_content(f->s, ids[0], &c, &len);
    got[1] = simple_wait(f, queue_store_delete, ids[0]);
    got[2] = simple_wait(f, queue_store_finish, ids[4]);
    got[3] = simple_wait(f, queue_store_release, ids[2]);
    for (int i = 0; i < 4; i++)
        if (got[i] != gone[i].rc)
            fail_msg("case %s: %d", gone[i].name, got[i]);
    struct hist h = { 0 };
    assert_int_equal(queue_store_history(f->s, 0, hist_cb, &h), 0);
    assert_int_equal(h.n, 3); /* bounded by history_keep */
    for (int i = 0; i < 3; i++) {
        assert_string_equal(h.outcome[i], "done");
        assert_int_equal(h.ndelivered[i], 1);
        assert_int_equal(h.nfailed[i], 1);
    }
    struct queue_store_index_entry *ix = NULL;
    size_t n = 5;
    assert_int_equal(queue_store_load_index_array(f->s, &ix, &n), 0);
    assert_int_equal(n, 0);
    free(ix);
}

/* ---------------------------------------------------------------------------- content versions */

static int stage_wait(struct fx *f, const char *id, const struct queue_store_stage *g)
{
    struct waiter w = { 0 };
    int rc = queue_store_apply_stage(f->s, id, g, on_done, &w);
    if (rc != 0)
        return rc;
    wait_for(&f->loop, &w, 1);
    return w.status;
}

static void check_version(struct fx *f, const char *id, uint32_t v, const char *content,
                          enum message_content_type t)
{
    struct queue_store_version sv;
    int rc = queue_store_read_version(f->s, id, v, &sv);
    if (!content) {
        assert_int_equal(rc, MG_ENOTFOUND);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(sv.type, t);
    assert_int_equal(sv.len, strlen(content));
    assert_memory_equal(sv.data, content, sv.len);
    queue_store_version_free(&sv);
}

/* Content versions per recipient group: each stage result is one transaction; a version lives
 * while a recipient carries it; version 0 (as received) always stays. */
/* A converting channel's envelope parameters for the next hop (the mixer: NOTIFY and ORCPT per
 * recipient, ENVID and RET, the X.411 envelope) are stored with its stage and survive a
 * restart; a stage that does not set them leaves them alone. */
static void test_stage_envelope_params(void **state)
{
    struct fx *f = *state;
    static const char body[] = "Subject: s\r\n\r\nbody\r\n";
    static const unsigned char env[] = {0x31, 0x03, 0x02, 0x01, 0x07};
    struct message *m = make_msg(1, 2);
    assert_int_equal(submit_wait(f, m, body, sizeof(body) - 1), 0);
    struct queue_store_stage_rcpt r0 = {.rcpt = 0, .stage = 1, .state = MESSAGE_RCPT_PENDING,
                                        .dsn_set = 1,
                                        .notify = MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE,
                                        .orcpt = "x400;/C=GB/ADMD= /PRMD=X/S=Y/"};
    struct queue_store_stage_rcpt r1 = {.rcpt = 1, .stage = 1, .state = MESSAGE_RCPT_PENDING};
    struct queue_store_stage_rcpt rs[2] = {r0, r1};
    struct queue_store_stage g1 = {.version = 0, .priority = -1, .env_set = 1,
                                   .envid = "X400-MTS-Identifier: [/C=GB/ADMD= /;abc]",
                                   .ret = MESSAGE_RET_HDRS, .x400_env = env,
                                   .x400_env_len = sizeof env, .rcpts = rs, .nrcpts = 2};
    assert_int_equal(stage_wait(f, m->id, &g1), 0);
    /* a later stage without parameters changes none of them */
    struct queue_store_stage_rcpt r2 = {.rcpt = 0, .stage = 2, .state = MESSAGE_RCPT_PENDING};
    struct queue_store_stage g2 = {.version = 0, .priority = -1, .rcpts = &r2, .nrcpts = 1};
    assert_int_equal(stage_wait(f, m->id, &g2), 0);
    fx_close_store(f);
    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, NULL), 0);
    struct message *g = NULL;
    assert_int_equal(queue_store_get(f->s, m->id, &g), 0);
    assert_int_equal(g->rcpts[0].notify, MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE);
    assert_string_equal(g->rcpts[0].orcpt, "x400;/C=GB/ADMD= /PRMD=X/S=Y/");
    assert_int_equal(g->rcpts[0].stage, 2);
    assert_int_equal(g->rcpts[1].notify, m->rcpts[1].notify);
    assert_string_equal(g->envid, "X400-MTS-Identifier: [/C=GB/ADMD= /;abc]");
    assert_int_equal(g->ret, MESSAGE_RET_HDRS);
    assert_int_equal(g->x400_env_len, sizeof env);
    assert_memory_equal(g->x400_env, env, sizeof env);
    message_free(g);
    message_free(m);
}

/* A report that arrives later finds its subject by MTS identifier or ENVID: queued, then in
 * the history once the message is gone. */
static void test_find_subject(void **state)
{
    struct fx *f = *state;
    struct message *m = make_msg(7, 1);          /* envid "seq-7" */
    assert_int_equal(message_set_x400(m, "[/C=GB/ADMD= /PRMD=X/;L7]", "22", NULL, 0), 0);
    assert_int_equal(submit_wait(f, m, "x", 1), 0);
    struct queue_store_subject sj;
    assert_int_equal(queue_store_find_subject(f->s, "[/C=GB/ADMD= /PRMD=X/;L7]", &sj), 0);
    assert_string_equal(sj.id, m->id);
    assert_int_equal(sj.live, 1);
    assert_string_equal(sj.originator, "sender7@example.org");
    assert_int_equal(queue_store_find_subject(f->s, "seq-7", &sj), 0);
    struct queue_store_rcpt_update u = { .rcpt = 0, .state = MESSAGE_RCPT_DELIVERED,
                                         .counts_attempt = 1, .reply = "250 ok" };
    assert_int_equal(update_wait(f, m->id, &u, 1, 5000), 0);
    assert_int_equal(simple_wait(f, queue_store_finish, m->id), 0);
    memset(&sj, 0, sizeof sj);
    assert_int_equal(queue_store_find_subject(f->s, "[/C=GB/ADMD= /PRMD=X/;L7]", &sj), 0);
    assert_string_equal(sj.id, m->id);
    assert_int_equal(sj.live, 0);
    assert_true(sj.finished > 0);
    assert_int_equal(queue_store_find_subject(f->s, "[/C=GB/ADMD= /PRMD=X/;nope]", &sj), MG_ENOTFOUND);
    assert_int_equal(queue_store_find_subject(f->s, "", &sj), MG_EINVAL);
    message_free(m);
}

/* A queue written by the previous release (schema 4: the history without identifiers) is
 * upgraded in place at open; its history stays. */
static void test_upgrade_from_4(void **state)
{
    struct fx *f = *state;
    struct message *m = make_msg(8, 1);
    assert_int_equal(submit_wait(f, m, "x", 1), 0);
    assert_int_equal(simple_wait(f, queue_store_delete, m->id), 0);
    fx_close_store(f);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP INDEX history_mts_id; DROP INDEX history_envid;"
                                      "ALTER TABLE history DROP COLUMN mts_id;"
                                      "ALTER TABLE history DROP COLUMN envid;"
                                      "ALTER TABLE content DROP COLUMN content_oid;"
                                      "PRAGMA user_version=4;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, NULL), 0);
    struct hist h = { 0 };
    assert_int_equal(queue_store_history(f->s, 10, hist_cb, &h), 0);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.outcome[0], "deleted");
    struct queue_store_subject sj;
    assert_int_equal(queue_store_find_subject(f->s, "seq-8", &sj), MG_ENOTFOUND); /* not kept then */
    fx_close_store(f);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 6);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, NULL), 0);
    message_free(m);
}

/* A queue of schema 5 (content versions without their own content type) holding a message
 * with a processed version is upgraded in place at open: the version reads back as it was,
 * with no type (the p1 channel falls back to the bytes), and new versions store theirs. */
static void test_upgrade_from_5(void **state)
{
    struct fx *f = *state;
    static const char x400[] = "\x30\x06\x02\x01\x01\x04\x01\x41";
    static const char opened[] = "\x31\x03\x02\x01\x07";
    struct message *m = make_msg(9, 2);
    m->content_type = MESSAGE_CONTENT_X400_P22;
    assert_int_equal(submit_wait(f, m, x400, sizeof(x400) - 1), 0);
    struct queue_store_stage_rcpt r0 = { .rcpt = 0, .stage = 1, .state = MESSAGE_RCPT_PENDING };
    struct queue_store_stage g1 = { .version = 1, .new_version = 1, .type = MESSAGE_CONTENT_X400_P22,
                                    .content = opened, .len = sizeof(opened) - 1, .priority = 3,
                                    .originator = "/C=GB/ADMD= /PRMD=X/S=o/", .rcpts = &r0,
                                    .nrcpts = 1 };
    assert_int_equal(stage_wait(f, m->id, &g1), 0);
    fx_close_store(f);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE content DROP COLUMN content_oid;"
                                      "PRAGMA user_version=5;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, NULL), 0);
    check_version(f, m->id, 0, x400, MESSAGE_CONTENT_X400_P22);
    struct queue_store_version sv;
    assert_int_equal(queue_store_read_version(f->s, m->id, 1, &sv), 0);
    assert_int_equal(sv.len, sizeof(opened) - 1);
    assert_memory_equal(sv.data, opened, sv.len);
    assert_int_equal(sv.priority, 3);
    assert_string_equal(sv.originator, "/C=GB/ADMD= /PRMD=X/S=o/");
    assert_null(sv.content_oid);
    queue_store_version_free(&sv);
    struct message *g = NULL;
    assert_int_equal(queue_store_get(f->s, m->id, &g), 0);
    assert_int_equal(g->rcpts[0].cversion, 1);
    assert_int_equal(g->content_version, 1);
    message_free(g);
    /* the upgraded store takes a typed version */
    struct queue_store_stage_rcpt r1 = { .rcpt = 1, .stage = 1, .state = MESSAGE_RCPT_PENDING };
    struct queue_store_stage g2 = { .version = 2, .new_version = 1, .type = MESSAGE_CONTENT_X400_P22,
                                    .content = opened, .len = sizeof(opened) - 1, .priority = -1,
                                    .content_oid = "22", .rcpts = &r1, .nrcpts = 1 };
    assert_int_equal(stage_wait(f, m->id, &g2), 0);
    assert_int_equal(queue_store_read_version(f->s, m->id, 2, &sv), 0);
    assert_string_equal(sv.content_oid, "22");
    queue_store_version_free(&sv);
    fx_close_store(f);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 6);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, NULL), 0);
    message_free(m);
}

static void test_content_versions(void **state)
{
    struct fx *f = *state;
    static const char x400[] = "\x30\x06\x02\x01\x01\x04\x01\x41";
    static const char conv[] = "Subject: converted\r\n\r\nbody\r\n";
    static const char shaped[] = "Subject: shaped\r\n\r\nbody\r\n";
    static const char again[] = "Subject: again\r\n\r\nbody\r\n";
    struct message *m = make_msg(1, 2);
    m->content_type = MESSAGE_CONTENT_X400_P22;
    assert_int_equal(submit_wait(f, m, x400, sizeof(x400) - 1), 0);

    /* recipient 0 converted by a mixer stage: version 1 with its own label, priority, originator */
    struct queue_store_stage_rcpt r0 = { .rcpt = 0, .stage = 1, .state = MESSAGE_RCPT_PENDING,
                                         .next_addr = "/C=GB/O=X/S=Y/" };
    struct queue_store_stage g1 = { .version = 1, .new_version = 1, .type = MESSAGE_CONTENT_RFC5322,
                                    .content = conv, .len = strlen(conv), .label_set = 1,
                                    .label = "\x31\x00", .label_len = 2, .priority = 4,
                                    .originator = "conv@example.org",
                                    .content_oid = "1.3.26.0.4406.0.4.1", .rcpts = &r0, .nrcpts = 1 };
    assert_int_equal(stage_wait(f, m->id, &g1), 0);
    /* recipient 1 shaped: version 2; held by the channel */
    struct queue_store_stage_rcpt r1 = { .rcpt = 1, .stage = 0, .state = MESSAGE_RCPT_HELD,
                                         .reply = "held by channel shaper: no clearance" };
    struct queue_store_stage g2 = { .version = 2, .new_version = 1, .type = MESSAGE_CONTENT_RFC5322,
                                    .content = shaped, .len = strlen(shaped), .priority = -1,
                                    .rcpts = &r1, .nrcpts = 1, .add = (const char *[]){ "copy@example.net" },
                                    .nadd = 1, .add_version = 2 };
    assert_int_equal(stage_wait(f, m->id, &g2), 0);
    check_version(f, m->id, 0, x400, MESSAGE_CONTENT_X400_P22);
    check_version(f, m->id, 1, conv, MESSAGE_CONTENT_RFC5322);
    check_version(f, m->id, 2, shaped, MESSAGE_CONTENT_RFC5322);
    struct queue_store_version sv;
    assert_int_equal(queue_store_read_version(f->s, m->id, 1, &sv), 0);
    assert_int_equal(sv.label_set, 1);
    assert_int_equal(sv.label_len, 2);
    assert_int_equal(sv.priority, 4);
    assert_string_equal(sv.originator, "conv@example.org");
    assert_string_equal(sv.content_oid, "1.3.26.0.4406.0.4.1"); /* the version's own type */
    queue_store_version_free(&sv);
    assert_null(sv.content_oid);
    assert_int_equal(queue_store_read_version(f->s, m->id, 2, &sv), 0);
    assert_int_equal(sv.label_set, 0);
    assert_int_equal(sv.priority, -1);
    assert_null(sv.originator);
    assert_null(sv.content_oid);                             /* none said */
    queue_store_version_free(&sv);
    assert_int_equal(queue_store_read_version(f->s, m->id, 0, &sv), 0);
    assert_null(sv.content_oid);                             /* as received: the message's */
    queue_store_version_free(&sv);

    /* after a restart everything is there */
    fx_close_store(f);
    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, NULL), 0);
    struct message *g = NULL;
    assert_int_equal(queue_store_get(f->s, m->id, &g), 0);
    assert_int_equal(g->nrcpts, 3);
    assert_int_equal(g->content_version, 2);
    assert_int_equal(g->rcpts[0].stage, 1);
    assert_int_equal(g->rcpts[0].cversion, 1);
    assert_string_equal(g->rcpts[0].next_addr, "/C=GB/O=X/S=Y/");
    assert_string_equal(g->rcpts[0].addr, "rcpt1.0@example.net");
    assert_int_equal(g->rcpts[1].state, MESSAGE_RCPT_HELD);
    assert_int_equal(g->rcpts[1].cversion, 2);
    assert_string_equal(g->rcpts[1].last_reply, "held by channel shaper: no clearance");
    assert_string_equal(g->rcpts[2].addr, "copy@example.net");
    assert_int_equal(g->rcpts[2].cversion, 2);
    assert_int_equal(g->rcpts[2].notify, MESSAGE_NOTIFY_NEVER);
    message_free(g);
    struct queue_store_index_entry *ix = NULL;
    size_t n = 0;
    assert_int_equal(queue_store_load_index_array(f->s, &ix, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ix[0].nheld, 1);
    free(ix);

    /* recipient 0 moves on to version 3: version 1 is carried by nobody and goes */
    struct queue_store_stage_rcpt r0b = { .rcpt = 0, .stage = 2, .state = MESSAGE_RCPT_PENDING };
    struct queue_store_stage g3 = { .version = 3, .new_version = 1, .type = MESSAGE_CONTENT_RFC5322,
                                    .content = again, .len = strlen(again), .priority = -1,
                                    .rcpts = &r0b, .nrcpts = 1 };
    assert_int_equal(stage_wait(f, m->id, &g3), 0);
    check_version(f, m->id, 1, NULL, 0);
    check_version(f, m->id, 3, again, MESSAGE_CONTENT_RFC5322);
    check_content(f->s, m->id, (const unsigned char *)again, strlen(again)); /* the latest */
    /* a version number taken twice is refused and nothing of that stage applies */
    struct queue_store_stage_rcpt r2 = { .rcpt = 2, .stage = 1, .state = MESSAGE_RCPT_PENDING };
    struct queue_store_stage dup = g3;
    dup.rcpts = &r2;
    assert_int_equal(stage_wait(f, m->id, &dup), MG_EEXIST);
    assert_int_equal(queue_store_get(f->s, m->id, &g), 0);
    assert_int_equal(g->rcpts[2].stage, 0);
    message_free(g);
    /* release makes the held recipient pending again */
    assert_int_equal(simple_wait(f, queue_store_release, m->id), 0);
    assert_int_equal(queue_store_get(f->s, m->id, &g), 0);
    assert_int_equal(g->rcpts[1].state, MESSAGE_RCPT_PENDING);
    message_free(g);
    /* errors */
    struct queue_store_stage_rcpt bad = { .rcpt = 9, .stage = 1, .state = MESSAGE_RCPT_PENDING };
    struct queue_store_stage gb = { .version = 0, .priority = -1, .rcpts = &bad, .nrcpts = 1 };
    assert_int_equal(stage_wait(f, m->id, &gb), MG_ENOTFOUND);
    assert_int_equal(stage_wait(f, "00000000000000", &gb), MG_ENOTFOUND);
    struct queue_store_stage gz = { .version = 0, .new_version = 1, .priority = -1 };
    assert_int_equal(queue_store_apply_stage(f->s, m->id, &gz, on_done, NULL), MG_EINVAL);
    gz.version = 7;
    gz.type = 17;
    assert_int_equal(queue_store_apply_stage(f->s, m->id, &gz, on_done, NULL), MG_EINVAL);
    assert_int_equal(simple_wait(f, queue_store_delete, m->id), 0);
    unsigned char *c = NULL;
    size_t len = 0;
    assert_int_equal(queue_store_read_original(f->s, m->id, NULL, &c, &len), MG_ENOTFOUND);
    message_free(m);
}

/* ---------------------------------------------------------------------------- errors, modes */

static void test_errors(void **state)
{
    struct fx *f = *state;
    struct message *ok = make_msg(1, 1);
    assert_int_equal(submit_wait(f, ok, "abc", 3), 0);
    struct message *norcpt = make_msg(2, 0);
    struct message *badprio = make_msg(3, 1);
    badprio->priority = 6;
    struct message *badid = make_msg(4, 1);
    memcpy(badid->id, "../etc/passwd", 14);
    struct message *badstate = make_msg(6, 2);
    badstate->rcpts[1].state = 7;
    struct queue_store_rcpt_update u = { .rcpt = 5, .state = MESSAGE_RCPT_DELIVERED };
    struct queue_store_rcpt_update bad_state = { .rcpt = 0, .state = 9 };
    static const char *const names[] = { "no recipients",       "priority 6",
                                         "bad id",              "update bad state",
                                         "update bad id",       "hold bad id",
                                         "get bad id",          "content bad id",
                                         "rcpt state 7" };
    static const int expect[] = { MG_EINVAL, MG_EINVAL, MG_EINVAL, MG_EINVAL, MG_EINVAL,
                                  MG_EINVAL, MG_EINVAL, MG_EINVAL, MG_EINVAL };
    struct message *g = NULL;
    unsigned char *c = NULL;
    size_t len = 0;
    int got[9];
    got[0] = queue_store_submit(f->s, norcpt, "x", 1, on_done, NULL);
    got[1] = queue_store_submit(f->s, badprio, "x", 1, on_done, NULL);
    got[2] = queue_store_submit(f->s, badid, "x", 1, on_done, NULL);
    got[3] = queue_store_update_rcpts(f->s, ok->id, &bad_state, 1, 1, on_done, NULL);
    got[4] = queue_store_update_rcpts(f->s, "short", &u, 1, 1, on_done, NULL);
    got[5] = queue_store_hold(f->s, "a/b", "x", on_done, NULL);
    got[6] = queue_store_get(f->s, "", &g);
    got[7] = queue_store_read_content(f->s, "0123456789ABCDEFG", &c, &len);
    got[8] = queue_store_submit(f->s, badstate, "x", 1, on_done, NULL);
    for (int i = 0; i < 9; i++)
        if (got[i] != expect[i])
            fail_msg("case %s: %d", names[i], got[i]);
    /* errors reported through the callback */
    assert_int_equal(update_wait(f, ok->id, &u, 1, 1), MG_ENOTFOUND);
    assert_int_equal(update_wait(f, "00000000000000", &u, 1, 1), MG_ENOTFOUND);
    assert_int_equal(simple_wait(f, queue_store_release, "00000000000000"), MG_ENOTFOUND);
    assert_int_equal(queue_store_get(f->s, "00000000000000", &g), MG_ENOTFOUND);
    struct queue_store_content *sc = NULL;
    assert_int_equal(queue_store_content_open(f->s, "00000000000000", &sc, NULL), MG_ENOTFOUND);
    message_free(ok);
    message_free(norcpt);
    message_free(badprio);
    message_free(badid);
    message_free(badstate);

    /* size limit from the options */
    fx_close_store(f);
    struct queue_store_opts o = { .max_content = 100 };
    assert_int_equal(queue_store_open(&f->s, &f->loop, f->path, &o), 0);
    struct message *big = make_msg(5, 1);
    unsigned char *bc = make_content(5, 101);
    assert_int_equal(queue_store_submit(f->s, big, bc, 101, on_done, NULL), MG_ETOOBIG);
    free(bc);
    message_free(big);
}

static int count_cb(void *arg, const struct queue_store_index_entry *e)
{
    (*(int *)arg)++;
    return 0;
}

static void sync_cb(void *arg, int status)
{
    *(int *)arg = status + 1000;
}

/* Without a loop, writes complete before returning; read-only stores refuse writes. */
static void test_sync_and_read_only(void **state)
{
    struct fx *f = *state;
    fx_close_store(f);
    assert_int_equal(queue_store_open(&f->s, NULL, f->path, NULL), 0);
    struct message *m = make_msg(1, 2);
    int cbv = 0;
    assert_int_equal(queue_store_submit(f->s, m, "sync", 4, sync_cb, &cbv), 0);
    assert_int_equal(cbv, 1000); /* called before return, with status 0 */
    assert_int_equal(queue_store_hold(f->s, m->id, "manual", NULL, NULL), 0);
    assert_int_equal(queue_store_release(f->s, "00000000000000", NULL, NULL), MG_ENOTFOUND);
    struct queue_store_stats st;
    queue_store_get_stats(f->s, &st);
    assert_int_equal(st.writes, 3);
    queue_store_close(f->s);
    f->s = NULL;

    struct queue_store *ro = NULL;
    struct queue_store_opts o = { .read_only = 1 };
    assert_int_equal(queue_store_open(&ro, &f->loop, f->path, &o), 0);
    int n = 0;
    assert_int_equal(queue_store_load_index(ro, count_cb, &n), 0);
    assert_int_equal(n, 1);
    struct message *g = NULL;
    assert_int_equal(queue_store_get(ro, m->id, &g), 0);
    assert_int_equal(g->hold, 1);
    assert_string_equal(g->hold_reason, "manual");
    message_free(g);
    assert_int_equal(queue_store_delete(ro, m->id, NULL, NULL), MG_ESTATE);
    queue_store_close(ro);
    message_free(m);

    /* a read-only open of a file that is not a queue fails at open */
    char other[320];
    snprintf(other, sizeof(other), "%s/none.db", f->dir);
    assert_int_not_equal(queue_store_open(&ro, NULL, other, &o), 0);
    unlink(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restart_recovery, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restart_after_sigkill, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_sessions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_batch_isolation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_reads, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_state_transitions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hold_and_list, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_history, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_content_versions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_find_subject, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stage_envelope_params, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_4, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_5, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sync_and_read_only, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
