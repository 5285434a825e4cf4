/* Helpers shared by the rules tests: compiling the first channel group of a configuration
 * text, preparing a message, evaluating one recipient. */
#ifndef RULES_TEST_UTIL_H
#define RULES_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "rules.h"

/* Compiles the first group of `channels` in text (libconfig syntax, no ${} expansion).
 * Returns rules_compile's code; *out and errs as it leaves them. */
static inline int rt_compile(const char *text, struct rules **out, struct config_errors *errs)
{
    config_t cfg;
    config_init(&cfg);
    *out = NULL;
    if (!config_read_string(&cfg, text)) {
        print_message("libconfig: line %d: %s\n", config_error_line(&cfg), config_error_text(&cfg));
        config_destroy(&cfg);
        return -1000;
    }
    const config_setting_t *ch = config_lookup(&cfg, "channels");
    const config_setting_t *g = ch ? config_setting_get_elem(ch, 0) : NULL;
    int rc = g ? rules_compile(g, "t.conf", errs, out) : -1001;
    config_destroy(&cfg); /* the compiled rules own copies of everything they keep */
    return rc;
}

/* Wraps rule groups (text after line 1) into a channel; rules start on line 2. */
#define RT_HEAD "channels = ( { name = \"p\"; type = \"rules\"; rules = (\n"
#define RT_TAIL "\n); } );\n"

static inline struct rules *rt_compile_ok(const char *rules_text)
{
    size_t n = strlen(RT_HEAD) + strlen(rules_text) + strlen(RT_TAIL) + 1;
    char *text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "%s%s%s", RT_HEAD, rules_text, RT_TAIL);
    struct rules *r = NULL;
    struct config_errors errs = { 0 };
    int rc = rt_compile(text, &r, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("unexpected: %s\n", errs.v[i].text);
    assert_int_equal(rc, 0);
    assert_int_equal(errs.n, 0);
    assert_non_null(r);
    config_errors_free(&errs);
    free(text);
    return r;
}

struct rt_msg {
    const char *content;
    size_t len;          /* 0: strlen(content) */
    const char *originator;
    int priority;
    int classification;
};

static inline struct rules_prepared *rt_prepare(const struct rt_msg *m)
{
    struct rules_msg msg = {
        .qid = "Q123", .originator = m->originator ? m->originator : "alice@origin.example",
        .content = (const unsigned char *)m->content,
        .content_len = m->len ? m->len : strlen(m->content),
        .priority = m->priority, .classification = m->classification, .now = 0,
    };
    struct rules_prepared *p = NULL;
    assert_int_equal(rules_prepare(&msg, &p), 0);
    assert_non_null(p);
    return p;
}

#endif
