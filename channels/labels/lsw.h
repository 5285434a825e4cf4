/* lsw: security labels in the switch (the glue between labels/ and the message path).
 *
 *  - lsw_load: the top-level `labels = { ... }` group of a configuration (docs/labels.md,
 *    "In the switch"): the governing SPIF and the other policies, per-recipient, per-peer and
 *    per-channel clearances, and per-listener extraction settings. Loaded once per struct
 *    config and immutable after: any number of pool threads read it at once.
 *  - The delivery gate (qmgr_opts.gate): lsw_gate_check decides every recipient of a delivery
 *    group against its clearance, the delivery channel's and the peer's.
 *  - Submission: lsw_submit_extract (submit_label_hook) finds the labels of a message, picks
 *    the governing one, checks consistency, rejects / defaults / corrects, and stores the
 *    label in the envelope (ESS DER, or X.411 DER for a label without policy).
 *  - The `shaper` processing kind (lsw_shaper.c).
 *
 * Every decision is an audit record and a key=value log line with the queue id. */
#ifndef LSW_H
#define LSW_H

#include <stddef.h>

#include "channel.h"
#include "config.h"
#include "lbl_check.h"
#include "lbl_label.h"
#include "lbl_spif.h"
#include "message.h"
#include "submit.h"

struct audit;
struct lsw;

/* Parses cfg's `labels` group. No group: *out = NULL and 0. Problems go to errs as
 * file:line (MG_ECONFIG). */
int lsw_load(const struct config *cfg, struct lsw **out, struct config_errors *errs);
void lsw_free(struct lsw *l);
/* The policies (governing first) and the governing one. */
const struct lbl_policy_set *lsw_policies(const struct lsw *l);
const struct lbl_policy *lsw_governing(const struct lsw *l);

/* A label as the envelope stores it: ESS DER when it has a policy, else X.411 DER. */
int lsw_label_encode(const struct lbl_label *l, const struct lbl_policy *p, unsigned char **out, size_t *len);
int lsw_label_decode(const void *der, size_t len, struct lbl_label *out, struct lbl_err *err);

/* The label a report about an unlabelled subject carries (`report_label`, else with
 * `unlabelled = "deny"` the governing policy's least sensitive classification), as the envelope
 * stores it; *der NULL when there is none (l NULL, unlabelled = "allow" without report_label,
 * a policy without classifications). *der owned by the caller. 0 or MG_ENOMEM. */
int lsw_report_label(const struct lsw *l, unsigned char **der, size_t *len);

/* ---- access control ------------------------------------------------------------------- */

enum lsw_verdict { LSW_ALLOW, LSW_DENY, LSW_DEFER };
/* One recipient's decision: against its own clearance, the channel's and the peer's (each
 * when configured). why: the full reason (for the audit store); public: the text the
 * originator may see (names the policy decision, never the categories). */
enum lsw_verdict lsw_decide(const struct lsw *l, const struct lbl_label *label, const char *rcpt,
                            const char *channel, const struct config_peer *peer, char *why, size_t whyn,
                            char *pub, size_t pubn);

/* ---- the daemon's state: one lsw per configuration in use ------------------------------ */
struct lsw_gate;
/* audit may be NULL (records are logged only). */
int lsw_gate_create(struct lsw_gate **out, struct audit *audit);
void lsw_gate_free(struct lsw_gate *g);
/* Registers mixgate_label_decisions_total{channel,peer,decision} in m (the daemon's registry,
 * borrowed: it outlives the gate) and counts every recipient's decision at the gate from then on
 * (decision: allowed, denied, deferred). 0 or MG_E* from metrics_family. */
struct metrics;
int lsw_gate_metrics(struct lsw_gate *g, struct metrics *m);
/* Loads cfg's labels configuration (start, SIGHUP) before cfg is put in use; errors are
 * logged. 0 or MG_ECONFIG / MG_ENOMEM. */
int lsw_gate_sync(struct lsw_gate *g, const struct config *cfg);
/* qmgr_gate.check (ctx = the gate). */
int lsw_gate_check(void *ctx, const struct channel_task *t, struct channel_result *r);
/* qmgr_gate.report_label (ctx = the gate): lsw_report_label of the lsw loaded for cfg. */
int lsw_gate_report_label(void *ctx, const struct config *cfg, unsigned char **der, size_t *len);
/* qmgr_gate.needed: 0 when cfg has no `labels` group (no check, no pool trip per delivery). */
int lsw_gate_needed(void *ctx, const struct config *cfg);
/* submit_label_hook.extract (ctx = the gate). */
int lsw_submit_extract(void *ctx, const struct config *cfg, const struct submit_origin *o, struct message *msg,
                       unsigned char **content, size_t *len, struct submit_result *res);

/* submit_label_hook.commit (ctx = the gate): waits for the audit records of an accepted
 * submission to be durable. Loop thread. */
int lsw_submit_commit(void *ctx, const char *qid, void (*cb)(void *arg, int status), void *arg);

/* ---- routing by label (mta/route.h's struct route_label) ------------------------------- */
/* route_label.match with ctx = a struct lsw loaded from cfg (check-config --route). */
int lsw_route_match(void *ctx, const struct config *cfg, const struct config_route *r, const void *der, size_t len);
/* route_label.match with ctx = the gate: the lsw loaded for cfg by lsw_gate_sync (the qmgr's). */
int lsw_gate_route_match(void *ctx, const struct config *cfg, const struct config_route *r, const void *der,
                         size_t len);
/* A label given as text (any form the engine reads, or a file) as the envelope stores it. */
int lsw_label_from_text(const struct lsw *l, const char *text, unsigned char **der, size_t *len, char *err,
                        size_t errn);

/* Loads and checks the labels group of cfg (check-config, the registry's config loads). */
int lsw_config_check(const struct config *cfg, struct config_errors *errs);

#endif
