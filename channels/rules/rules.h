/* rules: the operator's policy rules (the `rules` processing channel), as a pure library.
 *
 * rules_compile() turns a channel's libconfig group into an immutable struct rules (every
 * problem reported as file:line). Per message the caller prepares a view once
 * (rules_prepare: headers unfolded, top-level MIME structure) and evaluates it per recipient
 * (rules_eval): the first matching rule decides. rules_apply_headers() writes the header edits
 * of a result into a new copy of the content, the body byte for byte as it was.
 *
 * No I/O, no globals: a struct rules and a struct rules_prepared are read-only after they are
 * built and may be shared between threads. The syntax is documented in docs/rules.md and at the
 * top of etc/examples/rules.conf. */
#ifndef RULES_H
#define RULES_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Limits of the compiler (a configuration beyond them is an error, not truncated). */
#define RULES_MAX_RULES 4096
#define RULES_MAX_VALUES 256      /* strings in one condition's list, edits, copies per rule */
#define RULES_MAX_STRING 4096     /* one pattern, header value template, text */
#define RULES_MAX_GLOB_STARS 4    /* '*' in one glob (fnmatch time on hostile addresses) */

/* Limits of rules_prepare on hostile content (beyond them the view is marked `truncated`,
 * see struct rules_prepared; matching goes on with what was seen). */
#define RULES_MAX_HEADER_BYTES (1024u * 1024) /* header section scanned */
#define RULES_MAX_HEADERS 1024                /* fields kept */
#define RULES_MAX_VALUE 65536                 /* unfolded value kept per field */
#define RULES_MAX_MIME_DEPTH 16               /* nested multiparts walked */
#define RULES_MAX_MIME_PARTS 512              /* parts looked at in all */

struct rules; /* compiled, immutable */

/* Compiles the `rules` list (and checks every other key) of one channel group of type "rules".
 * `file` names the file in errors. Every problem is added to errs as "file:line: message".
 * Returns 0 and *out (free with rules_free), or MG_ECONFIG (errors added) / MG_ENOMEM /
 * MG_EINVAL, with *out NULL. */
int rules_compile(const config_setting_t *channel_group, const char *file,
                  struct config_errors *errs, struct rules **out);
void rules_free(struct rules *r);
size_t rules_count(const struct rules *r);
const char *rules_name(const struct rules *r, size_t index); /* NULL when out of range */

/* ---- the message ----------------------------------------------------------------------- */

struct rules_msg {
    const char *qid;              /* queue id, for ${qid} and alerts */
    const char *originator;       /* envelope originator; "" = null reverse-path */
    const unsigned char *content; /* RFC 5322 bytes, CRLF or LF; not NUL-terminated */
    size_t content_len;
    int priority;                 /* 0..5 (the message model's priority) */
    int classification;           /* label classification; -1 = no label */
    int64_t now;                  /* seconds since the epoch, for ${date} */
};

/* What rules_prepare saw; opaque apart from these flags (tests and logs read them). */
struct rules_prepared_info {
    bool has_attachments;
    bool is_signed;
    bool is_encrypted;
    bool truncated;    /* a limit was reached (huge header, too deep, too many parts) */
    size_t n_headers;
};

struct rules_prepared;

/* Parses what the rules need from msg (which must outlive the prepared view: strings are
 * referenced, not copied). Never fails on bad content (a message with no header, binary
 * junk, ... is a view with fewer headers); fails only with MG_ENOMEM / MG_EINVAL. */
int rules_prepare(const struct rules_msg *msg, struct rules_prepared **out);
void rules_prepared_free(struct rules_prepared *p);
void rules_prepared_get_info(const struct rules_prepared *p, struct rules_prepared_info *info);

/* ---- the result ------------------------------------------------------------------------ */

enum rules_action {
    RULES_CONTINUE, /* go on along the chain (possibly with header edits, copies, alerts) */
    RULES_RETURN,   /* return to the originator (status_code 5xx) or defer (4xx) */
    RULES_HOLD,     /* hold with hold_reason */
    RULES_DISCARD,  /* drop silently; the caller writes the audit record */
};

enum rules_edit_op { RULES_EDIT_ADD, RULES_EDIT_REPLACE, RULES_EDIT_REMOVE };

struct rules_edit {
    enum rules_edit_op op;
    char *name;  /* owned; a field name as configured */
    char *value; /* owned; expanded, no CR/LF; NULL for remove */
};

struct rules_result {
    enum rules_action action;
    int rule_index;          /* 0-based; -1 when no rule matched (then action is CONTINUE) */
    const char *rule_name;   /* the compiled rules' string; NULL when no rule matched */
    int rule_line;           /* where the rule is in the file; 0 when none */
    int status_code;         /* RULES_RETURN: 4xx or 5xx */
    char status[16];         /* RULES_RETURN: RFC 3463 status, e.g. "5.7.1" */
    char *text;              /* owned; RULES_RETURN: the reply text, expanded */
    char *hold_reason;       /* owned; RULES_HOLD: expanded */
    struct rules_edit *edits; size_t n_edits;    /* owned; in order of application */
    const char *const *copy; size_t n_copy;      /* the compiled rules' strings: extra recipients */
    const char *const *notify; size_t n_notify;  /* the compiled rules' strings: alert addresses */
    char *notify_text;       /* owned; the alert text (names qid, rule), NULL when no notify */
};

/* Evaluates the rules for one recipient. *out is overwritten (free it with
 * rules_result_free). Returns 0, or MG_ENOMEM / MG_EINVAL (then *out holds nothing to free). */
int rules_eval(const struct rules *r, const struct rules_prepared *p, const char *recipient,
               struct rules_result *out);
void rules_result_free(struct rules_result *res);

/* True when two results have the same effect (action, status, texts, edits, copies, alerts),
 * so that the recipients they belong to can travel together with one content. */
bool rules_result_same(const struct rules_result *a, const struct rules_result *b);

/* Applies edits to content: removes and replaces fields (every instance of the name; replace
 * puts the new field where the first instance was, or at the end when there was none), adds
 * fields at the end of the header section. The body and every untouched header line are kept
 * byte for byte; new lines use the line ending of the content's first line (CRLF when there
 * is none). *out is a new malloc'd buffer (caller frees); returns 0, MG_ENOMEM, MG_ETOOBIG
 * (result would exceed SIZE_MAX/2) or MG_EINVAL. */
int rules_apply_headers(const unsigned char *content, size_t len, const struct rules_edit *edits,
                        size_t n_edits, unsigned char **out, size_t *out_len);

const char *rules_action_name(enum rules_action a);

#endif
