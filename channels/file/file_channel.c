/* file_channel: local delivery of one message copy per recipient into a directory. */
#include "file_channel.h"
#include "mg_buf.h"
#include "mg_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int file_channel_prepare(const char *dir)
{
    char path[4096];
    if (!dir || !*dir || strlen(dir) >= sizeof path)
        return MG_EINVAL;
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0750) != 0 && errno != EEXIST)
            return MG_EIO;
        *p = '/';
    }
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
        return MG_EIO;
    return 0;
}

/* Header values come from the envelope, which the SMTP server has already checked; still,
 * never let a CR or LF from it split the header. */
static int append_header(struct mg_buf *b, const char *name, const char *val)
{
    int rc = mg_buf_appendf(b, "%s: <", name);
    for (const char *p = val; !rc && *p; p++)
        if (*p != '\r' && *p != '\n')
            rc = mg_buf_append(b, p, 1);
    return rc ? rc : mg_buf_append(b, ">\r\n", 3);
}

int file_channel_deliver(const char *dir, const char *qid, unsigned rcpt_index,
                         const char *sender, const char *rcpt,
                         const unsigned char *content, size_t len,
                         char *path_out, size_t path_out_len)
{
    if (!dir || !qid || !rcpt || (!content && len))
        return MG_EINVAL;
    for (const char *p = qid; *p; p++)     /* the id becomes a file name */
        if (*p == '/' || *p == '.')
            return MG_EINVAL;
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s.%u.eml", dir, qid, rcpt_index);
    if (n < 0 || (size_t)n >= sizeof path)
        return MG_EINVAL;
    struct mg_buf b;
    mg_buf_init(&b, 0);
    int rc = append_header(&b, "Return-Path", sender ? sender : "");
    if (!rc)
        rc = append_header(&b, "Delivered-To", rcpt);
    if (!rc)
        rc = mg_buf_append(&b, content, len);
    if (!rc)
        rc = mg_write_file_atomic(path, b.data, b.len, 0640);
    mg_buf_free(&b);
    if (!rc && path_out && path_out_len)
        snprintf(path_out, path_out_len, "%s", path);
    return rc;
}

int file_channel_deliver_x400(const char *dir, const char *qid, unsigned rcpt_index,
                              const char *summary, const unsigned char *content, size_t len,
                              char *path_out, size_t path_out_len)
{
    if (!dir || !qid || !summary || (!content && len))
        return MG_EINVAL;
    for (const char *p = qid; *p; p++)     /* the id becomes a file name */
        if (*p == '/' || *p == '.')
            return MG_EINVAL;
    char path[4096], txt[4096];
    int n = snprintf(path, sizeof path, "%s/%s.%u.ber", dir, qid, rcpt_index);
    int m = snprintf(txt, sizeof txt, "%s/%s.%u.txt", dir, qid, rcpt_index);
    if (n < 0 || (size_t)n >= sizeof path || m < 0 || (size_t)m >= sizeof txt)
        return MG_EINVAL;
    /* The summary first: a reader that finds the content finds its envelope beside it. Both
     * files are synced together and their renames made durable by one fsync of the directory
     * (before the delivery is reported): a crash before it leaves the delivery unreported, and
     * it is made again. */
    const struct mg_file_out f[2] = {
        { txt, summary, strlen(summary) },
        { path, content ? content : (const unsigned char *)"", len },
    };
    int rc = mg_write_files_atomic(f, 2, 0640);
    if (!rc && path_out && path_out_len)
        snprintf(path_out, path_out_len, "%s", path);
    return rc;
}
