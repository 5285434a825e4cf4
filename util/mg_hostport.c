/* mg_hostport: "host[:port]" parsing (rules in mg_hostport.h). */
#include "mg_hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "mg_err.h"

static int fail(struct mg_hostport *out, const char *why)
{
    out->err = why;
    return MG_EINVAL;
}

/* Decimal digits only: strtol would take signs, spaces and "0x". */
static int parse_port(const char *p, unsigned flags, int *port, struct mg_hostport *out)
{
    if (!*p)
        return fail(out, "empty port");
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return fail(out, "port is not a decimal number");
        v = v * 10 + (*p - '0');
        if (v > 65535)
            return fail(out, "port out of range 1..65535");
    }
    if (v == 0 && !(flags & MG_HOSTPORT_PORT_ZERO))
        return fail(out, "port out of range 1..65535");
    *port = (int)v;
    return 0;
}

static int name_ok(const char *h)
{
    for (const char *p = h; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return 0;
    }
    return 1;
}

int mg_hostport_parse(const char *s, unsigned flags, struct mg_hostport *out)
{
    memset(out, 0, sizeof *out);
    out->family = AF_UNSPEC;
    if (!s || !*s)
        return fail(out, "empty address");
    const char *hs = s, *he, *port = NULL;
    int bracketed = 0;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb)
            return fail(out, "missing ']'");
        hs = s + 1;
        he = rb;
        bracketed = 1;
        if (rb[1] == ':')
            port = rb + 2;
        else if (rb[1])
            return fail(out, "text after ']' (expected \":port\")");
    } else {
        const char *c1 = strchr(s, ':');
        if (c1 && strchr(c1 + 1, ':')) {
            he = s + strlen(s); /* a bare IPv6 address: never a port (see the header) */
        } else if (c1) {
            he = c1;
            port = c1 + 1;
        } else {
            he = s + strlen(s);
        }
    }
    size_t hl = (size_t)(he - hs);
    if (hl == 0)
        return fail(out, "empty host");
    if (hl > MG_HOSTPORT_MAX_HOST)
        return fail(out, "host name too long");
    memcpy(out->host, hs, hl);
    out->host[hl] = 0;

    unsigned char a[16];
    if (inet_pton(AF_INET6, out->host, a) == 1) {
        out->family = AF_INET6;
    } else if (bracketed || strchr(out->host, ':')) {
        return fail(out, "not an IPv6 address");
    } else if (inet_pton(AF_INET, out->host, a) == 1) {
        out->family = AF_INET;
    } else if (!name_ok(out->host)) {
        return fail(out, "invalid character in host");
    }
    if ((flags & MG_HOSTPORT_NUMERIC) && out->family == AF_UNSPEC)
        return fail(out, "host is not a numeric IPv4 or IPv6 address");
    if (port) {
        if (parse_port(port, flags, &out->port, out))
            return MG_EINVAL;
        out->has_port = 1;
    } else if (flags & MG_HOSTPORT_NEED_PORT) {
        return fail(out, "missing \":port\"");
    }
    return 0;
}

int mg_hostport_sockaddr(const struct mg_hostport *hp, int default_port,
                         struct sockaddr_storage *ss, socklen_t *len)
{
    int port = hp->has_port ? hp->port : default_port;
    if (port < 0 || port > 65535)
        return MG_EINVAL;
    memset(ss, 0, sizeof *ss);
    if (hp->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, hp->host, &sin->sin_addr) != 1)
            return MG_EINVAL;
        if (len)
            *len = sizeof *sin;
        return 0;
    }
    if (hp->family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, hp->host, &sin6->sin6_addr) != 1)
            return MG_EINVAL;
        if (len)
            *len = sizeof *sin6;
        return 0;
    }
    return MG_EINVAL;
}
