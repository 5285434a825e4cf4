/* mixer_orname: ORName/ORAddress BER <-> mixer_or (RFC 2156 4.1.1 attribute table). */
#include "mixer_orname.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mixer_ps.h"

#include "BuiltInDomainDefinedAttribute.h"
#include "BuiltInDomainDefinedAttributes.h"
#include "ExtensionAttribute.h"
#include "BuiltInStandardAttributes.h"
#include "ExtensionAttributes.h"
#include "OrganizationalUnitNames.h"
#include "PersonalName.h"
#include "AdministrationDomainName.h"
#include "CountryName.h"
#include "PrivateDomainName.h"

/* ---- teletex text ---- */

int mixer_orname_t61_text(const unsigned char *p, size_t n, char *out, size_t outsize)
{
    size_t o = 0;
    bool in_group = false;
    for (size_t i = 0; i < n; i++) {
        bool ps = mixer_ps_is_char(p[i]);
        char tmp[8];
        size_t tl = 0;
        if (ps && in_group) {
            tmp[tl++] = '}';
            in_group = false;
        }
        if (ps) {
            tmp[tl++] = (char)p[i];
        } else {
            if (!in_group)
                tmp[tl++] = '{';
            in_group = true;
            tmp[tl++] = (char)('0' + p[i] / 100);
            tmp[tl++] = (char)('0' + (p[i] / 10) % 10);
            tmp[tl++] = (char)('0' + p[i] % 10);
        }
        if (o + tl + 2 > outsize)
            return MG_ETOOBIG;
        memcpy(out + o, tmp, tl);
        o += tl;
    }
    if (in_group)
        out[o++] = '}';
    out[o] = 0;
    return 0;
}

int mixer_orname_t61_octets(const char *s, size_t n, unsigned char *out, size_t outsize,
                            size_t *outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o >= outsize)
            return MG_ETOOBIG;
        if (s[i] != '{') {
            if (s[i] == '}')
                return MG_EPARSE;
            out[o++] = (unsigned char)s[i];
            continue;
        }
        i++;
        while (i < n && s[i] != '}') {
            if (i + 3 > n || !isdigit((unsigned char)s[i]) || !isdigit((unsigned char)s[i + 1]) ||
                !isdigit((unsigned char)s[i + 2]))
                return MG_EPARSE;
            int v = (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
            if (v > 255 || o >= outsize)
                return MG_EPARSE;
            out[o++] = (unsigned char)v;
            i += 3;
        }
        if (i >= n)
            return MG_EPARSE;
    }
    *outlen = o;
    return 0;
}

/* Split a P/T value "ps*teletex" into its parts (either may be empty). */
static void split_pt(const char *v, const char **ps, size_t *psl, const char **t61, size_t *t61l)
{
    const char *star = strchr(v, '*');
    *ps = v;
    *psl = star ? (size_t)(star - v) : strlen(v);
    *t61 = star ? star + 1 : NULL;
    *t61l = star ? strlen(star + 1) : 0;
}

/* ---- writing ---- */

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* A CHOICE { numeric NumericString, printable PrintableString } value (C, ADMD, PRMD). */
static void num_or_ps(struct mixer_ber *w, const char *v)
{
    mixer_ber_str(w, 0, all_digits(v) ? MIXER_BER_NUMERICSTRING : MIXER_BER_PRINTABLESTRING, v);
}

static void t61(struct mixer_ber *w, unsigned cls, unsigned num, const char *s, size_t n)
{
    unsigned char oct[MIXER_OR_VALUE_MAX];
    size_t ol = 0;
    if (mixer_orname_t61_octets(s, n, oct, sizeof oct, &ol) != 0) {
        w->err = w->err ? w->err : MG_EINVAL;
        return;
    }
    mixer_ber_prim(w, cls, num, oct, ol);
}

static void ext_begin(struct mixer_ber *w, long type)
{
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    mixer_ber_int(w, MIXER_BER_CTX, 0, type);
    mixer_ber_open(w, MIXER_BER_CTX, 1);
}

static void ext_end(struct mixer_ber *w)
{
    mixer_ber_close(w);
    mixer_ber_close(w);
}

/* Extension attribute number of the PDSParameter-valued keys. */
static long pds_ext(enum mixer_or_key k)
{
    switch (k) {
    case MIXER_OR_PD_OFFICE: return 10;
    case MIXER_OR_PD_OFFICE_NUM: return 11;
    case MIXER_OR_PD_EXT_ADDRESS: return 12;
    case MIXER_OR_PD_PN: return 13;
    case MIXER_OR_PD_O: return 14;
    case MIXER_OR_PD_EXT_DELIVERY: return 15;
    case MIXER_OR_PD_STREET: return 17;
    case MIXER_OR_PD_BOX: return 18;
    case MIXER_OR_PD_RESTANTE: return 19;
    case MIXER_OR_PD_UNIQUE: return 20;
    case MIXER_OR_PD_LOCAL: return 21;
    default: return 0;
    }
}

static bool has_t61(const struct mixer_or *or, enum mixer_or_key k)
{
    for (size_t i = 0; i < or->n; i++)
        if (or->a[i].key == k && strchr(or->a[i].value, '*'))
            return true;
    return false;
}

int mixer_orname_write(struct mixer_ber *w, const struct mixer_or *or, bool orname,
                       unsigned tag_cls, unsigned tag_num)
{
    const char *v, *ps, *tt;
    size_t psl, ttl;
    if (or->n == 0)
        return MG_EINVAL;
    for (size_t i = 0; i < or->n; i++)
        if (or->a[i].key == MIXER_OR_NET_NUM || or->a[i].key == MIXER_OR_NET_SUB ||
            or->a[i].key == MIXER_OR_NET_PSAP)
            return MG_ENOTSUP;
    if (tag_cls)
        mixer_ber_open(w, tag_cls, tag_num);
    else if (orname)
        mixer_ber_open(w, MIXER_BER_APP, 0);
    else
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    /* built-in-standard-attributes */
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    if ((v = mixer_or_get(or, MIXER_OR_C, 0))) {
        mixer_ber_open(w, MIXER_BER_APP, 1);
        num_or_ps(w, v);
        mixer_ber_close(w);
    }
    if ((v = mixer_or_get(or, MIXER_OR_ADMD, 0))) {
        mixer_ber_open(w, MIXER_BER_APP, 2);
        num_or_ps(w, v);
        mixer_ber_close(w);
    }
    if ((v = mixer_or_get(or, MIXER_OR_X121, 0)))
        mixer_ber_str(w, MIXER_BER_CTX, 0, v);
    if ((v = mixer_or_get(or, MIXER_OR_TID, 0)))
        mixer_ber_str(w, MIXER_BER_CTX, 1, v);
    if ((v = mixer_or_get(or, MIXER_OR_PRMD, 0))) {
        mixer_ber_open(w, MIXER_BER_CTX, 2);
        num_or_ps(w, v);
        mixer_ber_close(w);
    }
    if ((v = mixer_or_get(or, MIXER_OR_O, 0))) {
        split_pt(v, &ps, &psl, &tt, &ttl);
        if (psl || !tt)
            mixer_ber_prim(w, MIXER_BER_CTX, 3, ps, psl);
    }
    if ((v = mixer_or_get(or, MIXER_OR_UAID, 0)))
        mixer_ber_str(w, MIXER_BER_CTX, 4, v);
    const char *pn[4] = {mixer_or_get(or, MIXER_OR_S, 0), mixer_or_get(or, MIXER_OR_G, 0),
                         mixer_or_get(or, MIXER_OR_I, 0), mixer_or_get(or, MIXER_OR_GQ, 0)};
    bool pn_ps = pn[0] && !has_t61(or, MIXER_OR_S) && !has_t61(or, MIXER_OR_G) &&
                 !has_t61(or, MIXER_OR_I) && !has_t61(or, MIXER_OR_GQ);
    if (pn_ps) {
        mixer_ber_open(w, MIXER_BER_CTX, 5);
        for (unsigned k = 0; k < 4; k++)
            if (pn[k])
                mixer_ber_str(w, MIXER_BER_CTX, k, pn[k]);
        mixer_ber_close(w);
    }
    size_t nou = mixer_or_count(or, MIXER_OR_OU);
    if (nou && !has_t61(or, MIXER_OR_OU)) {
        mixer_ber_open(w, MIXER_BER_CTX, 6);
        for (size_t k = 0; k < nou; k++)
            mixer_ber_str(w, MIXER_BER_UNIV, MIXER_BER_PRINTABLESTRING,
                          mixer_or_get(or, MIXER_OR_OU, k));
        mixer_ber_close(w);
    }
    mixer_ber_close(w);
    /* built-in-domain-defined-attributes (printable ones) */
    size_t ndd = mixer_or_count(or, MIXER_OR_DD);
    bool dd_t61 = has_t61(or, MIXER_OR_DD);
    if (ndd && !dd_t61) {
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        for (size_t i = 0; i < or->n; i++) {
            if (or->a[i].key != MIXER_OR_DD)
                continue;
            mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
            mixer_ber_str(w, 0, MIXER_BER_PRINTABLESTRING, or->a[i].type);
            mixer_ber_str(w, 0, MIXER_BER_PRINTABLESTRING, or->a[i].value);
            mixer_ber_close(w);
        }
        mixer_ber_close(w);
    }
    /* extension-attributes */
    bool any_ext = false;
    for (size_t i = 0; i < or->n && !any_ext; i++) {
        enum mixer_or_key k = or->a[i].key;
        any_ext = k == MIXER_OR_CN || (k >= MIXER_OR_PD_SERVICE && k <= MIXER_OR_TTY) ||
                  (k == MIXER_OR_DD && dd_t61) ||
                  ((k == MIXER_OR_O || k == MIXER_OR_OU || k == MIXER_OR_S || k == MIXER_OR_G ||
                    k == MIXER_OR_I || k == MIXER_OR_GQ) &&
                   strchr(or->a[i].value, '*'));
    }
    if (any_ext) {
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
        if ((v = mixer_or_get(or, MIXER_OR_CN, 0))) {
            split_pt(v, &ps, &psl, &tt, &ttl);
            if (psl || !tt) {
                ext_begin(w, 1);
                mixer_ber_prim(w, 0, MIXER_BER_PRINTABLESTRING, ps, psl);
                ext_end(w);
            }
            if (tt) {
                ext_begin(w, 2);
                t61(w, 0, MIXER_BER_TELETEXSTRING, tt, ttl);
                ext_end(w);
            }
        }
        if ((v = mixer_or_get(or, MIXER_OR_O, 0)) && strchr(v, '*')) {
            split_pt(v, &ps, &psl, &tt, &ttl);
            ext_begin(w, 3);
            t61(w, 0, MIXER_BER_TELETEXSTRING, tt, ttl);
            ext_end(w);
        }
        if (pn[0] && !pn_ps) {
            ext_begin(w, 4);
            mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
            for (unsigned k = 0; k < 4; k++)
                if (pn[k]) {
                    split_pt(pn[k], &ps, &psl, &tt, &ttl);
                    if (tt)
                        t61(w, MIXER_BER_CTX, k, tt, ttl);
                    else
                        mixer_ber_prim(w, MIXER_BER_CTX, k, ps, psl);
                }
            mixer_ber_close(w);
            ext_end(w);
        }
        if (nou && has_t61(or, MIXER_OR_OU)) {
            ext_begin(w, 5);
            mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
            for (size_t k = 0; k < nou; k++) {
                split_pt(mixer_or_get(or, MIXER_OR_OU, k), &ps, &psl, &tt, &ttl);
                if (tt)
                    t61(w, 0, MIXER_BER_TELETEXSTRING, tt, ttl);
                else
                    mixer_ber_prim(w, 0, MIXER_BER_TELETEXSTRING, ps, psl);
            }
            mixer_ber_close(w);
            ext_end(w);
        }
        if (ndd && dd_t61) {
            ext_begin(w, 6);
            mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
            for (size_t i = 0; i < or->n; i++) {
                if (or->a[i].key != MIXER_OR_DD)
                    continue;
                mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
                t61(w, 0, MIXER_BER_TELETEXSTRING, or->a[i].type, strlen(or->a[i].type));
                split_pt(or->a[i].value, &ps, &psl, &tt, &ttl);
                if (tt)
                    t61(w, 0, MIXER_BER_TELETEXSTRING, tt, ttl);
                else
                    mixer_ber_prim(w, 0, MIXER_BER_TELETEXSTRING, ps, psl);
                mixer_ber_close(w);
            }
            mixer_ber_close(w);
            ext_end(w);
        }
        for (size_t i = 0; i < or->n; i++) {
            enum mixer_or_key k = or->a[i].key;
            const char *val = or->a[i].value;
            long pe = pds_ext(k);
            if (pe) {
                split_pt(val, &ps, &psl, &tt, &ttl);
                ext_begin(w, pe);
                mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
                if (psl)
                    mixer_ber_prim(w, 0, MIXER_BER_PRINTABLESTRING, ps, psl);
                if (tt)
                    t61(w, 0, MIXER_BER_TELETEXSTRING, tt, ttl);
                mixer_ber_close(w);
                ext_end(w);
            } else if (k == MIXER_OR_PD_SERVICE) {
                ext_begin(w, 7);
                mixer_ber_str(w, 0, MIXER_BER_PRINTABLESTRING, val);
                ext_end(w);
            } else if (k == MIXER_OR_PD_C || k == MIXER_OR_PD_CODE) {
                ext_begin(w, k == MIXER_OR_PD_C ? 8 : 9);
                num_or_ps(w, val);
                ext_end(w);
            } else if (k == MIXER_OR_PD_ADDRESS) {
                split_pt(val, &ps, &psl, &tt, &ttl);
                ext_begin(w, 16);
                mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
                if (psl) {
                    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
                    for (size_t s = 0; s <= psl;) {
                        size_t e = s;
                        while (e < psl && ps[e] != '|')
                            e++;
                        mixer_ber_prim(w, 0, MIXER_BER_PRINTABLESTRING, ps + s, e - s);
                        s = e + 1;
                    }
                    mixer_ber_close(w);
                }
                if (tt)
                    t61(w, 0, MIXER_BER_TELETEXSTRING, tt, ttl);
                mixer_ber_close(w);
                ext_end(w);
            } else if (k == MIXER_OR_TTY) {
                /* labelled-integer "g3fax(5)" or a bare number */
                const char *p = strchr(val, '(');
                long n = strtol(p ? p + 1 : val, NULL, 10);
                ext_begin(w, 23);
                mixer_ber_int(w, 0, MIXER_BER_INTEGER, n);
                ext_end(w);
            }
        }
        mixer_ber_close(w);
    }
    mixer_ber_close(w);
    return w->err;
}

/* ---- reading ---- */

static int add_str(struct mixer_or *out, enum mixer_or_key k, const char *type,
                   const uint8_t *p, size_t n)
{
    char v[MIXER_OR_VALUE_MAX];
    if (n >= sizeof v)
        return MG_ETOOBIG;
    memcpy(v, p, n);
    v[n] = 0;
    if (memchr(v, 0, n))
        return MG_EPARSE;
    return mixer_or_add(out, k, type, v, n);
}

/* Merge a teletex value into key k's existing printable value (or add it). */
static int add_t61(struct mixer_or *out, enum mixer_or_key k, size_t idx, const char *type,
                   const uint8_t *p, size_t n)
{
    char text[MIXER_OR_VALUE_MAX];
    int rc = mixer_orname_t61_text(p, n, text, sizeof text);
    if (rc)
        return rc;
    bool plain = mixer_ps_is_printable((const char *)p, n);
    /* the idx-th existing attribute of k (and type) */
    for (size_t i = 0; i < out->n; i++) {
        struct mixer_or_attr *a = &out->a[i];
        if (a->key != k || (type && strcasecmp(a->type, type) != 0))
            continue;
        if (idx-- != 0)
            continue;
        if (plain && strcmp(a->value, text) == 0)
            return 0; /* both forms say the same */
        size_t l = strlen(a->value);
        if (l + 1 + strlen(text) >= sizeof a->value)
            return MG_ETOOBIG;
        a->value[l] = '*';
        strcpy(a->value + l + 1, text);
        return 0;
    }
    if (plain)
        return mixer_or_add(out, k, type, text, strlen(text));
    char v[MIXER_OR_VALUE_MAX];
    if (strlen(text) + 2 > sizeof v)
        return MG_ETOOBIG;
    v[0] = '*';
    strcpy(v + 1, text);
    return mixer_or_add(out, k, type, v, strlen(v));
}

static int read_ext(long type, const uint8_t *p, size_t n, struct mixer_or *out)
{
    struct mixer_tlv t, u;
    if (mixer_ber_read(p, n, &t) != 0 || t.size != n)
        return MG_EPARSE;
    switch (type) {
    case 1:
        return add_str(out, MIXER_OR_CN, NULL, t.v, t.vlen);
    case 2:
        return add_t61(out, MIXER_OR_CN, 0, NULL, t.v, t.vlen);
    case 3:
        return add_t61(out, MIXER_OR_O, 0, NULL, t.v, t.vlen);
    case 4:
    case 5:
    case 6: {
        /* SET of [0..3] / SEQUENCE OF TeletexString / SEQUENCE OF SEQUENCE {type, value} */
        size_t idx = 0;
        for (size_t off = 0; off < t.vlen; off += u.size, idx++) {
            if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
                return MG_EPARSE;
            int rc;
            if (type == 4) {
                static const enum mixer_or_key pk[4] = {MIXER_OR_S, MIXER_OR_G, MIXER_OR_I,
                                                        MIXER_OR_GQ};
                if (u.number > 3)
                    return MG_EPARSE;
                rc = add_t61(out, pk[u.number], 0, NULL, u.v, u.vlen);
            } else if (type == 5) {
                rc = add_t61(out, MIXER_OR_OU, idx, NULL, u.v, u.vlen);
            } else {
                struct mixer_tlv ty, va;
                char tname[MIXER_OR_TYPE_MAX];
                if (mixer_ber_read(u.v, u.vlen, &ty) != 0 || ty.vlen >= sizeof tname ||
                    mixer_ber_read(u.v + ty.size, u.vlen - ty.size, &va) != 0)
                    return MG_EPARSE;
                memcpy(tname, ty.v, ty.vlen);
                tname[ty.vlen] = 0;
                rc = add_t61(out, MIXER_OR_DD, 0, tname, va.v, va.vlen);
            }
            if (rc)
                return rc;
        }
        return 0;
    }
    case 7:
        return add_str(out, MIXER_OR_PD_SERVICE, NULL, t.v, t.vlen);
    case 8:
        return add_str(out, MIXER_OR_PD_C, NULL, t.v, t.vlen);
    case 9:
        return add_str(out, MIXER_OR_PD_CODE, NULL, t.v, t.vlen);
    case 16: {
        char v[MIXER_OR_VALUE_MAX];
        size_t o = 0;
        for (size_t off = 0; off < t.vlen; off += u.size) {
            if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
                return MG_EPARSE;
            if (u.number == MIXER_BER_SEQUENCE) {
                struct mixer_tlv l;
                for (size_t lo = 0; lo < u.vlen; lo += l.size) {
                    if (mixer_ber_read(u.v + lo, u.vlen - lo, &l) != 0 || o + l.vlen + 2 > sizeof v)
                        return MG_EPARSE;
                    if (o)
                        v[o++] = '|';
                    memcpy(v + o, l.v, l.vlen);
                    o += l.vlen;
                }
            } else {
                char text[MIXER_OR_VALUE_MAX];
                if (mixer_orname_t61_text(u.v, u.vlen, text, sizeof text) != 0 ||
                    o + strlen(text) + 2 > sizeof v)
                    return MG_ETOOBIG;
                v[o++] = '*';
                memcpy(v + o, text, strlen(text));
                o += strlen(text);
            }
        }
        return mixer_or_add(out, MIXER_OR_PD_ADDRESS, NULL, v, o);
    }
    case 23: {
        long val = 0;
        if (t.vlen == 0 || t.vlen > 4)
            return MG_EPARSE;
        for (size_t i = 0; i < t.vlen; i++)
            val = (val << 8) | t.v[i];
        char v[24];
        static const char *const names[] = {NULL, NULL, NULL, "tlx", "ttx", "g3fax", "g4fax",
                                            "ia5", "vtx"};
        int l = val >= 3 && val <= 8 ? snprintf(v, sizeof v, "%s(%ld)", names[val], val)
                                     : snprintf(v, sizeof v, "(%ld)", val);
        return mixer_or_add(out, MIXER_OR_TTY, NULL, v, (size_t)l);
    }
    default: {
        static const enum mixer_or_key pds[] = {
            [10] = MIXER_OR_PD_OFFICE,       [11] = MIXER_OR_PD_OFFICE_NUM,
            [12] = MIXER_OR_PD_EXT_ADDRESS,  [13] = MIXER_OR_PD_PN,
            [14] = MIXER_OR_PD_O,            [15] = MIXER_OR_PD_EXT_DELIVERY,
            [17] = MIXER_OR_PD_STREET,       [18] = MIXER_OR_PD_BOX,
            [19] = MIXER_OR_PD_RESTANTE,     [20] = MIXER_OR_PD_UNIQUE,
            [21] = MIXER_OR_PD_LOCAL,
        };
        if (type < 10 || type > 21 || type == 16)
            return MG_ENOTSUP;
        char ps[MIXER_OR_VALUE_MAX] = "";
        for (size_t off = 0; off < t.vlen; off += u.size) {
            if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0 || u.vlen >= 200)
                return MG_EPARSE;
            if (u.number == MIXER_BER_PRINTABLESTRING) {
                int rc = add_str(out, pds[type], NULL, u.v, u.vlen);
                if (rc)
                    return rc;
                snprintf(ps, sizeof ps, "x");
            }
        }
        for (size_t off = 0; off < t.vlen; off += u.size) {
            if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
                return MG_EPARSE;
            if (u.number == MIXER_BER_TELETEXSTRING) {
                int rc = add_t61(out, pds[type], 0, NULL, u.v, u.vlen);
                if (rc)
                    return rc;
            }
        }
        return 0;
    }
    }
}

int mixer_orname_read(const BuiltInStandardAttributes_t *bsa,
                      const BuiltInDomainDefinedAttributes_t *dda,
                      const ExtensionAttributes_t *ext, struct mixer_or *out)
{
    int rc = 0;
    mixer_or_init(out);
#define ADD(k, s) ((s) ? add_str(out, k, NULL, (s)->buf, (size_t)(s)->size) : 0)
    if (bsa->country_name)
        rc = bsa->country_name->present == CountryName_PR_x121_dcc_code
                 ? ADD(MIXER_OR_C, &bsa->country_name->choice.x121_dcc_code)
                 : ADD(MIXER_OR_C, &bsa->country_name->choice.iso_3166_alpha2_code);
    if (!rc && bsa->administration_domain_name)
        rc = bsa->administration_domain_name->present == AdministrationDomainName_PR_numeric
                 ? ADD(MIXER_OR_ADMD, &bsa->administration_domain_name->choice.numeric)
                 : ADD(MIXER_OR_ADMD, &bsa->administration_domain_name->choice.printable);
    if (!rc)
        rc = ADD(MIXER_OR_X121, bsa->network_address);
    if (!rc)
        rc = ADD(MIXER_OR_TID, bsa->terminal_identifier);
    if (!rc && bsa->private_domain_name)
        rc = bsa->private_domain_name->present == PrivateDomainName_PR_numeric
                 ? ADD(MIXER_OR_PRMD, &bsa->private_domain_name->choice.numeric)
                 : ADD(MIXER_OR_PRMD, &bsa->private_domain_name->choice.printable);
    if (!rc)
        rc = ADD(MIXER_OR_O, bsa->organization_name);
    if (!rc)
        rc = ADD(MIXER_OR_UAID, bsa->numeric_user_identifier);
    if (!rc && bsa->personal_name) {
        rc = ADD(MIXER_OR_S, &bsa->personal_name->surname);
        if (!rc)
            rc = ADD(MIXER_OR_G, bsa->personal_name->given_name);
        if (!rc)
            rc = ADD(MIXER_OR_I, bsa->personal_name->initials);
        if (!rc)
            rc = ADD(MIXER_OR_GQ, bsa->personal_name->generation_qualifier);
    }
    if (!rc && bsa->organizational_unit_names)
        for (int i = 0; !rc && i < bsa->organizational_unit_names->list.count; i++)
            rc = ADD(MIXER_OR_OU, bsa->organizational_unit_names->list.array[i]);
    if (!rc && dda)
        for (int i = 0; !rc && i < dda->list.count; i++) {
            const BuiltInDomainDefinedAttribute_t *a = dda->list.array[i];
            char type[MIXER_OR_TYPE_MAX];
            if ((size_t)a->type.size >= sizeof type)
                return MG_ETOOBIG;
            memcpy(type, a->type.buf, (size_t)a->type.size);
            type[a->type.size] = 0;
            rc = add_str(out, MIXER_OR_DD, type, a->value.buf, (size_t)a->value.size);
        }
#undef ADD
    if (!rc && ext)
        for (int i = 0; !rc && i < ext->list.count; i++) {
            const ExtensionAttribute_t *a = ext->list.array[i];
            rc = read_ext(a->extension_attribute_type, a->extension_attribute_value.buf,
                          (size_t)a->extension_attribute_value.size, out);
        }
    if (rc == MG_EINVAL)
        rc = MG_EPARSE; /* a repeated attribute: the value is malformed for us */
    return rc;
}
