/* mixgate mixer: run the MIXER conversion (RFC 2156 / 2157 / 6477, the mixer library) on a
 * file offline, for operators checking a mapping:
 *   mixgate mixer to-x400 [options] FILE      RFC 5322 -> P22/P772 (tree, or BER with --ber)
 *   mixgate mixer to-smtp [options] FILE      P22/P772 BER -> RFC 5322
 *   mixgate mixer map [options] ADDRESS...    an RFC 822 address <-> an O/R address
 * options: --tables DIR (rfc2or and or2rfc; gate1 and gate2 when present), --domain D (the gateway's domain for X.400
 * users, default x400.example), --or-address OR (its O/R address for Internet users),
 * --content p22|p772. Exit 1 when a conversion fails, with the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_buf.h"
#include "mg_err.h"

#if __has_include("mixer_conv.h")
#define MIXER_CLI 1
#include "mg_ipm.h"
#include "mg_print.h"
#include "mixer_addr.h"
#include "mixer_conv.h"
#endif

const char cmd_mixer_summary[] =
    "convert a message between RFC 5322 and X.400 (MIXER) or map an address, offline";

static void usage(FILE *f)
{
    fprintf(f, "usage: mixgate mixer to-x400|to-smtp [options] FILE\n"
               "       mixgate mixer map [options] ADDRESS...\n"
               "  --tables DIR       MCGAM tables DIR/rfc2or and DIR/or2rfc (RFC 2156 app. F), and\n"
               "                     the preferred-gateway tables DIR/gate1, DIR/gate2 if there\n"
               "  --domain D         the gateway's Internet domain for X.400 users "
               "(default x400.example)\n"
               "  --or-address OR    the gateway's O/R address for Internet users\n"
               "                     (default /C=GB/ADMD= /PRMD=Example/O=MIXER/)\n"
               "  --content p2|p22|p772  what RFC 5322 becomes (default p22; p2 = 1984)\n"
               "  --ber              to-x400: write the BER to stdout instead of a tree\n"
               "  --mdn              to-smtp: a notification (IPN) as an RFC 8098 MDN\n");
}

#ifdef MIXER_CLI
static int load(struct mixer_tables *t, const char *dir)
{
    /* tables 1 and 2 must be there; 3 and 4 (preferred gateways) when present */
    const char *names[MIXER_TABLE_KINDS] = {"rfc2or", "or2rfc", "gate1", "gate2"};
    for (int k = 0; k < MIXER_TABLE_KINDS; k++) {
        char p[4096], err[600] = "";
        unsigned char *text = NULL;
        size_t len = 0;
        snprintf(p, sizeof p, "%s/%s", dir, names[k]);
        int rc = mg_read_file(p, 64u << 20, &text, &len);
        if (rc == MG_ENOTFOUND && k >= MIXER_TABLE_GATE1)
            continue;
        if (rc) {
            fprintf(stderr, "mixgate mixer: %s: %s\n", p, mg_strerror(rc));
            return 1;
        }
        rc = mixer_tables_load(t, (enum mixer_table_kind)k, p, (const char *)text, len, err,
                               sizeof err);
        free(text);
        if (rc) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    char err[600] = "";
    if (mixer_tables_check(t, err, sizeof err))
        fprintf(stderr, "warning: %s\n", err);
    return 0;
}
#endif

int cmd_mixer_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
#ifndef MIXER_CLI
    fprintf(stderr, "mixgate mixer: this build has no mixer library\n");
    return 2;
#else
    const char *mode = argv[1], *tables = NULL, *domain = "x400.example";
    const char *or = "/C=GB/ADMD= /PRMD=Example/O=MIXER/";
    enum mixer_content ct = MIXER_CONTENT_P22;
    int ber = 0, mdn = 0, first = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--tables") && i + 1 < argc)
            tables = argv[++i];
        else if (!strcmp(argv[i], "--domain") && i + 1 < argc)
            domain = argv[++i];
        else if (!strcmp(argv[i], "--or-address") && i + 1 < argc)
            or = argv[++i];
        else if (!strcmp(argv[i], "--content") && i + 1 < argc) {
            i++;
            ct = !strcmp(argv[i], "p772") ? MIXER_CONTENT_P772
                 : !strcmp(argv[i], "p2") ? MIXER_CONTENT_P2
                                          : MIXER_CONTENT_P22;
        } else if (!strcmp(argv[i], "--ber"))
            ber = 1;
        else if (!strcmp(argv[i], "--mdn"))
            mdn = 1;
        else if (argv[i][0] == '-' && argv[i][1] == '-') {
            usage(stderr);
            return 2;
        } else if (!first)
            first = i;
    }
    if (!first || (strcmp(mode, "to-x400") && strcmp(mode, "to-smtp") && strcmp(mode, "map"))) {
        usage(stderr);
        return 2;
    }
    struct mixer_tables t;
    struct mixer_gw gw;
    char why[600] = "";
    int status = 0;
    mixer_tables_init(&t);
    memset(&gw, 0, sizeof gw);
    gw.tables = &t;
    snprintf(gw.domain, sizeof gw.domain, "%s", domain);
    if (mdn)
        gw.flags |= MIXER_GW_IPN_AS_MDN;
    if (mixer_or_parse(or, strlen(or), &gw.or, why, sizeof why)) {
        fprintf(stderr, "mixgate mixer: --or-address: %s\n", why);
        return 2;
    }
    if (tables && load(&t, tables)) {
        mixer_tables_free(&t);
        return 1;
    }
    if (!strcmp(mode, "map")) {
        for (int i = first; i < argc; i++) {
            const char *a = argv[i];
            char out[2048];
            enum mixer_addr_how how;
            struct mixer_or o;
            int rc;
            if (a[0] == '-')
                continue;
            if (a[0] == '/' || a[0] == ';') {
                rc = mixer_or_parse(a, strlen(a), &o, why, sizeof why);
                if (!rc)
                    rc = mixer_addr_to_822(&gw, &o, out, sizeof out, &how, why, sizeof why);
            } else {
                rc = mixer_addr_to_or(&gw, a, strlen(a), &o, &how, why, sizeof why);
                if (!rc)
                    rc = mixer_or_print(&o, out, sizeof out);
            }
            if (rc) {
                printf("%s\tERROR\t%s\n", a, why);
                status = 1;
            } else {
                printf("%s\t%s\t%s\n", a, out, mixer_addr_how_name(how));
            }
        }
        mixer_tables_free(&t);
        return status;
    }
    unsigned char *in = NULL;
    size_t len = 0;
    int rc = mg_read_file(argv[first], MIXER_CONV_MAX_OUT, &in, &len);
    if (rc) {
        fprintf(stderr, "mixgate mixer: %s: %s\n", argv[first], mg_strerror(rc));
        mixer_tables_free(&t);
        return 1;
    }
    struct mg_buf out;
    mg_buf_init(&out, 0);
    rc = !strcmp(mode, "to-x400") ? mixer_conv_to_x400(&gw, ct, in, len, &out, why, sizeof why)
                                  : mixer_conv_to_822(&gw, ct, in, len, &out, why, sizeof why);
    if (rc) {
        fprintf(stderr, "mixgate mixer: %s: %s\n", argv[first], why);
        status = 1;
    } else if (!strcmp(mode, "to-x400") && !ber) {
        void *v = NULL;
        struct mg_ipm_error err;
        asn_TYPE_descriptor_t *td =
            ct == MIXER_CONTENT_P772 ? &asn_DEF_MMInformationObject : &asn_DEF_InformationObject;
        if (mg_ipm_decode(td, out.data, out.len, &v, &err) == 0) {
            struct mg_print_opts o = {0};
            mg_print_value(stdout, td, v, NULL, &o);
            mg_ipm_free(td, v);
        }
    } else {
        fwrite(out.data, 1, out.len, stdout);
    }
    mg_buf_free(&out);
    free(in);
    mixer_tables_free(&t);
    return status;
#endif
}
