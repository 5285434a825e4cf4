/* cms_keyproc_proto: encoding and parsing of the key process's requests, and the whole-buffer
 * socket I/O both ends use (see cms_keyproc.h).
 * The parser is what a compromised or buggy network process talks to: every length is checked
 * against what is left, every field against its type's limits; it never aborts. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cms_keyproc.h"
#include "mg_err.h"

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

void cms_keyproc_put_header(unsigned char hdr[CMS_KEYPROC_HDR], uint8_t type_or_status,
                            size_t body_len)
{
    hdr[0] = CMS_KEYPROC_VERSION;
    hdr[1] = type_or_status;
    hdr[2] = hdr[3] = 0;
    hdr[4] = (unsigned char)(body_len >> 24);
    hdr[5] = (unsigned char)(body_len >> 16);
    hdr[6] = (unsigned char)(body_len >> 8);
    hdr[7] = (unsigned char)body_len;
}

int cms_keyproc_parse_header(const unsigned char hdr[CMS_KEYPROC_HDR], uint8_t *type,
                             size_t *body_len)
{
    if (hdr[0] != CMS_KEYPROC_VERSION || hdr[2] || hdr[3])
        return MG_EPROTO;
    uint32_t n = get32(hdr + 4);
    if (n > CMS_KEYPROC_MAX_BODY)
        return MG_ETOOBIG;
    *type = hdr[1];
    *body_len = n;
    return 0;
}

/* A path field: u16 length, bytes; no NUL inside; absolute paths and "" (when allowed) only
 * matter to the caller, here only the shape. */
static int get_path(const unsigned char **p, size_t *left, char *out, int may_be_empty)
{
    if (*left < 2)
        return MG_EPARSE;
    size_t n = get16(*p);
    *p += 2;
    *left -= 2;
    if (n > *left || n > CMS_KEYPROC_MAX_PATH || (!n && !may_be_empty) || memchr(*p, 0, n))
        return MG_EPARSE;
    memcpy(out, *p, n);
    out[n] = 0;
    *p += n;
    *left -= n;
    return 0;
}

int cms_keyproc_parse_request(const unsigned char *buf, size_t len, struct cms_keyproc_req *out)
{
    memset(out, 0, sizeof *out);
    if (!buf || len < CMS_KEYPROC_HDR)
        return MG_EPROTO;
    uint8_t type;
    size_t n;
    int rc = cms_keyproc_parse_header(buf, &type, &n);
    if (rc)
        return rc;
    if (n != len - CMS_KEYPROC_HDR)
        return MG_EPROTO;
    const unsigned char *p = buf + CMS_KEYPROC_HDR;
    size_t left = n;
    out->type = (enum cms_keyproc_type)type;
    switch (type) {
    case CMS_KEYPROC_LOAD:
        if ((rc = get_path(&p, &left, out->path, 0)) != 0 ||
            (rc = get_path(&p, &left, out->passfile, 1)) != 0)
            return rc;
        return left ? MG_EPARSE : 0;
    case CMS_KEYPROC_RSA_PRIV_DEC:
    case CMS_KEYPROC_RSA_PRIV_ENC:
        if (left < 4 + 1 || left - 4 > 1024) /* up to RSA-8192 */
            return MG_EPARSE;
        out->padding = get32(p);
        if (out->padding != 1 && out->padding != 3)
            return MG_EPARSE;
        out->data = p + 4;
        out->len = left - 4;
        return 0;
    case CMS_KEYPROC_ECDSA_SIGN:
        if (left < 1 || left > 64)
            return MG_EPARSE;
        out->data = p;
        out->len = left;
        return 0;
    case CMS_KEYPROC_ECDH:
        if (left < 1 || left > 1024)
            return MG_EPARSE;
        out->data = p;
        out->len = left;
        return 0;
    default:
        return MG_EPARSE;
    }
}

int cms_keyproc_io_full(int fd, void *buf, size_t n, int writing)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t r = writing ? send(fd, p, n, MSG_NOSIGNAL) : read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return MG_EIO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}
