/* test_asn1_der_order: DER orders SET components by tag (X.690 10.3), an untagged CHOICE by
 * the smallest tag among its alternatives (X.680 8.6). ESSSecurityLabel's privacy mark is such
 * a CHOICE (PrintableString 19 | UTF8String 12), so in DER it always precedes the categories
 * (SET OF, 17), whichever alternative is present (asn1/patches/der-set-untagged-choice-order). */
#include "mg_asn1.h"
#include "ESSSecurityLabel.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* policy 1.2.3.4, classification 2, one category {type 1.2.3.5, value INTEGER 1}, mark "ABC" */
#define OID_POLICY 0x06, 0x03, 0x2a, 0x03, 0x04
#define CLASSIF 0x02, 0x01, 0x02
#define CATS 0x31, 0x0c, 0x30, 0x0a, 0x80, 0x03, 0x2a, 0x03, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x01
#define MARK(t) (t), 0x03, 0x41, 0x42, 0x43

struct order_case {
    const char *name;
    uint8_t ber[32];   /* valid BER, components in a non-DER order */
    uint8_t der[32];   /* what DER must be */
    size_t len;
};

static const struct order_case cases[] = {
    { "PrintableString mark given last",
      { 0x31, 0x1b, OID_POLICY, CLASSIF, CATS, MARK(0x13) },
      { 0x31, 0x1b, CLASSIF, OID_POLICY, MARK(0x13), CATS }, 29 },
    { "UTF8String mark given last",
      { 0x31, 0x1b, OID_POLICY, CLASSIF, CATS, MARK(0x0c) },
      { 0x31, 0x1b, CLASSIF, OID_POLICY, MARK(0x0c), CATS }, 29 },
    { "PrintableString mark given first",
      { 0x31, 0x1b, MARK(0x13), CATS, CLASSIF, OID_POLICY },
      { 0x31, 0x1b, CLASSIF, OID_POLICY, MARK(0x13), CATS }, 29 },
};

static void t_ess_label_set_order(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct order_case *c = &cases[i];
        void *v = NULL;
        struct mg_asn1_err err = { 0 };
        int rc = mg_asn1_decode(&asn_DEF_ESSSecurityLabel, c->ber, c->len, &v, &err);
        if (rc != 0)
            fail_msg("%s: decode: %d at %zu: %s", c->name, rc, err.offset, err.what);
        unsigned char *der = NULL;
        size_t dlen = 0;
        rc = mg_asn1_encode_der(&asn_DEF_ESSSecurityLabel, v, &der, &dlen);
        if (rc != 0)
            fail_msg("%s: encode: %d", c->name, rc);
        if (dlen != c->len || memcmp(der, c->der, dlen) != 0) {
            char hex[200] = "";
            for (size_t k = 0; k < dlen && k < 60; k++)
                snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%02x", der[k]);
            fail_msg("%s: DER component order wrong: %s", c->name, hex);
        }
        free(der);
        mg_asn1_free(&asn_DEF_ESSSecurityLabel, v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(t_ess_label_set_order) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
