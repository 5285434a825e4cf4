/* mg_print: generic tree/JSON printer over asn1c type descriptors (see mg_print.h). */
#include "mg_print.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ANY.h"
#include "BIT_STRING.h"
#include "BMPString.h"
#include "BOOLEAN.h"
#include "GeneralizedTime.h"
#include "INTEGER.h"
#include "NativeEnumerated.h"
#include "NativeInteger.h"
#include "OBJECT_IDENTIFIER.h"
#include "OCTET_STRING.h"
#include "UTCTime.h"
#include "UTF8String.h"
#include "UniversalString.h"
#include "NULL.h"
#include "asn_SET_OF.h"
#include "constr_CHOICE.h"
#include "constr_SEQUENCE.h"
#include "constr_SEQUENCE_OF.h"
#include "constr_SET.h"
#include "constr_SET_OF.h"

#include "mg_asn1_open.h"
#include "ACSE-apdu.h"
#include "External.h"
#include "MTA-Bind-Invoke.h"
#include "MTA-Bind-Error.h"
#include "MTA-Bind-Result.h"
#include "MTS-APDU.h"
#include "PDV-list.h"
#include "RTOACapdu.h"
#include "RTORJapdu.h"
#include "RTORQapdu.h"
#include "RTSE-apdus.h"
#include "mg_err.h"
#include "mg_ipm.h"
#include "mg_print_int.h"

/* Open types nest (an IPM inside a message body part inside an IPM ...): bound the depth so
 * a hostile input cannot exhaust the stack. */
#define PRINT_MAX_DEPTH 64

/* Universal tag number of td, or -1. asn1c lists string types' tags as {[UNIVERSAL n],
 * [UNIVERSAL 4]} (segments), so the first universal tag is the type's own. */
static int univ_tag(const asn_TYPE_descriptor_t *td)
{
    for (int i = 0; i < td->all_tags_count; i++) {
        ber_tlv_tag_t t = td->all_tags[i];
        if (BER_TAG_CLASS(t) == ASN_TAG_CLASS_UNIVERSAL)
            return (int)BER_TAG_VALUE(t);
    }
    return -1;
}

enum mg_print_kind mg_print_kind(const asn_TYPE_descriptor_t *td)
{
    if (!td)
        return MG_PK_UNKNOWN;
    if (td->der_encoder == SEQUENCE_encode_der)
        return MG_PK_SEQUENCE;
    if (td->der_encoder == SET_encode_der)
        return MG_PK_SET;
    if (td->der_encoder == CHOICE_encode_der)
        return MG_PK_CHOICE;
    if (td->der_encoder == SEQUENCE_OF_encode_der)
        return MG_PK_SEQUENCE_OF;
    if (td->der_encoder == SET_OF_encode_der)
        return MG_PK_SET_OF;
    if (td == &asn_DEF_ANY || td->xer_encoder == ANY_encode_xer)
        return MG_PK_ANY;
    if (td->xer_encoder == NativeEnumerated_encode_xer)
        return MG_PK_ENUMERATED;
    if (td->print_struct == NativeInteger_print)
        return MG_PK_INTEGER;
    if (td->print_struct == INTEGER_print)
        return MG_PK_BIG_INTEGER;
    if (td->print_struct == BOOLEAN_print)
        return MG_PK_BOOLEAN;
    if (td->der_encoder == NULL_encode_der)
        return MG_PK_NULL;
    if (td->print_struct == OBJECT_IDENTIFIER_print)
        return MG_PK_OID;
    if (td->print_struct == BIT_STRING_print)
        return MG_PK_BIT_STRING;
    if (td->print_struct == OCTET_STRING_print_utf8 || td->print_struct == UTCTime_print ||
        td->print_struct == GeneralizedTime_print || td->print_struct == BMPString_print ||
        td->print_struct == UniversalString_print || td->print_struct == UTF8String_print)
        return MG_PK_STRING;
    if (td->print_struct == OCTET_STRING_print) {
        /* Teletex, Videotex, Graphic and General strings print in hex in asn1c; they are
         * text to an operator. Tell them from OCTET STRING by their universal tag. */
        switch (univ_tag(td)) {
        case 20: case 21: case 25: case 27: return MG_PK_STRING;
        default: return MG_PK_OCTET_STRING;
        }
    }
    return MG_PK_UNKNOWN;
}

/* ---- built-in OID names ---- */

/* OIDs that have no type in mg_ipm's table but that an operator meets in X.400 traffic. */
static const struct { const char *oid, *name; } extra_oids[] = {
    {"2.5.4.3", "id-at-commonName"},
    {"2.6.0.2.7", "id-as-mta (P1 abstract syntax)"},
    {"2.6.0.2.12", "id-as-mta-rtse"},
    {"2.2.1.0.1", "acse-as-id (ACSE abstract syntax)"},
    {"2.1.1", "basic-encoding (BER)"},
};

const char *mg_print_oid_name(const char *dotted)
{
    const struct mg_ipm_oid_entry *e = mg_ipm_oid_lookup(dotted);
    if (e)
        return e->name;
    for (size_t i = 0; i < sizeof extra_oids / sizeof extra_oids[0]; i++)
        if (strcmp(extra_oids[i].oid, dotted) == 0)
            return extra_oids[i].name;
    return NULL;
}

/* ---- output helpers ---- */

struct pctx {
    FILE *f;
    const struct mg_print_opts *o;
    size_t max_bytes;
    int depth;
    int err;
    int first[PRINT_MAX_DEPTH + 8]; /* JSON: no comma needed yet at this depth */
    /* Enclosing constructed values, innermost last: open types inside a CHOICE are
     * resolved from their grandparent (PDV-list, EXTERNAL, RTSE connection data). */
    asn_TYPE_descriptor_t *stk_td[PRINT_MAX_DEPTH + 8];
    const void *stk_v[PRINT_MAX_DEPTH + 8];
    int sp;
};

static void push(struct pctx *c, asn_TYPE_descriptor_t *td, const void *v)
{
    if (c->sp < PRINT_MAX_DEPTH + 8) {
        c->stk_td[c->sp] = td;
        c->stk_v[c->sp] = v;
    }
    c->sp++;
}

static void pop(struct pctx *c)
{
    c->sp--;
}

/* The value sp-k levels up (1: innermost enclosing), or NULL. */
static const void *up(const struct pctx *c, int k, asn_TYPE_descriptor_t **td)
{
    int i = c->sp - k;
    if (i < 0 || i >= PRINT_MAX_DEPTH + 8)
        return NULL;
    *td = c->stk_td[i];
    return c->stk_v[i];
}

static void indent(struct pctx *c, int level)
{
    for (int i = 0; i < level; i++)
        fputs("  ", c->f);
}

static void json_str(FILE *f, const uint8_t *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\r')
            fputs("\\r", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (ch < 0x20 || ch >= 0x7f)
            fprintf(f, "\\u%04x", ch); /* bytes of T.61 and friends, shown by code */
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_cstr(FILE *f, const char *s)
{
    json_str(f, (const uint8_t *)s, strlen(s));
}

/* Text shown for a string on one tree line: printable ASCII as is, the rest escaped. */
static void tree_str(FILE *f, const uint8_t *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = s[i];
        if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\r')
            fputs("\\r", f);
        else if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void hex(FILE *f, const uint8_t *s, size_t n, size_t max)
{
    size_t m = n > max ? max : n;
    for (size_t i = 0; i < m; i++)
        fprintf(f, "%02x", s[i]);
    if (m < n)
        fputs("...", f);
}

/* Start a node: tree "name: " on a new line; JSON the key (inside objects) with a comma. */
static void node_begin(struct pctx *c, const char *name, int in_array)
{
    if (c->o->json) {
        if (!c->first[c->depth])
            fputc(',', c->f);
        c->first[c->depth] = 0;
        if (!in_array && name) {
            json_cstr(c->f, name);
            fputc(':', c->f);
        }
    } else {
        indent(c, c->depth);
        fputs(name ? name : "value", c->f);
    }
}

static void open_block(struct pctx *c, char ch)
{
    if (c->o->json)
        fputc(ch, c->f);
    c->depth++;
    c->first[c->depth] = 1;
}

static void close_block(struct pctx *c, char ch)
{
    c->depth--;
    if (c->o->json)
        fputc(ch, c->f);
}

/* ---- the walker ---- */

static void print_node(struct pctx *c, asn_TYPE_descriptor_t *td, const void *v, const char *name,
                       int in_array);

/* Generic BER dump of bytes whose type we do not know: tag, length, nested TLVs. */
static void print_raw_ber(struct pctx *c, const uint8_t *p, size_t n, int level)
{
    size_t off = 0;
    while (off < n) {
        ber_tlv_tag_t tag;
        ber_tlv_len_t len;
        ssize_t tl = ber_fetch_tag(p + off, n - off, &tag);
        int cons = tl > 0 ? BER_TLV_CONSTRUCTED((p + off)) : 0;
        ssize_t ll = tl > 0 ? mg_ipm_fetch_length(cons, p + off + tl, n - off - tl, &len) : -1;
        if (tl <= 0 || ll <= 0 || tag == 0) {
            if (!c->o->json) {
                indent(c, level);
                fputs("bytes: ", c->f);
                hex(c->f, p + off, n - off, c->max_bytes);
                fputc('\n', c->f);
            }
            return;
        }
        size_t hdr = (size_t)(tl + ll);
        size_t body = len < 0 ? n - off - hdr : (size_t)len;
        if (body > n - off - hdr)
            body = n - off - hdr;
        char tbuf[48];
        ber_tlv_tag_snprint(tag, tbuf, sizeof tbuf);
        indent(c, level);
        if (cons && level < PRINT_MAX_DEPTH) {
            fprintf(c->f, "%s constructed, %s\n", tbuf,
                    len < 0 ? "indefinite length" : "definite length");
            print_raw_ber(c, p + off + hdr, body, level + 1);
        } else {
            fprintf(c->f, "%s: ", tbuf);
            int printable = 1;
            for (size_t i = 0; i < body; i++)
                if (!isprint(p[off + hdr + i]))
                    printable = 0;
            if (printable && body)
                tree_str(c->f, p + off + hdr, body);
            else
                hex(c->f, p + off + hdr, body, c->max_bytes);
            fputc('\n', c->f);
        }
        if (len < 0)
            return; /* the rest belongs to the indefinite value; shown above */
        off += hdr + body;
    }
}

/* Type for an ANY member of parent: the caller's resolver, then an OID-valued sibling that
 * precedes it (IPMSExtension.type, BodyPartInstance.type-id, DistributionExtensionField). */
static asn_TYPE_descriptor_t *resolve_any(struct pctx *c, asn_TYPE_descriptor_t *ptd,
                                          const void *parent, const asn_TYPE_member_t *elm,
                                          const char **label)
{
    *label = NULL;
    if (c->o->resolve) {
        asn_TYPE_descriptor_t *t = c->o->resolve(c->o->ctx, ptd, parent, elm, label);
        if (t || *label)
            return t;
    }
    /* X.411 open types, through asn1-core's tables (mg_asn1_open). asn1c 0.9.28's API takes
     * descriptors as non-const, mg_asn1_open hands them out as const. */
    if (ptd == &asn_DEF_ExtensionField) {
        const ExtensionField_t *f = parent;
        if (f->type.present == ExtensionType_PR_standard_extension) {
            long n = f->type.choice.standard_extension;
            *label = mg_asn1_open_ext_std_name(n);
            return (asn_TYPE_descriptor_t *)(uintptr_t)mg_asn1_open_ext_std_type(n);
        }
        if (f->type.present == ExtensionType_PR_private_extension) {
            char dotted[128];
            const struct mg_ipm_oid_entry *e = NULL;
            if (mg_ipm_oid_str(&f->type.choice.private_extension, dotted, sizeof dotted) == 0)
                e = mg_ipm_oid_lookup(dotted);
            if (e)
                *label = e->name;
            return e ? e->td : NULL;
        }
        return NULL;
    }
    if (ptd == &asn_DEF_RTORJapdu) { /* RTSE refusal of a P1 bind: [18] { MTABindError } */
        *label = "P1 bind error";
        return &asn_DEF_MTA_Bind_Error;
    }
    if (ptd == &asn_DEF_ExtensionAttribute) {
        const ExtensionAttribute_t *a = parent;
        *label = mg_asn1_open_exattr_name(a->extension_attribute_type);
        return (asn_TYPE_descriptor_t *)(uintptr_t)mg_asn1_open_exattr_type(
            a->extension_attribute_type);
    }
    for (const asn_TYPE_member_t *m = ptd->elements; m < elm; m++) {
        if (mg_print_kind(m->type) != MG_PK_OID)
            continue;
        const OBJECT_IDENTIFIER_t *oid = mg_print_member_ptr(m, parent);
        char dotted[128];
        if (!oid || mg_ipm_oid_str(oid, dotted, sizeof dotted) != 0)
            continue;
        const struct mg_ipm_oid_entry *e = mg_ipm_oid_lookup(dotted);
        if (e) {
            *label = e->name;
            return e->td;
        }
    }
    return NULL;
}

static void print_inline(struct pctx *c, asn_TYPE_descriptor_t *td, const void *v);

static void print_any_body(struct pctx *c, const ANY_t *any, asn_TYPE_descriptor_t *rtd,
                           const char *label)
{
    void *dv = NULL;
    if (rtd && c->depth < PRINT_MAX_DEPTH) {
        asn_codec_ctx_t ctx = {.max_stack_size = 256 * 1024};
        asn_dec_rval_t r = ber_decode(&ctx, rtd, &dv, any->buf, (size_t)any->size);
        if (r.code != RC_OK || r.consumed != (size_t)any->size) {
            ASN_STRUCT_FREE(*rtd, dv);
            dv = NULL;
        }
    }
    if (c->o->json) {
        open_block(c, '{');
        if (label) {
            node_begin(c, "type", 0);
            json_cstr(c->f, label);
        }
        if (dv) {
            print_node(c, rtd, dv, "value", 0);
        } else {
            node_begin(c, "ber", 0);
            fputc('"', c->f);
            hex(c->f, any->buf, (size_t)any->size, (size_t)any->size);
            fputc('"', c->f);
        }
        close_block(c, '}');
    } else {
        if (dv) {
            /* node_begin already wrote the name; print the value under "name [label]" */
            fprintf(c->f, " [%s%s%s]", label ? label : "", label ? ", " : "", rtd->name);
            print_inline(c, rtd, dv);
        } else {
            if (rtd) /* a known OID whose value is not of its type: say so */
                fprintf(c->f, " (%s: NOT a valid %s; undecoded BER, %d bytes)\n",
                        label ? label : "value", rtd->name, any->size);
            else
                fprintf(c->f, " (%s%sundecoded BER, %d bytes)\n", label ? label : "",
                        label ? ", " : "", any->size);
            print_raw_ber(c, any->buf, (size_t)any->size, c->depth + 1);
        }
    }
    if (dv)
        ASN_STRUCT_FREE(*rtd, dv);
}

static void print_any(struct pctx *c, const ANY_t *any, asn_TYPE_descriptor_t *rtd,
                      const char *label, const char *name, int in_array)
{
    node_begin(c, name, in_array);
    print_any_body(c, any, rtd, label);
}

static const char *enum_name(const asn_TYPE_descriptor_t *td, long v)
{
    const asn_INTEGER_specifics_t *s = td->specifics;
    if (!s || !s->value2enum)
        return mg_ipm_number_name(td->name, v);
    for (int i = 0; i < s->map_count; i++)
        if (s->value2enum[i].nat_value == v)
            return s->value2enum[i].enum_name;
    return NULL;
}

static void print_string(struct pctx *c, const asn_TYPE_descriptor_t *td, const OCTET_STRING_t *s)
{
    int ut = univ_tag(td);
    if (ut == 30 || ut == 28) { /* BMPString, UniversalString: show the ASCII subset */
        size_t w = ut == 30 ? 2 : 4;
        uint8_t tmp[512];
        size_t n = 0;
        for (size_t i = 0; i + w <= (size_t)s->size && n < sizeof tmp; i += w) {
            uint32_t cp = 0;
            for (size_t k = 0; k < w; k++)
                cp = (cp << 8) | s->buf[i + k];
            tmp[n++] = cp < 0x80 ? (uint8_t)cp : '?';
        }
        if (c->o->json)
            json_str(c->f, tmp, n);
        else
            tree_str(c->f, tmp, n);
        return;
    }
    size_t n = (size_t)s->size;
    if (c->o->json)
        json_str(c->f, s->buf, n);
    else
        tree_str(c->f, s->buf, n);
}

static void print_oid(struct pctx *c, const OBJECT_IDENTIFIER_t *oid)
{
    char dotted[128];
    if (mg_ipm_oid_str(oid, dotted, sizeof dotted) != 0)
        snprintf(dotted, sizeof dotted, "(malformed OID)");
    const char *nm = c->o->oid_name ? c->o->oid_name(c->o->ctx, dotted) : NULL;
    if (!nm)
        nm = mg_print_oid_name(dotted);
    if (c->o->json) {
        json_cstr(c->f, dotted);
    } else {
        fputs(dotted, c->f);
        if (nm)
            fprintf(c->f, " (%s)", nm);
    }
}


/* Does any decode completely as td? */
static int decodes_as(asn_TYPE_descriptor_t *td, const ANY_t *any)
{
    void *v = NULL;
    asn_codec_ctx_t ctx = {.max_stack_size = 256 * 1024};
    asn_dec_rval_t r = ber_decode(&ctx, td, &v, any->buf, (size_t)any->size);
    int ok = r.code == RC_OK && r.consumed == (size_t)any->size;
    /* An extensible CHOICE "decodes" an unknown tag as an absent extension: not a match. */
    const void *alt = NULL;
    if (ok && mg_print_kind(td) == MG_PK_CHOICE && !mg_print_choice_present(td, v, &alt))
        ok = 0;
    ASN_STRUCT_FREE(*td, v);
    return ok;
}

/* Type of a presentation data value in context id: from the caller's contexts, else the
 * first of P1's syntaxes over RTSE that decodes it completely. */
static asn_TYPE_descriptor_t *pcontext_type(struct pctx *c, long id, const ANY_t *any,
                                            const char **label)
{
    for (size_t i = 0; i < c->o->npcontexts; i++)
        if (c->o->pcontexts[i].id == id && c->o->pcontexts[i].td) {
            *label = "presentation context";
            return (asn_TYPE_descriptor_t *)(uintptr_t)c->o->pcontexts[i].td;
        }
    asn_TYPE_descriptor_t *guesses[] = {&asn_DEF_ACSE_apdu, &asn_DEF_RTSE_apdus,
                                        &asn_DEF_MTS_APDU};
    for (size_t i = 0; i < sizeof guesses / sizeof guesses[0]; i++)
        if (decodes_as(guesses[i], any)) {
            *label = "context not negotiated here, type guessed";
            return guesses[i];
        }
    return NULL;
}

/* Type of an ANY alternative of a CHOICE, from the value that holds the CHOICE. */
static asn_TYPE_descriptor_t *resolve_choice_any(struct pctx *c, const ANY_t *any,
                                                 const char **label)
{
    asn_TYPE_descriptor_t *gtd = NULL;
    const void *g = up(c, 2, &gtd); /* 1 is the CHOICE itself */
    *label = NULL;
    if (!g)
        return NULL;
    if (gtd == &asn_DEF_PDV_list)
        return pcontext_type(c, ((const PDV_list_t *)g)->presentation_context_identifier, any,
                             label);
    if (gtd == &asn_DEF_External) {
        const External_t *e = g;
        if (e->indirect_reference)
            return pcontext_type(c, *e->indirect_reference, any, label);
        return NULL;
    }
    if (gtd == &asn_DEF_RTORQapdu) {
        *label = "P1 bind";
        return &asn_DEF_MTA_Bind_Invoke;
    }
    if (gtd == &asn_DEF_RTOACapdu) {
        *label = "P1 bind";
        return &asn_DEF_MTA_Bind_Result;
    }
    return NULL;
}

static void print_members(struct pctx *c, asn_TYPE_descriptor_t *td, const void *v)
{
    for (int i = 0; i < td->elements_count; i++) {
        const asn_TYPE_member_t *elm = &td->elements[i];
        const void *mv = mg_print_member_ptr(elm, v);
        if (!mv)
            continue;
        if (mg_print_kind(elm->type) == MG_PK_ANY || (elm->flags & ATF_OPEN_TYPE)) {
            const char *label;
            asn_TYPE_descriptor_t *rtd = resolve_any(c, td, v, elm, &label);
            print_any(c, mv, rtd, label, elm->name, 0);
        } else {
            print_node(c, elm->type, mv, elm->name, 0);
        }
    }
}

static int sink_cb(const void *p, size_t n, void *key)
{
    (void)p;
    (void)n;
    (void)key;
    return 0;
}

static void print_inline(struct pctx *c, asn_TYPE_descriptor_t *td, const void *v)
{
    if (c->depth >= PRINT_MAX_DEPTH) {
        fputs(c->o->json ? "null" : ": (nested too deep)\n", c->f);
        return;
    }
    enum mg_print_kind k = mg_print_kind(td);
    if (k == MG_PK_UNKNOWN && td->print_struct) {
        /* A derived type whose descriptor asn1c has not yet filled in from its base (it does
         * so lazily, on first use; a DEFAULT value is never decoded): let asn1c's own
         * printer do that, discarding its text, then look again. */
        td->print_struct(td, v, 0, sink_cb, NULL);
        k = mg_print_kind(td);
    }
    int json = c->o->json;
    switch (k) {
    case MG_PK_SEQUENCE:
    case MG_PK_SET: {
        char orbuf[512];
        int is_or = mg_print_orname(td, v, orbuf, sizeof orbuf) == 0;
        push(c, td, v);
        if (json) {
            open_block(c, '{');
            if (is_or) {
                node_begin(c, "rfc2156", 0);
                json_cstr(c->f, orbuf);
            }
            print_members(c, td, v);
            close_block(c, '}');
        } else {
            if (is_or)
                fprintf(c->f, ": %s", orbuf);
            fputc('\n', c->f);
            c->depth++;
            print_members(c, td, v);
            c->depth--;
        }
        pop(c);
        return;
    }
    case MG_PK_CHOICE: {
        const void *av = NULL;
        const asn_TYPE_member_t *alt = mg_print_choice_present(td, v, &av);
        if (!alt) {
            fputs(json ? "null" : ": (no alternative)\n", c->f);
            return;
        }
        push(c, td, v);
        const char *label = NULL;
        asn_TYPE_descriptor_t *rtd = NULL;
        int any = mg_print_kind(alt->type) == MG_PK_ANY;
        if (any)
            rtd = resolve_choice_any(c, av, &label);
        if (json)
            open_block(c, '{');
        else {
            fputc('\n', c->f);
            c->depth++;
        }
        if (any)
            print_any(c, av, rtd, label, alt->name, 0);
        else
            print_node(c, alt->type, av, alt->name, 0);
        if (json)
            close_block(c, '}');
        else
            c->depth--;
        pop(c);
        return;
    }
    case MG_PK_SEQUENCE_OF:
    case MG_PK_SET_OF: {
        const asn_anonymous_set_ *list = _A_CSET_FROM_VOID(v);
        const asn_TYPE_member_t *elm = &td->elements[0];
        if (json)
            open_block(c, '[');
        else {
            fprintf(c->f, ": %d item%s\n", list->count, list->count == 1 ? "" : "s");
            c->depth++;
        }
        for (int i = 0; i < list->count; i++) {
            const void *iv = list->array[i];
            if (!iv)
                continue;
            if (mg_print_kind(elm->type) == MG_PK_ANY) {
                print_any(c, iv, NULL, NULL, elm->name ? elm->name : "item", 1);
            } else {
                char label[96];
                snprintf(label, sizeof label, "[%d] %s", i,
                         elm->type->name && *elm->type->name ? elm->type->name : "item");
                print_node(c, elm->type, iv, label, 1);
            }
        }
        if (json)
            close_block(c, ']');
        else
            c->depth--;
        return;
    }
    case MG_PK_ANY:
        print_any_body(c, v, NULL, NULL);
        return;
    default:
        break;
    }

    /* Leaves: one line. */
    if (!json)
        fputs(": ", c->f);
    switch (k) {
    case MG_PK_BOOLEAN:
        fputs(*(const BOOLEAN_t *)v ? (json ? "true" : "TRUE") : (json ? "false" : "FALSE"), c->f);
        break;
    case MG_PK_NULL:
        fputs(json ? "null" : "NULL", c->f);
        break;
    case MG_PK_INTEGER:
    case MG_PK_ENUMERATED: {
        long x = *(const long *)v;
        const char *en = enum_name(td, x);
        if (json && en && k == MG_PK_ENUMERATED)
            json_cstr(c->f, en);
        else if (!json && en)
            fprintf(c->f, "%s (%ld)", en, x);
        else
            fprintf(c->f, "%ld", x);
        break;
    }
    case MG_PK_BIG_INTEGER: {
        long x;
        if (asn_INTEGER2long(v, &x) == 0)
            fprintf(c->f, "%ld", x);
        else {
            const INTEGER_t *bi = v;
            fputs(json ? "\"0x" : "0x", c->f);
            hex(c->f, bi->buf, (size_t)bi->size, c->max_bytes);
            if (json)
                fputc('"', c->f);
        }
        break;
    }
    case MG_PK_OID:
        print_oid(c, v);
        break;
    case MG_PK_BIT_STRING: {
        const BIT_STRING_t *b = v;
        size_t nbits = (size_t)b->size * 8 - (size_t)(b->size ? b->bits_unused : 0);
        if (json)
            fputc('"', c->f);
        for (size_t i = 0; i < nbits && i < c->max_bytes * 8; i++)
            fputc((b->buf[i / 8] >> (7 - i % 8)) & 1 ? '1' : '0', c->f);
        if (json)
            fputc('"', c->f);
        else {
            fputs(" (bits set:", c->f);
            for (size_t i = 0; i < nbits && i < 256; i++)
                if ((b->buf[i / 8] >> (7 - i % 8)) & 1) {
                    const char *bn = mg_ipm_bit_name(td->name, (long)i);
                    if (bn)
                        fprintf(c->f, " %s(%zu)", bn, i);
                    else
                        fprintf(c->f, " %zu", i);
                }
            fputc(')', c->f);
        }
        break;
    }
    case MG_PK_STRING:
        print_string(c, td, v);
        break;
    case MG_PK_OCTET_STRING: {
        const OCTET_STRING_t *s = v;
        int ut = univ_tag(td);
        if (ut == 30 || ut == 28) {
            print_string(c, td, s);
            break;
        }
        if (json)
            fputc('"', c->f);
        hex(c->f, s->buf, (size_t)s->size, c->max_bytes);
        if (json) {
            fputc('"', c->f);
            break;
        }
        fprintf(c->f, " (%d bytes)", s->size);
        /* Bilateral parts and file data are often text: show it too when it is. */
        int printable = s->size > 0 && (size_t)s->size <= c->max_bytes;
        for (int i = 0; printable && i < s->size; i++)
            if (!isprint(s->buf[i]) && s->buf[i] != '\r' && s->buf[i] != '\n')
                printable = 0;
        if (printable) {
            fputc(' ', c->f);
            tree_str(c->f, s->buf, (size_t)s->size);
        }
        break;
    }
    default:
        /* A type this walker does not know: let asn1c describe it. */
        if (json)
            fputs("null", c->f);
        else
            fprintf(c->f, "(%s)", td->name);
        break;
    }
    if (!json)
        fputc('\n', c->f);
}

static void print_node(struct pctx *c, asn_TYPE_descriptor_t *td, const void *v, const char *name,
                       int in_array)
{
    node_begin(c, name, in_array);
    print_inline(c, td, v);
}

int mg_print_value(FILE *f, asn_TYPE_descriptor_t *td, const void *value, const char *name,
                   const struct mg_print_opts *opts)
{
    struct mg_print_opts defaults = {0};
    struct pctx c = {.f = f, .o = opts ? opts : &defaults};
    c.max_bytes = c.o->max_bytes ? c.o->max_bytes : 4096;
    c.first[0] = 1;
    if (!td || !value)
        return MG_EINVAL;
    if (c.o->json) {
        open_block(&c, '{');
        print_node(&c, td, value, name ? name : td->name, 0);
        close_block(&c, '}');
        fputc('\n', f);
    } else {
        print_node(&c, td, value, name ? name : td->name, 0);
    }
    return ferror(f) ? MG_EIO : 0;
}
