/* mg_buf: a growable byte buffer with a hard size limit (parsers of outside input use it). */
#ifndef MG_BUF_H
#define MG_BUF_H

#include <stddef.h>

struct mg_buf {
    unsigned char *data; /* owned; NUL-terminated past len for convenience */
    size_t len;
    size_t cap;
    size_t limit;        /* 0 = no limit; appends past it fail with MG_ETOOBIG */
};

void mg_buf_init(struct mg_buf *b, size_t limit);
void mg_buf_free(struct mg_buf *b);
void mg_buf_reset(struct mg_buf *b);
int mg_buf_reserve(struct mg_buf *b, size_t extra);
int mg_buf_append(struct mg_buf *b, const void *p, size_t n);
int mg_buf_appendf(struct mg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void mg_buf_consume(struct mg_buf *b, size_t n);
/* Hand the data to the caller (who frees it with free()); the buffer becomes empty. */
unsigned char *mg_buf_steal(struct mg_buf *b, size_t *len);

/* Read a whole file (limit 0 = none). Caller frees *out. */
int mg_read_file(const char *path, size_t limit, unsigned char **out, size_t *len);
/* Write a file atomically: temp file in the same directory, fsync, rename, fsync directory. */
int mg_write_file_atomic(const char *path, const void *data, size_t len, int mode);
/* Several files written atomically into one directory (all paths in the same directory):
 * each to a temp file, all synced (their writeback started together, so one journal commit
 * carries them), renamed in the order given, then one fsync of the directory. On an error the
 * files not yet renamed are removed. At most MG_FILES_ATOMIC_MAX files. */
#define MG_FILES_ATOMIC_MAX 8
struct mg_file_out {
    const char *path;
    const void *data;
    size_t len;
};
int mg_write_files_atomic(const struct mg_file_out *f, size_t n, int mode);
/* fsync of the directory that holds path. */
int mg_fsync_dir_of(const char *path);

#endif
