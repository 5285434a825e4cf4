/* mixgate decode: show an X.400 / STANAG 4406 / label BER file as a readable tree (or JSON),
 * with OIDs named, O/R names in RFC 2156 form and open types decoded; optionally re-encode
 * it as DER. Malformed input exits 1 with the byte offset and what was expected there. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_buf.h"
#include "mg_err.h"

#if __has_include("mg_asn1.h")
#define DECODE_HAVE_ASN1 1
#include "mg_asn1.h"
#include "mg_asn1_open.h"
#include "mg_ipm.h"
#include "mg_print.h"
#endif

const char cmd_decode_summary[] =
    "decode a BER file (P1, P22, P772, labels, OSI upper layers) as a tree or JSON";

#ifdef DECODE_HAVE_ASN1
/* Largest file accepted: a P1 message with large body parts fits comfortably. */
#define DECODE_MAX_FILE (64u * 1024u * 1024u)

struct as_type {
    const char *as;      /* --as value */
    const char *pdu;     /* asn1c PDU name (mg_asn1_pdu_by_name) */
    const char *what;    /* shown to the operator */
};

/* Tried in this order by --as auto: most specific outer tags first, then the content and
 * label types (their outer tags are common SET/SEQUENCE/[0]). */
static const struct as_type types[] = {
    {"p1", "MTS-APDU", "P1 MTS-APDU (X.411)"},
    {"p1", "MessageTransferEnvelope", "P1 message transfer envelope (X.411)"},
    /* A report as mixgate stores and delivers it (the file channel's .ber of an X.400 report):
     * the ReportTransferContent, its envelope kept beside it; and the envelopes of the other
     * two kinds of transfer. */
    {"p1", "ReportTransferContent", "P1 report transfer content (X.411 report)"},
    {"p1", "ReportTransferEnvelope", "P1 report transfer envelope (X.411)"},
    {"p1", "ProbeTransferEnvelope", "P1 probe transfer envelope (X.411)"},
    {"p1", "MTABindArgument", "P1 MTA bind argument (X.411)"},
    {"p1", "MTABindResult", "P1 MTA bind result (X.411)"},
    {"p1", "MTABindError", "P1 MTA bind error (X.411)"},
    {"p1", "MTA-Bind-Invoke", "P1 MTA bind invoke (ROS-wrapped)"},
    {"p1", "MTA-Bind-Result", "P1 MTA bind result (ROS-wrapped)"},
    {"p1", "MTA-Bind-Error", "P1 MTA bind error (ROS-wrapped)"},
    {"p772", "MMInformationObject", "P772 information object (STANAG 4406)"},
    {"p22", "InformationObject", "P2/P22 information object (X.420)"},
    {"acse", "ACSE-apdu", "ACSE APDU"},
    {"rtse", "RTSE-apdus", "RTSE APDU"},
    {"pres", "CP-type", "presentation CP PPDU"},
    {"pres", "CPA-PPDU", "presentation CPA PPDU"},
    {"pres", "CPR-PPDU", "presentation CPR PPDU"},
    {"pres", "Abort-type", "presentation abort PPDU"},
    {"pres", "User-data-PPDU", "presentation user data"},
    {"pres", "External", "EXTERNAL (presentation data value)"},
    {"ess-label", "ESSSecurityLabel", "ESS security label (RFC 2634)"},
    {"ess-label", "EquivalentLabels", "ESS equivalent labels (RFC 2634)"},
    {"x411-label", "SecurityLabel", "X.411 security label"},
    {"clearance", "Clearance", "X.841 clearance"},
};
#define NTYPES (sizeof types / sizeof types[0])

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mixgate decode [--as TYPE] [--json] [--reencode OUT] FILE|-\n"
            "  TYPE: p1 p22 p772 ess-label x411-label clearance pres acse rtse auto (default)\n"
            "  --json         print JSON instead of a tree\n"
            "  --reencode OUT write the decoded value as DER to OUT\n"
            "  --max-bytes N  show at most N bytes of each octet string (tree default 96,\n"
            "                 JSON default all)\n"
            "exit status: 0 decoded, 1 malformed input, 2 usage or file error\n");
}

static asn_TYPE_descriptor_t *td_of(const char *pdu)
{
    if (strcmp(pdu, "MMInformationObject") == 0)
        return &asn_DEF_MMInformationObject;
    if (strcmp(pdu, "InformationObject") == 0)
        return &asn_DEF_InformationObject;
    /* asn1c's descriptors are not const in 0.9.28's API; mg_asn1 hands them out as const. */
    return (asn_TYPE_descriptor_t *)(uintptr_t)mg_asn1_pdu_by_name(pdu);
}

/* Decode with the wrapper that owns the type (both locate errors). */
static int decode_as(asn_TYPE_descriptor_t *td, const unsigned char *buf, size_t len, void **out,
                     size_t *off, char *what, size_t whatsz)
{
    int rc;
    if (td == &asn_DEF_MMInformationObject || td == &asn_DEF_InformationObject) {
        struct mg_ipm_error e = {0};
        rc = mg_ipm_decode(td, buf, len, out, &e);
        *off = e.offset;
        snprintf(what, whatsz, "%s", e.what);
    } else {
        struct mg_asn1_err e = {0};
        rc = mg_asn1_decode(td, buf, len, out, &e);
        *off = e.offset;
        snprintf(what, whatsz, "%s", e.what);
    }
    return rc;
}

/* Labels from other tools break their schemas in two known ways: an empty category SET where
 * SIZE (1..MAX) forbids it (spiffing writes one for a label without categories), and an X.411
 * privacy mark sent as UTF8String where X.411 allows only PrintableString (XEP-0258 samples).
 * The strict decode refuses both; an operator still wants to see the label, with the rule it
 * breaks named. This second chance tries the label types only, leniently, and says what it
 * tolerated in note (the decode stays strict everywhere else). */
static int decode_label_lenient(const char *as, int is_auto, const unsigned char *buf, size_t len,
                                const struct as_type **hit, asn_TYPE_descriptor_t **td, void **val,
                                char *note, size_t notesz)
{
    static const char *const label_pdus[] = { "ESSSecurityLabel", "SecurityLabel", "Clearance" };
    for (size_t k = 0; k < sizeof label_pdus / sizeof label_pdus[0]; k++) {
        const struct as_type *ty = NULL;
        for (size_t i = 0; i < NTYPES; i++)
            if (!strcmp(types[i].pdu, label_pdus[k]) && (is_auto || !strcmp(types[i].as, as)))
                ty = &types[i];
        asn_TYPE_descriptor_t *t = ty ? td_of(ty->pdu) : NULL;
        if (!t)
            continue;
        struct mg_asn1_err e = {0};
        if (mg_asn1_decode_ex(t, buf, len, MG_ASN1_LENIENT_SIZES, val, &e) == 0) {
            snprintf(note, notesz, "not valid as %s: a list that must hold at least one element "
                     "is empty (shown anyway)", ty->what);
            *hit = ty;
            *td = t;
            return 0;
        }
        if (t != td_of("SecurityLabel"))
            continue;
        /* Find a top-level UTF8String (the privacy mark) in a definite-length SET and, if its
         * text is printable, decode a copy with that one tag changed to PrintableString. A
         * small walk over the outer TLVs only: asn1c has no way to relax one member's type. */
        if (len < 2 || buf[0] != 0x31)
            continue;
        size_t pos = 1, body;
        if (buf[pos] < 0x80) {
            body = buf[pos++];
        } else {
            size_t nl = buf[pos++] & 0x7f;
            if (nl == 0 || nl > 4 || pos + nl > len)
                continue;
            body = 0;
            while (nl--)
                body = (body << 8) | buf[pos++];
        }
        if (body != len - pos)
            continue;
        while (pos + 2 <= len) {
            size_t tagpos = pos, l = buf[pos + 1], hdr = 2;
            if (l >= 0x80) {
                size_t nl = l & 0x7f;
                if (nl == 0 || nl > 4 || pos + 2 + nl > len)
                    break;
                l = 0;
                for (size_t b = 0; b < nl; b++)
                    l = (l << 8) | buf[pos + 2 + b];
                hdr += nl;
            }
            if (pos + hdr + l > len)
                break;
            if (buf[tagpos] == 0x0c) {
                int printable = l > 0;
                for (size_t b = 0; b < l; b++) {
                    unsigned char ch = buf[pos + hdr + b];
                    printable &= (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                 (ch >= '0' && ch <= '9') || strchr(" '()+,-./:=?", ch) != NULL;
                }
                if (!printable)
                    break;
                unsigned char *copy = malloc(len);
                if (!copy)
                    return MG_ENOMEM;
                memcpy(copy, buf, len);
                copy[tagpos] = 0x13;   /* PrintableString */
                int rc = mg_asn1_decode_ex(t, copy, len, MG_ASN1_LENIENT_SIZES, val, &e);
                free(copy);
                if (rc == 0) {
                    snprintf(note, notesz, "not valid as %s: the privacy mark is a UTF8String, "
                             "X.411 allows only PrintableString (shown as if PrintableString)", ty->what);
                    *hit = ty;
                    *td = t;
                    return 0;
                }
                break;
            }
            pos += hdr + l;
        }
    }
    return MG_EPARSE;
}

/* P22 and P772 share their encoding; a P772 heading carries STANAG 4406 extensions. */
static int looks_p772(const InformationObject_t *io)
{
    if (io->present != InformationObject_PR_ipm)
        return 0;
    const ExtensionsField_t *x = io->choice.ipm.heading.extensions;
    for (int i = 0; x && i < x->list.count; i++) {
        char s[128];
        if (x->list.array[i] && mg_ipm_oid_str(&x->list.array[i]->type, s, sizeof s) == 0 &&
            strncmp(s, "1.3.26.0.4406.", 14) == 0)
            return 1;
    }
    return 0;
}

/* After a P1 message, show its content decoded by content type (P2, P22, P772). */
static void print_p1_content(const MTS_APDU_t *apdu, const struct mg_print_opts *po)
{
    if (apdu->present != MTS_APDU_PR_message)
        return;
    const Message_t *m = &apdu->choice.message;
    const ContentType_t *ct = &m->envelope.content_type;
    asn_TYPE_descriptor_t *ctd = NULL;
    const char *label = NULL;
    if (ct->present == ContentType_PR_built_in) {
        long b = (long)ct->choice.built_in;
        if (b == 2 || b == 22) {
            ctd = &asn_DEF_InformationObject;
            label = b == 2 ? "content (P2)" : "content (P22)";
        }
    } else if (ct->present == ContentType_PR_extended) {
        char s[128];
        const struct mg_ipm_oid_entry *e = NULL;
        if (mg_ipm_oid_str(&ct->choice.extended, s, sizeof s) == 0)
            e = mg_ipm_oid_lookup(s);
        if (e && e->kind == MG_IPM_OID_CONTENT_TYPE) {
            ctd = e->td;
            label = e->td == &asn_DEF_MMInformationObject ? "content (P772)" : "content (P22)";
        }
    }
    if (!ctd)
        return;
    void *cv = NULL;
    struct mg_ipm_error e = {0};
    int rc = mg_ipm_decode(ctd, m->content.buf, (size_t)m->content.size, &cv, &e);
    if (rc) {
        if (po->json)
            printf(",{\"content-error\":{\"offset\":%zu}}\n", e.offset);
        else
            printf("%s: does not decode: at content byte %zu: %s\n", label, e.offset, e.what);
        return;
    }
    if (po->json)
        fputs(",", stdout);
    mg_print_value(stdout, ctd, cv, label, po);
    mg_ipm_free(ctd, cv);
}

int cmd_decode_main(int argc, char **argv)
{
    const char *as = "auto", *path = NULL, *reencode = NULL;
    struct mg_print_opts po = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--as") == 0 && i + 1 < argc)
            as = argv[++i];
        else if (strncmp(argv[i], "--as=", 5) == 0)
            as = argv[i] + 5;
        else if (strcmp(argv[i], "--json") == 0)
            po.json = 1;
        else if (strcmp(argv[i], "--reencode") == 0 && i + 1 < argc)
            reencode = argv[++i];
        else if (strcmp(argv[i], "--max-bytes") == 0 && i + 1 < argc)
            po.max_bytes = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "mixgate decode: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!path)
            path = argv[i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    /* A tree is for reading: long octet strings (P1 content, file data) are cut; JSON is
     * for programs and keeps every byte unless asked otherwise. */
    if (!po.max_bytes)
        po.max_bytes = po.json ? (size_t)DECODE_MAX_FILE : 96;
    int is_auto = strcmp(as, "auto") == 0, known = is_auto;
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(types[i].as, as) == 0)
            known = 1;
    if (!known) {
        fprintf(stderr, "mixgate decode: unknown type '%s'\n", as);
        usage(stderr);
        return 2;
    }

    unsigned char *buf = NULL;
    size_t len = 0;
    /* "-" reads standard input (e.g. content cut out of a queue file by another tool). */
    int rc = mg_read_file(strcmp(path, "-") == 0 ? "/dev/stdin" : path, DECODE_MAX_FILE, &buf,
                          &len);
    if (rc) {
        fprintf(stderr, "mixgate decode: %s: %s\n", path,
                rc == MG_ETOOBIG ? "file too large"
                : rc == MG_ENOTFOUND ? "no such file" : strerror(errno));
        return 2;
    }

    /* Not well-formed BER at all: say so once, whatever the type. */
    struct mg_asn1_err be = {0};
    rc = mg_asn1_ber_check(buf, len, &be);
    if (rc) {
        fprintf(stderr, "mixgate decode: %s: %s at byte %zu (0x%zx) of %zu: %s\n", path,
                mg_strerror(rc), be.offset, be.offset, len, be.what);
        free(buf);
        return 1;
    }

    /* Try each candidate; keep the failure that got furthest into the input. */
    void *val = NULL;
    const struct as_type *hit = NULL;
    asn_TYPE_descriptor_t *td = NULL;
    size_t best_off = 0;
    char best_what[300] = "";
    const char *best_type = NULL;
    int best_rc = MG_EPARSE;
    for (size_t i = 0; i < NTYPES && !hit; i++) {
        if (!is_auto && strcmp(types[i].as, as) != 0)
            continue;
        asn_TYPE_descriptor_t *t = td_of(types[i].pdu);
        if (!t)
            continue;
        size_t off = 0;
        char what[300];
        int r = decode_as(t, buf, len, &val, &off, what, sizeof what);
        if (r == 0) {
            hit = &types[i];
            td = t;
            break;
        }
        if (!best_type || off > best_off) {
            best_off = off;
            best_rc = r;
            snprintf(best_what, sizeof best_what, "%s", what);
            best_type = types[i].what;
        }
    }
    char lenient_note[300] = "";
    if (!hit)
        decode_label_lenient(as, is_auto, buf, len, &hit, &td, &val, lenient_note, sizeof lenient_note);
    if (!hit) {
        fprintf(stderr, "mixgate decode: %s: %s at byte %zu (0x%zx) of %zu: %s%s%s\n", path,
                mg_strerror(best_rc), best_off, best_off, len, best_what,
                best_type ? " -- as " : "", best_type ? best_type : "");
        if (is_auto)
            fprintf(stderr, "  (no known type fits; tried p1 p772 p22 acse rtse pres ess-label "
                            "x411-label clearance; the attempt that got furthest is shown)\n");
        free(buf);
        return 1;
    }
    if (td == &asn_DEF_MMInformationObject && is_auto && !looks_p772(val)) {
        /* Same bits: without STANAG 4406 extensions call it P22 (what an operator expects). */
        mg_ipm_free(td, val);
        td = &asn_DEF_InformationObject;
        for (size_t i = 0; i < NTYPES; i++)
            if (strcmp(types[i].pdu, "InformationObject") == 0)
                hit = &types[i];
        size_t off;
        char what[300];
        if (decode_as(td, buf, len, &val, &off, what, sizeof what) != 0) {
            free(buf);
            return 1;
        }
    }
    /* A CP PPDU names the abstract syntax of each presentation context: use them to decode
     * its user data (ACSE, then RTSE inside ACSE's EXTERNALs, then the P1 bind). */
    struct mg_asn1_pcontext pcs[16];
    size_t npcs = 0;
    if (td == td_of("CP-type") && mg_asn1_open_pcontexts(val, pcs, 16, &npcs) == 0) {
        po.pcontexts = pcs;
        po.npcontexts = npcs;
    }
    if (!po.json)
        printf("# %s: %s, %zu bytes\n", path, hit->what, len);
    if (lenient_note[0]) {
        if (!po.json)
            printf("# note: %s\n", lenient_note);
        fprintf(stderr, "mixgate decode: %s: %s\n", path, lenient_note);
    }
    /* JSON for a P1 message is an array: the MTS-APDU, then its decoded content if any. */
    int p1 = td == td_of("MTS-APDU");
    if (po.json && p1)
        fputs("[", stdout);
    mg_print_value(stdout, td, val, NULL, &po);
    if (p1)
        print_p1_content(val, &po);
    if (po.json && p1)
        fputs("]\n", stdout);

    int ret = 0;
    if (reencode) {
        struct mg_buf out;
        mg_buf_init(&out, 0);
        rc = mg_ipm_encode(td, val, &out);
        if (rc == 0)
            rc = mg_write_file_atomic(reencode, out.data, out.len, 0644);
        if (rc) {
            fprintf(stderr, "mixgate decode: re-encoding to %s failed: %s\n", reencode,
                    mg_strerror(rc));
            ret = 2;
        } else if (!po.json) {
            printf("# DER re-encoding written to %s (%zu bytes)\n", reencode, out.len);
        }
        mg_buf_free(&out);
    }
    mg_ipm_free(td, val);
    free(buf);
    fflush(stdout);
    return ret;
}
#else
/* Built without the asn1 component (asn1c missing or generation failed at configure time):
 * say so instead of breaking the whole admin tool's build. */
int cmd_decode_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "mixgate decode: this mixgate was built without the asn1 component "
                    "(asn1c generation failed or was skipped at configure time)\n");
    return 2;
}
#endif
