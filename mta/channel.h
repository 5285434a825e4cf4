/* channel: the one interface between the queue manager and every channel, and the kinds that
 * implement it.
 *
 * A channel KIND (file, smtp, p1, rules, cms, shaper, mixer, ...) is a const vtable that lives
 * in channels/ and is handed to config_load() in a NULL-terminated list (the registry; the daemon
 * and the CLI pass channels/channels.h's list). A channel INSTANCE is one `channels = ( ... )`
 * entry of the configuration: config_load() calls its kind's configure() so every option of
 * every channel is checked at load time (and by check-config) with file:line. The configured
 * instance (`conf`) belongs to the struct config and lives and dies with it.
 *
 * Delivery kinds also have run-time state (connection pools, listeners' peers): the queue manager
 * calls start() for each delivery instance of a configuration it installs and stop() when that
 * configuration is retired (after SIGHUP, once no delivery routed with it is in flight), so a
 * reload never pulls state from under a delivery.
 *
 * Processing kinds are pure functions, run by the queue manager on the libuv thread pool:
 * (envelope, content, the group's recipients, conf) -> a channel_result (new content and
 * envelope changes, an outcome per recipient, audit records). They never touch the queue, the
 * loop or the network; the queue manager makes their result durable before the next stage.
 *
 * Threads: configure/start/deliver/stop run on the loop thread (configure also in the CLI);
 * process runs on a pool thread and may run for several groups at once (conf is read-only). */
#ifndef CHANNEL_H
#define CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "config.h"
#include "content.h"
#include "message.h"

/* ---- outcomes (both worlds) ------------------------------------------------------------- */

enum channel_action {
    CHANNEL_NONE = 0,      /* not set by the channel (treated as deferred 4.3.0) */
    CHANNEL_DELIVERED,     /* delivered to the recipient's mailbox / UA (final) */
    CHANNEL_RELAYED,       /* accepted by a next hop that takes the responsibility on (final) */
    CHANNEL_FAILED,        /* permanent failure: the originator gets a report (final) */
    CHANNEL_DEFERRED,      /* temporary failure: retried with back-off until the lifetime ends */
    CHANNEL_HELD,          /* processing: stopped with a reason an operator sees */
    CHANNEL_CONTINUE,      /* processing: go on to the next stage of the chain */
    CHANNEL_DISCARDED,     /* processing: final, no report (rules discard; always audited) */
    CHANNEL_REGROUP,       /* processing: this recipient needs another result than the group's
                              content allows (e.g. other header edits): the stage runs again for
                              it, in a group of its own, in the job's next round */
};

enum channel_outcome_flag {
    /* The failure concerns the destination (connect, bind, TLS, 421), not this recipient: the
     * destination is throttled and its waiting deliveries deferred with this outcome's reason. */
    CHANNEL_OUT_DEST_FAILURE = 1u << 0,
    /* The next hop accepted the delivery-report duties (SMTP DSN extension): we send no
     * "relayed" report of our own. */
    CHANNEL_OUT_NEXT_HOP_REPORTS = 1u << 1,
    /* Deferred until the peer comes to us (an x400 peer reached only over the associations
     * it opens): besides the back-off, qmgr_peer_wake makes the message due when it binds. */
    CHANNEL_OUT_AWAIT_PEER = 1u << 2,
};

#define CHANNEL_X400_NONE (-1)

struct channel_outcome {
    enum channel_action action;
    int code;              /* SMTP reply code as received or to be given; 0 = from action */
    char status[16];       /* RFC 3463 "x.y.z"; "" = from action */
    char text[512];        /* one line: reply text, hold or failure reason */
    char remote[256];      /* the next hop that answered ("" = none / local) */
    int x400_reason;       /* X.411 NonDeliveryReasonCode or CHANNEL_X400_NONE */
    int x400_diagnostic;   /* X.411 NonDeliveryDiagnosticCode or CHANNEL_X400_NONE */
    unsigned flags;        /* enum channel_outcome_flag */
};

/* Fills o: text may be NULL; CR/LF in text become spaces. code 0 derives 250/451/550 from
 * the action; status NULL or "" derives 2.0.0/4.0.0/5.0.0. X.400 codes are set to NONE. */
void channel_outcome_set(struct channel_outcome *o, enum channel_action a, int code,
                         const char *status, const char *text, const char *remote);
/* The action an SMTP reply code means for a delivery: 2xx relayed, 5xx failed, else deferred. */
enum channel_action channel_action_from_code(int code);
const char *channel_action_name(enum channel_action a);
/* 1 for DELIVERED, RELAYED, FAILED, DISCARDED. */
int channel_action_is_final(enum channel_action a);

/* ---- deliveries ------------------------------------------------------------------------- */

/* Some recipients of one message going over one delivery channel instance to one destination
 * (peer, and for MX peers the recipient domain). Everything is borrowed from the queue manager
 * until channel_delivery_done(). */
struct channel_delivery {
    const struct message *msg;             /* the envelope (recipients' original forms) */
    struct content *content;               /* this group's content version (borrowed reference) */
    const struct config *cfg;              /* the configuration it was routed with */
    const struct config_channel *channel;  /* the delivery channel instance */
    const struct config_peer *peer;        /* NULL for channels without a peer (file) */
    const char *next_hop;                  /* destination key: "" or, for MX peers, the domain */
    const char *originator;                /* as the next hop must see it (processing may have
                                              rewritten it; else msg->originator) */
    size_t nrcpts;
    const uint32_t *rcpts;                 /* indexes into msg->rcpts */
    const char *const *rcpt_addrs;         /* per rcpts[i]: the address as the next hop must see it */
    struct channel_outcome *outcomes;      /* per rcpts[i]: filled by the channel */
    const unsigned char *label;            /* the group's security label (its content version's,
                                              else the message's, as the gate decided it); NULL =
                                              none. A protocol that carries labels sends this one */
    size_t label_len;
    void *channel_data;                    /* free for the channel's use */
    /* the queue manager's */
    void (*done_cb)(struct channel_delivery *d);
    void *qmgr_data;
};

/* The channel has filled every outcome; call exactly once, on the loop thread, now (even inside
 * deliver()) or later. After it, nothing in d may be touched. */
void channel_delivery_done(struct channel_delivery *d);
/* Sets outcome i from an SMTP-style reply (action from the code). */
void channel_delivery_set(struct channel_delivery *d, size_t i, int code, const char *status,
                          const char *text, const char *remote);

/* ---- processing ------------------------------------------------------------------------- */

struct channel_task {
    const struct config *cfg;
    const struct config_channel *channel;
    const struct message *msg;             /* envelope; recipients' original forms */
    struct content *content;               /* the group's current content (borrowed) */
    const char *originator;                /* current next-hop form of the originator */
    size_t nrcpts;
    const uint32_t *rcpts;                 /* the group's recipients (indexes into msg->rcpts) */
    const char *const *rcpt_addrs;         /* their current next-hop forms */
    int64_t now;                           /* unix seconds (the queue manager's clock) */
    const unsigned char *label;            /* the group's security label (its content
                                              version's, else the message's); NULL = none */
    size_t label_len;
    int priority;                          /* the group's priority (0..5) */
    /* For the delivery gate (qmgr_opts.gate) only: where the group is about to go. */
    const struct config_peer *peer;        /* NULL for a processing stage or a peerless channel */
    const char *next_hop;
};

/* One security decision (or other fact worth an audit record) a channel took. */
struct channel_audit {
    int rcpt;                  /* index into the task's rcpts, -1 = the whole group */
    char decision[48];         /* [a-z0-9-], e.g. "access-denied", "discarded" */
    char reason[512];
    char subject_kind[16];     /* "label", "cert" or "" */
    unsigned char *subject;    /* owned or NULL: the label's / certificate's encoding */
    size_t subject_len;
    char *summary;             /* owned or NULL: printable (marking, subject DN) */
};

struct channel_rcpt_result {
    struct channel_outcome outcome;        /* preset to CONTINUE */
    char *next_addr;                       /* owned or NULL (unchanged) */
    /* RFC 3461 parameters for the next hop, set by a channel that converts between worlds
     * (mixer: X.411 per-recipient report requests -> NOTIFY, originally intended recipient
     * -> ORCPT): when dsn_set, notify and orcpt replace the recipient's. */
    bool dsn_set;
    unsigned notify;                       /* enum message_notify bits */
    char *orcpt;                           /* owned or NULL: "x400;/C=..../" or "rfc822;a@b" */
    /* With dsn_set: the reports (MESSAGE_NOTIFY_SUCCESS / _FAILURE) the switch gives the
     * X.400 originating MTA itself beyond notify (mixer, RFC 2156 A.3.2); recorded as
     * MESSAGE_RCPT_F_GW_SUCCESS / _FAILURE. */
    unsigned gateway_notify;
};

/* A new message the channel wants sent (an alert to an operator): queued as a new message. */
struct channel_new_message {
    char *originator;          /* owned; "" = null reverse path */
    char *rcpt;                /* owned */
    unsigned char *content;    /* owned RFC 5322 bytes */
    size_t len;
};

struct channel_result {
    struct content *content;               /* owned reference, or NULL = unchanged */
    char *content_oid;                     /* owned or NULL: content's X.400 content type
                                              (dotted OID, or "22" / "2" built in), stored
                                              with the new version; what the p1 channel's
                                              envelope names (NULL: read from the bytes) */
    int priority;                          /* -1 = unchanged */
    bool label_set;
    unsigned char *label; size_t label_len; /* owned, when label_set */
    char *originator;                      /* owned or NULL (unchanged) */
    struct channel_rcpt_result *rcpts;     /* task->nrcpts entries (allocated by the qmgr) */
    char **copy_to; size_t ncopy;          /* owned: new recipients (own route; this content) */
    struct channel_new_message *messages; size_t nmessages; /* owned */
    struct channel_audit *audit; size_t naudit; /* owned */
    /* The message's envelope parameters for the next hop's world (mixer): when env_set,
     * envid and ret replace the message's RFC 3461 ENVID and RET; x400_env, when not NULL,
     * becomes the message's X.411 MessageTransferEnvelope (what the P1 channel relays). They
     * are the message's, not the group's: a channel sets the same values for every group. */
    bool env_set;
    char *envid;                           /* owned or NULL */
    int ret;                               /* enum message_ret */
    unsigned char *x400_env; size_t x400_env_len; /* owned or NULL (unchanged) */
    char *mts_id;                          /* owned or NULL (unchanged): the MTS identifier
                                              x400_env names, so a report that comes back
                                              about it finds the message (report_match) */
    char error[512];                       /* process() returned an error: why (held) */
};

/* Helpers for process() implementations; each returns 0 or MG_ENOMEM. */
int channel_result_add_audit(struct channel_result *r, int rcpt, const char *decision,
                             const char *reason, const char *subject_kind, const void *subject,
                             size_t subject_len, const char *summary);
int channel_result_add_copy(struct channel_result *r, const char *addr);
int channel_result_add_message(struct channel_result *r, const char *originator, const char *rcpt,
                               const void *content, size_t len);
/* Frees what r owns (not r itself). */
void channel_result_clear(struct channel_result *r, size_t nrcpts);

/* ---- kinds ------------------------------------------------------------------------------ */

enum channel_role { CHANNEL_ROLE_DELIVERY, CHANNEL_ROLE_PROCESSING };
/* Which peer a route must name when a channel of this kind ends its chain. */
enum channel_peer_need { CHANNEL_PEER_NONE, CHANNEL_PEER_SMTP, CHANNEL_PEER_X400 };

struct metrics;

struct channel_env {
    uv_loop_t *loop;
    const struct config *cfg;  /* the configuration the instance belongs to */
};

struct channel_kind {
    const char *name;          /* the `type` written in the configuration */
    enum channel_role role;
    enum channel_peer_need peer;
    /* Load time: checks ch's options (ch->settings; config_channel_check_keys helps) and builds
     * the instance's configuration in *conf (may stay NULL). Every problem is added to errs
     * with file:line; returns 0, MG_ECONFIG or MG_ENOMEM. No loop, no network. */
    int (*configure)(const struct config *cfg, const struct config_channel *ch, void **conf,
                     struct config_errors *errs);
    void (*conf_free)(void *conf);
    /* Optional: writes the parsed options as " key = value;" pairs (config_dump). */
    void (*conf_dump)(const void *conf, FILE *f);
    /* Optional: the destination key of one recipient (e.g. its domain for MX peers); written
     * into buf (NUL-terminated). Without it the key is "" (one destination per peer). */
    void (*next_hop)(const void *conf, const struct config_peer *peer, const char *rcpt_addr,
                     char *buf, size_t n);

    /* Delivery kinds. start: run-time state for ch (*inst); 0 or MG_E*. deliver: see
     * channel_delivery. stop: stop taking work, finish or fail what is in flight, close
     * connections, then done(arg) (once; possibly at once); then inst_free. */
    int (*start)(const struct channel_env *env, const struct config_channel *ch, void **inst);
    void (*deliver)(void *inst, struct channel_delivery *d);
    void (*stop)(void *inst, void (*done)(void *arg), void *arg);
    void (*inst_free)(void *inst);
    /* Optional, for `mixgate status` / metrics: open connections. */
    size_t (*connections)(const void *inst);

    /* Processing kinds (pool thread): fills r (r->rcpts preset to CONTINUE). Returns 0, or a
     * negative MG_E* with r->error saying why: then the group is held with the channel's name
     * and that reason (never dropped). */
    int (*process)(const void *conf, const struct channel_task *t, struct channel_result *r);
    /* Processing kinds whose process() costs a few microseconds per kilobyte and never blocks
     * (header rules: no I/O, no crypto, no conversion): a group whose content is at most this
     * many bytes and already loaded runs on the loop thread instead of the pool, which saves
     * the two thread switches that otherwise cost more than the work. 0: always the pool. */
    size_t inline_max;

    /* Optional, any kind: registers the instance's own metric families in m (the daemon's
     * registry: it outlives conf, and a family registered again after a reload is the same
     * one, so its counts go on). The daemon calls it on the loop thread once a configuration
     * is loaded, before it is used; without the call (check-config, tests) the instance counts
     * nothing. 0 or MG_E* (from metrics_family). */
    int (*metrics)(void *conf, struct metrics *m);

    /* Optional, any kind: the address in the other world by this channel's own mapping (a
     * mixer channel: an O/R address as the RFC 822 address its or2rfc table or an RFC-822
     * domain-defined attribute gives). 0 with out, or a negative MG_E* when it maps nothing.
     * Route rules `or_mapped_by = "<channel>"` use it (route.c). Any thread, reads conf only,
     * allocates nothing it keeps. */
    int (*route_map)(const void *conf, const char *address, char *out, size_t outsize);
};

/* The registry: a NULL-terminated list of kinds. NULL when there is no kind of that name. */
const struct channel_kind *channel_kind_find(const struct channel_kind *const *kinds,
                                             const char *name);

#endif
