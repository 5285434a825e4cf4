/* libFuzzer target: cmsch_equiv_canon on arbitrary bytes (a message's label, from outside,
 * which the cms channel decodes strictly before it signs it as an equivalent label) and, when
 * it decodes, cmsch_equiv_build of it twice. Must never read outside the input; a label that
 * canonicalises must canonicalise to itself again.
 *
 * Then cmsch_equiv_for, which picks a signature's EquivalentLabels from the channel's
 * configuration: three fixed configurations built once (as the loader builds them from
 * `equivalent_labels` files and `equivalent_labels_from_shaper`), with the input as the
 * message's label, as the shaper's other label, and as both. The result must be what the
 * configuration says: every configured label but the signature's own, the shaper's label when
 * it is an ESSSecurityLabel that is not there yet, and nothing else (decoded again here). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cms_chan_int.h"
#include "mg_asn1.h"
#include "mg_log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ESSSecurityLabel { classification N, policy 2.999.P } (canonical DER), as the unit tests */
#define LBL(cls, pol) { 0x31, 0x08, 0x02, 0x01, cls, 0x06, 0x03, 0x88, 0x37, pol }
static const unsigned char l_conf1[] = LBL(4, 3);
static const unsigned char l_conf2[] = LBL(2, 1);
static const unsigned char l_fixed[] = LBL(3, 2); /* the other side when the input is one */
/* the same as l_conf2 in the wrong SET order: the loader canonicalises it */
static const unsigned char l_conf2_unsorted[] = { 0x31, 0x08, 0x06, 0x03, 0x88, 0x37, 0x01,
                                                  0x02, 0x01, 0x02 };

/* The fuzzer's only state: built once, read-only afterwards. */
static struct cmsch_conf confs[3];
static unsigned char *conf_labels[2];
static size_t conf_lens[2];
static unsigned char *fixed_canon; /* l_fixed's canonical form */
static size_t fixed_canon_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    mg_log_set_level(MG_LOG_ERROR);
    if (cmsch_equiv_canon(l_conf1, sizeof l_conf1, &conf_labels[0], &conf_lens[0]) ||
        cmsch_equiv_canon(l_conf2_unsorted, sizeof l_conf2_unsorted, &conf_labels[1], &conf_lens[1]) ||
        conf_lens[1] != sizeof l_conf2 || memcmp(conf_labels[1], l_conf2, sizeof l_conf2))
        mg_panic("fuzz setup: configured labels");
    if (cmsch_equiv_canon(l_fixed, sizeof l_fixed, &fixed_canon, &fixed_canon_len))
        mg_panic("fuzz setup: fixed label");
    /* 0: two configured labels; 1: the same and the shaper's; 2: the shaper's only */
    for (int i = 0; i < 2; i++) {
        confs[i].equiv = conf_labels;
        confs[i].equiv_len = conf_lens;
        confs[i].n_equiv = 2;
    }
    confs[1].equiv_from_shaper = true;
    confs[2].equiv_from_shaper = true;
    return 0;
}

static bool same(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
    return a && b && al == bl && !memcmp(a, b, al);
}

/* cmsch_equiv_for(c, label, other) against what the configuration says; own and oc are the
 * canonical forms of label and other (NULL: not an ESSSecurityLabel), made once per input. */
static void check_for(const struct cmsch_conf *c, const unsigned char *label, size_t label_len,
                      const unsigned char *own, size_t ownl, const unsigned char *other,
                      size_t other_len, const unsigned char *oc, size_t ocl)
{
    unsigned char *out = NULL;
    size_t outlen = 0, n_conf = 0, n_shaper = 0;
    if (cmsch_equiv_for(c, label, label_len, other, other_len, &out, &outlen, &n_conf, &n_shaper))
        abort(); /* only MG_ENOMEM, which a fuzzer's allocations do not meet */
    size_t want_conf = 0;
    bool oc_dup = same(oc, ocl, own, ownl);
    for (size_t i = 0; i < c->n_equiv; i++) {
        if (same(c->equiv[i], c->equiv_len[i], own, ownl))
            continue;
        want_conf++;
        oc_dup |= same(oc, ocl, c->equiv[i], c->equiv_len[i]);
    }
    size_t want_shaper = c->equiv_from_shaper && oc && !oc_dup;
    if (n_conf != want_conf || n_shaper != want_shaper || (!out) != (want_conf + want_shaper == 0))
        abort();
    if (out) {
        /* our own EquivalentLabels decode again, hold those labels, and never the own one */
        EquivalentLabels_t *eq = NULL;
        if (mg_asn1_decode_EquivalentLabels(out, outlen, &eq, NULL) ||
            (size_t)eq->list.count != want_conf + want_shaper)
            abort();
        for (int i = 0; i < eq->list.count; i++) {
            unsigned char *d = NULL;
            size_t dl = 0;
            if (mg_asn1_encode_ESSSecurityLabel(eq->list.array[i], &d, &dl) || same(d, dl, own, ownl))
                abort();
            free(d);
        }
        mg_asn1_free_EquivalentLabels(eq);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *c = NULL, *c2 = NULL, *eq = NULL;
    size_t cl = 0, cl2 = 0, el = 0;
    if (cmsch_equiv_canon(data, size, &c, &cl) == 0) {
        if (cmsch_equiv_canon(c, cl, &c2, &cl2) != 0 || cl2 != cl || memcmp(c, c2, cl))
            abort();
        const unsigned char *v[2] = { c, c2 };
        const size_t l[2] = { cl, cl2 };
        if (cmsch_equiv_build(v, l, 2, &eq, &el) != 0 || !eq)
            abort();
    }
    /* cmsch_equiv_for: input that is no ESSSecurityLabel only ever stays out (one call shows
     * it, in both roles); a label goes through every role and configuration that treats it
     * differently (each call decodes and encodes a dozen labels: the target's cost) */
    const unsigned char *fx = fixed_canon;
    size_t fl = fixed_canon_len;
    if (!c) {
        check_for(&confs[1], data, size, NULL, 0, data, size, NULL, 0);
    } else {
        check_for(&confs[0], data, size, c, cl, l_fixed, sizeof l_fixed, fx, fl); /* message's */
        check_for(&confs[1], data, size, c, cl, l_fixed, sizeof l_fixed, fx, fl);
        check_for(&confs[1], l_fixed, sizeof l_fixed, fx, fl, data, size, c, cl); /* shaper's */
        check_for(&confs[2], l_fixed, sizeof l_fixed, fx, fl, data, size, c, cl);
        check_for(&confs[1], data, size, c, cl, data, size, c, cl);  /* both: not added twice */
    }
    free(c);
    free(c2);
    free(eq);
    return 0;
}
