/* test_hostport: the one host:port parser (util/mg_hostport), table-driven, plus the socket
 * address conversion. */
#include "mg_err.h"
#include "mg_hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define PZ MG_HOSTPORT_PORT_ZERO
#define NP MG_HOSTPORT_NEED_PORT
#define NU MG_HOSTPORT_NUMERIC

struct hcase {
    const char *name, *in;
    unsigned flags;
    int rc;              /* 0 or MG_EINVAL */
    const char *host;    /* expected host when rc == 0 */
    int has_port, port, family;
};

static const struct hcase cases[] = {
    { "name only", "mx.example", 0, 0, "mx.example", 0, 0, AF_UNSPEC },
    { "name and port", "mx.example:2525", 0, 0, "mx.example", 1, 2525, AF_UNSPEC },
    { "v4 only", "192.0.2.1", 0, 0, "192.0.2.1", 0, 0, AF_INET },
    { "v4 and port", "192.0.2.1:25", 0, 0, "192.0.2.1", 1, 25, AF_INET },
    { "v6 bracketed with port", "[2001:db8::1]:587", 0, 0, "2001:db8::1", 1, 587, AF_INET6 },
    { "v6 bracketed without port", "[::1]", 0, 0, "::1", 0, 0, AF_INET6 },
    { "bare v6 has no port", "::1", 0, 0, "::1", 0, 0, AF_INET6 },
    { "bare v6 ending in digits is all address", "::1:25", 0, 0, "::1:25", 0, 0, AF_INET6 },
    { "bare v6 full", "2001:db8:0:0:0:0:0:25", 0, 0, "2001:db8:0:0:0:0:0:25", 0, 0, AF_INET6 },
    { "v4-mapped v6", "[::ffff:192.0.2.1]:25", 0, 0, "::ffff:192.0.2.1", 1, 25, AF_INET6 },
    { "underscore name", "_smtp.example:25", 0, 0, "_smtp.example", 1, 25, AF_UNSPEC },
    { "port 65535", "h.example:65535", 0, 0, "h.example", 1, 65535, AF_UNSPEC },
    { "port 1", "h.example:1", 0, 0, "h.example", 1, 1, AF_UNSPEC },
    { "port 0 for a listener", "127.0.0.1:0", PZ | NP | NU, 0, "127.0.0.1", 1, 0, AF_INET },
    { "listener v6 port 0", "[::1]:0", PZ | NP | NU, 0, "::1", 1, 0, AF_INET6 },
    { "leading zeros in port", "h.example:00025", 0, 0, "h.example", 1, 25, AF_UNSPEC },
    /* refusals */
    { "NULL-like empty", "", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "port 0 without the flag", "h.example:0", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "port 65536", "h.example:65536", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "huge port", "h.example:99999999999999999999", PZ, MG_EINVAL, NULL, 0, 0, 0 },
    { "negative port", "h.example:-1", PZ, MG_EINVAL, NULL, 0, 0, 0 },
    { "plus sign port", "h.example:+25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "space in port", "h.example: 25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "hex port", "h.example:0x19", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "empty port", "h.example:", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "empty host with port", ":25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "empty brackets", "[]:25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "missing bracket", "[::1:25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "text after bracket", "[::1]25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "v4 in brackets", "[192.0.2.1]:25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "name in brackets", "[mx.example]:25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "bare v6 that is not an address", "a:b:c", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "zone id", "[fe80::1%eth0]:25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "space in name", "mx example:25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "control in name", "mx\r\n.example", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "slash in name", "mx/x:25", 0, MG_EINVAL, NULL, 0, 0, 0 },
    { "port required", "127.0.0.1", NP, MG_EINVAL, NULL, 0, 0, 0 },
    { "numeric required", "localhost:25", NU, MG_EINVAL, NULL, 0, 0, 0 },
    { "bare v6 cannot give a listener port", "::1:25", NP | NU, MG_EINVAL, NULL, 0, 0, 0 },
};

static void t_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct hcase *c = &cases[i];
        struct mg_hostport hp;
        int rc = mg_hostport_parse(c->in, c->flags, &hp);
        if (rc != c->rc)
            fail_msg("%s: rc %d want %d (%s)", c->name, rc, c->rc, hp.err ? hp.err : "-");
        if (rc) {
            if (!hp.err || !*hp.err)
                fail_msg("%s: refused without a reason", c->name);
            continue;
        }
        if (strcmp(hp.host, c->host) || hp.has_port != c->has_port || hp.port != c->port ||
            hp.family != c->family)
            fail_msg("%s: got host=%s has_port=%d port=%d family=%d", c->name, hp.host, hp.has_port,
                     hp.port, hp.family);
        if (hp.err)
            fail_msg("%s: err set on success", c->name);
    }
}

static void t_null_and_long(void **state)
{
    (void)state;
    struct mg_hostport hp;
    assert_int_equal(mg_hostport_parse(NULL, 0, &hp), MG_EINVAL);
    char longname[400];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(mg_hostport_parse(longname, 0, &hp), MG_EINVAL);
    assert_string_equal(hp.err, "host name too long");
    longname[255] = 0; /* exactly the limit */
    assert_int_equal(mg_hostport_parse(longname, 0, &hp), 0);
    assert_int_equal(strlen(hp.host), 255);
}

static void t_sockaddr(void **state)
{
    (void)state;
    struct mg_hostport hp;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char buf[64];

    assert_int_equal(mg_hostport_parse("192.0.2.7:2525", 0, &hp), 0);
    assert_int_equal(mg_hostport_sockaddr(&hp, 25, &ss, &len), 0);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 2525);
    assert_int_equal(len, sizeof *sin);
    assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf));
    assert_string_equal(buf, "192.0.2.7");

    assert_int_equal(mg_hostport_parse("::1", 0, &hp), 0);
    assert_int_equal(mg_hostport_sockaddr(&hp, 25, &ss, &len), 0); /* default port */
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
    assert_int_equal(sin6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(sin6->sin6_port), 25);
    assert_int_equal(len, sizeof *sin6);

    assert_int_equal(mg_hostport_parse("mx.example:25", 0, &hp), 0);
    assert_int_equal(mg_hostport_sockaddr(&hp, 25, &ss, &len), MG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_parse_table),
        cmocka_unit_test(t_null_and_long),
        cmocka_unit_test(t_sockaddr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
