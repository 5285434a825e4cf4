/* fuzz target p1_assoc: the whole inbound association (p1_assoc as responder) fed arbitrary
 * bytes, as mixgated would run it: binds from "percival.smhs.co.uk"/"excalibur" accepted,
 * others refused; APDUs acknowledged at once or after the next read; a small APDU limit on
 * one of the runs. Runs the input whole and in small reads (sizes from the input size, so the
 * initiator streams of real associations are good seeds). */
#include <stddef.h>
#include <stdint.h>

#include "p1_assoc.h"

static void events(struct p1_assoc *a, int defer, int *pending)
{
    struct p1_ind ind;
    while (p1_assoc_next_ind(a, &ind)) {
        if (ind.type == P1_IND_BIND_REQUEST) {
            const char *why;
            int err = p1_bind_check(&ind.bind, "percival.smhs.co.uk", "excalibur", &why);
            struct p1_bind ours = {1, "mixgate", "secret", 1};
            if (err)
                p1_assoc_bind_refuse(a, err);
            else
                p1_assoc_bind_accept(a, &ours);
        } else if (ind.type == P1_IND_APDU) {
            volatile uint8_t sum = 0;
            for (size_t i = 0; i < ind.apdu_len; i++)
                sum ^= ind.apdu[i];
            (void)sum;
            if (defer)
                *pending = 1;
            else
                p1_assoc_apdu_durable(a);
        }
    }
}

static void run(const uint8_t *data, size_t size, size_t chunk, int defer, size_t max_apdu)
{
    struct p1_assoc_cfg cfg = {.initiator = 0, .max_apdu = max_apdu, .max_tsdu = 1u << 16};
    struct p1_assoc a;
    p1_assoc_init(&a, &cfg);
    int pending = 0;
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (pending) {
            p1_assoc_apdu_durable(&a);
            pending = 0;
        }
        int rc = p1_assoc_input(&a, data + off, n);
        events(&a, defer, &pending);
        p1_chain_consume(&a.out, a.out.total);
        if (rc)
            break;
    }
    p1_assoc_timeout(&a);
    events(&a, 0, &pending);
    p1_assoc_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    run(data, size, size, 0, 0);
    run(data, size, size % 29 + 1, 1, 512);
    return 0;
}
