/* mixgated: the mixgate daemon. Loads the configuration, opens the durable queue, starts the
 * queue manager, the SMTP listeners and the control socket on one libuv loop, and runs in the
 * foreground. SIGTERM/SIGINT: stop accepting, let deliveries in flight finish, stop cleanly.
 * SIGHUP: reload routes, peers, channels and queue settings without dropping sessions. */
#include "channels.h"
#include "cms_keyproc.h"
#include "daemon.h"
#include "lsw.h"
#include "inbound_p1.h"
#include "mg_err.h"
#include "metrics.h"
#include "mg_log.h"
#include "service.h"

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
    fprintf(f, "usage: mixgated [-c CONFIG] [-t] [-u USER] [-R]\n"
               "  -c CONFIG  configuration file (default /etc/mixgate/mixgate.conf)\n"
               "  -t         check the configuration and exit (like mixgate check-config)\n"
               "  -u USER    started as root: run as USER after binding (overrides global.user)\n"
               "  -R         development only: started as root with no user, keep running as root\n"
               "             (make run, benchmarks, tests in a tree other users cannot reach)\n"
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

/* Each channel instance's own metric families (the cms channel's crypto counters); metrics are
 * no reason to refuse a configuration: a failure is logged. */
static void channel_metrics(struct metrics *m, const struct config *cfg)
{
    for (size_t i = 0; m && i < cfg->n_channels; i++) {
        const struct config_channel *ch = &cfg->channels[i];
        int rc = ch->kind && ch->kind->metrics && ch->conf ? ch->kind->metrics(ch->conf, m) : 0;
        if (rc)
            mg_warn("event=metrics_failed channel=%s detail=\"%s\"", ch->name, mg_strerror(rc));
    }
}

static void apply_logging(const struct config *cfg)
{
    mg_log_set_level(cfg->global.log_level);
    if (cfg->global.log != CONFIG_LOG_SYSLOG) {
        mg_log_set_syslog(0, NULL);
    } else if (!service_syslog_available()) {
        /* syslog() would drop every line without a word: say so where someone looks. */
        mg_log_set_syslog(0, NULL);
        mg_warn("event=syslog_unavailable detail=\"log = syslog, but nothing listens on /dev/log: "
                "logging to stderr\"");
    } else {
        mg_log_set_syslog(1, "mixgated");
    }
}

/* sd_notify; a failure is worth a line, never a stop. */
static void notify(const char *state)
{
    int rc = service_notify(state);
    if (rc != 0)
        mg_warn("event=notify_failed state=%.*s error=\"%s\"", (int)strcspn(state, "\n"), state,
                mg_strerror(rc));
}

static void check_private_or_die(const char *path, int must_exist, const struct service_user *owner)
{
    char why[4600];
    if (service_check_private(path, must_exist, owner, why, sizeof why) != 0)
        mg_fatal("event=start_failed detail=\"%s\"", why);
}

/* ---- shutdown ---------------------------------------------------------------------------- */

static void on_signal_closed(uv_handle_t *h) { (void)h; }

static void on_log_flush(uv_prepare_t *h)
{
    (void)h;
    mg_log_flush();
}

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
    uv_close((uv_handle_t *)&d->sig_chld, on_signal_closed);
    mg_info("event=stopped received=%lu", d->received);
    mg_log_batch(0);
    uv_close((uv_handle_t *)&d->log_flush, on_signal_closed);
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
    notify("STOPPING=1");
    mg_info("event=stopping reason=%s", why);
    control_server_stop(d->control);
    d->control = NULL;
    metrics_server_stop(d);
    inbound_stop(d, after_inbound);
}

static void on_term(uv_signal_t *s, int signum)
{
    start_stop(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* ---- the key process --------------------------------------------------------------------- */

/* The hidden option that makes mixgated the key process (cms_keyproc_spawn_exec). */
#define KEYPROC_FLAG "-K"

/* Starts the key process when the configuration at path needs it and none runs (at start, or
 * at a reload: fork and exec, so it inherits nothing of ours), and publishes its fd for the cms
 * channels' configure(). Returns 0 or MG_EIO. */
static int keyproc_ensure(struct daemon *d, bool needs)
{
    if (!needs || d->keyproc_fd >= 0)
        return 0;
    int rc = cms_keyproc_spawn_exec("/proc/self/exe", KEYPROC_FLAG, &d->keyproc_fd, &d->keyproc_pid);
    if (rc != 0)
        return rc;
    char fdtext[16];
    snprintf(fdtext, sizeof fdtext, "%d", d->keyproc_fd);
    setenv(CMS_KEYPROC_ENV, fdtext, 1);
    mg_info("event=keyproc_started pid=%ld", (long)d->keyproc_pid);
    return 0;
}

/* The configuration no longer needs the key process: no new key is loaded from it; it ends
 * by itself once the configuration being replaced frees the keys it holds. */
static void keyproc_retire(struct daemon *d)
{
    if (d->keyproc_fd < 0)
        return;
    unsetenv(CMS_KEYPROC_ENV);
    cms_keyproc_retire(d->keyproc_fd);
    mg_info("event=keyproc_retired pid=%ld", (long)d->keyproc_pid);
    if (d->n_keyproc_retired < sizeof d->keyproc_retired / sizeof *d->keyproc_retired)
        d->keyproc_retired[d->n_keyproc_retired++] = d->keyproc_pid;
    else
        mg_warn("event=keyproc_unreaped pid=%ld detail=\"too many retired key processes\"",
                (long)d->keyproc_pid);
    d->keyproc_fd = -1;
    d->keyproc_pid = -1;
}

static void keyproc_reap(struct daemon *d)
{
    size_t k = 0;
    for (size_t i = 0; i < d->n_keyproc_retired; i++) {
        if (cms_keyproc_reaped(d->keyproc_retired[i]))
            mg_info("event=keyproc_ended pid=%ld", (long)d->keyproc_retired[i]);
        else
            d->keyproc_retired[k++] = d->keyproc_retired[i];
    }
    d->n_keyproc_retired = k;
}

static void on_chld(uv_signal_t *s, int signum)
{
    (void)signum;
    struct daemon *d = s->data;
    keyproc_reap(d);
    if (d->keyproc_pid > 0 && cms_keyproc_reaped(d->keyproc_pid)) {
        /* the key process died under a configuration that needs it: its keys fail from now
         * on (messages are held or deferred, never sent in clear); a reload starts another */
        mg_error("event=keyproc_died pid=%ld detail=\"private-key operations fail until a "
                 "reload or restart\"", (long)d->keyproc_pid);
        unsetenv(CMS_KEYPROC_ENV);
        close(d->keyproc_fd);
        d->keyproc_fd = -1;
        d->keyproc_pid = -1;
    }
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
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char st[96];
    snprintf(st, sizeof st, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u);
    notify(st);
    struct config *n = NULL;
    bool needs = false;
    int started_here = d->keyproc_fd < 0;
    if (channels_config_needs_keys(d->config_path, &needs) == 0 && keyproc_ensure(d, needs) != 0) {
        mg_error("event=reload_failed config=%s detail=\"cannot start the key process\"", d->config_path);
        notify("READY=1");
        return;
    }
    started_here = started_here && d->keyproc_fd >= 0;
    if (load_config(d->config_path, &n) != 0) {
        mg_error("event=reload_failed config=%s detail=\"keeping the running configuration\"", d->config_path);
        if (started_here) /* the running configuration did without it */
            keyproc_retire(d);
        notify("READY=1");
        return;
    }
    if (!needs)
        keyproc_retire(d);
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
    channel_metrics(d->metrics, n);
    struct config *old = d->cfg;
    d->cfg = n;
    apply_logging(n);
    qmgr_set_config(d->qmgr, n, release_old_config, d);
    inbound_p1_channels_started(d);
    (void)old; /* released by the queue manager once no delivery uses it */
    /* idle destinations of the old configuration let go of it now, not at the next message:
     * its keys (and a retired key process) are freed as soon as nothing uses them */
    qmgr_kick(d->qmgr);
    mg_info("event=reloaded config=%s routes=%zu peers=%zu channels=%zu", d->config_path, n->n_routes,
            n->n_peers, n->n_channels);
    notify("READY=1");
}

/* ---- recipient outcomes into the metrics ------------------------------------------------- */

/* Registered once, when the registry exists; the sink only looks them up by pointer (it runs
 * for every recipient recorded). */
static int outcome_families(struct daemon *d)
{
    static const char *const lr[] = { "channel", "peer", "outcome" };
    static const char *const ll[] = { "channel" };
    int rc = metrics_family(d->metrics, "mixgate_recipients_total",
                            "Recipient outcomes recorded, by channel, peer and outcome",
                            METRICS_COUNTER, lr, 3, NULL, 0, &d->m_rcpts);
    if (rc == 0)
        rc = metrics_family(d->metrics, "mixgate_delivery_latency_seconds",
                            "Seconds from arrival to delivery or relay, by channel",
                            METRICS_HISTOGRAM, ll, 1, METRICS_LATENCY_BUCKETS,
                            METRICS_LATENCY_NBUCKETS, &d->m_latency);
    return rc;
}

static void outcome_sink(void *ctx, const struct config_channel *ch, const struct config_peer *peer,
                         enum message_rcpt_state state, int64_t latency)
{
    struct daemon *d = ctx;
    if (!d->m_rcpts || !d->m_latency)
        return;
    const char *chn = ch ? ch->name : "-";
    const char *v[3] = { chn, peer ? peer->name : "-", message_rcpt_state_name(state) };
    metrics_inc(d->m_rcpts, v, 1);
    if (state == MESSAGE_RCPT_DELIVERED)
        metrics_observe(d->m_latency, v, (double)(latency < 0 ? 0 : latency));
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
    const char *user = NULL;
    int check_only = 0;
    int opt;
    int allow_root = 0;
    /* the key process (keyproc_ensure) runs this program with -K FD and nothing else */
    if (argc == 3 && !strcmp(argv[1], KEYPROC_FLAG)) {
        char *end;
        long fd = strtol(argv[2], &end, 10);
        if (*end || fd < 3 || fd > 65535)
            return 2;
        cms_keyproc_main((int)fd);
        _exit(0); /* nothing to flush; the threads' memory goes with the process */
    }
    while ((opt = getopt(argc, argv, "c:thu:R")) != -1) {
        switch (opt) {
        case 'c': conf = optarg; break;
        case 'R': allow_root = 1; break;
        case 'u': user = optarg; break;
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

    struct daemon dd = { .lock_fd = -1, .keyproc_fd = -1, .keyproc_pid = -1 };
    struct daemon *d = &dd;
    /* The key process (channels/cms/cms_keyproc.h) holds every private key the cms channels
     * use: started first, before any key or socket is opened in this process, and only when a
     * cms channel names a key (a probe load that loads no key decides). An inherited variable
     * never stands for it. */
    unsetenv(CMS_KEYPROC_ENV);
    if (!check_only) {
        bool needs = false;
        if (channels_config_needs_keys(conf, &needs) == 0 && keyproc_ensure(d, needs) != 0)
            mg_fatal("event=start_failed detail=\"cannot start the key process\"");
    }
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
    if (user) {
        free(d->cfg->global.user);
        if (!(d->cfg->global.user = strdup(user)))
            mg_fatal("event=start_failed detail=\"out of memory\"");
    }
    d->loop = uv_default_loop();
    d->started = (int64_t)time(NULL);
    /* Signals first: a SIGTERM that arrives once the control socket exists (a supervisor
     * or test that saw it) must drain the daemon, not kill it with the default action. The
     * handlers run only once the loop runs, after everything below is up. */
    uv_signal_init(d->loop, &d->sig_term);
    uv_signal_init(d->loop, &d->sig_int);
    uv_signal_init(d->loop, &d->sig_hup);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
    uv_signal_start(&d->sig_term, on_term, SIGTERM);
    uv_signal_start(&d->sig_int, on_term, SIGINT);
    uv_signal_start(&d->sig_hup, on_hup, SIGHUP);
    uv_signal_init(d->loop, &d->sig_chld);
    d->sig_chld.data = d;
    /* The loop thread's log lines go out in one write per loop iteration, just before the
     * loop waits: a busy relay logs several lines per message, a write(2) each was a tenth of
     * the loop thread's time. */
    uv_prepare_init(d->loop, &d->log_flush);
    uv_prepare_start(&d->log_flush, on_log_flush);
    uv_unref((uv_handle_t *)&d->log_flush);
    mg_log_batch(1);
    uv_signal_start(&d->sig_chld, on_chld, SIGCHLD);

    /* Who we run as: never root. Started as root, we bind the listeners (ports 25 and 102),
     * then become global.user for good; otherwise we are whoever started us (systemd's
     * User= with CAP_NET_BIND_SERVICE). */
    const char *var = d->cfg->global.var_dir;
    struct service_user su, *owner = NULL;
    int rc;
    if (geteuid() == 0 && !d->cfg->global.user && allow_root) {
        mg_warn("event=running_as_root detail=\"-R: for development and tests only; set "
                "global.user in production\"");
    } else if (geteuid() == 0) {
        if (!d->cfg->global.user)
            mg_fatal("event=start_failed detail=\"mixgated does not run as root: set global.user "
                     "(e.g. user = mixgate), it binds the listeners as root and then runs as that user\"");
        if ((rc = service_user_lookup(d->cfg->global.user, &su)) != 0)
            mg_fatal("event=start_failed detail=\"global.user %s: no such user; create it (adduser "
                     "--system --group %s) or name another\"", d->cfg->global.user, d->cfg->global.user);
        if (su.uid == 0)
            mg_fatal("event=start_failed detail=\"global.user %s is root: name an unprivileged user\"",
                     d->cfg->global.user);
        owner = &su;
    } else if (d->cfg->global.user && service_user_lookup(d->cfg->global.user, &su) == 0 &&
               su.uid != getuid()) {
        mg_warn("event=user_ignored user=%s detail=\"not started as root: running as uid %u\"",
                d->cfg->global.user, (unsigned)getuid());
    }
    umask(0077); /* the queue, the audit store and the spool are private from birth */
    if (service_mkdir_private(var, owner) != 0)
        mg_fatal("event=start_failed detail=\"cannot create var_dir %s: %s\"", var, strerror(errno));
    check_private_or_die(var, 1, owner);
    /* Before anything touches the socket or the queue: one daemon per var_dir. */
    long holder = 0;
    if ((rc = service_lock(var, owner, &d->lock_fd, &holder)) != 0) {
        if (rc == MG_EEXIST)
            mg_fatal("event=start_failed detail=\"another mixgated (pid %ld) is running on var_dir %s; "
                     "stop it first\" pid=%ld", holder, var, holder);
        mg_fatal("event=start_failed detail=\"cannot lock %s/mixgated.lock: %s\"", var, strerror(errno));
    }
    static const char *const private_files[] = { "queue.db", "queue.db-wal", "queue.db-shm", "audit.db",
                                                 "audit.db-wal", "audit.db-shm" };
    char dbpath[4200];
    for (size_t i = 0; i < sizeof private_files / sizeof *private_files; i++) {
        snprintf(dbpath, sizeof dbpath, "%s/%s", var, private_files[i]);
        check_private_or_die(dbpath, 0, owner);
    }
    if ((rc = inbound_start(d)) != 0)
        mg_fatal("event=start_failed detail=\"cannot start the listeners: %s\"", mg_strerror(rc));
    if ((rc = metrics_create(&d->metrics)) != 0 || (rc = outcome_families(d)) != 0 ||
        (rc = metrics_server_start(d)) != 0)
        mg_fatal("event=start_failed detail=\"cannot start the metrics listener %s: %s\"",
                 d->cfg->global.metrics_listen ? d->cfg->global.metrics_listen : "-", mg_strerror(rc));
    channel_metrics(d->metrics, d->cfg);
    if (owner) {
        if (service_drop_privileges(owner) != 0)
            mg_fatal("event=start_failed detail=\"cannot switch to user %s: %s\"", owner->name,
                     strerror(errno));
        mg_info("event=privileges_dropped user=%s uid=%u gid=%u", owner->name, (unsigned)owner->uid,
                (unsigned)owner->gid);
    }

    snprintf(dbpath, sizeof dbpath, "%s/queue.db", var);
    struct queue_store_opts so = { .max_content = d->cfg->global.max_message_size + 1048576 };
    rc = queue_store_open(&d->store, d->loop, dbpath, &so);
    if (rc != 0)
        mg_fatal("event=start_failed detail=\"cannot open the queue %s: %s\"", dbpath, mg_strerror(rc));
    snprintf(dbpath, sizeof dbpath, "%s/audit.db", var);
    struct audit_opts ao = { .retention_s = d->cfg->global.audit_retention };
    if ((rc = audit_open(&d->audit, d->loop, dbpath, &ao)) != 0)
        mg_fatal("event=start_failed detail=\"cannot open the audit store %s: %s\"", dbpath,
                 mg_strerror(rc));
    /* Label access control (every delivery group) and extraction at submission. */
    if ((rc = lsw_gate_create(&d->labels, d->audit)) != 0 || (rc = lsw_gate_metrics(d->labels, d->metrics)) != 0 ||
        (rc = lsw_gate_sync(d->labels, d->cfg)) != 0)
        mg_fatal("event=start_failed detail=\"labels: %s\"", mg_strerror(rc));
    d->label_hook = (struct submit_label_hook){ .extract = lsw_submit_extract, .commit = lsw_submit_commit,
                                                .ctx = d->labels };
    struct qmgr_opts qo = { .audit = { .append = audit_sink, .ctx = d },
                            .gate = { .check = lsw_gate_check, .needed = lsw_gate_needed,
                                      .report_label = lsw_gate_report_label,
                                      .ctx = d->labels },
                            .route_label = { .match = lsw_gate_route_match, .ctx = d->labels },
                            .outcomes = { .recorded = outcome_sink, .ctx = d } };
    inbound_p1_report_opts(d, &qo);
    if ((rc = qmgr_create(&d->qmgr, d->loop, d->store, d->cfg, &qo)) != 0)
        mg_fatal("event=start_failed detail=\"%s\"", mg_strerror(rc));

    if ((rc = control_server_start(d->loop, d->cfg->global.control_socket, admin_handle, d, &d->control)) != 0)
        mg_fatal("event=start_failed detail=\"cannot listen on the control socket %s\"", d->cfg->global.control_socket);
    if ((rc = qmgr_start(d->qmgr)) != 0)
        mg_fatal("event=start_failed detail=\"cannot load the queue: %s\"", mg_strerror(rc));
    inbound_p1_channels_started(d);

    mg_info("event=started config=%s var_dir=%s pid=%ld uid=%u", conf, var, (long)getpid(), (unsigned)getuid());
    notify("READY=1\nSTATUS=accepting mail");

    uv_run(d->loop, UV_RUN_DEFAULT);
    /* Everything is closed; a last run lets close callbacks finish. */
    uv_run(d->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(d->loop) != 0)
        mg_warn("event=loop_not_empty detail=\"a handle was left open at exit\"");
    metrics_free(d->metrics);
    config_free(d->cfg);
    free(d->config_path);
    cms_keyproc_stop(d->keyproc_fd, d->keyproc_pid);
    for (size_t i = 0; i < d->n_keyproc_retired; i++) /* every configuration is freed: they end */
        cms_keyproc_stop(-1, d->keyproc_retired[i]);
    close(d->lock_fd); /* the lock goes last: nothing of ours is left in var_dir's use */
    return 0;
}
