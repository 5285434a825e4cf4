/* lbl_spif: loads an Open XML SPIF (schema 1.0, 2.0, 2.1) with libxml2 into a compiled policy,
 * and keeps a set of loaded policies keyed by OID and name.
 * A loaded policy is immutable: any number of threads may use it read-only at once. */
#ifndef LBL_SPIF_H
#define LBL_SPIF_H

#include <stddef.h>

#include "lbl_label.h"

struct lbl_policy;
struct lbl_policy_set;

/* Compiled limits: categories are bits in LBL_WORDS 64-bit words, classifications in
 * LBL_CLASS_WORDS; a SPIF beyond them is refused at load. */
#define LBL_WORDS 64                     /* 4096 categories per policy */
#define LBL_CLASS_WORDS 4                /* 256 classifications per policy */

#define LBL_SPIF_MAX_BYTES (16u * 1024 * 1024)

struct lbl_load_opts {
    const char *xsd_path;   /* validate against this spif.xsd first; NULL = no schema check */
};

/* Loads and compiles a SPIF. A malformed, invalid or inconsistent SPIF is refused with
 * err = "FILE:LINE: reason". */
int lbl_policy_load_file(const char *path, const struct lbl_load_opts *opts, struct lbl_policy **out,
                         struct lbl_err *err);
/* Same from memory; name is used in error messages. */
int lbl_policy_load_mem(const void *data, size_t len, const char *name, const struct lbl_load_opts *opts,
                        struct lbl_policy **out, struct lbl_err *err);
void lbl_policy_free(struct lbl_policy *p);

const char *lbl_policy_oid(const struct lbl_policy *p);
const char *lbl_policy_name(const struct lbl_policy *p);
const char *lbl_policy_file(const struct lbl_policy *p);
/* Languages the SPIF's markings use ("" = the default language comes first). */
size_t lbl_policy_nlangs(const struct lbl_policy *p);
const char *lbl_policy_lang(const struct lbl_policy *p, size_t i);
/* Names for display; NULL when the policy has no such value. */
const char *lbl_policy_class_name(const struct lbl_policy *p, unsigned long lacv);
const char *lbl_policy_tagset_name(const struct lbl_policy *p, const char *tagset_oid);
const char *lbl_policy_cat_name(const struct lbl_policy *p, const char *tagset_oid, enum lbl_tag_type type,
                                unsigned long lacv);

/* Reverse lookups by name (route rules name classifications and categories). The rank of a
 * classification is its SPIF hierarchy value: a higher rank is more sensitive. 0, or MG_ENOTFOUND.
 * A category is "NAME" or "TAGSET:NAME" (the tag set's name); a NAME that several categories
 * share is MG_EEXIST unless qualified. */
int lbl_policy_class_find(const struct lbl_policy *p, const char *name, unsigned long *lacv);
int lbl_policy_class_rank(const struct lbl_policy *p, unsigned long lacv, unsigned long *rank);
/* The least sensitive classification in use (lowest hierarchy, obsolete ones skipped): the
 * policy's default for what has no label of its own (reports). 0, or MG_ENOTFOUND. */
int lbl_policy_class_lowest(const struct lbl_policy *p, unsigned long *lacv);
int lbl_policy_cat_find(const struct lbl_policy *p, const char *name, struct lbl_cat *out);

/* A set of policies: labels name their policy by OID (or name, in ADatP-4774 XML). */
struct lbl_policy_set *lbl_policy_set_create(void);
/* Takes ownership of p (also on failure). MG_EEXIST if the OID is already present. */
int lbl_policy_set_add(struct lbl_policy_set *s, struct lbl_policy *p);
const struct lbl_policy *lbl_policy_set_find(const struct lbl_policy_set *s, const char *oid);
const struct lbl_policy *lbl_policy_set_find_name(const struct lbl_policy_set *s, const char *name);
size_t lbl_policy_set_count(const struct lbl_policy_set *s);
const struct lbl_policy *lbl_policy_set_get(const struct lbl_policy_set *s, size_t i);
void lbl_policy_set_free(struct lbl_policy_set *s);
/* The default marking expression (LBL_MARKING_RE_DEFAULT), compiled when the set was created;
 * owned by the set. NULL for a NULL set. */
struct lbl_marking_re;
const struct lbl_marking_re *lbl_policy_set_marking_re(const struct lbl_policy_set *s);

#endif
