/* content: refcounted immutable content versions (see content.h). */
#include "content.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"

struct content {
    atomic_uint refs;
    enum message_content_type type;
    uint32_t version;
    unsigned char *data; /* owned */
    size_t len;
    char *oid;           /* owned or NULL: the X.400 content type of this version */
};

struct content *content_new(enum message_content_type type, uint32_t version, unsigned char *data,
                            size_t len)
{
    struct content *c = malloc(sizeof *c);
    if (!c) {
        free(data);
        return NULL;
    }
    atomic_init(&c->refs, 1);
    c->type = type;
    c->version = version;
    c->data = data;
    c->len = len;
    c->oid = NULL;
    return c;
}

struct content *content_copy(enum message_content_type type, uint32_t version, const void *data,
                             size_t len)
{
    /* One spare NUL byte, as queue_store_read_content gives, so text scanners may rely on it. */
    unsigned char *p = malloc(len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, data, len);
    p[len] = 0;
    return content_new(type, version, p, len);
}

struct content *content_ref(struct content *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void content_unref(struct content *c)
{
    if (!c)
        return;
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
        free(c->data);
        free(c->oid);
        free(c);
    }
}

const unsigned char *content_data(const struct content *c, size_t *len)
{
    if (len)
        *len = c->len;
    return c->data ? c->data : (const unsigned char *)"";
}

size_t content_len(const struct content *c) { return c->len; }
uint32_t content_version(const struct content *c) { return c->version; }
enum message_content_type content_type(const struct content *c) { return c->type; }
const char *content_oid(const struct content *c) { return c->oid; }

int content_set_oid(struct content *c, const char *oid)
{
    size_t n = oid ? strlen(oid) : 0;
    if (n > CONTENT_OID_MAX)
        return MG_EINVAL;
    char *p = NULL;
    if (n && !(p = malloc(n + 1)))
        return MG_ENOMEM;
    if (n)
        memcpy(p, oid, n + 1);
    free(c->oid);
    c->oid = p;
    return 0;
}

void content_reader_open(struct content_reader *r, struct content *c)
{
    r->c = content_ref(c);
    r->off = 0;
}

size_t content_reader_next(struct content_reader *r, size_t max, const unsigned char **p)
{
    size_t left = r->c->len - r->off;
    size_t n = left < max ? left : max;
    *p = r->c->data + r->off;
    r->off += n;
    return n;
}

void content_reader_close(struct content_reader *r)
{
    content_unref(r->c);
    r->c = NULL;
}
