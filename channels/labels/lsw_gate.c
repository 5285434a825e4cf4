/* lsw_gate: label access control before delivery (qmgr_opts.gate) and the daemon's labels
 * state: one loaded `labels` configuration per struct config in use, found by the task's cfg.
 *
 * A recipient passes when the label is allowed by its own clearance (required unless
 * recipient_clearance = false), by the delivery channel's clearance and by the peer's (each
 * when configured). A clearance of another policy is met through the SPIFs' equivalent
 * policies (lbl_translate); no equivalent is a deny. What the originator's side sees names
 * the policy and who is not cleared, never the label's categories; the audit record has the
 * engine's full reason and the label itself. */
#define _GNU_SOURCE
#include "lsw_int.h"
#include "audit.h"
#include "lbl_marking.h"
#include "metrics.h"
#include "lsw_certclear.h"
#include "mg_err.h"
#include "mg_log.h"

#include <ctype.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- decisions ----------------------------------------------------------------------- */

static void lower_domain(const char *a, char *buf, size_t n)
{
    snprintf(buf, n, "%s", a);
    char *at = strrchr(buf, '@');
    for (char *p = at; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

static const struct lbl_clearance *rcpt_clearance(const struct lsw *l, const char *rcpt)
{
    char a[1100];
    lower_domain(rcpt, a, sizeof a);
    const char *dom = strrchr(a, '@');
    dom = dom ? dom + 1 : "";
    for (size_t i = 0; i < l->nrc; i++)
        if (l->rc[i].m == LSW_M_ADDR && !strcmp(l->rc[i].value, a))
            return &l->rc[i].c;
    for (size_t i = 0; i < l->nrc; i++)
        if (l->rc[i].m == LSW_M_DOMAIN && !strcmp(l->rc[i].value, dom))
            return &l->rc[i].c;
    for (size_t i = 0; i < l->nrc; i++)
        if (l->rc[i].m == LSW_M_PATTERN && fnmatch(l->rc[i].value, a, 0) == 0)
            return &l->rc[i].c;
    return NULL;
}

static const struct lbl_clearance *named(const struct lsw_nclear *v, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (!strcmp(v[i].name, name))
            return &v[i].c;
    return NULL;
}

/* 1 allow, 0 deny (why filled). */
static int against(const struct lsw *l, const struct lbl_label *label, const struct lbl_clearance *c, char *why,
                   size_t whyn)
{
    struct lbl_err err = { "" };
    const struct lbl_policy *cp = lbl_policy_set_find(l->set, c->policy);
    if (!cp) {
        snprintf(why, whyn, "the clearance's policy %s is not loaded", c->policy);
        return 0;
    }
    struct lbl_label eff;
    lbl_label_init(&eff);
    if (strcmp(label->policy, c->policy)) {
        if (lbl_translate(l->set, label, c->policy, &eff, &err)) {
            snprintf(why, whyn, "no equivalent of the label in policy %s: %s", lbl_policy_name(cp), err.msg);
            lbl_label_free(&eff);
            return 0;
        }
    } else if (lbl_label_copy(&eff, label)) {
        snprintf(why, whyn, "out of memory");
        return 0;
    }
    struct lbl_rlabel rl;
    struct lbl_rclear rcl;
    int ok = 0;
    if (lbl_resolve(cp, &eff, &rl, &err) || lbl_resolve_clearance(cp, c, &rcl, &err))
        snprintf(why, whyn, "%s", err.msg);
    else if (!(ok = lbl_decide(&rl, &rcl, &err)))
        snprintf(why, whyn, "%s", err.msg);
    lbl_label_free(&eff);
    return ok;
}

static enum lsw_verdict decide_rest(const struct lsw *l, const struct lbl_label *label, const char *rcpt,
                                    const struct lbl_clearance *rc, const char *channel,
                                    const struct config_peer *peer, const char *pname, char *why, size_t whyn,
                                    char *pub, size_t pubn);

enum lsw_verdict lsw_decide(const struct lsw *l, const struct lbl_label *label, const char *rcpt,
                            const char *channel, const struct config_peer *peer, char *why, size_t whyn,
                            char *pub, size_t pubn)
{
    const struct lbl_policy *lp = lbl_policy_set_find(l->set, label->policy);
    const char *pname = lp ? lbl_policy_name(lp) : lbl_policy_name(l->gov);
    char r[600] = "";
    const struct lbl_clearance *rc = rcpt_clearance(l, rcpt);
    struct lbl_clearance dir;
    lbl_clearance_init(&dir);
#ifdef MG_LSW_HAVE_CERTS
    if (!rc && l->cert_store) {
        int d = lsw_cert_clearance(l->cert_store, rcpt, &dir, r, sizeof r);
        if (d == MG_ETEMP) {
            snprintf(why, whyn, "recipient clearance: %s", r);
            snprintf(pub, pubn, "security policy %s: the recipient's clearance cannot be checked now", pname);
            lbl_clearance_free(&dir);
            return LSW_DEFER;
        }
        if (d == 0)
            rc = &dir;
    }
#endif
#ifdef MG_LSW_HAVE_LDAP
    if (!rc && l->ldap) {
        int d = lsw_ldap_clearance(l->ldap, l->set, rcpt, &dir, r, sizeof r);
        if (d == MG_ETEMP) {
            snprintf(why, whyn, "recipient clearance: %s", r);
            snprintf(pub, pubn, "security policy %s: the recipient's clearance cannot be checked now", pname);
            lbl_clearance_free(&dir);
            return LSW_DEFER;
        }
        if (d == 0)
            rc = &dir;
    }
#endif
    enum lsw_verdict v = decide_rest(l, label, rcpt, rc, channel, peer, pname, why, whyn, pub, pubn);
    lbl_clearance_free(&dir);
    return v;
}

static enum lsw_verdict decide_rest(const struct lsw *l, const struct lbl_label *label, const char *rcpt,
                                    const struct lbl_clearance *rc, const char *channel,
                                    const struct config_peer *peer, const char *pname, char *why, size_t whyn,
                                    char *pub, size_t pubn)
{
    char r[600] = "";
    if (!rc && l->rcpt_required) {
        snprintf(why, whyn, "recipient %s has no clearance", rcpt);
        snprintf(pub, pubn, "security policy %s: the recipient holds no clearance", pname);
        return LSW_DENY;
    }
    if (rc && !against(l, label, rc, r, sizeof r)) {
        snprintf(why, whyn, "recipient clearance: %s", r);
        snprintf(pub, pubn, "security policy %s: the recipient is not cleared for this message", pname);
        return LSW_DENY;
    }
    const struct lbl_clearance *cc = named(l->ch, l->nch, channel);
    if (cc && !against(l, label, cc, r, sizeof r)) {
        snprintf(why, whyn, "channel %s clearance: %s", channel, r);
        snprintf(pub, pubn, "security policy %s: the delivery channel is not cleared for this message", pname);
        return LSW_DENY;
    }
    /* the labels group's peers, and x400 peers' own `clearance` (both loaded with the config) */
    const struct lbl_clearance *pc = peer ? named(l->peer, l->npeer, peer->name) : NULL;
    if (pc && !against(l, label, pc, r, sizeof r)) {
        snprintf(why, whyn, "peer %s clearance: %s", peer->name, r);
        snprintf(pub, pubn, "security policy %s: the next hop is not cleared for this message", pname);
        return LSW_DENY;
    }
    snprintf(why, whyn, "allowed (%s%s%s)", rc ? "recipient" : "no recipient clearance needed",
             cc ? ", channel" : "", pc ? ", peer" : "");
    snprintf(pub, pubn, "allowed");
    return LSW_ALLOW;
}

/* ---- the daemon's state ------------------------------------------------------------------ */

#define LSW_KEEP 4 /* configurations kept after a reload (jobs may still use an older one) */

struct lsw_entry {
    const struct config *cfg;  /* the key (borrowed; see lsw_gate_sync) */
    struct lsw *l;             /* owned; NULL = no labels group */
    unsigned refs;             /* the list's own + one per check in flight */
    struct lsw_entry *next;
};

struct lsw_pending;

struct lsw_gate {
    pthread_mutex_t mu;
    struct lsw_entry *head;    /* newest first */
    struct lsw_pending *pending; /* submissions' audit appends in flight (loop thread only) */
    struct audit *audit;       /* borrowed */
    struct message_idgen idgen;
    struct metrics_family *decisions; /* the metrics registry's; NULL = not counted */
};

int lsw_gate_metrics(struct lsw_gate *g, struct metrics *m)
{
    static const char *const names[] = { "channel", "peer", "decision" };
    return metrics_family(m, "mixgate_label_decisions_total",
                          "Label access decisions before delivery, by delivery channel, peer and decision "
                          "(allowed, denied, deferred).",
                          METRICS_COUNTER, names, 3, NULL, 0, &g->decisions);
}

/* One recipient's decision into the metrics (any thread: metrics_inc is thread-safe). */
static void count(const struct lsw_gate *g, const char *channel, const char *peer, const char *decision, double n)
{
    if (g->decisions && n > 0)
        metrics_inc(g->decisions, (const char *const[]){ channel, peer, decision }, n);
}

int lsw_gate_create(struct lsw_gate **out, struct audit *audit)
{
    struct lsw_gate *g = calloc(1, sizeof *g);
    if (!g)
        return MG_ENOMEM;
    pthread_mutex_init(&g->mu, NULL);
    g->audit = audit;
    /* A node other than the queue store's, so ids given at submission never collide. */
    message_idgen_init(&g->idgen, (uint32_t)getpid() + 16u);
    *out = g;
    return 0;
}

static void entry_unref(struct lsw_entry *e)
{
    if (--e->refs == 0) {
        lsw_free(e->l);
        free(e);
    }
}

void lsw_pending_free_all(struct lsw_pending *p);

void lsw_gate_free(struct lsw_gate *g)
{
    if (!g)
        return;
    lsw_pending_free_all(g->pending);
    for (struct lsw_entry *e = g->head, *n; e; e = n) {
        n = e->next;
        entry_unref(e);
    }
    pthread_mutex_destroy(&g->mu);
    free(g);
}

int lsw_gate_sync(struct lsw_gate *g, const struct config *cfg)
{
    struct config_errors errs = { 0 };
    struct lsw *l = NULL;
    int rc = lsw_load(cfg, &l, &errs);
    for (size_t i = 0; i < errs.n; i++)
        mg_error("event=config_error %s", errs.v[i].text);
    config_errors_free(&errs);
    if (rc)
        return rc;
    struct lsw_entry *e = calloc(1, sizeof *e);
    if (!e) {
        lsw_free(l);
        return MG_ENOMEM;
    }
    e->cfg = cfg;
    e->l = l;
    e->refs = 1;
    pthread_mutex_lock(&g->mu);
    e->next = g->head;
    g->head = e;
    /* A freed config's address may come back for a new one: newest first finds the right one.
     * Drop the list's reference to the oldest beyond LSW_KEEP. */
    size_t k = 0;
    for (struct lsw_entry **p = &g->head; *p;) {
        if (++k > LSW_KEEP) {
            struct lsw_entry *x = *p;
            *p = x->next;
            entry_unref(x);
        } else {
            p = &(*p)->next;
        }
    }
    pthread_mutex_unlock(&g->mu);
    mg_info("event=labels_loaded policy=%s policies=%zu clearances=%zu", l ? lbl_policy_oid(l->gov) : "-",
            l ? lbl_policy_set_count(l->set) : 0, l ? l->nrc : 0);
    return 0;
}

static struct lsw_entry *acquire(struct lsw_gate *g, const struct config *cfg)
{
    pthread_mutex_lock(&g->mu);
    struct lsw_entry *e = g->head;
    while (e && e->cfg != cfg)
        e = e->next;
    if (e)
        e->refs++;
    pthread_mutex_unlock(&g->mu);
    return e;
}

static void release(struct lsw_gate *g, struct lsw_entry *e)
{
    pthread_mutex_lock(&g->mu);
    entry_unref(e);
    pthread_mutex_unlock(&g->mu);
}

/* For the extractor (lsw_extract.c). */
struct lsw_entry *lsw_gate_acquire(struct lsw_gate *g, const struct config *cfg, const struct lsw **l);
void lsw_gate_release(struct lsw_gate *g, struct lsw_entry *e);
struct audit *lsw_gate_audit(struct lsw_gate *g);
void lsw_gate_new_id(struct lsw_gate *g, char id[MESSAGE_ID_SIZE]);

struct lsw_entry *lsw_gate_acquire(struct lsw_gate *g, const struct config *cfg, const struct lsw **l)
{
    struct lsw_entry *e = acquire(g, cfg);
    *l = e ? e->l : NULL;
    return e;
}

void lsw_gate_release(struct lsw_gate *g, struct lsw_entry *e)
{
    if (e)
        release(g, e);
}

struct audit *lsw_gate_audit(struct lsw_gate *g) { return g->audit; }
struct lsw_pending **lsw_gate_pending(struct lsw_gate *g);
struct lsw_pending **lsw_gate_pending(struct lsw_gate *g) { return &g->pending; }

void lsw_gate_new_id(struct lsw_gate *g, char id[MESSAGE_ID_SIZE])
{
    pthread_mutex_lock(&g->mu);
    message_idgen_next(&g->idgen, id);
    pthread_mutex_unlock(&g->mu);
}

int lsw_gate_route_match(void *ctx, const struct config *cfg, const struct config_route *r, const void *der,
                         size_t len)
{
    struct lsw_gate *g = ctx;
    struct lsw_entry *e = acquire(g, cfg);
    if (!e)
        return -1; /* not synced: defer, never route past a rule meant for this label */
    int m = lsw_route_match(e->l, cfg, r, der, len);
    release(g, e);
    return m;
}

int lsw_gate_report_label(void *ctx, const struct config *cfg, unsigned char **der, size_t *len)
{
    struct lsw_gate *g = ctx;
    *der = NULL;
    *len = 0;
    struct lsw_entry *e = acquire(g, cfg);
    if (!e)
        return 0; /* not synced: the report stays as it is, the gate defers it */
    int rc = lsw_report_label(e->l, der, len);
    release(g, e);
    return rc;
}

/* ---- the check ------------------------------------------------------------------------- */

static void set_all(const struct channel_task *t, struct channel_result *r, enum channel_action a, int code,
                    const char *status, const char *text)
{
    for (size_t i = 0; i < t->nrcpts; i++)
        channel_outcome_set(&r->rcpts[i].outcome, a, code, status, text, NULL);
}

int lsw_gate_needed(void *ctx, const struct config *cfg)
{
    struct lsw_gate *g = ctx;
    struct lsw_entry *e = acquire(g, cfg);
    if (!e)
        return 1; /* not synced yet: the check itself defers, never allows */
    int needed = e->l != NULL;
    release(g, e);
    return needed;
}

int lsw_gate_check(void *ctx, const struct channel_task *t, struct channel_result *r)
{
    struct lsw_gate *g = ctx;
    struct lsw_entry *e = acquire(g, t->cfg);
    const char *chname = t->channel ? t->channel->name : "-";
    const char *peer = t->peer ? t->peer->name : "-";
    if (!e) {
        /* Never allow what we cannot decide. */
        set_all(t, r, CHANNEL_DEFERRED, 451, "4.7.1", "security label check not ready (configuration)");
        count(g, chname, peer, "deferred", (double)t->nrcpts);
        return 0;
    }
    const struct lsw *l = e->l;
    int rc = 0;
    if (!l)
        goto out; /* no labels configured: everything continues */
    char qf[1100];
    if (!t->label || !t->label_len) {
        for (size_t i = 0; !rc && i < t->nrcpts; i++) {
            const char *a = t->msg->rcpts[t->rcpts[i]].addr;
            if (l->unlabelled_allow) {
                rc = channel_result_add_audit(r, (int)i, "access-granted", "unlabelled message (unlabelled = allow)",
                                              "", NULL, 0, NULL);
            } else {
                channel_outcome_set(&r->rcpts[i].outcome, CHANNEL_FAILED, 550, "5.7.1",
                                    "delivery not authorized: the message has no security label", NULL);
                r->rcpts[i].outcome.x400_reason = 1;      /* unable-to-transfer */
                r->rcpts[i].outcome.x400_diagnostic = 46; /* secure-messaging-error */
                rc = channel_result_add_audit(r, (int)i, "access-denied", "unlabelled message", "", NULL, 0, NULL);
            }
            mg_info("event=access_decision qid=%s rcpt=<%s> channel=%s peer=%s decision=%s reason=unlabelled",
                    t->msg->id, mg_log_quote(a, qf, sizeof qf), chname, peer,
                    l->unlabelled_allow ? "granted" : "denied");
            count(g, chname, peer, l->unlabelled_allow ? "allowed" : "denied", 1);
        }
        goto out;
    }
    struct lbl_label label;
    lbl_label_init(&label);
    struct lbl_err err = { "" };
    if (lsw_label_decode(t->label, t->label_len, &label, &err)) {
        char why[600];
        snprintf(why, sizeof why, "the message's label cannot be decoded: %s", err.msg);
        set_all(t, r, CHANNEL_FAILED, 550, "5.7.1", "delivery not authorized: the security label is not valid");
        for (size_t i = 0; i < t->nrcpts; i++) {
            r->rcpts[i].outcome.x400_reason = 1;      /* unable-to-transfer */
            r->rcpts[i].outcome.x400_diagnostic = 46; /* secure-messaging-error */
        }
        for (size_t i = 0; !rc && i < t->nrcpts; i++)
            rc = channel_result_add_audit(r, (int)i, "access-denied", why, "label", t->label, t->label_len, NULL);
        count(g, chname, peer, "denied", (double)t->nrcpts);
        lbl_label_free(&label);
        goto out;
    }
    char *marking = NULL;
    const struct lbl_policy *lp = lbl_policy_set_find(l->set, label.policy);
    if (lp)
        lbl_marking(lp, &label, "", LBL_LOC_PAGEBOTTOM, &marking, NULL);
    for (size_t i = 0; !rc && i < t->nrcpts; i++) {
        const char *a = t->msg->rcpts[t->rcpts[i]].addr;
        char why[1200], pub[300];
        enum lsw_verdict v = lsw_decide(l, &label, a, chname, t->peer, why, sizeof why, pub, sizeof pub);
        struct channel_outcome *o = &r->rcpts[i].outcome;
        const char *dec = "access-granted";
        if (v == LSW_DENY) {
            char text[400];
            snprintf(text, sizeof text, "delivery not authorized: %s", pub);
            channel_outcome_set(o, CHANNEL_FAILED, 550, "5.7.1", text, NULL);
            o->x400_reason = 1;      /* unable-to-transfer */
            o->x400_diagnostic = 46; /* secure-messaging-error */
            dec = "access-denied";
        } else if (v == LSW_DEFER) {
            channel_outcome_set(o, CHANNEL_DEFERRED, 451, "4.7.1", pub, NULL);
            dec = "access-deferred";
        }
        rc = channel_result_add_audit(r, (int)i, dec, why, "label", t->label, t->label_len, marking);
        count(g, chname, peer, v == LSW_DENY ? "denied" : v == LSW_DEFER ? "deferred" : "allowed", 1);
        mg_info("event=access_decision qid=%s rcpt=<%s> channel=%s peer=%s decision=%s reason=\"%s\"", t->msg->id,
                mg_log_quote(a, qf, sizeof qf), chname, peer, dec + 7, why);
    }
    free(marking);
    lbl_label_free(&label);
out:
    release(g, e);
    if (rc)
        snprintf(r->error, sizeof r->error, "%s", mg_strerror(rc));
    return rc;
}
