/* lsw_int: the loaded `labels` configuration, shared by the gate, the extractor and the
 * shaper (internal to channels/labels). Immutable after lsw_load. */
#ifndef LSW_INT_H
#define LSW_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "lsw.h"
#include "lsw_ldap.h"

/* Where a label may be found at submission (in the listener's list order). */
enum lsw_src {
    LSW_SRC_X411 = 0,   /* the X.411 envelope label (P1: message->label as received) */
    LSW_SRC_ESS,        /* the ESS security label of a signed layer */
    LSW_SRC_XX411,      /* X-X411: (header name configurable) */
    LSW_SRC_SIO,        /* SIO-Label: */
    LSW_SRC_XML,        /* an XML label header (ADatP-4774 / Surevine) */
    LSW_SRC_HEADER,     /* a text header matched by a regular expression */
    LSW_SRC_SUBJECT,    /* the Subject matched by a regular expression */
    LSW_SRC_FLOT,       /* the first line of text matched by a regular expression */
    LSW_SRC_HISTORY,    /* the previous label recorded in SIO-Label-History: (tunnelled) */
};
#define LSW_NSRC 9
const char *lsw_src_name(enum lsw_src s);

enum lsw_missing { LSW_MISSING_REJECT, LSW_MISSING_DEFAULT, LSW_MISSING_ACCEPT };
enum lsw_invalid { LSW_INVALID_REJECT, LSW_INVALID_DEFAULT, LSW_INVALID_CORRECT };
enum lsw_incons { LSW_INCONS_REJECT, LSW_INCONS_HEADER, LSW_INCONS_AUDIT };

/* Header names and regular expressions of the extraction sources (also the shaper's). */
struct lbl_marking_re;

struct lsw_sources {
    enum lsw_src src[LSW_NSRC];
    size_t nsrc;
    char *xx411_header;         /* default "X-X411" */
    char *xml_header;           /* default "X-Security-Label-XML" */
    char *text_header;          /* default "X-Security-Marking" */
    char *header_re, *subject_re, *flot_re; /* NULL = the engine's default / "^\\[(.*)\\]" */
    /* owned: the three compiled once when the configuration loads (lsw_sources_parse, which
     * refuses one that does not compile; a regcomp per marking read was 15% of extraction);
     * NULL = compiled at each read (sources filled without either call) */
    struct lbl_marking_re *header_rx, *subject_rx, *flot_rx;
};

struct lsw_extract {
    char *listener;
    int line;
    struct lsw_sources s;
    int governing;              /* index into s.src; -1 = the first found */
    enum lsw_missing on_missing;
    enum lsw_invalid on_invalid;
    enum lsw_incons on_inconsistent;
    char *incons_header;        /* default "X-Security-Label-Inconsistent" */
    bool has_default;
    struct lbl_label default_label;
    struct lbl_label *class_defaults; /* owned: correction's fallback per classification */
    size_t nclass_defaults;
};

enum lsw_match { LSW_M_ADDR, LSW_M_DOMAIN, LSW_M_PATTERN };

struct lsw_rclear {             /* a recipient's clearance */
    enum lsw_match m;
    char *value;                /* address / domain (lower-cased domain) / fnmatch pattern */
    struct lbl_clearance c;
};

struct lsw_nclear {             /* a channel's or a peer's clearance */
    char *name;
    struct lbl_clearance c;
};

struct lsw {
    struct lbl_policy_set *set; /* owned; the governing policy first */
    const struct lbl_policy *gov;
    bool unlabelled_allow;      /* a message without a label may pass the gate (reports) */
    bool rcpt_required;         /* a recipient without a clearance is denied (default) */
    unsigned char *report_label; /* owned or NULL: the label of a report about an unlabelled subject */
    size_t report_label_len;
    struct lsw_rclear *rc; size_t nrc;
    struct lsw_nclear *ch; size_t nch;
    struct lsw_nclear *peer; size_t npeer;
    struct lsw_extract *ex; size_t nex;
    struct lsw_ldap *ldap;      /* NULL = no directory */
    char *cert_store;           /* NULL = clearances are not taken from certificates */
    struct lsw_route *routes;   /* owned, by route index (NULL when no rule has label conditions) */
    size_t nroutes;
};

/* lsw_route.c: route rules' label conditions, compiled into l (errors as file:line). */
struct lsw_route;
int lsw_route_load(struct lsw *l, const struct config *cfg, struct config_errors *errs);
void lsw_route_free(struct lsw *l);
/* A configuration without a `labels` group: every label condition is an error. */
int lsw_route_check_unconfigured(const struct config *cfg, struct config_errors *errs);

/* Reads a clearance: inline XML ("<...") or a file in any format the engine reads. */
int lsw_read_clearance(const struct lbl_policy_set *set, const char *v, struct lbl_clearance *out,
                       struct lbl_err *err);
/* Reads a label: inline text (XML, SIO-Label, X-X411, a marking) or a file. */
int lsw_read_label(const struct lbl_policy_set *set, const char *v, struct lbl_label *out, struct lbl_err *err);
/* Parses the source list and header names of a group (`extract`, `x_x411_header`, ...). */
int lsw_sources_parse(const config_setting_t *g, const char *file, const char *what, struct lsw_sources *s,
                      struct config_errors *errs);
void lsw_sources_free(struct lsw_sources *s);
/* Compiles header_re, subject_re and flot_re into the *_rx fields, for sources filled without
 * lsw_sources_parse (which compiles them itself and refuses one that does not compile): 0 or
 * MG_ENOMEM; an expression that does not compile is left to each read. */
int lsw_sources_compile(struct lsw_sources *s);
/* Loads the policies named by a group's `spif` and `spifs` into a new set (first = spif). */
int lsw_load_policies(const config_setting_t *g, const char *file, const char *what, struct lbl_policy_set **out,
                      struct config_errors *errs);

/* One label found in the content (extraction and the shaper's input). */
struct lsw_found {
    enum lsw_src src;
    struct lbl_label label;
};
/* Every label the sources find in content (and msg_label: the envelope's X.411 label, may be
 * NULL). *found is an array of *n (free with lsw_found_free). Undecodable text is reported in
 * errs (one line per source, may be NULL) and skipped. */
int lsw_find_labels(const struct lsw_sources *s, const struct lbl_policy_set *set, const unsigned char *c,
                    size_t len, const unsigned char *msg_label, size_t msg_label_len, struct lsw_found **found,
                    size_t *n, char *errs, size_t errsn);
void lsw_found_free(struct lsw_found *f, size_t n);

#endif
