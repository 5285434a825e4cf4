/* test_file_channel: local delivery files: naming, headers, atomic replacement, bad input. */
#include "file_channel.h"
#include "mg_buf.h"
#include "mg_err.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

static int setup(void **state)
{
    char *dir = malloc(64);
    snprintf(dir, 64, "/tmp/mg-file-XXXXXX");
    assert_non_null(mkdtemp(dir));
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
    assert_int_equal(system(cmd), 0);
    free(*state);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    unsigned char *d = NULL;
    assert_int_equal(mg_read_file(path, 0, &d, len), 0);
    return (char *)d;
}

static void t_writes_one_file_per_recipient(void **state)
{
    const char *base = *state;
    char dir[128], path[4200];
    snprintf(dir, sizeof dir, "%s/a/b/deliver", base);      /* parents are created */
    assert_int_equal(file_channel_prepare(dir), 0);
    static const char body[] = "Subject: x\r\n\r\nbody\r\n";
    assert_int_equal(file_channel_deliver(dir, "1K0XAEV1XM2400", 0, "s@example.org", "r@example.net",
                                          (const unsigned char *)body, sizeof body - 1, path, sizeof path), 0);
    char want[256];
    snprintf(want, sizeof want, "%s/1K0XAEV1XM2400.0.eml", dir);
    assert_string_equal(path, want);
    size_t len;
    char *got = slurp(path, &len);
    assert_string_equal(got, "Return-Path: <s@example.org>\r\nDelivered-To: <r@example.net>\r\nSubject: x\r\n\r\nbody\r\n");
    free(got);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    /* a second delivery of the same recipient (after a crash) replaces, never duplicates */
    assert_int_equal(file_channel_deliver(dir, "1K0XAEV1XM2400", 0, "", "r@example.net",
                                          (const unsigned char *)"x\r\n", 3, NULL, 0), 0);
    got = slurp(path, &len);
    assert_string_equal(got, "Return-Path: <>\r\nDelivered-To: <r@example.net>\r\nx\r\n");
    free(got);
    int files = 0;
    DIR *dh = opendir(dir);
    for (struct dirent *e; (e = readdir(dh));)
        files += e->d_name[0] != '.';
    closedir(dh);
    assert_int_equal(files, 1);                      /* no temp file left behind */
}

static void t_header_values_cannot_inject(void **state)
{
    const char *dir = *state;
    char path[4200];
    assert_int_equal(file_channel_deliver(dir, "1K0XAEV1XM2401", 3, "a@b\r\nX-Evil: 1", "r@x",
                                          (const unsigned char *)"", 0, path, sizeof path), 0);
    size_t len;
    char *got = slurp(path, &len);
    assert_null(strstr(got, "\r\nX-Evil"));
    assert_non_null(strstr(got, "Return-Path: <a@bX-Evil: 1>\r\n"));
    free(got);
}

struct bad { const char *name, *dir, *qid; int want; };

static void t_bad_arguments(void **state)
{
    const char *dir = *state;
    const struct bad cases[] = {
        { "slash in id", dir, "../etc/passwd", MG_EINVAL },
        { "dot in id", dir, "a.b", MG_EINVAL },
        { "null dir", NULL, "ABC", MG_EINVAL },
        { "missing dir", "/nonexistent/mixgate/dir", "ABC", MG_EIO },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = file_channel_deliver(cases[i].dir, cases[i].qid, 0, "s", "r",
                                      (const unsigned char *)"x", 1, NULL, 0);
        if (rc != cases[i].want)
            fail_msg("%s: got %d, want %d", cases[i].name, rc, cases[i].want);
    }
    assert_int_equal(file_channel_prepare(""), MG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_writes_one_file_per_recipient, setup, teardown),
        cmocka_unit_test_setup_teardown(t_header_values_cannot_inject, setup, teardown),
        cmocka_unit_test_setup_teardown(t_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
