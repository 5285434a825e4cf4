/* mixgated: the mixgate daemon. Loads the configuration, opens the durable queue, starts the
 * queue manager, the SMTP listeners and the control socket on one libuv loop, and runs in the
 * foreground. SIGTERM/SIGINT: stop accepting, let deliveries in flight finish, stop cleanly.
 * SIGHUP: reload routes, peers, channels and queue settings without dropping sessions. */
#include "channels.h"
#include "daemon.h"
#include "lsw.h"
#include "mg_err.h"
#include "mg_log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: mixgated [-c CONFIG] [-t]\n"
               "  -c CONFIG  configuration file (default /etc/mixgate/mixgate.conf)\n"
               "  -t         check the configuration and exit (like mixgate check-config)\n"
               "Runs in the foreground; logs to stderr or syslog as configured.\n");
}

static int load_config(const char *path, struct config **out)
{
    struct config_errors errs = { 0 };
    int rc = channels_config_load(path, out, &errs);
    for (size_t i = 0; i < errs.n; i++)
        mg_error("event=config_error %s", errs.v[i].text);
    config_errors_free(&errs);
    return rc;
}

static void apply_logging(const struct config *cfg)
{
    mg_log_set_level(cfg->global.log_level);
    if (cfg->global.log == CONFIG_LOG_SYSLOG)
        mg_log_set_syslog(1, "mixgated");
}

static int mkdir_p(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return MG_EINVAL;
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(path, 0750) != 0 && errno != EEXIST)
                return MG_EIO;
            *p = '/';
        }
    }
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
        return MG_EIO;
    return 0;
}

/* ---- shutdown ---------------------------------------------------------------------------- */

static void on_signal_closed(uv_handle_t *h) { (void)h; }

static void finish_stop(struct daemon *d)
{
    queue_store_close(d->store);
    d->store = NULL;
    audit_close(d->audit);
    d->audit = NULL;
    qmgr_free(d->qmgr);
    d->qmgr = NULL;
    lsw_gate_free(d->labels);
    d->labels = NULL;
    uv_close((uv_handle_t *)&d->sig_term, on_signal_closed);
    uv_close((uv_handle_t *)&d->sig_int, on_signal_closed);
    uv_close((uv_handle_t *)&d->sig_hup, on_signal_closed);
    mg_info("event=stopped received=%lu", d->received);
}

static void part_stopped(void *arg)
{
    struct daemon *d = arg;
    if (--d->pending_stops == 0)
        finish_stop(d);
}

static void after_inbound(struct daemon *d)
{
    /* No new messages arrive now; let the deliveries in flight end, then stop. */
    d->pending_stops = 1;
    qmgr_drain(d->qmgr, part_stopped, d); /* also stops the channel instances */
}

static void start_stop(struct daemon *d, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    mg_info("event=stopping reason=%s", why);
    control_server_stop(d->control);
    d->control = NULL;
    inbound_stop(d, after_inbound);
}

static void on_term(uv_signal_t *s, int signum)
{
    start_stop(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* ---- reload ------------------------------------------------------------------------------ */

static void release_old_config(void *arg, const struct config *old)
{
    (void)arg;
    config_free((struct config *)old);
}

static void on_hup(uv_signal_t *s, int signum)
{
    (void)signum;
    struct daemon *d = s->data;
    if (d->stopping)
        return;
    struct config *n = NULL;
    if (load_config(d->config_path, &n) != 0) {
        mg_error("event=reload_failed config=%s detail=\"keeping the running configuration\"", d->config_path);
        return;
    }
    if (lsw_gate_sync(d->labels, n) != 0) { /* the labels group: SPIFs and clearances */
        config_free(n);
        mg_error("event=reload_failed config=%s detail=\"labels: keeping the running configuration\"", d->config_path);
        return;
    }
    /* Listeners are bound sockets: a changed address needs a restart. Say so. */
    for (size_t i = 0; i < d->cfg->n_listeners; i++) {
        const struct config_listener *o = &d->cfg->listeners[i];
        const struct config_listener *l = config_find_listener(n, o->name);
        if (!l || strcmp(l->listen, o->listen))
            mg_warn("event=reload_partial listener=%s detail=\"listen address changes need a restart\"", o->name);
    }
    struct config *old = d->cfg;
    d->cfg = n;
    apply_logging(n);
    qmgr_set_config(d->qmgr, n, release_old_config, d);
    (void)old; /* released by the queue manager once no delivery uses it */
    mg_info("event=reloaded config=%s routes=%zu peers=%zu channels=%zu", d->config_path, n->n_routes,
            n->n_peers, n->n_channels);
}

/* ---- the audit store as the queue manager's sink ---------------------------------------- */

static int audit_sink(void *ctx, const char *qid, const char *channel,
                      const char *const *rcpt_addrs, const struct channel_audit *recs, size_t n,
                      void (*cb)(void *arg, int status), void *arg)
{
    struct daemon *d = ctx;
    if (n > AUDIT_APPEND_MAX)
        return MG_ETOOBIG;
    struct audit_record *r = calloc(n ? n : 1, sizeof *r);
    if (!r)
        return MG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        r[i].qid = qid;
        r[i].rcpt = rcpt_addrs[i] ? rcpt_addrs[i] : "";
        r[i].channel = channel;
        r[i].decision = recs[i].decision;
        r[i].reason = recs[i].reason;
        r[i].subject_kind = recs[i].subject_kind;
        r[i].subject = recs[i].subject;
        r[i].subject_len = recs[i].subject_len;
        r[i].summary = recs[i].summary;
    }
    int rc = audit_append(d->audit, r, n, cb, arg); /* copies the records */
    free(r);
    return rc;
}

/* ---- start ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *conf = "/etc/mixgate/mixgate.conf";
    int check_only = 0;
    int opt;
    while ((opt = getopt(argc, argv, "c:th")) != -1) {
        switch (opt) {
        case 'c': conf = optarg; break;
        case 't': check_only = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* The libuv pool runs envelope and content loads, file deliveries and the processing
     * channels (at most queue.max_processing of those): four threads are too few for all. */
    setenv("UV_THREADPOOL_SIZE", "8", 0);

    struct daemon dd = { 0 };
    struct daemon *d = &dd;
    d->config_path = strdup(conf);
    if (load_config(conf, &d->cfg) != 0)
        mg_fatal("event=config_invalid config=%s", conf);
    if (check_only) {
        printf("%s: ok\n", conf);
        config_free(d->cfg);
        free(d->config_path);
        return 0;
    }
    apply_logging(d->cfg);
    d->loop = uv_default_loop();
    d->started = (int64_t)time(NULL);

    if (mkdir_p(d->cfg->global.var_dir) != 0)
        mg_fatal("event=start_failed detail=\"cannot create var_dir %s: %s\"", d->cfg->global.var_dir, strerror(errno));
    char dbpath[4200];
    snprintf(dbpath, sizeof dbpath, "%s/queue.db", d->cfg->global.var_dir);
    struct queue_store_opts so = { .max_content = d->cfg->global.max_message_size + 1048576 };
    int rc = queue_store_open(&d->store, d->loop, dbpath, &so);
    if (rc != 0)
        mg_fatal("event=start_failed detail=\"cannot open the queue %s: %s\"", dbpath, mg_strerror(rc));
    snprintf(dbpath, sizeof dbpath, "%s/audit.db", d->cfg->global.var_dir);
    struct audit_opts ao = { .retention_s = d->cfg->global.audit_retention };
    if ((rc = audit_open(&d->audit, d->loop, dbpath, &ao)) != 0)
        mg_fatal("event=start_failed detail=\"cannot open the audit store %s: %s\"", dbpath,
                 mg_strerror(rc));
    /* Label access control (every delivery group) and extraction at submission. */
    if ((rc = lsw_gate_create(&d->labels, d->audit)) != 0 || (rc = lsw_gate_sync(d->labels, d->cfg)) != 0)
        mg_fatal("event=start_failed detail=\"labels: %s\"", mg_strerror(rc));
    d->label_hook = (struct submit_label_hook){ .extract = lsw_submit_extract, .commit = lsw_submit_commit,
                                                .ctx = d->labels };
    struct qmgr_opts qo = { .audit = { .append = audit_sink, .ctx = d },
                            .gate = { .check = lsw_gate_check, .ctx = d->labels } };
    if ((rc = qmgr_create(&d->qmgr, d->loop, d->store, d->cfg, &qo)) != 0)
        mg_fatal("event=start_failed detail=\"%s\"", mg_strerror(rc));

    if ((rc = control_server_start(d->loop, d->cfg->global.control_socket, admin_handle, d, &d->control)) != 0)
        mg_fatal("event=start_failed detail=\"cannot listen on the control socket %s\"", d->cfg->global.control_socket);
    if ((rc = inbound_start(d)) != 0)
        mg_fatal("event=start_failed detail=\"cannot start the listeners: %s\"", mg_strerror(rc));
    if ((rc = qmgr_start(d->qmgr)) != 0)
        mg_fatal("event=start_failed detail=\"cannot load the queue: %s\"", mg_strerror(rc));

    uv_signal_init(d->loop, &d->sig_term);
    uv_signal_init(d->loop, &d->sig_int);
    uv_signal_init(d->loop, &d->sig_hup);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
    uv_signal_start(&d->sig_term, on_term, SIGTERM);
    uv_signal_start(&d->sig_int, on_term, SIGINT);
    uv_signal_start(&d->sig_hup, on_hup, SIGHUP);
    mg_info("event=started config=%s var_dir=%s pid=%ld", conf, d->cfg->global.var_dir, (long)getpid());

    uv_run(d->loop, UV_RUN_DEFAULT);
    /* Everything is closed; a last run lets close callbacks finish. */
    uv_run(d->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(d->loop) != 0)
        mg_warn("event=loop_not_empty detail=\"a handle was left open at exit\"");
    config_free(d->cfg);
    free(d->config_path);
    return 0;
}
