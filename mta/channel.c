/* channel: outcome and result helpers shared by the queue manager and the channels (see
 * channel.h). */
#include "channel.h"
#include "mg_err.h"
#include "mg_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            *s = ' ';
}

enum channel_action channel_action_from_code(int code)
{
    if (code >= 200 && code < 300)
        return CHANNEL_RELAYED;
    if (code >= 500 && code < 600)
        return CHANNEL_FAILED;
    return CHANNEL_DEFERRED;
}

void channel_outcome_set(struct channel_outcome *o, enum channel_action a, int code,
                         const char *status, const char *text, const char *remote)
{
    memset(o, 0, sizeof *o);
    o->action = a;
    if (!code) {
        switch (a) {
        case CHANNEL_DELIVERED: case CHANNEL_RELAYED: case CHANNEL_DISCARDED:
        case CHANNEL_CONTINUE: code = 250; break;
        case CHANNEL_FAILED: code = 550; break;
        default: code = 451; break;
        }
    }
    o->code = code;
    if (status && *status)
        snprintf(o->status, sizeof o->status, "%s", status);
    else
        snprintf(o->status, sizeof o->status, "%s",
                 code >= 200 && code < 300 ? "2.0.0" : code >= 500 ? "5.0.0" : "4.0.0");
    snprintf(o->text, sizeof o->text, "%s", text ? text : "");
    one_line(o->text);
    snprintf(o->remote, sizeof o->remote, "%s", remote ? remote : "");
    o->x400_reason = CHANNEL_X400_NONE;
    o->x400_diagnostic = CHANNEL_X400_NONE;
}

const char *channel_action_name(enum channel_action a)
{
    static const char *const names[] = { "none", "delivered", "relayed", "failed", "deferred",
                                         "held", "continue", "discarded", "regroup" };
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

int channel_action_is_final(enum channel_action a)
{
    return a == CHANNEL_DELIVERED || a == CHANNEL_RELAYED || a == CHANNEL_FAILED ||
           a == CHANNEL_DISCARDED;
}

void channel_delivery_done(struct channel_delivery *d)
{
    d->done_cb(d);
}

void channel_delivery_set(struct channel_delivery *d, size_t i, int code, const char *status,
                          const char *text, const char *remote)
{
    if (i >= d->nrcpts)
        mg_panic("delivery outcome %zu out of range (%zu)", i, d->nrcpts);
    channel_outcome_set(&d->outcomes[i], channel_action_from_code(code), code, status, text,
                        remote);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int channel_result_add_audit(struct channel_result *r, int rcpt, const char *decision,
                             const char *reason, const char *subject_kind, const void *subject,
                             size_t subject_len, const char *summary)
{
    struct channel_audit *v = realloc(r->audit, (r->naudit + 1) * sizeof *v);
    if (!v)
        return MG_ENOMEM;
    r->audit = v;
    struct channel_audit *a = &v[r->naudit];
    memset(a, 0, sizeof *a);
    a->rcpt = rcpt;
    snprintf(a->decision, sizeof a->decision, "%s", decision ? decision : "");
    snprintf(a->reason, sizeof a->reason, "%s", reason ? reason : "");
    snprintf(a->subject_kind, sizeof a->subject_kind, "%s", subject_kind ? subject_kind : "");
    if (subject && subject_len) {
        a->subject = malloc(subject_len);
        if (!a->subject)
            return MG_ENOMEM;
        memcpy(a->subject, subject, subject_len);
        a->subject_len = subject_len;
    }
    a->summary = dup_or_null(summary);
    if (summary && !a->summary) {
        free(a->subject);
        return MG_ENOMEM;
    }
    r->naudit++;
    return 0;
}

int channel_result_add_copy(struct channel_result *r, const char *addr)
{
    char **v = realloc(r->copy_to, (r->ncopy + 1) * sizeof *v);
    if (!v)
        return MG_ENOMEM;
    r->copy_to = v;
    if (!(v[r->ncopy] = strdup(addr)))
        return MG_ENOMEM;
    r->ncopy++;
    return 0;
}

int channel_result_add_message(struct channel_result *r, const char *originator, const char *rcpt,
                               const void *content, size_t len)
{
    struct channel_new_message *v = realloc(r->messages, (r->nmessages + 1) * sizeof *v);
    if (!v)
        return MG_ENOMEM;
    r->messages = v;
    struct channel_new_message *m = &v[r->nmessages];
    m->originator = strdup(originator ? originator : "");
    m->rcpt = strdup(rcpt);
    m->content = malloc(len + 1);
    if (!m->originator || !m->rcpt || !m->content) {
        free(m->originator); free(m->rcpt); free(m->content);
        return MG_ENOMEM;
    }
    memcpy(m->content, content, len);
    m->content[len] = 0;
    m->len = len;
    r->nmessages++;
    return 0;
}

void channel_result_clear(struct channel_result *r, size_t nrcpts)
{
    content_unref(r->content);
    free(r->label);
    free(r->originator);
    if (r->rcpts)
        for (size_t i = 0; i < nrcpts; i++) {
            free(r->rcpts[i].next_addr);
            free(r->rcpts[i].orcpt);
            r->rcpts[i].orcpt = NULL;
            r->rcpts[i].dsn_set = false;
            r->rcpts[i].gateway_notify = 0;
        }
    for (size_t i = 0; i < r->ncopy; i++)
        free(r->copy_to[i]);
    free(r->copy_to);
    for (size_t i = 0; i < r->nmessages; i++) {
        free(r->messages[i].originator);
        free(r->messages[i].rcpt);
        free(r->messages[i].content);
    }
    free(r->messages);
    for (size_t i = 0; i < r->naudit; i++) {
        free(r->audit[i].subject);
        free(r->audit[i].summary);
    }
    free(r->audit);
    free(r->envid);
    free(r->x400_env);
    free(r->mts_id);
    free(r->content_oid);
    r->content_oid = NULL;
    r->envid = NULL; r->x400_env = NULL; r->x400_env_len = 0; r->env_set = false;
    r->mts_id = NULL;
    r->content = NULL; r->label = NULL; r->originator = NULL;
    r->copy_to = NULL; r->ncopy = 0; r->messages = NULL; r->nmessages = 0;
    r->audit = NULL; r->naudit = 0;
}

const struct channel_kind *channel_kind_find(const struct channel_kind *const *kinds,
                                             const char *name)
{
    if (!kinds || !name)
        return NULL;
    for (; *kinds; kinds++)
        if (!strcmp((*kinds)->name, name))
            return *kinds;
    return NULL;
}
