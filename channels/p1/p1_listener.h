/* p1_listener: the inbound P1 side on libuv: a TCP listener (RFC 1006) whose connections
 * each drive one responder p1_assoc. It knows nothing of the queue: the owner decides each
 * bind (callback) and stores each transferred MTS-APDU (callback), then says when it is
 * durable (p1_conn_apdu_done); only then is the transfer confirmed to the peer. A connection
 * whose peer goes away while the owner is storing stays allocated until p1_conn_apdu_done.
 * One close path per connection; handles are freed in their close callbacks. */
#ifndef P1_LISTENER_H
#define P1_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "p1_assoc.h"
#include "p1_twa.h"

struct p1_listener;
struct p1_conn;

struct p1_listener_opts {
    const char *listen;          /* "a.b.c.d:port" / "[v6]:port"; port 0 = any (tests) */
    unsigned max_assocs;         /* associations at once; more get the bind error busy */
    unsigned idle_timeout_ms;    /* no bytes for this long: abort (0 = 600 s) */
    size_t max_apdu;             /* largest transfer accepted (0 = 64 MiB) */
    struct p1_sel tsel, ssel, psel; /* our selectors: a connect naming others is refused */
};

struct p1_listener_cbs {
    /* A bind request. Return 0 to accept (fill *ours: our MTA name and password) or 1 to
     * refuse with *err (P1_BIND_ERR_*); the callee logs why. busy: the listener is at
     * max_assocs (the callee should refuse with P1_BIND_ERR_BUSY). */
    int (*bind)(void *arg, struct p1_conn *c, const struct p1_ind *ind, int busy,
                struct p1_bind *ours, long *err);
    /* A transferred MTS-APDU (valid during the call only). The owner calls
     * p1_conn_apdu_done(c, status) exactly once, now or later. */
    void (*apdu)(void *arg, struct p1_conn *c, const uint8_t *apdu, size_t len);
    /* Optional, all three or none: our messages for the bound peer of a two-way-alternate
     * association (p1_twa): whether some wait, take the next (apdu borrowed until out_done,
     * tok the owner's), and each one's outcome (enum p1_twa_outcome), exactly once. With
     * none, or in monologue, an inbound association never sends. */
    int (*out_pending)(void *arg, struct p1_conn *c);
    int (*out_next)(void *arg, struct p1_conn *c, const uint8_t **apdu, size_t *len, void **tok);
    void (*out_done)(void *arg, struct p1_conn *c, void *tok, int outcome, const char *reason);
    /* Optional: an association whose bind was accepted has ended (closing; p1_conn_peer_mta
     * still names the peer, and p1_listener_twa_bound no longer counts it). */
    void (*unbound)(void *arg, struct p1_conn *c);
};

int p1_listener_create(struct p1_listener **out, uv_loop_t *loop,
                       const struct p1_listener_opts *o, const struct p1_listener_cbs *cbs,
                       void *arg);
int p1_listener_port(const struct p1_listener *l);
/* Stop listening, abort the associations; done(arg) when every handle is closed (the
 * connections waiting for p1_conn_apdu_done are released by it). */
void p1_listener_close(struct p1_listener *l, void (*done)(void *arg), void *arg);

/* The APDU of the last apdu callback: status 0 = durable (confirm the transfer), else the
 * association is aborted (the peer keeps the message and retries). */
void p1_conn_apdu_done(struct p1_conn *c, int status);
const char *p1_conn_peer_addr(const struct p1_conn *c);  /* numeric */
const char *p1_conn_id(const struct p1_conn *c);         /* for log lines */
const char *p1_conn_peer_mta(const struct p1_conn *c);   /* after an accepted bind, else "" */
/* 1 when an association of the peer bound as mta is open in two-way-alternate dialogue with
 * the out_* callbacks (so our messages for it can go over it), else 0. */
int p1_listener_twa_bound(const struct p1_listener *l, const char *mta);
/* Messages for the peer bound as mta may now be waiting: its two-way-alternate associations
 * ask for the turn. */
void p1_listener_out_kick(struct p1_listener *l, const char *mta);

#endif
