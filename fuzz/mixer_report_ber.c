/* Fuzz target: the X.400 report readers of MIXER (mixer_report_from_ber, and the envelope
 * reader mixer_report_envelope_from_ber) on arbitrary bytes. A report that decodes is written
 * as a DSN and as DER again; the DER must decode to the same recipients and codes. Never a
 * crash, a leak, or a read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_buf.h"
#include "mixer_or.h"
#include "mixer_report.h"

/* The two reports (156 KB each) are allocated once per process and reused: the content reader
 * starts with mixer_report_init and the envelope reader's is zeroed here first, so nothing of
 * an earlier input is left in them. A calloc of each per input was an mmap, page faults on
 * every page and an munmap under ASan: about 45% of the target's time. */
static struct mixer_report *fix_r, *fix_back;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fix_r = malloc(sizeof *fix_r);
    fix_back = malloc(sizeof *fix_back);
    if (!fix_r || !fix_back)
        abort();
    return 0;
}

/* Whether two O/R address texts name the same address as RFC 2156 reads them. The text form
 * cannot say "no ADMD": an omitted ADMD is a single space (4.1.3), so a name that arrived in
 * BER with a country and without an ADMD reads back with "ADMD= " once written from its text.
 * Both sides are parsed and printed again; a text that does not parse compares as it is. */
static int same_or(const char *a, const char *b)
{
    static struct mixer_or oa, ob; /* a few kB each: not on the stack of every input */
    char ta[1024], tb[1024];
    if (mixer_or_parse(a, strlen(a), &oa, NULL, 0) != 0 ||
        mixer_or_parse(b, strlen(b), &ob, NULL, 0) != 0 ||
        mixer_or_print(&oa, ta, sizeof ta) != 0 || mixer_or_print(&ob, tb, sizeof tb) != 0)
        return strcmp(a, b) == 0;
    return strcmp(ta, tb) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    struct mixer_report *r = fix_r, *back = fix_back;
    struct mg_buf ret, ret2, dsn, ber;
    mg_buf_init(&ret, 0);
    mg_buf_init(&ret2, 0);
    mg_buf_init(&dsn, 1024 * 1024);
    mg_buf_init(&ber, 1024 * 1024);
    char why[256];
    /* the envelope reader fills in a report it is given (the channel's is zeroed) */
    mixer_report_init(back);
    (void)mixer_report_envelope_from_ber(data, size, back, why, sizeof why);
    if (mixer_report_from_ber(data, size, r, &ret, why, sizeof why) == 0) {
        struct mixer_report_dsn_opts o = {.gateway = "gw.example", .to = "a@example",
                                          .message_id = "m@gw.example", .now = 0};
        (void)mixer_report_to_dsn(r, &o, &dsn);
        if (mixer_report_to_ber(r, "700101000000Z", &ber, why, sizeof why) == 0) {
            if (mixer_report_from_ber(ber.data, ber.len, back, &ret2, why, sizeof why) != 0 ||
                back->nrcpts != r->nrcpts)
                abort();
            for (size_t i = 0; i < r->nrcpts; i++)
                if (back->rcpts[i].delivered != r->rcpts[i].delivered ||
                    back->rcpts[i].reason != r->rcpts[i].reason ||
                    back->rcpts[i].diagnostic != r->rcpts[i].diagnostic ||
                    !same_or(back->rcpts[i].final_rcpt, r->rcpts[i].final_rcpt))
                    abort();
        }
    }
    mg_buf_free(&ret);
    mg_buf_free(&ret2);
    mg_buf_free(&dsn);
    mg_buf_free(&ber);
    return 0;
}
