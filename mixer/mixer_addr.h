/* mixer_addr: RFC 2156 section 4.3 address mapping between an RFC 822 addr-spec and an
 * X.400 O/R address, both ways, with the MCGAM tables and the gateway's own identity:
 *   822 -> O/R: the local part as std-or-address or encoded-pn, the domain by the longest
 *     table-1 match plus subdomains; else the O/R address of the preferred gateway of the
 *     domain (table 3) or, failing that (and always for a return address), the local
 *     gateway's, with the "RFC-822" domain-defined attribute (continued in RFC822C1..C3)
 *     holding the ps-encoded address.
 *   O/R -> 822: one "RFC-822" DDA decodes back ("mapping A"); else the longest table-2 match
 *     with further levels as subdomains and the rest of the address on the left as encoded-pn
 *     or std-or-address ("mapping B"); else the domain of the preferred gateway of the
 *     address (table 4) with everything below the matched prefix on the left; else the whole
 *     address quoted "@" the gateway domain. Numeric countries (X.121 DCCs) match tables
 *     written with ISO 3166 codes. */
#ifndef MIXER_ADDR_H
#define MIXER_ADDR_H

#include <stddef.h>

#include "mixer_or.h"
#include "mixer_table.h"

/* Gateway policy flags (mixer_gw.flags). */
enum mixer_gw_flag {
    /* An X.400 notification (IPN) becomes an RFC 8098 MDN (multipart/report) instead of
     * RFC 2156's plain text message, so Internet clients recognise it. */
    MIXER_GW_IPN_AS_MDN = 1u << 0,
};

/* The gateway's identity and conversion policy. tables may be NULL (no MCGAMs). */
struct mixer_gw {
    const struct mixer_tables *tables;     /* not owned */
    char domain[MIXER_TABLE_DOMAIN_MAX];   /* Internet domain of X.400 users ("x400.example") */
    struct mixer_or or;                    /* O/R address of Internet users (C, ADMD, PRMD, O..) */
    unsigned flags;                        /* enum mixer_gw_flag */
};

/* How an address was mapped (for logs and tests). */
enum mixer_addr_how {
    MIXER_ADDR_MCGAM,   /* by a table entry */
    MIXER_ADDR_OR_LHS,  /* the local part was a complete O/R address */
    MIXER_ADDR_DDA,     /* 822 -> O/R: encapsulated in the RFC-822 DDA; O/R -> 822: decoded */
    MIXER_ADDR_GATEWAY, /* O/R -> 822: no MCGAM, quoted under the gateway's domain */
    MIXER_ADDR_PGW,     /* by a preferred-gateway table (RFC 2156 appendix F tables 3 and
                           4): 822 -> O/R encapsulated in another gateway's O/R address;
                           O/R -> 822 the address under another gateway's domain */
};
const char *mixer_addr_how_name(enum mixer_addr_how how);

/* Longest encapsulated 822 address (4 DDAs of 128). */
#define MIXER_ADDR_DDA_MAX 512
/* Largest 822 address produced. */
#define MIXER_ADDR_MAX 1024

/* RFC 822 addr-spec (a source route "@a,@b:" and angle brackets are accepted and stripped)
 * -> O/R address. MG_EPARSE (not an address), MG_ETOOBIG (too long to encapsulate),
 * MG_EINVAL (non-ASCII), with a reason in why. */
int mixer_addr_to_or(const struct mixer_gw *gw, const char *addr, size_t n, struct mixer_or *out,
                     enum mixer_addr_how *how, char *why, size_t whysize);
/* What an 822 address is for (RFC 2156 4.3.4 stage II): an SMTP return address is always
 * encapsulated in the local gateway's O/R address, so errors come back through it; header
 * (IPMS) addresses and SMTP recipients use the preferred-gateway table 3 first. */
enum mixer_addr_use { MIXER_ADDR_USE_IPMS = 0, MIXER_ADDR_USE_RETURN = 1 };
int mixer_addr_to_or_ex(const struct mixer_gw *gw, const char *addr, size_t n,
                        enum mixer_addr_use use, struct mixer_or *out, enum mixer_addr_how *how,
                        char *why, size_t whysize);
/* O/R address -> RFC 822 addr-spec in out (NUL-terminated). */
int mixer_addr_to_822(const struct mixer_gw *gw, const struct mixer_or *or, char *out,
                      size_t outsize, enum mixer_addr_how *how, char *why, size_t whysize);

/* Quote a local part when it is not a dot-atom (RFC 5322 3.4.1). */
int mixer_addr_quote_local(const char *local, size_t n, char *out, size_t outsize);

#endif
