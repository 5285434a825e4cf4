/* p1_assoc: the P1 association state machine (bind, transfer, turn, release, abort) over the
 * p1_* layers, both roles, three modes. Events in, bytes and indications out. */
#include "p1_assoc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mg_err.h"
#include "p1_acse.h"
#include "p1_assoc_int.h"
#include "p1_ber.h"

#define DEFAULT_MAX_TSDU (1u << 20)
#define DEFAULT_MAX_APDU (64u << 20)

int p1_mode_parse(const char *s, enum p1_mode *m)
{
    if (strcmp(s, "1988-normal") == 0)
        *m = P1_MODE_1988_NORMAL;
    else if (strcmp(s, "1988-x410") == 0)
        *m = P1_MODE_1988_X410;
    else if (strcmp(s, "1984") == 0)
        *m = P1_MODE_1984;
    else
        return MG_EINVAL;
    return 0;
}

const char *p1_mode_name(enum p1_mode m)
{
    return m == P1_MODE_1988_NORMAL ? "1988-normal" : m == P1_MODE_1988_X410 ? "1988-x410" : "1984";
}

int p1_assoc_x410(const struct p1_assoc *a)
{
    return a->mode != P1_MODE_1988_NORMAL;
}

void p1_assoc_init(struct p1_assoc *a, const struct p1_assoc_cfg *cfg)
{
    memset(a, 0, sizeof *a);
    a->cfg = *cfg;
    if (!a->cfg.max_tsdu)
        a->cfg.max_tsdu = DEFAULT_MAX_TSDU;
    if (!a->cfg.max_apdu)
        a->cfg.max_apdu = DEFAULT_MAX_APDU;
    if (a->cfg.window <= 0)
        a->cfg.window = P1_RTSE_DEFAULT_WINDOW;
    a->mode = cfg->mode;
    a->state = cfg->initiator ? P1_AS_IDLE : P1_AS_WAIT_CR;
    p1_tpkt_init(&a->tpkt, cfg->initiator, a->cfg.max_tsdu, cfg->tpdu_size);
    p1_session_init(&a->sess, cfg->initiator);
    p1_chain_init(&a->out);
    p1_chain_init(&a->tx_src);
    p1_reasm_init(&a->rx, a->cfg.max_apdu);
    a->pc_acse = P1_PCTX_ACSE;
    a->pc_rtse = P1_PCTX_RTSE;
    a->pc_mtse = P1_PCTX_MTSE;
}

void p1_assoc_free(struct p1_assoc *a)
{
    p1_tpkt_free(&a->tpkt);
    p1_chain_free(&a->out);
    p1_chain_free(&a->tx_src);
    p1_reasm_free(&a->rx);
}

struct p1_ind *p1_assoc_push(struct p1_assoc *a, enum p1_ind_type type)
{
    if (a->ind_count == P1_ASSOC_MAX_IND) /* a caller not reading them: keep the first ones */
        return memset(&a->ind_scratch, 0, sizeof a->ind_scratch);
    struct p1_ind *i = &a->ind[(a->ind_head + a->ind_count++) % P1_ASSOC_MAX_IND];
    memset(i, 0, sizeof *i);
    i->type = type;
    i->mode = a->mode;
    i->bind_error = -1;
    return i;
}

int p1_assoc_next_ind(struct p1_assoc *a, struct p1_ind *ind)
{
    if (!a->ind_count)
        return 0;
    *ind = a->ind[a->ind_head];
    a->ind_head = (a->ind_head + 1) % P1_ASSOC_MAX_IND;
    a->ind_count--;
    return 1;
}

/* One TSDU (an encoded SPDU sequence in b, copied: control PDUs are small) onto the
 * transport. */
static int send_tsdu(struct p1_assoc *a, const struct mg_buf *b)
{
    struct p1_chain c;
    p1_chain_init(&c);
    int rc = p1_chain_own(&c, b->data, b->len);
    if (!rc)
        rc = p1_tpkt_data(&a->tpkt, &c, &a->out);
    p1_chain_free(&c);
    return rc;
}

/* Encode SPDU (optionally preceded by a category 0 GT/PT) and send it. */
int p1_assoc_send_spdu(struct p1_assoc *a, uint8_t cat0, const struct p1_spdu *sp)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    int rc = 0;
    if (cat0) {
        uint8_t h[2] = {cat0, 0};
        rc = mg_buf_append(&b, h, 2);
    }
    if (!rc)
        rc = p1_session_encode(&b, sp);
    if (!rc)
        rc = send_tsdu(a, &b);
    mg_buf_free(&b);
    return rc;
}

static void end_transfers(struct p1_assoc *a)
{
    a->tx_active = a->tx_ended = a->tx_discarding = 0;
    a->rx_failed = 0;
    a->tx_apdu = NULL;
    p1_chain_reset(&a->tx_src);
    a->rx_active = a->rx_wait_durable = 0;
    p1_reasm_reset(&a->rx);
}

void p1_assoc_abort_ind(struct p1_assoc *a, const char *fmt, ...)
{
    struct p1_ind *i = p1_assoc_push(a, P1_IND_ABORTED);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(i->reason, sizeof i->reason, fmt, ap);
    va_end(ap);
    end_transfers(a);
    a->state = P1_AS_CLOSED;
}

/* Send an abort: user abort with ABRT(RTAB) in normal mode, else a bare session abort. */
void p1_assoc_send_abort(struct p1_assoc *a, int protocol_error)
{
    if (a->state == P1_AS_CLOSED || a->state == P1_AS_IDLE)
        return;
    if (a->state == P1_AS_WAIT_CR || a->state == P1_AS_WAIT_CC || a->state == P1_AS_WAIT_CN) {
        if (a->tpkt.connected || a->state == P1_AS_WAIT_CN)
            (void)p1_tpkt_disconnect(&a->tpkt, 0, &a->out);
        return;
    }
    struct p1_spdu sp;
    memset(&sp, 0, sizeof sp);
    sp.si = P1_SI_AB;
    sp.has_td = 1;
    sp.td = protocol_error ? 0x05 : 0x03;
    struct mg_buf ud, tmp;
    mg_buf_init(&ud, 0);
    mg_buf_init(&tmp, 0);
    if (!protocol_error && !p1_assoc_x410(a) && a->state >= P1_AS_OPEN) {
        if (p1_rtse_rtab(&tmp, 2) == 0) { /* abortReason userError... (2 = userError) */
            struct mg_buf ab;
            mg_buf_init(&ab, 0);
            if (p1_acse_abrt(&ab, 0, a->pc_rtse, tmp.data, tmp.len) == 0 &&
                p1_pres_aru(&ud, a->pc_acse, ab.data, ab.len) == 0) {
                sp.has_ud = 1;
                sp.ud = ud.data;
                sp.ud_len = ud.len;
            }
            mg_buf_free(&ab);
        }
    }
    (void)p1_assoc_send_spdu(a, 0, &sp);
    mg_buf_free(&ud);
    mg_buf_free(&tmp);
}

int p1_assoc_proto_fail(struct p1_assoc *a, const char *what)
{
    p1_assoc_send_abort(a, 1);
    p1_assoc_abort_ind(a, "protocol error: %s", what);
    return MG_EPROTO;
}

int p1_assoc_start(struct p1_assoc *a)
{
    if (!a->cfg.initiator || a->state != P1_AS_IDLE)
        return MG_ESTATE;
    a->state = P1_AS_WAIT_CC;
    return p1_tpkt_connect(&a->tpkt, &a->cfg.calling_tsel, &a->cfg.called_tsel, &a->out);
}

/* ---- data phase ---- */

static int serial_spdu(struct p1_assoc *a, uint8_t cat0, uint8_t si, unsigned long serial)
{
    struct p1_spdu sp;
    memset(&sp, 0, sizeof sp);
    sp.si = si;
    sp.has_serial = 1;
    sp.serial = serial;
    return p1_assoc_send_spdu(a, cat0, &sp);
}

/* Send chunks while the window allows; after the last one, the activity end. */
static int pump(struct p1_assoc *a)
{
    while (a->tx_active && !a->tx_ended && !a->tx_discarding &&
           a->sess.vm - a->sess.va < (unsigned long)a->window) {
        size_t k = a->tx_total - a->tx_off;
        if (k > a->tx_chunk)
            k = a->tx_chunk;
        struct p1_chain c;
        p1_chain_init(&c);
        int rc = p1_chain_append_range(&c, &a->tx_src, a->tx_off, k);
        if (!rc && !p1_assoc_x410(a)) {
            rc = p1_rtse_prepend_rttr(&c);
            if (!rc)
                rc = p1_pres_prepend_td(&c, a->pc_rtse);
        }
        if (!rc)
            rc = p1_session_prepend_dt(&c);
        if (!rc)
            rc = p1_tpkt_data(&a->tpkt, &c, &a->out);
        p1_chain_free(&c);
        if (rc)
            return rc;
        a->tx_off += k;
        if (a->tx_off < a->tx_total) {
            rc = serial_spdu(a, P1_SI_GT, P1_SI_MIP, a->sess.vm++);
        } else {
            rc = serial_spdu(a, P1_SI_GT, P1_SI_AE, a->sess.vm);
            a->tx_ended = 1;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int p1_assoc_can_transfer(const struct p1_assoc *a)
{
    return a->state == P1_AS_OPEN && !a->tx_active && !a->rx_active &&
           (a->sess.tokens & P1_TOK_DATA);
}

int p1_assoc_transfer(struct p1_assoc *a, const uint8_t *apdu, size_t len)
{
    if (!p1_assoc_can_transfer(a) || len == 0)
        return MG_ESTATE;
    uint8_t h[24];
    size_t hl = p1_assoc_x410(a) ? 0 : p1_rtse_external_hdr(h, a->pc_mtse, len);
    p1_chain_reset(&a->tx_src);
    int rc = p1_chain_own(&a->tx_src, h, hl);
    if (!rc)
        rc = p1_chain_borrow(&a->tx_src, apdu, len);
    if (rc)
        return rc;
    a->tx_apdu = apdu;
    a->tx_len = len;
    a->tx_off = 0;
    a->tx_total = hl + len;
    /* Checkpoint size in KiB from the peer: no checkpoints when 0, or when so large that
     * the whole APDU fits anyway (no overflow). */
    a->tx_chunk = a->checkpoint > 0 && (unsigned long)a->checkpoint < a->tx_total / 1024 + 1
                      ? (size_t)a->checkpoint * 1024
                      : a->tx_total;
    /* Activity identifier: the activity number as a BER INTEGER, as RTSE implementations do. */
    uint8_t actid[6];
    unsigned long no = ++a->activity_no % 0x7fffff;
    size_t n = 0;
    actid[n++] = 0x02;
    if (no > 0x7fff) {
        actid[n++] = 3;
        actid[n++] = (uint8_t)(no >> 16);
    } else if (no > 0x7f) {
        actid[n++] = 2;
    } else {
        actid[n++] = 1;
    }
    if (no > 0x7f)
        actid[n++] = (uint8_t)(no >> 8);
    actid[n++] = (uint8_t)no;
    struct p1_spdu sp;
    memset(&sp, 0, sizeof sp);
    sp.si = P1_SI_AS;
    sp.actid = actid;
    sp.actid_len = n;
    rc = p1_assoc_send_spdu(a, P1_SI_GT, &sp);
    if (rc)
        return rc;
    a->sess.in_activity = 1;
    a->sess.vm = a->sess.va = 1;
    a->tx_active = 1;
    a->tx_ended = 0;
    return pump(a);
}

int p1_assoc_apdu_durable(struct p1_assoc *a)
{
    if (a->state != P1_AS_OPEN || !a->rx_wait_durable)
        return MG_ESTATE;
    int rc = serial_spdu(a, P1_SI_PT, P1_SI_AEA, a->rx_serial);
    a->rx_wait_durable = a->rx_active = 0;
    a->sess.in_activity = 0;
    p1_reasm_reset(&a->rx);
    return rc;
}

int p1_assoc_give_turn(struct p1_assoc *a)
{
    if (a->state != P1_AS_OPEN || a->tx_active || !(a->sess.tokens & P1_TOK_DATA))
        return MG_ESTATE;
    struct p1_spdu sp;
    memset(&sp, 0, sizeof sp);
    sp.si = P1_SI_GTC;
    int rc = p1_assoc_send_spdu(a, 0, &sp);
    if (!rc)
        a->sess.tokens = 0;
    return rc;
}

int p1_assoc_please_turn(struct p1_assoc *a, long priority)
{
    if (a->state != P1_AS_OPEN || (a->sess.tokens & P1_TOK_DATA))
        return MG_ESTATE;
    struct mg_buf v, ud;
    mg_buf_init(&v, 0);
    mg_buf_init(&ud, 0);
    int rc = p1_rtse_rttp(&v, priority);
    if (!rc && !p1_assoc_x410(a))
        rc = p1_pres_td(&ud, a->pc_rtse, v.data, v.len);
    else if (!rc)
        rc = mg_buf_append(&ud, v.data, v.len);
    if (!rc) {
        struct p1_spdu sp;
        memset(&sp, 0, sizeof sp);
        sp.si = P1_SI_PT;
        sp.has_tokens = 1;
        sp.tokens = P1_TOK_DATA;
        sp.has_ud = 1;
        sp.ud = ud.data;
        sp.ud_len = ud.len;
        rc = p1_assoc_send_spdu(a, 0, &sp);
    }
    mg_buf_free(&v);
    mg_buf_free(&ud);
    return rc;
}

int p1_assoc_release(struct p1_assoc *a)
{
    /* RT-CLOSE: the association-initiator only, holding the turn. */
    if (!a->cfg.initiator || a->state != P1_AS_OPEN || a->tx_active || a->rx_active ||
        !(a->sess.tokens & P1_TOK_RELEASE))
        return MG_ESTATE;
    struct mg_buf rl, ud;
    mg_buf_init(&rl, 0);
    mg_buf_init(&ud, 0);
    int rc = 0;
    if (!p1_assoc_x410(a)) {
        rc = p1_acse_rlrq(&rl);
        if (!rc)
            rc = p1_pres_td(&ud, a->pc_acse, rl.data, rl.len);
    }
    if (!rc) {
        struct p1_spdu sp;
        memset(&sp, 0, sizeof sp);
        sp.si = P1_SI_FN;
        sp.has_td = 1;
        sp.td = 0x01;
        sp.has_ud = ud.len > 0;
        sp.ud = ud.data;
        sp.ud_len = ud.len;
        rc = p1_assoc_send_spdu(a, 0, &sp);
    }
    mg_buf_free(&rl);
    mg_buf_free(&ud);
    if (!rc)
        a->state = P1_AS_WAIT_DN;
    return rc;
}

int p1_assoc_abort(struct p1_assoc *a, const char *reason)
{
    if (a->state == P1_AS_CLOSED)
        return MG_ESTATE;
    p1_assoc_send_abort(a, 0);
    p1_assoc_abort_ind(a, "%s", reason);
    return 0;
}

void p1_assoc_timeout(struct p1_assoc *a)
{
    if (a->state != P1_AS_CLOSED)
        (void)p1_assoc_abort(a, "timed out waiting for the peer");
}

static int on_release(struct p1_assoc *a, const struct p1_spdu *sp)
{
    const char *why = NULL;
    if (a->tx_active || a->rx_active)
        return p1_assoc_proto_fail(a, "release during a transfer");
    struct mg_buf rl, ud;
    mg_buf_init(&rl, 0);
    mg_buf_init(&ud, 0);
    int rc = 0;
    if (!p1_assoc_x410(a)) {
        struct p1_ppdu pp;
        struct p1_acse rq;
        if (!sp->has_ud || p1_pres_decode(P1_PPDU_TD, sp->ud, sp->ud_len, &pp, &why) ||
            pp.pdv[0].pcid != a->pc_acse ||
            p1_acse_decode(pp.pdv[0].v, pp.pdv[0].len, &rq, &why) || rq.type != P1_RLRQ) {
            mg_buf_free(&rl);
            mg_buf_free(&ud);
            return p1_assoc_proto_fail(a, why ? why : "FINISH without an RLRQ");
        }
        rc = p1_acse_rlre(&rl);
        if (!rc)
            rc = p1_pres_td(&ud, a->pc_acse, rl.data, rl.len);
    }
    if (!rc) {
        struct p1_spdu dn;
        memset(&dn, 0, sizeof dn);
        dn.si = P1_SI_DN;
        dn.has_ud = ud.len > 0;
        dn.ud = ud.data;
        dn.ud_len = ud.len;
        rc = p1_assoc_send_spdu(a, 0, &dn);
    }
    mg_buf_free(&rl);
    mg_buf_free(&ud);
    p1_assoc_push(a, P1_IND_RELEASED);
    a->state = P1_AS_CLOSED;
    return rc;
}

/* Why the peer aborted, from its AB user data when it has any. */
static void on_peer_abort(struct p1_assoc *a, const struct p1_spdu *sp)
{
    long reason = -1;
    if (sp->has_ud && !p1_assoc_x410(a)) {
        struct p1_ppdu pp;
        struct p1_acse ab;
        struct p1_rtse r;
        const char *why;
        if (p1_pres_decode_abort(sp->ud, sp->ud_len, &pp, &why) == 0 && pp.npdv == 1 &&
            p1_acse_decode(pp.pdv[0].v, pp.pdv[0].len, &ab, &why) == 0 && ab.ui &&
            p1_rtse_decode(ab.ui, ab.ui_len, &r, &why) == 0 && r.type == P1_RTAB)
            reason = r.reason;
    }
    p1_assoc_abort_ind(a, "peer aborted the association (session td=0x%02x, RTAB reason %ld)",
              sp->has_td ? sp->td : 0, reason);
}

/* RTTR or RTTP value in session user data (presentation user data in normal mode). */
static int user_value(struct p1_assoc *a, const struct p1_spdu *sp, const uint8_t **v, size_t *n)
{
    if (!sp->has_ud || sp->ud_len == 0)
        return MG_EPROTO;
    if (p1_assoc_x410(a)) {
        *v = sp->ud;
        *n = sp->ud_len;
        return 0;
    }
    struct p1_ppdu pp;
    const char *why;
    if (p1_pres_decode(P1_PPDU_TD, sp->ud, sp->ud_len, &pp, &why) || pp.npdv != 1 ||
        pp.pdv[0].pcid != a->pc_rtse)
        return MG_EPROTO;
    *v = pp.pdv[0].v;
    *n = pp.pdv[0].len;
    return 0;
}

static int on_activity_end(struct p1_assoc *a, const struct p1_spdu *sp)
{
    const uint8_t *apdu = a->rx.b.data;
    size_t len = a->rx.b.len;
    if (!p1_assoc_x410(a) && p1_rtse_external_value(apdu, len, &apdu, &len))
        return p1_assoc_proto_fail(a, "transferred data is not an EXTERNAL holding one APDU");
    struct p1_tlv t;
    if (len == 0 || p1_ber_read(apdu, len, &t) || t.total != len)
        return p1_assoc_proto_fail(a, "transferred APDU is not one BER value");
    a->rx_serial = sp->has_serial ? sp->serial : a->sess.vm;
    a->rx_wait_durable = 1;
    struct p1_ind *i = p1_assoc_push(a, P1_IND_APDU);
    i->apdu = apdu;
    i->apdu_len = len;
    return 0;
}

/* A category 2 SPDU that came after GT/PT. */
static int on_cat2(struct p1_assoc *a, const struct p1_spdu *sp)
{
    const uint8_t *v;
    size_t n;
    int rc;
    switch (sp->si) {
    case P1_SI_AS:
        if (a->rx_active || a->tx_active)
            return p1_assoc_proto_fail(a, "ACTIVITY START during an activity");
        a->rx_active = 1;
        a->sess.in_activity = 1;
        a->sess.vm = 1;
        p1_reasm_reset(&a->rx);
        return 0;
    case P1_SI_DT:
        if (!a->rx_active || a->rx_wait_durable)
            return p1_assoc_proto_fail(a, "DATA outside a transfer activity");
        if (user_value(a, sp, &v, &n))
            return p1_assoc_proto_fail(a, "DATA that is not one RTTR in the RTSE context");
        if (a->rx_failed)
            return 0; /* dropped until the sender's discard */
        rc = p1_assoc_x410(a) ? p1_reasm_append(&a->rx, v, n) : p1_rtse_rttr_collect(v, n, &a->rx);
        if (rc == MG_ETOOBIG) {
            /* Refuse this transfer, keep the association: exception report, then the
             * sender discards the activity. */
            struct p1_spdu ed;
            memset(&ed, 0, sizeof ed);
            ed.si = P1_SI_ED;
            ed.has_reason = 1;
            ed.reason = 0;
            a->rx_failed = 1;
            p1_reasm_reset(&a->rx);
            struct p1_ind *i = p1_assoc_push(a, P1_IND_TRANSFER_DISCARDED);
            snprintf(i->reason, sizeof i->reason,
                     "transferred APDU larger than the limit of %zu octets", a->cfg.max_apdu);
            return p1_assoc_send_spdu(a, P1_SI_PT, &ed);
        }
        if (rc)
            return p1_assoc_proto_fail(a, "malformed RTTR");
        return 0;
    case P1_SI_MIP:
        if (!a->rx_active || a->rx_wait_durable)
            return p1_assoc_proto_fail(a, "MINOR SYNC outside a transfer activity");
        a->sess.vm = (sp->has_serial ? sp->serial : a->sess.vm) + 1;
        /* RTSE confirms each checkpoint at once: the data is held, not yet acknowledged. */
        return serial_spdu(a, P1_SI_PT, P1_SI_MIA, sp->has_serial ? sp->serial : a->sess.vm - 1);
    case P1_SI_AE: /* also MAP: only activity end is used by RTSE */
        if (!a->rx_active || a->rx_wait_durable)
            return p1_assoc_proto_fail(a, "ACTIVITY END / MAJOR SYNC outside a transfer activity");
        if (a->rx_failed)
            return 0; /* the exception report crossed it: the discard follows */
        return on_activity_end(a, sp);
    case P1_SI_AD:
    case P1_SI_AI:
        if (!a->rx_active)
            return p1_assoc_proto_fail(a, "ACTIVITY DISCARD/INTERRUPT outside an activity");
        /* The sender gave up on this transfer: forget what arrived, confirm. */
        if (!a->rx_failed) {
            struct p1_ind *i = p1_assoc_push(a, P1_IND_TRANSFER_DISCARDED);
            snprintf(i->reason, sizeof i->reason, "the sender discarded the transfer");
        }
        a->rx_active = a->rx_wait_durable = a->rx_failed = 0;
        a->sess.in_activity = 0;
        p1_reasm_reset(&a->rx);
        {
            struct p1_spdu ack;
            memset(&ack, 0, sizeof ack);
            ack.si = sp->si == P1_SI_AD ? P1_SI_ADA : P1_SI_AIA;
            return p1_assoc_send_spdu(a, P1_SI_PT, &ack);
        }
    case P1_SI_MIA:
        if (!a->tx_active)
            return p1_assoc_proto_fail(a, "MINOR SYNC ACK without a transfer");
        if (a->tx_discarding)
            return 0;
        if (sp->has_serial && sp->serial + 1 > a->sess.va && sp->serial < a->sess.vm)
            a->sess.va = sp->serial + 1;
        return pump(a);
    case P1_SI_AEA:
        if (!a->tx_active || !a->tx_ended)
            return p1_assoc_proto_fail(a, "ACTIVITY END ACK without an activity end");
        if (a->tx_discarding)
            return 0;
        a->tx_active = a->tx_ended = 0;
        a->tx_apdu = NULL;
        a->sess.in_activity = 0;
        p1_chain_reset(&a->tx_src);
        p1_assoc_push(a, P1_IND_TRANSFER_CONFIRMED);
        return 0;
    case P1_SI_ADA: {
        if (!a->tx_discarding)
            return 0;
        struct p1_ind *i = p1_assoc_push(a, P1_IND_TRANSFER_REFUSED);
        snprintf(i->reason, sizeof i->reason,
                 "the peer reported an exception (reason %ld) and the transfer was discarded",
                 a->tx_exception);
        a->tx_active = a->tx_ended = a->tx_discarding = 0;
        a->tx_apdu = NULL;
        a->sess.in_activity = 0;
        p1_chain_reset(&a->tx_src);
        return 0;
    }
    case P1_SI_ED: {
        if (!a->tx_active)
            return p1_assoc_proto_fail(a, "exception report without a transfer");
        if (a->tx_discarding)
            return 0;
        /* The receiver cannot take this APDU: discard the activity. */
        struct p1_spdu ad;
        memset(&ad, 0, sizeof ad);
        ad.si = P1_SI_AD;
        ad.has_reason = 1;
        ad.reason = 0;
        a->tx_exception = sp->has_reason ? sp->reason : -1;
        a->tx_discarding = 1;
        return p1_assoc_send_spdu(a, P1_SI_GT, &ad);
    }
    default:
        return p1_assoc_proto_fail(a, "unexpected session SPDU in the data phase");
    }
}

static int on_open_tsdu(struct p1_assoc *a, const struct p1_spdu *sp, size_t count)
{
    if (count == 2)
        return on_cat2(a, &sp[1]);
    switch (sp[0].si) {
    case P1_SI_GT:
        if (sp[0].has_tokens && (sp[0].tokens & P1_TOK_DATA)) {
            a->sess.tokens |= sp[0].tokens;
            p1_assoc_push(a, P1_IND_TURN_RECEIVED);
        }
        return 0;
    case P1_SI_PT: {
        const uint8_t *v;
        size_t n;
        struct p1_rtse r;
        const char *why;
        struct p1_ind *i = p1_assoc_push(a, P1_IND_TURN_PLEASE);
        if (user_value(a, &sp[0], &v, &n) == 0 && p1_rtse_decode(v, n, &r, &why) == 0 &&
            r.type == P1_RTTP)
            i->priority = r.priority;
        return 0;
    }
    case P1_SI_GTC: {
        struct p1_spdu ack;
        memset(&ack, 0, sizeof ack);
        ack.si = P1_SI_GTA;
        a->sess.tokens = P1_TOK_ALL;
        p1_assoc_push(a, P1_IND_TURN_RECEIVED);
        return p1_assoc_send_spdu(a, 0, &ack);
    }
    case P1_SI_GTA:
        return 0;
    case P1_SI_FN:
        return on_release(a, &sp[0]);
    case P1_SI_AB:
        on_peer_abort(a, &sp[0]);
        return MG_ECLOSED;
    case P1_SI_AA:
        return 0;
    default:
        return p1_assoc_proto_fail(a, "unexpected session SPDU");
    }
}

static int on_tsdu(struct p1_assoc *a, const uint8_t *p, size_t n)
{
    struct p1_spdu sp[P1_SESSION_MAX_SPDUS];
    size_t count = 0;
    const char *why = NULL;
    if (p1_session_parse(p, n, sp, &count, &why))
        return p1_assoc_proto_fail(a, why);
    if (count == 1 && sp[0].si == P1_SI_AB && a->state != P1_AS_OPEN) {
        on_peer_abort(a, &sp[0]);
        return MG_ECLOSED;
    }
    switch (a->state) {
    case P1_AS_WAIT_CN:
        if (count != 1 || sp[0].si != P1_SI_CN)
            return p1_assoc_proto_fail(a, "expected a session CONNECT");
        return p1_assoc_bind_on_cn(a, &sp[0]);
    case P1_AS_WAIT_AC:
        if (count != 1 || (sp[0].si != P1_SI_AC && sp[0].si != P1_SI_RF))
            return p1_assoc_proto_fail(a, "expected a session ACCEPT or REFUSE");
        return p1_assoc_bind_on_ac_rf(a, &sp[0]);
    case P1_AS_OPEN:
        return on_open_tsdu(a, sp, count);
    case P1_AS_WAIT_DN:
        if (count == 1 && sp[0].si == P1_SI_DN) {
            p1_assoc_push(a, P1_IND_RELEASED);
            a->state = P1_AS_CLOSED;
            return 0;
        }
        return p1_assoc_proto_fail(a, "expected a session DISCONNECT");
    default:
        return p1_assoc_proto_fail(a, "session data in this state");
    }
}

int p1_assoc_input(struct p1_assoc *a, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        if (a->state == P1_AS_CLOSED)
            return 0; /* whatever follows an end is ignored */
        struct p1_tpkt_ind ind;
        size_t used = 0;
        int rc = p1_tpkt_input(&a->tpkt, p, len, &used, &ind);
        p += used;
        len -= used;
        if (rc) {
            const char *why = a->tpkt.why ? a->tpkt.why : "transport error";
            if (rc == MG_ETOOBIG) {
                p1_assoc_send_abort(a, 0);
                p1_assoc_abort_ind(a, "%s", why);
                return rc;
            }
            return p1_assoc_proto_fail(a, why);
        }
        switch (ind.type) {
        case P1_TPKT_NONE:
            break;
        case P1_TPKT_CONNECT:
            if (a->state != P1_AS_WAIT_CR)
                return p1_assoc_proto_fail(a, "unexpected transport CR");
            a->peer_tsel[0] = ind.calling;
            a->peer_tsel[1] = ind.called;
            if ((rc = p1_tpkt_accept(&a->tpkt, &ind, &a->out)) != 0)
                return rc;
            a->state = P1_AS_WAIT_CN;
            break;
        case P1_TPKT_CONFIRM:
            if (a->state != P1_AS_WAIT_CC)
                return p1_assoc_proto_fail(a, "unexpected transport CC");
            a->state = P1_AS_WAIT_AC;
            if ((rc = p1_assoc_bind_send_cn(a)) != 0)
                return rc;
            break;
        case P1_TPKT_DATA:
            rc = on_tsdu(a, ind.data, ind.len);
            if (rc)
                return rc;
            break;
        case P1_TPKT_DISCONNECT:
            p1_assoc_abort_ind(a, "transport disconnect from the peer (reason %d)", ind.reason);
            return MG_ECLOSED;
        case P1_TPKT_ERROR_PDU:
            p1_assoc_abort_ind(a, "transport error TPDU from the peer (cause %d)", ind.reason);
            return MG_EPROTO;
        }
    }
    return 0;
}
