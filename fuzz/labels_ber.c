/* fuzz target labels_ber: the ESS, EquivalentLabels, X.411 and X.841 clearance decoders; what
 * decodes is encoded again (exercising the category encoders on decoded values). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lbl_ber.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lbl_label l;
    struct lbl_clearance c;
    struct lbl_err err;
    unsigned char *der;
    size_t len;
    lbl_label_init(&l);
    lbl_clearance_init(&c);
    if (lbl_ess_decode(data, size, &l, &err) == 0 && lbl_ess_encode(&l, NULL, &der, &len, &err) == 0)
        free(der);
    lbl_label_free(&l);
    if (lbl_x411_decode(data, size, &l, &err) == 0 && lbl_x411_encode(&l, NULL, &der, &len, &err) == 0)
        free(der);
    lbl_label_free(&l);
    if (lbl_clearance_ber_decode(data, size, &c, &err) == 0 && lbl_clearance_ber_encode(&c, &der, &len, &err) == 0)
        free(der);
    lbl_clearance_free(&c);
    struct lbl_label *eq;
    size_t n;
    if (lbl_ess_decode_equivalent(data, size, &eq, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            lbl_label_free(&eq[i]);
        free(eq);
    }
    return 0;
}
