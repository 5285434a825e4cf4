/* Fuzz target: the message transfer envelope reader of MIXER (mixer_dsnp_env_from_ber) on
 * arbitrary bytes. An envelope that reads is written again (when it has what a written one
 * needs) and must read back to the same recipients and report requests. Never a crash, a
 * leak, or a read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_or.h"
#include "mg_buf.h"
#include "mixer_dsnp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    struct mixer_dsnp_env *e = calloc(1, sizeof *e), *b = calloc(1, sizeof *b);
    if (!e || !b) {
        free(e);
        free(b);
        return 0;
    }
    mixer_dsnp_env_init(e);
    mixer_dsnp_env_init(b);
    char why[256];
    struct mg_buf out;
    mg_buf_init(&out, 1024 * 1024);
    if (mixer_dsnp_env_from_ber(data, size, e, why, sizeof why) == 0 && e->nrcpts &&
        mixer_dsnp_env_to_ber(e, &out, why, sizeof why) == 0) {
        if (mixer_dsnp_env_from_ber(out.data, out.len, b, why, sizeof why) != 0 ||
            b->nrcpts != e->nrcpts)
            abort();
        for (size_t i = 0; i < e->nrcpts; i++)
            if (!fuzz_same_or(b->rcpts[i].addr, e->rcpts[i].addr) ||
                b->rcpts[i].indicators != e->rcpts[i].indicators)
                abort();
    }
    mg_buf_free(&out);
    mixer_dsnp_env_free(e);
    mixer_dsnp_env_free(b);
    free(e);
    free(b);
    return 0;
}
