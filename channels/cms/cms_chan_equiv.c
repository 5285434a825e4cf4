/* cms_chan_equiv: the ESS EquivalentLabels attribute (RFC 2634 section 3.4) the cms channel
 * adds when it signs as the MTA: the same information as the signature's security label,
 * written in other policies, so a receiving domain that does not know the label's policy can
 * still read one it knows. The labels come from the channel's configuration (fixed
 * ESSSecurityLabel files) and from the shaper: when the label switch converted the message's
 * label into the next hop's policy, the label before and the label after are equivalent, and
 * each signature carries the one it is not labelled with. Every label is decoded strictly and
 * re-encoded in DER (a SET's canonical order) before it is signed. */
#include <stdlib.h>
#include <string.h>

#include "cms_chan_int.h"
#include "mg_asn1.h"
#include "mg_err.h"

int cmsch_equiv_canon(const unsigned char *d, size_t len, unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (!d || !len || len > CMSCH_EQUIV_MAX)
        return MG_EPARSE;
    ESSSecurityLabel_t *v = NULL;
    int rc = mg_asn1_decode_ESSSecurityLabel(d, len, &v, NULL);
    if (rc == 0)
        rc = mg_asn1_encode_ESSSecurityLabel(v, out, outlen);
    mg_asn1_free_ESSSecurityLabel(v);
    return rc == MG_ENOMEM ? rc : rc ? MG_EPARSE : 0;
}

int cmsch_equiv_build(const unsigned char *const *labels, const size_t *lens, size_t n,
                      unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (!n)
        return 0;
    EquivalentLabels_t *eq = calloc(1, sizeof *eq); /* owned: frees the labels added to it */
    if (!eq)
        return MG_ENOMEM;
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        ESSSecurityLabel_t *v = NULL;
        rc = mg_asn1_decode_ESSSecurityLabel(labels[i], lens[i], &v, NULL);
        if (rc == 0 && ASN_SEQUENCE_ADD(&eq->list, v) != 0) {
            mg_asn1_free_ESSSecurityLabel(v);
            rc = MG_ENOMEM;
        }
    }
    if (rc == 0)
        rc = mg_asn1_encode_EquivalentLabels(eq, out, outlen);
    mg_asn1_free_EquivalentLabels(eq);
    return rc;
}

/* Whether a and b are the same label (both canonical DER). */
static bool same(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
    return a && b && al == bl && !memcmp(a, b, al);
}

int cmsch_equiv_for(const struct cmsch_conf *c, const unsigned char *label, size_t label_len,
                    const unsigned char *other, size_t other_len, unsigned char **out,
                    size_t *outlen, size_t *n_conf, size_t *n_shaper)
{
    *out = NULL;
    *outlen = 0;
    *n_conf = *n_shaper = 0;
    const unsigned char *v[CMSCH_EQUIV_MAX_LABELS + 1];
    size_t l[CMSCH_EQUIV_MAX_LABELS + 1], n = 0;
    unsigned char *own = NULL, *oc = NULL; /* owned: the two labels in canonical form */
    size_t ownl = 0, ocl = 0;
    if (label && label_len && cmsch_equiv_canon(label, label_len, &own, &ownl) == MG_ENOMEM)
        return MG_ENOMEM;
    for (size_t i = 0; i < c->n_equiv; i++) {
        if (same(c->equiv[i], c->equiv_len[i], own, ownl))
            continue; /* the signature's own label is no equivalent of itself */
        v[n] = c->equiv[i];
        l[n++] = c->equiv_len[i];
        (*n_conf)++;
    }
    int rc = 0;
    if (c->equiv_from_shaper && other && other_len) {
        rc = cmsch_equiv_canon(other, other_len, &oc, &ocl);
        if (rc == MG_EPARSE)
            rc = 0; /* not an ESSSecurityLabel (an X.411 one): nothing to add */
        bool dup = same(oc, ocl, own, ownl);
        for (size_t i = 0; oc && !dup && i < n; i++)
            dup = same(oc, ocl, v[i], l[i]);
        if (!rc && oc && !dup) {
            v[n] = oc;
            l[n++] = ocl;
            (*n_shaper)++;
        }
    }
    if (!rc)
        rc = cmsch_equiv_build(v, l, n, out, outlen);
    free(own);
    free(oc);
    return rc;
}
