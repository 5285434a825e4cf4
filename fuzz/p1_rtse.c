/* fuzz target p1_rtse: RTSE APDUs in normal mode and X.410 mode (PConnect/PAccept/PRefuse),
 * RTTR contents (segmented OCTET STRING into a bounded reassembly, then the EXTERNAL), the
 * ACSE APDUs that carry them, and MTA bind values. A connection APDU or bind value that
 * decodes is written again by our encoders and must decode to the same fields. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "p1_acse.h"
#include "p1_bind.h"
#include "p1_rtse.h"

/* A connection APDU we decoded, written again by our encoder, decodes to the same fields (the
 * bind value inside it goes as it came). */
static void rewrite(const struct p1_rtse *r, int x410)
{
    if (r->recover)
        return; /* recover connection data: refused, and not something we write */
    struct mg_buf b;
    mg_buf_init(&b, 0);
    int rc = MG_ENOTSUP;
    if (r->type == P1_RTORQ)
        rc = p1_rtse_rtorq(&b, x410, r->checkpoint, r->window, r->dialogue,
                           x410 ? r->app_protocol : -1, r->data, r->len);
    else if (r->type == P1_RTOAC)
        rc = p1_rtse_rtoac(&b, x410, r->checkpoint, r->window, r->data, r->len);
    else if (r->type == P1_RTORJ)
        rc = p1_rtse_rtorj(&b, x410, r->reason, r->data, r->len);
    else if (r->type == P1_RTAB && !x410)
        rc = p1_rtse_rtab(&b, r->reason);
    else if (r->type == P1_RTTP && !x410)
        rc = p1_rtse_rttp(&b, r->priority);
    if (rc == 0) {
        struct p1_rtse back;
        const char *why = NULL;
        rc = x410 ? p1_rtse_decode_x410(r->type, b.data, b.len, &back, &why)
                  : p1_rtse_decode(b.data, b.len, &back, &why);
        if (rc || back.type != r->type || (r->type != P1_RTTP && r->type != P1_RTAB &&
                                           (back.len != r->len || (r->len &&
                                            memcmp(back.data, r->data, r->len)))))
            abort();
    }
    mg_buf_free(&b);
}

/* A bind value we decoded, written again, decodes to the same credentials. */
static void rebind(const struct p1_bind *v)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    if (p1_bind_encode(&b, 16, 1, v) == 0) {
        struct p1_bind back;
        const char *why = NULL;
        if (p1_bind_decode(b.data, b.len, &back, &why) || back.authenticated != v->authenticated ||
            strcmp(back.name, v->name) || strcmp(back.password, v->password))
            abort();
    }
    mg_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    struct p1_rtse r;
    struct p1_bind b;
    long err;
    if (p1_rtse_decode(data, size, &r, &why) == 0) {
        rewrite(&r, 0);
        if (r.data && p1_bind_decode(r.data, r.len, &b, &why) == 0)
            rebind(&b);
        if (r.data)
            (void)p1_bind_error_decode(r.data, r.len, &err);
    }
    static const enum p1_rtse_type x410[] = {P1_RTORQ, P1_RTOAC, P1_RTORJ};
    for (size_t i = 0; i < 3; i++)
        if (p1_rtse_decode_x410(x410[i], data, size, &r, &why) == 0) {
            rewrite(&r, 1);
            if (r.data)
                (void)p1_bind_decode(r.data, r.len, &b, &why);
        }
    struct p1_reasm re;
    p1_reasm_init(&re, 1u << 16);
    if (p1_rtse_rttr_collect(data, size, &re) == 0) {
        const uint8_t *apdu;
        size_t alen;
        (void)p1_rtse_external_value(re.b.data, re.b.len, &apdu, &alen);
    }
    p1_reasm_free(&re);
    const uint8_t *apdu;
    size_t alen;
    (void)p1_rtse_external_value(data, size, &apdu, &alen);
    struct p1_acse a;
    if (p1_acse_decode(data, size, &a, &why) == 0 && a.ui)
        (void)p1_rtse_decode(a.ui, a.ui_len, &r, &why);
    if (p1_bind_decode(data, size, &b, &why) == 0)
        rebind(&b);
    return 0;
}
