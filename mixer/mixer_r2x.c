/* mixer_r2x: RFC 5322 + MIME -> X.400 IPM (P22 / P772): RFC 2156 5.1 header mapping, every
 * field with no X.420 home kept in the rfc-822-field extension (1.3.6.1.7.1.3.2) so it comes
 * back unchanged, one IPM, and the entry point mixer_conv_to_x400. The RFC 6477 MMHS-* fields
 * are in mixer_r2x_mmhs.c, the RFC 2157 body parts in mixer_r2x_body.c. The BER is written
 * with mixer_ber and decoded back before it is returned, so a defect here is an error, never
 * bad content on the wire. */
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


/* ---- small BER pieces ---- */

/* "Name: value" as IA5 text: 7-bit only; other octets become one RFC 2047 word of the whole
 * value in the RFC 1428 charset UNKNOWN-8BIT, which mixer_x2r turns back into the octets. */
static void field_line(struct mg_buf *b, const char *name, size_t nl, const char *value)
{
    bool seven = true;
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p >= 128)
            seven = false;
    mg_buf_append(b, name, nl);
    mg_buf_append(b, ": ", 2);
    if (seven) {
        mg_buf_append(b, value, strlen(value));
    } else {
        mg_buf_append(b, "=?UNKNOWN-8BIT?B?", 17);
        struct mg_buf e;
        mg_buf_init(&e, 0);
        mixer_conv_b64_encode(value, strlen(value), &e);
        for (size_t i = 0; i < e.len; i++)
            if (e.data[i] != '\r' && e.data[i] != '\n')
                mg_buf_append(b, &e.data[i], 1);
        mg_buf_free(&e);
        mg_buf_append(b, "?=", 2);
    }
}

void mixer_r2x_ia5_field(struct mixer_ber *w, const char *name, size_t nl, const char *value)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    field_line(&b, name, nl, value);
    mixer_ber_prim(w, 0, MIXER_BER_IA5STRING, b.data, b.len);
    mg_buf_free(&b);
}

/* ORDescriptor (universal SET, or the IMPLICIT tag given) for one mailbox. */
int mixer_r2x_ordesc(const struct mixer_gw *gw, struct mixer_ber *w, unsigned cls, unsigned num,
                     const struct mixer_mbox *m, bool x84, char *whyout, size_t whyoutsize)
{
    struct mixer_or or;
    char why[200] = "";
    bool have_or = false;
    if (m->addr[0]) {
        int rc = mixer_addr_to_or(gw, m->addr, strlen(m->addr), &or, NULL, why, sizeof why);
        if (rc) {
            if (whyout && whyoutsize)
                snprintf(whyout, whyoutsize, "address %s: %s", m->addr, why);
            return rc;
        }
        have_or = true;
    }
    if (cls)
        mixer_ber_open(w, cls, num);
    else
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
    if (have_or && x84) {
        /* RFC 2156 appendix B: 1984 has no common name; it travels as the DDA "Common" */
        const char *cn = mixer_or_get(&or, MIXER_OR_CN, 0);
        if (cn && !strchr(cn, '*')) {
            char v[MIXER_OR_VALUE_MAX];
            snprintf(v, sizeof v, "%s", cn);
            mixer_or_remove(&or, MIXER_OR_CN, NULL);
            if (mixer_or_add(&or, MIXER_OR_DD, "Common", v, strlen(v)) != 0) {
                if (whyout && whyoutsize)
                    snprintf(whyout, whyoutsize, "address %s has no 1984 form", m->addr);
                return MG_EINVAL;
            }
        }
    }
    if (have_or) {
        int rc = mixer_orname_write(w, &or, true, 0, 0);
        if (rc) {
            if (whyout && whyoutsize)
                snprintf(whyout, whyoutsize, "address %s has no X.400 form", m->addr);
            return rc;
        }
    }
    if (m->phrase[0]) {
        size_t pl = strlen(m->phrase);
        mixer_ber_prim(w, MIXER_BER_CTX, 0, m->phrase, pl > 64 ? 64 : pl);
    }
    /* 4.7.4: a telephone number travels as the comment "(Tel ...)" */
    if (!strncmp(m->comment, "Tel ", 4) && strlen(m->comment + 4) <= 32 &&
        mixer_ps_is_printable(m->comment + 4, strlen(m->comment + 4)))
        mixer_ber_str(w, MIXER_BER_CTX, 1, m->comment + 4);
    mixer_ber_close(w);
    return 0;
}

int mixer_r2x_desc(struct r2x *c, struct mixer_ber *w, unsigned cls, unsigned num,
                  const struct mixer_mbox *m)
{
    char why[300] = "";
    int rc = mixer_r2x_ordesc(c->gw, w, cls, num, m, c->ct == MIXER_CONTENT_P2, why, sizeof why);
    if (rc)
        WHY("%s", why);
    return rc;
}

/* Parse an address field into c->mb; 0 with *n, or an error (the field then travels in the
 * rfc-822-field list instead). Group names become free-form-name-only descriptors. */
int mixer_r2x_mboxes(struct r2x *c, const char *value, size_t *n)
{
    /* the field read again with more room while it does not fit: the same result as one read
     * with room for MAX_MBOX */
    int rc;
    while ((rc = mixer_hdr_addrs(value, c->mb, c->nmb, n)) == MG_ETOOBIG && c->nmb < MAX_MBOX) {
        size_t nn = c->nmb ? c->nmb * 4 : 4;
        if (nn > MAX_MBOX)
            nn = MAX_MBOX;
        struct mixer_mbox *m = realloc(c->mb, nn * sizeof *m);
        if (!m)
            return MG_ENOMEM;
        c->mb = m;
        c->nmb = nn;
    }
    if (rc != 0)
        return MG_EPARSE;
    /* every address must map: try them first so a field is taken whole or not at all */
    for (size_t i = 0; i < *n; i++) {
        struct mixer_or or;
        if (c->mb[i].addr[0] &&
            mixer_addr_to_or(c->gw, c->mb[i].addr, strlen(c->mb[i].addr), &or, NULL, NULL, 0))
            return MG_EPARSE;
    }
    return 0;
}

/* IPMIdentifier contents (inside a tag the caller opened) from a msg-id without <>. 4.7.3:
 * <"urid*std-or"@MHS> goes back to its parts; any other msg-id is ps-encoded into the
 * user-relative-identifier (truncated to 64: *cut says so). */
void mixer_r2x_ipmid(struct mixer_ber *w, const char *id, bool *cut)
{
    char local[MIXER_HDR_ADDR_MAX], enc[MIXER_HDR_ADDR_MAX * 5];
    const char *at = strrchr(id, '@');
    *cut = false;
    if (at && !strcasecmp(at + 1, "MHS")) {
        size_t ll = (size_t)(at - id), o = 0;
        for (size_t i = 0; i < ll && o + 1 < sizeof local; i++) {
            if (id[i] == '"')
                continue;
            if (id[i] == '\\' && i + 1 < ll)
                i++;
            local[o++] = id[i];
        }
        local[o] = 0;
        char *star = strchr(local, '*');
        struct mixer_or or;
        if (star && strlen(star + 1) <= 64 && (size_t)(star - local) <= 64 &&
            mixer_ps_is_printable(local, (size_t)(star - local)) &&
            (star[1] == 0 || mixer_or_parse(star + 1, strlen(star + 1), &or, NULL, 0) == 0)) {
            if (star[1])
                mixer_orname_write(w, &or, true, 0, 0);
            mixer_ber_prim(w, 0, MIXER_BER_PRINTABLESTRING, local, (size_t)(star - local));
            return;
        }
    }
    if (mixer_ps_encode(id, strlen(id), enc, sizeof enc) != 0)
        snprintf(enc, sizeof enc, "MIXER-unrepresentable-id");
    size_t el = strlen(enc);
    if (el > 64) {
        el = 64;
        *cut = true;
    }
    mixer_ber_prim(w, 0, MIXER_BER_PRINTABLESTRING, enc, el);
}

static int utctime(const char *value, char *out, size_t outsize)
{
    return mixer_hdr_date_to_utc(value, out, outsize);
}

/* ---- the heading ---- */

enum slot {
    S_FROM, S_SENDER, S_TO, S_CC, S_BCC, S_INREPLY, S_REFS, S_SUPERSEDES, S_SUBJECT, S_EXPIRES,
    S_REPLYBY, S_REPLYTO, S_IMPORTANCE, S_SENSITIVITY, S_AUTOFWD, S_MSGID, S_COUNT
};
static const char *const slot_names[S_COUNT][3] = {
    [S_FROM] = {"From"},           [S_SENDER] = {"Sender"},
    [S_TO] = {"To"},               [S_CC] = {"Cc"},
    [S_BCC] = {"Bcc"},             [S_INREPLY] = {"In-Reply-To"},
    [S_REFS] = {"References"},     [S_SUPERSEDES] = {"Supersedes", "Obsoletes"},
    [S_SUBJECT] = {"Subject"},     [S_EXPIRES] = {"Expires", "Expiry-Date"},
    [S_REPLYBY] = {"Reply-By"},    [S_REPLYTO] = {"Reply-To"},
    [S_IMPORTANCE] = {"Importance"}, [S_SENSITIVITY] = {"Sensitivity"},
    [S_AUTOFWD] = {"Autoforwarded"}, [S_MSGID] = {"Message-ID"},
};

static struct mixer_field *slot_field(struct mixer_hdrs *h, enum slot s)
{
    for (int k = 0; k < 3 && slot_names[s][k]; k++) {
        struct mixer_field *f = mixer_hdr_find(h, slot_names[s][k]);
        if (f)
            return f;
    }
    return NULL;
}

static int recipients_field(struct r2x *c, struct mixer_ber *w, struct mixer_hdrs *h,
                            enum slot s, unsigned tag)
{
    struct mixer_field *f = slot_field(h, s);
    size_t n = 0;
    /* an MDN request (RFC 8098 Disposition-Notification-To) asks every recipient for a
     * receipt and a non-receipt notification (X.420 rn, nrn); the field itself stays in the
     * rfc-822-field list so it comes back as written */
    bool notify = mixer_hdr_find(h, "Disposition-Notification-To") != NULL;
    if (!f || mixer_r2x_mboxes(c, f->value, &n) != 0 || n == 0)
        return 0; /* absent, or kept in the rfc-822-field list */
    mixer_ber_open(w, MIXER_BER_CTX, tag);
    for (size_t i = 0; i < n; i++) {
        if (c->mb[i].group && !c->mb[i].phrase[0])
            continue;
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
        int rc = mixer_r2x_desc(c, w, MIXER_BER_CTX, 0, &c->mb[i]);
        if (rc)
            return rc;
        if (notify && c->mb[i].addr[0]) {
            static const uint8_t rn_nrn[2] = {0x06, 0xc0}; /* bits rn(0), nrn(1) */
            mixer_ber_prim(w, MIXER_BER_CTX, 1, rn_nrn, sizeof rn_nrn);
        }
        mixer_ber_close(w);
    }
    mixer_ber_close(w);
    f->used = true;
    return 0;
}

static int desc_list(struct r2x *c, struct mixer_ber *w, struct mixer_field *f, unsigned tag)
{
    size_t n = 0;
    if (!f || mixer_r2x_mboxes(c, f->value, &n) != 0 || n == 0)
        return 0;
    mixer_ber_open(w, MIXER_BER_CTX, tag);
    for (size_t i = 0; i < n; i++) {
        int rc = mixer_r2x_desc(c, w, 0, 0, &c->mb[i]);
        if (rc)
            return rc;
    }
    mixer_ber_close(w);
    f->used = true;
    return 0;
}

/* RFC 6477 header -> P772 heading extension value. 0 and *done, or the header stays. */
static bool body_or_transport(const struct mixer_field *f)
{
    return mixer_hdr_is(f, "MIME-Version") || mixer_hdr_is(f, "Return-Path") ||
           (f->namelen > 8 && !strncasecmp(f->name, "Content-", 8) &&
            !mixer_hdr_is(f, "Content-Language"));
}

/* p2lines: NULL, or (P2 1984, which has no heading extensions: RFC 2156 appendix B) where
 * the fields without an X.420 home go, as "Name: value" lines for an RFC-822-Headers part. */
static int heading(struct r2x *c, struct mixer_ber *w, struct mixer_hdrs *h, const char *msg,
                   size_t len, struct mg_buf *p2lines)
{
    struct mixer_field *f;
    char ids[16][MIXER_HDR_ADDR_MAX];
    size_t n;
    bool cut = false, subj_cut = false;
    int rc;
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
    /* this-IPM */
    mixer_ber_open(w, MIXER_BER_APP, 11);
    f = slot_field(h, S_MSGID);
    if (f && mixer_hdr_msgids(f->value, ids, 1, &n) == 0 && n == 1) {
        mixer_r2x_ipmid(w, ids[0], &cut);
        f->used = !cut;
    } else {
        /* none: an identifier from the content, so a resend maps to the same one */
        uint32_t hsh = 2166136261u;
        for (size_t i = 0; i < len; i++)
            hsh = (hsh ^ (uint8_t)msg[i]) * 16777619u;
        char gen[32];
        snprintf(gen, sizeof gen, "MIXER-%08x", hsh);
        mixer_ber_str(w, 0, MIXER_BER_PRINTABLESTRING, gen);
    }
    mixer_ber_close(w);
    /* originator / authorizing users (4.7.2): with Sender, From is the authorizing users */
    struct mixer_field *from = slot_field(h, S_FROM), *sender = slot_field(h, S_SENDER);
    struct mixer_field *orig = sender ? sender : from;
    struct mixer_mbox *orig_mb = NULL;
    if (orig && mixer_r2x_mboxes(c, orig->value, &n) == 0 && n == 1 && !c->mb[0].group) {
        if ((rc = mixer_r2x_desc(c, w, MIXER_BER_CTX, 0, &c->mb[0])))
            return rc;
        orig->used = true;
        orig_mb = malloc(sizeof *orig_mb);
        if (!orig_mb)
            return MG_ENOMEM;
        *orig_mb = c->mb[0];
    }
    /* Disposition-Notification-To naming the originator is what mixer_x2r writes for the
     * rn requests below: mapped; naming anyone else it stays in the rfc-822-field list */
    struct mixer_field *dnt = mixer_hdr_find(h, "Disposition-Notification-To");
    if (dnt && orig_mb && mixer_r2x_mboxes(c, dnt->value, &n) == 0 && n == 1 &&
        !strcasecmp(c->mb[0].addr, orig_mb->addr) && !strcmp(c->mb[0].phrase, orig_mb->phrase))
        dnt->used = true;
    free(orig_mb);
    if (sender && from && (rc = desc_list(c, w, from, 1)))
        return rc;
    if ((rc = recipients_field(c, w, h, S_TO, 2)) || (rc = recipients_field(c, w, h, S_CC, 3)) ||
        (rc = recipients_field(c, w, h, S_BCC, 4)))
        return rc;
    /* In-Reply-To: one -> replied-to; several -> related with References */
    struct mixer_field *irt = slot_field(h, S_INREPLY), *refs = slot_field(h, S_REFS);
    char rel[32][MIXER_HDR_ADDR_MAX];
    size_t nrel = 0, nirt = 0;
    char irtid[4][MIXER_HDR_ADDR_MAX];
    bool irt_ok = irt && mixer_hdr_msgids(irt->value, irtid, 4, &nirt) == 0 && nirt > 0;
    if (irt_ok && nirt == 1) {
        mixer_ber_open(w, MIXER_BER_CTX, 5);
        mixer_r2x_ipmid(w, irtid[0], &cut);
        mixer_ber_close(w);
        irt->used = !cut;
    }
    struct mixer_field *sup = slot_field(h, S_SUPERSEDES);
    if (sup && mixer_hdr_msgids(sup->value, rel, 32, &nrel) == 0 && nrel > 0) {
        bool any_cut = false;
        mixer_ber_open(w, MIXER_BER_CTX, 6);
        for (size_t i = 0; i < nrel; i++) {
            mixer_ber_open(w, MIXER_BER_APP, 11);
            mixer_r2x_ipmid(w, rel[i], &cut);
            any_cut |= cut;
            mixer_ber_close(w);
        }
        mixer_ber_close(w);
        sup->used = !any_cut;
    }
    nrel = 0;
    bool refs_ok = refs && mixer_hdr_msgids(refs->value, rel, 32, &nrel) == 0;
    if (irt_ok && nirt > 1)
        for (size_t i = 0; i < nirt && nrel < 32; i++)
            memcpy(rel[nrel++], irtid[i], sizeof rel[0]);
    if (nrel > 0) {
        bool any_cut = false;
        mixer_ber_open(w, MIXER_BER_CTX, 7);
        for (size_t i = 0; i < nrel; i++) {
            mixer_ber_open(w, MIXER_BER_APP, 11);
            mixer_r2x_ipmid(w, rel[i], &cut);
            any_cut |= cut;
            mixer_ber_close(w);
        }
        mixer_ber_close(w);
        if (refs_ok && refs)
            refs->used = !any_cut;
        if (irt_ok && nirt > 1)
            irt->used = !any_cut;
    }
    if ((f = slot_field(h, S_SUBJECT))) {
        size_t sl = strlen(f->value);
        subj_cut = sl > 128;
        mixer_ber_open(w, MIXER_BER_CTX, 8);
        mixer_ber_prim(w, 0, MIXER_BER_TELETEXSTRING, f->value, subj_cut ? 128 : sl);
        mixer_ber_close(w);
        f->used = !subj_cut;
    }
    char u[32];
    if ((f = slot_field(h, S_EXPIRES)) && utctime(f->value, u, sizeof u) == 0) {
        mixer_ber_str(w, MIXER_BER_CTX, 9, u);
        f->used = true;
    }
    if ((f = slot_field(h, S_REPLYBY)) && utctime(f->value, u, sizeof u) == 0) {
        mixer_ber_str(w, MIXER_BER_CTX, 10, u);
        f->used = true;
    }
    if ((rc = desc_list(c, w, slot_field(h, S_REPLYTO), 11)))
        return rc;
    if ((f = slot_field(h, S_IMPORTANCE))) {
        static const char *const imp[] = {"low", "normal", "high"};
        for (int k = 0; k < 3; k++)
            if (!strcasecmp(f->value, imp[k])) {
                if (k != 1)
                    mixer_ber_int(w, MIXER_BER_CTX, 12, k);
                f->used = true;
            }
    }
    if ((f = slot_field(h, S_SENSITIVITY))) {
        static const char *const sens[] = {"Personal", "Private", "Company-Confidential"};
        for (int k = 0; k < 3; k++)
            if (!strcasecmp(f->value, sens[k])) {
                mixer_ber_int(w, MIXER_BER_CTX, 13, k + 1);
                f->used = true;
            }
    }
    if ((f = slot_field(h, S_AUTOFWD)) && !strcasecmp(f->value, "TRUE")) {
        mixer_ber_bool(w, MIXER_BER_CTX, 14, 1);
        f->used = true;
    } else if (f && !strcasecmp(f->value, "FALSE")) {
        f->used = true;
    }
    if (p2lines) {
        /* 1984: no extensions; every field not mapped above travels in the body */
        for (size_t i = 0; i < h->n; i++)
            if (!h->f[i].used && !body_or_transport(&h->f[i])) {
                field_line(p2lines, h->f[i].name, h->f[i].namelen, h->f[i].value);
                mg_buf_append(p2lines, "\r\n", 2);
            }
        mixer_ber_close(w); /* heading SET */
        return 0;
    }
    /* extensions, written aside and added only when there are some */
    struct mixer_ber *outer = w, xw;
    struct mg_buf xb;
    mg_buf_init(&xb, MIXER_CONV_MAX_OUT);
    mixer_ber_init(&xw, &xb);
    w = &xw;
    if ((f = mixer_hdr_find(h, "Incomplete-Copy"))) {
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        mixer_ber_oid(w, 0, MIXER_BER_OID, "2.6.1.5.0");
        mixer_ber_prim(w, 0, MIXER_BER_NULL, NULL, 0);
        mixer_ber_close(w);
        f->used = !f->value[0];
    }
    if ((f = mixer_hdr_find(h, "Content-Language"))) {
        char langs[32][80];
        size_t nl = 0;
        bool ok = true;
        for (const char *p = f->value; *p && ok;) {
            while (*p == ' ' || *p == ',')
                p++;
            size_t l = strcspn(p, ", ");
            if (!l)
                break;
            ok = (l == 2 || l == 5) && nl < 32 && mixer_ps_is_printable(p, l);
            if (ok) {
                memcpy(langs[nl], p, l);
                langs[nl++][l] = 0;
            }
            p += l;
        }
        if (ok && nl) {
            mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
            mixer_ber_oid(w, 0, MIXER_BER_OID, "2.6.1.5.1");
            mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
            for (size_t i = 0; i < nl; i++)
                mixer_ber_str(w, 0, MIXER_BER_PRINTABLESTRING, langs[i]);
            mixer_ber_close(w);
            mixer_ber_close(w);
            f->used = true;
        }
    }
    if ((f = mixer_hdr_find(h, "Autosubmitted"))) {
        static const char *const as[] = {"not-auto-submitted", "auto-generated", "auto-replied"};
        for (int k = 0; k < 3; k++)
            if (!strcasecmp(f->value, as[k])) {
                mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
                mixer_ber_oid(w, 0, MIXER_BER_OID, "2.6.1.5.2");
                mixer_ber_int(w, 0, MIXER_BER_ENUMERATED, k);
                mixer_ber_close(w);
                f->used = true;
            }
    }
    if (c->ct == MIXER_CONTENT_P772) {
        for (size_t i = 0; i < h->n; i++)
            if (h->f[i].namelen > 5 && !strncasecmp(h->f[i].name, "MMHS-", 5) &&
                !mixer_hdr_is(&h->f[i], "MMHS-Other-Recipients-Indicator-To") &&
                !mixer_hdr_is(&h->f[i], "MMHS-Other-Recipients-Indicator-CC") &&
                !mixer_hdr_is(&h->f[i], "MMHS-Authorizing-Users") &&
                (rc = mixer_r2x_mmhs_field(c, w, &h->f[i]))) {
                mg_buf_free(&xb);
                return rc;
            }
        mixer_r2x_mmhs_other(w, h);
    }
    /* everything not mapped: rfc-822-field list (RFC 2156 5.1.2) */
    bool any = false;
    for (size_t i = 0; i < h->n && !any; i++)
        any = !h->f[i].used && !body_or_transport(&h->f[i]);
    if (any) {
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        mixer_ber_oid(w, 0, MIXER_BER_OID, MIXER_OID_RFC822_FIELD_LIST);
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        for (size_t i = 0; i < h->n; i++)
            if (!h->f[i].used && !body_or_transport(&h->f[i]))
                mixer_r2x_ia5_field(w, h->f[i].name, h->f[i].namelen, h->f[i].value);
        mixer_ber_close(w);
        mixer_ber_close(w);
    }
    w = outer;
    rc = mixer_ber_finish(&xw);
    if (!rc && xb.len) {
        mixer_ber_open(w, MIXER_BER_CTX, 15);
        mixer_ber_raw(w, xb.data, xb.len);
        mixer_ber_close(w);
    }
    mg_buf_free(&xb);
    mixer_ber_close(w); /* heading SET */
    return rc;
}

int mixer_r2x_ipm(struct r2x *c, struct mixer_ber *w, unsigned cls, unsigned num, const char *msg,
               size_t len, int depth)
{
    struct mixer_hdrs *h = malloc(sizeof *h);
    if (!h)
        return MG_ENOMEM;
    int rc = mixer_hdr_parse(msg, len, h);
    if (rc) {
        WHY("message header cannot be read");
        free(h);
        return rc;
    }
    struct mg_buf p2;
    mg_buf_init(&p2, 4u << 20);
    bool is_p2 = c->ct == MIXER_CONTENT_P2;
    mixer_ber_open(w, cls, num);
    rc = heading(c, w, h, msg, len, is_p2 ? &p2 : NULL);
    if (!rc) {
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        if (is_p2 && p2.len) {
            /* RFC 2156 appendix B: the first IA5 body part carries the header fields */
            struct mg_buf t;
            mg_buf_init(&t, 4u << 20);
            mg_buf_append(&t, "RFC-822-Headers:\r\n", 18);
            mg_buf_append(&t, p2.data, p2.len);
            mixer_ber_open(w, MIXER_BER_CTX, 0);
            mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
            mixer_ber_close(w);
            mixer_ber_prim(w, 0, MIXER_BER_IA5STRING, t.data, t.len);
            mixer_ber_close(w);
            mg_buf_free(&t);
        }
        rc = mixer_r2x_body_parts(c, w, h, msg, len, false, depth);
        mixer_ber_close(w);
    }
    mg_buf_free(&p2);
    mixer_ber_close(w);
    mixer_hdr_free(h);
    free(h);
    return rc;
}

int mixer_conv_to_x400(const struct mixer_gw *gw, enum mixer_content ct, const void *msg,
                       size_t len, struct mg_buf *out, char *why, size_t whysize)
{
    if (!msg && len)
        return MG_EINVAL;
    if (!msg)
        msg = "";   /* empty content may come as no buffer: the parsers add offsets to it */
    /* The mailbox room is not zeroed: mixer_hdr_addrs clears each entry it fills (a calloc of
     * the full room was 4% of a converting gateway's CPU). */
    struct r2x *c = malloc(sizeof *c);
    struct mg_buf b;
    struct mixer_ber w;
    if (!c)
        return MG_ENOMEM;
    c->gw = gw;
    c->ct = ct;
    c->mb = NULL;
    c->nmb = 0;
    c->why = why;
    c->whysize = whysize;
    if (why && whysize)
        why[0] = 0;
    mg_buf_init(&b, MIXER_CONV_MAX_OUT);
    mixer_ber_init(&w, &b);
    /* an MDN answering an X.400 message becomes an IPN; anything else an IPM
     * (InformationObject ipm [0] / MMInformationObject mm [0]: the same encoding) */
    int rc = mixer_mdn_to_ipn(gw, msg, len, &w, why, whysize);
    if (rc == MG_ENOTFOUND || rc == MG_EPARSE) {
        /* not an MDN, or one no IPN can express: it travels as an ordinary message */
        mg_buf_reset(&b);
        mixer_ber_init(&w, &b);
        if (why && whysize)
            why[0] = 0;
        rc = mixer_r2x_ipm(c, &w, MIXER_BER_CTX, 0, msg, len, 0);
    }
    if (!rc)
        rc = mixer_ber_finish(&w);
    if (rc && why && !why[0])
        snprintf(why, whysize, "conversion failed (%s)", mg_strerror(rc));
    if (!rc) {
        struct mg_ipm_error err;
        if (ct == MIXER_CONTENT_P772) {
            MMInformationObject_t *v = NULL;
            rc = mg_ipm_decode_mm(b.data, b.len, &v, &err);
            mg_ipm_free_mm(v);
        } else {
            InformationObject_t *v = NULL;
            rc = mg_ipm_decode_info(b.data, b.len, &v, &err);
            mg_ipm_free_info(v);
        }
        if (rc && why)
            snprintf(why, whysize, "produced content does not decode: %s (offset %zu)", err.what,
                     err.offset);
    }
    if (!rc)
        rc = mg_buf_append(out, b.data, b.len);
    mg_buf_free(&b);
    free(c->mb);
    free(c);
    return rc;
}
