/* smtp_envelope: the SMTP envelope (RFC 5321 MAIL/RCPT with the RFC 3461 DSN, RFC 1652 BODY,
 * RFC 1870 SIZE and RFC 6531 SMTPUTF8 parameters) plus the content bytes, and an SMTP reply.
 * The server fills one per accepted message and hands it to the lead's code; the client takes
 * one to send. It deliberately depends on nothing in mta/: the lead maps it to the queue's
 * message model. All strings are NUL-terminated, heap-allocated and owned by the envelope. */
#ifndef SMTP_ENVELOPE_H
#define SMTP_ENVELOPE_H

#include <stddef.h>

/* An SMTP reply: code 2xx/4xx/5xx, enhanced status "x.y.z" (RFC 3463; may be empty) and text.
 * Fixed arrays so a callback can fill one with snprintf and nobody worries about lifetimes. */
struct smtp_reply {
    int code;            /* 0 = none */
    char enhanced[16];   /* "5.7.1" or "" */
    char text[256];      /* one line, no CR/LF (the server strips them if present) */
};

/* RFC 1652 / RFC 3030 BODY= value. */
enum smtp_body {
    SMTP_BODY_NONE = 0,  /* not given */
    SMTP_BODY_7BIT,
    SMTP_BODY_8BITMIME,
    SMTP_BODY_BINARYMIME /* parsed and refused by the server (BINARYMIME is not offered) */
};

/* RFC 3461 RET= value. */
enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

/* RFC 3461 NOTIFY= bits; 0 = NOTIFY not given. NEVER is exclusive of the others. */
enum {
    SMTP_NOTIFY_NEVER = 1u << 0,
    SMTP_NOTIFY_SUCCESS = 1u << 1,
    SMTP_NOTIFY_FAILURE = 1u << 2,
    SMTP_NOTIFY_DELAY = 1u << 3,
};

struct smtp_rcpt {
    char *addr;          /* forward-path without the angle brackets, e.g. "a@b.example" */
    unsigned notify;     /* SMTP_NOTIFY_* bits, 0 = not given */
    char *orcpt_type;    /* ORCPT addr-type, e.g. "rfc822" (NULL = no ORCPT) */
    char *orcpt;         /* ORCPT address, xtext-decoded (RFC 3461 §4.2); NULL = no ORCPT */
};

struct smtp_envelope {
    /* Session facts (server side; the client ignores them). */
    char *session_id;    /* unique per session, also in every log line of the session */
    char *helo;          /* EHLO/HELO argument */
    int esmtp;           /* 1 = EHLO, 0 = HELO */
    char *client_addr;   /* numeric IP of the client, e.g. "127.0.0.1" or "::1" */
    int client_port;
    int tls;             /* 1 = the transaction ran under STARTTLS */
    char *tls_version;   /* e.g. "TLSv1.3" (NULL without TLS) */
    char *tls_cipher;    /* e.g. "TLS_AES_256_GCM_SHA384" (NULL without TLS) */

    /* MAIL FROM and its parameters. */
    char *mail_from;     /* reverse-path without brackets; "" for the null path <> */
    size_t size;         /* SIZE= as declared (0 = not given) */
    enum smtp_body body;
    int smtputf8;        /* SMTPUTF8 given */
    enum smtp_ret ret;
    char *envid;         /* ENVID=, xtext-decoded (NULL = not given) */
    int mt_priority;     /* RFC 6710 MT-PRIORITY, -9..9 (server: as given; client: to send) */
    int mt_priority_given;

    struct smtp_rcpt *rcpts; /* nrcpts entries, owned */
    size_t nrcpts;

    /* Content as received: dot-stuffing removed, lines end in CRLF, the server's Received:
     * header first. Owned by the envelope; take it with smtp_envelope_take_content() to keep it
     * without a copy. */
    unsigned char *content;
    size_t content_len;
};

/* RFC 6710 MT-PRIORITY <-> the queue priority (0..5, the STANAG 4406 precedences deferred ..
 * override) by the STANAG4406 priority assignment policy: deferred -4, routine -2, priority 0,
 * immediate 2, flash 4, override 6; a value between two levels takes the lower one, values
 * below -4 are deferred and above 6 override. */
int smtp_mt_priority_to_queue(int mt);
int smtp_mt_priority_of_queue(int priority);

/* Zero an envelope. */
void smtp_envelope_init(struct smtp_envelope *e);
/* Free everything the envelope owns and zero it (safe on a zeroed envelope). */
void smtp_envelope_free(struct smtp_envelope *e);
/* Clear the MAIL/RCPT/content part only (RSET, new transaction); session facts stay. */
void smtp_envelope_reset_txn(struct smtp_envelope *e);
/* Append a recipient (strings are copied; orcpt_type/orcpt may be NULL). 0 or MG_ENOMEM. */
int smtp_envelope_add_rcpt(struct smtp_envelope *e, const char *addr, unsigned notify,
                           const char *orcpt_type, const char *orcpt);
/* Set a string field to a copy of s (NULL clears it). 0 or MG_ENOMEM. */
int smtp_envelope_set_str(char **field, const char *s);
/* Hand the content to the caller, who frees it with free(); the envelope no longer has it. */
unsigned char *smtp_envelope_take_content(struct smtp_envelope *e, size_t *len);
/* Fill a reply (enh and text may be NULL = ""; text is cut to fit). */
void smtp_reply_set(struct smtp_reply *r, int code, const char *enh, const char *text);

#endif
