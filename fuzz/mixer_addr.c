/* Fuzz target: RFC 2156 address handling on arbitrary text. The input is parsed as a textual
 * O/R address (whose printed form must parse back to the same print), mapped 822 -> O/R
 * with the RFC's example MCGAMs (the result must print, parse back, and map to 822),
 * ps-decoded, and read as teletex text both ways (T.61 octets to RFC 2156 "{165}" text and
 * back must be the same octets). Never a crash, a leak, or an unterminated output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mixer_addr.h"
#include "mixer_or.h"
#include "mixer_orname.h"
#include "mixer_ps.h"
#include "mixer_table.h"

static const char t1[] = "AC.UK#PRMD$UK\\.AC.ADMD$GOLD 400.C$GB#\n"
                         "GMD.DE#O$@.PRMD$GMD.ADMD$DBP.C$DE#\n"
                         "XEROX.COM#O$Xerox.ADMD$ATT.C$US#\n";
static const char t2[] = "PRMD$UK\\.AC.ADMD$GOLD 400.C$GB#AC.UK#\n"
                         "O$@.PRMD$GMD.ADMD$DBP.C$DE#GMD.DE#\n"
                         "O$Xerox.ADMD$ATT.C$US#XEROX.COM#\n";

/* The gateway (the example MCGAM tables and its O/R address) is the target's fixture, as a
 * running channel loads it once at configuration: built once per process, read-only
 * afterwards. Loading the tables for every input was nearly half of the target's time. */
static struct mixer_tables fix_tables;
static struct mixer_gw fix_gw;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    mixer_tables_init(&fix_tables);
    if (mixer_tables_load(&fix_tables, MIXER_TABLE_RFC2OR, "t1", t1, sizeof t1 - 1, NULL, 0) != 0 ||
        mixer_tables_load(&fix_tables, MIXER_TABLE_OR2RFC, "t2", t2, sizeof t2 - 1, NULL, 0) != 0)
        abort();
    memset(&fix_gw, 0, sizeof fix_gw);
    fix_gw.tables = &fix_tables;
    strcpy(fix_gw.domain, "x400.example");
    if (mixer_or_parse("/C=GB/ADMD= /PRMD=Example/O=MIXER/", 34, &fix_gw.or, NULL, 0) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    static char out[4096], out2[4096], addr[2048];
    struct mixer_or or, again;
    const struct mixer_gw *gw = &fix_gw;

    if (size > 4096)
        return 0;
    if (mixer_or_parse(s, size, &or, out, sizeof out) == 0) {
        if (mixer_or_print(&or, out, sizeof out) == 0) {
            if (mixer_or_parse(out, strlen(out), &again, NULL, 0) != 0)
                abort();
            if (mixer_or_print(&again, out2, sizeof out2) != 0 || strcmp(out, out2) != 0)
                abort();
        }
    }
    (void)mixer_ps_decode(s, size, out, sizeof out);
    /* teletex attributes: the input as T.61 octets of a peer's O/R name, written as RFC 2156
     * text ("a{165}b"), must give the same octets back; and as such text from the 822 side */
    static unsigned char oct[4096];
    size_t ol = 0;
    if (mixer_orname_t61_text(data, size, out, sizeof out) == 0 &&
        (mixer_orname_t61_octets(out, strlen(out), oct, sizeof oct, &ol) != 0 || ol != size ||
         memcmp(oct, data, size) != 0))
        abort();
    (void)mixer_orname_t61_octets(s, size, oct, sizeof oct, &ol);

    if (mixer_addr_to_or(gw, s, size, &or, NULL, out, sizeof out) == 0) {
        if (mixer_or_print(&or, out, sizeof out) != 0 ||
            mixer_or_parse(out, strlen(out), &again, NULL, 0) != 0)
            abort();
        if (mixer_addr_to_822(gw, &or, addr, sizeof addr, NULL, out, sizeof out) == 0 &&
            strlen(addr) >= sizeof addr)
            abort();
    }
    return 0;
}
