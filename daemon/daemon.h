/* daemon: the shared state of mixgated (one per process, passed explicitly) and the entry
 * points of its parts: inbound (SMTP listeners -> queue), transports (queue -> file, SMTP),
 * admin (control socket requests). */
#ifndef DAEMON_H
#define DAEMON_H

#include <uv.h>

#include "audit.h"
#include "config.h"
#include "control.h"
#include "qmgr.h"
#include "queue_store.h"
#include "submit.h"

struct metrics;
struct metrics_family;
struct metrics_server;
struct smtp_server;
struct lsw_gate;
struct p1_listener;
struct tls_io_ctx;

struct listener_rt {
    struct daemon *d;
    char *name;                    /* owned: the listener's name, looked up per use so a
                                      reload's new settings apply */
    struct smtp_server *srv;
    struct p1_listener *p1;        /* a p1 listener (srv is NULL then) */
    struct tls_io_ctx *tls;        /* owned */
    char listen[160];              /* the address bound at start (a reload does not rebind) */
    int port;                      /* the port bound (the kernel's choice for port 0) */
};

struct daemon {
    uv_loop_t *loop;
    char *config_path;             /* owned */
    struct config *cfg;            /* owned: the current configuration */
    struct queue_store *store;
    struct audit *audit;           /* <var_dir>/audit.db: every security decision */
    struct qmgr *qmgr;
    struct lsw_gate *labels;       /* label access control and extraction (channels/labels) */
    struct submit_label_hook label_hook; /* extract NULL = none */
    struct control_server *control;
    struct listener_rt *listeners; /* owned array */
    size_t nlisteners;
    size_t listeners_open;
    void (*inbound_stopped)(struct daemon *d);
    uv_signal_t sig_term, sig_int, sig_hup;
    int stopping;
    int pending_stops;             /* parts still stopping (the qmgr and its channels) */
    int64_t started;
    struct metrics *metrics;       /* owned: the registry (channels may register families) */
    struct metrics_family *m_rcpts, *m_latency; /* the outcome families, registered once */
    struct metrics_server *metrics_srv; /* the scrape listener, NULL when off */
    int lock_fd;                   /* flock on <var_dir>/mixgated.lock, held for life */
    unsigned long received, rejected;
    struct oraddr x400_gdi;        /* copy of global.x400_domain at start (X.400 reports) */
    int has_x400_gdi;
    /* The key process (channels/cms/cms_keyproc.h), only while the configuration has a cms
     * channel with a private key: the bootstrap fd and the child, or -1 / -1. */
    int keyproc_fd;
    pid_t keyproc_pid;
    /* Key processes a reload retired: they end once the old configuration frees its keys. */
    pid_t keyproc_retired[16];
    size_t n_keyproc_retired;
    uv_signal_t sig_chld;
    uv_prepare_t log_flush;      /* writes the loop thread's batched log lines before it waits */
};

/* inbound.c */
int inbound_start(struct daemon *d);
void inbound_stop(struct daemon *d, void (*done)(struct daemon *d));

/* metrics_server.c: global.metrics_listen (nothing when unset); stop closes the listener and
 * any scrape in progress. */
int metrics_server_start(struct daemon *d);
void metrics_server_stop(struct daemon *d);

/* admin.c */
void admin_handle(void *ctx, struct control_req *req, int argc, char **argv);
/* "2026-12-07T10:00:00Z" (UTC), or "-" for 0. */
void admin_fmt_time(int64_t t, char *buf, size_t n);
/* The route the queue manager takes for recipient r of m under the running configuration:
 * route_lookup_msg with the label the switch routes by (that of r's content version when a
 * processing stage such as a shaper set one, else the envelope's), so the operator tools
 * (`queue show`, `queue list --peer/--channel`, bulk operations, `peers`) see what the switch
 * does. 0 (*rt set), MG_ENOTFOUND, MG_ETEMP (label routing cannot decide now). Loop thread. */
struct message_rcpt;
struct config_route;
int admin_route_rcpt(struct daemon *d, const struct message *m, const struct message_rcpt *r,
                     const struct config_route **rt);

#endif
