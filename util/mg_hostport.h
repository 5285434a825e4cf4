/* mg_hostport: the one parser of "host[:port]" strings in mixgate (listeners, smart hosts,
 * peers), so that configuration, the SMTP server and the SMTP client agree on what a string
 * means.
 *
 * Accepted forms:
 *   "host"              a DNS name or an IPv4 address, no port
 *   "host:port"         a DNS name or an IPv4 address with a port ("192.0.2.1:25")
 *   "[v6]" "[v6]:port"  an IPv6 address in brackets (RFC 3986 IP-literal), with or without port
 *   "v6"                a bare IPv6 address (two or more colons) NEVER carries a port: "::1:25"
 *                       is the address ::1:25, not ::1 port 25. Write "[::1]:25" for a port.
 * Refused: empty host, a host over 255 octets, characters other than letters, digits, '-', '.'
 * and '_' in a name, anything but an IPv6 address inside brackets (so "[192.0.2.1]" is refused),
 * text after "]" other than ":port", IPv6 zone ids ("%eth0"), an empty port, a port that is not
 * decimal digits only, and ports outside 1..65535 (0 only with MG_HOSTPORT_PORT_ZERO, which a
 * listener uses to let the kernel pick one).
 *
 * No allocation, no I/O, no resolution; safe on any input (outside input is never trusted). */
#ifndef MG_HOSTPORT_H
#define MG_HOSTPORT_H

#include <stddef.h>
#include <sys/socket.h>

enum {
    MG_HOSTPORT_PORT_ZERO = 1u << 0, /* port 0 is valid (listeners: any free port) */
    MG_HOSTPORT_NEED_PORT = 1u << 1, /* a port must be given */
    MG_HOSTPORT_NUMERIC = 1u << 2    /* the host must be a numeric IPv4 or IPv6 address */
};

#define MG_HOSTPORT_MAX_HOST 255

struct mg_hostport {
    char host[MG_HOSTPORT_MAX_HOST + 1]; /* without brackets */
    int has_port;
    int port;                           /* valid when has_port; else 0 */
    int family;                         /* AF_INET or AF_INET6 for a numeric address, else
                                           AF_UNSPEC (a DNS name) */
    const char *err;                    /* on failure: why, a static English phrase suitable
                                           for "listen: <err>" in a config error; else NULL */
};

/* Parse s with MG_HOSTPORT_* flags into *out. 0, or MG_EINVAL with out->err set. */
int mg_hostport_parse(const char *s, unsigned flags, struct mg_hostport *out);

/* A numeric host as a socket address, with hp's port or default_port when it has none.
 * MG_EINVAL for a DNS name. *len (may be NULL) gets the address length. */
int mg_hostport_sockaddr(const struct mg_hostport *hp, int default_port,
                         struct sockaddr_storage *ss, socklen_t *len);

#endif
