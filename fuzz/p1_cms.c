/* libFuzzer target: the P1 channel's reading of CMS-protected X.400 content (channels/p1/
 * p1_cms.c) on arbitrary bytes: p1_cms_is_content_info (content from outside) and
 * p1_cms_retype of a stored envelope; p1_cms_content_type (the IPM heading read when the
 * content was opened) and p1_cms_set_type to what it names. A retyped envelope must be one
 * envelope again, with exactly one content type, the one asked for. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p1_cms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)p1_cms_is_content_info(data, size);
    uint8_t *out = NULL, *again = NULL;
    size_t n = 0, n2 = 0;
    if (p1_cms_retype(data, size, P1_CMS_CONTENT_INFO, &out, &n) == 0) {
        if (p1_cms_retype(out, n, P1_CMS_CONTENT_INFO, &again, &n2) != 0 || n2 != n)
            abort();
    }
    free(out);
    free(again);
    char ct[72];
    if (p1_cms_content_type(data, size, P1_CMS_CONTENT_INFO, ct, sizeof ct) < 0 ||
        (strcmp(ct, "22") && strcmp(ct, P1_CMS_P772) && strcmp(ct, P1_CMS_CONTENT_INFO)))
        abort();
    out = again = NULL;
    if (p1_cms_set_type(data, size, ct, &out, &n) == 0) {
        if (p1_cms_set_type(out, n, ct, &again, &n2) != 0 || n2 != n || memcmp(out, again, n))
            abort();
    }
    free(out);
    free(again);
    return 0;
}
