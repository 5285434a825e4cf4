/* mixer_or: RFC 2156 4.1 O/R address model, std-or-address parse/print, encoded-pn. */
#include "mixer_or.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mixer_ps.h"

/* Value classes of the 4.1.1 key table. */
enum val_kind { V_PS, V_PT, V_NUM, V_UPA, V_INT, V_PSAP };

static const struct {
    const char *name;
    enum val_kind kind;
    size_t ub; /* X.411 upper bound in characters (0 = not checked here) */
} key_info[MIXER_OR_KEY_COUNT] = {
    [MIXER_OR_C] = {"C", V_PS, 3},
    [MIXER_OR_ADMD] = {"ADMD", V_PS, 16},
    [MIXER_OR_PRMD] = {"PRMD", V_PS, 16},
    [MIXER_OR_O] = {"O", V_PT, 64},
    [MIXER_OR_OU] = {"OU", V_PT, 32},
    [MIXER_OR_CN] = {"CN", V_PT, 64},
    [MIXER_OR_G] = {"G", V_PT, 16},
    [MIXER_OR_I] = {"I", V_PT, 5},
    [MIXER_OR_S] = {"S", V_PT, 40},
    [MIXER_OR_GQ] = {"GQ", V_PT, 3},
    [MIXER_OR_X121] = {"X121", V_NUM, 15},
    [MIXER_OR_TID] = {"T-ID", V_PS, 24},
    [MIXER_OR_UAID] = {"UA-ID", V_NUM, 32},
    [MIXER_OR_PD_SERVICE] = {"PD-SERVICE", V_PS, 16},
    [MIXER_OR_PD_C] = {"PD-C", V_PS, 3},
    [MIXER_OR_PD_CODE] = {"PD-CODE", V_PS, 16},
    [MIXER_OR_PD_OFFICE] = {"PD-OFFICE", V_PT, 30},
    [MIXER_OR_PD_OFFICE_NUM] = {"PD-OFFICE-NUM", V_PT, 30},
    [MIXER_OR_PD_EXT_ADDRESS] = {"PD-EXT-ADDRESS", V_PT, 30},
    [MIXER_OR_PD_PN] = {"PD-PN", V_PT, 30},
    [MIXER_OR_PD_O] = {"PD-O", V_PT, 30},
    [MIXER_OR_PD_EXT_DELIVERY] = {"PD-EXT-DELIVERY", V_PT, 30},
    [MIXER_OR_PD_ADDRESS] = {"PD-ADDRESS", V_UPA, 0},
    [MIXER_OR_PD_STREET] = {"PD-STREET", V_PT, 30},
    [MIXER_OR_PD_BOX] = {"PD-BOX", V_PT, 30},
    [MIXER_OR_PD_RESTANTE] = {"PD-RESTANTE", V_PT, 30},
    [MIXER_OR_PD_UNIQUE] = {"PD-UNIQUE", V_PT, 30},
    [MIXER_OR_PD_LOCAL] = {"PD-LOCAL", V_PT, 30},
    [MIXER_OR_NET_NUM] = {"NET-NUM", V_NUM, 15},
    [MIXER_OR_NET_SUB] = {"NET-SUB", V_NUM, 40},
    [MIXER_OR_NET_PSAP] = {"NET-PSAP", V_PSAP, 0},
    [MIXER_OR_TTY] = {"T-TY", V_INT, 0},
    [MIXER_OR_DD] = {"DD", V_PT, 128},
};

/* Input-only alternatives of 4.1.3 (never generated). */
static const struct {
    const char *alias;
    enum mixer_or_key key;
} key_alias[] = {
    {"A", MIXER_OR_ADMD},           {"P", MIXER_OR_PRMD},
    {"Q", MIXER_OR_GQ},             {"X.121", MIXER_OR_X121},
    {"N-ID", MIXER_OR_UAID},        {"PD-OFFICE NUMBER", MIXER_OR_PD_OFFICE_NUM},
    {"PD-OFN", MIXER_OR_PD_OFFICE_NUM}, {"PD-EA", MIXER_OR_PD_EXT_ADDRESS},
    {"PD-ED", MIXER_OR_PD_EXT_DELIVERY}, {"PD-OF", MIXER_OR_PD_OFFICE},
    {"PD-S", MIXER_OR_PD_STREET},   {"PD-U", MIXER_OR_PD_UNIQUE},
    {"PD-L", MIXER_OR_PD_LOCAL},    {"PD-R", MIXER_OR_PD_RESTANTE},
    {"PD-B", MIXER_OR_PD_BOX},      {"PD-PC", MIXER_OR_PD_CODE},
    {"PD-SN", MIXER_OR_PD_SERVICE}, {"DDA", MIXER_OR_DD},
    {"E.164", MIXER_OR_NET_NUM},    {"PSAP", MIXER_OR_NET_PSAP},
    {"PD-A", MIXER_OR_PD_ADDRESS},
};

static bool multi_valued(enum mixer_or_key k)
{
    return k == MIXER_OR_OU || k == MIXER_OR_DD;
}

void mixer_or_init(struct mixer_or *or)
{
    or->n = 0;
}

const char *mixer_or_key_name(enum mixer_or_key key)
{
    if ((int)key < 0 || key >= MIXER_OR_KEY_COUNT)
        return "?";
    return key_info[key].name;
}

int mixer_or_key_lookup(const char *name, size_t n)
{
    for (int k = 0; k < MIXER_OR_KEY_COUNT; k++)
        if (strlen(key_info[k].name) == n && strncasecmp(key_info[k].name, name, n) == 0)
            return k;
    for (size_t i = 0; i < sizeof key_alias / sizeof key_alias[0]; i++)
        if (strlen(key_alias[i].alias) == n && strncasecmp(key_alias[i].alias, name, n) == 0)
            return (int)key_alias[i].key;
    return -1;
}

size_t mixer_or_count(const struct mixer_or *or, enum mixer_or_key key)
{
    size_t c = 0;
    for (size_t i = 0; i < or->n; i++)
        if (or->a[i].key == key)
            c++;
    return c;
}

const char *mixer_or_get(const struct mixer_or *or, enum mixer_or_key key, size_t idx)
{
    for (size_t i = 0; i < or->n; i++)
        if (or->a[i].key == key && idx-- == 0)
            return or->a[i].value;
    return NULL;
}

const char *mixer_or_get_dd(const struct mixer_or *or, const char *type)
{
    for (size_t i = 0; i < or->n; i++)
        if (or->a[i].key == MIXER_OR_DD && strcasecmp(or->a[i].type, type) == 0)
            return or->a[i].value;
    return NULL;
}

void mixer_or_remove(struct mixer_or *or, enum mixer_or_key key, const char *type)
{
    size_t o = 0;
    for (size_t i = 0; i < or->n; i++) {
        bool drop = or->a[i].key == key &&
                    (key != MIXER_OR_DD || !type || strcasecmp(or->a[i].type, type) == 0);
        if (!drop) {
            if (o != i)
                or->a[o] = or->a[i];
            o++;
        }
    }
    or->n = o;
}

int mixer_or_add(struct mixer_or *or, enum mixer_or_key key, const char *type,
                 const char *value, size_t vlen)
{
    if ((int)key < 0 || key >= MIXER_OR_KEY_COUNT)
        return MG_EINVAL;
    size_t have = mixer_or_count(or, key);
    if (!multi_valued(key) && have > 0)
        return MG_EINVAL;
    if (multi_valued(key) && have >= MIXER_OR_MAX_OU)
        return MG_EINVAL;
    if (or->n >= MIXER_OR_MAX_ATTRS || vlen >= MIXER_OR_VALUE_MAX)
        return MG_ETOOBIG;
    if (type && strlen(type) >= MIXER_OR_TYPE_MAX)
        return MG_ETOOBIG;
    size_t pos = or->n;
    while (pos > 0 && or->a[pos - 1].key > key)
        pos--;
    memmove(&or->a[pos + 1], &or->a[pos], (or->n - pos) * sizeof or->a[0]);
    struct mixer_or_attr *at = &or->a[pos];
    at->key = key;
    snprintf(at->type, sizeof at->type, "%s", type ? type : "");
    memcpy(at->value, value, vlen);
    at->value[vlen] = 0;
    or->n++;
    return 0;
}

/* Characters allowed in a value of this kind (after "$" unquoting). */
static bool value_ok(enum val_kind kind, const char *v, size_t n, size_t ub)
{
    size_t plen = n; /* printable part (before "*") */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        switch (kind) {
        case V_NUM:
            if (!isdigit(c) && c != ' ')
                return false;
            break;
        case V_INT:
        case V_PS:
        case V_PSAP:
            if (!mixer_ps_is_char(c) && !(kind == V_PSAP && (c == '"' || c == '#' || c == '|' ||
                                                             c == '_' || c == '~')))
                return false;
            break;
        case V_PT:
        case V_UPA:
            if (c == '*' && plen == n)
                plen = i;
            if (!mixer_ps_is_char(c) && c != '{' && c != '}' && c != '*' &&
                !(kind == V_UPA && c == '|'))
                return false;
            break;
        }
    }
    if (kind == V_PT) {
        /* teletex part: groups "{ddd...}" of 3-digit octets between ps-chars */
        for (size_t i = plen; i < n; i++) {
            if (v[i] == '{') {
                size_t j = i + 1, d = 0;
                while (j < n && isdigit((unsigned char)v[j]))
                    j++, d++;
                if (j >= n || v[j] != '}' || d == 0 || d % 3 != 0)
                    return false;
                i = j;
            } else if (v[i] == '}') {
                return false;
            }
        }
        for (size_t i = 0; i < plen; i++)
            if (v[i] == '{' || v[i] == '}')
                return false;
    }
    return ub == 0 || plen <= ub;
}

/* The ordered keys of 4.1.3 (OU1..OU4, DD1..DD4, PD-A1..PD-A6): base key and rank, or -1. */
static int ordered_key(const char *k, size_t n, int *rank)
{
    if (n == 3 && strncasecmp(k, "OU", 2) == 0 && k[2] >= '1' && k[2] <= '4') {
        *rank = k[2] - '1';
        return MIXER_OR_OU;
    }
    if (n == 3 && strncasecmp(k, "DD", 2) == 0 && k[2] >= '1' && k[2] <= '4') {
        *rank = k[2] - '1';
        return MIXER_OR_DD;
    }
    if (n == 5 && strncasecmp(k, "PD-A", 4) == 0 && k[4] >= '1' && k[4] <= '6') {
        *rank = k[4] - '1';
        return MIXER_OR_PD_ADDRESS;
    }
    return -1;
}

#define WHY(...) (why ? (void)snprintf(why, whysize, __VA_ARGS__) : (void)0)

/* Read a std-printablestring up to an unquoted separator (or "=" when stop_eq). */
static int read_std(const char *s, size_t n, size_t *pos, bool stop_eq, char *out, size_t outsize,
                    size_t *olen)
{
    size_t o = 0, i = *pos;
    while (i < n && s[i] != '/' && s[i] != ';' && !(stop_eq && s[i] == '=')) {
        char c = s[i];
        if (c == '$') {
            if (i + 1 >= n)
                return MG_EPARSE;
            c = s[++i];
        }
        if (o + 1 >= outsize)
            return MG_ETOOBIG;
        out[o++] = c;
        i++;
    }
    out[o] = 0;
    *olen = o;
    *pos = i;
    return 0;
}

int mixer_or_parse(const char *s, size_t n, struct mixer_or *out, char *why, size_t whysize)
{
    /* Ordered keys are collected first, then added in rank order. */
    char ordered_ou[MIXER_OR_MAX_OU][MIXER_OR_VALUE_MAX];
    bool have_ou[MIXER_OR_MAX_OU] = {false};
    char pda[6][MIXER_OR_VALUE_MAX];
    bool have_pda[6] = {false};
    bool plain_ou = false, plain_pda = false;
    size_t i = 0;
    int rc;

    mixer_or_init(out);
    if (n == 0 || !memchr(s, '=', n)) {
        WHY("an O/R address is a list of attribute=value");
        return MG_EPARSE;
    }
    /* std-or-address-input may start with a pair ("c=us; a=MCI; ...") */
    bool first = s[0] != '/' && s[0] != ';';
    while (i < n) {
        char key[MIXER_OR_VALUE_MAX], val[MIXER_OR_VALUE_MAX], ddtype[MIXER_OR_VALUE_MAX];
        size_t kl, vl, tl = 0;
        bool is_dd = false;
        if (!first) {
            if (s[i] != '/' && s[i] != ';') {
                WHY("expected a separator at offset %zu", i);
                return MG_EPARSE;
            }
            i++;
        }
        first = false;
        while (i < n && s[i] == ' ')
            i++; /* "c=us; a=MCI": blanks after a separator are layout */
        if (i >= n)
            break; /* trailing separator */
        if (s[i] == '/' || s[i] == ';')
            continue; /* mixed or doubled separators are tolerated on input */
        /* attribute: key-string, or dd-key "." / ":" type */
        size_t ks = i;
        while (i < n && s[i] != '=' && s[i] != '/' && s[i] != ';' && s[i] != '.' && s[i] != ':')
            i++;
        kl = i - ks;
        if (kl == 0 || kl >= sizeof key) {
            WHY("empty or long attribute key at offset %zu", ks);
            return MG_EPARSE;
        }
        memcpy(key, s + ks, kl);
        key[kl] = 0;
        int rank = -1;
        int k = -1;
        if (i < n && (s[i] == '.' || s[i] == ':')) {
            /* DD.type, DD:type, or a key containing a dot such as X.121 / E.164 */
            int dk = mixer_or_key_lookup(key, kl);
            int ok = ordered_key(key, kl, &rank);
            if (dk == MIXER_OR_DD || ok == MIXER_OR_DD) {
                i++;
                rc = read_std(s, n, &i, true, ddtype, sizeof ddtype, &tl);
                if (rc || tl == 0 || tl >= MIXER_OR_TYPE_MAX || !mixer_ps_is_printable(ddtype, tl)) {
                    WHY("bad domain-defined type at offset %zu", ks);
                    return MG_EPARSE;
                }
                is_dd = true;
                k = MIXER_OR_DD;
            } else {
                while (i < n && s[i] != '=' && s[i] != '/' && s[i] != ';')
                    i++;
                kl = i - ks;
                if (kl >= sizeof key) {
                    WHY("long attribute key at offset %zu", ks);
                    return MG_EPARSE;
                }
                memcpy(key, s + ks, kl);
                key[kl] = 0;
            }
        }
        if (i >= n || s[i] != '=') {
            WHY("attribute \"%s\" has no \"=\"", key);
            return MG_EPARSE;
        }
        i++;
        rc = read_std(s, n, &i, false, val, sizeof val, &vl);
        if (rc) {
            WHY("bad value for \"%s\"", key);
            return MG_EPARSE;
        }
        if (!is_dd) {
            if (kl == 2 && strncasecmp(key, "PN", 2) == 0) {
                /* PN is read as encoded-pn (4.1.3) and never generated */
                if (mixer_or_pn_parse(val, vl, out) != 0) {
                    WHY("PN value is not an encoded-pn or repeats G/I/S");
                    return MG_EPARSE;
                }
                continue;
            }
            if (kl == 7 && strncasecmp(key, "RFC-822", 7) == 0) {
                k = MIXER_OR_DD;
                memcpy(ddtype, "RFC-822", 8);
            } else {
                k = mixer_or_key_lookup(key, kl);
                if (k < 0)
                    k = ordered_key(key, kl, &rank);
            }
        }
        if (k < 0) {
            WHY("unknown attribute \"%s\"", key);
            return MG_EPARSE;
        }
        if (k == MIXER_OR_DD && !is_dd && strcmp(ddtype, "RFC-822") != 0) {
            WHY("domain-defined attribute without a type");
            return MG_EPARSE;
        }
        if (!value_ok(key_info[k].kind, val, vl, key_info[k].ub)) {
            WHY("value of %s is not valid or too long", key_info[k].name);
            return MG_EPARSE;
        }
        if (rank >= 0 && k == MIXER_OR_OU) {
            if (have_ou[rank] || plain_ou) {
                WHY("OU%d repeated or mixed with OU", rank + 1);
                return MG_EPARSE;
            }
            have_ou[rank] = true;
            memcpy(ordered_ou[rank], val, vl + 1);
            continue;
        }
        if (rank >= 0 && k == MIXER_OR_PD_ADDRESS) {
            if (have_pda[rank] || plain_pda) {
                WHY("PD-A%d repeated or mixed with PD-ADDRESS", rank + 1);
                return MG_EPARSE;
            }
            have_pda[rank] = true;
            memcpy(pda[rank], val, vl + 1);
            continue;
        }
        if (k == MIXER_OR_OU) {
            for (int r = 0; r < MIXER_OR_MAX_OU; r++)
                if (have_ou[r]) {
                    WHY("OU mixed with OU1..OU4");
                    return MG_EPARSE;
                }
            plain_ou = true;
        }
        if (k == MIXER_OR_PD_ADDRESS)
            plain_pda = true;
        rc = mixer_or_add(out, (enum mixer_or_key)k, k == MIXER_OR_DD ? ddtype : NULL, val, vl);
        if (rc) {
            WHY("attribute %s repeated or too many attributes", key_info[k].name);
            return MG_EPARSE;
        }
    }
    for (int r = 0; r < MIXER_OR_MAX_OU; r++)
        if (have_ou[r] && mixer_or_add(out, MIXER_OR_OU, NULL, ordered_ou[r],
                                       strlen(ordered_ou[r])) != 0) {
            WHY("too many attributes");
            return MG_EPARSE;
        }
    char joined[MIXER_OR_VALUE_MAX];
    size_t jl = 0;
    bool any_pda = false;
    for (int r = 0; r < 6; r++) {
        if (!have_pda[r])
            continue;
        size_t l = strlen(pda[r]);
        if (jl + l + 2 > sizeof joined) {
            WHY("PD-A lines too long");
            return MG_EPARSE;
        }
        if (any_pda)
            joined[jl++] = '|';
        memcpy(joined + jl, pda[r], l);
        jl += l;
        any_pda = true;
    }
    if (any_pda && mixer_or_add(out, MIXER_OR_PD_ADDRESS, NULL, joined, jl) != 0) {
        WHY("too many attributes");
        return MG_EPARSE;
    }
    if (out->n == 0) {
        WHY("no attributes");
        return MG_EPARSE;
    }
    if (mixer_or_get(out, MIXER_OR_C, 0) && !mixer_or_get(out, MIXER_OR_ADMD, 0))
        (void)mixer_or_add(out, MIXER_OR_ADMD, NULL, " ", 1); /* 4.1.3 */
    return 0;
}

static int put(char *out, size_t outsize, size_t *o, const char *s, size_t n, bool quote)
{
    for (size_t i = 0; i < n; i++) {
        bool q = quote && (s[i] == '/' || s[i] == '=' || s[i] == '$' || s[i] == ';');
        if (*o + (q ? 2 : 1) + 1 > outsize)
            return MG_ETOOBIG;
        if (q)
            out[(*o)++] = '$';
        out[(*o)++] = s[i];
    }
    out[*o] = 0;
    return 0;
}

int mixer_or_print(const struct mixer_or *or, char *out, size_t outsize)
{
    size_t o = 0;
    if (outsize < 2)
        return MG_ETOOBIG;
    out[0] = 0;
    for (size_t i = 0; i < or->n; i++) {
        const struct mixer_or_attr *at = &or->a[i];
        int rc = put(out, outsize, &o, "/", 1, false);
        if (at->key == MIXER_OR_DD && strcasecmp(at->type, "RFC-822") == 0) {
            if (!rc)
                rc = put(out, outsize, &o, "RFC-822", 7, false);
        } else if (at->key == MIXER_OR_DD) {
            if (!rc)
                rc = put(out, outsize, &o, "DD.", 3, false);
            if (!rc)
                rc = put(out, outsize, &o, at->type, strlen(at->type), true);
        } else if (!rc) {
            rc = put(out, outsize, &o, key_info[at->key].name, strlen(key_info[at->key].name),
                     false);
        }
        if (!rc)
            rc = put(out, outsize, &o, "=", 1, false);
        if (!rc)
            rc = put(out, outsize, &o, at->value, strlen(at->value), true);
        if (rc)
            return rc;
    }
    return put(out, outsize, &o, "/", 1, false);
}

int mixer_or_pn_parse(const char *s, size_t n, struct mixer_or *out)
{
    char initials[8];
    size_t il = 0, i = 0;
    if (n == 0 || !mixer_ps_is_printable(s, n))
        return MG_EPARSE;
    /* given: >= 2 chars without "." and followed by "." */
    const char *dot = memchr(s, '.', n);
    if (dot && dot - s >= 2) {
        int rc = mixer_or_add(out, MIXER_OR_G, NULL, s, (size_t)(dot - s));
        if (rc)
            return MG_EPARSE;
        i = (size_t)(dot - s) + 1;
    }
    /* initials: single letters each followed by "." (at most ub-initials, 5: more would make
     * an O/R address that no reader takes, its own parser included) */
    while (i + 1 < n && isalpha((unsigned char)s[i]) && s[i + 1] == '.') {
        if (il >= key_info[MIXER_OR_I].ub || il + 1 >= sizeof initials)
            return MG_EPARSE;
        initials[il++] = s[i];
        i += 2;
    }
    if (i >= n)
        return MG_EPARSE; /* a surname is required */
    if (il && mixer_or_add(out, MIXER_OR_I, NULL, initials, il) != 0)
        return MG_EPARSE;
    if (n - i > key_info[MIXER_OR_S].ub || mixer_or_add(out, MIXER_OR_S, NULL, s + i, n - i) != 0)
        return MG_EPARSE;
    if (mixer_or_get(out, MIXER_OR_G, 0) && strlen(mixer_or_get(out, MIXER_OR_G, 0)) > 16)
        return MG_EPARSE;
    return 0;
}

int mixer_or_pn_print(const struct mixer_or *or, char *out, size_t outsize)
{
    const char *g = mixer_or_get(or, MIXER_OR_G, 0);
    const char *ini = mixer_or_get(or, MIXER_OR_I, 0);
    const char *sn = mixer_or_get(or, MIXER_OR_S, 0);
    size_t o = 0;
    if (!sn || mixer_or_get(or, MIXER_OR_GQ, 0))
        return MG_ENOTSUP;
    size_t sl = strlen(sn);
    if (sl == 0 || !mixer_ps_is_printable(sn, sl))
        return MG_ENOTSUP;
    if (g && (strlen(g) < 2 || strchr(g, '.') || !mixer_ps_is_printable(g, strlen(g))))
        return MG_ENOTSUP;
    if (ini)
        for (const char *p = ini; *p; p++)
            if (!isalpha((unsigned char)*p))
                return MG_ENOTSUP;
    if (!g && !(ini && *ini) && memchr(sn, '.', sl))
        return MG_ENOTSUP; /* a lone surname with "." would read back as a given name */
    if (memchr(sn, '.', sl < 2 ? sl : 2))
        return MG_ENOTSUP;
    /* A surname like "A.B" after initials would be read as more initials. */
    if (sl >= 2 && sn[1] == '.' )
        return MG_ENOTSUP;
    int rc = 0;
    if (g) {
        rc = put(out, outsize, &o, g, strlen(g), false);
        if (!rc)
            rc = put(out, outsize, &o, ".", 1, false);
    }
    for (const char *p = ini; !rc && p && *p; p++) {
        rc = put(out, outsize, &o, p, 1, false);
        if (!rc)
            rc = put(out, outsize, &o, ".", 1, false);
    }
    if (!rc)
        rc = put(out, outsize, &o, sn, sl, false);
    if (!rc && o == 0 && outsize)
        out[0] = 0;
    return rc;
}

bool mixer_or_value_eq(const char *a, const char *b)
{
    while (*a == ' ')
        a++;
    while (*b == ' ')
        b++;
    for (;;) {
        bool sa = false, sb = false;
        while (*a == ' ')
            a++, sa = true;
        while (*b == ' ')
            b++, sb = true;
        if (!*a || !*b)
            return !*a && !*b;
        if (sa != sb)
            return false;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
        a++, b++;
    }
}
