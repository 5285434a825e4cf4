/* lsw_ldap: recipients' clearances from an LDAP directory (the `labels.ldap` group). */
#ifndef LSW_LDAP_H
#define LSW_LDAP_H

#include <stddef.h>

#include "lbl_label.h"
#include "lbl_spif.h"

struct lsw_ldap {
    char *uri;          /* "ldap://127.0.0.1:389" */
    char *base;         /* search base */
    char *filter;       /* default "(mail=%s)": %s = the recipient address, escaped */
    char *attribute;    /* default "clearance" (X.841, OID 2.5.4.55); ";binary" is asked too */
    char *bind_dn;      /* NULL = anonymous */
    char *password;
    long timeout;       /* seconds, default 5 */
};

/* 0 (*out filled), MG_ENOTFOUND (no entry or no clearance: why says which) or MG_ETEMP (the
 * directory cannot be reached or failed: never allow). */
int lsw_ldap_clearance(const struct lsw_ldap *c, const struct lbl_policy_set *set, const char *addr,
                       struct lbl_clearance *out, char *why, size_t whyn);

#endif
