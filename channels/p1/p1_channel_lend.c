/* p1_channel_lend: the p1 channel's waiting deliveries lent, one at a time, to an inbound
 * two-way-alternate association of their peer (p1_channel.h); each outcome is reported as on
 * the channel's own associations, and the instance stops only once every lease is done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "mg_log.h"
#include "p1_channel_int.h"

static struct pdest *dest_find(struct p1_inst *pi, const char *peer)
{
    for (struct pdest *d = pi->dests; d; d = d->next)
        if (strcmp(d->peer->name, peer) == 0)
            return d;
    return NULL;
}

struct p1_lease {
    struct p1_inst *inst;
    struct pdel *pd;
    uint8_t *apdu;               /* owned */
    size_t apdu_len;
};

void p1_channel_set_inbound(void *inst, const struct p1_channel_inbound *in)
{
    struct p1_inst *pi = inst;
    if (in)
        pi->in = *in;
    else
        memset(&pi->in, 0, sizeof pi->in);
}

void p1_channel_await_all(struct pdest *dst)
{
    char why[300];
    snprintf(why, sizeof why, "waiting for %s (%s) to bind to us: it is reached only over "
             "its own two-way-alternate associations (inbound_only)", dst->peer->name,
             dst->peer->mta_name ? dst->peer->mta_name : "");
    while (dst->whead) {
        struct pdel *pd = dst->whead;
        dst->whead = pd->next;
        p1_channel_finish(pd, CHANNEL_DEFERRED, "4.4.1", why, NULL, CHANNEL_OUT_AWAIT_PEER);
    }
    dst->wtail = NULL;
}

void p1_channel_peer_gone(void *inst, const char *peer)
{
    struct p1_inst *pi = inst;
    struct pdest *dst = pi ? dest_find(pi, peer) : NULL;
    if (dst && dst->peer->inbound_only && dst->whead &&
        !(pi->in.bound && pi->in.bound(pi->in.arg, dst->peer)))
        p1_channel_await_all(dst);
}

int p1_channel_waiting(void *inst, const char *peer)
{
    struct p1_inst *pi = inst;
    struct pdest *dst = pi && !pi->stopping ? dest_find(pi, peer) : NULL;
    return dst && dst->whead;
}

int p1_channel_lend(void *inst, const char *peer, const uint8_t **apdu, size_t *len,
                    struct p1_lease **out)
{
    struct p1_inst *pi = inst;
    *out = NULL;
    struct pdest *dst = pi && !pi->stopping ? dest_find(pi, peer) : NULL;
    while (dst && dst->whead) {
        struct pdel *pd = dst->whead;
        dst->whead = pd->next;
        if (!dst->whead)
            dst->wtail = NULL;
        struct p1_lease *l = calloc(1, sizeof *l);
        char why[200] = "out of memory";
        int rc = l ? p1_channel_make_apdu(pi, pd->d, &l->apdu, &l->apdu_len, why, sizeof why) : MG_ENOMEM;
        if (rc) {
            free(l);
            mg_warn("event=p1_out_refused qid=%s peer=%s reason=\"%s\"", pd->d->msg->id,
                    dst->peer->name, why);
            p1_channel_finish(pd, rc == MG_ENOMEM ? CHANNEL_DEFERRED : CHANNEL_FAILED,
                   rc == MG_ENOMEM ? "4.3.0" : "5.6.0", why, NULL, 0);
            continue;
        }
        l->inst = pi;
        l->pd = pd;
        pi->live++; /* the instance stops only once every lent delivery has its outcome */
        *apdu = l->apdu;
        *len = l->apdu_len;
        *out = l;
        return 1;
    }
    return 0;
}

void p1_channel_lease_done(struct p1_lease *l, int outcome, const char *reason)
{
    if (!l)
        return;
    const struct config_peer *p = l->pd->d->peer;
    char text[300];
    if (outcome == P1_LEASE_CONFIRMED) {
        snprintf(text, sizeof text, "transferred to %s (%s) over its association", p->name,
                 p->mta_name ? p->mta_name : "");
        p1_channel_finish(l->pd, CHANNEL_RELAYED, "2.0.0", text, p->name, 0);
    } else if (outcome == P1_LEASE_REFUSED) {
        snprintf(text, sizeof text, "%s refused the transfer: %s", p->name, reason ? reason : "");
        p1_channel_finish(l->pd, CHANNEL_FAILED, "5.3.4", text, p->name, 0);
    } else {
        snprintf(text, sizeof text, "association with %s ended: %s", p->name,
                 reason ? reason : "");
        p1_channel_finish(l->pd, CHANNEL_DEFERRED, "4.4.2", text, p->name, 0);
    }
    struct p1_inst *pi = l->inst;
    if (outcome == P1_LEASE_LOST)
        p1_channel_peer_gone(pi, p->name);
    free(l->apdu);
    free(l);
    pi->live--;
    p1_channel_maybe_stopped(pi);
}
