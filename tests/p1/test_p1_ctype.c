/* test_p1_ctype: the P1 envelope's content type follows the content version it carries
 * (channels/p1/p1_cms: p1_cms_content_type, p1_cms_set_type). Named cases: CMS content typed
 * id-ct-contentInfo (RFC 3855) or its stored PKCS type; content a cms channel opened typed
 * from the IPM's heading (P772 with a STANAG 4406 extension, else P22) on the P772 sample
 * (MIXGATE_VECTORS) and the repository's P22 IPM/IPN vectors; unchanged content keeps the stored type; a stored envelope retyped to a
 * built-in or an extended type with the other members unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mg_err.h"
#include "p1_cms.h"

#define B(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

/* An outer SignedData ContentInfo (the shape p1_cms_is_content_info accepts). */
static const uint8_t SIGNED[] = { 0x30, 0x12, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
                                  0x07, 0x02, 0xa0, 0x05, 0x30, 0x03, 0x02, 0x01, 0x03 };

static unsigned char *slurp(const char *rel, size_t *n)
{
    char path[1024];
    const char *vec = getenv("MIXGATE_VECTORS");
    if (!strncmp(rel, "V:", 2)) /* a third-party vector, from MIXGATE_VECTORS */
        snprintf(path, sizeof path, "%s/%s", vec ? vec : "/nonexistent", rel + 2);
    else
        snprintf(path, sizeof path, "%s/%s", MIXGATE_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    unsigned char *b = malloc(1 << 20);
    assert_non_null(b);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

struct ct_case {
    const char *name;
    const char *file;       /* content from the repository's vectors, or NULL: SIGNED / junk */
    int cms;                /* 1: SIGNED, 0: file (or "\x31\x00" when no file) */
    const char *stored;     /* what the envelope said */
    const char *want;
    int changed;
};

#define CTI P1_CMS_CONTENT_INFO
#define P772 P1_CMS_P772
static const struct ct_case ct_cases[] = {
    { "cms_content_over_p772_envelope", NULL, 1, P772, CTI, 1 },
    { "cms_content_over_p22_builtin", NULL, 1, "22", CTI, 1 },
    { "cms_content_stored_cti_unchanged", NULL, 1, CTI, CTI, 0 },
    { "cms_content_stored_signed_data_kept", NULL, 1, "1.2.840.113549.1.7.2", "1.2.840.113549.1.7.2", 0 },
    { "opened_p772_from_cti", "V:x400/ber/wsample-p772-content.p772", 0, CTI, P772, 1 },
    { "opened_p22_from_cti", "test-vectors/mixer/smtp/plain.p22", 0, CTI, "22", 1 },
    { "opened_p22_mmhs_headers_only", "test-vectors/mixer/smtp/mmhs.p22", 0, CTI, "22", 1 },
    { "opened_p22_full_heading", "test-vectors/ipm/ipm-full-heading.p22", 0, CTI, "22", 1 },
    { "opened_ipn_from_enveloped", "test-vectors/ipm/ipn-receipt.p22", 0, "1.2.840.113549.1.7.3", "22", 1 },
    { "no_stored_type_p772", "V:x400/ber/wsample-p772-content.p772", 0, NULL, P772, 1 },
    { "no_stored_type_p22", "test-vectors/mixer/smtp/plain.p22", 0, "", "22", 1 },
    { "plain_content_keeps_p772", "test-vectors/mixer/smtp/plain.p22", 0, P772, P772, 0 },
    { "plain_content_keeps_p22_oid", "V:x400/ber/wsample-p772-content.p772", 0, "2.6.1.10.1", "2.6.1.10.1", 0 },
    { "opened_not_an_ipm", NULL, 0, CTI, "22", 1 },
};

static void run_ct(void **state)
{
    const struct ct_case *c = *state;
    size_t n = 0;
    unsigned char *buf = NULL;
    const uint8_t *in;
    if (c->file) {
        buf = slurp(c->file, &n);
        in = buf;
    } else if (c->cms) {
        in = SIGNED;
        n = sizeof SIGNED;
    } else {
        in = (const uint8_t *)"\x31\x00";
        n = 2;
    }
    char out[72];
    int rc = p1_cms_content_type(in, n, c->stored, out, sizeof out);
    assert_int_equal(rc, c->changed);
    assert_string_equal(out, c->want);
    char small[4];
    assert_int_equal(p1_cms_content_type(in, n, c->stored, small, sizeof small),
                     strlen(c->want) < sizeof small ? c->changed : MG_EINVAL);
    free(buf);
}

/* An envelope SET: [APPLICATION 4] MTSIdentifier-ish member, the content type, a trailer. */
#define ENV_HEAD 0x64, 0x03, 0x13, 0x01, 0x41
#define ENV_TAIL 0x02, 0x01, 0x05

struct set_case {
    const char *name;
    const uint8_t *in;
    size_t len;
    const char *oid;
    int rc;
    const uint8_t *want;
    size_t want_len;
};

static const uint8_t IN_CTI[] = { 0x31, 0x15, ENV_HEAD, 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                  0x0d, 0x01, 0x09, 0x10, 0x01, 0x06, ENV_TAIL };
static const uint8_t OUT_P772[] = { 0x31, 0x12, ENV_HEAD, 0x06, 0x08, 0x2b, 0x1a, 0x00, 0xa2, 0x36,
                                    0x00, 0x04, 0x01, ENV_TAIL };
static const uint8_t OUT_P22[] = { 0x31, 0x0b, ENV_HEAD, 0x46, 0x01, 0x16, ENV_TAIL };
static const uint8_t IN_P22[] = { 0x31, 0x0b, ENV_HEAD, 0x46, 0x01, 0x16, ENV_TAIL };

static const struct set_case set_cases[] = {
    { "cti_to_p772", IN_CTI, sizeof IN_CTI, P772, 0, OUT_P772, sizeof OUT_P772 },
    { "cti_to_builtin_22", IN_CTI, sizeof IN_CTI, "22", 0, OUT_P22, sizeof OUT_P22 },
    { "builtin_22_to_cti", IN_P22, sizeof IN_P22, CTI, 0, IN_CTI, sizeof IN_CTI },
    { "p772_to_p772_same", OUT_P772, sizeof OUT_P772, P772, 0, OUT_P772, sizeof OUT_P772 },
    { "bad_oid", IN_CTI, sizeof IN_CTI, "x.y", MG_EINVAL, NULL, 0 },
    { "no_content_type", B(0x31, 0x08, ENV_HEAD, ENV_TAIL), P772, MG_EPARSE, NULL, 0 },
    { "two_content_types", B(0x31, 0x0e, ENV_HEAD, 0x46, 0x01, 0x16, 0x46, 0x01, 0x02, ENV_TAIL),
      P772, MG_EPARSE, NULL, 0 },
    { "not_a_set", B(0x30, 0x03, 0x46, 0x01, 0x16), P772, MG_EPARSE, NULL, 0 },
};

static void run_set(void **state)
{
    const struct set_case *c = *state;
    uint8_t *out = NULL;
    size_t n = 0;
    assert_int_equal(p1_cms_set_type(c->in, c->len, c->oid, &out, &n), c->rc);
    if (c->rc) {
        assert_null(out);
        return;
    }
    assert_int_equal(n, c->want_len);
    assert_memory_equal(out, c->want, n);
    free(out);
}

int main(void)
{
    struct CMUnitTest t[sizeof ct_cases / sizeof *ct_cases + sizeof set_cases / sizeof *set_cases];
    size_t n = 0;
    for (size_t i = 0; i < sizeof ct_cases / sizeof *ct_cases; i++)
        t[n++] = (struct CMUnitTest){ ct_cases[i].name, run_ct, NULL, NULL, (void *)&ct_cases[i] };
    for (size_t i = 0; i < sizeof set_cases / sizeof *set_cases; i++)
        t[n++] = (struct CMUnitTest){ set_cases[i].name, run_set, NULL, NULL, (void *)&set_cases[i] };
    return cmocka_run_group_tests(t, NULL, NULL);
}
