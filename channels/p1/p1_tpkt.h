/* p1_tpkt: RFC 1006 TPKT framing and ISO 8073 class 0 transport (CR, CC, DR, DT, ER) with no
 * I/O. Input is any chunk of bytes off a socket; each call returns at most one indication
 * (connect request with TSELs, connect confirm, a complete TSDU reassembled by the EOT bit,
 * disconnect, error TPDU). Output TPDUs are appended to a send chain; a TSDU is cut into DT
 * TPDUs of the negotiated size, its payload slices borrowed, not copied. */
#ifndef P1_TPKT_H
#define P1_TPKT_H

#include <stddef.h>
#include <stdint.h>

#include "p1_buf.h"

#define P1_SEL_MAX 32
#define P1_TPKT_MAX 65535 /* the TPKT length field */

struct p1_sel {
    uint8_t len;
    uint8_t v[P1_SEL_MAX];
};

enum p1_tpkt_ind_type {
    P1_TPKT_NONE = 0,   /* all input used, nothing complete */
    P1_TPKT_CONNECT,    /* CR: calling/called TSEL, tpdu_size proposed */
    P1_TPKT_CONFIRM,    /* CC */
    P1_TPKT_DATA,       /* a complete TSDU: data/len valid until the next input call */
    P1_TPKT_DISCONNECT, /* DR: reason */
    P1_TPKT_ERROR_PDU   /* ER: reason (reject cause) */
};

struct p1_tpkt_ind {
    enum p1_tpkt_ind_type type;
    const uint8_t *data;
    size_t len;
    struct p1_sel calling, called;
    unsigned tpdu_size;
    int reason;
};

struct p1_tpkt {
    int initiator;
    unsigned tpdu_size;      /* negotiated maximum TPDU size (octets incl. the 3-octet DT header) */
    unsigned want_size;      /* what we propose or accept at most */
    uint16_t src_ref, dst_ref;
    int connected;
    uint8_t hdr[4];
    size_t hdr_have;
    size_t body_len;         /* TPDU length of the packet being read (from the TPKT header) */
    struct mg_buf pkt;       /* the TPDU being read */
    struct p1_reasm tsdu;    /* DT payloads until EOT */
    int tsdu_done;           /* the previous indication handed out tsdu: reset before more */
    const char *why;         /* reason of the last error (static) */
};

/* max_tsdu: reassembly limit for one TSDU; want_size: TPDU size to propose/accept (128..8192
 * as a power of two; 0 = 2048). */
void p1_tpkt_init(struct p1_tpkt *t, int initiator, size_t max_tsdu, unsigned want_size);
void p1_tpkt_free(struct p1_tpkt *t);
/* Consume bytes; *used says how many. 0 with ind->type (NONE = need more), or MG_EPROTO /
 * MG_ETOOBIG with t->why set: the connection must be closed. */
int p1_tpkt_input(struct p1_tpkt *t, const uint8_t *p, size_t n, size_t *used,
                  struct p1_tpkt_ind *ind);
int p1_tpkt_connect(struct p1_tpkt *t, const struct p1_sel *calling, const struct p1_sel *called,
                    struct p1_chain *out);
/* Answer a CONNECT indication (CC): the TPDU size is the smaller of the proposal and ours. */
int p1_tpkt_accept(struct p1_tpkt *t, const struct p1_tpkt_ind *cr, struct p1_chain *out);
int p1_tpkt_disconnect(struct p1_tpkt *t, uint8_t reason, struct p1_chain *out);
/* Send the unsent bytes of tsdu as DT TPDUs (the last with EOT). tsdu is left as it was. */
int p1_tpkt_data(struct p1_tpkt *t, const struct p1_chain *tsdu, struct p1_chain *out);

#endif
