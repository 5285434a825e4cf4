/* lsw_msg: the few RFC 5322 / MIME operations the label glue needs on message content it does
 * not trust: find and unfold a header field, locate the first line of text of the first text
 * body part, and rebuild a message with header fields removed, replaced or added and a line
 * inserted before the first line of text. Lengths are always bounded by the input; nothing
 * here aborts on hostile input (a field it cannot find is simply absent). */
#ifndef LSW_MSG_H
#define LSW_MSG_H

#include <stddef.h>

#define LSW_HDR_MAX (64 * 1024)      /* longest unfolded field value we look at */

/* Offset of the body (after the empty line ending the header block); len when none. */
size_t lsw_msg_body_off(const unsigned char *c, size_t len);

/* The idx-th (0-based) field called name (case-insensitive), unfolded (CRLF + WSP -> WSP),
 * leading white space dropped; *out malloc'd, NUL-terminated. MG_ENOTFOUND when absent,
 * MG_ETOOBIG past LSW_HDR_MAX, MG_ENOMEM. */
int lsw_msg_header(const unsigned char *c, size_t len, const char *name, size_t idx, char **out);

/* The first line of text of the first text/plain part (the message itself when it is not
 * multipart and its type is text or absent): [*off, *off + *n) of c, without its line end.
 * MG_ENOTFOUND when there is none (e.g. base64 transfer encoding, no text part). */
int lsw_msg_flot(const unsigned char *c, size_t len, size_t *off, size_t *n);

/* A rebuild: remove every field named in remove[] (NULL-terminated, may be NULL), replace the
 * Subject's value when subject != NULL (added when absent), append the complete field lines
 * in add (each "Name: value", without line end; NULL-terminated, may be NULL) at the end of
 * the header block, and insert the line `flot` (may be NULL; '\n' separates several lines) before the first line of text.
 * Line ends follow the message (CRLF unless it uses bare LF). *out malloc'd. 0, MG_ENOMEM,
 * MG_ENOTFOUND (flot given but the message has no first line of text we may write to). */
struct lsw_msg_edit {
    const char *const *remove;
    const char *subject;
    const char *const *add;
    const char *flot;
};
int lsw_msg_rebuild(const unsigned char *c, size_t len, const struct lsw_msg_edit *e, unsigned char **out,
                    size_t *outlen);

#endif
