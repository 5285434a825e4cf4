/* smtp_server: an RFC 5321 SMTP listener and its sessions on a caller-supplied libuv loop.
 *
 * Extensions offered: PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, DSN, STARTTLS (when a
 * TLS context is given), CHUNKING (BDAT), SMTPUTF8. The lead's code plugs in through
 * struct smtp_server_callbacks; the server never touches mta/.
 *
 * Acceptance is a promise: after the end of DATA (or BDAT LAST) the server calls
 * callbacks.message with the complete envelope and content and sends nothing until the lead's
 * code calls smtp_server_txn_complete() (after the message is durable). That call may come
 * later on the same loop thread, even after the client has gone: each pending transaction holds
 * a reference on its session, so the session's memory lives until the transaction is completed
 * AND its handles are closed. Every txn handed out must be completed exactly once.
 *
 * Threading: every function here runs on the loop's thread. Callbacks are called from it.
 *
 * Bare LF: a line ending in a lone LF is treated as a line end (commands and content alike) and
 * the content is stored with CRLF, unless opts.bare_lf_reject is set, in which case a command
 * gets "500 5.5.2" and content gets "554 5.6.0" at the end of the message.
 *
 * Logging: one key=value line per event through mg_log: event=smtp_connect, smtp_starttls,
 * smtp_message (handed over), smtp_accept/smtp_reject (reply sent), smtp_disconnect. */
#ifndef SMTP_SERVER_H
#define SMTP_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "smtp_envelope.h"

struct tls_io_ctx; /* channels/tls/tls_io.h */

struct smtp_server_opts {
    const char *hostname;        /* greeting, EHLO and Received: ("localhost" if NULL) */
    const char *listen;          /* numeric "127.0.0.1:2525", "[::1]:25", "0.0.0.0:0" (0 = any
                                    free port, see smtp_server_port) */
    size_t max_message_size;     /* SIZE advertised and enforced (552 5.3.4); 0 = 10 MiB */
    size_t max_recipients;       /* per message (452 4.5.3); 0 = 100 */
    unsigned max_sessions;       /* in total (421 4.7.0); 0 = 100 */
    unsigned max_sessions_per_client; /* per client IP (421 4.7.0); 0 = 20 */
    unsigned cmd_timeout_ms;     /* idle time waiting for a command (421 4.4.2); 0 = 300000 */
    unsigned first_cmd_timeout_ms; /* from the greeting to the first command: an idle client
                                    must not hold a session slot long (421 4.4.2); 0 = 30000 */
    unsigned max_conn_rate;      /* connections per client address per minute (421 4.7.0);
                                    0 = no limit */
    unsigned data_timeout_ms;    /* idle time inside DATA/BDAT content; 0 = 180000 */
    unsigned max_errors;         /* bad commands before 421 4.7.0 and close; 0 = 20 */
    size_t max_line_length;      /* content lines longer than this are folded; 0 = 998 */
    int bare_lf_reject;          /* see above; 0 = accept and normalise to CRLF */
    /* STARTTLS: a server context from tls_io_ctx_server_create(); NULL = not offered.
     * Borrowed: must outlive the server. */
    struct tls_io_ctx *tls_ctx;
    int require_tls;             /* MAIL before STARTTLS gets 530 5.7.0 (needs tls_ctx) */
};

/* A pending message (between the message callback and smtp_server_txn_complete). Opaque. */
struct smtp_server_txn;

struct smtp_server_callbacks {
    /* Optional (NULL = accept all). Called for MAIL FROM once it parsed; env holds the session
     * facts and the MAIL fields. Return 0 to accept, or fill *reply (4xx/5xx) and return
     * nonzero to refuse. Synchronous. */
    int (*mail)(void *arg, const struct smtp_envelope *env, struct smtp_reply *reply);
    /* Optional (NULL = accept all). Called for each RCPT TO that parsed and is within limits;
     * env->rcpts holds the recipients accepted so far, rcpt the new one. Return 0 to accept,
     * or fill *reply (e.g. 554 5.7.1 relay denied, 550 5.1.1 unknown user) and return
     * nonzero. Synchronous. A 421 reply (from any callback or completion) also closes the
     * session after it is sent; an empty text becomes "Ok" / "Refused". */
    int (*rcpt)(void *arg, const struct smtp_envelope *env, const struct smtp_rcpt *rcpt,
                struct smtp_reply *reply);
    /* Required. The complete message: session facts, MAIL and RCPT data and content (with the
     * Received: header first). env is owned by the txn and stays valid until
     * smtp_server_txn_complete(txn); the callee may take the content without a copy with
     * smtp_envelope_take_content(env, &len). Asynchronous: reply later through
     * smtp_server_txn_complete(). */
    void (*message)(void *arg, struct smtp_server_txn *txn, struct smtp_envelope *env);
};

struct smtp_server;

struct smtp_server_stats {
    unsigned long sessions_open, sessions_total, messages_accepted, messages_rejected;
    unsigned long txns_pending;
};

/* Fairness: when max_sessions are open, a new client with fewer sessions than the busiest
 * client gets a slot: the busiest client's longest idle session (no transaction under way)
 * is closed with 421 4.7.0. Idle floods from one or a few addresses thus cannot lock others
 * out; a client refused by max_sessions_per_client or max_conn_rate is told at once. */

/* Create a server bound to opts->listen and start accepting on loop. opts and its strings are
 * copied (tls_ctx is borrowed). Returns 0 or MG_EINVAL (bad option or address), MG_EIO
 * (bind/listen failed: the half-made server is released by the loop's next turn, so run the
 * loop before closing it), MG_ENOMEM. */
int smtp_server_create(struct smtp_server **out, uv_loop_t *loop,
                       const struct smtp_server_opts *opts,
                       const struct smtp_server_callbacks *cbs, void *cb_arg);
/* The port actually bound (useful with port 0). */
int smtp_server_port(const struct smtp_server *s);
void smtp_server_get_stats(const struct smtp_server *s, struct smtp_server_stats *st);

/* Stop listening, close every session (421 4.3.2 to idle ones) and free the server once all
 * sessions are gone and all pending txns completed; then closed_cb(arg) runs (may be NULL).
 * The server pointer must not be used after this call except by pending txns. */
void smtp_server_close(struct smtp_server *s, void (*closed_cb)(void *arg), void *arg);

/* Finish a message handed out by callbacks.message. reply NULL means
 * "250 2.0.0 Ok: queued"; otherwise reply->code 2xx/4xx/5xx is sent as given. If the client has
 * disconnected meanwhile the reply is dropped (logged); the txn and env are freed either way.
 * The txn must not be used after this call. */
void smtp_server_txn_complete(struct smtp_server_txn *txn, const struct smtp_reply *reply);
/* 1 if the client has already disconnected (the reply will not reach it), else 0. The lead may
 * use it to skip queueing a message nobody will be told was accepted. */
int smtp_server_txn_client_gone(const struct smtp_server_txn *txn);

#endif
