/* labels_fuzz_spif: a small SPIF written for the labels fuzz targets (every tag type,
 * qualifiers, a French marking, a replace-policy category), loaded once per process. */
#ifndef LABELS_FUZZ_SPIF_H
#define LABELS_FUZZ_SPIF_H

#include <stdlib.h>
#include <string.h>

#include "lbl_spif.h"

static const char labels_fuzz_spif_xml[] =
    "<SPIF xmlns='http://www.xmlspif.org/spif' schemaVersion='2.1'>"
    "<securityPolicyId name='FUZZ' id='1.3.6.1.4.1.99999.1'/>"
    "<securityClassifications>"
    "<securityClassification name='OPEN' lacv='1' hierarchy='1'>"
    "<markingData xml:lang='fr' phrase='OUVERT'><code>pageTopBottom</code></markingData>"
    "</securityClassification>"
    "<securityClassification name='CLOSED' lacv='2' hierarchy='2'/>"
    "<securityClassification name='SEALED' lacv='3' hierarchy='3'>"
    "<markingData phrase='VAULT'><code>replacePolicy</code></markingData>"
    "</securityClassification>"
    "</securityClassifications>"
    "<securityCategoryTagSets>"
    "<securityCategoryTagSet name='Groups' id='1.3.6.1.4.1.99999.1.1'>"
    "<securityCategoryTag name='Groups' tagType='permissive'>"
    "<tagCategory name='RED' lacv='0'/><tagCategory name='BLUE' lacv='1'/>"
    "<tagCategory name='GREEN' lacv='2'><excludedClass>OPEN</excludedClass></tagCategory>"
    "<markingQualifier><qualifier markingQualifier='REL ' qualifierCode='prefix'/>"
    "<qualifier xml:lang='fr' markingQualifier='COMM ' qualifierCode='prefix'/>"
    "<qualifier markingQualifier=', ' qualifierCode='separator'/></markingQualifier>"
    "</securityCategoryTag>"
    "<securityCategoryTag name='Needs' tagType='restrictive'>"
    "<tagCategory name='ALPHA' lacv='3'/><tagCategory name='BETA' lacv='4'/>"
    "<markingQualifier><qualifier markingQualifier=' ONLY' qualifierCode='suffix'/></markingQualifier>"
    "</securityCategoryTag>"
    "</securityCategoryTagSet>"
    "<securityCategoryTagSet name='Context' id='1.3.6.1.4.1.99999.1.2'>"
    "<securityCategoryTag name='Context' tagType='enumerated' enumType='permissive'>"
    "<tagCategory name='JOINT' lacv='7'><markingData phrase='FUZZ/JOINT'>"
    "<code>noNameDisplay</code><code>replacePolicy</code></markingData></tagCategory>"
    "</securityCategoryTag>"
    "<securityCategoryTag name='Notes' tagType='tagType7' tag7Encoding='securityAttributes'>"
    "<tagCategory name='DRAFT' lacv='1'/></securityCategoryTag>"
    "</securityCategoryTagSet>"
    "</securityCategoryTagSets>"
    "</SPIF>";

static struct lbl_policy_set *labels_fuzz_policy_set(void)
{
    struct lbl_policy_set *s = lbl_policy_set_create();
    struct lbl_policy *p = NULL;
    struct lbl_err err;
    if (!s || lbl_policy_load_mem(labels_fuzz_spif_xml, strlen(labels_fuzz_spif_xml), "fuzz-spif.xml", NULL, &p,
                                  &err) ||
        lbl_policy_set_add(s, p))
        abort(); /* the embedded SPIF is part of the target: a failure is a bug */
    return s;
}

#endif
