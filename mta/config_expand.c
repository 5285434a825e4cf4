/* config_expand: ${NAME} and ${NAME:-default} expansion of configuration text.
 *
 * Written by hand because libconfig has no variables and the expansion has to know
 * libconfig's lexical structure (strings, three comment styles) to escape values inside
 * strings and to leave comments alone; a shell-style expander (wordexp) would run commands
 * and does not keep line numbers. The scanner below follows libconfig's grammar only as far
 * as needed: string literals with backslash escapes, '#' and '//' comments to end of line,
 * block comments, and the @include directive. */
#include "config_expand.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"

#define MAX_NAME 128

struct expander {
    const char *name;
    const char *in;
    size_t len;
    size_t pos;
    int line;
    config_env_fn env;
    void *env_ctx;
    struct mg_buf *out;
    struct config_errors *errs;
    int rc;            /* first hard failure (MG_ENOMEM, MG_ETOOBIG) */
    bool had_error;
};

static const char *env_getenv(void *ctx, const char *n)
{
    (void)ctx;
    return getenv(n);
}

static void put(struct expander *x, const void *p, size_t n)
{
    if (x->rc)
        return;
    int rc = mg_buf_append(x->out, p, n);
    if (rc == MG_ETOOBIG) {
        config_errors_addf(x->errs, x->name, x->line,
                           "configuration larger than %u bytes after expansion",
                           CONFIG_EXPAND_MAX_OUTPUT);
        x->had_error = true;
    }
    if (rc)
        x->rc = rc;
}

static void error(struct expander *x, const char *fmt, const char *arg)
{
    /* All messages here take one string argument; the format is one of our literals. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (config_errors_addf(x->errs, x->name, x->line, fmt, arg))
        x->rc = MG_ENOMEM;
#pragma GCC diagnostic pop
    x->had_error = true;
}

/* Copies an environment value into a string literal, escaping what would end or break it. */
static void put_escaped(struct expander *x, const char *v, const char *varname)
{
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '"':  put(x, "\\\"", 2); break;
        case '\\': put(x, "\\\\", 2); break;
        case '\n': put(x, "\\n", 2); break;
        case '\r': put(x, "\\r", 2); break;
        case '\t': put(x, "\\t", 2); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                error(x, "value of ${%s} contains a control character", varname);
                return;
            }
            put(x, p, 1);
        }
    }
}

/* At "${": parses the reference and writes its value. in_string selects escaping. */
static void expand_ref(struct expander *x, bool in_string)
{
    size_t start = x->pos;
    size_t p = start + 2;
    size_t n0 = p;
    while (p < x->len && (x->in[p] == '_' || (x->in[p] >= 'A' && x->in[p] <= 'Z') ||
                          (x->in[p] >= 'a' && x->in[p] <= 'z') ||
                          (p > n0 && x->in[p] >= '0' && x->in[p] <= '9')))
        p++;
    size_t nlen = p - n0;
    char varname[MAX_NAME + 1];
    if (nlen == 0 || nlen > MAX_NAME) {
        error(x, "%s: a reference is ${NAME} or ${NAME:-default}, NAME letters, digits and '_'",
              nlen ? "variable name too long" : "bad variable reference");
        /* Skip to the closing brace on this line so one mistake gives one error. */
        while (p < x->len && x->in[p] != '}' && x->in[p] != '\n')
            p++;
        x->pos = (p < x->len && x->in[p] == '}') ? p + 1 : p;
        return;
    }
    memcpy(varname, x->in + n0, nlen);
    varname[nlen] = '\0';

    const char *def = NULL;
    size_t deflen = 0;
    if (p + 1 < x->len && x->in[p] == ':' && x->in[p + 1] == '-') {
        size_t d = p + 2;
        size_t e = d;
        while (e < x->len && x->in[e] != '}' && x->in[e] != '\n' && x->in[e] != '\0')
            e++;
        if (e >= x->len || x->in[e] != '}') {
            error(x, "unterminated reference ${%s:-...: missing '}' on this line", varname);
            x->pos = e;
            return;
        }
        def = x->in + d;
        deflen = e - d;
        p = e;
    }
    if (p >= x->len || x->in[p] != '}') {
        error(x, "bad reference ${%s...: expected '}' or ':-default}'", varname);
        while (p < x->len && x->in[p] != '}' && x->in[p] != '\n')
            p++;
        x->pos = (p < x->len && x->in[p] == '}') ? p + 1 : p;
        return;
    }
    x->pos = p + 1;

    const char *v = x->env(x->env_ctx, varname);
    if (v && *v) {
        if (in_string) {
            put_escaped(x, v, varname);
        } else if (strchr(v, '\n') || strchr(v, '\r')) {
            error(x, "value of ${%s} contains a line break (put the reference inside a string)",
                  varname);
        } else {
            put(x, v, strlen(v));
        }
    } else if (def) {
        /* The default is file text, already written in the file's own syntax. */
        put(x, def, deflen);
    } else if (v) {
        /* Set but empty, no default: empty is a value like any other. */
    } else {
        error(x, "environment variable %s is not set (and ${...} gives no ':-default')", varname);
    }
}

int config_expand_text(const char *name, const char *in, size_t len, config_env_fn env,
                       void *env_ctx, struct mg_buf *out, struct config_errors *errs)
{
    struct expander x = {
        .name = name, .in = in, .len = len, .line = 1,
        .env = env ? env : env_getenv, .env_ctx = env_ctx, .out = out, .errs = errs,
    };
    if (len > CONFIG_EXPAND_MAX_INPUT) {
        config_errors_addf(errs, name, 0, "file larger than %u bytes", CONFIG_EXPAND_MAX_INPUT);
        return MG_ETOOBIG;
    }
    out->limit = CONFIG_EXPAND_MAX_OUTPUT;
    if (mg_buf_reserve(out, len + 1))
        return MG_ENOMEM;

    enum { NORMAL, STRING, LINE_COMMENT, BLOCK_COMMENT } st = NORMAL;
    bool line_start = true; /* only blanks so far on this line (for @include) */
    while (x.pos < x.len && !x.rc) {
        char c = x.in[x.pos];
        if (c == '\0') {
            error(&x, "NUL byte in the configuration%s", "");
            x.pos++;
            continue;
        }
        if (c == '\n') {
            put(&x, "\n", 1);
            x.pos++;
            x.line++;
            line_start = true;
            if (st == LINE_COMMENT)
                st = NORMAL;
            continue;
        }
        switch (st) {
        case NORMAL:
            if (c == '"') {
                st = STRING;
            } else if (c == '#') {
                st = LINE_COMMENT;
            } else if (c == '/' && x.pos + 1 < x.len && x.in[x.pos + 1] == '/') {
                st = LINE_COMMENT;
            } else if (c == '/' && x.pos + 1 < x.len && x.in[x.pos + 1] == '*') {
                put(&x, "/*", 2);
                x.pos += 2;
                st = BLOCK_COMMENT;
                line_start = false;
                continue;
            } else if (c == '$' && x.pos + 1 < x.len && x.in[x.pos + 1] == '{') {
                expand_ref(&x, false);
                line_start = false;
                continue;
            } else if (c == '@' && line_start) {
                /* libconfig would open the named file: not wanted (one file is the whole
                 * configuration, and a fuzzer must not open files). Blank out the line. */
                error(&x, "%s directives are not supported", "@include");
                while (x.pos < x.len && x.in[x.pos] != '\n')
                    x.pos++;
                continue;
            }
            if (c != ' ' && c != '\t' && c != '\r')
                line_start = false;
            put(&x, &c, 1);
            x.pos++;
            break;
        case STRING:
            if (c == '\\' && x.pos + 1 < x.len && x.in[x.pos + 1] != '\n') {
                put(&x, x.in + x.pos, 2);
                x.pos += 2;
                continue;
            }
            if (c == '$' && x.pos + 1 < x.len && x.in[x.pos + 1] == '{') {
                expand_ref(&x, true);
                continue;
            }
            if (c == '"')
                st = NORMAL;
            put(&x, &c, 1);
            x.pos++;
            break;
        case LINE_COMMENT:
            put(&x, &c, 1);
            x.pos++;
            break;
        case BLOCK_COMMENT:
            if (c == '*' && x.pos + 1 < x.len && x.in[x.pos + 1] == '/') {
                put(&x, "*/", 2);
                x.pos += 2;
                st = NORMAL;
                continue;
            }
            put(&x, &c, 1);
            x.pos++;
            break;
        }
    }
    if (x.rc)
        return x.rc;
    out->data[out->len] = '\0'; /* reserved above; mg_buf_append keeps it so */
    return x.had_error ? MG_ECONFIG : 0;
}
