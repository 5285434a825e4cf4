/* mixgate p1: the X.400 P1 operator tools (the swaks of X.400).
 *
 *   mixgate p1 ping PEER|HOST:PORT [options]     bind, print the transcript, release
 *   mixgate p1 send --to OR --from OR [--content FILE.p772|p22] [--probe] [--label FILE] [options] PEER|HOST:PORT
 *
 * One line per PDU ("> " sent, "< " received: the COTP TPDU and the session SPDUs it carries),
 * -v adds their user data decoded (presentation, ACSE, RTSE, the bind, the MTS-APDU). PEER is an x400 peer of the configuration (-c FILE): its address,
 * selectors, mode and both names and passwords; the options override them. Exit 0 when the
 * bind (and the transfer) succeeded, 1 when the peer refused or aborted, 2 for bad usage,
 * configuration or connection errors. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "lbl_codec.h"
#include "lbl_spif.h"
#include "mg_asn1.h"
#include "mg_buf.h"
#include "mg_print.h"
#include "mg_err.h"
#include "oraddr.h"
#include "p1_assoc.h"
#include "p1_mts.h"

const char cmd_p1_summary[] = "X.400 P1 tools: ping (bind and release), send (a message or probe)";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mixgate p1 ping PEER|HOST:PORT [options]\n"
            "       mixgate p1 send --to OR-ADDRESS --from OR-ADDRESS [--content FILE] [--probe]\n"
            "                       [options] PEER|HOST:PORT\n"
            "options:\n"
            "  -c, --config FILE     where PEER is defined (default $MIXGATE_CONFIG)\n"
            "  --mode M              1988-normal (default), 1988-x410 or 1984\n"
            "  --tsel T, --ssel S, --psel P   called selectors (\"text\", 'hex'H, #number)\n"
            "  --mta NAME --password PW       our MTA name and password in the bind\n"
            "  --peer-mta NAME --peer-password PW   what the responder must answer\n"
            "  --domain OR           our global domain for the MTS identifier and the trace\n"
            "                        (default /C=XX/ADMD= /PRMD=MIXGATE-CLI/)\n"
            "  --timeout SECONDS     per step (default 30)\n"
            "  --count N             send: transfer the message N times over the association\n"
            "  --deferred SECONDS    send: a deferred delivery time that many seconds ahead\n"
            "                        (X.411 deferred-delivery-time; the MTA keeps it until then)\n"
            "  --content-type T      send: the content type, a dotted OID or a built-in number\n"
            "                        (default 22, or the P772 OID for a .p772 file)\n"
            "  --label FILE          send: the envelope's security label (X.411\n"
            "                        message-security-label), from a label in any format the\n"
            "                        label engine reads (X.411 or ESS BER, XML, SIO-Label,\n"
            "                        X-X411; a display marking needs --spif)\n"
            "  --spif FILE           the policies --label is read under (repeatable)\n"
            "  -v, --verbose         print every PDU's user data decoded too (the bind's\n"
            "                        passwords included)\n");
}

struct p1cli {
    int fd, verbose;
    int timeout_ms;
    struct p1_assoc a;
    struct mg_buf rx_tsdu[2];   /* transcript reassembly per direction */
};

static const char *spdu_name(unsigned si)
{
    switch (si) {
    case 1: return "GT/DT";
    case 2: return "PT";
    case 5: return "EX";
    case 7: return "PR";
    case 8: return "NF";
    case 9: return "FN";
    case 10: return "DN";
    case 12: return "RF";
    case 13: return "CN";
    case 14: return "AC";
    case 21: return "GTC";
    case 22: return "GTA";
    case 25: return "AB";
    case 26: return "AA";
    case 29: return "AR";
    case 33: return "AI";
    case 34: return "AIA";
    case 41: return "MAP/AE";
    case 42: return "MAA/AEA";
    case 45: return "AS";
    case 48: return "ED";
    case 49: return "MIP";
    case 50: return "MIA";
    case 53: return "RS";
    case 57: return "AD";
    case 58: return "ADA";
    default: return "?";
    }
}

static void hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 32) {
        printf("      ");
        for (size_t k = i; k < n && k < i + 32; k++)
            printf("%02x", p[k]);
        printf("\n");
    }
}

/* -v: the BER user data of an SPDU decoded and printed (mg_print) as the first of the types
 * P1 carries there that takes it whole: presentation PPDUs in normal mode, RTSE APDUs in
 * X.410 mode, the MTS-APDU; else its octets. */
static void show_user_data(const uint8_t *p, size_t n)
{
    static const char *const types[] = { "CP-type", "CPA-PPDU", "CPR-PPDU", "User-data-PPDU",
                                         "RTSE-apdus", "MTS-APDU", "ACSE-apdu" };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        const asn_TYPE_descriptor_t *td = mg_asn1_pdu_by_name(types[i]);
        void *v = NULL;
        if (!td || mg_asn1_decode(td, p, n, &v, NULL) != 0)
            continue;
        struct mg_print_opts po = { .max_bytes = 256 };
        mg_print_value(stdout, (asn_TYPE_descriptor_t *)td, v, NULL, &po);
        mg_asn1_free(td, v);
        return;
    }
    hex(p, n);
}

/* The SPDUs of a TSDU: their user data (PI 193/194, or what follows a DATA TRANSFER's
 * parameters) shown decoded. */
static void show_spdus(const uint8_t *b, size_t n)
{
    size_t k = 0;
    for (int idx = 0; k + 2 <= n; idx++) {
        unsigned si = b[k];
        size_t li = b[k + 1], h = 2;
        if (li == 0xff) {
            if (k + 4 > n)
                return;
            li = (size_t)b[k + 2] << 8 | b[k + 3];
            h = 4;
        }
        if (k + h + li > n)
            return;
        const uint8_t *par = b + k + h;
        size_t q = 0;
        while (q + 2 <= li) {
            unsigned code = par[q];
            size_t l = par[q + 1], ph = 2;
            if (l == 0xff) {
                if (q + 4 > li)
                    break;
                l = (size_t)par[q + 2] << 8 | par[q + 3];
                ph = 4;
            }
            if (q + ph + l > li)
                break;
            if (code == 193 || code == 194)
                show_user_data(par + q + ph, l);
            q += ph + l;
        }
        k += h + li;
        if ((si == 1 && idx == 0 && li == 0 && k < n) || si == 2)
            continue;  /* GIVE TOKENS / PLEASE TOKENS carrying the next SPDU */
        if (si == 1 && k < n)
            show_user_data(b + k, n - k); /* DATA TRANSFER: user information after it */
        return;
    }
}

/* One line per TPKT; DT TPDUs are gathered into their TSDU and shown as its SPDUs. */
static void transcribe(struct p1cli *c, int sent, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i + 7 <= n) {
        size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
        if (len < 7 || i + len > n)
            break;
        const uint8_t *t = p + i;
        unsigned code = t[5] & 0xf0;
        const char *dir = sent ? ">" : "<";
        if (code != 0xf0) {
            printf("%s %s (%zu octets)\n", dir,
                   code == 0xe0 ? "CR" : code == 0xd0 ? "CC" : code == 0x80 ? "DR"
                   : code == 0x70 ? "ER" : "TPDU?", len);
        } else {
            struct mg_buf *b = &c->rx_tsdu[sent];
            size_t hl = (size_t)t[4] + 5;
            if (hl <= len)
                mg_buf_append(b, t + hl, len - hl);
            if (t[6] & 0x80) {
                printf("%s DT", dir);
                size_t k = 0;
                while (k + 2 <= b->len) {
                    unsigned si = b->data[k];
                    size_t li = b->data[k + 1], h = 2;
                    if (li == 0xff && k + 4 <= b->len) {
                        li = (size_t)b->data[k + 2] << 8 | b->data[k + 3];
                        h = 4;
                    }
                    /* GT (and PT) carry the next SPDU; a DT's user data follows it. */
                    int carrier = (si == 1 && k == 0 && li == 0 && k + h < b->len) || si == 2;
                    printf(" %s", si == 1 ? (carrier ? "GT" : "DT") : spdu_name(si));
                    if (!carrier)
                        break;
                    k += h + li;
                }
                printf(" (%zu octets)\n", b->len);
                if (c->verbose)
                    show_spdus(b->data, b->len);
                b->len = 0;
            }
        }
        i += len;
    }
}

static int flush(struct p1cli *c)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    if (p1_chain_drain(&c->a.out, &b) != 0) {
        mg_buf_free(&b);
        return MG_ENOMEM;
    }
    transcribe(c, 1, b.data, b.len);
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = send(c->fd, b.data + off, b.len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            mg_buf_free(&b);
            return MG_EIO;
        }
        off += (size_t)w;
    }
    mg_buf_free(&b);
    return 0;
}

/* Reads once (waiting up to the timeout); 0, MG_ETIMEDOUT, MG_ECLOSED. */
static int receive(struct p1cli *c)
{
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    int r = poll(&pfd, 1, c->timeout_ms);
    if (r == 0) {
        p1_assoc_timeout(&c->a);
        return MG_ETIMEDOUT;
    }
    uint8_t buf[16384];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n <= 0)
        return MG_ECLOSED;
    transcribe(c, 0, buf, (size_t)n);
    p1_assoc_input(&c->a, buf, (size_t)n);
    return 0;
}

static int connect_to(const char *host, unsigned port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, 0);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static int sel_from(const char *s, struct p1_sel *out)
{
    struct config_sel cs;
    if (config_parse_sel(s, &cs) || cs.len > P1_SEL_MAX)
        return MG_EINVAL;
    memcpy(out->v, cs.v, cs.len);
    out->len = (uint8_t)cs.len;
    return 0;
}

static void sel_copy(const struct config_sel *s, struct p1_sel *out)
{
    size_t n = s->len > P1_SEL_MAX ? P1_SEL_MAX : s->len;
    memcpy(out->v, s->v, n);
    out->len = (uint8_t)n;
}

static int read_file(const char *path, struct mg_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return MG_EIO;
    uint8_t chunk[65536];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = mg_buf_append(b, chunk, n);
    if (ferror(f))
        rc = MG_EIO;
    fclose(f);
    return rc;
}

/* The conversation: bind, optionally one transfer, release. Exit code. */
static int converse(struct p1cli *c, const uint8_t *apdu, size_t apdu_len, long count)
{
    int bound = 0, sent = 0, confirmed = 0, outcome = -1;
    long done = 0;
    if (p1_assoc_start(&c->a) != 0 || flush(c) != 0)
        return 2;
    while (outcome < 0) {
        int rc = receive(c);
        struct p1_ind ind;
        while (outcome < 0 && p1_assoc_next_ind(&c->a, &ind)) {
            switch (ind.type) {
            case P1_IND_BIND_RESULT:
                if (!ind.accepted) {
                    printf("bind refused: %s\n", ind.bind_error >= 0 ? p1_bind_error_name(ind.bind_error)
                                                                    : "(no reason given)");
                    outcome = 1;
                    break;
                }
                bound = 1;
                printf("bind accepted by \"%s\" (mode %s)\n", ind.bind.name, p1_mode_name(ind.mode));
                if (apdu) {
                    if (p1_assoc_transfer(&c->a, apdu, apdu_len) != 0) {
                        printf("cannot transfer now\n");
                        outcome = 1;
                    }
                    sent = 1;
                } else {
                    p1_assoc_release(&c->a);
                }
                break;
            case P1_IND_TRANSFER_CONFIRMED:
                confirmed = 1;
                if (++done < count) {
                    /* --count: the same APDU again over this association */
                    if (p1_assoc_transfer(&c->a, apdu, apdu_len) != 0) {
                        printf("cannot transfer now\n");
                        outcome = 1;
                    }
                    break;
                }
                if (count > 1)
                    printf("%ld transfers confirmed (%zu octets each)\n", done, apdu_len);
                else
                    printf("transfer confirmed (%zu octets)\n", apdu_len);
                p1_assoc_release(&c->a);
                break;
            case P1_IND_TRANSFER_REFUSED:
                printf("transfer refused: %s\n", ind.reason);
                p1_assoc_release(&c->a);
                sent = 0;
                break;
            case P1_IND_TURN_PLEASE:
                break;
            case P1_IND_RELEASED:
                printf("released\n");
                outcome = bound && (!apdu || confirmed) ? 0 : 1;
                break;
            case P1_IND_ABORTED:
                printf("aborted: %s\n", ind.reason);
                outcome = 1;
                break;
            default:
                break;
            }
        }
        if (flush(c) != 0 && outcome < 0) {
            printf("connection lost while sending\n");
            return 2;
        }
        if (outcome < 0 && rc == MG_ECLOSED) {
            printf("connection closed by the peer\n");
            outcome = bound && (!apdu || confirmed) ? 0 : 1;
        } else if (outcome < 0 && rc == MG_ETIMEDOUT && c->a.state == P1_AS_CLOSED) {
            printf("no answer within %d s\n", c->timeout_ms / 1000);
            outcome = 1;
        }
    }
    (void)sent;
    return outcome;
}

/* --label: the label in FILE (any format the engine reads, under the --spif policies) as the
 * X.411 SecurityLabel DER of the envelope. 0, or 2 with the reason printed. */
static int label_x411(const char *path, const char *const *spifs, size_t nspifs, unsigned char **der,
                      size_t *len)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    if (read_file(path, &b) != 0) {
        fprintf(stderr, "p1: cannot read %s\n", path);
        mg_buf_free(&b);
        return 2;
    }
    struct lbl_policy_set *set = lbl_policy_set_create();
    struct lbl_err err = { "" };
    int rc = set ? 0 : 2;
    for (size_t i = 0; !rc && i < nspifs; i++) {
        struct lbl_policy *p = NULL;
        struct lbl_load_opts lo = { 0 };
        if (lbl_policy_load_file(spifs[i], &lo, &p, &err) != 0) {
            fprintf(stderr, "p1: --spif %s\n", err.msg);
            rc = 2;
        } else if (lbl_policy_set_add(set, p) == MG_ENOMEM) {
            rc = 2;
        }
    }
    struct lbl_label lb;
    lbl_label_init(&lb);
    if (!rc && lbl_decode(b.data, b.len, LBL_FMT_AUTO, set, &lb, &err) != 0) {
        fprintf(stderr, "p1: --label %s: %s\n", path, err.msg);
        rc = 2;
    }
    char *out = NULL;
    if (!rc && lbl_encode(&lb, LBL_FMT_X411, lbl_policy_set_find(set, lb.policy), &out, len, &err) != 0) {
        fprintf(stderr, "p1: --label %s: not an X.411 label: %s\n", path, err.msg);
        rc = 2;
    }
    *der = (unsigned char *)out;
    lbl_label_free(&lb);
    lbl_policy_set_free(set);
    mg_buf_free(&b);
    return rc;
}

int cmd_p1_main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "ping") && strcmp(argv[1], "send"))) {
        usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    int send_mode = !strcmp(argv[1], "send");
    enum { O_MODE = 256, O_TSEL, O_SSEL, O_PSEL, O_MTA, O_PW, O_PMTA, O_PPW, O_TO, O_FROM,
           O_CONTENT, O_PROBE, O_TIMEOUT, O_DOMAIN, O_COUNT, O_DEFERRED, O_CTYPE, O_LABEL, O_SPIF };
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "verbose", no_argument, NULL, 'v' },
        { "mode", required_argument, NULL, O_MODE }, { "tsel", required_argument, NULL, O_TSEL },
        { "ssel", required_argument, NULL, O_SSEL }, { "psel", required_argument, NULL, O_PSEL },
        { "mta", required_argument, NULL, O_MTA }, { "password", required_argument, NULL, O_PW },
        { "peer-mta", required_argument, NULL, O_PMTA },
        { "peer-password", required_argument, NULL, O_PPW },
        { "to", required_argument, NULL, O_TO }, { "from", required_argument, NULL, O_FROM },
        { "content", required_argument, NULL, O_CONTENT }, { "probe", no_argument, NULL, O_PROBE },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "domain", required_argument, NULL, O_DOMAIN },
        { "count", required_argument, NULL, O_COUNT },
        { "deferred", required_argument, NULL, O_DEFERRED },
        { "content-type", required_argument, NULL, O_CTYPE },
        { "label", required_argument, NULL, O_LABEL }, { "spif", required_argument, NULL, O_SPIF },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    const char *cfgpath = getenv("MIXGATE_CONFIG"), *mode = NULL, *tsel = NULL, *ssel = NULL,
               *psel = NULL, *mta = NULL, *pw = NULL, *pmta = NULL, *ppw = NULL, *content = NULL,
               *from = NULL, *domain = "/C=XX/ADMD= /PRMD=MIXGATE-CLI/", *ctype = NULL, *label = NULL;
    const char *spifs[8];
    size_t nspifs = 0;
    long deferred = 0;
    const char *to[64];
    size_t nto = 0;
    int verbose = 0, probe = 0, timeout = 30, c;
    long count = 1;
    optind = 2;
    while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cfgpath = optarg; break;
        case 'v': verbose = 1; break;
        case O_MODE: mode = optarg; break;
        case O_TSEL: tsel = optarg; break;
        case O_SSEL: ssel = optarg; break;
        case O_PSEL: psel = optarg; break;
        case O_MTA: mta = optarg; break;
        case O_PW: pw = optarg; break;
        case O_PMTA: pmta = optarg; break;
        case O_PPW: ppw = optarg; break;
        case O_TO:
            if (nto == 64) {
                fprintf(stderr, "p1: at most 64 --to\n");
                return 2;
            }
            to[nto++] = optarg;
            break;
        case O_FROM: from = optarg; break;
        case O_CONTENT: content = optarg; break;
        case O_PROBE: probe = 1; break;
        case O_TIMEOUT: timeout = atoi(optarg); break;
        case O_DOMAIN: domain = optarg; break;
        case O_COUNT: count = atol(optarg); break;
        case O_DEFERRED: deferred = atol(optarg); break;
        case O_CTYPE: ctype = optarg; break;
        case O_LABEL: label = optarg; break;
        case O_SPIF:
            if (nspifs == sizeof spifs / sizeof *spifs) {
                fprintf(stderr, "p1: at most 8 --spif\n");
                return 2;
            }
            spifs[nspifs++] = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc || timeout <= 0 || count < 1 || (send_mode && (!nto || !from)) ||
        deferred < 0 || (!send_mode && (nto || from || content || probe || deferred || ctype || label))) {
        usage(stderr);
        return 2;
    }
    const char *target = argv[optind];
    struct p1_assoc_cfg cfg = { .initiator = 1, .checkpoint_kib = 16, .window = 3 };
    char *host = NULL;
    unsigned port = 102;
    struct config *conf = NULL;
    const char *colon = strrchr(target, ':');
    if (colon && colon != target) {
        host = strndup(target[0] == '[' ? target + 1 : target,
                       (size_t)(colon - target) - (target[0] == '[' ? 2 : 0));
        port = (unsigned)atoi(colon + 1);
    } else {
        /* An x400 peer of the configuration. */
        struct config_errors errs = { 0 };
        if (!cfgpath) {
            fprintf(stderr, "p1: %s is not HOST:PORT; give -c FILE to look it up as a peer\n", target);
            return 2;
        }
        if (config_load(cfgpath, &conf, &errs) != 0) {
            for (size_t i = 0; i < errs.n; i++)
                fprintf(stderr, "%s\n", errs.v[i].text);
            config_errors_free(&errs);
            return 2;
        }
        const struct config_peer *p = config_find_peer(conf, target);
        if (!p || p->type != CONFIG_PEER_X400 || !p->host) {
            fprintf(stderr, "p1: %s: no x400 peer '%s' with an address\n", cfgpath, target);
            config_free(conf);
            return 2;
        }
        host = strdup(p->host);
        port = p->port;
        cfg.mode = (enum p1_mode)p->mode;
        sel_copy(&p->tsel, &cfg.called_tsel);
        sel_copy(&p->ssel, &cfg.called_ssel);
        sel_copy(&p->psel, &cfg.called_psel);
        cfg.checkpoint_kib = p->checkpoint_size;
        cfg.window = p->window;
        cfg.dialogue = p->dialogue == CONFIG_X400_TWA ? P1_DIALOGUE_TWA : P1_DIALOGUE_MONOLOGUE;
        mta = mta ? mta : p->our_mta_name;
        pw = pw ? pw : p->our_password;
        pmta = pmta ? pmta : p->mta_name;
        ppw = ppw ? ppw : p->password;
    }
    int bad = !host || port == 0 || port > 65535;
    if (!bad && mode)
        bad = p1_mode_parse(mode, &cfg.mode) != 0;
    if (!bad && tsel)
        bad = sel_from(tsel, &cfg.called_tsel) != 0;
    if (!bad && ssel)
        bad = sel_from(ssel, &cfg.called_ssel) != 0;
    if (!bad && psel)
        bad = sel_from(psel, &cfg.called_psel) != 0;
    if (bad) {
        fprintf(stderr, "p1: bad address, mode or selector\n");
        free(host);
        config_free(conf);
        return 2;
    }
    cfg.bind.authenticated = mta != NULL;
    snprintf(cfg.bind.name, sizeof cfg.bind.name, "%s", mta ? mta : "");
    if (pw) {
        snprintf(cfg.bind.password, sizeof cfg.bind.password, "%s", pw);
        cfg.bind.has_password = 1;
    }
    cfg.expect_name = pmta;
    cfg.expect_password = ppw;

    /* The APDU of send. */
    struct mg_buf body;
    mg_buf_init(&body, 0);
    uint8_t *apdu = NULL;
    size_t apdu_len = 0;
    int rc = 0;
    if (send_mode) {
        if (content && read_file(content, &body) != 0) {
            fprintf(stderr, "p1: cannot read %s\n", content);
            rc = 2;
        }
        unsigned char *lder = NULL; /* owned: the envelope's label */
        size_t llen = 0;
        if (!rc && label)
            rc = label_x411(label, spifs, nspifs, &lder, &llen);
        struct oraddr gdi;
        char why[200] = "";
        if (!rc && oraddr_parse(domain, &gdi, why, sizeof why) != 0) {
            fprintf(stderr, "p1: --domain %s: %s\n", domain, why);
            rc = 2;
        }
        char local[64];
        snprintf(local, sizeof local, "mixgate-p1-%ld-%d", (long)time(NULL), (int)getpid());
        size_t cl = content ? strlen(content) : 0;
        struct p1_mts_out o = {
            .kind = probe ? P1_MTS_PROBE : P1_MTS_MESSAGE,
            .local_id = local,
            .gdi = &gdi,
            .originator = from,
            .rcpts = to,
            .nrcpts = nto,
            .content_oid = ctype ? ctype
                           : cl > 5 && !strcmp(content + cl - 5, ".p772") ? "1.3.26.0.4406.0.4.1" : "22",
            .content = body.data,
            .content_len = body.len,
            .priority = 1,
            .now = time(NULL),
            .deferred = deferred ? (long)time(NULL) + deferred : 0,
            .label = lder,
            .label_len = llen,
        };
        if (!rc && p1_mts_build(&o, &apdu, &apdu_len, why, sizeof why) != 0) {
            fprintf(stderr, "p1: cannot build the %s: %s\n", probe ? "probe" : "message", why);
            rc = 2;
        }
        free(lder);
    }
    if (!rc) {
        struct p1cli cli = { .verbose = verbose, .timeout_ms = timeout * 1000 };
        cli.fd = connect_to(host, port);
        if (cli.fd < 0) {
            fprintf(stderr, "p1: cannot connect to %s:%u: %s\n", host, port, strerror(errno));
            rc = 2;
        } else {
            printf("connected to %s:%u (mode %s)\n", host, port, p1_mode_name(cfg.mode));
            mg_buf_init(&cli.rx_tsdu[0], 0);
            mg_buf_init(&cli.rx_tsdu[1], 0);
            p1_assoc_init(&cli.a, &cfg);
            rc = converse(&cli, apdu, apdu_len, count);
            p1_assoc_free(&cli.a);
            mg_buf_free(&cli.rx_tsdu[0]);
            mg_buf_free(&cli.rx_tsdu[1]);
            close(cli.fd);
        }
    }
    free(apdu);
    mg_buf_free(&body);
    free(host);
    config_free(conf);
    return rc;
}
