/* mixer_x2r_body: X.400 -> MIME for the IPM body (RFC 2157): IA5 text, general text,
 * forwarded messages, file transfer body parts, bilaterally defined, and anything else as
 * application/x400-bp so nothing is lost. */
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
        regs[nr++] = mixer_x2r_ber_int(&u);
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
            return rc ? rc : mixer_x2r_ipm(c, b->choice.message->data, part, depth + 1);
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

int mixer_x2r_body_parts(struct x2r *c, const Body_t *body, struct mg_buf *out, int depth)
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
