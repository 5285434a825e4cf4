/* lsw_ldap: a recipient's clearance from an LDAP directory (OpenLDAP's libldap): the entry
 * found by `filter` (with the address, RFC 4515-escaped, for %s) under `base`, its attribute
 * `attribute` (X.841 BER as ";binary", or XML) decoded by the engine. One connection per
 * lookup, with timeouts: it runs on a pool thread (the gate), and a directory that cannot be
 * reached, or answers with an error, is MG_ETEMP: the gate defers, it never allows. */
#define LDAP_DEPRECATED 0
#include "lsw_ldap.h"
#include "lbl_codec.h"
#include "mg_err.h"

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* RFC 4515 escaping of an assertion value. */
static int escape(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (*p == '*' || *p == '(' || *p == ')' || *p == '\\' || *p < 0x20 || *p >= 0x7f) {
            if (k + 4 > n)
                return MG_ETOOBIG;
            snprintf(out + k, 4, "\\%02x", *p);
            k += 3;
        } else {
            if (k + 2 > n)
                return MG_ETOOBIG;
            out[k++] = (char)*p;
        }
    }
    out[k] = 0;
    return 0;
}

/* filter with each %s replaced by the escaped address */
static int make_filter(const char *tpl, const char *addr, char *out, size_t n)
{
    char esc[3200];
    if (escape(addr, esc, sizeof esc))
        return MG_ETOOBIG;
    size_t k = 0;
    for (const char *p = tpl; *p; p++) {
        const char *s = NULL;
        if (p[0] == '%' && p[1] == 's') {
            s = esc;
            p++;
        }
        size_t add = s ? strlen(s) : 1;
        if (k + add + 1 > n)
            return MG_ETOOBIG;
        memcpy(out + k, s ? s : p, add);
        k += add;
    }
    out[k] = 0;
    return 0;
}

int lsw_ldap_clearance(const struct lsw_ldap *c, const struct lbl_policy_set *set, const char *addr,
                       struct lbl_clearance *out, char *why, size_t whyn)
{
    char filter[4096];
    if (make_filter(c->filter, addr, filter, sizeof filter)) {
        snprintf(why, whyn, "address too long for an LDAP filter");
        return MG_ENOTFOUND;
    }
    LDAP *ld = NULL;
    int rc = ldap_initialize(&ld, c->uri);
    if (rc != LDAP_SUCCESS) {
        snprintf(why, whyn, "ldap %s: %s", c->uri, ldap_err2string(rc));
        return MG_ETEMP;
    }
    int v3 = LDAP_VERSION3;
    struct timeval tv = { .tv_sec = c->timeout, .tv_usec = 0 };
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    struct berval cred = { .bv_len = c->password ? strlen(c->password) : 0, .bv_val = c->password };
    rc = ldap_sasl_bind_s(ld, c->bind_dn ? c->bind_dn : "", LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    if (rc != LDAP_SUCCESS) {
        snprintf(why, whyn, "ldap %s: bind: %s", c->uri, ldap_err2string(rc));
        ldap_unbind_ext_s(ld, NULL, NULL);
        return MG_ETEMP;
    }
    char attr_bin[300];
    snprintf(attr_bin, sizeof attr_bin, "%s;binary", c->attribute);
    char *attrs[] = { c->attribute, attr_bin, NULL };
    LDAPMessage *res = NULL;
    rc = ldap_search_ext_s(ld, c->base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, &tv, 2, &res);
    int ret = MG_ENOTFOUND;
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
        snprintf(why, whyn, "ldap %s: search: %s", c->uri, ldap_err2string(rc));
        ret = rc == LDAP_NO_SUCH_OBJECT ? MG_ENOTFOUND : MG_ETEMP;
    } else if (ldap_count_entries(ld, res) > 1) {
        snprintf(why, whyn, "ldap: more than one entry for %s", addr);
    } else {
        LDAPMessage *e = ldap_first_entry(ld, res);
        snprintf(why, whyn, e ? "ldap: the entry of %s has no clearance" : "ldap: no entry for %s", addr);
        for (int a = 0; e && a < 2 && ret == MG_ENOTFOUND; a++) {
            struct berval **vals = ldap_get_values_len(ld, e, attrs[a]);
            if (vals && vals[0]) {
                struct lbl_err err = { "" };
                if (lbl_decode_clearance(vals[0]->bv_val, vals[0]->bv_len, set, out, &err) == 0)
                    ret = 0;
                else
                    snprintf(why, whyn, "ldap: the clearance of %s cannot be read: %s", addr, err.msg);
            }
            ldap_value_free_len(vals);
        }
    }
    ldap_msgfree(res);
    ldap_unbind_ext_s(ld, NULL, NULL);
    return ret;
}
