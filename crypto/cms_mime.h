/* cms_mime: the little RFC 5322 / MIME header handling S/MIME wrapping needs (internal).
 * Signatures cover exact bytes, so headers are split and copied byte for byte rather than
 * re-serialized by a MIME library; MIME structure below the top entity is left to OpenSSL's
 * SMIME_read_CMS / SMIME_write_CMS. */
#ifndef CMS_MIME_H
#define CMS_MIME_H

#include <stddef.h>
#include "mg_buf.h"

/* One header field: name (without colon) and the whole raw field including continuation
 * lines and the line end. */
struct cms_mime_field {
    const char *name;
    size_t namelen;
    const char *raw;
    size_t rawlen;
};

/* Split a message or entity into its header block and body. Returns 0 or MG_EPARSE (no header
 * block end found within the input is treated as headers-only). */
int cms_mime_split(const unsigned char *in, size_t len, const unsigned char **hdr, size_t *hdrlen,
                   const unsigned char **body, size_t *bodylen);
/* Iterate fields of a header block: *pos starts at 0; returns 1 with f filled, 0 at the end. */
int cms_mime_next_field(const unsigned char *hdr, size_t hdrlen, size_t *pos,
                        struct cms_mime_field *f);
/* Case-insensitive name test. */
int cms_mime_field_is(const struct cms_mime_field *f, const char *name);
/* Unfolded, trimmed value of the first field called name into out (truncated to outsz);
 * returns 1 if present. */
int cms_mime_get(const unsigned char *hdr, size_t hdrlen, const char *name, char *out, size_t outsz);
/* 1 if the entity's Content-Type marks its header as the protected message header (RFC 9788
 * "protected-headers=", or the older "hp="), as cms_unwrap reads header protection. */
int cms_mime_has_protected_headers(const unsigned char *ent, size_t len);
/* Append bytes converting every line end (LF or CRLF) to CRLF. */
int cms_mime_append_crlf(struct mg_buf *b, const unsigned char *p, size_t n);

enum cms_mime_kind { CMS_MIME_OTHER = 0, CMS_MIME_SIGNED_MULTIPART, CMS_MIME_PKCS7,
                     CMS_MIME_RFC822 };
/* Classify an entity by its Content-Type. */
enum cms_mime_kind cms_mime_classify(const unsigned char *ent, size_t len);

#endif
