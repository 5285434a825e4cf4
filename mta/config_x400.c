/* config_x400: the notations of the X.400 parts of the configuration that other modules
 * (the p1 tools) parse too: OSI selectors and RFC 1278 presentation addresses (config.h). */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"

const char *config_x400_mode_name(enum config_x400_mode m)
{
    switch (m) {
    case CONFIG_X400_1988_NORMAL: return "1988-normal";
    case CONFIG_X400_1988_X410: return "1988-x410";
    case CONFIG_X400_1984: return "1984";
    }
    return "?";
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One selector from [b, e). */
static int sel_parse(const char *b, const char *e, struct config_sel *out)
{
    memset(out, 0, sizeof *out);
    size_t n = (size_t)(e - b);
    if (n == 0)
        return 0;
    if (b[0] == '\'' ) {
        /* 'hex'H */
        if (n < 3 || (e[-1] != 'H' && e[-1] != 'h') || e[-2] != '\'')
            return MG_EINVAL;
        size_t hl = n - 3;
        if (hl % 2 || hl / 2 > CONFIG_SEL_MAX)
            return MG_EINVAL;
        for (size_t i = 0; i < hl; i += 2) {
            int h = hexval((unsigned char)b[1 + i]), l = hexval((unsigned char)b[2 + i]);
            if (h < 0 || l < 0)
                return MG_EINVAL;
            out->v[out->len++] = (uint8_t)(h << 4 | l);
        }
        return 0;
    }
    if (b[0] == '#') {
        /* #decimal: a 2-octet selector (ISODE's notation for numeric TSELs) */
        unsigned long v = 0;
        if (n < 2 || n > 6)
            return MG_EINVAL;
        for (const char *p = b + 1; p < e; p++) {
            if (!isdigit((unsigned char)*p))
                return MG_EINVAL;
            v = v * 10 + (unsigned long)(*p - '0');
        }
        if (v > 65535)
            return MG_EINVAL;
        out->v[0] = (uint8_t)(v >> 8);
        out->v[1] = (uint8_t)v;
        out->len = 2;
        return 0;
    }
    if (b[0] == '"') {
        if (n < 2 || e[-1] != '"')
            return MG_EINVAL;
        b++;
        e--;
        n -= 2;
    }
    if (n > CONFIG_SEL_MAX)
        return MG_EINVAL;
    for (const char *p = b; p < e; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || (unsigned char)*p >= 0x7f)
            return MG_EINVAL;
    memcpy(out->v, b, n);
    out->len = n;
    return 0;
}

int config_parse_sel(const char *s, struct config_sel *out)
{
    if (!s || !out)
        return MG_EINVAL;
    return sel_parse(s, s + strlen(s), out);
}

/* "host+port" or "host:port" (host may be [v6] with ':'), port optional. */
static int hostport(const char *s, char **host, uint16_t *port)
{
    const char *sep = strrchr(s, '+');
    if (!sep && s[0] != '[') {
        const char *c = strchr(s, ':');
        if (c && !strchr(c + 1, ':'))
            sep = c;
    }
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb)
            return MG_EINVAL;
        if (rb[1] && rb[1] != ':' && rb[1] != '+')
            return MG_EINVAL;
        sep = rb[1] ? rb + 1 : NULL;
    }
    const char *he = sep ? sep : s + strlen(s);
    const char *hb = s;
    if (*hb == '[') {
        hb++;
        he = strchr(hb, ']');
    }
    if (he == hb)
        return MG_EINVAL;
    *port = 0;
    if (sep) {
        unsigned long v = 0;
        const char *p = sep + 1;
        if (!*p)
            return MG_EINVAL;
        for (; *p; p++) {
            if (!isdigit((unsigned char)*p) || (v = v * 10 + (unsigned long)(*p - '0')) > 65535)
                return MG_EINVAL;
        }
        if (v == 0)
            return MG_EINVAL;
        *port = (uint16_t)v;
    }
    for (const char *p = hb; p < he; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '_'))
            return MG_EINVAL;
    *host = strndup(hb, (size_t)(he - hb));
    return *host ? 0 : MG_ENOMEM;
}

static bool is_sel_start(const char *p)
{
    return *p == '"' || *p == '\'' || *p == '#' || *p == '/';
}

int config_parse_paddr(const char *s, struct config_sel *psel, struct config_sel *ssel,
                       struct config_sel *tsel, char **host, uint16_t *port)
{
    if (!s || !psel || !ssel || !tsel || !host || !port)
        return MG_EINVAL;
    *host = NULL;
    *port = 0;
    memset(psel, 0, sizeof *psel);
    memset(ssel, 0, sizeof *ssel);
    memset(tsel, 0, sizeof *tsel);
    /* Selectors first, each followed by '/'; an empty one ("//") is allowed. */
    struct config_sel sels[3];
    size_t nsel = 0;
    const char *p = s;
    while (nsel < 3 && is_sel_start(p)) {
        const char *e = p;
        if (*p == '"') {
            e = strchr(p + 1, '"');
            if (!e)
                return MG_EINVAL;
            e++;
        } else if (*p == '\'') {
            e = strchr(p + 1, '\'');
            if (!e || (e[1] != 'H' && e[1] != 'h'))
                return MG_EINVAL;
            e += 2;
        } else if (*p == '#') {
            e = p + 1;
            while (isdigit((unsigned char)*e))
                e++;
        }
        if (*e != '/')
            return MG_EINVAL;
        if (sel_parse(p, e, &sels[nsel]))
            return MG_EINVAL;
        nsel++;
        p = e + 1;
    }
    /* The last selectors given are the lower layers' (P/S/T, T alone, S/T). */
    struct config_sel *dst[3] = { psel, ssel, tsel };
    for (size_t i = 0; i < nsel; i++)
        *dst[3 - nsel + i] = sels[i];
    if (!*p)
        return nsel ? 0 : MG_EINVAL;
    static const char *const prefixes[] = { "TCP/", "Internet=", "IP=", "RFC-1006+03+",
                                            "RFC-1006+" };
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t l = strlen(prefixes[i]);
        if (strncasecmp(p, prefixes[i], l) == 0) {
            p += l;
            break;
        }
    }
    return hostport(p, host, port);
}
