/* cms_chan_live: the run-time part of a cms channel instance: the policy process() uses (a
 * refcounted copy of the configured one, replaced when revocation data is refreshed) and the
 * CRL / OCSP refresh schedule. A refresh runs inside process() on a pool thread, by whichever
 * group finds it due first (the others go on with the current policy): it never runs on the
 * loop, and a slow responder delays one group, not the daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_store.h"
#include "cms_chan_int.h"
#include "mg_err.h"
#include "mg_log.h"

struct cmsch_pol {
    struct cms_policy *p;  /* owned */
    unsigned refs;         /* under live->lock; the live state holds one on its current */
    int peer_ok;           /* atomic: the peer certificate passed this policy's checks */
};

int cmsch_live_create(struct cmsch_conf *c)
{
    struct cmsch_live *l = calloc(1, sizeof *l);
    if (!l)
        return MG_ENOMEM;
    if (pthread_mutex_init(&l->lock, NULL)) {
        free(l);
        return MG_ENOMEM;
    }
    if (!(l->cur = calloc(1, sizeof *l->cur)) || cms_policy_clone(c->policy, &l->cur->p)) {
        free(l->cur);
        pthread_mutex_destroy(&l->lock);
        free(l);
        return MG_ENOMEM;
    }
    l->cur->refs = 1;
    c->live = l;
    return 0;
}

static void pol_free(struct cmsch_pol *p)
{
    cms_policy_free(p->p);
    free(p);
}

void cmsch_live_free(struct cmsch_live *l)
{
    if (!l)
        return;
    pol_free(l->cur); /* no process() runs once the configuration is freed */
    pthread_mutex_destroy(&l->lock);
    free(l);
}

struct cmsch_pol *cmsch_live_get(const struct cmsch_conf *c, bool *revocation_failed, char *why,
                                 size_t whylen)
{
    struct cmsch_live *l = c->live;
    pthread_mutex_lock(&l->lock);
    struct cmsch_pol *p = l->cur;
    p->refs++;
    *revocation_failed = l->failed;
    snprintf(why, whylen, "%s", l->why);
    pthread_mutex_unlock(&l->lock);
    return p;
}

const struct cms_policy *cmsch_pol_policy(const struct cmsch_pol *p)
{
    return p->p;
}

bool cmsch_pol_peer_ok(const struct cmsch_pol *p)
{
    return __atomic_load_n(&p->peer_ok, __ATOMIC_ACQUIRE) != 0;
}

void cmsch_pol_set_peer_ok(struct cmsch_pol *p)
{
    __atomic_store_n(&p->peer_ok, 1, __ATOMIC_RELEASE);
}

void cmsch_live_put(const struct cmsch_conf *c, struct cmsch_pol *p)
{
    struct cmsch_live *l = c->live;
    pthread_mutex_lock(&l->lock);
    bool last = --p->refs == 0;
    pthread_mutex_unlock(&l->lock);
    if (last)
        pol_free(p);
}

/* Fetches CRLs (the stored certificates' distribution points) and OCSP answers into the
 * store, then builds a new policy from the configured one and the store's current revocation
 * data. Returns the new policy or NULL with why set. */
static struct cms_policy *refresh(const struct cmsch_conf *c, char *why, size_t whylen)
{
    struct cert_store *s = NULL;
    struct cms_policy *p = NULL;
    int rc = cert_store_open(&s, c->store, NULL);
    int crls = 0, ocsp = 0;
    if (!rc)
        rc = cms_policy_clone(c->policy, &p);
    if (!rc && (crls = cert_store_refresh_crls(s, (int)c->refresh_timeout)) < 0)
        rc = crls;
    if (!rc && (ocsp = cert_store_ocsp_refresh(s, p, c->ocsp_url, (int)c->refresh_timeout)) < 0)
        rc = ocsp;
    if (!rc)
        rc = cert_store_fill_policy(s, p);
    cert_store_close(s);
    if (rc) {
        snprintf(why, whylen, "revocation refresh from %s failed: %s", c->store, mg_strerror(rc));
        cms_policy_free(p);
        return NULL;
    }
    mg_info("event=cms_revocation_refreshed store=%s crls=%d ocsp=%d", c->store, crls, ocsp);
    return p;
}

void cmsch_live_maybe_refresh(const struct cmsch_conf *c, int64_t now)
{
    struct cmsch_live *l = c->live;
    if (!c->refresh_interval || !c->store)
        return;
    pthread_mutex_lock(&l->lock);
    bool due = !l->refreshing && now >= l->next_refresh;
    if (due)
        l->refreshing = true;
    pthread_mutex_unlock(&l->lock);
    if (!due)
        return;
    char why[200] = "";
    struct cms_policy *np = refresh(c, why, sizeof why);
    struct cmsch_pol *nw = np ? calloc(1, sizeof *nw) : NULL;
    if (np && !nw) {
        cms_policy_free(np);
        snprintf(why, sizeof why, "revocation refresh: out of memory");
    }
    struct cmsch_pol *old = NULL;
    pthread_mutex_lock(&l->lock);
    l->refreshing = false;
    if (nw) {
        nw->p = np;
        nw->refs = 1;
        old = l->cur;
        l->cur = nw;
        l->failed = false;
        l->why[0] = 0;
        l->next_refresh = now + c->refresh_interval;
    } else {
        l->failed = true;
        snprintf(l->why, sizeof l->why, "%s", why);
        /* try again sooner than the full interval */
        l->next_refresh = now + (c->refresh_interval < 300 ? c->refresh_interval : 300);
    }
    bool free_old = old && --old->refs == 0;
    pthread_mutex_unlock(&l->lock);
    if (free_old)
        pol_free(old);
    if (!nw)
        mg_warn("event=cms_revocation_refresh_failed detail=\"%s\"", why);
}
