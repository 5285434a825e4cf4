/* config: load, validate and own mixgate's configuration (see config.h for the model).
 *
 * libconfig parses the syntax; everything else (the schema, defaults, cross references,
 * the open-relay rule) is checked here, collecting every error with its line instead of
 * stopping at the first, so that one `mixgate check-config` run shows them all. */
#define _GNU_SOURCE /* asprintf, vasprintf, strndup */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "channel.h"
#define CONFIG_GET_SHORT_NAMES
#include "config_get.h"
#include "config_expand.h"
#include "config_syntax.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_hostport.h"


/* ---- sections ------------------------------------------------------------------------ */

static const char *const top_keys[] = { "global", "queue", "listeners", "channels", "peers", "routes",
                                        "labels", /* read by channels/labels (lsw_load) */ NULL };
static const char *const global_keys[] = { "hostname", "var_dir", "log", "log_level",
                                            "max_message_size", "control_socket",
                                            "audit_retention", "user", "metrics_listen",
                                            "x400_domain", "x400_max_hops", NULL };
static const char *const queue_keys[] = { "retry_min", "retry_max", "max_lifetime", "delay_warning",
                                          "max_active_deliveries", "max_messages",
                                          "max_active_messages", "max_processing", NULL };
static const char *const listener_keys[] = {
    "name", "protocol", "listen", "relay_networks", "relay_domains", "local_domains",
    "max_recipients", "max_message_size", "max_line_length", "max_sessions",
    "max_sessions_per_client", "command_timeout", "data_timeout", "first_command_timeout",
    "max_connection_rate", "tls", "smtputf8", "allow_open_relay", "tsel", "ssel", "psel",
    "idle_timeout", NULL };
/* Keys only an SMTP listener has / only a p1 listener has. */
static const char *const listener_smtp_only[] = { "relay_networks", "relay_domains",
    "local_domains", "max_recipients", "max_line_length", "max_sessions_per_client",
    "command_timeout", "data_timeout", "first_command_timeout", "max_connection_rate", "tls",
    "smtputf8", "allow_open_relay", NULL };
static const char *const listener_p1_only[] = { "tsel", "ssel", "psel", "idle_timeout", NULL };
static const char *const tls_keys[] = { "cert", "key", "ca", "require_tls", NULL };
static const char *const peer_common_keys[] = { "name", "type", "host", "max_connections",
                                                "messages_per_connection", "connect_timeout", NULL };
static const char *const peer_smtp_keys[] = { "name", "type", "host", "max_connections",
                                              "messages_per_connection", "connect_timeout", "mx",
                                              "starttls", "verify", "ca", "cert", "key", NULL };
static const char *const peer_x400_keys[] = { "name", "type", "host", "max_connections",
                                              "messages_per_connection", "connect_timeout",
                                              "mta_name", "password", "presentation_address",
                                              "mode", "clearance", "our_mta_name", "our_password",
                                              "tsel", "ssel", "psel", "checkpoint_size", "window",
                                              "dialogue", "max_associations", "idle_timeout",
                                              "messages_per_association",
                                              "check_calling_address", NULL };
static const char *const route_keys[] = { "recipient", "domain", "domain_suffix", "pattern",
                                          "or_address", "default", "chain", "peer", NULL };

static const char *const log_names[] = { "stderr", "syslog", NULL };
static const char *const level_names[] = { "debug", "info", "warn", "error", NULL };
static const enum mg_log_level level_values[] = { MG_LOG_DEBUG, MG_LOG_INFO, MG_LOG_WARN, MG_LOG_ERROR };
static const char *const protocol_names[] = { "smtp", "p1", NULL };
/* Without a registry (unit tests of routing): the kinds the project has, by name and role
 * only; nobody checks their options. */
static const struct channel_kind name_only[] = {
    { .name = "file", .role = CHANNEL_ROLE_DELIVERY, .peer = CHANNEL_PEER_NONE },
    { .name = "smtp", .role = CHANNEL_ROLE_DELIVERY, .peer = CHANNEL_PEER_SMTP },
    { .name = "p1", .role = CHANNEL_ROLE_DELIVERY, .peer = CHANNEL_PEER_X400 },
    { .name = "rules", .role = CHANNEL_ROLE_PROCESSING },
    { .name = "cms", .role = CHANNEL_ROLE_PROCESSING },
    { .name = "shaper", .role = CHANNEL_ROLE_PROCESSING },
    { .name = "mixer", .role = CHANNEL_ROLE_PROCESSING },
};
static const struct channel_kind *const name_only_list[] = {
    &name_only[0], &name_only[1], &name_only[2], &name_only[3], &name_only[4], &name_only[5],
    &name_only[6], NULL };
static const char *const peer_type_names[] = { "smtp", "x400", NULL };
static const char *const starttls_names[] = { "none", "opportunistic", "required", NULL };
/* The three P1 modes (enum config_x400_mode order), then the older names kept as aliases. */
static const char *const mode_names[] = { "1988-normal", "1988-x410", "1984", "normal",
                                          "x410-1984", NULL };
static const enum config_x400_mode mode_values[] = { CONFIG_X400_1988_NORMAL,
    CONFIG_X400_1988_X410, CONFIG_X400_1984, CONFIG_X400_1988_NORMAL, CONFIG_X400_1984 };
static const char *const dialogue_names[] = { "monologue", "two-way-alternate", NULL };
static const char *const match_names[] = { "recipient", "domain", "domain_suffix", "pattern",
                                           "default", "or_address", NULL };

const char *config_match_name(enum config_match m)
{
    return (unsigned)m < sizeof match_names / sizeof *match_names - 1 ? match_names[m] : "?";
}

/* A section that must be a group (or absent). */
static const config_setting_t *section_group(struct loader *L, const config_setting_t *root,
                                             const char *name)
{
    const config_setting_t *s = config_setting_get_member(root, name);
    if (s && config_setting_type(s) != CONFIG_TYPE_GROUP) {
        lerr(L, sline(s), "'%s' must be a group: %s = { ... };", name, name);
        return NULL;
    }
    return s;
}

static const config_setting_t *section_list(struct loader *L, const config_setting_t *root,
                                            const char *name)
{
    const config_setting_t *s = config_setting_get_member(root, name);
    if (s && config_setting_type(s) != CONFIG_TYPE_LIST &&
        !(config_setting_type(s) == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)) {
        lerr(L, sline(s), "'%s' must be a list of groups: %s = ( { ... }, { ... } );", name, name);
        return NULL;
    }
    return s;
}

static void load_global(struct loader *L, const config_setting_t *g)
{
    struct config_global *gl = &L->cfg->global;
    char host[256];
    if (gethostname(host, sizeof host) != 0 || !host[0])
        strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';
    gl->hostname = xstrdup(L, host);
    gl->var_dir = xstrdup(L, "/var/lib/mixgate");
    gl->log = CONFIG_LOG_STDERR;
    gl->log_level = MG_LOG_INFO;
    gl->max_message_size = 50u * 1024 * 1024;
    gl->x400_max_hops = 30;
    int var_line = 0;
    if (g) {
        const char *what = "global";
        check_keys(L, g, global_keys, "key", "in 'global'");
        const char *v;
        if (get_str(L, g, "hostname", what, &v) > 0) {
            char *d = norm_domain(L, v, false);
            if (!d) {
                lerr(L, sline(config_setting_get_member(g, "hostname")),
                     "global: 'hostname' = \"%s\" is not a valid host name", v);
            } else {
                free(gl->hostname);
                gl->hostname = d;
            }
        }
        if (get_dup(L, g, "var_dir", what, &gl->var_dir) > 0)
            var_line = sline(config_setting_get_member(g, "var_dir"));
        int e;
        if (get_enum(L, g, "log", what, log_names, &e) > 0)
            gl->log = (enum config_log_sink)e;
        if (get_enum(L, g, "log_level", what, level_names, &e) > 0)
            gl->log_level = level_values[e];
        get_size(L, g, "max_message_size", what, 1024, UINT64_C(1) << 40, &gl->max_message_size);
        get_dur(L, g, "audit_retention", what, 0, UINT32_MAX, &gl->audit_retention);
        get_dup(L, g, "user", what, &gl->user);
        if (get_dup(L, g, "metrics_listen", what, &gl->metrics_listen) > 0) {
            struct mg_hostport hp;
            if (mg_hostport_parse(gl->metrics_listen, MG_HOSTPORT_NEED_PORT | MG_HOSTPORT_NUMERIC |
                                  MG_HOSTPORT_PORT_ZERO, &hp) != 0)
                lerr(L, sline(config_setting_get_member(g, "metrics_listen")),
                     "global: 'metrics_listen' = \"%s\": %s (an address and port: \"127.0.0.1:9464\")",
                     gl->metrics_listen, hp.err);
        }
        get_uint(L, g, "x400_max_hops", what, 1, 1000, &gl->x400_max_hops);
        if (get_str(L, g, "x400_domain", what, &v) > 0) {
            char err[120];
            struct oraddr *o = xcalloc(L, 1, sizeof *o);
            int xl = sline(config_setting_get_member(g, "x400_domain"));
            if (o && oraddr_parse(v, o, err, sizeof err) != 0) {
                lerr(L, xl, "global: 'x400_domain' = \"%s\": %s", v, err);
                free(o);
            } else if (o && (!oraddr_get(o, "C") || !oraddr_get(o, "ADMD"))) {
                lerr(L, xl, "global: 'x400_domain' = \"%s\" needs at least C and ADMD "
                     "(\"/C=GB/ADMD= /PRMD=X/\")", v);
                free(o);
            } else if (o) {
                char buf[ORADDR_TEXT_MAX + 64];
                oraddr_format(o, buf, sizeof buf);
                gl->x400_domain = xstrdup(L, buf);
                gl->x400_gdi = o;
            }
        }
        if (get_dup(L, g, "control_socket", what, &gl->control_socket) > 0) {
            if (strlen(gl->control_socket) >= sizeof ((struct sockaddr_un *)0)->sun_path)
                lerr(L, sline(config_setting_get_member(g, "control_socket")),
                     "global: 'control_socket' path is too long for a Unix socket (max %zu bytes)",
                     sizeof ((struct sockaddr_un *)0)->sun_path - 1);
        }
    }
    if (!gl->control_socket && gl->var_dir) {
        if (asprintf(&gl->control_socket, "%s/control.sock", gl->var_dir) < 0) {
            gl->control_socket = NULL;
            L->oom = true;
        } else if (strlen(gl->control_socket) >= sizeof ((struct sockaddr_un *)0)->sun_path) {
            lerr(L, var_line, "global: '%s' is too long for a Unix socket path; set "
                 "'control_socket' to a shorter path", gl->control_socket);
        }
    }
}

static void load_queue(struct loader *L, const config_setting_t *g)
{
    struct config_queue *q = &L->cfg->queue;
    q->retry_min = 60;
    q->retry_max = 3600;
    q->max_lifetime = 5 * 86400;
    q->delay_warning = 4 * 3600;
    q->max_active_deliveries = 100;
    q->max_active_messages = 1000;
    q->max_processing = 4;
    q->max_messages = 0;
    if (!g)
        return;
    const char *what = "queue";
    check_keys(L, g, queue_keys, "key", "in 'queue'");
    const uint64_t year = 366u * 86400;
    get_dur(L, g, "retry_min", what, 1, year, &q->retry_min);
    int r_max = get_dur(L, g, "retry_max", what, 1, year, &q->retry_max);
    int r_life = get_dur(L, g, "max_lifetime", what, 1, year, &q->max_lifetime);
    int r_warn = get_dur(L, g, "delay_warning", what, 0, year, &q->delay_warning);
    get_uint(L, g, "max_active_deliveries", what, 1, 100000, &q->max_active_deliveries);
    get_uint(L, g, "max_active_messages", what, 1, 1000000, &q->max_active_messages);
    get_uint(L, g, "max_processing", what, 1, 1024, &q->max_processing);
    get_uint(L, g, "max_messages", what, 0, UINT32_MAX, &q->max_messages);
    if (q->retry_max < q->retry_min)
        lerr(L, sline(config_setting_get_member(g, r_max > 0 ? "retry_max" : "retry_min")),
             "queue: retry_max (%" PRIu32 "s) is shorter than retry_min (%" PRIu32 "s)",
             q->retry_max, q->retry_min);
    if (q->max_lifetime < q->retry_min)
        lerr(L, sline(config_setting_get_member(g, r_life > 0 ? "max_lifetime" : "retry_min")),
             "queue: max_lifetime (%" PRIu32 "s) is shorter than retry_min (%" PRIu32 "s)",
             q->max_lifetime, q->retry_min);
    if (q->delay_warning && q->delay_warning >= q->max_lifetime)
        lerr(L, sline(config_setting_get_member(g, r_warn > 0 ? "delay_warning" : "max_lifetime")),
             "queue: delay_warning (%" PRIu32 "s) must be shorter than max_lifetime (%" PRIu32
             "s), or 0 for none", q->delay_warning, q->max_lifetime);
}

/* Numeric address:port to bind: a.b.c.d:port or [v6]:port; port 0 lets the kernel choose
 * (the listener logs the port it got). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    struct mg_hostport hp;
    memset(ss, 0, sizeof *ss);
    if (mg_hostport_parse(s, MG_HOSTPORT_NEED_PORT | MG_HOSTPORT_NUMERIC | MG_HOSTPORT_PORT_ZERO, &hp) != 0)
        return hp.err && !strncmp(hp.err, "port ", 5) ? BAD_PORT : MG_EINVAL;
    return mg_hostport_sockaddr(&hp, 0, ss, len);
}

/* Network covering ranges as 128-bit intervals; IPv4 as IPv4-mapped (::ffff:a.b.c.d). */
typedef unsigned __int128 u128;
struct range { u128 lo, hi; };

static struct range cidr_range(const struct config_cidr *c)
{
    uint8_t a[16];
    unsigned prefix = c->prefix;
    if (c->family == AF_INET) {
        memset(a, 0, 10);
        a[10] = a[11] = 0xff;
        memcpy(a + 12, c->addr, 4);
        prefix += 96;
    } else {
        memcpy(a, c->addr, 16);
    }
    u128 v = 0;
    for (int i = 0; i < 16; i++)
        v = (v << 8) | a[i];
    u128 hostmask = prefix >= 128 ? 0 : prefix == 0 ? ~(u128)0 : (((u128)1 << (128 - prefix)) - 1);
    struct range r = { v & ~hostmask, v | hostmask };
    return r;
}

static int range_cmp(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Does the union of the ranges cover [lo, hi]? ranges sorted by lo. */
static bool covers(const struct range *r, size_t n, u128 lo, u128 hi)
{
    u128 next = lo; /* first address not yet covered */
    for (size_t i = 0; i < n; i++) {
        if (r[i].hi < next)
            continue;
        if (r[i].lo > next)
            return false;
        if (r[i].hi >= hi)
            return true;
        next = r[i].hi + 1;
    }
    return false;
}

/* An open relay accepts mail for any domain from any client: relay_networks covering all of
 * IPv4, or all global unicast IPv6 (2000::/3), is that, however it is split into pieces. */
static bool listener_is_open(struct loader *L, const struct config_listener *l)
{
    if (l->n_relay_networks == 0)
        return false;
    struct range *r = xcalloc(L, l->n_relay_networks, sizeof *r);
    if (!r)
        return false;
    for (size_t i = 0; i < l->n_relay_networks; i++)
        r[i] = cidr_range(&l->relay_networks[i]);
    qsort(r, l->n_relay_networks, sizeof *r, range_cmp);
    u128 v4lo = (u128)0xffff << 32, v4hi = v4lo | 0xffffffffu;
    u128 g6lo = (u128)0x2 << 124, g6hi = g6lo | ((((u128)1) << 125) - 1);
    bool open = covers(r, l->n_relay_networks, v4lo, v4hi) ||
                covers(r, l->n_relay_networks, g6lo, g6hi);
    free(r);
    return open;
}

static void load_domains(struct loader *L, const config_setting_t *g, const char *key,
                         const char *what, char ***out, size_t *nout)
{
    const config_setting_t *list;
    if (get_strlist(L, g, key, what, &list) <= 0)
        return;
    int n = config_setting_length(list);
    *out = xcalloc(L, (size_t)n, sizeof **out);
    if (!*out)
        return;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        const char *v = config_setting_get_string(e);
        char *d = norm_domain(L, v, true);
        if (!d) {
            lerr(L, sline(e) ? sline(e) : sline(list), "%s: '%s' entry \"%s\" is not a domain "
                 "(\"example.org\", or \".example.org\" for its subdomains)", what, key, v);
            continue;
        }
        (*out)[(*nout)++] = d;
    }
}

static void load_tls(struct loader *L, const config_setting_t *g, const char *what,
                     struct config_tls *t)
{
    const config_setting_t *s = config_setting_get_member(g, "tls");
    if (!s)
        return;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        lerr(L, sline(s), "%s: 'tls' must be a group: tls = { cert = \"...\"; key = \"...\"; };", what);
        return;
    }
    char in[128];
    snprintf(in, sizeof in, "in %s tls", what);
    check_keys(L, s, tls_keys, "key", in);
    get_dup(L, s, "cert", what, &t->cert);
    get_dup(L, s, "key", what, &t->key);
    get_dup(L, s, "ca", what, &t->ca);
    get_bool(L, s, "require_tls", what, &t->require_tls);
    if (!t->cert != !t->key)
        lerr(L, sline(s), "%s: tls needs both 'cert' and 'key' (or neither)", what);
    if (!t->cert && (t->ca || t->require_tls))
        lerr(L, sline(s), "%s: tls '%s' needs a certificate: set 'cert' and 'key'", what,
             t->require_tls ? "require_tls" : "ca");
}

/* An OSI selector key ("text", 'hex'H or #decimal). */
static void load_sel(struct loader *L, const config_setting_t *g, const char *key,
                     const char *what, struct config_sel *out)
{
    const char *v;
    if (get_str(L, g, key, what, &v) > 0 && config_parse_sel(v, out) != 0)
        lerr(L, sline(config_setting_get_member(g, key)),
             "%s: '%s' = \"%s\" is not a selector (\"text\", 'hex'H or #number, at most %d "
             "octets)", what, key, v, CONFIG_SEL_MAX);
}

static void load_listener(struct loader *L, const config_setting_t *g, size_t idx,
                          struct config_listener *l)
{
    char what[NAME_MAX_LEN + 32];
    l->line = sline(g);
    l->protocol = CONFIG_PROTO_SMTP;
    l->max_recipients = 1000;
    l->max_message_size = L->cfg->global.max_message_size;
    l->max_line_length = 2048;
    l->max_sessions = 200;
    l->max_sessions_per_client = 50;   /* as Postfix (smtpd_client_connection_count_limit) */
    l->command_timeout = 300;
    l->data_timeout = 600;
    l->first_command_timeout = 30;
    l->smtputf8 = true;
    snprintf(what, sizeof what, "listener #%zu", idx + 1);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        lerr(L, sline(g), "listeners: element %zu must be a group { name = ...; ... }", idx + 1);
        return;
    }
    if (get_dup(L, g, "name", what, &l->name) > 0) {
        if (!valid_name(l->name))
            lerr(L, sline(config_setting_get_member(g, "name")),
                 "%s: name \"%s\" must be 1-%d letters, digits, '-', '_' or '.'", what, l->name,
                 NAME_MAX_LEN);
        else
            snprintf(what, sizeof what, "listener '%s'", l->name);
    } else if (!config_setting_get_member(g, "name")) {
        lerr(L, l->line, "%s: missing 'name'", what);
    }
    char in[NAME_MAX_LEN + 40];
    snprintf(in, sizeof in, "in %s", what);
    check_keys(L, g, listener_keys, "key", in);
    int e;
    if (get_enum(L, g, "protocol", what, protocol_names, &e) > 0)
        l->protocol = (enum config_protocol)e;
    l->idle_timeout = 600;
    /* A key of the other protocol is a misplaced setting: say which. */
    const char *const *foreign = l->protocol == CONFIG_PROTO_P1 ? listener_smtp_only
                                                                : listener_p1_only;
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *k = config_setting_name(m);
        if (k && in_list(foreign, k))
            lerr(L, sline(m), "%s: '%s' does not apply to a %s listener", what, k,
                 protocol_names[l->protocol]);
    }
    if (l->protocol == CONFIG_PROTO_P1) {
        load_sel(L, g, "tsel", what, &l->tsel);
        load_sel(L, g, "ssel", what, &l->ssel);
        load_sel(L, g, "psel", what, &l->psel);
        get_dur(L, g, "idle_timeout", what, 1, 86400, &l->idle_timeout);
    }
    int r = get_dup(L, g, "listen", what, &l->listen);
    if (r == 0) {
        lerr(L, l->line, "%s: missing 'listen' (address:port, e.g. \"127.0.0.1:25\" or \"[::1]:25\")", what);
    } else if (r > 0) {
        int rc = parse_listen(l->listen, &l->addr, &l->addrlen);
        if (rc == MG_ENOMEM)
            L->oom = true;
        else if (rc == BAD_PORT)
            lerr(L, sline(config_setting_get_member(g, "listen")),
                 "%s: 'listen' = \"%s\": the port must be 1..65535 (or 0: any free port)", what, l->listen);
        else if (rc)
            lerr(L, sline(config_setting_get_member(g, "listen")),
                 "%s: 'listen' = \"%s\" is not address:port (\"192.0.2.1:25\", \"0.0.0.0:25\", "
                 "\"[::]:25\")", what, l->listen);
    }
    const config_setting_t *nets;
    if (get_strlist(L, g, "relay_networks", what, &nets) > 0) {
        int n = config_setting_length(nets);
        l->relay_networks = xcalloc(L, (size_t)n, sizeof *l->relay_networks);
        for (int i = 0; l->relay_networks && i < n; i++) {
            const config_setting_t *el = config_setting_get_elem(nets, (unsigned)i);
            const char *v = config_setting_get_string(el);
            int rc = cidr_parse(v, &l->relay_networks[l->n_relay_networks]);
            int line = sline(el) ? sline(el) : sline(nets);
            if (rc == HOST_BITS)
                lerr(L, line, "%s: relay_networks entry \"%s\" has bits set after the prefix "
                     "length (network addresses end in zero bits)", what, v);
            else if (rc)
                lerr(L, line, "%s: relay_networks entry \"%s\" is not an address or network "
                     "(\"192.0.2.0/24\", \"2001:db8::/32\")", what, v);
            else
                l->n_relay_networks++;
        }
    }
    load_domains(L, g, "relay_domains", what, &l->relay_domains, &l->n_relay_domains);
    load_domains(L, g, "local_domains", what, &l->local_domains, &l->n_local_domains);
    get_uint(L, g, "max_recipients", what, 1, 1000000, &l->max_recipients);
    get_size(L, g, "max_message_size", what, 1024, UINT64_C(1) << 40, &l->max_message_size);
    get_uint(L, g, "max_line_length", what, 1000, 1024 * 1024, &l->max_line_length);
    get_uint(L, g, "max_sessions", what, 1, 1000000, &l->max_sessions);
    get_uint(L, g, "max_sessions_per_client", what, 1, 1000000, &l->max_sessions_per_client);
    get_dur(L, g, "command_timeout", what, 1, 86400, &l->command_timeout);
    get_dur(L, g, "data_timeout", what, 1, 86400, &l->data_timeout);
    get_dur(L, g, "first_command_timeout", what, 1, 86400, &l->first_command_timeout);
    get_uint(L, g, "max_connection_rate", what, 0, 1000000, &l->max_connection_rate);
    load_tls(L, g, what, &l->tls);
    get_bool(L, g, "smtputf8", what, &l->smtputf8);
    int ro = get_bool(L, g, "allow_open_relay", what, &l->allow_open_relay);
    if (l->protocol == CONFIG_PROTO_SMTP && l->max_sessions_per_client > l->max_sessions)
        lerr(L, sline(config_setting_get_member(g, "max_sessions_per_client")) ?: l->line,
             "%s: max_sessions_per_client (%" PRIu32 ") is larger than max_sessions (%" PRIu32 ")",
             what, l->max_sessions_per_client, l->max_sessions);
    if (listener_is_open(L, l) && !l->allow_open_relay)
        lerr(L, sline(config_setting_get_member(g, "relay_networks")),
             "%s: relay_networks lets every client relay to any domain (an open relay, abused "
             "for spam within hours); narrow it, or set allow_open_relay = true if another "
             "layer restricts who can connect", what);
    (void)ro;
}

static void load_channel(struct loader *L, const config_setting_t *g, size_t idx,
                         struct config_channel *c)
{
    char what[NAME_MAX_LEN + 32];
    c->line = sline(g);
    c->concurrency = 4;
    c->delivery = true; /* until known: do not pile chain errors on top of a type error */
    snprintf(what, sizeof what, "channel #%zu", idx + 1);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        lerr(L, sline(g), "channels: element %zu must be a group { name = ...; type = ...; }", idx + 1);
        return;
    }
    c->settings = g;
    if (get_dup(L, g, "name", what, &c->name) > 0) {
        if (!valid_name(c->name))
            lerr(L, sline(config_setting_get_member(g, "name")),
                 "%s: name \"%s\" must be 1-%d letters, digits, '-', '_' or '.'", what, c->name,
                 NAME_MAX_LEN);
        else
            snprintf(what, sizeof what, "channel '%s'", c->name);
    } else if (!config_setting_get_member(g, "name")) {
        lerr(L, c->line, "%s: missing 'name'", what);
    }
    char known[256] = "";
    for (const struct channel_kind *const *k = L->kinds; *k; k++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                 known[0] ? ", " : "", (*k)->name);
    int r = get_dup(L, g, "type", what, &c->type);
    if (r == 0 && !config_setting_get_member(g, "type"))
        lerr(L, c->line, "%s: missing 'type' (%s)", what, known);
    if (r <= 0)
        return;
    c->kind = channel_kind_find(L->kinds, c->type);
    if (!c->kind) {
        const char *best = NULL;
        size_t bd = 3;
        for (const struct channel_kind *const *k = L->kinds; *k; k++) {
            size_t d = edit_distance(c->type, (*k)->name);
            if (d < bd) {
                bd = d;
                best = (*k)->name;
            }
        }
        if (best)
            lerr(L, sline(config_setting_get_member(g, "type")),
                 "%s: unknown type '%s' (did you mean '%s'?)", what, c->type, best);
        else
            lerr(L, sline(config_setting_get_member(g, "type")),
                 "%s: unknown type '%s' (this build has: %s)", what, c->type, known);
        return;
    }
    c->delivery = c->kind->role == CHANNEL_ROLE_DELIVERY;
    uint32_t conc = 0;
    if (get_uint(L, g, "concurrency", what, 1, 10000, &conc) > 0)
        c->concurrency = conc;
}

/* The x400 part of a peer: names and passwords both ways, the address (host and selectors
 * and/or the presentation address), the P1 mode and the association parameters. */
static void load_x400_peer(struct loader *L, const config_setting_t *g, const char *what,
                           struct config_peer *p)
{
    p->checkpoint_size = 16;
    p->window = 3;
    p->idle_timeout = 300;
    get_dup(L, g, "mta_name", what, &p->mta_name);
    get_dup(L, g, "password", what, &p->password);
    get_dup(L, g, "our_mta_name", what, &p->our_mta_name);
    get_dup(L, g, "our_password", what, &p->our_password);
    get_dup(L, g, "clearance", what, &p->clearance);
    static const char *const names[] = { "mta_name", "our_mta_name", "password", "our_password", NULL };
    for (int i = 0; names[i]; i++) {
        const config_setting_t *m = config_setting_get_member(g, names[i]);
        const char *v = m && config_setting_type(m) == CONFIG_TYPE_STRING
                            ? config_setting_get_string(m) : NULL;
        /* X.411 ub-mta-name-length and ub-password-length are 32 and 62 octets. */
        size_t max = i < 2 ? 32 : 62;
        if (v && (strlen(v) > max || (i < 2 && !*v)))
            lerr(L, sline(m), "%s: '%s' must be 1..%zu characters", what, names[i], max);
    }
    int e;
    if (get_enum(L, g, "mode", what, mode_names, &e) > 0)
        p->mode = mode_values[e];
    if (get_enum(L, g, "dialogue", what, dialogue_names, &e) > 0)
        p->dialogue = (enum config_x400_dialogue)e;
    uint64_t cp;
    const config_setting_t *cps = config_setting_get_member(g, "checkpoint_size");
    if (cps && config_setting_type(cps) == CONFIG_TYPE_INT) {
        get_uint(L, g, "checkpoint_size", what, 1, 65535, &p->checkpoint_size);
    } else if (cps && get_size(L, g, "checkpoint_size", what, 1024, UINT64_C(65535) * 1024, &cp) > 0) {
        /* A size with a unit ("16k"); a bare number is KiB as X.400 products count it. */
        p->checkpoint_size = (uint32_t)(cp / 1024);
    }
    get_uint(L, g, "window", what, 1, 1000, &p->window);
    get_uint(L, g, "max_associations", what, 1, 10000, &p->max_connections);
    get_uint(L, g, "messages_per_association", what, 1, 1000000, &p->messages_per_connection);
    get_dur(L, g, "idle_timeout", what, 1, 86400, &p->idle_timeout);
    get_bool(L, g, "check_calling_address", what, &p->check_calling_address);
    if (config_setting_get_member(g, "max_associations") &&
        config_setting_get_member(g, "max_connections"))
        lerr(L, sline(config_setting_get_member(g, "max_associations")),
             "%s: give either 'max_associations' or 'max_connections' (the same setting)", what);
    if (config_setting_get_member(g, "messages_per_association") &&
        config_setting_get_member(g, "messages_per_connection"))
        lerr(L, sline(config_setting_get_member(g, "messages_per_association")),
             "%s: give either 'messages_per_association' or 'messages_per_connection'", what);
    const char *pa;
    bool pa_ok = false;
    if (get_str(L, g, "presentation_address", what, &pa) > 0) {
        p->presentation_address = xstrdup(L, pa);
        char *h = NULL;
        uint16_t port = 0;
        int rc = config_parse_paddr(pa, &p->psel, &p->ssel, &p->tsel, &h, &port);
        int pl = sline(config_setting_get_member(g, "presentation_address"));
        if (rc == MG_ENOMEM) {
            L->oom = true;
        } else if (rc) {
            lerr(L, pl, "%s: 'presentation_address' = \"%s\" is not an RFC 1278 presentation "
                 "address (\"psel\"/\"ssel\"/\"tsel\"/TCP/host+port, or 'hex'H selectors)", what, pa);
        } else if (h && p->host) {
            lerr(L, pl, "%s: give the host in 'host' or in 'presentation_address', not both", what);
            free(h);
        } else {
            pa_ok = true;
            if (h) {
                p->host = h;
                if (port)
                    p->port = port;
            }
        }
    }
    /* Separate selector keys (and override the address's, which is an error if both). */
    static const char *const selk[] = { "tsel", "ssel", "psel" };
    struct config_sel *sels[] = { &p->tsel, &p->ssel, &p->psel };
    for (int i = 0; i < 3; i++) {
        if (!config_setting_get_member(g, selk[i]))
            continue;
        if (p->presentation_address && sels[i]->len)
            lerr(L, sline(config_setting_get_member(g, selk[i])),
                 "%s: '%s' is also given in 'presentation_address'", what, selk[i]);
        else
            load_sel(L, g, selk[i], what, sels[i]);
    }
    if (!config_setting_get_member(g, "mta_name"))
        lerr(L, p->line, "%s: an x400 peer needs 'mta_name' (its MTA name)", what);
    if (!config_setting_get_member(g, "our_mta_name"))
        lerr(L, p->line, "%s: an x400 peer needs 'our_mta_name' (the MTA name we bind with)", what);
    /* No address: the peer can bind to us but we cannot call it (checked at its routes). */
    if (!p->host && pa_ok)
        lerr(L, sline(config_setting_get_member(g, "presentation_address")),
             "%s: 'presentation_address' names no network address (.../TCP/host+port) and "
             "there is no 'host'", what);
}

static void load_peer(struct loader *L, const config_setting_t *g, size_t idx, struct config_peer *p)
{
    char what[NAME_MAX_LEN + 32];
    p->line = sline(g);
    p->starttls = CONFIG_STARTTLS_OPPORTUNISTIC;
    p->max_connections = 10;
    p->messages_per_connection = 100;
    p->connect_timeout = 30;
    p->mode = CONFIG_X400_NORMAL;
    snprintf(what, sizeof what, "peer #%zu", idx + 1);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        lerr(L, sline(g), "peers: element %zu must be a group { name = ...; type = ...; }", idx + 1);
        return;
    }
    if (get_dup(L, g, "name", what, &p->name) > 0) {
        if (!valid_name(p->name))
            lerr(L, sline(config_setting_get_member(g, "name")),
                 "%s: name \"%s\" must be 1-%d letters, digits, '-', '_' or '.'", what, p->name,
                 NAME_MAX_LEN);
        else
            snprintf(what, sizeof what, "peer '%s'", p->name);
    } else if (!config_setting_get_member(g, "name")) {
        lerr(L, p->line, "%s: missing 'name'", what);
    }
    char in[NAME_MAX_LEN + 40];
    snprintf(in, sizeof in, "in %s", what);
    int t = 0;
    int r = get_enum(L, g, "type", what, peer_type_names, &t);
    if (r == 0)
        lerr(L, p->line, "%s: missing 'type' (smtp or x400)", what);
    if (r <= 0) {
        check_keys(L, g, peer_common_keys, "key", in);
        return;
    }
    p->type = (enum config_peer_type)t;
    const char *const *mine = p->type == CONFIG_PEER_SMTP ? peer_smtp_keys : peer_x400_keys;
    const char *const *other = p->type == CONFIG_PEER_SMTP ? peer_x400_keys : peer_smtp_keys;
    p->port = p->type == CONFIG_PEER_SMTP ? 25 : 102;
    /* A key of the other peer type is a misplaced setting, not a typo: say which. */
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *k = config_setting_name(m);
        if (k && !in_list(mine, k) && in_list(other, k))
            lerr(L, sline(m), "%s: '%s' does not apply to an %s peer", what, k,
                 peer_type_names[p->type]);
    }
    check_keys_except(L, g, mine, other, in);
    const char *hv;
    if (get_str(L, g, "host", what, &hv) > 0) {
        bool has_port = false;
        int rc = split_hostport(hv, &p->host, &p->port, &has_port);
        int hl = sline(config_setting_get_member(g, "host"));
        if (rc == MG_ENOMEM) {
            L->oom = true;
        } else if (rc == BAD_PORT) {
            lerr(L, hl, "%s: 'host' = \"%s\": the port must be 1..65535", what, hv);
        } else if (rc) {
            lerr(L, hl, "%s: 'host' = \"%s\" is not host[:port] or [IPv6]:port", what, hv);
        } else {
            unsigned char tmp[16];
            bool literal = inet_pton(AF_INET6, p->host, tmp) == 1;
            char *d = literal ? NULL : norm_domain(L, p->host, false);
            if (!literal && !d) {
                lerr(L, hl, "%s: 'host' = \"%s\": \"%s\" is not a host name or address", what,
                     hv, p->host);
            } else if (d) {
                free(p->host);
                p->host = d;
            }
        }
    }
    get_uint(L, g, "max_connections", what, 1, 10000, &p->max_connections);
    get_uint(L, g, "messages_per_connection", what, 1, 1000000, &p->messages_per_connection);
    get_dur(L, g, "connect_timeout", what, 1, 3600, &p->connect_timeout);
    if (p->type == CONFIG_PEER_SMTP) {
        get_bool(L, g, "mx", what, &p->mx);
        int e;
        if (get_enum(L, g, "starttls", what, starttls_names, &e) > 0)
            p->starttls = (enum config_starttls)e;
        p->verify = p->starttls == CONFIG_STARTTLS_REQUIRED;
        get_bool(L, g, "verify", what, &p->verify);
        get_dup(L, g, "ca", what, &p->ca);
        get_dup(L, g, "cert", what, &p->cert);
        get_dup(L, g, "key", what, &p->key);
        const config_setting_t *hs = config_setting_get_member(g, "host");
        if (p->mx && hs)
            lerr(L, sline(hs), "%s: give either 'host' or 'mx = true', not both", what);
        else if (!p->mx && !hs)
            lerr(L, p->line, "%s: an smtp peer needs 'host' (\"host[:port]\") or 'mx = true'", what);
        if (!p->cert != !p->key)
            lerr(L, p->line, "%s: a client certificate needs both 'cert' and 'key'", what);
        if (p->verify && p->starttls == CONFIG_STARTTLS_NONE)
            lerr(L, sline(config_setting_get_member(g, "verify")),
                 "%s: 'verify = true' has no effect with starttls = \"none\"", what);
    } else {
        load_x400_peer(L, g, what, p);
    }
}

/* The domain part (after the last '@') lower-cased in place; the local part is kept. */
static void lower_domain_part(char *s)
{
    char *at = strrchr(s, '@');
    for (char *p = at ? at + 1 : s + strlen(s); *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

static void load_route(struct loader *L, const config_setting_t *g, size_t idx, struct config_route *rt)
{
    char what[48];
    rt->line = sline(g);
    rt->index = idx;
    rt->match = CONFIG_MATCH_DEFAULT;
    snprintf(what, sizeof what, "route #%zu", idx + 1);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        lerr(L, sline(g), "routes: element %zu must be a group { domain = ...; chain = [...]; }", idx + 1);
        return;
    }
    char in[64];
    snprintf(in, sizeof in, "in %s", what);
    check_keys(L, g, route_keys, "key", in);

    int nmatch = 0;
    static const char *const mkeys[] = { "recipient", "domain", "domain_suffix", "pattern" };
    for (int k = 0; k < 4; k++) {
        const config_setting_t *s = config_setting_get_member(g, mkeys[k]);
        if (!s)
            continue;
        nmatch++;
        const char *v;
        if (get_str(L, g, mkeys[k], what, &v) <= 0)
            continue;
        if (nmatch > 1)
            continue;
        rt->match = (enum config_match)k;
        int vl = sline(s);
        switch (rt->match) {
        case CONFIG_MATCH_RECIPIENT: {
            const char *at = strrchr(v, '@');
            char *d = at ? norm_domain(L, at + 1, false) : NULL;
            if (!at || at == v || !d) {
                lerr(L, vl, "%s: recipient \"%s\" is not an address local@domain", what, v);
            } else if (asprintf(&rt->value, "%.*s@%s", (int)(at - v), v, d) < 0) {
                rt->value = NULL;
                L->oom = true;
            }
            free(d);
            break;
        }
        case CONFIG_MATCH_DOMAIN:
            rt->value = norm_domain(L, v, false);
            if (!rt->value)
                lerr(L, vl, "%s: domain \"%s\" is not a domain", what, v);
            break;
        case CONFIG_MATCH_DOMAIN_SUFFIX:
            rt->value = norm_domain(L, v, true);
            if (!rt->value)
                lerr(L, vl, "%s: domain_suffix \"%s\" is not a domain (\"x.org\" or \".x.org\")", what, v);
            break;
        case CONFIG_MATCH_PATTERN:
            if (!*v || strlen(v) > 1024) {
                lerr(L, vl, "%s: pattern must be 1..1024 characters", what);
                break;
            }
            rt->value = xstrdup(L, v);
            if (rt->value)
                lower_domain_part(rt->value);
            break;
        default:
            break;
        }
    }
    const config_setting_t *os = config_setting_get_member(g, "or_address");
    if (os) {
        nmatch++;
        const char *v;
        if (get_str(L, g, "or_address", what, &v) > 0 && nmatch == 1) {
            rt->match = CONFIG_MATCH_OR_ADDRESS;
            char err[120];
            rt->or_rule = xcalloc(L, 1, sizeof *rt->or_rule);
            if (rt->or_rule && strcmp(v, "*") == 0) {
                rt->value = xstrdup(L, "*"); /* every O/R address: no attribute to match */
            } else if (rt->or_rule && oraddr_parse_rule(v, rt->or_rule, err, sizeof err) != 0) {
                lerr(L, sline(os), "%s: or_address \"%s\" is not an O/R address in the RFC 2156 "
                     "form (\"/C=GB/ADMD= /PRMD=X/\"): %s", what, v, err);
            } else if (rt->or_rule) {
                char buf[ORADDR_TEXT_MAX + 64];
                oraddr_format(rt->or_rule, buf, sizeof buf);
                rt->value = xstrdup(L, buf);
            }
        }
    }
    const config_setting_t *ds = config_setting_get_member(g, "default");
    if (ds) {
        bool dv = false;
        if (get_bool(L, g, "default", what, &dv) > 0 && !dv)
            lerr(L, sline(ds), "%s: 'default' can only be true (leave it out otherwise)", what);
        nmatch++;
        if (nmatch == 1) {
            rt->match = CONFIG_MATCH_DEFAULT;
            /* Routes load in file order, so the first default seen is the first in the file. */
            if (L->cfg->default_route)
                lerr(L, rt->line, "%s: a second default route (the first is at line %d)", what,
                     L->cfg->default_route->line);
            else
                L->cfg->default_route = rt;
        }
    }
    if (nmatch == 0)
        lerr(L, rt->line, "%s: needs one of recipient, domain, domain_suffix, pattern, "
             "or_address, or default = true", what);
    else if (nmatch > 1)
        lerr(L, rt->line, "%s: give only one of recipient, domain, domain_suffix, pattern, "
             "or_address, default (a route matches one way)", what);

    const config_setting_t *chain;
    int r = get_strlist(L, g, "chain", what, &chain);
    if (r == 0)
        lerr(L, rt->line, "%s: missing 'chain' (the channels a message goes through, "
             "ending with a delivery channel)", what);
    const struct config_channel *last = NULL;
    int cl = r > 0 ? sline(chain) : rt->line;
    if (r > 0) {
        int n = config_setting_length(chain);
        if (n == 0)
            lerr(L, cl, "%s: 'chain' is empty", what);
        rt->chain = xcalloc(L, (size_t)n, sizeof *rt->chain);
        bool all_known = true;
        for (int i = 0; rt->chain && i < n; i++) {
            const char *cn = config_setting_get_string(config_setting_get_elem(chain, (unsigned)i));
            const struct config_channel *c = config_find_channel(L->cfg, cn);
            if (!c) {
                lerr(L, cl, "%s: chain names channel '%s', which is not defined", what, cn);
                all_known = false;
                continue;
            }
            rt->chain[rt->n_chain++] = c;
        }
        if (all_known && rt->n_chain > 0) {
            for (size_t i = 0; i + 1 < rt->n_chain; i++)
                if (rt->chain[i]->delivery)
                    lerr(L, cl, "%s: channel '%s' (%s) delivers, so it can only be the last in the "
                         "chain", what, rt->chain[i]->name, rt->chain[i]->type);
            last = rt->chain[rt->n_chain - 1];
            if (!last->delivery)
                lerr(L, cl, "%s: the chain ends with '%s' (%s), a processing channel; it must end "
                     "with a delivery channel (file, smtp or p1)", what, last->name, last->type);
        }
    }
    const config_setting_t *ps = config_setting_get_member(g, "peer");
    const char *pn;
    if (get_str(L, g, "peer", what, &pn) > 0) {
        rt->peer = config_find_peer(L->cfg, pn);
        if (!rt->peer)
            lerr(L, sline(ps), "%s: peer '%s' is not defined", what, pn);
    }
    if (last && last->delivery && last->kind) {
        enum channel_peer_need need = last->kind->peer;
        if (need == CHANNEL_PEER_NONE && ps) {
            lerr(L, sline(ps), "%s: the %s channel '%s' takes no peer", what, last->type, last->name);
        } else if (need != CHANNEL_PEER_NONE && !ps) {
            lerr(L, rt->line, "%s: the %s channel '%s' needs a 'peer' to deliver to", what,
                 last->type, last->name);
        } else if (rt->peer) {
            enum config_peer_type want = need == CHANNEL_PEER_SMTP ? CONFIG_PEER_SMTP
                                                                   : CONFIG_PEER_X400;
            if (rt->peer->type != want)
                lerr(L, sline(ps), "%s: peer '%s' is an %s peer; the %s channel '%s' needs an %s peer",
                     what, rt->peer->name, peer_type_names[rt->peer->type], last->type, last->name,
                     peer_type_names[want]);
            else if (want == CONFIG_PEER_X400 && !rt->peer->host)
                lerr(L, sline(ps), "%s: x400 peer '%s' has no address ('host' or "
                     "'presentation_address' with a network part) to deliver to", what,
                     rt->peer->name);
        }
    }
}

/* Reports the second of two same-named items. */
static void check_dups(struct loader *L, const char *kind, const void *base, size_t n, size_t sz,
                       size_t name_off, size_t line_off)
{
    for (size_t i = 1; i < n; i++) {
        const char *bi = (const char *)base + i * sz;
        const char *ni = *(char *const *)(bi + name_off);
        if (!ni)
            continue;
        for (size_t j = 0; j < i; j++) {
            const char *bj = (const char *)base + j * sz;
            const char *nj = *(char *const *)(bj + name_off);
            if (nj && !strcmp(ni, nj)) {
                lerr(L, *(const int *)(bi + line_off), "duplicate %s name '%s' (first defined at line %d)",
                     kind, ni, *(const int *)(bj + line_off));
                break;
            }
        }
    }
}

/* Two rules with the same kind and value: the second can never be chosen. */
static void check_routes(struct loader *L)
{
    struct config *cfg = L->cfg;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const struct config_route *r = &cfg->routes[i];
        if (!r->value || r->match == CONFIG_MATCH_DEFAULT)
            continue;
        for (size_t j = 0; j < i; j++) {
            const struct config_route *p = &cfg->routes[j];
            if (p->match == r->match && p->value && !strcmp(p->value, r->value)) {
                lerr(L, r->line, "route #%zu: same %s \"%s\" as the route at line %d, so it is "
                     "never used", i + 1, config_match_name(r->match), r->value, p->line);
                break;
            }
        }
    }
}

static void check_listeners(struct loader *L)
{
    struct config *cfg = L->cfg;
    for (size_t i = 1; i < cfg->n_listeners; i++) {
        const struct config_listener *a = &cfg->listeners[i];
        if (!a->addrlen)
            continue;
        /* port 0: each listener gets a port of its own from the kernel, never a clash */
        in_port_t port = a->addr.ss_family == AF_INET6
                             ? ((const struct sockaddr_in6 *)&a->addr)->sin6_port
                             : ((const struct sockaddr_in *)&a->addr)->sin_port;
        if (port == 0)
            continue;
        for (size_t j = 0; j < i; j++) {
            const struct config_listener *b = &cfg->listeners[j];
            if (b->addrlen == a->addrlen && !memcmp(&a->addr, &b->addr, a->addrlen)) {
                lerr(L, a->line, "listener '%s': same address %s as listener '%s' (line %d)",
                     a->name ? a->name : "?", a->listen, b->name ? b->name : "?", b->line);
                break;
            }
        }
    }
}

/* Each channel's kind checks its own options (only with a real registry, and only for a
 * channel whose name and type loaded: its errors would be noise otherwise). */
static void configure_channels(struct loader *L)
{
    if (!L->check_options)
        return;
    for (size_t i = 0; i < L->cfg->n_channels; i++) {
        struct config_channel *c = &L->cfg->channels[i];
        if (!c->kind || !c->name || !c->settings)
            continue;
        if (c->kind->configure) {
            int rc = c->kind->configure(L->cfg, c, &c->conf, &L->errs);
            if (rc == MG_ENOMEM)
                L->oom = true;
            else if (rc != 0 && L->errs.n == 0)
                lerr(L, c->line, "channel '%s': its options were refused (%s)", c->name,
                     mg_strerror(rc));
        } else {
            static const char *const none[] = { "concurrency", NULL };
            config_channel_check_keys(L->cfg, c, none, &L->errs);
        }
    }
}

#define LOAD_LIST(sec, arr, narr, fn)                                                        \
    do {                                                                                     \
        if (sec) {                                                                           \
            int n_ = config_setting_length(sec);                                             \
            cfg->arr = xcalloc(L, (size_t)n_, sizeof *cfg->arr);                             \
            for (int i_ = 0; cfg->arr && i_ < n_; i_++) {                                    \
                fn(L, config_setting_get_elem(sec, (unsigned)i_), (size_t)i_,                \
                   &cfg->arr[i_]);                                                           \
                cfg->narr++;                                                                 \
            }                                                                                \
        }                                                                                    \
    } while (0)

static void build(struct loader *L)
{
    struct config *cfg = L->cfg;
    const config_setting_t *root = config_root_setting(&cfg->tree);
    check_keys(L, root, top_keys, "section", "at the top level");
    load_global(L, section_group(L, root, "global"));
    load_queue(L, section_group(L, root, "queue"));
    const config_setting_t *ls = section_list(L, root, "listeners");
    const config_setting_t *cs = section_list(L, root, "channels");
    const config_setting_t *ps = section_list(L, root, "peers");
    const config_setting_t *rs = section_list(L, root, "routes");
    if (!config_setting_get_member(root, "listeners"))
        lerr(L, 0, "no 'listeners' section: nothing would accept mail");
    if (!config_setting_get_member(root, "channels"))
        lerr(L, 0, "no 'channels' section: nothing could deliver mail");
    if (!config_setting_get_member(root, "routes"))
        lerr(L, 0, "no 'routes' section: no recipient would have a route");
    LOAD_LIST(ls, listeners, n_listeners, load_listener);
    LOAD_LIST(cs, channels, n_channels, load_channel);
    LOAD_LIST(ps, peers, n_peers, load_peer);
    LOAD_LIST(rs, routes, n_routes, load_route);
    check_dups(L, "listener", cfg->listeners, cfg->n_listeners, sizeof *cfg->listeners,
               offsetof(struct config_listener, name), offsetof(struct config_listener, line));
    check_dups(L, "channel", cfg->channels, cfg->n_channels, sizeof *cfg->channels,
               offsetof(struct config_channel, name), offsetof(struct config_channel, line));
    check_dups(L, "peer", cfg->peers, cfg->n_peers, sizeof *cfg->peers,
               offsetof(struct config_peer, name), offsetof(struct config_peer, line));
    check_listeners(L);
    check_routes(L);
    configure_channels(L);
}

struct keyed_error {
    struct config_error e;
    size_t i;
};

static int err_cmp_keyed(const void *a, const void *b)
{
    const struct keyed_error *x = a, *y = b;
    if (x->e.line != y->e.line)
        return x->e.line < y->e.line ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i; /* same line: the order they were found */
}

/* By line, so the report reads top to bottom (sections are checked in a fixed order, not
 * file order). qsort is not stable, hence the original index as second key. */
static void sort_errors(struct config_errors *e)
{
    if (e->n < 2)
        return;
    struct keyed_error *k = calloc(e->n, sizeof *k);
    if (!k)
        return; /* unsorted is still correct, only less tidy */
    for (size_t i = 0; i < e->n; i++) {
        k[i].e = e->v[i];
        k[i].i = i;
    }
    qsort(k, e->n, sizeof *k, err_cmp_keyed);
    for (size_t i = 0; i < e->n; i++)
        e->v[i] = k[i].e;
    free(k);
}

/* ---- load / free --------------------------------------------------------------------- */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->global.hostname);
    free(cfg->global.var_dir);
    free(cfg->global.control_socket);
    free(cfg->global.user);
    free(cfg->global.metrics_listen);
    free(cfg->global.x400_domain);
    free(cfg->global.x400_gdi);
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        struct config_listener *l = &cfg->listeners[i];
        free(l->name);
        free(l->listen);
        free(l->relay_networks);
        free_strv(l->relay_domains, l->n_relay_domains);
        free_strv(l->local_domains, l->n_local_domains);
        free(l->tls.cert);
        free(l->tls.key);
        free(l->tls.ca);
    }
    free(cfg->listeners);
    for (size_t i = 0; i < cfg->n_channels; i++) {
        struct config_channel *c = &cfg->channels[i];
        if (c->conf && c->kind && c->kind->conf_free)
            c->kind->conf_free(c->conf);
        free(c->name);
        free(c->type);
    }
    free(cfg->channels);
    for (size_t i = 0; i < cfg->n_peers; i++) {
        struct config_peer *p = &cfg->peers[i];
        free(p->name);
        free(p->host);
        free(p->ca);
        free(p->cert);
        free(p->key);
        free(p->mta_name);
        free(p->password);
        free(p->our_mta_name);
        free(p->our_password);
        free(p->presentation_address);
        free(p->clearance);
    }
    free(cfg->peers);
    for (size_t i = 0; i < cfg->n_routes; i++) {
        free(cfg->routes[i].or_rule);
        free(cfg->routes[i].value);
        free(cfg->routes[i].chain);
    }
    free(cfg->routes);
    config_destroy(&cfg->tree);
    free(cfg);
}

/* Moves every error of src to the end of dst (dst may be NULL: they are dropped). */
static int move_errors(struct config_errors *dst, struct config_errors *src)
{
    int rc = 0;
    if (dst) {
        for (size_t i = 0; i < src->n && !rc; i++) {
            const struct config_error *e = &src->v[i];
            rc = config_errors_addf(dst, e->file, e->line, "%s", e->message);
        }
    }
    config_errors_free(src);
    return rc;
}

int config_load_text(const char *name, const char *text, size_t len, config_env_fn env,
                     void *env_ctx, struct config **out, struct config_errors *errs)
{
    struct config_load_opts o = { .env = env, .env_ctx = env_ctx };
    return config_load_text_ex(name, text, len, &o, out, errs);
}

int config_load_text_ex(const char *name, const char *text, size_t len,
                        const struct config_load_opts *o, struct config **out,
                        struct config_errors *errs)
{
    if (!out || (!text && len))
        return MG_EINVAL;
    *out = NULL;
    if (!name)
        name = "(config)";
    static const struct config_load_opts defaults = { 0 };
    if (!o)
        o = &defaults;
    config_env_fn env = o->env;
    void *env_ctx = o->env_ctx;
    struct loader L = { .file = name, .kinds = o->kinds ? o->kinds : name_only_list,
                        .check_options = o->kinds != NULL };
    struct mg_buf buf;
    mg_buf_init(&buf, 0);
    int rc = config_expand_text(name, text ? text : "", len, env, env_ctx, &buf, &L.errs);
    if (rc == MG_ENOMEM || rc == MG_ETOOBIG) {
        mg_buf_free(&buf);
        int mrc = move_errors(errs, &L.errs);
        return rc == MG_ENOMEM || mrc ? MG_ENOMEM : MG_ECONFIG;
    }
    /* Lines where a ${...} failed: whatever else goes wrong there is a consequence. */
    if (L.errs.n) {
        L.bad_lines = calloc(L.errs.n, sizeof *L.bad_lines);
        if (L.bad_lines) {
            for (size_t i = 0; i < L.errs.n; i++)
                L.bad_lines[i] = L.errs.v[i].line;
            L.n_bad = L.errs.n;
        }
    }
    struct config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        mg_buf_free(&buf);
        free(L.bad_lines);
        config_errors_free(&L.errs);
        return MG_ENOMEM;
    }
    config_init(&cfg->tree);
    cfg->path = xstrdup(&L, name);
    L.cfg = cfg;

    size_t lines = 1;
    for (size_t i = 0; i < buf.len; i++)
        lines += buf.data[i] == '\n';
    if (lines > MAX_LINES) {
        lerr(&L, 0, "more than %d lines", MAX_LINES);
    } else if (config_read_string(&cfg->tree, buf.data ? (const char *)buf.data : "") != CONFIG_TRUE) {
        const char *what = config_error_text(&cfg->tree);
        /* libconfig sees an unclosed brace or string only at the end of the file: name the
         * line that opened it instead, when the scan finds one. */
        char why[160];
        int at = config_error_line(&cfg->tree);
        int hint = config_syntax_hint((const char *)buf.data, buf.len, why, sizeof why);
        if (hint > 0 && hint < at && at >= (int)lines - 1)
            lerr(&L, hint, "%s: %s (libconfig stopped at line %d)", what ? what : "syntax error", why, at);
        else
            lerr(&L, at, "%s", what ? what : "syntax error");
    } else {
        build(&L);
    }
    mg_buf_free(&buf);
    free(L.bad_lines);

    if (L.oom) {
        config_errors_free(&L.errs);
        config_free(cfg);
        return MG_ENOMEM;
    }
    if (L.errs.n) {
        sort_errors(&L.errs);
        config_free(cfg);
        return move_errors(errs, &L.errs) ? MG_ENOMEM : MG_ECONFIG;
    }
    config_errors_free(&L.errs);
    *out = cfg;
    return 0;
}

int config_load(const char *path, struct config **out, struct config_errors *errs)
{
    return config_load_ex(path, NULL, out, errs);
}

int config_load_ex(const char *path, const struct config_load_opts *o, struct config **out,
                   struct config_errors *errs)
{
    if (!path || !out)
        return MG_EINVAL;
    *out = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    /* One more than the limit, so that "too big" is told apart from "exactly the limit". */
    int rc = mg_read_file(path, CONFIG_EXPAND_MAX_INPUT + 1, &data, &len);
    if (rc) {
        config_errors_addf(errs, path, 0, "cannot read: %s",
                           rc == MG_ETOOBIG ? "file too large" : (errno ? strerror(errno) : mg_strerror(rc)));
        return rc == MG_ENOMEM ? rc : (rc == MG_ETOOBIG ? MG_ECONFIG : MG_EIO);
    }
    rc = config_load_text_ex(path, (const char *)data, len, o, out, errs);
    free(data);
    return rc;
}

/* ---- lookups ------------------------------------------------------------------------- */

const struct config_channel *config_find_channel(const struct config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_channels; i++)
        if (cfg->channels[i].name && !strcmp(cfg->channels[i].name, name))
            return &cfg->channels[i];
    return NULL;
}

const struct config_peer *config_find_peer(const struct config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (cfg->peers[i].name && !strcmp(cfg->peers[i].name, name))
            return &cfg->peers[i];
    return NULL;
}

const struct config_listener *config_find_listener(const struct config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        if (cfg->listeners[i].name && !strcmp(cfg->listeners[i].name, name))
            return &cfg->listeners[i];
    return NULL;
}

int config_channel_check_keys(const struct config *cfg, const struct config_channel *ch,
                              const char *const *allowed, struct config_errors *errs)
{
    static const char *const base[] = { "name", "type", NULL };
    static const char *const none[] = { NULL };
    if (!cfg || !ch || !ch->settings)
        return MG_EINVAL;
    struct loader L = { .file = cfg->path };
    char in[NAME_MAX_LEN + 40];
    snprintf(in, sizeof in, "in channel '%s'", ch->name ? ch->name : "?");
    /* the keys every channel has are suggested too ("concurency" -> "concurrency") */
    const char *keys[64];
    size_t nk = 0;
    for (const char *const *k = allowed ? allowed : none; *k && nk < 60; k++)
        keys[nk++] = *k;
    keys[nk++] = "concurrency";
    keys[nk] = NULL;
    check_keys_skip(&L, ch->settings, keys, base, "key", in);
    int n = (int)L.errs.n;
    if (L.oom) {
        config_errors_free(&L.errs);
        return MG_ENOMEM;
    }
    return move_errors(errs, &L.errs) ? MG_ENOMEM : n;
}

/* ---- dump ---------------------------------------------------------------------------- */

static void dump_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void dump_kv_str(FILE *f, const char *ind, const char *k, const char *v)
{
    if (!v)
        return;
    fprintf(f, "%s%s = ", ind, k);
    dump_str(f, v);
    fputs(";\n", f);
}

static void dump_strv(FILE *f, const char *ind, const char *k, char *const *v, size_t n)
{
    fprintf(f, "%s%s = [", ind, k);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : " ", f);
        dump_str(f, v[i]);
    }
    fputs(n ? " ];\n" : " ];\n", f);
}

static void dump_cidr(FILE *f, const struct config_cidr *c)
{
    char a[INET6_ADDRSTRLEN];
    if (!inet_ntop(c->family, c->addr, a, sizeof a))
        strcpy(a, "?");
    fprintf(f, "\"%s/%u\"", a, c->prefix);
}

/* A selector in the notation it is read back from: "text" when printable, else 'hex'H. */
static void dump_sel(FILE *f, const char *k, const struct config_sel *s)
{
    if (!s->len)
        return;
    bool text = true;
    for (size_t i = 0; i < s->len; i++)
        if (s->v[i] < 0x21 || s->v[i] > 0x7e || s->v[i] == '"' || s->v[i] == '\\' ||
            (i == 0 && (s->v[i] == '\'' || s->v[i] == '#')))
            text = false;
    fprintf(f, "    %s = \"", k);
    if (text) {
        fwrite(s->v, 1, s->len, f);
    } else {
        fputc('\'', f);
        for (size_t i = 0; i < s->len; i++)
            fprintf(f, "%02X", s->v[i]);
        fputs("'H", f);
    }
    fputs("\";\n", f);
}

void config_dump(const struct config *cfg, FILE *f)
{
    if (!cfg || !f)
        return;
    const struct config_global *g = &cfg->global;
    fprintf(f, "# effective configuration of %s (environment expanded, defaults filled in)\n\n",
            cfg->path);
    fputs("global = {\n", f);
    dump_kv_str(f, "  ", "hostname", g->hostname);
    dump_kv_str(f, "  ", "var_dir", g->var_dir);
    dump_kv_str(f, "  ", "log", log_names[g->log]);
    for (int i = 0; level_names[i]; i++)
        if (level_values[i] == g->log_level)
            dump_kv_str(f, "  ", "log_level", level_names[i]);
    fprintf(f, "  max_message_size = %" PRIu64 "L;\n", g->max_message_size);
    dump_kv_str(f, "  ", "control_socket", g->control_socket);
    fprintf(f, "  audit_retention = %" PRIu32 ";\n", g->audit_retention);
    if (g->user)
        dump_kv_str(f, "  ", "user", g->user);
    if (g->metrics_listen)
        dump_kv_str(f, "  ", "metrics_listen", g->metrics_listen);
    dump_kv_str(f, "  ", "x400_domain", g->x400_domain);
    fprintf(f, "  x400_max_hops = %" PRIu32 ";\n", g->x400_max_hops);
    fputs("};\n\n", f);

    const struct config_queue *q = &cfg->queue;
    fprintf(f, "queue = {\n  retry_min = %" PRIu32 ";\n  retry_max = %" PRIu32 ";\n"
               "  max_lifetime = %" PRIu32 ";\n  delay_warning = %" PRIu32 ";\n"
               "  max_active_deliveries = %" PRIu32 ";\n  max_messages = %" PRIu32 ";\n"
               "  max_active_messages = %" PRIu32 ";\n  max_processing = %" PRIu32 ";\n};\n\n",
            q->retry_min, q->retry_max, q->max_lifetime, q->delay_warning,
            q->max_active_deliveries, q->max_messages, q->max_active_messages, q->max_processing);

    fputs("listeners = (\n", f);
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const struct config_listener *l = &cfg->listeners[i];
        fputs("  {\n", f);
        dump_kv_str(f, "    ", "name", l->name);
        dump_kv_str(f, "    ", "protocol", protocol_names[l->protocol]);
        dump_kv_str(f, "    ", "listen", l->listen);
        if (l->protocol == CONFIG_PROTO_P1) {
            dump_sel(f, "tsel", &l->tsel);
            dump_sel(f, "ssel", &l->ssel);
            dump_sel(f, "psel", &l->psel);
            fprintf(f, "    max_message_size = %" PRIu64 "L;\n    max_sessions = %" PRIu32 ";\n"
                       "    idle_timeout = %" PRIu32 ";\n  }%s\n",
                    l->max_message_size, l->max_sessions, l->idle_timeout,
                    i + 1 < cfg->n_listeners ? "," : "");
            continue;
        }
        fputs("    relay_networks = [", f);
        for (size_t k = 0; k < l->n_relay_networks; k++) {
            fputs(k ? ", " : " ", f);
            dump_cidr(f, &l->relay_networks[k]);
        }
        fputs(" ];\n", f);
        dump_strv(f, "    ", "relay_domains", l->relay_domains, l->n_relay_domains);
        dump_strv(f, "    ", "local_domains", l->local_domains, l->n_local_domains);
        fprintf(f, "    max_recipients = %" PRIu32 ";\n    max_message_size = %" PRIu64 "L;\n"
                   "    max_line_length = %" PRIu32 ";\n    max_sessions = %" PRIu32 ";\n"
                   "    max_sessions_per_client = %" PRIu32 ";\n    command_timeout = %" PRIu32 ";\n"
                   "    data_timeout = %" PRIu32 ";\n    first_command_timeout = %" PRIu32 ";\n"
                   "    max_connection_rate = %" PRIu32 ";\n",
                l->max_recipients, l->max_message_size, l->max_line_length, l->max_sessions,
                l->max_sessions_per_client, l->command_timeout, l->data_timeout,
                l->first_command_timeout, l->max_connection_rate);
        if (l->tls.cert) {
            fputs("    tls = {\n", f);
            dump_kv_str(f, "      ", "cert", l->tls.cert);
            dump_kv_str(f, "      ", "key", l->tls.key);
            dump_kv_str(f, "      ", "ca", l->tls.ca);
            fprintf(f, "      require_tls = %s;\n    };\n", l->tls.require_tls ? "true" : "false");
        }
        fprintf(f, "    smtputf8 = %s;\n    allow_open_relay = %s;\n  }%s\n",
                l->smtputf8 ? "true" : "false", l->allow_open_relay ? "true" : "false",
                i + 1 < cfg->n_listeners ? "," : "");
    }
    fputs(");\n\nchannels = (\n", f);
    for (size_t i = 0; i < cfg->n_channels; i++) {
        const struct config_channel *c = &cfg->channels[i];
        fputs("  { ", f);
        fputs("name = ", f);
        dump_str(f, c->name);
        fputs("; type = ", f);
        dump_str(f, c->type);
        fprintf(f, "; concurrency = %" PRIu32 ";", c->concurrency);
        if (c->kind && c->kind->conf_dump && c->conf)
            c->kind->conf_dump(c->conf, f);
        fprintf(f, " }%s\n", i + 1 < cfg->n_channels ? "," : "");
    }
    fputs(");\n\npeers = (\n", f);
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct config_peer *p = &cfg->peers[i];
        fputs("  {\n", f);
        dump_kv_str(f, "    ", "name", p->name);
        dump_kv_str(f, "    ", "type", peer_type_names[p->type]);
        /* An x400 peer's host and selectors given in its presentation address are dumped
         * there only (giving them twice is an error on reading back). */
        bool in_paddr = false;
        if (p->type == CONFIG_PEER_X400 && p->presentation_address) {
            struct config_sel ps, ss, ts;
            char *h = NULL;
            uint16_t port;
            in_paddr = config_parse_paddr(p->presentation_address, &ps, &ss, &ts, &h, &port) == 0 && h;
            free(h);
        }
        if (p->host && !in_paddr) {
            char hp[300];
            snprintf(hp, sizeof hp, strchr(p->host, ':') ? "[%s]:%u" : "%s:%u", p->host, p->port);
            dump_kv_str(f, "    ", "host", hp);
        }
        fprintf(f, "    max_connections = %" PRIu32 ";\n    messages_per_connection = %" PRIu32 ";\n"
                   "    connect_timeout = %" PRIu32 ";\n",
                p->max_connections, p->messages_per_connection, p->connect_timeout);
        if (p->type == CONFIG_PEER_SMTP) {
            if (p->mx)
                fputs("    mx = true;\n", f);
            dump_kv_str(f, "    ", "starttls", starttls_names[p->starttls]);
            fprintf(f, "    verify = %s;\n", p->verify ? "true" : "false");
            dump_kv_str(f, "    ", "ca", p->ca);
            dump_kv_str(f, "    ", "cert", p->cert);
            dump_kv_str(f, "    ", "key", p->key);
        } else {
            dump_kv_str(f, "    ", "mta_name", p->mta_name);
            if (p->password)
                dump_kv_str(f, "    ", "password", "********");
            dump_kv_str(f, "    ", "our_mta_name", p->our_mta_name);
            if (p->our_password)
                dump_kv_str(f, "    ", "our_password", "********");
            dump_kv_str(f, "    ", "presentation_address", p->presentation_address);
            if (!p->presentation_address) {
                dump_sel(f, "tsel", &p->tsel);
                dump_sel(f, "ssel", &p->ssel);
                dump_sel(f, "psel", &p->psel);
            }
            dump_kv_str(f, "    ", "mode", config_x400_mode_name(p->mode));
            fprintf(f, "    checkpoint_size = %" PRIu32 ";\n    window = %" PRIu32 ";\n",
                    p->checkpoint_size, p->window);
            dump_kv_str(f, "    ", "dialogue", dialogue_names[p->dialogue]);
            fprintf(f, "    idle_timeout = %" PRIu32 ";\n    check_calling_address = %s;\n",
                    p->idle_timeout, p->check_calling_address ? "true" : "false");
            dump_kv_str(f, "    ", "clearance", p->clearance);
        }
        fprintf(f, "  }%s\n", i + 1 < cfg->n_peers ? "," : "");
    }
    fputs(");\n\nroutes = (\n", f);
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const struct config_route *r = &cfg->routes[i];
        fputs("  { ", f);
        if (r->match == CONFIG_MATCH_DEFAULT) {
            fputs("default = true;", f);
        } else {
            fprintf(f, "%s = ", config_match_name(r->match));
            dump_str(f, r->value);
            fputs(";", f);
        }
        fputs(" chain = [", f);
        for (size_t k = 0; k < r->n_chain; k++) {
            fputs(k ? ", " : " ", f);
            dump_str(f, r->chain[k]->name);
        }
        fputs(" ];", f);
        if (r->peer) {
            fputs(" peer = ", f);
            dump_str(f, r->peer->name);
            fputs(";", f);
        }
        fprintf(f, " }%s\n", i + 1 < cfg->n_routes ? "," : "");
    }
    fputs(");\n", f);
}
