/* route: which channel chain (and peer) a recipient address takes, from config routes.
 *
 * Rules are tried in file order and the first match wins; when none matches the default
 * route (default = true) is used. Domains compare case-insensitively, local parts exactly as
 * given (RFC 5321 2.4: only the destination host may interpret them). The address is the bare
 * mailbox "local@domain" (no angle brackets); the domain is what follows the last '@'.
 * An X.400 O/R address (RFC 2156 text, oraddr_looks_like) is matched by the or_address rules
 * only: the matching rule with the most attributes wins (the first in the file among equals),
 * else the default route.
 * Lookups only read the config and allocate nothing, so any thread may call them. */
#ifndef ROUTE_H
#define ROUTE_H

#include "config.h"

/* Returns 0 and sets *route (pointing into cfg) when a rule or the default matches,
 * MG_ENOTFOUND when nothing matches and there is no default, MG_EINVAL for NULL arguments
 * or an address longer than 1024 bytes. */
int route_lookup(const struct config *cfg, const char *address, const struct config_route **route);

/* Does this one rule match the address? (used by route_lookup and `check-config --route`;
 * a default rule matches everything). */
bool route_matches(const struct config_route *r, const char *address);

/* Writes a one-line description of a rule, e.g. `route #2 (line 40) domain "x.org" ->
 * cms, smtp-out peer smarthost`, into buf (always NUL-terminated). Returns buf. */
char *route_describe(const struct config_route *r, char *buf, size_t bufsz);

#endif
