/* libFuzzer target: cmsch_equiv_canon on arbitrary bytes (a message's label, from outside,
 * which the cms channel decodes strictly before it signs it as an equivalent label) and, when
 * it decodes, cmsch_equiv_build of it twice. Must never read outside the input; a label that
 * canonicalises must canonicalise to itself again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cms_chan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *c = NULL, *c2 = NULL, *eq = NULL;
    size_t cl = 0, cl2 = 0, el = 0;
    if (cmsch_equiv_canon(data, size, &c, &cl) == 0) {
        if (cmsch_equiv_canon(c, cl, &c2, &cl2) != 0 || cl2 != cl || memcmp(c, c2, cl))
            abort();
        const unsigned char *v[2] = { c, c2 };
        const size_t l[2] = { cl, cl2 };
        if (cmsch_equiv_build(v, l, 2, &eq, &el) != 0 || !eq)
            abort();
    }
    free(c);
    free(c2);
    free(eq);
    return 0;
}
