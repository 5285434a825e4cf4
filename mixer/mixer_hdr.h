/* mixer_hdr: the RFC 5322 side of MIXER: a message split into unfolded header fields and a
 * body, address lists (mailboxes and groups, display names, comments dropped), msg-id lists,
 * and the date mapping of RFC 2156 3.3.5 (RFC 5322 date-time <-> UTCTime, keeping the
 * time zone as given, two-digit years in 1980..2079). Parsers of outside input: bounded,
 * never trusting lengths, returning MG_EPARSE / MG_ETOOBIG. */
#ifndef MIXER_HDR_H
#define MIXER_HDR_H

#include <stdbool.h>
#include <stddef.h>

#define MIXER_HDR_MAX_FIELDS 512
#define MIXER_HDR_MAX_SIZE (1024u * 1024u)

struct mixer_field {
    const char *name; /* points into the message (not NUL-terminated) */
    size_t namelen;
    char *value;      /* owned: unfolded, leading blanks removed, NUL-terminated */
    size_t valuelen;  /* the bytes value holds: a NUL inside (outside input) ends the C string,
                       * and continuations go after all of them, as mixer_hdr_first keeps them */
    bool used;        /* set by a converter that mapped it */
};

struct mixer_hdrs {
    struct mixer_field f[MIXER_HDR_MAX_FIELDS];
    size_t n;
    size_t body_off; /* offset of the body in the message (after the empty line) */
};

/* Split msg into fields and body. Bare LF line ends are accepted. A line that is neither a
 * field nor a continuation is MG_EPARSE; no empty line means an empty body. */
int mixer_hdr_parse(const char *msg, size_t len, struct mixer_hdrs *h);
void mixer_hdr_free(struct mixer_hdrs *h);
/* The value of the first field named name (case-insensitive) as mixer_hdr_parse would keep it,
 * into out (cut to outsize), without keeping the others: 1 when there is one, 0 when there is
 * none, or mixer_hdr_parse's error for a header it refuses. */
int mixer_hdr_first(const char *msg, size_t len, const char *name, char *out, size_t outsize);
/* The first field with this name (case-insensitive), or NULL. */
struct mixer_field *mixer_hdr_find(struct mixer_hdrs *h, const char *name);
bool mixer_hdr_is(const struct mixer_field *f, const char *name);

/* A mailbox or an empty group from an address list. */
#define MIXER_HDR_PHRASE_MAX 256
#define MIXER_HDR_ADDR_MAX 1024
struct mixer_mbox {
    char phrase[MIXER_HDR_PHRASE_MAX]; /* display name, unquoted; "" when none */
    char addr[MIXER_HDR_ADDR_MAX];     /* addr-spec, "" for a group name entry */
    char comment[128];                 /* the last comment after the address ("Tel +44 ..") */
    bool group;                        /* a group's name ("Name:;"), with its members after */
};
/* Parse an address-list (mailboxes, "phrase <addr>", "addr (comment)", groups). Up to max
 * entries; MG_ETOOBIG beyond. MG_EPARSE for unbalanced quotes, comments or brackets. */
int mixer_hdr_addrs(const char *value, struct mixer_mbox *out, size_t max, size_t *n);
/* Write one mailbox (phrase quoted when needed). */
int mixer_hdr_mbox_print(const char *phrase, const char *addr, char *out, size_t outsize);

/* msg-ids of a field value ("<a@b> <c@d>"): each without its angle brackets. */
int mixer_hdr_msgids(const char *value, char out[][MIXER_HDR_ADDR_MAX], size_t max, size_t *n);

/* RFC 5322 date-time -> UTCTime "YYMMDDhhmmss+hhmm" (or "...Z" for +0000 written as
 * "Z"? never: the zone is kept as given). MG_EPARSE when it cannot be read. */
int mixer_hdr_date_to_utc(const char *date, char *out, size_t outsize);
/* UTCTime (YYMMDDhhmm[ss](Z|+hhmm|-hhmm)) -> "Mon, 2 Jan 2006 15:04:05 +0000". */
int mixer_hdr_utc_to_date(const char *utc, size_t n, char *out, size_t outsize);

#endif
