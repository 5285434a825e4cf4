/* Fuzz target ipm_info / ipm_mm: decode an X.420 (P2/P22) or STANAG 4406 (P772) information
 * object; when it decodes, print it (tree and JSON, which decodes every open type in a
 * second step) and check that DER re-encoding is stable (decode(DER(v)) gives the same DER).
 * IPM_FUZZ_MM selects the P772 type. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_buf.h"
#include "mg_ipm.h"
#include "mg_print.h"

#ifdef IPM_FUZZ_MM
#define FUZZ_TD asn_DEF_MMInformationObject
#else
#define FUZZ_TD asn_DEF_InformationObject
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *v = NULL;
    struct mg_ipm_error err;
    if (mg_ipm_decode(&FUZZ_TD, data, size, &v, &err) != 0)
        return 0;
    FILE *sink = fopen("/dev/null", "w");
    if (sink) {
        struct mg_print_opts o = {0};
        mg_print_value(sink, &FUZZ_TD, v, NULL, &o);
        o.json = 1;
        mg_print_value(sink, &FUZZ_TD, v, NULL, &o);
        fclose(sink);
    }
    struct mg_buf d1, d2;
    mg_buf_init(&d1, 0);
    mg_buf_init(&d2, 0);
    if (mg_ipm_encode(&FUZZ_TD, v, &d1) == 0) {
        void *v2 = NULL;
        /* Our own DER must decode, and encode to the same bytes. */
        if (mg_ipm_decode(&FUZZ_TD, d1.data, d1.len, &v2, &err) != 0 ||
            mg_ipm_encode(&FUZZ_TD, v2, &d2) != 0 || d1.len != d2.len ||
            memcmp(d1.data, d2.data, d1.len) != 0) {
            fprintf(stderr, "ipm fuzz: DER re-encoding not stable (%s at %zu)\n", err.what,
                    err.offset);
            abort();
        }
        mg_ipm_free(&FUZZ_TD, v2);
    }
    mg_buf_free(&d1);
    mg_buf_free(&d2);
    mg_ipm_free(&FUZZ_TD, v);
    return 0;
}
