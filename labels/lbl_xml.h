/* lbl_xml: XML label formats. The Surevine "spiffy" XML label and clearance
 * (xmlns http://surevine.com/xmlns/spiffy, values by LACV and tag set OID) and the ADatP-4774
 * NATO confidentiality label and clearance (values by name, so a policy set is needed). */
#ifndef LBL_XML_H
#define LBL_XML_H

#include <stddef.h>

#include "lbl_label.h"
#include "lbl_spif.h"

#define LBL_XML_MAX_BYTES (1024 * 1024)

#define LBL_NS_SPIFFY "http://surevine.com/xmlns/spiffy"
#define LBL_NS_4774_LABEL "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
#define LBL_NS_4774_CLEARANCE "urn:nato:stanag:4774:confidentialityclearance:1:0"

/* Either XML label format, told apart by namespace. set resolves ADatP-4774 names (may be NULL
 * for Surevine XML). Errors name the line. */
int lbl_xml_parse_label(const void *data, size_t len, const struct lbl_policy_set *set, struct lbl_label *out,
                        struct lbl_err *err);
int lbl_xml_parse_clearance(const void *data, size_t len, const struct lbl_policy_set *set,
                            struct lbl_clearance *out, struct lbl_err *err);

/* 1 when every character of s is one XML 1.0 can carry: valid UTF-8, no C0 control but tab, LF
 * and CR, no U+FFFE/U+FFFF. XML 1.0 has no escape for the others (even &#1; is not
 * well-formed), so the writers refuse a label whose privacy mark holds one (MG_EINVAL) rather
 * than drop or replace the character: the mark is part of the security label, and a gateway
 * that silently changes what a label says (or writes a label its peer cannot parse) is worse
 * than one that refuses the conversion, which the caller's policy then handles (reject, hold,
 * another format). */
int lbl_xml_text_ok(const char *s);
#define LBL_XML_MARK_UNFIT                                                                                  \
    "the privacy mark holds a character XML 1.0 cannot carry (a control character or invalid UTF-8)"

/* Surevine XML; *out malloc'd, NUL-terminated. MG_ENOTSUP: a category type the format has no
 * place for; MG_EINVAL: no valid policy OID, or a privacy mark lbl_xml_text_ok refuses. */
int lbl_xml_write_label(const struct lbl_label *l, char **out);
int lbl_xml_write_clearance(const struct lbl_clearance *c, char **out);
/* ADatP-4774 XML under policy p (names come from the SPIF). */
int lbl_nato_write_label(const struct lbl_policy *p, const struct lbl_label *l, char **out, struct lbl_err *err);
int lbl_nato_write_clearance(const struct lbl_policy *p, const struct lbl_clearance *c, char **out,
                             struct lbl_err *err);

#endif
