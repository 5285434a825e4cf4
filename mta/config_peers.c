/* config_peers: the peers (SMTP hosts, X.400 MTAs) and routes sections of the configuration
 * (see config.h; the rest of the loader is config.c). */

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


static const char *const peer_common_keys[] = { "name", "type", "host", "max_connections",
                                                "messages_per_connection", "connect_timeout",
                                                "max_message_size", NULL };
static const char *const peer_smtp_keys[] = { "name", "type", "host", "max_connections",
                                              "messages_per_connection", "connect_timeout",
                                              "max_message_size", "mx",
                                              "starttls", "verify", "ca", "cert", "key", NULL };
static const char *const peer_x400_keys[] = { "name", "type", "host", "max_connections",
                                              "messages_per_connection", "connect_timeout",
                                              "max_message_size", "listener", "mta_name", "password", "presentation_address",
                                              "mode", "clearance", "our_mta_name", "our_password",
                                              "tsel", "ssel", "psel", "checkpoint_size", "window",
                                              "dialogue", "max_associations", "idle_timeout",
                                              "messages_per_association",
                                              "check_calling_address", "inbound_only", NULL };
static const char *const route_keys[] = { "recipient", "domain", "domain_suffix", "pattern",
                                          "or_address", "or_mapped_by", "default", "chain", "peer",
                                          "label_policy",
                                          "label_at_least", "label_at_most", "label_category",
                                          NULL };

/* The three P1 modes (enum config_x400_mode order), then the older names kept as aliases. */
static const char *const mode_names[] = { "1988-normal", "1988-x410", "1984", "normal",
                                          "x410-1984", NULL };
static const enum config_x400_mode mode_values[] = { CONFIG_X400_1988_NORMAL,
    CONFIG_X400_1988_X410, CONFIG_X400_1984, CONFIG_X400_1988_NORMAL, CONFIG_X400_1984 };
static const char *const match_names[] = { "recipient", "domain", "domain_suffix", "pattern",
                                           "default", "or_address", "or_mapped_by", NULL };

const char *config_match_name(enum config_match m)
{
    return (unsigned)m < sizeof match_names / sizeof *match_names - 1 ? match_names[m] : "?";
}

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
    get_dup(L, g, "listener", what, &p->listener);
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
    get_bool(L, g, "inbound_only", what, &p->inbound_only);
    if (p->inbound_only && p->dialogue != CONFIG_X400_TWA)
        lerr(L, sline(config_setting_get_member(g, "inbound_only")),
             "%s: an 'inbound_only' peer is reached only over the two-way-alternate associations "
             "it opens to us: set dialogue = \"two-way-alternate\"", what);
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

void config_peers_load(struct loader *L, const config_setting_t *g, size_t idx, struct config_peer *p)
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
    get_size(L, g, "max_message_size", what, 1024, UINT64_C(1) << 40, &p->max_message_size);
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

void config_route_label_free(struct config_route_label *rl)
{
    if (!rl)
        return;
    free(rl->policy);
    free(rl->at_least);
    free(rl->at_most);
    for (size_t i = 0; i < rl->ncategories; i++)
        free(rl->categories[i]);
    free(rl->categories);
    free(rl);
}

/* The label_* keys of a route: kept as names (the labels module resolves and checks them). */
static void load_route_label(struct loader *L, const config_setting_t *g, const char *what,
                             struct config_route *rt)
{
    static const char *const lkeys[] = { "label_policy", "label_at_least", "label_at_most",
                                         "label_category" };
    int first = 0;
    for (int k = 0; k < 4; k++) {
        const config_setting_t *s = config_setting_get_member(g, lkeys[k]);
        if (s && (!first || sline(s) < first))
            first = sline(s);
    }
    if (!first)
        return;
    struct config_route_label *rl = xcalloc(L, 1, sizeof *rl);
    if (!rl)
        return;
    rt->label = rl;
    rl->line = first;
    if (rt->match == CONFIG_MATCH_DEFAULT)
        lerr(L, first, "%s: the default route takes what no rule matched, whatever its label; put the "
             "label conditions on another rule (pattern = \"*\" matches every address)", what);
    char **dst[3] = { &rl->policy, &rl->at_least, &rl->at_most };
    int *lines[3] = { &rl->policy_line, &rl->at_least_line, &rl->at_most_line };
    for (int k = 0; k < 3; k++) {
        const char *v;
        if (get_str(L, g, lkeys[k], what, &v) <= 0)
            continue;
        *lines[k] = sline(config_setting_get_member(g, lkeys[k]));
        if (!*v)
            lerr(L, *lines[k], "%s: '%s' is empty", what, lkeys[k]);
        else
            *dst[k] = xstrdup(L, v);
    }
    const config_setting_t *cs = config_setting_get_member(g, "label_category");
    if (!cs)
        return;
    rl->category_line = sline(cs);
    if (config_setting_type(cs) == CONFIG_TYPE_STRING) {
        rl->categories = xcalloc(L, 1, sizeof *rl->categories);
        if (rl->categories && (rl->categories[0] = xstrdup(L, config_setting_get_string(cs))))
            rl->ncategories = 1;
        return;
    }
    const config_setting_t *list;
    if (get_strlist(L, g, "label_category", what, &list) <= 0)
        return;
    int n = config_setting_length(list);
    if (n == 0) {
        lerr(L, rl->category_line, "%s: 'label_category' is empty", what);
        return;
    }
    rl->categories = xcalloc(L, (size_t)n, sizeof *rl->categories);
    for (int i = 0; rl->categories && i < n; i++) {
        const char *v = config_setting_get_string(config_setting_get_elem(list, (unsigned)i));
        if ((rl->categories[rl->ncategories] = xstrdup(L, v)))
            rl->ncategories++;
    }
}

void config_peers_load_route(struct loader *L, const config_setting_t *g, size_t idx, struct config_route *rt)
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
    const config_setting_t *ms = config_setting_get_member(g, "or_mapped_by");
    if (ms) {
        nmatch++;
        const char *v;
        if (get_str(L, g, "or_mapped_by", what, &v) > 0 && nmatch == 1) {
            rt->match = CONFIG_MATCH_OR_MAPPED;
            const struct config_channel *c = config_find_channel(L->cfg, v);
            if (!c)
                lerr(L, sline(ms), "%s: or_mapped_by names channel '%s', which is not defined", what, v);
            else if (c->kind && !c->kind->route_map)
                lerr(L, sline(ms), "%s: or_mapped_by: channel '%s' (type %s) has no address mapping "
                     "to ask (a mixer channel has)", what, v, c->type);
            rt->mapped_by = c;
            rt->value = xstrdup(L, v);
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
             "or_address, or_mapped_by, or default = true", what);
    else if (nmatch > 1)
        lerr(L, rt->line, "%s: give only one of recipient, domain, domain_suffix, pattern, "
             "or_address, or_mapped_by, default (a route matches one way)", what);

    load_route_label(L, g, what, rt);

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
            else if (want == CONFIG_PEER_X400 && !rt->peer->host && !rt->peer->inbound_only)
                lerr(L, sline(ps), "%s: x400 peer '%s' has no address ('host' or "
                     "'presentation_address' with a network part) to deliver to, and is not "
                     "'inbound_only'", what,
                     rt->peer->name);
        }
    }
}

/* An x400 peer's 'listener' names a p1 listener of this configuration. */
void config_peers_check_listeners(struct loader *L)
{
    const struct config *cfg = L->cfg;
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct config_peer *p = &cfg->peers[i];
        if (!p->listener)
            continue;
        const struct config_listener *l = config_find_listener(cfg, p->listener);
        int line = p->line;
        {
            /* the key's own line */
            const config_setting_t *ps = config_lookup(&L->cfg->tree, "peers");
            const config_setting_t *g = ps ? config_setting_get_elem(ps, (unsigned)i) : NULL;
            const config_setting_t *k = g ? config_setting_get_member(g, "listener") : NULL;
            if (k)
                line = sline(k);
        }
        if (!l)
            lerr(L, line, "peer '%s': listener '%s' is not defined", p->name ? p->name : "?",
                 p->listener);
        else if (l->protocol != CONFIG_PROTO_P1)
            lerr(L, line, "peer '%s': listener '%s' is not a p1 listener", p->name ? p->name : "?",
                 p->listener);
    }
}
