/* mixer_r2x_mmhs: RFC 5322 -> X.400 for the RFC 6477 MMHS-* header fields: each one -> its
 * STANAG 4406 P772 heading extension (precedences, message type, exempted addresses, SICs,
 * handling and message instructions, codress, originator reference, ACP 127 identifier,
 * originator PLAD, other recipients indicators). A value that does not match the RFC's
 * grammar leaves the field in the rfc-822-field list. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mg_ipm.h"
#include "mixer_ber.h"
#include "mixer_conv.h"
#include "mixer_hdr.h"
#include "mixer_orname.h"
#include "mixer_ps.h"
#include "mixer_r2x.h"

/* the first explanation wins */
#define WHY(...) (c->why && !c->why[0] ? (void)snprintf(c->why, c->whysize, __VA_ARGS__) : (void)0)

static const char *const prec_names[] = {"deferred", "routine", "priority",
                                         "immediate", "flash", "override"};

static bool military(const char *s, size_t n)
{
    return n >= 1 && n <= 69 && mixer_ps_is_printable(s, n);
}

/* Split "a; b; c" into trimmed items; calls fn for each; false if one is invalid. */
static bool each_item(const char *v, bool (*ok)(const char *, size_t), char items[][80],
                      size_t max, size_t *n)
{
    *n = 0;
    for (const char *p = v; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = strchr(p, ';');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
            l--;
        if (*n >= max || l >= 80 || !ok(p, l))
            return false;
        memcpy(items[*n], p, l);
        items[*n][l] = 0;
        (*n)++;
        if (!e)
            break;
        p = e + 1;
    }
    return *n > 0;
}

static bool sic_ok(const char *s, size_t n)
{
    return n >= 3 && n <= 8 && mixer_ps_is_printable(s, n);
}

/* RFC 6477 header -> P772 heading extension value. 0 and *done, or the header stays. */
int mixer_r2x_mmhs_field(struct r2x *c, struct mixer_ber *w, struct mixer_field *f)
{
    char oid[40], items[32][80];
    size_t n;
    const char *v = f->value;
    char nm[64];
    if (f->namelen >= sizeof nm)
        return 0;
    memcpy(nm, f->name, f->namelen);
    nm[f->namelen] = 0;
    struct mg_buf val;
    struct mixer_ber vw;
    mg_buf_init(&val, 1u << 20);
    mixer_ber_init(&vw, &val);
    int id = -1;
    if (!strcasecmp(nm, "MMHS-Primary-Precedence") || !strcasecmp(nm, "MMHS-Copy-Precedence")) {
        char t[32];
        long p = -1;
        if (sscanf(v, " %31[A-Za-z0-9]", t) == 1) {
            for (int k = 0; k < 6; k++)
                if (!strcasecmp(t, prec_names[k]))
                    p = k;
            if (p < 0 && isdigit((unsigned char)t[0]))
                p = strtol(t, NULL, 10);
        }
        if (p >= 0 && p <= 31) {
            mixer_ber_int(&vw, 0, MIXER_BER_INTEGER, p);
            id = !strcasecmp(nm, "MMHS-Primary-Precedence") ? 0 : 1;
        }
    } else if (!strcasecmp(nm, "MMHS-Message-Type")) {
        static const char *const mt[] = {"exercise", "operation", "project", "drill"};
        char t[32], ident[80] = "";
        long ty = -1;
        if (sscanf(v, " %31[A-Za-z0-9]", t) == 1) {
            for (int k = 0; k < 4; k++)
                if (!strcasecmp(t, mt[k]))
                    ty = k;
            if (ty < 0 && isdigit((unsigned char)t[0]))
                ty = strtol(t, NULL, 10);
        }
        const char *q = strcasestr(v, "identifier");
        bool ok = ty >= 0 && ty <= 255;
        if (q) {
            const char *a = strchr(q, '"'), *b = a ? strchr(a + 1, '"') : NULL;
            ok = ok && b && military(a + 1, (size_t)(b - a - 1));
            if (ok) {
                memcpy(ident, a + 1, (size_t)(b - a - 1));
                ident[b - a - 1] = 0;
            }
        }
        if (ok) {
            mixer_ber_open(&vw, MIXER_BER_UNIV, MIXER_BER_SET);
            mixer_ber_int(&vw, MIXER_BER_CTX, 0, ty);
            if (ident[0])
                mixer_ber_str(&vw, MIXER_BER_CTX, 1, ident);
            mixer_ber_close(&vw);
            id = 2;
        }
    } else if (!strcasecmp(nm, "MMHS-Exempted-Address")) {
        if (mixer_r2x_mboxes(c, v, &n) == 0 && n > 0) {
            mixer_ber_open(&vw, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
            for (size_t i = 0; i < n; i++)
                if (mixer_r2x_desc(c, &vw, 0, 0, &c->mb[i]) != 0)
                    vw.err = MG_EPARSE;
            mixer_ber_close(&vw);
            id = 4;
        }
    } else if (!strcasecmp(nm, "MMHS-Extended-Authorisation-Info")) {
        char u[32];
        if (mixer_hdr_date_to_utc(v, u, sizeof u) == 0) {
            mixer_ber_str(&vw, 0, MIXER_BER_UTCTIME, u);
            id = 5;
        }
    } else if (!strcasecmp(nm, "MMHS-Subject-Indicator-Codes")) {
        if (each_item(v, sic_ok, items, 8, &n)) {
            mixer_ber_open(&vw, MIXER_BER_UNIV, MIXER_BER_SET);
            mixer_ber_open(&vw, MIXER_BER_CTX, 0);
            for (size_t i = 0; i < n; i++)
                mixer_ber_str(&vw, 0, MIXER_BER_PRINTABLESTRING, items[i]);
            mixer_ber_close(&vw);
            mixer_ber_close(&vw);
            id = 6;
        }
    } else if (!strcasecmp(nm, "MMHS-Handling-Instructions") ||
               !strcasecmp(nm, "MMHS-Message-Instructions")) {
        if (each_item(v, military, items, 32, &n)) {
            mixer_ber_open(&vw, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
            for (size_t i = 0; i < n; i++)
                mixer_ber_str(&vw, 0, MIXER_BER_PRINTABLESTRING, items[i]);
            mixer_ber_close(&vw);
            id = !strcasecmp(nm, "MMHS-Handling-Instructions") ? 7 : 8;
        }
    } else if (!strcasecmp(nm, "MMHS-Codress-Message-Indicator")) {
        char *end;
        long k = strtol(v, &end, 10);
        while (*end == ' ')
            end++;
        if (end != v && !*end && k >= 0) {
            mixer_ber_int(&vw, 0, MIXER_BER_INTEGER, k);
            id = 9;
        }
    } else if (!strcasecmp(nm, "MMHS-Originator-Reference") ||
               !strcasecmp(nm, "MMHS-Acp127-Message-Identifier") ||
               !strcasecmp(nm, "MMHS-Originator-PLAD")) {
        size_t l = strlen(v);
        while (l && v[l - 1] == ' ')
            l--;
        if (military(v, l)) {
            mixer_ber_prim(&vw, 0, MIXER_BER_PRINTABLESTRING, v, l);
            id = !strcasecmp(nm, "MMHS-Originator-Reference")        ? 10
                 : !strcasecmp(nm, "MMHS-Acp127-Message-Identifier") ? 13
                                                                     : 14;
        }
    }
    int rc = mixer_ber_finish(&vw);
    if (id >= 0 && rc == 0) {
        snprintf(oid, sizeof oid, "1.3.26.0.4406.0.2.%d", id);
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        mixer_ber_oid(w, 0, MIXER_BER_OID, oid);
        mixer_ber_raw(w, val.data, val.len);
        mixer_ber_close(w);
        f->used = true;
    }
    mg_buf_free(&val);
    return 0;
}

/* Both -To and -CC go into one other-recipients-indicator extension. */
void mixer_r2x_mmhs_other(struct mixer_ber *w, struct mixer_hdrs *h)
{
    struct mixer_field *to = mixer_hdr_find(h, "MMHS-Other-Recipients-Indicator-To");
    struct mixer_field *cc = mixer_hdr_find(h, "MMHS-Other-Recipients-Indicator-CC");
    char ti[32][80], ci[32][80];
    size_t nt = 0, nc = 0;
    bool okt = !to || each_item(to->value, military, ti, 32, &nt);
    bool okc = !cc || each_item(cc->value, military, ci, 32, &nc);
    if ((!to && !cc) || !okt || !okc)
        return;
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    mixer_ber_oid(w, 0, MIXER_BER_OID, "1.3.26.0.4406.0.2.11");
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    for (size_t k = 0; k < nt + nc; k++) {
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
        mixer_ber_int(w, MIXER_BER_CTX, 0, k < nt ? 0 : 1);
        mixer_ber_str(w, MIXER_BER_CTX, 1, k < nt ? ti[k] : ci[k - nt]);
        mixer_ber_close(w);
    }
    mixer_ber_close(w);
    mixer_ber_close(w);
    if (to)
        to->used = true;
    if (cc)
        cc->used = true;
}

/* Fields that never go into the rfc-822-field list: the MIME body's own and delivery's. */