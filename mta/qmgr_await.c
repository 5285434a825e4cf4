/* qmgr_await: messages waiting for a peer that only comes to us (an x400 peer reached only
 * over the associations it opens: config inbound_only). A delivery deferred with
 * CHANNEL_OUT_AWAIT_PEER leaves its message's id here, under the peer's name; when the peer
 * binds, qmgr_peer_wake makes those messages due at once instead of at their back-off. The
 * list is in memory; what it held before a restart is derived from the store at the peer's
 * first bind since start (every message with a recipient deferred after a delivery to that
 * peer: the peer name each outcome records), so no side file has to be kept in step. That read
 * scans the recipients, so it runs on the pool and its messages are made due when it is back.
 * Also the accessor for a channel instance of the current configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "mg_log.h"
#include "qmgr_internal.h"
#include "queue_store.h"

struct qawait {
    char *peer;                 /* owned */
    int seeded;                 /* the store was asked once since start (first wake) */
    int seeding;                /* that read is on the pool */
    char (*ids)[MESSAGE_ID_SIZE]; /* owned array of n */
    size_t n, cap;
    struct qawait *next;
    /* the read on the pool: its own list until it is back on the loop */
    struct qmgr *q;
    uv_work_t work;
    char (*found)[MESSAGE_ID_SIZE]; /* owned array of nfound */
    size_t nfound, capfound;
    int seed_rc;
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

static struct qawait *await_get(struct qmgr *q, const char *peer)
{
    struct qawait *w = q->awaits;
    while (w && strcmp(w->peer, peer) != 0)
        w = w->next;
    if (!w) {
        if (!(w = calloc(1, sizeof *w)) || !(w->peer = strdup(peer))) {
            free(w);
            return NULL;
        }
        w->next = q->awaits;
        q->awaits = w;
    }
    return w;
}

/* Appends id to a growing array of ids. */
static int ids_append(char (**ids)[MESSAGE_ID_SIZE], size_t *n, size_t *cap, const char *id)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        void *v = realloc(*ids, c * sizeof **ids);
        if (!v)
            return MG_ENOMEM;
        *ids = v;
        *cap = c;
    }
    snprintf((*ids)[(*n)++], MESSAGE_ID_SIZE, "%s", id);
    return 0;
}

static int await_push(void *arg, const char *id)
{
    struct qawait *w = arg;
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->ids[i], id) == 0)
            return 0;
    return ids_append(&w->ids, &w->n, &w->cap, id);
}

/* Pool thread: collects the ids (the store gives each once: SELECT DISTINCT). */
static int found_push(void *arg, const char *id)
{
    struct qawait *w = arg;
    return ids_append(&w->found, &w->nfound, &w->capfound, id);
}

static void seed_work(uv_work_t *req)
{
    struct qawait *w = req->data;
    w->seed_rc = queue_store_deferred_for_peer(w->q->store, w->peer, found_push, w);
}

static void seed_after(uv_work_t *req, int status)
{
    struct qawait *w = req->data;
    struct qmgr *q = w->q;
    q->writes_pending--; /* the drain waits for this read like for a write */
    w->seeding = 0;
    int rc = status == UV_ECANCELED ? MG_ESTATE : w->seed_rc;
    size_t n = 0;
    if (rc) {
        mg_warn("event=peer_wake_seed_failed peer=%s error=\"%s\"", w->peer, mg_strerror(rc));
    } else {
        w->seeded = 1;
        for (size_t i = 0; i < w->nfound; i++)
            n += qmgr_retry(q, w->found[i]) == 0; /* gone, held or running: nothing to do */
        if (n)
            mg_info("event=peer_wake peer=%s messages=%zu from=store", w->peer, n);
    }
    free(w->found);
    w->found = NULL;
    w->nfound = w->capfound = 0;
    qmgr_maybe_drained(q);
}

int qmgr_await_add(struct qmgr *q, const char *peer, const char *id)
{
    struct qawait *w = await_get(q, peer);
    return w ? await_push(w, id) : MG_ENOMEM;
}

size_t qmgr_peer_wake(struct qmgr *q, const char *peer)
{
    struct qawait *w = await_get(q, peer);
    if (!w)
        return 0;
    if (!w->seeded && !w->seeding && q->store && !q->draining) {
        /* The first bind since start: the messages that waited for it before a restart are
         * those the store shows deferred after a delivery to it. Asked once, on the pool: from
         * now on each deferral is noted here as it happens. */
        w->q = q;
        w->work.data = w;
        if (uv_queue_work(q->loop, &w->work, seed_work, seed_after) == 0) {
            w->seeding = 1;
            q->writes_pending++;
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        n += qmgr_retry(q, w->ids[i]) == 0; /* gone, held or running: nothing to do */
    if (n)
        mg_info("event=peer_wake peer=%s messages=%zu", peer, n);
    w->n = 0;
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
