/* smtp_envelope: allocation helpers for the SMTP envelope shared by server and client. */
#include "smtp_envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"

void smtp_envelope_init(struct smtp_envelope *e) { memset(e, 0, sizeof *e); }

int smtp_envelope_set_str(char **field, const char *s)
{
    char *n = NULL;
    if (s && !(n = strdup(s)))
        return MG_ENOMEM;
    free(*field);
    *field = n;
    return 0;
}

void smtp_envelope_reset_txn(struct smtp_envelope *e)
{
    for (size_t i = 0; i < e->nrcpts; i++) {
        free(e->rcpts[i].addr);
        free(e->rcpts[i].orcpt_type);
        free(e->rcpts[i].orcpt);
    }
    free(e->rcpts);
    e->rcpts = NULL;
    e->nrcpts = 0;
    free(e->mail_from);
    e->mail_from = NULL;
    free(e->envid);
    e->envid = NULL;
    e->size = 0;
    e->body = SMTP_BODY_NONE;
    e->smtputf8 = 0;
    e->ret = SMTP_RET_NONE;
    e->mt_priority = 0;
    e->mt_priority_given = 0;
    free(e->content);
    e->content = NULL;
    e->content_len = 0;
}

void smtp_envelope_free(struct smtp_envelope *e)
{
    smtp_envelope_reset_txn(e);
    free(e->session_id);
    free(e->helo);
    free(e->client_addr);
    free(e->tls_version);
    free(e->tls_cipher);
    memset(e, 0, sizeof *e);
}

int smtp_envelope_add_rcpt(struct smtp_envelope *e, const char *addr, unsigned notify,
                           const char *orcpt_type, const char *orcpt)
{
    struct smtp_rcpt *n = realloc(e->rcpts, (e->nrcpts + 1) * sizeof *n);
    if (!n)
        return MG_ENOMEM;
    e->rcpts = n;
    struct smtp_rcpt *r = &n[e->nrcpts];
    memset(r, 0, sizeof *r);
    r->notify = notify;
    if (smtp_envelope_set_str(&r->addr, addr) || smtp_envelope_set_str(&r->orcpt_type, orcpt_type) ||
        smtp_envelope_set_str(&r->orcpt, orcpt)) {
        free(r->addr);
        free(r->orcpt_type);
        free(r->orcpt);
        return MG_ENOMEM;
    }
    e->nrcpts++;
    return 0;
}

unsigned char *smtp_envelope_take_content(struct smtp_envelope *e, size_t *len)
{
    unsigned char *c = e->content;
    if (len)
        *len = e->content_len;
    e->content = NULL;
    e->content_len = 0;
    return c;
}

void smtp_reply_set(struct smtp_reply *r, int code, const char *enh, const char *text)
{
    r->code = code;
    snprintf(r->enhanced, sizeof r->enhanced, "%s", enh ? enh : "");
    snprintf(r->text, sizeof r->text, "%s", text ? text : "");
}

int smtp_mt_priority_to_queue(int mt)
{
    int p = mt < -4 ? 0 : mt > 6 ? 5 : (mt + 4) / 2; /* mt + 4 >= 0: the division floors */
    return p;
}

int smtp_mt_priority_of_queue(int priority)
{
    int p = priority < 0 ? 0 : priority > 5 ? 5 : priority;
    return 2 * p - 4;
}
