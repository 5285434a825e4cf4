/* rules_int: the compiled form of the rules and the prepared message view, shared by the
 * rules_*.c files only (callers see rules.h). */
#ifndef RULES_INT_H
#define RULES_INT_H

#include <regex.h>

#include "rules.h"

enum rules_addr_kind { RULES_ADDR_EXACT, RULES_ADDR_DOMAIN, RULES_ADDR_SUFFIX, RULES_ADDR_GLOB,
                       RULES_ADDR_REGEX };

/* One address condition: the address matches when any of the values matches. */
struct rules_addr_cond {
    bool recipient;            /* false: the originator */
    enum rules_addr_kind kind;
    char **values;             /* owned; exact/domain/suffix lower-cased */
    regex_t *re;               /* owned; RULES_ADDR_REGEX: n compiled patterns */
    size_t n;
};

struct rules_hdr_cond {
    char *name;                /* owned */
    regex_t re;                /* owned */
};

struct rules_edit_tmpl {
    enum rules_edit_op op;
    char *name;                /* owned */
    char *value;               /* owned template; NULL for remove */
};

/* Sensitivity (RFC 4021 2.1.55) and Importance (RFC 4021 2.1.54) as bit masks. */
enum { RULES_SENS_PERSONAL = 1, RULES_SENS_PRIVATE = 2, RULES_SENS_COMPANY = 4 };
enum { RULES_IMP_LOW = 1, RULES_IMP_NORMAL = 2, RULES_IMP_HIGH = 4 };

struct rules_range {
    bool has_min, has_max;
    int64_t min, max;
};

struct rules_rule {
    char *name;                /* owned */
    int line;
    /* conditions (all must hold) */
    struct rules_addr_cond *addr; size_t n_addr;  /* owned */
    struct rules_hdr_cond *hdr; size_t n_hdr;     /* owned */
    struct rules_range size, priority, classification;
    int has_attachments, is_signed, is_encrypted; /* -1 = not asked, 0 / 1 = wanted value */
    unsigned sensitivity, importance;             /* 0 = not asked, else a mask of accepted */
    /* actions */
    enum rules_action action;
    int status_code;
    char status[16];
    char *text;                /* owned template (return) */
    char *reason;              /* owned template (hold) */
    struct rules_edit_tmpl *edits; size_t n_edits; /* owned */
    char **copy; size_t n_copy;                    /* owned */
    char **notify; size_t n_notify;                /* owned */
    char *notify_text;         /* owned template; NULL = the default text */
};

struct rules {
    struct rules_rule *v;      /* owned */
    size_t n;
};

struct rules_hdr {
    char *name;                /* owned, as in the message */
    char *value;               /* owned, unfolded, outer blanks trimmed, capped */
};

struct rules_prepared {
    struct rules_msg msg;      /* a copy; its strings and content are the caller's */
    struct rules_hdr *h;       /* owned */
    size_t n_h;
    struct rules_prepared_info info;
    unsigned sensitivity;      /* the message's value as a mask, 0 = absent or unknown */
    unsigned importance;       /* RULES_IMP_NORMAL when absent */
    char date[64];             /* RFC 5322 date of msg.now, UTC */
};

/* Template variables, ${name} (or \${name} inside a configuration file, see docs/rules.md). */
struct rules_vars {
    const char *qid, *originator, *recipient, *date, *rule;
};

/* Checks a template: 0, or -1 with a message about the first problem in msg. */
int rules_tmpl_check(const char *t, char *msg, size_t msg_size);
/* Expands a checked template; CR, LF, NUL and other controls from variable values become
 * spaces (no header injection from an envelope address). NULL on out of memory. */
char *rules_tmpl_expand(const char *t, const struct rules_vars *v);

/* Header field scanning, shared by rules_msg.c and rules_edit.c: one field starting at `pos`
 * of the header section (a name, ':', a value with continuation lines). */
struct rules_field {
    size_t start, end;         /* [start, end): the field's lines including the last line end */
    size_t name_len;           /* name is content[start .. start+name_len) */
    size_t value_start;        /* just after the ':' */
    size_t value_end;          /* before the last line's line end */
};
/* Returns 1 and *f for a field at pos, 0 when the header section ends at pos (an empty line,
 * the end of content, or a line that is not a field). Linear in the field's length. */
int rules_next_field(const unsigned char *c, size_t len, size_t pos, struct rules_field *f);
/* True when the line at pos is empty (the separator between header and body). */
bool rules_empty_line(const unsigned char *c, size_t len, size_t pos);

/* ---- the compiler's context and getters (rules_cfg.c) ---------------------------------- */

struct rules_cfg {
    const char *file;
    struct config_errors *errs;
    bool bad;                  /* an error was reported */
    bool oom;
    const char *rule;          /* name of the rule being compiled, for messages */
};

/* Reports "file:line: message" at s's line (0 when s is NULL) and marks the set bad. */
void rules_cfg_err(struct rules_cfg *c, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
char *rules_cfg_dup(struct rules_cfg *c, const char *s); /* strdup; NULL marks oom */
void rules_cfg_lower(char *s);
bool rules_cfg_has_ctl(const char *s);
/* The entry of `known` within edit distance 2 of name (for did-you-mean), or NULL. */
const char *rules_cfg_suggest(const char *name, const char *const *known);
int rules_cfg_find_word(const char *s, const char *const *words); /* index or -1, any case */
/* Every member of grp must be in keys; what = "in rule 'x'". */
void rules_cfg_check_keys(struct rules_cfg *c, const config_setting_t *grp,
                          const char *const *keys, const char *what);
const char *rules_cfg_type_word(const config_setting_t *s); /* "a string", "a number", ... */
/* Getters: 1 = present and valid, 0 = absent, -1 = wrong (reported). */
int rules_cfg_get_str(struct rules_cfg *c, const config_setting_t *g, const char *key,
                      const char **out);
int rules_cfg_get_bool(struct rules_cfg *c, const config_setting_t *g, const char *key, int *out);
int rules_cfg_get_int(struct rules_cfg *c, const config_setting_t *g, const char *key, int64_t lo,
                      int64_t hi, int64_t *out);
/* A number of bytes or a string with k, M, G (config_parse_size). */
int rules_cfg_get_size(struct rules_cfg *c, const config_setting_t *g, const char *key,
                       int64_t *out);
/* A string or a list/array of strings: *out is a malloc'd array (caller frees) of n pointers
 * into the tree; *where the setting. */
int rules_cfg_get_strs(struct rules_cfg *c, const config_setting_t *g, const char *key,
                       const char ***out, size_t *n, const config_setting_t **where);

#endif
