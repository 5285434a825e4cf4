/* lbl_marking: display markings generated from the SPIF (page, first line of text, Subject
 * prefix, X-header ... in any of the SPIF's languages) and parsed back into a structured label. */
#ifndef LBL_MARKING_H
#define LBL_MARKING_H

#include "lbl_label.h"
#include "lbl_spif.h"

/* Marking locations (SPIF markingCode names). */
enum lbl_loc {
    LBL_LOC_PAGEBOTTOM = 0,   /* the default: what spiffing and most tools display */
    LBL_LOC_PAGETOP,
    LBL_LOC_DOCSTART,
    LBL_LOC_DOCEND,
    LBL_LOC_FLOT,             /* firstLineOfText */
    LBL_LOC_SUBJECT,
    LBL_LOC_XHEADER,
};

/* Accepts markingCode names ("pageBottom", "firstLineOfText", "subject", "xHeader", ...) and
 * the short forms "page", "flot". 0 or MG_EINVAL. */
int lbl_loc_parse(const char *s, enum lbl_loc *out);

/* The display marking of a label, in lang ("" or NULL = the SPIF's default language; "fr-CA"
 * falls back to "fr", then to the default). *out is malloc'd. A phrase the SPIF gives no marking
 * for at a text location (Subject, first line, X-header) uses its page marking. */
int lbl_marking(const struct lbl_policy *p, const struct lbl_label *l, const char *lang, enum lbl_loc loc,
                char **out, struct lbl_err *err);
/* The marking of a clearance: {CLASS|CLASS} followed by its categories. */
int lbl_clearance_marking(const struct lbl_policy *p, const struct lbl_clearance *c, const char *lang, char **out,
                          struct lbl_err *err);

/* Default POSIX extended regular expression that cuts a marking out of surrounding text: the
 * first parenthesised sub-match (or the whole match) is the marking. */
#define LBL_MARKING_RE_DEFAULT "^[[:space:]]*(.*[^[:space:]])[[:space:]]*$"

/* Parses a display marking back into a label under p. re (NULL = default) selects the marking
 * inside text, e.g. "^\\[(.*)\\]" for a Subject prefix. The result is checked by generating its
 * marking again: MG_EPARSE with the reason if the text is not a marking of this SPIF. */
int lbl_marking_parse(const struct lbl_policy *p, const char *text, const char *re, const char *lang,
                      enum lbl_loc loc, struct lbl_label *out, struct lbl_err *err);

/* The same with the expression compiled once (a configuration's, when it is loaded): compiling
 * it on every read was the larger part of a short marking's cost. re is only read, so one
 * compiled expression serves any number of threads. */
struct lbl_marking_re;
/* re NULL = LBL_MARKING_RE_DEFAULT. MG_EINVAL with the reason when it does not compile, MG_ENOMEM.
 * *out is owned by the caller (lbl_marking_re_free). */
int lbl_marking_re_new(const char *re, struct lbl_marking_re **out, struct lbl_err *err);
void lbl_marking_re_free(struct lbl_marking_re *re);
int lbl_marking_parse_re(const struct lbl_policy *p, const char *text, const struct lbl_marking_re *re,
                         const char *lang, enum lbl_loc loc, struct lbl_label *out, struct lbl_err *err);

#endif
