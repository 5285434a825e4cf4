/* gen_ipm_vectors: writes mixgate's own P22 and P772 test vectors (no public P22 sample
 * exists). The BER is put together by hand here, tag by tag, independently of the asn1c code
 * it tests, so a shared misunderstanding cannot pass unnoticed; tshark cross-checks the same
 * files (tests/ipm/tshark_check.sh). For each NAME.p22 / NAME.p772 it also writes NAME.expect:
 * values we put in, one per line, that both tshark's and mixgate's output must show.
 * Usage: gen_ipm_vectors OUTDIR */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct b {
    unsigned char *p;
    size_t n;
};

static struct b mk(const void *d, size_t n)
{
    struct b r = {malloc(n ? n : 1), n};
    if (!r.p)
        abort();
    if (n)
        memcpy(r.p, d, n);
    return r;
}

/* Concatenate count parts (consumed). */
static struct b cat(int count, ...)
{
    va_list ap;
    struct b r = {NULL, 0};
    va_start(ap, count);
    for (int i = 0; i < count; i++) {
        struct b x = va_arg(ap, struct b);
        unsigned char *np = realloc(r.p, r.n + x.n + 1);
        if (!np)
            abort();
        r.p = np;
        memcpy(r.p + r.n, x.p, x.n);
        r.n += x.n;
        free(x.p);
    }
    va_end(ap);
    if (!r.p)
        r = mk("", 0);
    return r;
}

/* One TLV, definite length; tag is the identifier octet (class | constructed | number<31). */
static struct b tlv(unsigned tag, struct b content)
{
    unsigned char hdr[8];
    size_t h = 0;
    hdr[h++] = (unsigned char)tag;
    if (content.n < 128)
        hdr[h++] = (unsigned char)content.n;
    else if (content.n < 256) {
        hdr[h++] = 0x81;
        hdr[h++] = (unsigned char)content.n;
    } else {
        hdr[h++] = 0x82;
        hdr[h++] = (unsigned char)(content.n >> 8);
        hdr[h++] = (unsigned char)content.n;
    }
    return cat(2, mk(hdr, h), content);
}

static struct b s(unsigned tag, const char *text) { return tlv(tag, mk(text, strlen(text))); }
static struct b hexb(unsigned tag, const char *hex)
{
    unsigned char tmp[64];
    size_t n = 0;
    for (; hex[0] && hex[1] && n < sizeof tmp; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        tmp[n++] = (unsigned char)v;
    }
    return tlv(tag, mk(tmp, n));
}
/* BMPString of ASCII text */
static struct b bmp(const char *text)
{
    unsigned char tmp[256];
    size_t n = 0;
    for (; *text && n + 2 <= sizeof tmp; text++) {
        tmp[n++] = 0;
        tmp[n++] = (unsigned char)*text;
    }
    return tlv(0x1e, mk(tmp, n));
}

#define SEQ(...) tlv(0x30, cat(__VA_ARGS__))
#define SET(...) tlv(0x31, cat(__VA_ARGS__))
#define CTX(n, ...) tlv(0xa0 | (n), cat(__VA_ARGS__)) /* constructed [n] */
#define APP(n, ...) tlv(0x60 | (n), cat(__VA_ARGS__)) /* constructed [APPLICATION n] */

/* OIDs, content octets in hex */
#define OID_HEX(h) hexb(0x06, h)
#define X420_HEX(n) "560105" n        /* 2.6.1.5.n  heading extensions */
#define MM(n) "2b1a00a2360002" n      /* 1.3.26.0.4406.0.2.n */
#define MMET(n) "2b1a00a2360007" n    /* 1.3.26.0.4406.0.7.n */

/* ORName: /C=GB/ADMD= /PRMD=mixgate/O=org/[OU=ou/]S=sur/[G=given/][CN=cn/] */
static struct b orname(const char *o, const char *ou, const char *sur, const char *given,
                       const char *cn)
{
    struct b pn = given ? CTX(5, 2, s(0x80, sur), s(0x81, given)) : CTX(5, 1, s(0x80, sur));
    struct b bsa = cat(5, APP(1, 1, s(0x13, "GB")), APP(2, 1, s(0x13, " ")),
                       CTX(2, 1, s(0x13, "mixgate")), s(0x83, o), pn);
    if (ou)
        bsa = cat(2, bsa, CTX(6, 1, s(0x13, ou)));
    struct b inner = SEQ(1, bsa);
    if (cn) /* extension-attributes: common-name (1) */
        inner = cat(2, inner, SET(1, SEQ(2, hexb(0x80, "01"), CTX(1, 1, s(0x13, cn)))));
    return APP(0, 1, inner);
}

static struct b ext(const char *oidhex, struct b value) { return SEQ(2, OID_HEX(oidhex), value); }

static struct b ia5_part(const char *text) { return CTX(0, 2, SET(0), s(0x16, text)); }

static struct b min_ipm(unsigned tag, const char *id, const char *subject, const char *text)
{
    struct b heading = SET(2, APP(11, 1, s(0x13, id)), CTX(8, 1, s(0x14, subject)));
    return tlv(tag, cat(2, heading, SEQ(1, ia5_part(text))));
}

/* NAME.tshark: lines only tshark's output must show (its wording of typed values). */
static int out_tshark(const char *dir, const char *stem, const char *lines)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.tshark", dir, stem);
    FILE *f = fopen(path, "w");
    if (!f || fputs(lines, f) < 0 || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int out(const char *dir, const char *name, struct b v, const char *expect)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(v.p, 1, v.n, f) != v.n || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/%.*s.expect", dir, (int)(strrchr(name, '.') - name), name);
    f = fopen(path, "w");
    if (!f || fputs(expect, f) < 0 || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    free(v.p);
    return 0;
}

/* IPM with every X.420 heading field and one body part of each kind we relay. */
static struct b ipm_full(void)
{
    struct b heading = SET(
        17, APP(11, 2, orname("Example", "Ops", "Smith", "Alice", NULL), s(0x13, "gen-ipm-0001")),
        CTX(0, 3, orname("Example", "Ops", "Smith", "Alice", NULL), s(0x80, "Alice Smith"),
            s(0x81, "+44 20 7946 0000")),
        CTX(1, 1, SET(1, orname("Example", NULL, "Boss", NULL, NULL))),
        CTX(2, 1, SET(3, CTX(0, 1, orname("Lancelot", NULL, "Jones", "Bob", "Bob Jones")),
                      hexb(0x81, "06c0"), hexb(0x82, "ff"))),
        CTX(3, 1, SET(1, CTX(0, 1, orname("Camelot", NULL, "Carol", NULL, NULL)))),
        CTX(4, 1, SET(1, CTX(0, 1, s(0x80, "Dave the blind copy")))),
        CTX(5, 1, s(0x13, "gen-ipm-0000")),
        CTX(6, 1, APP(11, 1, s(0x13, "gen-ipm-old1"))),
        CTX(7, 1, APP(11, 1, s(0x13, "gen-ipm-rel1"))),
        CTX(8, 1, s(0x14, "Quarterly report")),
        s(0x89, "261231235959Z"),
        s(0x8a, "261201120000Z"),
        CTX(11, 1, SET(1, orname("Example", "Ops", "Smith", "Alice", NULL))),
        hexb(0x8c, "02"),
        hexb(0x8d, "03"),
        hexb(0x8e, "ff"),
        CTX(15, 12, ext(X420_HEX("01"), SET(1, s(0x13, "en"))),
            ext(X420_HEX("06"),
                SEQ(2, SET(2, SET(1, CTX(0, 1, orname("Example", NULL, "Reader", "One", NULL))),
                           hexb(0x05, "")),
                    SET(2, SET(1, CTX(0, 1, orname("Example", NULL, "Reader", "Two", NULL))),
                        s(0x18, "20261123080000Z")))),
            ext(X420_HEX("07"), SEQ(1, SEQ(2, OID_HEX("2a0305"), SET(1, bmp("DIST-A"))))),
            ext(X420_HEX("09"), SEQ(1, SEQ(2, hexb(0x80, "2a0306"), CTX(1, 1, bmp("CATEGORY-1"))))),
            ext(X420_HEX("0a"), SEQ(1, SET(1, bmp("HANDLE WITH CARE")))),
            ext(X420_HEX("04"), SEQ(1, CTX(0, 3, OID_HEX("2a0307"), hexb(0x02, "03"),
                                           s(0x13, "COMPANY CONFIDENTIAL")))),
            ext(X420_HEX("02"), hexb(0x0a, "01")),
            ext(X420_HEX("00"), hexb(0x05, "")),
            ext(X420_HEX("05"), s(0x18, "20261123061500Z")),
            ext(X420_HEX("0c"), OID_HEX("2a030405")),
            ext(X420_HEX("0b"), SET(1, bmp("REF-42"))),
            ext(X420_HEX("08"), SET(2, bmp("Extended subject"), s(0x13, "en")))));
    struct b body = SEQ(
        7, ia5_part("Hello from mixgate\r\n"),
        CTX(5, 2, SET(1, hexb(0x80, "01")), SEQ(1, s(0x14, "Teletex line one"))),
        CTX(3, 2, SET(1, hexb(0x80, "01")), SEQ(1, hexb(0x03, "00abcd"))),
        s(0x8e, "opaque-bilateral"),
        CTX(9, 2, SET(1, s(0x80, "261123060000Z")),
            SEQ(2, SET(2, APP(11, 1, s(0x13, "gen-ipm-inner")), CTX(8, 1, s(0x14, "Forwarded"))),
                SEQ(1, ia5_part("Inner text\r\n")))),
        CTX(15, 2, CTX(0, 2, OID_HEX("56010b0b"), CTX(0, 1, SET(1, hexb(0x02, "06")))),
            tlv(0x28, cat(2, OID_HEX("5601040b"), CTX(0, 1, s(0x1b, "General text body"))))),
        CTX(15, 2,
            CTX(0, 2, OID_HEX("56010b0c"), CTX(0, 1, SEQ(1, CTX(1, 1, CTX(0, 1, OID_HEX("28c27b0503")))))),
            tlv(0x28, cat(2, OID_HEX("5601040c"),
                          CTX(0, 1, SEQ(1, tlv(0x28, cat(2, OID_HEX("28c27b0204"),
                                                          s(0x81, "file-bytes-123")))))))));
    return CTX(0, 2, heading, body);
}

static struct b ipn_receipt(void)
{
    return CTX(1, 3,
               APP(11, 2, orname("Example", "Ops", "Smith", "Alice", NULL), s(0x13, "gen-ipm-0001")),
               CTX(1, 1, orname("Lancelot", NULL, "Jones", "Bob", "Bob Jones")),
               CTX(0, 1, CTX(1, 3, s(0x80, "261123070000Z"), hexb(0x81, "01"),
                             s(0x82, "Read by Bob"))));
}

static struct b ipn_nonreceipt(void)
{
    return CTX(1, 2, APP(11, 1, s(0x13, "gen-ipm-0002")),
               CTX(0, 1, CTX(0, 4, hexb(0x80, "00"), hexb(0x81, "00"),
                             s(0x82, "Discarded on expiry"),
                             min_ipm(0xa3, "gen-ipm-0002", "Expired message", "Too late\r\n"))));
}

/* IPN carrying advice notifications (other-notification-type-fields): absence and
 * change of address. */
static struct b ipn_advice(void)
{
    return CTX(1, 2, APP(11, 1, s(0x13, "gen-ipm-0003")),
               CTX(0, 1, CTX(2, 2,
                             ext("56011300", SEQ(2, ia5_part("Out of office until Monday\r\n"),
                                                 s(0x17, "261130090000Z"))),
                             ext("56011301", SEQ(2, CTX(0, 1, orname("Example", NULL, "Moved",
                                                                       "Newly", NULL)),
                                                 s(0x81, "261201000000Z"))))));
}

/* P772 message with every STANAG 4406 heading extension and an ACP 127 body part. */
static struct b p772_full(void)
{
    struct b recip = SET(
        3, CTX(0, 1, orname("Lancelot", NULL, "Jones", "Bob", NULL)), hexb(0x81, "06c0"),
        CTX(3, 2, ext(MM("0f"), hexb(0x03, "05e0")), ext("56011401", hexb(0x02, "03"))));
    struct b exts = CTX(
        15, 16, ext(MM("00"), hexb(0x02, "04")), ext(MM("01"), hexb(0x02, "01")),
        ext(MM("02"), SET(2, hexb(0x80, "01"), s(0x81, "OPORD-7"))),
        ext(MM("03"), SEQ(1, SET(3, hexb(0x80, "00"),
                                 CTX(1, 1, orname("Example", NULL, "ListOwner", NULL, NULL)),
                                 hexb(0x82, "02")))),
        ext(MM("04"), SEQ(1, SET(1, orname("Exempt", NULL, "Evans", NULL, NULL)))),
        ext(MM("05"), s(0x17, "261123061500Z")),
        ext(MM("06"), SET(1, CTX(0, 2, s(0x13, "ABC"), s(0x13, "XYZ1")))),
        ext(MM("07"), SEQ(1, s(0x13, "HANDLE VIA COURIER"))),
        ext(MM("08"), SEQ(1, s(0x13, "MSG INSTRUCTION ONE"))),
        ext(MM("09"), hexb(0x02, "07")),
        ext(MM("0a"), s(0x13, "ORIG-REF-9")),
        ext(MM("0b"), SEQ(1, SET(2, hexb(0x80, "01"), s(0x81, "ALL UNITS")))),
        ext(MM("0c"), SEQ(1, SEQ(2, hexb(0x80, "03"), CTX(3, 1, s(0x13, "PILOT HANDLING"))))),
        ext(MM("0d"), s(0x13, "RUABC 0001 3271200")),
        ext(MM("0e"), s(0x13, "CTF ONE TWO THREE")),
        ext(X420_HEX("01"), SET(1, s(0x13, "en"))));
    struct b heading = SET(
        5, APP(11, 2, orname("Example", "Ops", "Smith", "Alice", NULL), s(0x13, "gen-p772-0001")),
        CTX(0, 1, orname("Example", "Ops", "Smith", "Alice", NULL)), CTX(2, 1, recip),
        CTX(8, 1, s(0x14, "Operation order seven")), exts);
    struct b body = SEQ(
        3, ia5_part("Military message text\r\n"),
        CTX(15, 2, CTX(0, 2, OID_HEX(MMET("0d")), CTX(0, 1, hexb(0x02, "01"))),
            tlv(0x28, cat(2, OID_HEX(MMET("0c")), CTX(0, 1, s(0x16, "ACP127 FORMAT LINE"))))),
        CTX(15, 2, CTX(0, 2, OID_HEX(MMET("02")), CTX(0, 1, hexb(0x02, "07"))),
            tlv(0x28, cat(2, OID_HEX(MMET("00")),
                          CTX(0, 1, CTX(1, 2, s(0x16, "EXER/BLUE FALCON//"),
                                        s(0x16, "MSGID/ORDER/CTF 123//")))))));
    return CTX(0, 2, heading, body);
}

static struct b p772_acp127_response(void)
{
    return CTX(1, 2,
               APP(11, 2, orname("Example", "Ops", "Smith", "Alice", NULL), s(0x13, "gen-p772-0001")),
               CTX(0, 1, CTX(2, 1, ext(MM("10"), SET(4, hexb(0x80, "05a0"), s(0x81, "261123080000Z"),
                                                     s(0x83, "RUABC"), s(0x84, "RELAYED TO ACP127"))))));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_ipm_vectors OUTDIR\n");
        return 2;
    }
    const char *d = argv[1];
    int rc = 0;
    rc |= out(d, "ipm-full-heading.p22", ipm_full(),
              "gen-ipm-0001\nAlice Smith\n+44 20 7946 0000\nBob Jones\nDave the blind copy\n"
              "gen-ipm-0000\ngen-ipm-old1\ngen-ipm-rel1\nQuarterly report\nmixgate\nCarol\n"
              "Boss\nHello from mixgate\nTeletex line one\nopaque-bilateral\ngen-ipm-inner\n"
              "Forwarded\nInner text\nGeneral text body\nReader\nCOMPANY CONFIDENTIAL\n");
    rc |= out(d, "ipn-receipt.p22", ipn_receipt(), "gen-ipm-0001\nRead by Bob\nBob Jones\n");
    rc |= out(d, "ipn-nonreceipt.p22", ipn_nonreceipt(),
              "gen-ipm-0002\nDiscarded on expiry\nExpired message\n");
    rc |= out(d, "ipn-advice.p22", ipn_advice(),
              "gen-ipm-0003\nOut of office until Monday\nMoved\n");
    rc |= out_tshark(d, "ipn-advice", "other-notification-type-fields: 2 items\n"
                                      "next-available: 26-11-30 09:00:00 (UTC)\n"
                                      "effective-from: 26-12-01 00:00:00 (UTC)\n");
    rc |= out(d, "p772-full.p772", p772_full(),
              "gen-p772-0001\nOperation order seven\nOPORD-7\nABC\nXYZ1\nHANDLE VIA COURIER\n"
              "MSG INSTRUCTION ONE\nORIG-REF-9\nALL UNITS\nPILOT HANDLING\nRUABC 0001 3271200\n"
              "CTF ONE TWO THREE\nListOwner\nEvans\nMilitary message text\n"
              "ACP127 FORMAT LINE\nEXER/BLUE FALCON//\nMSGID/ORDER/CTF 123//\n");
    rc |= out_tshark(d, "p772-full",
                     "PrimaryPrecedence: flash (4)\nCopyPrecedence: routine (1)\n"
                     "type: operation (1)\nCodressMessage: 7\nACP127DataParameters: 1\n"
                     "ADatP3Parameters: 7\nsetOriented: 2 items\n"
                     "acp127-notification-request\n");
    rc |= out_tshark(d, "ipm-full-heading",
                     "importance: high (2)\nsensitivity: company-confidential (3)\n"
                     "auto-forwarded: True\nreply-requested: True\n"
                     "CharacterSetRegistration: 6\n"
                     "AutoSubmitted: auto-generated (1)\nLanguage: en\n"
                     "two-octets: REF-42\niso-639-language-code: en\n"
                     "PrecedencePolicyIdentifier: 1.2.3.4.5\n"
                     "two-octets: DIST-A\ntwo-octets: CATEGORY-1\n"
                     "two-octets: HANDLE WITH CARE\nprivacy-mark: COMPANY CONFIDENTIAL\n"
                     "CirculationList: 2 items\n");
    rc |= out(d, "p772-acp127-response.p772", p772_acp127_response(),
              "gen-p772-0001\nRUABC\nRELAYED TO ACP127\n");
    return rc ? 1 : 0;
}
