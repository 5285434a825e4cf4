/* smtp_client: SMTP client connection on libuv with c-ares resolution (see smtp_client.h).
 *
 * Lifetime: the client embeds its uv_tcp_t and two uv_timer_t. The tcp handle is closed and
 * initialised again for each address tried. smtp_client_close() is the one way out: it closes
 * everything and the memory goes in the last close callback, so a user may call it from inside
 * its own open/sent callback. c-ares sockets are watched with uv_poll_t handles owned by the
 * client (struct dns_poll) and freed in their close callbacks. */
#include "smtp_client.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_buf.h"
#include "mg_err.h"
#include "mg_log.h"
#include "smtp_cmd.h"
#include "tls_io.h"

#define MAX_MX 10
#define MAX_CANDIDATES 32
#define MAX_REPLY_LINE 4096

enum cstate {
    C_RESOLVE, C_CONNECT, C_GREETING, C_EHLO, C_HELO, C_STARTTLS, C_TLS, C_READY,
    C_TXN,       /* MAIL/RCPT/DATA replies outstanding */
    C_BODY,      /* content sent, waiting for the final reply */
    C_RSET,      /* cleaning up after a failed transaction */
    C_QUIT, C_DEAD
};

struct candidate {
    char name[256];
    struct sockaddr_storage addr;
    int no_tls;                  /* opportunistic retry in plaintext after a failed handshake */
};

struct dns_poll {
    uv_poll_t poll;
    ares_socket_t fd;
    struct smtp_client *c;
    struct dns_poll *next;
};

/* What each outstanding pipelined reply answers. */
enum expect { EX_MAIL, EX_RCPT, EX_DATA };

struct smtp_client {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    uv_timer_t timer;            /* connect / command / data timeouts */
    uv_timer_t dns_timer;        /* c-ares timeouts; also used to defer local results */
    int tcp_state;               /* 0 none, 1 open, 2 closing */
    uv_shutdown_t shutdown_req;
    int timers_open;
    int npolls;
    struct dns_poll *polls;
    ares_channel ares;
    int ares_ok;
    /* options (copies) */
    struct smtp_client_opts o;
    char *helo, *host, *domain, *dns_servers, *ca_file, *verify_name;
    int port;
    struct tls_io_ctx *tls_ctx;
    int tls_ctx_owned;           /* 0 when borrowed from the options */
    struct tls_io *tls;
    struct mg_buf plain;
    /* resolution */
    char mx[MAX_MX][256];
    int nmx, mx_next;
    struct candidate cand[MAX_CANDIDATES];
    int ncand, cur;
    /* protocol */
    enum cstate state;
    struct mg_buf in;
    struct mg_buf reply_text;    /* lines of the current multi-line reply, '\n'-separated */
    size_t reply_lines;
    struct smtp_reply last;      /* last final reply */
    struct smtp_reply best;      /* best explanation while opening */
    struct smtp_client_info info;
    char peer_addr[64];
    char tls_version[32], tls_cipher[64]; /* copies: the SSL object goes with the connection */
    /* callbacks */
    smtp_client_open_cb open_cb;
    void *open_arg;
    int open_reported;
    /* current message */
    const struct smtp_envelope *env;
    smtp_client_sent_cb sent_cb;
    void *sent_arg;
    struct smtp_reply *results;
    int *accepted;
    enum expect *expects;
    size_t nexpect, next_expect;
    size_t rcpt_next;            /* next RCPT index whose reply is expected (or to send) */
    int mail_ok, data_ok, any_accepted, deferred_result;
    /* closing */
    int closing;
    void (*closed_cb)(void *);
    void *closed_arg;
};

static void start_next_candidate(struct smtp_client *c);
static void conn_failed(struct smtp_client *c, int code, const char *enh, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void maybe_free(struct smtp_client *c);
static void resolve_next_mx(struct smtp_client *c);

static void set_reply(struct smtp_reply *r, int code, const char *enh, const char *text)
{
    r->code = code;
    snprintf(r->enhanced, sizeof r->enhanced, "%s", enh ? enh : "");
    snprintf(r->text, sizeof r->text, "%s", text ? text : "");
}

/* ---------------------------------------------------------------- c-ares on libuv */

static void dns_poll_closed(uv_handle_t *h)
{
    struct dns_poll *p = h->data;
    struct smtp_client *c = p->c;
    free(p);
    c->npolls--;
    maybe_free(c);
}

static void dns_poll_cb(uv_poll_t *h, int status, int events)
{
    struct dns_poll *p = h->data;
    struct smtp_client *c = p->c;
    ares_socket_t fd = p->fd;
    if (status < 0)
        ares_process_fd(c->ares, fd, fd);
    else
        ares_process_fd(c->ares, (events & UV_READABLE) ? fd : ARES_SOCKET_BAD,
                        (events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
}

static void dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct smtp_client *c = data;
    struct dns_poll **pp = &c->polls, *p;
    for (p = c->polls; p && p->fd != fd; pp = &p->next, p = p->next)
        ;
    if (!readable && !writable) {
        if (p) {
            *pp = p->next;
            uv_poll_stop(&p->poll);
            uv_close((uv_handle_t *)&p->poll, dns_poll_closed);
        }
        return;
    }
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return; /* the query times out through dns_timer */
        if (uv_poll_init_socket(c->loop, &p->poll, fd)) {
            free(p);
            return;
        }
        p->fd = fd;
        p->c = c;
        p->poll.data = p;
        p->next = c->polls;
        c->polls = p;
        c->npolls++;
    }
    uv_poll_start(&p->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), dns_poll_cb);
}

static void dns_timer_cb(uv_timer_t *t);

static void dns_arm_timer(struct smtp_client *c)
{
    struct timeval tv, *tvp = ares_timeout(c->ares, NULL, &tv);
    if (tvp)
        uv_timer_start(&c->dns_timer, dns_timer_cb,
                       (uint64_t)tvp->tv_sec * 1000 + (uint64_t)tvp->tv_usec / 1000 + 1, 0);
}

static void dns_timer_cb(uv_timer_t *t)
{
    struct smtp_client *c = t->data;
    ares_process_fd(c->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    if (c->state == C_RESOLVE && !c->closing)
        dns_arm_timer(c);
}

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static void ares_global_init(void) { ares_library_init(ARES_LIB_INIT_ALL); }

static int dns_init(struct smtp_client *c)
{
    pthread_once(&ares_once, ares_global_init);
    struct ares_options ao;
    memset(&ao, 0, sizeof ao);
    ao.sock_state_cb = dns_sock_state;
    ao.sock_state_cb_data = c;
    ao.timeout = 3000;
    ao.tries = 2;
    if (ares_init_options(&c->ares, &ao, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) !=
        ARES_SUCCESS)
        return MG_ENOMEM;
    c->ares_ok = 1;
    if (c->dns_servers && ares_set_servers_ports_csv(c->ares, c->dns_servers) != ARES_SUCCESS)
        return MG_EINVAL;
    return 0;
}

/* ---------------------------------------------------------------- resolution */

static void add_candidates(struct smtp_client *c, const char *name, const struct ares_addrinfo *ai)
{
    for (const struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n; n = n->ai_next) {
        if (c->ncand >= MAX_CANDIDATES)
            return;
        if (n->ai_family != AF_INET && n->ai_family != AF_INET6)
            continue;
        struct candidate *k = &c->cand[c->ncand];
        memset(k, 0, sizeof *k);
        snprintf(k->name, sizeof k->name, "%s", name);
        memcpy(&k->addr, n->ai_addr, n->ai_addrlen < sizeof k->addr ? n->ai_addrlen : sizeof k->addr);
        if (n->ai_family == AF_INET)
            ((struct sockaddr_in *)&k->addr)->sin_port = htons((uint16_t)c->port);
        else
            ((struct sockaddr_in6 *)&k->addr)->sin6_port = htons((uint16_t)c->port);
        c->ncand++;
    }
}

static void addr_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    struct smtp_client *c = arg;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        if (ai)
            ares_freeaddrinfo(ai);
        return;
    }
    const char *name = c->host ? c->host : c->mx[c->mx_next - 1];
    if (status == ARES_SUCCESS)
        add_candidates(c, name, ai);
    else
        mg_info("event=smtp_client_resolve_failed host=%s err=\"%s\"", name, ares_strerror(status));
    if (ai)
        ares_freeaddrinfo(ai);
    if (c->closing)
        return;
    if (!c->host && c->mx_next < c->nmx) {
        resolve_next_mx(c);
        return;
    }
    uv_timer_stop(&c->dns_timer);
    if (c->ncand == 0) {
        conn_failed(c, 451, "4.4.4", "No address found for %s", c->host ? c->host : c->domain);
        return;
    }
    c->cur = -1;
    start_next_candidate(c);
}

static void resolve_addr(struct smtp_client *c, const char *name)
{
    struct ares_addrinfo_hints h;
    memset(&h, 0, sizeof h);
    h.ai_family = AF_UNSPEC;
    h.ai_socktype = SOCK_STREAM;
    ares_getaddrinfo(c->ares, name, NULL, &h, addr_cb, c);
    if (!c->closing && c->state == C_RESOLVE)
        dns_arm_timer(c);
}

static void resolve_next_mx(struct smtp_client *c)
{
    const char *name = c->mx[c->mx_next++];
    resolve_addr(c, name);
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
    struct smtp_client *c = arg;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || c->closing)
        return;
    struct ares_mx_reply *mx = NULL;
    if (status == ARES_SUCCESS && ares_parse_mx_reply(abuf, alen, &mx) == ARES_SUCCESS && mx) {
        struct mx_sort list[MAX_MX];
        int n = 0, null_mx = 0;
        for (struct ares_mx_reply *m = mx; m && n < MAX_MX; m = m->next) {
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
            uv_timer_stop(&c->dns_timer);
            conn_failed(c, 556, "5.1.10", "Domain %s does not accept mail (null MX)", c->domain);
            return;
        }
        qsort(list, (size_t)n, sizeof list[0], mx_cmp);
        for (int i = 0; i < n; i++)
            snprintf(c->mx[i], sizeof c->mx[i], "%s", list[i].host);
        c->nmx = n;
    } else if (status == ARES_ENODATA || status == ARES_ENOTFOUND || status == ARES_SUCCESS) {
        if (mx)
            ares_free_data(mx);
        if (status == ARES_ENOTFOUND) {
            uv_timer_stop(&c->dns_timer);
            conn_failed(c, 550, "5.1.2", "Domain %s does not exist", c->domain);
            return;
        }
        /* No MX: the domain itself is the implicit MX (RFC 5321 §5.1). */
        snprintf(c->mx[0], sizeof c->mx[0], "%s", c->domain);
        c->nmx = 1;
    } else {
        uv_timer_stop(&c->dns_timer);
        conn_failed(c, 451, "4.4.3", "MX lookup for %s failed: %s", c->domain, ares_strerror(status));
        return;
    }
    if (c->nmx == 0) {
        conn_failed(c, 451, "4.4.4", "No usable MX for %s", c->domain);
        return;
    }
    c->mx_next = 0;
    resolve_next_mx(c);
}

/* ---------------------------------------------------------------- transport */

struct wreq {
    uv_write_t req;
    struct smtp_client *c;
    unsigned char *data;
};

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct smtp_client *c = w->c;
    free(w->data);
    free(w);
    if (status < 0 && status != UV_ECANCELED && c->tcp_state == 1)
        conn_failed(c, 421, "4.4.2", "Write failed: %s", uv_strerror(status));
}

static void raw_write(struct smtp_client *c, unsigned char *data, size_t len)
{
    if (c->tcp_state != 1 || !len) {
        free(data);
        return;
    }
    struct wreq *w = malloc(sizeof *w);
    if (!w) {
        free(data);
        conn_failed(c, 421, "4.3.0", "Out of memory");
        return;
    }
    w->c = c;
    w->data = data;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write)) {
        free(data);
        free(w);
        conn_failed(c, 421, "4.4.2", "Write failed");
    }
}

static void flush_tls(struct smtp_client *c)
{
    size_t n;
    unsigned char *d = tls_io_take_output(c->tls, &n);
    if (d)
        raw_write(c, d, n);
}

static void send_bytes(struct smtp_client *c, const void *p, size_t n)
{
    if (c->tls) {
        if (tls_io_write(c->tls, p, n)) {
            conn_failed(c, 421, "4.7.0", "TLS write failed");
            return;
        }
        flush_tls(c);
        return;
    }
    unsigned char *d = malloc(n ? n : 1);
    if (!d) {
        conn_failed(c, 421, "4.3.0", "Out of memory");
        return;
    }
    memcpy(d, p, n);
    raw_write(c, d, n);
}

static void sendf(struct smtp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(struct smtp_client *c, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) {
        conn_failed(c, 421, "4.3.0", "Command too long");
        return;
    }
    send_bytes(c, buf, (size_t)n);
}

static void on_client_timer(uv_timer_t *t);

static void arm(struct smtp_client *c, unsigned ms)
{
    uv_timer_start(&c->timer, on_client_timer, ms, 0);
}

static unsigned cmd_ms(const struct smtp_client *c) { return c->o.cmd_timeout_ms ? c->o.cmd_timeout_ms : 300000; }
static unsigned data_ms(const struct smtp_client *c) { return c->o.data_timeout_ms ? c->o.data_timeout_ms : 600000; }
static unsigned conn_ms(const struct smtp_client *c) { return c->o.connect_timeout_ms ? c->o.connect_timeout_ms : 30000; }

static void tcp_closed(uv_handle_t *h)
{
    struct smtp_client *c = h->data;
    c->tcp_state = 0;
    /* The next address (if any) can only start once the handle is free again. */
    if (!c->closing && c->state == C_CONNECT)
        start_next_candidate(c);
    maybe_free(c);
}

static void close_tcp(struct smtp_client *c)
{
    tls_io_free(c->tls);
    c->tls = NULL;
    mg_buf_reset(&c->in);
    mg_buf_reset(&c->reply_text);
    c->reply_lines = 0;
    if (c->tcp_state == 1) {
        c->tcp_state = 2;
        uv_close((uv_handle_t *)&c->tcp, tcp_closed);
    }
}

/* ---------------------------------------------------------------- results */

static void report_open(struct smtp_client *c, int status, const struct smtp_reply *r)
{
    if (c->open_reported)
        return;
    c->open_reported = 1;
    if (c->open_cb)
        c->open_cb(c, status, r, c->open_arg);
}

static void finish_message(struct smtp_client *c, int status)
{
    if (!c->env)
        return;
    smtp_client_sent_cb cb = c->sent_cb;
    void *arg = c->sent_arg;
    struct smtp_reply *res = c->results;
    size_t n = c->env->nrcpts;
    c->env = NULL;
    c->results = NULL;
    free(c->accepted);
    c->accepted = NULL;
    free(c->expects);
    c->expects = NULL;
    if (cb)
        cb(c, status, res, n, arg);
    free(res);
}

/* The connection is lost or useless: fail what is outstanding with a 4xx, move to the next
 * address while opening, or become DEAD. */
static void conn_failed(struct smtp_client *c, int code, const char *enh, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (c->state == C_DEAD)
        return;
    uv_timer_stop(&c->timer);
    mg_info("event=smtp_client_conn_failed peer=%s addr=%s code=%d enhanced=%s text=\"%s\"",
            c->info.peer_name ? c->info.peer_name : "-", c->peer_addr[0] ? c->peer_addr : "-", code,
            enh, text);
    int opening = !c->open_reported;
    if (opening) {
        /* Keep the most telling explanation: a peer's 5xx beats a local 4xx. */
        if (!c->best.code || code >= c->best.code)
            set_reply(&c->best, code, enh, text);
        if (c->state != C_RESOLVE && c->cur + 1 < c->ncand && !c->closing) {
            c->state = C_CONNECT;
            if (c->tcp_state == 1)
                close_tcp(c); /* tcp_closed() starts the next candidate */
            else if (c->tcp_state == 0)
                start_next_candidate(c);
            return;
        }
        close_tcp(c);
        c->state = C_DEAD;
        report_open(c, c->best.code >= 500 ? MG_EDENIED : MG_ETEMP, &c->best);
        return;
    }
    close_tcp(c);
    c->state = C_DEAD;
    if (c->env) {
        /* Connection-level failure: everything still outstanding is temporary. */
        if (code >= 500)
            code = 421;
        for (size_t i = 0; i < c->env->nrcpts; i++) {
            struct smtp_reply *r = &c->results[i];
            if (r->code == 0 || (r->code >= 200 && r->code < 300) || c->accepted[i])
                set_reply(r, code, enh[0] == '5' ? "4.4.2" : enh, text);
        }
        finish_message(c, MG_ECLOSED);
    }
}

/* ---------------------------------------------------------------- connecting */

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    char *p = malloc(65536);
    *b = uv_buf_init(p, p ? 65536 : 0);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct smtp_client *c = req->data;
    free(req);
    if (c->closing || c->state != C_CONNECT || c->tcp_state != 1)
        return;
    if (status < 0) {
        conn_failed(c, 421, "4.4.1", "Connection to %s [%s] failed: %s", c->cand[c->cur].name,
                    c->peer_addr, uv_strerror(status));
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) {
        conn_failed(c, 421, "4.4.1", "Cannot read from %s", c->peer_addr);
        return;
    }
    c->state = C_GREETING;
    arm(c, cmd_ms(c));
}

static void start_next_candidate(struct smtp_client *c)
{
    if (c->closing)
        return;
    c->cur++;
    if (c->cur >= c->ncand) {
        c->state = C_DEAD;
        report_open(c, c->best.code >= 500 ? MG_EDENIED : MG_ETEMP, &c->best);
        return;
    }
    struct candidate *k = &c->cand[c->cur];
    memset(&c->info, 0, sizeof c->info);
    c->info.peer_name = k->name;
    c->info.peer_addr = c->peer_addr;
    c->tls_version[0] = c->tls_cipher[0] = 0;
    c->info.tls_version = c->tls_version;
    c->info.tls_cipher = c->tls_cipher;
    if (k->addr.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&k->addr, c->peer_addr, sizeof c->peer_addr);
        c->info.port = ntohs(((struct sockaddr_in6 *)&k->addr)->sin6_port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&k->addr, c->peer_addr, sizeof c->peer_addr);
        c->info.port = ntohs(((struct sockaddr_in *)&k->addr)->sin_port);
    }
    c->state = C_CONNECT;
    uv_tcp_init(c->loop, &c->tcp);
    c->tcp.data = c;
    c->tcp_state = 1;
    uv_connect_t *req = malloc(sizeof *req);
    if (!req) {
        conn_failed(c, 421, "4.3.0", "Out of memory");
        return;
    }
    req->data = c;
    int rc = uv_tcp_connect(req, &c->tcp, (struct sockaddr *)&k->addr, on_connect);
    if (rc) {
        free(req);
        conn_failed(c, 421, "4.4.1", "Connection to %s [%s] failed: %s", k->name, c->peer_addr, uv_strerror(rc));
        return;
    }
    arm(c, conn_ms(c));
}

static void on_client_timer(uv_timer_t *t)
{
    struct smtp_client *c = t->data;
    if (c->state == C_QUIT) {
        close_tcp(c);
        c->state = C_DEAD;
        return;
    }
    conn_failed(c, 421, "4.4.2", "Timeout waiting for %s [%s]", c->info.peer_name ? c->info.peer_name : "-",
                c->peer_addr);
}

/* ---------------------------------------------------------------- replies */

static void parse_enhanced(const char *text, struct smtp_reply *r)
{
    /* class "." subject "." detail, RFC 3463; class matches the reply's first digit */
    const char *p = text;
    int parts = 0;
    size_t i = 0;
    while (parts < 3) {
        size_t d = 0;
        while (isdigit((unsigned char)p[i]) && d < 3)
            i++, d++;
        if (!d)
            break;
        parts++;
        if (parts < 3) {
            if (p[i] != '.')
                break;
            i++;
        }
    }
    if (parts == 3 && (p[i] == ' ' || p[i] == 0) && i < sizeof r->enhanced && p[0] == '0' + r->code / 100) {
        memcpy(r->enhanced, p, i);
        r->enhanced[i] = 0;
        p += i;
        while (*p == ' ')
            p++;
    } else {
        r->enhanced[0] = 0;
    }
    size_t tl = strlen(p);
    if (tl >= sizeof r->text)
        tl = sizeof r->text - 1; /* long reply texts are cut, the code is what matters */
    memcpy(r->text, p, tl);
    r->text[tl] = 0;
}

static void ehlo_keywords(struct smtp_client *c)
{
    struct smtp_client_info *in = &c->info;
    in->pipelining = in->size_ext = in->dsn = in->eightbitmime = in->smtputf8 = in->chunking = 0;
    in->starttls_offered = 0;
    in->max_size = 0;
    char *save = NULL;
    char *lines = (char *)c->reply_text.data;
    int first = 1;
    for (char *l = lines ? strtok_r(lines, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        if (first) { /* the greeting line names the server, not an extension */
            first = 0;
            continue;
        }
        char kw[32];
        size_t k = 0;
        while (l[k] && l[k] != ' ' && k < sizeof kw - 1) {
            kw[k] = (char)toupper((unsigned char)l[k]);
            k++;
        }
        kw[k] = 0;
        if (!strcmp(kw, "PIPELINING"))
            in->pipelining = 1;
        else if (!strcmp(kw, "SIZE")) {
            in->size_ext = 1;
            in->max_size = (size_t)strtoull(l + k, NULL, 10);
        } else if (!strcmp(kw, "DSN"))
            in->dsn = 1;
        else if (!strcmp(kw, "8BITMIME"))
            in->eightbitmime = 1;
        else if (!strcmp(kw, "SMTPUTF8"))
            in->smtputf8 = 1;
        else if (!strcmp(kw, "CHUNKING"))
            in->chunking = 1;
        else if (!strcmp(kw, "STARTTLS"))
            in->starttls_offered = 1;
    }
}

static void ready(struct smtp_client *c)
{
    c->state = C_READY;
    uv_timer_stop(&c->timer);
    mg_info("event=smtp_client_ready peer=%s addr=%s port=%d tls=%s verified=%s esmtp=%d", c->info.peer_name,
            c->peer_addr, c->info.port, c->info.tls ? c->info.tls_version : "no",
            c->info.tls_verified ? "yes" : "no", c->info.esmtp);
    report_open(c, 0, &c->last);
}

static void after_ehlo(struct smtp_client *c)
{
    struct candidate *k = &c->cand[c->cur];
    int want_tls = c->o.starttls != SMTP_CLIENT_TLS_NONE && !c->tls && !k->no_tls;
    if (want_tls && c->info.starttls_offered) {
        c->state = C_STARTTLS;
        sendf(c, "STARTTLS\r\n");
        arm(c, cmd_ms(c));
        return;
    }
    if (c->o.starttls == SMTP_CLIENT_TLS_REQUIRED && !c->tls) {
        conn_failed(c, 421, "4.7.0", "TLS required but %s [%s] does not offer STARTTLS", k->name, c->peer_addr);
        return;
    }
    ready(c);
}

static void start_tls(struct smtp_client *c)
{
    const char *name = c->verify_name ? c->verify_name : c->cand[c->cur].name;
    if (tls_io_create(&c->tls, c->tls_ctx, 0, name)) {
        conn_failed(c, 421, "4.3.0", "Cannot start TLS");
        return;
    }
    c->state = C_TLS;
    mg_buf_reset(&c->in); /* nothing may be pipelined before the handshake (RFC 3207) */
    flush_tls(c);
    arm(c, cmd_ms(c));
}

static void send_txn(struct smtp_client *c);
static void send_body(struct smtp_client *c);

static void txn_done(struct smtp_client *c)
{
    /* A transaction that did not end with the reply to the content leaves MAIL open on the
     * server (or might): RSET before the next one. */
    if (!c->data_ok && c->mail_ok) {
        c->state = C_RSET;
        sendf(c, "RSET\r\n");
        arm(c, cmd_ms(c));
        return;
    }
    c->state = C_READY;
    uv_timer_stop(&c->timer);
    finish_message(c, 0);
}

/* One reply of the pipelined group MAIL, RCPT..., DATA. */
static void txn_reply(struct smtp_client *c, const struct smtp_reply *r)
{
    const struct smtp_envelope *e = c->env;
    enum expect ex = c->expects[c->next_expect++];
    switch (ex) {
    case EX_MAIL:
        c->mail_ok = r->code >= 200 && r->code < 300;
        if (!c->mail_ok)
            for (size_t i = 0; i < e->nrcpts; i++)
                c->results[i] = *r;
        break;
    case EX_RCPT: {
        size_t i = c->rcpt_next++;
        if (c->mail_ok) {
            c->results[i] = *r;
            if (r->code >= 200 && r->code < 300) {
                c->accepted[i] = 1;
                c->any_accepted = 1;
            }
        }
        break;
    }
    case EX_DATA:
        if (r->code == 354 && c->mail_ok && c->any_accepted) {
            send_body(c);
            return;
        }
        if (r->code == 354) {
            /* The server wants content although no recipient is left: end it empty. */
            sendf(c, ".\r\n");
            c->state = C_BODY;
            c->data_ok = 0;
            arm(c, data_ms(c));
            return;
        }
        for (size_t i = 0; i < e->nrcpts; i++)
            if (c->accepted[i])
                c->results[i] = *r;
        txn_done(c);
        return;
    }
    if (c->next_expect < c->nexpect && !c->info.pipelining) {
        /* Without PIPELINING the next command goes only now, and only if it still matters. */
        if (!c->mail_ok) {
            c->state = C_READY;
            uv_timer_stop(&c->timer);
            finish_message(c, 0);
            return;
        }
        if (c->expects[c->next_expect] == EX_DATA && !c->any_accepted) {
            txn_done(c);
            return;
        }
        send_txn(c);
    }
}

static void handle_reply(struct smtp_client *c)
{
    struct smtp_reply *r = &c->last;
    switch (c->state) {
    case C_GREETING:
        if (r->code != 220) {
            conn_failed(c, r->code >= 400 ? r->code : 421, r->enhanced[0] ? r->enhanced : "4.4.0",
                        "Greeting from %s: %d %s", c->peer_addr, r->code, r->text);
            return;
        }
        c->state = C_EHLO;
        sendf(c, "EHLO %s\r\n", c->helo);
        arm(c, cmd_ms(c));
        return;
    case C_EHLO:
        if (r->code == 250) {
            c->info.esmtp = 1;
            ehlo_keywords(c);
            after_ehlo(c);
            return;
        }
        if (r->code >= 500 && !c->tls) { /* RFC 5321 §3.2: fall back to HELO */
            c->state = C_HELO;
            sendf(c, "HELO %s\r\n", c->helo);
            arm(c, cmd_ms(c));
            return;
        }
        conn_failed(c, r->code >= 400 ? r->code : 421, "4.4.0", "EHLO refused: %d %s", r->code, r->text);
        return;
    case C_HELO:
        if (r->code != 250) {
            conn_failed(c, r->code >= 400 ? r->code : 421, "4.4.0", "HELO refused: %d %s", r->code, r->text);
            return;
        }
        c->info.esmtp = 0;
        after_ehlo(c);
        return;
    case C_STARTTLS:
        if (r->code == 220) {
            start_tls(c);
            return;
        }
        if (c->o.starttls == SMTP_CLIENT_TLS_REQUIRED) {
            conn_failed(c, 421, "4.7.0", "STARTTLS refused: %d %s", r->code, r->text);
            return;
        }
        c->cand[c->cur].no_tls = 1;
        ready(c);
        return;
    case C_TXN:
        txn_reply(c, r);
        return;
    case C_BODY: {
        const struct smtp_envelope *e = c->env;
        c->data_ok = c->any_accepted;
        for (size_t i = 0; i < e->nrcpts; i++)
            if (c->accepted[i])
                c->results[i] = *r;
        c->state = C_READY;
        uv_timer_stop(&c->timer);
        finish_message(c, 0);
        return;
    }
    case C_RSET:
        if (r->code != 250) {
            struct smtp_reply keep = *r;
            finish_message(c, 0);
            conn_failed(c, 421, "4.4.0", "RSET refused: %d %s", keep.code, keep.text);
            return;
        }
        c->state = C_READY;
        uv_timer_stop(&c->timer);
        finish_message(c, 0);
        return;
    case C_QUIT:
        close_tcp(c);
        c->state = C_DEAD;
        return;
    default:
        return;
    }
}

/* Split c->in into reply lines; call handle_reply for each final line. */
static void process_input(struct smtp_client *c)
{
    size_t off = 0;
    while (c->state != C_DEAD && c->tcp_state == 1) {
        const char *base = (const char *)c->in.data + off;
        size_t avail = c->in.len - off;
        const char *lf = avail ? memchr(base, '\n', avail) : NULL;
        if (!lf) {
            if (avail > MAX_REPLY_LINE) {
                conn_failed(c, 421, "4.5.0", "Reply line too long from %s", c->peer_addr);
                return;
            }
            break;
        }
        size_t n = (size_t)(lf - base);
        off += n + 1;
        if (n && base[n - 1] == '\r')
            n--;
        if (n < 3 || !isdigit((unsigned char)base[0]) || !isdigit((unsigned char)base[1]) ||
            !isdigit((unsigned char)base[2]) || (n > 3 && base[3] != ' ' && base[3] != '-') ||
            base[0] < '2' || base[0] > '5') {
            conn_failed(c, 421, "4.5.0", "Malformed reply from %s", c->peer_addr);
            return;
        }
        size_t maxl = c->o.max_reply_lines ? c->o.max_reply_lines : 200;
        if (++c->reply_lines > maxl) {
            conn_failed(c, 421, "4.5.0", "Reply too long from %s", c->peer_addr);
            return;
        }
        const char *text = n > 4 ? base + 4 : "";
        size_t tl = n > 4 ? n - 4 : 0;
        if (mg_buf_append(&c->reply_text, text, tl) || mg_buf_append(&c->reply_text, "\n", 1)) {
            conn_failed(c, 421, "4.3.0", "Out of memory");
            return;
        }
        if (n > 3 && base[3] == '-')
            continue;
        c->last.code = (base[0] - '0') * 100 + (base[1] - '0') * 10 + (base[2] - '0');
        char tbuf[300];
        snprintf(tbuf, sizeof tbuf, "%.*s", (int)tl, text);
        parse_enhanced(tbuf, &c->last);
        /* 421 at any point means the server is closing (RFC 5321 §3.8). */
        if (c->last.code == 421 && c->state != C_QUIT) {
            mg_buf_reset(&c->reply_text);
            c->reply_lines = 0;
            conn_failed(c, 421, c->last.enhanced[0] ? c->last.enhanced : "4.4.2", "%s", c->last.text);
            return;
        }
        handle_reply(c);
        mg_buf_reset(&c->reply_text);
        c->reply_lines = 0;
        if (c->state == C_TLS) { /* the rest, if any, was plaintext injected before TLS */
            off = c->in.len;
            break;
        }
    }
    if (c->tcp_state == 1 && off)
        mg_buf_consume(&c->in, off > c->in.len ? c->in.len : off);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct smtp_client *c = st->data;
    if (c->tcp_state != 1 || c->state == C_DEAD) {
        free(buf->base);
        return;
    }
    if (nread < 0) {
        free(buf->base);
        if (c->state == C_QUIT) {
            close_tcp(c);
            c->state = C_DEAD;
            return;
        }
        conn_failed(c, 421, "4.4.2", "Connection to %s lost: %s", c->peer_addr, uv_strerror((int)nread));
        return;
    }
    if (!c->tls) {
        int rc = mg_buf_append(&c->in, buf->base, (size_t)nread);
        free(buf->base);
        if (rc) {
            conn_failed(c, 421, "4.3.0", "Input too large");
            return;
        }
        process_input(c);
        return;
    }
    mg_buf_reset(&c->plain);
    int rc = tls_io_feed(c->tls, buf->base, (size_t)nread, &c->plain);
    free(buf->base);
    flush_tls(c);
    if (rc) {
        if (c->state == C_TLS && c->o.starttls == SMTP_CLIENT_TLS_OPPORTUNISTIC && !c->open_reported) {
            /* Opportunistic: try this address again without TLS (RFC 3207 §4.1 leaves it to
             * the client; refusing to deliver at all would be worse than plaintext). */
            mg_info("event=smtp_client_tls_failed peer=%s addr=%s err=\"%s\" action=retry_plaintext",
                    c->cand[c->cur].name, c->peer_addr, tls_io_last_error(c->tls));
            c->cand[c->cur].no_tls = 1;
            c->cur--;
            c->state = C_CONNECT;
            close_tcp(c);
            return;
        }
        conn_failed(c, 421, rc == MG_EVERIFY ? "4.7.5" : "4.7.0", "TLS with %s failed: %s", c->peer_addr,
                    tls_io_last_error(c->tls));
        return;
    }
    if (c->state == C_TLS && tls_io_handshake_done(c->tls)) {
        c->info.tls = 1;
        c->info.tls_verified = tls_io_peer_verified(c->tls);
        snprintf(c->tls_version, sizeof c->tls_version, "%s", tls_io_version(c->tls));
        snprintf(c->tls_cipher, sizeof c->tls_cipher, "%s", tls_io_cipher(c->tls));
        c->info.tls_version = c->tls_version;
        c->info.tls_cipher = c->tls_cipher;
        c->state = C_EHLO; /* RFC 3207 §4.2: forget what was learnt, EHLO again */
        sendf(c, "EHLO %s\r\n", c->helo);
        arm(c, cmd_ms(c));
    }
    if (c->plain.len) {
        if (mg_buf_append(&c->in, c->plain.data, c->plain.len)) {
            conn_failed(c, 421, "4.3.0", "Input too large");
            return;
        }
        process_input(c);
    }
}

/* ---------------------------------------------------------------- sending */

static int has_8bit(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] & 0x80)
            return 1;
    return 0;
}

/* MAIL FROM or RCPT TO line for the envelope, with the parameters the server supports. */
static void send_mail_cmd(struct smtp_client *c)
{
    const struct smtp_envelope *e = c->env;
    char params[600] = "";
    size_t o = 0;
    const struct smtp_client_info *in = &c->info;
    if (in->size_ext)
        o += (size_t)snprintf(params + o, sizeof params - o, " SIZE=%zu", e->content_len);
    if (in->eightbitmime && (e->body == SMTP_BODY_8BITMIME || e->body == SMTP_BODY_7BIT))
        o += (size_t)snprintf(params + o, sizeof params - o, " BODY=%s",
                              e->body == SMTP_BODY_8BITMIME ? "8BITMIME" : "7BIT");
    if (e->smtputf8 && in->smtputf8)
        o += (size_t)snprintf(params + o, sizeof params - o, " SMTPUTF8");
    if (in->dsn && e->ret != SMTP_RET_NONE)
        o += (size_t)snprintf(params + o, sizeof params - o, " RET=%s", e->ret == SMTP_RET_FULL ? "FULL" : "HDRS");
    if (in->dsn && e->envid) {
        char x[400];
        if (smtp_cmd_xtext_encode(e->envid, x, sizeof x) >= 0)
            o += (size_t)snprintf(params + o, sizeof params - o, " ENVID=%s", x);
    }
    (void)o;
    sendf(c, "MAIL FROM:<%s>%s\r\n", e->mail_from ? e->mail_from : "", params);
}

static void send_rcpt_cmd(struct smtp_client *c, size_t i)
{
    const struct smtp_rcpt *r = &c->env->rcpts[i];
    char params[1700] = "";
    size_t o = 0;
    if (c->info.dsn && r->notify) {
        static const struct {
            unsigned bit;
            const char *name;
        } nm[] = { { SMTP_NOTIFY_NEVER, "NEVER" }, { SMTP_NOTIFY_SUCCESS, "SUCCESS" },
                   { SMTP_NOTIFY_FAILURE, "FAILURE" }, { SMTP_NOTIFY_DELAY, "DELAY" } };
        o += (size_t)snprintf(params + o, sizeof params - o, " NOTIFY=");
        int first = 1;
        for (size_t k = 0; k < 4; k++)
            if (r->notify & nm[k].bit) {
                o += (size_t)snprintf(params + o, sizeof params - o, "%s%s", first ? "" : ",", nm[k].name);
                first = 0;
            }
    }
    if (c->info.dsn && r->orcpt && r->orcpt_type) {
        char x[1600];
        if (smtp_cmd_xtext_encode(r->orcpt, x, sizeof x) >= 0)
            o += (size_t)snprintf(params + o, sizeof params - o, " ORCPT=%s;%s", r->orcpt_type, x);
    }
    (void)o;
    sendf(c, "RCPT TO:<%s>%s\r\n", r->addr, params);
}

/* Send the next command(s) of the group: everything with PIPELINING, else one. */
static void send_txn(struct smtp_client *c)
{
    size_t sent_upto = c->next_expect; /* commands before this index have been answered */
    size_t last = c->info.pipelining ? c->nexpect - 1 : sent_upto;
    for (size_t k = sent_upto; k <= last && k < c->nexpect; k++) {
        switch (c->expects[k]) {
        case EX_MAIL:
            send_mail_cmd(c);
            break;
        case EX_RCPT:
            send_rcpt_cmd(c, k - 1);
            break;
        case EX_DATA:
            sendf(c, "DATA\r\n");
            break;
        }
        if (c->state == C_DEAD)
            return;
    }
    arm(c, cmd_ms(c));
}

/* Content: lone LF becomes CRLF, lines starting with "." get another, then CRLF.CRLF. */
static void send_body(struct smtp_client *c)
{
    const struct smtp_envelope *e = c->env;
    struct mg_buf b;
    mg_buf_init(&b, 0);
    const unsigned char *p = e->content;
    size_t n = e->content_len;
    int bol = 1, rc = mg_buf_reserve(&b, n + n / 50 + 8);
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < n && !rc; i++) {
        if (bol && p[i] == '.') {
            rc = mg_buf_append(&b, p + run, i - run);
            if (!rc)
                rc = mg_buf_append(&b, ".", 1);
            run = i;
        }
        bol = 0;
        if (p[i] == '\n') {
            if (i == 0 || p[i - 1] != '\r') {
                rc = rc ? rc : mg_buf_append(&b, p + run, i - run);
                rc = rc ? rc : mg_buf_append(&b, "\r", 1);
                run = i;
            }
            bol = 1;
        }
    }
    if (!rc)
        rc = mg_buf_append(&b, p + run, n - run);
    if (!rc && n && !(b.len >= 2 && b.data[b.len - 2] == '\r' && b.data[b.len - 1] == '\n'))
        rc = mg_buf_append(&b, "\r\n", 2);
    if (!rc)
        rc = mg_buf_append(&b, ".\r\n", 3);
    if (rc) {
        mg_buf_free(&b);
        conn_failed(c, 421, "4.3.0", "Out of memory");
        return;
    }
    c->state = C_BODY;
    if (c->tls) {
        send_bytes(c, b.data, b.len);
        mg_buf_free(&b);
    } else {
        size_t len;
        unsigned char *d = mg_buf_steal(&b, &len);
        raw_write(c, d, len);
    }
    arm(c, data_ms(c));
}

static void deferred_result(uv_timer_t *t)
{
    struct smtp_client *c = t->data;
    c->deferred_result = 0;
    finish_message(c, 0);
}

/* Addresses go on the wire inside <...>: no controls, spaces or brackets that could end the
 * path or inject a command (the envelope comes from our queue, but it came from outside). */
static int addr_ok(const char *a, int allow_empty)
{
    if (!a || (!*a && !allow_empty) || strlen(a) > SMTP_CMD_MAX_PATH)
        return 0;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p < 0x21 || *p == 0x7f || *p == '<' || *p == '>')
            return 0;
    return 1;
}

static int word_ok(const char *w)
{
    if (!w || !*w || strlen(w) > 32)
        return 0;
    for (const char *p = w; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return 0;
    return 1;
}

static int env_ok(const struct smtp_envelope *env)
{
    if (!addr_ok(env->mail_from ? env->mail_from : "", 1))
        return 0;
    for (size_t i = 0; i < env->nrcpts; i++) {
        const struct smtp_rcpt *r = &env->rcpts[i];
        if (!addr_ok(r->addr, 0) || (r->orcpt && !word_ok(r->orcpt_type)) ||
            (r->orcpt && strlen(r->orcpt) > SMTP_CMD_MAX_ORCPT))
            return 0;
    }
    if (env->envid && strlen(env->envid) > SMTP_CMD_MAX_ENVID)
        return 0;
    return env->content || env->content_len == 0;
}

int smtp_client_send(struct smtp_client *c, const struct smtp_envelope *env,
                     smtp_client_sent_cb sent_cb, void *arg)
{
    if (!env || env->nrcpts == 0 || !sent_cb || !env_ok(env))
        return MG_EINVAL;
    if (c->state == C_DEAD || c->closing)
        return MG_ECLOSED;
    if (c->state != C_READY || c->env || c->deferred_result)
        return MG_ESTATE;
    c->results = calloc(env->nrcpts, sizeof *c->results);
    c->accepted = calloc(env->nrcpts, sizeof *c->accepted);
    c->expects = calloc(env->nrcpts + 2, sizeof *c->expects);
    if (!c->results || !c->accepted || !c->expects) {
        free(c->results);
        free(c->accepted);
        free(c->expects);
        c->results = NULL;
        c->accepted = NULL;
        c->expects = NULL;
        return MG_ENOMEM;
    }
    c->env = env;
    c->sent_cb = sent_cb;
    c->sent_arg = arg;
    c->mail_ok = c->data_ok = c->any_accepted = 0;
    c->rcpt_next = 0;
    c->next_expect = 0;
    /* Refusals decided here are delivered from the loop, never from inside this call. */
    struct smtp_reply local = { 0 };
    int is_utf8 = env->smtputf8;
    if (!is_utf8 && env->mail_from && has_8bit((const unsigned char *)env->mail_from, strlen(env->mail_from)))
        is_utf8 = 1;
    for (size_t i = 0; i < env->nrcpts && !is_utf8; i++)
        if (has_8bit((const unsigned char *)env->rcpts[i].addr, strlen(env->rcpts[i].addr)))
            is_utf8 = 1;
    if (is_utf8 && !c->info.smtputf8)
        set_reply(&local, 553, "5.6.7", "The peer does not support SMTPUTF8 (RFC 6531)");
    else if (env->body == SMTP_BODY_8BITMIME && !c->info.eightbitmime)
        set_reply(&local, 554, "5.6.3", "The peer does not support 8BITMIME (RFC 6152)");
    else if (c->info.max_size && env->content_len > c->info.max_size)
        set_reply(&local, 552, "5.3.4", "Message larger than the peer's SIZE limit");
    if (local.code) {
        for (size_t i = 0; i < env->nrcpts; i++)
            c->results[i] = local;
        c->deferred_result = 1;
        uv_timer_start(&c->dns_timer, deferred_result, 0, 0);
        return 0;
    }
    c->nexpect = 0;
    c->expects[c->nexpect++] = EX_MAIL;
    for (size_t i = 0; i < env->nrcpts; i++)
        c->expects[c->nexpect++] = EX_RCPT;
    c->expects[c->nexpect++] = EX_DATA;
    c->state = C_TXN;
    send_txn(c);
    return 0;
}

int smtp_client_usable(const struct smtp_client *c)
{
    return !c->closing && (c->state == C_READY || c->state == C_TXN || c->state == C_BODY ||
                           c->state == C_RSET);
}

const struct smtp_client_info *smtp_client_get_info(const struct smtp_client *c) { return &c->info; }

/* ---------------------------------------------------------------- open / close */

static int parse_hostport(const char *s, char *host, size_t hsz, int *port)
{
    const char *colon = NULL, *hs = s, *he;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb)
            return MG_EINVAL;
        hs = s + 1;
        he = rb;
        if (rb[1] == ':')
            colon = rb + 1;
        else if (rb[1])
            return MG_EINVAL;
    } else {
        colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon) /* bare IPv6 without brackets: no port */
            colon = NULL;
        he = colon ? colon : s + strlen(s);
    }
    if (he <= hs || (size_t)(he - hs) >= hsz)
        return MG_EINVAL;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = 0;
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end || p <= 0 || p > 65535)
            return MG_EINVAL;
        *port = (int)p;
    }
    return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct smtp_client *c = req->data;
    if (c->tcp_state == 1)
        close_tcp(c);
}

static void timer_closed(uv_handle_t *h)
{
    struct smtp_client *c = h->data;
    c->timers_open--;
    maybe_free(c);
}

static void maybe_free(struct smtp_client *c)
{
    if (!c->closing || c->timers_open || c->tcp_state)
        return;
    if (c->ares_ok) {
        /* Destroyed here, from a close callback, never from inside a c-ares callback (where
         * smtp_client_close may have been called). Pending queries get ARES_EDESTRUCTION and
         * the sockets' poll handles are closed through dns_sock_state. */
        c->ares_ok = 0;
        ares_destroy(c->ares);
    }
    if (c->npolls)
        return;
    void (*cb)(void *) = c->closed_cb;
    void *arg = c->closed_arg;
    tls_io_free(c->tls);
    if (c->tls_ctx_owned)
        tls_io_ctx_free(c->tls_ctx);
    mg_buf_free(&c->in);
    mg_buf_free(&c->plain);
    mg_buf_free(&c->reply_text);
    free(c->helo);
    free(c->host);
    free(c->domain);
    free(c->dns_servers);
    free(c->ca_file);
    free(c->verify_name);
    free(c);
    if (cb)
        cb(arg);
}

static void start_open(uv_timer_t *t)
{
    struct smtp_client *c = t->data;
    if (c->closing)
        return;
    /* A literal address needs no DNS. */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (c->host && (uv_ip4_addr(c->host, c->port, (struct sockaddr_in *)&ss) == 0 ||
                    uv_ip6_addr(c->host, c->port, (struct sockaddr_in6 *)&ss) == 0)) {
        snprintf(c->cand[0].name, sizeof c->cand[0].name, "%s", c->host);
        c->cand[0].addr = ss;
        c->ncand = 1;
        start_next_candidate(c);
        return;
    }
    if (dns_init(c)) {
        set_reply(&c->best, 451, "4.4.3", "DNS resolver initialisation failed");
        c->state = C_DEAD;
        report_open(c, MG_ETEMP, &c->best);
        return;
    }
    if (c->host)
        resolve_addr(c, c->host);
    else
        ares_query(c->ares, c->domain, ns_c_in, ns_t_mx, mx_cb, c);
    if (!c->closing && c->state == C_RESOLVE)
        dns_arm_timer(c);
}

static int dupopt(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : MG_ENOMEM;
}

int smtp_client_open(struct smtp_client **out, uv_loop_t *loop, const struct smtp_client_opts *o,
                     smtp_client_open_cb open_cb, void *arg)
{
    *out = NULL;
    if (!loop || !o || (!o->host && !o->domain) || !open_cb)
        return MG_EINVAL;
    struct smtp_client *c = calloc(1, sizeof *c);
    if (!c)
        return MG_ENOMEM;
    c->loop = loop;
    c->o = *o;
    c->port = o->port ? o->port : 25;
    mg_buf_init(&c->in, 1 << 20);
    mg_buf_init(&c->plain, 1 << 20);
    mg_buf_init(&c->reply_text, 1 << 20);
    int rc = dupopt(&c->helo, o->helo_name ? o->helo_name : "localhost");
    char hostbuf[256] = "";
    if (!rc && o->host) {
        rc = parse_hostport(o->host, hostbuf, sizeof hostbuf, &c->port);
        if (!rc)
            rc = dupopt(&c->host, hostbuf);
    }
    if (!rc && !o->host)
        rc = dupopt(&c->domain, o->domain);
    if (!rc)
        rc = dupopt(&c->dns_servers, o->dns_servers);
    if (!rc)
        rc = dupopt(&c->ca_file, o->tls_ca_file);
    if (!rc)
        rc = dupopt(&c->verify_name, o->tls_verify_name);
    if (!rc && o->starttls != SMTP_CLIENT_TLS_NONE) {
        if (o->tls_ctx) {
            c->tls_ctx = o->tls_ctx;
        } else {
            rc = tls_io_ctx_client_create(&c->tls_ctx, o->tls_verify, c->ca_file) ? MG_EINVAL : 0;
            c->tls_ctx_owned = 1;
        }
    }
    /* Validate the HELO name: it goes on the wire verbatim. */
    for (const char *p = c->helo; !rc && p && *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 127)
            rc = MG_EINVAL;
    if (rc) {
        if (c->tls_ctx_owned)
            tls_io_ctx_free(c->tls_ctx);
        free(c->helo);
        free(c->host);
        free(c->domain);
        free(c->dns_servers);
        free(c->ca_file);
        free(c->verify_name);
        mg_buf_free(&c->in);
        free(c);
        return rc;
    }
    c->o.helo_name = c->helo;
    c->o.host = c->host;
    c->o.domain = c->domain;
    c->o.dns_servers = c->dns_servers;
    c->o.tls_ca_file = c->ca_file;
    c->o.tls_verify_name = c->verify_name;
    c->open_cb = open_cb;
    c->open_arg = arg;
    uv_timer_init(loop, &c->timer);
    uv_timer_init(loop, &c->dns_timer);
    c->timer.data = c->dns_timer.data = c;
    c->shutdown_req.data = c;
    c->timers_open = 2;
    c->state = C_RESOLVE;
    c->cur = -1;
    *out = c;

    /* Everything else happens from the loop, so open_cb never runs inside this call (c-ares
     * may answer from /etc/hosts or fail at once, and a connect may fail synchronously). */
    uv_timer_start(&c->dns_timer, start_open, 0, 0);
    return 0;
}

void smtp_client_close(struct smtp_client *c, void (*closed_cb)(void *arg), void *arg)
{
    if (c->closing)
        return;
    c->closed_cb = closed_cb;
    c->closed_arg = arg;
    if (!c->open_reported) {
        struct smtp_reply r;
        set_reply(&r, 421, "4.4.0", "Closed while connecting");
        c->closing = 1;
        report_open(c, MG_ECLOSED, &r);
    }
    c->closing = 1;
    if (c->env) {
        for (size_t i = 0; i < c->env->nrcpts; i++)
            if (c->results[i].code == 0 || c->accepted[i])
                set_reply(&c->results[i], 421, "4.4.0", "Connection closed by the sender");
        finish_message(c, MG_ECLOSED);
    }
    if (c->state == C_READY && c->tcp_state == 1) {
        /* Polite QUIT; the handle closes after the write has gone (uv_shutdown waits for it). */
        c->state = C_QUIT;
        sendf(c, "QUIT\r\n");
        if (c->tls) {
            tls_io_shutdown(c->tls);
            flush_tls(c);
        }
        if (c->tcp_state == 1 && uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) == 0) {
            c->state = C_DEAD;
            uv_close((uv_handle_t *)&c->timer, timer_closed);
            uv_close((uv_handle_t *)&c->dns_timer, timer_closed);
            return;
        }
    }
    close_tcp(c);
    c->state = C_DEAD;
    uv_close((uv_handle_t *)&c->timer, timer_closed);
    uv_close((uv_handle_t *)&c->dns_timer, timer_closed);
}
