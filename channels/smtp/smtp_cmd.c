/* smtp_cmd: SMTP command-line parser (see smtp_cmd.h). Grammar from RFC 5321 §4.1.2 and
 * §4.1.3, RFC 6531 §3.3 (UTF-8 in paths), RFC 3461 §4 (DSN parameters), RFC 1870 (SIZE),
 * RFC 6152 (BODY) and RFC 3030 (BDAT). */
#include "smtp_cmd.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"

static const struct {
    const char *name;
    enum smtp_verb verb;
} verbs[] = {
    { "HELO", SMTP_VERB_HELO }, { "EHLO", SMTP_VERB_EHLO }, { "MAIL", SMTP_VERB_MAIL },
    { "RCPT", SMTP_VERB_RCPT }, { "DATA", SMTP_VERB_DATA }, { "BDAT", SMTP_VERB_BDAT },
    { "RSET", SMTP_VERB_RSET }, { "NOOP", SMTP_VERB_NOOP }, { "QUIT", SMTP_VERB_QUIT },
    { "VRFY", SMTP_VERB_VRFY }, { "EXPN", SMTP_VERB_EXPN }, { "HELP", SMTP_VERB_HELP },
    { "STARTTLS", SMTP_VERB_STARTTLS },
};

const char *smtp_cmd_verb_name(enum smtp_verb v)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (verbs[i].verb == v)
            return verbs[i].name;
    return "UNKNOWN";
}

static int fail(struct smtp_reply *err, int code, const char *enh, const char *text)
{
    err->code = code;
    snprintf(err->enhanced, sizeof err->enhanced, "%s", enh);
    snprintf(err->text, sizeof err->text, "%s", text);
    return MG_EPARSE;
}

int smtp_cmd_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i - 1 < n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* RFC 3461 xtext uses upper-case hex only */
}

long smtp_cmd_xtext_decode(const char *in, size_t len, char *out, size_t outsz)
{
    size_t o = 0;
    if (outsz == 0)
        return -1;
    out[0] = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        int v;
        if (c == '+') {
            if (len - i < 3)
                return -1;
            int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            v = h * 16 + l;
            if (v == 0)
                return -1; /* a NUL would truncate the value silently */
            i += 2;
        } else if (c >= 33 && c <= 126 && c != '=') {
            v = c;
        } else {
            return -1;
        }
        if (o + 1 >= outsz)
            return -1;
        out[o++] = (char)v;
    }
    out[o] = 0;
    return (long)o;
}

long smtp_cmd_xtext_encode(const char *in, char *out, size_t outsz)
{
    size_t o = 0;
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (*p >= 33 && *p <= 126 && *p != '+' && *p != '=') {
            if (o + 1 >= outsz)
                return -1;
            out[o++] = (char)*p;
        } else {
            if (o + 3 >= outsz)
                return -1;
            out[o++] = '+';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    if (o >= outsz)
        return -1;
    out[o] = 0;
    return (long)o;
}

/* RFC 5322 atext (RFC 5321 uses it for Atom), plus any non-ASCII octet (RFC 6531 UTF8-non-ascii;
 * well-formedness is checked once over the whole path). */
static int is_atext(unsigned char c)
{
    if (c >= 0x80 || isalnum(c))
        return 1;
    return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int is_letdig(unsigned char c) { return c >= 0x80 || isalnum(c); }

/* Domain = sub-domain *("." sub-domain); returns the number of octets consumed, 0 if none is
 * there or a label is malformed. Labels at most 63 octets, the domain at most 255. */
static size_t scan_domain(const char *p, size_t n)
{
    size_t i = 0;
    for (;;) {
        size_t start = i;
        if (i >= n || !is_letdig((unsigned char)p[i]))
            return 0;
        while (i < n && (is_letdig((unsigned char)p[i]) || p[i] == '-'))
            i++;
        if (p[i - 1] == '-' || i - start > 63)
            return 0;
        if (i < n && p[i] == '.' && i + 1 < n && is_letdig((unsigned char)p[i + 1])) {
            i++;
            continue;
        }
        break;
    }
    return i > 255 ? 0 : i;
}

/* address-literal "[" ... "]": IPv4, "IPv6:..." or General; we check the shape (printable
 * dcontent, RFC 5321 §4.1.3) and leave semantic checks to whoever routes on it. */
static size_t scan_addr_literal(const char *p, size_t n)
{
    if (n < 3 || p[0] != '[')
        return 0;
    size_t i = 1;
    while (i < n && p[i] != ']') {
        unsigned char c = (unsigned char)p[i];
        if (c < 33 || c > 126 || c == '[' || c == '\\')
            return 0;
        i++;
    }
    if (i >= n || i == 1)
        return 0;
    return i + 1;
}

/* Path = "<" [ A-d-l ":" ] Mailbox ">" ; writes the mailbox (no brackets, no route) to out.
 * is_null_ok allows "<>", postmaster_ok allows "<Postmaster>". Returns the octets consumed or
 * 0 on bad syntax. */
static size_t scan_path(const char *p, size_t n, char *out, size_t outsz, int null_ok,
                        int postmaster_ok, int *utf8)
{
    size_t i = 0;
    *utf8 = 0;
    if (n < 2 || p[0] != '<')
        return 0;
    i = 1;
    if (p[i] == '>') {
        if (!null_ok)
            return 0;
        out[0] = 0;
        return 2;
    }
    /* Source route: "@a.example,@b.example:" is accepted and ignored (RFC 5321 §4.1.1.3). */
    if (p[i] == '@') {
        for (;;) {
            if (i >= n || p[i] != '@')
                return 0;
            i++;
            size_t d = scan_domain(p + i, n - i);
            if (!d)
                return 0;
            i += d;
            if (i < n && p[i] == ',') {
                i++;
                continue;
            }
            if (i < n && p[i] == ':') {
                i++;
                break;
            }
            return 0;
        }
    }
    size_t mb = i;
    /* Local part. */
    if (i < n && p[i] == '"') {
        i++;
        for (;;) {
            if (i >= n)
                return 0;
            unsigned char c = (unsigned char)p[i];
            if (c == '"')
                break;
            if (c == '\\') {
                if (i + 1 >= n || (unsigned char)p[i + 1] < 32 || (unsigned char)p[i + 1] > 126)
                    return 0;
                i += 2;
                continue;
            }
            if (c < 32 || c == 127)
                return 0;
            i++;
        }
        i++; /* closing quote */
        if (i - mb == 2)
            return 0; /* empty quoted string: RFC 5321 allows it but it is useless and odd */
    } else {
        size_t start = i;
        for (;;) {
            size_t a = i;
            while (i < n && is_atext((unsigned char)p[i]))
                i++;
            if (i == a)
                return 0;
            if (i < n && p[i] == '.') {
                i++;
                continue;
            }
            break;
        }
        (void)start;
    }
    if (i - mb > 64 + 2) /* RFC 5321 §4.5.3.1.1, plus the quotes */
        return 0;
    if (i < n && p[i] == '>') {
        /* No domain: only "Postmaster" for RCPT (RFC 5321 §4.1.1.3). */
        if (!postmaster_ok || i - mb != 10 || strncasecmp(p + mb, "postmaster", 10) != 0)
            return 0;
    } else {
        if (i >= n || p[i] != '@')
            return 0;
        i++;
        if (i >= n)
            return 0;
        size_t d = p[i] == '[' ? scan_addr_literal(p + i, n - i) : scan_domain(p + i, n - i);
        if (!d)
            return 0;
        i += d;
        if (i >= n || p[i] != '>')
            return 0;
    }
    size_t mlen = i - mb;
    if (mlen + 1 > outsz)
        return 0;
    memcpy(out, p + mb, mlen);
    out[mlen] = 0;
    for (size_t k = 0; k < mlen; k++)
        if ((unsigned char)out[k] >= 0x80)
            *utf8 = 1;
    if (*utf8 && !smtp_cmd_utf8_valid((const unsigned char *)out, mlen))
        return 0;
    return i + 1;
}

static int parse_size(const char *v, size_t *out)
{
    size_t r = 0;
    if (!*v || strlen(v) > 20)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9')
            return -1;
        size_t d = (size_t)(*v - '0');
        if (r > ((size_t)-1 - d) / 10)
            return -1;
        r = r * 10 + d;
    }
    *out = r;
    return 0;
}

/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); esmtp-value = 1*(%d33-60 / %d62-126)
 * (RFC 6531 adds UTF-8, which only matters for values we do not interpret). */
static int split_param(char *tok, char **key, char **val)
{
    *key = tok;
    *val = NULL;
    char *eq = strchr(tok, '=');
    if (eq) {
        *eq = 0;
        *val = eq + 1;
        if (!**val)
            return -1;
        for (unsigned char *v = (unsigned char *)*val; *v; v++)
            if ((*v < 33 || *v == '=' || *v == 127))
                return -1;
    }
    if (!isalnum((unsigned char)tok[0]))
        return -1;
    for (char *k = tok; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '-')
            return -1;
    return 0;
}

static int parse_mail_param(struct smtp_cmd *c, char *key, char *val, unsigned allow,
                            size_t max_size, struct smtp_reply *err)
{
    if (!strcasecmp(key, "SIZE") && (allow & SMTP_CMD_ALLOW_SIZE)) {
        if (c->size_given || !val || parse_size(val, &c->size))
            return fail(err, 501, "5.5.4", "Bad SIZE parameter");
        c->size_given = 1;
        if (max_size && c->size > max_size)
            return fail(err, 552, "5.3.4", "Message size exceeds fixed limit");
        return 0;
    }
    if (!strcasecmp(key, "BODY") && (allow & SMTP_CMD_ALLOW_8BITMIME)) {
        if (c->body != SMTP_BODY_NONE || !val)
            return fail(err, 501, "5.5.4", "Bad BODY parameter");
        if (!strcasecmp(val, "7BIT"))
            c->body = SMTP_BODY_7BIT;
        else if (!strcasecmp(val, "8BITMIME"))
            c->body = SMTP_BODY_8BITMIME;
        else if (!strcasecmp(val, "BINARYMIME"))
            return fail(err, 555, "5.5.4", "BINARYMIME not supported");
        else
            return fail(err, 501, "5.5.4", "Bad BODY parameter");
        return 0;
    }
    if (!strcasecmp(key, "SMTPUTF8") && (allow & SMTP_CMD_ALLOW_SMTPUTF8)) {
        if (val || c->smtputf8)
            return fail(err, 501, "5.5.4", "SMTPUTF8 takes no value");
        c->smtputf8 = 1;
        return 0;
    }
    if (!strcasecmp(key, "RET") && (allow & SMTP_CMD_ALLOW_DSN)) {
        if (c->ret != SMTP_RET_NONE || !val)
            return fail(err, 501, "5.5.4", "Bad RET parameter");
        if (!strcasecmp(val, "FULL"))
            c->ret = SMTP_RET_FULL;
        else if (!strcasecmp(val, "HDRS"))
            c->ret = SMTP_RET_HDRS;
        else
            return fail(err, 501, "5.5.4", "Bad RET parameter");
        return 0;
    }
    if (!strcasecmp(key, "ENVID") && (allow & SMTP_CMD_ALLOW_DSN)) {
        if (c->envid_given || !val ||
            smtp_cmd_xtext_decode(val, strlen(val), c->envid, sizeof c->envid) < 0)
            return fail(err, 501, "5.5.4", "Bad ENVID parameter");
        c->envid_given = 1;
        return 0;
    }
    if (!strcasecmp(key, "MT-PRIORITY") && (allow & SMTP_CMD_ALLOW_MT_PRIORITY)) {
        /* RFC 6710: priority-value = (["-"] %x31-39) / "0" */
        int neg = val && val[0] == '-';
        const char *d = val ? val + neg : NULL;
        if (c->mt_priority_given || !d || d[0] < '0' || d[0] > '9' || d[1] ||
            (neg && d[0] == '0'))
            return fail(err, 501, "5.5.4", "Bad MT-PRIORITY parameter");
        c->mt_priority = neg ? -(d[0] - '0') : d[0] - '0';
        c->mt_priority_given = 1;
        return 0;
    }
    return fail(err, 555, "5.5.4", "Unsupported MAIL parameter");
}

static int parse_rcpt_param(struct smtp_cmd *c, char *key, char *val, unsigned allow,
                            struct smtp_reply *err)
{
    if (!strcasecmp(key, "NOTIFY") && (allow & SMTP_CMD_ALLOW_DSN)) {
        if (c->notify || !val)
            return fail(err, 501, "5.5.4", "Bad NOTIFY parameter");
        char *save = NULL;
        for (char *t = strtok_r(val, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            unsigned bit;
            if (!strcasecmp(t, "NEVER"))
                bit = SMTP_NOTIFY_NEVER;
            else if (!strcasecmp(t, "SUCCESS"))
                bit = SMTP_NOTIFY_SUCCESS;
            else if (!strcasecmp(t, "FAILURE"))
                bit = SMTP_NOTIFY_FAILURE;
            else if (!strcasecmp(t, "DELAY"))
                bit = SMTP_NOTIFY_DELAY;
            else
                return fail(err, 501, "5.5.4", "Bad NOTIFY parameter");
            if (c->notify & bit)
                return fail(err, 501, "5.5.4", "Bad NOTIFY parameter");
            c->notify |= bit;
        }
        if (!c->notify || ((c->notify & SMTP_NOTIFY_NEVER) && c->notify != SMTP_NOTIFY_NEVER))
            return fail(err, 501, "5.5.4", "NOTIFY=NEVER cannot be combined");
        return 0;
    }
    if (!strcasecmp(key, "ORCPT") && (allow & SMTP_CMD_ALLOW_DSN)) {
        char *semi = val ? strchr(val, ';') : NULL;
        if (c->orcpt_given || !semi || semi == val || (size_t)(semi - val) >= sizeof c->orcpt_type)
            return fail(err, 501, "5.5.4", "Bad ORCPT parameter");
        for (char *k = val; k < semi; k++)
            if (!isalnum((unsigned char)*k) && *k != '-')
                return fail(err, 501, "5.5.4", "Bad ORCPT parameter");
        memcpy(c->orcpt_type, val, (size_t)(semi - val));
        c->orcpt_type[semi - val] = 0;
        if (!semi[1] || smtp_cmd_xtext_decode(semi + 1, strlen(semi + 1), c->orcpt,
                                              sizeof c->orcpt) < 0)
            return fail(err, 501, "5.5.4", "Bad ORCPT parameter");
        c->orcpt_given = 1;
        return 0;
    }
    return fail(err, 555, "5.5.4", "Unsupported RCPT parameter");
}

/* MAIL FROM:<path> params / RCPT TO:<path> params. rest points after "MAIL " / "RCPT ". */
static int parse_mail_rcpt(struct smtp_cmd *c, const char *rest, size_t n, unsigned allow,
                           size_t max_size, struct smtp_reply *err)
{
    int is_mail = c->verb == SMTP_VERB_MAIL;
    const char *kw = is_mail ? "FROM:" : "TO:";
    size_t kwl = strlen(kw);
    if (n < kwl || strncasecmp(rest, kw, kwl) != 0)
        return fail(err, 501, "5.5.4", is_mail ? "Syntax: MAIL FROM:<address>"
                                               : "Syntax: RCPT TO:<address>");
    size_t i = kwl;
    /* RFC 5321 has no space here, but many clients send one; accepting it is harmless. */
    while (i < n && rest[i] == ' ')
        i++;
    size_t used = scan_path(rest + i, n - i, c->path, sizeof c->path, is_mail, !is_mail,
                            &c->path_utf8);
    if (!used)
        return fail(err, 553, "5.1.3", is_mail ? "Bad sender address syntax"
                                               : "Bad recipient address syntax");
    i += used;
    /* Parameters: copy the rest so tokens can be cut in place. */
    char params[SMTP_CMD_MAX_LINE + 1];
    if (n - i > SMTP_CMD_MAX_LINE)
        return fail(err, 500, "5.5.2", "Line too long");
    memcpy(params, rest + i, n - i);
    params[n - i] = 0;
    if (params[0] && params[0] != ' ')
        return fail(err, 501, "5.5.4", "Garbage after address");
    char *save = NULL;
    for (char *t = strtok_r(params, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *key, *val;
        if (split_param(t, &key, &val))
            return fail(err, 501, "5.5.4", "Bad parameter syntax");
        int rc = is_mail ? parse_mail_param(c, key, val, allow, max_size, err)
                         : parse_rcpt_param(c, key, val, allow, err);
        if (rc)
            return rc;
    }
    if (is_mail && c->path_utf8 && !c->smtputf8)
        return fail(err, 553, "5.6.7", "Non-ASCII sender address needs SMTPUTF8");
    return 0;
}

int smtp_cmd_parse(const char *line, size_t len, unsigned allow, size_t max_size,
                   struct smtp_cmd *c, struct smtp_reply *err)
{
    memset(c, 0, sizeof *c);
    memset(err, 0, sizeof *err);
    if (len > SMTP_CMD_MAX_LINE)
        return fail(err, 500, "5.5.2", "Line too long");
    for (size_t i = 0; i < len; i++)
        if (line[i] == 0 || line[i] == '\r' || line[i] == '\n')
            return fail(err, 500, "5.5.2", "Control characters in command");
    size_t vl = 0;
    while (vl < len && line[vl] != ' ')
        vl++;
    for (size_t k = 0; k < sizeof verbs / sizeof verbs[0]; k++)
        if (strlen(verbs[k].name) == vl && !strncasecmp(line, verbs[k].name, vl))
            c->verb = verbs[k].verb;
    if (c->verb == SMTP_VERB_UNKNOWN)
        return fail(err, 500, "5.5.2", "Command unrecognized");
    const char *rest = line + vl;
    size_t n = len - vl;
    if (n) { /* skip the one separating space */
        rest++;
        n--;
    }
    /* Trailing spaces are common and meaningless. */
    while (n && rest[n - 1] == ' ')
        n--;

    switch (c->verb) {
    case SMTP_VERB_HELO:
    case SMTP_VERB_EHLO: {
        if (!n)
            return fail(err, 501, "5.5.4", "Syntax: EHLO hostname");
        /* Postel applies to HELO (RFC 5321 §4.1.4 lets the server accept what it cannot
         * verify): real clients send names with '_', trailing dots or words after the name.
         * We take the first word when it is an address literal or made of host-name characters
         * (letters, digits, '-', '.', '_', UTF-8), which keeps it safe for the Received: header. */
        size_t d = 0;
        if (rest[0] == '[') {
            d = scan_addr_literal(rest, n);
        } else {
            while (d < n && d < 255 && (is_letdig((unsigned char)rest[d]) || rest[d] == '-' ||
                                        rest[d] == '.' || rest[d] == '_'))
                d++;
        }
        if (!d || (d < n && rest[d] != ' '))
            return fail(err, 501, "5.5.4", "Invalid domain name");
        memcpy(c->arg, rest, d);
        c->arg[d] = 0;
        if (!smtp_cmd_utf8_valid((const unsigned char *)c->arg, d))
            return fail(err, 501, "5.5.4", "Invalid domain name");
        return 0;
    }
    case SMTP_VERB_MAIL:
    case SMTP_VERB_RCPT:
        return parse_mail_rcpt(c, rest, n, allow, max_size, err);
    case SMTP_VERB_DATA:
    case SMTP_VERB_RSET:
    case SMTP_VERB_QUIT:
    case SMTP_VERB_STARTTLS:
        if (n)
            return fail(err, 501, "5.5.4", "No parameters allowed");
        return 0;
    case SMTP_VERB_BDAT: {
        char tmp[32];
        size_t k = 0;
        while (k < n && rest[k] != ' ')
            k++;
        if (!k || k >= sizeof tmp)
            return fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
        memcpy(tmp, rest, k);
        tmp[k] = 0;
        if (parse_size(tmp, &c->chunk_size))
            return fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
        while (k < n && rest[k] == ' ')
            k++;
        if (k < n) {
            if (n - k != 4 || strncasecmp(rest + k, "LAST", 4) != 0)
                return fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
            c->last = 1;
        }
        return 0;
    }
    case SMTP_VERB_NOOP:
    case SMTP_VERB_VRFY:
    case SMTP_VERB_EXPN:
    case SMTP_VERB_HELP:
        if (c->verb == SMTP_VERB_VRFY && !n)
            return fail(err, 501, "5.5.4", "Syntax: VRFY address");
        memcpy(c->arg, rest, n);
        c->arg[n] = 0;
        return 0;
    case SMTP_VERB_UNKNOWN:
        break;
    }
    return fail(err, 500, "5.5.2", "Command unrecognized");
}
