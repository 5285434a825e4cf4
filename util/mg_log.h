/* mg_log: one key=value line per event, to stderr or syslog.
 * Levels follow the brief: warn and go on; fatal exits (bad config or environment at start);
 * panic aborts (a broken internal invariant). info/debug are for normal events. */
#ifndef MG_LOG_H
#define MG_LOG_H

#include <stdarg.h>

enum mg_log_level { MG_LOG_DEBUG, MG_LOG_INFO, MG_LOG_WARN, MG_LOG_ERROR, MG_LOG_FATAL };

/* Sink selection; the default is stderr at INFO. Called once at start-up, before threads. */
void mg_log_set_syslog(int on, const char *ident);
void mg_log_set_level(enum mg_log_level lvl);
enum mg_log_level mg_log_get_level(void);

/* The message is the whole key=value text after the time and level: callers write
 * "event=received qid=... from=<...>" (every line has an event=). Values that may contain
 * spaces are quoted by the caller with mg_log_quote(). */
void mg_log(enum mg_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mg_vlog(enum mg_log_level lvl, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define mg_debug(...) mg_log(MG_LOG_DEBUG, __VA_ARGS__)
#define mg_info(...)  mg_log(MG_LOG_INFO, __VA_ARGS__)
#define mg_warn(...)  mg_log(MG_LOG_WARN, __VA_ARGS__)
#define mg_error(...) mg_log(MG_LOG_ERROR, __VA_ARGS__)

/* Per-thread batching for an event loop's thread (stderr sink only): from mg_log_batch(1) on,
 * the calling thread's info and debug lines are collected and written together by
 * mg_log_flush(), which the loop calls before it waits (a libuv prepare handle), so a line is
 * never held while the loop sleeps; warnings and worse, and a full buffer, flush at once.
 * mg_log_batch(0) flushes and stops. Other threads are not affected. */
void mg_log_batch(int on);
void mg_log_flush(void);

/* Log and exit(1): configuration or environment errors at start-up only. */
void mg_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Log with file:line and abort(): broken internal invariants only. */
void mg_panic_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define mg_panic(...) mg_panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define MG_ASSERT(c) do { if (!(c)) mg_panic("assertion failed: %s", #c); } while (0)

/* Writes a log-safe rendering of s into buf (quoted if it has spaces, '=' or quotes;
 * control bytes escaped as \xNN). Returns buf. */
char *mg_log_quote(const char *s, char *buf, unsigned long bufsz);

#endif
