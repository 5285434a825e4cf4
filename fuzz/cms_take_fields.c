/* libFuzzer target: cmsch_take_keyword and cmsch_take_header (the cms channel removing the
 * Subject keyword or a rule's header field) on arbitrary messages. Each must return 1, 0 or an
 * MG_E* code; a new message is never longer than the input and keeps its body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cms_chan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *out = NULL;
    size_t n = 0;
    int rc = cmsch_take_keyword("[encrypt]", data, size, &out, &n);
    if (rc > 1 || (rc == 1 && (!out || n > size)) || (rc != 1 && out))
        abort();
    free(out);
    out = NULL;
    rc = cmsch_take_header("X-Mixgate-Encrypt", data, size, &out, &n);
    if (rc > 1 || (out && n > size) || (rc < 0 && out))
        abort();
    free(out);
    return 0;
}
