/* Tests of config_load: the shipped configurations, a configuration using every key, every
 * kind of error with its exact line, the notations (durations, sizes, networks), dump. */
#include "config_test_util.h"
#include "channels.h"
#include "route.h"
#include "file_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>

/* Lines 1-3 of most error cases: a minimal valid configuration. */
#define BASE                                                                                 \
    "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"                     \
    "channels = ( { name = \"local\"; type = \"file\"; directory = \"/tmp/d\"; },\n"          \
    "             { name = \"out\"; type = \"smtp\"; }, { name = \"sign\"; type = \"cms\"; } );\n"

struct want_err {
    int line;
    const char *contains;
};

struct err_case {
    const char *name;
    const char *text;          /* appended after BASE unless raw */
    bool raw;
    struct want_err errs[4];   /* exactly these, in this order (line 0 ends the list...) */
    size_t n;                  /* ...unless n says how many; n counts entries to check */
};

static const char *const no_env[] = { NULL };

#define R(def) "routes = ( " def " );\n"
#define DEF_ROUTE R("{ default = true; chain = [ \"local\" ]; }")

static const struct err_case err_cases[] = {
    { "syntax_error", "global = { hostname = ; };\n" DEF_ROUTE, false,
      { { 4, "syntax error" } }, 1 },
    { "duplicate_setting", "global = {\n log = \"stderr\";\n log = \"syslog\";\n};\n" DEF_ROUTE,
      false, { { 6, "duplicate setting" } }, 1 },
    { "unknown_section", DEF_ROUTE "listners = ();\n", false,
      { { 5, "unknown section 'listners' at the top level (did you mean 'listeners'?)" } }, 1 },
    { "unknown_key_global", "global = {\n  hostname = \"a.example\";\n  colour = 1;\n};\n" DEF_ROUTE,
      false, { { 6, "unknown key 'colour' in 'global'" } }, 1 },
    { "typo_key_listener",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\";\n  max_recipents = 5; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "unknown key 'max_recipents' in listener 'in' (did you mean 'max_recipients'?)" } }, 1 },
    { "unknown_key_tls",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\";\n tls = { cert = \"c\"; key = \"k\";\n"
      " requiretls = true; }; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 3, "unknown key 'requiretls' in listener 'in' tls (did you mean 'require_tls'?)" } }, 1 },
    { "wrong_type_duration", "queue = {\n  retry_min = true;\n};\n" DEF_ROUTE, false,
      { { 5, "queue: 'retry_min' must be a duration" } }, 1 },
    { "bad_duration_suffix", "queue = { retry_max = \"5x\"; };\n" DEF_ROUTE, false,
      { { 4, "'retry_max' = \"5x\" is not a duration" } }, 1 },
    { "negative_duration", "queue = { retry_max = -5; };\n" DEF_ROUTE, false,
      { { 4, "'retry_max' must not be negative" } }, 1 },
    { "bad_size", "global = { max_message_size = \"10Q\"; };\n" DEF_ROUTE, false,
      { { 4, "'max_message_size' = \"10Q\" is not a size" } }, 1 },
    { "size_out_of_range", "global = { max_message_size = 100; };\n" DEF_ROUTE, false,
      { { 4, "'max_message_size' is out of range" } }, 1 },
    { "wrong_type_string", "global = { var_dir = 5; };\n" DEF_ROUTE, false,
      { { 4, "'var_dir' must be a string, not a number" } }, 1 },
    { "wrong_type_bool",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\"; smtputf8 = \"yes\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 1, "'smtputf8' must be true or false" } }, 1 },
    { "uint_out_of_range",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\";\n max_line_length = 80; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "'max_line_length' = 80 is out of range (1000..1048576)" } }, 1 },
    { "bad_enum", "global = {\n  log = \"file\";\n};\n" DEF_ROUTE, false,
      { { 5, "'log' = \"file\" is not one of: stderr, syslog" } }, 1 },
    { "bad_log_level", "global = { log_level = \"loud\"; };\n" DEF_ROUTE, false,
      { { 4, "is not one of: debug, info, warn, error" } }, 1 },
    { "bad_port",
      "listeners = ( { name = \"in\";\n listen = \"127.0.0.1:65536\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "the port must be 1..65535" } }, 1 },
    { "listen_without_port",
      "listeners = ( { name = \"in\"; listen = \"::1\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 1, "is not address:port" } }, 1 },
    { "listen_hostname",
      "listeners = ( { name = \"in\"; listen = \"localhost:25\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 1, "is not address:port" } }, 1 },
    { "missing_listen",
      "listeners = (\n  { name = \"in\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "listener 'in': missing 'listen'" } }, 1 },
    { "bad_cidr",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\";\n relay_networks = [ \"10.0.0.0/33\" ]; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "\"10.0.0.0/33\" is not an address or network" } }, 1 },
    { "cidr_host_bits",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\";\n relay_networks = [ \"10.1.2.3/8\" ]; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "has bits set after the prefix length" } }, 1 },
    { "bad_domain",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\";\n local_domains = [ \"a..b\" ]; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "entry \"a..b\" is not a domain" } }, 1 },
    { "open_relay_v4",
      "listeners = ( { name = \"in\"; listen = \"0.0.0.0:25\";\n relay_networks = [ \"0.0.0.0/0\" ]; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "open relay" } }, 1 },
    { "open_relay_split",
      "listeners = ( { name = \"in\"; listen = \"0.0.0.0:25\";\n"
      " relay_networks = [ \"0.0.0.0/1\", \"192.0.0.0/2\", \"128.0.0.0/2\" ]; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "open relay" } }, 1 },
    { "open_relay_v6",
      "listeners = ( { name = \"in\"; listen = \"[::]:25\";\n relay_networks = [ \"::/0\" ]; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "open relay" } }, 1 },
    { "open_relay_v4_mapped",
      "listeners = ( { name = \"in\"; listen = \"[::]:25\";\n relay_networks = [ \"::ffff:0.0.0.0/96\" ]; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "open relay" } }, 1 },
    { "tls_cert_without_key",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\";\n tls = { cert = \"c.pem\"; }; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "tls needs both 'cert' and 'key'" } }, 1 },
    { "require_tls_without_cert",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\";\n tls = { require_tls = true; }; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "tls 'require_tls' needs a certificate" } }, 1 },
    { "duplicate_listener_address",
      "listeners = ( { name = \"a\"; listen = \"127.0.0.1:25\"; },\n { name = \"b\"; listen = \"127.0.0.1:25\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "same address 127.0.0.1:25 as listener 'a' (line 1)" } }, 1 },
    { "sessions_per_client_above_total",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\"; max_sessions = 5;\n max_sessions_per_client = 6; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "max_sessions_per_client (6) is larger than max_sessions (5)" } }, 1 },
    { "duplicate_channel_name",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; },\n"
      "  { name = \"local\"; type = \"smtp\"; } );\n" DEF_ROUTE,
      true, { { 3, "duplicate channel name 'local' (first defined at line 2)" } }, 1 },
    { "duplicate_peer_name",
      "peers = ( { name = \"p\"; type = \"smtp\"; mx = true; },\n { name = \"p\"; type = \"smtp\"; mx = true; } );\n"
      DEF_ROUTE, false, { { 5, "duplicate peer name 'p' (first defined at line 4)" } }, 1 },
    { "bad_name", "peers = ( { name = \"a b\"; type = \"smtp\"; mx = true; } );\n" DEF_ROUTE, false,
      { { 4, "name \"a b\" must be 1-64 letters" } }, 1 },
    { "channel_type_bad",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\"; } );\n"
      "channels = ( { name = \"local\"; type = \"fax\"; } );\n" DEF_ROUTE,
      true, { { 2, "unknown type 'fax' (this build has: file, smtp, p1, rules, cms, shaper, mixer)" } }, 1 },
    { "channel_type_typo",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\"; } );\n"
      "channels = ( { name = \"local\"; type = \"fiel\"; } );\n" DEF_ROUTE,
      true, { { 2, "unknown type 'fiel' (did you mean 'file'?)" } }, 1 },
    { "smtp_peer_without_host", "peers = ( { name = \"p\"; type = \"smtp\"; } );\n" DEF_ROUTE, false,
      { { 4, "needs 'host' (\"host[:port]\") or 'mx = true'" } }, 1 },
    { "smtp_peer_host_and_mx",
      "peers = ( { name = \"p\"; type = \"smtp\"; mx = true;\n host = \"a.example\"; } );\n" DEF_ROUTE,
      false, { { 5, "give either 'host' or 'mx = true', not both" } }, 1 },
    { "peer_bad_starttls",
      "peers = ( { name = \"p\"; type = \"smtp\"; mx = true; starttls = \"always\"; } );\n" DEF_ROUTE,
      false, { { 4, "is not one of: none, opportunistic, required" } }, 1 },
    { "x400_key_on_smtp_peer",
      "peers = ( { name = \"p\"; type = \"smtp\"; mx = true;\n mta_name = \"X\"; } );\n" DEF_ROUTE,
      false, { { 5, "'mta_name' does not apply to an smtp peer" } }, 1 },
    { "x400_peer_missing_fields", "peers = ( { name = \"x\"; type = \"x400\"; } );\n" DEF_ROUTE, false,
      { { 4, "needs 'mta_name'" }, { 4, "needs 'our_mta_name'" } }, 2 },
    { "x400_peer_bad_mode",
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
      " host = \"h.example\"; mode = \"1986\"; } );\n" DEF_ROUTE, false,
      { { 5, "'mode' = \"1986\" is not one of: 1988-normal, 1988-x410, 1984" } }, 1 },
    { "x400_peer_bad_paddr",
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
      " presentation_address = \"'0G'H/TCP/h+102\"; } );\n" DEF_ROUTE, false,
      { { 5, "is not an RFC 1278 presentation address" } }, 1 },
    { "x400_peer_bad_sel_and_dialogue",
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
      " host = \"h.example\";\n tsel = \"'123'H\";\n dialogue = \"chat\"; window = 0; } );\n" DEF_ROUTE, false,
      { { 6, "'tsel' = \"'123'H\" is not a selector" }, { 7, "is not one of: monologue, two-way-alternate" },
        { 7, "window" } }, 3 },
    { "x400_peer_long_mta_name",
      "peers = ( { name = \"x\"; type = \"x400\"; our_mta_name = \"U\"; host = \"h.example\";\n"
      " mta_name = \"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\"; } );\n" DEF_ROUTE, false,
      { { 5, "'mta_name' must be 1..32 characters" } }, 1 },
    { "x400_peer_sel_twice",
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
      " presentation_address = \"\\\"t\\\"/TCP/h.example+102\";\n tsel = \"x\"; } );\n" DEF_ROUTE, false,
      { { 6, "'tsel' is also given in 'presentation_address'" } }, 1 },
    { "p1_listener_smtp_key",
      "listeners = ( { name = \"x4\"; protocol = \"p1\"; listen = \"127.0.0.1:1102\";\n"
      " relay_domains = [ \"a.example\" ]; tsel = \"#99999\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/tmp/d\"; } );\n" DEF_ROUTE, true,
      { { 2, "'relay_domains' does not apply to a p1 listener" }, { 2, "'tsel' = \"#99999\" is not a selector" } }, 2 },
    { "smtp_listener_p1_key",
      "listeners = ( { name = \"s\"; listen = \"127.0.0.1:25\";\n psel = \"p\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/tmp/d\"; } );\n" DEF_ROUTE, true,
      { { 2, "'psel' does not apply to a smtp listener" } }, 1 },
    { "route_x400_peer_without_address",
      "listeners = ( { name = \"x4\"; protocol = \"p1\"; listen = \"127.0.0.1:1102\"; } );\n"
      "channels = ( { name = \"x4\"; type = \"p1\"; } );\n"
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\"; } );\n"
      R("{ or_address = \"/C=GB/\";\n chain = [ \"x4\" ]; peer = \"x\"; }"), true,
      { { 5, "x400 peer 'x' has no address" } }, 1 },
    { "x400_peer_inbound_only_needs_twa",
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
      " inbound_only = true; } );\n" DEF_ROUTE, false,
      { { 5, "an 'inbound_only' peer is reached only over the two-way-alternate associations" } }, 1 },
    { "peer_max_message_size_bad",
      "peers = ( { name = \"x\"; type = \"smtp\"; host = \"a.example\";\n"
      " max_message_size = \"10Q\"; } );\n" DEF_ROUTE, false,
      { { 5, "'max_message_size' = \"10Q\" is not a size" } }, 1 },
    { "x400_peer_max_message_size_not_size",
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
      " host = \"127.0.0.1\"; max_message_size = true; } );\n" DEF_ROUTE, false,
      { { 5, "max_message_size" } }, 1 },
    { "channel_max_message_size_bad",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/tmp/d\";\n"
      " max_message_size = \"lots\"; } );\n" DEF_ROUTE, true,
      { { 3, "'max_message_size' = \"lots\" is not a size" } }, 1 },
    { "channel_max_message_size_processing",
      "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/tmp/d\"; },\n"
      " { name = \"sign\"; type = \"cms\";\n max_message_size = \"1M\"; } );\n" DEF_ROUTE, true,
      { { 4, "channel 'sign': 'max_message_size' applies to delivery channels only" } }, 1 },
    { "x400_peer_listener_unknown",
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
      " host = \"127.0.0.1\";\n listener = \"nope\"; } );\n" DEF_ROUTE, false,
      { { 6, "peer 'x': listener 'nope' is not defined" } }, 1 },
    { "x400_peer_listener_not_p1",
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
      " host = \"127.0.0.1\"; listener = \"in\"; } );\n" DEF_ROUTE, false,
      { { 5, "peer 'x': listener 'in' is not a p1 listener" } }, 1 },
    { "smtp_peer_listener_key",
      "peers = ( { name = \"x\"; type = \"smtp\"; host = \"a.example\";\n"
      " listener = \"in\"; } );\n" DEF_ROUTE, false,
      { { 5, "'listener' does not apply to an smtp peer" } }, 1 },
    { "x400_peer_inbound_only_not_bool",
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
      " inbound_only = \"yes\"; } );\n" DEF_ROUTE, false,
      { { 5, "inbound_only" } }, 1 },
    { "route_bad_or_address", R("{ or_address = \"/C=GB/XX=1/\"; chain = [ \"local\" ]; }"), false,
      { { 4, "or_address \"/C=GB/XX=1/\" is not an O/R address" } }, 1 },
    { "global_bad_x400_domain",
      "global = {\n x400_domain = \"/PRMD=X/\"; };\n" DEF_ROUTE, false,
      { { 5, "'x400_domain' = \"/PRMD=X/\" needs at least C and ADMD" } }, 1 },
    { "route_undefined_channel", R("{ default = true; chain = [ \"nope\" ]; }"), false,
      { { 4, "chain names channel 'nope', which is not defined" } }, 1 },
    { "route_undefined_peer", R("{ default = true;\n chain = [ \"out\" ]; peer = \"ghost\"; }"), false,
      { { 5, "peer 'ghost' is not defined" } }, 1 },
    { "route_chain_ends_in_processing", R("{ default = true; chain = [ \"sign\" ]; }"), false,
      { { 4, "must end with a delivery channel" } }, 1 },
    { "route_delivery_not_last", R("{ default = true; chain = [ \"local\", \"sign\", \"local\" ]; }"), false,
      { { 4, "channel 'local' (file) delivers, so it can only be the last" } }, 1 },
    { "route_smtp_without_peer", R("{ domain = \"a.example\"; chain = [ \"out\" ]; }"), false,
      { { 4, "the smtp channel 'out' needs a 'peer'" } }, 1 },
    { "route_file_with_peer",
      "peers = ( { name = \"p\"; type = \"smtp\"; mx = true; } );\n"
      R("{ domain = \"a.example\"; chain = [ \"local\" ];\n peer = \"p\"; }"), false,
      { { 6, "the file channel 'local' takes no peer" } }, 1 },
    { "route_peer_type_mismatch",
      "peers = ( { name = \"x\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\"; presentation_address = \"a\"; } );\n"
      R("{ domain = \"a.example\"; chain = [ \"out\" ]; peer = \"x\"; }"), false,
      { { 5, "peer 'x' is an x400 peer; the smtp channel 'out' needs an smtp peer" } }, 1 },
    { "route_no_match_kind", R("{ chain = [ \"local\" ]; }"), false,
      { { 4, "needs one of recipient, domain, domain_suffix, pattern, or_address, or_mapped_by, or default = true" } }, 1 },
    { "route_two_match_kinds", R("{ domain = \"a.example\"; pattern = \"*\"; chain = [ \"local\" ]; }"), false,
      { { 4, "give only one of" } }, 1 },
    { "route_second_default",
      R("{ default = true; chain = [ \"local\" ]; },\n { default = true; chain = [ \"local\" ]; }"), false,
      { { 5, "a second default route (the first is at line 4)" } }, 1 },
    { "route_default_false", R("{ default = false; chain = [ \"local\" ]; }"), false,
      { { 4, "'default' can only be true" } }, 1 },
    { "route_duplicate_rule",
      R("{ domain = \"A.example\"; chain = [ \"local\" ]; },\n { domain = \"a.example\"; chain = [ \"local\" ]; }"),
      false, { { 5, "same domain \"a.example\" as the route at line 4, so it is never used" } }, 1 },
    { "route_bad_recipient", R("{ recipient = \"nobody\"; chain = [ \"local\" ]; }"), false,
      { { 4, "recipient \"nobody\" is not an address" } }, 1 },
    { "route_empty_chain", R("{ default = true; chain = [ ]; }"), false, { { 4, "'chain' is empty" } }, 1 },
    { "queue_retry_order", "queue = {\n retry_min = \"2h\";\n retry_max = \"1h\";\n};\n" DEF_ROUTE, false,
      { { 6, "retry_max (3600s) is shorter than retry_min (7200s)" } }, 1 },
    { "queue_delay_warning_after_lifetime", "queue = { max_lifetime = \"1d\";\n delay_warning = \"2d\"; };\n" DEF_ROUTE,
      false, { { 5, "delay_warning (172800s) must be shorter than max_lifetime (86400s)" } }, 1 },
    { "section_wrong_shape", "global = ( );\n" DEF_ROUTE, false,
      { { 4, "'global' must be a group" } }, 1 },
    { "list_wrong_shape", "peers = { };\n" DEF_ROUTE, false,
      { { 4, "'peers' must be a list of groups" } }, 1 },
    { "missing_sections", "global = { };\n", true,
      { { 0, "no 'listeners' section" }, { 0, "no 'channels' section" }, { 0, "no 'routes' section" } }, 3 },
    { "control_socket_too_long",
      "global = { control_socket = \"/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; };\n"
      DEF_ROUTE, false, { { 4, "too long for a Unix socket" } }, 1 },
    { "include_not_supported", "@include \"/etc/passwd\"\n" DEF_ROUTE, false,
      { { 4, "@include directives are not supported" } }, 1 },
    { "unset_env_once",
      /* The listen value becomes "" but only the expansion error is reported for the line. */
      "listeners = ( { name = \"in\";\n listen = \"${NOT_SET}\"; } );\n"
      "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 2, "environment variable NOT_SET is not set" } }, 1 },
    { "many_errors_in_line_order",
      "routes = ( { default = true; chain = [ \"nope\" ]; } );\n"
      "global = { log = \"x\"; };\n"
      "queue = { retry_min = \"1y\"; };\n", false,
      { { 4, "channel 'nope'" }, { 5, "'log'" }, { 6, "'retry_min'" } }, 3 },
};

static void run_err_case(void **state)
{
    const struct err_case *c = *state;
    char text[8192];
    snprintf(text, sizeof text, "%s%s", c->raw ? "" : BASE, c->text);
    struct config *cfg = (struct config *)1;
    struct config_errors errs = { 0 };
    int rc = config_load_text("t.conf", text, strlen(text), test_env, (void *)no_env, &cfg, &errs);
    bool ok = rc == MG_ECONFIG && cfg == NULL && errs.n == c->n;
    for (size_t i = 0; ok && i < c->n; i++)
        ok = errs.v[i].line == c->errs[i].line && strstr(errs.v[i].message, c->errs[i].contains);
    if (!ok) {
        print_message("rc=%d, %zu errors:\n", rc, errs.n);
        for (size_t i = 0; i < errs.n; i++)
            print_message("  %s\n", errs.v[i].text);
        for (size_t i = 0; i < c->n; i++)
            print_message("wanted line %d: %s\n", c->errs[i].line, c->errs[i].contains);
    }
    /* The text form is file:line: message. */
    if (ok && c->n && c->errs[0].line) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "t.conf:%d: ", c->errs[0].line);
        ok = strncmp(errs.v[0].text, prefix, strlen(prefix)) == 0;
    }
    config_errors_free(&errs);
    assert_true(ok);
}

/* ---- good configurations ------------------------------------------------------------- */

static void test_default_config(void **state)
{
    (void)state;
    char *text = test_read_source("etc/mixgate.conf");
    static const char *const env[] = { "MIXGATE_VAR", "/srv/mg", NULL };
    struct config *cfg = test_load_ok(text, env);
    assert_string_equal(cfg->global.hostname, "localhost");
    assert_string_equal(cfg->global.var_dir, "/srv/mg");
    assert_string_equal(cfg->global.control_socket, "/srv/mg/control.sock");
    assert_int_equal(cfg->global.max_message_size, 52428800);
    assert_int_equal(cfg->queue.delay_warning, 14400);
    assert_int_equal(cfg->n_listeners, 2);
    const struct config_listener *p1 = config_find_listener(cfg, "p1");
    assert_non_null(p1);
    assert_int_equal(p1->protocol, CONFIG_PROTO_P1);
    assert_int_equal(ntohs(((const struct sockaddr_in *)&p1->addr)->sin_port), 1102);
    const struct config_peer *peer = config_find_peer(cfg, "peer-mta");
    assert_non_null(peer);
    assert_string_equal(peer->mta_name, "PEER-MTA");
    assert_string_equal(peer->password, "secret");
    assert_string_equal(peer->our_mta_name, "MIXGATE");
    assert_string_equal(peer->our_password, "secret");
    assert_null(peer->host);
    assert_string_equal(cfg->global.x400_domain, "/C=XX/ADMD= /PRMD=MIXGATE/");
    const struct config_listener *l = config_find_listener(cfg, "smtp");
    assert_non_null(l);
    assert_int_equal(l->addr.ss_family, AF_INET);
    assert_int_equal(ntohs(((const struct sockaddr_in *)&l->addr)->sin_port), 2525);
    assert_int_equal(l->n_relay_networks, 2);
    assert_int_equal(l->relay_networks[1].family, AF_INET6);
    assert_int_equal(l->relay_networks[1].prefix, 128);
    assert_int_equal(l->max_sessions_per_client, 50);
    assert_int_equal(l->max_message_size, 52428800);
    const struct config_channel *c = config_find_channel(cfg, "local");
    assert_non_null(c);
    assert_string_equal(c->type, "file");
    assert_non_null(cfg->default_route);
    assert_ptr_equal(cfg->default_route->chain[0], c);
    config_free(cfg);
    free(text);
}

static void test_relay_example(void **state)
{
    (void)state;
    char *text = test_read_source("etc/examples/smtp-relay.conf");
    static const char *const env[] = { "MIXGATE_RETRY_MIN", "120", "MIXGATE_RELAY",
                                       "[2001:db8::25]:2626", NULL };
    struct config *cfg = test_load_ok(text, env);
    assert_int_equal(cfg->queue.retry_min, 120);
    assert_int_equal(cfg->queue.delay_warning, 0);
    const struct config_peer *p = config_find_peer(cfg, "smarthost");
    assert_non_null(p);
    assert_string_equal(p->host, "2001:db8::25");
    assert_int_equal(p->port, 2626);
    assert_int_equal(p->starttls, CONFIG_STARTTLS_OPPORTUNISTIC);
    assert_false(p->verify);
    assert_int_equal(p->max_connections, 20);
    assert_ptr_equal(cfg->default_route->peer, p);
    config_free(cfg);
    free(text);
}

/* config_load on the real files (getenv: whatever the test environment has). */
static void test_load_files(void **state)
{
    (void)state;
    const char *dir = getenv("MIXGATE_SOURCE_DIR");
    static const char *const files[] = { "etc/mixgate.conf", "etc/examples/smtp-relay.conf" };
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", files[i]);
        struct config *cfg = NULL;
        struct config_errors errs = { 0 };
        int rc = config_load(path, &cfg, &errs);
        for (size_t k = 0; k < errs.n; k++)
            print_message("%s\n", errs.v[k].text);
        assert_int_equal(rc, 0);
        config_free(cfg);
        config_errors_free(&errs);
    }
    struct config *cfg = (struct config *)1;
    struct config_errors errs = { 0 };
    assert_int_equal(config_load("/nonexistent/mixgate.conf", &cfg, &errs), MG_EIO);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.v[0].text, "/nonexistent/mixgate.conf: cannot read: No such file or directory");
    config_errors_free(&errs);
}

static const char full_text[] =
    "global = {\n"
    "  hostname = \"MX.Example.ORG\";\n"
    "  var_dir = \"/var/lib/mg\";\n"
    "  log = \"syslog\";\n"
    "  log_level = \"debug\";\n"
    "  max_message_size = \"20M\";\n"
    "  control_socket = \"/run/mg.sock\";\n"
    "};\n"
    "queue = { retry_min = \"30s\"; retry_max = \"2h\"; max_lifetime = \"3d\"; delay_warning = \"4h\";\n"
    "  max_active_deliveries = 50; max_messages = 100000; };\n"
    "listeners = (\n"
    "  { name = \"mx\"; protocol = \"smtp\"; listen = \"[::]:25\";\n"
    "    relay_networks = [ \"10.0.0.0/8\", \"2001:db8::/32\" ];\n"
    "    relay_domains = [ \"Partner.example\" ]; local_domains = [ \"example.org\", \".example.org\" ];\n"
    "    max_recipients = 500; max_message_size = \"1G\"; max_line_length = 4096;\n"
    "    max_sessions = 1000; max_sessions_per_client = 10; command_timeout = \"2m\"; data_timeout = 900;\n"
    "    tls = { cert = \"/etc/mg/cert.pem\"; key = \"/etc/mg/key.pem\"; ca = \"/etc/mg/ca.pem\"; require_tls = true; };\n"
    "    smtputf8 = false; },\n"
    "  { name = \"open\"; listen = \"192.0.2.1:2525\"; relay_networks = [ \"0.0.0.0/0\" ]; allow_open_relay = true; }\n"
    ");\n"
    "channels = (\n"
    "  { name = \"local\"; type = \"file\"; directory = \"/var/mail/mg\"; },\n"
    "  { name = \"out\"; type = \"smtp\"; },\n"
    "  { name = \"x400\"; type = \"p1\"; application_context = \"mts-transfer\"; },\n"
    "  { name = \"decrypt\"; type = \"cms\"; operation = \"decrypt\"; },\n"
    "  { name = \"policy\"; type = \"shaper\"; },\n"
    "  { name = \"mix\"; type = \"mixer\"; direction = \"smtp-to-x400\"; }\n"
    ");\n"
    "peers = (\n"
    "  { name = \"hub\"; type = \"smtp\"; host = \"Hub.Example.net:587\"; starttls = \"required\";\n"
    "    ca = \"/etc/ssl/hub.pem\"; cert = \"c\"; key = \"k\"; max_connections = 4;\n"
    "    messages_per_connection = 10; connect_timeout = \"1m\"; },\n"
    "  { name = \"direct\"; type = \"smtp\"; mx = true; starttls = \"none\"; },\n"
    "  { name = \"mta1\"; type = \"x400\"; mta_name = \"MTA-1\"; password = \"s3cret\"; our_mta_name = \"US\";\n"
    "    presentation_address = \"\\\"1\\\"/\\\"1\\\"/\\\"1\\\"/TCP/192.0.2.9+102\"; mode = \"x410-1984\";\n"
    "    clearance = \"NATO SECRET\"; }\n"
    ");\n"
    "routes = (\n"
    "  { recipient = \"Boss@EXAMPLE.org\"; chain = [ \"decrypt\", \"policy\", \"local\" ]; },\n"
    "  { domain = \"example.org\"; chain = [ \"local\" ]; },\n"
    "  { domain_suffix = \".mil.example\"; chain = [ \"policy\", \"mix\", \"x400\" ]; peer = \"mta1\"; },\n"
    "  { pattern = \"*+*@*.Example.net\"; chain = [ \"out\" ]; peer = \"hub\"; },\n"
    "  { default = true; chain = [ \"out\" ]; peer = \"direct\"; }\n"
    ");\n";

static void test_full_config(void **state)
{
    (void)state;
    struct config *cfg = test_load_ok(full_text, no_env);
    const struct config_global *g = &cfg->global;
    assert_string_equal(g->hostname, "mx.example.org");
    assert_int_equal(g->log, CONFIG_LOG_SYSLOG);
    assert_int_equal(g->log_level, MG_LOG_DEBUG);
    assert_int_equal(g->max_message_size, 20 * 1024 * 1024);
    assert_string_equal(g->control_socket, "/run/mg.sock");
    assert_int_equal(cfg->queue.retry_min, 30);
    assert_int_equal(cfg->queue.retry_max, 7200);
    assert_int_equal(cfg->queue.max_lifetime, 3 * 86400);
    assert_int_equal(cfg->queue.max_active_deliveries, 50);
    assert_int_equal(cfg->queue.max_messages, 100000);

    assert_int_equal(cfg->n_listeners, 2);
    const struct config_listener *l = &cfg->listeners[0];
    assert_int_equal(l->line, 12);
    assert_int_equal(l->addr.ss_family, AF_INET6);
    assert_int_equal(l->addrlen, sizeof(struct sockaddr_in6));
    assert_int_equal(ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port), 25);
    assert_int_equal(l->n_relay_networks, 2);
    assert_int_equal(l->relay_networks[1].prefix, 32);
    assert_string_equal(l->relay_domains[0], "partner.example");
    assert_int_equal(l->n_local_domains, 2);
    assert_string_equal(l->local_domains[1], ".example.org");
    assert_int_equal(l->max_recipients, 500);
    assert_int_equal(l->max_message_size, 1024u * 1024 * 1024);
    assert_int_equal(l->max_line_length, 4096);
    assert_int_equal(l->command_timeout, 120);
    assert_int_equal(l->data_timeout, 900);
    assert_string_equal(l->tls.ca, "/etc/mg/ca.pem");
    assert_true(l->tls.require_tls);
    assert_false(l->smtputf8);
    /* The second inherits the global size and defaults. */
    assert_int_equal(cfg->listeners[1].max_message_size, 20 * 1024 * 1024);
    assert_true(cfg->listeners[1].allow_open_relay);
    assert_true(cfg->listeners[1].smtputf8);
    assert_int_equal(cfg->listeners[1].command_timeout, 300);

    assert_int_equal(cfg->n_channels, 6);
    const struct config_channel *p1 = config_find_channel(cfg, "x400");
    assert_string_equal(p1->type, "p1");
    assert_true(p1->delivery);
    const char *ctx = NULL;
    assert_true(config_setting_lookup_string(p1->settings, "application_context", &ctx));
    assert_string_equal(ctx, "mts-transfer");
    assert_false(config_find_channel(cfg, "decrypt")->delivery);
    assert_string_equal(config_find_channel(cfg, "mix")->type, "mixer");

    const struct config_peer *hub = config_find_peer(cfg, "hub");
    assert_string_equal(hub->host, "hub.example.net");
    assert_int_equal(hub->port, 587);
    assert_true(hub->verify); /* the default with starttls = required */
    assert_int_equal(hub->connect_timeout, 60);
    assert_int_equal(hub->messages_per_connection, 10);
    const struct config_peer *direct = config_find_peer(cfg, "direct");
    assert_true(direct->mx);
    assert_null(direct->host);
    assert_int_equal(direct->port, 25);
    const struct config_peer *mta = config_find_peer(cfg, "mta1");
    assert_int_equal(mta->type, CONFIG_PEER_X400);
    assert_int_equal(mta->port, 102);
    assert_string_equal(mta->mta_name, "MTA-1");
    assert_string_equal(mta->password, "s3cret");
    assert_string_equal(mta->presentation_address, "\"1\"/\"1\"/\"1\"/TCP/192.0.2.9+102");
    assert_int_equal(mta->mode, CONFIG_X400_X410_1984);
    assert_string_equal(mta->host, "192.0.2.9");
    assert_string_equal(mta->our_mta_name, "US");
    assert_int_equal(mta->tsel.len, 1);
    assert_int_equal(mta->tsel.v[0], '1');
    assert_int_equal(mta->window, 3);
    assert_int_equal(mta->checkpoint_size, 16);
    assert_string_equal(mta->clearance, "NATO SECRET");

    assert_int_equal(cfg->n_routes, 5);
    assert_string_equal(cfg->routes[0].value, "Boss@example.org");
    assert_int_equal(cfg->routes[0].n_chain, 3);
    assert_string_equal(cfg->routes[3].value, "*+*@*.example.net");
    assert_ptr_equal(cfg->routes[2].peer, mta);
    assert_ptr_equal(cfg->default_route, &cfg->routes[4]);
    assert_null(config_find_peer(cfg, "nope"));
    assert_null(config_find_channel(cfg, NULL));
    config_free(cfg);
}

/* What a processing channel's module does with its options. */
static void test_channel_check_keys(void **state)
{
    (void)state;
    struct config *cfg = test_load_ok(full_text, no_env);
    static const char *const cms_keys[] = { "operation", "certificate", NULL };
    static const char *const other_keys[] = { "operaton", NULL };
    struct config_errors errs = { 0 };
    const struct config_channel *c = config_find_channel(cfg, "decrypt");
    assert_int_equal(config_channel_check_keys(cfg, c, cms_keys, &errs), 0);
    assert_int_equal(errs.n, 0);
    assert_int_equal(config_channel_check_keys(cfg, c, other_keys, &errs), 1);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.v[0].text, "t.conf:25: unknown key 'operation' in channel 'decrypt' "
                                        "(did you mean 'operaton'?)");
    assert_int_equal(config_channel_check_keys(cfg, c, NULL, NULL), 1);
    assert_int_equal(config_channel_check_keys(cfg, NULL, cms_keys, NULL), MG_EINVAL);
    config_errors_free(&errs);
    config_free(cfg);
}

/* The dump is itself a valid configuration that loads to the same thing. */
/* A peer behind a firewall: no address, reached only when it binds to us (two-way alternate);
 * a route may name it, and the dump keeps the setting. */
static void test_inbound_only_peer(void **state)
{
    (void)state;
    static const char text[] =
        "listeners = ( { name = \"x4\"; protocol = \"p1\"; listen = \"127.0.0.1:1102\"; } );\n"
        "channels = ( { name = \"x4\"; type = \"p1\"; } );\n"
        "peers = ( { name = \"hidden\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
        "  dialogue = \"two-way-alternate\"; inbound_only = true; } );\n"
        "routes = ( { or_address = \"/C=GB/\"; chain = [ \"x4\" ]; peer = \"hidden\"; } );\n";
    struct config *cfg = test_load_ok(text, no_env);
    const struct config_peer *p = config_find_peer(cfg, "hidden");
    assert_true(p->inbound_only);
    assert_null(p->host);
    assert_int_equal(p->dialogue, CONFIG_X400_TWA);
    assert_ptr_equal(cfg->routes[0].peer, p);
    char *d = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&d, &n);
    config_dump(cfg, f);
    fclose(f);
    assert_non_null(strstr(d, "inbound_only = true;"));
    struct config *again = test_load_ok(d, no_env);
    assert_true(config_find_peer(again, "hidden")->inbound_only);
    config_free(again);
    config_free(cfg);
    free(d);
}

/* Size limits of peers and delivery channels, and an x400 peer's listener: parsed, dumped,
 * read back. */
static void test_size_limits_and_peer_listener(void **state)
{
    (void)state;
    static const char text[] =
        "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; },\n"
        "  { name = \"x4\"; protocol = \"p1\"; listen = \"127.0.0.1:1102\"; } );\n"
        "channels = ( { name = \"x4\"; type = \"p1\"; max_message_size = \"2M\"; },\n"
        "  { name = \"out\"; type = \"smtp\"; } );\n"
        "peers = ( { name = \"mta\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\";\n"
        "  host = \"127.0.0.1\"; max_message_size = \"64k\"; listener = \"x4\"; },\n"
        "  { name = \"hub\"; type = \"smtp\"; host = \"hub.example\"; max_message_size = 100000; } );\n"
        "routes = ( { or_address = \"/C=GB/\"; chain = [ \"x4\" ]; peer = \"mta\"; },\n"
        "  { default = true; chain = [ \"out\" ]; peer = \"hub\"; } );\n";
    struct config *cfg = test_load_ok(text, no_env);
    assert_int_equal(config_find_peer(cfg, "mta")->max_message_size, 65536);
    assert_string_equal(config_find_peer(cfg, "mta")->listener, "x4");
    assert_int_equal(config_find_peer(cfg, "hub")->max_message_size, 100000);
    assert_int_equal(cfg->channels[0].max_message_size, 2u * 1024 * 1024);
    assert_int_equal(cfg->channels[1].max_message_size, 0);
    char *d = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&d, &n);
    config_dump(cfg, f);
    fclose(f);
    struct config *again = test_load_ok(d, no_env);
    assert_int_equal(config_find_peer(again, "mta")->max_message_size, 65536);
    assert_string_equal(config_find_peer(again, "mta")->listener, "x4");
    assert_int_equal(config_find_peer(again, "hub")->max_message_size, 100000);
    assert_int_equal(again->channels[0].max_message_size, 2u * 1024 * 1024);
    config_free(again);
    config_free(cfg);
    free(d);
}

static void test_dump_roundtrip(void **state)
{
    (void)state;
    struct config *cfg = test_load_ok(full_text, no_env);
    char *d1 = NULL, *d2 = NULL;
    size_t n1 = 0, n2 = 0;
    FILE *f = open_memstream(&d1, &n1);
    config_dump(cfg, f);
    fclose(f);
    assert_null(strstr(d1, "s3cret"));
    assert_non_null(strstr(d1, "password = \"********\""));
    /* The processing channels' own options are not in the dump: add nothing for them. */
    struct config *again = test_load_ok(d1, no_env);
    f = open_memstream(&d2, &n2);
    config_dump(again, f);
    fclose(f);
    /* Only the first line (which names the source) differs. */
    assert_string_equal(strchr(d1, '\n'), strchr(d2, '\n'));
    config_free(again);
    config_free(cfg);
    free(d1);
    free(d2);
}

/* ---- notations ----------------------------------------------------------------------- */

struct notation_case {
    const char *name;
    int kind;                  /* 0 duration, 1 size */
    const char *in;
    int rc;
    uint64_t want;
};

static const struct notation_case notation_cases[] = {
    { "duration_plain", 0, "90", 0, 90 },
    { "duration_seconds", 0, "30s", 0, 30 },
    { "duration_minutes", 0, "5m", 0, 300 },
    { "duration_hours", 0, "4h", 0, 14400 },
    { "duration_days", 0, "5d", 0, 432000 },
    { "duration_zero", 0, "0", 0, 0 },
    { "duration_empty", 0, "", MG_EINVAL, 0 },
    { "duration_only_suffix", 0, "m", MG_EINVAL, 0 },
    { "duration_bad_suffix", 0, "5w", MG_EINVAL, 0 },
    { "duration_negative", 0, "-5", MG_EINVAL, 0 },
    { "duration_space", 0, "5 m", MG_EINVAL, 0 },
    { "duration_overflow", 0, "99999999999999999999999d", MG_ETOOBIG, 0 },
    { "size_plain", 1, "1000", 0, 1000 },
    { "size_k", 1, "512k", 0, 524288 },
    { "size_K", 1, "2K", 0, 2048 },
    { "size_M", 1, "50M", 0, 52428800 },
    { "size_G", 1, "1G", 0, 1073741824 },
    { "size_bad_suffix", 1, "1T", MG_EINVAL, 0 },
    { "size_two_suffixes", 1, "1kB", MG_EINVAL, 0 },
    { "size_overflow", 1, "18446744073709551615G", MG_ETOOBIG, 0 },
};

static void run_notation_case(void **state)
{
    const struct notation_case *c = *state;
    uint64_t v = 12345;
    int rc = c->kind == 0 ? config_parse_duration(c->in, UINT64_MAX, &v)
                          : config_parse_size(c->in, UINT64_MAX, &v);
    assert_int_equal(rc, c->rc);
    if (rc == 0)
        assert_int_equal(v, c->want);
    else
        assert_int_equal(v, 12345);
}

struct cidr_case {
    const char *name;
    const char *in;
    int rc;
    int family;
    unsigned prefix;
};

static const struct cidr_case cidr_cases[] = {
    { "v4_net", "192.0.2.0/24", 0, AF_INET, 24 },
    { "v4_host", "192.0.2.7", 0, AF_INET, 32 },
    { "v4_all", "0.0.0.0/0", 0, AF_INET, 0 },
    { "v6_net", "2001:db8::/32", 0, AF_INET6, 32 },
    { "v6_host", "::1", 0, AF_INET6, 128 },
    { "v4_prefix_too_long", "10.0.0.0/33", MG_EINVAL, 0, 0 },
    { "v6_prefix_too_long", "::/129", MG_EINVAL, 0, 0 },
    { "host_bits", "10.0.0.1/8", MG_EINVAL, 0, 0 },
    { "empty_prefix", "10.0.0.0/", MG_EINVAL, 0, 0 },
    { "garbage", "ten.0.0.0/8", MG_EINVAL, 0, 0 },
    { "signed_prefix", "10.0.0.0/+8", MG_EINVAL, 0, 0 },
    { "empty", "", MG_EINVAL, 0, 0 },
};

static void run_cidr_case(void **state)
{
    const struct cidr_case *c = *state;
    struct config_cidr out;
    memset(&out, 0, sizeof out);
    assert_int_equal(config_parse_cidr(c->in, &out), c->rc);
    if (c->rc == 0) {
        assert_int_equal(out.family, c->family);
        assert_int_equal(out.prefix, c->prefix);
    }
}

/* ---- channel options, checked by each kind (the registry of this build) ---------------- */

#define KIND_BASE                                                                           \
    "listeners = ( { name = \"in\"; listen = \"127.0.0.1:25\"; } );\n"                      \
    "peers = ( { name = \"p\"; type = \"smtp\"; mx = true; } );\n"

static const struct err_case kind_cases[] = {
    { "file_without_directory",
      KIND_BASE "channels = (\n { name = \"local\"; type = \"file\"; } );\n" DEF_ROUTE,
      true, { { 4, "channel 'local': a file channel needs 'directory'" } }, 1 },
    { "file_option_misspelled",
      KIND_BASE "channels = (\n { name = \"local\"; type = \"file\";\n directry = \"/d\"; } );\n" DEF_ROUTE,
      true, { { 5, "unknown key 'directry' in channel 'local' (did you mean 'directory'?)" },
              { 4, "a file channel needs 'directory'" } }, 2 },
    { "file_directory_empty",
      KIND_BASE "channels = (\n { name = \"local\"; type = \"file\";\n directory = \"\"; } );\n" DEF_ROUTE,
      true, { { 5, "'directory' must be a non-empty string" } }, 1 },
    { "smtp_option_misspelled",
      KIND_BASE "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; },\n"
      " { name = \"out\"; type = \"smtp\";\n concurency = 4; } );\n" DEF_ROUTE,
      true, { { 5, "unknown key 'concurency' in channel 'out' (did you mean 'concurrency'?)" } }, 1 },
    { "concurrency_range",
      KIND_BASE "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\";\n concurrency = 0; } );\n"
      DEF_ROUTE, true, { { 4, "'concurrency' = 0 is out of range (1..10000)" } }, 1 },
    { "kind_not_in_build",
      KIND_BASE "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; },\n"
      " { name = \"x\"; type = \"gateway\"; } );\n" DEF_ROUTE,
      true, { { 4, "unknown type 'gateway' (this build has: file, smtp, rules" } }, 1 },
    { "mixer_options_checked",
      KIND_BASE "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; },\n"
      " { name = \"x\"; type = \"mixer\"; } );\n" DEF_ROUTE,
      true, { { 4, "domain (the Internet domain of X.400 users) is required" },
              { 4, "or_address (the O/R address of Internet users" } }, 2 },
};

static void run_kind_case(void **state)
{
    const struct err_case *c = *state;
    struct config *cfg = (struct config *)1;
    struct config_errors errs = { 0 };
    int rc = channels_config_load_text("t.conf", c->text, strlen(c->text), test_env,
                                       (void *)no_env, &cfg, &errs);
    bool ok = rc == MG_ECONFIG && cfg == NULL && errs.n == c->n;
    for (size_t i = 0; ok && i < c->n; i++) {
        bool found = false;   /* the kinds report in their own order; lines are sorted */
        for (size_t k = 0; k < errs.n; k++)
            found |= errs.v[k].line == c->errs[i].line && strstr(errs.v[k].message, c->errs[i].contains);
        ok = found;
    }
    if (!ok) {
        print_message("rc=%d, %zu errors:\n", rc, errs.n);
        for (size_t i = 0; i < errs.n; i++)
            print_message("  %s\n", errs.v[i].text);
    }
    config_errors_free(&errs);
    assert_true(ok);
}

/* Every shipped configuration loads with every channel's options checked. */
static void test_shipped_with_registry(void **state)
{
    (void)state;
    const char *dir = getenv("MIXGATE_SOURCE_DIR");
    static const char *const files[] = { "etc/mixgate.conf", "etc/examples/smtp-relay.conf",
                                         "etc/examples/x400-relay.conf" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", files[i]);
        struct config *cfg = NULL;
        struct config_errors errs = { 0 };
        int rc = channels_config_load(path, &cfg, &errs);
        if (i == 2 && rc == 0) {
            /* every O/R recipient goes over P1 to the peer, in the default mode, no TSEL */
            const struct config_route *r = NULL;
            assert_int_equal(route_lookup(cfg, "/C=GB/ADMD= /PRMD=X/S=y/", &r), 0);
            assert_string_equal(r->chain[0]->type, "p1");
            assert_non_null(r->peer);
            assert_int_equal(r->peer->mode, CONFIG_X400_1988_NORMAL);
            assert_int_equal(r->peer->tsel.len, 0);
            assert_int_equal(r->peer->port, 1103);
            assert_int_equal(route_lookup(cfg, "someone@example.org", &r), 0);
            assert_string_equal(r->chain[0]->type, "file");
        }
        for (size_t k = 0; k < errs.n; k++)
            print_message("%s\n", errs.v[k].text);
        assert_int_equal(rc, 0);
        if (i == 0) {
            const struct config_channel *c = config_find_channel(cfg, "local");
            assert_non_null(c->kind);
            assert_non_null(strstr(file_transport_directory(c), "/deliver"));
        }
        config_free(cfg);
        config_errors_free(&errs);
    }
}

int main(void)
{
    int failed_ = 0;
    static const struct CMUnitTest good[] = {
        cmocka_unit_test(test_default_config),
        cmocka_unit_test(test_relay_example),
        cmocka_unit_test(test_load_files),
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_channel_check_keys),
        cmocka_unit_test(test_dump_roundtrip),
        cmocka_unit_test(test_inbound_only_peer),
        cmocka_unit_test(test_size_limits_and_peer_listener),
        cmocka_unit_test(test_shipped_with_registry),
    };
    failed_ += cmocka_run_group_tests_name("config_good", good, NULL, NULL);
    RUN_CASES("config_errors", err_cases, run_err_case);
    RUN_CASES("config_channel_kinds", kind_cases, run_kind_case);
    RUN_CASES("config_notation", notation_cases, run_notation_case);
    RUN_CASES("config_cidr", cidr_cases, run_cidr_case);
    return failed_ ? 1 : 0;
}
