/* audit_fill: writes the fixed records cli_audit.sh reads.
 *   audit_fill DB          appends them without a loop and exits
 *   audit_fill --hold DB   appends them through the writer thread, prints "ready", and keeps
 *                          the store open (writer running) until a line or EOF on stdin, so
 *                          the CLI is shown to read beside a live writer. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "audit.h"
#include "mg_err.h"

static const unsigned char label_der[] = { 0x31, 0x0b, 0x80, 0x01, 0x02, 0x06, 0x06, 0x2b,
                                           0x06, 0x01, 0x04, 0x01, 0x00, 0x00, 0xff };
static const unsigned char cert_der[] = { 0x30, 0x82, 0x00, 0x02, 0x05, 0x00 };

static void on_done(void *arg, int status)
{
    int *st = arg;
    *st = status;
}

int main(int argc, char **argv)
{
    int hold = argc == 3 && !strcmp(argv[1], "--hold");
    if (argc != 2 + hold) {
        fprintf(stderr, "usage: audit_fill [--hold] DB\n");
        return 2;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000;
    const int64_t H = 3600LL * 1000000;
    /* times: 2026-11-05T08:00:00Z, 2026-11-06T09:00:00Z, +1 s, 2026-11-07T10:00:00Z, and two
     * relative to now (the relative filters of the CLI test) */
    const struct audit_record recs[] = {
        { .time_us = 1793865600000000LL, .qid = "0V9AAAAAAAAAA1", .channel = "smtp-in",
          .decision = "label-extracted", .reason = "ESS label from the header",
          .subject_kind = "label", .subject = label_der, .subject_len = sizeof label_der,
          .summary = "NATO SECRET" },
        { .time_us = 1793955600000000LL, .qid = "0V9AAAAAAAAAA1", .rcpt = "alice@example.org",
          .channel = "shaper", .decision = "access-granted", .reason = "clearance dominates" },
        { .time_us = 1793955601000000LL, .qid = "0V9AAAAAAAAAA1", .rcpt = "bob@example.org",
          .channel = "shaper", .decision = "access-denied",
          .reason = "clearance lacks category \"ALPHA\"", .summary = "policy=NATO a=b" },
        { .time_us = 1794045600000000LL, .qid = "0V9AAAAAAAAAA2", .channel = "cms-in",
          .decision = "cert-harvested", .reason = "from a signed message",
          .subject_kind = "cert", .subject = cert_der, .subject_len = sizeof cert_der,
          .summary = "CN=Alice, O=Example" },
        { .time_us = now - 3 * H, .qid = "0V9AAAAAAAAAA3", .channel = "cms-in",
          .decision = "signature-verified", .reason = "signer CN=Alice" },
        { .time_us = now - H / 2, .qid = "0V9AAAAAAAAAA3", .rcpt = "carol@example.org",
          .channel = "cms-in", .decision = "decrypted",
          .reason = "key\tslot 2 \xff\xfe bytes, caf\xc3\xa9" },
    };
    const size_t n = sizeof recs / sizeof recs[0];
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct audit *a = NULL;
    int rc = audit_open(&a, hold ? &loop : NULL, argv[argc - 1], NULL);
    if (rc == 0) {
        int st = 1;
        rc = audit_append(a, recs, n, hold ? on_done : NULL, &st);
        while (rc == 0 && hold && st == 1)
            uv_run(&loop, UV_RUN_ONCE);
        if (rc == 0 && hold)
            rc = st;
    }
    if (rc == 0 && hold) {
        printf("ready\n");
        fflush(stdout);
        char line[16];
        if (!fgets(line, sizeof line, stdin))
            line[0] = '\0';
    }
    audit_close(a);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (rc != 0) {
        fprintf(stderr, "audit_fill: %s\n", mg_strerror(rc));
        return 1;
    }
    return 0;
}
