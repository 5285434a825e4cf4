/* mg_log: key=value event lines to stderr or syslog, with an ISO 8601 UTC timestamp. */
#include "mg_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

/* Process-wide by nature (one stderr, one syslog): set once at start-up, read-only after. */
static int log_syslog;
static enum mg_log_level log_level = MG_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error", "fatal" };

void mg_log_set_syslog(int on, const char *ident)
{
    log_syslog = on;
    if (on)
        openlog(ident ? ident : "mixgated", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void mg_log_set_level(enum mg_log_level lvl) { log_level = lvl; }
enum mg_log_level mg_log_get_level(void) { return log_level; }

/* The batching thread's pending lines (see mg_log_batch). */
#define BATCH_MAX 16384
static _Thread_local int batch_on;
static _Thread_local size_t batch_len;
static _Thread_local char batch_buf[BATCH_MAX];

static void write_all(const char *p, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(STDERR_FILENO, p + off, len - off);
        if (w <= 0)
            break; /* nowhere to say it */
        off += (size_t)w;
    }
}

void mg_log_flush(void)
{
    if (batch_len) {
        write_all(batch_buf, batch_len);
        batch_len = 0;
    }
}

void mg_log_batch(int on)
{
    mg_log_flush();
    batch_on = on && !log_syslog;
}

void mg_vlog(enum mg_log_level lvl, const char *fmt, va_list ap)
{
    if (lvl < log_level)
        return;
    if (log_syslog) {
        char msg[4096];
        vsnprintf(msg, sizeof msg, fmt, ap);
        static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT };
        syslog(prio[lvl], "level=%s %s", level_names[lvl], msg);
        return;
    }
    /* The whole line is formatted once into one buffer and written with one write(2): lines
     * of concurrent threads never interleave, and a busy relay logs several lines a message,
     * so the per-line cost matters (the date part is made once a second per thread). */
    static _Thread_local time_t ts_sec = -1;
    static _Thread_local char ts[24];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != ts_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        ts_sec = tv.tv_sec;
    }
    char line[4160];
    int n = snprintf(line, sizeof line, "%s.%03ldZ level=%s ", ts, (long)(tv.tv_usec / 1000),
                     level_names[lvl]);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    /* the message is cut at 4095 bytes as before; the newline always ends the line */
    size_t room = sizeof line - (size_t)n - 1;
    if (room > 4096)
        room = 4096;
    int m = vsnprintf(line + n, room, fmt, ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + ((size_t)m < room ? (size_t)m : room - 1);
    line[len++] = '\n';
    if (batch_on) {
        if (batch_len + len > BATCH_MAX)
            mg_log_flush();
        memcpy(batch_buf + batch_len, line, len);
        batch_len += len;
        if (lvl >= MG_LOG_WARN) /* what goes wrong is said at once, with what led to it */
            mg_log_flush();
        return;
    }
    write_all(line, len);
}

void mg_log(enum mg_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mg_vlog(lvl, fmt, ap);
    va_end(ap);
}

void mg_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mg_vlog(MG_LOG_FATAL, fmt, ap);
    va_end(ap);
    mg_log_flush();
    exit(1);
}

void mg_panic_at(const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mg_log(MG_LOG_FATAL, "event=panic at=%s:%d %s", file, line, msg);
    mg_log_flush();
    abort();
}

char *mg_log_quote(const char *s, char *buf, unsigned long bufsz)
{
    if (bufsz == 0)
        return buf;
    if (!s)
        s = "";
    int needq = (*s == '\0') || strpbrk(s, " =\"\t") != NULL;
    unsigned long o = 0;
#define PUT(c) do { if (o + 1 < bufsz) buf[o++] = (c); } while (0)
    if (needq) PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') {
            char esc[5];
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            for (int i = 0; esc[i]; i++) PUT(esc[i]);
        } else {
            PUT((char)*p);
        }
    }
    if (needq) PUT('"');
#undef PUT
    buf[o] = '\0';
    return buf;
}
