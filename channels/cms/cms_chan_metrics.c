/* cms_chan_metrics: the crypto counters of a `cms` channel instance, in the daemon's metrics
 * registry (mta/metrics.h), registered through the kind's metrics hook:
 *   mixgate_cms_operations_total{channel,operation}  signed, encrypted, decrypted, verified,
 *       verify_failed, unwrap_failed, harvested
 *   mixgate_cms_decisions_total{channel,reason,action}  what policy did with a message or
 *       recipient it could not protect or open as asked: keyless (no usable certificate):
 *       held, returned, clear; no_key (encrypted for a key not held here): held, passed;
 *       bad_signature: held, returned, tagged; revocation_unavailable: deferred
 * Counted from the audit records a group's result carries when process() ends (after the
 * records of regrouped recipients are dropped), so the counters say what the audit trail says
 * and a recipient decided again in a group of its own counts once. Operations count once per
 * group and layer (a group encrypted for three recipients is one encryption), decisions per
 * recipient where the record names one. */
#include <string.h>

#include "channel.h"
#include "cms_chan_int.h"
#include "metrics.h"

int cmsch_metrics_register(void *conf, struct metrics *m)
{
    struct cmsch_conf *c = conf;
    static const char *const ops[] = { "channel", "operation" };
    static const char *const dec[] = { "channel", "reason", "action" };
    int rc = metrics_family(m, "mixgate_cms_operations_total",
                            "CMS operations of the cms channels: signed, encrypted, decrypted, "
                            "verified, verify_failed, unwrap_failed, harvested.",
                            METRICS_COUNTER, ops, 2, NULL, 0, &c->m_ops);
    if (!rc)
        rc = metrics_family(m, "mixgate_cms_decisions_total",
                            "Messages or recipients the cms channels could not protect or open as "
                            "asked, by reason (keyless, no_key, bad_signature, "
                            "revocation_unavailable) and action taken.",
                            METRICS_COUNTER, dec, 3, NULL, 0, &c->m_decisions);
    return rc;
}

static void op(const struct cmsch_conf *c, const char *ch, const char *what)
{
    metrics_inc(c->m_ops, (const char *const[]){ ch, what }, 1);
}

static void decision(const struct cmsch_conf *c, const char *ch, const char *reason,
                     const char *action)
{
    metrics_inc(c->m_decisions, (const char *const[]){ ch, reason, action }, 1);
}

void cmsch_metrics_count(const struct cmsch_conf *c, const char *ch, const struct channel_result *r)
{
    if (!c->m_ops || !c->m_decisions)
        return;
    bool encrypted = false;
    for (size_t i = 0; i < r->naudit; i++) {
        const struct channel_audit *a = &r->audit[i];
        const char *d = a->decision;
        const char *sum = a->summary ? a->summary : "";
        if (!strcmp(d, "signed")) {
            op(c, ch, "signed");
        } else if (!strcmp(d, "encrypted")) {
            encrypted = true;
        } else if (!strcmp(d, "decrypted")) {
            op(c, ch, "decrypted");
        } else if (!strcmp(d, "signature-verified")) {
            op(c, ch, "verified");
        } else if (!strcmp(d, "signature-invalid")) {
            op(c, ch, "verify_failed");
            decision(c, ch, "bad_signature", c->badsig == CMSCH_BADSIG_HOLD     ? "held"
                                             : c->badsig == CMSCH_BADSIG_RETURN ? "returned"
                                                                                : "tagged");
        } else if (!strcmp(d, "unwrap-failed")) {
            op(c, ch, "unwrap_failed");
        } else if (!strcmp(d, "cert-harvested")) {
            op(c, ch, "harvested");
        } else if (!strcmp(d, "no-key")) {
            decision(c, ch, "no_key", c->nokey == CMSCH_NOKEY_HOLD ? "held" : "passed");
        } else if (!strcmp(d, "no-certificate")) {
            decision(c, ch, "keyless", !strcmp(sum, "returned") ? "returned" : "held");
        } else if (!strcmp(d, "sent-in-clear")) {
            decision(c, ch, "keyless", "clear");
        } else if (!strcmp(d, "revocation-unavailable")) {
            decision(c, ch, "revocation_unavailable", "deferred");
        }
    }
    if (encrypted)
        op(c, ch, "encrypted");
}
