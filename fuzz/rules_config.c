/* Fuzz target: the rules compiler on arbitrary configuration text. The text is expanded like
 * a configuration file (fixed environment), parsed with libconfig, and the first group of
 * `channels` (or, when there is none, the whole text as one channel group) is compiled.
 * Beyond "no crash, no leak": a failure is MG_ECONFIG with at least one error, every error
 * names the file and a line inside the input; a compiled set is evaluated on a few messages
 * and its header edits applied (the body must come out unchanged). */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_expand.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "rules.h"

static const char *fuzz_env(void *ctx, const char *name)
{
    (void)ctx;
    return !strcmp(name, "N") ? "42" : NULL;
}

static const char *const messages[] = {
    "From: a@b.example\r\nSubject: [hold] x\r\nSensitivity: private\r\n\r\nbody\r\n",
    ("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment; "
     "filename=x\n\nx\n--b--\n"),
    "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nMIIB",
    "",
};
static const char *const rcpts[] = { "reject-test@x.example", "bob@dest.example", "", "/C=GB/S=x/" };

static void exercise(const struct rules *r)
{
    for (size_t m = 0; m < sizeof messages / sizeof *messages; m++) {
        struct rules_msg msg = { .qid = "Q1", .originator = m ? "a@b.example" : "",
                                 .content = (const unsigned char *)messages[m],
                                 .content_len = strlen(messages[m]), .priority = (int)m,
                                 .classification = (int)m - 1, .now = 1796610599 };
        struct rules_prepared *p = NULL;
        if (rules_prepare(&msg, &p) != 0)
            abort();
        for (size_t i = 0; i < sizeof rcpts / sizeof *rcpts; i++) {
            struct rules_result res;
            if (rules_eval(r, p, rcpts[i], &res) != 0)
                abort();
            if (res.rule_index >= (int)rules_count(r) ||
                (res.rule_index >= 0 && strcmp(res.rule_name, rules_name(r, (size_t)res.rule_index))))
                abort();
            if (res.action == RULES_RETURN && (res.status_code < 400 || res.status_code > 599))
                abort();
            unsigned char *out = NULL;
            size_t out_len = 0;
            if (rules_apply_headers(msg.content, msg.content_len, res.edits, res.n_edits, &out,
                                    &out_len) != 0)
                abort();
            const char *body = strstr(messages[m], "\r\n\r\n");
            if (body && !memmem(out, out_len, body, strlen(body)))
                abort(); /* the body is kept byte for byte */
            free(out);
            rules_result_free(&res);
        }
        rules_prepared_free(p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    struct mg_buf text;
    mg_buf_init(&text, 0);
    struct config_errors errs = { 0 };
    int rc = config_expand_text("fuzz.conf", (const char *)data, size, fuzz_env, NULL, &text, &errs);
    config_errors_free(&errs);
    if (rc != 0 && rc != MG_ECONFIG) {
        mg_buf_free(&text);
        return 0;
    }
    config_t cfg;
    config_init(&cfg);
    if (!config_read_string(&cfg, text.data ? (const char *)text.data : "")) {
        config_destroy(&cfg);
        mg_buf_free(&text);
        return 0;
    }
    const config_setting_t *chans = config_lookup(&cfg, "channels");
    const config_setting_t *g = chans ? config_setting_get_elem(chans, 0) : NULL;
    if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP)
        g = config_root_setting(&cfg);
    struct rules *r = NULL;
    rc = rules_compile(g, "fuzz.conf", &errs, &r);
    if (rc == 0) {
        if (!r || errs.n)
            abort();
        exercise(r);
        rules_free(r);
    } else {
        if (r || (rc == MG_ECONFIG && errs.n == 0))
            abort();
        for (size_t i = 0; i < errs.n; i++)
            if (errs.v[i].line < 0 || (size_t)errs.v[i].line > lines ||
                strncmp(errs.v[i].text, "fuzz.conf", 9) != 0)
                abort();
    }
    config_errors_free(&errs);
    config_destroy(&cfg);
    mg_buf_free(&text);
    return 0;
}
