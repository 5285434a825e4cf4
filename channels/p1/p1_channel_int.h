/* p1_channel_int: what the p1 channel's two files share (p1_channel.c, the channel and its
 * associations; p1_channel_lend.c, lending waiting deliveries to an inbound association).
 * Internal to mg_p1_channel. */
#ifndef P1_CHANNEL_INT_H
#define P1_CHANNEL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "p1_channel.h"

struct passoc;
struct pdest;

struct pdel {
    struct channel_delivery *d;
    struct pdel *next;
};

struct pdest {
    struct p1_inst *inst;
    const struct config_peer *peer;
    struct pdest *next;
    struct passoc *assocs;
    size_t nassocs;
    struct pdel *whead, *wtail;
};

struct p1_inst {
    uv_loop_t *loop;
    const struct config *cfg;
    struct pdest *dests;
    int stopping;
    size_t live;                 /* associations not yet freed, and lent deliveries */
    void (*stopped)(void *);
    void *stopped_arg;
    struct p1_channel_receiver rx; /* apdu NULL: the peer's messages are not taken here */
    struct p1_channel_inbound in;  /* bound NULL: no inbound side (inbound_only peers wait) */
};

/* Sets every recipient's outcome of pd's delivery, frees pd, and hands the delivery back. */
void p1_channel_finish(struct pdel *pd, enum channel_action act, const char *status,
                       const char *text, const char *remote, unsigned flags);
/* The APDU for d (owned by the caller); why says what went wrong. */
int p1_channel_make_apdu(const struct p1_inst *pi, const struct channel_delivery *d,
                         uint8_t **apdu, size_t *len, char *why, size_t whysz);
/* The outcome flags of d's recipient i once the peer confirmed the transfer:
 * CHANNEL_OUT_NEXT_HOP_REPORTS when the envelope relayed asks for its delivery report (the
 * X.400 side sends it), else 0. */
unsigned p1_channel_relay_flags(const struct channel_delivery *d, size_t i);
/* Defers every delivery waiting for dst: an inbound_only peer with no association now. */
void p1_channel_await_all(struct pdest *dst);
/* Stopping and nothing live: the stop callback. */
void p1_channel_maybe_stopped(struct p1_inst *pi);

#endif
