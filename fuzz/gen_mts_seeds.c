/* gen_mts_seeds: writes the asn1_mts_apdu seeds (fuzz/corpus/asn1_mts_apdu/gen-*.ber) with the
 * project's own encoder: P1 messages carrying our P22 and P772 vectors (test-vectors/ipm) under
 * built-in and extended content types with envelope and per-recipient extensions, a probe and
 * reports (delivered and non-delivered). Values are written in XER (readable here), decoded by
 * asn1c and DER-encoded by mg_asn1. Run by fuzz/gen-asn1-corpus.sh.
 * usage: gen_mts_seeds IPM_VECTOR_DIR OUT_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_asn1.h"
#include "mg_asn1_open.h"
#include "mg_buf.h"
#include "PerRecipientMessageTransferFields.h"

#define GDI_XER                                                                            \
    "<global-domain-identifier><country-name><iso-3166-alpha2-code>gb</iso-3166-alpha2-code>" \
    "</country-name><administration-domain-name><printable> </printable>"                  \
    "</administration-domain-name><private-domain-identifier><printable>mixgate</printable>" \
    "</private-domain-identifier></global-domain-identifier>"
#define ORNAME_XER(org, surname)                                                           \
    "<built-in-standard-attributes><country-name><iso-3166-alpha2-code>gb"                 \
    "</iso-3166-alpha2-code></country-name><administration-domain-name><printable> "       \
    "</printable></administration-domain-name><private-domain-name><printable>mixgate"     \
    "</printable></private-domain-name><organization-name>" org "</organization-name>"     \
    "<personal-name><surname>" surname "</surname></personal-name>"                        \
    "</built-in-standard-attributes>"
#define TRACE_XER                                                                          \
    "<trace-information><TraceInformationElement>" GDI_XER                                 \
    "<domain-supplied-information><arrival-time>261207020000Z</arrival-time>"              \
    "<routing-action><relayed/></routing-action></domain-supplied-information>"            \
    "</TraceInformationElement></trace-information>"
#define RECIP_XER(n, surname)                                                              \
    "<PerRecipientMessageTransferFields><recipient-name>" ORNAME_XER("example", surname)   \
    "</recipient-name><originally-specified-recipient-number>" n                           \
    "</originally-specified-recipient-number><per-recipient-indicators>10010000"           \
    "</per-recipient-indicators></PerRecipientMessageTransferFields>"
#define MESSAGE_XER(ctype)                                                                 \
    "<MTS-APDU><message><envelope>"                                                        \
    "<message-identifier>" GDI_XER "<local-identifier>msg-0001</local-identifier>"         \
    "</message-identifier><originator-name>" ORNAME_XER("example", "alice")                \
    "</originator-name><content-type>" ctype "</content-type>"                             \
    "<content-identifier>seed</content-identifier><priority><urgent/></priority>"          \
    "<per-message-indicators>1000</per-message-indicators>" TRACE_XER                      \
    "<per-recipient-fields>" RECIP_XER("1", "bob") RECIP_XER("2", "carol")                 \
    "</per-recipient-fields></envelope><content></content></message></MTS-APDU>"

static const char probe_xer[] =
    "<MTS-APDU><probe>"
    "<probe-identifier>" GDI_XER "<local-identifier>probe-0001</local-identifier></probe-identifier>"
    "<originator-name>" ORNAME_XER("example", "prober") "</originator-name>"
    "<content-type><built-in>22</built-in></content-type>"
    "<content-length>1234</content-length>" TRACE_XER
    "<per-recipient-fields><PerRecipientProbeTransferFields>"
    "<recipient-name>" ORNAME_XER("example", "target") "</recipient-name>"
    "<originally-specified-recipient-number>1</originally-specified-recipient-number>"
    "<per-recipient-indicators>10010000</per-recipient-indicators>"
    "</PerRecipientProbeTransferFields></per-recipient-fields>"
    "</probe></MTS-APDU>";

#define REPORT_XER(rtype)                                                                  \
    "<MTS-APDU><report><envelope>"                                                         \
    "<report-identifier>" GDI_XER "<local-identifier>report-0001</local-identifier>"       \
    "</report-identifier><report-destination-name>" ORNAME_XER("example", "alice")         \
    "</report-destination-name>" TRACE_XER "</envelope><content>"                          \
    "<subject-identifier>" GDI_XER "<local-identifier>msg-0001</local-identifier>"         \
    "</subject-identifier><per-recipient-fields><PerRecipientReportTransferFields>"        \
    "<actual-recipient-name>" ORNAME_XER("example", "bob") "</actual-recipient-name>"      \
    "<originally-specified-recipient-number>1</originally-specified-recipient-number>"     \
    "<per-recipient-indicators>10000000</per-recipient-indicators>"                        \
    "<last-trace-information><arrival-time>261207020100Z</arrival-time>"                   \
    "<report-type>" rtype "</report-type></last-trace-information>"                        \
    "</PerRecipientReportTransferFields></per-recipient-fields>"                           \
    "</content></report></MTS-APDU>"

static MTS_APDU_t *from_xer(const char *xer)
{
    MTS_APDU_t *a = NULL;
    asn_dec_rval_t r = xer_decode(NULL, &asn_DEF_MTS_APDU, (void **)&a, xer, strlen(xer));
    if (r.code != RC_OK) {
        fprintf(stderr, "gen_mts_seeds: XER does not decode (at %zu)\n", r.consumed);
        exit(1);
    }
    return a;
}

/* A message-security-label extension (policy 1.3.26.1.3.1, secret, critical for delivery). */
static Extensions_t *label_ext(void)
{
    SecurityLabel_t *l = calloc(1, sizeof *l);
    Extensions_t *ex = calloc(1, sizeof *ex);
    ExtensionField_t *f = calloc(1, sizeof *f);
    if (!l || !ex || !f || !(l->security_policy_identifier = calloc(1, sizeof(OBJECT_IDENTIFIER_t))) ||
        !(l->security_classification = calloc(1, sizeof *l->security_classification)) ||
        mg_asn1_oid_set(l->security_policy_identifier, "1.3.26.1.3.1"))
        exit(1);
    *l->security_classification = 4;
    if (mg_asn1_open_ext_set_std(f, 20, l, 1u << 2) || ASN_SET_ADD(&ex->list, f))
        exit(1);
    mg_asn1_free_SecurityLabel(l);
    return ex;
}

static void write_der(const char *dir, const char *name, const MTS_APDU_t *a)
{
    unsigned char *d = NULL;
    size_t n = 0;
    char path[1024];
    if (mg_asn1_encode_der(&asn_DEF_MTS_APDU, a, &d, &n)) {
        fprintf(stderr, "gen_mts_seeds: %s does not encode\n", name);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n || fclose(f)) {
        fprintf(stderr, "gen_mts_seeds: cannot write %s\n", path);
        exit(1);
    }
    free(d);
}

static void message(const char *vecdir, const char *vec, const char *ctype_xer, int exts,
                    const char *outdir, const char *name)
{
    char xer[8192], path[1024];
    /* MESSAGE_XER takes the content type as a literal: splice it in at the placeholder */
    static const char tmpl[] = MESSAGE_XER("@");
    const char *at = strchr(tmpl, '@');
    snprintf(xer, sizeof xer, "%.*s%s%s", (int)(at - tmpl), tmpl, ctype_xer, at + 1);
    MTS_APDU_t *a = from_xer(xer);
    unsigned char *c = NULL;
    size_t clen = 0;
    snprintf(path, sizeof path, "%s/%s", vecdir, vec);
    if (mg_read_file(path, 1u << 20, &c, &clen) ||
        OCTET_STRING_fromBuf(&a->choice.message.content, (const char *)c, (int)clen)) {
        fprintf(stderr, "gen_mts_seeds: cannot read %s\n", path);
        exit(1);
    }
    free(c);
    if (exts) {
        a->choice.message.envelope.extensions = label_ext();
        a->choice.message.envelope.per_recipient_fields.list.array[0]->extensions = label_ext();
    }
    write_der(outdir, name, a);
    mg_asn1_free_MTS_APDU(a);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_mts_seeds IPM_VECTOR_DIR OUT_DIR\n");
        return 2;
    }
    const char *v = argv[1], *o = argv[2];
    message(v, "ipm-full-heading.p22", "<built-in>22</built-in>", 1, o, "gen-message-p22.ber");
    message(v, "ipn-receipt.p22", "<built-in>2</built-in>", 0, o, "gen-message-p2-ipn.ber");
    message(v, "p772-full.p772", "<extended>1.3.26.0.4406.0.4.1</extended>", 1, o,
            "gen-message-p772.ber");
    message(v, "p772-acp127-response.p772", "<extended>1.3.26.0.4406.0.4.1</extended>", 0, o,
            "gen-message-p772-acp127.ber");
    MTS_APDU_t *a = from_xer(probe_xer);
    a->choice.probe.extensions = label_ext();
    write_der(o, "gen-probe.ber", a);
    mg_asn1_free_MTS_APDU(a);
    a = from_xer(REPORT_XER("<non-delivery><non-delivery-reason-code>1</non-delivery-reason-code>"
                            "<non-delivery-diagnostic-code>0</non-delivery-diagnostic-code>"
                            "</non-delivery>"));
    a->choice.report.envelope.extensions = label_ext();
    write_der(o, "gen-report-ndr.ber", a);
    mg_asn1_free_MTS_APDU(a);
    a = from_xer(REPORT_XER("<delivery><message-delivery-time>261207020100Z"
                            "</message-delivery-time><type-of-MTS-user>2</type-of-MTS-user>"
                            "</delivery>"));
    write_der(o, "gen-report-delivered.ber", a);
    mg_asn1_free_MTS_APDU(a);
    return 0;
}
