/* mg_print_int: the descriptor walks mg_print.c and mg_print_orname.c share (internal to
 * asn1/). Inline: the printer calls them for every member of every value. */
#ifndef MG_PRINT_INT_H
#define MG_PRINT_INT_H

#include <string.h>

#include "constr_CHOICE.h"
#include "mg_print.h"

/* Pointer to the value of member elm inside struct sptr, NULL if absent. */
static inline const void *mg_print_member_ptr(const asn_TYPE_member_t *elm, const void *sptr)
{
    const char *p = (const char *)sptr + elm->memb_offset;
    if (elm->flags & ATF_POINTER)
        return *(const void *const *)p;
    return p;
}

/* Present alternative of a CHOICE value, or NULL. */
static inline const asn_TYPE_member_t *mg_print_choice_present(const asn_TYPE_descriptor_t *td,
                                                               const void *sptr, const void **val)
{
    const asn_CHOICE_specifics_t *s = td->specifics;
    const char *p = (const char *)sptr + s->pres_offset;
    int pres;
    switch (s->pres_size) {
    case sizeof(int): pres = *(const int *)p; break;
    case sizeof(short): pres = *(const short *)p; break;
    case sizeof(char): pres = *(const char *)p; break;
    default: return NULL;
    }
    if (pres <= 0 || pres > td->elements_count)
        return NULL;
    const asn_TYPE_member_t *elm = &td->elements[pres - 1];
    *val = mg_print_member_ptr(elm, sptr);
    return *val ? elm : NULL;
}

/* Member of a SEQUENCE, SET or CHOICE by its ASN.1 name, or NULL. */
static inline const asn_TYPE_member_t *mg_print_find_member(const asn_TYPE_descriptor_t *td,
                                                            const char *name)
{
    for (int i = 0; i < td->elements_count; i++)
        if (td->elements[i].name && strcmp(td->elements[i].name, name) == 0)
            return &td->elements[i];
    return NULL;
}

#endif
