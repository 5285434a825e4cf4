/* config_listeners: the listeners section of the configuration (SMTP and P1 listeners, their
 * TLS, relay networks and domains, and the open-relay rule; see config.h, the rest of the
 * loader is config.c). */

#define _GNU_SOURCE
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

void config_listeners_load(struct loader *L, const config_setting_t *g, size_t idx,
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

void config_listeners_check(struct loader *L)
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
