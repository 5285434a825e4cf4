/* Tests of mta/config_syntax.c: the line that opened what libconfig found unclosed at the end
 * of the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "config_syntax.h"

struct hint_case {
    const char *name, *text;
    int line;
    const char *why;   /* a part of the explanation */
};

static void t_hints(void **state)
{
    (void)state;
    static const struct hint_case cases[] = {
        { "balanced", "global = { a = 1; };\nroutes = ( { x = [ 1, 2 ]; } );\n", 0, "" },
        { "unclosed group", "global = {\n a = 1;\n\nqueue = {\n b = 2;\n};\n", 1, "'{' opened here is never closed" },
        { "unclosed group in a list", "routes = (\n  { a = 1; },\n  { b = 2;\n);\n", 3, "'{' opened here is closed by ')' at line 4" },
        { "runaway string", "a = \"x;\nb = 2;\nc = \"y\";\n", 1, "runs over several lines" },
        { "unclosed string", "a = 1;\nb = \"open\n", 2, "runs over several lines" },
        { "unclosed string at end", "a = 1;\nb = \"open", 2, "never closed" },
        { "escaped quote", "a = \"x\\\"y\";\nb = {\n", 2, "'{' opened here" },
        { "brackets in strings and comments", "a = \"{(\"; # {\n// (\n/* [ */ b = 1;\n", 0, "" },
        { "unclosed comment", "a = 1;\n/* open\nb = {\n", 2, "comment opened here" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char why[160] = "";
        int line = config_syntax_hint(cases[i].text, strlen(cases[i].text), why, sizeof why);
        if (line != cases[i].line || !strstr(why, cases[i].why))
            fail_msg("case %s: line %d why '%s'", cases[i].name, line, why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(t_hints) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
