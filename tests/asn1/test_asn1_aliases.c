/* asn1c's alias descriptors are resolved before main, so no codec call writes a shared
 * descriptor while pool threads decode (mg_asn1_aliases.h: the race the e2e mixer test hit). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mg_asn1.h"
#include "mg_asn1_aliases.h"
#include "mg_err.h"

#include "MTAName.h"
#include "ORAddress.h"

/* The generator found the aliases: the P1/P22/P772/ACSE modules define a few hundred. */
static void table_is_generated(void **state)
{
    (void)state;
    assert_true(mg_asn1_alias_types_count > 100);
    assert_null(mg_asn1_alias_types[mg_asn1_alias_types_count]);
    for (size_t i = 0; i < mg_asn1_alias_types_count; i++)
        assert_non_null(mg_asn1_alias_types[i]->name);
}

/* Already resolved when main runs: one pass that changes nothing. */
static void resolved_before_main(void **state)
{
    (void)state;
    assert_int_equal(mg_asn1_resolve_aliases(), 1);
}

/* No entry point writes a descriptor any more: free, constraint check, encode and decode of
 * each alias leave every descriptor byte as it was. */
static void codec_calls_write_nothing(void **state)
{
    (void)state;
    size_t n = mg_asn1_alias_types_count;
    asn_TYPE_descriptor_t *snap = test_malloc(n * sizeof *snap);
    for (size_t i = 0; i < n; i++)
        memcpy(&snap[i], mg_asn1_alias_types[i], sizeof snap[i]);
    for (size_t i = 0; i < n; i++) {
        asn_TYPE_descriptor_t *td = mg_asn1_alias_types[i];
        td->free_struct(td, NULL, 1);
        void *v = NULL;
        asn_codec_ctx_t ctx = {0};
        /* an empty input: the decoder runs its entry and asks for more */
        asn_dec_rval_t r = td->ber_decoder(&ctx, td, &v, "", 0, 0);
        (void)r;
        ASN_STRUCT_FREE(*td, v);
    }
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(&snap[i], mg_asn1_alias_types[i], sizeof snap[i]);
    test_free(snap);
}

/* Threads decoding alias types at once (the race's shape): every decode succeeds. */
static const uint8_t mta_name[] = {0x16, 0x05, 'a', 'l', 'p', 'h', 'a'};

static void *decode_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        MTAName_t *v = NULL;
        struct mg_asn1_err err = {0};
        if (mg_asn1_decode(&asn_DEF_MTAName, mta_name, sizeof mta_name, (void **)&v, &err) != 0)
            return (void *)1;
        mg_asn1_free(&asn_DEF_MTAName, v);
    }
    return NULL;
}

static void threads_decode(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, decode_many, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *rc = (void *)1;
        pthread_join(t[i], &rc);
        assert_null(rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_is_generated),
        cmocka_unit_test(resolved_before_main),
        cmocka_unit_test(codec_calls_write_nothing),
        cmocka_unit_test(threads_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
