/* p1_channel: the `p1` delivery channel kind (X.400 P1 to the route's x400 peer), and what
 * it lends to an inbound two-way-alternate association of that peer (p1_listener, p1_twa):
 * the deliveries waiting for the peer, one at a time, each outcome reported exactly as on
 * the channel's own associations (RELAYED only once the peer confirmed the transfer). */
#ifndef P1_CHANNEL_H
#define P1_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"

extern const struct channel_kind p1_channel_kind;

struct p1_lease;
enum { P1_LEASE_CONFIRMED = 0, P1_LEASE_REFUSED, P1_LEASE_LOST };  /* = enum p1_twa_outcome */

/* inst: a started p1 instance; peer: the x400 peer's configured name. 1 when deliveries wait
 * for it (not while stopping). */
int p1_channel_waiting(void *inst, const char *peer);
/* Take the next waiting delivery for peer as an MTS-APDU (*apdu valid until the lease is
 * done): 1 and *out, or 0 when none. */
int p1_channel_lend(void *inst, const char *peer, const uint8_t **apdu, size_t *len,
                    struct p1_lease **out);
/* The outcome of the lease's transfer (P1_LEASE_*; reason: the peer's or why the association
 * ended); frees the lease. CONFIRMED: relayed; REFUSED: failed (5.3.4, as the peer refused);
 * LOST: deferred (4.4.2), the queue manager retries. */
void p1_channel_lease_done(struct p1_lease *l, int outcome, const char *reason);

/* The peer's messages over our own two-way-alternate associations (in its turn): without a
 * receiver we never pass the turn (and abort an association a peer sends over anyway). With
 * one, apdu(arg, peer, apdu, len, token) stores it (apdu valid during the call only) and
 * p1_channel_apdu_done(token, status) follows exactly once: 0 = durable (acknowledged to
 * the peer), else the association is aborted and the peer keeps its message. */
struct p1_channel_receiver {
    void (*apdu)(void *arg, const struct config_peer *peer, const uint8_t *apdu, size_t len,
                 void *token);
    void *arg;
};
void p1_channel_set_receiver(void *inst, const struct p1_channel_receiver *r);
void p1_channel_apdu_done(void *token, int status);

/* The inbound side (the daemon's P1 listeners), for peers reached only when they bind to us
 * (config inbound_only): bound(arg, peer) says whether a two-way-alternate association of
 * the peer is bound now; kick(arg, peer) tells it deliveries now wait for it (it asks for the
 * turn and takes them with p1_channel_lend). Without hooks, or while the peer is not bound, a
 * delivery to such a peer is deferred with CHANNEL_OUT_AWAIT_PEER (the queue manager wakes it
 * when the peer binds: qmgr_peer_wake). Strings and peer borrowed during the calls. */
struct p1_channel_inbound {
    int (*bound)(void *arg, const struct config_peer *peer);
    void (*kick)(void *arg, const struct config_peer *peer);
    void *arg;
};
void p1_channel_set_inbound(void *inst, const struct p1_channel_inbound *in);
/* The peer's inbound associations may have ended: deliveries still waiting for an
 * inbound_only peer that is no longer bound are deferred (CHANNEL_OUT_AWAIT_PEER). */
void p1_channel_peer_gone(void *inst, const char *peer);

#endif
