/* Tests of lsw_x400: the RFC 2156 rfc-822-field list of an IPM heading read and rewritten, on the
 * project's own IPM vectors (test-vectors/ipm): fields added in order and read back, removed by
 * name (any case), one extension holding them, nothing but that extension changed, an IPN, an
 * Internet message, garbage and a field that is not IA5 refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsw_x400.h"
#include "mg_buf.h"
#include "mg_err.h"

static unsigned char *vec(const char *name, size_t *n)
{
    const char *src = getenv("MIXGATE_SOURCE_DIR");
    char p[1200];
    snprintf(p, sizeof p, "%s/test-vectors/ipm/%s", src ? src : ".", name);
    unsigned char *b = NULL;
    assert_int_equal(mg_read_file(p, 1 << 20, &b, n), 0);
    return b;
}

struct xcase {
    const char *name;
    const char *file;
};

static const struct xcase xcases[] = {
    { "p772_full", "p772-full.p772" },
    { "p22_full_heading", "ipm-full-heading.p22" },
};

static void edit_and_read(void **state)
{
    const struct xcase *c = *state;
    size_t n = 0;
    unsigned char *ipm = vec(c->file, &n);
    char **l = NULL;
    size_t nl = 0;
    assert_int_equal(lsw_x400_fields(ipm, n, &l, &nl), 0);
    size_t before = nl;
    lsw_x400_fields_free(l, nl);
    /* add two, in order */
    const char *add[] = { "SIO-Label-History: label=\"x\"; at=1", "X-Note: two", NULL };
    unsigned char *o1 = NULL, *o2 = NULL, *o3 = NULL;
    size_t n1 = 0, n2 = 0, n3 = 0;
    assert_int_equal(lsw_x400_edit(ipm, n, NULL, add, &o1, &n1), 0);
    assert_int_equal(lsw_x400_fields(o1, n1, &l, &nl), 0);
    assert_int_equal(nl, before + 2);
    assert_string_equal(l[before], add[0]);
    assert_string_equal(lsw_x400_field(l, nl, "sio-label-history", 0), "label=\"x\"; at=1");
    assert_string_equal(lsw_x400_field(l, nl, "X-Note", 0), "two");
    assert_null(lsw_x400_field(l, nl, "X-Note", 1));
    assert_null(lsw_x400_field(l, nl, "SIO-Label", 0)); /* a prefix of a name is not the name */
    lsw_x400_fields_free(l, nl);
    /* remove one by name (any case), add another: the list keeps one extension */
    const char *rm[] = { "x-note", NULL };
    const char *add2[] = { "SIO-Label-History: second", NULL };
    assert_int_equal(lsw_x400_edit(o1, n1, rm, add2, &o2, &n2), 0);
    assert_int_equal(lsw_x400_fields(o2, n2, &l, &nl), 0);
    assert_int_equal(nl, before + 2);
    assert_string_equal(lsw_x400_field(l, nl, "SIO-Label-History", 1), "second");
    assert_null(lsw_x400_field(l, nl, "X-Note", 0));
    lsw_x400_fields_free(l, nl);
    /* removing what was added gives the same encoding as an edit that adds nothing to it */
    const char *rm2[] = { "SIO-Label-History", NULL };
    assert_int_equal(lsw_x400_edit(o2, n2, rm2, NULL, &o3, &n3), 0);
    assert_int_equal(lsw_x400_fields(o3, n3, &l, &nl), 0);
    assert_int_equal(nl, before);
    lsw_x400_fields_free(l, nl);
    /* nothing to add to an IPM without the list: its bytes as they were */
    if (!before) {
        unsigned char *same = NULL;
        size_t ns = 0;
        assert_int_equal(lsw_x400_edit(ipm, n, rm2, NULL, &same, &ns), 0);
        assert_int_equal(ns, n);
        assert_memory_equal(same, ipm, n);
        free(same);
    }
    free(o1);
    free(o2);
    free(o3);
    free(ipm);
}

static void not_an_ipm(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *ipn = vec("ipn-receipt.p22", &n);
    char **l = NULL;
    size_t nl = 0;
    const char *add[] = { "A: b", NULL };
    unsigned char *o = NULL;
    size_t on = 0;
    assert_int_equal(lsw_x400_fields(ipn, n, &l, &nl), MG_ENOTFOUND);
    assert_int_equal(lsw_x400_edit(ipn, n, NULL, add, &o, &on), MG_ENOTFOUND);
    assert_null(o);
    static const unsigned char text[] = "Subject: x\r\n\r\nbody\r\n";
    assert_int_equal(lsw_x400_fields(text, sizeof text - 1, &l, &nl), MG_ENOTFOUND);
    static const unsigned char junk[] = { 0xa0, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30 };
    assert_int_equal(lsw_x400_fields(junk, sizeof junk, &l, &nl), MG_ENOTFOUND);
    assert_int_equal(lsw_x400_fields(junk, 1, &l, &nl), MG_ENOTFOUND);
    assert_int_equal(lsw_x400_fields(NULL, 0, &l, &nl), MG_ENOTFOUND);
    free(ipn);
}

static void field_must_be_ia5(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *ipm = vec("p772-full.p772", &n);
    unsigned char *o = NULL;
    size_t on = 0;
    const char *bad[] = { "X-Mark: F\xc3\xbcr", NULL };
    const char *nocolon[] = { "no colon here", NULL };
    const char *ctl[] = { "X-A: a\r\nX-B: b", NULL };
    assert_int_equal(lsw_x400_edit(ipm, n, NULL, bad, &o, &on), MG_EINVAL);
    assert_int_equal(lsw_x400_edit(ipm, n, NULL, nocolon, &o, &on), MG_EINVAL);
    assert_int_equal(lsw_x400_edit(ipm, n, NULL, ctl, &o, &on), MG_EINVAL);
    assert_null(o);
    free(ipm);
}

int main(void)
{
    int failed = 0;
    struct CMUnitTest t[sizeof xcases / sizeof *xcases];
    for (size_t i = 0; i < sizeof xcases / sizeof *xcases; i++)
        t[i] = (struct CMUnitTest){ xcases[i].name, edit_and_read, NULL, NULL, (void *)&xcases[i] };
    failed += _cmocka_run_group_tests("lsw_x400", t, sizeof xcases / sizeof *xcases, NULL, NULL);
    const struct CMUnitTest more[] = {
        cmocka_unit_test(not_an_ipm),
        cmocka_unit_test(field_must_be_ia5),
    };
    failed += cmocka_run_group_tests_name("lsw_x400_more", more, NULL, NULL);
    return failed ? 1 : 0;
}
