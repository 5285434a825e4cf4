/* Tests of rules_apply_headers: add / replace / remove on CRLF and LF content, folded fields,
 * every instance, the body byte for byte (binary, NULs, lines that look like headers), content
 * without a separator or without headers, and refused edits. Golden outputs, exact bytes. */
#include "rules_test_util.h"

struct edit_case {
    const char *name;
    const char *in;
    size_t in_len;                 /* 0 = strlen */
    struct rules_edit edits[4];
    size_t n_edits;
    const char *want;
    size_t want_len;               /* 0 = strlen */
};

#define ADD(n, v) { RULES_EDIT_ADD, (char *)(n), (char *)(v) }
#define REP(n, v) { RULES_EDIT_REPLACE, (char *)(n), (char *)(v) }
#define DEL(n) { RULES_EDIT_REMOVE, (char *)(n), NULL }

#define BIN_BODY "\x00\xff\r\n\r\nSubject: not a header\n\r.\r\n\x80"

static const struct edit_case edit_cases[] = {
    { "add_crlf", "A: 1\r\nB: 2\r\n\r\nbody\r\n", 0, { ADD("X-New", "v") }, 1,
      "A: 1\r\nB: 2\r\nX-New: v\r\n\r\nbody\r\n", 0 },
    { "add_lf", "A: 1\nB: 2\n\nbody\n", 0, { ADD("X-New", "v") }, 1,
      "A: 1\nB: 2\nX-New: v\n\nbody\n", 0 },
    { "add_two_in_order", "A: 1\r\n\r\nb", 0, { ADD("X-1", "a"), ADD("X-2", "b") }, 2,
      "A: 1\r\nX-1: a\r\nX-2: b\r\n\r\nb", 0 },
    { "remove_every_instance_and_fold", "A: 1\r\nX-Del: one\r\n two\r\n\tthree\r\nB: 2\r\nx-del: 4\r\n\r\nbody",
      0, { DEL("X-DEL") }, 1, "A: 1\r\nB: 2\r\n\r\nbody", 0 },
    { "remove_absent", "A: 1\r\n\r\nbody", 0, { DEL("X-None") }, 1, "A: 1\r\n\r\nbody", 0 },
    { "replace_in_place", "A: 1\r\nSubject: old\r\n folded\r\nB: 2\r\nSubject: dup\r\n\r\nb", 0,
      { REP("subject", "new") }, 1, "A: 1\r\nsubject: new\r\nB: 2\r\n\r\nb", 0 },
    { "replace_absent_adds", "A: 1\n\nb", 0, { REP("X-R", "r") }, 1, "A: 1\nX-R: r\n\nb", 0 },
    { "mixed", "From: a\r\nTo: b\r\nSubject: s\r\n\r\nbody", 0,
      { DEL("To"), REP("Subject", "t"), ADD("X-A", "1") }, 3,
      "From: a\r\nSubject: t\r\nX-A: 1\r\n\r\nbody", 0 },
    { "binary_body_kept", "A: 1\r\n\r\n" BIN_BODY, sizeof("A: 1\r\n\r\n" BIN_BODY) - 1,
      { ADD("X", "y"), DEL("Subject") }, 2, "A: 1\r\nX: y\r\n\r\n" BIN_BODY,
      sizeof("A: 1\r\nX: y\r\n\r\n" BIN_BODY) - 1 },
    { "mixed_line_endings_kept", "A: 1\r\nB: 2\n\r\nbody\n", 0, { ADD("X", "y") }, 1,
      "A: 1\r\nB: 2\nX: y\r\n\r\nbody\n", 0 },
    { "no_separator_last_line_open", "A: 1\r\nB: 2", 0, { ADD("X", "y") }, 1,
      "A: 1\r\nB: 2\r\nX: y\r\n", 0 },
    { "no_separator_with_eol", "A: 1\nB: 2\n", 0, { ADD("X", "y") }, 1, "A: 1\nB: 2\nX: y\n", 0 },
    { "no_header", "\r\nbody\r\n", 0, { ADD("X", "y") }, 1, "X: y\r\n\r\nbody\r\n", 0 },
    { "empty_content", "", 0, { ADD("X", "y") }, 1, "X: y\r\n", 0 },
    { "junk_line_ends_header", "A: 1\nnot a header line\n\nbody", 0, { ADD("X", "y"), DEL("A") }, 2,
      "X: y\nnot a header line\n\nbody", 0 },
    { "no_edits_identity", "A: 1\r\n\r\nbody", 0, { { 0 } }, 0, "A: 1\r\n\r\nbody", 0 },
    { "obsolete_space_before_colon", "Subject : x\r\nA: 1\r\n\r\nb", 0, { DEL("Subject") }, 1,
      "A: 1\r\n\r\nb", 0 },
};

static void run_edit_case(void **state)
{
    const struct edit_case *c = *state;
    size_t in_len = c->in_len ? c->in_len : strlen(c->in);
    size_t want_len = c->want_len ? c->want_len : strlen(c->want);
    unsigned char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(rules_apply_headers((const unsigned char *)c->in, in_len, c->edits,
                                         c->n_edits, &out, &out_len), 0);
    assert_non_null(out);
    if (out_len != want_len || memcmp(out, c->want, want_len))
        print_message("got (%zu): %.*s\n", out_len, (int)out_len, out);
    assert_int_equal(out_len, want_len);
    assert_memory_equal(out, c->want, want_len);
    free(out);
}

static void refused_edits(void **state)
{
    (void)state;
    static const struct rules_edit bad[] = {
        ADD("X", "a\r\nBcc: x"), ADD("X:Y", "a"), ADD("", "a"), ADD("X", NULL), REP("X\n", "a"),
    };
    unsigned char *out = (unsigned char *)"untouched";
    size_t out_len = 7;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(rules_apply_headers((const unsigned char *)"A: 1\r\n\r\n", 8, &bad[i], 1,
                                             &out, &out_len), MG_EINVAL);
        assert_null(out);
        assert_int_equal(out_len, 0);
    }
    assert_int_equal(rules_apply_headers(NULL, 3, NULL, 0, &out, &out_len), MG_EINVAL);
}

/* eval + apply together: the edits a rule produced, applied, re-prepared, seen by a rule */
static void round_trip(void **state)
{
    (void)state;
    struct rules *r = rt_compile_ok(
        "{ name = \"tagged\"; header = { name = \"X-Tag\"; regex = \"^Q123 to b@c.d$\"; };\n"
        "  action = \"hold\"; reason = \"seen\"; },\n"
        "{ name = \"tag\"; add_header = \"X-Tag: ${qid} to ${recipient}\"; remove_header = \"Subject\"; }");
    static const char in[] = "Subject: s\r\n\r\nbody\r\n.\r\n";
    struct rules_prepared *p = rt_prepare(&(struct rt_msg){ .content = in, .classification = -1 });
    struct rules_result res;
    assert_int_equal(rules_eval(r, p, "b@c.d", &res), 0);
    assert_string_equal(res.rule_name, "tag");
    unsigned char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(rules_apply_headers((const unsigned char *)in, strlen(in), res.edits,
                                         res.n_edits, &out, &out_len), 0);
    static const char want[] = "X-Tag: Q123 to b@c.d\r\n\r\nbody\r\n.\r\n";
    assert_int_equal(out_len, strlen(want));
    assert_memory_equal(out, want, out_len);
    struct rules_prepared *p2 = rt_prepare(&(struct rt_msg){ .content = (const char *)out,
                                                             .len = out_len, .classification = -1 });
    struct rules_result res2;
    assert_int_equal(rules_eval(r, p2, "b@c.d", &res2), 0);
    assert_int_equal(res2.action, RULES_HOLD);
    rules_result_free(&res2);
    rules_prepared_free(p2);
    free(out);
    rules_result_free(&res);
    rules_prepared_free(p);
    rules_free(r);
}

int main(void)
{
    size_t n = sizeof edit_cases / sizeof *edit_cases;
    struct CMUnitTest *tests = calloc(n + 4, sizeof *tests);
    if (!tests)
        return 1;
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){ .name = edit_cases[i].name, .test_func = run_edit_case,
                                        .initial_state = (void *)&edit_cases[i] };
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(refused_edits);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(round_trip);
    int rc = _cmocka_run_group_tests("rules_edit", tests, n, NULL, NULL);
    free(tests);
    return rc;
}
