/* fuzz target labels_header: SIO-Label, SIO-Label-History and X-X411 header fields (parameter
 * tokenizer, base64 with missing padding, the BER and XML labels inside), decoded without and
 * with a policy set (the small SPIF of labels_fuzz_spif.h). A label that decodes is written
 * again as SIO-Label (with its marking when the SPIF knows the policy), SIO-Label-History and
 * X-X411, and each header written must decode again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labels_fuzz_spif.h"
#include "lbl_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lbl_policy_set *set;

static void rewrite(const struct lbl_label *l)
{
    struct lbl_err err;
    struct lbl_label back;
    const struct lbl_policy *p = lbl_policy_set_find(set, l->policy);
    char *h = NULL;
    if (lbl_sio_encode(l, p, &h, &err) == 0) {
        lbl_label_init(&back);
        if (lbl_sio_decode(h, strlen(h), set, &back, &err))
            abort();
        lbl_label_free(&back);
        free(h);
    }
    if (lbl_sio_history_encode(l, "translated", "fuzz", "0", &h, &err) == 0) {
        lbl_label_init(&back);
        if (lbl_sio_history_decode(h, strlen(h), set, &back, &err))
            abort();
        lbl_label_free(&back);
        free(h);
    }
    if (lbl_xx411_encode(l, p, &h, &err) == 0) {
        lbl_label_init(&back);
        if (lbl_xx411_decode(h, strlen(h), &back, &err))
            abort();
        lbl_label_free(&back);
        free(h);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!set)
        set = labels_fuzz_policy_set();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    struct lbl_label l;
    struct lbl_err err;
    lbl_label_init(&l);
    lbl_sio_decode(text, size, NULL, &l, &err);
    lbl_label_free(&l);
    if (lbl_sio_decode(text, size, set, &l, &err) == 0)
        rewrite(&l);
    lbl_label_free(&l);
    lbl_sio_history_decode(text, size, NULL, &l, &err);
    lbl_label_free(&l);
    if (lbl_xx411_decode(text, size, &l, &err) == 0)
        rewrite(&l);
    lbl_label_free(&l);
    free(text);
    return 0;
}
