/* smtp_dns: c-ares MX and A/AAAA resolution on libuv (see smtp_dns.h).
 *
 * c-ares tells us which sockets to watch (sock_state_cb); each gets a uv_poll_t (struct
 * dns_poll, owned by the resolver, freed in its close callback). One uv_timer_t drives c-ares'
 * own timeouts and also defers the start of a lookup so the callback never runs inside
 * smtp_dns_resolve. ares_destroy is called only from the timer's close callback, never from
 * inside a c-ares callback (where the user may have called smtp_dns_close). */
#include "smtp_dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "mg_log.h"

struct dns_poll {
    uv_poll_t poll;
    ares_socket_t fd;
    struct smtp_dns *d;
    struct dns_poll *next;
};

struct smtp_dns {
    uv_loop_t *loop;
    uv_timer_t timer;            /* c-ares timeouts; the deferred start */
    int timer_open;
    ares_channel ares;
    int ares_ok;
    struct dns_poll *polls;      /* owned list */
    int npolls;
    /* the lookup */
    int started, done, closing;
    char name[256];
    int is_domain, port;
    smtp_dns_cb cb;
    void *arg;
    char mx[SMTP_DNS_MAX_MX][256];
    int nmx, mx_next;
    struct smtp_dns_candidate cand[SMTP_DNS_MAX_CANDIDATES];
    size_t ncand;
    void (*closed_cb)(void *);
    void *closed_arg;
};

static void maybe_free(struct smtp_dns *d);
static void resolve_next_mx(struct smtp_dns *d);

/* ---------------------------------------------------------------- c-ares on libuv */

static void poll_closed(uv_handle_t *h)
{
    struct dns_poll *p = h->data;
    struct smtp_dns *d = p->d;
    free(p);
    d->npolls--;
    maybe_free(d);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct dns_poll *p = h->data;
    struct smtp_dns *d = p->d;
    ares_socket_t fd = p->fd;
    if (status < 0)
        ares_process_fd(d->ares, fd, fd);
    else
        ares_process_fd(d->ares, (events & UV_READABLE) ? fd : ARES_SOCKET_BAD,
                        (events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct smtp_dns *d = data;
    struct dns_poll **pp = &d->polls, *p;
    for (p = d->polls; p && p->fd != fd; pp = &p->next, p = p->next)
        ;
    if (!readable && !writable) {
        if (p) {
            *pp = p->next;
            uv_poll_stop(&p->poll);
            uv_close((uv_handle_t *)&p->poll, poll_closed);
        }
        return;
    }
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return; /* the query times out through the timer */
        if (uv_poll_init_socket(d->loop, &p->poll, fd)) {
            free(p);
            return;
        }
        p->fd = fd;
        p->d = d;
        p->poll.data = p;
        p->next = d->polls;
        d->polls = p;
        d->npolls++;
    }
    uv_poll_start(&p->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), poll_cb);
}

static void timer_cb(uv_timer_t *t);

static void arm_timer(struct smtp_dns *d)
{
    struct timeval tv, *tvp = ares_timeout(d->ares, NULL, &tv);
    if (tvp)
        uv_timer_start(&d->timer, timer_cb,
                       (uint64_t)tvp->tv_sec * 1000 + (uint64_t)tvp->tv_usec / 1000 + 1, 0);
}

static void timer_cb(uv_timer_t *t)
{
    struct smtp_dns *d = t->data;
    ares_process_fd(d->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    if (!d->done && !d->closing)
        arm_timer(d);
}

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static void ares_global_init(void) { ares_library_init(ARES_LIB_INIT_ALL); }

/* ---------------------------------------------------------------- results */

static void finish(struct smtp_dns *d, int status, int code, const char *enh, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void finish(struct smtp_dns *d, int status, int code, const char *enh, const char *fmt, ...)
{
    if (d->done || d->closing)
        return;
    d->done = 1;
    uv_timer_stop(&d->timer);
    struct smtp_reply r = { .code = code };
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r.text, sizeof r.text, fmt, ap);
        va_end(ap);
        snprintf(r.enhanced, sizeof r.enhanced, "%s", enh);
    }
    d->cb(d->arg, status, status ? &r : NULL, d->cand, status ? 0 : d->ncand);
}

static void add_candidates(struct smtp_dns *d, const char *name, const struct ares_addrinfo *ai)
{
    for (const struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n; n = n->ai_next) {
        if (d->ncand >= SMTP_DNS_MAX_CANDIDATES)
            return;
        if (n->ai_family != AF_INET && n->ai_family != AF_INET6)
            continue;
        struct smtp_dns_candidate *k = &d->cand[d->ncand];
        memset(k, 0, sizeof *k);
        snprintf(k->name, sizeof k->name, "%s", name);
        memcpy(&k->addr, n->ai_addr, n->ai_addrlen < sizeof k->addr ? n->ai_addrlen : sizeof k->addr);
        if (n->ai_family == AF_INET)
            ((struct sockaddr_in *)&k->addr)->sin_port = htons((uint16_t)d->port);
        else
            ((struct sockaddr_in6 *)&k->addr)->sin6_port = htons((uint16_t)d->port);
        d->ncand++;
    }
}

static void addr_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    struct smtp_dns *d = arg;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || d->closing) {
        if (ai)
            ares_freeaddrinfo(ai);
        return;
    }
    const char *name = d->is_domain ? d->mx[d->mx_next - 1] : d->name;
    if (status == ARES_SUCCESS)
        add_candidates(d, name, ai);
    else
        mg_info("event=smtp_client_resolve_failed host=%s err=\"%s\"", name, ares_strerror(status));
    if (ai)
        ares_freeaddrinfo(ai);
    if (d->is_domain && d->mx_next < d->nmx) {
        resolve_next_mx(d);
        return;
    }
    if (d->ncand == 0) {
        finish(d, MG_ETEMP, 451, "4.4.4", "No address found for %s", d->name);
        return;
    }
    finish(d, 0, 0, NULL, NULL);
}

static void resolve_addr(struct smtp_dns *d, const char *name)
{
    struct ares_addrinfo_hints h;
    memset(&h, 0, sizeof h);
    h.ai_family = AF_UNSPEC;
    h.ai_socktype = SOCK_STREAM;
    ares_getaddrinfo(d->ares, name, NULL, &h, addr_cb, d);
    if (!d->closing && !d->done)
        arm_timer(d);
}

static void resolve_next_mx(struct smtp_dns *d)
{
    const char *name = d->mx[d->mx_next++];
    resolve_addr(d, name);
}

struct mx_sort {
    unsigned short prio;
    char host[256];
};

static int mx_cmp(const void *a, const void *b)
{
    const struct mx_sort *x = a, *y = b;
    return (int)x->prio - (int)y->prio;
}

static void mx_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct smtp_dns *d = arg;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || d->closing)
        return;
    struct ares_mx_reply *mx = NULL;
    if (status == ARES_SUCCESS && ares_parse_mx_reply(abuf, alen, &mx) == ARES_SUCCESS && mx) {
        struct mx_sort list[SMTP_DNS_MAX_MX];
        int n = 0, null_mx = 0;
        for (struct ares_mx_reply *m = mx; m && n < SMTP_DNS_MAX_MX; m = m->next) {
            if (!m->host[0] || !strcmp(m->host, ".")) {
                null_mx = 1; /* RFC 7505 */
                continue;
            }
            list[n].prio = m->priority;
            snprintf(list[n].host, sizeof list[n].host, "%s", m->host);
            n++;
        }
        ares_free_data(mx);
        if (null_mx && n == 0) {
            finish(d, MG_EDENIED, 556, "5.1.10", "Domain %s does not accept mail (null MX)", d->name);
            return;
        }
        qsort(list, (size_t)n, sizeof list[0], mx_cmp);
        for (int i = 0; i < n; i++)
            snprintf(d->mx[i], sizeof d->mx[i], "%s", list[i].host);
        d->nmx = n;
    } else if (status == ARES_ENODATA || status == ARES_ENOTFOUND || status == ARES_SUCCESS) {
        if (mx)
            ares_free_data(mx);
        if (status == ARES_ENOTFOUND) {
            finish(d, MG_EDENIED, 550, "5.1.2", "Domain %s does not exist", d->name);
            return;
        }
        /* No MX: the domain itself is the implicit MX (RFC 5321 §5.1). */
        snprintf(d->mx[0], sizeof d->mx[0], "%s", d->name);
        d->nmx = 1;
    } else {
        finish(d, MG_ETEMP, 451, "4.4.3", "MX lookup for %s failed: %s", d->name, ares_strerror(status));
        return;
    }
    if (d->nmx == 0) {
        finish(d, MG_ETEMP, 451, "4.4.4", "No usable MX for %s", d->name);
        return;
    }
    d->mx_next = 0;
    resolve_next_mx(d);
}

static void start_cb(uv_timer_t *t)
{
    struct smtp_dns *d = t->data;
    if (d->closing)
        return;
    if (d->is_domain)
        ares_query(d->ares, d->name, ns_c_in, ns_t_mx, mx_cb, d);
    else
        resolve_addr(d, d->name);
    if (!d->closing && !d->done)
        arm_timer(d);
}

/* ---------------------------------------------------------------- lifecycle */

int smtp_dns_create(struct smtp_dns **out, uv_loop_t *loop, const char *servers)
{
    *out = NULL;
    pthread_once(&ares_once, ares_global_init);
    struct smtp_dns *d = calloc(1, sizeof *d);
    if (!d)
        return MG_ENOMEM;
    d->loop = loop;
    struct ares_options ao;
    memset(&ao, 0, sizeof ao);
    ao.sock_state_cb = sock_state;
    ao.sock_state_cb_data = d;
    ao.timeout = 3000;
    ao.tries = 2;
    if (ares_init_options(&d->ares, &ao, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) !=
        ARES_SUCCESS) {
        free(d);
        return MG_ENOMEM;
    }
    if (servers && ares_set_servers_ports_csv(d->ares, servers) != ARES_SUCCESS) {
        ares_destroy(d->ares); /* no socket was opened yet, so no poll handle exists */
        free(d);
        return MG_EINVAL;
    }
    d->ares_ok = 1;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->timer_open = 1;
    *out = d;
    return 0;
}

int smtp_dns_resolve(struct smtp_dns *d, const char *name, int is_domain, int port,
                     smtp_dns_cb cb, void *arg)
{
    if (!name || !*name || !cb || port <= 0 || port > 65535 || strlen(name) >= sizeof d->name)
        return MG_EINVAL;
    if (d->started || d->closing)
        return MG_ESTATE;
    d->started = 1;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->is_domain = is_domain;
    d->port = port;
    d->cb = cb;
    d->arg = arg;
    uv_timer_start(&d->timer, start_cb, 0, 0);
    return 0;
}

static void timer_closed(uv_handle_t *h)
{
    struct smtp_dns *d = h->data;
    d->timer_open = 0;
    if (d->ares_ok) {
        /* Pending queries get ARES_EDESTRUCTION (ignored: closing) and their sockets' poll
         * handles are closed through sock_state. */
        d->ares_ok = 0;
        ares_destroy(d->ares);
    }
    maybe_free(d);
}

static void maybe_free(struct smtp_dns *d)
{
    if (!d->closing || d->timer_open || d->npolls)
        return;
    void (*cb)(void *) = d->closed_cb;
    void *arg = d->closed_arg;
    free(d);
    if (cb)
        cb(arg);
}

void smtp_dns_close(struct smtp_dns *d, void (*closed_cb)(void *arg), void *arg)
{
    if (d->closing)
        return;
    d->closing = 1;
    d->closed_cb = closed_cb;
    d->closed_arg = arg;
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, timer_closed);
}
