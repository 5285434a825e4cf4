/* mg_buf: growable byte buffers and whole-file helpers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sync_file_range */
#endif
#include "mg_buf.h"
#include "mg_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

void mg_buf_init(struct mg_buf *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

void mg_buf_free(struct mg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void mg_buf_reset(struct mg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

int mg_buf_reserve(struct mg_buf *b, size_t extra)
{
    if (extra > (size_t)-1 / 2 - b->len)
        return MG_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (b->limit && b->len + extra > b->limit)
        return MG_ETOOBIG;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap *= 2;
    unsigned char *n = realloc(b->data, ncap);
    if (!n)
        return MG_ENOMEM;
    b->data = n;
    b->cap = ncap;
    return 0;
}

int mg_buf_append(struct mg_buf *b, const void *p, size_t n)
{
    int rc = mg_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int mg_buf_appendf(struct mg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MG_EINVAL;
    int rc = mg_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void mg_buf_consume(struct mg_buf *b, size_t n)
{
    if (n >= b->len) {
        mg_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = 0;
}

unsigned char *mg_buf_steal(struct mg_buf *b, size_t *len)
{
    unsigned char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

int mg_read_file(const char *path, size_t limit, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? MG_ENOTFOUND : MG_EIO;
    /* The buffer itself is unlimited: the file's limit is checked on what was read, so a
     * small limit does not stop the 64 KiB read-ahead (one byte past it detects "too big"). */
    struct mg_buf b;
    mg_buf_init(&b, 0);
    int rc = 0;
    for (;;) {
        size_t chunk = 65536;
        if (limit && limit + 1 - b.len < chunk)
            chunk = limit + 1 - b.len;
        if ((rc = mg_buf_reserve(&b, chunk)) != 0)
            break;
        ssize_t n = read(fd, b.data + b.len, chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = MG_EIO;
            break;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
        if (limit && b.len > limit) {
            rc = MG_ETOOBIG;
            break;
        }
    }
    close(fd);
    if (rc) {
        mg_buf_free(&b);
        return rc;
    }
    if (!b.data && (rc = mg_buf_reserve(&b, 0)) != 0)
        return rc;
    b.data[b.len] = 0;
    *out = mg_buf_steal(&b, len);
    return 0;
}

int mg_write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
    const struct mg_file_out f = { path, data, len };
    return mg_write_files_atomic(&f, 1, mode);
}

int mg_write_files_atomic(const struct mg_file_out *f, size_t n, int mode)
{
    if (!n || n > MG_FILES_ATOMIC_MAX)
        return MG_EINVAL;
    char *tmp[MG_FILES_ATOMIC_MAX] = { 0 };
    int fd[MG_FILES_ATOMIC_MAX];
    size_t made = 0;
    int rc = 0;
    for (; made < n && !rc; made++) {
        size_t pl = strlen(f[made].path);
        if (!(tmp[made] = malloc(pl + 32))) {
            rc = MG_ENOMEM;
            break;
        }
        snprintf(tmp[made], pl + 32, "%s.tmp.%ld", f[made].path, (long)getpid());
        fd[made] = open(tmp[made], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd[made] < 0) {
            free(tmp[made]);
            tmp[made] = NULL;
            rc = MG_EIO;
            break;
        }
        const unsigned char *p = f[made].data;
        size_t left = f[made].len;
        while (left && !rc) {
            ssize_t w = write(fd[made], p, left);
            if (w < 0 && errno != EINTR)
                rc = MG_EIO;
            if (w > 0) {
                p += w;
                left -= (size_t)w;
            }
        }
    }
#ifdef SYNC_FILE_RANGE_WRITE
    /* Every file's writeback started before the first fsync: the journal commit that fsync
     * makes then carries all of them, and the later fsyncs find their files already durable
     * (measured on ext4: one commit a file otherwise, about 100 us of CPU each). */
    for (size_t i = 0; i < made && !rc; i++)
        (void)sync_file_range(fd[i], 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
    for (size_t i = 0; i < made && !rc; i++)
        if (fsync(fd[i]) != 0)
            rc = MG_EIO;
    for (size_t i = 0; i < made; i++)
        if (close(fd[i]) != 0 && !rc)
            rc = MG_EIO;
    /* renamed in the caller's order: a reader that finds a later file finds the earlier ones */
    for (size_t i = 0; i < made && !rc; i++)
        if (rename(tmp[i], f[i].path) != 0)
            rc = MG_EIO;
    for (size_t i = 0; i < made; i++) {
        if (rc)
            unlink(tmp[i]);   /* those already renamed are gone from here: no harm */
        free(tmp[i]);
    }
    return rc ? rc : mg_fsync_dir_of(f[0].path);
}

int mg_fsync_dir_of(const char *path)
{
    int rc = 0;
    /* fsync the directory so the rename itself is durable. */
    char *dir = strdup(path);
    if (!dir)
        return MG_ENOMEM;
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash) {
        if (slash == dir) slash[1] = 0; else *slash = 0;
        d = dir;
    }
    int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            rc = MG_EIO;
        close(dfd);
    }
    free(dir);
    return rc;
}
