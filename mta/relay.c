/* relay: the relay-access decision for one recipient of one SMTP session (relay.h). */
#include "relay.h"

#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"

/* Does `bits` leading bits of a equal those of b? */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned bytes = bits / 8;
    if (memcmp(a, b, bytes) != 0)
        return false;
    unsigned rest = bits % 8;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

bool relay_cidr_contains(const struct config_cidr *net, const struct sockaddr *addr)
{
    if (!net || !addr)
        return false;
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
        if (net->family == AF_INET)
            return prefix_equal((const uint8_t *)&sin->sin_addr, net->addr, net->prefix);
        /* An IPv6 network may name IPv4 clients in mapped form: ::ffff:10.0.0.0/104. */
        uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff };
        memcpy(mapped + 12, &sin->sin_addr, 4);
        return prefix_equal(mapped, net->addr, net->prefix);
    }
    if (addr->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
        if (net->family == AF_INET6)
            return prefix_equal(a, net->addr, net->prefix);
        static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
        return memcmp(a, v4mapped, 12) == 0 && prefix_equal(a + 12, net->addr, net->prefix);
    }
    return false;
}

/* Entries are lower-case; ".x.org" matches subdomains of x.org only. */
static bool domain_in(char *const *list, size_t n, const char *d, size_t dl)
{
    for (size_t i = 0; i < n; i++) {
        const char *e = list[i];
        if (e[0] == '.') {
            size_t el = strlen(e); /* includes the dot */
            if (dl > el && strncasecmp(d + dl - el, e, el) == 0)
                return true;
        } else if (strlen(e) == dl && strncasecmp(d, e, dl) == 0) {
            return true;
        }
    }
    return false;
}

static int verdict(struct relay_result *res, enum relay_verdict v, const char *reason)
{
    if (res) {
        res->verdict = v;
        res->reason = reason;
    }
    return v == RELAY_DENIED ? MG_EDENIED : 0;
}

int relay_check(const struct config *cfg, const struct config_listener *listener,
                const struct sockaddr *client, const char *recipient, struct relay_result *res)
{
    (void)cfg; /* everything needed is in the listener; cfg kept for future global policy */
    if (!listener || !recipient) {
        verdict(res, RELAY_DENIED, "relay check without listener or recipient");
        return MG_EINVAL;
    }
    const char *at = strrchr(recipient, '@');
    /* RFC 5321 4.5.1: "postmaster" without a domain must be accepted; it is local. */
    if (!at && strcasecmp(recipient, "postmaster") == 0)
        return verdict(res, RELAY_LOCAL_DOMAIN, "postmaster is always local");
    if (at) {
        const char *d = at + 1;
        size_t dl = strlen(d);
        if (dl > 0 && d[dl - 1] == '.')
            dl--;
        if (dl > 0) {
            if (domain_in(listener->local_domains, listener->n_local_domains, d, dl))
                return verdict(res, RELAY_LOCAL_DOMAIN, "recipient domain is local");
            if (domain_in(listener->relay_domains, listener->n_relay_domains, d, dl))
                return verdict(res, RELAY_RELAY_DOMAIN, "recipient domain is a relay domain");
        }
    }
    if (client && client->sa_family != AF_INET && client->sa_family != AF_INET6) {
        verdict(res, RELAY_DENIED, "relay access denied: client address is not IPv4 or IPv6");
        return MG_EINVAL;
    }
    if (client)
        for (size_t i = 0; i < listener->n_relay_networks; i++)
            if (relay_cidr_contains(&listener->relay_networks[i], client))
                return verdict(res, RELAY_BY_NETWORK, "client is in relay_networks");
    return verdict(res, RELAY_DENIED,
                   "relay access denied: client not in relay_networks and recipient domain not "
                   "local or a relay domain");
}
