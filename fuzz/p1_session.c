/* fuzz target p1_session: one TSDU parsed into SPDUs; what parses is encoded again and must
 * parse again to the same SPDU code (the encoder never writes what the parser refuses). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "p1_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct p1_spdu sp[P1_SESSION_MAX_SPDUS];
    size_t count = 0;
    const char *why = NULL;
    if (p1_session_parse(data, size, sp, &count, &why))
        return 0;
    for (size_t i = 0; i < count; i++) {
        if (sp[i].si == P1_SI_DT && i == 1)
            continue; /* the data SPDU header is written by p1_session_prepend_dt */
        struct mg_buf b;
        mg_buf_init(&b, 0);
        if (p1_session_encode(&b, &sp[i]) == 0) {
            struct p1_spdu back[P1_SESSION_MAX_SPDUS];
            size_t n = 0;
            if (sp[i].si != P1_SI_GT && sp[i].si != P1_SI_PT &&
                (p1_session_parse(b.data, b.len, back, &n, &why) || back[0].si != sp[i].si))
                abort();
        }
        mg_buf_free(&b);
    }
    return 0;
}
