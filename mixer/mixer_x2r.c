/* mixer_x2r: X.400 IPM (P22 / P772) -> RFC 5322 + MIME: RFC 2156 5.3 heading mapping,
 * addresses and identifiers, one IPM, and the entry point mixer_conv_to_822. The heading
 * extensions are in mixer_x2r_ext.c, the RFC 2157 body parts in mixer_x2r_body.c, the
 * notifications in mixer_x2r_ipn.c (shared declarations: mixer_x2r.h). */
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

/* ---- output helpers ---- */

/* "Name: value" with CR/LF inside the value made blanks (a value never starts a field). */
int mixer_x2r_field(struct mg_buf *out, const char *name, const char *value)
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

int mixer_x2r_ordesc_to_mbox(struct x2r *c, const ORDescriptor_t *d, char *out, size_t outsize)
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
int mixer_x2r_ipmid_to_msgid(struct x2r *c, const IPMIdentifier_t *id, char *out, size_t outsize)
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
    return mixer_x2r_field(out, name, (const char *)val->data);
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
        if (!(rc = mixer_x2r_ordesc_to_mbox(c, &arr[i]->recipient, mb, sizeof mb)))
            rc = add_item(&val, mb);
    if (!rc)
        rc = list_field(out, name, &val);
    mg_buf_free(&val);
    return rc;
}

int mixer_x2r_descs(struct x2r *c, struct mg_buf *out, const char *name, int count,
                 ORDescriptor_t **arr)
{
    struct mg_buf val;
    char mb[2048];
    int rc = 0;
    mg_buf_init(&val, 1u << 20);
    for (int i = 0; !rc && i < count; i++)
        if (!(rc = mixer_x2r_ordesc_to_mbox(c, arr[i], mb, sizeof mb)))
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
        if (!(rc = mixer_x2r_ipmid_to_msgid(c, arr[i], id, sizeof id))) {
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

int mixer_x2r_time_field(struct x2r *c, struct mg_buf *out, const char *name, const uint8_t *p,
                      size_t n)
{
    char d[64];
    if (mixer_hdr_utc_to_date((const char *)p, n, d, sizeof d) != 0) {
        WHY("%s: UTCTime cannot be read", name);
        return MG_EPARSE;
    }
    return mixer_x2r_field(out, name, d);
}

/* A signed BER INTEGER's value (the caller checked the tag). */
long mixer_x2r_ber_int(const struct mixer_tlv *t)
{
    long v = (t->vlen && (t->v[0] & 0x80)) ? -1 : 0;
    for (size_t i = 0; i < t->vlen && i < sizeof(long); i++)
        v = (long)((unsigned long)v << 8) | t->v[i];
    return v;
}

/* ---- one IPM ---- */

static int heading(struct x2r *c, const Heading_t *h, const uint8_t *p2, size_t p2len,
                   struct mg_buf *out);

/* One IPM as a complete RFC 5322 message (headers + MIME body). */
int mixer_x2r_ipm(struct x2r *c, const IPM_t *m, struct mg_buf *out, int depth)
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
        rc = mixer_x2r_body_parts(c, body, out, depth);
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
    struct mixer_x2r_restored r = {.has_msgid = false};
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
            rc = mixer_x2r_ext_one(c, e, oid, &generated, &r, &handled);
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
            rc = mixer_x2r_ext_restore(&r, p2 + off, ll);
        off += l + 1;
    }
    /* the trace that came through X.400 in the rfc-822-field list heads the header again */
    if (!rc && r.trace.len)
        rc = mg_buf_append(out, r.trace.data, r.trace.len);
    /* From / Sender (4.7.2: authorizing-users are From when present) */
    if (!rc && h->authorizing_users && h->authorizing_users->list.count) {
        rc = mixer_x2r_descs(c, out, "From", h->authorizing_users->list.count,
                   (ORDescriptor_t **)h->authorizing_users->list.array);
        if (!rc && h->originator && !(rc = mixer_x2r_ordesc_to_mbox(c, h->originator, v, sizeof v)))
            rc = mixer_x2r_field(out, "Sender", v);
    } else if (!rc && h->originator) {
        if (!(rc = mixer_x2r_ordesc_to_mbox(c, h->originator, v, sizeof v)))
            rc = mixer_x2r_field(out, "From", v);
    }
    if (!rc && !r.has_msgid && !(rc = mixer_x2r_ipmid_to_msgid(c, &h->this_IPM, v, sizeof v)))
        rc = mixer_x2r_field(out, "Message-ID", v);
    if (!rc && h->primary_recipients)
        rc = recipients(c, out, "To", h->primary_recipients->list.count,
                        (RecipientSpecifier_t **)h->primary_recipients->list.array);
    if (!rc && h->copy_recipients)
        rc = recipients(c, out, "Cc", h->copy_recipients->list.count,
                        (RecipientSpecifier_t **)h->copy_recipients->list.array);
    if (!rc && h->blind_copy_recipients)
        rc = recipients(c, out, "Bcc", h->blind_copy_recipients->list.count,
                        (RecipientSpecifier_t **)h->blind_copy_recipients->list.array);
    if (!rc && h->replied_to_IPM && !(rc = mixer_x2r_ipmid_to_msgid(c, h->replied_to_IPM, v, sizeof v)))
        rc = mixer_x2r_field(out, "In-Reply-To", v);
    if (!rc && h->related_IPMs)
        rc = ids(c, out, "References", h->related_IPMs->list.count,
                 (IPMIdentifier_t **)h->related_IPMs->list.array);
    if (!rc && h->obsoleted_IPMs)
        rc = ids(c, out, "Supersedes", h->obsoleted_IPMs->list.count,
                 (IPMIdentifier_t **)h->obsoleted_IPMs->list.array);
    if (!rc && h->subject && !r.has_subject &&
        !(rc = text_value(h->subject->choice.subject_field.buf,
                          (size_t)h->subject->choice.subject_field.size, v, sizeof v)))
        rc = mixer_x2r_field(out, "Subject", v);
    if (!rc && h->expiry_time)
        rc = mixer_x2r_time_field(c, out, "Expires", h->expiry_time->buf, (size_t)h->expiry_time->size);
    if (!rc && h->reply_time)
        rc = mixer_x2r_time_field(c, out, "Reply-By", h->reply_time->buf, (size_t)h->reply_time->size);
    if (!rc && h->reply_recipients)
        rc = mixer_x2r_descs(c, out, "Reply-To", h->reply_recipients->list.count,
                   (ORDescriptor_t **)h->reply_recipients->list.array);
    if (!rc && h->importance && *h->importance != 1) {
        static const char *const imp[] = {"low", "normal", "high"};
        if (*h->importance < 0 || *h->importance > 2)
            rc = MG_EPARSE;
        else
            rc = mixer_x2r_field(out, "Importance", imp[*h->importance]);
    }
    if (!rc && h->sensitivity) {
        static const char *const sens[] = {NULL, "Personal", "Private", "Company-Confidential"};
        if (*h->sensitivity < 1 || *h->sensitivity > 3)
            rc = MG_EPARSE;
        else
            rc = mixer_x2r_field(out, "Sensitivity", sens[*h->sensitivity]);
    }
    if (!rc && h->auto_forwarded && *h->auto_forwarded)
        rc = mixer_x2r_field(out, "Autoforwarded", "TRUE");
    /* a receipt notification requested from any recipient: an MDN request to the originator
     * (RFC 8098), so Internet clients answer; X.400 gets an IPN back through the gateway */
    if (!rc && !r.has_dnt && h->originator && wants_receipt(h) &&
        !(rc = mixer_x2r_ordesc_to_mbox(c, h->originator, v, sizeof v)))
        rc = mixer_x2r_field(out, "Disposition-Notification-To", v);
    if (!rc && generated.len)
        rc = mg_buf_append(out, generated.data, generated.len);
    if (!rc && discarded.len)
        rc = mixer_x2r_field(out, "Discarded-X400-IPMS-Extensions", (const char *)discarded.data);
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

int mixer_conv_to_822(const struct mixer_gw *gw, enum mixer_content ct, const void *ber,
                      size_t len, struct mg_buf *out, char *why, size_t whysize)
{
    if (!ber && len)
        return MG_EINVAL;
    if (!ber)
        ber = "";   /* empty content may come as no buffer */
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
            rc = mixer_x2r_ipn(c, &mm->choice.mn, out);
        } else {
            rc = mixer_x2r_ipm(c, &mm->choice.mm, out, 0);
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
        rc = mixer_x2r_ipn(c, &io->choice.ipn, out);
    } else {
        rc = mixer_x2r_ipm(c, &io->choice.ipm, out, 0);
    }
    mg_ipm_free_info(io);
    return rc;
}
