/* transport_file: the qmgr transport for `file` channels. Writes one file per recipient on the
 * libuv thread pool (fsync is slow; the loop must not wait for it). */
#include "daemon.h"
#include "file_channel.h"
#include "mg_err.h"

#include <stdio.h>
#include <stdlib.h>

struct file_job {
    uv_work_t work;
    struct qmgr_delivery *d;
};

static void file_work(uv_work_t *w)
{
    struct file_job *fj = w->data;
    struct qmgr_delivery *d = fj->d;
    const char *dir = d->channel->directory;
    int prep = file_channel_prepare(dir);
    for (size_t i = 0; i < d->nrcpts; i++) {
        const struct message_rcpt *r = &d->msg->rcpts[d->rcpts[i]];
        char path[4200];
        int rc = prep ? prep
                      : file_channel_deliver(dir, d->msg->id, d->rcpts[i], d->msg->originator,
                                             r->addr, d->content, d->content_len, path, sizeof path);
        if (rc == 0) {
            char text[4300];
            snprintf(text, sizeof text, "delivered to %s", path);
            qmgr_delivery_set(d, i, 250, "2.0.0", text, NULL);
        } else {
            char text[600];
            snprintf(text, sizeof text, "cannot write into %s: %s", dir, mg_strerror(rc));
            /* A full disk or a permission problem is temporary from the sender's view. */
            qmgr_delivery_set(d, i, 451, "4.3.0", text, NULL);
        }
    }
}

static void file_after(uv_work_t *w, int status)
{
    struct file_job *fj = w->data;
    struct qmgr_delivery *d = fj->d;
    if (status == UV_ECANCELED)
        for (size_t i = 0; i < d->nrcpts; i++)
            qmgr_delivery_set(d, i, 451, "4.3.0", "delivery cancelled", NULL);
    free(fj);
    qmgr_delivery_done(d);
}

static void file_deliver(void *arg, struct qmgr_delivery *d)
{
    uv_loop_t *loop = arg;
    struct file_job *fj = calloc(1, sizeof *fj);
    if (!fj) {
        for (size_t i = 0; i < d->nrcpts; i++)
            qmgr_delivery_set(d, i, 451, "4.3.0", "out of memory", NULL);
        qmgr_delivery_done(d);
        return;
    }
    fj->d = d;
    fj->work.data = fj;
    if (uv_queue_work(loop, &fj->work, file_work, file_after) != 0)
        file_after(&fj->work, UV_ECANCELED);
}

struct qmgr_transport transport_file(uv_loop_t *loop)
{
    struct qmgr_transport t = { .deliver = file_deliver, .arg = loop };
    return t;
}
