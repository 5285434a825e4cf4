/* Fuzz target ipm_info / ipm_mm: decode an X.420 (P2/P22) or STANAG 4406 (P772) information
 * object; when it decodes, print it (tree and JSON, which decodes every open type in a
 * second step), run the second-step decoders the mixer and the shaper use (mg_ipm_ext_decode
 * and mg_ipm_ext_find on every heading and notification extension, mg_ipm_bodypart_decode on
 * every extended body part, forwarded messages included) and check that DER re-encoding is
 * stable (decode(DER(v)) gives the same DER). IPM_FUZZ_MM selects the P772 type. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "Body.h"
#include "BodyPart.h"
#include "MessageBodyPart.h"
#include "NotificationExtensionsField.h"
#include "mg_buf.h"
#include "mg_ipm.h"
#include "mg_print.h"

#ifdef IPM_FUZZ_MM
#define FUZZ_TD asn_DEF_MMInformationObject
#else
#define FUZZ_TD asn_DEF_InformationObject
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A typed value we decoded must encode again. */
static void typed_check(struct mg_ipm_typed *t)
{
    if (t->td && t->value) {
        struct mg_buf b;
        mg_buf_init(&b, 0);
        if (mg_ipm_encode(t->td, t->value, &b) != 0) {
            fprintf(stderr, "ipm fuzz: a decoded %s does not encode\n", t->td->name);
            abort();
        }
        mg_buf_free(&b);
    }
    mg_ipm_typed_free(t);
}

static void walk_exts(struct IPMSExtension *const *exts, int count)
{
    struct mg_ipm_error err;
    for (int i = 0; i < count; i++) {
        struct mg_ipm_typed t;
        if (mg_ipm_ext_decode(exts[i], &t, &err) == 0)
            typed_check(&t);
    }
}

/* depth bounds the forwarded-message recursion (the decoder bounds it too) */
static void walk_ipm(const IPM_t *ipm, int depth)
{
    if (!ipm || depth > 8)
        return;
    const ExtensionsField_t *ex = ipm->heading.extensions;
    if (ex) {
        walk_exts(ex->list.array, ex->list.count);
        char dotted[128];
        struct mg_ipm_typed t;
        struct mg_ipm_error err;
        /* find by OID, as the shaper looks up one extension */
        if (ex->list.count > 0 && mg_ipm_oid_str(&ex->list.array[0]->type, dotted,
                                                 sizeof dotted) == 0 &&
            mg_ipm_ext_find(ex, dotted, &t, &err) == 0)
            typed_check(&t);
    }
    for (int i = 0; ipm->body && i < ipm->body->list.count; i++) {
        const BodyPart_t *bp = ipm->body->list.array[i];
        struct mg_ipm_typed t;
        struct mg_ipm_error err;
        if (bp->present == BodyPart_PR_extended) {
            if (mg_ipm_bodypart_decode(&bp->choice.extended.data, &t, &err) == 0)
                typed_check(&t);
            if (bp->choice.extended.parameters &&
                mg_ipm_bodypart_decode(bp->choice.extended.parameters, &t, &err) == 0)
                typed_check(&t);
        } else if (bp->present == BodyPart_PR_basic &&
                   bp->choice.basic.present == BodyPart__basic_PR_message &&
                   bp->choice.basic.choice.message) {
            walk_ipm(bp->choice.basic.choice.message->data, depth + 1);
        }
    }
}

static void walk(const void *v)
{
#ifdef IPM_FUZZ_MM
    const MMInformationObject_t *o = v;
    const IPM_t *ipm = o->present == MMInformationObject_PR_mm ? &o->choice.mm : NULL;
    const IPN_t *ipn = o->present == MMInformationObject_PR_mn ? &o->choice.mn : NULL;
#else
    const InformationObject_t *o = v;
    const IPM_t *ipm = o->present == InformationObject_PR_ipm ? &o->choice.ipm : NULL;
    const IPN_t *ipn = o->present == InformationObject_PR_ipn ? &o->choice.ipn : NULL;
#endif
    walk_ipm(ipm, 0);
    if (ipn && ipn->notification_extensions)
        walk_exts(ipn->notification_extensions->list.array,
                  ipn->notification_extensions->list.count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *v = NULL;
    struct mg_ipm_error err;
    if (mg_ipm_decode(&FUZZ_TD, data, size, &v, &err) != 0)
        return 0;
    walk(v);
    FILE *sink = fopen("/dev/null", "w");
    if (sink) {
        struct mg_print_opts o = {0};
        mg_print_value(sink, &FUZZ_TD, v, NULL, &o);
        o.json = 1;
        mg_print_value(sink, &FUZZ_TD, v, NULL, &o);
        fclose(sink);
    }
    struct mg_buf d1, d2;
    mg_buf_init(&d1, 0);
    mg_buf_init(&d2, 0);
    if (mg_ipm_encode(&FUZZ_TD, v, &d1) == 0) {
        void *v2 = NULL;
        /* Our own DER must decode, and encode to the same bytes. */
        if (mg_ipm_decode(&FUZZ_TD, d1.data, d1.len, &v2, &err) != 0 ||
            mg_ipm_encode(&FUZZ_TD, v2, &d2) != 0 || d1.len != d2.len ||
            memcmp(d1.data, d2.data, d1.len) != 0) {
            fprintf(stderr, "ipm fuzz: DER re-encoding not stable (%s at %zu)\n", err.what,
                    err.offset);
            abort();
        }
        mg_ipm_free(&FUZZ_TD, v2);
    }
    mg_buf_free(&d1);
    mg_buf_free(&d2);
    mg_ipm_free(&FUZZ_TD, v);
    return 0;
}
