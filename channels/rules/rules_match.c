/* rules_match: evaluating compiled rules on a prepared message, per recipient, and the ${}
 * templates of header values, texts, reasons and alerts.
 *
 * Everything here reads the shared struct rules and struct rules_prepared only; the result is
 * the caller's. regexec() on a shared regex_t is safe between threads in glibc (it locks the
 * pattern's DFA internally), so compiled patterns need no copy per thread. */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_buf.h"
#include "mg_err.h"
#include "rules_int.h"

/* ---- templates ------------------------------------------------------------------------ */

static const char *const var_names[] = { "qid", "originator", "recipient", "date", "rule", NULL };

/* At t (just past "${"): the variable's index and the length up to and including '}', or -1
 * (unknown: *len is still set when a '}' was found, else 0). */
static int var_at(const char *t, size_t *len)
{
    const char *close = strchr(t, '}');
    *len = 0;
    if (!close)
        return -1;
    *len = (size_t)(close - t) + 1;
    for (int i = 0; var_names[i]; i++)
        if (strlen(var_names[i]) == (size_t)(close - t) &&
            !strncmp(t, var_names[i], (size_t)(close - t)))
            return i;
    return -1;
}

/* "\${" is the same as "${": inside a configuration file, whose own ${NAME} environment
 * expansion runs before libconfig parses it, a rules variable has to be written that way. */
static bool ref_start(const char *t, size_t *skip)
{
    if (t[0] == '$' && t[1] == '{') {
        *skip = 2;
        return true;
    }
    if (t[0] == '\\' && t[1] == '$' && t[2] == '{') {
        *skip = 3;
        return true;
    }
    return false;
}

int rules_tmpl_check(const char *t, char *msg, size_t size)
{
    for (size_t i = 0; t[i];) {
        size_t skip, len;
        if (t[i] == '$' && t[i + 1] == '$') {
            i += 2;
            continue;
        }
        if (!ref_start(t + i, &skip)) {
            i++;
            continue;
        }
        if (var_at(t + i + skip, &len) < 0) {
            if (!len)
                snprintf(msg, size,
                         "unterminated ${ (a variable is ${qid}, ${originator}, "
                         "${recipient}, ${date} or ${rule})");
            else
                snprintf(msg, size,
                         "unknown variable ${%.*s} (known: qid, originator, "
                         "recipient, date, rule)",
                         (int)(len - 1 > 40 ? 40 : len - 1), t + i + skip);
            return -1;
        }
        i += skip + len;
    }
    return 0;
}

static int put_clean(struct mg_buf *b, const char *s)
{
    for (; *s; s++) {
        char ch = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
        if (mg_buf_append(b, &ch, 1))
            return -1;
    }
    return 0;
}

char *rules_tmpl_expand(const char *t, const struct rules_vars *v)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    const char *vals[] = { v->qid, v->originator, v->recipient, v->date, v->rule };
    int rc = mg_buf_reserve(&b, strlen(t) + 1);
    for (size_t i = 0; t[i] && !rc;) {
        size_t skip, len;
        if (t[i] == '$' && t[i + 1] == '$') {
            rc = mg_buf_append(&b, "$", 1);
            i += 2;
            continue;
        }
        if (ref_start(t + i, &skip)) {
            int k = var_at(t + i + skip, &len);
            if (k >= 0) {
                rc = put_clean(&b, vals[k] ? vals[k] : "");
                i += skip + len;
                continue;
            }
        }
        /* a template is checked at compile time; a control character here came from the
         * configuration and is refused there, but stay safe */
        char ch = (unsigned char)t[i] < 0x20 ? ' ' : t[i];
        rc = mg_buf_append(&b, &ch, 1);
        i++;
    }
    if (rc) {
        mg_buf_free(&b);
        return NULL;
    }
    if (!b.len) {
        mg_buf_free(&b);
        return strdup("");
    }
    return (char *)mg_buf_steal(&b, NULL);
}

/* ---- conditions ----------------------------------------------------------------------- */

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && !strcasecmp(s + ls - lx, suffix);
}

static bool addr_value_match(const struct rules_addr_cond *a, size_t i, const char *addr)
{
    const char *v = a->values[i];
    const char *at = strrchr(addr, '@');
    const char *dom = at ? at + 1 : NULL;
    switch (a->kind) {
    case RULES_ADDR_EXACT: return !strcasecmp(addr, v);
    case RULES_ADDR_DOMAIN: return dom && !strcasecmp(dom, v);
    case RULES_ADDR_SUFFIX:
        if (!dom)
            return false;
        if (v[0] == '.') /* ".x.org": subdomains only */
            return strlen(dom) > strlen(v) && ends_with_ci(dom, v);
        if (!strcasecmp(dom, v))
            return true;
        return strlen(dom) > strlen(v) && ends_with_ci(dom, v) &&
               dom[strlen(dom) - strlen(v) - 1] == '.';
    case RULES_ADDR_GLOB: return fnmatch(v, addr, FNM_CASEFOLD) == 0;
    case RULES_ADDR_REGEX: return regexec(&a->re[i], addr, 0, NULL, 0) == 0;
    }
    return false;
}

static bool addr_match(const struct rules_addr_cond *a, const char *addr)
{
    for (size_t i = 0; i < a->n; i++)
        if (addr_value_match(a, i, addr))
            return true;
    return false;
}

static bool header_match(const struct rules_hdr_cond *h, const struct rules_prepared *p)
{
    for (size_t i = 0; i < p->n_h; i++)
        if (!strcasecmp(p->h[i].name, h->name) && regexec(&h->re, p->h[i].value, 0, NULL, 0) == 0)
            return true;
    return false;
}

static bool in_range(const struct rules_range *r, int64_t v)
{
    return (!r->has_min || v >= r->min) && (!r->has_max || v <= r->max);
}

static bool flag_ok(int want, bool have)
{
    return want < 0 || (want == 1) == have;
}

static bool rule_matches(const struct rules_rule *r, const struct rules_prepared *p,
                         const char *rcpt)
{
    const struct rules_msg *m = &p->msg;
    if (!in_range(&r->size, (int64_t)m->content_len) || !in_range(&r->priority, m->priority))
        return false;
    if (r->classification.has_min || r->classification.has_max) {
        /* -1 (no label) only matches "classification = -1", never a min or max */
        bool eq_none = r->classification.has_min && r->classification.has_max &&
                       r->classification.min == -1 && r->classification.max == -1;
        if (m->classification < 0 ? !eq_none : !in_range(&r->classification, m->classification))
            return false;
    }
    if (!flag_ok(r->has_attachments, p->info.has_attachments) ||
        !flag_ok(r->is_signed, p->info.is_signed) ||
        !flag_ok(r->is_encrypted, p->info.is_encrypted))
        return false;
    if (r->sensitivity && !(r->sensitivity & p->sensitivity))
        return false;
    if (r->importance && !(r->importance & p->importance))
        return false;
    for (size_t i = 0; i < r->n_addr; i++)
        if (!addr_match(&r->addr[i], r->addr[i].recipient ? rcpt : m->originator))
            return false;
    for (size_t i = 0; i < r->n_hdr; i++)
        if (!header_match(&r->hdr[i], p))
            return false;
    return true;
}

/* ---- evaluation ----------------------------------------------------------------------- */

static const char default_text[] = "rejected by policy rule ${rule}";
static const char default_notify[] =
    "mixgate: rule ${rule} matched message ${qid} from <${originator}> to <${recipient}>";

int rules_eval(const struct rules *r, const struct rules_prepared *p, const char *recipient,
               struct rules_result *out)
{
    if (!out)
        return MG_EINVAL;
    *out = (struct rules_result){ .action = RULES_CONTINUE, .rule_index = -1 };
    if (!r || !p || !recipient)
        return MG_EINVAL;
    const struct rules_rule *rule = NULL;
    size_t idx = 0;
    for (; idx < r->n; idx++)
        if (rule_matches(&r->v[idx], p, recipient)) {
            rule = &r->v[idx];
            break;
        }
    if (!rule)
        return 0;
    out->action = rule->action;
    out->rule_index = (int)idx;
    out->rule_name = rule->name;
    out->rule_line = rule->line;
    struct rules_vars v = { .qid = p->msg.qid,
                            .originator = p->msg.originator,
                            .recipient = recipient,
                            .date = p->date,
                            .rule = rule->name };
    if (rule->action == RULES_RETURN) {
        out->status_code = rule->status_code;
        memcpy(out->status, rule->status, sizeof out->status);
        if (!(out->text = rules_tmpl_expand(rule->text ? rule->text : default_text, &v)))
            goto oom;
    }
    if (rule->action == RULES_HOLD && !(out->hold_reason = rules_tmpl_expand(rule->reason, &v)))
        goto oom;
    if (rule->n_edits) {
        out->edits = calloc(rule->n_edits, sizeof *out->edits);
        if (!out->edits)
            goto oom;
        for (size_t i = 0; i < rule->n_edits; i++) {
            struct rules_edit *e = &out->edits[i];
            e->op = rule->edits[i].op;
            e->name = strdup(rule->edits[i].name);
            out->n_edits++;
            if (!e->name)
                goto oom;
            if (rule->edits[i].value && !(e->value = rules_tmpl_expand(rule->edits[i].value, &v)))
                goto oom;
        }
    }
    out->copy = (const char *const *)rule->copy;
    out->n_copy = rule->n_copy;
    out->notify = (const char *const *)rule->notify;
    out->n_notify = rule->n_notify;
    if (rule->n_notify && !(out->notify_text = rules_tmpl_expand(
                                rule->notify_text ? rule->notify_text : default_notify, &v)))
        goto oom;
    return 0;
oom:
    rules_result_free(out);
    return MG_ENOMEM;
}

void rules_result_free(struct rules_result *res)
{
    if (!res)
        return;
    free(res->text);
    free(res->hold_reason);
    for (size_t i = 0; i < res->n_edits; i++) {
        free(res->edits[i].name);
        free(res->edits[i].value);
    }
    free(res->edits);
    free(res->notify_text);
    *res = (struct rules_result){ .action = RULES_CONTINUE, .rule_index = -1 };
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

bool rules_result_same(const struct rules_result *a, const struct rules_result *b)
{
    if (a->action != b->action || a->rule_index != b->rule_index ||
        a->status_code != b->status_code || strcmp(a->status, b->status) ||
        !str_eq(a->text, b->text) || !str_eq(a->hold_reason, b->hold_reason) ||
        !str_eq(a->notify_text, b->notify_text) || a->n_edits != b->n_edits ||
        a->n_copy != b->n_copy || a->n_notify != b->n_notify)
        return false;
    for (size_t i = 0; i < a->n_edits; i++)
        if (a->edits[i].op != b->edits[i].op || !str_eq(a->edits[i].name, b->edits[i].name) ||
            !str_eq(a->edits[i].value, b->edits[i].value))
            return false;
    for (size_t i = 0; i < a->n_copy; i++)
        if (!str_eq(a->copy[i], b->copy[i]))
            return false;
    for (size_t i = 0; i < a->n_notify; i++)
        if (!str_eq(a->notify[i], b->notify[i]))
            return false;
    return true;
}
