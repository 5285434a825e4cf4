/* mixer_x2r_ext: X.400 -> RFC 5322 for the IPM heading extensions: the RFC 6477 MMHS-*
 * fields from the P772 extensions, the X.420 ones (incomplete-copy, languages, auto-submitted)
 * and the RFC 2156 rfc-822-field list restored as the fields it carried. */
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

#include "mixer_x2r.h"

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


/* One "Name: value" line from the rfc-822-field list (or a 1984 RFC-822-Headers part) into
 * the restored fields. */
int mixer_x2r_ext_restore(struct mixer_x2r_restored *r, const uint8_t *v, size_t vlen)
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
int mixer_x2r_ext_one(struct x2r *c, const IPMSExtension_t *e, const char *oid, struct mg_buf *out,
                     struct mixer_x2r_restored *r, bool *handled)
{
    struct mixer_tlv t, u;
    char v[4096];
    const uint8_t *raw = e->value ? e->value->buf : NULL;
    size_t rawl = e->value ? (size_t)e->value->size : 0;
    bool have = raw && mixer_ber_read(raw, rawl, &t) == 0 && t.size == rawl;
    *handled = true;
    if (!strcmp(oid, "2.6.1.5.0"))
        return mixer_x2r_field(out, "Incomplete-Copy", "");
    if (!strcmp(oid, "2.6.1.5.1") && have) { /* languages: SET OF PrintableString */
        if (string_list(&t, v, sizeof v) != 0)
            goto bad;
        for (char *p = v; (p = strstr(p, "; "));)
            p[0] = ',';
        return mixer_x2r_field(out, "Content-Language", v);
    }
    if (!strcmp(oid, "2.6.1.5.2") && have) {
        static const char *const as[] = {"not-auto-submitted", "auto-generated", "auto-replied"};
        long n = mixer_x2r_ber_int(&t);
        if (n < 0 || n > 2)
            goto bad;
        return mixer_x2r_field(out, "Autosubmitted", as[n]);
    }
    if (!strcmp(oid, MIXER_OID_RFC822_FIELD_LIST) && have) {
        for (size_t off = 0; off < t.vlen; off += u.size) {
            if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
                goto bad;
            int rc = mixer_x2r_ext_restore(r, u.v, u.vlen);
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
            long p = mixer_x2r_ber_int(&t);
            if (p >= 0 && p <= 5)
                snprintf(v, sizeof v, "%s", precedence_names[p]);
            else
                snprintf(v, sizeof v, "%ld", p);
            return mixer_x2r_field(out, n == 0 ? "MMHS-Primary-Precedence" : "MMHS-Copy-Precedence", v);
        }
        case 2: { /* SET { [0] INTEGER, [1] MilitaryString OPTIONAL } */
            static const char *const mt[] = {"exercise", "operation", "project", "drill"};
            long type = -1;
            char ident[80] = "";
            for (size_t off = 0; off < t.vlen; off += u.size) {
                if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
                    goto bad;
                if (u.number == 0)
                    type = mixer_x2r_ber_int(&u);
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
            return mixer_x2r_field(out, "MMHS-Message-Type", v);
        }
        case 4: { /* exempted addresses: ORDescriptors */
            struct mg_ipm_typed typed = {0};
            struct mg_ipm_error err;
            if (mg_ipm_ext_decode(e, &typed, &err) != 0 || !typed.value)
                goto bad;
            const ExemptedAddressSeq_t *seq = typed.value;
            int rc = mixer_x2r_descs(c, out, "MMHS-Exempted-Address", seq->list.count,
                           (ORDescriptor_t **)seq->list.array);
            mg_ipm_typed_free(&typed);
            return rc;
        }
        case 5:
            return mixer_x2r_time_field(c, out, "MMHS-Extended-Authorisation-Info", t.v, t.vlen);
        case 6: /* SET { [0] SEQUENCE OF Sic OPTIONAL, ... } */
            for (size_t off = 0; off < t.vlen; off += u.size) {
                if (mixer_ber_read(t.v + off, t.vlen - off, &u) != 0)
                    goto bad;
                if (u.number == 0) {
                    if (string_list(&u, v, sizeof v) != 0)
                        goto bad;
                    return mixer_x2r_field(out, "MMHS-Subject-Indicator-Codes", v);
                }
            }
            *handled = false; /* only distribution extensions: nothing RFC 6477 names */
            return 0;
        case 7:
        case 8:
            if (string_list(&t, v, sizeof v) != 0)
                goto bad;
            return mixer_x2r_field(out, n == 7 ? "MMHS-Handling-Instructions" : "MMHS-Message-Instructions",
                         v);
        case 9:
            snprintf(v, sizeof v, "%ld", mixer_x2r_ber_int(&t));
            return mixer_x2r_field(out, "MMHS-Codress-Message-Indicator", v);
        case 10:
        case 13:
        case 14:
            if (t.vlen >= sizeof v || !mixer_ps_is_printable((const char *)t.v, t.vlen))
                goto bad;
            memcpy(v, t.v, t.vlen);
            v[t.vlen] = 0;
            return mixer_x2r_field(out, n == 10   ? "MMHS-Originator-Reference"
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
                        type = mixer_x2r_ber_int(&d);
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
                rc = mixer_x2r_field(out, "MMHS-Other-Recipients-Indicator-To", to);
            if (!rc && cc[0])
                rc = mixer_x2r_field(out, "MMHS-Other-Recipients-Indicator-CC", cc);
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