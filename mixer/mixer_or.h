/* mixer_or: the O/R address as RFC 2156 section 4.1 sees it: an ordered list of
 * attribute/value pairs (C, ADMD, PRMD, O, OU..., personal name, DDAs, postal), its textual
 * form std-or-address ("/C=GB/ADMD= /PRMD=X/O=Y/S=Z/"; input also std-or-address-input with
 * ";" separators, aliases, OU1..OU4, DD.type / DD:type, "$" quoting, PN= as encoded-pn), and
 * encoded-pn ("Marshall.M.T.Rose"). Values are kept in their RFC 2156 text encoding
 * (teletex-and-or-ps: "yen*{165}"), unescaped from "$". A fixed-size value type: no
 * allocation, safe to copy. */
#ifndef MIXER_OR_H
#define MIXER_OR_H

#include <stdbool.h>
#include <stddef.h>

/* Attribute keys in the canonical output order (C first: most significant first). */
enum mixer_or_key {
    MIXER_OR_C,
    MIXER_OR_ADMD,
    MIXER_OR_PRMD,
    MIXER_OR_O,
    MIXER_OR_OU,
    MIXER_OR_CN,
    MIXER_OR_G,
    MIXER_OR_I,
    MIXER_OR_S,
    MIXER_OR_GQ,
    MIXER_OR_X121,
    MIXER_OR_TID,
    MIXER_OR_UAID,
    MIXER_OR_PD_SERVICE,
    MIXER_OR_PD_C,
    MIXER_OR_PD_CODE,
    MIXER_OR_PD_OFFICE,
    MIXER_OR_PD_OFFICE_NUM,
    MIXER_OR_PD_EXT_ADDRESS,
    MIXER_OR_PD_PN,
    MIXER_OR_PD_O,
    MIXER_OR_PD_EXT_DELIVERY,
    MIXER_OR_PD_ADDRESS,
    MIXER_OR_PD_STREET,
    MIXER_OR_PD_BOX,
    MIXER_OR_PD_RESTANTE,
    MIXER_OR_PD_UNIQUE,
    MIXER_OR_PD_LOCAL,
    MIXER_OR_NET_NUM,
    MIXER_OR_NET_SUB,
    MIXER_OR_NET_PSAP,
    MIXER_OR_TTY,
    MIXER_OR_DD, /* type in attr.type; "RFC-822" is printed as the key RFC-822 */
    MIXER_OR_KEY_COUNT
};

#define MIXER_OR_MAX_ATTRS 24
#define MIXER_OR_VALUE_MAX 520 /* a teletex-encoded value of 128 octets fits ("{ddd}") */
#define MIXER_OR_TYPE_MAX 16
#define MIXER_OR_MAX_OU 4
#define MIXER_OR_MAX_DD 4

struct mixer_or_attr {
    enum mixer_or_key key;
    char type[MIXER_OR_TYPE_MAX]; /* DDA type (MIXER_OR_DD only) */
    char value[MIXER_OR_VALUE_MAX];
};

/* An O/R address. Attributes are kept sorted by key; OUs and DDAs keep their order. */
struct mixer_or {
    size_t n;
    struct mixer_or_attr a[MIXER_OR_MAX_ATTRS];
};

void mixer_or_init(struct mixer_or *or);
/* Canonical key name ("PD-OFFICE-NUM"); never NULL for a valid key. */
const char *mixer_or_key_name(enum mixer_or_key key);
/* Key by name (case-insensitive), accepting RFC 2156's input aliases (A, P, Q, X.121, ...).
 * Returns the key or -1. */
int mixer_or_key_lookup(const char *name, size_t n);

/* Add an attribute at its canonical place (after others of the same key). type is for DDs
 * (may be NULL otherwise). MG_ETOOBIG when full or a value is too long, MG_EINVAL when a
 * single-valued key is already present or there are more than 4 OUs / DDs. */
int mixer_or_add(struct mixer_or *or, enum mixer_or_key key, const char *type,
                 const char *value, size_t vlen);
/* The idx-th value of key (idx counts OUs and DDs), or NULL when absent. */
const char *mixer_or_get(const struct mixer_or *or, enum mixer_or_key key, size_t idx);
/* Count of attributes with this key. */
size_t mixer_or_count(const struct mixer_or *or, enum mixer_or_key key);
/* The value of the DDA of this type (case-insensitive), or NULL. */
const char *mixer_or_get_dd(const struct mixer_or *or, const char *type);
/* Remove every attribute with this key (and, for DDs, of this type when type != NULL). */
void mixer_or_remove(struct mixer_or *or, enum mixer_or_key key, const char *type);

/* Parse std-or-address-input (4.1.3). Checks the values' character sets and the X.411 upper
 * bounds; C without ADMD gives ADMD " ". MG_EPARSE with a reason in why (may be NULL). */
int mixer_or_parse(const char *s, size_t n, struct mixer_or *out, char *why, size_t whysize);
/* Print std-or-address ("/C=GB/ADMD= /O=Y/S=Z/"), "$" quoting "/" and "=". MG_ETOOBIG if
 * out is too small. An empty address prints as "/". */
int mixer_or_print(const struct mixer_or *or, char *out, size_t outsize);

/* encoded-pn (4.1.2) -> G, I, S added to out. MG_EPARSE when s is not printable. */
int mixer_or_pn_parse(const char *s, size_t n, struct mixer_or *out);
/* G/I/S of or as encoded-pn, when the restrictions of 4.1.2 hold (no GQ, letters-only
 * initials, given >= 2 chars without ".", ...). MG_ENOTSUP when they do not. */
int mixer_or_pn_print(const struct mixer_or *or, char *out, size_t outsize);

/* Compare two values as RFC 2156 4.3.5 does for lookups: case-insensitive, leading and
 * trailing spaces ignored, inner runs of spaces as one. */
bool mixer_or_value_eq(const char *a, const char *b);

#endif
