/* p1_twa: sending our messages over an inbound two-way-alternate association (p1_twa.h).
 * RTSE: only the holder of the turn (the data token) transfers; the association-initiator
 * holds it after the bind and is the only one that may release, so we always hand it back. */
#include "p1_twa.h"

#include <string.h>

#include "p1_rtse.h"

void p1_twa_init(struct p1_twa *t, const struct p1_twa_src *src)
{
    memset(t, 0, sizeof *t);
    if (src)
        t->src = *src;
}

void p1_twa_bound(struct p1_twa *t, struct p1_assoc *a, long dialogue)
{
    t->enabled = dialogue == P1_DIALOGUE_TWA && t->src.pending && t->src.next && t->src.done;
    p1_twa_kick(t, a);
}

static int holds_turn(const struct p1_assoc *a)
{
    return a->state == P1_AS_OPEN && (a->sess.tokens & P1_TOK_DATA);
}

/* We hold the turn: the next transfer, or the turn back to the peer. */
static void send_next(struct p1_twa *t, struct p1_assoc *a)
{
    if (t->tok || !holds_turn(a))
        return;
    const uint8_t *apdu = NULL;
    size_t len = 0;
    void *tok = NULL;
    while (!t->peer_wants && t->src.next(t->src.arg, &apdu, &len, &tok)) {
        if (p1_assoc_transfer(a, apdu, len) == 0) {
            t->tok = tok;
            return;
        }
        t->src.done(t->src.arg, tok, P1_TWA_LOST, "the association cannot transfer now");
    }
    t->peer_wants = 0;
    p1_assoc_give_turn(a);
}

void p1_twa_kick(struct p1_twa *t, struct p1_assoc *a)
{
    if (!t->enabled || t->tok || a->state != P1_AS_OPEN)
        return;
    if (holds_turn(a)) {
        send_next(t, a);
        return;
    }
    if (!t->asked && t->src.pending(t->src.arg) && p1_assoc_please_turn(a, 0) == 0)
        t->asked = 1;
}

int p1_twa_on_ind(struct p1_twa *t, struct p1_assoc *a, const struct p1_ind *ind)
{
    switch (ind->type) {
    case P1_IND_TURN_RECEIVED:
        t->asked = 0;
        if (t->enabled)
            send_next(t, a);
        else
            p1_assoc_give_turn(a); /* never ours to use: monologue, or nothing to send */
        return 1;
    case P1_IND_TURN_PLEASE:
        if (t->tok)
            t->peer_wants = 1; /* after the transfer in flight */
        else if (holds_turn(a))
            p1_assoc_give_turn(a);
        return 1;
    case P1_IND_TRANSFER_CONFIRMED:
    case P1_IND_TRANSFER_REFUSED: {
        void *tok = t->tok;
        t->tok = NULL;
        if (!tok)
            return 1;
        if (ind->type == P1_IND_TRANSFER_CONFIRMED)
            t->sent++;
        t->src.done(t->src.arg, tok,
                    ind->type == P1_IND_TRANSFER_CONFIRMED ? P1_TWA_CONFIRMED : P1_TWA_REFUSED,
                    ind->reason);
        send_next(t, a);
        return 1;
    }
    case P1_IND_ABORTED:
        p1_twa_end(t, ind->reason);
        return 0;
    default:
        return 0;
    }
}

void p1_twa_end(struct p1_twa *t, const char *reason)
{
    void *tok = t->tok;
    t->tok = NULL;
    t->enabled = 0;
    if (tok)
        t->src.done(t->src.arg, tok, P1_TWA_LOST, reason ? reason : "association ended");
}
