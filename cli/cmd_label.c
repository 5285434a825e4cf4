/* cmd_label: `mixgate label show|validate|marking|check|convert`: security labels against a SPIF
 * from the command line (labels/ library). Label files are in any supported format, detected
 * or named with --format. Exit codes: validate 0 valid / 1 invalid / 2 error; check 0 allow /
 * 1 deny / 2 error; the others 0 / 2. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lbl_check.h"
#include "lbl_codec.h"
#include "lbl_marking.h"
#include "lbl_spif.h"
#include "mg_buf.h"
#include "mg_err.h"

const char cmd_label_summary[] = "security labels: show, validate, marking, check, convert (SPIF-driven)";

#define MAX_SPIFS 8

struct opts {
    const char *spifs[MAX_SPIFS];
    int nspifs;
    const char *to_policy;
    const char *xsd;
    const char *lang;
    const char *phrase;
    const char *format;
    const char *to;
    const char *regex;
    int fix;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mixgate label show     --spif SPIF [--format F] LABEL\n"
            "       mixgate label validate --spif SPIF [--format F] LABEL\n"
            "       mixgate label marking  --spif SPIF [--lang L] [--phrase CODE] [--format F] LABEL\n"
            "       mixgate label check    --spif SPIF [--format F] LABEL CLEARANCE\n"
            "       mixgate label convert  --spif SPIF --to F [--to-policy SPIF2] [--format F] LABEL\n"
            "options: --spif may repeat (labels name their policy); --xsd spif.xsd validates SPIFs;\n"
            "  --regex RE cuts a display marking out of surrounding text (input format marking);\n"
            "  formats: xml nato ess x411 x-x411 sio marking; LABEL may be - for stdin.\n"
            "  --phrase: pageBottom (default) pageTop firstLineOfText subject xHeader documentStart\n"
            "  --fix drops categories the SPIF does not define or marks obsolete (the classification\n"
            "  is kept) before the command runs.\n");
}

static int read_input(const char *path, unsigned char **data, size_t *len)
{
    if (strcmp(path, "-"))
        return mg_read_file(path, 4 * 1024 * 1024, data, len);
    struct mg_buf b;
    mg_buf_init(&b, 4 * 1024 * 1024);
    unsigned char chunk[4096];
    ssize_t n;
    while ((n = read(0, chunk, sizeof chunk)) > 0)
        if (mg_buf_append(&b, chunk, (size_t)n)) {
            mg_buf_free(&b);
            return MG_ETOOBIG;
        }
    if (n < 0) {
        mg_buf_free(&b);
        return MG_EIO;
    }
    *data = mg_buf_steal(&b, len);
    if (!*data) {
        *data = calloc(1, 1);
        *len = 0;
    }
    return *data ? 0 : MG_ENOMEM;
}

static int load_policies(const struct opts *o, struct lbl_policy_set *set)
{
    struct lbl_load_opts lo = { .xsd_path = o->xsd };
    if (!o->nspifs) {
        fprintf(stderr, "mixgate label: --spif is required\n");
        return 2;
    }
    for (int i = 0; i < o->nspifs + (o->to_policy ? 1 : 0); i++) {
        const char *path = i < o->nspifs ? o->spifs[i] : o->to_policy;
        struct lbl_policy *p = NULL;
        struct lbl_err err = { "" };
        if (lbl_policy_load_file(path, &lo, &p, &err)) {
            fprintf(stderr, "mixgate label: %s\n", err.msg);
            return 2;
        }
        int rc = lbl_policy_set_add(set, p);
        if (rc && rc != MG_EEXIST) {
            fprintf(stderr, "mixgate label: %s: %s\n", path, mg_strerror(rc));
            return 2;
        }
    }
    return 0;
}

static int decode_label(const struct opts *o, const char *path, const struct lbl_policy_set *set,
                        struct lbl_label *l)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = read_input(path, &data, &len);
    if (rc) {
        fprintf(stderr, "mixgate label: %s: cannot read: %s\n", path, mg_strerror(rc));
        return 2;
    }
    enum lbl_format f = LBL_FMT_AUTO;
    if (o->format && lbl_format_parse(o->format, &f)) {
        fprintf(stderr, "mixgate label: unknown format %s\n", o->format);
        free(data);
        return 2;
    }
    struct lbl_err err = { "" };
    if (f == LBL_FMT_AUTO)
        f = lbl_format_detect(data, len);
    if (f == LBL_FMT_MARKING) {
        char *text = malloc(len + 1);
        if (!text) {
            free(data);
            return 2;
        }
        memcpy(text, data, len);
        text[len] = 0;
        enum lbl_loc loc = LBL_LOC_PAGEBOTTOM;
        if (o->phrase && lbl_loc_parse(o->phrase, &loc))
            loc = LBL_LOC_PAGEBOTTOM;
        rc = lbl_marking_parse(lbl_policy_set_get(set, 0), text, o->regex, o->lang, loc, l, &err);
        free(text);
    } else
        rc = lbl_decode(data, len, f, set, l, &err);
    free(data);
    if (rc) {
        fprintf(stderr, "mixgate label: %s: %s\n", path, err.msg);
        return 2;
    }
    return 0;
}

static const struct lbl_policy *policy_for(const struct lbl_policy_set *set, const struct lbl_label *l)
{
    struct lbl_err err = { "" };
    const struct lbl_policy *p = lbl_policy_of(set, l, &err);
    if (!p)
        fprintf(stderr, "mixgate label: %s\n", err.msg);
    return p;
}

static int do_show(const struct opts *o, struct lbl_policy_set *set, const struct lbl_label *l)
{
    const struct lbl_policy *p = policy_for(set, l);
    if (!p)
        return 2;
    printf("policy: %s (%s)\n", lbl_policy_name(p), l->policy);
    if (l->has_class) {
        const char *cn = lbl_policy_class_name(p, l->class_lacv);
        printf("classification: %s (%lu)\n", cn ? cn : "UNKNOWN", l->class_lacv);
    }
    if (l->privacy_mark)
        printf("privacy mark: %s\n", l->privacy_mark);
    for (size_t i = 0; i < l->ncats; i++) {
        const char *tn = lbl_policy_tagset_name(p, l->cats[i].tagset);
        const char *cn = lbl_policy_cat_name(p, l->cats[i].tagset, l->cats[i].type, l->cats[i].lacv);
        printf("category: %s / %s %s (%s, lacv %lu)\n", tn ? tn : l->cats[i].tagset, cn ? cn : "UNKNOWN",
               lbl_tag_type_name(l->cats[i].type), l->cats[i].tagset, l->cats[i].lacv);
    }
    struct lbl_err err = { "" };
    char *m = NULL;
    if (lbl_marking(p, l, o->lang, LBL_LOC_PAGEBOTTOM, &m, &err) == 0)
        printf("marking: %s\n", m);
    free(m);
    struct lbl_reasons why;
    int v = lbl_validate(p, l, &why);
    printf("valid: %s\n", v ? "yes" : "no");
    for (unsigned i = 0; i < why.n; i++)
        printf("  reason: %s\n", why.r[i]);
    return 0;
}

static int do_validate(struct lbl_policy_set *set, const struct lbl_label *l)
{
    const struct lbl_policy *p = policy_for(set, l);
    if (!p)
        return 1; /* a label under a policy we do not hold is not valid here */
    struct lbl_reasons why;
    if (lbl_validate(p, l, &why)) {
        printf("valid\n");
        return 0;
    }
    printf("invalid\n");
    for (unsigned i = 0; i < why.n; i++)
        printf("reason: %s\n", why.r[i]);
    return 1;
}

static int do_marking(const struct opts *o, struct lbl_policy_set *set, const struct lbl_label *l)
{
    const struct lbl_policy *p = policy_for(set, l);
    if (!p)
        return 2;
    enum lbl_loc loc = LBL_LOC_PAGEBOTTOM;
    if (o->phrase && lbl_loc_parse(o->phrase, &loc)) {
        fprintf(stderr, "mixgate label: unknown --phrase %s\n", o->phrase);
        return 2;
    }
    struct lbl_err err = { "" };
    char *m = NULL;
    if (lbl_marking(p, l, o->lang, loc, &m, &err)) {
        fprintf(stderr, "mixgate label: %s\n", err.msg);
        return 2;
    }
    printf("%s\n", m);
    free(m);
    return 0;
}

static int do_check(const struct opts *o, struct lbl_policy_set *set, const struct lbl_label *l, const char *cpath)
{
    const struct lbl_policy *p = policy_for(set, l);
    if (!p)
        return 2;
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = read_input(cpath, &data, &len);
    if (rc) {
        fprintf(stderr, "mixgate label: %s: cannot read: %s\n", cpath, mg_strerror(rc));
        return 2;
    }
    struct lbl_clearance c;
    lbl_clearance_init(&c);
    struct lbl_err err = { "" };
    rc = lbl_decode_clearance(data, len, set, &c, &err);
    free(data);
    if (rc) {
        fprintf(stderr, "mixgate label: %s: %s\n", cpath, err.msg);
        return 2;
    }
    struct lbl_rlabel rl;
    struct lbl_rclear rcl;
    if (lbl_resolve(p, l, &rl, &err) || lbl_resolve_clearance(p, &c, &rcl, &err)) {
        fprintf(stderr, "mixgate label: %s\n", err.msg);
        lbl_clearance_free(&c);
        return 2;
    }
    lbl_clearance_free(&c);
    int allow = lbl_decide(&rl, &rcl, &err);
    printf("%s: %s\n", allow ? "allow" : "deny", err.msg);
    return allow ? 0 : 1;
}

static int do_convert(const struct opts *o, struct lbl_policy_set *set, const struct lbl_label *l)
{
    if (!o->to) {
        fprintf(stderr, "mixgate label convert: --to FORMAT is required\n");
        return 2;
    }
    enum lbl_format f;
    if (lbl_format_parse(o->to, &f) || f == LBL_FMT_AUTO) {
        fprintf(stderr, "mixgate label: unknown format %s\n", o->to);
        return 2;
    }
    struct lbl_err err = { "" };
    struct lbl_label t;
    lbl_label_init(&t);
    if (o->to_policy) {
        const struct lbl_policy *dst = lbl_policy_set_get(set, lbl_policy_set_count(set) - 1);
        if (lbl_translate(set, l, lbl_policy_oid(dst), &t, &err)) {
            fprintf(stderr, "mixgate label: %s\n", err.msg);
            return 2;
        }
    } else if (lbl_label_copy(&t, l)) {
        return 2;
    }
    const struct lbl_policy *p = lbl_policy_set_find(set, t.policy);
    char *out = NULL;
    size_t len = 0;
    int rc = lbl_encode(&t, f, p, &out, &len, &err);
    lbl_label_free(&t);
    if (rc) {
        fprintf(stderr, "mixgate label: %s\n", err.msg);
        return 2;
    }
    fwrite(out, 1, len, stdout);
    if (f != LBL_FMT_ESS && f != LBL_FMT_X411 && (!len || out[len - 1] != '\n'))
        fputc('\n', stdout);
    free(out);
    return 0;
}

int cmd_label_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    struct opts o = { .nspifs = 0 };
    static const struct option lo[] = {
        { "spif", required_argument, NULL, 's' },   { "to-policy", required_argument, NULL, 'P' },
        { "xsd", required_argument, NULL, 'x' },    { "lang", required_argument, NULL, 'l' },
        { "phrase", required_argument, NULL, 'p' }, { "format", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },     { "regex", required_argument, NULL, 'r' },
        { "fix", no_argument, NULL, 'F' },          { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "s:P:x:l:p:f:t:r:h", lo, NULL)) != -1) {
        switch (c) {
        case 's':
            if (o.nspifs >= MAX_SPIFS) {
                fprintf(stderr, "mixgate label: at most %d --spif\n", MAX_SPIFS);
                return 2;
            }
            o.spifs[o.nspifs++] = optarg;
            break;
        case 'P': o.to_policy = optarg; break;
        case 'x': o.xsd = optarg; break;
        case 'l': o.lang = optarg; break;
        case 'p': o.phrase = optarg; break;
        case 'f': o.format = optarg; break;
        case 't': o.to = optarg; break;
        case 'r': o.regex = optarg; break;
        case 'F': o.fix = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int need = !strcmp(sub, "check") ? 2 : 1;
    if (argc - optind != need || (strcmp(sub, "show") && strcmp(sub, "validate") && strcmp(sub, "marking") &&
                                  strcmp(sub, "check") && strcmp(sub, "convert"))) {
        usage(stderr);
        return 2;
    }
    struct lbl_policy_set *set = lbl_policy_set_create();
    if (!set)
        return 2;
    int rc = load_policies(&o, set);
    struct lbl_label l;
    lbl_label_init(&l);
    if (!rc)
        rc = decode_label(&o, argv[optind], set, &l);
    if (!rc && o.fix) {
        const struct lbl_policy *p = lbl_policy_set_find(set, l.policy);
        unsigned dropped = 0;
        if (p && lbl_correct(p, &l, LBL_FIX_DROP_UNKNOWN | LBL_FIX_DROP_OBSOLETE, &dropped) == 0 && dropped)
            fprintf(stderr, "mixgate label: --fix dropped %u categor%s\n", dropped, dropped == 1 ? "y" : "ies");
    }
    if (!rc) {
        if (!strcmp(sub, "show"))
            rc = do_show(&o, set, &l);
        else if (!strcmp(sub, "validate"))
            rc = do_validate(set, &l);
        else if (!strcmp(sub, "marking"))
            rc = do_marking(&o, set, &l);
        else if (!strcmp(sub, "check"))
            rc = do_check(&o, set, &l, argv[optind + 1]);
        else
            rc = do_convert(&o, set, &l);
    }
    lbl_label_free(&l);
    lbl_policy_set_free(set);
    return rc;
}
