/* control: Unix-socket control server for the admin CLI (see control.h for the protocol). */
#include "control.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


struct control_server {
    uv_pipe_t pipe;              /* embedded; the struct is freed in its close callback */
    control_handler_fn handler;
    void *ctx;
    char *path;                  /* owned */
    int nreq;                    /* requests alive: they point at us */
    int stopped;                 /* control_server_stop called */
    int pipe_closed;             /* listening handle closed */
};

static void srv_maybe_free(struct control_server *srv)
{
    if (srv->stopped && srv->pipe_closed && srv->nreq == 0) {
        free(srv->path);
        free(srv);
    }
}

struct control_req {
    uv_pipe_t conn;              /* embedded; freed in close callback once finished too */
    struct control_server *srv;  /* counted reference (srv->nreq) */
    struct mg_buf in;            /* request line */
    struct mg_buf out;           /* reply being built */
    uv_write_t wr;
    int dispatched;              /* handler called */
    int finished;                /* control_req_finish called */
    int closing;                 /* uv_close called on conn */
    int closed;                  /* close callback ran */
};

static void req_maybe_free(struct control_req *r)
{
    /* Freed only when the handle is closed and the handler is done with the request. */
    if (r->closed && (!r->dispatched || r->finished)) {
        struct control_server *srv = r->srv;
        mg_buf_free(&r->in);
        mg_buf_free(&r->out);
        free(r);
        srv->nreq--;
        srv_maybe_free(srv);
    }
}

static void on_conn_closed(uv_handle_t *h)
{
    struct control_req *r = h->data;
    r->closed = 1;
    req_maybe_free(r);
}

static void req_close(struct control_req *r)
{
    if (!r->closing) {
        r->closing = 1;
        uv_close((uv_handle_t *)&r->conn, on_conn_closed);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static __thread char slab[CONTROL_MAX_LINE];  /* consumed synchronously in on_read */
    buf->base = slab;
    buf->len = sizeof slab;
}

int control_parse_line(char *line, int *argc, char **argv, const char **why)
{
    char *save = NULL;
    *argc = 0;
    argv[0] = NULL;
    for (char *w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
        if (*argc == CONTROL_MAX_ARGS) {
            *why = "too many words";
            return MG_EINVAL;
        }
        argv[(*argc)++] = w;
    }
    argv[*argc] = NULL;
    if (*argc == 0) {
        *why = "empty request";
        return MG_EINVAL;
    }
    return 0;
}

int control_feed(struct mg_buf *in, const char *data, size_t n)
{
    const char *nl = memchr(data, '\n', n);
    size_t take = nl ? (size_t)(nl - data) : n;
    int rc = mg_buf_append(in, data, take);
    if (rc)
        return rc;
    return nl ? 1 : 0;
}

static void dispatch(struct control_req *r)
{
    char *argv[CONTROL_MAX_ARGS + 1];
    int argc = 0;
    const char *why = NULL;
    if (control_parse_line((char *)r->in.data, &argc, argv, &why) != 0) {
        control_req_finish(r, MG_EINVAL, why);
        return;
    }
    r->dispatched = 1;
    r->srv->handler(r->srv->ctx, r, argc, argv);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct control_req *r = s->data;
    if (n < 0) {
        if (!r->dispatched)
            req_close(r);
        else
            uv_read_stop(s);  /* client gone; the handler still finishes the request */
        return;
    }
    if (r->dispatched)
        return;  /* one request per connection; ignore trailing bytes */
    int rc = control_feed(&r->in, buf->base, (size_t)n);
    if (rc < 0) {
        uv_read_stop(s);
        control_req_finish(r, MG_ETOOBIG, "request line too long");
        return;
    }
    if (rc == 1) {
        uv_read_stop(s);
        if (r->srv->stopped) {
            control_req_finish(r, MG_ESTATE, "daemon is stopping");
            return;
        }
        dispatch(r);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct control_server *srv = server->data;
    if (status < 0) {
        mg_warn("event=control_accept_failed error=%s", uv_strerror(status));
        return;
    }
    struct control_req *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->srv = srv;
    srv->nreq++;
    mg_buf_init(&r->in, CONTROL_MAX_LINE);
    mg_buf_init(&r->out, 0);
    uv_pipe_init(server->loop, &r->conn, 0);
    r->conn.data = r;
    if (uv_accept(server, (uv_stream_t *)&r->conn) != 0 ||
        uv_read_start((uv_stream_t *)&r->conn, on_alloc, on_read) != 0)
        req_close(r);
}

int control_server_start(uv_loop_t *loop, const char *path, control_handler_fn handler,
                         void *ctx, struct control_server **out)
{
    struct control_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return MG_ENOMEM;
    srv->path = strdup(path);
    srv->handler = handler;
    srv->ctx = ctx;
    if (!srv->path) {
        free(srv);
        return MG_ENOMEM;
    }
    /* A socket file left by a daemon killed with -9 would make bind fail. */
    unlink(path);
    uv_pipe_init(loop, &srv->pipe, 0);
    srv->pipe.data = srv;
    mode_t old = umask(0077);   /* created 0600 from the start: no window for others */
    int rc = uv_pipe_bind(&srv->pipe, path);
    umask(old);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->pipe, 16, on_connection);
    if (rc != 0) {
        mg_error("event=control_listen_failed path=%s error=%s", path, uv_strerror(rc));
        control_server_stop(srv);
        return MG_EIO;
    }
    chmod(path, 0600);
    *out = srv;
    return 0;
}

static void on_server_closed(uv_handle_t *h)
{
    struct control_server *srv = h->data;
    srv->pipe_closed = 1;
    srv_maybe_free(srv);
}

void control_server_stop(struct control_server *srv)
{
    if (!srv)
        return;
    srv->stopped = 1;
    unlink(srv->path);
    uv_close((uv_handle_t *)&srv->pipe, on_server_closed);
}

int control_req_printf(struct control_req *r, const char *fmt, ...)
{
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MG_EINVAL;
    /* Escape body lines that start with '=' so the status line stays unambiguous. */
    const char *p = line;
    int rc = 0;
    int at_line_start = r->out.len == 0 || r->out.data[r->out.len - 1] == '\n';
    for (; *p && !rc; p++) {
        if (at_line_start && *p == '=')
            rc = mg_buf_append(&r->out, "=", 1);
        if (!rc)
            rc = mg_buf_append(&r->out, p, 1);
        at_line_start = (*p == '\n');
    }
    return rc;
}

static void on_written(uv_write_t *wr, int status)
{
    (void)status;
    struct control_req *r = wr->data;
    req_close(r);
}

void control_req_finish(struct control_req *r, int rc, const char *msg)
{
    if (r->finished)
        mg_panic("control request finished twice");
    r->finished = 1;
    if (r->out.len && r->out.data[r->out.len - 1] != '\n')
        mg_buf_append(&r->out, "\n", 1);
    if (rc == 0)
        mg_buf_append(&r->out, "=OK\n", 4);
    else
        mg_buf_appendf(&r->out, "=ERR %s\n", msg ? msg : mg_strerror(rc));
    if (r->closing) {         /* client already gone */
        req_maybe_free(r);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)r->out.data, (unsigned)r->out.len);
    r->wr.data = r;
    if (uv_write(&r->wr, (uv_stream_t *)&r->conn, &b, 1, on_written) != 0)
        req_close(r);
}
