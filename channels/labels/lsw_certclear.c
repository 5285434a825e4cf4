/* lsw_certclear: clearances carried by recipients' certificates (lsw_certclear.h). */
#include "lsw_certclear.h"
#include "cert_store.h"
#include "cms_policy.h"
#include "lbl_ber.h"
#include "mg_err.h"

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

/* One DER TLV at [p, end): tag, content bounds. Definite lengths up to 4 bytes only. */
static int tlv(const unsigned char *p, const unsigned char *end, unsigned *tag, const unsigned char **c,
               const unsigned char **next)
{
    if (end - p < 2)
        return MG_EPARSE;
    *tag = p[0];
    if ((p[0] & 0x1f) == 0x1f)
        return MG_EPARSE; /* no high tag numbers here */
    size_t len = p[1], off = 2;
    if (len & 0x80) {
        size_t n = len & 0x7f;
        if (n == 0 || n > 4 || (size_t)(end - p) < 2 + n)
            return MG_EPARSE;
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = (len << 8) | p[2 + i];
        off = 2 + n;
    }
    if ((size_t)(end - p) - off < len)
        return MG_EPARSE;
    *c = p + off;
    *next = p + off + len;
    return 0;
}

/* 2.5.4.55 as DER OID content: 55 04 37 */
static const unsigned char CLEARANCE_OID[] = { 0x55, 0x04, 0x37 };

int lsw_sda_clearance(const unsigned char *der, size_t len, const unsigned char **val, size_t *vlen)
{
    const unsigned char *end = der + len, *c, *next;
    unsigned tag;
    if (tlv(der, end, &tag, &c, &next) || tag != 0x30)
        return MG_EPARSE;
    for (const unsigned char *a = c, *aend = next; a < aend;) { /* Attribute ::= SEQUENCE { type, values } */
        const unsigned char *ac, *anext, *oc, *onext, *sc, *snext;
        if (tlv(a, aend, &tag, &ac, &anext) || tag != 0x30)
            return MG_EPARSE;
        if (tlv(ac, anext, &tag, &oc, &onext) || tag != 0x06)
            return MG_EPARSE;
        if ((size_t)(onext - oc) == sizeof CLEARANCE_OID && !memcmp(oc, CLEARANCE_OID, sizeof CLEARANCE_OID)) {
            if (tlv(onext, anext, &tag, &sc, &snext) || tag != 0x31)
                return MG_EPARSE;
            const unsigned char *vc, *vnext;
            if (tlv(sc, snext, &tag, &vc, &vnext))
                return MG_EPARSE;
            *val = sc;
            *vlen = (size_t)(vnext - sc);
            return 0;
        }
        a = anext;
    }
    return MG_ENOTFOUND;
}

int lsw_cert_clearance(const char *store_path, const char *addr, struct lbl_clearance *out, char *why,
                       size_t whyn)
{
    struct cert_store *s = NULL;
    if (cert_store_open(&s, store_path, NULL) != 0) {
        snprintf(why, whyn, "cert store %s cannot be opened", store_path);
        return MG_ETEMP;
    }
    struct cms_policy *p = NULL;
    int rc = cms_policy_create(&p);
    if (rc == 0)
        rc = cert_store_fill_policy(s, p);
    if (rc) {
        snprintf(why, whyn, "cert store %s: %s", store_path, mg_strerror(rc));
        cms_policy_free(p);
        cert_store_close(s);
        return MG_ETEMP;
    }
    X509 *cert = NULL;
    char w[300] = "";
    rc = cert_store_find_encryption_cert(s, addr, p, &cert, w, sizeof w);
    cms_policy_free(p);
    cert_store_close(s);
    if (rc || !cert) {
        snprintf(why, whyn, "no usable certificate for %s in the cert store%s%s", addr, w[0] ? ": " : "", w);
        return MG_ENOTFOUND;
    }
    rc = MG_ENOTFOUND;
    snprintf(why, whyn, "the certificate of %s carries no clearance", addr);
    ASN1_OBJECT *oid = OBJ_txt2obj("2.5.29.9", 1);
    int i = oid ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
    X509_EXTENSION *ext = i >= 0 ? X509_get_ext(cert, i) : NULL;
    ASN1_OCTET_STRING *os = ext ? X509_EXTENSION_get_data(ext) : NULL;
    const unsigned char *v = NULL;
    size_t vl = 0;
    if (os && lsw_sda_clearance(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os), &v, &vl) == 0) {
        struct lbl_err err = { "" };
        if (lbl_clearance_ber_decode(v, vl, out, &err) == 0)
            rc = 0;
        else
            snprintf(why, whyn, "the certificate of %s has a clearance that cannot be read: %s", addr, err.msg);
    }
    ASN1_OBJECT_free(oid);
    X509_free(cert);
    return rc;
}
