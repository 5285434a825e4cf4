/* mg_asn1_size_rules: the table, generated at configure time from the modules, of SIZE
 * bounds on named list types (T ::= SEQUENCE SIZE (lo..hi) OF X), which asn1c 0.9.28
 * compiles without a check; mg_asn1_decode applies them. */
#ifndef MG_ASN1_SIZE_RULES_H
#define MG_ASN1_SIZE_RULES_H

#include <stddef.h>

#include "asn_application.h"

struct mg_asn1_size_rule {
    const asn_TYPE_descriptor_t *td;
    long min;
    long max;      /* -1: no upper bound (MAX) */
};

/* Ends with an entry whose td is NULL; count excludes it. */
extern const struct mg_asn1_size_rule mg_asn1_size_rules[];
extern const size_t mg_asn1_size_rules_count;

#endif
