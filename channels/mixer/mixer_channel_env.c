/* mixer_channel_env: the mixer channel's envelope work for the next hop (RFC 2156 appendix A
 * with the mixer library's mixer_dsnp). Towards X.400 the converted message gets a message
 * transfer envelope of its own (the P1 channel relays a message's stored envelope): every
 * recipient's NOTIFY as per-recipient report requests, its ORCPT as redirection history, the
 * ENVID as the content correlator, content return requested, the priority from the message's
 * Priority field and, for P772, the STANAG 4406 precedence with its qualifier. Towards SMTP
 * the envelope the message arrived with gives each recipient's NOTIFY and ORCPT, the ENVID and
 * RET. */
#include "mixer_channel_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "message.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mixer_dsnp.h"
#include "mixer_env.h"
#include "oraddr.h"

/* The library keeps its own copies of the RFC 3461 values: they must be the queue's. */
_Static_assert((int)MIXER_NOTIFY_NEVER == (int)MESSAGE_NOTIFY_NEVER &&
                   (int)MIXER_NOTIFY_SUCCESS == (int)MESSAGE_NOTIFY_SUCCESS &&
                   (int)MIXER_NOTIFY_FAILURE == (int)MESSAGE_NOTIFY_FAILURE &&
                   (int)MIXER_NOTIFY_DELAY == (int)MESSAGE_NOTIFY_DELAY,
               "NOTIFY bits differ between mixer_dsnp.h and message.h");
_Static_assert((int)MIXER_RET_HDRS == (int)MESSAGE_RET_HDRS &&
                   (int)MIXER_RET_FULL == (int)MESSAGE_RET_FULL,
               "RET values differ between mixer_dsnp.h and message.h");

static void utc(int64_t t, char *out, size_t outsize)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, outsize, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The canonical O/R text the P1 side compares recipient names in (oraddr.h); "" when a is not
 * an O/R address oraddr can write. RFC 2156's "RFC-822" attribute (and its continuations) is a
 * domain-defined attribute, which oraddr writes "DD.RFC-822". */
static void canon(const char *a, char *out, size_t outsize)
{
    char err[120], in[ORADDR_TEXT_MAX + 64];
    size_t o = 0;
    for (const char *p = a; *p && o + 4 < sizeof in; p++) {
        if (*p == '/' && (!strncasecmp(p + 1, "RFC-822=", 8) || !strncasecmp(p + 1, "RFC822C", 7))) {
            memcpy(in + o, "/DD.", 4);
            o += 4;
            continue;
        }
        in[o++] = *p;
    }
    in[o] = '\0';
    if (o + 4 >= sizeof in || oraddr_normalize(in, out, outsize, err, sizeof err) != 0)
        out[0] = '\0';
}

/* An ORCPT ("rfc822;a@b" or "x400;/C=../") as canonical O/R text; "" when it has another type
 * or does not map. */
static void orcpt_or(const struct mixer_conf *c, const char *orcpt, char *out, size_t outsize)
{
    out[0] = '\0';
    const char *semi = orcpt ? strchr(orcpt, ';') : NULL;
    if (!semi)
        return;
    size_t tl = (size_t)(semi - orcpt);
    bool x400 = tl == 4 && !strncasecmp(orcpt, "x400", 4);
    bool rfc822 = tl == 6 && !strncasecmp(orcpt, "rfc822", 6);
    if (!x400 && !rfc822)
        return;
    char *mapped = NULL, why[200];
    enum mixer_addr_how how;
    if (mixer_channel_map_addr(c, true, semi + 1, &mapped, &how, why, sizeof why) == 0)
        canon(mapped, out, outsize);
    free(mapped);
}

static int add_rcpt(const struct mixer_conf *c, struct mixer_dsnp_env *e, const char *addr,
                    const struct message_rcpt *mr)
{
    struct mixer_dsnp_rcpt *d = mixer_dsnp_env_add(e);
    if (!d)
        return MG_ENOMEM;
    snprintf(d->addr, sizeof d->addr, "%s", addr);
    d->indicators = mixer_dsnp_indicators(mr->notify);
    orcpt_or(c, mr->orcpt, d->orcpt, sizeof d->orcpt);
    if (!strcmp(d->orcpt, d->addr))
        d->orcpt[0] = '\0'; /* not redirected: nothing to say */
    return 0;
}

static bool in_group(const struct channel_task *t, size_t i)
{
    for (size_t k = 0; k < t->nrcpts; k++)
        if (t->rcpts[k] == i)
            return true;
    return false;
}

int mixer_channel_gdi(const struct mixer_conf *c, char *out, size_t outsize)
{
    struct mixer_or g;
    mixer_or_init(&g);
    static const enum mixer_or_key keys[] = {MIXER_OR_C, MIXER_OR_ADMD, MIXER_OR_PRMD};
    for (size_t k = 0; k < 3; k++) {
        const char *v = mixer_or_get(&c->gw.or, keys[k], 0);
        if (v && mixer_or_add(&g, keys[k], NULL, v, strlen(v)) != 0)
            break;
    }
    return mixer_or_print(&g, out, outsize) != 0 ? MG_ETOOBIG : 0;
}

int mixer_channel_env_to_x400(const struct mixer_conf *c, const struct channel_task *t,
                              const unsigned char *data, size_t len, int prec,
                              struct channel_result *r)
{
    const struct message *m = t->msg;
    struct mixer_dsnp_env *e = calloc(1, sizeof *e);
    char a[ORADDR_TEXT_MAX], gdi[MIXER_ADDR_MAX] = "", why[300] = "";
    int rc = e ? 0 : MG_ENOMEM;
    if (rc)
        goto done;
    mixer_dsnp_env_init(e);
    /* the gateway's domain names the message and its trace element */
    if (mixer_channel_gdi(c, gdi, sizeof gdi) != 0)
        goto done;
    if (strlen(gdi) + strlen(m->id) + 4 > sizeof e->mts_id)
        goto done;
    snprintf(e->mts_id, sizeof e->mts_id, "[%.*s;%s]", (int)(sizeof e->mts_id - 24), gdi,
             m->id[0] ? m->id : "0");
    snprintf(e->trace_gdi, sizeof e->trace_gdi, "%s", gdi);
    utc(m->arrival ? m->arrival : t->now, e->arrival, sizeof e->arrival);
    /* the null reverse path has no O/R address: the gateway's own stands in */
    const char *orig = r->originator ? r->originator : t->originator;
    if (orig && *orig)
        snprintf(e->originator, sizeof e->originator, "%s", orig);
    else if (mixer_or_print(&c->gw.or, e->originator, sizeof e->originator) != 0)
        goto done;
    snprintf(e->content_type, sizeof e->content_type, "%s",
             c->content == MIXER_CONTENT_P772 ? mixer_content_oid(c->content)
             : c->content == MIXER_CONTENT_P2 ? "2"
                                              : "22");
    /* the X.400 priority: the message's Priority field (RFC 2156 5.3.6), else the queue
     * priority when the message was given one (MT-PRIORITY from a trusted client, RFC 6710),
     * ACP 123's pairs: deferred/routine non-urgent, priority/immediate normal, flash/override
     * urgent; the queue's default (routine, a message that named none) stays normal. P772
     * carries the precedence itself too (the priority-level-qualifier picks within the pair):
     * the MMHS-Primary-Precedence field's, else the queue's. */
    int qp = t->priority;
    bool given = qp >= MESSAGE_PRIORITY_MIN && qp <= MESSAGE_PRIORITY_MAX &&
                 qp != MESSAGE_PRIORITY_DEFAULT;
    int hp = mixer_env_priority(data, len);
    if (hp >= 0)
        e->priority = hp;
    else if (given)
        e->priority = qp >= 4 ? 2 : qp >= 2 ? 0 : 1;
    e->precedence = -1;
    if (c->content == MIXER_CONTENT_P772)
        e->precedence = prec >= 0 && prec <= 5 ? prec : given ? qp : -1;
    e->content_return = mixer_dsnp_content_return((enum mixer_ret)m->ret);
    if (m->envid && mixer_dsnp_correlator(m->envid, e->correlator, sizeof e->correlator) != 0)
        e->correlator[0] = '\0'; /* an ENVID X.411 cannot carry: the DSN goes without it */
    /* the group's recipients, in the canonical form the P1 side compares */
    for (size_t k = 0; !rc && k < t->nrcpts; k++) {
        struct channel_rcpt_result *rr = &r->rcpts[k];
        if (rr->outcome.action == CHANNEL_FAILED || t->rcpts[k] >= m->nrcpts)
            continue;
        canon(rr->next_addr ? rr->next_addr : t->rcpt_addrs[k], a, sizeof a);
        if (!a[0])
            goto done; /* not every recipient can be named: the P1 side's own envelope */
        if (rr->next_addr && strcmp(rr->next_addr, a) != 0) {
            char *n = strdup(a);
            if (!n) {
                rc = MG_ENOMEM;
                break;
            }
            free(rr->next_addr);
            rr->next_addr = n;
        }
        rc = add_rcpt(c, e, a, &m->rcpts[t->rcpts[k]]);
    }
    /* the message's other recipients that go to X.400 too: the envelope is the message's,
     * and each P1 delivery is made responsible for its own recipients only */
    for (size_t i = 0; !rc && i < m->nrcpts; i++) {
        const struct message_rcpt *mr = &m->rcpts[i];
        if (in_group(t, i) || message_rcpt_state_is_final(mr->state))
            continue;
        char *mapped = NULL;
        enum mixer_addr_how how;
        if (mixer_channel_map_addr(c, true, mr->next_addr ? mr->next_addr : mr->addr, &mapped,
                                   &how, why, sizeof why) == 0 &&
            how != MIXER_ADDR_DDA && how != MIXER_ADDR_GATEWAY) {
            canon(mapped, a, sizeof a);
            if (!a[0]) {
                /* the envelope is the message's: all of its X.400 recipients or none */
                free(mapped);
                goto done;
            }
            rc = add_rcpt(c, e, a, mr);
        }
        free(mapped);
    }
    if (rc || e->nrcpts == 0)
        goto done;
    struct mg_buf out;
    mg_buf_init(&out, MESSAGE_X400_ENV_MAX);
    int brc = mixer_dsnp_env_to_ber(e, &out, why, sizeof why);
    if (brc == 0) {
        size_t olen = 0;
        r->x400_env = mg_buf_steal(&out, &olen);
        r->x400_env_len = olen;
        free(r->mts_id);
        if (!(r->mts_id = strdup(e->mts_id)))
            rc = MG_ENOMEM;
    } else if (brc == MG_ENOMEM) {
        rc = brc;
    }
    /* else: the P1 side builds its default envelope (no report requests carried) */
    mg_buf_free(&out);
done:
    if (e)
        mixer_dsnp_env_free(e);
    free(e);
    return rc;
}

int mixer_channel_env_to_smtp(const struct channel_task *t, struct channel_result *r)
{
    const struct message *m = t->msg;
    if (!m->x400_env || !m->x400_env_len || m->content_type == MESSAGE_CONTENT_X400_REPORT)
        return 0;
    struct mixer_dsnp_env *e = calloc(1, sizeof *e);
    if (!e)
        return MG_ENOMEM;
    mixer_dsnp_env_init(e);
    char why[300], a[ORADDR_TEXT_MAX], b[ORADDR_TEXT_MAX];
    int rc = mixer_dsnp_env_from_ber(m->x400_env, m->x400_env_len, e, why, sizeof why);
    if (rc) {
        rc = rc == MG_ENOMEM ? rc : 0; /* unreadable: the SMTP side goes without parameters */
        goto done;
    }
    for (size_t k = 0; !rc && k < t->nrcpts; k++) {
        if (t->rcpts[k] >= m->nrcpts)
            continue;
        canon(m->rcpts[t->rcpts[k]].addr, a, sizeof a);
        for (size_t i = 0; a[0] && i < e->nrcpts; i++) {
            canon(e->rcpts[i].addr, b, sizeof b);
            if (strcmp(a, b) != 0)
                continue;
            struct channel_rcpt_result *rr = &r->rcpts[k];
            rr->dsn_set = true;
            rr->notify = mixer_dsnp_notify(e->rcpts[i].indicators);
            /* A.3.2: what the originating MTA asks beyond that, the gateway reports */
            rr->gateway_notify = mixer_dsnp_gateway_notify(e->rcpts[i].indicators);
            free(rr->orcpt);
            rr->orcpt = NULL;
            if (e->rcpts[i].orcpt[0] &&
                strlen(e->rcpts[i].orcpt) + 5 <= MIXER_DSNP_ORCPT_MAX) {
                size_t n = strlen(e->rcpts[i].orcpt) + 6;
                if (!(rr->orcpt = malloc(n)))
                    rc = MG_ENOMEM;
                else
                    snprintf(rr->orcpt, n, "x400;%s", e->rcpts[i].orcpt);
            }
            break;
        }
    }
    char envid[MIXER_DSNP_ENVID_MAX + 1];
    if (!rc) {
        r->env_set = true;
        r->ret = (int)mixer_dsnp_ret(e->content_return);
        free(r->envid);
        r->envid = NULL;
        if (mixer_dsnp_envid_of_mts_id(e->mts_id, envid, sizeof envid) == 0 &&
            !(r->envid = strdup(envid)))
            rc = MG_ENOMEM;
    }
done:
    mixer_dsnp_env_free(e);
    free(e);
    return rc;
}
