/* lsw_x400: RFC 5322 fields carried in the heading of an X.400 IPM (P22 / P772 content) in the
 * RFC 2156 rfc-822-field heading extension (1.3.6.1.7.1.3.2, RFC822FieldList ::= SEQUENCE OF
 * IA5String, one "Name: value" field each), the extension the MIXER keeps every RFC 5322 field
 * with no X.420 home in, and restores as a header when it converts back.
 *
 * The label switch uses it for the label forms that are header fields (SIO-Label-History above
 * all: a shaper converting the label of an X.400 content records the original there, and
 * extraction reads it back, as it reads the header of an Internet message). Untrusted input:
 * the content is decoded by the asn1 wrappers (bounded, located errors), the list by a reader
 * that never trusts a length. */
#ifndef LSW_X400_H
#define LSW_X400_H

#include <stddef.h>

#define LSW_X400_RFC822_FIELD_OID "1.3.6.1.7.1.3.2"
#define LSW_X400_MAX_FIELDS 256

/* Every field of the rfc-822-field extensions of an IPM's heading, in order: *lines is an
 * array of *n malloc'd "Name: value" strings (free with lsw_x400_fields_free). 0 (n may be 0),
 * MG_ENOTFOUND (not an IPM: an IPN, CMS, RFC 5322, garbage), MG_EPARSE (a list that is not a
 * SEQUENCE OF IA5String), MG_ENOMEM. */
int lsw_x400_fields(const unsigned char *c, size_t len, char ***lines, size_t *n);
void lsw_x400_fields_free(char **lines, size_t n);

/* The value of the idx-th field called name (case-insensitive) among lines; NULL if none. */
const char *lsw_x400_field(char *const *lines, size_t n, const char *name, size_t idx);

/* A new content: the IPM with the fields named in remove (NULL-terminated, may be NULL) taken
 * out of its rfc-822-field list and the fields in add ("Name: value", printable ASCII) appended,
 * the extension made when absent; DER-encoded (the rest of the IPM keeps its values, not
 * necessarily its BER bytes). *out malloc'd. MG_ENOTFOUND (not an IPM), MG_EINVAL (a field that
 * is not IA5), MG_EPARSE (a list we cannot rewrite faithfully), MG_ENOMEM. */
int lsw_x400_edit(const unsigned char *c, size_t len, const char *const *remove, const char *const *add,
                  unsigned char **out, size_t *outlen);

#endif
