/* queue_measure: the measurements behind docs/queue.md (not a CTest test; run by hand on a
 * Release build, it writes and fsyncs a lot).
 *
 *   queue_measure content DIR [COUNT] [SIZE] [BATCH]
 *       stores COUNT messages of SIZE bytes, BATCH submitted at a time, twice: content as a
 *       blob in SQLite (what queue_store does) and content in fsync'd spool files with only
 *       the envelope in SQLite; prints the time per message for each.
 *   queue_measure index DIR [COUNT]
 *       fills a queue with COUNT deferred messages, reopens it and prints the resident memory
 *       and time that loading the start-up index takes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "message.h"
#include "queue_store.h"

struct counter {
    size_t done, failed;
};

static void on_done(void *arg, int status)
{
    struct counter *c = arg;
    c->done++;
    if (status != 0)
        c->failed++;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2)
        res = -1;
    fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static struct message *make_msg(unsigned seq, enum message_rcpt_state st)
{
    struct message *m = message_create();
    char buf[64];
    if (!m)
        exit(1);
    snprintf(buf, sizeof(buf), "rcpt%u@example.net", seq);
    if (message_set_originator(m, "sender@example.org") != 0 ||
        message_add_rcpt(m, buf, NULL, 0, NULL) != 0)
        exit(1);
    m->rcpts[0].state = st;
    m->rcpts[0].next_attempt = st == MESSAGE_RCPT_DEFERRED ? 2000000000 + seq : 0;
    return m;
}

/* Writes one spool file the way a spool design must: write, fsync the file. */
static int spool_write(const char *dir, const char *id, const void *data, size_t len)
{
    char path[512];
    int pn = snprintf(path, sizeof(path), "%s/%s", dir, id);
    if (pn < 0 || (size_t)pn >= sizeof path)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void run_loop_until(uv_loop_t *loop, struct counter *c, size_t target)
{
    while (c->done < target)
        uv_run(loop, UV_RUN_ONCE);
}

static int measure_content(const char *dir, size_t count, size_t size, size_t batch)
{
    unsigned char *content = malloc(size);
    if (!content)
        return 1;
    for (size_t i = 0; i < size; i++)
        content[i] = (unsigned char)('a' + i % 26);
    struct message **ms = calloc(batch, sizeof(*ms));
    for (int mode = 0; mode < 2; mode++) {
        char db[512], spool[512];
        snprintf(db, sizeof(db), "%s/measure-%d.db", dir, mode);
        snprintf(spool, sizeof(spool), "%s/spool-%d", dir, mode);
        mkdir(spool, 0700);
        uv_loop_t loop;
        uv_loop_init(&loop);
        struct queue_store *s = NULL;
        if (queue_store_open(&s, &loop, db, NULL) != 0)
            return 1;
        struct counter c = { 0 };
        double t0 = now_ms();
        for (size_t done = 0; done < count; done += batch) {
            size_t n = count - done < batch ? count - done : batch;
            for (size_t i = 0; i < n; i++) {
                ms[i] = make_msg((unsigned)(done + i), MESSAGE_RCPT_PENDING);
                queue_store_new_id(s, ms[i]->id);
            }
            if (mode == 1) {
                /* spool design: every file fsync'd, then the directory, then the index */
                for (size_t i = 0; i < n; i++)
                    if (spool_write(spool, ms[i]->id, content, size) != 0)
                        return 1;
                int dfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0 || fsync(dfd) != 0)
                    return 1;
                close(dfd);
            }
            size_t target = c.done + n;
            for (size_t i = 0; i < n; i++)
                if (queue_store_submit(s, ms[i], mode == 0 ? content : NULL,
                                       mode == 0 ? size : 0, on_done, &c) != 0)
                    return 1;
            run_loop_until(&loop, &c, target);
            for (size_t i = 0; i < n; i++)
                message_free(ms[i]);
        }
        double t = now_ms() - t0;
        struct queue_store_stats st;
        queue_store_get_stats(s, &st);
        printf("content=%s count=%zu size=%zu batch=%zu total_ms=%.1f per_msg_ms=%.3f "
               "commits=%llu failed=%zu\n",
               mode == 0 ? "sqlite_blob" : "spool_files", count, size, batch, t,
               t / (double)count, (unsigned long long)st.commits, c.failed);
        queue_store_close(s);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
    free(ms);
    free(content);
    return 0;
}

static int measure_index(const char *dir, size_t count)
{
    char db[512];
    snprintf(db, sizeof(db), "%s/index.db", dir);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct queue_store *s = NULL;
    if (queue_store_open(&s, &loop, db, NULL) != 0)
        return 1;
    enum { BATCH = 2000 };
    struct message *ms[BATCH];
    struct counter c = { 0 };
    static const char body[] = "Subject: deferred\r\n\r\nbody\r\n";
    for (size_t done = 0; done < count; done += BATCH) {
        size_t n = count - done < BATCH ? count - done : BATCH;
        for (size_t i = 0; i < n; i++) {
            ms[i] = make_msg((unsigned)(done + i), MESSAGE_RCPT_DEFERRED);
            if (queue_store_submit(s, ms[i], body, sizeof(body) - 1, on_done, &c) != 0)
                return 1;
        }
        run_loop_until(&loop, &c, done + n);
        for (size_t i = 0; i < n; i++)
            message_free(ms[i]);
    }
    queue_store_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);

    long before = rss_kb();
    double t0 = now_ms();
    if (queue_store_open(&s, &loop, db, NULL) != 0)
        return 1;
    struct queue_store_index_entry *ix = NULL;
    size_t n = 0;
    if (queue_store_load_index_array(s, &ix, &n) != 0)
        return 1;
    double t = now_ms() - t0;
    long after = rss_kb();
    printf("index count=%zu loaded=%zu entry_bytes=%zu load_ms=%.1f rss_before_kb=%ld "
           "rss_after_kb=%ld delta_kb=%ld\n",
           count, n, sizeof(*ix), t, before, after, after - before);
    free(ix);
    queue_store_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "content") == 0)
        return measure_content(argv[2], argc > 3 ? strtoul(argv[3], NULL, 10) : 1000,
                               argc > 4 ? strtoul(argv[4], NULL, 10) : 4096,
                               argc > 5 ? strtoul(argv[5], NULL, 10) : 50);
    if (argc >= 3 && strcmp(argv[1], "index") == 0)
        return measure_index(argv[2], argc > 3 ? strtoul(argv[3], NULL, 10) : 100000);
    fprintf(stderr, "usage: %s content DIR [COUNT] [SIZE] [BATCH] | index DIR [COUNT]\n",
            argv[0]);
    return 2;
}
