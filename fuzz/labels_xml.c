/* fuzz target labels_xml: Surevine and ADatP-4774 XML labels and clearances (the ADatP-4774
 * names resolve against the small SPIF in labels_fuzz_spif.h). What parses is written again in
 * both XML formats (when the SPIF knows its policy), and whatever a writer writes must parse
 * again: a writer refuses what its format cannot carry rather than write it (issue 14). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labels_fuzz_spif.h"
#include "lbl_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lbl_policy_set *set;

/* out (owned by the caller, freed here) parses again as a label (clear 0) or clearance */
static void reparse(char *out, int clear)
{
    struct lbl_err err;
    int rc;
    if (clear) {
        struct lbl_clearance c;
        lbl_clearance_init(&c);
        rc = lbl_xml_parse_clearance(out, strlen(out), set, &c, &err);
        lbl_clearance_free(&c);
    } else {
        struct lbl_label l;
        lbl_label_init(&l);
        rc = lbl_xml_parse_label(out, strlen(out), set, &l, &err);
        lbl_label_free(&l);
    }
    if (rc)
        abort();
    free(out);
}

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
            reparse(out, 0);
        const struct lbl_policy *p = lbl_policy_set_find(set, l.policy);
        if (p && lbl_nato_write_label(p, &l, &out, &err) == 0)
            reparse(out, 0);
    }
    lbl_label_free(&l);
    if (lbl_xml_parse_clearance(data, size, set, &c, &err) == 0) {
        char *out = NULL;
        if (lbl_xml_write_clearance(&c, &out) == 0)
            reparse(out, 1);
        const struct lbl_policy *p = lbl_policy_set_find(set, c.policy);
        if (p && lbl_nato_write_clearance(p, &c, &out, &err) == 0)
            reparse(out, 1);
    }
    lbl_clearance_free(&c);
    return 0;
}
