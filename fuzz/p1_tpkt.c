/* fuzz target p1_tpkt: RFC 1006 / COTP class 0 reassembly fed arbitrary bytes, as a responder
 * and as an initiator, whole and in small reads (the read size follows from the input size so
 * raw TPKT streams are good seeds). Every TSDU handed up is read to its end. */
#include <stddef.h>
#include <stdint.h>

#include "p1_tpkt.h"

static void run(const uint8_t *data, size_t size, int initiator, size_t chunk)
{
    struct p1_tpkt t;
    struct p1_chain out;
    p1_tpkt_init(&t, initiator, 1u << 16, 0);
    p1_chain_init(&out);
    volatile uint8_t sum = 0;
    size_t off = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk, used = 0;
        struct p1_tpkt_ind ind;
        if (p1_tpkt_input(&t, data + off, n, &used, &ind))
            break;
        off += used;
        if (ind.type == P1_TPKT_CONNECT)
            p1_tpkt_accept(&t, &ind, &out);
        if (ind.type == P1_TPKT_DATA)
            for (size_t i = 0; i < ind.len; i++)
                sum ^= ind.data[i];
        if (used == 0 && ind.type == P1_TPKT_NONE)
            break;
    }
    (void)sum;
    p1_chain_free(&out);
    p1_tpkt_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, 0, size ? size : 1);
    run(data, size, 1, size ? size : 1);
    run(data, size, 0, size % 13 + 1);
    return 0;
}
