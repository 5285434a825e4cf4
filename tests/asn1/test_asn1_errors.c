/* Decoding errors: each bad input gives the right MG_E* code, the byte offset of the
 * problem and a readable account of what was expected; nothing leaks and nothing crashes.
 * Also the encoder's rules: constraints checked before encoding, DEFAULTs left out.
 * Table-driven: inline hex cases, plus cases derived from the real MTS-APDU vector. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asn1_test_util.h"
#include "mg_asn1.h"
#include "mg_err.h"

#include "LocalIPMIdentifier.h"
#include "MessageSecurityLabel.h"

#define NO_OFFSET ((size_t)-1)

struct ecase {
    const char *name;
    const char *pdu;
    const char *hex;         /* input; "" = empty */
    int rc;
    size_t offset;           /* NO_OFFSET: not checked */
    const char *what;        /* substring of err.what */
};

/* MTABindArgument authenticated{initiator "x", ia5 password of 63 'a'}: one over
 * ub-password-length (62). Built in setup. */
static char long_password_hex[2 * 80 + 1];

static const struct ecase cases[] = {
    {"empty", "MTS-APDU", "", MG_EINCOMPLETE, 0, "empty"},
    {"length-past-parent", "ORAddress", "300502070102030405", MG_EPARSE, 2, "enclosing"},
    {"length-past-input", "ORAddress", "3009300761051303676272ff", MG_EPARSE, 11, "trailing"},
    {"truncated-header", "ORAddress", "3009300761051303", MG_EINCOMPLETE, 0, "past the end"},
    {"indefinite-primitive", "ContentHints", "0480000000", MG_EPARSE, 0, "primitive"},
    {"length-too-long", "ContentHints", "0485010000000000", MG_EPARSE, 0, "4 octets"},
    {"missing-eoc", "ORAddress", "3080020101", MG_EINCOMPLETE, 5, "end-of-contents"},
    {"bad-eoc", "ORAddress", "308002010100050000", MG_EPARSE, 5, "end-of-contents"},
    {"country-too-long", "ORAddress", "3009300761051303676272", MG_ECONSTRAINT, NO_OFFSET,
     "ORAddress"},
    {"classification-too-big", "SecurityLabel", "31040202012c", MG_ECONSTRAINT, NO_OFFSET,
     "SecurityLabel"},
    {"password-too-long", "MTABindArgument", long_password_hex, MG_ECONSTRAINT, NO_OFFSET,
     "MTABindArgument"},
    {"wrong-type", "MTS-APDU", "a12080146775696e65766572652e736d68732e636f2e756ba1081606"
                               "6d65726c696e", MG_EPARSE, 2, "MTS-APDU.report: unexpected [0] primitive in Report"},
    {"missing-mandatory", "ESSSecurityLabel", "3103020101", MG_EPARSE, 0,
     "ESSSecurityLabel: ESSSecurityLabel lacks mandatory security-policy-identifier"},
    /* Five organizational units: one over ub-organizational-units (SIZE on a named
     * SEQUENCE OF type). */
    {"too-many-ous", "ORAddress", "30133011a60f130161130161130161130161130161", MG_ECONSTRAINT,
     NO_OFFSET, "OrganizationalUnitNames: 5 elements, SIZE (1..4)"},
    /* Found by fuzzing (each was undefined behaviour or an unencodable value in asn1c). */
    {"bitstring-unused-bits-8+", "Clearance", "30070601290302f000", MG_EPARSE, 5,
     "Clearance.classList: [UNIVERSAL 3] primitive is not a valid ClassList"},
    {"bitstring-empty-with-unused", "Clearance", "3006060129030103", MG_EPARSE, 5,
     "Clearance.classList: [UNIVERSAL 3] primitive is not a valid ClassList"},
    {"negative-integer", "SecurityLabel", "31030201ff", MG_ECONSTRAINT, NO_OFFSET,
     "SecurityLabel"},
    {"explicit-tag-primitive-any", "CPR-PPDU", "3103810100", MG_EPARSE, 2,
     "CPR-PPDU.x400-mode-parameters.userDataRJ: explicit tag [1] primitive must be constructed"},
    {"explicit-tag-primitive-choice", "ORName", "600c300080083088ffffffffffff", MG_EPARSE, 4,
     "ORName.directory-name: explicit tag [0] primitive must be constructed"},
    {"empty-security-categories", "SecurityLabel", "31023100", MG_ECONSTRAINT, NO_OFFSET,
     "SecurityCategories: 0 elements, SIZE (1..64)"},
};

static size_t unhex(const char *hex, unsigned char *out, size_t max)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < max; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (unsigned char)v;
    }
    return n;
}

static void expect(const struct ecase *c, const unsigned char *buf, size_t len)
{
    const asn_TYPE_descriptor_t *td = mg_asn1_pdu_by_name(c->pdu);
    assert_non_null(td);
    void *v = (void *)1;
    struct mg_asn1_err err = {0};
    int rc = mg_asn1_decode(td, buf, len, &v, &err);
    if (rc != c->rc)
        fail_msg("%s: got %s (%s), want %s", c->name, mg_errname(rc), err.what, mg_errname(c->rc));
    assert_null(v);
    assert_int_equal(err.code, c->rc);
    if (c->offset != NO_OFFSET && err.offset != c->offset)
        fail_msg("%s: offset %zu, want %zu (%s)", c->name, err.offset, c->offset, err.what);
    if (!strstr(err.what, c->what))
        fail_msg("%s: \"%s\" does not say \"%s\"", c->name, err.what, c->what);
}

static void run_case(void **state)
{
    const struct ecase *c = *state;
    unsigned char buf[256];
    size_t len = unhex(c->hex, buf, sizeof buf);
    expect(c, buf, len);
}

/* Found by fuzzing (ipm_info, issue 14): a constructed string with no segments decoded to a
 * NULL buffer, and asn1c's generated alphabet check then computed NULL + 0 (undefined
 * behaviour; clang's UBSan stops on it). Every decoded string has a buffer now, empty or not,
 * however it was encoded (definite or indefinite length, constructed or primitive). */
static void empty_strings_have_buffers(void **state)
{
    (void)state;
    static const struct {
        const char *name, *hex;
    } forms[] = {
        {"primitive", "1300"},
        {"constructed", "3300"},
        {"constructed long-form length", "338100"},
        {"constructed indefinite", "33800000"},
        {"constructed empty segment", "33020400"},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        unsigned char buf[16];
        size_t len = unhex(forms[i].hex, buf, sizeof buf);
        LocalIPMIdentifier_t *v = NULL;
        struct mg_asn1_err err = {0};
        int rc = mg_asn1_decode(&asn_DEF_LocalIPMIdentifier, buf, len, (void **)&v, &err);
        if (rc != 0 || !v || !v->buf || v->size != 0)
            fail_msg("%s: rc %s, value %p, buffer %p (%s)", forms[i].name, mg_errname(rc), (void *)v,
                     v ? (void *)v->buf : NULL, err.what);
        mg_asn1_free(&asn_DEF_LocalIPMIdentifier, v);
    }
}

/* Cuts of the real MTS-APDU: every prefix is incomplete (never a crash, never success),
 * and a trailing byte is located exactly. */
static void mts_apdu_cuts(void **state)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (atu_read_vector("x400/ber/wsample-p1-MTS-APDU-message-p772.ber", &data, &len))
        skip();
    for (size_t cut = 0; cut < len; cut += 7) {
        void *v = NULL;
        struct mg_asn1_err err = {0};
        int rc = mg_asn1_decode(&asn_DEF_MTS_APDU, data, cut, &v, &err);
        assert_int_equal(rc, MG_EINCOMPLETE);
        assert_null(v);
        assert_true(err.offset <= cut);
    }
    unsigned char *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, data, len);
    longer[len] = 0x05;
    struct ecase c = {"trailing", "MTS-APDU", "", MG_EPARSE, len, "trailing"};
    expect(&c, longer, len + 1);
    free(longer);
    free(data);
}

/* A wrong tag deep inside the real MTS-APDU (the recipient's organization-name [3] made
 * [15]) is named by its path and located at its byte. */
static void mts_apdu_deep_error(void **state)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (atu_read_vector("x400/ber/wsample-p1-MTS-APDU-message-p772.ber", &data, &len))
        skip();
    static const unsigned char org[] = {0x83, 0x09, 'g', 'u', 'i', 'n', 'e', 'v', 'e', 'r', 'e'};
    unsigned char *hit = memmem(data, len, org, sizeof org);
    assert_non_null(hit);
    *hit = 0x8f;
    struct ecase c = {"deep", "MTS-APDU", "", MG_EPARSE, (size_t)(hit - data),
                      "MTS-APDU.message.envelope.per-recipient-fields[0].recipient-name"
                      ".built-in-standard-attributes: unexpected [15] primitive in "
                      "BuiltInStandardAttributes (members: country-name"};
    expect(&c, data, len);
    free(data);
}

/* 150 nested indefinite SEQUENCEs: refused by the depth limit, not by the stack. */
static void deep_nesting(void **state)
{
    unsigned char buf[600];
    size_t n = 0;
    for (int i = 0; i < 150; i++) {
        buf[n++] = 0x30;
        buf[n++] = 0x80;
    }
    for (int i = 0; i < 150; i++) {
        buf[n++] = 0;
        buf[n++] = 0;
    }
    struct ecase c = {"deep", "ORAddress", "", MG_EPARSE, NO_OFFSET, "nesting"};
    expect(&c, buf, n);
}

/* Encoding refuses values that break constraints. */
static void encode_checks_constraints(void **state)
{
    SecurityLabel_t *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->security_classification = calloc(1, sizeof *l->security_classification);
    assert_non_null(l->security_classification);
    *l->security_classification = 999;
    unsigned char *der = NULL;
    size_t dl = 0;
    assert_int_equal(mg_asn1_encode_SecurityLabel(l, &der, &dl), MG_ECONSTRAINT);
    assert_null(der);
    *l->security_classification = 4;
    assert_int_equal(mg_asn1_encode_SecurityLabel(l, &der, &dl), 0);
    static const unsigned char want[] = {0x31, 0x03, 0x02, 0x01, 0x04};
    assert_int_equal(dl, sizeof want);
    assert_memory_equal(der, want, dl);
    free(der);
    mg_asn1_free_SecurityLabel(l);
}

/* A type defined on another (MessageSecurityLabel ::= SecurityLabel), built fresh and
 * encoded before anything of it was decoded: asn1c's constraint check used to skip or crash
 * on it (asn1/CMakeLists.txt makes it inherit first). */
static void encode_fresh_derived_type(void **state)
{
    MessageSecurityLabel_t *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->security_classification = calloc(1, sizeof *l->security_classification);
    assert_non_null(l->security_classification);
    *l->security_classification = 999;
    unsigned char *der = NULL;
    size_t dl = 0;
    assert_int_equal(mg_asn1_encode_der(&asn_DEF_MessageSecurityLabel, l, &der, &dl),
                     MG_ECONSTRAINT);
    *l->security_classification = 4;
    assert_int_equal(mg_asn1_encode_der(&asn_DEF_MessageSecurityLabel, l, &der, &dl), 0);
    static const unsigned char want[] = {0x31, 0x03, 0x02, 0x01, 0x04};
    assert_int_equal(dl, sizeof want);
    assert_memory_equal(der, want, dl);
    free(der);
    mg_asn1_free(&asn_DEF_MessageSecurityLabel, l);
}

/* DER leaves out components equal to their DEFAULT (X.690 11.5): the real RTORQ sends
 * dialogueMode monologue(0) explicitly; our DER of it must not, and must read back the
 * same. */
static void der_omits_defaults(void **state)
{
    unsigned char *data = NULL, *der = NULL;
    size_t len = 0, dl = 0;
    if (atu_read_vector("x400/ber/wsample-rtse-RTORQ.ber", &data, &len))
        skip();
    static const unsigned char dialogue_monologue[] = {0x82, 0x01, 0x00};
    assert_non_null(memmem(data, len, dialogue_monologue, 3));
    RTSE_apdus_t *r = NULL;
    assert_int_equal(mg_asn1_decode_RTSE_apdus(data, len, &r, NULL), 0);
    assert_int_equal(mg_asn1_encode_RTSE_apdus(r, &der, &dl), 0);
    assert_null(memmem(der, dl, dialogue_monologue, 3));
    assert_int_equal(dl, len - 3);
    RTSE_apdus_t *back = NULL;
    assert_int_equal(mg_asn1_decode_RTSE_apdus(der, dl, &back, NULL), 0);
    assert_int_equal(back->choice.rtorq_apdu.dialogueMode, 0);
    assert_int_equal(back->choice.rtorq_apdu.checkpointSize, 63);
    mg_asn1_free_RTSE_apdus(back);
    mg_asn1_free_RTSE_apdus(r);
    free(der);
    free(data);
}

int main(void)
{
    /* a1 46 { 80 01 'x', a1 41 { 16 3f 'a' x 63 } } */
    char *p = long_password_hex;
    p += sprintf(p, "a146800178a141163f");
    for (int i = 0; i < 63; i++)
        p += sprintf(p, "61");

    struct CMUnitTest tests[sizeof cases / sizeof cases[0] + 7];
    size_t n = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        tests[n++] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
    tests[n++] = (struct CMUnitTest){"mts-apdu-cuts", mts_apdu_cuts, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"deep-nesting", deep_nesting, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"mts-apdu-deep-error", mts_apdu_deep_error, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"encode-checks-constraints", encode_checks_constraints, NULL,
                                     NULL, NULL};
    tests[n++] = (struct CMUnitTest){"der-omits-defaults", der_omits_defaults, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"empty-strings-have-buffers", empty_strings_have_buffers, NULL,
                                     NULL, NULL};
    tests[n++] = (struct CMUnitTest){"encode-fresh-derived-type", encode_fresh_derived_type, NULL,
                                     NULL, NULL};
    return _cmocka_run_group_tests("asn1_errors", tests, n, NULL, NULL);
}
