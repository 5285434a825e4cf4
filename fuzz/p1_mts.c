/* fuzz target p1_mts: an MTS-APDU from a peer mapped to the switch's plain fields
 * (p1_mts_decode: O/R names to text, the envelope slice, the trace check, the deferred
 * delivery time, a probe's encoded information types) and, when it decodes, relayed with our
 * trace element (p1_mts_relay), which must decode again to the same recipients and content;
 * the stored envelope's deferred delivery time read again (p1_mts_deferred_time) must agree;
 * a report's content put in a new envelope of ours (p1_mts_report_apdu) must decode; the
 * envelope with another security label (p1_mts_env_set_label, a relay after a shaper) must
 * relay and decode with that label and the same recipients. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p1_mts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oraddr us;
    if (oraddr_parse("/C=XX/ADMD= /PRMD=FUZZ/", &us, NULL, 0) != 0)
        abort();
    struct p1_mts_in m;
    char why[200];
    if (p1_mts_decode(data, size, &us, &m, why, sizeof why) != 0)
        return 0;
    uint8_t *relay = NULL;
    size_t rlen = 0;
    if (m.kind != P1_MTS_PROBE &&
        p1_mts_relay(m.envelope, m.envelope_len, m.kind == P1_MTS_REPORT, m.content,
                     m.content_len, &us, 0, &relay, &rlen) == 0) {
        struct p1_mts_in r;
        if (p1_mts_decode(relay, rlen, &us, &r, why, sizeof why) == 0) {
            if (r.nrcpts != m.nrcpts || r.content_len != m.content_len ||
                (m.content_len && memcmp(r.content, m.content, m.content_len)) ||
                r.ntrace != m.ntrace + 1 || !r.trace_has_us)
                abort(); /* a relay changes nothing but the trace */
            p1_mts_in_free(&r);
        }
        free(relay);
    }
    if (m.kind != P1_MTS_PROBE) {
        static const uint8_t label[] = { 0x31, 0x07, 0x02, 0x01, 0x03, 0x06, 0x02, 0x2a, 0x03 };
        uint8_t *env = NULL, *rel = NULL;
        size_t elen = 0, rl = 0;
        int rep = m.kind == P1_MTS_REPORT;
        if (p1_mts_env_set_label(m.envelope, m.envelope_len, rep, label, sizeof label, &env, &elen) == 0 &&
            env && p1_mts_relay(env, elen, rep, m.content, m.content_len, &us, 0, &rel, &rl) == 0) {
            struct p1_mts_in r;
            if (p1_mts_decode(rel, rl, &us, &r, why, sizeof why) == 0) {
                if (r.nrcpts != m.nrcpts || r.label_len != sizeof label || memcmp(r.label, label, sizeof label))
                    abort(); /* the label replaced, nothing else */
                p1_mts_in_free(&r);
            }
            free(rel);
        }
        free(env);
    }
    if (m.kind == P1_MTS_MESSAGE) {
        int64_t when = -1;
        int d = p1_mts_deferred_time(m.envelope, m.envelope_len, &when);
        if ((d == 1 && when != m.deferred) || (d == 0 && m.deferred != 0) || d < 0)
            abort(); /* the queue's reading of the stored envelope is the decode's */
        /* the p1 channel's reading of the report requests (a primitive BIT STRING only)
         * never finds one the decode did not */
        for (size_t i = 0; i < m.nrcpts; i++) {
            if (p1_mts_report_requested(m.envelope, m.envelope_len, m.rcpts[i].addr) != 1)
                continue;
            int found = 0;
            for (size_t j = 0; j < m.nrcpts && !found; j++)
                found = m.rcpts[j].delivery_report && !strcmp(m.rcpts[j].addr, m.rcpts[i].addr);
            if (!found)
                abort();
        }
    }
    if (m.kind == P1_MTS_REPORT && m.content_len) {
        uint8_t *rep = NULL;
        size_t replen = 0;
        if (p1_mts_report_apdu(&us, "RFUZZ", m.rcpts[0].addr, 0, m.content, m.content_len, NULL, 0,
                               &rep, &replen, why, sizeof why) == 0) {
            struct p1_mts_in r;
            if (p1_mts_decode(rep, replen, &us, &r, why, sizeof why) != 0 ||
                r.kind != P1_MTS_REPORT || r.content_len != m.content_len)
                abort(); /* what we send decodes */
            p1_mts_in_free(&r);
            free(rep);
        }
    }
    p1_mts_in_free(&m);
    return 0;
}
