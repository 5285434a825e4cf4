/* smtp_client: an SMTP client connection to one peer on a libuv loop, reused for several
 * messages (the queue manager keeps connections per peer):
 *
 *   smtp_client_open(&c, loop, &opts, open_cb, arg)      resolve, connect, EHLO, STARTTLS
 *   smtp_client_send(c, &env, sent_cb, arg)              one message; sent_cb with every
 *   smtp_client_send(c, &env2, sent_cb, arg)             recipient's result; one at a time
 *   smtp_client_close(c, closed_cb, arg)                 QUIT, close, free
 *
 * The peer is either a smart host "host:port" (opts.host) or a mail domain (opts.domain)
 * resolved through c-ares: MX records in preference order, each host's A/AAAA addresses, and
 * the domain's own A/AAAA when it has no MX (RFC 5321 §5.1). Addresses are tried in turn until
 * one answers with a 2xx greeting and EHLO/HELO succeeds.
 *
 * Protocol: EHLO (HELO if EHLO is refused with 5xx), STARTTLS as configured (then EHLO again),
 * PIPELINING when offered (MAIL, all RCPTs and DATA in one write), SIZE= when offered, DSN
 * parameters (RET, ENVID, NOTIFY, ORCPT) when the server offers DSN, BODY=8BITMIME and
 * SMTPUTF8 when the envelope asks for them: if the server does not offer them the message is
 * failed with 554 5.6.3 / 553 5.6.7 rather than sent, per RFC 6152 and RFC 6531. The content
 * is dot-stuffed on the way out and lone LFs become CRLF, written in pieces straight from the
 * envelope (no copy of the message is made).
 *
 * Inside mg_smtp: smtp_dns.c resolves, smtp_client_session.c is the protocol (no I/O, fuzzed),
 * this API is the libuv/TLS glue over both.
 *
 * Results: every recipient gets a struct smtp_reply: the RCPT reply if it was refused, else the
 * reply to the end of data. A connection-level failure (lost connection, timeout, TLS failure,
 * 421) reports code 4xx for every recipient still outstanding, and the client becomes unusable
 * (smtp_client_usable() = 0; send returns MG_ECLOSED): the caller closes it.
 *
 * All functions and callbacks run on the loop's thread. Strings in the options are copied. */
#ifndef SMTP_CLIENT_H
#define SMTP_CLIENT_H

#include <stddef.h>
#include <uv.h>

#include "smtp_envelope.h"

enum smtp_client_tls {
    SMTP_CLIENT_TLS_NONE = 0,          /* never STARTTLS */
    SMTP_CLIENT_TLS_OPPORTUNISTIC,     /* STARTTLS when offered; plaintext otherwise, and
                                          plaintext if the handshake fails on that address */
    SMTP_CLIENT_TLS_REQUIRED           /* no STARTTLS or failed handshake = temporary failure */
};

struct smtp_client_opts {
    const char *helo_name;       /* our EHLO name ("localhost" if NULL) */
    const char *host;            /* smart host "name:port", "1.2.3.4:25", "[::1]:2525" or NULL;
                                    parsed by mg_hostport (a bare IPv6 address has no port) */
    const char *domain;          /* mail domain for MX lookup (when host is NULL) */
    int port;                    /* port for MX/A hosts and host without port; 0 = 25 */
    const char *dns_servers;     /* c-ares server list "ip[:port],..." (NULL = resolv.conf) */
    enum smtp_client_tls starttls;
    int tls_verify;              /* verify the chain against tls_ca_file and the host name */
    const char *tls_ca_file;     /* PEM CA bundle (NULL = system store) */
    const char *tls_verify_name; /* name to check (NULL = the MX host or smart host name) */
    /* Optional, borrowed: a client context (tls_io_ctx_client_create) shared by many
     * connections; it must outlive the client. Building one loads the CA store, which is far
     * too slow to do per connection. NULL = the client builds its own from tls_verify and
     * tls_ca_file. */
    struct tls_io_ctx *tls_ctx;
    unsigned connect_timeout_ms; /* per address; 0 = 30000 */
    unsigned cmd_timeout_ms;     /* greeting, EHLO, MAIL, RCPT, DATA, QUIT; 0 = 300000 */
    unsigned data_timeout_ms;    /* reply to the end of data; 0 = 600000 */
    size_t max_reply_lines;      /* guard against endless multi-line replies; 0 = 200 */
};

struct smtp_client;

/* What the connection ended up with (valid inside open_cb and while the client lives). */
struct smtp_client_info {
    const char *peer_name;       /* MX or smart host name that answered */
    const char *peer_addr;       /* numeric address */
    int port;
    int tls;                     /* STARTTLS in effect */
    int tls_verified;            /* peer certificate verified */
    const char *tls_version, *tls_cipher;
    int esmtp;                   /* EHLO accepted */
    int pipelining, size_ext, dsn, eightbitmime, smtputf8, chunking, starttls_offered;
    size_t max_size;             /* the server's SIZE limit (0 = none announced) */
};

/* status 0: connected and greeted, ready for smtp_client_send; reply holds the EHLO reply.
 * status < 0: no address worked; reply holds the best explanation, a 4xx or 5xx from the peer
 * or a local one. MG_ETEMP when it is 4xx (refused, timeout "421 4.4.2", TLS "421 4.7.x",
 * DNS failure "451 4.4.3"), MG_EDENIED when it is 5xx (every address greeted with 5xx, null MX
 * "556 5.1.10", NXDOMAIN "550 5.1.2"), MG_ECLOSED when smtp_client_close came first. The
 * client is then unusable and must still be closed with smtp_client_close. */
typedef void (*smtp_client_open_cb)(struct smtp_client *c, int status,
                                    const struct smtp_reply *reply, void *arg);

/* Called once per message. results[i] is recipient env->rcpts[i]'s outcome; nrcpts matches the
 * envelope. status 0 = the transaction ran (results say what each recipient got); < 0 = the
 * connection failed (results are all 4xx). */
typedef void (*smtp_client_sent_cb)(struct smtp_client *c, int status,
                                    const struct smtp_reply *results, size_t nrcpts, void *arg);

/* Start connecting. On 0 the client exists and open_cb will run exactly once, from the loop
 * (never inside this call); on error (bad options, unreadable CA file: MG_EINVAL; MG_ENOMEM)
 * nothing was created and open_cb never runs. */
int smtp_client_open(struct smtp_client **out, uv_loop_t *loop, const struct smtp_client_opts *o,
                     smtp_client_open_cb open_cb, void *arg);

/* Send one message. env (strings and content) is borrowed, not copied: it must stay valid and
 * unchanged until sent_cb runs. Only one message at a time: MG_ESTATE while one is in flight
 * or before open_cb reported success; MG_ECLOSED when the connection is gone; MG_EINVAL for an
 * envelope without recipients or with an address that cannot go on the wire (controls,
 * spaces, '<' or '>'; over 512 octets; ENVID/ORCPT over the RFC 3461 limits). On error sent_cb
 * is not called. */
int smtp_client_send(struct smtp_client *c, const struct smtp_envelope *env,
                     smtp_client_sent_cb sent_cb, void *arg);

/* 1 while the connection can take another message. */
int smtp_client_usable(const struct smtp_client *c);
const struct smtp_client_info *smtp_client_get_info(const struct smtp_client *c);

/* Send QUIT if connected and idle (a message in flight is failed with 4xx first), close and
 * free. closed_cb(arg) runs once everything is freed (may be NULL). Also valid while opening
 * (open_cb then reports MG_ECLOSED first). c must not be used afterwards. */
void smtp_client_close(struct smtp_client *c, void (*closed_cb)(void *arg), void *arg);

#endif
