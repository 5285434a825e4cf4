/* p1_assoc_bind: the connection phase of the P1 association machine (p1_assoc): the
 * initiator's CONNECT (CP/AARQ/RTORQ or PConnect with the bind argument), the responder's
 * reading of it and its answer (accept: AC with the bind result; refuse: RF with the bind
 * error), and the initiator's reading of that answer. */
#include <stdio.h>
#include <string.h>

#include "mg_err.h"
#include "p1_acse.h"
#include "p1_assoc.h"
#include "p1_assoc_int.h"
#include "p1_ber.h"

int p1_assoc_bind_send_cn(struct p1_assoc *a)
{
    struct mg_buf bind, rt, acse, ud;
    mg_buf_init(&bind, 0);
    mg_buf_init(&rt, 0);
    mg_buf_init(&acse, 0);
    mg_buf_init(&ud, 0);
    int rc = p1_bind_encode(&bind, 16, !p1_assoc_x410(a), &a->cfg.bind);
    if (!rc)
        rc = p1_rtse_rtorq(&rt, p1_assoc_x410(a), a->cfg.checkpoint_kib, a->cfg.window, a->cfg.dialogue,
                           a->mode == P1_MODE_1984 ? P1_APP_PROTOCOL_1984 : P1_APP_PROTOCOL_1988,
                           bind.data, bind.len);
    if (!rc && !p1_assoc_x410(a)) {
        rc = p1_acse_aarq(&acse, P1_PCTX_RTSE, rt.data, rt.len);
        if (!rc)
            rc = p1_pres_cp(&ud, &a->cfg.calling_psel, &a->cfg.called_psel, acse.data, acse.len);
    } else if (!rc) {
        rc = mg_buf_append(&ud, rt.data, rt.len);
    }
    if (!rc) {
        struct p1_spdu sp;
        p1_session_cn_fields(&sp, &a->cfg.calling_ssel, &a->cfg.called_ssel);
        sp.has_ud = 1;
        sp.ud = ud.data;
        sp.ud_len = ud.len;
        rc = p1_assoc_send_spdu(a, 0, &sp);
    }
    mg_buf_free(&bind);
    mg_buf_free(&rt);
    mg_buf_free(&acse);
    mg_buf_free(&ud);
    return rc;
}

/* Responder: a CONNECT SPDU. */
int p1_assoc_bind_on_cn(struct p1_assoc *a, const struct p1_spdu *sp)
{
    const char *why = NULL;
    if (sp->has_overflow)
        return p1_assoc_proto_fail(a, "CONNECT with data overflow (CDO) is not supported");
    uint16_t req = sp->has_req ? sp->requirements : P1_SUR_DUPLEX;
    uint16_t need = P1_SUR_HALF_DUPLEX | P1_SUR_MINOR_SYNC | P1_SUR_ACTIVITY;
    if ((req & need) != need)
        return p1_assoc_proto_fail(a, "session requirements lack half duplex, minor sync or activities");
    if (!sp->has_ud)
        return p1_assoc_proto_fail(a, "CONNECT without user data");
    struct p1_tlv top, first;
    size_t off = 0;
    if (p1_ber_read(sp->ud, sp->ud_len, &top) || p1_ber_next(&top, &off, &first) != 1)
        return p1_assoc_proto_fail(a, "CONNECT user data is not BER");
    struct p1_rtse rq;
    /* The mode selector says which: normal mode (1) is a CP, X.410-1984 mode (0) is
     * PConnect; a bare [0] 0 (the other PConnect form) is X.410 too. */
    struct p1_tlv mv;
    long mode_value = 0;
    if (first.id == 0xa0 && p1_ber_find(&first, 0x80, &mv) == 1)
        (void)p1_ber_int(&mv, &mode_value);
    if (first.id == 0xa0 && mode_value == 1) {
        a->mode = P1_MODE_1988_NORMAL;
        if (p1_pres_decode(P1_PPDU_CP, sp->ud, sp->ud_len, &a->cp, &why))
            return p1_assoc_proto_fail(a, why);
        a->pc_acse = p1_pres_ctx_of(&a->cp, P1_ASN_ACSE);
        a->pc_rtse = p1_pres_ctx_of(&a->cp, P1_ASN_RTSE);
        a->pc_mtse = p1_pres_ctx_of(&a->cp, P1_ASN_MTSE);
        if (a->pc_acse < 0 || a->pc_rtse < 0 || a->pc_mtse < 0)
            return p1_assoc_proto_fail(a, "CP lacks the ACSE, RTSE or MTSE context with BER");
        struct p1_acse aarq;
        if (a->cp.npdv != 1 || a->cp.pdv[0].pcid != a->pc_acse)
            return p1_assoc_proto_fail(a, "CP user data is not one ACSE PDV");
        if (p1_acse_decode(a->cp.pdv[0].v, a->cp.pdv[0].len, &aarq, &why))
            return p1_assoc_proto_fail(a, why);
        if (aarq.type != P1_AARQ || !aarq.mts_transfer)
            return p1_assoc_proto_fail(a, "AARQ without the MTS-transfer application context");
        if (!aarq.ui || aarq.ui_pcid != a->pc_rtse)
            return p1_assoc_proto_fail(a, "AARQ without an RTORQ");
        if (p1_rtse_decode(aarq.ui, aarq.ui_len, &rq, &why))
            return p1_assoc_proto_fail(a, why);
        if (rq.type != P1_RTORQ)
            return p1_assoc_proto_fail(a, "AARQ user information is not an RTORQ");
    } else {
        if (p1_rtse_decode_x410(P1_RTORQ, sp->ud, sp->ud_len, &rq, &why))
            return p1_assoc_proto_fail(a, why);
        a->mode = rq.app_protocol == P1_APP_PROTOCOL_1984 ? P1_MODE_1984 : P1_MODE_1988_X410;
    }
    a->sess.requirements = req & P1_SUR_RTSE;
    a->checkpoint = rq.checkpoint;
    if (a->cfg.checkpoint_kib > 0 && (a->checkpoint == 0 || a->checkpoint > a->cfg.checkpoint_kib))
        a->checkpoint = rq.checkpoint == 0 ? 0 : a->cfg.checkpoint_kib;
    a->window = rq.window < a->cfg.window ? rq.window : a->cfg.window;
    a->dialogue = rq.dialogue;
    a->state = P1_AS_WAIT_BIND_ANSWER;
    if (rq.recover) {
        /* Recovery of an interrupted transfer is not offered: refuse as RTSE says. */
        return p1_assoc_bind_refuse(a, -2);
    }
    struct p1_ind *i = p1_assoc_push(a, P1_IND_BIND_REQUEST);
    if (p1_bind_decode(rq.data, rq.len, &i->bind, &why)) {
        a->ind_count--;
        return p1_assoc_proto_fail(a, why);
    }
    i->checkpoint = a->checkpoint;
    i->window = a->window;
    i->dialogue = a->dialogue;
    i->calling_tsel = a->peer_tsel[0];
    i->called_tsel = a->peer_tsel[1];
    i->calling_ssel = sp->calling_ssel;
    i->called_ssel = sp->called_ssel;
    if (a->mode == P1_MODE_1988_NORMAL) {
        i->calling_psel = a->cp.calling;
        i->called_psel = a->cp.called;
    }
    return 0;
}

int p1_assoc_bind_accept(struct p1_assoc *a, const struct p1_bind *ours)
{
    if (a->state != P1_AS_WAIT_BIND_ANSWER)
        return MG_ESTATE;
    struct mg_buf bind, rt, acse, ud;
    mg_buf_init(&bind, 0);
    mg_buf_init(&rt, 0);
    mg_buf_init(&acse, 0);
    mg_buf_init(&ud, 0);
    int rc = p1_bind_encode(&bind, 17, !p1_assoc_x410(a), ours);
    if (!rc)
        rc = p1_rtse_rtoac(&rt, p1_assoc_x410(a), a->checkpoint, a->window, bind.data, bind.len);
    if (!rc && !p1_assoc_x410(a)) {
        rc = p1_acse_aare(&acse, 0, 0, a->pc_rtse, rt.data, rt.len);
        if (!rc)
            rc = p1_pres_cpa(&ud, &a->cp, &a->cfg.called_psel, acse.data, acse.len);
    } else if (!rc) {
        rc = mg_buf_append(&ud, rt.data, rt.len);
    }
    if (!rc) {
        struct p1_spdu sp;
        p1_session_ac_fields(&sp, a->sess.requirements, &a->cfg.called_ssel);
        sp.has_ud = 1;
        sp.ud = ud.data;
        sp.ud_len = ud.len;
        rc = p1_assoc_send_spdu(a, 0, &sp);
    }
    mg_buf_free(&bind);
    mg_buf_free(&rt);
    mg_buf_free(&acse);
    mg_buf_free(&ud);
    if (rc)
        return rc;
    p1_session_connected(&a->sess, a->sess.requirements);
    a->state = P1_AS_OPEN;
    return 0;
}

/* bind_error -2: refuse a recovery (RTORJ cannotRecover, no bind error). */
int p1_assoc_bind_refuse(struct p1_assoc *a, long bind_error)
{
    if (a->state != P1_AS_WAIT_BIND_ANSWER)
        return MG_ESTATE;
    struct mg_buf err, rt, acse, ud;
    mg_buf_init(&err, 0);
    mg_buf_init(&rt, 0);
    mg_buf_init(&acse, 0);
    mg_buf_init(&ud, 0);
    int rc = 0;
    if (p1_assoc_x410(a)) {
        long reason = bind_error == -2 ? P1_RTS_CANNOT_RECOVER
                      : bind_error == P1_BIND_ERR_BUSY ? P1_RTS_BUSY
                      : bind_error == P1_BIND_ERR_UNACCEPTABLE_DIALOGUE_MODE
                          ? P1_RTS_UNACCEPTABLE_DIALOGUE_MODE
                          : P1_RTS_VALIDATION_FAILURE;
        /* 1988 in X.410 mode also says which bind error (RTORJ's userDataRJ, as PRefuse
         * is the same SET); a 1984 PRefuse has the reason only. */
        if (bind_error >= 0 && a->mode == P1_MODE_1988_X410)
            rc = p1_bind_error_encode(&err, 0, bind_error);
        if (!rc)
            rc = p1_rtse_rtorj(&ud, 1, reason, err.len ? err.data : NULL, err.len);
    } else {
        if (bind_error >= 0)
            rc = p1_bind_error_encode(&err, 1, bind_error);
        if (!rc)
            rc = p1_rtse_rtorj(&rt, 0, bind_error == -2 ? P1_RTS_CANNOT_RECOVER : -1,
                               bind_error >= 0 ? err.data : NULL, err.len);
        if (!rc)
            rc = p1_acse_aare(&acse, 1, 1, a->pc_rtse, rt.data, rt.len);
        if (!rc)
            rc = p1_pres_cpr(&ud, &a->cp, acse.data, acse.len);
    }
    if (!rc) {
        struct p1_spdu sp;
        memset(&sp, 0, sizeof sp);
        sp.si = P1_SI_RF;
        sp.has_td = 1;
        sp.td = 0x01;
        sp.has_req = 1;
        sp.requirements = a->sess.requirements;
        sp.has_reason = 1;
        sp.reason = 2; /* rejection by the called SS-user, with user data */
        sp.has_ud = 1;
        sp.ud = ud.data;
        sp.ud_len = ud.len;
        rc = p1_assoc_send_spdu(a, 0, &sp);
    }
    mg_buf_free(&err);
    mg_buf_free(&rt);
    mg_buf_free(&acse);
    mg_buf_free(&ud);
    a->state = P1_AS_CLOSED;
    return rc;
}

/* Initiator: ACCEPT or REFUSE. */
int p1_assoc_bind_on_ac_rf(struct p1_assoc *a, const struct p1_spdu *sp)
{
    const char *why = NULL;
    struct p1_rtse r;
    int refused = sp->si == P1_SI_RF;
    if (!sp->has_ud) {
        if (refused) {
            p1_assoc_abort_ind(a, "session connection refused (reason %d)", sp->has_reason ? sp->reason : -1);
            return MG_EPROTO;
        }
        return p1_assoc_proto_fail(a, "ACCEPT without user data");
    }
    if (!p1_assoc_x410(a)) {
        struct p1_ppdu pp;
        if (p1_pres_decode(refused ? P1_PPDU_CPR : P1_PPDU_CPA, sp->ud, sp->ud_len, &pp, &why))
            return p1_assoc_proto_fail(a, why);
        if (pp.npdv != 1 || pp.pdv[0].pcid != P1_PCTX_ACSE)
            return p1_assoc_proto_fail(a, "CPA/CPR user data is not one ACSE PDV");
        for (size_t i = 0; !refused && i < pp.nctx; i++)
            if (pp.ctx[i].result != 0)
                return p1_assoc_proto_fail(a, "the peer rejected a presentation context");
        struct p1_acse aare;
        if (p1_acse_decode(pp.pdv[0].v, pp.pdv[0].len, &aare, &why))
            return p1_assoc_proto_fail(a, why);
        if (aare.type != P1_AARE || !aare.ui || aare.ui_pcid != P1_PCTX_RTSE)
            return p1_assoc_proto_fail(a, "AARE without RTSE user information");
        if (p1_rtse_decode(aare.ui, aare.ui_len, &r, &why))
            return p1_assoc_proto_fail(a, why);
        if ((refused || aare.result != 0) != (r.type == P1_RTORJ))
            return p1_assoc_proto_fail(a, "AARE result and RTSE APDU disagree");
    } else if (p1_rtse_decode_x410(refused ? P1_RTORJ : P1_RTOAC, sp->ud, sp->ud_len, &r, &why)) {
        return p1_assoc_proto_fail(a, why);
    }
    struct p1_ind *i = p1_assoc_push(a, P1_IND_BIND_RESULT);
    if (r.type == P1_RTORJ) {
        i->accepted = 0;
        if (r.data)
            (void)p1_bind_error_decode(r.data, r.len, &i->bind_error);
        else if (r.reason == P1_RTS_VALIDATION_FAILURE)
            i->bind_error = P1_BIND_ERR_AUTHENTICATION;
        else if (r.reason == P1_RTS_BUSY)
            i->bind_error = P1_BIND_ERR_BUSY;
        else if (r.reason == P1_RTS_UNACCEPTABLE_DIALOGUE_MODE)
            i->bind_error = P1_BIND_ERR_UNACCEPTABLE_DIALOGUE_MODE;
        if (i->bind_error < 0 && r.reason == P1_RTS_CANNOT_RECOVER)
            snprintf(i->reason, sizeof i->reason, "recovery refused (cannotRecover)");
        else
            snprintf(i->reason, sizeof i->reason, "bind refused: %s",
                     p1_bind_error_name(i->bind_error));
        a->state = P1_AS_CLOSED;
        return 0;
    }
    if (p1_bind_decode(r.data, r.len, &i->bind, &why)) {
        a->ind_count--;
        return p1_assoc_proto_fail(a, why);
    }
    int bad = p1_bind_check(&i->bind, a->cfg.expect_name, a->cfg.expect_password, &why);
    if (bad) {
        a->ind_count--;
        a->state = P1_AS_OPEN;
        p1_assoc_send_abort(a, 0);
        p1_assoc_abort_ind(a, "responder failed authentication: %s", why);
        return MG_EDENIED;
    }
    a->checkpoint = r.checkpoint;
    a->window = r.window;
    a->dialogue = a->cfg.dialogue;
    i->accepted = 1;
    i->checkpoint = a->checkpoint;
    i->window = a->window;
    i->dialogue = a->dialogue;
    p1_session_connected(&a->sess, sp->has_req ? sp->requirements : P1_SUR_RTSE);
    a->state = P1_AS_OPEN;
    return 0;
}

