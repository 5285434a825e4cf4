/* lbl_check: a label against its SPIF. Resolution into the compiled form, validation with
 * reasons, correction, the access control decision (X.841 rules) and policy translation
 * through equivalent policies. Everything here only reads the policy: thread-safe. */
#ifndef LBL_CHECK_H
#define LBL_CHECK_H

#include <stdint.h>

#include "lbl_label.h"
#include "lbl_spif.h"

/* A label resolved against one policy: classification index and a bitset of category ordinals.
 * Resolve once per message, then decide against any number of clearances. */
struct lbl_rlabel {
    const struct lbl_policy *policy;
    int cls;                              /* classification index; -1 = none */
    uint32_t ncats;
    uint64_t bits[LBL_WORDS];
};

struct lbl_rclear {
    const struct lbl_policy *policy;
    uint64_t classes[LBL_CLASS_WORDS];    /* classification indexes held */
    uint64_t bits[LBL_WORDS];             /* category ordinals held */
};

/* Fails (MG_ENOTFOUND, with the reason) on a policy mismatch or a value the SPIF does not define. */
int lbl_resolve(const struct lbl_policy *p, const struct lbl_label *l, struct lbl_rlabel *out, struct lbl_err *err);
int lbl_resolve_clearance(const struct lbl_policy *p, const struct lbl_clearance *c, struct lbl_rclear *out,
                          struct lbl_err *err);

/* Access control decision. Returns 1 allow, 0 deny; why (may be NULL: the fast path) gets the
 * reason for a deny or "allowed". */
int lbl_decide(const struct lbl_rlabel *l, const struct lbl_rclear *c, struct lbl_err *why);

/* Reasons a label is invalid, one per line in text order. */
#define LBL_MAX_REASONS 16
struct lbl_reasons {
    unsigned n;
    char r[LBL_MAX_REASONS][200];
};

/* 1 valid, 0 invalid (reasons filled): unknown values, obsolete values, excluded classes and
 * categories, required categories, tag selection limits, privacy marks the SPIF does not list. */
int lbl_validate(const struct lbl_policy *p, const struct lbl_label *l, struct lbl_reasons *why);

enum {
    LBL_FIX_DROP_UNKNOWN = 1,   /* drop categories the SPIF does not define */
    LBL_FIX_DROP_OBSOLETE = 2,  /* drop categories the SPIF marks obsolete */
};
/* Correction keeps the classification and removes what the flags name; *dropped counts removals. */
int lbl_correct(const struct lbl_policy *p, struct lbl_label *l, unsigned flags, unsigned *dropped);
/* in when it carries a policy and classification, else a copy of def (the configured default). */
int lbl_label_or_default(const struct lbl_label *in, const struct lbl_label *def, struct lbl_label *out);

/* Translates a label into policy to_oid through the SPIFs' equivalent policies, honouring the
 * "applied" direction (encrypt: leaving the source policy; decrypt: entering the target).
 * Both policies must be in the set. MG_ENOTFOUND with the reason when no equivalent exists. */
int lbl_translate(const struct lbl_policy_set *set, const struct lbl_label *in, const char *to_oid,
                  struct lbl_label *out, struct lbl_err *err);

#endif
