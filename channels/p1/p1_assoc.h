/* p1_assoc: one P1 association as one explicit state machine with no I/O and no timers of its
 * own (like smtp_session): the caller feeds received bytes and time-outs, drains the bytes to
 * write from a->out, and reads indications (bind request, bind result, APDU received, transfer
 * confirmed, turn please/received, release, abort with a reason). Both roles: the responder
 * answers a bind the caller decides on and delivers each transferred MTS-APDU, confirming it
 * (activity end acknowledged) only when the caller says it is durable; the initiator binds,
 * transfers APDUs one at a time inside activities with checkpoints and a window, and releases.
 * Modes: 1988-normal (presentation + ACSE + RTSE), 1988-x410 and 1984 (RTS over session).
 * A transfer the receiver cannot take (larger than its APDU limit) is refused the RTSE way:
 * the receiver reports an exception, the sender discards the activity, and the association
 * goes on. */
#ifndef P1_ASSOC_H
#define P1_ASSOC_H

#include <stddef.h>
#include <stdint.h>

#include "p1_bind.h"
#include "p1_buf.h"
#include "p1_pres.h"
#include "p1_rtse.h"
#include "p1_session.h"
#include "p1_tpkt.h"

enum p1_mode { P1_MODE_1988_NORMAL = 0, P1_MODE_1988_X410, P1_MODE_1984 };
/* "1988-normal", "1988-x410", "1984"; 0 or MG_EINVAL. */
int p1_mode_parse(const char *s, enum p1_mode *m);
const char *p1_mode_name(enum p1_mode m);

struct p1_assoc_cfg {
    int initiator;
    enum p1_mode mode;          /* initiator: what to speak; responder: detected from the CN */
    struct p1_sel calling_tsel, called_tsel, calling_ssel, called_ssel, calling_psel,
        called_psel;            /* initiator: sent; responder: its own (responding) are called_* */
    long checkpoint_kib;        /* initiator: proposed; responder: largest accepted (0 = any) */
    long window;                /* 0 = 3 */
    long dialogue;              /* initiator: P1_DIALOGUE_* proposed */
    size_t max_tsdu;            /* limit of one reassembled TSDU (0 = 1 MiB) */
    size_t max_apdu;            /* limit of one transferred APDU (0 = 64 MiB) */
    unsigned tpdu_size;         /* 0 = 2048 */
    struct p1_bind bind;        /* initiator: our bind argument */
    const char *expect_name;    /* initiator: the responder's MTA name we require (NULL: any) */
    const char *expect_password;
};

enum p1_ind_type {
    P1_IND_BIND_REQUEST = 1,    /* responder: answer with p1_assoc_bind_accept/refuse */
    P1_IND_BIND_RESULT,         /* initiator: accepted or refused (bind_error) */
    P1_IND_APDU,                /* a complete MTS-APDU: call p1_assoc_apdu_durable when stored */
    P1_IND_TRANSFER_CONFIRMED,  /* the peer acknowledged our transfer: we may forget it */
    P1_IND_TURN_PLEASE,         /* the peer asks for the turn (priority) */
    P1_IND_TURN_RECEIVED,       /* we hold the turn now */
    P1_IND_RELEASED,            /* orderly release done: close after flushing out */
    P1_IND_ABORTED,             /* reason says why: close after flushing out */
    P1_IND_TRANSFER_REFUSED,    /* sender: the peer reported an exception and we discarded
                                 * the activity; the APDU was not taken (reason), the
                                 * association stays open */
    P1_IND_TRANSFER_DISCARDED   /* receiver: a transfer was dropped (our limit, or the
                                 * sender discarded it): reason */
};

struct p1_ind {
    enum p1_ind_type type;
    enum p1_mode mode;
    struct p1_bind bind;        /* BIND_REQUEST: the initiator's; BIND_RESULT: the responder's */
    int accepted;
    long bind_error;            /* refused bind: MTABindError, -1 unknown */
    long checkpoint, window, dialogue;
    const uint8_t *apdu;        /* APDU: valid until p1_assoc_apdu_durable, ABORTED or free */
    size_t apdu_len;
    long priority;
    char reason[160];
    /* BIND_REQUEST: the addresses the peer used (calling = its own, called = ours), for
     * the caller's peer checks. PSELs are empty in X.410 mode. */
    struct p1_sel calling_tsel, called_tsel, calling_ssel, called_ssel, calling_psel,
        called_psel;
};

enum p1_assoc_state {
    P1_AS_IDLE = 0, P1_AS_WAIT_CR, P1_AS_WAIT_CC, P1_AS_WAIT_CN, P1_AS_WAIT_AC,
    P1_AS_WAIT_BIND_ANSWER, P1_AS_OPEN, P1_AS_WAIT_DN, P1_AS_CLOSED
};

#define P1_ASSOC_MAX_IND 8

struct p1_assoc {
    struct p1_assoc_cfg cfg;    /* copy; string pointers borrowed from the caller */
    enum p1_assoc_state state;
    enum p1_mode mode;
    struct p1_tpkt tpkt;
    struct p1_session sess;
    struct p1_chain out;        /* bytes to write (drain with p1_chain_iov/consume) */
    long checkpoint, window, dialogue;
    long pc_acse, pc_rtse, pc_mtse;  /* presentation contexts in use */
    struct p1_ppdu cp;          /* responder: the peer's context list (for CPA/CPR) */
    struct p1_sel peer_tsel[2]; /* responder: calling and called TSEL of the CR */
    /* Receiving a transfer. */
    int rx_active, rx_wait_durable;
    int rx_failed;              /* exception reported: drop the rest until the discard */
    unsigned long rx_serial;
    struct p1_reasm rx;
    /* Sending a transfer. */
    int tx_active, tx_ended;
    int tx_discarding;          /* activity discard sent, waiting for its acknowledgement */
    long tx_exception;          /* the peer's exception reason */
    const uint8_t *tx_apdu;     /* borrowed from the caller until confirmed or aborted */
    size_t tx_len, tx_off, tx_total, tx_chunk;
    struct p1_chain tx_src;     /* EXTERNAL header + the borrowed APDU */
    unsigned long activity_no;
    struct p1_ind ind[P1_ASSOC_MAX_IND];
    size_t ind_head, ind_count;
    struct p1_ind ind_scratch;
};

void p1_assoc_init(struct p1_assoc *a, const struct p1_assoc_cfg *cfg);
void p1_assoc_free(struct p1_assoc *a);
/* Initiator: send the transport connect request. */
int p1_assoc_start(struct p1_assoc *a);
/* Received bytes. 0, or negative when the peer's bytes ended the association (an ABORTED
 * indication with the reason is queued, and an abort to send is in out). */
int p1_assoc_input(struct p1_assoc *a, const void *p, size_t n);
/* Next indication: 1 and *ind filled, 0 none. */
int p1_assoc_next_ind(struct p1_assoc *a, struct p1_ind *ind);
int p1_assoc_bind_accept(struct p1_assoc *a, const struct p1_bind *ours);
int p1_assoc_bind_refuse(struct p1_assoc *a, long bind_error);
/* Transfer one APDU (borrowed until TRANSFER_CONFIRMED or ABORTED). MG_ESTATE when not
 * possible now (no turn, a transfer in progress, not open). */
int p1_assoc_transfer(struct p1_assoc *a, const uint8_t *apdu, size_t len);
/* The APDU of the last APDU indication is durable: acknowledge it. */
int p1_assoc_apdu_durable(struct p1_assoc *a);
/* Two-way alternate: give the turn (we must hold it, no transfer running) / ask for it. */
int p1_assoc_give_turn(struct p1_assoc *a);
int p1_assoc_please_turn(struct p1_assoc *a, long priority);
/* Orderly release (initiator holding the turn): RELEASED follows the peer's answer. */
int p1_assoc_release(struct p1_assoc *a);
/* Abort now (our reason, logged by the caller); an ABORTED indication is queued. */
int p1_assoc_abort(struct p1_assoc *a, const char *reason);
/* The caller's idle/response timer fired. */
void p1_assoc_timeout(struct p1_assoc *a);
int p1_assoc_can_transfer(const struct p1_assoc *a);

#endif
