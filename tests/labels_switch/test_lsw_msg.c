/* Tests of lsw_msg: header fields (folded, repeated, absent, case), the first line of text of
 * plain and MIME messages (nested multiparts, base64 parts skipped, hostile boundaries), and
 * rebuilds (remove, Subject, add, first line inserted), exact bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lsw_msg.h"
#include "mg_err.h"

struct hdr_case {
    const char *name, *msg, *field;
    size_t idx;
    int rc;
    const char *want;
};

static const struct hdr_case hdr_cases[] = {
    { "hdr_simple", "A: 1\r\nSIO-Label: x=1\r\n\r\nb", "sio-label", 0, 0, "x=1" },
    { "hdr_folded", "X-X411: AAA\r\n BBB\r\n\tCCC\r\nB: 2\r\n\r\n", "X-X411", 0, 0, "AAA BBB\tCCC" },
    { "hdr_second", "S: 1\nS: 2\n\n", "s", 1, 0, "2" },
    { "hdr_absent", "A: 1\r\n\r\nS: in the body\r\n", "S", 0, MG_ENOTFOUND, NULL },
    { "hdr_prefix_is_not_name", "SIO-Label-History: h\r\n\r\n", "SIO-Label", 0, MG_ENOTFOUND, NULL },
    { "hdr_no_body", "A: 1", "A", 0, 0, "1" },
    { "hdr_empty_msg", "", "A", 0, MG_ENOTFOUND, NULL },
    { "hdr_nul_in_value", "A: x\0y\r\n\r\n", "A", 0, 0, "x" }, /* strlen cut at the NUL */
};

static void run_hdr(void **state)
{
    const struct hdr_case *c = *state;
    char *v = NULL;
    size_t len = strlen(c->msg);
    if (!strcmp(c->name, "hdr_nul_in_value"))
        len = 10;
    assert_int_equal(lsw_msg_header((const unsigned char *)c->msg, len, c->field, c->idx, &v), c->rc);
    if (c->want) {
        if (!strcmp(c->name, "hdr_nul_in_value"))
            assert_string_equal(v, "x y");
        else
            assert_string_equal(v, c->want);
    }
    free(v);
}

struct flot_case {
    const char *name, *msg;
    int rc;
    const char *want;
};

static const struct flot_case flot_cases[] = {
    { "flot_plain", "Subject: s\r\n\r\n\r\n  [ MARK ]\r\nbody\r\n", 0, "  [ MARK ]" },
    { "flot_text_type", "Content-Type: text/plain; charset=utf-8\n\nfirst\nsecond\n", 0, "first" },
    { "flot_html_only", "Content-Type: text/html\r\n\r\n<p>x</p>\r\n", MG_ENOTFOUND, NULL },
    { "flot_base64", "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n", MG_ENOTFOUND, NULL },
    { "flot_multipart",
      "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/html\r\n\r\n"
      "<p>no</p>\r\n--b1\r\nContent-Type: text/plain\r\n\r\nTHE LINE\r\n--b1--\r\n",
      0, "THE LINE" },
    { "flot_nested",
      "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
      "--i\r\n\r\ninner text\r\n--i--\r\n--o--\r\n",
      0, "inner text" },
    { "flot_unterminated_multipart", "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\nline\r\n", 0,
      "line" },
    { "flot_no_boundary", "Content-Type: multipart/mixed\r\n\r\n--z\r\n\r\nline\r\n", MG_ENOTFOUND, NULL },
    { "flot_empty_body", "Subject: s\r\n\r\n", 0, "" },
};

static void run_flot(void **state)
{
    const struct flot_case *c = *state;
    size_t off = 0, n = 0;
    int rc = lsw_msg_flot((const unsigned char *)c->msg, strlen(c->msg), &off, &n);
    assert_int_equal(rc, c->rc);
    if (!rc) {
        assert_int_equal(n, strlen(c->want));
        assert_memory_equal(c->msg + off, c->want, n);
    }
}

struct rebuild_case {
    const char *name, *msg;
    const char *remove[3];
    const char *subject;
    const char *add[3];
    const char *flot;
    int rc;
    const char *want;
};

static const struct rebuild_case rebuild_cases[] = {
    { "rb_add_and_flot", "Subject: s\r\n\r\nhello\r\n", { NULL }, NULL, { "SIO-Label: m=1", NULL }, "[ M ]", 0,
      "Subject: s\r\nSIO-Label: m=1\r\n\r\n[ M ]\r\nhello\r\n" },
    { "rb_remove_folded", "SIO-Label: a\r\n b\r\nX: 1\r\nsio-label: c\r\n\r\nbody", { "SIO-Label", NULL }, NULL,
      { NULL }, NULL, 0, "X: 1\r\n\r\nbody" },
    { "rb_subject_replaced", "Subject: old\r\n folded\r\nA: 1\r\n\r\nb", { NULL }, "[X] old", { NULL }, NULL, 0,
      "Subject: [X] old\r\nA: 1\r\n\r\nb" },
    { "rb_subject_added", "A: 1\n\nb\n", { NULL }, "new", { NULL }, NULL, 0, "A: 1\nSubject: new\n\nb\n" },
    { "rb_flot_in_mime",
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ntext\r\n--b--\r\n",
      { NULL }, NULL, { NULL }, "MARK", 0,
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nMARK\r\ntext\r\n--b--\r\n" },
    { "rb_flot_nowhere", "Content-Type: image/png\r\n\r\nPNG", { NULL }, NULL, { NULL }, "MARK", MG_ENOTFOUND, NULL },
    { "rb_no_separator", "A: 1", { NULL }, NULL, { "B: 2", NULL }, NULL, 0, "A: 1\r\nB: 2\r\n\r\n" },
};

static void run_rebuild(void **state)
{
    const struct rebuild_case *c = *state;
    struct lsw_msg_edit e = { .remove = c->remove[0] ? c->remove : NULL, .subject = c->subject,
                              .add = c->add[0] ? c->add : NULL, .flot = c->flot };
    unsigned char *out = NULL;
    size_t n = 0;
    assert_int_equal(lsw_msg_rebuild((const unsigned char *)c->msg, strlen(c->msg), &e, &out, &n), c->rc);
    if (!c->rc) {
        if (n != strlen(c->want) || memcmp(out, c->want, n))
            fail_msg("got [%.*s] want [%s]", (int)n, out, c->want);
    }
    free(out);
}

int main(void)
{
    size_t nh = sizeof hdr_cases / sizeof *hdr_cases, nf = sizeof flot_cases / sizeof *flot_cases,
           nr = sizeof rebuild_cases / sizeof *rebuild_cases, n = 0;
    struct CMUnitTest *t = calloc(nh + nf + nr, sizeof *t);
    if (!t)
        return 1;
    for (size_t i = 0; i < nh; i++)
        t[n++] = (struct CMUnitTest){ .name = hdr_cases[i].name, .test_func = run_hdr, .initial_state = (void *)&hdr_cases[i] };
    for (size_t i = 0; i < nf; i++)
        t[n++] = (struct CMUnitTest){ .name = flot_cases[i].name, .test_func = run_flot, .initial_state = (void *)&flot_cases[i] };
    for (size_t i = 0; i < nr; i++)
        t[n++] = (struct CMUnitTest){ .name = rebuild_cases[i].name, .test_func = run_rebuild,
                                      .initial_state = (void *)&rebuild_cases[i] };
    int rc = _cmocka_run_group_tests("lsw_msg", t, n, NULL, NULL);
    free(t);
    return rc;
}
