/* p1_pres: the ISO 8823 presentation kernel P1 needs, with no I/O. CP/CPA/CPR with the
 * context list P1 uses (ACSE, RTSE, MTSE, each with BER 2.1.1), fully encoded user data
 * (presentation context identifier + single ASN.1 value), ARU/ARP, PSELs. Decoding is in
 * place (values point into the input); encoders append, and the data PPDU header is put in
 * front of a payload chain. In X.410-1984 mode there is no presentation layer: the callers
 * put RTS PDUs straight into session user data (see p1_rtse). */
#ifndef P1_PRES_H
#define P1_PRES_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"
#include "p1_buf.h"
#include "p1_tpkt.h"

/* The presentation contexts we propose (odd: initiator-chosen). */
#define P1_PCTX_ACSE 1
#define P1_PCTX_RTSE 3
#define P1_PCTX_MTSE 5

enum p1_asn { P1_ASN_OTHER = 0, P1_ASN_ACSE, P1_ASN_RTSE, P1_ASN_MTSE };

enum p1_ppdu_type { P1_PPDU_CP = 1, P1_PPDU_CPA, P1_PPDU_CPR, P1_PPDU_TD, P1_PPDU_ARU,
                    P1_PPDU_ARP };

#define P1_PRES_MAX_CTX 8
#define P1_PRES_MAX_PDV 4

struct p1_pdv {
    long pcid;
    const uint8_t *v;  /* the single ASN.1 value (whole TLV), or the octet-aligned contents */
    size_t len;
};

struct p1_ppdu {
    enum p1_ppdu_type type;
    long mode;                  /* CP/CPA: 1 normal, 0 X.410-1984 */
    struct p1_sel calling, called, responding;
    struct {
        long pcid;
        enum p1_asn asn;
        int ber;                /* transfer syntax BER offered/accepted */
        long result;            /* CPA/CPR: 0 acceptance */
    } ctx[P1_PRES_MAX_CTX];
    size_t nctx;
    struct p1_pdv pdv[P1_PRES_MAX_PDV];
    size_t npdv;
    long provider_reason;       /* CPR/ARP, -1 absent */
};

/* Decode a PPDU of the given expected type (CP, CPA, CPR, TD = user data, ARU/ARP told
 * apart by their tags). 0 or MG_EPROTO with *why. */
int p1_pres_decode(enum p1_ppdu_type type, const uint8_t *p, size_t n, struct p1_ppdu *out,
                   const char **why);
/* Decode an abort PPDU (ARU or ARP). */
int p1_pres_decode_abort(const uint8_t *p, size_t n, struct p1_ppdu *out, const char **why);

/* Our PPDUs. acse/len: the ACSE APDU for context 1 (copied; control PDUs are small). */
int p1_pres_cp(struct mg_buf *b, const struct p1_sel *calling, const struct p1_sel *called,
               const uint8_t *acse, size_t len);
/* CPA accepting the contexts of cp that we know (ACSE, RTSE, MTSE with BER). */
int p1_pres_cpa(struct mg_buf *b, const struct p1_ppdu *cp, const struct p1_sel *responding,
                const uint8_t *acse, size_t len);
int p1_pres_cpr(struct mg_buf *b, const struct p1_ppdu *cp, const uint8_t *acse, size_t len);
/* User data: one PDV (pcid, value) appended. */
int p1_pres_td(struct mg_buf *b, long pcid, const uint8_t *v, size_t len);
/* Put the user data header of one PDV whose single ASN.1 value is the whole of c in front. */
int p1_pres_prepend_td(struct p1_chain *c, long pcid);
int p1_pres_aru(struct mg_buf *b, long pcid, const uint8_t *v, size_t len);
/* The context id the peer gave an abstract syntax in cp, or -1. */
long p1_pres_ctx_of(const struct p1_ppdu *cp, enum p1_asn asn);

#endif
