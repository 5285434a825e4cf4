/* test_p1_probe: a probe answered from the limits (channels/p1/p1_probe), one case per rule:
 * the size limit (global, the listener's, the route's delivery channel's and peer's), content types along the route's chain (mixer to
 * Internet mail, SMTP without a mixer, a 1984 peer), extended encoded information types to a
 * 1984 peer, and no route; each with the X.411 diagnostic and the RFC 3463 status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "../config/config_test_util.h"
#include "p1_probe.h"
#include "route.h"

static const char conf[] =
    "global = { max_message_size = 100000; };\n"
    "listeners = ( { name = \"x4\"; protocol = \"p1\"; listen = \"127.0.0.1:1102\"; },\n"
    "              { name = \"x4small\"; protocol = \"p1\"; listen = \"127.0.0.1:1103\";\n"
    "                max_message_size = 2048; } );\n"
    "channels = ( { name = \"relay\"; type = \"p1\"; },\n"
    "             { name = \"narrow\"; type = \"p1\"; max_message_size = 5000; },\n"
    "             { name = \"local\"; type = \"file\"; directory = \"/tmp/p1-probe-test\"; },\n"
    "             { name = \"out\"; type = \"smtp\"; },\n"
    "             { name = \"to-inet\"; type = \"mixer\"; direction = \"to-smtp\";\n"
    "               domain = \"x400.example\"; or_address = \"/C=GB/ADMD= /PRMD=GW/\"; },\n"
    "             { name = \"to-x4\"; type = \"mixer\"; direction = \"to-x400\";\n"
    "               domain = \"x400.example\"; or_address = \"/C=GB/ADMD= /PRMD=GW/\"; } );\n"
    "peers = ( { name = \"new\"; type = \"x400\"; mta_name = \"N\"; our_mta_name = \"U\";\n"
    "            host = \"127.0.0.1:1\"; },\n"
    "          { name = \"old\"; type = \"x400\"; mta_name = \"O\"; our_mta_name = \"U\";\n"
    "            host = \"127.0.0.1:2\"; mode = \"1984\"; },\n"
    "          { name = \"hub\"; type = \"smtp\"; host = \"127.0.0.1:25\"; },\n"
    "          { name = \"tiny\"; type = \"x400\"; mta_name = \"T\"; our_mta_name = \"U\";\n"
    "            host = \"127.0.0.1:3\"; max_message_size = 3000; } );\n"
    "routes = ( { or_address = \"/C=GB/ADMD= /PRMD=R/\"; chain = [ \"relay\" ]; peer = \"new\"; },\n"
    "           { or_address = \"/C=GB/ADMD= /PRMD=O/\"; chain = [ \"relay\" ]; peer = \"old\"; },\n"
    "           { or_address = \"/C=GB/ADMD= /PRMD=O2/\"; chain = [ \"to-x4\", \"relay\" ];"
    " peer = \"old\"; },\n"
    "           { or_address = \"/C=GB/ADMD= /PRMD=M/\"; chain = [ \"to-inet\", \"out\" ];"
    " peer = \"hub\"; },\n"
    "           { or_address = \"/C=GB/ADMD= /PRMD=S/\"; chain = [ \"out\" ]; peer = \"hub\"; },\n"
    "           { or_address = \"/C=GB/ADMD= /PRMD=T/\"; chain = [ \"relay\" ]; peer = \"tiny\"; },\n"
    "           { or_address = \"/C=GB/ADMD= /PRMD=N/\"; chain = [ \"narrow\" ]; peer = \"new\"; },\n"
    "           { or_address = \"/C=GB/ADMD= /PRMD=NT/\"; chain = [ \"narrow\" ]; peer = \"tiny\"; },\n"
    "           { or_address = \"/C=GB/ADMD= /PRMD=F/\"; chain = [ \"local\" ]; } );\n";

#define P772 "1.3.26.0.4406.0.4.1"

static const struct pcase {
    const char *name;
    const char *to;
    const char *listener;        /* NULL: none (the global limit) */
    const char *oid;
    uint64_t length;
    size_t eits_ext;
    int ok;
    int diag;
    const char *status;
    const char *why;             /* a part of the reason */
} cases[] = {
    { "relay_small", "/C=GB/ADMD= /PRMD=R/S=a/", "x4", "22", 1000, 0, 1, -1, "2.0.0", "" },
    { "relay_at_limit", "/C=GB/ADMD= /PRMD=R/S=a/", "x4", P772, 100000, 0, 1, -1, "2.0.0", "" },
    { "relay_too_long", "/C=GB/ADMD= /PRMD=R/S=a/", "x4", P772, 100001, 0, 0, 7, "5.3.4",
      "over the size limit of 100000" },
    { "listener_limit", "/C=GB/ADMD= /PRMD=F/S=a/", "x4small", "22", 4096, 0, 0, 7, "5.3.4",
      "over the size limit of 2048" },
    { "global_limit", "/C=GB/ADMD= /PRMD=F/S=a/", NULL, "22", 200000, 0, 0, 7, "5.3.4",
      "limit of 100000" },
    { "length_not_given", "/C=GB/ADMD= /PRMD=R/S=a/", "x4small", "22", 0, 0, 1, -1, "2.0.0", "" },
    { "oid_to_1984_peer", "/C=GB/ADMD= /PRMD=O/S=a/", "x4", P772, 10, 0, 0, 15, "5.6.1",
      "1984 peer 'old'" },
    { "p2_to_1984_peer", "/C=GB/ADMD= /PRMD=O/S=a/", "x4", "2", 10, 0, 1, -1, "2.0.0", "" },
    { "eits_to_1984_peer", "/C=GB/ADMD= /PRMD=O/S=a/", "x4", "22", 10, 2, 0, 6, "5.6.1",
      "extended encoded information types" },
    { "eits_to_1988_peer", "/C=GB/ADMD= /PRMD=R/S=a/", "x4", "22", 10, 2, 1, -1, "2.0.0", "" },
    { "to_x400_mixer_passes", "/C=GB/ADMD= /PRMD=O2/S=a/", "x4", P772, 10, 0, 0, 15, "5.6.1",
      "takes built-in content types only" },
    { "mixer_reads_p772", "/C=GB/ADMD= /PRMD=M/S=a/", "x4", P772, 10, 0, 1, -1, "2.0.0", "" },
    { "mixer_reads_p22_oid", "/C=GB/ADMD= /PRMD=M/S=a/", "x4", "2.6.1.10.1", 10, 0, 1, -1,
      "2.0.0", "" },
    { "mixer_unknown_type", "/C=GB/ADMD= /PRMD=M/S=a/", "x4", "1.2.3.4", 10, 0, 0, 15, "5.6.1",
      "cannot be converted to Internet mail by 'to-inet'" },
    { "smtp_without_mixer", "/C=GB/ADMD= /PRMD=S/S=a/", "x4", "22", 10, 0, 0, 15, "5.6.1",
      "without a mixer" },
    { "file_any_type", "/C=GB/ADMD= /PRMD=F/S=a/", "x4", "1.2.3.4", 10, 0, 1, -1, "2.0.0", "" },
    { "peer_limit", "/C=GB/ADMD= /PRMD=T/S=a/", "x4", "22", 3001, 0, 0, 7, "5.3.4",
      "limit of 3000 octets of peer 'tiny'" },
    { "peer_limit_at", "/C=GB/ADMD= /PRMD=T/S=a/", "x4", "22", 3000, 0, 1, -1, "2.0.0", "" },
    { "channel_limit", "/C=GB/ADMD= /PRMD=N/S=a/", "x4", "22", 5001, 0, 0, 7, "5.3.4",
      "limit of 5000 octets of channel 'narrow'" },
    { "channel_limit_under", "/C=GB/ADMD= /PRMD=N/S=a/", "x4", "22", 4000, 0, 1, -1, "2.0.0", "" },
    { "channel_and_peer_smaller_wins", "/C=GB/ADMD= /PRMD=NT/S=a/", "x4", "22", 4000, 0, 0, 7,
      "5.3.4", "of peer 'tiny'" },
    { "no_route", "/C=DE/ADMD= /PRMD=Q/S=a/", "x4", "22", 10, 0, 0, 0, "5.1.1", "no route" },
};

static void one(const struct pcase *c)
{
    struct config *cfg = test_load_ok(conf, NULL);
    const struct config_route *rt = NULL;
    if (route_lookup(cfg, c->to, &rt) != 0)
        rt = NULL;
    struct p1_mts_in m;
    memset(&m, 0, sizeof m);
    m.kind = P1_MTS_PROBE;
    snprintf(m.content_oid, sizeof m.content_oid, "%s", c->oid);
    m.content_length = c->length;
    m.eits_extended = c->eits_ext;
    struct p1_probe_verdict v;
    p1_probe_check(cfg, c->listener ? config_find_listener(cfg, c->listener) : NULL, rt, &m, &v);
    if (v.ok != c->ok || v.x400_diagnostic != c->diag || strcmp(v.status, c->status) != 0 ||
        !strstr(v.why, c->why) || v.x400_reason != (c->ok ? -1 : 1))
        fail_msg("%s: ok %d diag %d reason %d status %s why \"%s\"", c->name, v.ok,
                 v.x400_diagnostic, v.x400_reason, v.status, v.why);
    config_free(cfg);
}

static void run_case(void **state)
{
    one(*state);
}

int main(void)
{
    struct CMUnitTest t[sizeof cases / sizeof *cases];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        t[i] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL, (void *)&cases[i] };
    return cmocka_run_group_tests(t, NULL, NULL);
}
