/* file_transport: the `file` channel kind. Delivers each recipient into a file in the channel's
 * directory (file_channel.c does the durable write) on the libuv thread pool: fsync is slow and
 * the loop must not wait for it. Options: directory (required). */
#include "file_transport.h"
#include "file_channel.h"
#include "mg_err.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct file_conf {
    char *directory; /* owned */
};

struct file_inst {
    uv_loop_t *loop;       /* borrowed */
    const struct file_conf *conf; /* borrowed from the config */
    size_t inflight;
    atomic_bool dir_ready; /* the directory was made (pool threads read it) */
    void (*stopped)(void *arg);
    void *stopped_arg;
};

struct file_job {
    uv_work_t work;
    struct file_inst *fi;
    struct channel_delivery *d;
};

static int file_configure(const struct config *cfg, const struct config_channel *ch, void **conf,
                          struct config_errors *errs)
{
    static const char *const keys[] = { "directory", NULL };
    int n = config_channel_check_keys(cfg, ch, keys, errs);
    if (n < 0)
        return n;
    const config_setting_t *s = config_setting_get_member(ch->settings, "directory");
    const char *dir = s ? config_setting_get_string(s) : NULL;
    if (!s) {
        config_errors_addf(errs, cfg->path, ch->line, "channel '%s': a file channel needs 'directory'",
                           ch->name);
        return MG_ECONFIG;
    }
    if (!dir || !*dir) {
        config_errors_addf(errs, cfg->path, config_setting_source_line(s),
                           "channel '%s': 'directory' must be a non-empty string", ch->name);
        return MG_ECONFIG;
    }
    if (n > 0)
        return MG_ECONFIG;
    struct file_conf *fc = calloc(1, sizeof *fc);
    if (!fc || !(fc->directory = strdup(dir))) {
        free(fc);
        return MG_ENOMEM;
    }
    *conf = fc;
    return 0;
}

static void file_conf_free(void *conf)
{
    struct file_conf *fc = conf;
    if (fc)
        free(fc->directory);
    free(fc);
}

static void file_conf_dump(const void *conf, FILE *f)
{
    const struct file_conf *fc = conf;
    fputs(" directory = \"", f);
    for (const char *p = fc->directory; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', f);
        fputc(*p, f);
    }
    fputs("\";", f);
}

const char *file_transport_directory(const struct config_channel *ch)
{
    const struct file_conf *fc = ch->conf;
    return fc ? fc->directory : NULL;
}

/* One recipient's copy; X.400 mail as its BER content with the envelope in words beside it. */
static int deliver_rcpt(const struct file_job *fj, size_t i, char *path, size_t pathsize)
{
    const struct channel_delivery *d = fj->d;
    const char *dir = fj->fi->conf->directory;
    size_t len = 0;
    const unsigned char *data = content_data(d->content, &len);
    const struct message *msg = d->msg;
    if (msg->content_type != MESSAGE_CONTENT_X400_P22 &&
        msg->content_type != MESSAGE_CONTENT_X400_REPORT)
        return file_channel_deliver(dir, msg->id, d->rcpts[i], d->originator, d->rcpt_addrs[i],
                                    data, len, path, pathsize);
    char sum[6000];
    snprintf(sum, sizeof sum,
             "Queue-Id: %s\nMTS-Identifier: %s\nOriginator: %s\nRecipient: %s\n"
             "Content-Type: %s\nPriority: %d\nReceived-From: %s\nReceived-Protocol: %s\n"
             "Content-Length: %zu\n",
             msg->id, msg->mts_id ? msg->mts_id : "", d->originator ? d->originator : "",
             d->rcpt_addrs[i],
             msg->content_oid ? msg->content_oid
                              : msg->content_type == MESSAGE_CONTENT_X400_REPORT ? "report" : "",
             msg->priority, msg->received_from ? msg->received_from : "",
             msg->received_proto ? msg->received_proto : "", len);
    return file_channel_deliver_x400(dir, msg->id, d->rcpts[i], sum, data, len, path, pathsize);
}

static void file_work(uv_work_t *w)
{
    struct file_job *fj = w->data;
    struct channel_delivery *d = fj->d;
    const char *dir = fj->fi->conf->directory;
    /* The directory is made once per instance, not per delivery (four mkdir calls each); if a
     * write then fails, it may have been removed since: make it again and retry once. */
    bool ready = atomic_load(&fj->fi->dir_ready);
    int prep = ready ? 0 : file_channel_prepare(dir);
    if (!prep && !ready)
        atomic_store(&fj->fi->dir_ready, true);
    for (size_t i = 0; i < d->nrcpts; i++) {
        char path[4200];
        int rc = prep ? prep : deliver_rcpt(fj, i, path, sizeof path);
        if (rc && !prep && file_channel_prepare(dir) == 0)
            rc = deliver_rcpt(fj, i, path, sizeof path);
        if (rc == 0) {
            char text[4300];
            snprintf(text, sizeof text, "delivered to %s", path);
            channel_outcome_set(&d->outcomes[i], CHANNEL_DELIVERED, 250, "2.0.0", text, NULL);
        } else {
            char text[600];
            snprintf(text, sizeof text, "cannot write into %s: %s", dir, mg_strerror(rc));
            /* A full disk or a permission problem is temporary from the sender's view. */
            channel_outcome_set(&d->outcomes[i], CHANNEL_DEFERRED, 451, "4.3.0", text, NULL);
        }
    }
}

static void file_stop_check(struct file_inst *fi)
{
    if (fi->stopped && fi->inflight == 0) {
        void (*cb)(void *) = fi->stopped;
        fi->stopped = NULL;
        cb(fi->stopped_arg);
    }
}

static void file_after(uv_work_t *w, int status)
{
    struct file_job *fj = w->data;
    struct channel_delivery *d = fj->d;
    struct file_inst *fi = fj->fi;
    if (status == UV_ECANCELED)
        for (size_t i = 0; i < d->nrcpts; i++)
            channel_outcome_set(&d->outcomes[i], CHANNEL_DEFERRED, 451, "4.3.0",
                                "delivery cancelled", NULL);
    free(fj);
    fi->inflight--;
    channel_delivery_done(d);
    file_stop_check(fi);
}

static void file_deliver(void *inst, struct channel_delivery *d)
{
    struct file_inst *fi = inst;
    struct file_job *fj = calloc(1, sizeof *fj);
    if (!fj) {
        for (size_t i = 0; i < d->nrcpts; i++)
            channel_outcome_set(&d->outcomes[i], CHANNEL_DEFERRED, 451, "4.3.0", "out of memory", NULL);
        channel_delivery_done(d);
        return;
    }
    fj->d = d;
    fj->fi = fi;
    fj->work.data = fj;
    fi->inflight++;
    if (uv_queue_work(fi->loop, &fj->work, file_work, file_after) != 0)
        file_after(&fj->work, UV_ECANCELED);
}

static int file_start(const struct channel_env *env, const struct config_channel *ch, void **inst)
{
    struct file_inst *fi = calloc(1, sizeof *fi);
    if (!fi)
        return MG_ENOMEM;
    fi->loop = env->loop;
    atomic_init(&fi->dir_ready, false);
    fi->conf = ch->conf;
    if (!fi->conf) {
        free(fi);
        return MG_EINVAL; /* loaded without the registry: cannot deliver */
    }
    *inst = fi;
    return 0;
}

static void file_stop(void *inst, void (*done)(void *arg), void *arg)
{
    struct file_inst *fi = inst;
    fi->stopped = done;
    fi->stopped_arg = arg;
    file_stop_check(fi);
}

static void file_inst_free(void *inst)
{
    free(inst);
}

const struct channel_kind file_channel_kind = {
    .name = "file",
    .role = CHANNEL_ROLE_DELIVERY,
    .peer = CHANNEL_PEER_NONE,
    .configure = file_configure,
    .conf_free = file_conf_free,
    .conf_dump = file_conf_dump,
    .start = file_start,
    .deliver = file_deliver,
    .stop = file_stop,
    .inst_free = file_inst_free,
};
