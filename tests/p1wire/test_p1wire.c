/* p1wire: whole P1 messages on the wire, checked by an independent decoder. Each case builds
 * an MTS-APDU message with our encoder (envelope from a readable XER fixture, content = one of
 * mixgate's own P22/P772 vectors decoded and re-encoded with mg_ipm), carries it in an RTSE
 * transfer the way the real capture $MIXGATE_VECTORS/x400/p772-transfer-success.pcap does
 * (bind with the capture's CP/CPA re-encoded by us, GT+ACTIVITY START, GT+DT with the RTTR
 * as a segmented OCTET STRING spread over several COTP TPDUs, GT+MAJOR SYNC, the peer's
 * MAJOR SYNC ACK, release), writes a pcap on TCP port 102 and runs `tshark -r FILE -V`.
 * A case fails on "Malformed", on any expert error or warning, and when tshark's P1 or
 * P22/P772 sections lack a value we put in (envelope values, the vector's .expect and .tshark
 * lines). A tshark that is missing is a failure (CI installs it); missing vectors skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "asn1_test_util.h"
#include "mg_asn1.h"
#include "mg_asn1_open.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_ipm.h"
#include "p1wire_pcap.h"

#include "User-data.h"

#ifndef P1WIRE_IPM_DIR
#error "P1WIRE_IPM_DIR (test-vectors/ipm) must be defined by the build"
#endif

/* ---- the cases ---- */

enum framing {
    FRAME_DER,     /* every layer DER, the RTTR in one TPDU */
    FRAME_CAPTURE, /* as the real MTA did: indefinite lengths, RTTR in OCTET STRING segments,
                      several COTP TPDUs, an activity around the transfer */
};

struct p1wire_case {
    const char *name;
    const char *vector;       /* in test-vectors/ipm */
    const char *content_type; /* XER of ContentType */
    const char *p1_content_type; /* tshark's wording of it */
    const char *content_header;  /* tshark's heading of the content section */
    const char *local_id;
    const char *originator;      /* surname */
    const char *recipients[3];   /* surnames, NULL-terminated */
    enum framing framing;
};

#define CT_P22 "<built-in>22</built-in>"
#define CT_P772 "<extended>1.3.26.0.4406.0.4.1</extended>"
#define TS_P22 "built-in: interpersonal-messaging-1988 (22)"
#define TS_P772 "extended: 1.3.26.0.4406.0.4.1 (STANAG 4406)"

static const struct p1wire_case cases[] = {
    {"p22_ipm", "ipm-full-heading.p22", CT_P22, TS_P22, "X.420 Information Object",
     "p1wire-ipm-0001", "sender", {"bob", "carol", NULL}, FRAME_CAPTURE},
    {"p22_ipn", "ipn-receipt.p22", CT_P22, TS_P22, "X.420 Information Object",
     "p1wire-ipn-0002", "bob", {"sender", NULL}, FRAME_CAPTURE},
    {"p772_mm", "p772-full.p772", CT_P772, TS_P772, "STANAG 4406 Message",
     "p1wire-mm-0003", "commander", {"unit-one", "unit-two", NULL}, FRAME_CAPTURE},
    {"p772_ipn", "p772-acp127-response.p772", CT_P772, TS_P772, "STANAG 4406 Message",
     "p1wire-mmn-0004", "unit-one", {"commander", NULL}, FRAME_CAPTURE},
    {"p22_ipm_der", "ipm-full-heading.p22", CT_P22, TS_P22, "X.420 Information Object",
     "p1wire-ipm-0005", "sender", {"bob", NULL}, FRAME_DER},
    {"p772_mm_der", "p772-full.p772", CT_P772, TS_P772, "STANAG 4406 Message",
     "p1wire-mm-0006", "commander", {"unit-one", NULL}, FRAME_DER},
};

/* ---- building blocks ---- */

static void append(struct mg_buf *b, const void *p, size_t n)
{
    assert_int_equal(mg_buf_append(b, p, n), 0);
}

static void der_of(const asn_TYPE_descriptor_t *td, const void *v, struct mg_buf *out)
{
    unsigned char *der = NULL;
    size_t len = 0;
    int rc = mg_asn1_encode_der(td, v, &der, &len);
    if (rc != 0)
        fail_msg("%s does not encode: %s", td->name, mg_strerror(rc));
    append(out, der, len);
    free(der);
}

/* Replace an ANY's bytes with a copy of (p, n). */
static void set_any_bytes(ANY_t *any, const void *p, size_t n)
{
    /* asn1c's ANY_fromBuf macro passes an ANY_t * as OCTET_STRING_t * (same layout,
     * different type), which a strict build refuses; copy by hand. */
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, p, n);
    free(any->buf);
    any->buf = copy;
    any->size = (int)n;
}

/* The real MTA's habit, read off the capture's bytes: the outer `levels` levels of
 * constructed values use the indefinite length form (X.690 8.1.3.6), deeper ones stay
 * definite, and a universal OCTET STRING within those levels longer than seg (0: never)
 * is sent as a constructed string of seg-byte segments (8.7.3.2), as its RTTR is.
 * ber_indef_convert (tests/asn1) turns every level indefinite, which is not what the
 * capture shows (and tshark then prints ORNames as "0 items"), hence this walk. Input is
 * our own DER, so lengths are definite and checked against the enclosing value. */
static void outer_indef(const uint8_t *p, size_t len, int levels, size_t seg, struct mg_buf *out)
{
    size_t off = 0;
    while (off < len) {
        size_t t0 = off;
        uint8_t id = p[off++];
        if ((id & 0x1f) == 0x1f) { /* high tag number: base-128 octets */
            while (off < len && (p[off] & 0x80))
                off++;
            off++;
        }
        assert_true(off < len);
        size_t tag_len = off - t0, clen = 0;
        uint8_t l0 = p[off++];
        assert_true(l0 != 0x80); /* DER: never indefinite */
        if (l0 & 0x80) {
            size_t nl = l0 & 0x7fu;
            assert_true(nl >= 1 && nl <= 4 && off + nl <= len);
            for (size_t i = 0; i < nl; i++)
                clen = clen << 8 | p[off++];
        } else {
            clen = l0;
        }
        assert_true(clen <= len - off);
        static const uint8_t eoc[2] = {0, 0};
        if (levels > 0 && (id & 0x20)) {
            append(out, p + t0, tag_len);
            append(out, "\x80", 1);
            outer_indef(p + off, clen, levels - 1, seg, out);
            append(out, eoc, 2);
        } else if (levels > 0 && id == 0x04 && seg && clen > seg) {
            append(out, "\x24\x80", 2);
            for (size_t s = 0; s < clen; s += seg) {
                size_t n = clen - s < seg ? clen - s : seg;
                uint8_t h[4] = {0x04, 0x82, (uint8_t)(n >> 8), (uint8_t)n};
                assert_true(n < 65536);
                append(out, h, 4);
                append(out, p + off + s, n);
            }
            append(out, eoc, 2);
        } else {
            append(out, p + t0, off - t0 + clen);
        }
        off += clen;
    }
}

static void to_capture_style(struct mg_buf *b, int levels, size_t seg)
{
    struct mg_buf o;
    mg_buf_init(&o, 0);
    outer_indef(b->data, b->len, levels, seg, &o);
    mg_buf_reset(b);
    append(b, o.data, o.len);
    mg_buf_free(&o);
}

/* Our P22/P772 content: the committed vector decoded and encoded again by mg_ipm (DER). */
static void build_content(const char *vector, struct mg_buf *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", P1WIRE_IPM_DIR, vector);
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(mg_read_file(path, MG_IPM_MAX_INPUT, &data, &len), 0);
    InformationObject_t *io = NULL;
    struct mg_ipm_error err = {0};
    if (mg_ipm_decode_info(data, len, &io, &err) != 0)
        fail_msg("%s does not decode: at %zu: %s", vector, err.offset, err.what);
    free(data);
    assert_int_equal(mg_ipm_encode_info(io, out), 0);
    mg_ipm_free_info(io);
}

#define GDI_XER                                                                               \
    "<global-domain-identifier><country-name><iso-3166-alpha2-code>gb</iso-3166-alpha2-code>" \
    "</country-name><administration-domain-name><printable> </printable>"                     \
    "</administration-domain-name><private-domain-identifier><printable>mixgate</printable>"  \
    "</private-domain-identifier></global-domain-identifier>"
#define ORNAME_FMT                                                                       \
    "<built-in-standard-attributes><country-name><iso-3166-alpha2-code>gb"               \
    "</iso-3166-alpha2-code></country-name><administration-domain-name><printable> "     \
    "</printable></administration-domain-name><private-domain-name><printable>mixgate"   \
    "</printable></private-domain-name><organization-name>example</organization-name>"   \
    "<personal-name><surname>%s</surname></personal-name></built-in-standard-attributes>"
#define ORNAME_TSHARK "(/C=gb/A= /P=mixgate/O=example/S=%s/)"

/* The MTS-APDU message of case c (content filled in by the caller), from XER. */
static MTS_APDU_t *build_apdu(const struct p1wire_case *c, const struct mg_buf *content)
{
    struct mg_buf x;
    mg_buf_init(&x, 0);
    assert_int_equal(mg_buf_appendf(&x,
        "<MTS-APDU><message><envelope>"
        "<message-identifier>" GDI_XER "<local-identifier>%s</local-identifier>"
        "</message-identifier>"
        "<originator-name>" ORNAME_FMT "</originator-name>"
        "<original-encoded-information-types><built-in-encoded-information-types>001"
        "</built-in-encoded-information-types></original-encoded-information-types>"
        "<content-type>%s</content-type>"
        "<content-identifier>%s</content-identifier>"
        "<priority><urgent/></priority>"
        "<trace-information><TraceInformationElement>" GDI_XER
        "<domain-supplied-information><arrival-time>261123061500Z</arrival-time>"
        "<routing-action><relayed/></routing-action></domain-supplied-information>"
        "</TraceInformationElement></trace-information>"
        "<per-recipient-fields>",
        c->local_id, c->originator, c->content_type, c->local_id), 0);
    for (int i = 0; c->recipients[i]; i++)
        assert_int_equal(mg_buf_appendf(&x,
            "<PerRecipientMessageTransferFields><recipient-name>" ORNAME_FMT "</recipient-name>"
            "<originally-specified-recipient-number>%d</originally-specified-recipient-number>"
            "<per-recipient-indicators>10010000</per-recipient-indicators>"
            "</PerRecipientMessageTransferFields>",
            c->recipients[i], i + 1), 0);
    assert_int_equal(mg_buf_appendf(&x, "</per-recipient-fields></envelope><content></content>"
                                        "</message></MTS-APDU>"), 0);
    MTS_APDU_t *a = NULL;
    asn_dec_rval_t r = xer_decode(NULL, &asn_DEF_MTS_APDU, (void **)&a, x.data, x.len);
    if (r.code != RC_OK)
        fail_msg("%s: envelope XER does not decode (at %zu)", c->name, r.consumed);
    mg_buf_free(&x);
    assert_int_equal(a->present, MTS_APDU_PR_message);
    assert_int_equal(OCTET_STRING_fromBuf(&a->choice.message.content, (const char *)content->data,
                                          (int)content->len), 0);
    return a;
}

/* Presentation user data of the transfer: PDV-list in context 3 (id-as-mta-rtse) with
 * RTTR = OCTET STRING of EXTERNAL{indirect-reference 5 (id-as-mta), single-ASN1-type APDU},
 * the shape the real capture has (no direct reference). */
static void build_transfer(const struct mg_buf *apdu, enum framing fr, struct mg_buf *out)
{
    External_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->indirect_reference = calloc(1, sizeof *x->indirect_reference);
    assert_non_null(x->indirect_reference);
    *x->indirect_reference = 5;
    x->encoding.present = External__encoding_PR_single_ASN1_type;
    set_any_bytes(&x->encoding.choice.single_ASN1_type, apdu->data, apdu->len);
    struct mg_buf ext;
    mg_buf_init(&ext, 0);
    der_of(&asn_DEF_External, x, &ext);
    /* EXTERNAL, its [0], the message [0] and the envelope SET indefinite: a0 80 31 80 in
     * the capture; the content OCTET STRING stays one primitive string. */
    if (fr == FRAME_CAPTURE)
        to_capture_style(&ext, 4, 0);

    RTSE_apdus_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->present = RTSE_apdus_PR_rttr_apdu;
    assert_int_equal(OCTET_STRING_fromBuf(&r->choice.rttr_apdu, (const char *)ext.data,
                                          (int)ext.len), 0);
    struct mg_buf rtse;
    mg_buf_init(&rtse, 0);
    der_of(&asn_DEF_RTSE_apdus, r, &rtse);

    User_data_PPDU_t *ud = calloc(1, sizeof *ud);
    PDV_list_t *pdv = calloc(1, sizeof *pdv);
    assert_non_null(ud);
    assert_non_null(pdv);
    ud->present = User_data_PR_fully_encoded_data;
    pdv->presentation_context_identifier = 3;
    pdv->presentation_data_values.present = PDV_list__presentation_data_values_PR_single_ASN1_type;
    set_any_bytes(&pdv->presentation_data_values.choice.single_ASN1_type, rtse.data, rtse.len);
    assert_int_equal(ASN_SEQUENCE_ADD(&ud->choice.fully_encoded_data.list, pdv), 0);
    der_of(&asn_DEF_User_data_PPDU, ud, out);
    /* [APPLICATION 1], PDV-list, [0] indefinite, the RTTR OCTET STRING in segments of 256
     * bytes (the capture: 61 80 30 80 02 01 03 a0 80 24 80 04 82 01 47 ..., 327/439/8;
     * smaller here so that our smallest message is segmented too). */
    if (fr == FRAME_CAPTURE)
        to_capture_style(out, 4, 256);
    mg_asn1_free_User_data_PPDU(ud);
    mg_asn1_free_RTSE_apdus(r);
    mg_asn1_free_External(x);
    mg_buf_free(&rtse);
    mg_buf_free(&ext);
}

/* A capture PPDU (CP or CPA) decoded and encoded again by us (DER). */
static void reencode_vector(const char *rel, const asn_TYPE_descriptor_t *td, struct mg_buf *out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(atu_read_vector(rel, &data, &len), 0);
    void *v = NULL;
    struct mg_asn1_err err = {0};
    if (mg_asn1_decode(td, data, len, &v, &err) != 0)
        fail_msg("%s: %s", rel, err.what);
    free(data);
    der_of(td, v, out);
    mg_asn1_free(td, v);
}

/* Presentation user data carrying RLRQ or RLRE (reason normal). */
static void build_release(int response, struct mg_buf *out)
{
    ACSE_apdu_t *a = calloc(1, sizeof *a);
    long *reason = calloc(1, sizeof *reason);
    assert_non_null(a);
    assert_non_null(reason);
    if (response) {
        a->present = ACSE_apdu_PR_rlre;
        a->choice.rlre.reason = reason;
    } else {
        a->present = ACSE_apdu_PR_rlrq;
        a->choice.rlrq.reason = reason;
    }
    struct mg_buf acse;
    mg_buf_init(&acse, 0);
    der_of(&asn_DEF_ACSE_apdu, a, &acse);
    User_data_PPDU_t *ud = calloc(1, sizeof *ud);
    PDV_list_t *pdv = calloc(1, sizeof *pdv);
    assert_non_null(ud);
    assert_non_null(pdv);
    ud->present = User_data_PR_fully_encoded_data;
    pdv->presentation_context_identifier = 1;
    pdv->presentation_data_values.present = PDV_list__presentation_data_values_PR_single_ASN1_type;
    set_any_bytes(&pdv->presentation_data_values.choice.single_ASN1_type, acse.data, acse.len);
    assert_int_equal(ASN_SEQUENCE_ADD(&ud->choice.fully_encoded_data.list, pdv), 0);
    der_of(&asn_DEF_User_data_PPDU, ud, out);
    mg_asn1_free_User_data_PPDU(ud);
    mg_asn1_free_ACSE_apdu(a);
    mg_buf_free(&acse);
}

/* ---- session (ISO 8327), transport class 0 (ISO 8073) and TPKT (RFC 1006) ---- */

enum {
    SI_GT_DT = 1, SI_PT = 2, SI_FN = 9, SI_DN = 10, SI_CN = 13, SI_AC = 14,
    SI_MAP = 41, SI_MAA = 42, SI_AS = 45,
    PI_SERIAL = 42, PI_ACTIVITY_ID = 41, PI_USER_DATA = 193,
};

/* Parameter or SPDU header: code, length (one octet, or 0xff and two), value. */
static void spdu_item(struct mg_buf *b, uint8_t code, const void *v, size_t len)
{
    uint8_t h[4] = {code};
    size_t hl = 2;
    assert_true(len < 65535);
    if (len < 255) {
        h[1] = (uint8_t)len;
    } else {
        h[1] = 0xff;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    }
    append(b, h, hl);
    if (len)
        append(b, v, len);
}

/* CN or AC: Connect/Accept item (protocol options 0, version 2), session requirements
 * (duplex), then the presentation PPDU as user data. FN/DN: user data only. */
static void spdu_connect_or_release(uint8_t si, const struct mg_buf *user, struct mg_buf *out)
{
    struct mg_buf p;
    mg_buf_init(&p, 0);
    if (si == SI_CN || si == SI_AC) {
        static const uint8_t accept_item[] = {19, 1, 0, 22, 1, 2};
        static const uint8_t requirements[] = {0x00, 0x02};
        spdu_item(&p, 5, accept_item, sizeof accept_item);
        spdu_item(&p, 20, requirements, sizeof requirements);
    }
    spdu_item(&p, PI_USER_DATA, user->data, user->len);
    spdu_item(out, si, p.data, p.len);
    mg_buf_free(&p);
}

/* Category 0 token SPDU (GT or PT, empty) followed by an SPDU with one parameter. */
static void spdu_pair(uint8_t token_si, uint8_t si, uint8_t pi, const void *v, size_t len,
                      struct mg_buf *out)
{
    spdu_item(out, token_si, NULL, 0);
    struct mg_buf p;
    mg_buf_init(&p, 0);
    spdu_item(&p, pi, v, len);
    spdu_item(out, si, p.data, p.len);
    mg_buf_free(&p);
}

static const uint8_t cotp_cr[] = {0xe0, 0, 0, 0, 1, 0, 0xc0, 1, 0x0a}; /* TPDU size 1024 */
static const uint8_t cotp_cc[] = {0xd0, 0, 1, 0, 2, 0, 0xc0, 1, 0x0a};

/* One TPKT around a COTP TPDU (header without its length octet) and payload. */
static void tpkt(const uint8_t *cotp, size_t clen, const uint8_t *payload, size_t plen,
                 struct mg_buf *out)
{
    size_t total = 4 + 1 + clen + plen;
    assert_true(total < 65536);
    uint8_t h[5] = {3, 0, (uint8_t)(total >> 8), (uint8_t)total, (uint8_t)clen};
    append(out, h, 5);
    append(out, cotp, clen);
    if (plen)
        append(out, payload, plen);
}

/* A TSDU as DT TPDUs of at most tpdu bytes of data (end-of-TSDU on the last only), all in
 * one TCP send, as the capture's three TPKTs share one segment. */
static void send_tsdu(struct p1wire_pcap *w, int from_server, const struct mg_buf *tsdu,
                      size_t tpdu)
{
    struct mg_buf t;
    mg_buf_init(&t, 0);
    size_t off = 0;
    do {
        size_t n = tsdu->len - off < tpdu ? tsdu->len - off : tpdu;
        const uint8_t dt[2] = {0xf0, (uint8_t)(off + n == tsdu->len ? 0x80 : 0x00)};
        tpkt(dt, sizeof dt, tsdu->data + off, n, &t);
        off += n;
    } while (off < tsdu->len);
    assert_int_equal(p1wire_pcap_send(w, from_server, t.data, t.len), 0);
    mg_buf_free(&t);
}

static void send_cotp(struct p1wire_pcap *w, int from_server, const uint8_t *cotp, size_t clen)
{
    struct mg_buf t;
    mg_buf_init(&t, 0);
    tpkt(cotp, clen, NULL, 0, &t);
    assert_int_equal(p1wire_pcap_send(w, from_server, t.data, t.len), 0);
    mg_buf_free(&t);
}

/* ---- the whole association ---- */

static void write_pcap(const struct p1wire_case *c, const char *path)
{
    struct mg_buf content, apdu, transfer, cp, cpa, rlrq, rlre, s;
    struct mg_buf *bufs[] = {&content, &apdu, &transfer, &cp, &cpa, &rlrq, &rlre, &s};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        mg_buf_init(bufs[i], 0);

    build_content(c->vector, &content);
    MTS_APDU_t *a = build_apdu(c, &content);
    der_of(&asn_DEF_MTS_APDU, a, &apdu);
    mg_asn1_free_MTS_APDU(a);
    /* What we put on the wire decodes with our own decoder too, content and all. */
    MTS_APDU_t *back = NULL;
    assert_int_equal(mg_asn1_decode_MTS_APDU(apdu.data, apdu.len, &back, NULL), 0);
    assert_int_equal(back->choice.message.content.size, (int)content.len);
    mg_asn1_free_MTS_APDU(back);
    build_transfer(&apdu, c->framing, &transfer);
    reencode_vector("x400/ber/wsample-pres-CP-ppdu-aarq-rtorq-bind.ber", &asn_DEF_CP_type, &cp);
    reencode_vector("x400/ber/wsample-pres-CPA-ppdu-aare-rtoac.ber", &asn_DEF_CPA_PPDU, &cpa);
    build_release(0, &rlrq);
    build_release(1, &rlre);

    struct p1wire_pcap w;
    assert_int_equal(p1wire_pcap_open(&w, path), 0);
    send_cotp(&w, 0, cotp_cr, sizeof cotp_cr);
    send_cotp(&w, 1, cotp_cc, sizeof cotp_cc);
    spdu_connect_or_release(SI_CN, &cp, &s);
    send_tsdu(&w, 0, &s, 1021);
    mg_buf_reset(&s);
    spdu_connect_or_release(SI_AC, &cpa, &s);
    send_tsdu(&w, 1, &s, 1021);
    mg_buf_reset(&s);
    if (c->framing == FRAME_CAPTURE) {
        static const uint8_t activity_id[] = {0x02, 0x01, 0x01};
        spdu_pair(SI_GT_DT, SI_AS, PI_ACTIVITY_ID, activity_id, sizeof activity_id, &s);
        send_tsdu(&w, 0, &s, 1021);
        mg_buf_reset(&s);
    }
    static const uint8_t gt_dt[] = {SI_GT_DT, 0, SI_GT_DT, 0};
    append(&s, gt_dt, sizeof gt_dt);
    append(&s, transfer.data, transfer.len);
    /* Capture framing: several DT TPDUs (the capture's carry 346/443/18 bytes; 300 here so
     * that our smallest message spans two); DER framing: one. */
    send_tsdu(&w, 0, &s, c->framing == FRAME_CAPTURE ? 300 : s.len);
    mg_buf_reset(&s);
    spdu_pair(SI_GT_DT, SI_MAP, PI_SERIAL, "1", 1, &s);
    send_tsdu(&w, 0, &s, 1021);
    mg_buf_reset(&s);
    spdu_pair(SI_PT, SI_MAA, PI_SERIAL, "1", 1, &s);
    send_tsdu(&w, 1, &s, 1021);
    mg_buf_reset(&s);
    spdu_connect_or_release(SI_FN, &rlrq, &s);
    send_tsdu(&w, 0, &s, 1021);
    mg_buf_reset(&s);
    spdu_connect_or_release(SI_DN, &rlre, &s);
    send_tsdu(&w, 1, &s, 1021);
    assert_int_equal(p1wire_pcap_close(&w), 0);
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        mg_buf_free(bufs[i]);
}

/* ---- tshark ---- */

static void run_tshark(const char *path, struct mg_buf *text)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "tshark -r '%s' -V 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        append(text, chunk, n);
    int status = pclose(p);
    append(text, "", 1);
    if (status != 0) {
        fprintf(stderr, "%s\n", (const char *)text->data);
        fail_msg("tshark exited with status %d on %s", status, path);
    }
}

/* Lines of a vector's .expect / .tshark file, each one required in hay. */
static int check_lines(const char *file, const char *hay, const char *what)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", P1WIRE_IPM_DIR, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0; /* not every vector has a .tshark file */
    char line[512];
    int n = 0, missing = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        n++;
        if (!strstr(hay, line)) {
            char hex[1100] = "";
            for (size_t i = 0; line[i] && i < 500; i++)
                snprintf(hex + 2 * i, 3, "%02x", (unsigned char)line[i]);
            if (!strstr(hay, hex)) { /* octet strings tshark shows in hex */
                fprintf(stderr, "%s: tshark's %s section lacks \"%s\"\n", file, what, line);
                missing++;
            }
        }
    }
    fclose(f);
    assert_int_equal(missing, 0);
    return n;
}

static void need(const char *hay, const char *needle, const char *where)
{
    if (!strstr(hay, needle))
        fail_msg("tshark's %s lacks \"%s\"", where, needle);
}

static void message_in_tshark(void **state)
{
    const struct p1wire_case *c = *state;
    char probe[1024];
    if (!atu_vector_path("x400/ber/wsample-pres-CP-ppdu-aarq-rtorq-bind.ber", probe,
                         sizeof probe))
        skip();
    char path[] = "/tmp/mixgate-p1wire-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_pcap(c, path);

    struct mg_buf text;
    mg_buf_init(&text, 64u << 20);
    run_tshark(path, &text);
    const char *t = (const char *)text.data;
    if (strstr(t, "Malformed") || strstr(t, "[Expert Info (Error") ||
        strstr(t, "[Expert Info (Warning")) {
        fprintf(stderr, "%s\n", t);
        fail_msg("%s: tshark found errors in %s (kept for inspection)", c->name, path);
    }
    /* The P1 section: from the MTS-APDU line to the content heading. */
    const char *p1 = strstr(t, "MTS-APDU: message (0)");
    if (!p1) {
        fprintf(stderr, "%s\n", t);
        fail_msg("%s: tshark did not reach the P1 message (pcap kept: %s)", c->name, path);
    }
    const char *ct = strstr(p1, c->content_header);
    if (!ct) {
        fprintf(stderr, "%s\n", p1);
        fail_msg("%s: tshark did not dissect the content as \"%s\"", c->name, c->content_header);
    }
    size_t p1len = (size_t)(ct - p1);
    char *env = malloc(p1len + 1);
    assert_non_null(env);
    memcpy(env, p1, p1len);
    env[p1len] = 0;

    char want[256];
    snprintf(want, sizeof want, "local-identifier: %s", c->local_id);
    need(env, want, "P1 envelope");
    snprintf(want, sizeof want, "originator-name " ORNAME_TSHARK, c->originator);
    need(env, want, "P1 envelope");
    for (int i = 0; c->recipients[i]; i++) {
        snprintf(want, sizeof want, "recipient-name " ORNAME_TSHARK, c->recipients[i]);
        need(env, want, "P1 envelope");
        snprintf(want, sizeof want, "originally-specified-recipient-number: %d", i + 1);
        need(env, want, "P1 envelope");
    }
    need(env, c->p1_content_type, "P1 envelope");
    snprintf(want, sizeof want, "content-identifier: %s", c->local_id);
    need(env, want, "P1 envelope");
    need(env, "priority: urgent (2)", "P1 envelope");
    need(env, "..1. .... = ia5-text: True", "P1 envelope");
    need(env, "arrival-time: 26-11-23 06:15:00 (UTC)", "P1 envelope");
    free(env);

    /* The content section: the vector's own values and tshark's wording of its typed ones. */
    char file[256];
    const char *dot = strrchr(c->vector, '.');
    int base = (int)(dot - c->vector);
    snprintf(file, sizeof file, "%.*s.expect", base, c->vector);
    int n = check_lines(file, ct, "content");
    assert_true(n > 0);
    snprintf(file, sizeof file, "%.*s.tshark", base, c->vector);
    n += check_lines(file, ct, "content");

    /* The transfer framing tshark saw: RTSE carried it, and in capture framing it
     * reassembled the OCTET STRING segments and the COTP TPDUs as in the real capture. */
    need(t, "X.228 OSI Reliable Transfer Service", "transfer");
    need(t, "indirect-reference: 5", "transfer");
    need(t, "SPDU Type: MAJOR SYNC POINT (MAP) SPDU (41)", "transfer");
    need(t, "SPDU Type: MAJOR SYNC ACK (MAA) SPDU (42)", "transfer");
    need(t, "rlrq", "release");
    need(t, "rlre", "release");
    if (c->framing == FRAME_CAPTURE) {
        need(t, "SPDU Type: ACTIVITY START (AS) SPDU (45)", "transfer");
        need(t, "OCTET STRING fragments", "transfer");
        need(t, "COTP Segments", "transfer");
    }
    fprintf(stderr, "%s: P1 message + %s content: %d content values found\n", c->name,
            c->content_header, n);
    if (getenv("MIXGATE_KEEP_PCAP"))
        fprintf(stderr, "pcap kept: %s\n", path);
    else
        unlink(path);
    mg_buf_free(&text);
}

int main(void)
{
    if (system("tshark -v >/dev/null 2>&1") != 0) {
        fprintf(stderr, "*** p1wire: tshark not installed: FAILING (scripts/install-deps.sh "
                        "--test installs it) ***\n");
        return 1;
    }
    const char *v = getenv("MIXGATE_VECTORS");
    struct stat st;
    if (!v || stat(v, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "*** p1wire: MIXGATE_VECTORS (%s) missing: SKIPPED ***\n",
                v ? v : "unset");
        return 77;
    }
    setenv("HOME", "/tmp", 0); /* tshark wants a profile directory it may create */
    struct CMUnitTest tests[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tests[i] = (struct CMUnitTest){cases[i].name, message_in_tshark, NULL, NULL,
                                       (void *)&cases[i]};
    }
    return cmocka_run_group_tests_name("p1wire", tests, NULL, NULL);
}
