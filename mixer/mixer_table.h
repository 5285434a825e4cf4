/* mixer_table: the tables of RFC 2156 appendix F loaded from text, with file:line errors, and
 * their lookups (longest match, case-insensitive): the MCGAMs (table 1 "rfc2or": domain ->
 * O/R, table 2 "or2rfc": O/R -> domain) and the preferred gateways (table 3 "gate1": domain ->
 * O/R address of the X.400 gateway that serves it, table 4 "gate2": O/R -> domain of the
 * Internet gateway that serves it; RFC 2163 names them gate1 / gate2). Lines are `domain#dmn-or-address#` /
 * `dmn-or-address#domain#` (appendix F) or PP's `domain:or` / `or:domain`; `#` starts a
 * comment line; dmn-or-address is `OU$x.O$y.PRMD$z.ADMD$w.C$cc` (most significant on the
 * right, `$@` an omitted level, `\.` a dot in a value). The caller reads the files: no I/O. */
#ifndef MIXER_TABLE_H
#define MIXER_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "mixer_or.h"

enum mixer_table_kind {
    MIXER_TABLE_RFC2OR = 0, /* table 1 */
    MIXER_TABLE_OR2RFC = 1, /* table 2 */
    MIXER_TABLE_GATE1 = 2,  /* table 3: domain -> O/R of the preferred gateway */
    MIXER_TABLE_GATE2 = 3,  /* table 4: O/R -> domain of the preferred gateway */
};
#define MIXER_TABLE_KINDS 4

/* The MCGAM hierarchy (4.2): C, ADMD, PRMD, O, OU1..OU4. */
#define MIXER_TABLE_LEVELS 8
#define MIXER_TABLE_DOMAIN_MAX 256
#define MIXER_TABLE_VALUE_MAX 66
#define MIXER_TABLE_MAX_ENTRIES 200000

struct mixer_mcgam {
    char domain[MIXER_TABLE_DOMAIN_MAX];
    size_t nlevels; /* levels 0..nlevels-1 are specified (present or omitted) */
    struct {
        bool omitted;
        char value[MIXER_TABLE_VALUE_MAX];
    } level[MIXER_TABLE_LEVELS];
    char file[64]; /* where it came from, for messages (truncated name) */
    unsigned line;
};

struct mixer_tables {
    struct mixer_mcgam *e[MIXER_TABLE_KINDS]; /* owned; indexed by enum mixer_table_kind */
    size_t n[MIXER_TABLE_KINDS];
    size_t cap[MIXER_TABLE_KINDS];
};

void mixer_tables_init(struct mixer_tables *t);
void mixer_tables_free(struct mixer_tables *t);

/* Add the entries of one table text. name names the file in errors. On error nothing of
 * this text is kept and err holds "name:line: reason". MG_EPARSE, MG_ETOOBIG, MG_ENOMEM. */
int mixer_tables_load(struct mixer_tables *t, enum mixer_table_kind kind, const char *name,
                      const char *text, size_t len, char *err, size_t errsize);

/* Table 1: the entry whose domain is the longest suffix (at a label boundary) of domain.
 * *prefix_len is the length of the unmatched leading part including its final "." (0 on an
 * exact match). NULL when none matches. */
const struct mixer_mcgam *mixer_tables_find_domain(const struct mixer_tables *t,
                                                   const char *domain, size_t *prefix_len);
/* Table 2: the entry matching the most hierarchy levels of or; NULL when none. A numeric
 * country (X.121 DCC) matches its ISO 3166 letters (RFC 2156 4.3.5 step 2). */
const struct mixer_mcgam *mixer_tables_find_or(const struct mixer_tables *t,
                                               const struct mixer_or *or);

/* Table 3: the preferred X.400 gateway of a domain (longest suffix match), NULL when none. */
const struct mixer_mcgam *mixer_tables_find_gate1(const struct mixer_tables *t,
                                                  const char *domain);
/* Table 4: the preferred Internet gateway of an O/R address (most levels matched). */
const struct mixer_mcgam *mixer_tables_find_gate2(const struct mixer_tables *t,
                                                  const struct mixer_or *or);
/* Level i of an O/R address (0 C, 1 ADMD, 2 PRMD, 3 O, 4.. OUs), NULL when absent. */
const char *mixer_tables_or_level(const struct mixer_or *or, size_t i);
/* Key of level i. */
enum mixer_or_key mixer_tables_level_key(size_t i);

/* Consistency of the tables (issue: "a mapped address that maps back to something else is
 * refused"): each table-1 entry whose O/R is exactly a table-2 entry must map to the same
 * domain, and the reverse; and (appendix F) a key may not be both in table 1 and table 3,
 * nor both in table 2 and table 4. Returns the number of conflicts; the first is described
 * in err as "file:line: ...". Country values compare after mapping X.121 DCCs to ISO 3166. */
size_t mixer_tables_check(const struct mixer_tables *t, char *err, size_t errsize);

#endif
