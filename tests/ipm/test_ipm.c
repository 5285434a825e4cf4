/* Tests of asn1/mg_ipm (X.420 / P772 decode, encode, open types, located errors) and
 * asn1/mg_print, against the real P772 sample (checked field by field against tshark's
 * decode of the same capture) and mixgate's own generated vectors (test-vectors/ipm). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mg_buf.h"
#include "mg_err.h"
#include "mg_ipm.h"
#include "mg_print.h"

#include "Body.h"
#include "BodyPart.h"
#include "ExtendedBodyPart.h"
#include "ExtendedSubject.h"
#include "GeneralTextData.h"
#include "IA5TextBodyPart.h"
#include "ORDescriptor.h"
#include "ReceiptFields.h"
#include "IPNChoice.h"
#include "AcknowledgmentModeField.h"
#include "ORName.h"
#include "PrimaryRecipientsField.h"
#include "RecipientSpecifier.h"
#include "SubjectChoice.h"
#include "IA5String.h"
#include "MMDistributionCodes.h"
#include "MMMessageType.h"
#include "MessageInstructions.h"
#include "PrimaryPrecedence.h"
#include "Sic.h"

#ifdef MG_HAVE_BER_INDEF
#include "ber_indef.h"
#endif

/* ---- helpers ---- */

static char *path_in(const char *envvar, const char *fallback_rel, const char *rel)
{
    const char *base = getenv(envvar);
    static char buf[4][1024];
    static int slot;
    char *out = buf[slot++ % 4];
    if (base && *base)
        snprintf(out, 1024, "%s/%s", base, rel);
    else
        snprintf(out, 1024, "%s/%s", fallback_rel, rel);
    return out;
}

static const char *vec(const char *rel)
{
    return path_in("MIXGATE_VECTORS", "../shared/vectors", rel);
}

static const char *own(const char *rel)
{
    return path_in("MIXGATE_SOURCE_DIR", ".", rel);
}

/* Read a file or skip the test loudly when the shared vectors are absent. */
/* noinline: inlined, GCC 12 -O2 sees &b escape into mg_read_file and warns that the result
 * may point at the local b itself (-Wdangling-pointer false positive). */
__attribute__((noinline)) static unsigned char *load(const char *path, size_t *len)
{
    unsigned char *b = NULL;
    if (mg_read_file(path, 0, &b, len) != 0) {
        fprintf(stderr, "SKIPPED: cannot read %s (set MIXGATE_VECTORS)\n", path);
        skip();
    }
    return b;
}

/* The tree print of a value, as a string (caller frees). */
static char *print_tree(asn_TYPE_descriptor_t *td, const void *v, int json)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    assert_non_null(f);
    struct mg_print_opts o = {.json = json};
    assert_int_equal(mg_print_value(f, td, v, NULL, &o), 0);
    fclose(f);
    return s;
}

static void der(asn_TYPE_descriptor_t *td, const void *v, struct mg_buf *out)
{
    mg_buf_init(out, 0);
    assert_int_equal(mg_ipm_encode(td, v, out), 0);
}

/* Decoded value -> DER -> decoded again -> DER: the same bytes. DER is canonical, so equal
 * DER means equal values (a printed tree would differ: DER sorts SET OF members). */
static void check_round_trip(asn_TYPE_descriptor_t *td, const void *v)
{
    struct mg_buf d1, d2;
    der(td, v, &d1);
    void *v2 = NULL;
    struct mg_ipm_error e = {0};
    int rc = mg_ipm_decode(td, d1.data, d1.len, &v2, &e);
    if (rc)
        fail_msg("re-decode of DER failed at %zu: %s", e.offset, e.what);
    der(td, v2, &d2);
    assert_int_equal(d1.len, d2.len);
    assert_memory_equal(d1.data, d2.data, d1.len);
    mg_ipm_free(td, v2);
    mg_buf_free(&d1);
    mg_buf_free(&d2);
}


#ifdef MG_HAVE_BER_INDEF
/* Canonical bytes of a value for comparison across length forms: DER, with the verbatim ANY
 * contents normalised (definite lengths, joined strings), decoded and DER-encoded again so
 * SET OF members sort on normalised bytes. Caller frees out->data (mg_buf_free). */
static void canon(asn_TYPE_descriptor_t *td, const void *v, struct mg_buf *out)
{
    struct mg_buf d;
    der(td, v, &d);
    unsigned char *n = NULL;
    size_t nl = 0;
    assert_int_equal(ber_indef_normalize(d.data, d.len, &n, &nl), 0);
    void *again = NULL;
    struct mg_ipm_error e = {0};
    if (mg_ipm_decode(td, n, nl, &again, &e) != 0)
        fail_msg("normalised DER does not decode: %s at %zu", e.what, e.offset);
    der(td, again, out);
    mg_ipm_free(td, again);
    free(n);
    mg_buf_free(&d);
}

static void assert_same_value(asn_TYPE_descriptor_t *td, const void *a, const void *b)
{
    struct mg_buf ca, cb;
    canon(td, a, &ca);
    canon(td, b, &cb);
    assert_int_equal(ca.len, cb.len);
    assert_memory_equal(ca.data, cb.data, ca.len);
    mg_buf_free(&ca);
    mg_buf_free(&cb);
}
#endif

/* ---- the real P772 sample against tshark's decode ---- */

/* Text after "key" on the first line of the STANAG 4406 section that contains it. */
static int tshark_field(const char *text, const char *key, char *out, size_t size)
{
    const char *sec = strstr(text, "STANAG 4406 Message");
    const char *p = sec ? strstr(sec, key) : NULL;
    if (!p)
        return -1;
    p += strlen(key);
    size_t n = strcspn(p, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static void os_str(const OCTET_STRING_t *s, char *out, size_t size)
{
    snprintf(out, size, "%.*s", (int)s->size, (const char *)s->buf);
}

/* Our value of one field, written the way tshark writes it. */
typedef void (*field_fn)(const MMInformationObject_t *io, char *out, size_t size);

static void f_uri(const MMInformationObject_t *io, char *o, size_t n)
{
    os_str(&io->choice.mm.heading.this_IPM.user_relative_identifier, o, n);
}
static void f_subject(const MMInformationObject_t *io, char *o, size_t n)
{
    os_str(&io->choice.mm.heading.subject->choice.subject_field, o, n);
}
static void f_typed(const MMInformationObject_t *io, const char *oid, struct mg_ipm_typed *t)
{
    struct mg_ipm_error e = {0};
    int rc = mg_ipm_ext_find(io->choice.mm.heading.extensions, oid, t, &e);
    if (rc)
        fail_msg("extension %s: %d %s", oid, rc, e.what);
    assert_non_null(t->value);
}
static void f_precedence(const MMInformationObject_t *io, char *o, size_t n)
{
    struct mg_ipm_typed t;
    f_typed(io, "1.3.26.0.4406.0.2.0", &t);
    long v = *(const long *)t.value;
    snprintf(o, n, "%s (%ld)", mg_ipm_number_name("PrimaryPrecedence", v), v);
    mg_ipm_typed_free(&t);
}
static void f_msgtype(const MMInformationObject_t *io, char *o, size_t n)
{
    struct mg_ipm_typed t;
    f_typed(io, "1.3.26.0.4406.0.2.2", &t);
    const MMMessageType_t *mt = t.value;
    snprintf(o, n, "%s (%ld)", mg_ipm_number_name("TypeMessage", mt->type), mt->type);
    mg_ipm_typed_free(&t);
}
static void f_eai(const MMInformationObject_t *io, char *o, size_t n)
{
    struct mg_ipm_typed t;
    f_typed(io, "1.3.26.0.4406.0.2.5", &t);
    const OCTET_STRING_t *u = t.value; /* YYMMDDhhmmssZ */
    assert_true(u->size >= 12);
    const char *b = (const char *)u->buf;
    snprintf(o, n, "%.2s-%.2s-%.2s %.2s:%.2s:%.2s (UTC)", b, b + 2, b + 4, b + 6, b + 8, b + 10);
    mg_ipm_typed_free(&t);
}
static void f_instr(const MMInformationObject_t *io, char *o, size_t n)
{
    struct mg_ipm_typed t;
    f_typed(io, "1.3.26.0.4406.0.2.8", &t);
    const MessageInstructions_t *mi = t.value;
    assert_int_equal(mi->list.count, 1);
    os_str(mi->list.array[0], o, n);
    mg_ipm_typed_free(&t);
}
static void f_sic(const MMInformationObject_t *io, char *o, size_t n)
{
    struct mg_ipm_typed t;
    f_typed(io, "1.3.26.0.4406.0.2.6", &t);
    const MMDistributionCodes_t *dc = t.value;
    assert_non_null(dc->sics);
    os_str(dc->sics->list.array[0], o, n);
    mg_ipm_typed_free(&t);
}
static void f_nexor(const MMInformationObject_t *io, char *o, size_t n)
{
    struct mg_ipm_typed t;
    f_typed(io, "1.2.826.0.1004.10.1.1", &t);
    os_str(t.value, o, n);
    mg_ipm_typed_free(&t);
}
static void f_recipient(const MMInformationObject_t *io, char *o, size_t n)
{
    const RecipientSpecifier_t *r = io->choice.mm.heading.primary_recipients->list.array[0];
    char tmp[256];
    assert_int_equal(mg_print_orname(&asn_DEF_ORName, r->recipient.formal_name, tmp, sizeof tmp), 0);
    snprintf(o, n, "%s", tmp);
}
static void f_reply(const MMInformationObject_t *io, char *o, size_t n)
{
    const RecipientSpecifier_t *r = io->choice.mm.heading.primary_recipients->list.array[0];
    snprintf(o, n, "%s", r->reply_requested && *r->reply_requested ? "True" : "False");
}
static void f_body(const MMInformationObject_t *io, char *o, size_t n)
{
    const BodyPart_t *bp = io->choice.mm.body->list.array[0];
    assert_int_equal(bp->present, BodyPart_PR_basic);
    assert_int_equal(bp->choice.basic.present, BodyPart__basic_PR_ia5_text);
    const IA5TextData_t *d = &bp->choice.basic.choice.ia5_text.data;
    size_t k = 0;
    for (int i = 0; i < d->size && k + 3 < n; i++) { /* tshark shows CR LF as \r\n */
        if (d->buf[i] == '\r') { o[k++] = '\\'; o[k++] = 'r'; }
        else if (d->buf[i] == '\n') { o[k++] = '\\'; o[k++] = 'n'; }
        else o[k++] = (char)d->buf[i];
    }
    o[k] = '\0';
}

/* tshark key -> our field; tshark writes ADMD/PRMD as A=/P= in O/R addresses. */
static const struct {
    const char *name, *tshark_key;
    field_fn ours;
} p772_fields[] = {
    {"this-IPM user-relative-identifier", "user-relative-identifier: ", f_uri},
    {"subject", "subject: ", f_subject},
    {"primary precedence", "PrimaryPrecedence: ", f_precedence},
    {"message type", "MessageType\n                        type: ", f_msgtype},
    {"extended authorisation info", "ExtendedAuthorisationInfo: ", f_eai},
    {"message instructions", "MilitaryString: ", f_instr},
    {"distribution codes SIC", "Sic: ", f_sic},
    {"nexor originating UA", "IA5String: ", f_nexor},
    {"primary recipient O/R name", "formal-name (/C=gb/A= /P=smhs/O=lancelot", f_recipient},
    {"reply requested", "reply-requested: ", f_reply},
    {"IA5 text body", "data: ", f_body},
};

static void test_p772_sample_matches_tshark(void **state)
{
    (void)state;
    size_t len, tlen;
    unsigned char *buf = load(vec("x400/ber/wsample-p772-content.p772"), &len);
    unsigned char *txt = load(vec("x400/p772-transfer-success.tshark-V.txt"), &tlen);
    MMInformationObject_t *io = NULL;
    struct mg_ipm_error e = {0};
    int rc = mg_ipm_decode_mm(buf, len, &io, &e);
    if (rc)
        fail_msg("decode: %d at %zu: %s", rc, e.offset, e.what);
    assert_int_equal(io->present, MMInformationObject_PR_mm);
    for (size_t i = 0; i < sizeof p772_fields / sizeof p772_fields[0]; i++) {
        char want[512], got[512];
        assert_int_equal(tshark_field((const char *)txt, p772_fields[i].tshark_key, want,
                                      sizeof want), 0);
        p772_fields[i].ours(io, got, sizeof got);
        if (strcmp(p772_fields[i].name, "primary recipient O/R name") == 0) {
            /* tshark: "formal-name (/C=gb/A= /P=smhs/O=lancelot/CN=ethereal/)" */
            char t[512];
            snprintf(t, sizeof t, "/C=gb/ADMD= /PRMD=smhs/O=lancelot%.*s",
                     (int)strcspn(want, ")"), want);
            snprintf(want, sizeof want, "%s", t);
        }
        if (strcmp(want, got) != 0)
            fail_msg("%s: tshark '%s', mixgate '%s'", p772_fields[i].name, want, got);
    }
    /* notification-requests: tshark shows rn: True, nrn: True */
    const RecipientSpecifier_t *r = io->choice.mm.heading.primary_recipients->list.array[0];
    assert_non_null(r->notification_requests);
    assert_int_equal(r->notification_requests->buf[0] & 0xc0, 0xc0);
    assert_non_null(strstr((const char *)txt, "1... .... = rn: True"));
    assert_non_null(strstr((const char *)txt, ".1.. .... = nrn: True"));
    assert_int_equal(io->choice.mm.heading.extensions->list.count, 6);
    assert_non_null(strstr((const char *)txt, "extensions: 6 items"));
    check_round_trip(&asn_DEF_MMInformationObject, io);
    mg_ipm_free(&asn_DEF_MMInformationObject, io);
    free(buf);
    free(txt);
}

#ifdef MG_HAVE_BER_INDEF
static void test_p772_sample_indefinite(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = load(vec("x400/ber/wsample-p772-content.p772"), &len);
    MMInformationObject_t *a = NULL, *b = NULL;
    assert_int_equal(mg_ipm_decode_mm(buf, len, &a, NULL), 0);
    struct mg_buf d;
    der(&asn_DEF_MMInformationObject, a, &d);
    unsigned char *ind = NULL;
    size_t ilen = 0;
    assert_int_equal(ber_indef_convert(d.data, d.len, 16, &ind, &ilen), 0);
    struct mg_ipm_error e = {0};
    int rc = mg_ipm_decode_mm(ind, ilen, &b, &e);
    if (rc)
        fail_msg("indefinite form: %d at %zu: %s", rc, e.offset, e.what);
    assert_same_value(&asn_DEF_MMInformationObject, a, b);
    assert_true(ilen > d.len); /* it really was rewritten */
    free(ind);
    mg_buf_free(&d);
    mg_ipm_free(&asn_DEF_MMInformationObject, a);
    mg_ipm_free(&asn_DEF_MMInformationObject, b);
    free(buf);
}
#endif

/* ---- generated vectors ---- */

static const char *const gen_vectors[] = {
    "ipm-full-heading.p22", "ipn-receipt.p22", "ipn-nonreceipt.p22", "ipn-advice.p22",
    "p772-full.p772", "p772-acp127-response.p772",
};

static void test_generated_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof gen_vectors / sizeof gen_vectors[0]; i++) {
        char rel[256], exp[256];
        snprintf(rel, sizeof rel, "test-vectors/ipm/%s", gen_vectors[i]);
        snprintf(exp, sizeof exp, "test-vectors/ipm/%.*s.expect",
                 (int)(strrchr(gen_vectors[i], '.') - gen_vectors[i]), gen_vectors[i]);
        size_t len, elen;
        unsigned char *buf = load(own(rel), &len);
        unsigned char *expect = load(own(exp), &elen);
        asn_TYPE_descriptor_t *td = strstr(gen_vectors[i], ".p772")
                                        ? &asn_DEF_MMInformationObject
                                        : &asn_DEF_InformationObject;
        void *v = NULL;
        struct mg_ipm_error e = {0};
        int rc = mg_ipm_decode(td, buf, len, &v, &e);
        if (rc)
            fail_msg("%s: %d at %zu: %s", gen_vectors[i], rc, e.offset, e.what);
        char *tree = print_tree(td, v, 0);
        /* Every value the generator put in shows in our tree, with no undecoded open type
         * (all OIDs the vectors use are in the table). */
        for (char *line = strtok((char *)expect, "\n"); line; line = strtok(NULL, "\n"))
            if (!strstr(tree, line))
                fail_msg("%s: '%s' not in mixgate's tree:\n%s", gen_vectors[i], line, tree);
        if (strstr(tree, "undecoded BER") && !strstr(gen_vectors[i], "p22"))
            fail_msg("%s: an open type stayed undecoded:\n%s", gen_vectors[i], tree);
        check_round_trip(td, v);
#ifdef MG_HAVE_BER_INDEF
        /* The same value with indefinite lengths and segmented strings everywhere (real
         * MTAs' habit; catches asn1c's trouble with EXPLICIT tags of mixed length forms). */
        unsigned char *ind = NULL;
        size_t ilen = 0;
        assert_int_equal(ber_indef_convert(buf, len, 7, &ind, &ilen), 0);
        void *vi = NULL;
        rc = mg_ipm_decode(td, ind, ilen, &vi, &e);
        if (rc)
            fail_msg("%s in indefinite form: %d at %zu: %s", gen_vectors[i], rc, e.offset, e.what);
        assert_same_value(td, v, vi);
        char *itree = print_tree(td, vi, 0); /* and the operator sees the same thing */
        assert_string_equal(tree, itree);
        free(itree);
        free(ind);
        mg_ipm_free(td, vi);
#endif
        free(tree);
        mg_ipm_free(td, v);
        free(buf);
        free(expect);
    }
}

/* ---- open types ---- */

static void test_open_types(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = load(own("test-vectors/ipm/ipm-full-heading.p22"), &len);
    InformationObject_t *io = NULL;
    assert_int_equal(mg_ipm_decode_info(buf, len, &io, NULL), 0);
    const IPM_t *ipm = &io->choice.ipm;
    struct mg_ipm_typed t;
    /* heading extension by OID */
    assert_int_equal(mg_ipm_ext_find(ipm->heading.extensions, "2.6.1.5.2", &t, NULL), 0);
    assert_string_equal(t.entry->name, "auto-submitted");
    assert_int_equal(*(const long *)t.value, 1);
    mg_ipm_typed_free(&t);
    assert_int_equal(mg_ipm_ext_find(ipm->heading.extensions, "1.3.26.0.4406.0.2.0", &t, NULL),
                     MG_ENOTFOUND);
    /* extended body part by OID: general text is body part 5 */
    const BodyPart_t *bp = ipm->body->list.array[5];
    assert_int_equal(bp->present, BodyPart_PR_extended);
    assert_int_equal(mg_ipm_bodypart_decode(&bp->choice.extended.data, &t, NULL), 0);
    assert_ptr_equal(t.td, &asn_DEF_GeneralTextData);
    const GeneralTextData_t *g = t.value;
    assert_int_equal(g->size, 17);
    assert_memory_equal(g->buf, "General text body", 17);
    mg_ipm_typed_free(&t);
    mg_ipm_free(&asn_DEF_InformationObject, io);
    free(buf);
}

/* ---- malformed input: rc, offset and message ---- */

static const struct {
    const char *name;
    asn_TYPE_descriptor_t *td;
    const char *hex; /* input */
    int rc;
    size_t offset;
    const char *what; /* substring of the message */
} bad_cases[] = {
    {"truncated IPN", &asn_DEF_InformationObject, "a10a6b08130667656e2d69", MG_EINCOMPLETE, 0,
     "length 10 runs past the end of the input"},
    {"length of 9 octets", &asn_DEF_InformationObject, "a089010203040506070809", MG_EPARSE, 0,
     "length"},
    {"wrong tag for subject-ipm", &asn_DEF_InformationObject,
     "a10c6c0a13086765 6e2d69706d30", MG_EPARSE, 2, "subject-ipm"},
    {"trailing bytes", &asn_DEF_Sic, "1303414243 00", MG_EPARSE, 5, "trailing"},
    /* asn1c 0.9.28 loses a derived type's own constraint check after first use (its
     * inherit_TYPE_descriptor copies the base type's checker), so a top-level Sic of 2
     * characters is not caught; constraints written inline on a member still are. */
    {"language code of 1 character", &asn_DEF_ExtendedSubject, "3107 1e020041 130165",
     MG_ECONSTRAINT, 0, "constraint"},
    {"precedence is not an OCTET STRING", &asn_DEF_PrimaryPrecedence, "040103", MG_EPARSE, 0,
     "PrimaryPrecedence"},
    {"UTF8String where PrintableString belongs, deep in the heading",
     &asn_DEF_MMInformationObject, "a009 3105 6b03 0c0141 3000", MG_EPARSE, 6,
     "mm.heading.this-IPM: unexpected element [UNIVERSAL 12] in ThisIPMField; expected "
     "user-relative-identifier"},
    {"reserved length octet", &asn_DEF_InformationObject, "a0ff3100", MG_EPARSE, 0,
     "reserved length octet 0xFF"},
    {"empty", &asn_DEF_InformationObject, "", MG_EINCOMPLETE, 0, "empty"},
};

static size_t unhex(const char *h, unsigned char *out, size_t max)
{
    size_t n = 0;
    while (*h && n < max) {
        if (*h == ' ') {
            h++;
            continue;
        }
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (unsigned char)v;
        h += 2;
    }
    return n;
}

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        unsigned char in[256];
        size_t n = unhex(bad_cases[i].hex, in, sizeof in);
        void *v = (void *)1;
        struct mg_ipm_error e = {0};
        int rc = mg_ipm_decode(bad_cases[i].td, in, n, &v, &e);
        if (rc != bad_cases[i].rc || e.offset != bad_cases[i].offset ||
            !strstr(e.what, bad_cases[i].what))
            fail_msg("%s: got rc %d offset %zu '%s'; want rc %d offset %zu '%s'",
                     bad_cases[i].name, rc, e.offset, e.what, bad_cases[i].rc,
                     bad_cases[i].offset, bad_cases[i].what);
        assert_null(v);
    }
}

/* A wrongly typed extension value is reported with the extension's name. */
static void test_bad_extension_value(void **state)
{
    (void)state;
    IPMSExtension_t ext = {0};
    unsigned char oid[] = {0x2b, 0x1a, 0x00, 0xa2, 0x36, 0x00, 0x02, 0x00};
    unsigned char val[] = {0x04, 0x01, 0x03};
    ext.type.buf = oid;
    ext.type.size = sizeof oid;
    ANY_t any = {.buf = val, .size = sizeof val};
    ext.value = &any;
    struct mg_ipm_typed t;
    struct mg_ipm_error e = {0};
    assert_int_equal(mg_ipm_ext_decode(&ext, &t, &e), MG_EPARSE);
    assert_non_null(strstr(e.what, "primary-precedence (1.3.26.0.4406.0.2.0)"));
    assert_null(t.value);
}

/* The printer's JSON names the decoded open types and the RFC 2156 form. */
static void test_print_json(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = load(vec("x400/ber/wsample-p772-content.p772"), &len);
    MMInformationObject_t *io = NULL;
    assert_int_equal(mg_ipm_decode_mm(buf, len, &io, NULL), 0);
    char *js = print_tree(&asn_DEF_MMInformationObject, io, 1);
    assert_non_null(strstr(js, "\"rfc2156\":\"/C=gb/ADMD= /PRMD=smhs/O=lancelot/CN=ethereal/\""));
    assert_non_null(strstr(js, "\"type\":\"primary-precedence\",\"value\":3"));
    assert_non_null(strstr(js, "\"data\":\"hello\\r\\n\""));
    free(js);
    mg_ipm_free(&asn_DEF_MMInformationObject, io);
    free(buf);
}


/* Unknown open types print as a BER tree (tags, constructed or not, string contents). */
static void test_print_unknown_ber(void **state)
{
    (void)state;
    /* IPM whose only heading extension has an unknown OID (1.2.3.4) and a nested value:
     * SEQUENCE { [APPLICATION 1] { PrintableString "gb" }, PrintableString "smhs" } */
    static const unsigned char in[] = {
        0xa0, 0x25, 0x31, 0x21, 0x6b, 0x03, 0x13, 0x01, 0x41, 0xaf, 0x1a, 0x30, 0x18,
        0x06, 0x03, 0x2a, 0x03, 0x04, 0x30, 0x11, 0x61, 0x04, 0x13, 0x02, 0x67, 0x62,
        0x13, 0x04, 0x73, 0x6d, 0x68, 0x73, 0x05, 0x00, 0x02, 0x01, 0x07, 0x30, 0x00};
    InformationObject_t *io = NULL;
    struct mg_ipm_error e = {0};
    int rc = mg_ipm_decode_info(in, sizeof in, &io, &e);
    if (rc)
        fail_msg("decode: %d at %zu: %s", rc, e.offset, e.what);
    char *tree = print_tree(&asn_DEF_InformationObject, io, 0);
    static const char *const want[] = {
        "type: 1.2.3.4\n",
        "value (undecoded BER, 19 bytes)",
        "[UNIVERSAL 16] constructed, definite length",
        "[APPLICATION 1] constructed, definite length",
        "[UNIVERSAL 19]: \"gb\"",
        "[UNIVERSAL 19]: \"smhs\"",
        "[UNIVERSAL 5]: \n",
        "[UNIVERSAL 2]: 07",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(tree, want[i]))
            fail_msg("'%s' not in:\n%s", want[i], tree);
    free(tree);
    mg_ipm_free(&asn_DEF_InformationObject, io);
}

/* The typed IPN API on the generated receipt: fields, and DER through the typed encoder. */
static void test_ipn_typed(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = load(own("test-vectors/ipm/ipn-receipt.p22"), &len);
    InformationObject_t *io = NULL;
    assert_int_equal(mg_ipm_decode_info(buf, len, &io, NULL), 0);
    assert_int_equal(io->present, InformationObject_PR_ipn);
    const IPN_t *ipn = &io->choice.ipn;
    assert_int_equal(ipn->choice.present, IPNChoice_PR_receipt_fields);
    const ReceiptFields_t *rf = &ipn->choice.choice.receipt_fields;
    assert_int_equal(rf->receipt_time.size, 13);
    assert_memory_equal(rf->receipt_time.buf, "261123070000Z", 13);
    assert_int_equal(rf->acknowledgment_mode, AcknowledgmentModeField_automatic);
    struct mg_buf a, b;
    mg_buf_init(&a, 0);
    mg_buf_init(&b, 0);
    assert_int_equal(mg_ipm_encode_ipn(ipn, &a), 0);
    IPN_t *again = NULL;
    assert_int_equal(mg_ipm_decode_ipn(a.data, a.len, &again, NULL), 0);
    assert_int_equal(mg_ipm_encode_ipn(again, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    mg_ipm_free_ipn(again);
    mg_ipm_free_info(io);
    mg_buf_free(&a);
    mg_buf_free(&b);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p772_sample_matches_tshark),
#ifdef MG_HAVE_BER_INDEF
        cmocka_unit_test(test_p772_sample_indefinite),
#endif
        cmocka_unit_test(test_generated_vectors),
        cmocka_unit_test(test_open_types),
        cmocka_unit_test(test_ipn_typed),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bad_extension_value),
        cmocka_unit_test(test_print_json),
        cmocka_unit_test(test_print_unknown_ber),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
