/* content: a message content version as a refcounted, immutable handle.
 *
 * The queue manager loads a content version once and hands the same handle to every stage and
 * delivery that uses it (a delivery to ten peers does not read or copy the content ten times);
 * a processing channel that rewrites the content makes a new handle. Readers take the bytes
 * through content_data() or read them piecewise with a content_reader, so a consumer that writes
 * in pieces (the SMTP client's dot-stuffing, P1 segmentation) never needs its own copy.
 *
 * Threads: the refcount is atomic, the bytes are never written after content_new(), so a handle
 * may be shared between the loop thread and pool threads freely.
 *
 * Ownership: content_new() takes ownership of `data` (malloc'd); the handle frees it when the
 * last reference goes. */
#ifndef CONTENT_H
#define CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "message.h"

struct content;

/* A handle with one reference over data[0..len) (owned from now on, even on error: then it is
 * freed). version: the content version number in the queue store (0 = as received). NULL on
 * out of memory. */
struct content *content_new(enum message_content_type type, uint32_t version, unsigned char *data,
                            size_t len);
/* A handle over a copy of data. NULL on out of memory. */
struct content *content_copy(enum message_content_type type, uint32_t version, const void *data,
                             size_t len);
struct content *content_ref(struct content *c);
/* Drops one reference; NULL is fine. */
void content_unref(struct content *c);

const unsigned char *content_data(const struct content *c, size_t *len);
size_t content_len(const struct content *c);
uint32_t content_version(const struct content *c);
enum message_content_type content_type(const struct content *c);
/* The version's X.400 content type (dotted OID, or "22" / "2" for the built-in types), NULL
 * when none was said (content as received: the message's envelope names it). Set only on a
 * handle nobody else holds yet (just made), like the bytes: 0, MG_EINVAL (longer than
 * CONTENT_OID_MAX), MG_ENOMEM; oid NULL or "" clears it. */
#define CONTENT_OID_MAX 127
int content_set_oid(struct content *c, const char *oid);
const char *content_oid(const struct content *c);

/* Sequential reader; holds a reference while open. */
struct content_reader {
    struct content *c; /* owned reference */
    size_t off;
};
void content_reader_open(struct content_reader *r, struct content *c);
/* Up to max bytes in place (no copy): *p points into the content; returns the count (0 = end). */
size_t content_reader_next(struct content_reader *r, size_t max, const unsigned char **p);
void content_reader_close(struct content_reader *r);

#endif
