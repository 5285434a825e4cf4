/* rules_channel: the `rules` processing channel kind: adapts the rules library (rules.h) to the
 * chain interface (channel.h). Runs on the thread pool; the compiled rules are the channel's
 * configuration (immutable, shared by every group in flight).
 *
 * Per recipient the first matching rule decides: continue (with header edits, copies, alerts),
 * return (5xx: the recipient fails with a report; 4xx: deferred), hold, or discard (audited).
 * One group gets one content: the recipients that continue with the same header edits as the
 * first of them keep going now; a recipient whose edits differ (a value with ${recipient}) is
 * regrouped: the stage runs again for it in the next round, with the others like it. */
#define _GNU_SOURCE /* asprintf */
#include "rules_channel.h"
#include "mg_err.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int rules_configure(const struct config *cfg, const struct config_channel *ch,
                           void **conf, struct config_errors *errs)
{
    struct rules *r = NULL;
    int rc = rules_compile(ch->settings, cfg->path, errs, &r);
    if (rc != 0)
        return rc;
    *conf = r;
    return 0;
}

static void rules_conf_free(void *conf)
{
    rules_free(conf);
}

static int edits_same(const struct rules_result *a, const struct rules_result *b)
{
    if (a->n_edits != b->n_edits)
        return 0;
    for (size_t i = 0; i < a->n_edits; i++) {
        const struct rules_edit *x = &a->edits[i], *y = &b->edits[i];
        if (x->op != y->op || strcmp(x->name, y->name) ||
            ((x->value == NULL) != (y->value == NULL)) || (x->value && strcmp(x->value, y->value)))
            return 0;
    }
    return 1;
}

/* An alert to an operator address: a small RFC 5322 message from the postmaster. */
static int add_alert(struct channel_result *r, const struct channel_task *t, const char *to,
                     const struct rules_result *res)
{
    char date[64];
    time_t now = (time_t)t->now;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *host = t->cfg->global.hostname ? t->cfg->global.hostname : "localhost";
    char *text = NULL;
    int n = asprintf(&text,
                     "From: Mail Delivery Subsystem <MAILER-DAEMON@%s>\r\n"
                     "To: <%s>\r\n"
                     "Subject: mixgate rule alert: %s\r\n"
                     "Date: %s\r\n"
                     "Auto-Submitted: auto-generated\r\n"
                     "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "\r\n"
                     "%s\r\n"
                     "queue id: %s\r\nrule: %s (channel %s)\r\n",
                     host, to, res->rule_name ? res->rule_name : "-", date,
                     res->notify_text ? res->notify_text : "", t->msg->id,
                     res->rule_name ? res->rule_name : "-", t->channel->name);
    if (n < 0)
        return MG_ENOMEM;
    int rc = channel_result_add_message(r, "", to, text, (size_t)n);
    free(text);
    return rc;
}

static int has_copy(const struct channel_result *r, const char *a)
{
    for (size_t i = 0; i < r->ncopy; i++)
        if (!strcasecmp(r->copy_to[i], a))
            return 1;
    return 0;
}

/* One alert per rule and address in a group. */
static int has_alert(const struct channel_result *r, const char *to, const char *rule)
{
    char subj[600];
    snprintf(subj, sizeof subj, "Subject: mixgate rule alert: %s\r\n", rule ? rule : "-");
    for (size_t i = 0; i < r->nmessages; i++)
        if (!strcasecmp(r->messages[i].rcpt, to) && strstr((const char *)r->messages[i].content, subj))
            return 1;
    return 0;
}

static int rules_process(const void *conf, const struct channel_task *t, struct channel_result *r)
{
    const struct rules *rules = conf;
    size_t clen = 0;
    const unsigned char *content = content_data(t->content, &clen);
    struct rules_msg m = {
        .qid = t->msg->id, .originator = t->originator, .content = content, .content_len = clen,
        .priority = t->msg->priority, .classification = -1, .now = t->now,
    };
    struct rules_prepared *p = NULL;
    int rc = rules_prepare(&m, &p);
    if (rc != 0) {
        snprintf(r->error, sizeof r->error, "cannot read the message: %s", mg_strerror(rc));
        return rc;
    }
    struct rules_result *res = calloc(t->nrcpts, sizeof *res);
    if (!res) {
        rules_prepared_free(p);
        return MG_ENOMEM;
    }
    const struct rules_result *lead = NULL; /* the edits this group's content gets */
    size_t done = 0;
    for (size_t i = 0; rc == 0 && i < t->nrcpts; i++, done++) {
        const char *rcpt = t->msg->rcpts[t->rcpts[i]].addr;
        rc = rules_eval(rules, p, rcpt, &res[i]);
        if (rc != 0)
            break;
        struct rules_result *x = &res[i];
        struct channel_outcome *o = &r->rcpts[i].outcome;
        char why[600];
        snprintf(why, sizeof why, "rule %s (line %d)", x->rule_name ? x->rule_name : "-",
                 x->rule_line);
        switch (x->action) {
        case RULES_CONTINUE:
            if (!lead)
                lead = x;
            else if (!edits_same(lead, x)) {
                channel_outcome_set(o, CHANNEL_REGROUP, 0, NULL, NULL, NULL);
                continue;
            }
            for (size_t k = 0; rc == 0 && k < x->n_copy; k++)
                if (!has_copy(r, x->copy[k]))
                    rc = channel_result_add_copy(r, x->copy[k]);
            break;
        case RULES_RETURN: {
            enum channel_action a = x->status_code >= 500 ? CHANNEL_FAILED : CHANNEL_DEFERRED;
            channel_outcome_set(o, a, x->status_code, x->status, x->text, NULL);
            rc = channel_result_add_audit(r, (int)i, "rule-returned", why, "", NULL, 0, x->text);
            break;
        }
        case RULES_HOLD:
            channel_outcome_set(o, CHANNEL_HELD, 0, NULL, x->hold_reason, NULL);
            rc = channel_result_add_audit(r, (int)i, "rule-held", why, "", NULL, 0, x->hold_reason);
            break;
        case RULES_DISCARD:
            channel_outcome_set(o, CHANNEL_DISCARDED, 0, NULL, why, NULL);
            rc = channel_result_add_audit(r, (int)i, "discarded", why, "", NULL, 0, NULL);
            break;
        }
        for (size_t k = 0; rc == 0 && k < x->n_notify; k++)
            if (!has_alert(r, x->notify[k], x->rule_name))
                rc = add_alert(r, t, x->notify[k], x);
    }
    if (rc == 0 && lead && lead->n_edits) {
        unsigned char *out = NULL;
        size_t olen = 0;
        rc = rules_apply_headers(content, clen, lead->edits, lead->n_edits, &out, &olen);
        if (rc == 0) {
            r->content = content_new(content_type(t->content), 0, out, olen);
            if (!r->content)
                rc = MG_ENOMEM;
        }
    }
    for (size_t i = 0; i < done && i < t->nrcpts; i++)
        rules_result_free(&res[i]);
    free(res);
    rules_prepared_free(p);
    if (rc != 0 && !r->error[0])
        snprintf(r->error, sizeof r->error, "%s", mg_strerror(rc));
    return rc;
}

const struct channel_kind rules_channel_kind = {
    .name = "rules",
    .role = CHANNEL_ROLE_PROCESSING,
    .configure = rules_configure,
    .conf_free = rules_conf_free,
    .process = rules_process,
    /* Rules read the heading and match patterns an operator wrote: cheap for a small message,
     * so small ones skip the pool hop (qmgr_stage.c); a large one still goes to the pool. */
    .inline_max = 32 * 1024,
};
