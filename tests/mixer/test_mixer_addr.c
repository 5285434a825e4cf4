/* Tests of mixer_ps, mixer_or, mixer_table and mixer_addr: RFC 2156's own examples (3.4
 * ps-encoding, 4.1 textual O/R addresses, 4.2 MCGAMs, 4.3 mappings) as golden TSV files in
 * test-vectors/mixer/addr, table errors with file:line, and the real PP tables
 * (shared vectors mixer/) mapped entry by entry both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mg_buf.h"
#include "mg_err.h"
#include "mixer_addr.h"
#include "mixer_env.h"
#include "mixer_or.h"
#include "mixer_ps.h"
#include "mixer_table.h"

static const char *src_dir(void)
{
    const char *s = getenv("MIXGATE_SOURCE_DIR");
    return s && *s ? s : ".";
}

static char *slurp(const char *path, size_t *len)
{
    unsigned char *data = NULL;
    size_t l = 0;
    if (mg_read_file(path, 0, &data, &l) != 0)
        return NULL;
    if (len)
        *len = l;
    return (char *)data;
}

static char *vec_path(const char *rel)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/test-vectors/mixer/%s", src_dir(), rel);
    return buf;
}

static void load_table(struct mixer_tables *t, enum mixer_table_kind k, const char *path)
{
    size_t len = 0;
    char err[256] = "";
    char *text = slurp(path, &len);
    assert_non_null(text);
    int rc = mixer_tables_load(t, k, path, text, len, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    free(text);
}

static void gw_init(struct mixer_gw *gw, const struct mixer_tables *t)
{
    memset(gw, 0, sizeof *gw);
    gw->tables = t;
    snprintf(gw->domain, sizeof gw->domain, "x400.example");
    const char *o = "/C=GB/ADMD= /PRMD=Example/O=MIXER/";
    assert_int_equal(mixer_or_parse(o, strlen(o), &gw->or, NULL, 0), 0);
}

/* Iterate the TAB-separated lines of a golden file: fn(fields, nfields, line). */
typedef void (*row_fn)(char **f, int nf, int line, void *ctx);
static int each_row(const char *path, row_fn fn, void *ctx)
{
    size_t len = 0;
    char *text = slurp(path, &len);
    int rows = 0, line = 0;
    assert_non_null(text);
    for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        line++;
        if (*p == '#' || *p == 0)
            continue;
        char *f[4] = {0};
        int nf = 0;
        for (char *q = p; q && nf < 4;) {
            f[nf++] = q;
            q = strchr(q, '\t');
            if (q)
                *q++ = 0;
        }
        fn(f, nf, line, ctx);
        rows++;
    }
    free(text);
    return rows;
}

/* ---- ps-encoding (RFC 2156 3.4 examples) ---- */
static void test_ps_examples(void **state)
{
    (void)state;
    static const struct {
        const char *ps, *ascii;
        int both; /* 1: both ways; 0: ps -> ascii only */
    } cases[] = {
        {"a demo.", "a demo.", 1}, {"foo(a)bar", "foo@bar", 1}, {"(q)(u)(p)(q)", "\"_%\"", 1},
        {"(a)", "@", 1},           {"(A)", "@", 0},             {"(l)a(r)", "(a)", 1},
        {"(126)", "~", 1},         {"(", "(", 0},               {"(l)", "(", 1},
        {"(b)x", "!x", 1},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(mixer_ps_decode(cases[i].ps, strlen(cases[i].ps), buf, sizeof buf), 0);
        assert_string_equal(buf, cases[i].ascii);
        if (cases[i].both) {
            assert_int_equal(mixer_ps_encode(cases[i].ascii, strlen(cases[i].ascii), buf,
                                             sizeof buf), 0);
            assert_string_equal(buf, cases[i].ps);
        }
    }
    assert_int_equal(mixer_ps_decode("a@b", 3, buf, sizeof buf), MG_EPARSE);
    assert_int_equal(mixer_ps_decode("(128)", 5, buf, sizeof buf), MG_EPARSE);
    assert_int_equal(mixer_ps_encode("\xc3\xa9", 2, buf, sizeof buf), MG_EINVAL);
    assert_int_equal(mixer_ps_encode("@@@@", 4, buf, 8), MG_ETOOBIG);
    assert_true(mixer_ps_is_domain_label("R-D", 3));
    assert_false(mixer_ps_is_domain_label("-RD", 3));
    assert_false(mixer_ps_is_domain_label("a b", 3));
}

/* ---- textual O/R addresses ---- */
static void or_text_row(char **f, int nf, int line, void *ctx)
{
    struct mixer_or or;
    char why[128] = "", out[1024];
    (void)ctx;
    if (nf != 2)
        fail_msg("or-text.tsv:%d: two fields expected", line);
    int rc = mixer_or_parse(f[0], strlen(f[0]), &or, why, sizeof why);
    if (strcmp(f[1], "ERROR") == 0) {
        if (rc == 0)
            fail_msg("or-text.tsv:%d: %s parsed but should fail", line, f[0]);
        assert_true(why[0] != 0);
        return;
    }
    if (rc)
        fail_msg("or-text.tsv:%d: %s: %s", line, f[0], why);
    assert_int_equal(mixer_or_print(&or, out, sizeof out), 0);
    if (strcmp(out, f[1]) != 0)
        fail_msg("or-text.tsv:%d: got %s, want %s", line, out, f[1]);
    /* the output form parses back to itself */
    struct mixer_or again;
    char out2[1024];
    assert_int_equal(mixer_or_parse(out, strlen(out), &again, NULL, 0), 0);
    assert_int_equal(mixer_or_print(&again, out2, sizeof out2), 0);
    assert_string_equal(out, out2);
}

static void test_or_text(void **state)
{
    (void)state;
    assert_true(each_row(vec_path("addr/or-text.tsv"), or_text_row, NULL) >= 25);
}

static void test_encoded_pn(void **state)
{
    (void)state;
    static const struct {
        const char *pn, *g, *i, *s;
    } cases[] = {
        {"Marshall.Rose", "Marshall", NULL, "Rose"},
        {"M.T.Rose", NULL, "MT", "Rose"},
        {"Marshall.M.T.Rose", "Marshall", "MT", "Rose"},
        {"Rose", NULL, NULL, "Rose"},
        {"Jo.St.Clair", "Jo", NULL, "St.Clair"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct mixer_or or;
        char out[128];
        mixer_or_init(&or);
        assert_int_equal(mixer_or_pn_parse(cases[k].pn, strlen(cases[k].pn), &or), 0);
        const char *g = mixer_or_get(&or, MIXER_OR_G, 0), *i = mixer_or_get(&or, MIXER_OR_I, 0);
        if (cases[k].g)
            assert_string_equal(g, cases[k].g);
        else
            assert_null(g);
        if (cases[k].i)
            assert_string_equal(i, cases[k].i);
        else
            assert_null(i);
        assert_string_equal(mixer_or_get(&or, MIXER_OR_S, 0), cases[k].s);
        if (strcmp(cases[k].pn, "Jo.St.Clair") != 0) {
            assert_int_equal(mixer_or_pn_print(&or, out, sizeof out), 0);
            assert_string_equal(out, cases[k].pn);
        }
    }
    /* restrictions of 4.1.2: no generation qualifier, given >= 2, initials letters */
    struct mixer_or or;
    char out[64];
    const char *s = "/G=J/S=Rose/";
    assert_int_equal(mixer_or_parse(s, strlen(s), &or, NULL, 0), 0);
    assert_int_equal(mixer_or_pn_print(&or, out, sizeof out), MG_ENOTSUP);
    s = "/G=Jo/S=Rose/GQ=Jr/";
    assert_int_equal(mixer_or_parse(s, strlen(s), &or, NULL, 0), 0);
    assert_int_equal(mixer_or_pn_print(&or, out, sizeof out), MG_ENOTSUP);
    s = "/S=St.Clair/";
    assert_int_equal(mixer_or_parse(s, strlen(s), &or, NULL, 0), 0);
    assert_int_equal(mixer_or_pn_print(&or, out, sizeof out), MG_ENOTSUP);
    mixer_or_init(&or);
    assert_int_equal(mixer_or_pn_parse("a@b", 3, &or), MG_EPARSE);
    assert_int_equal(mixer_or_pn_parse("Jo.", 3, &or), MG_EPARSE);
}

/* An encoded-pn with more initials than X.411's ub-initials (5) is not a personal name: the
 * 822 -> O/R mapping then encodes the address another way (RFC-822 DDA), and what it makes
 * prints and parses back (found by the mixer_addr fuzz target: six initials gave /I=MlMTlM/,
 * which mixer_or_parse refuses). */
static void test_pn_initials_bound(void **state)
{
    (void)state;
    static const struct {
        const char *name, *pn;
        int rc;
        const char *i;
    } pn_cases[] = {
        {"five initials", "A.B.C.D.E.Rose", 0, "ABCDE"},
        {"given and five initials", "Jo.A.B.C.D.E.Rose", 0, "ABCDE"},
        {"six initials", "A.B.C.D.E.F.Rose", MG_EPARSE, NULL},
        {"given and six initials", "oACl.M.l.M.T.l.M.UK.C=G", MG_EPARSE, NULL},
        {"seven initials", "A.B.C.D.E.F.G.Rose", MG_EPARSE, NULL},
    };
    for (size_t k = 0; k < sizeof pn_cases / sizeof pn_cases[0]; k++) {
        struct mixer_or or;
        mixer_or_init(&or);
        int rc = mixer_or_pn_parse(pn_cases[k].pn, strlen(pn_cases[k].pn), &or);
        if (rc != pn_cases[k].rc)
            fail_msg("%s: rc %d, expected %d", pn_cases[k].name, rc, pn_cases[k].rc);
        if (pn_cases[k].i)
            assert_string_equal(mixer_or_get(&or, MIXER_OR_I, 0), pn_cases[k].i);
    }
    static const struct {
        const char *name, *addr;
        enum mixer_addr_how how;
    } map_cases[] = {
        {"five initials map as a personal name", "A.B.C.D.E.Rose@AC.UK", MIXER_ADDR_MCGAM},
        {"six initials go in a DDA", "A.B.C.D.E.F.Rose@AC.UK", MIXER_ADDR_DDA},
        {"fuzz reproducer", "oACl.M.l.M.T.l.M.UK.C=G@AC.UK", MIXER_ADDR_DDA},
    };
    struct mixer_tables t;
    mixer_tables_init(&t);
    load_table(&t, MIXER_TABLE_RFC2OR, vec_path("tables/rfc2or"));
    struct mixer_gw gw;
    gw_init(&gw, &t);
    for (size_t k = 0; k < sizeof map_cases / sizeof map_cases[0]; k++) {
        struct mixer_or or, again;
        enum mixer_addr_how how;
        char why[256] = "", out[2048];
        const char *a = map_cases[k].addr;
        if (mixer_addr_to_or(&gw, a, strlen(a), &or, &how, why, sizeof why) != 0)
            fail_msg("%s: %s", map_cases[k].name, why);
        if (how != map_cases[k].how)
            fail_msg("%s: mapped by %s", map_cases[k].name, mixer_addr_how_name(how));
        assert_int_equal(mixer_or_print(&or, out, sizeof out), 0);
        if (mixer_or_parse(out, strlen(out), &again, why, sizeof why) != 0)
            fail_msg("%s: %s does not parse back: %s", map_cases[k].name, out, why);
    }
    mixer_tables_free(&t);
}

/* ---- mappings ---- */
struct map_ctx {
    struct mixer_gw gw;
    int to_or; /* direction */
    const char *file;
};

static void map_row(char **f, int nf, int line, void *vctx)
{
    struct map_ctx *c = vctx;
    char why[256] = "", out[2048];
    enum mixer_addr_how how;
    int rc;
    if (nf < 2)
        fail_msg("%s:%d: fields expected", c->file, line);
    if (c->to_or) {
        struct mixer_or or;
        rc = mixer_addr_to_or(&c->gw, f[0], strlen(f[0]), &or, &how, why, sizeof why);
        if (!rc)
            assert_int_equal(mixer_or_print(&or, out, sizeof out), 0);
    } else {
        struct mixer_or in;
        char pwhy[128] = "";
        if (mixer_or_parse(f[0], strlen(f[0]), &in, pwhy, sizeof pwhy) != 0)
            fail_msg("%s:%d: input does not parse: %s", c->file, line, pwhy);
        rc = mixer_addr_to_822(&c->gw, &in, out, sizeof out, &how, why, sizeof why);
    }
    if (strcmp(f[1], "ERROR") == 0) {
        if (rc == 0)
            fail_msg("%s:%d: %s mapped to %s but should fail", c->file, line, f[0], out);
        assert_true(why[0] != 0);
        return;
    }
    if (rc)
        fail_msg("%s:%d: %s: %s (%s)", c->file, line, f[0], why, mg_errname(rc));
    if (strcmp(out, f[1]) != 0)
        fail_msg("%s:%d: %s: got %s, want %s", c->file, line, f[0], out, f[1]);
    if (nf > 2 && strcmp(mixer_addr_how_name(how), f[2]) != 0)
        fail_msg("%s:%d: mapped by %s, want %s", c->file, line, mixer_addr_how_name(how), f[2]);
}

static void test_map_golden(void **state)
{
    struct mixer_tables t;
    struct map_ctx c;
    (void)state;
    mixer_tables_init(&t);
    load_table(&t, MIXER_TABLE_RFC2OR, vec_path("tables/rfc2or"));
    load_table(&t, MIXER_TABLE_OR2RFC, vec_path("tables/or2rfc"));
    load_table(&t, MIXER_TABLE_GATE1, vec_path("tables/gate1"));
    load_table(&t, MIXER_TABLE_GATE2, vec_path("tables/gate2"));
    assert_int_equal(mixer_tables_check(&t, NULL, 0), 0);
    gw_init(&c.gw, &t);
    c.to_or = 1;
    c.file = "to-or.tsv";
    assert_true(each_row(vec_path("addr/to-or.tsv"), map_row, &c) >= 16);
    c.to_or = 0;
    c.file = "to-822.tsv";
    assert_true(each_row(vec_path("addr/to-822.tsv"), map_row, &c) >= 15);
    mixer_tables_free(&t);
}

/* Every 822 -> O/R result of to-or.tsv maps back to an equivalent 822 address. */
static void test_round_trip(void **state)
{
    struct mixer_tables t;
    struct mixer_gw gw;
    (void)state;
    mixer_tables_init(&t);
    load_table(&t, MIXER_TABLE_RFC2OR, vec_path("tables/rfc2or"));
    load_table(&t, MIXER_TABLE_OR2RFC, vec_path("tables/or2rfc"));
    gw_init(&gw, &t);
    static const char *const addrs[] = {
        "Marshall.M.T.Rose@R-D.Salford.AC.UK", "someone@ZI.HNE.EGM", "user@host.GMD.DE",
        "Tom_Harris@cs.widget.com", "\"x  y\"@AC.UK", "\"/CN=Jo Bloggs/\"@Salford.AC.UK",
    };
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        struct mixer_or or;
        char back[1024], why[128] = "";
        assert_int_equal(mixer_addr_to_or(&gw, addrs[i], strlen(addrs[i]), &or, NULL, why,
                                          sizeof why), 0);
        assert_int_equal(mixer_addr_to_822(&gw, &or, back, sizeof back, NULL, why, sizeof why),
                         0);
        if (strcasecmp(back, addrs[i]) != 0)
            fail_msg("%s came back as %s", addrs[i], back);
    }
    mixer_tables_free(&t);
}

/* ---- table loader errors ---- */
static void test_table_errors(void **state)
{
    (void)state;
    static const struct {
        enum mixer_table_kind k;
        const char *text;
        const char *err; /* expected prefix "name:line" and a word of the reason */
    } cases[] = {
        {MIXER_TABLE_RFC2OR, "# c\nok.example#O$x.ADMD$ .C$GB#\nbad_domain#C$GB#\n",
         "t:3: \"bad_domain\" is not a domain"},
        {MIXER_TABLE_RFC2OR, "a.example#O$x.ADMD$ .C$GB\n", "t:1: expected \"left#right#\""},
        {MIXER_TABLE_RFC2OR, "a.example#O$x.C$GB.ADMD$ #\n", "t:1: attribute out of hierarchy"},
        {MIXER_TABLE_RFC2OR, "a.example#S$x.ADMD$ .C$GB#\n", "t:1: attribute out of hierarchy"},
        {MIXER_TABLE_RFC2OR, "a.example#~ROLE$x.ADMD$ATT.C$US#\n", "t:1: domain-defined"},
        {MIXER_TABLE_RFC2OR, "a.example#O$x@y.ADMD$ .C$GB#\n", "t:1: value outside"},
        {MIXER_TABLE_RFC2OR, "a.example#O$x.ADMD$ #\n", "t:1: an entry needs a country"},
        {MIXER_TABLE_OR2RFC, "C$GB\n", "t:1: expected \"domain#or#\""},
        {MIXER_TABLE_OR2RFC, "O$x.ADMD$ .C$GB#-x.example#\n", "t:1: \"-x.example\""},
        {MIXER_TABLE_OR2RFC, "Ox.ADMD$ .C$GB#x.example#\n", "t:1: component without"},
        {MIXER_TABLE_GATE1, "# t3\nalter.net#PRMD$relay.ADMD$BTglobal.C$gb\n", "t:2: expected \"left#right#\""},
        {MIXER_TABLE_GATE1, "alter.net#~ROLE$x.ADMD$ATT.C$US#\n", "t:1: domain-defined"},
        {MIXER_TABLE_GATE2, "ADMD$ATT.C$us#att mail.com#\n", "t:1: \"att mail.com\" is not a domain"},
        {MIXER_TABLE_GATE2, "ADMD$ATT#attmail.com#\n", "t:1: an entry needs a country"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mixer_tables t;
        char err[256] = "";
        mixer_tables_init(&t);
        assert_int_equal(mixer_tables_load(&t, cases[i].k, "t", cases[i].text,
                                           strlen(cases[i].text), err, sizeof err),
                         MG_EPARSE);
        if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, cases[i].err);
        assert_int_equal(t.n[cases[i].k], 0); /* nothing of a failed text is kept */
        mixer_tables_free(&t);
    }
    /* a domain whose O/R maps back to another domain is reported with file:line */
    struct mixer_tables t;
    char err[256] = "";
    mixer_tables_init(&t);
    const char *t1 = "a.example#O$x.ADMD$ .C$GB#\n", *t2 = "O$X.ADMD$ .C$GB#b.example#\n";
    assert_int_equal(mixer_tables_load(&t, MIXER_TABLE_RFC2OR, "rfc2or", t1, strlen(t1), NULL, 0),
                     0);
    assert_int_equal(mixer_tables_load(&t, MIXER_TABLE_OR2RFC, "or2rfc", t2, strlen(t2), NULL, 0),
                     0);
    assert_int_equal(mixer_tables_check(&t, err, sizeof err), 1);
    assert_non_null(strstr(err, "rfc2or:1: a.example"));
    assert_non_null(strstr(err, "or2rfc:1 maps back to b.example"));
    mixer_tables_free(&t);
    /* appendix F: a key in both table 1 and table 3, or in both table 2 and table 4; a
     * numeric country is the same key as its ISO 3166 letters */
    static const struct {
        enum mixer_table_kind k1, k2;
        const char *t1, *t2, *want;
    } both[] = {
        {MIXER_TABLE_RFC2OR, MIXER_TABLE_GATE1, "a.example#O$x.ADMD$ .C$GB#\n",
         "# x\nA.example#PRMD$relay.ADMD$BT.C$GB#\n", "gate:2: A.example is a key of table 1 (first:1)"},
        {MIXER_TABLE_OR2RFC, MIXER_TABLE_GATE2, "O$x.ADMD$ .C$GB#a.example#\n",
         "O$X.ADMD$ .C$234#gw.example#\n", "gate:1: this O/R address is a key of table 2 (first:1)"},
    };
    for (size_t i = 0; i < 2; i++) {
        mixer_tables_init(&t);
        err[0] = 0;
        assert_int_equal(mixer_tables_load(&t, both[i].k1, "first", both[i].t1,
                                           strlen(both[i].t1), NULL, 0), 0);
        assert_int_equal(mixer_tables_load(&t, both[i].k2, "gate", both[i].t2,
                                           strlen(both[i].t2), NULL, 0), 0);
        assert_int_equal(mixer_tables_check(&t, err, sizeof err), 1);
        if (strncmp(err, both[i].want, strlen(both[i].want)) != 0)
            fail_msg("case %zu: got \"%s\"", i, err);
        mixer_tables_free(&t);
    }
}

/* ---- the real PP tables (shared vectors) ---- */
static int pp_tables(struct mixer_tables *t)
{
    const char *v = getenv("MIXGATE_VECTORS");
    char p1[1024], p2[1024];
    if (!v || !*v)
        return -1;
    snprintf(p1, sizeof p1, "%s/mixer/pp-xtel-rfc2or.tbl", v);
    snprintf(p2, sizeof p2, "%s/mixer/pp-xtel-or2rfc.tbl", v);
    FILE *f = fopen(p1, "r");
    if (!f)
        return -1;
    fclose(f);
    mixer_tables_init(t);
    load_table(t, MIXER_TABLE_RFC2OR, p1);
    load_table(t, MIXER_TABLE_OR2RFC, p2);
    return 0;
}

static void test_pp_tables(void **state)
{
    struct mixer_tables t;
    struct mixer_gw gw;
    (void)state;
    if (pp_tables(&t) != 0) {
        fprintf(stderr, "SKIP: MIXGATE_VECTORS/mixer not found\n");
        skip();
    }
    /* README: 272 or2rfc and 284 rfc2or mappings */
    assert_int_equal(t.n[MIXER_TABLE_OR2RFC], 272);
    assert_int_equal(t.n[MIXER_TABLE_RFC2OR], 284);
    gw_init(&gw, &t);
    /* table 2, entry by entry: the entry's O/R plus S=test maps to test@domain, unless
     * another entry names the same O/R point (then to one of their domains) */
    size_t ok2 = 0;
    for (size_t i = 0; i < t.n[MIXER_TABLE_OR2RFC]; i++) {
        const struct mixer_mcgam *e = &t.e[MIXER_TABLE_OR2RFC][i];
        struct mixer_or or;
        char out[1024], want[600], why[128] = "";
        mixer_or_init(&or);
        for (size_t l = 0; l < e->nlevels && l < MIXER_TABLE_LEVELS; l++)
            if (!e->level[l].omitted)
                assert_int_equal(mixer_or_add(&or, mixer_tables_level_key(l), NULL,
                                              e->level[l].value, strlen(e->level[l].value)),
                                 0);
        assert_int_equal(mixer_or_add(&or, MIXER_OR_S, NULL, "test", 4), 0);
        assert_int_equal(mixer_addr_to_822(&gw, &or, out, sizeof out, NULL, why, sizeof why), 0);
        snprintf(want, sizeof want, "test@%s", e->domain);
        if (strcasecmp(out, want) == 0) {
            ok2++;
            continue;
        }
        const struct mixer_mcgam *m = mixer_tables_find_or(&t, &or);
        assert_non_null(m);
        /* a twin naming the same point, or a longer entry whose extra levels are omitted */
        assert_true(m->nlevels >= e->nlevels);
    }
    /* table 1, entry by entry: test@domain maps to the entry's O/R with S=test */
    size_t ok1 = 0;
    for (size_t i = 0; i < t.n[MIXER_TABLE_RFC2OR]; i++) {
        const struct mixer_mcgam *e = &t.e[MIXER_TABLE_RFC2OR][i];
        struct mixer_or or;
        char addr[600], why[128] = "";
        enum mixer_addr_how how;
        snprintf(addr, sizeof addr, "test@%s", e->domain);
        assert_int_equal(mixer_addr_to_or(&gw, addr, strlen(addr), &or, &how, why, sizeof why),
                         0);
        assert_int_equal(how, MIXER_ADDR_MCGAM);
        for (size_t l = 0; l < e->nlevels && l < MIXER_TABLE_LEVELS; l++) {
            const char *v = mixer_tables_or_level(&or, l);
            if (e->level[l].omitted && l != 1)
                assert_null(v);
            else if (!e->level[l].omitted)
                assert_true(v && mixer_or_value_eq(v, e->level[l].value));
        }
        assert_string_equal(mixer_or_get(&or, MIXER_OR_S, 0), "test");
        ok1++;
    }
    assert_int_equal(ok1, t.n[MIXER_TABLE_RFC2OR]);
    char err[256] = "";
    size_t conflicts = mixer_tables_check(&t, err, sizeof err);
    fprintf(stderr, "PP tables: %zu/%zu or2rfc entries map to their own domain, %zu/%zu rfc2or "
                    "entries to their O/R; %zu cross-table conflicts%s%s\n",
            ok2, t.n[MIXER_TABLE_OR2RFC], ok1, t.n[MIXER_TABLE_RFC2OR], conflicts,
            conflicts ? ", first: " : "", err);
    assert_true(ok2 > t.n[MIXER_TABLE_OR2RFC] * 9 / 10);
    /* the data has three domains whose O/R points map back to a sibling domain
     * (alcatel-etb.rtt.be vs etb-alcatel.rtt.be, ...): the check must see them */
    assert_int_equal(conflicts, 3);
    assert_non_null(strstr(err, "pp-xtel-rfc2or.tbl:74: alcatel-etb.rtt.be"));
    mixer_tables_free(&t);
}

/* ---- envelope fields (RFC 2156 5.3.6 / 5.1.3) ---- */
static void test_env(void **state)
{
    struct mixer_tables t;
    struct mixer_gw gw;
    struct mixer_env *e = malloc(sizeof *e);
    struct mg_buf out;
    (void)state;
    assert_non_null(e);
    mixer_tables_init(&t);
    load_table(&t, MIXER_TABLE_RFC2OR, vec_path("tables/rfc2or"));
    load_table(&t, MIXER_TABLE_OR2RFC, vec_path("tables/or2rfc"));
    gw_init(&gw, &t);
    mixer_env_init(e);
    snprintf(e->mts_gdi, sizeof e->mts_gdi, "/C=GB/ADMD= /PRMD=Example/");
    snprintf(e->mts_local, sizeof e->mts_local, "mts-0001");
    snprintf(e->content_type, sizeof e->content_type, "1.3.26.0.4406.0.4.1");
    snprintf(e->content_id, sizeof e->content_id, "OPORD 7");
    e->eits = (1u << 2) | (1u << 3);
    e->priority = 2;
    e->conversion_prohibited = true;
    snprintf(e->submission_time, sizeof e->submission_time, "261207025958Z");
    snprintf(e->latest_delivery, sizeof e->latest_delivery, "261208000000+0100");
    snprintf(e->originator, sizeof e->originator, "/C=GB/ADMD=GOLD 400/PRMD=UK.AC/O=Salford/S=Rose/");
    e->nrcpts = 2;
    snprintf(e->rcpts[0], sizeof e->rcpts[0], "/C=TC/ADMD=ECQ/O=HNE/OU=ZI/S=someone/");
    snprintf(e->rcpts[1], sizeof e->rcpts[1], "/C=GB/ADMD= /PRMD=Example/O=MIXER/RFC-822=a(a)b.example/");
    e->ntrace = 2;
    snprintf(e->trace[0].gdi, sizeof e->trace[0].gdi, "/C=GB/ADMD= /PRMD=Example/");
    snprintf(e->trace[0].mta, sizeof e->trace[0].mta, "mta1.example");
    snprintf(e->trace[0].arrival, sizeof e->trace[0].arrival, "261207030000Z");
    snprintf(e->trace[1].gdi, sizeof e->trace[1].gdi, "/C=DE/ADMD=DBP/PRMD=GMD/");
    snprintf(e->trace[1].arrival, sizeof e->trace[1].arrival, "261207025959+0100");
    snprintf(e->trace[1].deferred, sizeof e->trace[1].deferred, "261207120000Z");
    e->trace[1].action = 1;
    mg_buf_init(&out, 0);
    assert_int_equal(mixer_env_to_headers(&gw, e, &out), 0);
    assert_string_equal((const char *)out.data,
                        "X400-Received: by mta mta1.example in /C=GB/ADMD= /PRMD=Example/ ; "
                        "Relayed ; Mon, 7 Dec 2026 03:00:00 +0000\r\n"
                        "X400-Received: by /C=DE/ADMD=DBP/PRMD=GMD/ ; deferred until Mon, 7 Dec "
                        "2026 12:00:00 +0000 ; Rerouted ; Mon, 7 Dec 2026 02:59:59 +0100\r\n"
                        "X400-MTS-Identifier: [/C=GB/ADMD= /PRMD=Example/;mts-0001]\r\n"
                        "X400-Originator: Rose@Salford.AC.UK\r\n"
                        "X400-Recipients: someone@ZI.HNE.EGM, a@b.example\r\n"
                        "X400-Content-Type: (1) (3) (26) (0) (4406) (0) (4) (1)\r\n"
                        "X400-Content-Identifier: OPORD 7\r\n"
                        "Original-Encoded-Information-Types: IA5-Text, G3-Fax\r\n"
                        "Priority: urgent\r\n"
                        "Conversion: Prohibited\r\n"
                        "Latest-Delivery-Time: Tue, 8 Dec 2026 00:00:00 +0100\r\n"
                        "Date: Mon, 7 Dec 2026 02:59:58 +0000\r\n");
    /* the trace comes back from the X400-Received lines */
    struct mixer_env *e2 = malloc(sizeof *e2);
    assert_non_null(e2);
    mixer_env_init(e2);
    mg_buf_append(&out, "\r\n", 2);
    assert_int_equal(mixer_env_from_headers(out.data, out.len, e2), 0);
    assert_int_equal(e2->ntrace, 2);
    assert_string_equal(e2->trace[0].mta, "mta1.example");
    assert_string_equal(e2->trace[0].gdi, "/C=GB/ADMD= /PRMD=Example/");
    assert_string_equal(e2->trace[0].arrival, "261207030000+0000");
    assert_int_equal(e2->trace[0].action, 0);
    assert_string_equal(e2->trace[1].gdi, "/C=DE/ADMD=DBP/PRMD=GMD/");
    assert_string_equal(e2->trace[1].deferred, "261207120000+0000");
    assert_string_equal(e2->trace[1].arrival, "261207025959+0100");
    assert_int_equal(e2->trace[1].action, 1);
    free(e2);
    mg_buf_free(&out);
    /* and back from an Internet message */
    static const char msg[] = "Date: Mon, 7 Dec 2026 02:59:58 -0500\r\n"
                              "Subject: Quarterly figures for 2026\r\n"
                              "Priority: non-urgent\r\nConversion-With-Loss: Prohibited\r\n"
                              "\r\nbody\r\n";
    mixer_env_init(e);
    assert_int_equal(mixer_env_from_headers(msg, sizeof msg - 1, e), 0);
    assert_int_equal(e->priority, 1);
    assert_false(e->conversion_prohibited);
    assert_true(e->conversion_with_loss_prohibited);
    assert_string_equal(e->content_id, "Quarterly fig...");
    assert_string_equal(e->submission_time, "261207025958-0500");
    static const char msg2[] = "X400-Content-Identifier: ID-42\r\nSubject: x\r\n\r\n";
    mixer_env_init(e);
    assert_int_equal(mixer_env_from_headers(msg2, sizeof msg2 - 1, e), 0);
    assert_string_equal(e->content_id, "ID-42");
    assert_int_equal(e->priority, -1);
    free(e);
    mixer_tables_free(&t);
}

/* mixer_env_priority (the gateway's per-message read) gives the priority
 * mixer_env_from_headers reads, for every shape of header: absent, each value, case, folded
 * and obsolete forms, the first of two, a body that mentions it, a header it refuses. */
static void test_env_priority(void **state)
{
    (void)state;
    static const struct { const char *msg; int want; } cases[] = {
        {"Subject: x\r\n\r\nbody\r\n", -1},
        {"Priority: normal\r\n\r\n", 0},
        {"Priority: non-urgent\r\n\r\n", 1},
        {"PRIORITY:URGENT\r\n\r\n", 2},
        {"Priority :  urgent\r\nSubject: x\r\n\r\n", 2},
        {"Priority: urgent \r\n\r\n", -1},          /* kept with its blank: not a value */
        {"Priority:\r\n urgent\r\n\r\n", -1},        /* folded: " urgent" */
        {"Priority: non-\r\n urgent\r\n\r\n", -1},
        {"Priority: urgent\r\nPriority: normal\r\n\r\n", 2},
        {"Priority: bogus\r\nPriority: urgent\r\n\r\n", -1},
        {"Subject: x\r\n\r\nPriority: urgent\r\n", -1},
        {"Priority: urgent\n\nbody", 2},              /* bare LF */
        {"Priority: urgent", 2},                         /* no body */
        {" folded first\r\nPriority: urgent\r\n\r\n", -1}, /* refused header */
        {"No colon here\r\nPriority: urgent\r\n\r\n", -1},
        {"X-Priority: urgent\r\n\r\n", -1},
    };
    struct mixer_env *e = malloc(sizeof *e);
    assert_non_null(e);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *m = cases[i].msg;
        mixer_env_init(e);
        int frc = mixer_env_from_headers(m, strlen(m), e);
        int full = frc == 0 ? e->priority : -1;
        print_message("[ case ] %zu: %d\n", i, full);
        assert_int_equal(full, cases[i].want);
        assert_int_equal(mixer_env_priority(m, strlen(m)), cases[i].want);
    }
    /* a NUL in the value, then a continuation line: both reads see "normal" up to the NUL
     * (the whole read appended the continuation at the NUL: "normal more", -1; found by the
     * mixer_to_x400 fuzz target, fuzz/corpus/mixer_to_x400/regression-nul-in-folded-priority) */
    static const struct { const char m[40]; size_t len; int want; } nul[] = {
        {"Priority:normal\0x\r\n more\r\n\r\n", 28, 0},
        {"Priority: urgent\0\0\n\tx\n\n", 23, 2},
        {"Priority: bogus\0\r\n urgent\r\n\r\n", 29, -1},
    };
    for (size_t i = 0; i < sizeof nul / sizeof nul[0]; i++) {
        print_message("[ case ] NUL %zu\n", i);
        mixer_env_init(e);
        int frc = mixer_env_from_headers(nul[i].m, nul[i].len, e);
        assert_int_equal(frc == 0 ? e->priority : -1, nul[i].want);
        assert_int_equal(mixer_env_priority(nul[i].m, nul[i].len), nul[i].want);
    }
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ps_examples),  cmocka_unit_test(test_or_text),
        cmocka_unit_test(test_encoded_pn),   cmocka_unit_test(test_map_golden),
        cmocka_unit_test(test_pn_initials_bound),
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_table_errors),
        cmocka_unit_test(test_pp_tables),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_env_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
