/* lbl_label: the one security label model every codec converges on (ESS, X.411, X-X411, SIO-Label,
 * ADatP-4774 XML, Surevine XML, display markings), plus the clearance model (X.841).
 * These structures hold raw values (policy OID, LACVs, tag set OIDs) and need no SPIF; a loaded
 * policy resolves them into its compiled form for validation, access control and markings. */
#ifndef LBL_LABEL_H
#define LBL_LABEL_H

#include <stddef.h>

#define LBL_OID_MAX 128       /* dotted OID text, including NUL */
#define LBL_MAX_CATS 4096     /* categories in one label or clearance (outside input is capped) */
#define LBL_MAX_CLASSES 256   /* classifications in one clearance class list */

/* The X.841 / SPIF tag types. Informative is SPIF "tagType7". */
enum lbl_tag_type {
    LBL_TAG_RESTRICTIVE = 0,
    LBL_TAG_PERMISSIVE = 1,
    LBL_TAG_ENUM_RESTRICTIVE = 2,
    LBL_TAG_ENUM_PERMISSIVE = 3,
    LBL_TAG_INFORMATIVE = 4,
};
#define LBL_TAG_NTYPES 5

struct lbl_cat {
    char tagset[LBL_OID_MAX];   /* tag set OID */
    enum lbl_tag_type type;
    unsigned long lacv;
};

/* A security category of a type no SPIF tag describes (e.g. a private OID): kept as its DER
 * bytes so that a label passes through unchanged; validation reports it. */
struct lbl_rawcat {
    char type[LBL_OID_MAX];
    unsigned char *value;       /* owned: the value's TLV */
    size_t len;
};

struct lbl_label {
    char policy[LBL_OID_MAX];   /* "" when absent (valid for X.411, not for ESS) */
    int has_class;
    unsigned long class_lacv;
    char *privacy_mark;         /* owned; NULL when absent */
    size_t ncats;
    struct lbl_cat *cats;       /* owned */
    size_t nraw;
    struct lbl_rawcat *raw;     /* owned */
};

struct lbl_clearance {
    char policy[LBL_OID_MAX];
    size_t nclasses;
    unsigned long *classes;     /* owned: LACVs of the class list */
    size_t ncats;
    struct lbl_cat *cats;       /* owned */
};

void lbl_label_init(struct lbl_label *l);
void lbl_label_free(struct lbl_label *l);
/* Deep copy; dst must be initialised (its old content is freed). */
int lbl_label_copy(struct lbl_label *dst, const struct lbl_label *src);
/* Adds a category unless already present (labels are sets). */
int lbl_label_add_cat(struct lbl_label *l, const char *tagset, enum lbl_tag_type type, unsigned long lacv);
int lbl_label_add_raw(struct lbl_label *l, const char *type, const void *value, size_t len);
int lbl_label_set_privacy(struct lbl_label *l, const char *mark);
int lbl_label_has_cat(const struct lbl_label *l, const char *tagset, enum lbl_tag_type type, unsigned long lacv);
/* Set equality: same policy, classification, privacy mark and category set (order ignored). */
int lbl_label_equal(const struct lbl_label *a, const struct lbl_label *b);

void lbl_clearance_init(struct lbl_clearance *c);
void lbl_clearance_free(struct lbl_clearance *c);
int lbl_clearance_add_class(struct lbl_clearance *c, unsigned long lacv);
int lbl_clearance_add_cat(struct lbl_clearance *c, const char *tagset, enum lbl_tag_type type, unsigned long lacv);

const char *lbl_tag_type_name(enum lbl_tag_type t);   /* "restrictive", "enumeratedPermissive", ... */
/* Accepts the Surevine XML spellings (and "tagType7" for informative). 0 or MG_EPARSE. */
int lbl_tag_type_parse(const char *s, enum lbl_tag_type *out);

/* Parses a decimal LACV (leading zeros allowed, as in "004"). 0 or MG_EPARSE. */
int lbl_parse_lacv(const char *s, unsigned long *out);
/* Checks a dotted OID text (at least two arcs, digits only). */
int lbl_oid_valid(const char *s);

/* Error text with a reason, filled by the functions that take it (file:line: reason where known). */
struct lbl_err {
    char msg[512];
};
void lbl_err_set(struct lbl_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
