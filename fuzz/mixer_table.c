/* Fuzz target: the MCGAM table loader (RFC 2156 appendix F and PP syntax) on arbitrary text,
 * as each of the four tables (MCGAMs 1 and 2, preferred gateways 3 and 4). A failure must name
 * "fz:<line>" with a line inside the input;
 * loaded tables are looked up with a few addresses and checked for cross-table conflicts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mixer_addr.h"
#include "mixer_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct mixer_tables t;
    char err[256];
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += s[i] == '\n';
    mixer_tables_init(&t);
    for (int k = 0; k < MIXER_TABLE_KINDS; k++) {
        err[0] = 0;
        int rc = mixer_tables_load(&t, (enum mixer_table_kind)k, "fz", s, size, err, sizeof err);
        if (rc) {
            unsigned line = 0;
            if (sscanf(err, "fz:%u:", &line) != 1 || line == 0 || line > lines)
                abort();
        }
    }
    struct mixer_gw gw;
    memset(&gw, 0, sizeof gw);
    gw.tables = &t;
    strcpy(gw.domain, "x400.example");
    (void)mixer_or_parse("/C=GB/ADMD= /O=GW/", 18, &gw.or, NULL, 0);
    static const char *const probes[] = {"a.b@x.ac.uk", "J.Smith@xtel.co.uk", "x@fr"};
    for (size_t i = 0; i < 3; i++) {
        struct mixer_or or;
        char out[2048];
        if (mixer_addr_to_or(&gw, probes[i], strlen(probes[i]), &or, NULL, NULL, 0) == 0)
            (void)mixer_addr_to_822(&gw, &or, out, sizeof out, NULL, NULL, 0);
        if (mixer_addr_to_or_ex(&gw, probes[i], strlen(probes[i]), MIXER_ADDR_USE_RETURN, &or,
                                NULL, NULL, 0) == 0)
            (void)mixer_addr_to_822(&gw, &or, out, sizeof out, NULL, NULL, 0);
    }
    for (size_t k = 0; k < MIXER_TABLE_KINDS; k++)
        for (size_t i = 0; i < t.n[k] && i < 8; i++) {
            struct mixer_or or;
            char out[2048];
            mixer_or_init(&or);
            for (size_t l = 0; l < t.e[k][i].nlevels && l < MIXER_TABLE_LEVELS; l++)
                if (!t.e[k][i].level[l].omitted)
                    (void)mixer_or_add(&or, mixer_tables_level_key(l), NULL,
                                       t.e[k][i].level[l].value,
                                       strlen(t.e[k][i].level[l].value));
            (void)mixer_or_add(&or, MIXER_OR_S, NULL, "x", 1);
            (void)mixer_addr_to_822(&gw, &or, out, sizeof out, NULL, NULL, 0);
        }
    (void)mixer_tables_check(&t, err, sizeof err);
    mixer_tables_free(&t);
    return 0;
}
