/* fuzz target oraddr: the RFC 2156 textual O/R address parser (route values, P1 addresses
 * from peers via the queue, `check-config --route`) and the RFC 1278 presentation address
 * notation. The canonical form of a parsed address must parse again to the same form. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "oraddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct oraddr o, o2;
    char buf[ORADDR_TEXT_MAX * 2 + 64], buf2[sizeof buf], err[120];
    if (oraddr_parse(s, &o, err, sizeof err) == 0 && oraddr_format(&o, buf, sizeof buf) == 0) {
        if (oraddr_parse(buf, &o2, err, sizeof err) != 0 ||
            oraddr_format(&o2, buf2, sizeof buf2) != 0 || strcmp(buf, buf2) != 0 ||
            !oraddr_matches(&o, &o2))
            abort(); /* the canonical form must be stable */
    }
    struct config_sel p, ss, t;
    char *host = NULL;
    uint16_t port;
    config_parse_paddr(s, &p, &ss, &t, &host, &port);
    free(host);
    free(s);
    return 0;
}
