/* route: which channel chain (and peer) a recipient address takes, from config routes.
 *
 * Rules are tried in file order and the first match wins; when none matches the default
 * route (default = true) is used. Domains compare case-insensitively, local parts exactly as
 * given (RFC 5321 2.4: only the destination host may interpret them). The address is the bare
 * mailbox "local@domain" (no angle brackets); the domain is what follows the last '@'.
 * An X.400 O/R address (RFC 2156 text, oraddr_looks_like) is matched by the or_address rules
 * only: the matching rule with the most attributes wins (the first in the file among equals),
 * else the default route.
 * A rule may also hold conditions on the message's security label (config_route_label). mta/
 * does not decode labels: the labels module supplies the matcher (struct route_label), and a rule
 * with label conditions matches only when the matcher says so. route_lookup passes no label, so
 * such rules never match there.
 * Lookups only read the config and allocate nothing, so any thread may call them. */
#ifndef ROUTE_H
#define ROUTE_H

#include "config.h"

/* Returns 0 and sets *route (pointing into cfg) when a rule or the default matches,
 * MG_ENOTFOUND when nothing matches and there is no default, MG_EINVAL for NULL arguments
 * or an address longer than 1024 bytes. */
int route_lookup(const struct config *cfg, const char *address, const struct config_route **route);

/* The message's label for rules with label conditions. match (the labels module's, ctx its
 * state) returns 1 when rule r's conditions hold for the label (der NULL / len 0: the message
 * has none), 0 when they do not, and a negative value when it cannot decide now (its
 * configuration is not loaded): route_lookup_msg then returns MG_ETEMP, so a message is
 * deferred rather than routed past the rule meant for it; it must be thread-safe and allocate nothing it keeps. unknown: the label is
 * not known yet (RCPT time): every rule's label conditions are taken to hold, so the answer is
 * "could this recipient be routed at all". */
struct route_label {
    const void *der;
    size_t len;
    int (*match)(void *ctx, const struct config *cfg, const struct config_route *r, const void *der,
                 size_t len);
    void *ctx;
    bool unknown;
};

/* route_lookup for a message with this label (NULL: no label and no matcher). MG_ETEMP: the
 * matcher could not decide. */
int route_lookup_msg(const struct config *cfg, const char *address, const struct route_label *label,
                     const struct config_route **route);
/* Does rule r hold for this label? (true for a rule without label conditions) */
bool route_label_matches(const struct config *cfg, const struct config_route *r, const struct route_label *label);

/* Does this one rule match the address? (used by route_lookup and `check-config --route`;
 * a default rule matches everything; an or_mapped_by rule needs the whole configuration and
 * matches nothing here: route_matches_cfg). */
bool route_matches(const struct config_route *r, const char *address);
/* route_matches for any rule, or_mapped_by included. */
bool route_matches_cfg(const struct config *cfg, const struct config_route *r, const char *address);

/* Writes a one-line description of a rule, e.g. `route #2 (line 40) domain "x.org" label
 * [at least SECRET] -> cms, smtp-out peer smarthost`, into buf (always NUL-terminated). Returns buf. */
char *route_describe(const struct config_route *r, char *buf, size_t bufsz);

#endif
