/* fuzz target labels_xml: Surevine and ADatP-4774 XML labels and clearances (the ADatP-4774
 * names resolve against the small SPIF in labels_fuzz_spif.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labels_fuzz_spif.h"
#include "lbl_xml.h"

static struct lbl_policy_set *set;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!set)
        set = labels_fuzz_policy_set();
    struct lbl_label l;
    struct lbl_clearance c;
    struct lbl_err err;
    lbl_label_init(&l);
    lbl_clearance_init(&c);
    if (lbl_xml_parse_label(data, size, set, &l, &err) == 0) {
        char *out = NULL;
        if (lbl_xml_write_label(&l, &out) == 0)
            free(out);
    }
    lbl_label_free(&l);
    lbl_xml_parse_clearance(data, size, set, &c, &err);
    lbl_clearance_free(&c);
    return 0;
}
