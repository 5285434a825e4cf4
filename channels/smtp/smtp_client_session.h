/* smtp_client_session: the client side of one SMTP connection as a state machine with no I/O,
 * the mirror of smtp_session (the server side). Reply bytes in (smtp_client_session_input),
 * commands out (s->out, which the transport drains), and events the transport acts on
 * (s->events: open, start TLS, write the content, message done, failed, closed). No sockets, no
 * timers, no DNS: smtp_client.c is the libuv/TLS transport, the unit tests and the fuzz target
 * are others. Internal to mg_smtp: callers use smtp_client.h.
 *
 * What it knows: reply lines (RFC 5321 §4.2, multi-line "250-", at most max_reply_lines lines,
 * 4096 octets a line, a malformed line ends the connection), enhanced status codes (RFC 3463,
 * taken only when the class matches the reply), EHLO keywords (PIPELINING, SIZE n, DSN,
 * 8BITMIME, SMTPUTF8, CHUNKING, STARTTLS), HELO fallback after a 5xx to EHLO, STARTTLS
 * (RFC 3207: input buffered before the handshake is dropped, EHLO again after it), 421 at any
 * time (RFC 5321 §3.8), a transaction as one pipelined group MAIL, RCPT..., DATA (RFC 2920) or
 * one command at a time, a result per recipient, RSET after a transaction that left MAIL open,
 * the MAIL/RCPT parameters SIZE, BODY, SMTPUTF8 and the DSN parameters RET, ENVID, NOTIFY,
 * ORCPT (RFC 3461, only when the server offers DSN).
 *
 * The content itself never passes through the session: at SCS_EV_BODY the transport writes
 * the envelope's content through smtp_dotstuff, which yields pieces of the original bytes and
 * the few bytes to insert, so a large message is not copied to be dot-stuffed.
 *
 * Ownership: cfg strings are borrowed for the session's life; the envelope given to send is
 * borrowed until its results are taken; results are handed over by take_results (free()). */
#ifndef SMTP_CLIENT_SESSION_H
#define SMTP_CLIENT_SESSION_H

#include <stddef.h>

#include "mg_buf.h"
#include "smtp_client.h"
#include "smtp_envelope.h"

#define SMTP_CLIENT_SESSION_MAX_LINE 4096

enum smtp_client_session_state {
    SCS_GREETING = 0, /* waiting for the 220 */
    SCS_EHLO, SCS_HELO, SCS_STARTTLS,
    SCS_TLS,          /* the transport is doing the handshake */
    SCS_READY,        /* idle, can send a message */
    SCS_TXN,          /* MAIL/RCPT/DATA replies outstanding */
    SCS_BODY,         /* content written, waiting for the final reply */
    SCS_RSET,         /* cleaning up after a transaction that left MAIL open */
    SCS_QUIT,         /* QUIT sent */
    SCS_DONE          /* failed or closed: nothing more to do */
};

/* Events (bits of s->events). The transport handles and clears them after each call. */
enum {
    SCS_EV_READY = 1u << 0,    /* the connection is open (greeting, EHLO/HELO, TLS done) */
    SCS_EV_STARTTLS = 1u << 1, /* start the TLS handshake now */
    SCS_EV_BODY = 1u << 2,     /* write env's content through smtp_dotstuff, then wait */
    SCS_EV_MSG_DONE = 1u << 3, /* the results are final: smtp_client_session_take_results */
    SCS_EV_FAILED = 1u << 4,   /* the connection is unusable; s->fail says why: close it */
    SCS_EV_CLOSED = 1u << 5    /* QUIT answered: close */
};

/* What EHLO announced (all 0 after HELO). */
struct smtp_client_ext {
    int esmtp;
    int pipelining, size_ext, dsn, eightbitmime, smtputf8, chunking, starttls_offered;
    int mt_priority;             /* RFC 6710 MT-PRIORITY announced */
    size_t max_size;             /* SIZE limit; 0 = none announced */
};

struct smtp_client_session_cfg {
    const char *helo;            /* our EHLO name, already checked (no spaces/controls) */
    const char *peer;            /* "name [addr]" for reply texts and logs */
    enum smtp_client_tls starttls;
    int no_tls;                  /* never STARTTLS on this connection (opportunistic retry) */
    size_t max_reply_lines;      /* 0 = 200 */
};

enum smtp_client_expect { SCS_EX_MAIL, SCS_EX_RCPT, SCS_EX_DATA };

struct smtp_client_session {
    struct smtp_client_session_cfg cfg;
    enum smtp_client_session_state state;
    unsigned events;
    struct mg_buf in;            /* unprocessed reply bytes */
    struct mg_buf out;           /* commands to write (the transport drains and resets it) */
    struct mg_buf reply_text;    /* lines of the current multi-line reply, '\n'-separated */
    size_t reply_lines;
    struct smtp_reply last;      /* the last complete reply (EHLO's while opening) */
    struct smtp_reply fail;      /* with SCS_EV_FAILED: why; code 4xx or 5xx as the peer said */
    int tls;                     /* TLS in effect */
    struct smtp_client_ext ext;
    /* the message in flight (env == NULL: none) */
    const struct smtp_envelope *env;     /* borrowed */
    struct smtp_reply *results;          /* owned until taken; one per recipient */
    int *accepted;                       /* owned */
    enum smtp_client_expect *expects;    /* owned */
    size_t nexpect, next_expect, rcpt_next;
    int mail_ok, data_ok, any_accepted;
    int results_final;                   /* SCS_EV_MSG_DONE was raised for this message */
    int msg_status;                      /* 0, or MG_ECLOSED after a connection failure */
};

void smtp_client_session_init(struct smtp_client_session *s, const struct smtp_client_session_cfg *cfg);
/* Frees what the session owns (results not taken included). */
void smtp_client_session_free(struct smtp_client_session *s);

/* Feed received plaintext and process every complete reply. */
void smtp_client_session_input(struct smtp_client_session *s, const void *data, size_t len);

/* The transport finished the TLS handshake after SCS_EV_STARTTLS: forget the extensions and
 * EHLO again (RFC 3207 §4.2). */
void smtp_client_session_tls_started(struct smtp_client_session *s);

/* 0 when env can go on the wire (see smtp_client_session_send), else MG_EINVAL. */
int smtp_client_session_check_env(const struct smtp_envelope *env);

/* Start a transaction for env (borrowed until the results are taken). 0; MG_EINVAL for an
 * envelope that cannot go on the wire (no recipients, an address with controls, spaces, '<'
 * or '>', over 512 octets, ENVID/ORCPT over the RFC 3461 limits, a bad ORCPT type); MG_ESTATE
 * when not READY or a message is in flight; MG_ECLOSED after a failure; MG_ENOMEM. When the
 * peer cannot take the message at all (SMTPUTF8 or 8BITMIME not offered, over its SIZE), the
 * results are 553 5.6.7 / 554 5.6.3 / 552 5.3.4 and SCS_EV_MSG_DONE is raised at once: the
 * transport reports it from its loop, not from inside its own send call. */
int smtp_client_session_send(struct smtp_client_session *s, const struct smtp_envelope *env);

/* After SCS_EV_MSG_DONE: the results (one per recipient, the caller frees them) and the
 * status (0 = the transaction ran; MG_ECLOSED = the connection failed, the outstanding ones
 * are 4xx). The session forgets the envelope. NULL when there is nothing to take. */
struct smtp_reply *smtp_client_session_take_results(struct smtp_client_session *s, size_t *n, int *status);

/* The transport's connection failed (lost, timeout, TLS, write error): outstanding results
 * become 4xx (a 5xx code becomes 421, a 5.x.x status 4.4.2) and SCS_EV_MSG_DONE is raised if a
 * message was in flight; the state is DONE and fail holds the reason. No-op when DONE. */
void smtp_client_session_fail(struct smtp_client_session *s, int code, const char *enh, const char *text);

/* Queue QUIT if READY (returns 1), else 0 and nothing changes. */
int smtp_client_session_quit(struct smtp_client_session *s);

/* What the transport's timer should wait for: 0 nothing, 1 a command reply, 2 the reply to the
 * content (the longer data timeout). */
int smtp_client_session_waiting(const struct smtp_client_session *s);

/* 1 while the connection can take another message. */
int smtp_client_session_usable(const struct smtp_client_session *s);

/* Dot-stuffing without copying (RFC 5321 §4.5.2): the content is yielded as pieces that are
 * either runs of the original bytes or short insertions: "." before a line that starts with
 * ".", "\r" before a lone LF, "\r\n" when the content does not end with a line end, then the
 * terminating ".\r\n". The pieces point into the content (or static storage), which must stay
 * valid until they are written. */
struct smtp_dotstuff {
    const unsigned char *p;
    size_t n, i, run;
    int bol, stage;
    const char *ins;
};

void smtp_dotstuff_init(struct smtp_dotstuff *it, const void *content, size_t len);
/* 1 and the next piece (len >= 1), or 0 at the end. */
int smtp_dotstuff_next(struct smtp_dotstuff *it, const void **base, size_t *len);

#endif
