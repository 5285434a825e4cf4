/* Fuzz target: metrics_http_parse (mta/metrics.c) on arbitrary bytes. Beyond "no crash": an
 * accepted request gives a path that starts with '/', has no byte outside 0x21..0x7e and no
 * '?', and fits the buffer; a complete head is never "incomplete". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "mg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    int head = -1;
    int rc = metrics_http_parse((const char *)data, size, path, sizeof path, &head);
    if (rc != 0 && rc != MG_EINCOMPLETE && rc != MG_ETOOBIG && rc != MG_ENOTSUP && rc != MG_EPARSE)
        abort();
    if (rc == 0 || rc == MG_ENOTSUP) {
        size_t n = strlen(path);
        if (n == 0 || n >= sizeof path || path[0] != '/' || strchr(path, '?'))
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)path[i] <= 0x20 || (unsigned char)path[i] >= 0x7f)
                abort();
    }
    if (rc == MG_EINCOMPLETE && size >= METRICS_HTTP_MAX_HEAD)
        abort();
    return 0;
}
