/* fuzz target labels_spif: the SPIF loader (libxml2 parse, tree walk, compilation) on any bytes. */
#include <stddef.h>
#include <stdint.h>

#include "lbl_spif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lbl_policy *p = NULL;
    struct lbl_err err;
    if (lbl_policy_load_mem(data, size, "fuzz.xml", NULL, &p, &err) == 0)
        lbl_policy_free(p);
    return 0;
}
