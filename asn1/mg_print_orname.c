/* mg_print_orname: the RFC 2156 text form of an O/R name or address decoded by asn1c (see
 * mg_print.h), found by member names so one walk serves X.411's ORName, ORAddress and the
 * types shaped like them. Split from mg_print.c, the generic value printer. */
#include "mg_print.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ExtensionAttribute.h"
#include "OCTET_STRING.h"
#include "asn_SET_OF.h"
#include "mg_asn1_open.h"
#include "mg_err.h"
#include "mg_print_int.h"

struct orbuf {
    char *p;
    size_t size, len;
};

static void or_put(struct orbuf *o, const char *key, const uint8_t *s, size_t n)
{
    int w = snprintf(o->p + o->len, o->size - o->len, "%s=", key);
    if (w < 0 || (size_t)w >= o->size - o->len) {
        o->len = o->size - 1;
        return;
    }
    o->len += (size_t)w;
    for (size_t i = 0; i < n && o->len + 2 < o->size; i++) {
        char ch = (char)s[i];
        o->p[o->len++] = (ch == '/' || !isprint((unsigned char)ch)) ? '?' : ch;
    }
    if (o->len + 1 < o->size)
        o->p[o->len++] = '/';
    o->p[o->len] = '\0';
}

/* A string member (or a CHOICE of strings) by name. */
static const OCTET_STRING_t *str_member(const asn_TYPE_descriptor_t *td, const void *v,
                                        const char *name)
{
    const asn_TYPE_member_t *m = mg_print_find_member(td, name);
    const void *mv = m ? mg_print_member_ptr(m, v) : NULL;
    if (!mv)
        return NULL;
    enum mg_print_kind k = mg_print_kind(m->type);
    if (k == MG_PK_CHOICE) {
        const void *av = NULL;
        const asn_TYPE_member_t *alt = mg_print_choice_present(m->type, mv, &av);
        if (!alt)
            return NULL;
        k = mg_print_kind(alt->type);
        mv = av;
    }
    return k == MG_PK_STRING ? mv : NULL;
}

static void or_str(struct orbuf *o, const char *key, const asn_TYPE_descriptor_t *td,
                   const void *v, const char *name)
{
    const OCTET_STRING_t *s = str_member(td, v, name);
    if (s)
        or_put(o, key, s->buf, (size_t)s->size);
}

int mg_print_orname(asn_TYPE_descriptor_t *td, const void *value, char *buf, size_t size)
{
    const asn_TYPE_member_t *bsa = mg_print_find_member(td, "built-in-standard-attributes");
    if (!bsa || !value || size < 2)
        return MG_EINVAL;
    struct orbuf o = {buf, size, 1};
    buf[0] = '/';
    buf[1] = '\0';
    const void *sa = mg_print_member_ptr(bsa, value);
    const asn_TYPE_descriptor_t *st = bsa->type;
    if (sa) {
        or_str(&o, "C", st, sa, "country-name");
        or_str(&o, "ADMD", st, sa, "administration-domain-name");
        or_str(&o, "PRMD", st, sa, "private-domain-name");
        or_str(&o, "O", st, sa, "organization-name");
        const asn_TYPE_member_t *ou = mg_print_find_member(st, "organizational-unit-names");
        const void *ouv = ou ? mg_print_member_ptr(ou, sa) : NULL;
        if (ouv) {
            const asn_anonymous_set_ *l = _A_CSET_FROM_VOID(ouv);
            for (int i = 0; i < l->count; i++) {
                const OCTET_STRING_t *s = l->array[i];
                if (s)
                    or_put(&o, "OU", s->buf, (size_t)s->size);
            }
        }
        const asn_TYPE_member_t *pn = mg_print_find_member(st, "personal-name");
        const void *pnv = pn ? mg_print_member_ptr(pn, sa) : NULL;
        if (pnv) {
            or_str(&o, "G", pn->type, pnv, "given-name");
            or_str(&o, "I", pn->type, pnv, "initials");
            or_str(&o, "S", pn->type, pnv, "surname");
            or_str(&o, "Q", pn->type, pnv, "generation-qualifier");
        }
        or_str(&o, "X121", st, sa, "network-address");
        or_str(&o, "T-ID", st, sa, "terminal-identifier");
        or_str(&o, "UA-ID", st, sa, "numeric-user-identifier");
    }
    /* Extension attributes: common-name (1) and teletex-common-name (2) as CN. Their
     * values are open types (any BER form): decode them through mg_asn1_open. */
    const asn_TYPE_member_t *ea = mg_print_find_member(td, "extension-attributes");
    const void *eav = ea ? mg_print_member_ptr(ea, value) : NULL;
    if (eav && ea->type->elements_count == 1 &&
        ea->type->elements[0].type == &asn_DEF_ExtensionAttribute) {
        const asn_anonymous_set_ *l = _A_CSET_FROM_VOID(eav);
        for (int i = 0; i < l->count; i++) {
            const ExtensionAttribute_t *a = l->array[i];
            if (!a || (a->extension_attribute_type != 1 && a->extension_attribute_type != 2))
                continue;
            struct mg_asn1_value xv = {0};
            if (mg_asn1_open_exattr_decode(a, &xv, NULL) == 0 && xv.ptr &&
                mg_print_kind(xv.td) == MG_PK_STRING) {
                const OCTET_STRING_t *cs = xv.ptr;
                or_put(&o, "CN", cs->buf, (size_t)cs->size);
            }
            mg_asn1_value_free(&xv);
        }
    }
    /* Domain-defined attributes: DDA:type=value. */
    const asn_TYPE_member_t *dd = mg_print_find_member(td, "built-in-domain-defined-attributes");
    const void *ddv = dd ? mg_print_member_ptr(dd, value) : NULL;
    if (ddv && dd->type->elements_count == 1) {
        const asn_anonymous_set_ *l = _A_CSET_FROM_VOID(ddv);
        const asn_TYPE_descriptor_t *xt = dd->type->elements[0].type;
        for (int i = 0; i < l->count; i++) {
            const OCTET_STRING_t *t = l->array[i] ? str_member(xt, l->array[i], "type") : NULL;
            const OCTET_STRING_t *vv = l->array[i] ? str_member(xt, l->array[i], "value") : NULL;
            if (!t || !vv)
                continue;
            char key[80];
            snprintf(key, sizeof key, "DDA:%.*s", t->size > 64 ? 64 : t->size,
                     (const char *)t->buf);
            or_put(&o, key, vv->buf, (size_t)vv->size);
        }
    }
    return 0;
}
