/* libFuzzer target: cmsch_label_classification on arbitrary bytes (a message label's
 * classification, read by the cms channel for encrypt = "classification"). Must return -1 or a
 * classification 0..0xffffff, never read outside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cms_chan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long v = cmsch_label_classification(data, size);
    if (v < -1 || v > 0xffffff)
        abort();
    return 0;
}
