/* lbl_spif_int: the compiled in-memory form of a SPIF, shared by the labels modules only.
 * Categories are numbered by "ordinal", their order in the SPIF document; a tag's categories
 * therefore occupy one contiguous ordinal range, which lets access control work on bitsets. */
#ifndef LBL_SPIF_INT_H
#define LBL_SPIF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lbl_spif.h"

/* Marking codes (SPIF markingCode), as bits. */
enum {
    LBL_MK_PAGETOP = 1u << 0,
    LBL_MK_PAGEBOTTOM = 1u << 1,
    LBL_MK_DOCSTART = 1u << 2,
    LBL_MK_DOCEND = 1u << 3,
    LBL_MK_NONAME = 1u << 4,
    LBL_MK_NOMARKING = 1u << 5,
    LBL_MK_SUPPRESSCLASS = 1u << 6,
    LBL_MK_FLOT = 1u << 7,
    LBL_MK_LLOT = 1u << 8,
    LBL_MK_SUBJECT = 1u << 9,
    LBL_MK_XHEADER = 1u << 10,
    LBL_MK_PORTION = 1u << 11,
    LBL_MK_INPUTTITLE = 1u << 12,
    LBL_MK_WATERMARK = 1u << 13,
    LBL_MK_REPLACEPOLICY = 1u << 14,
};
#define LBL_MK_LOCATIONS (LBL_MK_PAGETOP | LBL_MK_PAGEBOTTOM | LBL_MK_DOCSTART | LBL_MK_DOCEND | LBL_MK_FLOT | \
                          LBL_MK_LLOT | LBL_MK_SUBJECT | LBL_MK_XHEADER | LBL_MK_PORTION | LBL_MK_INPUTTITLE | \
                          LBL_MK_WATERMARK)

#define LBL_MAX_POLICY_CATS (LBL_WORDS * 64)

struct lbl_phrase {
    unsigned codes;
    char *text;                          /* NULL: no phrase attribute (use the name) */
};

/* The marking data and qualifiers of one element for one language ("" = no xml:lang). */
struct lbl_mk {
    char *lang;
    char *prefix, *suffix, *sep;         /* never NULL ("" when absent) */
    size_t nphr;
    struct lbl_phrase *phr;
};

struct lbl_mks {
    size_t n;
    struct lbl_mk *v;
};

/* SPIF optionalCategoryData (categoryGroup, excludedCategory): compiled to ordinals. */
struct lbl_catdata {
    char *tsref;                         /* tagSetRef as written (compiled after all tag sets) */
    int line;
    int tagset;                          /* index into policy tagsets */
    enum lbl_tag_type type;
    int all;
    unsigned long lacv;
    size_t nords;
    uint32_t *ords;
};

enum lbl_op { LBL_OP_ONLYONE, LBL_OP_ONEORMORE, LBL_OP_ALL };

struct lbl_group {
    enum lbl_op op;
    size_t n;
    struct lbl_catdata *v;
    int line;
};

enum { LBL_APPLIED_ENCRYPT = 1, LBL_APPLIED_DECRYPT = 2 };

/* Groups of another policy are kept as raw references and compiled against that policy when a
 * translation runs (the other SPIF may be loaded later, or never). */
struct lbl_rawdata {
    char *tagset_name;
    enum lbl_tag_type type;
    int all;
    unsigned long lacv;
};

struct lbl_rawgroup {
    enum lbl_op op;
    size_t n;
    struct lbl_rawdata *v;
};

struct lbl_equiv_class {
    char *policy_oid;
    unsigned long lacv;
    unsigned applied;
    size_t ngroups;
    struct lbl_rawgroup *groups;         /* fix-ups in the other policy */
};

struct lbl_equiv_cat {
    char *policy_oid;
    char *tagset_oid;
    enum lbl_tag_type type;
    unsigned long lacv;
    int discard;
    unsigned applied;
};

struct lbl_equiv_policy {
    char *name, *oid;
    size_t ngroups;
    struct lbl_rawgroup *groups;         /* categories the other policy requires on translation */
};

struct lbl_class {
    char *name;
    char *color;
    unsigned long lacv;
    unsigned long hierarchy;
    int obsolete;
    int line;
    struct lbl_mks mk;
    size_t ngroups;
    struct lbl_group *groups;            /* requiredCategory */
    size_t nequiv;
    struct lbl_equiv_class *equiv;
};

struct lbl_category {
    char *name;
    unsigned long lacv;
    int tag, tagset;
    int obsolete;
    int line;
    uint64_t excl_class[LBL_CLASS_WORDS];
    size_t nexcl;
    struct lbl_catdata *excl;            /* excludedCategory */
    size_t ngroups;
    struct lbl_group *groups;            /* requiredCategory */
    size_t nequiv;
    struct lbl_equiv_cat *equiv;
    struct lbl_mks mk;
};

struct lbl_tag {
    char *name;
    int tagset;
    enum lbl_tag_type type;
    int t7_enumerated;                   /* tagType7 with securityAttributes (else bitSetAttributes) */
    int single;
    unsigned long minsel, maxsel;        /* 0 / ULONG_MAX when unbounded */
    uint32_t first, count;               /* ordinal range */
    struct lbl_mks mk;
};

struct lbl_tagset {
    char *name, *oid;
    struct lbl_mks mk;
};

struct lbl_privmark {
    char *name;
    int obsolete;
};

struct lbl_policy {
    char *file;
    char *name, *oid;
    char *default_oid;
    char *rbac_oid;
    char *schema_version;
    size_t nclasses;
    struct lbl_class *classes;
    size_t ntagsets;
    struct lbl_tagset *tagsets;
    size_t ntags;
    struct lbl_tag *tags;
    size_t ncats;
    struct lbl_category *cats;           /* by ordinal */
    size_t nequiv;
    struct lbl_equiv_policy *equiv;
    size_t nprivacy;
    struct lbl_privmark *privacy;
    struct lbl_mks mk;
    size_t nlangs;
    char **langs;                        /* every xml:lang used, "" first */
    /* Access-control tables. */
    uint32_t nwords;
    uint64_t restrictive[LBL_WORDS];     /* ordinals of restrictive and enumerated restrictive tags */
};

/* Index of the classification with this LACV, or -1. */
int lbl_policy_class_index(const struct lbl_policy *p, unsigned long lacv);
int lbl_policy_class_by_name(const struct lbl_policy *p, const char *name);
int lbl_policy_tagset_by_oid(const struct lbl_policy *p, const char *oid);
int lbl_policy_tagset_by_name(const struct lbl_policy *p, const char *name);
/* Ordinal of (tag set, type, lacv), or -1. */
int lbl_policy_cat_lookup(const struct lbl_policy *p, int tagset, enum lbl_tag_type type, unsigned long lacv);
/* The marking of an element for a language: exact tag, then primary subtag, then "". */
const struct lbl_mk *lbl_mks_find(const struct lbl_mks *m, const char *lang);
/* lbl_xml.c: drops libxml2's generic error channel on this thread (encoding and I/O errors of
 * the input, which it would write to stderr); called before each parse. */
void lbl_xml_quiet(void);

/* lbl_spif_load.c: parses a SPIF's bytes (len at least 1 and at most INT_MAX: the caller's
 * checks) into a document, validated against opts->xsd_path when set. 0 and *out (the
 * caller frees it with xmlFreeDoc), or MG_EPARSE / MG_ECONFIG / MG_ENOMEM with err naming
 * name, the line and libxml2's first error. */
struct _xmlDoc;
int lbl_spif_load_xml(const void *data, size_t len, const char *name,
                      const struct lbl_load_opts *opts, struct _xmlDoc **out, struct lbl_err *err);

#endif
