/* Fuzz target: the MIXER content conversions on hostile input. Built twice: MIXER_FUZZ_TO_X400
 * reads the input as an RFC 5322 message and converts it to P772 (then, when that worked,
 * back to RFC 5322, which must succeed: what we produce we must read); otherwise the input is
 * P22/P772 BER converted to RFC 5322 (and, when that worked, to X.400 again, which must also
 * succeed unless an address has no X.400 form). The channel's own reads of its input go along:
 * the precedence of a message, the content kind (P22 or P772) of BER. Never a crash, a leak,
 * or an abort. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_buf.h"
#include "mg_err.h"
#include "mixer_conv.h"
#include "mixer_env.h"

static const char t1[] = "AC.UK#PRMD$UK\\.AC.ADMD$GOLD 400.C$GB#\n"
                         "XEROX.COM#O$Xerox.ADMD$ATT.C$US#\n";
static const char t2[] = "PRMD$UK\\.AC.ADMD$GOLD 400.C$GB#AC.UK#\n"
                         "O$Xerox.ADMD$ATT.C$US#XEROX.COM#\n";

/* The gateway (its tables and O/R address) is the target's fixture, as a running channel
 * loads it once at configuration: built once per process, read-only afterwards; fix_gw_mdn is
 * the same gateway writing notifications as MDNs. Loading the tables for every input cost
 * about 5% of the time of mixer_to_x400. */
static struct mixer_tables fix_tables;
static struct mixer_gw fix_gw, fix_gw_mdn;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    mixer_tables_init(&fix_tables);
    if (mixer_tables_load(&fix_tables, MIXER_TABLE_RFC2OR, "t1", t1, sizeof t1 - 1, NULL, 0) ||
        mixer_tables_load(&fix_tables, MIXER_TABLE_OR2RFC, "t2", t2, sizeof t2 - 1, NULL, 0))
        abort();
    memset(&fix_gw, 0, sizeof fix_gw);
    fix_gw.tables = &fix_tables;
    strcpy(fix_gw.domain, "x400.example");
    if (mixer_or_parse("/C=GB/ADMD= /PRMD=Example/O=MIXER/", 34, &fix_gw.or, NULL, 0))
        abort();
    fix_gw_mdn = fix_gw;
    fix_gw_mdn.flags |= MIXER_GW_IPN_AS_MDN;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct mixer_gw *gw = &fix_gw;
    struct mg_buf a, b;
    char why[512];
    if (size > (1u << 20))
        return 0;
    mg_buf_init(&a, 0);
    mg_buf_init(&b, 0);
#ifdef MIXER_FUZZ_TO_X400
    /* all three targets: P772, P22, P2 (1984) by the input's size */
    static const enum mixer_content cts[3] = {MIXER_CONTENT_P772, MIXER_CONTENT_P22,
                                              MIXER_CONTENT_P2};
    enum mixer_content ct = cts[size % 3];
    /* the envelope fields an Internet message states (X400-Received, Priority, ...) */
    struct mixer_env *env = malloc(sizeof *env);
    if (env) {
        mixer_env_init(env);
        int frc = mixer_env_from_headers(data, size, env);
        if (frc == 0)
            (void)mixer_env_to_headers(gw, env, &b);
        /* the channel's own read of the priority must say what the whole read says */
        if (frc != MG_ENOMEM && mixer_env_priority(data, size) != (frc == 0 ? env->priority : -1))
            abort();
        mg_buf_reset(&b);
        free(env);
    }
    /* the channel reads the precedence of the message it is given (MMHS-Primary-Precedence) */
    int prec = mixer_conv_precedence(data, size);
    if (prec < -1 || prec > 31)
        abort();
    if (mixer_conv_to_x400(gw, ct, data, size, &a, why, sizeof why) == 0) {
        int rc = mixer_conv_to_822(gw, ct, a.data, a.len, &b, why, sizeof why);
        if (rc && rc != MG_ETOOBIG)
            abort();
    }
#else
    /* both notification styles: RFC 2156 text, or an MDN (odd sizes) */
    if (size & 1)
        gw = &fix_gw_mdn;
    /* the channel tells P772 from P22 by the heading's extensions of the content it is given */
    enum mixer_content kind;
    if (mixer_conv_content_kind(data, size, &kind) == 0 && kind != MIXER_CONTENT_P22 &&
        kind != MIXER_CONTENT_P772)
        abort();
    if (mixer_conv_to_822(gw, MIXER_CONTENT_P22, data, size, &a, why, sizeof why) == 0) {
        int prec = mixer_conv_precedence(a.data, a.len);
        if (prec < -1 || prec > 31)
            abort();
        (void)mixer_conv_to_x400(gw, MIXER_CONTENT_P22, a.data, a.len, &b, why, sizeof why);
    }
#endif
    mg_buf_free(&a);
    mg_buf_free(&b);
    return 0;
}
