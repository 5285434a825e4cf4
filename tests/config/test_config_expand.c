/* Tests of ${NAME} / ${NAME:-default} expansion (config_expand.c): output text and errors. */
#include "config_test_util.h"

#include "config_expand.h"

struct expand_case {
    const char *name;
    const char *in;
    const char *want;          /* expected text (also checked when there are errors) */
    int err_line;              /* 0: no error expected */
    const char *err_contains;
};

static const char *const env[] = {
    "NUM", "120",
    "HOST", "mx.example.org",
    "EMPTY", "",
    "QUOTE", "a\"b\\c",
    "NL", "line1\nline2",
    "CTRL", "a\001b",
    "TAB", "a\tb",
    NULL,
};

static const struct expand_case cases[] = {
    { "number_unquoted", "retry_min = ${NUM};\n", "retry_min = 120;\n", 0, NULL },
    { "in_string", "h = \"${HOST}:25\";", "h = \"mx.example.org:25\";", 0, NULL },
    { "default_when_unset", "a = ${NOPE:-60};", "a = 60;", 0, NULL },
    { "default_in_string", "a = \"${NOPE:-127.0.0.1:2525}\";", "a = \"127.0.0.1:2525\";", 0, NULL },
    { "default_ignored_when_set", "a = ${NUM:-60};", "a = 120;", 0, NULL },
    { "default_when_empty", "a = \"${EMPTY:-x}\";", "a = \"x\";", 0, NULL },
    { "empty_without_default", "a = \"${EMPTY}\";", "a = \"\";", 0, NULL },
    { "empty_default", "a = \"${NOPE:-}\";", "a = \"\";", 0, NULL },
    { "two_on_a_line", "a = \"${HOST}/${NUM}\";", "a = \"mx.example.org/120\";", 0, NULL },
    { "dollar_alone", "a = \"cost $5 and $HOME\";", "a = \"cost $5 and $HOME\";", 0, NULL },
    { "dollar_at_end", "a = \"x$\"; b = 1$", "a = \"x$\"; b = 1$", 0, NULL },
    { "escaped_quote_in_string", "a = \"say \\\"${NUM}\\\"\";", "a = \"say \\\"120\\\"\";", 0, NULL },
    { "quote_escaped_in_string", "a = \"${QUOTE}\";", "a = \"a\\\"b\\\\c\";", 0, NULL },
    { "newline_escaped_in_string", "a = \"${NL}\";", "a = \"line1\\nline2\";", 0, NULL },
    { "tab_escaped_in_string", "a = \"${TAB}\";", "a = \"a\\tb\";", 0, NULL },
    { "hash_comment_not_expanded", "# uses ${UNSET}\na = 1;", "# uses ${UNSET}\na = 1;", 0, NULL },
    { "slash_comment_not_expanded", "a = 1; // ${UNSET}\n", "a = 1; // ${UNSET}\n", 0, NULL },
    { "block_comment_not_expanded", "/* ${UNSET}\n ${UNSET} */ a = ${NUM};",
      "/* ${UNSET}\n ${UNSET} */ a = 120;", 0, NULL },
    { "hash_in_string_is_not_comment", "a = \"#${NUM}\";", "a = \"#120\";", 0, NULL },
    { "unset_without_default", "a = 1;\nb = 2;\nc = ${UNSET_VAR};\n", "a = 1;\nb = 2;\nc = ;\n", 3,
      "environment variable UNSET_VAR is not set" },
    { "unset_in_string", "\n\"${UNSET_VAR}\"", "\n\"\"", 2, "UNSET_VAR is not set" },
    { "newline_outside_string", "a = ${NL};", "a = ;", 1, "contains a line break" },
    { "control_char_in_string", "a = \"${CTRL}\";", "a = \"a\";", 1, "contains a control character" },
    { "bad_name", "a = ${1X};", "a = ;", 1, "bad variable reference" },
    { "empty_name", "a = ${};", "a = ;", 1, "bad variable reference" },
    { "unterminated", "a = ${NUM\nb = 1;", "a = \nb = 1;", 1, "expected '}'" },
    { "unterminated_default", "a = ${NUM:-5\nb = 1;", "a = \nb = 1;", 1, "missing '}'" },
    { "include_rejected", "a = 1;\n  @include \"x.conf\"\nb = 2;", "a = 1;\n  \nb = 2;", 2,
      "@include directives are not supported" },
    { "lines_kept", "a = \"${HOST}\";\n\n${NUM}\n", "a = \"mx.example.org\";\n\n120\n", 0, NULL },
};

static void run_case(void **state)
{
    const struct expand_case *c = *state;
    struct mg_buf out;
    mg_buf_init(&out, 0);
    struct config_errors errs = { 0 };
    int rc = config_expand_text("t.conf", c->in, strlen(c->in), test_env, (void *)env, &out, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("%s\n", errs.v[i].text);
    if (c->err_line) {
        assert_int_equal(rc, MG_ECONFIG);
        assert_int_equal(errs.n, 1);
        assert_int_equal(errs.v[0].line, c->err_line);
        assert_non_null(strstr(errs.v[0].message, c->err_contains));
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(errs.n, 0);
    }
    assert_string_equal((const char *)out.data, c->want);
    mg_buf_free(&out);
    config_errors_free(&errs);
}

static void test_nul_byte(void **state)
{
    (void)state;
    static const char in[] = "a = 1;\nb\0 = 2;";
    struct mg_buf out;
    mg_buf_init(&out, 0);
    struct config_errors errs = { 0 };
    assert_int_equal(config_expand_text("t", in, sizeof in - 1, test_env, (void *)env, &out, &errs),
                     MG_ECONFIG);
    assert_int_equal(errs.n, 1);
    assert_int_equal(errs.v[0].line, 2);
    assert_string_equal((const char *)out.data, "a = 1;\nb = 2;");
    mg_buf_free(&out);
    config_errors_free(&errs);
}

/* A value is expanded once: a "${...}" inside a value stays text. */
static void test_no_recursion(void **state)
{
    (void)state;
    static const char *const env2[] = { "A", "${B}", "B", "x", NULL };
    struct mg_buf out;
    mg_buf_init(&out, 0);
    assert_int_equal(config_expand_text("t", "v = ${A};", 9, test_env, (void *)env2, &out, NULL), 0);
    assert_string_equal((const char *)out.data, "v = ${B};");
    mg_buf_free(&out);
}

/* Expansion that would exceed the output limit fails cleanly. */
static void test_output_limit(void **state)
{
    (void)state;
    size_t vlen = 1024 * 1024;
    char *big = malloc(vlen + 1);
    assert_non_null(big);
    memset(big, 'x', vlen);
    big[vlen] = '\0';
    const char *env3[] = { "BIG", big, NULL };
    static const char in[] = "${BIG}${BIG}${BIG}${BIG}${BIG}${BIG}${BIG}${BIG}${BIG}${BIG}";
    struct mg_buf out;
    mg_buf_init(&out, 0);
    struct config_errors errs = { 0 };
    assert_int_equal(config_expand_text("t", in, sizeof in - 1, test_env, (void *)env3, &out, &errs),
                     MG_ETOOBIG);
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.v[0].message, "larger than"));
    mg_buf_free(&out);
    config_errors_free(&errs);
    free(big);
}

/* Errors from expansion reach config_load_text's list with their line, and a later problem
 * elsewhere is still reported (every error, not only the first). */
static void test_errors_through_load(void **state)
{
    (void)state;
    static const char text[] =
        "global = { hostname = \"${NOPE}\"; };\n"
        "listeners = ( { name = \"in\"; listen = \"127.0.0.1:${PORT:-2525}\"; } );\n"
        "channels = ( { name = \"local\"; type = \"file\"; directory = \"/d\"; } );\n"
        "routes = ( { default = true; chain = [ \"lokal\" ]; } );\n";
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    assert_int_equal(config_load_text("x.conf", text, sizeof text - 1, test_env, (void *)env, &cfg, &errs),
                     MG_ECONFIG);
    assert_null(cfg);
    assert_int_equal(errs.n, 2);
    assert_string_equal(errs.v[0].text,
                        "x.conf:1: environment variable NOPE is not set (and ${...} gives no ':-default')");
    assert_int_equal(errs.v[1].line, 4);
    config_errors_free(&errs);
}

int main(void)
{
    int failed_ = 0;
    RUN_CASES("config_expand", cases, run_case);
    static const struct CMUnitTest more[] = {
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_no_recursion),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_errors_through_load),
    };
    failed_ += cmocka_run_group_tests_name("config_expand_more", more, NULL, NULL);
    return failed_ ? 1 : 0;
}
