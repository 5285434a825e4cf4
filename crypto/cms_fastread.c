/* cms_fastread: reads a CMS ContentInfo from a message without decoding the certificates it
 * carries every time. A gateway pair's every message carries the same signer certificate, and
 * OpenSSL 3.0 decodes a certificate's public key through its provider decoder framework
 * (OSSL_DECODER_CTX_new_for_pkey), which cost more than the rest of reading the message; its
 * MIME reader also goes line by line through a base64 BIO. So: the base64 body of an
 * application/pkcs7-mime entity (or of a multipart/signed's signature part) is decoded here
 * in one pass, the `certificates` field is cut
 * out of a SignedData before OpenSSL parses it, and each certificate is taken from the
 * policy's cache by the SHA-256 of its DER (cms_vcache_cert: decoded once). The signature
 * does not cover that field, so verification is unchanged; the caller hands the certificates
 * to CMS_verify. Anything this reader does not expect (BER indefinite lengths, other
 * certificate choices, another transfer encoding, trailing bytes) makes it step aside: the
 * caller then reads the entity with OpenSSL as before, which also reports the errors. All
 * input is from outside: every length is checked against what is there. */
#define _GNU_SOURCE /* strcasestr */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "cms_fastread.h"
#include "cms_internal.h"
#include "cms_mime.h"
#include "mg_err.h"

/* One DER TLV at p (n bytes there): single-byte tag, definite length of at most 4 bytes.
 * 1 with *tag, *hl (header bytes), *cl (content bytes) when it fits in n; 0 otherwise. */
static int tlv(const unsigned char *p, size_t n, unsigned *tag, size_t *hl, size_t *cl)
{
    if (n < 2 || (p[0] & 0x1f) == 0x1f)
        return 0;
    *tag = p[0];
    size_t len = p[1], h = 2;
    if (len & 0x80) {
        size_t k = len & 0x7f;
        if (k == 0 || k > 4 || n < 2 + k) /* 0: indefinite (BER), not DER */
            return 0;
        len = 0;
        for (size_t i = 0; i < k; i++)
            len = len << 8 | p[2 + i];
        h += k;
    }
    if (len > n - h)
        return 0;
    *hl = h;
    *cl = len;
    return 1;
}

/* A DER header for tag and len into out (6 bytes room); returns its size. */
static size_t put_header(unsigned char *out, unsigned tag, size_t len)
{
    out[0] = (unsigned char)tag;
    if (len < 0x80) {
        out[1] = (unsigned char)len;
        return 2;
    }
    size_t k = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
    out[1] = (unsigned char)(0x80 | k);
    for (size_t i = 0; i < k; i++)
        out[2 + i] = (unsigned char)(len >> (8 * (k - 1 - i)));
    return 2 + k;
}

static const unsigned char OID_SIGNED[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };

/* The SignedData's certificates cut out of the ContentInfo in der: *out the ContentInfo without
 * them (malloc'd, caller frees; NULL when there is nothing to cut), *cp and *cl where the
 * certificate TLVs start inside der ([0] field's content). 1 done, 0 not a form we cut. */
static int cut_certs(const unsigned char *der, size_t len, unsigned char **out, size_t *outlen,
                     const unsigned char **cp, size_t *cl)
{
    unsigned tag;
    size_t hl, l;
    *out = NULL;
    *cp = NULL;
    *cl = 0;
    if (!tlv(der, len, &tag, &hl, &l) || tag != 0x30 || hl + l != len)
        return 0;
    const unsigned char *ci = der + hl, *ciend = ci + l;
    size_t ohl, ol;
    if (!tlv(ci, (size_t)(ciend - ci), &tag, &ohl, &ol) || tag != 0x06)
        return 0;
    const unsigned char *oid = ci + ohl;
    const unsigned char *w = oid + ol;
    if (ol != sizeof OID_SIGNED || memcmp(oid, OID_SIGNED, ol))
        return 1; /* not signed: nothing to cut, parsed as it is */
    size_t whl, wl;
    if (!tlv(w, (size_t)(ciend - w), &tag, &whl, &wl) || tag != 0xa0 || w + whl + wl != ciend)
        return 0;
    const unsigned char *sd = w + whl;
    size_t shl, sl;
    if (!tlv(sd, wl, &tag, &shl, &sl) || tag != 0x30 || shl + sl != wl)
        return 0;
    /* SignedData: version, digestAlgorithms, encapContentInfo, [0] certificates OPTIONAL,
     * [1] crls OPTIONAL, signerInfos */
    const unsigned char *e = sd + shl, *end = e + sl, *f0 = NULL;
    size_t f0len = 0;
    while (e < end) {
        size_t eh, el;
        if (!tlv(e, (size_t)(end - e), &tag, &eh, &el))
            return 0;
        if (tag == 0xa0) {
            if (f0)
                return 0;
            f0 = e;
            f0len = eh + el;
            *cp = e + eh;
            *cl = el;
        }
        e += eh + el;
    }
    if (!f0)
        return 1;
    /* every CertificateChoices must be a plain Certificate (a SEQUENCE) */
    for (const unsigned char *c = *cp; c < *cp + *cl;) {
        size_t ch, cl2;
        if (!tlv(c, (size_t)(*cp + *cl - c), &tag, &ch, &cl2) || tag != 0x30)
            return 0;
        c += ch + cl2;
    }
    size_t nsl = sl - f0len;
    unsigned char sdh[6], wh[6], cih[6];
    size_t sdhl = put_header(sdh, 0x30, nsl);
    size_t nwl = sdhl + nsl;
    size_t whl2 = put_header(wh, 0xa0, nwl);
    size_t ncil = ohl + ol + whl2 + nwl;
    size_t cihl = put_header(cih, 0x30, ncil);
    unsigned char *o = malloc(cihl + ncil);
    if (!o)
        return MG_ENOMEM;
    unsigned char *q = o;
    memcpy(q, cih, cihl), q += cihl;
    memcpy(q, ci, ohl + ol), q += ohl + ol;
    memcpy(q, wh, whl2), q += whl2;
    memcpy(q, sdh, sdhl), q += sdhl;
    memcpy(q, sd + shl, (size_t)(f0 - (sd + shl))), q += f0 - (sd + shl);
    memcpy(q, f0 + f0len, (size_t)(end - (f0 + f0len))), q += end - (f0 + f0len);
    *out = o;
    *outlen = (size_t)(q - o);
    return 1;
}

int cms_fast_d2i(struct cms_vcache *c, const unsigned char *der, size_t len,
                 CMS_ContentInfo **cms, STACK_OF(X509) **certs)
{
    *cms = NULL;
    *certs = NULL;
    if (len > INT_MAX)
        return 0;
    unsigned char *cut = NULL;
    size_t cutlen = 0;
    const unsigned char *cp;
    size_t cl;
    int r = cut_certs(der, len, &cut, &cutlen, &cp, &cl);
    if (r <= 0)
        return r;
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (!sk) {
        free(cut);
        return MG_ENOMEM;
    }
    for (const unsigned char *p = cp; cp && p < cp + cl;) {
        unsigned tag;
        size_t h, l;
        if (!tlv(p, (size_t)(cp + cl - p), &tag, &h, &l)) /* cut_certs checked it already */
            goto fallback;
        X509 *x = cms_vcache_cert(c, p, h + l);
        if (!x || !sk_X509_push(sk, x)) {
            X509_free(x);
            goto fallback;
        }
        p += h + l;
    }
    const unsigned char *in = cut ? cut : der, *q = in;
    size_t inlen = cut ? cutlen : len;
    CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &q, (long)inlen);
    if (!ci || q != in + inlen) {
        CMS_ContentInfo_free(ci);
        goto fallback;
    }
    free(cut);
    *cms = ci;
    *certs = sk;
    return 1;
fallback:
    ERR_clear_error();
    sk_X509_pop_free(sk, X509_free);
    free(cut);
    return 0;
}

/* base64 (RFC 2045 6.8) by table: 1-64 a digit's value + 1, B64_SKIP a line end or blank,
 * B64_PAD '=', 0 anything else. */
enum { B64_SKIP = 65, B64_PAD = 66 };
static const unsigned char b64_table[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
    ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
    ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
    ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
    ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
    ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
    ['\r'] = B64_SKIP, ['\n'] = B64_SKIP, [' '] = B64_SKIP, ['\t'] = B64_SKIP, ['='] = B64_PAD,
};

/* Line ends and blanks skipped, '=' ends it (only more '=' and blanks may follow). 1 with
 * *out (malloc'd), 0 on anything else (the caller falls back), MG_ENOMEM. */
static int b64_decode(const unsigned char *in, size_t len, unsigned char **out, size_t *outlen)
{
    unsigned char *o = malloc(len / 4 * 3 + 3);
    if (!o)
        return MG_ENOMEM;
    size_t n = 0, i = 0;
    unsigned acc = 0, bits = 0;
    for (; i < len; i++) {
        unsigned v = b64_table[in[i]];
        if (v && v <= 64) {
            acc = (acc << 6 | (v - 1)) & 0xffffff;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                o[n++] = (unsigned char)(acc >> bits);
            }
        } else if (v != B64_SKIP) {
            break;
        }
    }
    for (; i < len; i++)
        if (b64_table[in[i]] != B64_PAD && b64_table[in[i]] != B64_SKIP)
            goto bad;
    *out = o;
    *outlen = n;
    return 1;
bad:
    free(o);
    return 0;
}

/* The boundary parameter of a Content-Type value into b (without quotes): 1, or 0. */
static int boundary_of(const char *ct, char *b, size_t bsz)
{
    /* the parameter itself, not one whose name ends in "boundary" */
    const char *p = ct;
    while ((p = strcasestr(p, "boundary=")) && p > ct && p[-1] != ';' && p[-1] != ' ' &&
           p[-1] != '\t')
        p++;
    if (!p || p == ct)
        return 0;
    p += 9;
    size_t n = 0;
    if (*p == '"') {
        const char *e = strchr(++p, '"');
        if (!e)
            return 0;
        n = (size_t)(e - p);
    } else {
        n = strcspn(p, "; \t");
    }
    if (n == 0 || n > 70 || n >= bsz) /* RFC 2046 5.1.1: 1 to 70 characters */
        return 0;
    memcpy(b, p, n);
    b[n] = 0;
    return 1;
}

/* The next line of body at or after *pos that is the delimiter "--bnd" (transport padding and
 * a "--" close allowed after it): 1 with *at its first byte, *next the byte after its line
 * end, *close set for the close delimiter; 0 when there is none. */
static int next_delim(const unsigned char *body, size_t len, size_t pos, const char *bnd,
                      size_t *at, size_t *next, int *close)
{
    size_t bl = strlen(bnd);
    while (pos < len) {
        const unsigned char *nl = memchr(body + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - body) + 1 : len;
        if (end - pos >= 2 + bl && body[pos] == '-' && body[pos + 1] == '-' &&
            !memcmp(body + pos + 2, bnd, bl)) {
            size_t k = pos + 2 + bl;
            *close = k + 1 < end && body[k] == '-' && body[k + 1] == '-';
            if (*close)
                k += 2;
            while (k < end && (body[k] == ' ' || body[k] == '\t' || body[k] == '\r' ||
                               body[k] == '\n'))
                k++;
            if (k == end) {
                *at = pos;
                *next = end;
                return 1;
            }
        }
        pos = end;
    }
    return 0;
}

/* A base64 application/pkcs7-mime (want_sig 0) or pkcs7-signature (1) entity to DER. */
static int b64_entity(const unsigned char *ent, size_t len, int want_sig, unsigned char **der,
                      size_t *dl)
{
    const unsigned char *h, *b;
    size_t hl, bl;
    char ct[512], cte[64];
    if (cms_mime_split(ent, len, &h, &hl, &b, &bl) ||
        !cms_mime_get(h, hl, "Content-Type", ct, sizeof ct) ||
        !cms_mime_get(h, hl, "Content-Transfer-Encoding", cte, sizeof cte) ||
        strcasecmp(cte, "base64"))
        return 0;
    const char *want = want_sig ? "pkcs7-signature" : "pkcs7-mime";
    if (strncasecmp(ct, "application/", 12) ||
        (strncasecmp(ct + 12, want, strlen(want)) && (strncasecmp(ct + 12, "x-", 2) ||
                                                      strncasecmp(ct + 14, want, strlen(want)))))
        return 0;
    return b64_decode(b, bl, der, dl);
}

/* multipart/signed (RFC 1847, RFC 8551 3.5.3): exactly two parts, the content (its bytes as
 * they are: what was signed, without the line end before the delimiter) and the signature. */
static int read_signed_multipart(struct cms_vcache *c, const unsigned char *ent, size_t len,
                                 CMS_ContentInfo **cms, STACK_OF(X509) **certs,
                                 const unsigned char **dcont, size_t *dlen)
{
    const unsigned char *h, *b;
    size_t hl, bl;
    char ct[512], bnd[80];
    if (cms_mime_split(ent, len, &h, &hl, &b, &bl) ||
        !cms_mime_get(h, hl, "Content-Type", ct, sizeof ct) || !boundary_of(ct, bnd, sizeof bnd))
        return 0;
    size_t d1, s1, d2, s2, d3, s3;
    int cl1, cl2, cl3;
    if (!next_delim(b, bl, 0, bnd, &d1, &s1, &cl1) || cl1 ||
        !next_delim(b, bl, s1, bnd, &d2, &s2, &cl2) || cl2 ||
        !next_delim(b, bl, s2, bnd, &d3, &s3, &cl3) || !cl3)
        return 0;
    /* the line end before a delimiter belongs to the delimiter (RFC 2046 5.1.1); a delimiter
     * right after the previous one has none: no body part there (OpenSSL refuses it too) */
    if (d2 == s1 || d3 == s2)
        return 0;
    size_t e1 = d2, e2 = d3;
    if (e1 > s1 && b[e1 - 1] == '\n')
        e1 -= e1 - 1 > s1 && b[e1 - 2] == '\r' ? 2 : 1;
    if (e2 > s2 && b[e2 - 1] == '\n')
        e2 -= e2 - 1 > s2 && b[e2 - 2] == '\r' ? 2 : 1;
    unsigned char *der = NULL;
    size_t dl = 0;
    int r = b64_entity(b + s2, e2 - s2, 1, &der, &dl);
    if (r <= 0)
        return r;
    r = cms_fast_d2i(c, der, dl, cms, certs);
    free(der);
    if (r == 1) {
        *dcont = b + s1;
        *dlen = e1 - s1;
    }
    return r;
}

int cms_fast_read(struct cms_vcache *c, const unsigned char *ent, size_t len,
                  CMS_ContentInfo **cms, STACK_OF(X509) **certs, const unsigned char **dcont,
                  size_t *dlen)
{
    *cms = NULL;
    *certs = NULL;
    *dcont = NULL;
    *dlen = 0;
    enum cms_mime_kind k = cms_mime_classify(ent, len);
    if (k == CMS_MIME_SIGNED_MULTIPART)
        return read_signed_multipart(c, ent, len, cms, certs, dcont, dlen);
    if (k != CMS_MIME_PKCS7)
        return 0;
    unsigned char *der = NULL;
    size_t dl = 0;
    int r = b64_entity(ent, len, 0, &der, &dl);
    if (r <= 0)
        return r;
    r = cms_fast_d2i(c, der, dl, cms, certs);
    free(der);
    return r;
}
