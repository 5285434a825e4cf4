/* Fuzz target: msgid_find (mta/msgid.c) on arbitrary bytes. Beyond "no crash": a found id is
 * "<...>", printable ASCII only, fits the buffer; a failure leaves "". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "msgid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[128];
    int rc = msgid_find(data, size, out, sizeof out);
    size_t n = strlen(out);
    if (rc != 0) {
        if (n != 0 || (rc != MG_ENOTFOUND && rc != MG_EPARSE && rc != MG_ETOOBIG))
            abort();
        return 0;
    }
    if (n < 2 || n >= sizeof out || out[0] != '<' || out[n - 1] != '>')
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x21 || (unsigned char)out[i] > 0x7e)
            abort();
    return 0;
}
