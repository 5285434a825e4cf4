/* fuzz target labels_header: SIO-Label, SIO-Label-History and X-X411 header fields (parameter
 * tokenizer, base64 with missing padding, the BER and XML labels inside). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lbl_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
    lbl_sio_history_decode(text, size, NULL, &l, &err);
    lbl_label_free(&l);
    lbl_xx411_decode(text, size, &l, &err);
    lbl_label_free(&l);
    free(text);
    return 0;
}
