/* Each layer of the P1 stack on the real captures (../shared/vectors/x400: the TPKT streams
 * of three associations and the PDUs cut from them) and on round trips of what it encodes.
 * The presentation, ACSE, RTSE and bind decoders are also checked against the asn1c codecs
 * (mg_asn1), an independent decoder of our encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mg_asn1.h"
#include "mg_err.h"
#include "p1_acse.h"
#include "p1_ber.h"
#include "p1_bind.h"
#include "p1_pres.h"
#include "p1_rtse.h"
#include "p1_session.h"
#include "p1_test_util.h"
#include "p1_tpkt.h"

#define SKIP_WITHOUT(buf, rel)                                                                  \
    do {                                                                                        \
        if (ptu_vector(rel, buf))                                                               \
            skip();                                                                             \
    } while (0)

/* ---- TPKT / COTP ---- */

struct stream_case {
    const char *name, *file;
    int responder_side;     /* the file is what a responder sent (CC first) */
    size_t tsdus;           /* complete TSDUs in it */
    size_t first_tsdu_len;
};

static const struct stream_case streams[] = {
    {"ping-success-initiator", "streams/wsample-ping-success-initiator.tpkt", 0, 2, 198},
    {"ping-success-responder", "streams/wsample-ping-success-responder.tpkt", 1, 2, 179},
    {"ping-refuse-initiator", "streams/wsample-ping-refuse-initiator.tpkt", 0, 1, 188},
    {"ping-refuse-responder", "streams/wsample-ping-refuse-responder.tpkt", 1, 1, 127},
    {"p772-initiator", "streams/wsample-p772-transfer-initiator.tpkt", 0, 5, 198},
    {"p772-responder", "streams/wsample-p772-transfer-responder.tpkt", 1, 3, 179},
};

/* Feed a stream in chunks of `chunk` octets; count TSDUs, check the connect TPDU. */
static void feed_stream(const struct stream_case *c, size_t chunk)
{
    struct mg_buf s;
    SKIP_WITHOUT(&s, c->file);
    struct p1_tpkt t;
    p1_tpkt_init(&t, c->responder_side, 1u << 20, 0);
    size_t tsdus = 0, first = 0, off = 0;
    int connect = 0;
    while (off < s.len) {
        size_t n = s.len - off < chunk ? s.len - off : chunk, used = 0;
        while (n > 0) {
            struct p1_tpkt_ind ind;
            int rc = p1_tpkt_input(&t, s.data + off, n, &used, &ind);
            assert_int_equal(rc, 0);
            off += used;
            n -= used;
            if (ind.type == P1_TPKT_CONNECT) {
                connect = 1;
                assert_int_equal(ind.called.len, 7);
                assert_memory_equal(ind.called.v, "X400-88", 7);
                assert_memory_equal(ind.calling.v, "X400-88", 7);
                t.connected = 1; /* as if we had accepted */
            } else if (ind.type == P1_TPKT_CONFIRM) {
                connect = 1;
            } else if (ind.type == P1_TPKT_DATA) {
                if (tsdus++ == 0)
                    first = ind.len;
            }
            if (used == 0 && ind.type == P1_TPKT_NONE)
                break;
        }
    }
    assert_true(connect);
    assert_int_equal(tsdus, c->tsdus);
    assert_int_equal(first, c->first_tsdu_len);
    p1_tpkt_free(&t);
    mg_buf_free(&s);
}

static void tpkt_real_streams(void **state)
{
    (void)state;
    static const size_t chunks[] = {1, 3, 7, 100, 1 << 20};
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++)
        for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++)
            feed_stream(&streams[i], chunks[k]);
}

/* Our segmentation: a TSDU of n octets sent with a TPDU size, read back whole. */
static void tpkt_segmentation_roundtrip(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned tpdu;
        size_t n;
    } cases[] = {{"one-octet", 128, 1}, {"exactly-one-tpdu", 128, 125}, {"one-more", 128, 126},
                 {"many-128", 128, 5000}, {"many-2048", 2048, 100000}, {"8192", 8192, 70000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct p1_tpkt tx, rx;
        p1_tpkt_init(&tx, 1, 0, cases[i].tpdu);
        p1_tpkt_init(&rx, 0, 1u << 20, cases[i].tpdu);
        tx.tpdu_size = cases[i].tpdu;
        rx.connected = 1;
        struct mg_buf payload, wire;
        mg_buf_init(&payload, 0);
        mg_buf_init(&wire, 0);
        for (size_t k = 0; k < cases[i].n; k++)
            mg_buf_append(&payload, &(uint8_t){(uint8_t)(k * 13)}, 1);
        struct p1_chain tsdu, out;
        p1_chain_init(&tsdu);
        p1_chain_init(&out);
        p1_chain_borrow(&tsdu, payload.data, payload.len);
        assert_int_equal(p1_tpkt_data(&tx, &tsdu, &out), 0);
        size_t expect_tpdus = (cases[i].n + cases[i].tpdu - 4) / (cases[i].tpdu - 3);
        assert_int_equal(out.total, cases[i].n + 7 * expect_tpdus);
        p1_chain_drain(&out, &wire);
        size_t used;
        struct p1_tpkt_ind ind;
        assert_int_equal(p1_tpkt_input(&rx, wire.data, wire.len, &used, &ind), 0);
        if (ind.type != P1_TPKT_DATA)
            fail_msg("%s: no TSDU", cases[i].name);
        assert_int_equal(used, wire.len);
        assert_int_equal(ind.len, cases[i].n);
        assert_memory_equal(ind.data, payload.data, cases[i].n);
        p1_chain_free(&tsdu);
        p1_chain_free(&out);
        mg_buf_free(&payload);
        mg_buf_free(&wire);
        p1_tpkt_free(&tx);
        p1_tpkt_free(&rx);
    }
}

/* Bad bytes end in an error, never a crash; an oversized TSDU is MG_ETOOBIG. */
static void tpkt_errors(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *hex;
        int connected, rc;
    } cases[] = {
        {"not-version-3", "04000007 02f080", 0, MG_EPROTO},
        {"tpkt-too-short", "03000005 02", 0, MG_EPROTO},
        {"li-overruns", "03000008 09f08000", 1, MG_EPROTO},
        {"dt-before-connect", "03000008 02f08001", 0, MG_EPROTO},
        {"class-2-cr", "0300000b 06e00000000120", 0, MG_EPROTO},
        {"tsel-overruns", "0300000d 08e0000000010000c105", 0, MG_EPROTO},
        {"bad-size-param", "0300000e 09e000000001 00c00103", 0, MG_EPROTO},
        {"unknown-tpdu", "03000007 02a080", 1, MG_EPROTO},
        {"tsdu-over-limit", "03000010 02f080 000102030405060708", 1, MG_ETOOBIG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[64];
        size_t n = 0;
        for (const char *h = cases[i].hex; *h;) {
            if (*h == ' ') {
                h++;
                continue;
            }
            unsigned v;
            sscanf(h, "%2x", &v);
            b[n++] = (uint8_t)v;
            h += 2;
        }
        struct p1_tpkt t;
        p1_tpkt_init(&t, 0, 8, 0);
        t.connected = cases[i].connected;
        struct p1_tpkt_ind ind;
        size_t used;
        int rc = p1_tpkt_input(&t, b, n, &used, &ind);
        if (rc != cases[i].rc)
            fail_msg("%s: rc %d, want %d", cases[i].name, rc, cases[i].rc);
        assert_non_null(t.why);
        p1_tpkt_free(&t);
    }
}

/* ---- session ---- */

/* The TSDUs of a stream (test helper). */
static size_t tsdus_of(const struct mg_buf *s, int responder_side, struct mg_buf *out, size_t max)
{
    struct p1_tpkt t;
    p1_tpkt_init(&t, responder_side, 1u << 20, 0);
    size_t off = 0, k = 0;
    while (off < s->len && k < max) {
        struct p1_tpkt_ind ind;
        size_t used;
        assert_int_equal(p1_tpkt_input(&t, s->data + off, s->len - off, &used, &ind), 0);
        off += used;
        if (ind.type == P1_TPKT_CONNECT)
            t.connected = 1;
        if (ind.type == P1_TPKT_DATA) {
            mg_buf_init(&out[k], 0);
            mg_buf_append(&out[k++], ind.data, ind.len);
        }
    }
    p1_tpkt_free(&t);
    return k;
}

static void session_real_spdus(void **state)
{
    (void)state;
    struct mg_buf ini, rsp, ti[8], tr[8];
    SKIP_WITHOUT(&ini, "streams/wsample-p772-transfer-initiator.tpkt");
    SKIP_WITHOUT(&rsp, "streams/wsample-p772-transfer-responder.tpkt");
    size_t ni = tsdus_of(&ini, 0, ti, 8), nr = tsdus_of(&rsp, 1, tr, 8);
    assert_int_equal(ni, 5);
    assert_int_equal(nr, 3);
    static const struct {
        const char *name;
        int from_responder;
        size_t idx, count;
        uint8_t si;            /* of the last SPDU */
        long serial;           /* -1: none */
        size_t ud_len;
    } cases[] = {
        {"CN", 0, 0, 1, P1_SI_CN, -1, 148},
        {"GT+AS", 0, 1, 2, P1_SI_AS, -1, 0},
        {"GT+DT", 0, 2, 2, P1_SI_DT, -1, 803},
        {"GT+AE", 0, 3, 2, P1_SI_AE, 1, 0},
        {"FN", 0, 4, 1, P1_SI_FN, -1, 14},
        {"AC", 1, 0, 1, P1_SI_AC, -1, 127},
        {"PT+AEA", 1, 1, 2, P1_SI_AEA, 1, 0},
        {"DN", 1, 2, 1, P1_SI_DN, -1, 14},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct mg_buf *t = cases[i].from_responder ? &tr[cases[i].idx] : &ti[cases[i].idx];
        struct p1_spdu sp[P1_SESSION_MAX_SPDUS];
        size_t count;
        const char *why = NULL;
        if (p1_session_parse(t->data, t->len, sp, &count, &why))
            fail_msg("%s: %s", cases[i].name, why);
        assert_int_equal(count, cases[i].count);
        const struct p1_spdu *s = &sp[count - 1];
        assert_int_equal(s->si, cases[i].si);
        if (cases[i].serial >= 0) {
            assert_true(s->has_serial);
            assert_int_equal(s->serial, cases[i].serial);
        }
        assert_int_equal(s->ud_len, cases[i].ud_len);
        if (cases[i].si == P1_SI_CN || cases[i].si == P1_SI_AC) {
            assert_int_equal(s->requirements, 0x0249);
            assert_int_equal(s->version, 2);
        }
        if (cases[i].si == P1_SI_AS) {
            assert_int_equal(s->actid_len, 3);
            assert_memory_equal(s->actid, "\x02\x01\x01", 3);
        }
    }
    for (size_t i = 0; i < ni; i++)
        mg_buf_free(&ti[i]);
    for (size_t i = 0; i < nr; i++)
        mg_buf_free(&tr[i]);
    mg_buf_free(&ini);
    mg_buf_free(&rsp);
}

static void session_refuse_spdu(void **state)
{
    (void)state;
    struct mg_buf rsp, tr[2];
    SKIP_WITHOUT(&rsp, "streams/wsample-ping-refuse-responder.tpkt");
    assert_int_equal(tsdus_of(&rsp, 1, tr, 2), 1);
    struct p1_spdu sp[P1_SESSION_MAX_SPDUS];
    size_t count;
    const char *why;
    assert_int_equal(p1_session_parse(tr[0].data, tr[0].len, sp, &count, &why), 0);
    assert_int_equal(sp[0].si, P1_SI_RF);
    assert_int_equal(sp[0].reason, 2);
    assert_int_equal(sp[0].td, 1);
    assert_int_equal(sp[0].ud_len, 84); /* the CPR */
    mg_buf_free(&tr[0]);
    mg_buf_free(&rsp);
}

/* Our SPDUs parse back to the fields we set. */
static void session_roundtrip(void **state)
{
    (void)state;
    static uint8_t big[P1_SESSION_EXT_UD_MAX];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    static const struct {
        const char *name;
        uint8_t si, cat0;
        int serial;
        size_t ud;
    } cases[] = {
        {"CN-small", P1_SI_CN, 0, -1, 100}, {"CN-extended-user-data", P1_SI_CN, 0, -1, 5000},
        {"CN-max-extended", P1_SI_CN, 0, -1, P1_SESSION_EXT_UD_MAX}, {"AC", P1_SI_AC, 0, -1, 300},
        {"FN", P1_SI_FN, 0, -1, 14}, {"DN", P1_SI_DN, 0, -1, 14}, {"AB", P1_SI_AB, 0, -1, 0},
        {"GT+MIP", P1_SI_MIP, P1_SI_GT, 7, 0}, {"PT+MIA", P1_SI_MIA, P1_SI_PT, 7, 0},
        {"GT+AE", P1_SI_AE, P1_SI_GT, 123456, 0}, {"PT+AEA", P1_SI_AEA, P1_SI_PT, 99, 0},
        {"GT+AS", P1_SI_AS, P1_SI_GT, -1, 0}, {"GT+AD", P1_SI_AD, P1_SI_GT, -1, 0},
        {"GTC", P1_SI_GTC, 0, -1, 0}, {"GTA", P1_SI_GTA, 0, -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct p1_spdu sp;
        if (cases[i].si == P1_SI_CN)
            p1_session_cn_fields(&sp, &(struct p1_sel){3, "abc"}, &(struct p1_sel){2, "xy"});
        else if (cases[i].si == P1_SI_AC)
            p1_session_ac_fields(&sp, P1_SUR_RTSE, NULL);
        else {
            memset(&sp, 0, sizeof sp);
            sp.si = cases[i].si;
        }
        if (cases[i].serial >= 0) {
            sp.has_serial = 1;
            sp.serial = (unsigned long)cases[i].serial;
        }
        if (cases[i].si == P1_SI_AS) {
            sp.actid = (const uint8_t *)"\x02\x01\x05";
            sp.actid_len = 3;
        }
        if (cases[i].ud) {
            sp.has_ud = 1;
            sp.ud = big;
            sp.ud_len = cases[i].ud;
        }
        struct mg_buf b;
        mg_buf_init(&b, 0);
        if (cases[i].cat0)
            mg_buf_append(&b, (uint8_t[]){cases[i].cat0, 0}, 2);
        assert_int_equal(p1_session_encode(&b, &sp), 0);
        struct p1_spdu back[P1_SESSION_MAX_SPDUS];
        size_t count;
        const char *why = NULL;
        if (p1_session_parse(b.data, b.len, back, &count, &why))
            fail_msg("%s: %s", cases[i].name, why);
        const struct p1_spdu *s = &back[count - 1];
        assert_int_equal(count, cases[i].cat0 ? 2 : 1);
        assert_int_equal(s->si, cases[i].si);
        assert_int_equal(s->ud_len, cases[i].ud);
        if (cases[i].ud)
            assert_memory_equal(s->ud, big, cases[i].ud);
        if (cases[i].serial >= 0)
            assert_int_equal(s->serial, (unsigned long)cases[i].serial);
        if (cases[i].si == P1_SI_CN) {
            assert_int_equal(s->requirements, P1_SUR_RTSE);
            assert_int_equal(s->calling_ssel.len, 3);
            assert_int_equal(s->called_ssel.len, 2);
        }
        mg_buf_free(&b);
    }
    /* Too much for a CONNECT: refused, not truncated. */
    struct p1_spdu sp;
    p1_session_cn_fields(&sp, NULL, NULL);
    sp.has_ud = 1;
    sp.ud = big;
    sp.ud_len = sizeof big + 1;
    struct mg_buf b;
    mg_buf_init(&b, 0);
    assert_int_equal(p1_session_encode(&b, &sp), MG_ETOOBIG);
    mg_buf_free(&b);
}

static void session_errors(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t n;
        uint8_t b[12];
    } cases[] = {
        {"empty", 0, {0}},
        {"li-overruns", 3, {13, 9, 1}},
        {"param-overruns", 4, {13, 2, 20, 5}},
        {"bad-serial", 9, {1, 0, 41, 3, 42, 1, 'x'}},
        {"long-li-truncated", 3, {13, 0xff, 1}},
        {"after-category-1", 4, {9, 0, 9, 0}},
        {"nested-group", 8, {13, 6, 1, 4, 1, 2, 0, 0}},
        {"sync-type-length", 6, {1, 0, 49, 4, 15, 2}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct p1_spdu sp[P1_SESSION_MAX_SPDUS];
        size_t count;
        const char *why = NULL;
        if (p1_session_parse(cases[i].b, cases[i].n, sp, &count, &why) != MG_EPROTO)
            fail_msg("%s: accepted", cases[i].name);
        assert_non_null(why);
    }
}

/* ---- presentation ---- */

static void pres_real_ppdus(void **state)
{
    (void)state;
    static const struct {
        const char *name, *file;
        enum p1_ppdu_type type;
        size_t nctx;
        long pdv_pcid;
        size_t pdv_len;
    } cases[] = {
        {"CP", "ber/wsample-pres-CP-ppdu-aarq-rtorq-bind.ber", P1_PPDU_CP, 3, 1, 73},
        {"CPA", "ber/wsample-pres-CPA-ppdu-aare-rtoac.ber", P1_PPDU_CPA, 3, 1, 80},
        {"CPR", "ber/wsample-pres-CPR-ppdu-aare-reject-rtorj.ber", P1_PPDU_CPR, 3, 1, 44},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mg_buf v;
        SKIP_WITHOUT(&v, cases[i].file);
        struct p1_ppdu pp;
        const char *why = NULL;
        if (p1_pres_decode(cases[i].type, v.data, v.len, &pp, &why))
            fail_msg("%s: %s", cases[i].name, why);
        assert_int_equal(pp.nctx, cases[i].nctx);
        assert_int_equal(pp.npdv, 1);
        assert_int_equal(pp.pdv[0].pcid, cases[i].pdv_pcid);
        assert_int_equal(pp.pdv[0].len, cases[i].pdv_len);
        if (cases[i].type == P1_PPDU_CP) {
            assert_int_equal(p1_pres_ctx_of(&pp, P1_ASN_ACSE), 1);
            assert_int_equal(p1_pres_ctx_of(&pp, P1_ASN_RTSE), 3);
            assert_int_equal(p1_pres_ctx_of(&pp, P1_ASN_MTSE), 5);
        } else {
            for (size_t k = 0; k < pp.nctx; k++) {
                assert_int_equal(pp.ctx[k].result, 0);
                assert_true(pp.ctx[k].ber);
            }
        }
        mg_buf_free(&v);
    }
}

/* Our CP/CPA/CPR decode with ours and with asn1c's decoder (mg_asn1). */
static void pres_roundtrip(void **state)
{
    (void)state;
    static const uint8_t acse[] = {0x62, 0x03, 0x80, 0x01, 0x00};
    struct p1_sel psel = {4, {0, 0, 0, 1}};
    struct mg_buf cp, cpa, cpr, td, aru;
    mg_buf_init(&cp, 0);
    mg_buf_init(&cpa, 0);
    mg_buf_init(&cpr, 0);
    mg_buf_init(&td, 0);
    mg_buf_init(&aru, 0);
    assert_int_equal(p1_pres_cp(&cp, &psel, &psel, acse, sizeof acse), 0);
    struct p1_ppdu pp;
    const char *why = NULL;
    assert_int_equal(p1_pres_decode(P1_PPDU_CP, cp.data, cp.len, &pp, &why), 0);
    assert_int_equal(pp.nctx, 3);
    assert_int_equal(pp.calling.len, 4);
    assert_int_equal(pp.pdv[0].len, sizeof acse);
    assert_memory_equal(pp.pdv[0].v, acse, sizeof acse);
    CP_type_t *cpt = NULL;
    assert_int_equal(mg_asn1_decode_CP_type(cp.data, cp.len, &cpt, NULL), 0);
    mg_asn1_free_CP_type(cpt);

    assert_int_equal(p1_pres_cpa(&cpa, &pp, &psel, acse, sizeof acse), 0);
    struct p1_ppdu pa;
    assert_int_equal(p1_pres_decode(P1_PPDU_CPA, cpa.data, cpa.len, &pa, &why), 0);
    assert_int_equal(pa.nctx, 3);
    assert_int_equal(pa.responding.len, 4);
    CPA_PPDU_t *cpat = NULL;
    assert_int_equal(mg_asn1_decode_CPA_PPDU(cpa.data, cpa.len, &cpat, NULL), 0);
    mg_asn1_free_CPA_PPDU(cpat);

    assert_int_equal(p1_pres_cpr(&cpr, &pp, acse, sizeof acse), 0);
    struct p1_ppdu pr;
    assert_int_equal(p1_pres_decode(P1_PPDU_CPR, cpr.data, cpr.len, &pr, &why), 0);
    CPR_PPDU_t *cprt = NULL;
    assert_int_equal(mg_asn1_decode_CPR_PPDU(cpr.data, cpr.len, &cprt, NULL), 0);
    mg_asn1_free_CPR_PPDU(cprt);

    /* User data with a context id > 127 and a large value, header prepended to a chain. */
    struct mg_buf big;
    mg_buf_init(&big, 0);
    ptu_make_apdu(&big, 70000);
    struct p1_chain c;
    p1_chain_init(&c);
    p1_chain_borrow(&c, big.data, big.len);
    assert_int_equal(p1_pres_prepend_td(&c, 301), 0);
    p1_chain_drain(&c, &td);
    struct p1_ppdu pt;
    assert_int_equal(p1_pres_decode(P1_PPDU_TD, td.data, td.len, &pt, &why), 0);
    assert_int_equal(pt.pdv[0].pcid, 301);
    assert_int_equal(pt.pdv[0].len, big.len);
    assert_memory_equal(pt.pdv[0].v, big.data, big.len);
    User_data_PPDU_t *ud = NULL;
    assert_int_equal(mg_asn1_decode_User_data_PPDU(td.data, td.len, &ud, NULL), 0);
    mg_asn1_free_User_data_PPDU(ud);

    assert_int_equal(p1_pres_aru(&aru, 1, acse, sizeof acse), 0);
    struct p1_ppdu ab;
    assert_int_equal(p1_pres_decode_abort(aru.data, aru.len, &ab, &why), 0);
    assert_int_equal(ab.type, P1_PPDU_ARU);
    assert_int_equal(ab.npdv, 1);
    p1_chain_free(&c);
    mg_buf_free(&big);
    mg_buf_free(&cp);
    mg_buf_free(&cpa);
    mg_buf_free(&cpr);
    mg_buf_free(&td);
    mg_buf_free(&aru);
}

/* ---- ACSE ---- */

static void acse_real_apdus(void **state)
{
    (void)state;
    static const struct {
        const char *name, *file;
        enum p1_acse_type type;
        long result;
        size_t ui_len;
    } cases[] = {
        {"AARQ", "ber/wsample-acse-AARQ-mts-transfer.ber", P1_AARQ, 0, 50},
        {"AARE-accept", "ber/wsample-acse-AARE-accept.ber", P1_AARE, 0, 45},
        {"AARE-reject", "ber/wsample-acse-AARE-reject.ber", P1_AARE, 1, 9},
        {"RLRQ", "ber/wsample-acse-RLRQ.ber", P1_RLRQ, 0, 0},
        {"RLRE", "ber/wsample-acse-RLRE.ber", P1_RLRE, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mg_buf v;
        SKIP_WITHOUT(&v, cases[i].file);
        struct p1_acse a;
        const char *why = NULL;
        if (p1_acse_decode(v.data, v.len, &a, &why))
            fail_msg("%s: %s", cases[i].name, why);
        assert_int_equal(a.type, cases[i].type);
        assert_int_equal(a.result, cases[i].result);
        assert_int_equal(a.ui_len, cases[i].ui_len);
        if (cases[i].type <= P1_AARE) {
            assert_true(a.mts_transfer);
            assert_int_equal(a.ui_pcid, 3);
        }
        mg_buf_free(&v);
    }
}

static void acse_roundtrip(void **state)
{
    (void)state;
    static const uint8_t rt[] = {0xb6, 0x03, 0x80, 0x01, 0x02};
    struct mg_buf b;
    mg_buf_init(&b, 0);
    static const struct {
        const char *name;
        enum p1_acse_type type;
    } cases[] = {{"AARQ", P1_AARQ}, {"AARE", P1_AARE}, {"RLRQ", P1_RLRQ}, {"RLRE", P1_RLRE},
                 {"ABRT", P1_ABRT}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mg_buf_reset(&b);
        switch (cases[i].type) {
        case P1_AARQ: p1_acse_aarq(&b, 3, rt, sizeof rt); break;
        case P1_AARE: p1_acse_aare(&b, 1, 1, 3, rt, sizeof rt); break;
        case P1_RLRQ: p1_acse_rlrq(&b); break;
        case P1_RLRE: p1_acse_rlre(&b); break;
        case P1_ABRT: p1_acse_abrt(&b, 0, 3, rt, sizeof rt); break;
        }
        struct p1_acse a;
        const char *why;
        assert_int_equal(p1_acse_decode(b.data, b.len, &a, &why), 0);
        assert_int_equal(a.type, cases[i].type);
        ACSE_apdu_t *x = NULL;
        if (mg_asn1_decode_ACSE_apdu(b.data, b.len, &x, NULL))
            fail_msg("%s: asn1c rejects our encoding", cases[i].name);
        mg_asn1_free_ACSE_apdu(x);
        if (cases[i].type == P1_AARQ || cases[i].type == P1_AARE || cases[i].type == P1_ABRT) {
            assert_int_equal(a.ui_pcid, 3);
            assert_int_equal(a.ui_len, sizeof rt);
        }
        if (cases[i].type == P1_AARE) {
            assert_int_equal(a.result, 1);
            assert_int_equal(a.diag, 1);
        }
    }
    mg_buf_free(&b);
}

/* ---- RTSE ---- */

static void rtse_real_apdus(void **state)
{
    (void)state;
    static const struct {
        const char *name, *file;
        enum p1_rtse_type type;
        long checkpoint, window, reason, bind_error;
        int recover;
    } cases[] = {
        {"RTORQ", "ber/wsample-rtse-RTORQ.ber", P1_RTORQ, 63, 3, -1, -1, 0},
        {"RTORQ-recover", "ber/wsample-rtse-RTORQ-recover.ber", P1_RTORQ, 63, 3, -1, -1, 1},
        {"RTOAC", "ber/wsample-rtse-RTOAC.ber", P1_RTOAC, 63, 3, -1, -1, 0},
        {"RTORJ-bind-error", "ber/wsample-rtse-RTORJ-bind-error.ber", P1_RTORJ, 0, 3, -1, 2, 0},
        {"RTORJ-busy", "ber/wsample-rtse-RTORJ-busy.ber", P1_RTORJ, 0, 3, -1, 0, 0},
        {"RTTR", "ber/wsample-rtse-RTTR-octets.ber", P1_RTTR, 0, 3, -1, -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mg_buf v;
        SKIP_WITHOUT(&v, cases[i].file);
        struct p1_rtse r;
        const char *why = NULL;
        struct mg_buf wrapped;
        mg_buf_init(&wrapped, 0);
        if (cases[i].type == P1_RTTR) {
            /* The vector is the RTTR's contents: send it as RTTR in 3 segments, as the
             * capture did, and read it back. */
            struct p1_chain c;
            p1_chain_init(&c);
            size_t third = v.len / 3;
            uint8_t h[8];
            for (int k = 0; k < 3; k++) {
                size_t n = k < 2 ? third : v.len - 2 * third;
                size_t hl = p1_ber_hdr(h, 0x04, n);
                p1_chain_own(&c, h, hl);
                p1_chain_borrow(&c, v.data + (size_t)k * third, n);
            }
            size_t hl = p1_ber_hdr(h, 0x24, c.total);
            p1_chain_prepend(&c, h, hl);
            p1_chain_drain(&c, &wrapped);
            p1_chain_free(&c);
        } else {
            mg_buf_append(&wrapped, v.data, v.len);
        }
        if (p1_rtse_decode(wrapped.data, wrapped.len, &r, &why))
            fail_msg("%s: %s", cases[i].name, why);
        assert_int_equal(r.type, cases[i].type);
        assert_int_equal(r.checkpoint, cases[i].checkpoint);
        assert_int_equal(r.window, cases[i].window);
        assert_int_equal(r.recover, cases[i].recover);
        if (cases[i].bind_error >= 0) {
            long e = -1;
            assert_int_equal(p1_bind_error_decode(r.data, r.len, &e), 0);
            assert_int_equal(e, cases[i].bind_error);
        }
        if (cases[i].type == P1_RTTR) {
            /* The RTTR carries EXTERNAL{context 5, the MTS-APDU}: the same bytes as the vector. */
            struct p1_reasm re;
            p1_reasm_init(&re, 0);
            assert_int_equal(p1_rtse_rttr_collect(wrapped.data, wrapped.len, &re), 0);
            assert_int_equal(re.b.len, v.len);
            const uint8_t *apdu;
            size_t alen;
            assert_int_equal(p1_rtse_external_value(re.b.data, re.b.len, &apdu, &alen), 0);
            struct mg_buf want;
            SKIP_WITHOUT(&want, "ber/wsample-p1-MTS-APDU-message-p772.ber");
            assert_int_equal(alen, want.len);
            assert_memory_equal(apdu, want.data, alen);
            mg_buf_free(&want);
            p1_reasm_free(&re);
        }
        mg_buf_free(&wrapped);
        mg_buf_free(&v);
    }
}

static void rtse_roundtrip(void **state)
{
    (void)state;
    static const uint8_t open[] = {0x05, 0x00};
    static const struct {
        const char *name;
        enum p1_rtse_type type;
        int x410;
        long ckpt, window, dialogue, app, reason;
    } cases[] = {
        {"RTORQ", P1_RTORQ, 0, 63, 3, 0, -1, -1},
        {"RTORQ-twa-window-5", P1_RTORQ, 0, 4, 5, 1, -1, -1},
        {"RTOAC", P1_RTOAC, 0, 16, 2, 0, -1, -1},
        {"RTORJ", P1_RTORJ, 0, 0, 3, 0, -1, 0},
        {"PConnect-1984", P1_RTORQ, 1, 8, 3, 0, 1, -1},
        {"PConnect-1988", P1_RTORQ, 1, 0, 4, 1, 12, -1},
        {"PAccept", P1_RTOAC, 1, 8, 3, 0, -1, -1},
        {"PRefuse", P1_RTORJ, 1, 0, 3, 0, -1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mg_buf b;
        mg_buf_init(&b, 0);
        if (cases[i].type == P1_RTORQ)
            p1_rtse_rtorq(&b, cases[i].x410, cases[i].ckpt, cases[i].window, cases[i].dialogue,
                          cases[i].app, open, sizeof open);
        else if (cases[i].type == P1_RTOAC)
            p1_rtse_rtoac(&b, cases[i].x410, cases[i].ckpt, cases[i].window, open, sizeof open);
        else
            p1_rtse_rtorj(&b, cases[i].x410, cases[i].reason, NULL, 0);
        struct p1_rtse r;
        const char *why = NULL;
        int rc = cases[i].x410 ? p1_rtse_decode_x410(cases[i].type, b.data, b.len, &r, &why)
                               : p1_rtse_decode(b.data, b.len, &r, &why);
        if (rc)
            fail_msg("%s: %s", cases[i].name, why);
        assert_int_equal(r.type, cases[i].type);
        assert_int_equal(r.checkpoint, cases[i].ckpt);
        assert_int_equal(r.window, cases[i].window);
        if (cases[i].type == P1_RTORQ)
            assert_int_equal(r.dialogue, cases[i].dialogue);
        if (cases[i].app > 0)
            assert_int_equal(r.app_protocol, cases[i].app);
        if (cases[i].reason >= 0)
            assert_int_equal(r.reason, cases[i].reason);
        if (cases[i].type != P1_RTORJ) {
            assert_int_equal(r.len, sizeof open);
            assert_memory_equal(r.data, open, sizeof open);
        }
        if (!cases[i].x410) {
            RTSE_apdus_t *x = NULL;
            if (mg_asn1_decode_RTSE_apdus(b.data, b.len, &x, NULL))
                fail_msg("%s: asn1c rejects our encoding", cases[i].name);
            mg_asn1_free_RTSE_apdus(x);
        }
        mg_buf_free(&b);
    }
}

/* ---- MTA bind ---- */

static void bind_real_values(void **state)
{
    (void)state;
    static const struct {
        const char *name, *file, *who, *password;
    } cases[] = {
        {"argument", "ber/wsample-p1-MTABindArgument-authenticated.ber", "percival.smhs.co.uk",
         "excalibur"},
        {"argument-bad-credentials", "ber/wsample-p1-MTABindArgument-bad-credentials.ber",
         "percival.smhs.co.uk", " "},
        {"result", "ber/wsample-p1-MTABindResult-authenticated.ber", "guinevere.smhs.co.uk",
         "merlin"},
        {"invoke-wrapped", "ber/wsample-p1-Bind-Invoke-wrapped.ber", "percival.smhs.co.uk",
         "excalibur"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mg_buf v;
        SKIP_WITHOUT(&v, cases[i].file);
        struct p1_bind b;
        const char *why = NULL;
        if (p1_bind_decode(v.data, v.len, &b, &why))
            fail_msg("%s: %s", cases[i].name, why);
        assert_string_equal(b.name, cases[i].who);
        assert_string_equal(b.password, cases[i].password);
        mg_buf_free(&v);
    }
}

static void bind_roundtrip_and_check(void **state)
{
    (void)state;
    struct p1_bind in = {1, "MIXGATE", "s3cret", 1}, out;
    static const struct {
        const char *name;
        int kind, wrapped;
    } forms[] = {{"argument-normal", 16, 1}, {"result-normal", 17, 1}, {"argument-x410", 16, 0},
                 {"result-x410", 17, 0}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct mg_buf b;
        mg_buf_init(&b, 0);
        assert_int_equal(p1_bind_encode(&b, forms[i].kind, forms[i].wrapped, &in), 0);
        const char *why;
        assert_int_equal(p1_bind_decode(b.data, b.len, &out, &why), 0);
        assert_string_equal(out.name, "MIXGATE");
        assert_string_equal(out.password, "s3cret");
        if (forms[i].kind == 16 && forms[i].wrapped) {
            MTA_Bind_Invoke_t *x = NULL;
            assert_int_equal(mg_asn1_decode_MTA_Bind_Invoke(b.data, b.len, &x, NULL), 0);
            mg_asn1_free_MTA_Bind_Invoke(x);
        }
        mg_buf_free(&b);
    }
    static const struct {
        const char *name, *expect_name, *expect_pw;
        int want;
    } checks[] = {
        {"match", "MIXGATE", "s3cret", 0},
        {"wrong-password", "MIXGATE", "s3cret!", P1_BIND_ERR_AUTHENTICATION},
        {"short-password", "MIXGATE", "s3cre", P1_BIND_ERR_AUTHENTICATION},
        {"wrong-name", "OTHER", "s3cret", P1_BIND_ERR_AUTHENTICATION},
        {"name-only", "MIXGATE", NULL, 0},
        {"anything", NULL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        const char *why = NULL;
        int got = p1_bind_check(&in, checks[i].expect_name, checks[i].expect_pw, &why);
        if (got != checks[i].want)
            fail_msg("%s: %d", checks[i].name, got);
    }
    struct p1_bind anon = {0};
    const char *why;
    assert_int_equal(p1_bind_check(&anon, "MIXGATE", NULL, &why), P1_BIND_ERR_AUTHENTICATION);
    static const struct {
        const char *name;
        long dialogue;
        struct p1_bind_expect e;
        int want;
    } decisions[] = {
        {"accept-monologue", 0, {"MIXGATE", "s3cret", 0, 0}, -1},
        {"accept-twa", 1, {"MIXGATE", "s3cret", 1, 0}, -1},
        {"twa-not-allowed", 1, {"MIXGATE", "s3cret", 0, 0},
         P1_BIND_ERR_UNACCEPTABLE_DIALOGUE_MODE},
        {"busy-first", 1, {"OTHER", "x", 0, 1}, P1_BIND_ERR_BUSY},
        {"dialogue-before-password", 1, {"MIXGATE", "x", 0, 0},
         P1_BIND_ERR_UNACCEPTABLE_DIALOGUE_MODE},
        {"wrong-password", 0, {"MIXGATE", "x", 1, 0}, P1_BIND_ERR_AUTHENTICATION},
    };
    for (size_t i = 0; i < sizeof decisions / sizeof decisions[0]; i++) {
        why = NULL;
        long err = -1;
        int refuse = p1_bind_decide(&in, decisions[i].dialogue, &decisions[i].e, &err, &why);
        if (refuse != (decisions[i].want >= 0) || (refuse && err != decisions[i].want))
            fail_msg("%s: refuse %d err %ld", decisions[i].name, refuse, err);
        if (refuse)
            assert_non_null(why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tpkt_real_streams),      cmocka_unit_test(tpkt_segmentation_roundtrip),
        cmocka_unit_test(tpkt_errors),            cmocka_unit_test(session_real_spdus),
        cmocka_unit_test(session_refuse_spdu),    cmocka_unit_test(session_roundtrip),
        cmocka_unit_test(session_errors),         cmocka_unit_test(pres_real_ppdus),
        cmocka_unit_test(pres_roundtrip),         cmocka_unit_test(acse_real_apdus),
        cmocka_unit_test(acse_roundtrip),         cmocka_unit_test(rtse_real_apdus),
        cmocka_unit_test(rtse_roundtrip),         cmocka_unit_test(bind_real_values),
        cmocka_unit_test(bind_roundtrip_and_check),
    };
    return cmocka_run_group_tests_name("p1_layers", tests, NULL, NULL);
}
