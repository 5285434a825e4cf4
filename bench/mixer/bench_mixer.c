/* bench_mixer: conversions per second of a 4 KB message both ways with the mixer library
 * (RFC 2156 example tables, P772 target), measured for about a second each. Prints one line
 * per direction: "mixer to-x400 N conv/s (X MB/s)". The end-to-end rate through the daemons
 * needs the P1 channel kind (not registered yet). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_buf.h"
#include "mixer_conv.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    static const char t1[] = "AC.UK#PRMD$UK\\.AC.ADMD$GOLD 400.C$GB#\n";
    static const char t2[] = "PRMD$UK\\.AC.ADMD$GOLD 400.C$GB#AC.UK#\n";
    struct mixer_tables t;
    struct mixer_gw gw;
    mixer_tables_init(&t);
    if (mixer_tables_load(&t, MIXER_TABLE_RFC2OR, "t1", t1, sizeof t1 - 1, NULL, 0) ||
        mixer_tables_load(&t, MIXER_TABLE_OR2RFC, "t2", t2, sizeof t2 - 1, NULL, 0))
        return 1;
    memset(&gw, 0, sizeof gw);
    gw.tables = &t;
    strcpy(gw.domain, "x400.example");
    if (mixer_or_parse("/C=GB/ADMD= /PRMD=Example/O=MIXER/", 34, &gw.or, NULL, 0))
        return 1;
    /* a typical 4 KB message: a dozen header fields, MMHS fields, text body */
    struct mg_buf msg;
    mg_buf_init(&msg, 0);
    mg_buf_appendf(&msg, "Date: Mon, 7 Dec 2026 02:59:58 +0000\r\nFrom: Ops <ops@r-d.salford.ac.uk>\r\n"
                         "To: Alice.Smith@R-D.Salford.AC.UK, Bob <bob@cs.widget.com>\r\n"
                         "Cc: M.T.Rose@ac.uk\r\nSubject: Quarterly figures\r\n"
                         "Message-ID: <20261207.1@ac.uk>\r\nIn-Reply-To: <prev@ac.uk>\r\n"
                         "Received: from a by b; Mon, 7 Dec 2026 02:59:58 +0000\r\n"
                         "MMHS-Primary-Precedence: flash\r\nMMHS-Subject-Indicator-Codes: ABC\r\n"
                         "X-Mailer: bench\r\n\r\n");
    while (msg.len < 4096)
        mg_buf_appendf(&msg, "The quick brown fox jumps over the lazy dog, line %zu.\r\n", msg.len);
    struct mg_buf ber, back;
    mg_buf_init(&ber, 0);
    mg_buf_init(&back, 0);
    char why[256];
    if (mixer_conv_to_x400(&gw, MIXER_CONTENT_P772, msg.data, msg.len, &ber, why, sizeof why)) {
        fprintf(stderr, "to-x400: %s\n", why);
        return 1;
    }
    for (int dir = 0; dir < 2; dir++) {
        long n = 0;
        double t0 = now(), el;
        do {
            for (int k = 0; k < 50; k++, n++) {
                int rc;
                mg_buf_reset(&back);
                rc = dir == 0 ? mixer_conv_to_x400(&gw, MIXER_CONTENT_P772, msg.data, msg.len,
                                                   &back, why, sizeof why)
                              : mixer_conv_to_822(&gw, MIXER_CONTENT_P772, ber.data, ber.len, &back,
                                                  why, sizeof why);
                if (rc) {
                    fprintf(stderr, "%s\n", why);
                    return 1;
                }
            }
            el = now() - t0;
        } while (el < 1.0);
        printf("mixer %s %.0f conv/s (%.1f MB/s of %zu-byte messages)\n",
               dir == 0 ? "to-x400" : "to-smtp", n / el, n * (double)msg.len / el / 1e6, msg.len);
    }
    mg_buf_free(&msg);
    mg_buf_free(&ber);
    mg_buf_free(&back);
    mixer_tables_free(&t);
    return 0;
}
