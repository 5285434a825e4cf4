/* message: the in-memory model of one queued message: its envelope (originator, recipients
 * with per-recipient delivery state and DSN parameters, trace, hold state, security label) and
 * queue ids. The content (RFC 5322 bytes or an X.400 content) is kept apart, stored once by
 * queue_store; struct message only records its type and size.
 *
 * Ownership: a struct message owns every string and buffer it points to; message_free()
 * releases them. Set strings through the setters (they copy) so that ownership stays simple. */
#ifndef MESSAGE_H
#define MESSAGE_H

#include <stddef.h>
#include <stdint.h>

/* Queue ids: 14 characters from the Crockford base32 alphabet (0-9, A-Z without I L O U):
 * 11 characters of microseconds since 1970 then 3 characters from a per-generator counter and
 * node value. Plain ASCII, no separators: safe in logs and file names; byte order = time order
 * (within one generator strictly increasing). */
#define MESSAGE_ID_LEN 14
#define MESSAGE_ID_SIZE 16 /* buffer size including the NUL */

/* Priority: 0 (lowest) .. 5 (highest); higher is delivered first. STANAG 4406 has six
 * precedence levels (deferred, routine, priority, immediate, flash, override) = 0..5;
 * SMTP mail without a priority is MESSAGE_PRIORITY_DEFAULT (routine). */
#define MESSAGE_PRIORITY_MIN 0
#define MESSAGE_PRIORITY_MAX 5
#define MESSAGE_PRIORITY_DEFAULT 1

/* Size limits for envelope fields we accept from outside (addresses come from SMTP/P1). */
#define MESSAGE_ADDR_MAX 1024
#define MESSAGE_TEXT_MAX 4096 /* replies, reasons, trace strings */
#define MESSAGE_LABEL_MAX 65536
#define MESSAGE_RCPTS_MAX 10000
#define MESSAGE_X400_ENV_MAX (1u << 20) /* a stored MTS envelope (BER) */

/* What kind of address a recipient (or the originator) has. */
enum message_addr_kind {
    MESSAGE_ADDR_RFC822 = 0,     /* RFC 5321 mailbox "local@domain" */
    MESSAGE_ADDR_ORADDR = 1,     /* X.400 O/R address, kept in the RFC 2156 textual form
                                    (oraddr.h) for logs, the queue and routing */
};

enum message_rcpt_state {
    MESSAGE_RCPT_PENDING = 0,   /* not yet tried */
    MESSAGE_RCPT_DELIVERED = 1, /* final: accepted by the next hop or delivered */
    MESSAGE_RCPT_DEFERRED = 2,  /* temporary failure; retried at next_attempt */
    MESSAGE_RCPT_FAILED = 3,    /* final: permanent failure (or expired) */
    MESSAGE_RCPT_HELD = 4,      /* stopped by a processing channel (reason in last_reply) until
                                   an operator releases the message */
};
#define MESSAGE_RCPT_STATE_COUNT 5

/* RFC 3461 NOTIFY; 0 means the parameter was not given (default: FAILURE and DELAY). */
enum message_notify {
    MESSAGE_NOTIFY_NEVER = 1u << 0,
    MESSAGE_NOTIFY_SUCCESS = 1u << 1,
    MESSAGE_NOTIFY_FAILURE = 1u << 2,
    MESSAGE_NOTIFY_DELAY = 1u << 3,
};

/* RFC 3461 RET: what a DSN returns of the original content. */
enum message_ret {
    MESSAGE_RET_UNSPEC = 0, /* not given: the reporting MTA chooses (we return headers) */
    MESSAGE_RET_HDRS = 1,
    MESSAGE_RET_FULL = 2,
};

enum message_content_type {
    MESSAGE_CONTENT_RFC5322 = 0, /* Internet message bytes (CRLF or LF line ends) */
    MESSAGE_CONTENT_X400_P22 = 1, /* BER IPMS content (P2/P22/P772) */
    MESSAGE_CONTENT_X400_REPORT = 2,
    MESSAGE_CONTENT_OTHER = 3,
};

/* Per-recipient flags recorded by the queue manager (e.g. so a delay DSN goes out once). */
enum message_rcpt_flag {
    MESSAGE_RCPT_F_DELAY_REPORTED = 1u << 0, /* a "delayed" DSN/NDR was sent */
    MESSAGE_RCPT_F_REPORTED = 1u << 1,       /* the final report was sent (or not needed) */
    /* The switch, as a gateway, reports this recipient's delivery / failure to the X.400
     * originating MTA itself, whatever NOTIFY says (RFC 2156 A.3.2: the MTA asked for more
     * than the originator's NOTIFY passed on carries; see report_decide). */
    MESSAGE_RCPT_F_GW_SUCCESS = 1u << 2,
    MESSAGE_RCPT_F_GW_FAILURE = 1u << 3,
};

struct message_rcpt {
    char *addr;          /* owned; the forward path (mailbox), never NULL */
    char *orcpt;         /* owned or NULL; RFC 3461 ORCPT as given: "rfc822;user@host" */
    unsigned notify;     /* enum message_notify bits, 0 = not given */
    enum message_rcpt_state state;
    unsigned flags;      /* enum message_rcpt_flag bits */
    uint32_t attempts;   /* delivery attempts made so far */
    int64_t next_attempt; /* unix seconds; for DEFERRED (0 = as soon as possible) */
    int64_t last_attempt; /* unix seconds of the last attempt, 0 = none */
    char *last_reply;    /* owned or NULL; last reply text, e.g. "451 4.4.1 no answer" */
    char *status;        /* owned or NULL; RFC 3463 code of the last outcome, e.g. "4.4.1" */
    char *remote_mta;    /* owned or NULL; the peer that gave last_reply, e.g. "mx.example" */
    char *route;         /* owned or NULL; names from routing: route, channel chain, peer */
    char *chain;
    char *peer;
    /* Progress through the recipient's chain of channels. A processing stage's result is
     * durable per recipient group: the content version the recipient now carries and how many
     * of its chain's processing channels it has passed. */
    uint32_t stage;      /* processing channels of the chain already applied */
    uint32_t cversion;   /* content version this recipient carries (0 = as received) */
    char *next_addr;     /* owned or NULL (= addr): the address as the next hop must see it;
                            addr stays the original form for reports and logs */
    enum message_addr_kind kind; /* of addr (and next_addr) */
};

struct message {
    char id[MESSAGE_ID_SIZE]; /* "" until assigned (queue_store_submit assigns when empty) */
    char *originator;     /* owned, never NULL after message_create: "" = null reverse path */
    char *envid;          /* owned or NULL: RFC 3461 ENVID (xtext-decoded) */
    enum message_ret ret;
    int priority;         /* MESSAGE_PRIORITY_MIN..MAX */
    int64_t arrival;      /* unix seconds (0 until assigned; submit sets it when 0) */
    int64_t expire_at;    /* unix seconds after which deferred recipients fail; 0 = policy */
    char *received_from;  /* owned or NULL: trace, e.g. "client.example [192.0.2.1] helo=x" */
    char *received_proto; /* owned or NULL: "ESMTPS", "P1", "file" */
    int hold;             /* 1 = held: the scheduler does not deliver it */
    char *hold_reason;    /* owned or NULL */
    unsigned char *label; /* owned or NULL: encoded security label, opaque here */
    size_t label_len;
    enum message_content_type content_type;
    uint64_t content_size; /* bytes; set by queue_store on submit and load */
    uint32_t content_version; /* highest content version made so far (0 = only as received);
                                 each recipient's rcpt.cversion says which one it carries */
    /* X.400 (a message that came in over P1, or was made for it). The envelope is the
     * MessageTransferEnvelope exactly as received (BER), so that a relay re-emits it with
     * only its own trace element added; NULL for SMTP mail. */
    char *mts_id;         /* owned or NULL: MTS identifier, "[C=GB;ADMD= ;PRMD=X]local-id" */
    char *content_oid;    /* owned or NULL: content type, a dotted OID or "22" (built-in) */
    unsigned char *x400_env; /* owned or NULL: the original envelope (BER) */
    size_t x400_env_len;
    struct message_rcpt *rcpts; /* owned array of nrcpts */
    size_t nrcpts;
    size_t rcpts_cap;
};

/* Allocates an empty message (originator "", priority default). NULL on out of memory. */
struct message *message_create(void);
void message_free(struct message *m);
/* Deep copy; NULL on out of memory. */
struct message *message_dup(const struct message *m);

/* Setters copy their argument (NULL clears where the field may be NULL). Each checks the size
 * limits above and returns 0, MG_EINVAL, MG_ETOOBIG or MG_ENOMEM. */
int message_set_originator(struct message *m, const char *addr); /* NULL or "" = null path */
int message_set_envid(struct message *m, const char *envid);
int message_set_received(struct message *m, const char *from, const char *proto);
int message_set_hold(struct message *m, int hold, const char *reason);
int message_set_label(struct message *m, const void *label, size_t len);
/* The X.400 fields (each NULL/0 clears): copies; MG_ETOOBIG above the limits. */
int message_set_x400(struct message *m, const char *mts_id, const char *content_oid,
                     const void *env, size_t env_len);
/* Appends a recipient in state PENDING; *out (optional) points into m->rcpts and is valid
 * until the next message_add_rcpt. */
int message_add_rcpt(struct message *m, const char *addr, const char *orcpt, unsigned notify,
                     struct message_rcpt **out);
/* Sets one of a recipient's owned strings: *field = copy of s (NULL clears). */
int message_rcpt_set_str(char **field, const char *s);
/* Sets the routing names of one recipient (each NULL clears). */
int message_rcpt_set_route(struct message_rcpt *r, const char *route, const char *chain,
                           const char *peer);

/* 1 when the recipient state is final (DELIVERED or FAILED). */
int message_rcpt_state_is_final(enum message_rcpt_state s);
/* 1 when every recipient is final (also for a message without recipients). */
int message_is_final(const struct message *m);
/* Counts recipients per state: counts[MESSAGE_RCPT_STATE_COUNT]. */
void message_count_states(const struct message *m, uint32_t counts[MESSAGE_RCPT_STATE_COUNT]);

/* "pending", "delivered", "deferred", "failed"; parse returns 0 or MG_EINVAL. */
const char *message_rcpt_state_name(enum message_rcpt_state s);
int message_rcpt_state_parse(const char *name, enum message_rcpt_state *out);
/* NOTIFY parameter "SUCCESS,DELAY" (case-insensitive) <-> bits. NEVER must stand alone. */
int message_notify_parse(const char *s, unsigned *out);
/* Writes "SUCCESS,FAILURE" etc. (or "" for 0) into buf; returns buf. */
char *message_notify_format(unsigned notify, char *buf, size_t bufsz);

/* Queue id generator: one per process (the queue store embeds one); not thread-safe. */
struct message_idgen {
    uint64_t last_us;  /* last timestamp used, to stay strictly increasing */
    uint32_t seq;      /* counter within one microsecond */
    uint32_t node;     /* 0..31, spreads ids of different generators started together */
};
/* node: any value (reduced mod 32); use e.g. getpid(). */
void message_idgen_init(struct message_idgen *g, uint32_t node);
/* Writes the next id (MESSAGE_ID_LEN chars + NUL) into out. */
void message_idgen_next(struct message_idgen *g, char out[MESSAGE_ID_SIZE]);
/* Same, with an explicit clock value (tests). */
void message_idgen_next_at(struct message_idgen *g, uint64_t now_us, char out[MESSAGE_ID_SIZE]);
/* 1 when s has the form of a queue id (length and alphabet): check before using it in a path. */
int message_id_valid(const char *s);
/* Microseconds since 1970 encoded in an id (0 if not valid). */
uint64_t message_id_time_us(const char *id);

#endif
