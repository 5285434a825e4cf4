/* Tests of rules_compile: every kind of error with its exact line (and every error of a file
 * reported, not only the first), a rule set using every key, and the shipped example
 * etc/examples/rules.conf with its three promised behaviours. */
#include "rules_test_util.h"

#include "config_expand.h"

struct err_case {
    const char *name;
    const char *text;     /* rule groups, starting on line 2 (RT_HEAD is line 1)... */
    bool raw;             /* ...unless raw: the whole configuration */
    int line;             /* of the (first) expected error */
    const char *contains;
    size_t n_errs;        /* exactly this many errors (0 = 1) */
};

static const struct err_case err_cases[] = {
    { "unknown_key_rule", "{ name = \"a\";\n  recipent = \"x@y.example\"; }", false, 3,
      "t.conf:3: unknown key 'recipent' in rule 'a' (did you mean 'recipient'?)", 0 },
    { "unknown_key_channel",
      "channels = ( { name = \"p\"; type = \"rules\";\n  rulez = 1;\n  rules = ( ); } );\n", true,
      2, "unknown key 'rulez' in channel 'p' (did you mean 'rules'?)", 0 },
    { "unknown_key_header_cond",
      "{ name = \"a\"; header = { name = \"Subject\";\n regexp = \"x\"; regex = \"y\"; }; }",
      false, 3, "unknown key 'regexp' in a header condition of rule 'a' (did you mean 'regex'?)", 0 },
    { "missing_rules", "channels = ( { name = \"p\"; type = \"rules\"; } );\n", true, 1,
      "channel 'p' of type rules has no 'rules' list", 0 },
    { "rules_not_a_list", "channels = ( { name = \"p\"; type = \"rules\";\n rules = 5; } );\n",
      true, 2, "'rules' must be a list", 0 },
    { "rule_not_a_group",
      "channels = ( { name = \"p\"; type = \"rules\"; rules = ( \"x\" ); } );\n", true, 1,
      "rule #1 must be a group", 0 },
    { "missing_name", "{ action = \"continue\"; }", false, 2, "rule #1 has no 'name'", 0 },
    { "duplicate_name", "{ name = \"a\"; },\n{ name = \"a\"; }", false, 3,
      "a second rule named 'a' (the first is at line 2)", 0 },
    { "bad_regex_header", "{ name = \"a\";\n header = { name = \"Subject\"; regex = \"(x\"; }; }",
      false, 3, "'regex' = \"(x\" is not a valid regular expression", 0 },
    { "bad_regex_recipient", "{ name = \"a\";\n\n recipient_regex = [ \"ok\", \"[a-\" ]; }",
      false, 4, "'recipient_regex' = \"[a-\" is not a valid regular expression", 0 },
    { "regex_backreference", "{ name = \"a\";\n header = { name = \"S\"; regex = \"(a*)*\\\\1\"; }; }",
      false, 3, "back-references (\\1) are not allowed", 0 },
    { "glob_too_many_stars", "{ name = \"a\";\n recipient_glob = \"*a*b*c*d*@*\"; }", false, 3,
      "'recipient_glob' = \"*a*b*c*d*@*\" has more than 4 '*'", 0 },
    { "header_empty_list", "{ name = \"a\";\n header = ( ); }", false, 3,
      "'header' is an empty list", 0 },
    { "header_cond_without_regex", "{ name = \"a\"; header = { name = \"Subject\"; }; }", false, 2,
      "a header condition needs 'regex'", 0 },
    { "header_cond_bad_name", "{ name = \"a\"; header = { name = \"Sub ject\"; regex = \"x\"; }; }",
      false, 2, "\"Sub ject\" is not a header field name", 0 },
    { "discard_without_flag", "{ name = \"a\";\n action = \"discard\"; }", false, 3,
      "action \"discard\" drops mail silently and needs an explicit 'discard = true'", 0 },
    { "discard_false", "{ name = \"a\"; action = \"discard\"; discard = false; }", false, 2,
      "needs an explicit 'discard = true'", 0 },
    { "discard_flag_without_action", "{ name = \"a\";\n discard = true; }", false, 3,
      "'discard' is only for action \"discard\" (the action is \"continue\")", 0 },
    { "return_without_status", "{ name = \"a\";\n action = \"return\"; }", false, 3,
      "action \"return\" needs 'status'", 0 },
    { "return_2xx_status", "{ name = \"a\"; action = \"return\";\n status = \"250 2.0.0\"; }",
      false, 3, "'status' = \"250 2.0.0\" is not a 4xx or 5xx reply code", 0 },
    { "return_status_class_mismatch", "{ name = \"a\"; action = \"return\"; status = \"550 4.7.1\"; }",
      false, 2, "is not a 4xx or 5xx reply code with an RFC 3463 status of the same class", 0 },
    { "return_status_no_enhanced", "{ name = \"a\"; action = \"return\"; status = \"550\"; }",
      false, 2, "'status' = \"550\" is not", 0 },
    { "return_status_long_detail", "{ name = \"a\"; action = \"return\"; status = \"550 5.7.1000\"; }",
      false, 2, "is not a 4xx or 5xx", 0 },
    { "status_without_return", "{ name = \"a\";\n status = \"550 5.7.1\"; }", false, 3,
      "'status' is only for action \"return\"", 0 },
    { "text_without_return", "{ name = \"a\"; action = \"hold\"; reason = \"r\";\n text = \"t\"; }",
      false, 3, "'text' is only for action \"return\"", 0 },
    { "hold_without_reason", "{ name = \"a\";\n action = \"hold\"; }", false, 3,
      "action \"hold\" needs 'reason'", 0 },
    { "reason_without_hold", "{ name = \"a\"; action = \"return\"; status = \"550 5.7.1\";\n"
      " reason = \"r\"; }", false, 3, "'reason' is only for action \"hold\"", 0 },
    { "edit_with_hold", "{ name = \"a\"; action = \"hold\"; reason = \"r\";\n"
      " add_header = \"X-A: 1\"; }", false, 3,
      "'add_header' conflicts with action \"hold\"", 0 },
    { "copy_with_return", "{ name = \"a\"; action = \"return\"; status = \"550 5.7.1\";\n"
      " copy = \"audit@example.org\"; }", false, 3, "'copy' conflicts with action \"return\"", 0 },
    { "remove_with_discard", "{ name = \"a\"; action = \"discard\"; discard = true;\n"
      " remove_header = \"X-A\"; }", false, 3, "'remove_header' conflicts with action \"discard\"", 0 },
    { "conflicting_edits", "{ name = \"a\";\n add_header = \"X-A: 1\"; remove_header = \"x-a\"; }",
      false, 2, "conflicting edits of header 'X-A' (add_header and remove_header)", 0 },
    { "unknown_action", "{ name = \"a\";\n action = \"hodl\"; }", false, 3,
      "'action' = \"hodl\" is not one of: continue, return, hold, discard (did you mean 'hold'?)", 0 },
    { "unknown_variable", "{ name = \"a\";\n add_header = \"X-Q: ${quid}\"; }", false, 3,
      "'add_header': unknown variable ${quid}", 0 },
    { "unterminated_variable", "{ name = \"a\"; action = \"hold\";\n reason = \"held ${qid\"; }",
      false, 3, "'reason': unterminated ${", 0 },
    { "multiline_text", "{ name = \"a\"; action = \"return\"; status = \"550 5.7.1\";\n"
      " text = \"a\\nb\"; }", false, 3, "'text' must be one line", 0 },
    { "edit_without_colon", "{ name = \"a\"; add_header = \"X-A 1\"; }", false, 2,
      "'add_header' = \"X-A 1\" must be \"Name: value\"", 0 },
    { "edit_bad_name", "{ name = \"a\"; replace_header = \"X A: 1\"; }", false, 2,
      "\"X A\" is not a header field name", 0 },
    { "edit_mime_structure", "{ name = \"a\";\n remove_header = \"Content-Type\"; }", false, 3,
      "'remove_header' must not change Content-Type", 0 },
    { "priority_out_of_range", "{ name = \"a\";\n priority = 9; }", false, 3,
      "'priority' = 9 is out of range (0..5)", 0 },
    { "priority_conflict", "{ name = \"a\";\n priority = 1; priority_min = 0; }", false, 3,
      "'priority' conflicts with 'priority_min' / 'priority_max'", 0 },
    { "size_min_above_max", "{ name = \"a\";\n size_min = \"10k\"; size_max = 5; }", false, 3,
      "'size_min' is greater than 'size_max'", 0 },
    { "bad_size", "{ name = \"a\"; size_max = \"10Q\"; }", false, 2,
      "'size_max' = \"10Q\" is not a size", 0 },
    { "classification_out_of_range", "{ name = \"a\"; classification_min = -2; }", false, 2,
      "'classification_min' = -2 is out of range (-1..255)", 0 },
    { "bad_sensitivity", "{ name = \"a\";\n sensitivity = \"privat\"; }", false, 3,
      "'sensitivity' = \"privat\" is not one of: personal, private, company-confidential "
      "(did you mean 'private'?)", 0 },
    { "bad_importance", "{ name = \"a\"; importance = [ \"high\", \"urgent\" ]; }", false, 2,
      "'importance' = \"urgent\" is not one of: low, normal, high", 0 },
    { "wrong_type_bool", "{ name = \"a\";\n signed = \"yes\"; }", false, 3,
      "'signed' must be true or false", 0 },
    { "wrong_type_list", "{ name = \"a\"; recipient_domain = [ 1 ]; }", false, 2,
      "'recipient_domain' must hold strings, not a number", 0 },
    { "empty_list", "{ name = \"a\"; recipient_glob = [ ]; }", false, 2, "'recipient_glob' is empty", 0 },
    { "domain_with_at", "{ name = \"a\"; recipient_domain = \"x@y.example\"; }", false, 2,
      "is a domain: write it without '@'", 0 },
    { "exact_not_an_address", "{ name = \"a\"; originator = \"y.example\"; }", false, 2,
      "is not an address (for a domain use 'originator_domain')", 0 },
    { "notify_text_without_notify", "{ name = \"a\";\n notify_text = \"x\"; }", false, 3,
      "'notify_text' without 'notify'", 0 },
    { "bad_copy_address", "{ name = \"a\"; copy = \"not an address\"; }", false, 2,
      "'copy' = \"not an address\" is not an address", 0 },
    { "every_error_reported",
      "{ name = \"a\";\n action = \"discard\"; },\n{ name = \"b\";\n recipient_regex = \"(\"; }",
      false, 3, "needs an explicit 'discard = true'", 2 },
};

static void run_err_case(void **state)
{
    const struct err_case *c = *state;
    char text[4096];
    if (c->raw)
        snprintf(text, sizeof text, "%s", c->text);
    else
        snprintf(text, sizeof text, "%s%s%s", RT_HEAD, c->text, RT_TAIL);
    struct rules *r = NULL;
    struct config_errors errs = { 0 };
    int rc = rt_compile(text, &r, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("  got: %s\n", errs.v[i].text);
    assert_int_equal(rc, MG_ECONFIG);
    assert_null(r);
    assert_int_equal(errs.n, c->n_errs ? c->n_errs : 1);
    assert_int_equal(errs.v[0].line, c->line);
    assert_string_equal(errs.v[0].file, "t.conf");
    assert_non_null(strstr(errs.v[0].text, c->contains));
    config_errors_free(&errs);
}

static void every_error_lines(void **state)
{
    (void)state;
    /* the last case: the second error is on line 5 */
    const char *text = RT_HEAD "{ name = \"a\";\n action = \"discard\"; },\n{ name = \"b\";\n"
                       " recipient_regex = \"(\"; }" RT_TAIL;
    struct rules *r = NULL;
    struct config_errors errs = { 0 };
    assert_int_equal(rt_compile(text, &r, &errs), MG_ECONFIG);
    assert_int_equal(errs.n, 2);
    assert_int_equal(errs.v[0].line, 3);
    assert_int_equal(errs.v[1].line, 5);
    assert_non_null(strstr(errs.v[1].text, "t.conf:5: rule 'b': 'recipient_regex'"));
    config_errors_free(&errs);
}

static void every_key_compiles(void **state)
{
    (void)state;
    struct rules *r = rt_compile_ok(
        "{ name = \"all\";\n"
        "  originator = \"a@b.example\"; originator_domain = \"b.example\";\n"
        "  originator_suffix = [ \"example\", \".b.example\" ]; originator_glob = \"*@*\";\n"
        "  originator_regex = \"^a@\"; recipient = [ \"x@y.example\", \"/C=GB/O=x/\" ];\n"
        "  recipient_domain = \"y.example\"; recipient_suffix = \"example\";\n"
        "  recipient_glob = \"x*\"; recipient_regex = \"y\\\\.example$\";\n"
        "  header = ( { name = \"Subject\"; regex = \"^\"; }, { name = \"To\"; regex = \"x\"; } );\n"
        "  size_min = 1; size_max = \"50M\"; has_attachments = false; priority_min = 0;\n"
        "  priority_max = 5; sensitivity = [ \"private\", \"Personal\" ]; importance = \"HIGH\";\n"
        "  signed = true; encrypted = false; classification_min = 0; classification_max = 3;\n"
        "  action = \"continue\"; add_header = [ \"X-A: ${qid}\", \"X-B: \\\\${rule} $$5\" ];\n"
        "  replace_header = \"X-C: ${date}\"; remove_header = [ \"X-D\", \"X-E\" ];\n"
        "  copy = \"archive@example.org\"; notify = [ \"sec@example.org\" ];\n"
        "  notify_text = \"rule ${rule} on ${qid}\"; },\n"
        "{ name = \"ret\"; action = \"return\"; status = \"451 4.7.0\"; },\n"
        "{ name = \"hold\"; action = \"hold\"; reason = \"held by ${rule}\"; notify = \"x@y.z\"; },\n"
        "{ name = \"drop\"; action = \"discard\"; discard = true; classification = -1; }");
    assert_int_equal(rules_count(r), 4);
    assert_string_equal(rules_name(r, 0), "all");
    assert_string_equal(rules_name(r, 3), "drop");
    assert_null(rules_name(r, 4));
    rules_free(r);
}

static void empty_rule_list(void **state)
{
    (void)state;
    struct rules *r = rt_compile_ok("");
    assert_int_equal(rules_count(r), 0);
    rules_free(r);
}

/* ---- the shipped example ------------------------------------------------------------- */

static const char *no_env(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return NULL; /* every ${NAME:-default} takes its default */
}

static struct rules *compile_example(void)
{
    const char *dir = getenv("MIXGATE_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/etc/examples/rules.conf", dir ? dir : ".");
    unsigned char *raw = NULL;
    size_t len = 0;
    assert_int_equal(mg_read_file(path, 1 << 20, &raw, &len), 0);
    struct mg_buf text;
    mg_buf_init(&text, 0);
    struct config_errors errs = { 0 };
    int rc = config_expand_text(path, (const char *)raw, len, no_env, NULL, &text, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("expand: %s\n", errs.v[i].text);
    assert_int_equal(rc, 0);
    config_t cfg;
    config_init(&cfg);
    if (!config_read_string(&cfg, (const char *)text.data))
        print_message("line %d: %s\n", config_error_line(&cfg), config_error_text(&cfg));
    const config_setting_t *chans = config_lookup(&cfg, "channels");
    assert_non_null(chans);
    const config_setting_t *policy = NULL;
    for (int i = 0; i < config_setting_length(chans); i++) {
        const config_setting_t *g = config_setting_get_elem(chans, (unsigned)i);
        const char *name = NULL, *type = NULL;
        if (config_setting_lookup_string(g, "name", &name) && !strcmp(name, "policy")) {
            assert_true(config_setting_lookup_string(g, "type", &type));
            assert_string_equal(type, "rules");
            policy = g;
        }
    }
    assert_non_null(policy);
    /* the route sends every recipient through it */
    const config_setting_t *chain = config_lookup(&cfg, "routes.[0].chain");
    assert_non_null(chain);
    assert_string_equal(config_setting_get_string_elem(chain, 0), "policy");
    assert_string_equal(config_setting_get_string_elem(chain, 1), "smtp-out");
    struct rules *r = NULL;
    rc = rules_compile(policy, path, &errs, &r);
    for (size_t i = 0; i < errs.n; i++)
        print_message("compile: %s\n", errs.v[i].text);
    assert_int_equal(rc, 0);
    config_destroy(&cfg);
    mg_buf_free(&text);
    free(raw);
    config_errors_free(&errs);
    return r;
}

static void example_file(void **state)
{
    (void)state;
    struct rules *r = compile_example();
    static const char plain[] = "From: a@origin.example\r\nSubject: quarterly numbers\r\n\r\nhi\r\n";
    static const char held[] = "From: a@origin.example\r\nSubject: please [hold] this\r\n\r\nhi\r\n";
    struct rules_prepared *pp = rt_prepare(&(struct rt_msg){ .content = plain, .classification = -1 });
    struct rules_prepared *ph = rt_prepare(&(struct rt_msg){ .content = held, .classification = -1 });
    struct rules_result res;

    /* reject-test@ any domain: returned with 550 5.7.1 "rejected by rule" */
    assert_int_equal(rules_eval(r, pp, "reject-test@dest.example", &res), 0);
    assert_int_equal(res.action, RULES_RETURN);
    assert_int_equal(res.status_code, 550);
    assert_string_equal(res.status, "5.7.1");
    assert_string_equal(res.text, "rejected by rule");
    rules_result_free(&res);
    assert_int_equal(rules_eval(r, ph, "Reject-Test@other.example", &res), 0);
    assert_int_equal(res.action, RULES_RETURN); /* first match: before the hold rule */
    rules_result_free(&res);

    /* Subject with [hold]: held with "subject hold" */
    assert_int_equal(rules_eval(r, ph, "bob@dest.example", &res), 0);
    assert_int_equal(res.action, RULES_HOLD);
    assert_string_equal(res.hold_reason, "subject hold");
    rules_result_free(&res);

    /* everything else: X-Mixgate-Rule: relayed added, body kept */
    assert_int_equal(rules_eval(r, pp, "bob@dest.example", &res), 0);
    assert_int_equal(res.action, RULES_CONTINUE);
    assert_int_equal(res.n_edits, 1);
    unsigned char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(rules_apply_headers((const unsigned char *)plain, strlen(plain), res.edits,
                                         res.n_edits, &out, &out_len), 0);
    static const char want[] = "From: a@origin.example\r\nSubject: quarterly numbers\r\n"
                               "X-Mixgate-Rule: relayed\r\n\r\nhi\r\n";
    assert_int_equal(out_len, strlen(want));
    assert_memory_equal(out, want, out_len);
    free(out);
    rules_result_free(&res);
    /* a "reject-test" local part with something after it is not the reject-test address */
    assert_int_equal(rules_eval(r, pp, "reject-tester@dest.example", &res), 0);
    assert_int_equal(res.action, RULES_CONTINUE);
    rules_result_free(&res);
    rules_prepared_free(pp);
    rules_prepared_free(ph);
    rules_free(r);
}

int main(void)
{
    size_t n = sizeof err_cases / sizeof *err_cases;
    struct CMUnitTest *tests = calloc(n + 4, sizeof *tests);
    if (!tests)
        return 1;
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){ .name = err_cases[i].name, .test_func = run_err_case,
                                        .initial_state = (void *)&err_cases[i] };
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(every_error_lines);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(every_key_compiles);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(empty_rule_list);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(example_file);
    int rc = _cmocka_run_group_tests("rules_compile", tests, n, NULL, NULL);
    free(tests);
    return rc;
}
