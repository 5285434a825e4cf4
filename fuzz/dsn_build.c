/* libFuzzer target: the DSN builder's view of a hostile original (mta/dsn.c). Everything a
 * report copies from outside is fuzzed: the originator and ENVID, each recipient's address,
 * ORCPT (xtext decoding) and NOTIFY, the remote MTA's name, status code and diagnostic text
 * (a remote server's reply), and the original content (header scan, RET=HDRS/FULL, line ends).
 * Unit: four flag bytes (RET; NOTIFY | action << 4 of each recipient; options), then 12 fields separated by NUL bytes (originator, envid, and for two
 * recipients addr, orcpt, status, remote_mta, diagnostic), then the content (the rest).
 * A report that is built must go to the original originator from the null reverse path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "message.h"
#include "mg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NFIELDS 12

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > (1u << 20))
        return 0;
    const uint8_t *flags = data;
    data += 4;
    size -= 4;
    /* copy so every field is NUL-terminated; the content is what follows the last field */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    const char *fld[NFIELDS];
    size_t pos = 0, len = size;
    for (int i = 0; i < NFIELDS; i++) {
        fld[i] = pos <= len ? buf + pos : "";
        const char *z = pos < len ? memchr(buf + pos, 0, len - pos) : NULL;
        pos = z ? (size_t)(z - buf) + 1 : len + 1;
    }
    const unsigned char *content = (const unsigned char *)buf + (pos <= len ? pos : len);
    size_t clen = pos <= len ? len - pos : 0;

    struct message *m = message_create();
    if (!m) {
        free(buf);
        return 0;
    }
    message_set_originator(m, fld[0]);
    message_set_envid(m, fld[1][0] ? fld[1] : NULL);
    m->ret = (enum message_ret)(flags[0] % 3);
    struct dsn_rcpt r[2];
    size_t n = 0;
    for (int i = 0; i < 2; i++) {
        const char **rf = fld + 2 + i * 5;
        unsigned notify = flags[1 + i] & 0xf;
        if (message_add_rcpt(m, rf[0], rf[1][0] ? rf[1] : NULL, notify, NULL) != 0)
            continue;
        r[n] = (struct dsn_rcpt){
            .rcpt = (uint32_t)(m->nrcpts - 1),
            .action = (enum dsn_action)((flags[1 + i] >> 4) % 5),
            .status = rf[2][0] ? rf[2] : NULL,
            .remote_mta = rf[3][0] ? rf[3] : NULL,
            .diagnostic = rf[4][0] ? rf[4] : NULL,
            .last_attempt = (flags[3] & 1) ? 1765000000 : 0,
            .will_retry_until = (flags[3] & 2) ? 1766000000 : 0,
        };
        n++;
    }
    struct dsn_opts o = { .reporting_mta = "gw.example.org", .now = 1765000000,
                          .max_returned = (flags[3] & 4) ? 64 : 0, .priority = 1 };
    struct message *out = NULL;
    unsigned char *oc = NULL;
    size_t ol = 0;
    int rc = dsn_build(m, r, n, content, clen, &o, &out, &oc, &ol);
    if (rc == 0 && out) {
        if (!oc || out->nrcpts != 1 || strcmp(out->rcpts[0].addr, m->originator) != 0 ||
            out->originator[0] != '\0')
            abort();
    } else if (rc != 0 && (out || oc)) {
        abort();
    }
    message_free(out);
    free(oc);
    message_free(m);
    free(buf);
    return 0;
}
