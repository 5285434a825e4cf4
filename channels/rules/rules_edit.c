/* rules_edit: applying a result's header edits to the content, producing new content bytes.
 * Only header fields that are removed or replaced change; every other byte (the other fields,
 * their folding, the separator, the body) is copied as it was, and new fields take the line
 * ending the content already uses, so a signature over the body stays valid. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_buf.h"
#include "mg_err.h"
#include "rules_int.h"

static bool name_is(const unsigned char *c, const struct rules_field *f, const char *name)
{
    return strlen(name) == f->name_len &&
           !strncasecmp((const char *)c + f->start, name, f->name_len);
}

static int put_field(struct mg_buf *b, const struct rules_edit *e, const char *eol)
{
    return mg_buf_appendf(b, "%s: %s%s", e->name, e->value ? e->value : "", eol);
}

int rules_apply_headers(const unsigned char *content, size_t len, const struct rules_edit *edits,
                        size_t n_edits, unsigned char **out, size_t *out_len)
{
    if (!out || !out_len || (!content && len) || (!edits && n_edits))
        return MG_EINVAL;
    *out = NULL;
    *out_len = 0;
    if (!content)
        content = (const unsigned char *)"";
    size_t extra = 0;
    for (size_t i = 0; i < n_edits; i++) {
        const struct rules_edit *e = &edits[i];
        if (!e->name || !*e->name || strpbrk(e->name, ":\r\n") ||
            (e->op != RULES_EDIT_REMOVE && (!e->value || strpbrk(e->value, "\r\n"))))
            return MG_EINVAL; /* a field that would break the header section */
        extra += strlen(e->name) + (e->value ? strlen(e->value) : 0) + 6;
    }
    if (len > SIZE_MAX / 2 || extra > SIZE_MAX / 2 - len)
        return MG_ETOOBIG;
    bool *placed = calloc(n_edits ? n_edits : 1, sizeof *placed); /* owned here */
    if (!placed)
        return MG_ENOMEM;

    const unsigned char *nl = memchr(content, '\n', len);
    const char *eol = !nl || (nl > content && nl[-1] == '\r') ? "\r\n" : "\n";
    struct mg_buf b; /* owned until stolen into *out */
    mg_buf_init(&b, 0);
    int rc = mg_buf_reserve(&b, len + extra + 1);
    size_t pos = 0;
    struct rules_field f;
    bool last_has_eol = true;
    while (!rc && rules_next_field(content, len, pos, &f)) {
        bool drop = false;
        for (size_t i = 0; i < n_edits && !rc; i++) {
            if (edits[i].op == RULES_EDIT_ADD || !name_is(content, &f, edits[i].name))
                continue;
            drop = true;
            if (edits[i].op == RULES_EDIT_REPLACE && !placed[i]) {
                rc = put_field(&b, &edits[i], eol);
                placed[i] = true;
            }
        }
        if (!drop && !rc) {
            rc = mg_buf_append(&b, content + f.start, f.end - f.start);
            last_has_eol = f.end > f.start && content[f.end - 1] == '\n';
        }
        pos = f.end;
    }
    /* new fields go at the end of the header section, before the empty line */
    for (size_t i = 0; i < n_edits && !rc; i++) {
        if (edits[i].op == RULES_EDIT_REMOVE || placed[i])
            continue;
        if (!last_has_eol) { /* the last field ended the content without a line end */
            rc = mg_buf_append(&b, eol, strlen(eol));
            last_has_eol = true;
            if (rc)
                break;
        }
        rc = put_field(&b, &edits[i], eol);
    }
    if (!rc && pos < len)
        rc = mg_buf_append(&b, content + pos, len - pos);
    free(placed);
    if (rc) {
        mg_buf_free(&b);
        return rc;
    }
    *out = mg_buf_steal(&b, out_len);
    if (!*out) {
        *out = malloc(1);
        if (!*out)
            return MG_ENOMEM;
        *out_len = 0;
    }
    return 0;
}
