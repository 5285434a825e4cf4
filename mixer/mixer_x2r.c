/* mixer_x2r: X.400 IPM (P22 / P772) -> RFC 5322 + MIME: RFC 2156 5.3 heading mapping,
 * RFC 6477 MMHS-* fields from the P772 heading extensions, the rfc-822-field extension
 * restored, and RFC 2157 body parts (IA5 text, general text, forwarded messages,
 * bilaterally defined, anything else as application/x400-bp). */
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

#include "AuthorizingUsersField.h"
#include "BlindCopyRecipientsField.h"
#include "Body.h"
#include "BodyPart.h"
#include "CopyRecipientsField.h"
#include "ExemptedAddressSeq.h"
#include "ExtendedBodyPart.h"
#include "IPMIdentifier.h"
#include "MessageBodyPart.h"
#include "ORDescriptor.h"
#include "ORName.h"
#include "ObsoletedIPMsField.h"
#include "PrimaryRecipientsField.h"
#include "RecipientSpecifier.h"
#include "RelatedIPMsField.h"
#include "ReplyRecipientsField.h"
#include "SubjectChoice.h"
#include "TeletexBodyPart.h"
#include "IPN.h"
#include "NotificationExtensionsField.h"
#include "IPNChoice.h"
#include "NonReceiptFields.h"
#include "ReceiptFields.h"

#define WHY(...) (c->why ? (void)snprintf(c->why, c->whysize, __VA_ARGS__) : (void)0)

struct x2r {
    const struct mixer_gw *gw;
    char *why;
    size_t whysize;
    unsigned boundary_seq;
};


/* ---- output helpers ---- */

/* "Name: value" with CR/LF inside the value made blanks (a value never starts a field). */
static int field(struct mg_buf *out, const char *name, const char *value)
{
    int rc = mg_buf_appendf(out, "%s: ", name);
    for (const char *p = value; !rc && *p; p++) {
        char ch = (*p == '\r' || *p == '\n') ? ' ' : *p;
        rc = mg_buf_append(out, &ch, 1);
    }
    return rc ? rc : mg_buf_append(out, "\r\n", 2);
}

/* A header text from T.61 / Latin-1 octets: ASCII as is, otherwise an RFC 2047 word. */
static int text_value(const uint8_t *p, size_t n, char *out, size_t outsize)
{
    bool ascii = true;
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 128 || p[i] == 0)
            ascii = false;
    if (ascii) {
        if (n >= outsize)
            return MG_ETOOBIG;
        memcpy(out, p, n);
        out[n] = 0;
        return 0;
    }
    size_t o = 0;
    int w = snprintf(out, outsize, "=?ISO-8859-1?Q?");
    o = (size_t)w;
    for (size_t i = 0; i < n; i++) {
        if (o + 6 >= outsize)
            return MG_ETOOBIG;
        if (isalnum(p[i]))
            out[o++] = (char)p[i];
        else if (p[i] == ' ')
            out[o++] = '_';
        else
            o += (size_t)snprintf(out + o, outsize - o, "=%02X", p[i]);
    }
    if (o + 3 >= outsize)
        return MG_ETOOBIG;
    memcpy(out + o, "?=", 3);
    return 0;
}

/* ---- addresses and identifiers ---- */

static int orname_to_822(struct x2r *c, const ORName_t *n, char *out, size_t outsize)
{
    struct mixer_or or;
    char why[200] = "";
    int rc = mixer_orname_read(&n->built_in_standard_attributes,
                               n->built_in_domain_defined_attributes, n->extension_attributes,
                               &or);
    if (rc) {
        WHY("O/R name cannot be represented (%s)", mg_strerror(rc));
        return rc;
    }
    /* RFC 2156 appendix B: the DDA "Common" is a 1984 peer's common name */
    const char *common = mixer_or_get_dd(&or, "Common");
    if (common && !mixer_or_get(&or, MIXER_OR_CN, 0)) {
        char v[MIXER_OR_VALUE_MAX];
        snprintf(v, sizeof v, "%s", common);
        mixer_or_remove(&or, MIXER_OR_DD, "Common");
        (void)mixer_or_add(&or, MIXER_OR_CN, NULL, v, strlen(v));
    }
    rc = mixer_addr_to_822(c->gw, &or, out, outsize, NULL, why, sizeof why);
    if (rc)
        WHY("O/R name: %s", why);
    return rc;
}

static int ordesc_to_mbox(struct x2r *c, const ORDescriptor_t *d, char *out, size_t outsize)
{
    char addr[MIXER_ADDR_MAX] = "", phrase[512] = "";
    int rc;
    if (d->formal_name && (rc = orname_to_822(c, d->formal_name, addr, sizeof addr))) {
        if (rc == MG_ENOMEM)
            return rc;
        /* a heading address with no RFC 822 form (e.g. an extended network address) must
         * not stop the message: it is shown by name only, as a group with no members */
        addr[0] = 0;
        if (c->why && c->whysize)
            c->why[0] = 0;
        if (!d->free_form_name)
            snprintf(phrase, sizeof phrase, "Unrepresentable X.400 address");
    }
    if (d->free_form_name &&
        (rc = text_value(d->free_form_name->buf, (size_t)d->free_form_name->size, phrase,
                         sizeof phrase)))
        return rc;
    if (!addr[0] && !phrase[0])
        snprintf(phrase, sizeof phrase, "Unknown");
    rc = mixer_hdr_mbox_print(phrase, addr, out, outsize);
    if (!rc && d->telephone_number && d->telephone_number->size > 0) {
        size_t l = strlen(out);
        int w = snprintf(out + l, outsize - l, " (Tel %.*s)", (int)d->telephone_number->size,
                         (const char *)d->telephone_number->buf);
        if (w < 0 || (size_t)w >= outsize - l)
            return MG_ETOOBIG;
    }
    return rc;
}

/* 4.7.3: an identifier made from an RFC 822 msg-id (user absent, ps-encoded "local@dom")
 * goes back as it was; any other is <"urid*std-or-address"@MHS>. */
static int ipmid_to_msgid(struct x2r *c, const IPMIdentifier_t *id, char *out, size_t outsize)
{
    char urid[200], dec[200], orstr[1024] = "";
    size_t ul = (size_t)id->user_relative_identifier.size;
    if (ul >= sizeof urid)
        return MG_ETOOBIG;
    memcpy(urid, id->user_relative_identifier.buf, ul);
    urid[ul] = 0;
    if (!id->user && mixer_ps_decode(urid, ul, dec, sizeof dec) == 0 && strchr(dec, '@') &&
        !strchr(dec, '<') && !strchr(dec, '>') && !strchr(dec, ' ')) {
        int w = snprintf(out, outsize, "<%s>", dec);
        return w < 0 || (size_t)w >= outsize ? MG_ETOOBIG : 0;
    }
    if (id->user) {
        struct mixer_or or;
        int rc = mixer_orname_read(&id->user->built_in_standard_attributes,
                                   id->user->built_in_domain_defined_attributes,
                                   id->user->extension_attributes, &or);
        if (rc || (rc = mixer_or_print(&or, orstr, sizeof orstr))) {
            WHY("IPM identifier's O/R name cannot be represented");
            return rc;
        }
    }
    char lhs[1400], q[1500];
    snprintf(lhs, sizeof lhs, "%s*%s", urid, orstr);
    int rc = mixer_addr_quote_local(lhs, strlen(lhs), q, sizeof q);
    if (rc)
        return rc;
    int w = snprintf(out, outsize, "<%s@MHS>", q);
    return w < 0 || (size_t)w >= outsize ? MG_ETOOBIG : 0;
}

/* A list field from n entries produced by fn into one "a, b" value. */
static int list_field(struct mg_buf *out, const char *name, struct mg_buf *val)
{
    if (val->len == 0)
        return 0;
    return field(out, name, (const char *)val->data);
}

static int add_item(struct mg_buf *val, const char *item)
{
    if (val->len && mg_buf_append(val, ", ", 2))
        return MG_ENOMEM;
    return mg_buf_append(val, item, strlen(item));
}

static int recipients(struct x2r *c, struct mg_buf *out, const char *name, int count,
                      RecipientSpecifier_t **arr)
{
    struct mg_buf val;
    char mb[2048];
    int rc = 0;
    mg_buf_init(&val, 1u << 20);
    for (int i = 0; !rc && i < count; i++)
        if (!(rc = ordesc_to_mbox(c, &arr[i]->recipient, mb, sizeof mb)))
            rc = add_item(&val, mb);
    if (!rc)
        rc = list_field(out, name, &val);
    mg_buf_free(&val);
    return rc;
}

static int descs(struct x2r *c, struct mg_buf *out, const char *name, int count,
                 ORDescriptor_t **arr)
{
    struct mg_buf val;
    char mb[2048];
    int rc = 0;
    mg_buf_init(&val, 1u << 20);
    for (int i = 0; !rc && i < count; i++)
        if (!(rc = ordesc_to_mbox(c, arr[i], mb, sizeof mb)))
            rc = add_item(&val, mb);
    if (!rc)
        rc = list_field(out, name, &val);
    mg_buf_free(&val);
    return rc;
}

static int ids(struct x2r *c, struct mg_buf *out, const char *name, int count,
               IPMIdentifier_t **arr)
{
    struct mg_buf val;
    char id[2048];
    int rc = 0;
    mg_buf_init(&val, 1u << 20);
    for (int i = 0; !rc && i < count; i++)
        if (!(rc = ipmid_to_msgid(c, arr[i], id, sizeof id))) {
            if (val.len)
                rc = mg_buf_append(&val, " ", 1);
            if (!rc)
                rc = mg_buf_append(&val, id, strlen(id));
        }
    if (!rc)
        rc = list_field(out, name, &val);
    mg_buf_free(&val);
    return rc;
}

static int time_field(struct x2r *c, struct mg_buf *out, const char *name, const uint8_t *p,
                      size_t n)
{
    char d[64];
    if (mixer_hdr_utc_to_date((const char *)p, n, d, sizeof d) != 0) {
        WHY("%s: UTCTime cannot be read", name);
        return MG_EPARSE;
    }
    return field(out, name, d);
}

/* ---- heading extensions ---- */

static long ber_int(const struct mixer_tlv *t)
{
    long v = (t->vlen && (t->v[0] & 0x80)) ? -1 : 0;
    for (size_t i = 0; i < t->vlen && i < sizeof(long); i++)
        v = (long)((unsigned long)v << 8) | t->v[i];
    return v;
}

/* "a; b; c" of the strings in a SEQUENCE OF string (or SET {[0] SEQUENCE OF} for SICs). */
static int string_list(const struct mixer_tlv *seq, char *out, size_t outsize)
{
    struct mixer_tlv s;
    size_t o = 0;
    out[0] = 0;
    for (size_t off = 0; off < seq->vlen; off += s.size) {
        if (mixer_ber_read(seq->v + off, seq->vlen - off, &s) != 0)
            return MG_EPARSE;
        if (!mixer_ps_is_printable((const char *)s.v, s.vlen) || o + s.vlen + 3 >= outsize)
            return MG_EPARSE;
        if (o) {
            memcpy(out + o, "; ", 2);
            o += 2;
        }
        memcpy(out + o, s.v, s.vlen);
        o += s.vlen;
        out[o] = 0;
    }
    return 0;
}

static const char *const precedence_names[] = {"deferred", "routine",   "priority",
                                               "immediate", "flash",    "override"};

struct restored {
    struct mg_buf lines; /* "Name: value\r\n" restored from rfc-822-field */
    struct mg_buf trace; /* the restored Received lines: they go first (RFC 5322 3.6.7) */
    bool has_msgid, has_subject, has_dnt;
};

/* One "Name: value" line from the rfc-822-field list (or a 1984 RFC-822-Headers part) into
 * the restored fields. */
static int restore_line(struct restored *r, const uint8_t *v, size_t vlen)
{
    const char *line = (const char *)v;
    const char *colon = memchr(line, ':', vlen);
    if (!colon || colon == line)
        return 0; /* not a field: nothing to restore */
    size_t nl = (size_t)(colon - line);
    bool ok = true;
    for (size_t i = 0; i < nl; i++)
        if (line[i] <= 32 || line[i] >= 127)
            ok = false;
    if (!ok)
        return 0;
    if (nl == 10 && !strncasecmp(line, "Message-ID", 10))
        r->has_msgid = true;
    if (nl == 7 && !strncasecmp(line, "Subject", 7))
        r->has_subject = true;
    if (nl == 27 && !strncasecmp(line, "Disposition-Notification-To", 27))
        r->has_dnt = true;
    struct mg_buf *dst = (nl == 8 && !strncasecmp(line, "Received", 8)) ? &r->trace
                                                                         : &r->lines;
    /* "Name: =?UNKNOWN-8BIT?B?...?=" is mixer_r2x's wrapping of 8-bit octets */
    static const char w8[] = "=?UNKNOWN-8BIT?B?";
    const char *val = colon + 1;
    size_t vl = vlen - nl - 1;
    while (vl && *val == ' ')
        val++, vl--;
    struct mg_buf octets;
    mg_buf_init(&octets, 1u << 20);
    if (vl > sizeof w8 + 1 && !strncmp(val, w8, sizeof w8 - 1) && val[vl - 2] == '?' &&
        val[vl - 1] == '=' &&
        mixer_conv_b64_decode(val + sizeof w8 - 1, vl - sizeof w8 - 1, &octets) == 0) {
        line = NULL;
    }
    if (!line) {
        /* name, ": ", the octets (CR, LF and NUL still made blanks) */
        if (mg_buf_append(dst, v, nl) || mg_buf_append(dst, ": ", 2)) {
            mg_buf_free(&octets);
            return MG_ENOMEM;
        }
        for (size_t i = 0; i < octets.len; i++) {
            char ch = (octets.data[i] == '\r' || octets.data[i] == '\n' || octets.data[i] == 0)
                          ? ' '
                          : (char)octets.data[i];
            if (mg_buf_append(dst, &ch, 1)) {
                mg_buf_free(&octets);
                return MG_ENOMEM;
            }
        }
    }
    mg_buf_free(&octets);
    for (size_t i = 0; line && i < vlen; i++) {
        char ch = (line[i] == '\r' || line[i] == '\n' || line[i] == 0) ? ' ' : line[i];
        if (mg_buf_append(dst, &ch, 1))
            return MG_ENOMEM;
    }
    if (mg_buf_append(dst, "\r\n", 2))
        return MG_ENOMEM;
    return 0;
}

/* One heading extension. *handled is false for an extension to list as discarded. */
static int extension(struct x2r *c, const IPMSExtension_t *e, const char *oid, struct mg_buf *out,
                     struct restored *r, bool *handled)
{
    struct mixer_tlv t, u;
    char v[4096];
    const uint8_t *raw = e->value ? e->value->buf : NULL;
    size_t rawl = e->value ? (size_t)e->value->size : 0;
    bool have = raw && mixer_ber_read(raw, rawl, &t) == 0 && t.size == rawl;
    *handled = true;
    if (!strcmp(oid, "2.6.1.5.0"))
        return field(out, "Incomplete-Copy", "");
    if (!strcmp(oid, "2.6.1.5.1") && have) { /* languages: SET OF PrintableString */
        if (string_list(&t, v, sizeof v) != 0)
            goto bad;
        for (char *p = v; (p = strstr(p, "; "));)
            p[0] = ',';
        return field(out, "Content-Language", v);
    }
    if (!strcmp(oid, "2.6.1.5.2") && have) {
        static const char *const as[] = {"not-auto-submitted", "auto-generated", "auto-replied"};
        long n = ber_int(&t);
        if (n < 0 || n > 2)
            goto bad;
        return field(out, "Autosubmitted", as[n]);
    }
    if (!strcmp(oid, MIXER_OID_RFC822_FIELD_LIST) && have) {
        for (size_t off = 0; off < t.vlen; off += u.size) {
            if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
                goto bad;
            int rc = restore_line(r, u.v, u.vlen);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (!strncmp(oid, "1.3.26.0.4406.0.2.", 18) && have) {
        long n = strtol(oid + 18, NULL, 10);
        switch (n) {
        case 0:
        case 1: {
            long p = ber_int(&t);
            if (p >= 0 && p <= 5)
                snprintf(v, sizeof v, "%s", precedence_names[p]);
            else
                snprintf(v, sizeof v, "%ld", p);
            return field(out, n == 0 ? "MMHS-Primary-Precedence" : "MMHS-Copy-Precedence", v);
        }
        case 2: { /* SET { [0] INTEGER, [1] MilitaryString OPTIONAL } */
            static const char *const mt[] = {"exercise", "operation", "project", "drill"};
            long type = -1;
            char ident[80] = "";
            for (size_t off = 0; off < t.vlen; off += u.size) {
                if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
                    goto bad;
                if (u.number == 0)
                    type = ber_int(&u);
                else if (u.number == 1 && u.vlen < sizeof ident &&
                         mixer_ps_is_printable((const char *)u.v, u.vlen)) {
                    memcpy(ident, u.v, u.vlen);
                    ident[u.vlen] = 0;
                }
            }
            if (type < 0)
                goto bad;
            int w = type <= 3 ? snprintf(v, sizeof v, "%s", mt[type])
                              : snprintf(v, sizeof v, "%ld", type);
            if (ident[0])
                snprintf(v + w, sizeof v - (size_t)w, "; identifier=\"%s\"", ident);
            return field(out, "MMHS-Message-Type", v);
        }
        case 4: { /* exempted addresses: ORDescriptors */
            struct mg_ipm_typed typed = {0};
            struct mg_ipm_error err;
            if (mg_ipm_ext_decode(e, &typed, &err) != 0 || !typed.value)
                goto bad;
            const ExemptedAddressSeq_t *seq = typed.value;
            int rc = descs(c, out, "MMHS-Exempted-Address", seq->list.count,
                           (ORDescriptor_t **)seq->list.array);
            mg_ipm_typed_free(&typed);
            return rc;
        }
        case 5:
            return time_field(c, out, "MMHS-Extended-Authorisation-Info", t.v, t.vlen);
        case 6: /* SET { [0] SEQUENCE OF Sic OPTIONAL, ... } */
            for (size_t off = 0; off < t.vlen; off += u.size) {
                if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
                    goto bad;
                if (u.number == 0) {
                    if (string_list(&u, v, sizeof v) != 0)
                        goto bad;
                    return field(out, "MMHS-Subject-Indicator-Codes", v);
                }
            }
            *handled = false; /* only distribution extensions: nothing RFC 6477 names */
            return 0;
        case 7:
        case 8:
            if (string_list(&t, v, sizeof v) != 0)
                goto bad;
            return field(out, n == 7 ? "MMHS-Handling-Instructions" : "MMHS-Message-Instructions",
                         v);
        case 9:
            snprintf(v, sizeof v, "%ld", ber_int(&t));
            return field(out, "MMHS-Codress-Message-Indicator", v);
        case 10:
        case 13:
        case 14:
            if (t.vlen >= sizeof v || !mixer_ps_is_printable((const char *)t.v, t.vlen))
                goto bad;
            memcpy(v, t.v, t.vlen);
            v[t.vlen] = 0;
            return field(out, n == 10   ? "MMHS-Originator-Reference"
                              : n == 13 ? "MMHS-Acp127-Message-Identifier"
                                        : "MMHS-Originator-PLAD",
                         v);
        case 11: { /* SEQUENCE OF SET { [0] INTEGER primary/copy, [1] MilitaryString } */
            char to[2048] = "", cc[2048] = "";
            for (size_t off = 0; off < t.vlen; off += u.size) {
                struct mixer_tlv d;
                long type = -1;
                char des[80] = "";
                if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
                    goto bad;
                for (size_t o2 = 0; o2 < u.vlen; o2 += d.size) {
                    if (mixer_ber_read(u.v + o2, u.vlen - o2, &d) != 0)
                        goto bad;
                    if (d.number == 0)
                        type = ber_int(&d);
                    else if (d.number == 1 && d.vlen < sizeof des &&
                             mixer_ps_is_printable((const char *)d.v, d.vlen)) {
                        memcpy(des, d.v, d.vlen);
                        des[d.vlen] = 0;
                    }
                }
                char *dst = type == 0 ? to : type == 1 ? cc : NULL;
                if (!dst || !des[0] || strlen(dst) + strlen(des) + 3 >= sizeof to)
                    goto bad;
                if (dst[0])
                    strcat(dst, "; ");
                strcat(dst, des);
            }
            int rc = 0;
            if (to[0])
                rc = field(out, "MMHS-Other-Recipients-Indicator-To", to);
            if (!rc && cc[0])
                rc = field(out, "MMHS-Other-Recipients-Indicator-CC", cc);
            return rc;
        }
        default:
            break;
        }
    }
    *handled = false;
    return 0;
bad:
    WHY("heading extension %s has a value that does not match its type", oid);
    return MG_EPARSE;
}

/* ---- body ---- */

static int body_parts(struct x2r *c, const Body_t *body, struct mg_buf *out, int depth);

static int heading(struct x2r *c, const Heading_t *h, const uint8_t *p2, size_t p2len,
                   struct mg_buf *out);

/* One IPM as a complete RFC 5322 message (headers + MIME body). */
static int ipm(struct x2r *c, const IPM_t *m, struct mg_buf *out, int depth)
{
    if (depth > MIXER_CONV_MAX_DEPTH) {
        WHY("forwarded messages nested deeper than %d", MIXER_CONV_MAX_DEPTH);
        return MG_ETOOBIG;
    }
    /* RFC 2156 appendix B: a first IA5 part "RFC-822-Headers:" holds the header fields */
    static const char p2tag[] = "RFC-822-Headers:";
    const uint8_t *p2 = NULL;
    size_t p2len = 0;
    Body_t rest = {0};
    const Body_t *body = m->body;
    if (body && body->list.count > 0) {
        const BodyPart_t *b0 = body->list.array[0];
        if (b0->present == BodyPart_PR_basic &&
            b0->choice.basic.present == BodyPart__basic_PR_ia5_text) {
            const IA5String_t *d = &b0->choice.basic.choice.ia5_text.data;
            size_t tl = sizeof p2tag - 1;
            if ((size_t)d->size >= tl && !strncasecmp((const char *)d->buf, p2tag, tl)) {
                p2 = d->buf + tl;
                p2len = (size_t)d->size - tl;
                /* the remaining parts, borrowed (rest owns nothing) */
                rest.list.array = body->list.array + 1;
                rest.list.count = body->list.count - 1;
                rest.list.size = rest.list.count;
                body = &rest;
            }
        }
    }
    int rc = heading(c, &m->heading, p2, p2len, out);
    if (!rc)
        rc = body_parts(c, body, out, depth);
    return rc;
}

/* Content of a part: headers ("Content-Type: ...") + CRLF + data; into part. */
static int text_part(struct mg_buf *part, const char *charset, const uint8_t *p, size_t n)
{
    bool seven = true;
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 128 || p[i] == 0)
            seven = false;
    int rc = mg_buf_appendf(part, "Content-Type: text/plain; charset=%s\r\n", charset);
    if (seven) {
        if (!rc)
            rc = mg_buf_append(part, "Content-Transfer-Encoding: 7bit\r\n\r\n", 35);
        if (!rc)
            rc = mg_buf_append(part, p, n);
    } else {
        if (!rc)
            rc = mg_buf_append(part, "Content-Transfer-Encoding: base64\r\n\r\n", 37);
        if (!rc)
            rc = mixer_conv_b64_encode(p, n, part);
    }
    return rc;
}

static int binary_part(struct mg_buf *part, const char *type, const uint8_t *p, size_t n)
{
    int rc = mg_buf_appendf(part, "Content-Type: %s\r\nContent-Transfer-Encoding: base64\r\n\r\n",
                            type);
    return rc ? rc : mixer_conv_b64_encode(p, n, part);
}

/* ISO-IR registration numbers of GeneralText parameters -> MIME charset (RFC 2157 / 1502). */
static const char *charset_of(const uint8_t *params, size_t n)
{
    struct mixer_tlv t, u;
    long regs[8];
    size_t nr = 0;
    if (mixer_ber_read(params, n, &t) != 0)
        return NULL;
    for (size_t off = 0; off < t.vlen && nr < 8; off += u.size) {
        if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
            return NULL;
        regs[nr++] = ber_int(&u);
    }
    static const struct {
        long reg;
        const char *cs;
    } map[] = {{196, "utf-8"},      {100, "iso-8859-1"}, {101, "iso-8859-2"}, {109, "iso-8859-3"},
               {110, "iso-8859-4"}, {144, "iso-8859-5"}, {127, "iso-8859-6"}, {126, "iso-8859-7"},
               {138, "iso-8859-8"}, {148, "iso-8859-9"}};
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
        for (size_t i = 0; i < nr; i++)
            if (regs[i] == map[k].reg)
                return map[k].cs;
    for (size_t i = 0; i < nr; i++)
        if (regs[i] == 6 || regs[i] == 2)
            return "us-ascii";
    return NULL;
}

/* Headers that parse, then an empty line, and a body without a line that could end the
 * enclosing multipart early ("--" lines are checked against our boundary by the caller). */
static bool mime_entity(const uint8_t *d, size_t n)
{
    struct mixer_hdrs *h = malloc(sizeof *h);
    bool ok = false;
    if (!h)
        return false;
    if (mixer_hdr_parse((const char *)d, n, h) == 0) {
        ok = h->body_off < n || (n >= 2 && d[n - 1] == '\n');
        for (size_t i = 0; i < h->n && ok; i++)
            ok = h->f[i].namelen < 8 || strncasecmp(h->f[i].name, "Content-", 8) == 0 ||
                 mixer_hdr_is(&h->f[i], "MIME-Version");
        mixer_hdr_free(h);
    }
    free(h);
    return ok;
}

/* A file transfer body part (RFC 2157) as a MIME part: the MIME fields mixer_r2x kept in the
 * parameters' rfc-822-field extension when there are some, else application/octet-stream
 * with the pathname as the file name; the data is the octet-aligned EXTERNALs joined.
 * MG_ENOTSUP when the data is not octet-aligned (then the part travels as x400-bp). */
static int ftbp_part(const ExtendedBodyPart_t *x, const struct mixer_tlv *data, struct mg_buf *part)
{
    struct mixer_tlv e, f, g;
    struct mg_buf octets, fields;
    char name[256] = "";
    int rc = 0;
    mg_buf_init(&octets, MIXER_CONV_MAX_OUT);
    mg_buf_init(&fields, 1u << 20);
    /* data: SEQUENCE OF EXTERNAL { [direct-reference] [indirect] [descriptor] encoding } */
    for (size_t off = 0; !rc && off < data->vlen; off += e.size) {
        bool got = false;
        if (mixer_ber_read(data->v + off, data->vlen - off, &e) != 0 || e.number != 8) {
            rc = MG_ENOTSUP;
            break;
        }
        for (size_t o2 = 0; o2 < e.vlen; o2 += f.size) {
            if (mixer_ber_read(e.v + o2, e.vlen - o2, &f) != 0)
                break;
            if (f.id == MIXER_BER_CTX && f.number == 1) {
                rc = mg_buf_append(&octets, f.v, f.vlen);
                got = true;
            }
        }
        if (!got && !rc)
            rc = MG_ENOTSUP;
    }
    /* parameters: [4] file-attributes ([0] incomplete pathname), [5] extensions */
    const uint8_t *pp = x->parameters ? x->parameters->value.buf : NULL;
    size_t pl = x->parameters ? (size_t)x->parameters->value.size : 0;
    struct mixer_tlv ps;
    if (!rc && pp && mixer_ber_read(pp, pl, &ps) == 0) {
        for (size_t off = 0; off < ps.vlen; off += f.size) {
            if (mixer_ber_read(ps.v + off, ps.vlen - off, &f) != 0)
                break;
            if (f.number == 4 && mixer_ber_read(f.v, f.vlen, &g) == 0 && g.number == 0) {
                struct mixer_tlv s;
                if (mixer_ber_read(g.v, g.vlen, &s) == 0 && s.vlen < sizeof name &&
                    mixer_ps_is_printable((const char *)s.v, s.vlen)) {
                    memcpy(name, s.v, s.vlen);
                    name[s.vlen] = 0;
                }
            } else if (f.number == 5) {
                /* SET OF IPMSExtension: our rfc-822-field list of the MIME fields */
                for (size_t o3 = 0; o3 < f.vlen; o3 += g.size) {
                    struct mixer_tlv oidt, list, line;
                    if (mixer_ber_read(f.v + o3, f.vlen - o3, &g) != 0 ||
                        mixer_ber_read(g.v, g.vlen, &oidt) != 0 ||
                        mixer_ber_read(g.v + oidt.size, g.vlen - oidt.size, &list) != 0)
                        break;
                    static const uint8_t rfc822_oid[] = {0x2b, 6, 1, 7, 1, 3, 2};
                    if (oidt.vlen != sizeof rfc822_oid || memcmp(oidt.v, rfc822_oid, oidt.vlen))
                        continue;
                    for (size_t o4 = 0; o4 < list.vlen; o4 += line.size) {
                        if (mixer_ber_read(list.v + o4, list.vlen - o4, &line) != 0)
                            break;
                        const char *l = (const char *)line.v;
                        if (line.vlen < 9 || strncasecmp(l, "Content-", 8) != 0 ||
                            memchr(l, '\r', line.vlen) || memchr(l, '\n', line.vlen))
                            continue; /* only MIME fields, one line each */
                        if (mg_buf_append(&fields, l, line.vlen) || mg_buf_append(&fields, "\r\n", 2))
                            break;
                    }
                }
            }
        }
    }
    if (!rc && fields.len && strncasecmp((const char *)fields.data, "Content-Type:", 13) == 0) {
        rc = mg_buf_append(part, fields.data, fields.len);
        if (!rc)
            rc = mg_buf_append(part, "Content-Transfer-Encoding: base64\r\n\r\n", 37);
        if (!rc)
            rc = mixer_conv_b64_encode(octets.data, octets.len, part);
    } else if (!rc) {
        if (name[0])
            rc = mg_buf_appendf(part, "Content-Type: application/octet-stream; name=\"%s\"\r\n"
                                      "Content-Disposition: attachment; filename=\"%s\"\r\n",
                                name, name);
        else
            rc = mg_buf_append(part, "Content-Type: application/octet-stream\r\n", 40);
        if (!rc)
            rc = mg_buf_append(part, "Content-Transfer-Encoding: base64\r\n\r\n", 37);
        if (!rc)
            rc = mixer_conv_b64_encode(octets.data, octets.len, part);
    }
    mg_buf_free(&octets);
    mg_buf_free(&fields);
    return rc;
}

static int one_part(struct x2r *c, const BodyPart_t *bp, struct mg_buf *part, int depth)
{
    if (bp->present == BodyPart_PR_basic) {
        const struct BodyPart__basic *b = &bp->choice.basic;
        switch (b->present) {
        case BodyPart__basic_PR_ia5_text:
            return text_part(part, "us-ascii", b->choice.ia5_text.data.buf,
                             (size_t)b->choice.ia5_text.data.size);
        case BodyPart__basic_PR_teletex: {
            /* T.61 text as text/plain in the IANA charset T.61-8bit, pages separated by form
             * feeds; parameters beyond the page count have no MIME form (then x400-bp) */
            const TeletexBodyPart_t *tb = &b->choice.teletex;
            if (tb->parameters.non_basic_parameters ||
                (tb->parameters.telex_compatible && *tb->parameters.telex_compatible))
                break;
            struct mg_buf pages;
            mg_buf_init(&pages, MIXER_CONV_MAX_OUT);
            int rc = 0;
            for (int i = 0; !rc && i < tb->data.list.count; i++) {
                if (i)
                    rc = mg_buf_append(&pages, "\f", 1);
                if (!rc)
                    rc = mg_buf_append(&pages, tb->data.list.array[i]->buf,
                                       (size_t)tb->data.list.array[i]->size);
            }
            if (!rc)
                rc = text_part(part, "T.61-8bit", pages.data, pages.len);
            mg_buf_free(&pages);
            return rc;
        }
        case BodyPart__basic_PR_message: {
            if (!b->choice.message || !b->choice.message->data)
                break;
            int rc = mg_buf_append(part, "Content-Type: message/rfc822\r\n\r\n", 32);
            return rc ? rc : ipm(c, b->choice.message->data, part, depth + 1);
        }
        case BodyPart__basic_PR_bilaterally_defined: {
            /* mixer_r2x carries a MIME entity it has no X.400 form for as bilaterally
             * defined: one that reads as a MIME entity goes back as it was */
            const uint8_t *d = b->choice.bilaterally_defined.buf;
            size_t dn = (size_t)b->choice.bilaterally_defined.size;
            if (dn > 13 && !strncasecmp((const char *)d, "Content-Type:", 13) &&
                mime_entity(d, dn))
                return mg_buf_append(part, d, dn);
            return binary_part(part, "application/octet-stream",
                               b->choice.bilaterally_defined.buf,
                               (size_t)b->choice.bilaterally_defined.size);
        }
        default:
            break;
        }
    } else if (bp->present == BodyPart_PR_extended) {
        const ExtendedBodyPart_t *x = &bp->choice.extended;
        char oid[128];
        if (mg_ipm_oid_str(&x->data.type_id, oid, sizeof oid) == 0) {
            struct mixer_tlv t;
            bool have = mixer_ber_read(x->data.value.buf, (size_t)x->data.value.size, &t) == 0;
            if (!strcmp(oid, "2.6.1.4.11") && have && x->parameters) {
                const char *cs = charset_of(x->parameters->value.buf,
                                            (size_t)x->parameters->value.size);
                if (cs)
                    return text_part(part, cs, t.v, t.vlen);
            }
            if (!strcmp(oid, "2.6.1.4.0") && have) /* IA5 text as an extended part */
                return text_part(part, "us-ascii", t.v, t.vlen);
            if (!strcmp(oid, "2.6.1.4.9") && have)
                return binary_part(part, "application/octet-stream", t.v, t.vlen);
            if (!strcmp(oid, "2.6.1.4.12") && have) {
                int rc = ftbp_part(x, &t, part);
                if (rc != MG_ENOTSUP)
                    return rc;
            }
        }
    }
    /* RFC 2157 3.2: anything else travels whole as application/x400-bp */
    struct mg_buf der;
    mg_buf_init(&der, MIXER_CONV_MAX_OUT);
    int rc = mg_ipm_encode(&asn_DEF_BodyPart, bp, &der);
    if (!rc)
        rc = binary_part(part, "application/x400-bp", der.data, der.len);
    mg_buf_free(&der);
    return rc;
}

static int body_parts(struct x2r *c, const Body_t *body, struct mg_buf *out, int depth)
{
    int count = body ? body->list.count : 0;
    int rc = mg_buf_append(out, "MIME-Version: 1.0\r\n", 19);
    if (rc)
        return rc;
    if (count == 0)
        return mg_buf_append(out, "Content-Type: text/plain; charset=us-ascii\r\n\r\n", 46);
    if (count == 1)
        return one_part(c, body->list.array[0], out, depth);
    /* parts first, then a boundary none of them contains */
    struct mg_buf parts[64];
    if (count > 64) {
        WHY("more than 64 body parts");
        return MG_ETOOBIG;
    }
    int built = 0;
    for (; built < count && !rc; built++) {
        mg_buf_init(&parts[built], MIXER_CONV_MAX_OUT);
        rc = one_part(c, body->list.array[built], &parts[built], depth);
    }
    char boundary[64];
    for (unsigned tries = 0; !rc; tries++) {
        snprintf(boundary, sizeof boundary, "=_mixer_%d_%u", depth, c->boundary_seq++);
        bool clash = false;
        for (int i = 0; i < count && !clash; i++)
            clash = parts[i].len && memmem(parts[i].data, parts[i].len, boundary,
                                           strlen(boundary)) != NULL;
        if (!clash)
            break;
        if (tries > 100) {
            rc = MG_EINVAL;
            break;
        }
    }
    if (!rc)
        rc = mg_buf_appendf(out, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n",
                            boundary);
    for (int i = 0; i < count && !rc; i++) {
        rc = mg_buf_appendf(out, "--%s\r\n", boundary);
        if (!rc)
            rc = mg_buf_append(out, parts[i].data, parts[i].len);
        if (!rc)
            rc = mg_buf_append(out, "\r\n", 2);
    }
    if (!rc)
        rc = mg_buf_appendf(out, "--%s--\r\n", boundary);
    for (int i = 0; i < built; i++)
        mg_buf_free(&parts[i]);
    return rc;
}

/* ---- heading ---- */

/* Whether a recipient of the heading asks for a receipt notification (rn, bit 0). */
static bool wants_receipt(const Heading_t *h)
{
    const struct PrimaryRecipientsField *lists[3] = {
        h->primary_recipients, (const struct PrimaryRecipientsField *)h->copy_recipients,
        (const struct PrimaryRecipientsField *)h->blind_copy_recipients};
    for (int l = 0; l < 3; l++)
        for (int i = 0; lists[l] && i < lists[l]->list.count; i++) {
            const NotificationRequests_t *nr = lists[l]->list.array[i]->notification_requests;
            if (nr && nr->size > 0 && (nr->buf[0] & 0x80))
                return true;
        }
    return false;
}

/* p2/p2len: the lines of a 1984 RFC-822-Headers body part (RFC 2156 appendix B), or NULL. */
static int heading(struct x2r *c, const Heading_t *h, const uint8_t *p2, size_t p2len,
                   struct mg_buf *out)
{
    char v[4096];
    int rc = 0;
    struct restored r = {.has_msgid = false};
    struct mg_buf generated, discarded;
    mg_buf_init(&r.lines, 4u << 20);
    mg_buf_init(&r.trace, 4u << 20);
    mg_buf_init(&generated, 8u << 20);
    mg_buf_init(&discarded, 1u << 20);
    /* extensions first: the rfc-822-field list may override generated fields */
    /* known extensions in a fixed order (the SET has none), then the others in theirs */
    static const char *const order[] = {
        "2.6.1.5.0",            "2.6.1.5.1",            "2.6.1.5.2",
        "1.3.26.0.4406.0.2.0",  "1.3.26.0.4406.0.2.1",  "1.3.26.0.4406.0.2.2",
        "1.3.26.0.4406.0.2.4",  "1.3.26.0.4406.0.2.5",  "1.3.26.0.4406.0.2.6",
        "1.3.26.0.4406.0.2.7",  "1.3.26.0.4406.0.2.8",  "1.3.26.0.4406.0.2.9",
        "1.3.26.0.4406.0.2.10", "1.3.26.0.4406.0.2.11", "1.3.26.0.4406.0.2.13",
        "1.3.26.0.4406.0.2.14", NULL};
    for (size_t pass = 0; h->extensions && pass <= sizeof order / sizeof order[0] - 1; pass++) {
        for (int i = 0; !rc && i < h->extensions->list.count; i++) {
            const IPMSExtension_t *e = h->extensions->list.array[i];
            char oid[128];
            bool handled = false;
            if (mg_ipm_oid_str(&e->type, oid, sizeof oid) != 0) {
                WHY("heading extension with a malformed OID");
                rc = MG_EPARSE;
                break;
            }
            bool known = false;
            for (size_t k = 0; order[k]; k++)
                known |= !strcmp(order[k], oid);
            if (order[pass] ? strcmp(order[pass], oid) != 0 : known)
                continue;
            rc = extension(c, e, oid, &generated, &r, &handled);
            if (!rc && !handled)
                rc = add_item(&discarded, oid);
        }
    }
    /* a 1984 message's header fields came in its first body part */
    for (size_t off = 0; !rc && p2 && off < p2len;) {
        const uint8_t *nl = memchr(p2 + off, '\n', p2len - off);
        size_t l = nl ? (size_t)(nl - (p2 + off)) : p2len - off;
        size_t ll = l && p2[off + l - 1] == '\r' ? l - 1 : l;
        if (ll)
            rc = restore_line(&r, p2 + off, ll);
        off += l + 1;
    }
    /* the trace that came through X.400 in the rfc-822-field list heads the header again */
    if (!rc && r.trace.len)
        rc = mg_buf_append(out, r.trace.data, r.trace.len);
    /* From / Sender (4.7.2: authorizing-users are From when present) */
    if (!rc && h->authorizing_users && h->authorizing_users->list.count) {
        rc = descs(c, out, "From", h->authorizing_users->list.count,
                   (ORDescriptor_t **)h->authorizing_users->list.array);
        if (!rc && h->originator && !(rc = ordesc_to_mbox(c, h->originator, v, sizeof v)))
            rc = field(out, "Sender", v);
    } else if (!rc && h->originator) {
        if (!(rc = ordesc_to_mbox(c, h->originator, v, sizeof v)))
            rc = field(out, "From", v);
    }
    if (!rc && !r.has_msgid && !(rc = ipmid_to_msgid(c, &h->this_IPM, v, sizeof v)))
        rc = field(out, "Message-ID", v);
    if (!rc && h->primary_recipients)
        rc = recipients(c, out, "To", h->primary_recipients->list.count,
                        (RecipientSpecifier_t **)h->primary_recipients->list.array);
    if (!rc && h->copy_recipients)
        rc = recipients(c, out, "Cc", h->copy_recipients->list.count,
                        (RecipientSpecifier_t **)h->copy_recipients->list.array);
    if (!rc && h->blind_copy_recipients)
        rc = recipients(c, out, "Bcc", h->blind_copy_recipients->list.count,
                        (RecipientSpecifier_t **)h->blind_copy_recipients->list.array);
    if (!rc && h->replied_to_IPM && !(rc = ipmid_to_msgid(c, h->replied_to_IPM, v, sizeof v)))
        rc = field(out, "In-Reply-To", v);
    if (!rc && h->related_IPMs)
        rc = ids(c, out, "References", h->related_IPMs->list.count,
                 (IPMIdentifier_t **)h->related_IPMs->list.array);
    if (!rc && h->obsoleted_IPMs)
        rc = ids(c, out, "Supersedes", h->obsoleted_IPMs->list.count,
                 (IPMIdentifier_t **)h->obsoleted_IPMs->list.array);
    if (!rc && h->subject && !r.has_subject &&
        !(rc = text_value(h->subject->choice.subject_field.buf,
                          (size_t)h->subject->choice.subject_field.size, v, sizeof v)))
        rc = field(out, "Subject", v);
    if (!rc && h->expiry_time)
        rc = time_field(c, out, "Expires", h->expiry_time->buf, (size_t)h->expiry_time->size);
    if (!rc && h->reply_time)
        rc = time_field(c, out, "Reply-By", h->reply_time->buf, (size_t)h->reply_time->size);
    if (!rc && h->reply_recipients)
        rc = descs(c, out, "Reply-To", h->reply_recipients->list.count,
                   (ORDescriptor_t **)h->reply_recipients->list.array);
    if (!rc && h->importance && *h->importance != 1) {
        static const char *const imp[] = {"low", "normal", "high"};
        if (*h->importance < 0 || *h->importance > 2)
            rc = MG_EPARSE;
        else
            rc = field(out, "Importance", imp[*h->importance]);
    }
    if (!rc && h->sensitivity) {
        static const char *const sens[] = {NULL, "Personal", "Private", "Company-Confidential"};
        if (*h->sensitivity < 1 || *h->sensitivity > 3)
            rc = MG_EPARSE;
        else
            rc = field(out, "Sensitivity", sens[*h->sensitivity]);
    }
    if (!rc && h->auto_forwarded && *h->auto_forwarded)
        rc = field(out, "Autoforwarded", "TRUE");
    /* a receipt notification requested from any recipient: an MDN request to the originator
     * (RFC 8098), so Internet clients answer; X.400 gets an IPN back through the gateway */
    if (!rc && !r.has_dnt && h->originator && wants_receipt(h) &&
        !(rc = ordesc_to_mbox(c, h->originator, v, sizeof v)))
        rc = field(out, "Disposition-Notification-To", v);
    if (!rc && generated.len)
        rc = mg_buf_append(out, generated.data, generated.len);
    if (!rc && discarded.len)
        rc = field(out, "Discarded-X400-IPMS-Extensions", (const char *)discarded.data);
    if (!rc && r.lines.len)
        rc = mg_buf_append(out, r.lines.data, r.lines.len);
    mg_buf_free(&r.lines);
    mg_buf_free(&r.trace);
    mg_buf_free(&generated);
    mg_buf_free(&discarded);
    if (rc == MG_EPARSE && c->why && !c->why[0])
        WHY("heading field out of range");
    return rc;
}

/* ---- notifications (RFC 2156 5.3.5: an IPN becomes a plain text message) ---- */

/* The IPN as an RFC 8098 MDN: the RFC 2156 text, then message/disposition-notification
 * (the inverse of mixer_mdn's mapping). id is the subject IPM's msg-id, to the intended
 * recipient's mailbox ("" when unknown). */
static int ipn_as_mdn(struct x2r *c, const IPN_t *n, const char *id, const char *to,
                      const struct mg_buf *text, struct mg_buf *out)
{
    const char *disp;
    if (n->choice.present == IPNChoice_PR_receipt_fields)
        disp = n->choice.choice.receipt_fields.acknowledgment_mode == 1
                   ? "automatic-action/MDN-sent-automatically; displayed"
                   : "manual-action/MDN-sent-manually; displayed";
    else if (n->choice.present == IPNChoice_PR_non_receipt_fields &&
             n->choice.choice.non_receipt_fields.non_receipt_reason == 1)
        disp = "automatic-action/MDN-sent-automatically; dispatched";
    else if (n->choice.present == IPNChoice_PR_non_receipt_fields)
        disp = "automatic-action/MDN-sent-automatically; deleted";
    else
        disp = "automatic-action/MDN-sent-automatically; processed";
    /* the recipient's address alone (to is a mailbox, maybe with a display name) */
    struct mixer_mbox mb;
    size_t k = 0;
    const char *addr = "";
    if (to[0] && mixer_hdr_addrs(to, &mb, 1, &k) == 0 && k == 1 && mb.addr[0])
        addr = mb.addr;
    /* the report part first, then a boundary neither part contains */
    struct mg_buf rep;
    mg_buf_init(&rep, 1u << 20);
    int rc = mg_buf_appendf(&rep, "Reporting-UA: %s; mixgate MIXER gateway\r\n",
                            c->gw->domain[0] ? c->gw->domain : "localhost");
    if (!rc && addr[0])
        rc = mg_buf_appendf(&rep, "Final-Recipient: rfc822; %s\r\n", addr);
    if (!rc)
        rc = mg_buf_appendf(&rep, "Original-Message-ID: %s\r\nDisposition: %s\r\n", id, disp);
    char b[48];
    for (unsigned k2 = 0; !rc; k2++) {
        snprintf(b, sizeof b, "=_mixer_mdn_%u", k2);
        if ((!text->len || !memmem(text->data, text->len, b, strlen(b))) &&
            !memmem(rep.data, rep.len, b, strlen(b)))
            break;
    }
    if (!rc)
        rc = mg_buf_appendf(out, "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
                                 "report-type=disposition-notification; boundary=\"%s\"\r\n\r\n"
                                 "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
                            b, b);
    if (!rc)
        rc = mg_buf_append(out, text->data, text->len);
    if (!rc)
        rc = mg_buf_appendf(out, "\r\n--%s\r\nContent-Type: message/disposition-notification"
                                 "\r\n\r\n", b);
    if (!rc)
        rc = mg_buf_append(out, rep.data, rep.len);
    if (!rc)
        rc = mg_buf_appendf(out, "\r\n--%s--\r\n", b);
    mg_buf_free(&rep);
    return rc;
}

static int ipn(struct x2r *c, const IPN_t *n, struct mg_buf *out)
{
    char v[4096], to[2048] = "", id[2048];
    struct mg_buf text;
    int rc = 0;
    bool nrn = n->choice.present == IPNChoice_PR_non_receipt_fields;
    mg_buf_init(&text, 1u << 20);
    if (n->ipn_originator && !(rc = ordesc_to_mbox(c, n->ipn_originator, v, sizeof v)))
        rc = field(out, "From", v);
    if (!rc && n->ipm_intended_recipient &&
        !(rc = ordesc_to_mbox(c, n->ipm_intended_recipient, to, sizeof to)))
        rc = field(out, "To", to);
    if (!rc)
        rc = field(out, "Subject", nrn ? "X.400 Inter-Personal Notification (failure)"
                                       : "X.400 Inter-Personal Notification");
    if (!rc)
        rc = field(out, "Message-Type", "InterPersonal Notification");
    if (!rc && !(rc = ipmid_to_msgid(c, &n->subject_ipm, id, sizeof id)))
        rc = field(out, "References", id);
    if (!rc && n->choice.present == IPNChoice_PR_receipt_fields) {
        /* the receipt time is when the notification was made: its Date */
        const ReceiptFields_t *rf = &n->choice.choice.receipt_fields;
        char d[64];
        if (mixer_hdr_utc_to_date((const char *)rf->receipt_time.buf,
                                  (size_t)rf->receipt_time.size, d, sizeof d) == 0)
            rc = field(out, "Date", d);
    }
    if (rc)
        goto done;
    rc = mg_buf_appendf(&text, "Your message %s to: %s\r\n", id, to[0] ? to : "(unknown)");
    if (n->choice.present == IPNChoice_PR_receipt_fields) {
        const ReceiptFields_t *r = &n->choice.choice.receipt_fields;
        char d[64] = "(unknown time)";
        (void)mixer_hdr_utc_to_date((const char *)r->receipt_time.buf,
                                    (size_t)r->receipt_time.size, d, sizeof d);
        if (!rc)
            rc = mg_buf_appendf(&text, "was received at %s.\r\n"
                                       "This notification was generated %s.\r\n",
                                d, r->acknowledgment_mode == 1 ? "Automatically" : "Manually");
        if (!rc && r->suppl_receipt_info)
            rc = mg_buf_appendf(&text, "Supplementary information: %.*s\r\n",
                                (int)r->suppl_receipt_info->size,
                                (const char *)r->suppl_receipt_info->buf);
    } else if (nrn) {
        const NonReceiptFields_t *f = &n->choice.choice.non_receipt_fields;
        static const char *const why[] = {"Expired", "Obsoleted", "User Subscription Terminated",
                                          "Not Used"};
        if (f->non_receipt_reason == 1) {
            if (!rc)
                rc = mg_buf_appendf(&text, "was automatically forwarded.\r\n");
            if (!rc && f->auto_forward_comment)
                rc = mg_buf_appendf(&text, "The comment was: %.*s\r\n",
                                    (int)f->auto_forward_comment->size,
                                    (const char *)f->auto_forward_comment->buf);
        } else if (!rc) {
            long dr = f->discard_reason ? *f->discard_reason : -1;
            rc = mg_buf_appendf(&text, "was discarded for the following reason: %s\r\n",
                                dr >= 0 && dr <= 3 ? why[dr] : "(not given)");
        }
    } else if (!rc) {
        rc = mg_buf_appendf(&text, "caused a notification of a type this gateway does not "
                                   "map (X.420 other-notification-type-fields).\r\n");
    }
    if (rc)
        goto done;
    if (c->gw->flags & MIXER_GW_IPN_AS_MDN) {
        rc = ipn_as_mdn(c, n, id, to, &text, out);
        goto done;
    }
    rc = mg_buf_append(out, "MIME-Version: 1.0\r\n", 19);
    const IPM_t *returned = nrn ? n->choice.choice.non_receipt_fields.returned_ipm : NULL;
    if (!rc && !returned) {
        rc = mg_buf_append(out, "Content-Type: text/plain; charset=us-ascii\r\n\r\n", 46);
        if (!rc)
            rc = mg_buf_append(out, text.data, text.len);
    } else if (!rc) {
        /* the returned IPM follows the text as message/rfc822 */
        struct mg_buf inner;
        mg_buf_init(&inner, MIXER_CONV_MAX_OUT);
        rc = ipm(c, returned, &inner, 1);
        char boundary[48];
        for (unsigned k = 0; !rc; k++) {
            snprintf(boundary, sizeof boundary, "=_mixer_ipn_%u", k);
            if (!memmem(inner.data, inner.len, boundary, strlen(boundary)))
                break;
        }
        if (!rc)
            rc = mg_buf_appendf(out,
                                "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n"
                                "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                                boundary, boundary);
        if (!rc)
            rc = mg_buf_append(out, text.data, text.len);
        if (!rc)
            rc = mg_buf_appendf(out, "\r\n--%s\r\nContent-Type: message/rfc822\r\n\r\n", boundary);
        if (!rc)
            rc = mg_buf_append(out, inner.data, inner.len);
        if (!rc)
            rc = mg_buf_appendf(out, "\r\n--%s--\r\n", boundary);
        mg_buf_free(&inner);
    }
done:
    mg_buf_free(&text);
    return rc;
}

int mixer_conv_to_822(const struct mixer_gw *gw, enum mixer_content ct, const void *ber,
                      size_t len, struct mg_buf *out, char *why, size_t whysize)
{
    struct x2r cx = {.gw = gw, .why = why, .whysize = whysize};
    struct x2r *c = &cx;
    struct mg_ipm_error err;
    int rc;
    if (why && whysize)
        why[0] = 0;
    if (ct == MIXER_CONTENT_P772) {
        MMInformationObject_t *mm = NULL;
        rc = mg_ipm_decode_mm(ber, len, &mm, &err);
        if (rc) {
            WHY("P772 content does not decode: %s (offset %zu)", err.what, err.offset);
            return rc;
        }
        if (mm->present != MMInformationObject_PR_mm) {
            rc = ipn(c, &mm->choice.mn, out);
        } else {
            rc = ipm(c, &mm->choice.mm, out, 0);
        }
        mg_ipm_free_mm(mm);
        return rc;
    }
    InformationObject_t *io = NULL;
    rc = mg_ipm_decode_info(ber, len, &io, &err);
    if (rc) {
        WHY("P22 content does not decode: %s (offset %zu)", err.what, err.offset);
        return rc;
    }
    if (io->present != InformationObject_PR_ipm) {
        rc = ipn(c, &io->choice.ipn, out);
    } else {
        rc = ipm(c, &io->choice.ipm, out, 0);
    }
    mg_ipm_free_info(io);
    return rc;
}
