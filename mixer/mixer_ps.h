/* mixer_ps: the character-level encodings of RFC 2156 chapter 3: the PrintableString
 * character set, ps-encoded ASCII in PrintableString (section 3.4: "(a)" for "@", "(126)"
 * for "~"), and the domain-syntax check of section 4.2. No allocation: callers give buffers. */
#ifndef MIXER_PS_H
#define MIXER_PS_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 2156 3.3.3 ps-char (ps-restricted-char plus the round brackets). */
bool mixer_ps_is_char(int c);
/* ps-restricted-char: ps-char without "(" and ")". */
bool mixer_ps_is_restricted(int c);
/* Every octet of s[0..n) is a ps-char. */
bool mixer_ps_is_printable(const char *s, size_t n);

/* ASCII -> ps-encoded (3.4): ps-restricted-char as itself, the seven specials as "(a)" etc.
 * in lower case, any other 7-bit character as "(ddd)". Writes a NUL-terminated string.
 * MG_EINVAL for an octet above 127 or NUL, MG_ETOOBIG if out is too small. */
int mixer_ps_encode(const char *in, size_t n, char *out, size_t outsize);
/* ps-encoded -> ASCII (case-insensitive specials; a "(" that starts no escape stays "(").
 * MG_EPARSE for a character outside PrintableString or a "(ddd)" above 127 or zero. */
int mixer_ps_decode(const char *in, size_t n, char *out, size_t outsize);

/* RFC 2156 4.2 domain-syntax: alphanum [*alphanumhyphen alphanum]. One label. */
bool mixer_ps_is_domain_label(const char *s, size_t n);

#endif
