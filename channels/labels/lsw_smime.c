/* lsw_smime: the ESS label of a signed S/MIME message (lsw_smime.h), with OpenSSL's CMS
 * parser on the DER found in the message; nothing is verified here. */
#define _GNU_SOURCE
#include "lsw_smime.h"
#include "lbl_header.h"
#include "lsw_msg.h"
#include "mg_err.h"

#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LSW_ESS_LABEL_OID "1.2.840.113549.1.9.16.2.2"
#define LSW_SMIME_MAX (16u * 1024 * 1024)

static int is_p7(const char *ct)
{
    return !strncasecmp(ct, "application/pkcs7-mime", 22) || !strncasecmp(ct, "application/x-pkcs7-mime", 24) ||
           !strncasecmp(ct, "application/pkcs7-signature", 27) ||
           !strncasecmp(ct, "application/x-pkcs7-signature", 29);
}

static int label_of_der(const unsigned char *p, size_t n, unsigned char **der, size_t *dlen)
{
    const unsigned char *q = p;
    CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &q, (long)n);
    if (!ci)
        return MG_EPARSE;
    int rc = MG_ENOTFOUND;
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(ci);
    ASN1_OBJECT *oid = OBJ_txt2obj(LSW_ESS_LABEL_OID, 1);
    if (sis && oid && sk_CMS_SignerInfo_num(sis) > 0) {
        CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
        int i = CMS_signed_get_attr_by_OBJ(si, oid, -1);
        X509_ATTRIBUTE *at = i >= 0 ? CMS_signed_get_attr(si, i) : NULL;
        ASN1_TYPE *t = at ? X509_ATTRIBUTE_get0_type(at, 0) : NULL;
        unsigned char *out = NULL;
        int len = t ? i2d_ASN1_TYPE(t, &out) : -1;
        if (len > 0) {
            *der = malloc((size_t)len);
            if (*der) {
                memcpy(*der, out, (size_t)len);
                *dlen = (size_t)len;
                rc = 0;
            } else {
                rc = MG_ENOMEM;
            }
        }
        OPENSSL_free(out);
    }
    ASN1_OBJECT_free(oid);
    CMS_ContentInfo_free(ci);
    return rc;
}

/* id-signedData, 1.2.840.113549.1.7.2: the ContentInfo a bare SignedData is put in. */
static const unsigned char SIGNED_DATA_OID[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };

/* Appends a DER length. */
static size_t put_len(unsigned char *p, size_t n)
{
    if (n < 0x80) {
        p[0] = (unsigned char)n;
        return 1;
    }
    size_t k = 0;
    for (size_t v = n; v; v >>= 8)
        k++;
    p[0] = (unsigned char)(0x80 | k);
    for (size_t i = 0; i < k; i++)
        p[1 + i] = (unsigned char)(n >> (8 * (k - 1 - i)));
    return 1 + k;
}

int lsw_smime_ess_label_der(const unsigned char *c, size_t len, unsigned char **der, size_t *dlen)
{
    *der = NULL;
    *dlen = 0;
    /* A SEQUENCE (definite or indefinite length): anything else is not CMS. */
    if (!c || len < 2 || c[0] != 0x30)
        return MG_ENOTFOUND;
    if (len > LSW_SMIME_MAX)
        return MG_ETOOBIG;
    int rc = label_of_der(c, len, der, dlen);
    if (rc != MG_EPARSE)
        return rc;
    /* Not a ContentInfo: perhaps the SignedData itself. ContentInfo ::= SEQUENCE { OID,
     * [0] EXPLICIT SignedData } around it (lengths bounded above: 6 bytes each at most). */
    size_t inner = sizeof SIGNED_DATA_OID + 1 + 6 + len;
    unsigned char *w = malloc(inner + 8);
    if (!w)
        return MG_ENOMEM;
    size_t o = 0;
    w[o++] = 0x30;
    unsigned char l0[8], l1[8];
    size_t n1 = put_len(l1, len);
    size_t body = sizeof SIGNED_DATA_OID + 1 + n1 + len;
    size_t n0 = put_len(l0, body);
    memcpy(w + o, l0, n0);
    o += n0;
    memcpy(w + o, SIGNED_DATA_OID, sizeof SIGNED_DATA_OID);
    o += sizeof SIGNED_DATA_OID;
    w[o++] = 0xa0;
    memcpy(w + o, l1, n1);
    o += n1;
    memcpy(w + o, c, len);
    o += len;
    rc = label_of_der(w, o, der, dlen);
    free(w);
    return rc == MG_EPARSE ? MG_ENOTFOUND : rc;
}

/* The base64 body of the entity [s, e) */
static int entity_label(const unsigned char *c, size_t s, size_t e, unsigned char **der, size_t *dlen)
{
    size_t b = s + lsw_msg_body_off(c + s, e - s);
    if (e - b > LSW_SMIME_MAX)
        return MG_ETOOBIG;
    unsigned char *bin = NULL;
    size_t n = 0;
    int rc = lbl_b64_decode((const char *)c + b, e - b, &bin, &n);
    if (rc)
        return rc == MG_ENOMEM ? rc : MG_EPARSE;
    rc = label_of_der(bin, n, der, dlen);
    free(bin);
    return rc;
}

int lsw_smime_ess_label(const unsigned char *c, size_t len, unsigned char **der, size_t *dlen)
{
    *der = NULL;
    *dlen = 0;
    char *ct = NULL;
    int rc = lsw_msg_header(c, len, "Content-Type", 0, &ct);
    if (rc)
        return rc == MG_ENOMEM ? rc : MG_ENOTFOUND;
    if (is_p7(ct)) {
        free(ct);
        return entity_label(c, 0, len, der, dlen);
    }
    if (strncasecmp(ct, "multipart/signed", 16)) {
        free(ct);
        return MG_ENOTFOUND;
    }
    /* boundary="..." */
    char b[200] = "";
    const char *p = strcasestr(ct, "boundary=");
    if (p) {
        p += 9;
        size_t k = 0;
        int q = *p == '"';
        for (p += q; *p && k + 1 < sizeof b && (q ? *p != '"' : (*p != ';' && *p != ' ')); p++)
            b[k++] = *p;
        b[k] = 0;
    }
    free(ct);
    if (!b[0])
        return MG_ENOTFOUND;
    size_t bl = strlen(b), pos = lsw_msg_body_off(c, len), start = 0;
    int in = 0;
    rc = MG_ENOTFOUND;
    while (pos < len && rc == MG_ENOTFOUND) {
        const unsigned char *nl = memchr(c + pos, '\n', len - pos);
        size_t next = nl ? (size_t)(nl - c) + 1 : len;
        if (next - pos >= bl + 2 && c[pos] == '-' && c[pos + 1] == '-' && !memcmp(c + pos + 2, b, bl)) {
            if (in) {
                char *pct = NULL;
                if (lsw_msg_header(c + start, pos - start, "Content-Type", 0, &pct) == 0 && is_p7(pct))
                    rc = entity_label(c, start, pos, der, dlen);
                free(pct);
            }
            in = 1;
            start = next;
        }
        pos = next;
    }
    return rc;
}
