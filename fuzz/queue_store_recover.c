/* libFuzzer target: the queue store's recovery read of a damaged database (mta/queue_store.c),
 * what the daemon does at start: open, load the index, then read each message's envelope and
 * content, and the operator's peer holds; plus the listing and history `mixgate queue` shows. The database is a real queue
 * made once per process with queue_store itself (four messages: recipients in every state, a
 * held one with two content versions, one finished into the history); each unit damages a copy
 * of it, then the reads run on the copy.
 *
 * Unit: a list of damage operations, each one byte op then its arguments:
 *   op % 6 == 0  flip bytes of the file: 2-byte offset (scaled to the file), 1-byte XOR mask
 *   op % 6 == 1  UPDATE messages SET <column> = <value> WHERE id = <message>
 *   op % 6 == 2  UPDATE rcpts SET <column> = <value> WHERE msg_id = <message> AND idx = <n>
 *   op % 6 == 3  UPDATE content SET <column> = <value> WHERE msg_id = <message>
 *   op % 6 == 4  DELETE the rows of <message> from one table (rcpts, content or messages)
 *   op % 6 == 5  UPDATE history SET <column> = <value>
 * <message> is one byte (mod 3: the three queued messages), <column> one byte (mod the
 * table's columns), <value> a type byte (int64, text, blob, NULL, real) and its bytes (8 for
 * numbers, a length byte then the bytes for text and blobs).
 *
 * Checked: nothing crashes or leaks; every message read gives values the rest of the daemon
 * may index with (priority, states, RET, content type in range; addresses present) or is held
 * with a reason; and when only row operations ran, every message whose rows were not touched
 * is still in the index and reads back whole (a damaged row never loses the others). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>
#include <uv.h>

#include "message.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_log.h"
#include "queue_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NMSG 3

struct fixture {
    char dir[256];
    char path[300];
    unsigned char *db; /* the template database file */
    size_t dblen;
    char ids[NMSG][MESSAGE_ID_SIZE];
    size_t nrcpts[NMSG];
};

static void on_done(void *arg, int status)
{
    int *left = arg;
    if (status != 0)
        mg_panic("fuzz setup: queue write failed: %s", mg_strerror(status));
    (*left)--;
}

static void run_until(uv_loop_t *loop, int *left)
{
    while (*left > 0)
        uv_run(loop, UV_RUN_ONCE);
}

static void rm_files(const char *path)
{
    char p[400];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static const struct fixture *scratch; /* for cleanup: the fixture once its folder exists */

/* The scratch folder goes with the process. */
static void cleanup(void)
{
    rm_files(scratch->path);
    rmdir(scratch->dir);
}

/* Built once per process: the fuzzer's only state, read-only afterwards. */
static const struct fixture *fixture(void)
{
    static struct fixture f;
    if (f.db)
        return &f;
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(f.dir, sizeof f.dir, "%s/mg-fuzz-queue-XXXXXX", tmp);
    if (!mkdtemp(f.dir))
        mg_panic("fuzz setup: mkdtemp");
    snprintf(f.path, sizeof f.path, "%s/queue.db", f.dir);
    scratch = &f;
    atexit(cleanup);
    uv_loop_t loop;
    struct queue_store *s = NULL;
    if (uv_loop_init(&loop) || queue_store_open(&s, &loop, f.path, NULL))
        mg_panic("fuzz setup: queue_store_open");
    static const size_t nr[NMSG + 1] = { 2, 1, 3, 1 };
    static const char content[] = "Subject: fuzz\r\n\r\nbody\r\n";
    for (int k = 0; k < NMSG + 1; k++) {
        struct message *m = message_create();
        char a[64];
        if (!m || message_set_originator(m, k == 2 ? "" : "alice@example.org") ||
            message_set_envid(m, "env-1") || message_set_received(m, "client [127.0.0.1]", "ESMTP"))
            mg_panic("fuzz setup: message");
        m->priority = k;
        m->ret = (enum message_ret)(k % 3);
        for (size_t i = 0; i < nr[k]; i++) {
            snprintf(a, sizeof a, "rcpt%d.%zu@example.net", k, i);
            if (message_add_rcpt(m, a, i ? "rfc822;x+2By@example.net" : NULL, (unsigned)i * 2, NULL))
                mg_panic("fuzz setup: rcpt");
        }
        const unsigned char label[] = { 0x31, 0x03, 0x02, 0x01, 0x02 };
        if (k == 1 && message_set_label(m, label, sizeof label))
            mg_panic("fuzz setup: label");
        int left = 1;
        if (queue_store_submit(s, m, content, sizeof content - 1, on_done, &left))
            mg_panic("fuzz setup: submit");
        run_until(&loop, &left);
        if (k < NMSG) {
            memcpy(f.ids[k], m->id, MESSAGE_ID_SIZE);
            f.nrcpts[k] = nr[k];
        }
        if (k == 0 || k == 3) { /* recipients in every state; the fourth one finishes */
            struct queue_store_rcpt_update u[2] = {
                { .rcpt = 0, .state = k ? MESSAGE_RCPT_DELIVERED : MESSAGE_RCPT_DEFERRED,
                  .counts_attempt = 1, .next_attempt = 1765003600, .reply = "451 4.4.1 later",
                  .status = "4.4.1", .remote_mta = "mx.example.net", .route = "default",
                  .chain = "out", .peer = "hub" },
                { .rcpt = 1, .state = MESSAGE_RCPT_FAILED, .counts_attempt = 1,
                  .reply = "550 5.1.1 no", .status = "5.1.1", .flags_set = 3 },
            };
            left = 1;
            if (queue_store_update_rcpts(s, m->id, u, k ? 1 : 2, 1765000000, on_done, &left))
                mg_panic("fuzz setup: update");
            run_until(&loop, &left);
        }
        if (k == 1) {
            left = 2;
            /* a processing stage: version 1 with its own label, recipient 0 held by it */
            struct queue_store_stage_rcpt sr = { .rcpt = 0, .stage = 0, .state = MESSAGE_RCPT_HELD,
                                                 .reply = "held by channel policy: test" };
            struct queue_store_stage g = { .version = 1, .new_version = 1,
                                           .type = MESSAGE_CONTENT_X400_P22, .content = "\x30\x00",
                                           .len = 2, .label_set = 1, .label = "\x31\x00",
                                           .label_len = 2, .priority = -1, .rcpts = &sr,
                                           .nrcpts = 1 };
            if (queue_store_hold(s, m->id, "operator says so", on_done, &left) ||
                queue_store_apply_stage(s, m->id, &g, on_done, &left))
                mg_panic("fuzz setup: hold");
            run_until(&loop, &left);
        }
        if (k == 3) {
            left = 1;
            if (queue_store_finish(s, m->id, on_done, &left))
                mg_panic("fuzz setup: finish");
            run_until(&loop, &left);
        }
        message_free(m);
    }
    int left = 1;   /* an operator's peer hold, read at start like the index */
    if (queue_store_peer_hold(s, "hub", "peer hub held by operator", on_done, &left))
        mg_panic("fuzz setup: peer hold");
    run_until(&loop, &left);
    queue_store_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    /* the last connection closed: SQLite checkpointed the WAL into the file */
    if (mg_read_file(f.path, 1u << 24, &f.db, &f.dblen) || f.dblen < 512)
        mg_panic("fuzz setup: template database");
    return &f;
}

/* ---- reading the damage operations ---- */

struct rd {
    const uint8_t *p;
    size_t n;
};

static int rd_byte(struct rd *r, unsigned *out)
{
    if (!r->n)
        return 0;
    *out = *r->p++;
    r->n--;
    return 1;
}

/* Binds parameter 1 of st from the unit; 0 when the unit ran out. */
static int rd_value(struct rd *r, sqlite3_stmt *st)
{
    unsigned t, len;
    if (!rd_byte(r, &t))
        return 0;
    switch (t % 5) {
    case 0:
    case 4: {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) {
            unsigned b = 0;
            rd_byte(r, &b);
            v = v << 8 | b;
        }
        if (t % 5 == 0) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)v);
        } else {
            double d;
            memcpy(&d, &v, sizeof d);
            sqlite3_bind_double(st, 1, d);
        }
        return 1;
    }
    case 1:
    case 2:
        if (!rd_byte(r, &len))
            return 0;
        if (len > r->n)
            len = (unsigned)r->n;
        if (t % 5 == 1)
            sqlite3_bind_text(st, 1, (const char *)r->p, (int)len, SQLITE_TRANSIENT);
        else
            sqlite3_bind_blob(st, 1, r->p, (int)len, SQLITE_TRANSIENT);
        r->p += len;
        r->n -= len;
        return 1;
    default:
        sqlite3_bind_null(st, 1);
        return 1;
    }
}

static const char *const msg_cols[] = { "id", "arrival", "priority", "originator", "envid", "ret",
                                        "received_from", "received_proto", "hold", "hold_reason",
                                        "label", "content_type", "content_size", "expire_at",
                                        "content_version" };
static const char *const rcpt_cols[] = { "msg_id", "idx", "addr", "orcpt", "notify", "state",
                                         "flags", "attempts", "next_attempt", "last_attempt",
                                         "last_reply", "status", "remote_mta", "route", "chain",
                                         "peer" };
static const char *const content_cols[] = { "msg_id", "version", "type", "data" };
static const char *const hist_cols[] = { "id", "originator", "arrival", "finished", "nrcpts",
                                         "ndelivered", "nfailed", "outcome" };
#define NCOLS(a) (sizeof a / sizeof a[0])

/* Runs one row operation; sets touched[k] for the message it may change. */
static void row_op(sqlite3 *db, unsigned op, struct rd *r, const struct fixture *f, int *touched)
{
    unsigned k = 0, c = 0, idx = 0;
    if (!rd_byte(r, &k) || !rd_byte(r, &c))
        return;
    k %= NMSG;
    char sql[256];
    switch (op % 6) {
    case 1:
        snprintf(sql, sizeof sql, "UPDATE messages SET %s = ?1 WHERE id = ?2",
                 msg_cols[c % NCOLS(msg_cols)]);
        break;
    case 2:
        rd_byte(r, &idx);
        snprintf(sql, sizeof sql, "UPDATE rcpts SET %s = ?1 WHERE msg_id = ?2 AND idx = %u",
                 rcpt_cols[c % NCOLS(rcpt_cols)], idx % 4);
        break;
    case 3:
        snprintf(sql, sizeof sql, "UPDATE content SET %s = ?1 WHERE msg_id = ?2",
                 content_cols[c % NCOLS(content_cols)]);
        break;
    case 4: {
        static const char *const t[] = { "DELETE FROM rcpts WHERE msg_id = ?2",
                                         "DELETE FROM content WHERE msg_id = ?2",
                                         "DELETE FROM messages WHERE id = ?2" };
        snprintf(sql, sizeof sql, "%s", t[c % 3]);
        break;
    }
    default:
        snprintf(sql, sizeof sql, "UPDATE history SET %s = ?1", hist_cols[c % NCOLS(hist_cols)]);
        break;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    if (op % 6 != 4 && !rd_value(r, st)) {
        sqlite3_finalize(st);
        return;
    }
    if (op % 6 != 5) {
        sqlite3_bind_text(st, 2, f->ids[k], -1, SQLITE_STATIC);
        touched[k] = 1;
    }
    sqlite3_step(st);
    sqlite3_finalize(st);
}

/* ---- the reads and their promises ---- */

static void check_message(const struct message *m)
{
    if (!m->originator || m->priority < MESSAGE_PRIORITY_MIN || m->priority > MESSAGE_PRIORITY_MAX ||
        (unsigned)m->ret > MESSAGE_RET_FULL || (unsigned)m->content_type > MESSAGE_CONTENT_OTHER ||
        (m->hold != 0 && m->hold != 1))
        mg_panic("queue_store_get gave an envelope out of range");
    for (size_t i = 0; i < m->nrcpts; i++)
        if (!m->rcpts[i].addr || (unsigned)m->rcpts[i].state >= MESSAGE_RCPT_STATE_COUNT)
            mg_panic("queue_store_get gave a recipient out of range");
    if (m->nrcpts == 0 && !m->hold)
        mg_panic("a message without recipients must be held");
}

static int count_cb(void *arg, const struct queue_store_summary *sm)
{
    size_t *n = arg;
    if (!sm->originator)
        mg_panic("listing without an originator");
    (*n)++;
    return 0;
}

static int hist_cb(void *arg, const struct queue_store_history *h)
{
    size_t *n = arg;
    if (!h->id || !h->originator || !h->outcome)
        mg_panic("history row with a NULL string");
    (*n)++;
    return 0;
}

static int hold_cb(void *arg, const char *peer, const char *reason, int64_t since)
{
    (void)since;
    if (!peer || !*peer || !reason)
        mg_panic("a peer hold without its name or reason");
    if (!strcmp(peer, "hub"))
        *(int *)arg = 1;
    return 0;
}

static void read_all(struct queue_store *s, const struct fixture *f, const int *touched, int raw)
{
    struct queue_store_index_entry *ix = NULL;
    size_t n = 0;
    int seen[NMSG] = { 0 };
    if (queue_store_load_index_array(s, &ix, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!message_id_valid(ix[i].id))
                mg_panic("the index gave an invalid queue id");
            for (int k = 0; k < NMSG; k++)
                if (!strcmp(ix[i].id, f->ids[k]))
                    seen[k] = 1;
            struct message *m = NULL;
            int rc = queue_store_get(s, ix[i].id, &m);
            if (rc == 0) {
                check_message(m);
                for (int k = 0; k < NMSG; k++)
                    if (!raw && !touched[k] && !strcmp(ix[i].id, f->ids[k]) &&
                        m->nrcpts != f->nrcpts[k])
                        mg_panic("an untouched message lost recipients");
                message_free(m);
            } else if (!raw) {
                for (int k = 0; k < NMSG; k++)
                    if (!touched[k] && !strcmp(ix[i].id, f->ids[k]))
                        mg_panic("an untouched message does not read: %s", mg_strerror(rc));
            }
            unsigned char *d = NULL;
            size_t dl = 0;
            if (queue_store_read_content(s, ix[i].id, &d, &dl) == 0)
                free(d);
            enum message_content_type t;
            if (queue_store_read_original(s, ix[i].id, &t, &d, &dl) == 0)
                free(d);
            struct queue_store_content *c = NULL;
            uint64_t size = 0;
            if (queue_store_content_open(s, ix[i].id, &c, &size) == 0) {
                char buf[64];
                size_t got = 1;
                for (uint64_t off = 0; got && off < size;) {
                    if (queue_store_content_read(c, off, buf, sizeof buf, &got))
                        break;
                    off += got;
                }
                queue_store_content_close(c);
            }
        }
        if (!raw)
            for (int k = 0; k < NMSG; k++)
                if (!touched[k] && !seen[k])
                    mg_panic("an untouched message is missing from the index");
        free(ix);
    }
    size_t cnt = 0;
    queue_store_list(s, NULL, count_cb, &cnt);
    struct queue_store_filter held = { .held = 1, .state_mask = 1u << MESSAGE_RCPT_DEFERRED };
    queue_store_list(s, &held, count_cb, &cnt);
    queue_store_history(s, 0, hist_cb, &cnt);
    /* row operations never touch the holds: then the hold must read back */
    int hub = 0;
    if (queue_store_peer_holds(s, hold_cb, &hub) != 0 && !raw)
        mg_panic("the peer holds do not read");
    if (!raw && !hub)
        mg_panic("the peer hold is lost");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct fixture *f = fixture();
    if (size > 4096)
        return 0;
    unsigned char *db = malloc(f->dblen);
    if (!db)
        return 0;
    memcpy(db, f->db, f->dblen);
    /* file damage first (it changes the bytes written), row operations after */
    struct rd r = { data, size };
    int raw = 0;
    unsigned op;
    while (rd_byte(&r, &op)) {
        unsigned hi = 0, lo = 0, x = 0;
        if (op % 6 != 0)
            continue;
        if (!rd_byte(&r, &hi) || !rd_byte(&r, &lo) || !rd_byte(&r, &x))
            break;
        size_t off = (size_t)((hi << 8 | lo) * (uint64_t)f->dblen / 65536u);
        db[off] ^= (unsigned char)x;
        raw = 1;
    }
    rm_files(f->path);
    int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, db, f->dblen) != (ssize_t)f->dblen)
        mg_panic("cannot write the damaged copy");
    close(fd);
    free(db);
    int touched[NMSG] = { 0 };
    sqlite3 *sq = NULL;
    if (sqlite3_open_v2(f->path, &sq, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        r = (struct rd){ data, size };
        while (rd_byte(&r, &op)) {
            if (op % 6 == 0) { /* skip a file damage operation's arguments */
                unsigned skip;
                for (int i = 0; i < 3 && rd_byte(&r, &skip); i++)
                    ;
                continue;
            }
            row_op(sq, op, &r, f, touched);
        }
    }
    sqlite3_close(sq);
    struct queue_store *s = NULL;
    if (queue_store_open(&s, NULL, f->path, NULL) == 0) {
        read_all(s, f, touched, raw);
        queue_store_close(s);
    }
    return 0;
}
