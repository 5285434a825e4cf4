/* Helpers shared by the config tests: a fixed environment for ${...} and loading from text. */
#ifndef CONFIG_TEST_UTIL_H
#define CONFIG_TEST_UTIL_H

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

/* NULL-terminated pairs: { "NAME", "value", ..., NULL }. Tests never touch the real
 * environment, so they do not depend on (or change) the process's. */
static inline const char *test_env(void *ctx, const char *name)
{
    const char *const *kv = ctx;
    for (; kv && kv[0]; kv += 2)
        if (!strcmp(kv[0], name))
            return kv[1];
    return NULL;
}

static inline struct config *test_load_ok(const char *text, const char *const *env)
{
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    int rc = config_load_text("t.conf", text, strlen(text), test_env, (void *)env, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("unexpected: %s\n", errs.v[i].text);
    assert_int_equal(rc, 0);
    assert_int_equal(errs.n, 0);
    assert_non_null(cfg);
    config_errors_free(&errs);
    return cfg;
}

/* Reads a file of the source tree (MIXGATE_SOURCE_DIR, set by CTest). Caller frees. */
static inline char *test_read_source(const char *rel)
{
    const char *dir = getenv("MIXGATE_SOURCE_DIR");
    if (!dir)
        dir = ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    unsigned char *data = NULL;
    size_t len = 0;
    if (mg_read_file(path, 1 << 20, &data, &len) != 0) {
        print_message("cannot read %s (set MIXGATE_SOURCE_DIR)\n", path);
        fail();
    }
    return (char *)data;
}

/* Runs a table of cases as separately named cmocka tests. */
#define RUN_CASES(group, cases, fn)                                                          \
    do {                                                                                     \
        size_t n_ = sizeof(cases) / sizeof((cases)[0]);                                     \
        struct CMUnitTest *t_ = calloc(n_, sizeof *t_);                                      \
        if (!t_) abort();                                                                    \
        for (size_t i_ = 0; i_ < n_; i_++) {                                                 \
            t_[i_].name = (cases)[i_].name;                                                  \
            t_[i_].test_func = fn;                                                           \
            t_[i_].initial_state = (void *)&(cases)[i_];                                     \
        }                                                                                    \
        failed_ += _cmocka_run_group_tests(group, t_, n_, NULL, NULL);                       \
        free(t_);                                                                            \
    } while (0)

#endif
