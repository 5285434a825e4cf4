/* oraddr: X.400 O/R addresses in the RFC 2156 textual form, the one form mixgate shows and
 * routes by ("/C=GB/ADMD= /PRMD=SMHS/O=MOD/S=Smith/"). Parses the slash form and the
 * semicolon form ("S=Smith;O=MOD;P=SMHS;A= ;C=GB"), normalises the attribute keywords
 * (A -> ADMD, P -> PRMD, Q -> GQ, OU1..OU4 -> OU in order, DDA:x / DD:x -> DD.x, upper case
 * except a domain-defined type), adds the blank ADMD when C is given without one (RFC 2156
 * 4.1), keeps values as written
 * (trimmed; an empty or blank ADMD is the single space X.400 uses for "any"), writes the
 * canonical slash form in hierarchy order, and matches a route rule's attributes against an
 * address (every rule attribute present with an equal value, case-insensitively; OUs as a
 * prefix). Pure functions over caller storage: any thread may call them. */
#ifndef ORADDR_H
#define ORADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ORADDR_MAX_ATTRS 24
#define ORADDR_KEY_MAX 40      /* "DD." + a domain-defined type (ub-domain-defined-attribute-type-length 8, with room) */
#define ORADDR_VAL_MAX 130     /* ub-domain-defined-attribute-value-length 128 and the others */
#define ORADDR_TEXT_MAX 1024   /* longest textual form accepted */

struct oraddr_attr {
    char key[ORADDR_KEY_MAX];  /* normalised: "C", "ADMD", "PRMD", "O", "OU", "S", "G", "I",
                                  "GQ", "CN", "X121", "UA-ID", "T-ID", "DD.type", ... */
    char val[ORADDR_VAL_MAX];
};

struct oraddr {
    size_t n;
    struct oraddr_attr a[ORADDR_MAX_ATTRS]; /* in canonical (hierarchy) order after parse */
};

/* Does s look like an O/R address rather than an RFC 5321 mailbox? (starts with '/' and has
 * "=", or is the semicolon form with no '@'). */
bool oraddr_looks_like(const char *s);

/* Parses text into *o (canonical order). 0, MG_EINVAL (NULL), MG_EPARSE (not the form: why
 * in err, may be NULL), MG_ETOOBIG (too long / too many attributes / a value too long). */
int oraddr_parse(const char *text, struct oraddr *o, char *err, size_t errsz);

/* The same for a route rule's attributes: no blank ADMD is added (a rule "/C=GB/" matches
 * every ADMD in GB). */
int oraddr_parse_rule(const char *text, struct oraddr *o, char *err, size_t errsz);

/* Writes the canonical slash form into buf (always NUL-terminated when bufsz > 0). 0 or
 * MG_ETOOBIG (buf too small: buf holds a truncated form; or the form, lengthened by its
 * escapes, is longer than ORADDR_TEXT_MAX, which oraddr_parse would refuse). */
int oraddr_format(const struct oraddr *o, char *buf, size_t bufsz);

/* Value of the first attribute with this key, or NULL. */
const char *oraddr_get(const struct oraddr *o, const char *key);

/* Does the rule (a parsed or_address route value) match address? Every attribute of the rule
 * is present in the address with an equal value (case-insensitive, blanks trimmed); the
 * rule's OUs are a prefix of the address's OUs. */
bool oraddr_matches(const struct oraddr *rule, const struct oraddr *addr);

/* Canonicalise text into buf: parse + format. Same returns as the two. */
int oraddr_normalize(const char *text, char *buf, size_t bufsz, char *err, size_t errsz);

#endif
