/* libFuzzer target: the control socket's request parser (mta/control.c), on whatever a client
 * writes. A 0xFF byte in the unit splits it into separate reads, as the socket may deliver the
 * line in pieces; the line is assembled with control_feed (size limit) and split into words
 * with control_parse_line, whose promises are checked: at most CONTROL_MAX_ARGS words, none
 * empty or holding a separator, argv NULL-terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "mg_buf.h"
#include "mg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mg_buf in;
    mg_buf_init(&in, CONTROL_MAX_LINE);
    int rc = 0;
    size_t pos = 0;
    while (pos < size && rc == 0) {
        const uint8_t *cut = memchr(data + pos, 0xff, size - pos);
        size_t n = cut ? (size_t)(cut - (data + pos)) : size - pos;
        rc = control_feed(&in, (const char *)data + pos, n);
        pos += n + (cut ? 1 : 0);
    }
    if (rc < 0 && rc != MG_ETOOBIG)
        abort();
    if (in.len > CONTROL_MAX_LINE)
        abort();
    if (rc == 1) {
        char *argv[CONTROL_MAX_ARGS + 1];
        int argc = -1;
        const char *why = NULL;
        if (control_parse_line((char *)in.data, &argc, argv, &why) == 0) {
            if (argc < 1 || argc > CONTROL_MAX_ARGS || argv[argc] != NULL)
                abort();
            for (int i = 0; i < argc; i++)
                if (!argv[i][0] || strpbrk(argv[i], " \t\r\n"))
                    abort();
        } else if (!why) {
            abort();
        }
    }
    mg_buf_free(&in);
    return 0;
}
