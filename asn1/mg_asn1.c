/* mg_asn1: decode (structural pre-check, asn1c BER decoder, constraint check, located
 * errors), DER encode and free for the asn1c-generated types; see mg_asn1.h. */
#include "mg_asn1.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asn_SET_OF.h"
#include "constr_CHOICE.h"
#include "constr_SEQUENCE.h"
#include "constr_SEQUENCE_OF.h"
#include "constr_SET.h"
#include "constr_SET_OF.h"
#include "mg_asn1_size_rules.h"
#include "mg_asn1_aliases.h"
#include "mg_buf.h"
#include "mg_err.h"

/* asn1c's table of every -pdu= type (pdu_collection.c, generated). */
extern asn_TYPE_descriptor_t *asn_pdu_collection[];

/* asn1c's BER decoder recurses once per nesting level; its own guard is this stack budget
 * (bytes), which turns hostile nesting into RC_FAIL instead of a crash. */
#define MG_ASN1_STACK_BUDGET (64 * 1024)

static int set_err(struct mg_asn1_err *err, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_err(struct mg_asn1_err *err, int code, size_t offset, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->offset = offset;
        va_start(ap, fmt);
        vsnprintf(err->what, sizeof err->what, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* One BER identifier + length header. len_def is -1 for the indefinite form. */
struct tlv_hdr {
    unsigned cls;        /* 0 universal, 1 application, 2 context, 3 private */
    int constructed;
    unsigned long tag;
    size_t hdr_len;
    long long len_def;
};

static const char *const cls_name[4] = {"UNIVERSAL ", "APPLICATION ", "", "PRIVATE "};

/* 0, MG_EINCOMPLETE or MG_EPARSE (with *why set). */
static int read_hdr(const uint8_t *p, size_t avail, struct tlv_hdr *h, const char **why)
{
    size_t i = 0;
    if (avail < 1)
        return MG_EINCOMPLETE;
    h->cls = p[0] >> 6;
    h->constructed = (p[0] & 0x20) != 0;
    h->tag = p[0] & 0x1f;
    i = 1;
    if (h->tag == 0x1f) {
        h->tag = 0;
        for (;;) {
            if (i >= avail)
                return MG_EINCOMPLETE;
            if (h->tag > (~0ul >> 8)) {
                *why = "tag number too large";
                return MG_EPARSE;
            }
            h->tag = (h->tag << 7) | (p[i] & 0x7f);
            if (!(p[i++] & 0x80))
                break;
        }
    }
    if (i >= avail)
        return MG_EINCOMPLETE;
    uint8_t l0 = p[i++];
    if (l0 < 0x80) {
        h->len_def = l0;
    } else if (l0 == 0x80) {
        if (!h->constructed) {
            *why = "indefinite length on a primitive encoding";
            return MG_EPARSE;
        }
        h->len_def = -1;
    } else {
        unsigned n = l0 & 0x7f;
        if (n == 0x7f) {
            *why = "reserved length octet 0xFF";
            return MG_EPARSE;
        }
        if (n > 4) {
            *why = "length field longer than 4 octets";
            return MG_EPARSE;
        }
        unsigned long long v = 0;
        for (unsigned k = 0; k < n; k++) {
            if (i >= avail)
                return MG_EINCOMPLETE;
            v = (v << 8) | p[i++];
        }
        h->len_def = (long long)v;
    }
    h->hdr_len = i;
    return 0;
}

struct walk {
    const uint8_t *base;
    size_t total;
    const char *type_name;
    struct mg_asn1_err *err;
};

/* Walk one TLV at offset off that must end by 'end' (or, for end == SIZE_MAX meaning
 * "inside an indefinite parent", by total). Returns 0 and the TLV's full size in *size. */
static int walk_tlv(struct walk *w, size_t off, size_t end, unsigned depth, size_t *size)
{
    struct tlv_hdr h;
    const char *why = NULL;
    if (depth > MG_ASN1_MAX_DEPTH)
        return set_err(w->err, MG_EPARSE, off, "%s: nesting deeper than %d levels",
                       w->type_name, MG_ASN1_MAX_DEPTH);
    int rc = read_hdr(w->base + off, end - off, &h, &why);
    if (rc == MG_EINCOMPLETE)
        return set_err(w->err, rc, end, "%s: input ends inside the tag/length at offset %zu",
                       w->type_name, off);
    if (rc)
        return set_err(w->err, rc, off, "%s: %s", w->type_name, why);
    size_t body = off + h.hdr_len;
    if (h.len_def >= 0) {
        if ((unsigned long long)h.len_def > end - body) {
            int code = end == w->total ? MG_EINCOMPLETE : MG_EPARSE;
            return set_err(w->err, code, off,
                           "%s: [%s%lu] length %lld runs past the end of %s (%zu bytes left)",
                           w->type_name, cls_name[h.cls], h.tag, h.len_def,
                           end == w->total ? "the input" : "the enclosing value", end - body);
        }
        size_t stop = body + (size_t)h.len_def;
        if (h.constructed) {
            size_t pos = body;
            while (pos < stop) {
                size_t sub;
                rc = walk_tlv(w, pos, stop, depth + 1, &sub);
                if (rc)
                    return rc;
                pos += sub;
            }
        }
        *size = stop - off;
        return 0;
    }
    /* Indefinite: children until the end-of-contents octets 00 00. */
    size_t pos = body;
    for (;;) {
        if (end - pos < 2)
            return set_err(w->err, end == w->total ? MG_EINCOMPLETE : MG_EPARSE, pos,
                           "%s: [%s%lu] of indefinite length has no end-of-contents",
                           w->type_name, cls_name[h.cls], h.tag);
        if (w->base[pos] == 0 && w->base[pos + 1] == 0) {
            pos += 2;
            break;
        }
        if (w->base[pos] == 0)
            return set_err(w->err, MG_EPARSE, pos,
                           "%s: malformed end-of-contents (00 %02X)", w->type_name,
                           w->base[pos + 1]);
        size_t sub;
        rc = walk_tlv(w, pos, end, depth + 1, &sub);
        if (rc)
            return rc;
        pos += sub;
    }
    *size = pos - off;
    return 0;
}

static int ber_check_named(const char *name, const void *buf, size_t len,
                           struct mg_asn1_err *err)
{
    struct walk w = {buf, len, name, err};
    size_t size = 0;
    if (len == 0)
        return set_err(err, MG_EINCOMPLETE, 0, "%s: empty input", name);
    int rc = walk_tlv(&w, 0, len, 0, &size);
    if (rc)
        return rc;
    if (size != len)
        return set_err(err, MG_EPARSE, size, "%s: %zu trailing bytes after the value", name,
                       len - size);
    return 0;
}

int mg_asn1_ber_check(const void *buf, size_t len, struct mg_asn1_err *err)
{
    if (!buf && len)
        return set_err(err, MG_EINVAL, 0, "no input");
    return ber_check_named("BER", buf, len, err);
}

/* Describe the TLV at off for an error message ("[CONTEXT 3] constructed"). */
static void describe_at(const uint8_t *p, size_t len, size_t off, char *out, size_t outsz)
{
    struct tlv_hdr h;
    const char *why = NULL;
    if (off >= len || read_hdr(p + off, len - off, &h, &why) != 0) {
        snprintf(out, outsz, "end of input");
        return;
    }
    snprintf(out, outsz, "[%s%lu] %s", h.cls == 2 ? "CONTEXT " : cls_name[h.cls], h.tag,
             h.constructed ? "constructed" : "primitive");
}


/* ---- SIZE of named list types (asn1c leaves them unchecked; table from CMake) ---- */

enum shape { SHAPE_OTHER, SHAPE_FIELDS, SHAPE_CHOICE, SHAPE_LIST };

/* The shape of td. A type defined on another gets its base's functions lazily, one link
 * of the chain per first use; free_struct on NULL runs that inheritance and frees nothing
 * (every asn1c free function returns at once on NULL). */
static enum shape shape_of(asn_TYPE_descriptor_t *td)
{
    for (int pass = 0; pass < 4; pass++) {
        if (td->der_encoder == SEQUENCE_encode_der || td->der_encoder == SET_encode_der)
            return SHAPE_FIELDS;
        if (td->der_encoder == CHOICE_encode_der)
            return SHAPE_CHOICE;
        if (td->der_encoder == SEQUENCE_OF_encode_der || td->der_encoder == SET_OF_encode_der)
            return SHAPE_LIST;
        if (!td->free_struct)
            break;
        td->free_struct(td, NULL, 1);
    }
    return SHAPE_OTHER;
}

static const void *member_value(const asn_TYPE_member_t *elm, const void *sptr)
{
    const char *p = (const char *)sptr + elm->memb_offset;
    return (elm->flags & ATF_POINTER) ? *(const void *const *)p : p;
}

static int choice_present(const asn_TYPE_descriptor_t *td, const void *v)
{
    const asn_CHOICE_specifics_t *s = td->specifics;
    const char *p = (const char *)v + s->pres_offset;
    switch (s->pres_size) {
    case sizeof(int): return *(const int *)p;
    case sizeof(short): return *(const short *)p;
    case sizeof(char): return *(const signed char *)p;
    default: return 0;
    }
}

/* 0, or MG_ECONSTRAINT with err set for the first list whose count breaks its SIZE. */
static int check_sizes(asn_TYPE_descriptor_t *td, const void *v, unsigned depth,
                       struct mg_asn1_err *err)
{
    if (!v || depth > 4 * MG_ASN1_MAX_DEPTH)
        return 0;
    switch (shape_of(td)) {
    case SHAPE_FIELDS:
        for (int i = 0; i < td->elements_count; i++) {
            const asn_TYPE_member_t *elm = &td->elements[i];
            int rc = check_sizes(elm->type, member_value(elm, v), depth + 1, err);
            if (rc)
                return rc;
        }
        return 0;
    case SHAPE_CHOICE: {
        int pres = choice_present(td, v);
        if (pres < 1 || pres > td->elements_count)
            return 0;
        const asn_TYPE_member_t *elm = &td->elements[pres - 1];
        return check_sizes(elm->type, member_value(elm, v), depth + 1, err);
    }
    case SHAPE_LIST: {
        const asn_anonymous_set_ *list = _A_CSET_FROM_VOID(v);
        for (size_t r = 0; r < mg_asn1_size_rules_count; r++) {
            const struct mg_asn1_size_rule *rule = &mg_asn1_size_rules[r];
            if (rule->td != td)
                continue;
            if (list->count < rule->min || (rule->max >= 0 && list->count > rule->max)) {
                if (rule->max >= 0)
                    return set_err(err, MG_ECONSTRAINT, 0, "%s: %d elements, SIZE (%ld..%ld)",
                                   td->name, list->count, rule->min, rule->max);
                return set_err(err, MG_ECONSTRAINT, 0, "%s: %d elements, SIZE (%ld..MAX)",
                               td->name, list->count, rule->min);
            }
        }
        for (int i = 0; i < list->count; i++) {
            int rc = check_sizes(td->elements[0].type, list->array[i], depth + 1, err);
            if (rc)
                return rc;
        }
        return 0;
    }
    case SHAPE_OTHER:
        break;
    }
    return 0;
}


/* ---- Locating a schema mismatch ----
 * asn1c reports a failure only as "somewhere in the outermost element". On failure we walk
 * the type and the (structurally valid) TLVs together, decoding each child alone with its
 * member type, and descend into the first child that fails, to name the deepest element
 * that is wrong, its offset, and what the type expected there. Runs only on failure. */

struct locate {
    const uint8_t *base;
    size_t total;
    struct mg_asn1_err *err;
    char path[160];
};

struct span {
    size_t off, cs, ce, end;  /* TLV start, contents start/end, TLV end */
    ber_tlv_tag_t tag;        /* asn1c form: (number << 2) | class */
    int constructed;
};

/* The TLV at off, ending by end (already checked by walk_tlv, so only sizes are read). */
static int span_at(const struct locate *L, size_t off, size_t end, struct span *sp)
{
    struct tlv_hdr h;
    const char *why = NULL;
    struct walk w = {L->base, L->total, "", NULL};
    size_t size = 0;
    if (off >= end || read_hdr(L->base + off, end - off, &h, &why) != 0 ||
        walk_tlv(&w, off, end, 0, &size) != 0)
        return -1;
    sp->off = off;
    sp->cs = off + h.hdr_len;
    sp->end = off + size;
    sp->ce = h.len_def >= 0 ? sp->end : sp->end - 2;
    sp->tag = (ber_tlv_tag_t)((h.tag << 2) | h.cls);
    sp->constructed = h.constructed;
    return 0;
}

/* "[APPLICATION 3] constructed"; constructed < 0 leaves the form out. */
static void tag_text(ber_tlv_tag_t tag, int constructed, char *buf, size_t bufsz)
{
    static const char *const cls[4] = {"UNIVERSAL ", "APPLICATION ", "", "PRIVATE "};
    snprintf(buf, bufsz, "[%s%u]%s", cls[tag & 3], tag >> 2,
             constructed < 0 ? "" : constructed ? " constructed" : " primitive");
}

static int member_decodes(const asn_TYPE_member_t *elm, const uint8_t *p, size_t len)
{
    asn_codec_ctx_t ctx = {.max_stack_size = MG_ASN1_STACK_BUDGET};
    void *tmp = NULL;
    asn_dec_rval_t r = elm->type->ber_decoder(&ctx, elm->type, &tmp, p, len, elm->tag_mode);
    ASN_STRUCT_FREE(*elm->type, tmp);
    return r.code == RC_OK && r.consumed == len;
}

/* Append ".name" (name given) or "[index]" to the path. */
static void path_push(struct locate *L, const char *name, int index)
{
    size_t n = strlen(L->path);
    if (n >= sizeof L->path - 1)
        return;
    if (name)
        snprintf(L->path + n, sizeof L->path - n, ".%s", name);
    else
        snprintf(L->path + n, sizeof L->path - n, "[%d]", index);
}

/* What td accepts at this point: member names with their tags. */
static void expected_list(const asn_TYPE_descriptor_t *td, char *buf, size_t bufsz)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < td->elements_count && n + 1 < bufsz; i++) {
        const asn_TYPE_member_t *elm = &td->elements[i];
        char t[48];
        if (elm->tag == (ber_tlv_tag_t)-1)
            snprintf(t, sizeof t, "%s", elm->type->name);
        else
            tag_text(elm->tag, -1, t, sizeof t);
        int k = snprintf(buf + n, bufsz - n, "%s%s %s", i ? ", " : "", elm->name, t);
        if (k < 0)
            break;
        n += (size_t)k;
    }
}

static const asn_TYPE_tag2member_t *tag2el_of(const asn_TYPE_descriptor_t *td, enum shape sh,
                                              int *count)
{
    if (sh == SHAPE_CHOICE) {
        const asn_CHOICE_specifics_t *s = td->specifics;
        *count = s->tag2el_count;
        return s->tag2el;
    }
    if (td->der_encoder == SET_encode_der) {
        const asn_SET_specifics_t *s = td->specifics;
        *count = s->tag2el_count;
        return s->tag2el;
    }
    const asn_SEQUENCE_specifics_t *s = td->specifics;
    *count = s->tag2el_count;
    return s->tag2el;
}

/* Whether a SEQUENCE/SET has an extension marker (unknown tags there are skipped). */
static int extensible(const asn_TYPE_descriptor_t *td)
{
    if (td->der_encoder == SET_encode_der)
        return ((const asn_SET_specifics_t *)td->specifics)->extensible;
    return ((const asn_SEQUENCE_specifics_t *)td->specifics)->ext_after >= 0;
}

static int find_member(const asn_TYPE_tag2member_t *t2m, int count, ber_tlv_tag_t tag)
{
    for (int i = 0; t2m && i < count; i++)
        if (t2m[i].el_tag == tag)
            return t2m[i].el_no;
    return -1;
}

static void locate(struct locate *L, asn_TYPE_descriptor_t *td, int tag_mode, size_t off,
                   size_t end, unsigned depth)
{
    struct span sp;
    char t[48], exp[120];
    if (span_at(L, off, end, &sp) != 0 || depth > 2 * MG_ASN1_MAX_DEPTH) {
        set_err(L->err, MG_EPARSE, off, "%s: value not valid here", L->path);
        return;
    }
    tag_text(sp.tag, sp.constructed, t, sizeof t);
    enum shape sh = shape_of(td);
    /* Explicit wrappers: the parent's (tag_mode 1), then the type's own. */
    int wrappers = (tag_mode == 1) +
                   (sh == SHAPE_CHOICE ? td->tags_count : (td->tags_count > 1 ? td->tags_count - 1 : 0));
    for (int i = 0; i < wrappers; i++) {
        if (!sp.constructed || sp.cs == sp.ce) {
            set_err(L->err, MG_EPARSE, sp.off,
                    "%s: explicit tag %s must be constructed around one %s", L->path, t, td->name);
            return;
        }
        if (span_at(L, sp.cs, sp.ce, &sp) != 0)
            break;
        tag_text(sp.tag, sp.constructed, t, sizeof t);
    }
    switch (sh) {
    case SHAPE_OTHER:
        set_err(L->err, MG_EPARSE, sp.off, "%s: %s is not a valid %s", L->path, t, td->name);
        return;
    case SHAPE_CHOICE: {
        int count = 0;
        const asn_TYPE_tag2member_t *t2m = tag2el_of(td, sh, &count);
        int el = find_member(t2m, count, sp.tag);
        if (el < 0 || el >= td->elements_count) {
            expected_list(td, exp, sizeof exp);
            set_err(L->err, MG_EPARSE, sp.off, "%s: %s is none of %s's alternatives (%s)",
                    L->path, t, td->name, exp);
            return;
        }
        const asn_TYPE_member_t *elm = &td->elements[el];
        path_push(L, elm->name, 0);
        locate(L, elm->type, elm->tag_mode, sp.off, sp.end, depth + 1);
        return;
    }
    case SHAPE_LIST: {
        const asn_TYPE_member_t *elm = &td->elements[0];
        int i = 0;
        for (size_t pos = sp.cs; pos < sp.ce; i++) {
            struct span c;
            if (span_at(L, pos, sp.ce, &c) != 0)
                break;
            if (!member_decodes(elm, L->base + c.off, c.end - c.off)) {
                path_push(L, NULL, i);
                locate(L, elm->type, elm->tag_mode, c.off, c.end, depth + 1);
                return;
            }
            pos = c.end;
        }
        set_err(L->err, MG_EPARSE, sp.off, "%s: %s of %s not accepted", L->path, t, td->name);
        return;
    }
    case SHAPE_FIELDS: {
        int count = 0, has_open = 0;
        const asn_TYPE_tag2member_t *t2m = tag2el_of(td, sh, &count);
        unsigned char seen[256] = {0};
        for (int i = 0; i < td->elements_count; i++)
            if (td->elements[i].tag == (ber_tlv_tag_t)-1 &&
                shape_of(td->elements[i].type) == SHAPE_OTHER)
                has_open = 1;   /* an untagged open type takes any tag */
        int ext = extensible(td);
        if (!sp.constructed) {
            set_err(L->err, MG_EPARSE, sp.off, "%s: %s must be constructed for %s", L->path, t,
                    td->name);
            return;
        }
        for (size_t pos = sp.cs; pos < sp.ce;) {
            struct span c;
            char ct[48];
            if (span_at(L, pos, sp.ce, &c) != 0)
                break;
            int el = find_member(t2m, count, c.tag);
            if (el < 0 || el >= td->elements_count) {
                if (has_open || ext) {   /* an open type's, or an unknown extension */
                    pos = c.end;
                    continue;
                }
                tag_text(c.tag, c.constructed, ct, sizeof ct);
                expected_list(td, exp, sizeof exp);
                set_err(L->err, MG_EPARSE, c.off, "%s: unexpected %s in %s (members: %s)",
                        L->path, ct, td->name, exp);
                return;
            }
            const asn_TYPE_member_t *elm = &td->elements[el];
            if (!member_decodes(elm, L->base + c.off, c.end - c.off)) {
                path_push(L, elm->name, 0);
                locate(L, elm->type, elm->tag_mode, c.off, c.end, depth + 1);
                return;
            }
            if (el < (int)sizeof seen)
                seen[el] = 1;
            pos = c.end;
        }
        for (int i = 0; i < td->elements_count && i < (int)sizeof seen; i++)
            if (!td->elements[i].optional && !seen[i] && !has_open) {
                set_err(L->err, MG_EPARSE, sp.off, "%s: %s lacks mandatory %s", L->path,
                        td->name, td->elements[i].name);
                return;
            }
        set_err(L->err, MG_EPARSE, sp.off, "%s: %s has members repeated or out of order",
                L->path, td->name);
        return;
    }
    }
}

/* Whoever links this module gets the load-time resolution of asn1c's alias descriptors too
 * (a static library member is linked only when referenced): mg_asn1_aliases.h says why. */
__attribute__((used)) static int (*const keep_alias_resolution)(void) = mg_asn1_resolve_aliases;

int mg_asn1_decode(const asn_TYPE_descriptor_t *td, const void *buf, size_t len, void **out,
                   struct mg_asn1_err *err)
{
    return mg_asn1_decode_ex(td, buf, len, 0, out, err);
}

int mg_asn1_decode_ex(const asn_TYPE_descriptor_t *td, const void *buf, size_t len,
                      unsigned flags, void **out, struct mg_asn1_err *err)
{
    if (!out)
        return set_err(err, MG_EINVAL, 0, "no output pointer");
    *out = NULL;
    if (!td || (!buf && len))
        return set_err(err, MG_EINVAL, 0, "no type or input");
    if (len > MG_ASN1_MAX_INPUT)
        return set_err(err, MG_ETOOBIG, 0, "%s: input of %zu bytes exceeds the limit of %u",
                       td->name, len, MG_ASN1_MAX_INPUT);
    /* Structure first: it locates truncation and length errors exactly, which asn1c's
     * decoder reports only as "failed somewhere in the outermost element". */
    int rc = ber_check_named(td->name, buf, len, err);
    if (rc)
        return rc;

    /* asn1c 0.9.28's API takes descriptors without const. */
    asn_TYPE_descriptor_t *t = (asn_TYPE_descriptor_t *)td;
    asn_codec_ctx_t ctx = {.max_stack_size = MG_ASN1_STACK_BUDGET};
    void *v = NULL;
    asn_dec_rval_t r = ber_decode(&ctx, t, &v, buf, len);
    if (r.code != RC_OK) {
        char at[64];
        describe_at(buf, len, r.consumed, at, sizeof at);
        ASN_STRUCT_FREE(*t, v);
        if (r.code == RC_WMORE)
            return set_err(err, MG_EINCOMPLETE, r.consumed, "%s: value incomplete at offset %zu",
                           td->name, r.consumed);
        set_err(err, MG_EPARSE, r.consumed,
                "%s: does not match the ASN.1 type in the element at offset %zu (%s)",
                td->name, r.consumed, at);
        if (err) {
            struct locate L = {buf, len, err, ""};
            snprintf(L.path, sizeof L.path, "%s", td->name);
            locate(&L, t, 0, 0, len, 0);
        }
        return MG_EPARSE;
    }
    if (r.consumed != len) {
        ASN_STRUCT_FREE(*t, v);
        return set_err(err, MG_EPARSE, r.consumed, "%s: %zu trailing bytes after the value",
                       td->name, len - r.consumed);
    }
    char cbuf[160];
    size_t clen = sizeof cbuf;
    if (asn_check_constraints(t, v, cbuf, &clen) != 0) {
        ASN_STRUCT_FREE(*t, v);
        /* asn1c's message names the type and the constraint ("...: constraint failed"). */
        return set_err(err, MG_ECONSTRAINT, 0, "%s: %s", td->name,
                       clen ? cbuf : "constraint failed");
    }
    rc = (flags & MG_ASN1_LENIENT_SIZES) ? 0 : check_sizes(t, v, 0, err);
    if (rc) {
        ASN_STRUCT_FREE(*t, v);
        return rc;
    }
    *out = v;
    return 0;
}

static int append_cb(const void *data, size_t size, void *key)
{
    if (size == 0)   /* empty values come with a NULL pointer */
        return 0;
    return mg_buf_append(key, data, size) == 0 ? 0 : -1;
}

int mg_asn1_encode_der(const asn_TYPE_descriptor_t *td, const void *value, unsigned char **out,
                       size_t *len)
{
    if (!td || !value || !out || !len)
        return MG_EINVAL;
    *out = NULL;
    *len = 0;
    char cbuf[160];
    size_t clen = sizeof cbuf;
    if (asn_check_constraints((asn_TYPE_descriptor_t *)td, value, cbuf, &clen) != 0 ||
        check_sizes((asn_TYPE_descriptor_t *)td, value, 0, NULL) != 0)
        return MG_ECONSTRAINT;
    struct mg_buf b;
    mg_buf_init(&b, MG_ASN1_MAX_INPUT);
    asn_enc_rval_t er = der_encode((asn_TYPE_descriptor_t *)td, (void *)value, append_cb, &b);
    if (er.encoded < 0) {
        mg_buf_free(&b);
        /* The callback fails only when the buffer cannot grow; anything else is a value
         * asn1c cannot encode (a CHOICE with nothing present). */
        return b.len >= MG_ASN1_MAX_INPUT ? MG_ETOOBIG : MG_EINVAL;
    }
    if (b.len == 0) {
        mg_buf_free(&b);
        return MG_EINVAL;
    }
    *out = mg_buf_steal(&b, len);
    return *out ? 0 : MG_ENOMEM;
}

void mg_asn1_free(const asn_TYPE_descriptor_t *td, void *value)
{
    if (td && value) {
        asn_TYPE_descriptor_t *t = (asn_TYPE_descriptor_t *)td;
        ASN_STRUCT_FREE(*t, value);
    }
}

int mg_asn1_copy(const asn_TYPE_descriptor_t *td, const void *src, void **out)
{
    unsigned char *der = NULL;
    size_t len = 0;
    if (!out)
        return MG_EINVAL;
    *out = NULL;
    int rc = mg_asn1_encode_der(td, src, &der, &len);
    if (rc)
        return rc;
    rc = mg_asn1_decode(td, der, len, out, NULL);
    free(der);
    return rc;
}

int mg_asn1_oid_str(const OBJECT_IDENTIFIER_t *oid, char *buf, size_t bufsz)
{
    unsigned long arcs[64];
    if (!oid || !buf || bufsz == 0)
        return MG_EINVAL;
    int n = OBJECT_IDENTIFIER_get_arcs(oid, arcs, sizeof arcs[0], 64);
    if (n < 2 || n > 64)
        return n > 64 ? MG_ETOOBIG : MG_EPARSE;
    size_t pos = 0;
    for (int i = 0; i < n; i++) {
        int k = snprintf(buf + pos, bufsz - pos, i ? ".%lu" : "%lu", arcs[i]);
        if (k < 0 || (size_t)k >= bufsz - pos)
            return MG_ETOOBIG;
        pos += (size_t)k;
    }
    return 0;
}

int mg_asn1_oid_is(const OBJECT_IDENTIFIER_t *oid, const char *dotted)
{
    char tmp[256];
    if (!oid || !dotted || mg_asn1_oid_str(oid, tmp, sizeof tmp) != 0)
        return 0;
    return strcmp(tmp, dotted) == 0;
}

int mg_asn1_oid_set(OBJECT_IDENTIFIER_t *oid, const char *dotted)
{
    long arcs[64];
    if (!oid || !dotted)
        return MG_EINVAL;
    int n = OBJECT_IDENTIFIER_parse_arcs(dotted, -1, arcs, 64, NULL);
    if (n < 2 || n > 64)
        return MG_EINVAL;
    if (OBJECT_IDENTIFIER_set_arcs(oid, arcs, sizeof arcs[0], (unsigned)n) != 0)
        return MG_EINVAL;
    return 0;
}

const asn_TYPE_descriptor_t *mg_asn1_pdu_by_name(const char *name)
{
    if (!name)
        return NULL;
    for (asn_TYPE_descriptor_t **p = asn_pdu_collection; *p; p++)
        if (strcmp((*p)->name, name) == 0)
            return *p;
    return NULL;
}

#define MG_ASN1_DEFINE_PDU(T)                                                                \
    int mg_asn1_decode_##T(const void *buf, size_t len, T##_t **out, struct mg_asn1_err *err) \
    {                                                                                        \
        void *v = NULL;                                                                      \
        int rc = mg_asn1_decode(&asn_DEF_##T, buf, len, &v, err);                            \
        if (out)                                                                             \
            *out = v;                                                                        \
        else                                                                                 \
            mg_asn1_free(&asn_DEF_##T, v);                                                   \
        return rc;                                                                           \
    }                                                                                        \
    int mg_asn1_encode_##T(const T##_t *v, unsigned char **der, size_t *len)                 \
    {                                                                                        \
        return mg_asn1_encode_der(&asn_DEF_##T, v, der, len);                                \
    }                                                                                        \
    void mg_asn1_free_##T(T##_t *v) { mg_asn1_free(&asn_DEF_##T, v); }
MG_ASN1_PDU_LIST(MG_ASN1_DEFINE_PDU)
#undef MG_ASN1_DEFINE_PDU
