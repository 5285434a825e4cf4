/* qmgr_await: messages waiting for a peer that only comes to us (an x400 peer reached only
 * over the associations it opens: config inbound_only). A delivery deferred with
 * CHANNEL_OUT_AWAIT_PEER leaves its message's id here, under the peer's name; when the peer
 * binds, qmgr_peer_wake makes those messages due at once instead of at their back-off. Kept
 * in memory only: after a restart the messages come back at their back-off and wait here
 * again. Also the accessor for a channel instance of the current configuration. */
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "mg_log.h"
#include "qmgr_internal.h"

struct qawait {
    char *peer;                 /* owned */
    char (*ids)[MESSAGE_ID_SIZE]; /* owned array of n */
    size_t n, cap;
    struct qawait *next;
};

void *qmgr_channel_instance(const struct qmgr *q, const char *name)
{
    const struct cfgref *r = q ? q->cref : NULL;
    if (!r || r->stopping || !name)
        return NULL;
    for (size_t i = 0; i < r->cfg->n_channels; i++)
        if (strcmp(r->cfg->channels[i].name, name) == 0)
            return qmgr_instance(r, &r->cfg->channels[i]);
    return NULL;
}

int qmgr_await_add(struct qmgr *q, const char *peer, const char *id)
{
    struct qawait *w = q->awaits;
    while (w && strcmp(w->peer, peer) != 0)
        w = w->next;
    if (!w) {
        if (!(w = calloc(1, sizeof *w)) || !(w->peer = strdup(peer))) {
            free(w);
            return MG_ENOMEM;
        }
        w->next = q->awaits;
        q->awaits = w;
    }
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->ids[i], id) == 0)
            return 0;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        void *v = realloc(w->ids, cap * sizeof *w->ids);
        if (!v)
            return MG_ENOMEM;
        w->ids = v;
        w->cap = cap;
    }
    memcpy(w->ids[w->n++], id, MESSAGE_ID_SIZE);
    return 0;
}

size_t qmgr_peer_wake(struct qmgr *q, const char *peer)
{
    struct qawait **pp = &q->awaits;
    while (*pp && strcmp((*pp)->peer, peer) != 0)
        pp = &(*pp)->next;
    struct qawait *w = *pp;
    if (!w)
        return 0;
    *pp = w->next;
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        n += qmgr_retry(q, w->ids[i]) == 0; /* gone, held or running: nothing to do */
    if (n)
        mg_info("event=peer_wake peer=%s messages=%zu", peer, n);
    free(w->ids);
    free(w->peer);
    free(w);
    return n;
}

void qmgr_await_free(struct qmgr *q)
{
    while (q->awaits) {
        struct qawait *w = q->awaits;
        q->awaits = w->next;
        free(w->ids);
        free(w->peer);
        free(w);
    }
}
