/* fuzz target labels_codec: lbl_codec's format detection and dispatch (lbl_format_detect,
 * lbl_decode in automatic and in every explicit format) and clearance decoding
 * (lbl_decode_clearance: Surevine XML, ADatP-4774 XML or X.841 BER, detected), under the small
 * SPIF of labels_fuzz_spif.h. A label that decodes is encoded into every format (a conversion
 * through the one model, as `mixgate label convert` does); whatever is encoded must decode
 * again in its own format. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labels_fuzz_spif.h"
#include "lbl_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lbl_policy_set *set;

static const enum lbl_format formats[] = { LBL_FMT_XML, LBL_FMT_NATO, LBL_FMT_ESS, LBL_FMT_X411,
                                           LBL_FMT_XX411, LBL_FMT_SIO, LBL_FMT_MARKING };
#define NFORMATS (sizeof formats / sizeof formats[0])

static void convert(const struct lbl_label *l)
{
    struct lbl_err err;
    const struct lbl_policy *p = lbl_policy_of(set, l, &err);
    for (size_t i = 0; i < NFORMATS; i++) {
        char *out = NULL;
        size_t len = 0;
        if (lbl_encode(l, formats[i], p, &out, &len, &err) != 0)
            continue;
        struct lbl_label back;
        lbl_label_init(&back);
        /* whatever an encoder writes decodes again in its format: an encoder refuses what its
         * format cannot carry (a privacy mark with a control character in XML, a label without
         * a policy in Surevine XML: the issue 14 finding) rather than write it. Not checked:
         * markings, which may be ambiguous. */
        if (lbl_decode(out, len, formats[i], set, &back, &err) != 0 && formats[i] != LBL_FMT_MARKING)
            abort();
        lbl_label_free(&back);
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!set)
        set = labels_fuzz_policy_set();
    if (size > 16384)
        return 0;
    struct lbl_label l;
    struct lbl_err err;
    enum lbl_format f = lbl_format_detect(data, size);
    (void)lbl_format_name(f);
    lbl_label_init(&l);
    int ok = lbl_decode(data, size, LBL_FMT_AUTO, set, &l, &err) == 0;
    if (ok)
        convert(&l);
    lbl_label_free(&l);
    /* the first byte picks one explicit format too, so each decoder sees every input */
    if (size > 0) {
        lbl_label_init(&l);
        if (lbl_decode(data + 1, size - 1, formats[data[0] % NFORMATS], set, &l, &err) == 0 && !ok)
            convert(&l);
        lbl_label_free(&l);
    }
    struct lbl_clearance c;
    lbl_clearance_init(&c);
    lbl_decode_clearance(data, size, set, &c, &err);
    lbl_clearance_free(&c);
    return 0;
}
