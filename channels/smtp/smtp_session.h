/* smtp_session: the server side of one SMTP conversation as a state machine with no I/O.
 * Bytes in (smtp_session_input) -> replies out (s->out), plus flags the transport acts on
 * (close after flushing, start TLS, paused while a message is being made durable). The libuv
 * server (smtp_server.c) is one transport; the fuzz target and unit tests are others.
 * Internal to mg_smtp: the lead integrates through smtp_server.h. */
#ifndef SMTP_SESSION_H
#define SMTP_SESSION_H

#include <stddef.h>

#include "mg_buf.h"
#include "smtp_envelope.h"
#include "smtp_server.h"

/* Text lines in DATA: RFC 5321 §4.5.3.1.6 (1000 octets with CRLF); the default of
 * cfg.max_line. A longer line is folded, not refused (docs/smtp.md says why). */
#define SMTP_SESSION_MAX_DATA_LINE 998

struct smtp_session;

struct smtp_session_cfg {
    const char *hostname;
    size_t max_size, max_rcpts;
    size_t max_line;           /* content lines longer than this (CRLF excluded) are folded
                                  into pieces of this length; 0 = SMTP_SESSION_MAX_DATA_LINE */
    unsigned max_errors;
    int bare_lf_reject;
    int tls_available, require_tls;
    const struct smtp_server_callbacks *cbs;
    void *cb_arg;
    /* Receives the finished message (ownership of env passes) and must eventually lead to
     * smtp_session_message_done() on this session, possibly from inside this call. */
    void (*on_message)(void *hook_arg, struct smtp_session *s, struct smtp_envelope *env);
    void *hook_arg;
};

enum smtp_session_state {
    SMTP_SESSION_CMD = 0,   /* reading commands */
    SMTP_SESSION_DATA,      /* reading DATA content lines */
    SMTP_SESSION_BDAT,      /* reading a BDAT chunk */
    SMTP_SESSION_WAIT,      /* message handed over, waiting for message_done */
    SMTP_SESSION_DONE       /* QUIT, fatal error or timeout: close after flushing */
};

struct smtp_session {
    const struct smtp_session_cfg *cfg;
    enum smtp_session_state state;
    struct mg_buf in;          /* unprocessed input */
    size_t in_off;             /* processed prefix of in */
    struct mg_buf out;         /* replies to send (the transport drains it) */
    struct smtp_envelope env;  /* session facts + current transaction */
    int have_helo, have_mail, tls;
    unsigned errors;
    unsigned long txn_count;
    unsigned long commands;    /* command lines read (good or bad) */
    int skip_line;             /* discarding the rest of an overlong command line */
    /* Content of the current message. */
    struct mg_buf content;
    int content_started, too_big, bare_lf, nomem, prev_crlf;
    int data_cont;             /* inside a line already folded: no end-of-data, no dot-stuffing */
    unsigned long folded;      /* lines folded in this message (logged) */
    size_t data_line_len;      /* length of the current data line so far when split */
    int bdat_used;             /* this transaction uses BDAT */
    size_t bdat_remaining;
    int bdat_last, bdat_discard;
    struct smtp_reply bdat_err; /* reply after a discarded chunk */
    int want_starttls;         /* transport: flush out, then start TLS (server role) */
    int processing;            /* re-entrancy guard */
    const char *last_verb;     /* for logs */
};

void smtp_session_init(struct smtp_session *s, const struct smtp_session_cfg *cfg,
                       const char *session_id, const char *client_addr, int client_port);
void smtp_session_free(struct smtp_session *s);
/* Queue the 220 greeting. */
void smtp_session_greet(struct smtp_session *s);
/* Feed received (plaintext) bytes and process as far as possible. 0 or MG_ENOMEM (the session
 * is then DONE with a 421 queued). */
int smtp_session_input(struct smtp_session *s, const void *data, size_t len);
/* The reply for the message handed to on_message (NULL = 250 Ok). Resumes processing. */
void smtp_session_message_done(struct smtp_session *s, const struct smtp_reply *reply);
/* The transport's idle timer fired: 421 4.4.2 and DONE. */
void smtp_session_timeout(struct smtp_session *s);
/* The transport switched to TLS (after flushing the 220 to STARTTLS). Resets the session to
 * the state before EHLO (RFC 3207 §4.2) and records the TLS facts (may be NULL until known). */
void smtp_session_tls_started(struct smtp_session *s, const char *version, const char *cipher);
/* 1 while the idle timer should use the data timeout rather than the command timeout. */
int smtp_session_in_content(const struct smtp_session *s);

#endif
