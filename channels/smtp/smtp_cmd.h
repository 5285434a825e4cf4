/* smtp_cmd: parser for one SMTP command line (RFC 5321 §4.1 with the ESMTP parameters of
 * SIZE, BODY, SMTPUTF8, DSN RET/ENVID/NOTIFY/ORCPT, MT-PRIORITY (RFC 6710) and BDAT). Pure: no I/O, no allocation;
 * every string lands in the fixed buffers of struct smtp_cmd, so a hostile line can only
 * produce an error reply. Written by hand because no maintained C library parses the SMTP
 * grammar with its extensions as a standalone piece; libraries that exist embed it in a server. */
#ifndef SMTP_CMD_H
#define SMTP_CMD_H

#include <stddef.h>

#include "smtp_envelope.h"

/* Longest command line accepted, CRLF excluded. RFC 5321 §4.5.3.1.4 allows 512 with CRLF and
 * lets extensions raise it; DSN's ORCPT (up to 500 octets of xtext) and ENVID (100) need more,
 * so we take 1000, the text-line limit, which every real client fits in. */
#define SMTP_CMD_MAX_LINE 1000
#define SMTP_CMD_MAX_PATH 512   /* RFC 5321: local part 64, domain 255; slack for quotes */
#define SMTP_CMD_MAX_ENVID 100  /* RFC 3461 §4.4 */
#define SMTP_CMD_MAX_ORCPT 500  /* RFC 3461 §4.2 */

enum smtp_verb {
    SMTP_VERB_UNKNOWN = 0,
    SMTP_VERB_HELO, SMTP_VERB_EHLO, SMTP_VERB_MAIL, SMTP_VERB_RCPT, SMTP_VERB_DATA,
    SMTP_VERB_BDAT, SMTP_VERB_RSET, SMTP_VERB_NOOP, SMTP_VERB_QUIT, SMTP_VERB_VRFY,
    SMTP_VERB_EXPN, SMTP_VERB_HELP, SMTP_VERB_STARTTLS
};

struct smtp_cmd {
    enum smtp_verb verb;
    /* HELO/EHLO domain or address literal; VRFY/EXPN/HELP/NOOP argument (may be empty). */
    char arg[SMTP_CMD_MAX_LINE + 1];
    /* MAIL/RCPT path without brackets and source route; "" = null reverse-path <>. */
    char path[SMTP_CMD_MAX_PATH + 1];
    int path_utf8;               /* the path has non-ASCII octets (needs SMTPUTF8) */
    /* MAIL parameters. */
    size_t size;                 /* SIZE= (0 = not given) */
    int size_given;
    enum smtp_body body;
    int smtputf8;
    enum smtp_ret ret;
    char envid[SMTP_CMD_MAX_ENVID + 1]; /* xtext-decoded */
    int envid_given;
    int mt_priority;             /* RFC 6710 MT-PRIORITY= value, -9..9 */
    int mt_priority_given;
    /* RCPT parameters. */
    unsigned notify;
    char orcpt_type[32];
    char orcpt[SMTP_CMD_MAX_ORCPT + 1]; /* xtext-decoded */
    int orcpt_given;
    /* BDAT */
    size_t chunk_size;
    int last;
};

/* Flags for what the server offers; parameters of extensions not offered are refused. */
enum {
    SMTP_CMD_ALLOW_DSN = 1u << 0,
    SMTP_CMD_ALLOW_SMTPUTF8 = 1u << 1,
    SMTP_CMD_ALLOW_8BITMIME = 1u << 2,
    SMTP_CMD_ALLOW_SIZE = 1u << 3,
    SMTP_CMD_ALLOW_MT_PRIORITY = 1u << 4,
};

/* Parse line[0..len) (without CRLF). On success returns 0 and fills *cmd. On failure returns
 * MG_EPARSE and fills *err with the reply to send: 500 5.5.2 (unknown command or bad
 * syntax), 500 5.5.2 line too long, 501 5.5.4 (bad arguments), 553 5.1.3 (bad address
 * syntax), 553 5.6.7 (non-ASCII address without SMTPUTF8), 555 5.5.4 (unknown or not offered
 * parameter), 552 5.3.4 (declared SIZE above max_size, when max_size is not 0). */
int smtp_cmd_parse(const char *line, size_t len, unsigned allow, size_t max_size,
                   struct smtp_cmd *cmd, struct smtp_reply *err);

/* RFC 3461 xtext. decode: returns the decoded length or -1 on bad xtext / overflow (out gets a
 * NUL). encode: returns the encoded length or -1 if out is too small. */
long smtp_cmd_xtext_decode(const char *in, size_t len, char *out, size_t outsz);
long smtp_cmd_xtext_encode(const char *in, char *out, size_t outsz);

/* 1 if s[0..len) is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates), else 0. */
int smtp_cmd_utf8_valid(const unsigned char *s, size_t len);

/* Name of a verb ("MAIL"), for logs. */
const char *smtp_cmd_verb_name(enum smtp_verb v);

#endif
