/* p1_twa: the responder's sending side of a two-way-alternate association the peer opened:
 * when we hold messages for the peer we ask for the turn, transfer them one at a time once it
 * is passed to us, report each outcome (confirmed only on the peer's activity-end
 * acknowledgement), and give the turn back when we have nothing more or the peer asks for it.
 * No I/O: it drives a p1_assoc the caller owns. A monologue association never sends. */
#ifndef P1_TWA_H
#define P1_TWA_H

#include <stddef.h>
#include <stdint.h>

#include "p1_assoc.h"

enum p1_twa_outcome { P1_TWA_CONFIRMED = 0, P1_TWA_REFUSED, P1_TWA_LOST };

/* Where our messages for the peer come from (the channel instance, through the owner). */
struct p1_twa_src {
    /* Is anything waiting (without taking it)? */
    int (*pending)(void *arg);
    /* Take the next one: 1 with apdu, len (borrowed until done) and tok set; 0 none. */
    int (*next)(void *arg, const uint8_t **apdu, size_t *len, void **tok);
    /* The outcome of tok (reason: the peer's, or why the association ended). Once per tok. */
    void (*done)(void *arg, void *tok, enum p1_twa_outcome o, const char *reason);
    void *arg;
};

struct p1_twa {
    struct p1_twa_src src;
    int enabled;        /* bound in two-way-alternate dialogue with a source */
    int asked;          /* our please-turn is outstanding */
    int peer_wants;     /* the peer asked for the turn while we were sending */
    void *tok;          /* the transfer in flight */
    unsigned sent;      /* transfers confirmed (for the log) */
};

void p1_twa_init(struct p1_twa *t, const struct p1_twa_src *src);
/* The bind was accepted with the initiator's dialogue mode (P1_DIALOGUE_*). */
void p1_twa_bound(struct p1_twa *t, struct p1_assoc *a, long dialogue);
/* Work may be waiting: ask for the turn (or use it) when we may. */
void p1_twa_kick(struct p1_twa *t, struct p1_assoc *a);
/* Offer an indication of a: 1 when it was ours (turn please/received, our transfer confirmed
 * or refused), 0 for the caller to handle. ABORTED ends our transfer (LOST) and returns 0. */
int p1_twa_on_ind(struct p1_twa *t, struct p1_assoc *a, const struct p1_ind *ind);
/* The association is gone: the transfer in flight, if any, is LOST. */
void p1_twa_end(struct p1_twa *t, const char *reason);

#endif
