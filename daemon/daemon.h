/* daemon: the shared state of mixgated (one per process, passed explicitly) and the entry
 * points of its parts: inbound (SMTP listeners -> queue), transports (queue -> file, SMTP),
 * admin (control socket requests). */
#ifndef DAEMON_H
#define DAEMON_H

#include <uv.h>

#include "config.h"
#include "control.h"
#include "qmgr.h"
#include "queue_store.h"

struct smtp_server;
struct tls_io_ctx;
struct smtp_pool;

struct listener_rt {
    struct daemon *d;
    char *name;                    /* owned: the listener's name, looked up per use so a
                                      reload's new settings apply */
    struct smtp_server *srv;
    struct tls_io_ctx *tls;        /* owned */
};

struct daemon {
    uv_loop_t *loop;
    char *config_path;             /* owned */
    struct config *cfg;            /* owned: the current configuration */
    struct queue_store *store;
    struct qmgr *qmgr;
    struct control_server *control;
    struct smtp_pool *smtp_pool;
    struct listener_rt *listeners; /* owned array */
    size_t nlisteners;
    size_t listeners_open;
    void (*inbound_stopped)(struct daemon *d);
    uv_signal_t sig_term, sig_int, sig_hup;
    int stopping;
    int pending_stops;             /* parts still stopping (qmgr, smtp pool) */
    int64_t started;
    unsigned long received, rejected;
};

/* inbound.c */
int inbound_start(struct daemon *d);
void inbound_stop(struct daemon *d, void (*done)(struct daemon *d));

/* transport_file.c */
struct qmgr_transport transport_file(uv_loop_t *loop);
/* transport_smtp.c */
int smtp_pool_create(struct smtp_pool **out, uv_loop_t *loop, struct daemon *d);
void smtp_pool_close(struct smtp_pool *p, void (*done)(void *arg), void *arg);
void smtp_pool_deliver(void *pool, struct qmgr_delivery *del);
size_t smtp_pool_connections(const struct smtp_pool *p);

/* admin.c */
void admin_handle(void *ctx, struct control_req *req, int argc, char **argv);

#endif
