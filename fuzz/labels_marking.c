/* fuzz target labels_marking: display marking parsing (regex cut, tag-segment search,
 * regeneration check) under the small SPIF in labels_fuzz_spif.h. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labels_fuzz_spif.h"
#include "lbl_marking.h"

static struct lbl_policy_set *set;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!set)
        set = labels_fuzz_policy_set();
    if (size > 2048)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    struct lbl_label l;
    struct lbl_err err;
    lbl_label_init(&l);
    const struct lbl_policy *p = lbl_policy_set_get(set, 0);
    lbl_marking_parse(p, text, NULL, "", LBL_LOC_PAGEBOTTOM, &l, &err);
    lbl_label_free(&l);
    lbl_marking_parse(p, text, "\\[([^]]*)\\]", "fr", LBL_LOC_SUBJECT, &l, &err);
    lbl_label_free(&l);
    free(text);
    return 0;
}
