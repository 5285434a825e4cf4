/* message: envelope model of a queued message, its setters with size limits, and queue ids. */
#include "message.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mg_err.h"

/* Crockford base32: digits then letters in ASCII order, so byte order of ids is value order. */
static const char id_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int copy_str(char **field, const char *s, size_t limit)
{
    if (!s) {
        free(*field);
        *field = NULL;
        return 0;
    }
    size_t n = strnlen(s, limit + 1);
    if (n > limit)
        return MG_ETOOBIG;
    char *c = malloc(n + 1);
    if (!c)
        return MG_ENOMEM;
    memcpy(c, s, n);
    c[n] = '\0';
    free(*field);
    *field = c;
    return 0;
}

struct message *message_create(void)
{
    struct message *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->originator = strdup("");
    if (!m->originator) {
        free(m);
        return NULL;
    }
    m->priority = MESSAGE_PRIORITY_DEFAULT;
    return m;
}

static void rcpt_clear(struct message_rcpt *r)
{
    free(r->addr);
    free(r->orcpt);
    free(r->last_reply);
    free(r->status);
    free(r->remote_mta);
    free(r->route);
    free(r->chain);
    free(r->peer);
    free(r->next_addr);
}

void message_free(struct message *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nrcpts; i++)
        rcpt_clear(&m->rcpts[i]);
    free(m->rcpts);
    free(m->originator);
    free(m->envid);
    free(m->received_from);
    free(m->received_proto);
    free(m->hold_reason);
    free(m->label);
    free(m->mts_id);
    free(m->content_oid);
    free(m->x400_env);
    free(m);
}

static int dup_field(char **dst, const char *src)
{
    if (!src) {
        *dst = NULL;
        return 0;
    }
    *dst = strdup(src);
    return *dst ? 0 : MG_ENOMEM;
}

struct message *message_dup(const struct message *m)
{
    struct message *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    memcpy(d->id, m->id, sizeof(d->id));
    d->ret = m->ret;
    d->priority = m->priority;
    d->arrival = m->arrival;
    d->expire_at = m->expire_at;
    d->hold = m->hold;
    d->content_type = m->content_type;
    d->content_size = m->content_size;
    d->content_version = m->content_version;
    int rc = 0;
    rc |= dup_field(&d->originator, m->originator ? m->originator : "");
    rc |= dup_field(&d->envid, m->envid);
    rc |= dup_field(&d->received_from, m->received_from);
    rc |= dup_field(&d->received_proto, m->received_proto);
    rc |= dup_field(&d->hold_reason, m->hold_reason);
    if (rc == 0)
        rc = message_set_x400(d, m->mts_id, m->content_oid, m->x400_env, m->x400_env_len);
    if (rc == 0 && m->label && m->label_len > 0) {
        d->label = malloc(m->label_len);
        if (d->label) {
            memcpy(d->label, m->label, m->label_len);
            d->label_len = m->label_len;
        } else {
            rc = MG_ENOMEM;
        }
    }
    if (rc == 0 && m->nrcpts > 0) {
        d->rcpts = calloc(m->nrcpts, sizeof(*d->rcpts));
        if (!d->rcpts)
            rc = MG_ENOMEM;
        else
            d->rcpts_cap = m->nrcpts;
    }
    for (size_t i = 0; rc == 0 && i < m->nrcpts; i++) {
        const struct message_rcpt *s = &m->rcpts[i];
        struct message_rcpt *r = &d->rcpts[i];
        d->nrcpts = i + 1;
        r->notify = s->notify;
        r->state = s->state;
        r->flags = s->flags;
        r->attempts = s->attempts;
        r->next_attempt = s->next_attempt;
        r->last_attempt = s->last_attempt;
        rc |= dup_field(&r->addr, s->addr);
        rc |= dup_field(&r->orcpt, s->orcpt);
        rc |= dup_field(&r->last_reply, s->last_reply);
        rc |= dup_field(&r->status, s->status);
        rc |= dup_field(&r->remote_mta, s->remote_mta);
        rc |= dup_field(&r->route, s->route);
        rc |= dup_field(&r->chain, s->chain);
        rc |= dup_field(&r->peer, s->peer);
        rc |= dup_field(&r->next_addr, s->next_addr);
        r->stage = s->stage;
        r->cversion = s->cversion;
        r->kind = s->kind;
    }
    if (rc != 0) {
        message_free(d);
        return NULL;
    }
    return d;
}

int message_set_originator(struct message *m, const char *addr)
{
    return copy_str(&m->originator, addr ? addr : "", MESSAGE_ADDR_MAX);
}

int message_set_envid(struct message *m, const char *envid)
{
    /* RFC 3461 limits ENVID to 100 characters; we allow the general text limit. */
    return copy_str(&m->envid, envid, MESSAGE_TEXT_MAX);
}

int message_set_received(struct message *m, const char *from, const char *proto)
{
    int rc = copy_str(&m->received_from, from, MESSAGE_TEXT_MAX);
    if (rc == 0)
        rc = copy_str(&m->received_proto, proto, MESSAGE_TEXT_MAX);
    return rc;
}

int message_set_hold(struct message *m, int hold, const char *reason)
{
    int rc = copy_str(&m->hold_reason, hold ? reason : NULL, MESSAGE_TEXT_MAX);
    if (rc == 0)
        m->hold = hold ? 1 : 0;
    return rc;
}

int message_set_label(struct message *m, const void *label, size_t len)
{
    if (!label || len == 0) {
        free(m->label);
        m->label = NULL;
        m->label_len = 0;
        return 0;
    }
    if (len > MESSAGE_LABEL_MAX)
        return MG_ETOOBIG;
    unsigned char *c = malloc(len);
    if (!c)
        return MG_ENOMEM;
    memcpy(c, label, len);
    free(m->label);
    m->label = c;
    m->label_len = len;
    return 0;
}

int message_set_x400(struct message *m, const char *mts_id, const char *content_oid,
                     const void *env, size_t env_len)
{
    if (env && env_len > MESSAGE_X400_ENV_MAX)
        return MG_ETOOBIG;
    int rc = copy_str(&m->mts_id, mts_id, MESSAGE_TEXT_MAX);
    if (rc == 0)
        rc = copy_str(&m->content_oid, content_oid, 256);
    if (rc != 0)
        return rc;
    unsigned char *c = NULL;
    if (env && env_len) {
        if (!(c = malloc(env_len)))
            return MG_ENOMEM;
        memcpy(c, env, env_len);
    }
    free(m->x400_env);
    m->x400_env = c;
    m->x400_env_len = c ? env_len : 0;
    return 0;
}

int message_add_rcpt(struct message *m, const char *addr, const char *orcpt, unsigned notify,
                     struct message_rcpt **out)
{
    if (!addr || !*addr)
        return MG_EINVAL;
    if (notify & ~(unsigned)(MESSAGE_NOTIFY_NEVER | MESSAGE_NOTIFY_SUCCESS |
                             MESSAGE_NOTIFY_FAILURE | MESSAGE_NOTIFY_DELAY))
        return MG_EINVAL;
    if ((notify & MESSAGE_NOTIFY_NEVER) && notify != MESSAGE_NOTIFY_NEVER)
        return MG_EINVAL;
    if (m->nrcpts >= MESSAGE_RCPTS_MAX)
        return MG_ETOOBIG;
    if (m->nrcpts == m->rcpts_cap) {
        size_t cap = m->rcpts_cap ? m->rcpts_cap * 2 : 4;
        struct message_rcpt *n = realloc(m->rcpts, cap * sizeof(*n));
        if (!n)
            return MG_ENOMEM;
        m->rcpts = n;
        m->rcpts_cap = cap;
    }
    struct message_rcpt r = { .notify = notify, .state = MESSAGE_RCPT_PENDING };
    int rc = copy_str(&r.addr, addr, MESSAGE_ADDR_MAX);
    if (rc == 0)
        rc = copy_str(&r.orcpt, orcpt, MESSAGE_ADDR_MAX);
    if (rc != 0) {
        rcpt_clear(&r);
        return rc;
    }
    m->rcpts[m->nrcpts] = r;
    if (out)
        *out = &m->rcpts[m->nrcpts];
    m->nrcpts++;
    return 0;
}

int message_rcpt_set_str(char **field, const char *s)
{
    return copy_str(field, s, MESSAGE_TEXT_MAX);
}

int message_rcpt_set_route(struct message_rcpt *r, const char *route, const char *chain,
                           const char *peer)
{
    int rc = copy_str(&r->route, route, MESSAGE_TEXT_MAX);
    if (rc == 0)
        rc = copy_str(&r->chain, chain, MESSAGE_TEXT_MAX);
    if (rc == 0)
        rc = copy_str(&r->peer, peer, MESSAGE_TEXT_MAX);
    return rc;
}

int message_rcpt_state_is_final(enum message_rcpt_state s)
{
    return s == MESSAGE_RCPT_DELIVERED || s == MESSAGE_RCPT_FAILED;
}

int message_is_final(const struct message *m)
{
    for (size_t i = 0; i < m->nrcpts; i++)
        if (!message_rcpt_state_is_final(m->rcpts[i].state))
            return 0;
    return 1;
}

void message_count_states(const struct message *m, uint32_t counts[MESSAGE_RCPT_STATE_COUNT])
{
    for (int i = 0; i < MESSAGE_RCPT_STATE_COUNT; i++)
        counts[i] = 0;
    for (size_t i = 0; i < m->nrcpts; i++)
        if ((unsigned)m->rcpts[i].state < MESSAGE_RCPT_STATE_COUNT)
            counts[m->rcpts[i].state]++;
}

static const char *const state_names[MESSAGE_RCPT_STATE_COUNT] = {
    [MESSAGE_RCPT_PENDING] = "pending",
    [MESSAGE_RCPT_DELIVERED] = "delivered",
    [MESSAGE_RCPT_DEFERRED] = "deferred",
    [MESSAGE_RCPT_FAILED] = "failed",
    [MESSAGE_RCPT_HELD] = "held",
};

const char *message_rcpt_state_name(enum message_rcpt_state s)
{
    if ((unsigned)s >= MESSAGE_RCPT_STATE_COUNT)
        return "unknown";
    return state_names[s];
}

int message_rcpt_state_parse(const char *name, enum message_rcpt_state *out)
{
    for (int i = 0; name && i < MESSAGE_RCPT_STATE_COUNT; i++) {
        if (strcasecmp(name, state_names[i]) == 0) {
            *out = (enum message_rcpt_state)i;
            return 0;
        }
    }
    return MG_EINVAL;
}

static const struct {
    const char *name;
    unsigned bit;
} notify_names[] = {
    { "NEVER", MESSAGE_NOTIFY_NEVER },
    { "SUCCESS", MESSAGE_NOTIFY_SUCCESS },
    { "FAILURE", MESSAGE_NOTIFY_FAILURE },
    { "DELAY", MESSAGE_NOTIFY_DELAY },
};

int message_notify_parse(const char *s, unsigned *out)
{
    if (!s || !*s)
        return MG_EINVAL;
    unsigned bits = 0;
    const char *p = s;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof(notify_names) / sizeof(notify_names[0]); i++) {
            if (strlen(notify_names[i].name) == len && strncasecmp(p, notify_names[i].name, len) == 0)
                bit = notify_names[i].bit;
        }
        if (!bit || (bits & bit))
            return MG_EINVAL;
        bits |= bit;
        if (!end)
            break;
        p = end + 1;
    }
    if ((bits & MESSAGE_NOTIFY_NEVER) && bits != MESSAGE_NOTIFY_NEVER)
        return MG_EINVAL;
    *out = bits;
    return 0;
}

char *message_notify_format(unsigned notify, char *buf, size_t bufsz)
{
    size_t used = 0;
    if (bufsz == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(notify_names) / sizeof(notify_names[0]); i++) {
        if (!(notify & notify_names[i].bit))
            continue;
        size_t len = strlen(notify_names[i].name) + (used ? 1 : 0);
        if (used + len + 1 > bufsz)
            break;
        if (used)
            buf[used++] = ',';
        memcpy(buf + used, notify_names[i].name, strlen(notify_names[i].name));
        used += strlen(notify_names[i].name);
        buf[used] = '\0';
    }
    return buf;
}

void message_idgen_init(struct message_idgen *g, uint32_t node)
{
    g->last_us = 0;
    g->seq = 0;
    g->node = node % 32u;
}

void message_idgen_next_at(struct message_idgen *g, uint64_t now_us, char out[MESSAGE_ID_SIZE])
{
    /* 10 bits of sequence per microsecond; past that (or when the clock steps back) we borrow
     * the following microseconds so ids of one generator stay strictly increasing. */
    if (now_us > g->last_us) {
        g->last_us = now_us;
        g->seq = 0;
    } else if (++g->seq >= 1024u) {
        g->last_us++;
        g->seq = 0;
    }
    uint64_t t = g->last_us & ((UINT64_C(1) << 55) - 1);
    for (int i = 10; i >= 0; i--) {
        out[i] = id_alphabet[t & 31u];
        t >>= 5;
    }
    uint32_t tail = (g->node << 10) | g->seq;
    for (int i = 13; i >= 11; i--) {
        out[i] = id_alphabet[tail & 31u];
        tail >>= 5;
    }
    out[MESSAGE_ID_LEN] = '\0';
}

void message_idgen_next(struct message_idgen *g, char out[MESSAGE_ID_SIZE])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    message_idgen_next_at(g, now, out);
}

static int id_digit(char c)
{
    const char *p = c ? strchr(id_alphabet, c) : NULL;
    return p ? (int)(p - id_alphabet) : -1;
}

int message_id_valid(const char *s)
{
    if (!s)
        return 0;
    for (int i = 0; i < MESSAGE_ID_LEN; i++)
        if (id_digit(s[i]) < 0)
            return 0;
    return s[MESSAGE_ID_LEN] == '\0';
}

uint64_t message_id_time_us(const char *id)
{
    if (!message_id_valid(id))
        return 0;
    uint64_t t = 0;
    for (int i = 0; i < 11; i++)
        t = (t << 5) | (uint64_t)id_digit(id[i]);
    return t;
}
