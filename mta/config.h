/* config: mixgate's configuration file (libconfig syntax) loaded into an immutable model.
 *
 * config_load() reads the file, expands ${NAME} / ${NAME:-default} from the environment
 * (textually, before libconfig parses, keeping line numbers), parses it, validates every
 * section and builds a fresh `struct config`. Every problem found is reported, not only the
 * first, as "file:line: message". The result is read-only after load: threads may share it
 * freely, and a SIGHUP reload is "load a new one, swap the pointer, free the old one once no
 * one uses it" (config_free). All durations are seconds, all sizes bytes.
 *
 * Ownership: the struct config owns every string and array reachable from it; pointers
 * between parts (a route's chain, its peer) point inside the same object. */
#ifndef CONFIG_H
#define CONFIG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "mg_log.h"
#include "oraddr.h"

/* ---- errors -------------------------------------------------------------------------- */

struct config_error {
    char *file;    /* owned; the path given to config_load (or the name given to _text) */
    int line;      /* 1-based; 0 when the error is not tied to a line (e.g. cannot open) */
    char *message; /* owned; the message alone, e.g. "unknown key 'relay_netwroks'" */
    char *text;    /* owned; "file:line: message" (or "file: message" when line is 0) */
};

/* A list the caller zero-initialises (struct config_errors e = {0};) and frees. */
struct config_errors {
    struct config_error *v; /* owned */
    size_t n;
    size_t cap;
};

void config_errors_free(struct config_errors *errs);

/* Appends one error (line 0 = none). Modules that validate their own part of the file (the
 * settings of a processing channel) use it to report in the same form. Returns 0 or
 * MG_ENOMEM. errs NULL: nothing is recorded. */
int config_errors_addf(struct config_errors *errs, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- the model ----------------------------------------------------------------------- */

enum config_log_sink { CONFIG_LOG_STDERR, CONFIG_LOG_SYSLOG };

struct config_global {
    char *hostname;            /* default: gethostname() */
    char *var_dir;             /* default "/var/lib/mixgate" */
    enum config_log_sink log;  /* "stderr" (default) | "syslog" */
    enum mg_log_level log_level; /* "debug" | "info" (default) | "warn" | "error" */
    uint64_t max_message_size; /* default 50M; listeners may override */
    char *control_socket;      /* default "<var_dir>/control.sock" */
    uint32_t audit_retention;  /* seconds audit records are kept (<var_dir>/audit.db);
                                  default 0 = for ever */
    char *metrics_listen;      /* "127.0.0.1:9464": Prometheus scrape endpoint; NULL = off */
    char *user;                /* started as root: bind, then run as this user; NULL = unset
                                  (then mixgated refuses to run as root) */
    char *x400_domain;         /* our global domain identifier for X.400 trace, canonical
                                  RFC 2156 form ("/C=GB/ADMD= /PRMD=MIXGATE/"); NULL = none */
    struct oraddr *x400_gdi;   /* owned: x400_domain parsed (C, ADMD, PRMD), NULL = none */
    uint32_t x400_max_hops;    /* default 30: more trace elements than this is a loop */
};

struct config_queue {
    uint32_t retry_min;        /* default 60: first retry of a deferred recipient */
    uint32_t retry_max;        /* default 3600: back-off doubles up to this */
    uint32_t max_lifetime;     /* default 432000 (5d): then the recipient fails */
    uint32_t delay_warning;    /* default 14400 (4h), 0 = never send a delay DSN */
    uint32_t max_active_deliveries; /* default 100: deliveries in flight, all destinations
                                       together (each destination also has its own limit) */
    uint32_t max_active_messages; /* default 1000: messages with a job (envelope in memory) */
    uint32_t max_processing;   /* default 4: processing stages running on the thread pool */
    uint32_t max_messages;     /* default 0 = no limit: messages held; above it, 452 4.3.1 */
};

/* A pre-parsed network: addr in network byte order, IPv4 in addr[0..3]. */
struct config_cidr {
    int family;                /* AF_INET or AF_INET6 */
    uint8_t addr[16];          /* host bits are zero (non-zero host bits are a config error) */
    unsigned prefix;           /* 0..32 or 0..128 */
};

struct config_tls {
    char *cert;                /* PEM certificate chain; NULL = no TLS offered */
    char *key;                 /* PEM private key; set exactly when cert is set */
    char *ca;                  /* CA file for client certificates; NULL = not requested */
    bool require_tls;          /* default false; if true, MAIL before STARTTLS gets 530 */
};

enum config_protocol { CONFIG_PROTO_SMTP, CONFIG_PROTO_P1 };

/* An OSI selector (TSEL/SSEL/PSEL) as configured: "text", 'hex'H, or #decimal in the
 * notation of RFC 1278, kept as octets. len 0 = none. */
#define CONFIG_SEL_MAX 64
struct config_sel {
    size_t len;
    uint8_t v[CONFIG_SEL_MAX];
};

struct config_listener {
    char *name;
    int line;                  /* where the listener is defined (for messages) */
    enum config_protocol protocol; /* "smtp" (default, the only one so far) */
    char *listen;              /* as written after expansion, e.g. "[::1]:2525" */
    struct sockaddr_storage addr; /* numeric address and port to bind */
    socklen_t addrlen;
    struct config_cidr *relay_networks; size_t n_relay_networks; /* these clients may relay */
    char **relay_domains; size_t n_relay_domains;  /* lower-case; ".x.org" = subdomains of x.org */
    char **local_domains; size_t n_local_domains;  /* lower-case; same matching */
    uint32_t max_recipients;   /* default 1000 */
    uint64_t max_message_size; /* default global.max_message_size */
    uint32_t max_line_length;  /* default 2048, at least 1000 (RFC 5321 4.5.3.1.6) */
    uint32_t max_sessions;     /* default 200, all clients together */
    uint32_t max_sessions_per_client; /* default 50 (as Postfix) */
    uint32_t command_timeout;  /* default 300 (RFC 5321 4.5.3.2.7) */
    uint32_t data_timeout;     /* default 600 (RFC 5321 4.5.3.2.6 / .8) */
    uint32_t first_command_timeout; /* greeting to first command; default 30 (idle clients
                                       must not hold session slots) */
    uint32_t max_connection_rate; /* connections per client address per minute; 0 = no limit */
    struct config_tls tls;
    bool smtputf8;             /* default true: advertise SMTPUTF8 (RFC 6531) */
    bool allow_open_relay;     /* default false: see docs/configuration.md */
    /* p1 listeners: the selectors we answer to (none = any) */
    struct config_sel tsel, ssel, psel;
    uint32_t idle_timeout;     /* p1: default 600, an association with no traffic is aborted */
};

struct channel_kind; /* channel.h: the kinds of channel (file, smtp, rules, ...) */

/* A channel instance: one entry of `channels = ( ... )`. Its kind checks its own options at
 * load time and keeps what it parsed in `conf` (see channel.h). */
struct config_channel {
    char *name;
    int line;
    char *type;                /* the kind's name as written */
    const struct channel_kind *kind; /* NULL only while loading failed */
    void *conf;                /* owned through kind->conf_free: the kind's parsed options */
    bool delivery;             /* the kind delivers: may end a chain (and only such may) */
    uint32_t concurrency;      /* deliveries in flight per destination when the route names
                                  no peer (file); default 4. With a peer: its max_connections */
    uint64_t max_message_size; /* delivery channels: the largest content it takes; 0 = no
                                  limit of its own (the peer's, if any, applies) */
    /* The channel's own group in the parsed tree, which its kind's configure() reads. Valid
     * as long as the struct config lives; source lines via config_setting_source_line(). */
    const config_setting_t *settings;
};

enum config_peer_type { CONFIG_PEER_SMTP, CONFIG_PEER_X400 };
enum config_starttls { CONFIG_STARTTLS_NONE, CONFIG_STARTTLS_OPPORTUNISTIC, CONFIG_STARTTLS_REQUIRED };
/* The three P1 modes, in the order of channels/p1's enum p1_mode. */
enum config_x400_mode {
    CONFIG_X400_1988_NORMAL = 0, /* "1988-normal" (alias "normal") */
    CONFIG_X400_1988_X410,       /* "1988-x410": 1988 P1 over X.410-mode RTS */
    CONFIG_X400_1984,            /* "1984" (alias "x410-1984") */
    CONFIG_X400_NORMAL = CONFIG_X400_1988_NORMAL,
    CONFIG_X400_X410_1984 = CONFIG_X400_1984
};
enum config_x400_dialogue { CONFIG_X400_MONOLOGUE = 0, CONFIG_X400_TWA };

struct config_peer {
    char *name;
    int line;
    enum config_peer_type type;
    /* smtp */
    char *host;                /* host name or address without port; NULL when mx */
    uint16_t port;             /* default 25 (smtp), 102 (x400, RFC 1006) */
    bool mx;                   /* deliver to the recipient domain's MX hosts */
    enum config_starttls starttls; /* default opportunistic */
    bool verify;               /* verify the server certificate; default: starttls == required */
    char *ca;                  /* CA file; NULL = system store */
    char *cert, *key;          /* client certificate; both or neither */
    uint32_t max_connections;  /* default 10 */
    uint32_t messages_per_connection; /* default 100 */
    uint32_t connect_timeout;  /* default 30 */
    uint64_t max_message_size; /* the largest content sent to it; 0 = no limit of its own
                                  (an SMTP peer's EHLO SIZE still applies) */
    /* x400 (max_connections = max associations, messages_per_connection = per association).
     * The address is host[:port] (default port 102) with tsel/ssel/psel, or the same in
     * presentation_address (RFC 1278 notation); at least one of the two. */
    char *mta_name;            /* required: its MTA name (what it binds with, what it answers) */
    char *password;            /* its password, expected from it; NULL = none expected */
    char *our_mta_name;        /* required: our MTA name towards it */
    char *our_password;        /* our password towards it; NULL = none */
    char *presentation_address; /* as written; NULL = none (then host is required) */
    struct config_sel tsel, ssel, psel; /* called selectors (from the keys or the address) */
    enum config_x400_mode mode; /* default "1988-normal" */
    uint32_t checkpoint_size;  /* KiB between minor synchronisation points; default 16 */
    uint32_t window;           /* unconfirmed checkpoints; default 3 */
    enum config_x400_dialogue dialogue; /* default "monologue" */
    uint32_t idle_timeout;     /* default 300: an idle outbound association is released */
    bool check_calling_address; /* default false: an inbound bind must come from host */
    bool inbound_only;         /* default false: never called (e.g. behind a firewall); its
                                  messages wait in the queue until it binds to us in
                                  two-way-alternate dialogue and go over that association */
    char *clearance;           /* NULL = none; interpreted by the labels module */
    char *listener;            /* x400: the p1 listener whose policies apply to what it sends
                                  over associations we open; NULL = the one it is bound to
                                  now, else the first p1 listener */
};

enum config_match {
    CONFIG_MATCH_RECIPIENT,    /* exact address; domain case-insensitive, local part as given */
    CONFIG_MATCH_DOMAIN,       /* exact domain, case-insensitive */
    CONFIG_MATCH_DOMAIN_SUFFIX,/* "x.org": x.org and its subdomains; ".x.org": subdomains only */
    CONFIG_MATCH_PATTERN,      /* fnmatch(3) glob on the whole address (domain lower-cased) */
    CONFIG_MATCH_DEFAULT,      /* default = true: used when no other rule matches */
    CONFIG_MATCH_OR_ADDRESS,   /* X.400 O/R address attributes (RFC 2156 text); most specific
                                  matching rule wins among these */
    CONFIG_MATCH_OR_MAPPED,    /* or_mapped_by = "channel": an O/R address that channel maps to
                                  an RFC 822 address routed to the Internet (route.c); wins
                                  over or_address rules */
};

/* A route rule's condition on the message's security label (keys label_policy,
 * label_at_least, label_at_most, label_category). The names are kept as written: the labels
 * module resolves them against the governing SPIF (check-config reports unknown ones) and
 * decides the match through a route_label hook (route.h), so mta/ needs no labels library. */
struct config_route_label {
    int line;                  /* of the first label_* key */
    char *policy;              /* NULL = the governing policy */
    char *at_least, *at_most;  /* classification names; NULL = no bound */
    int at_least_line, at_most_line, policy_line, category_line;
    char **categories;         /* owned; every one must be in the label */
    size_t ncategories;
};

struct config_route {
    int line;
    size_t index;              /* position among the routes, 0-based */
    enum config_match match;
    char *value;               /* what is matched (normalised); NULL for default */
    struct oraddr *or_rule;    /* owned; or_address rules only: the parsed attributes */
    const struct config_channel *mapped_by; /* or_mapped_by rules: the channel that decides */
    const struct config_channel **chain; /* owned array; the channels are the config's */
    size_t n_chain;            /* >= 1; chain[n_chain-1]->delivery, the others are not */
    const struct config_peer *peer; /* the delivery channel's peer, NULL for file */
    struct config_route_label *label; /* owned; NULL = any label (or none) matches */
};

struct config {
    char *path;                /* the name errors and dumps use */
    struct config_global global;
    struct config_queue queue;
    struct config_listener *listeners; size_t n_listeners;
    struct config_channel *channels; size_t n_channels;
    struct config_peer *peers; size_t n_peers;
    struct config_route *routes; size_t n_routes; /* in file order, the default included */
    const struct config_route *default_route;     /* NULL if there is none */
    config_t tree;             /* the parsed tree (owns what channel settings point to) */
};

/* ---- loading ------------------------------------------------------------------------- */

/* Environment lookup used for ${NAME}; returns NULL when unset. */
typedef const char *(*config_env_fn)(void *ctx, const char *name);

/* Loads and validates `path` using getenv() for ${...}. On success *out is a new config
 * (caller frees with config_free) and errs is left empty. On failure returns MG_ECONFIG
 * (or MG_EIO when the file cannot be read, MG_ENOMEM), *out is NULL and errs holds every
 * error found. errs may be NULL when the caller does not want the messages. */
int config_load(const char *path, struct config **out, struct config_errors *errs);

/* Same from text in memory (len bytes, need not be NUL-terminated). `name` is used as the
 * file name in errors; env NULL means getenv(). Used by tests and the fuzzer. */
int config_load_text(const char *name, const char *text, size_t len, config_env_fn env,
                     void *env_ctx, struct config **out, struct config_errors *errs);

/* The same with the registry of channel kinds (a NULL-terminated list, see channel.h): each
 * channel's type must name one of them and its configure() checks the channel's options. The
 * daemon and check-config always load this way (channels/channels.h). Without a registry
 * (config_load, config_load_text: unit tests of routing and relay) types are checked by name
 * against the kinds the project has, and options are not checked. */
struct config_load_opts {
    const struct channel_kind *const *kinds; /* NULL: see above */
    config_env_fn env;                       /* NULL: getenv() */
    void *env_ctx;
};
int config_load_ex(const char *path, const struct config_load_opts *o, struct config **out,
                     struct config_errors *errs);
int config_load_text_ex(const char *name, const char *text, size_t len,
                        const struct config_load_opts *o, struct config **out,
                        struct config_errors *errs);

/* Frees a config and everything it owns. NULL is fine. */
void config_free(struct config *cfg);

/* ---- using it ------------------------------------------------------------------------ */

/* Lookup by name; NULL when there is none. */
const struct config_channel *config_find_channel(const struct config *cfg, const char *name);
const struct config_peer *config_find_peer(const struct config *cfg, const char *name);
const struct config_listener *config_find_listener(const struct config *cfg, const char *name);
/* The p1 listener whose policies apply to what an x400 peer sends over an association we
 * opened: its 'listener', else the first p1 listener; NULL when there is none. */
const struct config_listener *config_peer_p1_listener(const struct config *cfg,
                                                      const struct config_peer *p);

/* For the modules of the processing channels (and p1), which own their options: reports
 * every key of the channel's group other than name, type and those in `allowed`
 * (NULL-terminated) as "file:line: unknown key 'x' in channel 'c' (did you mean 'y'?)".
 * Returns the number of unknown keys (0: all known), or MG_ENOMEM / MG_EINVAL. */
int config_channel_check_keys(const struct config *cfg, const struct config_channel *ch,
                              const char *const *allowed, struct config_errors *errs);

/* Writes the effective configuration (after expansion, with every default filled in) in
 * libconfig syntax; passwords are written as "********". */
void config_dump(const struct config *cfg, FILE *f);

/* Names for enum values, as written in the file. */
const char *config_match_name(enum config_match m);
void config_route_label_free(struct config_route_label *rl);

/* Helpers the loader uses, public because other modules parse the same notations.
 * Duration: plain seconds or a number with s, m, h, d. Size: bytes or k, M, G (powers of
 * 1024). Both return 0 or MG_EINVAL / MG_ETOOBIG (result would not fit `max`). */
int config_parse_duration(const char *s, uint64_t max, uint64_t *out);
int config_parse_size(const char *s, uint64_t max, uint64_t *out);
/* "a.b.c.d/n" or "ipv6/n"; a bare address means a host (/32 or /128). */
int config_parse_cidr(const char *s, struct config_cidr *out);
/* An OSI selector: "text" (quotes optional), 'hex'H, #decimal (2 octets). 0 or MG_EINVAL. */
int config_parse_sel(const char *s, struct config_sel *out);
/* An RFC 1278 presentation address "psel"/"ssel"/"tsel"/NETWORK where NETWORK is
 * TCP/host+port, Internet=host+port, IP=host+port, RFC-1006+03+host+port or host:port
 * (fewer leading selectors: the last given is the TSEL). host is malloc'ed (caller frees)
 * or NULL when the address names none; *port 0 when none. 0, MG_EINVAL or MG_ENOMEM. */
int config_parse_paddr(const char *s, struct config_sel *psel, struct config_sel *ssel,
                       struct config_sel *tsel, char **host, uint16_t *port);
const char *config_x400_mode_name(enum config_x400_mode m);

#endif
