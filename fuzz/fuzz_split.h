/* Targets that take two inputs read them from one unit: a 2-byte big-endian length, the first
 * input, then the second (the rest). fuzz/gen-crypto-corpus.sh writes seeds in that shape. */
#ifndef FUZZ_SPLIT_H
#define FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>

/* 0 and the two parts, or -1 when the unit is too short for its own length prefix. */
static int fuzz_split(const uint8_t *data, size_t size, const uint8_t **a, size_t *alen,
                      const uint8_t **b, size_t *blen)
{
    if (size < 2)
        return -1;
    size_t n = ((size_t)data[0] << 8) | data[1];
    if (n > size - 2)
        return -1;
    *a = data + 2;
    *alen = n;
    *b = data + 2 + n;
    *blen = size - 2 - n;
    return 0;
}

#endif
