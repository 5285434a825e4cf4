/* metrics_server: the Prometheus scrape endpoint of mixgated (global.metrics_listen; off by
 * default). One HTTP/1.x request per connection: GET or HEAD /metrics answers the text
 * exposition, anything else 404/405/400, then the connection closes. The daemon's own numbers
 * (listeners, queue, destinations, store) are read into the registry at each scrape; the
 * families the channels register are rendered as they stand. */
#include "daemon.h"

#include "metrics.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_hostport.h"
#include "mg_log.h"
#include "smtp_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define METRICS_MAX_CONNS 16
#define METRICS_TIMEOUT_MS 10000

struct metrics_conn {
    struct metrics_server *srv;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    char in[METRICS_HTTP_MAX_HEAD];
    size_t inlen;
    struct mg_buf out;  /* owned */
    int closing, handles;
    struct metrics_conn *next, **prevp; /* the server's list of open connections */
};

/* The families the daemon fills at each scrape. */
enum {
    F_RECEIVED, F_REJECTED, F_SESSIONS, F_SESSIONS_ACTIVE, F_DELIVERED, F_DEFERRED, F_FAILED, F_HELD,
    F_REPORTS, F_QUEUE, F_DELIVERIES, F_CONNECTIONS, F_DEST_ACTIVE, F_DEST_WAITING, F_DEST_THROTTLED,
    F_COMMITS, F_FAILED_COMMITS, F_START, F_PEER_HELD, F_COUNT
};

struct metrics_server {
    struct daemon *d;
    uv_tcp_t tcp;
    int port;
    size_t conns;
    struct metrics_conn *list;
    int stopped;       /* the listener is closed; the last connection frees the server */
    struct metrics_family *f[F_COUNT];
    void (*closed)(struct daemon *d);
};

static const struct {
    const char *name, *help;
    enum metrics_kind kind;
    const char *labels[2];
    size_t nlabels;
} families[F_COUNT] = {
    [F_RECEIVED] = { "mixgate_messages_received_total", "Messages accepted into the queue, by listener.", METRICS_COUNTER, { "listener" }, 1 },
    [F_REJECTED] = { "mixgate_messages_rejected_total", "Messages refused at the end of DATA, by listener.", METRICS_COUNTER, { "listener" }, 1 },
    [F_SESSIONS] = { "mixgate_sessions_total", "Inbound sessions since start, by listener.", METRICS_COUNTER, { "listener" }, 1 },
    [F_SESSIONS_ACTIVE] = { "mixgate_sessions_active", "Inbound sessions open now, by listener.", METRICS_GAUGE, { "listener" }, 1 },
    [F_DELIVERED] = { "mixgate_recipients_delivered_total", "Recipients delivered since start.", METRICS_COUNTER, { 0 }, 0 },
    [F_DEFERRED] = { "mixgate_recipients_deferred_total", "Recipient delivery attempts deferred since start.", METRICS_COUNTER, { 0 }, 0 },
    [F_FAILED] = { "mixgate_recipients_failed_total", "Recipients failed since start.", METRICS_COUNTER, { 0 }, 0 },
    [F_HELD] = { "mixgate_recipients_held_total", "Recipients held by a processing channel since start.", METRICS_COUNTER, { 0 }, 0 },
    [F_REPORTS] = { "mixgate_reports_total", "Delivery reports (DSN, DR/NDR) queued since start.", METRICS_COUNTER, { 0 }, 0 },
    [F_QUEUE] = { "mixgate_queue_messages", "Messages in the queue, by scheduling state.", METRICS_GAUGE, { "state" }, 1 },
    [F_DELIVERIES] = { "mixgate_deliveries_active", "Deliveries in flight.", METRICS_GAUGE, { 0 }, 0 },
    [F_CONNECTIONS] = { "mixgate_outbound_connections", "Open connections of the delivery channels.", METRICS_GAUGE, { 0 }, 0 },
    [F_DEST_ACTIVE] = { "mixgate_destination_deliveries_active", "Deliveries in flight, by channel and peer.", METRICS_GAUGE, { "channel", "peer" }, 2 },
    [F_DEST_WAITING] = { "mixgate_destination_deliveries_waiting", "Deliveries waiting for a connection, by channel and peer.", METRICS_GAUGE, { "channel", "peer" }, 2 },
    [F_DEST_THROTTLED] = { "mixgate_destination_throttled", "1 while a destination is throttled after errors.", METRICS_GAUGE, { "channel", "peer" }, 2 },
    [F_COMMITS] = { "mixgate_store_commits_total", "Queue store transactions committed.", METRICS_COUNTER, { 0 }, 0 },
    [F_FAILED_COMMITS] = { "mixgate_store_failed_commits_total", "Queue store transactions that failed.", METRICS_COUNTER, { 0 }, 0 },
    [F_START] = { "mixgate_start_time_seconds", "Start time of mixgated, unix seconds.", METRICS_GAUGE, { 0 }, 0 },
    [F_PEER_HELD] = { "mixgate_peer_held_since_seconds", "Peers held by the operator (mixgate peer hold): since when, unix seconds.", METRICS_GAUGE, { "peer" }, 1 },
};

/* A counter read from elsewhere: its series holds exactly v. */
static void counter_is(struct metrics_family *f, const char *const *labels, double v)
{
    metrics_inc(f, labels, v);
}

struct dest_ctx {
    struct metrics_server *s;
    int64_t now;
};

static void dest_cb(void *arg, const struct qmgr_dest_info *di)
{
    struct dest_ctx *c = arg;
    const char *l[] = { di->channel ? di->channel : "", di->peer ? di->peer : "" };
    metrics_set(c->s->f[F_DEST_ACTIVE], l, (double)di->active);
    metrics_set(c->s->f[F_DEST_WAITING], l, (double)di->waiting);
    metrics_set(c->s->f[F_DEST_THROTTLED], l, di->throttled_until > c->now ? 1 : 0);
}

/* One series per held peer, so an alert can say which peer has been held for how long (a hold
 * outlives restarts and forgotten maintenance windows hold mail silently). */
static void hold_cb(void *arg, const char *peer, const char *reason, int64_t since)
{
    (void)reason;   /* free text of any length: a log line's, not a label's */
    metrics_set(arg, (const char *[]){ peer }, (double)since);
}

static void collect(struct metrics_server *s)
{
    struct daemon *d = s->d;
    for (int i = 0; i < F_COUNT; i++)
        metrics_clear(s->f[i]);
    for (size_t i = 0; i < d->nlisteners; i++) {
        if (!d->listeners[i].srv)
            continue;
        struct smtp_server_stats st;
        smtp_server_get_stats(d->listeners[i].srv, &st);
        const char *l[] = { d->listeners[i].name };
        counter_is(s->f[F_RECEIVED], l, (double)st.messages_accepted);
        counter_is(s->f[F_REJECTED], l, (double)st.messages_rejected);
        counter_is(s->f[F_SESSIONS], l, (double)st.sessions_total);
        metrics_set(s->f[F_SESSIONS_ACTIVE], l, (double)st.sessions_open);
    }
    if (d->qmgr) {
        struct qmgr_stats q;
        qmgr_get_stats(d->qmgr, &q);
        counter_is(s->f[F_DELIVERED], NULL, (double)q.delivered);
        counter_is(s->f[F_DEFERRED], NULL, (double)q.deferred);
        counter_is(s->f[F_FAILED], NULL, (double)q.failed);
        counter_is(s->f[F_HELD], NULL, (double)q.held_rcpts);
        counter_is(s->f[F_REPORTS], NULL, (double)q.reports);
        static const char *const states[] = { "held", "ready", "waiting", "active" };
        const size_t v[] = { q.held, q.ready, q.waiting, q.active };
        for (size_t i = 0; i < 4; i++)
            metrics_set(s->f[F_QUEUE], (const char *[]){ states[i] }, (double)v[i]);
        metrics_set(s->f[F_DELIVERIES], NULL, (double)q.deliveries);
        metrics_set(s->f[F_CONNECTIONS], NULL, (double)q.connections);
        struct dest_ctx c = { s, (int64_t)time(NULL) };
        qmgr_foreach_dest(d->qmgr, dest_cb, &c);
        qmgr_foreach_peer_hold(d->qmgr, hold_cb, s->f[F_PEER_HELD]);
    }
    if (d->store) {
        struct queue_store_stats ss;
        queue_store_get_stats(d->store, &ss);
        counter_is(s->f[F_COMMITS], NULL, (double)ss.commits);
        counter_is(s->f[F_FAILED_COMMITS], NULL, (double)ss.failed_commits);
    }
    metrics_set(s->f[F_START], NULL, (double)d->started);
}

/* ---- connections -------------------------------------------------------------------------- */

static void conn_closed(uv_handle_t *h)
{
    struct metrics_conn *c = h->data;
    if (--c->handles == 0) {
        c->srv->conns--;
        *c->prevp = c->next;
        if (c->next)
            c->next->prevp = c->prevp;
        if (c->srv->conns == 0 && c->srv->stopped)
            free(c->srv);
        mg_buf_free(&c->out);
        free(c);
    }
}

static void conn_close(struct metrics_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->timer, conn_closed);
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_written(uv_write_t *wr, int status)
{
    (void)status;
    conn_close(wr->data);
}

static void respond(struct metrics_conn *c, int code, const char *reason, const char *type, int head_only)
{
    struct mg_buf body = { 0 };
    if (code == 200) {
        collect(c->srv);
        if (metrics_render(c->srv->d->metrics, &body) != 0) {
            mg_buf_free(&body);
            code = 500, reason = "Internal Server Error", type = "text/plain";
        }
    }
    if (code != 200)
        mg_buf_appendf(&body, "%d %s\n", code, reason);
    int rc = mg_buf_appendf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                                     "Connection: close\r\n%s\r\n",
                            code, reason, type, body.len, code == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (!rc && !head_only && body.len)
        rc = mg_buf_append(&c->out, body.data, body.len);
    mg_buf_free(&body);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_buf_t b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
    c->wr.data = c;
    if (rc || uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
        conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct metrics_conn *c = h->data;
    *buf = uv_buf_init(c->in + c->inlen, (unsigned)(sizeof c->in - c->inlen));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct metrics_conn *c = st->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->inlen += (size_t)n;
    char path[256];
    int head = 0;
    int rc = metrics_http_parse(c->in, c->inlen, path, sizeof path, &head);
    if (rc == MG_EINCOMPLETE && c->inlen < sizeof c->in)
        return;
    const char *text = "text/plain; charset=utf-8";
    if (rc == 0 && !strcmp(path, "/metrics"))
        respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", head);
    else if (rc == 0)
        respond(c, 404, "Not Found", text, head);
    else if (rc == MG_ENOTSUP)
        respond(c, 405, "Method Not Allowed", text, 0);
    else if (rc == MG_ETOOBIG || rc == MG_EINCOMPLETE)
        respond(c, 431, "Request Header Fields Too Large", text, 0);
    else
        respond(c, 400, "Bad Request", text, 0);
}

static void on_timeout(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct metrics_server *s = server->data;
    if (status < 0)
        return;
    struct metrics_conn *c = calloc(1, sizeof *c);
    if (!c || s->conns >= METRICS_MAX_CONNS) {
        /* Accept and drop: a scraper retries; a flood does not grow memory. */
        uv_tcp_t *tmp = malloc(sizeof *tmp);
        if (tmp) {
            uv_tcp_init(server->loop, tmp);
            if (uv_accept(server, (uv_stream_t *)tmp) != 0) {}
            uv_close((uv_handle_t *)tmp, (uv_close_cb)free);
        }
        free(c);
        return;
    }
    c->srv = s;
    s->conns++;
    c->next = s->list;
    c->prevp = &s->list;
    if (s->list)
        s->list->prevp = &c->next;
    s->list = c;
    c->handles = 2;
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, METRICS_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- start and stop ----------------------------------------------------------------------- */

int metrics_server_start(struct daemon *d)
{
    const char *listen = d->cfg->global.metrics_listen;
    if (!listen)
        return 0;
    struct mg_hostport hp;
    struct sockaddr_storage ss;
    if (mg_hostport_parse(listen, MG_HOSTPORT_NEED_PORT | MG_HOSTPORT_NUMERIC | MG_HOSTPORT_PORT_ZERO, &hp) != 0 ||
        mg_hostport_sockaddr(&hp, 0, &ss, NULL) != 0)
        return MG_EINVAL;
    struct metrics_server *s = calloc(1, sizeof *s);
    if (!s)
        return MG_ENOMEM;
    s->d = d;
    for (int i = 0; i < F_COUNT; i++) {
        int rc = metrics_family(d->metrics, families[i].name, families[i].help, families[i].kind,
                                families[i].labels, families[i].nlabels, NULL, 0, &s->f[i]);
        if (rc != 0) {
            free(s);
            return rc;
        }
    }
    uv_tcp_init(d->loop, &s->tcp);
    s->tcp.data = s;
    int rc = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->tcp, 64, on_connection);
    d->metrics_srv = s;
    if (rc != 0) {
        mg_error("event=listen_failed listener=metrics listen=%s error=\"%s\"", listen, uv_strerror(rc));
        return MG_EIO; /* fatal for the daemon: it exits */
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&bound, &blen);
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                 : ((struct sockaddr_in *)&bound)->sin_port);
    mg_info("event=listening listener=metrics protocol=http listen=%s port=%d", listen, s->port);
    return 0;
}

static void on_server_closed(uv_handle_t *h)
{
    struct metrics_server *s = h->data;
    s->stopped = 1;
    if (s->conns == 0)
        free(s);
}

void metrics_server_stop(struct daemon *d)
{
    struct metrics_server *s = d->metrics_srv;
    if (!s)
        return;
    d->metrics_srv = NULL;
    for (struct metrics_conn *c = s->list; c; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&s->tcp, on_server_closed);
}
