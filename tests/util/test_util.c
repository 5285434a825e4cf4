/* test_util: buffers, whole-file reads with limits, atomic writes, error names, log quoting. */
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

static void t_buf_limit(void **state)
{
    (void)state;
    struct mg_buf b;
    mg_buf_init(&b, 10);
    assert_int_equal(mg_buf_append(&b, "12345", 5), 0);
    assert_int_equal(mg_buf_appendf(&b, "%d", 6789), 0);
    assert_string_equal((char *)b.data, "123456789");
    assert_int_equal(mg_buf_append(&b, "ab", 2), MG_ETOOBIG);
    mg_buf_consume(&b, 4);
    assert_string_equal((char *)b.data, "56789");
    size_t n;
    unsigned char *d = mg_buf_steal(&b, &n);
    assert_int_equal(n, 5);
    free(d);
    assert_null(b.data);
}

struct rf { const char *name; size_t filesize, limit; int want; };

static void t_read_file_limits(void **state)
{
    (void)state;
    char path[] = "/tmp/mg-util-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const struct rf cases[] = {
        { "small file, small limit", 100, 200, 0 },
        { "exactly the limit", 200, 200, 0 },
        { "one past the limit", 201, 200, MG_ETOOBIG },
        { "large file, no limit", 200000, 0, 0 },
        { "large file, large limit", 200000, 300000, 0 },
        { "large file, small limit", 200000, 1000, MG_ETOOBIG },
        { "empty file", 0, 10, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char *content = malloc(cases[i].filesize + 1);
        memset(content, 'x', cases[i].filesize);
        assert_int_equal(mg_write_file_atomic(path, content, cases[i].filesize, 0600), 0);
        unsigned char *got = NULL;
        size_t len = 0;
        int rc = mg_read_file(path, cases[i].limit, &got, &len);
        if (rc != cases[i].want)
            fail_msg("%s: got %d want %d", cases[i].name, rc, cases[i].want);
        if (rc == 0) {
            assert_int_equal(len, cases[i].filesize);
            assert_memory_equal(got, content, len);
            assert_int_equal(got[len], 0);
        }
        free(got);
        free(content);
    }
    unlink(path);
    unsigned char *got = NULL;
    size_t len;
    assert_int_equal(mg_read_file("/nonexistent/mixgate", 0, &got, &len), MG_ENOTFOUND);
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* Several files at once: each whole, nothing else left in the directory; an error leaves no
 * temp file behind. */
static void t_write_files_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/mg-util-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char a[128], b[128], bad[160];
    snprintf(a, sizeof a, "%s/one.txt", dir);
    snprintf(b, sizeof b, "%s/two.ber", dir);
    static const char big[] = "0123456789";
    struct mg_file_out f[2] = { { a, "summary\n", 8 }, { b, big, 0 } };
    unsigned char *blob = malloc(70000);
    assert_non_null(blob);
    for (size_t i = 0; i < 70000; i++)
        blob[i] = (unsigned char)(i * 7);
    f[1].data = blob;
    f[1].len = 70000;
    assert_int_equal(mg_write_files_atomic(f, 2, 0600), 0);
    unsigned char *got = NULL;
    size_t len = 0;
    assert_int_equal(mg_read_file(a, 0, &got, &len), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(got, "summary\n", 8);
    free(got);
    assert_int_equal(mg_read_file(b, 0, &got, &len), 0);
    assert_int_equal(len, 70000);
    assert_memory_equal(got, blob, 70000);
    free(got);
    assert_int_equal(dir_entries(dir), 2);
    /* an empty file, and the second in a directory that does not exist: nothing of it stays */
    snprintf(bad, sizeof bad, "%s/missing/x.ber", dir);
    struct mg_file_out g[2] = { { a, "", 0 }, { bad, big, sizeof big } };
    assert_int_equal(mg_write_files_atomic(g, 2, 0600), MG_EIO);
    assert_int_equal(dir_entries(dir), 2);
    assert_int_equal(mg_read_file(a, 0, &got, &len), 0);
    assert_int_equal(len, 8);            /* not replaced: the error came before any rename */
    free(got);
    assert_int_equal(mg_write_files_atomic(g, 0, 0600), MG_EINVAL);
    assert_int_equal(mg_write_files_atomic(g, MG_FILES_ATOMIC_MAX + 1, 0600), MG_EINVAL);
    free(blob);
    unlink(a);
    unlink(b);
    rmdir(dir);
}

static void t_errors_and_quote(void **state)
{
    (void)state;
    assert_string_equal(mg_errname(MG_EPARSE), "MG_EPARSE");
    assert_string_equal(mg_strerror(MG_ETOOBIG), "size limit exceeded");
    assert_string_equal(mg_strerror(12345), "unknown error");
    char buf[64];
    assert_string_equal(mg_log_quote("plain", buf, sizeof buf), "plain");
    assert_string_equal(mg_log_quote("two words", buf, sizeof buf), "\"two words\"");
    assert_string_equal(mg_log_quote("a\r\nb", buf, sizeof buf), "a\\x0d\\x0ab");
    assert_string_equal(mg_log_quote("", buf, sizeof buf), "\"\"");
    char tiny[4];
    assert_string_equal(mg_log_quote("abcdef", tiny, sizeof tiny), "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_buf_limit),
        cmocka_unit_test(t_read_file_limits),
        cmocka_unit_test(t_write_files_atomic),
        cmocka_unit_test(t_errors_and_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
