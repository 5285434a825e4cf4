/* config_syntax: the scan behind a better line for libconfig's end-of-file syntax errors (see
 * config_syntax.h). It follows libconfig's lexical rules: strings in double quotes with
 * backslash escapes, comments '#', '//' and C-style, brackets { } ( ) [ ]. */
#include "config_syntax.h"

#include <stdio.h>

#define MAX_DEPTH 64

int config_syntax_hint(const char *t, size_t n, char *why, size_t whylen)
{
    struct { char c; int line; } stack[MAX_DEPTH];
    int depth = 0, overflow = 0;
    int line = 1;
    int str_line = 0, multiline_str = 0, comment_line = 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (comment_line) { /* inside a block comment */
            if (c == '*' && i + 1 < n && t[i + 1] == '/') {
                comment_line = 0;
                i++;
            } else if (c == '\n') {
                line++;
            }
            continue;
        }
        if (str_line) {
            if (c == '\\' && i + 1 < n) {
                i++;
                if (t[i] == '\n')
                    line++;
            } else if (c == '"') {
                str_line = 0;
            } else if (c == '\n') {
                line++;
                if (!multiline_str)
                    multiline_str = str_line;
            }
            continue;
        }
        switch (c) {
        case '\n':
            line++;
            break;
        case '#':
            while (i + 1 < n && t[i + 1] != '\n')
                i++;
            break;
        case '/':
            if (i + 1 < n && t[i + 1] == '/') {
                while (i + 1 < n && t[i + 1] != '\n')
                    i++;
            } else if (i + 1 < n && t[i + 1] == '*') {
                comment_line = line;
                i++;
            }
            break;
        case '"':
            str_line = line;
            break;
        case '{': case '(': case '[':
            if (depth < MAX_DEPTH) {
                stack[depth].c = c;
                stack[depth].line = line;
                depth++;
            } else {
                overflow = 1;
            }
            break;
        case '}': case ')': case ']':
            if (depth > 0 && !overflow) {
                char open = c == '}' ? '{' : c == ')' ? '(' : '[';
                if (stack[depth - 1].c != open) {
                    snprintf(why, whylen, "the '%c' opened here is closed by '%c' at line %d",
                             stack[depth - 1].c, c, line);
                    return stack[depth - 1].line;
                }
                depth--;
            }
            break;
        default:
            break;
        }
    }
    if (comment_line) {
        snprintf(why, whylen, "the comment opened here is never closed ('*/' missing)");
        return comment_line;
    }
    if (multiline_str) {
        snprintf(why, whylen, "the string that starts here runs over several lines (a missing '\"'?)");
        return multiline_str;
    }
    if (str_line) {
        snprintf(why, whylen, "the string that starts here is never closed (a missing '\"')");
        return str_line;
    }
    if (depth > 0 && !overflow) {
        snprintf(why, whylen, "the '%c' opened here is never closed", stack[depth - 1].c);
        return stack[depth - 1].line;
    }
    return 0;
}
