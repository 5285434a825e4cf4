/* msgid: the Message-ID of an RFC 5322 message, for the log line that accepts it. */
#ifndef MSGID_H
#define MSGID_H

#include <stddef.h>

/* Finds the first Message-ID header field in the header section of content (outside input:
 * never reads past len, scans at most MSGID_MAX_SCAN octets) and writes its msg-id, "<...>",
 * to out. The field may be folded. 0; MG_ENOTFOUND (no field, or no "<...>" in it);
 * MG_EPARSE (an octet outside 0x21..0x7e inside the brackets); MG_ETOOBIG (does not fit out,
 * or longer than 998 octets). out is "" unless 0 is returned. */
#define MSGID_MAX_SCAN (1u << 20)
int msgid_find(const unsigned char *content, size_t len, char *out, size_t outlen);

#endif
