/* Tests of channels/p1/p1_cms.c, how the P1 channel carries X.400 content a cms channel
 * protected (RFC 3854/3855): named cases of content recognised as a CMS ContentInfo or not,
 * and of stored envelopes retyped to id-ct-contentInfo (or refused). The real thing, two
 * gateways and tshark: e2e.cms_p1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mg_err.h"
#include "p1_cms.h"

#define B(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

struct sniff_case {
    const char *name;
    const uint8_t *in;
    size_t len;
    int want;
};

static const struct sniff_case sniff_cases[] = {
    { "signed_data", B(0x30, 0x12, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
                       0xa0, 0x05, 0x30, 0x03, 0x02, 0x01, 0x03), 1 },
    { "enveloped_data", B(0x30, 0x12, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03,
                          0xa0, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00), 1 },
    { "auth_enveloped_data", B(0x30, 0x14, 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09,
                               0x10, 0x01, 0x17, 0xa0, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00), 1 },
    { "id_data_is_no_protection", B(0x30, 0x12, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
                                    0x07, 0x01, 0xa0, 0x05, 0x04, 0x03, 0x61, 0x62, 0x63), 0 },
    { "ipm_heading_first", B(0x30, 0x06, 0x31, 0x00, 0x30, 0x02, 0x05, 0x00), 0 },
    { "trailing_bytes", B(0x30, 0x12, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
                          0xa0, 0x05, 0x30, 0x03, 0x02, 0x01, 0x03, 0x00), 0 },
    { "truncated", B(0x30, 0x12, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07), 0 },
    { "length_past_end", B(0x30, 0x7f, 0x06, 0x09), 0 },
    { "no_content_field", B(0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02), 0 },
    { "empty", (const uint8_t *)"", 0, 0 },
};

static void run_sniff(void **state)
{
    const struct sniff_case *c = *state;
    assert_int_equal(p1_cms_is_content_info(c->in, c->len), c->want);
}

/* id-ct-contentInfo as the content type member: 06 0b 2a 86 48 86 f7 0d 01 09 10 01 06 */
static const uint8_t CT_INFO[] = { 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10,
                                   0x01, 0x06 };

struct retype_case {
    const char *name;
    const uint8_t *in;
    size_t len;
    const char *oid;
    int want;             /* 0 retyped, 1 left as it was, else the error */
    size_t at;            /* where CT_INFO must stand in the output (want 0) */
};

static const struct retype_case retype_cases[] = {
    /* SET { [APPLICATION 0] {}, P772 OID, [APPLICATION 9] {} } */
    { "extended_p772", B(0x31, 0x10, 0x60, 0x00, 0x06, 0x08, 0x2b, 0x1a, 0x00, 0xa2, 0x36, 0x00, 0x04,
                         0x01, 0x69, 0x02, 0x30, 0x00), P1_CMS_CONTENT_INFO, 0, 4 },
    /* SET { built-in [APPLICATION 6] 22, trace } */
    { "builtin_22", B(0x31, 0x05, 0x46, 0x01, 0x16, 0x69, 0x00), P1_CMS_CONTENT_INFO, 0, 2 },
    /* SET { id-signedData as the content type: already CMS, kept } */
    { "cms_type_kept", B(0x31, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
                         0x69, 0x00), P1_CMS_CONTENT_INFO, 1, 2 },
    { "no_content_type", B(0x31, 0x04, 0x60, 0x00, 0x69, 0x00), P1_CMS_CONTENT_INFO, MG_EPARSE, 0 },
    { "two_content_types", B(0x31, 0x06, 0x46, 0x01, 0x16, 0x46, 0x01, 0x02), P1_CMS_CONTENT_INFO,
      MG_EPARSE, 0 },
    { "not_a_set", B(0x30, 0x03, 0x46, 0x01, 0x16), P1_CMS_CONTENT_INFO, MG_EPARSE, 0 },
    { "member_past_end", B(0x31, 0x03, 0x46, 0x05, 0x16), P1_CMS_CONTENT_INFO, MG_EPARSE, 0 },
    { "trailing_bytes", B(0x31, 0x03, 0x46, 0x01, 0x16, 0x00), P1_CMS_CONTENT_INFO, MG_EPARSE, 0 },
    { "bad_oid", B(0x31, 0x03, 0x46, 0x01, 0x16), "1.x.3", MG_EINVAL, 0 },
    { "oid_first_arc", B(0x31, 0x03, 0x46, 0x01, 0x16), "3.1", MG_EINVAL, 0 },
};

static void run_retype(void **state)
{
    const struct retype_case *c = *state;
    uint8_t *out = NULL;
    size_t n = 0;
    int want = c->want == 1 ? 0 : c->want; /* 1: succeeds, the envelope unchanged */
    assert_int_equal(p1_cms_retype(c->in, c->len, c->oid, &out, &n), want);
    if (c->want == 1) {
        assert_int_equal(n, c->len);
        assert_memory_equal(out, c->in, n);
        free(out);
        return;
    }
    if (c->want) {
        assert_null(out);
        return;
    }
    /* one SET, the length grown by the difference, CT_INFO where the old type stood, and the
     * members before and after it unchanged */
    assert_non_null(out);
    assert_int_equal(out[0], 0x31);
    assert_true(n >= c->at + sizeof CT_INFO);
    assert_memory_equal(out + c->at, CT_INFO, sizeof CT_INFO);
    assert_memory_equal(out + 2, c->in + 2, c->at - 2);
    size_t old_ct = c->in[c->at + 1] + 2u;
    assert_int_equal(n - c->at - sizeof CT_INFO, c->len - c->at - old_ct);
    assert_memory_equal(out + c->at + sizeof CT_INFO, c->in + c->at + old_ct, c->len - c->at - old_ct);
    assert_int_equal(out[1], n - 2);
    /* retyping again changes nothing */
    uint8_t *again = NULL;
    size_t n2 = 0;
    assert_int_equal(p1_cms_retype(out, n, P1_CMS_CONTENT_INFO, &again, &n2), 0);
    assert_int_equal(n2, n);
    assert_memory_equal(again, out, n);
    free(again);
    free(out);
}

int main(void)
{
    struct CMUnitTest tests[sizeof sniff_cases / sizeof sniff_cases[0] +
                            sizeof retype_cases / sizeof retype_cases[0]];
    size_t n = 0;
    for (size_t i = 0; i < sizeof sniff_cases / sizeof sniff_cases[0]; i++)
        tests[n++] = (struct CMUnitTest){ sniff_cases[i].name, run_sniff, NULL, NULL,
                                          (void *)&sniff_cases[i] };
    for (size_t i = 0; i < sizeof retype_cases / sizeof retype_cases[0]; i++)
        tests[n++] = (struct CMUnitTest){ retype_cases[i].name, run_retype, NULL, NULL,
                                          (void *)&retype_cases[i] };
    return _cmocka_run_group_tests("p1_cms", tests, n, NULL, NULL);
}
