/* libFuzzer target: cms_keyproc_parse_request on arbitrary bytes (the key process's request
 * parser). Every input must return 0 or an MG_E* code; a parsed request's fields must lie
 * inside the input and within their type's limits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cms_keyproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cms_keyproc_req *q = malloc(sizeof *q);
    if (!q)
        return 0;
    if (cms_keyproc_parse_request(data, size, q) == 0) {
        if (q->type == CMS_KEYPROC_LOAD) {
            if (!q->path[0] || strlen(q->path) > CMS_KEYPROC_MAX_PATH)
                abort();
        } else if (!q->data || q->data < data + CMS_KEYPROC_HDR || q->data + q->len > data + size ||
                   q->len == 0) {
            abort();
        }
    }
    free(q);
    return 0;
}
