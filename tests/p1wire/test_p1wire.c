/* p1wire: whole P1 messages on the wire, checked by an independent decoder. Each case builds
 * an MTS-APDU message with our encoder (envelope from a readable XER fixture, content = one of
 * mixgate's own P22/P772 vectors decoded and re-encoded with mg_ipm), carries it in an RTSE
 * transfer the way the real capture $MIXGATE_VECTORS/x400/p772-transfer-success.pcap does
 * (bind with the capture's CP/CPA re-encoded by us, GT+ACTIVITY START, GT+DT with the RTTR
 * as a segmented OCTET STRING spread over several COTP TPDUs, GT+MAJOR SYNC, the peer's
 * MAJOR SYNC ACK, release), writes a pcap on TCP port 102 and runs `tshark -r FILE -V`.
 * A case fails on "Malformed", on any expert error or warning, and when tshark's P1 or
 * P22/P772 sections lack a value we put in (envelope values, the vector's .expect and .tshark
 * lines, the case's own subject set through mg_ipm). A last test takes the capture's own P1
 * message, decodes and re-encodes it with mg_asn1, and requires tshark's dissection of it to
 * be line-for-line the capture's. A missing tshark is a failure (CI installs it); missing
 * vectors skip (exit 77). */
#define _GNU_SOURCE /* memmem */
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
#include "p1_session.h"
#include "p1_tpkt.h"
#include "pcap_writer.h"

#include "SubjectChoice.h"
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
    const char *subject;         /* replaces the IPM's subject; NULL for notifications */
    enum framing framing;
};

#define CT_P22 "<built-in>22</built-in>"
#define CT_P772 "<extended>1.3.26.0.4406.0.4.1</extended>"
#define TS_P22 "built-in: interpersonal-messaging-1988 (22)"
#define TS_P772 "extended: 1.3.26.0.4406.0.4.1 (STANAG 4406)"

static const struct p1wire_case cases[] = {
    {"p22_ipm", "ipm-full-heading.p22", CT_P22, TS_P22, "X.420 Information Object",
     "p1wire-ipm-0001", "sender", {"bob", "carol", NULL}, "Budget 2027 over P1", FRAME_CAPTURE},
    {"p22_ipn", "ipn-receipt.p22", CT_P22, TS_P22, "X.420 Information Object",
     "p1wire-ipn-0002", "bob", {"sender", NULL}, NULL, FRAME_CAPTURE},
    {"p772_mm", "p772-full.p772", CT_P772, TS_P772, "STANAG 4406 Message",
     "p1wire-mm-0003", "commander", {"unit-one", "unit-two", NULL}, "OPORD 8 via RTSE",
     FRAME_CAPTURE},
    {"p772_ipn", "p772-acp127-response.p772", CT_P772, TS_P772, "STANAG 4406 Message",
     "p1wire-mmn-0004", "unit-one", {"commander", NULL}, NULL, FRAME_CAPTURE},
    {"p22_ipm_der", "ipm-full-heading.p22", CT_P22, TS_P22, "X.420 Information Object",
     "p1wire-ipm-0005", "sender", {"bob", NULL}, "Plain DER framing", FRAME_DER},
    {"p772_mm_der", "p772-full.p772", CT_P772, TS_P772, "STANAG 4406 Message",
     "p1wire-mm-0006", "commander", {"unit-one", NULL}, "FLASH in one TPDU", FRAME_DER},
};

/* ---- building blocks ---- */

static void append(struct mg_buf *b, const void *p, size_t n)
{
    assert_int_equal(mg_buf_append(b, p, n), 0);
}

static void der_of(const asn_TYPE_descriptor_t *td, const void *v, struct mg_buf *out)
{
    int rc = atu_append_der(td, v, out);
    if (rc != 0)
        fail_msg("%s does not encode: %s", td->name, mg_strerror(rc));
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

/* Our P22/P772 content: the committed vector decoded, its subject replaced by subject
 * (when not NULL; the old one is copied to old) and encoded again by mg_ipm (DER). */
static void build_content(const char *vector, const char *subject, char *old, size_t oldsz,
                          struct mg_buf *out)
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
    old[0] = 0;
    if (subject) {
        assert_int_equal(io->present, InformationObject_PR_ipm);
        SubjectChoice_t *sc = io->choice.ipm.heading.subject;
        assert_non_null(sc);
        assert_int_equal(sc->present, SubjectChoice_PR_subject_field);
        snprintf(old, oldsz, "%.*s", (int)sc->choice.subject_field.size,
                 (const char *)sc->choice.subject_field.buf);
        assert_int_equal(OCTET_STRING_fromString(&sc->choice.subject_field, subject), 0);
    }
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


/* ---- session, transport class 0 and TPKT: the P1 stack's own framing (channels/p1) ---- */

/* CN/AC (our connect fields) or FN/DN with the PPDU as user data, as one TSDU in s. */
static void spdu_connect_or_release(uint8_t si, const struct mg_buf *user, struct mg_buf *s)
{
    struct p1_spdu sp;
    if (si == P1_SI_CN)
        p1_session_cn_fields(&sp, NULL, NULL);
    else if (si == P1_SI_AC)
        p1_session_ac_fields(&sp, P1_SUR_RTSE, NULL);
    else
        sp = (struct p1_spdu){.si = si};
    sp.has_ud = 1;
    sp.ud = user->data;
    sp.ud_len = user->len;
    assert_int_equal(p1_session_encode(s, &sp), 0);
}

/* Category 0 token SPDU (GT or PT, empty) followed by sp. */
static void spdu_pair(uint8_t token_si, const struct p1_spdu *sp, struct mg_buf *s)
{
    append(s, (uint8_t[]){token_si, 0}, 2);
    assert_int_equal(p1_session_encode(s, sp), 0);
}

/* A TSDU as DT TPDUs of at most tpdu bytes of data (end-of-TSDU on the last only), all in
 * one TCP send, as the capture's three TPKTs share one segment. */
static void send_tsdu(struct pcapw *w, int from_server, const struct mg_buf *tsdu,
                      size_t tpdu)
{
    struct p1_tpkt t;
    p1_tpkt_init(&t, !from_server, 0, 0);
    t.tpdu_size = (unsigned)tpdu + 3;
    struct p1_chain in, out;
    p1_chain_init(&in);
    p1_chain_init(&out);
    assert_int_equal(p1_chain_borrow(&in, tsdu->data, tsdu->len), 0);
    assert_int_equal(p1_tpkt_data(&t, &in, &out), 0);
    struct mg_buf b;
    mg_buf_init(&b, 0);
    assert_int_equal(p1_chain_drain(&out, &b), 0);
    assert_int_equal(pcapw_send(w, from_server, b.data, b.len), 0);
    mg_buf_free(&b);
    p1_chain_free(&in);
    p1_chain_free(&out);
    p1_tpkt_free(&t);
}

/* CR (TPDU size 1024) from the client, CC from the server. */
static void send_connect(struct pcapw *w)
{
    struct p1_tpkt c, sv;
    p1_tpkt_init(&c, 1, 0, 1024);
    p1_tpkt_init(&sv, 0, 0, 1024);
    struct p1_chain out;
    p1_chain_init(&out);
    struct mg_buf b;
    mg_buf_init(&b, 0);
    assert_int_equal(p1_tpkt_connect(&c, NULL, NULL, &out), 0);
    assert_int_equal(p1_chain_drain(&out, &b), 0);
    assert_int_equal(pcapw_send(w, 0, b.data, b.len), 0);
    mg_buf_reset(&b);
    struct p1_tpkt_ind cr = {.type = P1_TPKT_CONNECT, .tpdu_size = 1024};
    assert_int_equal(p1_tpkt_accept(&sv, &cr, &out), 0);
    assert_int_equal(p1_chain_drain(&out, &b), 0);
    assert_int_equal(pcapw_send(w, 1, b.data, b.len), 0);
    mg_buf_free(&b);
    p1_chain_free(&out);
    p1_tpkt_free(&c);
    p1_tpkt_free(&sv);
}

/* ---- the whole association ---- */

/* The association carrying one MTS-APDU (our DER) in framing fr, written to path. */
static void write_pcap(const struct mg_buf *apdu, enum framing fr, const char *path)
{
    struct mg_buf transfer, cp, cpa, rlrq, rlre, s;
    struct mg_buf *bufs[] = {&transfer, &cp, &cpa, &rlrq, &rlre, &s};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        mg_buf_init(bufs[i], 0);

    build_transfer(apdu, fr, &transfer);
    reencode_vector("x400/ber/wsample-pres-CP-ppdu-aarq-rtorq-bind.ber", &asn_DEF_CP_type, &cp);
    reencode_vector("x400/ber/wsample-pres-CPA-ppdu-aare-rtoac.ber", &asn_DEF_CPA_PPDU, &cpa);
    assert_int_equal(atu_build_release(0, &rlrq), 0);
    assert_int_equal(atu_build_release(1, &rlre), 0);

    struct pcapw w;
    /* 10.0.0.1 (the sending MTA) -> 10.0.0.2:102 (RFC 1006) */
    assert_int_equal(pcapw_open(&w, path, 0x0a000001, 40102, 0x0a000002, 102), 0);
    send_connect(&w);
    spdu_connect_or_release(P1_SI_CN, &cp, &s);
    send_tsdu(&w, 0, &s, 1021);
    mg_buf_reset(&s);
    spdu_connect_or_release(P1_SI_AC, &cpa, &s);
    send_tsdu(&w, 1, &s, 1021);
    mg_buf_reset(&s);
    if (fr == FRAME_CAPTURE) {
        const struct p1_spdu as = {.si = P1_SI_AS, .actid = (const uint8_t *)"\x02\x01\x01",
                                   .actid_len = 3};
        spdu_pair(P1_SI_GT, &as, &s);
        send_tsdu(&w, 0, &s, 1021);
        mg_buf_reset(&s);
    }
    static const uint8_t gt_dt[] = {P1_SI_GT, 0, P1_SI_DT, 0};
    append(&s, gt_dt, sizeof gt_dt);
    append(&s, transfer.data, transfer.len);
    /* Capture framing: several DT TPDUs (the capture's carry 346/443/18 bytes; 300 here so
     * that our smallest message spans two); DER framing: one. */
    send_tsdu(&w, 0, &s, fr == FRAME_CAPTURE ? 300 : s.len);
    mg_buf_reset(&s);
    const struct p1_spdu map = {.si = P1_SI_AE, .has_serial = 1, .serial = 1};
    spdu_pair(P1_SI_GT, &map, &s);
    send_tsdu(&w, 0, &s, 1021);
    mg_buf_reset(&s);
    const struct p1_spdu maa = {.si = P1_SI_AEA, .has_serial = 1, .serial = 1};
    spdu_pair(P1_SI_PT, &maa, &s);
    send_tsdu(&w, 1, &s, 1021);
    mg_buf_reset(&s);
    spdu_connect_or_release(P1_SI_FN, &rlrq, &s);
    send_tsdu(&w, 0, &s, 1021);
    mg_buf_reset(&s);
    spdu_connect_or_release(P1_SI_DN, &rlre, &s);
    send_tsdu(&w, 1, &s, 1021);
    assert_int_equal(pcapw_close(&w), 0);
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

/* Lines of a vector's .expect / .tshark file, each one required in hay (except replaced,
 * a value the case changed). */
static int check_lines(const char *file, const char *hay, const char *what, const char *replaced)
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
        if (!line[0] || (replaced[0] && strcmp(line, replaced) == 0))
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

/* Frame apdu, dissect it: *path is the pcap (kept on failure), text tshark's -V output. Fails
 * on tshark errors, "Malformed" and expert errors or warnings, and checks that the transfer
 * went through the layers it was given to. */
static void dissect(const struct mg_buf *apdu, enum framing fr, const char *name, char *path,
                    struct mg_buf *text)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_pcap(apdu, fr, path);
    run_tshark(path, text);
    const char *t = (const char *)text->data;
    if (strstr(t, "Malformed") || strstr(t, "[Expert Info (Error") ||
        strstr(t, "[Expert Info (Warning")) {
        fprintf(stderr, "%s\n", t);
        fail_msg("%s: tshark found errors in %s (kept for inspection)", name, path);
    }
    /* RTSE carried it, and in capture framing tshark reassembled the OCTET STRING segments
     * and the COTP TPDUs as in the real capture. */
    need(t, "X.228 OSI Reliable Transfer Service", "transfer");
    need(t, "indirect-reference: 5", "transfer");
    need(t, "SPDU Type: MAJOR SYNC POINT (MAP) SPDU (41)", "transfer");
    need(t, "SPDU Type: MAJOR SYNC ACK (MAA) SPDU (42)", "transfer");
    need(t, "    rlrq\n        reason: normal (0)", "release");
    need(t, "    rlre\n        reason: normal (0)", "release");
    if (fr == FRAME_CAPTURE) {
        need(t, "SPDU Type: ACTIVITY START (AS) SPDU (45)", "transfer");
        need(t, "OCTET STRING fragments", "transfer");
        need(t, "COTP Segments", "transfer");
    }
}

static void done_with(const char *path, struct mg_buf *text)
{
    if (getenv("MIXGATE_KEEP_PCAP")) /* for looking at it in wireshark */
        fprintf(stderr, "pcap kept: %s\n", path);
    else
        unlink(path);
    mg_buf_free(text);
}

static void message_in_tshark(void **state)
{
    const struct p1wire_case *c = *state;
    char probe[1024];
    if (!atu_vector_path("x400/ber/wsample-pres-CP-ppdu-aarq-rtorq-bind.ber", probe,
                         sizeof probe))
        skip();
    struct mg_buf content, apdu, text;
    mg_buf_init(&content, 0);
    mg_buf_init(&apdu, 0);
    mg_buf_init(&text, 64u << 20);
    char old_subject[256];
    build_content(c->vector, c->subject, old_subject, sizeof old_subject, &content);
    MTS_APDU_t *a = build_apdu(c, &content);
    der_of(&asn_DEF_MTS_APDU, a, &apdu);
    mg_asn1_free_MTS_APDU(a);
    /* What we put on the wire decodes with our own decoder too, content and all. */
    MTS_APDU_t *back = NULL;
    assert_int_equal(mg_asn1_decode_MTS_APDU(apdu.data, apdu.len, &back, NULL), 0);
    assert_int_equal(back->choice.message.content.size, (int)content.len);
    assert_memory_equal(back->choice.message.content.buf, content.data, content.len);
    mg_asn1_free_MTS_APDU(back);

    char path[] = "/tmp/mixgate-p1wire-XXXXXX";
    dissect(&apdu, c->framing, c->name, path, &text);
    const char *t = (const char *)text.data;
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
    int nrcpt = 0;
    while (c->recipients[nrcpt])
        nrcpt++;
    snprintf(want, sizeof want, "per-recipient-fields: %d item%s\n", nrcpt, nrcpt > 1 ? "s" : "");
    need(env, want, "P1 envelope");
    for (int i = 0; i < nrcpt; i++) {
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
    snprintf(want, sizeof want, "content (%zu bytes)", content.len);
    need(env, want, "P1 envelope");
    free(env);

    /* The content section: the vector's own values and tshark's wording of its typed ones. */
    char file[256];
    const char *dot = strrchr(c->vector, '.');
    int base = (int)(dot - c->vector);
    snprintf(file, sizeof file, "%.*s.expect", base, c->vector);
    int n = check_lines(file, ct, "content", old_subject);
    assert_true(n > 0);
    snprintf(file, sizeof file, "%.*s.tshark", base, c->vector);
    n += check_lines(file, ct, "content", old_subject);
    if (c->subject) {
        snprintf(want, sizeof want, "            subject: %s\n", c->subject);
        need(ct, want, "content heading");
        if (strstr(ct, old_subject))
            fail_msg("%s: the replaced subject \"%s\" is still in the content", c->name,
                     old_subject);
        n++;
    }

    fprintf(stderr, "%s: P1 message + %s content: %d content values found\n", c->name,
            c->content_header, n);
    done_with(path, &text);
    mg_buf_free(&content);
    mg_buf_free(&apdu);
}

/* ---- the real capture's message, re-encoded by us ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of tshark's P1-message section (from "X.411 Message Transfer Service" followed by
 * the message line, to the next frame), sorted: DER puts an envelope SET's fields in tag
 * order where the capture's MTA had its own order, so only the lines as a multiset compare. */
static char **message_lines(const char *text, size_t *n)
{
    const char *p = strstr(text, "X.411 Message Transfer Service\n    MTS-APDU: message (0)");
    assert_non_null(p);
    const char *end = strstr(p, "\nFrame ");
    if (!end)
        end = p + strlen(p);
    size_t cap = 64, count = 0;
    char **v = malloc(cap * sizeof *v);
    assert_non_null(v);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len) {
            if (count == cap) {
                cap *= 2;
                char **nv = realloc(v, cap * sizeof *v);
                assert_non_null(nv);
                v = nv;
            }
            v[count] = strndup(p, len);
            assert_non_null(v[count]);
            count++;
        }
        p += len + 1;
    }
    qsort(v, count, sizeof *v, cmp_str);
    *n = count;
    return v;
}

static void free_lines(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The capture's MTS-APDU (indefinite-length BER from a real MTA) decoded and encoded again
 * by mg_asn1 (DER: envelope SET reordered, definite lengths, the P772 content octets as they
 * were), sent in both framings: tshark must show exactly the lines it shows for the original
 * in the capture's frame 20, from the P1 envelope to the P772 body. */
static void capture_message_reencoded(void **state)
{
    (void)state;
    unsigned char *ber = NULL, *ref = NULL;
    size_t ber_len = 0, ref_len = 0;
    if (atu_read_vector("x400/ber/wsample-p1-MTS-APDU-message-p772.ber", &ber, &ber_len) != 0)
        skip();
    assert_int_equal(atu_read_vector("x400/p772-transfer-success.tshark-V.txt", &ref, &ref_len),
                     0);
    char *reftext = strndup((const char *)ref, ref_len);
    assert_non_null(reftext);
    free(ref);
    size_t nref = 0;
    char **want = message_lines(reftext, &nref);
    free(reftext);
    const char *p772_line = "STANAG 4406 Message"; /* the section reaches into the content */
    assert_non_null(bsearch(&p772_line, want, nref, sizeof *want, cmp_str));

    MTS_APDU_t *a = NULL;
    struct mg_asn1_err err = {0};
    if (mg_asn1_decode_MTS_APDU(ber, ber_len, &a, &err) != 0)
        fail_msg("capture APDU does not decode: %s", err.what);
    free(ber);
    struct mg_buf apdu;
    mg_buf_init(&apdu, 0);
    der_of(&asn_DEF_MTS_APDU, a, &apdu);
    mg_asn1_free_MTS_APDU(a);

    static const enum framing framings[] = {FRAME_CAPTURE, FRAME_DER};
    for (size_t f = 0; f < sizeof framings / sizeof framings[0]; f++) {
        struct mg_buf text;
        mg_buf_init(&text, 64u << 20);
        char path[] = "/tmp/mixgate-p1wire-XXXXXX";
        dissect(&apdu, framings[f], "capture_message_reencoded", path, &text);
        size_t ngot = 0;
        char **got = message_lines((const char *)text.data, &ngot);
        /* Walk both sorted lists; report what only one side has. */
        size_t i = 0, j = 0, diff = 0;
        while (i < nref || j < ngot) {
            int c = i == nref ? 1 : j == ngot ? -1 : strcmp(want[i], got[j]);
            if (c == 0) {
                i++;
                j++;
                continue;
            }
            diff++;
            if (c < 0)
                fprintf(stderr, "only in the capture: %s\n", want[i++]);
            else
                fprintf(stderr, "only in ours:        %s\n", got[j++]);
        }
        if (diff)
            fail_msg("%zu lines of tshark's P1/P772 dissection differ (pcap kept: %s)", diff, path);
        fprintf(stderr, "capture_message_reencoded (%s framing): all %zu lines match the "
                        "capture's\n", framings[f] == FRAME_CAPTURE ? "capture" : "DER", ngot);
        free_lines(got, ngot);
        done_with(path, &text);
    }
    free_lines(want, nref);
    mg_buf_free(&apdu);
}

/* Capture framing byte for byte: the leading octets of our presentation user data for the
 * transfer, up to the first RTTR segment, and of the EXTERNAL in it, are those the real MTA
 * sent (read from the capture's initiator stream, after its GT+DT SPDUs); only the segment
 * lengths differ (ours 256, theirs 327). */
static void capture_framing_bytes(void **state)
{
    (void)state;
    unsigned char *stream = NULL;
    size_t slen = 0;
    if (atu_read_vector("x400/streams/wsample-p772-transfer-initiator.tpkt", &stream, &slen) != 0)
        skip();
    static const uint8_t gt_dt_pres[] = {1, 0, 1, 0, 0x61, 0x80};
    const uint8_t *theirs = memmem(stream, slen, gt_dt_pres, sizeof gt_dt_pres);
    assert_non_null(theirs);
    theirs += 4;
    assert_true((size_t)(theirs - stream) + 64 <= slen);

    struct mg_buf content, apdu, transfer;
    mg_buf_init(&content, 0);
    mg_buf_init(&apdu, 0);
    mg_buf_init(&transfer, 0);
    char old[256];
    build_content(cases[0].vector, NULL, old, sizeof old, &content);
    MTS_APDU_t *a = build_apdu(&cases[0], &content);
    der_of(&asn_DEF_MTS_APDU, a, &apdu);
    mg_asn1_free_MTS_APDU(a);
    build_transfer(&apdu, FRAME_CAPTURE, &transfer);
    /* 61 80 30 80 02 01 03 a0 80 24 80 04 82 | segment length | 28 80 02 01 05 a0 80 a0 80
     * 31 80: fully-encoded-data, PDV-list, context 3, single-ASN1-type, RTTR segments;
     * EXTERNAL, indirect-reference 5, single-ASN1-type, message [0], envelope SET. */
    assert_true(transfer.len > 26);
    assert_memory_equal(transfer.data, theirs, 13);
    assert_memory_equal(transfer.data + 15, theirs + 15, 11);
    assert_int_equal(transfer.data[13] << 8 | transfer.data[14], 256);
    mg_buf_free(&content);
    mg_buf_free(&apdu);
    mg_buf_free(&transfer);
    free(stream);
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
    enum { NCASES = sizeof cases / sizeof cases[0] };
    struct CMUnitTest tests[NCASES + 2];
    for (size_t i = 0; i < NCASES; i++) {
        tests[i] = (struct CMUnitTest){cases[i].name, message_in_tshark, NULL, NULL,
                                       (void *)&cases[i]};
    }
    tests[NCASES] = (struct CMUnitTest){"capture_message_reencoded", capture_message_reencoded,
                                        NULL, NULL, NULL};
    tests[NCASES + 1] = (struct CMUnitTest){"capture_framing_bytes", capture_framing_bytes, NULL,
                                            NULL, NULL};
    return cmocka_run_group_tests_name("p1wire", tests, NULL, NULL);
}
