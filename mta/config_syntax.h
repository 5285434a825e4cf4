/* config_syntax: where a libconfig syntax error really is. libconfig notices an unclosed
 * brace or string only at the end of the file and reports that line; this scan of the text
 * (outside input: bounded, never aborts) names the line that opened it instead. */
#ifndef CONFIG_SYNTAX_H
#define CONFIG_SYNTAX_H

#include <stddef.h>

/* The line (1-based) of a likely cause of a syntax error, with why ("the '{' opened here is
 * never closed", ...); 0 when the scan finds nothing to blame. A bracket closed by the wrong
 * kind names its opening line at once; at the end, in this order: a comment never closed, a
 * string that runs over several lines (a missing '"'), a string never closed, the innermost
 * bracket never closed. */
int config_syntax_hint(const char *text, size_t len, char *why, size_t whylen);

#endif
