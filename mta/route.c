/* route: first-match routing of recipient addresses over the configured rules (route.h). */
#include "route.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "channel.h"
#include "mg_err.h"
#include "oraddr.h"

#define ADDRESS_MAX 1024

/* d is a recipient domain, s a domain_suffix value ("x.org" or ".x.org", lower-case). */
static bool suffix_matches(const char *d, size_t dl, const char *s)
{
    bool sub_only = s[0] == '.';
    if (sub_only)
        s++;
    size_t sl = strlen(s);
    if (dl == sl)
        return !sub_only && strncasecmp(d, s, sl) == 0;
    return dl > sl && d[dl - sl - 1] == '.' && strncasecmp(d + dl - sl, s, sl) == 0;
}

/* An or_mapped_by rule holds for an O/R address that the named channel maps to an RFC 822
 * address which the routes send to the Internet: that address's own route converts nothing
 * back (no channel in its chain maps addresses). MCGAM tables are symmetric (RFC 2156
 * appendix F): they map the X.400 side's communities too, whose domains the routes send back
 * into X.400; only routing tells which side a community lives on. */
static bool or_mapped(const struct config *cfg, const struct config_route *r, const char *address)
{
    const struct config_channel *c = r->mapped_by;
    char mapped[ADDRESS_MAX + 1];
    if (!cfg || !c || !c->kind || !c->kind->route_map || !c->conf ||
        c->kind->route_map(c->conf, address, mapped, sizeof mapped) != 0 || oraddr_looks_like(mapped))
        return false;
    const struct config_route *to = NULL;
    if (route_lookup(cfg, mapped, &to) != 0)
        return false;
    for (size_t i = 0; i < to->n_chain; i++)
        if (to->chain[i]->kind && to->chain[i]->kind->route_map)
            return false;
    return true;
}

bool route_matches(const struct config_route *r, const char *address)
{
    if (!r || !address)
        return false;
    const char *at = strrchr(address, '@');
    const char *dom = at ? at + 1 : address + strlen(address);
    size_t dl = strlen(dom);
    if (dl > 0 && dom[dl - 1] == '.')
        dl--; /* "x.org." is x.org */
    if (r->match == CONFIG_MATCH_OR_ADDRESS || oraddr_looks_like(address)) {
        if (r->match == CONFIG_MATCH_DEFAULT)
            return true;
        struct oraddr o;
        return r->match == CONFIG_MATCH_OR_ADDRESS && r->or_rule &&
               oraddr_parse(address, &o, NULL, 0) == 0 && oraddr_matches(r->or_rule, &o);
    }
    switch (r->match) {
    case CONFIG_MATCH_DEFAULT:
    case CONFIG_MATCH_OR_ADDRESS:
        return true;
    case CONFIG_MATCH_OR_MAPPED:
        return false; /* needs the routes of the whole config: route_matches_cfg */
    case CONFIG_MATCH_DOMAIN:
        return at && strlen(r->value) == dl && strncasecmp(dom, r->value, dl) == 0;
    case CONFIG_MATCH_DOMAIN_SUFFIX:
        return at && suffix_matches(dom, dl, r->value);
    case CONFIG_MATCH_RECIPIENT: {
        if (!at)
            return false;
        const char *rat = strrchr(r->value, '@');
        size_t ll = (size_t)(at - address);
        return (size_t)(rat - r->value) == ll && memcmp(address, r->value, ll) == 0 &&
               strlen(rat + 1) == dl && strncasecmp(dom, rat + 1, dl) == 0;
    }
    case CONFIG_MATCH_PATTERN: {
        /* The pattern's domain part was lower-cased at load; do the same to the address. */
        char norm[ADDRESS_MAX + 1];
        size_t n = strlen(address);
        if (n > ADDRESS_MAX)
            return false;
        memcpy(norm, address, n + 1);
        if (at)
            for (size_t i = (size_t)(at - address) + 1; i < n; i++)
                if (norm[i] >= 'A' && norm[i] <= 'Z')
                    norm[i] = (char)(norm[i] - 'A' + 'a');
        return fnmatch(r->value, norm, 0) == 0;
    }
    }
    return false;
}

/* 1 the rule's label conditions hold, 0 they do not, -1 the matcher cannot decide now. */
static int label_ok(const struct config *cfg, const struct config_route *r, const struct route_label *label)
{
    if (!r->label)
        return 1;
    if (!label)
        return 0;
    if (label->unknown)
        return 1;
    if (!label->match)
        return 0;
    int m = label->match(label->ctx, cfg, r, label->len ? label->der : NULL, label->len);
    return m < 0 ? -1 : m == 1;
}

bool route_label_matches(const struct config *cfg, const struct config_route *r, const struct route_label *label)
{
    return r && label_ok(cfg, r, label) == 1;
}

bool route_matches_cfg(const struct config *cfg, const struct config_route *r, const char *address)
{
    if (r && r->match == CONFIG_MATCH_OR_MAPPED)
        return address && oraddr_looks_like(address) && or_mapped(cfg, r, address);
    return route_matches(r, address);
}

int route_lookup(const struct config *cfg, const char *address, const struct config_route **route)
{
    return route_lookup_msg(cfg, address, NULL, route);
}

int route_lookup_msg(const struct config *cfg, const char *address, const struct route_label *label,
                     const struct config_route **route)
{
    if (!cfg || !address || !route)
        return MG_EINVAL;
    *route = NULL;
    if (strlen(address) > ADDRESS_MAX)
        return MG_EINVAL;
    if (oraddr_looks_like(address)) {
        /* O/R addresses: the matching or_address rule with the most attributes (the most
         * specific) wins; among equals, the first in the file. */
        struct oraddr o;
        if (oraddr_parse(address, &o, NULL, 0) != 0)
            return MG_EINVAL;
        /* A channel's mapping that claims the address is more specific than any attribute
         * pattern: the first such rule (in file order) wins. */
        for (size_t i = 0; i < cfg->n_routes; i++) {
            const struct config_route *r = &cfg->routes[i];
            if (r->match != CONFIG_MATCH_OR_MAPPED || !or_mapped(cfg, r, address))
                continue;
            int ok = label_ok(cfg, r, label);
            if (ok < 0)
                return MG_ETEMP;
            if (ok) {
                *route = r;
                return 0;
            }
        }
        size_t best_n = 0;
        for (size_t i = 0; i < cfg->n_routes; i++) {
            const struct config_route *r = &cfg->routes[i];
            if (r->match == CONFIG_MATCH_OR_ADDRESS && r->or_rule &&
                (!*route || r->or_rule->n > best_n) && oraddr_matches(r->or_rule, &o)) {
                int ok = label_ok(cfg, r, label);
                if (ok < 0) {
                    *route = NULL;
                    return MG_ETEMP;
                }
                if (!ok)
                    continue;
                *route = r;
                best_n = r->or_rule->n;
            }
        }
        if (*route)
            return 0;
        if (!cfg->default_route)
            return MG_ENOTFOUND;
        *route = cfg->default_route;
        return 0;
    }
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const struct config_route *r = &cfg->routes[i];
        if (r->match != CONFIG_MATCH_DEFAULT && route_matches(r, address)) {
            int ok = label_ok(cfg, r, label);
            if (ok < 0)
                return MG_ETEMP;
            if (!ok)
                continue;
            *route = r;
            return 0;
        }
    }
    if (!cfg->default_route)
        return MG_ENOTFOUND;
    *route = cfg->default_route;
    return 0;
}

char *route_describe(const struct config_route *r, char *buf, size_t bufsz)
{
    if (!buf || bufsz == 0)
        return buf;
    buf[0] = '\0';
    if (!r)
        return buf;
    size_t off = 0;
#define APPEND(...)                                                                          \
    do {                                                                                     \
        if (off < bufsz) {                                                                   \
            int n_ = snprintf(buf + off, bufsz - off, __VA_ARGS__);                          \
            off = n_ < 0 ? bufsz : off + (size_t)n_;                                         \
        }                                                                                    \
    } while (0)
    APPEND("route #%zu (line %d) ", r->index + 1, r->line);
    if (r->match == CONFIG_MATCH_DEFAULT)
        APPEND("default");
    else
        APPEND("%s \"%s\"", config_match_name(r->match), r->value ? r->value : "");
    if (r->label) {
        const struct config_route_label *l = r->label;
        APPEND(" label [");
        const char *sep = "";
        if (l->policy) {
            APPEND("policy %s", l->policy);
            sep = ", ";
        }
        if (l->at_least) {
            APPEND("%sat least %s", sep, l->at_least);
            sep = ", ";
        }
        if (l->at_most) {
            APPEND("%sat most %s", sep, l->at_most);
            sep = ", ";
        }
        for (size_t i = 0; i < l->ncategories; i++) {
            APPEND("%scategory %s", sep, l->categories[i]);
            sep = ", ";
        }
        APPEND("]");
    }
    APPEND(" ->");
    for (size_t i = 0; i < r->n_chain; i++)
        APPEND("%s %s", i ? "," : "", r->chain[i]->name);
    if (r->peer)
        APPEND(" peer %s", r->peer->name);
#undef APPEND
    return buf;
}
