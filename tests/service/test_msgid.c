/* Tests of mta/msgid.c: the Message-ID of the log line that accepts a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "mg_err.h"
#include "msgid.h"

struct id_case {
    const char *name, *in;
    size_t outlen;
    int rc;
    const char *want;
};

static void t_cases(void **state)
{
    (void)state;
    static const struct id_case cases[] = {
        { "plain", "Subject: x\r\nMessage-ID: <a.b@c.example>\r\n\r\nbody", 64, 0, "<a.b@c.example>" },
        { "case", "message-id:<X@Y>\r\n\r\n", 64, 0, "<X@Y>" },
        { "folded", "Message-Id:\r\n <folded@x.example>\r\n\r\n", 64, 0, "<folded@x.example>" },
        { "lf only", "Message-ID: <lf@x>\n\n", 64, 0, "<lf@x>" },
        { "first wins", "Message-ID: <one@x>\r\nMessage-ID: <two@x>\r\n\r\n", 64, 0, "<one@x>" },
        { "only in body", "Subject: x\r\n\r\nMessage-ID: <body@x>\r\n", 64, MG_ENOTFOUND, "" },
        { "none", "Subject: x\r\n\r\n", 64, MG_ENOTFOUND, "" },
        { "no brackets", "Message-ID: bare@x\r\n\r\n", 64, MG_ENOTFOUND, "" },
        { "unclosed", "Message-ID: <open@x\r\nSubject: y\r\n\r\n", 64, MG_ENOTFOUND, "" },
        { "space inside", "Message-ID: <a b@x>\r\n\r\n", 64, MG_EPARSE, "" },
        { "too small", "Message-ID: <long-enough@x>\r\n\r\n", 8, MG_ETOOBIG, "" },
        { "name prefix only", "Message-IDs: <no@x>\r\nMessage-I\r\n\r\n", 64, MG_ENOTFOUND, "" },
        { "empty", "", 64, MG_ENOTFOUND, "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[64] = "junk";
        int rc = msgid_find((const unsigned char *)cases[i].in, strlen(cases[i].in), out, cases[i].outlen);
        if (rc != cases[i].rc || strcmp(out, cases[i].want))
            fail_msg("case %s: rc %d out '%s'", cases[i].name, rc, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(t_cases) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
