/* Tests of oraddr (RFC 2156 textual O/R addresses: parse, canonical form, matching) and of the
 * OSI address notations of the x400 configuration (config_parse_sel, config_parse_paddr). */
#include "config_test_util.h"

#include "oraddr.h"

struct norm_case {
    const char *name;
    const char *in;
    int rc;                    /* 0 or the MG_E* expected */
    const char *out;           /* canonical form when rc == 0 */
};

#define EQ100 "===================================================================================================="

static const struct norm_case norm_cases[] = {
    { "slash_form", "/C=GB/ADMD= /PRMD=SMHS/O=MOD/S=Smith/", 0, "/C=GB/ADMD= /PRMD=SMHS/O=MOD/S=Smith/" },
    { "reorder", "/S=Smith/G=John/O=MOD/PRMD=SMHS/ADMD=BT/C=GB/", 0,
      "/C=GB/ADMD=BT/PRMD=SMHS/O=MOD/S=Smith/G=John/" },
    { "semicolon_form", "G=John;S=Smith;O=MOD;P=SMHS;A= ;C=GB", 0,
      "/C=GB/ADMD= /PRMD=SMHS/O=MOD/S=Smith/G=John/" },
    { "empty_admd_is_space", "/C=GB/ADMD=/PRMD=X/", 0, "/C=GB/ADMD= /PRMD=X/" },
    { "ou_numbered_keep_order", "/C=GB/ADMD= /O=A/OU1=B/OU2=C/S=x/", 0, "/C=GB/ADMD= /O=A/OU=B/OU=C/S=x/" },
    { "keyword_case", "/c=GB/admd=X/prmd=Y/", 0, "/C=GB/ADMD=X/PRMD=Y/" },
    { "dda", "/C=GB/ADMD= /DDA:RFC-822=user(a)example.org/", 0, "/C=GB/ADMD= /DD.RFC-822=user(a)example.org/" },
    { "dd_dot_form", "/C=GB/ADMD= /dd.Id=7/", 0, "/C=GB/ADMD= /DD.Id=7/" },
    { "c_without_admd", "/C=GB/PRMD=X/S=y/", 0, "/C=GB/ADMD= /PRMD=X/S=y/" },
    { "q_is_gq", "/C=GB/S=x/Q=Jr/", 0, "/C=GB/ADMD= /S=x/GQ=Jr/" },
    { "escaped_slash", "/C=GB/ADMD= /O=A$/B/", 0, "/C=GB/ADMD= /O=A$/B/" },
    { "trim_blanks", "/ C = GB / ADMD = X /", 0, "/C=GB/ADMD=X/" },
    /* found by fuzzing (oraddr, issue 14): the canonical form did not escape a domain-defined
     * type, nor blanks at either end of a value, so it read back as something else */
    { "dd_type_escaped", "/C=GB/ADMD= /DDA:a$/b$=c=v/", 0, "/C=GB/ADMD= /DD.a$/b$=c=v/" },
    { "escaped_edge_blanks", "/C=GB/ADMD= /O=$ A$ /", 0, "/C=GB/ADMD= /O=$ A$ /" },
    { "dd_type_edge_blank", "/C=GB/ADMD= /DD.$ t=v/", 0, "/C=GB/ADMD= /DD.$ t=v/" },
    /* and a form its escapes make longer than the parser takes is refused, not written */
    { "escapes_past_text_max", "/C=GB/O=" EQ100 "/OU=" EQ100 "/OU=" EQ100 "/OU=" EQ100 "/OU=" EQ100 "/",
      MG_ETOOBIG, NULL },
    { "no_trailing_slash", "/C=GB/ADMD=X", 0, "/C=GB/ADMD=X/" },
    { "unknown_keyword", "/C=GB/ZZ=1/", MG_EPARSE, NULL },
    { "no_equals", "/C=GB/ADMD/", MG_EPARSE, NULL },
    { "empty_value", "/C=GB/O=/", MG_EPARSE, NULL },
    { "nothing", "/", MG_EPARSE, NULL },
    { "control_char", "/C=GB/O=a\tb/", MG_EPARSE, NULL },
    { "value_too_long", "/C=GB/O=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/",
      MG_ETOOBIG, NULL },
};

static void run_norm(void **state)
{
    const struct norm_case *c = *state;
    char buf[ORADDR_TEXT_MAX + 64], err[128] = "";
    int rc = oraddr_normalize(c->in, buf, sizeof buf, err, sizeof err);
    if (rc != c->rc)
        print_message("%s: rc %d (%s)\n", c->in, rc, err);
    assert_int_equal(rc, c->rc);
    if (rc == 0) {
        assert_string_equal(buf, c->out);
        /* the canonical form reads back as itself */
        char again[sizeof buf];
        assert_int_equal(oraddr_normalize(buf, again, sizeof again, err, sizeof err), 0);
        assert_string_equal(again, buf);
    } else {
        assert_true(err[0] != '\0');
    }
}

struct match_case {
    const char *name;
    const char *rule, *addr;
    bool want;
};

static const struct match_case match_cases[] = {
    { "prefix", "/C=GB/ADMD= /PRMD=SMHS/", "/C=GB/ADMD= /PRMD=SMHS/O=x/S=y/", true },
    { "value_case", "/C=gb/ADMD= /PRMD=smhs/", "/C=GB/ADMD= /PRMD=SMHS/S=y/", true },
    { "missing_attr", "/C=GB/ADMD= /PRMD=SMHS/", "/C=GB/ADMD= /S=y/", false },
    { "different_value", "/C=GB/ADMD= /PRMD=SMHS/", "/C=GB/ADMD= /PRMD=SMH/S=y/", false },
    { "admd_space_vs_name", "/C=GB/ADMD= /", "/C=GB/ADMD=BT/", false },
    { "ou_prefix", "/C=GB/O=A/OU=B/", "/C=GB/O=A/OU=B/OU=C/", true },
    { "ou_position", "/C=GB/O=A/OU=C/", "/C=GB/O=A/OU=B/OU=C/", false },
    { "dda", "/C=GB/DDA:ID=7/", "/C=GB/ADMD=X/DD.ID=7/", true },
};

static void run_match(void **state)
{
    const struct match_case *c = *state;
    struct oraddr r, a;
    assert_int_equal(oraddr_parse_rule(c->rule, &r, NULL, 0), 0);
    assert_int_equal(oraddr_parse(c->addr, &a, NULL, 0), 0);
    assert_int_equal(oraddr_matches(&r, &a), c->want);
}

struct paddr_case {
    const char *name;
    const char *in;
    int rc;
    const char *psel, *ssel, *tsel; /* as hex */
    const char *host;
    unsigned port;
};

static const struct paddr_case paddr_cases[] = {
    { "three_text_tcp", "\"1\"/\"1\"/\"1\"/TCP/192.0.2.9+102", 0, "31", "31", "31", "192.0.2.9", 102 },
    { "hex_tsel_internet", "'0101'H/Internet=mta.example+1102", 0, "", "", "0101", "mta.example", 1102 },
    { "numeric_tsel", "#259/IP=127.0.0.1+102", 0, "", "", "0103", "127.0.0.1", 102 },
    { "ssel_tsel_rfc1006", "\"s\"/\"t\"/RFC-1006+03+10.0.0.1+102", 0, "", "73", "74", "10.0.0.1", 102 },
    { "empty_selectors", "///TCP/h.example", 0, "", "", "", "h.example", 0 },
    { "host_colon_port", "\"t\"/h.example:1102", 0, "", "", "74", "h.example", 1102 },
    { "selectors_only", "\"p\"/\"s\"/\"t\"/", 0, "70", "73", "74", NULL, 0 },
    { "bad_hex", "'0G'H/TCP/h+102", MG_EINVAL, NULL, NULL, NULL, NULL, 0 },
    { "odd_hex", "'010'H/TCP/h+102", MG_EINVAL, NULL, NULL, NULL, NULL, 0 },
    { "bad_port", "\"t\"/TCP/h+70000", MG_EINVAL, NULL, NULL, NULL, NULL, 0 },
    { "unterminated", "\"t/TCP/h+102", MG_EINVAL, NULL, NULL, NULL, NULL, 0 },
    { "empty", "", MG_EINVAL, NULL, NULL, NULL, NULL, 0 },
};

static void hex(const struct config_sel *s, char *buf)
{
    for (size_t i = 0; i < s->len; i++)
        sprintf(buf + 2 * i, "%02X", s->v[i]);
    buf[2 * s->len] = '\0';
}

static void run_paddr(void **state)
{
    const struct paddr_case *c = *state;
    struct config_sel p, s, t;
    char *host = NULL;
    uint16_t port = 0;
    int rc = config_parse_paddr(c->in, &p, &s, &t, &host, &port);
    assert_int_equal(rc, c->rc);
    if (rc == 0) {
        char b[2 * CONFIG_SEL_MAX + 1];
        hex(&p, b);
        assert_string_equal(b, c->psel);
        hex(&s, b);
        assert_string_equal(b, c->ssel);
        hex(&t, b);
        assert_string_equal(b, c->tsel);
        if (c->host)
            assert_string_equal(host, c->host);
        else
            assert_null(host);
        assert_int_equal(port, c->port);
    }
    free(host);
}

int main(void)
{
    int failed_ = 0;
    RUN_CASES("oraddr_normalize", norm_cases, run_norm);
    RUN_CASES("oraddr_matches", match_cases, run_match);
    RUN_CASES("config_parse_paddr", paddr_cases, run_paddr);
    return failed_ ? 1 : 0;
}
