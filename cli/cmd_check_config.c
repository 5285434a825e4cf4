/* mixgate check-config: validate a configuration file, show what it became, try routes.
 *
 *   mixgate check-config -c FILE [-v] [--label LABEL] [--route ADDRESS]...
 * Exit 0 when the file is valid, 1 when it has errors (each printed as file:line: message on
 * stderr), 2 for bad usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels.h"
#include "lsw.h"
#include "config.h"
#include "mg_err.h"
#include "route.h"

const char cmd_check_config_summary[] = "validate a configuration file (-c FILE [-v] [--route ADDR])";

static void usage(FILE *f)
{
    fprintf(f, "usage: mixgate check-config -c FILE [-v] [--label LABEL] [--route ADDRESS]...\n"
               "  -c, --config FILE   the configuration to check\n"
               "  -v, --verbose       print the effective configuration (environment expanded,\n"
               "                      defaults filled in) on stdout\n"
               "  -r, --route ADDR    print the route rule and chain ADDR takes (repeatable)\n"
               "  -l, --label LABEL   ...for a message with this security label (any text form\n"
               "                      the label engine reads, e.g. an SIO-Label or X-X411 value,\n"
               "                      or a file); without it, a message without a label\n");
}

#define MAX_ROUTE_ARGS 64

int cmd_check_config_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "verbose", no_argument, NULL, 'v' },
        { "route", required_argument, NULL, 'r' },
        { "label", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL;
    const char *label_text = NULL;
    const char *addrs[MAX_ROUTE_ARGS];
    size_t n_addrs = 0;
    int verbose = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:vr:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'v': verbose = 1; break;
        case 'l': label_text = optarg; break;
        case 'r':
            if (n_addrs == MAX_ROUTE_ARGS) {
                fprintf(stderr, "check-config: at most %d --route arguments\n", MAX_ROUTE_ARGS);
                return 2;
            }
            addrs[n_addrs++] = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }

    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    int rc = channels_config_load(path, &cfg, &errs);
    if (rc) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].text);
        if (errs.n == 0)
            fprintf(stderr, "%s: %s\n", path, mg_strerror(rc));
        else
            fprintf(stderr, "%s: %zu error%s\n", path, errs.n, errs.n == 1 ? "" : "s");
        config_errors_free(&errs);
        return 1;
    }
    config_errors_free(&errs);
    printf("%s: ok (%zu listener%s, %zu channel%s, %zu peer%s, %zu route%s%s)\n", path,
           cfg->n_listeners, cfg->n_listeners == 1 ? "" : "s",
           cfg->n_channels, cfg->n_channels == 1 ? "" : "s",
           cfg->n_peers, cfg->n_peers == 1 ? "" : "s",
           cfg->n_routes, cfg->n_routes == 1 ? "" : "s",
           cfg->default_route ? ", with default" : ", no default");
    if (verbose)
        config_dump(cfg, stdout);
    int status = 0;
    /* The label: decoded by the labels module, as the daemon's queue manager routes with it. */
    struct lsw *lsw = NULL;
    struct route_label rl = { 0 };
    unsigned char *der = NULL;
    if (n_addrs && (lsw_load(cfg, &lsw, NULL) != 0 || (label_text && !lsw))) {
        fprintf(stderr, "check-config: --label needs a configuration with a 'labels' group\n");
        config_free(cfg);
        return 2;
    }
    if (lsw) {
        rl.match = lsw_route_match;
        rl.ctx = lsw;
    }
    if (label_text) {
        char err[600];
        if (lsw_label_from_text(lsw, label_text, &der, &rl.len, err, sizeof err) != 0) {
            fprintf(stderr, "check-config: --label: %s\n", err);
            lsw_free(lsw);
            config_free(cfg);
            return 2;
        }
        rl.der = der;
    }
    for (size_t i = 0; i < n_addrs; i++) {
        const struct config_route *r;
        int lrc = route_lookup_msg(cfg, addrs[i], &rl, &r);
        if (lrc == 0) {
            char desc[512];
            printf("%s: %s\n", addrs[i], route_describe(r, desc, sizeof desc));
        } else {
            printf("%s: no route (%s)\n", addrs[i],
                   lrc == MG_ENOTFOUND ? "no rule matches and there is no default" : mg_strerror(lrc));
            status = 1;
        }
    }
    free(der);
    lsw_free(lsw);
    config_free(cfg);
    return status;
}
