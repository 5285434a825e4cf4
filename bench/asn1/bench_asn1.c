/* bench_asn1: time of decoding (BER + constraint check, mg_asn1_decode) and of decoding then
 * re-encoding to DER, per P1 message and in MB/s, for the real 763-byte P1 MTS-APDU capture
 * and for a 1 MB P1 message made from it (its P772 content's IA5 text body grown to 1 MB);
 * the P772 content alone (435 B and 1 MB) is measured through mg_ipm too.
 * Usage: bench_asn1 P1_VECTOR [SECONDS_PER_CASE] [WRITE_1MB_TO]
 * Prints one line per case; the 1 MB message can be written out for a peer parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_asn1.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_ipm.h"

#include "Body.h"
#include "BodyPart.h"
#include "IA5TextBodyPart.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs decode (and re-encode) of buf as td for about secs seconds; prints the figures. */
static int run_case(const char *name, asn_TYPE_descriptor_t *td, int ipm, const unsigned char *buf,
                    size_t len, double secs)
{
    for (int reencode = 0; reencode <= 1; reencode++) {
        long n = 0;
        double t0 = now(), t = t0;
        while (t - t0 < secs || n < 3) {
            void *v = NULL;
            int rc;
            if (ipm) {
                rc = mg_ipm_decode(td, buf, len, &v, NULL);
            } else {
                struct mg_asn1_err e;
                rc = mg_asn1_decode(td, buf, len, &v, &e);
            }
            if (rc) {
                fprintf(stderr, "bench_asn1: %s does not decode: %s\n", name, mg_strerror(rc));
                return 1;
            }
            if (reencode) {
                struct mg_buf out;
                mg_buf_init(&out, 0);
                if (mg_ipm_encode(td, v, &out) != 0) {
                    fprintf(stderr, "bench_asn1: %s does not encode\n", name);
                    return 1;
                }
                mg_buf_free(&out);
            }
            mg_ipm_free(td, v);
            n++;
            t = now();
        }
        double per = (t - t0) / (double)n;
        printf("%-34s %-18s %9zu B  %10.1f us/msg  %9.1f msg/s  %8.2f MB/s\n", name,
               reencode ? "decode+reencode" : "decode", len, per * 1e6, 1.0 / per,
               (double)len / per / 1e6);
    }
    return 0;
}

/* Builds a P1 message like the vector whose P772 text body is about target bytes. */
static int make_big(const unsigned char *p1, size_t p1len, size_t target, struct mg_buf *out,
                    struct mg_buf *content_out)
{
    MTS_APDU_t *apdu = NULL;
    if (mg_asn1_decode(&asn_DEF_MTS_APDU, p1, p1len, (void **)&apdu, NULL) != 0 ||
        apdu->present != MTS_APDU_PR_message)
        return MG_EPARSE;
    Content_t *content = &apdu->choice.message.content;
    MMInformationObject_t *mm = NULL;
    int rc = mg_ipm_decode_mm(content->buf, (size_t)content->size, &mm, NULL);
    if (rc)
        goto done;
    BodyPart_t *bp = mm->choice.mm.body->list.array[0];
    IA5TextData_t *text = &bp->choice.basic.choice.ia5_text.data;
    char *big = malloc(target);
    if (!big) {
        rc = MG_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < target; i++) /* 72-column lines of text */
        big[i] = (i % 74 == 72) ? '\r' : (i % 74 == 73) ? '\n' : (char)('A' + i % 26);
    OCTET_STRING_fromBuf(text, big, (int)target);
    free(big);
    struct mg_buf c;
    mg_buf_init(&c, 0);
    rc = mg_ipm_encode(&asn_DEF_MMInformationObject, mm, &c);
    if (rc == 0) {
        mg_buf_append(content_out, c.data, c.len);
        OCTET_STRING_fromBuf(content, (const char *)c.data, (int)c.len);
        rc = mg_ipm_encode(&asn_DEF_MTS_APDU, apdu, out);
    }
    mg_buf_free(&c);
done:
    mg_ipm_free(&asn_DEF_MMInformationObject, mm);
    mg_ipm_free(&asn_DEF_MTS_APDU, apdu);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_asn1 P1_VECTOR [SECONDS_PER_CASE] [WRITE_1MB_TO]\n");
        return 2;
    }
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    unsigned char *p1;
    size_t p1len;
    if (mg_read_file(argv[1], 0, &p1, &p1len) != 0) {
        fprintf(stderr, "bench_asn1: cannot read %s\n", argv[1]);
        return 2;
    }
    struct mg_buf big, bigc;
    mg_buf_init(&big, 0);
    mg_buf_init(&bigc, 0);
    int rc = make_big(p1, p1len, 1024 * 1024, &big, &bigc);
    if (rc) {
        fprintf(stderr, "bench_asn1: cannot build the 1 MB message: %s\n", mg_strerror(rc));
        return 1;
    }
    if (argc > 3 && mg_write_file_atomic(argv[3], big.data, big.len, 0644) != 0)
        fprintf(stderr, "bench_asn1: cannot write %s\n", argv[3]);

    /* The P772 content of the real message, for mg_ipm alone. */
    MTS_APDU_t *apdu = NULL;
    if (mg_asn1_decode(&asn_DEF_MTS_APDU, p1, p1len, (void **)&apdu, NULL) != 0)
        return 1;
    struct mg_buf content;
    mg_buf_init(&content, 0);
    mg_buf_append(&content, apdu->choice.message.content.buf,
                  (size_t)apdu->choice.message.content.size);
    mg_ipm_free(&asn_DEF_MTS_APDU, apdu);

    rc = run_case("P1 MTS-APDU (capture, BER indef)", &asn_DEF_MTS_APDU, 0, p1, p1len, secs);
    rc |= run_case("P1 MTS-APDU (1 MB, DER)", &asn_DEF_MTS_APDU, 0, big.data, big.len, secs);
    rc |= run_case("P772 content (capture, BER)", &asn_DEF_MMInformationObject, 1, content.data,
                   content.len, secs);
    rc |= run_case("P772 content (1 MB, DER)", &asn_DEF_MMInformationObject, 1, bigc.data,
                   bigc.len, secs);
    mg_buf_free(&content);
    mg_buf_free(&big);
    mg_buf_free(&bigc);
    free(p1);
    return rc ? 1 : 0;
}
