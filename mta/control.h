/* control: the daemon's Unix control socket, used by `mixgate queue` and `mixgate status`.
 *
 * Protocol (one request per connection, text): the client sends one line of words separated
 * by spaces ("queue hold 2F3K9..."). The server answers with any number of body lines and then
 * one status line: "=OK" or "=ERR <message>". A body line that would start with '=' is sent
 * with one more '=' in front (the client removes it), so the status line is unambiguous.
 * The socket file is created mode 0600: only the service user (and root) may connect. */
#ifndef CONTROL_H
#define CONTROL_H

#include <stddef.h>
#include <uv.h>

struct mg_buf;

#define CONTROL_MAX_LINE 4096 /* longest request line */
#define CONTROL_MAX_ARGS 32   /* most words in a request */

struct control_server;
struct control_req;

/* Called on the loop thread for each request; argv[0] is the first word. The handler must
 * eventually call control_req_finish() exactly once, now or later (asynchronous work is fine;
 * the request stays valid until then even if the client has gone away). */
typedef void (*control_handler_fn)(void *ctx, struct control_req *req, int argc, char **argv);

int control_server_start(uv_loop_t *loop, const char *path, control_handler_fn handler,
                         void *ctx, struct control_server **out);
/* Stops listening and removes the socket file. Requests in flight still finish; the server
 * memory is released once every handle is closed. */
void control_server_stop(struct control_server *srv);

int control_req_printf(struct control_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* rc == 0: "=OK"; otherwise "=ERR <msg or mg_strerror(rc)>". Sends and closes. */
void control_req_finish(struct control_req *req, int rc, const char *msg);

/* The request parser (outside input: whatever a client writes), exported for the fuzz target
 * control_request. control_feed appends bytes read up to the first newline to in (which has
 * the CONTROL_MAX_LINE limit): 1 when the line is complete, 0 when more is needed,
 * MG_ETOOBIG when it is too long. control_parse_line splits the NUL-terminated line in place
 * into argv (CONTROL_MAX_ARGS + 1 slots, NULL-terminated): 0, or MG_EINVAL with *why set
 * (empty request, too many words). */
int control_feed(struct mg_buf *in, const char *data, size_t n);
int control_parse_line(char *line, int *argc, char **argv, const char **why);

#endif
