/* cms_der: adds and removes the ContentInfo wrapper around CMS content. Binary triple wrap
 * (STANAG 4406 Annex B, RFC 2634 without MIME) nests SignedData/EnvelopedData directly as
 * eContent, while OpenSSL only reads and writes whole ContentInfo values; this bridges the two.
 * Written by hand because it is two DER headers: OpenSSL has no public API for this step. */
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include "cms_internal.h"
#include "mg_err.h"

/* Definite-length DER header for tag with len content octets; returns its size. */
static size_t der_header(unsigned char *h, unsigned char tag, size_t len)
{
    size_t n = 0;
    h[n++] = tag;
    if (len < 0x80) {
        h[n++] = (unsigned char)len;
    } else {
        unsigned char tmp[sizeof(size_t)];
        size_t k = 0;
        for (size_t v = len; v; v >>= 8)
            tmp[k++] = (unsigned char)(v & 0xff);
        h[n++] = (unsigned char)(0x80 | k);
        while (k)
            h[n++] = tmp[--k];
    }
    return n;
}

int cms_der_wrap(int nid, const unsigned char *in, size_t len, unsigned char **out, size_t *outlen)
{
    ASN1_OBJECT *obj = OBJ_nid2obj(nid);
    if (!obj || len > (size_t)1 << 40)
        return MG_EINVAL;
    unsigned char *oid = NULL;
    int oidlen = i2d_ASN1_OBJECT(obj, &oid);
    if (oidlen <= 0)
        return MG_ENOMEM;
    unsigned char h0[16], h1[16];
    size_t n0 = der_header(h0, 0xa0, len);              /* [0] EXPLICIT */
    size_t inner = (size_t)oidlen + n0 + len;
    size_t n1 = der_header(h1, 0x30, inner);            /* SEQUENCE */
    unsigned char *buf = malloc(n1 + inner);
    if (!buf) {
        OPENSSL_free(oid);
        return MG_ENOMEM;
    }
    size_t o = 0;
    memcpy(buf + o, h1, n1), o += n1;
    memcpy(buf + o, oid, (size_t)oidlen), o += (size_t)oidlen;
    memcpy(buf + o, h0, n0), o += n0;
    memcpy(buf + o, in, len), o += len;
    OPENSSL_free(oid);
    *out = buf;
    *outlen = o;
    return 0;
}

/* Reads one header at *p (within end): tag, constructed flag, content length. Indefinite
 * lengths are refused: OpenSSL re-encodes what it parses as DER before we get here. */
static int read_header(const unsigned char **p, const unsigned char *end, int *tag, int *cls,
                       long *len)
{
    long avail = end - *p;
    int inf = ASN1_get_object(p, len, tag, cls, avail);
    if (inf & 0x80)
        return MG_EPARSE;
    if (inf & 0x01) /* indefinite */
        return MG_ENOTSUP;
    return 0;
}

int cms_der_unwrap(const unsigned char *in, size_t len, const unsigned char **content, size_t *clen)
{
    if (len > LONG_MAX)
        return MG_ETOOBIG;
    const unsigned char *p = in, *end = in + len;
    int tag, cls, rc;
    long l;
    if ((rc = read_header(&p, end, &tag, &cls, &l)) || tag != V_ASN1_SEQUENCE ||
        cls != V_ASN1_UNIVERSAL)
        return rc ? rc : MG_EPARSE;
    end = p + l;
    if ((rc = read_header(&p, end, &tag, &cls, &l)) || tag != V_ASN1_OBJECT)
        return rc ? rc : MG_EPARSE;
    p += l;
    if ((rc = read_header(&p, end, &tag, &cls, &l)) || tag != 0 || cls != V_ASN1_CONTEXT_SPECIFIC)
        return rc ? rc : MG_EPARSE;
    *content = p;
    *clen = (size_t)l;
    return 0;
}
