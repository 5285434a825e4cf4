/* mg_asn1_aliases: resolves asn1c's lazily inherited descriptors once, before any thread can
 * race on them (why: mg_asn1_aliases.h). */
#include "mg_asn1_aliases.h"

#include <stdbool.h>

static bool changed_by_inherit(asn_TYPE_descriptor_t *td)
{
    const void *fs = (const void *)td->free_struct;
    const void *bd = (const void *)td->ber_decoder;
    const void *el = td->elements;
    const void *sp = td->specifics;
    /* Every wrapper asn1c generates inherits first; free_struct on NULL then frees nothing
     * (the base types' free functions all return on a NULL structure). */
    td->free_struct(td, NULL, 1);
    return fs != (const void *)td->free_struct || bd != (const void *)td->ber_decoder ||
           el != td->elements || sp != td->specifics;
}

int mg_asn1_resolve_aliases(void)
{
    /* A type defined on an alias first receives the alias's own wrappers; the next pass
     * follows them one level further. Module nesting is a few levels deep. */
    for (int pass = 1; pass <= 32; pass++) {
        bool changed = false;
        for (size_t i = 0; i < mg_asn1_alias_types_count; i++)
            changed |= changed_by_inherit(mg_asn1_alias_types[i]);
        if (!changed)
            return pass;
    }
    return -1;
}

__attribute__((constructor)) static void resolve_at_load(void)
{
    (void)mg_asn1_resolve_aliases();
}
