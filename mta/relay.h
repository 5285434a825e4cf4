/* relay: may this client, on this listener, hand us mail for this recipient?
 *
 * Allowed when the client address is in the listener's relay_networks, or the recipient's
 * domain is one of its local_domains or relay_domains; otherwise denied, and the SMTP server
 * answers 554 5.7.1 with the reason. The networks are parsed once at config load, so a check
 * is a few compares with no allocation; safe from any thread. An IPv4-mapped IPv6 client
 * (::ffff:a.b.c.d, from a dual-stack socket) is matched as the IPv4 address it is. */
#ifndef RELAY_H
#define RELAY_H

#include <sys/socket.h>

#include "config.h"

enum relay_verdict {
    RELAY_DENIED = 0,
    RELAY_BY_NETWORK,          /* client in relay_networks */
    RELAY_LOCAL_DOMAIN,        /* recipient domain in local_domains */
    RELAY_RELAY_DOMAIN,        /* recipient domain in relay_domains */
};

struct relay_result {
    enum relay_verdict verdict;
    const char *reason;        /* static text, for logs and the 554 reply; never NULL */
};

/* Returns 0 when allowed, MG_EDENIED when denied, MG_EINVAL for bad arguments (NULL, or a
 * client that is not AF_INET/AF_INET6; those are denied too). res may be NULL. */
int relay_check(const struct config *cfg, const struct config_listener *listener,
                const struct sockaddr *client, const char *recipient, struct relay_result *res);

/* Is the address inside the network? (family mismatch: no, except IPv4-mapped IPv6.) */
bool relay_cidr_contains(const struct config_cidr *net, const struct sockaddr *addr);

#endif
