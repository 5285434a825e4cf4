/* Fuzz target: label extraction at submission on hostile messages, every location at once
 * (envelope X.411 label, ESS of a signed layer, X-X411, SIO-Label, XML header, text header,
 * Subject, first line of text, and the same header fields in an X.400 IPM heading's
 * rfc-822-field list), then the shaper's rebuild of the same bytes (RFC 5322 and X.400).
 * Input: byte 0 = length of the envelope label (0..255), that many bytes, then the message.
 * Checks: no crash, no leak, bounded work, every label found encodes again, a rebuild keeps
 * the whole body, a field added to an IPM heading reads back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labels_fuzz_spif.h"
#include "lsw_certclear.h"
#include "lsw_int.h"
#include "lsw_msg.h"
#include "lsw_x400.h"
#include "mg_err.h"

static char xx[] = "X-X411", xmlh[] = "X-Security-Label-XML", text[] = "X-Security-Marking",
            subj_re[] = "^[[:space:]]*\\[(.*)\\]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lbl_policy_set *set;
    /* the places to look, with their marking expressions compiled once as the configuration
     * loader does (lsw_sources_parse) */
    static struct lsw_sources s = { .src = { LSW_SRC_X411, LSW_SRC_ESS, LSW_SRC_XX411, LSW_SRC_SIO, LSW_SRC_XML,
                                             LSW_SRC_HEADER, LSW_SRC_SUBJECT, LSW_SRC_FLOT, LSW_SRC_HISTORY },
                                    .nsrc = LSW_NSRC, .xx411_header = xx, .xml_header = xmlh, .text_header = text,
                                    .subject_re = subj_re };
    if (!set) {
        set = labels_fuzz_policy_set(); /* the target's fixture, read-only after */
        if (lsw_sources_compile(&s) || !s.header_rx || !s.subject_rx || !s.flot_rx)
            abort();
    }
    if (size < 1)
        return 0;
    size_t ll = data[0];
    if (ll > size - 1)
        ll = size - 1;
    const uint8_t *label = data + 1, *msg = data + 1 + ll;
    size_t mlen = size - 1 - ll;
    struct lsw_found *f = NULL;
    size_t n = 0;
    char errs[600];
    if (lsw_find_labels(&s, set, msg, mlen, ll ? label : NULL, ll, &f, &n, errs, sizeof errs) == 0) {
        for (size_t i = 0; i < n; i++) {
            unsigned char *der = NULL;
            size_t dl = 0;
            const struct lbl_policy *p = lbl_policy_set_find(set, f[i].label.policy);
            (void)lsw_label_encode(&f[i].label, p, &der, &dl); /* may refuse (e.g. a UTF-8 mark) */
            free(der);
        }
        lsw_found_free(f, n);
    }
#ifdef MG_LSW_FUZZ_CERTS
    {   /* the same bytes as a certificate's subjectDirectoryAttributes */
        const unsigned char *v = NULL;
        size_t vl = 0;
        if (lsw_sda_clearance(msg, mlen, &v, &vl) == 0 && (v < msg || v + vl > msg + mlen))
            abort();
    }
#endif
    static const char *const rm[] = { "SIO-Label", "X-X411", NULL };
    static const char *const add[] = { "SIO-Label: marking=\"OPEN\"", NULL };
    struct lsw_msg_edit e = { .remove = rm, .subject = "[OPEN] x", .add = add, .flot = "OPEN" };
    unsigned char *out = NULL;
    size_t ol = 0;
    if (lsw_msg_rebuild(msg, mlen, &e, &out, &ol) == 0) {
        /* the body is kept whole (the first line is inserted, nothing dropped) */
        size_t body = lsw_msg_body_off(msg, mlen);
        if (ol < mlen - body + strlen(e.flot))
            abort();
        free(out);
    }
    /* the same bytes as an X.400 IPM: its heading's rfc-822-field list rewritten (the shaper) and
     * read back: what was added is there */
    out = NULL;
    if (lsw_x400_edit(msg, mlen, rm, add, &out, &ol) == 0) {
        char **lines = NULL;
        size_t nl = 0;
        if (lsw_x400_fields(out, ol, &lines, &nl) != 0 || !lsw_x400_field(lines, nl, "SIO-Label", 0))
            abort();
        lsw_x400_fields_free(lines, nl);
        free(out);
    }
    return 0;
}
