/* test_p1_make_apdu: the p1 channel's APDU for one delivery (p1_channel_make_apdu) names the
 * content type of the content version it carries. Named cases over a stored envelope (relayed,
 * retyped when the version is not the one received) and over a new envelope (a message made
 * here): each APDU decoded again (p1_mts_decode) for its content type and content octets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channel.h"
#include "config.h"
#include "content.h"
#include "message.h"
#include "p1_channel_int.h"
#include "p1_cms.h"
#include "mg_err.h"
#include "p1_mts.h"

static const uint8_t SIGNED[] = { 0x30, 0x12, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
                                  0x07, 0x02, 0xa0, 0x05, 0x30, 0x03, 0x02, 0x01, 0x03 };

#define ORIG "/C=XX/ADMD= /PRMD=A/S=op/"
#define RCPT "/C=GB/ADMD= /PRMD=X/S=y/"

static unsigned char *slurp(const char *which, size_t *n)
{
    char path[1024];
    if (!strcmp(which, "p772")) {
        const char *vec = getenv("MIXGATE_VECTORS");
        snprintf(path, sizeof path, "%s/x400/ber/wsample-p772-content.p772", vec ? vec : "/nonexistent");
    } else {
        snprintf(path, sizeof path, "%s/test-vectors/mixer/smtp/plain.p22", MIXGATE_SOURCE_DIR);
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    unsigned char *b = malloc(1 << 20);
    assert_non_null(b);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

struct case_ {
    const char *name;
    const char *stored;      /* the envelope's content type as received; NULL: no envelope */
    const char *content;     /* "p772", "p22" or "cms" */
    uint32_t cversion;       /* the recipients' content version */
    const char *want;
    const char *version_oid; /* the type the version's maker said (content_oid); NULL none */
};

static const struct case_ cases[] = {
    { "stored_cti_opened_p772_retyped", P1_CMS_CONTENT_INFO, "p772", 1, P1_CMS_P772, NULL },
    { "stored_cti_opened_p22_retyped", P1_CMS_CONTENT_INFO, "p22", 2, "22", NULL },
    { "stored_p772_protected_typed_cti", P1_CMS_P772, "cms", 1, P1_CMS_CONTENT_INFO, NULL },
    { "stored_p772_as_received_kept", P1_CMS_P772, "p772", 0, P1_CMS_P772, NULL },
    { "stored_cti_as_received_kept", P1_CMS_CONTENT_INFO, "cms", 0, P1_CMS_CONTENT_INFO, NULL },
    { "stored_p22_oid_processed_kept", "2.6.1.10.1", "p772", 1, "2.6.1.10.1", NULL },
    { "new_envelope_p772", NULL, "p772", 1, P1_CMS_P772, NULL },
    { "new_envelope_p22", NULL, "p22", 1, "22", NULL },
    { "new_envelope_cms", NULL, "cms", 1, P1_CMS_CONTENT_INFO, NULL },
    /* the version names its type: a P772 whose heading has no STANAG 4406 extension (the
     * plain P22 bytes) stays P772, where the bytes alone would say P22 */
    { "version_p772_without_heading_ext", P1_CMS_CONTENT_INFO, "p22", 1, P1_CMS_P772,
      P1_CMS_P772 },
    { "version_p22_oid_built_in", P1_CMS_CONTENT_INFO, "p772", 1, "22", "2.6.1.10.1" },
    { "version_p2_oid_built_in", P1_CMS_CONTENT_INFO, "p22", 1, "2", "2.6.1.10.0" },
    { "version_cti_wrapped", P1_CMS_P772, "cms", 1, P1_CMS_CONTENT_INFO, P1_CMS_CONTENT_INFO },
    { "version_same_type_other_form_kept", "2.6.1.10.1", "p22", 1, "2.6.1.10.1", "22" },
    { "version_cms_stored_cms_kept", "1.2.840.113549.1.7.2", "cms", 1, "1.2.840.113549.1.7.2",
      P1_CMS_CONTENT_INFO },
    { "version_as_received_ignored", P1_CMS_CONTENT_INFO, "cms", 0, P1_CMS_CONTENT_INFO,
      P1_CMS_P772 },
    { "new_envelope_version_p772", NULL, "p22", 1, P1_CMS_P772, P1_CMS_P772 },
};

static void run(void **state)
{
    const struct case_ *c = *state;
    size_t clen = 0;
    unsigned char *cbytes;
    if (!strcmp(c->content, "cms")) {
        clen = sizeof SIGNED;
        cbytes = malloc(clen);
        assert_non_null(cbytes);
        memcpy(cbytes, SIGNED, clen);
    } else {
        cbytes = slurp(c->content, &clen);
    }
    struct message *m = message_create();
    assert_non_null(m);
    snprintf(m->id, sizeof m->id, "%s", "1K20TESTAPDU00");
    assert_int_equal(message_set_originator(m, ORIG), 0);
    struct message_rcpt *r = NULL;
    assert_int_equal(message_add_rcpt(m, RCPT, NULL, 0, &r), 0);
    r->cversion = c->cversion;
    const char *rcpts[] = { RCPT };
    if (c->stored) {
        /* what a message that came in over P1 stores: the envelope as received */
        struct oraddr gdi;
        assert_int_equal(oraddr_parse("/C=XX/ADMD= /PRMD=A/", &gdi, NULL, 0), 0);
        struct p1_mts_out o = { .kind = P1_MTS_MESSAGE, .local_id = "in1", .gdi = &gdi,
                                .originator = ORIG, .rcpts = rcpts, .nrcpts = 1,
                                .content_oid = c->stored, .content = cbytes, .content_len = clen,
                                .priority = 2, .now = 1800000000 };
        uint8_t *in = NULL;
        size_t inlen = 0;
        char why[200];
        assert_int_equal(p1_mts_build(&o, &in, &inlen, why, sizeof why), 0);
        struct p1_mts_in d;
        assert_int_equal(p1_mts_decode(in, inlen, NULL, &d, why, sizeof why), 0);
        assert_int_equal(message_set_x400(m, d.mts_id, d.content_oid, d.envelope, d.envelope_len), 0);
        m->content_type = MESSAGE_CONTENT_X400_P22;
        p1_mts_in_free(&d);
        free(in);
    }
    struct content *ct = content_copy(MESSAGE_CONTENT_X400_P22, 0, cbytes, clen);
    assert_non_null(ct);
    assert_int_equal(content_set_oid(ct, c->version_oid), 0);
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    struct p1_inst pi;
    memset(&pi, 0, sizeof pi);
    pi.cfg = &cfg;
    uint32_t idx[] = { 0 };
    struct channel_outcome out[1];
    struct channel_delivery d = { .msg = m, .content = ct, .cfg = &cfg, .originator = ORIG,
                                  .nrcpts = 1, .rcpts = idx, .rcpt_addrs = rcpts, .outcomes = out };
    uint8_t *apdu = NULL;
    size_t alen = 0;
    char why[200] = "";
    int rc = p1_channel_make_apdu(&pi, &d, &apdu, &alen, why, sizeof why);
    if (rc)
        fail_msg("%s: make_apdu %d: %s", c->name, rc, why);
    struct p1_mts_in got;
    assert_int_equal(p1_mts_decode(apdu, alen, NULL, &got, why, sizeof why), 0);
    if (strcmp(got.content_oid, c->want))
        fail_msg("%s: content type %s, want %s", c->name, got.content_oid, c->want);
    /* the content goes byte for byte whatever its envelope says */
    assert_int_equal(got.content_len, clen);
    assert_memory_equal(got.content, cbytes, clen);
    p1_mts_in_free(&got);
    free(apdu);
    content_unref(ct);
    message_free(m);
    free(cbytes);
}

/* ---- the outcome of a confirmed transfer: who sends the delivery report ------------------ */

#define OTHER "/C=GB/ADMD= /PRMD=X/S=z/"

struct flag_case {
    const char *name;
    int originator_report;   /* the envelope's indicators for RCPT ask for a delivery report */
    int mta_report;          /* ... the originating MTA's report request asks for one */
    int report;              /* the message is an X.400 report */
    int envelope;            /* the message has a stored envelope */
    const char *addr;        /* the delivery's recipient */
    unsigned want;
};

static const struct flag_case flag_cases[] = {
    { "originator_report_next_hop_reports", 1, 0, 0, 1, RCPT, CHANNEL_OUT_NEXT_HOP_REPORTS },
    { "mta_report_next_hop_reports", 0, 1, 0, 1, RCPT, CHANNEL_OUT_NEXT_HOP_REPORTS },
    { "non_delivery_only_we_report_relayed", 0, 0, 0, 1, RCPT, 0 },
    { "other_recipient_not_asked", 1, 0, 0, 1, OTHER, 0 },
    { "report_never", 1, 0, 1, 1, RCPT, 0 },
    { "no_envelope_we_report", 0, 0, 0, 0, RCPT, 0 },
};

/* p1_mts_build's per-recipient indicators: responsibility, originating-MTA-non-delivery-report
 * and originator-non-delivery-report (bits 0, 2, 4: 10101000; [1] BIT STRING of one octet,
 * whatever count of unused bits the encoder wrote). */
static int ind_built(const uint8_t *p)
{
    return p[0] == 0x81 && p[1] == 0x02 && p[2] < 8 && p[3] == 0xa8;
}

static void run_flags(void **state)
{
    const struct flag_case *c = *state;
    struct message *m = message_create();
    assert_non_null(m);
    snprintf(m->id, sizeof m->id, "%s", "1K20TESTFLAG00");
    assert_int_equal(message_set_originator(m, ORIG), 0);
    const char *both[] = { RCPT, OTHER };
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(message_add_rcpt(m, both[i], NULL, 0, NULL), 0);
    m->content_type = c->report ? MESSAGE_CONTENT_X400_REPORT : MESSAGE_CONTENT_X400_P22;
    if (c->envelope) {
        struct oraddr gdi;
        assert_int_equal(oraddr_parse("/C=XX/ADMD= /PRMD=A/", &gdi, NULL, 0), 0);
        static const uint8_t body[] = { 0x31, 0x00 };
        struct p1_mts_out o = { .kind = P1_MTS_MESSAGE, .local_id = "f1", .gdi = &gdi,
                                .originator = ORIG, .rcpts = both, .nrcpts = 2,
                                .content_oid = "22", .content = body, .content_len = sizeof body,
                                .priority = 1, .now = 1800000000 };
        uint8_t *in = NULL;
        size_t inlen = 0;
        char why[200];
        assert_int_equal(p1_mts_build(&o, &in, &inlen, why, sizeof why), 0);
        struct p1_mts_in d;
        assert_int_equal(p1_mts_decode(in, inlen, NULL, &d, why, sizeof why), 0);
        uint8_t *env = malloc(d.envelope_len);
        assert_non_null(env);
        memcpy(env, d.envelope, d.envelope_len);
        /* RCPT's indicators (the first recipient's) get the report bits asked for */
        uint8_t *ind = NULL;
        for (size_t k = 0; k + 4 <= d.envelope_len && !ind; k++)
            if (ind_built(env + k))
                ind = env + k;
        assert_non_null(ind);
        if (c->originator_report)
            ind[3] |= 0x10;                       /* bit 3 originator-report */
        if (c->mta_report)
            ind[3] |= 0x40;                       /* bit 1 originating-MTA-report */
        assert_int_equal(p1_mts_report_requested(env, d.envelope_len, RCPT),
                         c->originator_report || c->mta_report);
        assert_int_equal(p1_mts_report_requested(env, d.envelope_len, OTHER), 0);
        assert_int_equal(message_set_x400(m, d.mts_id, d.content_oid, env, d.envelope_len), 0);
        free(env);
        p1_mts_in_free(&d);
        free(in);
    }
    uint32_t idx[] = { strcmp(c->addr, RCPT) ? 1u : 0u };
    const char *addrs[] = { c->addr };
    struct channel_outcome out[1];
    struct channel_delivery d = { .msg = m, .originator = ORIG, .nrcpts = 1, .rcpts = idx,
                                  .rcpt_addrs = addrs, .outcomes = out };
    if (p1_channel_relay_flags(&d, 0) != c->want)
        fail_msg("%s: flags %#x, want %#x", c->name, p1_channel_relay_flags(&d, 0), c->want);
    assert_int_equal(p1_channel_relay_flags(&d, 1), 0); /* out of range */
    message_free(m);
}

static void t_report_requested_bad_envelope(void **state)
{
    (void)state;
    static const uint8_t junk[] = { 0x31, 0x05, 0xa2, 0x03, 0x31, 0x01 };
    assert_int_equal(p1_mts_report_requested(junk, sizeof junk, RCPT), MG_EPARSE);
    assert_int_equal(p1_mts_report_requested(junk, 0, RCPT), MG_EPARSE);
    assert_int_equal(p1_mts_report_requested(junk, sizeof junk, NULL), MG_EINVAL);
}

int main(void)
{
    enum { NC = sizeof cases / sizeof *cases, NF = sizeof flag_cases / sizeof *flag_cases };
    struct CMUnitTest t[NC + NF + 1];
    for (size_t i = 0; i < NC; i++)
        t[i] = (struct CMUnitTest){ cases[i].name, run, NULL, NULL, (void *)&cases[i] };
    for (size_t i = 0; i < NF; i++)
        t[NC + i] = (struct CMUnitTest){ flag_cases[i].name, run_flags, NULL, NULL,
                                         (void *)&flag_cases[i] };
    t[NC + NF] = (struct CMUnitTest){ "report_requested_bad_envelope",
                                      t_report_requested_bad_envelope, NULL, NULL, NULL };
    return cmocka_run_group_tests(t, NULL, NULL);
}
