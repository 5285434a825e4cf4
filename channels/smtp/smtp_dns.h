/* smtp_dns: where to connect for a mail domain or a host name, through c-ares on a libuv loop.
 *
 *   smtp_dns_create(&d, loop, servers)
 *   smtp_dns_resolve(d, domain_or_host, is_domain, port, cb, arg)   once per resolver
 *   smtp_dns_close(d, closed_cb, arg)
 *
 * For a mail domain: the MX records in preference order, each MX host's A/AAAA addresses, and
 * the domain's own A/AAAA when it has no MX (the implicit MX, RFC 5321 §5.1). A null MX
 * (RFC 7505) is a permanent refusal. For a host name: its A/AAAA addresses. The result is a
 * list of candidate addresses in the order to try, each with the name it came from (for TLS
 * name checks and logs); the connection glue tries them in turn.
 *
 * Nothing here is SMTP protocol, so the P1 channel can use the same resolver for host names
 * (is_domain = 0). Errors are explained as an SMTP-style reply because that is what the
 * SMTP client reports per recipient; a P1 caller maps the status (MG_ETEMP / MG_EDENIED).
 *
 * Threads: everything on the loop's thread. The resolver embeds its timer and owns the
 * uv_poll_t handles of c-ares' sockets; memory is released from the last close callback. */
#ifndef SMTP_DNS_H
#define SMTP_DNS_H

#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#include "smtp_envelope.h"

#define SMTP_DNS_MAX_MX 10
#define SMTP_DNS_MAX_CANDIDATES 32

struct smtp_dns_candidate {
    char name[256];              /* the MX host or the host name this address belongs to */
    struct sockaddr_storage addr; /* with the port set */
};

struct smtp_dns;

/* status 0: n >= 1 candidates (borrowed: valid only during the call; copy what you keep).
 * status MG_ETEMP / MG_EDENIED: nothing usable; err explains it as a reply (451 4.4.3 lookup
 * failed, 451 4.4.4 no address, 550 5.1.2 no such domain, 556 5.1.10 null MX). */
typedef void (*smtp_dns_cb)(void *arg, int status, const struct smtp_reply *err,
                            const struct smtp_dns_candidate *cands, size_t n);

/* servers: c-ares server list "ip[:port],..." (NULL = resolv.conf). 0, MG_EINVAL (bad server
 * list), MG_ENOMEM; on error nothing was created. */
int smtp_dns_create(struct smtp_dns **out, uv_loop_t *loop, const char *servers);

/* Start the lookup (one per resolver). On 0, cb runs exactly once, from the loop (never inside
 * this call), unless smtp_dns_close comes first: then it never runs. MG_ESTATE if a lookup was
 * already started. */
int smtp_dns_resolve(struct smtp_dns *d, const char *name, int is_domain, int port,
                     smtp_dns_cb cb, void *arg);

/* Cancel any lookup (its cb never runs) and free the resolver; closed_cb(arg) (may be NULL)
 * runs from the loop once every handle is closed. Valid from inside cb. */
void smtp_dns_close(struct smtp_dns *d, void (*closed_cb)(void *arg), void *arg);

#endif
