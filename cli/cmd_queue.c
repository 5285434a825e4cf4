/* mixgate queue: list and steer the daemon's queue over the control socket. The daemon checks
 * every word (an unknown or extra one is refused); this side only shows `cat` output: text
 * content as is, X.400 content decoded as `mixgate decode` shows it, or --raw bytes. */
#include "ctl_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_queue_summary[] = "queue list|cat|show|history|hold|release|delete|retry|flush";

int cmd_decode_main(int argc, char **argv);

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mixgate queue [-c CONFIG | -s SOCKET] list [FILTERS] [--json]\n"
        "       mixgate queue [-c CONFIG | -s SOCKET] cat ID [--raw]\n"
        "       mixgate queue [-c CONFIG | -s SOCKET] show ID\n"
        "       mixgate queue [-c CONFIG | -s SOCKET] history [ID]\n"
        "       mixgate queue [-c CONFIG | -s SOCKET] hold ID... | --all [FILTERS]  [--reason TEXT...]\n"
        "       mixgate queue [-c CONFIG | -s SOCKET] release|delete|retry ID... | --all [FILTERS]\n"
        "       mixgate queue [-c CONFIG | -s SOCKET] flush\n"
        "  list     one entry per message (id, '!' if held, size, arrival, sender) and one line per\n"
        "           recipient: state, peer, attempts, next attempt, last reply\n"
        "  cat      envelope and content (X.400 content decoded; --raw: the content bytes only)\n"
        "  show     envelope and per-recipient state, chain and stage of one message\n"
        "  history  finished and deleted messages, newest first; with ID that message's record,\n"
        "           its recipients if still queued, and its audit records\n"
        "  hold     keep messages from delivery until released; the reason is kept and logged\n"
        "  release  make held messages deliverable again\n"
        "  delete   remove messages without delivering them (logged)\n"
        "  retry    try deferred messages now\n"
        "  flush    retry every deferred message now\n"
        "FILTERS: --state pending|deferred|held|delivered|failed  --held  --not-held\n"
        "         --peer NAME  --channel NAME  --older 90s|30m|4h|2d  --from PATTERN  --to PATTERN\n"
        "         (patterns are shell globs, case-insensitive: '*@example.org')\n");
}

/* ---- cat ---------------------------------------------------------------------------------- */

struct cat_ctx {
    int raw;
    int in_content;        /* between "content-base64" and the END line */
    char type[32];
    unsigned char *data;   /* owned: decoded content */
    size_t len, cap;
    int bad;
};

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static void b64_append(struct cat_ctx *c, const char *l, size_t n)
{
    while (n && (l[n - 1] == '\n' || l[n - 1] == '\r'))
        n--;
    if (n % 4) {
        c->bad = 1;
        return;
    }
    if (c->len + n > c->cap) {
        size_t cap = (c->cap + n) * 2;
        unsigned char *p = realloc(c->data, cap);
        if (!p) {
            c->bad = 1;
            return;
        }
        c->data = p;
        c->cap = cap;
    }
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] = l[i + k] == '=' ? 0 : b64val((unsigned char)l[i + k]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) {
            c->bad = 1;
            return;
        }
        unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        c->data[c->len++] = (unsigned char)(w >> 16);
        if (l[i + 2] != '=')
            c->data[c->len++] = (unsigned char)(w >> 8);
        if (l[i + 3] != '=')
            c->data[c->len++] = (unsigned char)w;
    }
}

static void show_x400(struct cat_ctx *c)
{
    char path[] = "/tmp/mixgate-cat-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, c->data, c->len) != (ssize_t)c->len) {
        if (fd >= 0)
            close(fd), unlink(path);
        fprintf(stderr, "mixgate: cannot write a temporary file to decode the content\n");
        c->bad = 1;
        return;
    }
    close(fd);
    char a0[] = "decode";
    char *argv[] = { a0, path, NULL };
    fflush(stdout);
    if (cmd_decode_main(2, argv) != 0)
        printf("(the content does not decode as X.400; `mixgate queue cat --raw` gives its bytes)\n");
    fflush(stdout);
    unlink(path);
}

static void cat_line(void *arg, const char *l, size_t n)
{
    struct cat_ctx *c = arg;
    if (!c->in_content) {
        if (!strncmp(l, "content-base64 ", 15)) {
            c->in_content = 1;
            sscanf(l + 15, "%31s", c->type);
            return;
        }
        if (!c->raw)
            fwrite(l, 1, n, stdout);
        return;
    }
    if (strncmp(l, "*** END OF MESSAGE", 18) != 0) {
        b64_append(c, l, n);
        return;
    }
    c->in_content = 0;
    if (c->bad)
        return;
    if (c->raw) {
        fwrite(c->data, 1, c->len, stdout);
        return;
    }
    if (!strncmp(c->type, "x400", 4)) {
        show_x400(c);
    } else {
        fwrite(c->data, 1, c->len, stdout);
        if (c->len && c->data[c->len - 1] != '\n')
            putchar('\n');
    }
    fwrite(l, 1, n, stdout);
}

static int do_cat(const char *sock, int argc, char **argv)
{
    struct cat_ctx c = { 0 };
    for (int i = 2; i < argc; i++)
        c.raw |= !strcmp(argv[i], "--raw");
    int rc = ctl_client_request_lines(sock, argc, argv, cat_line, &c);
    free(c.data);
    if (rc == 0 && c.bad) {
        fprintf(stderr, "mixgate: the daemon's content encoding could not be read\n");
        return 1;
    }
    return rc;
}

int cmd_queue_main(int argc, char **argv)
{
    char sock[4096];
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (ctl_client_socket_path(&argc, argv, sock, sizeof sock) != 0)
        return 2;
    static const char *const ops[] = { "list", "cat", "show", "history", "hold", "release", "delete",
                                       "retry", "flush" };
    int known = 0;
    for (size_t i = 0; argc >= 2 && i < sizeof ops / sizeof *ops; i++)
        known |= !strcmp(argv[1], ops[i]);
    if (!known) {
        if (argc >= 2)
            fprintf(stderr, "mixgate queue: unknown operation '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    /* argv[0] is "queue": the daemon gets the same words and checks them. */
    if (!strcmp(argv[1], "cat"))
        return do_cat(sock, argc, argv);
    return ctl_client_request(sock, argc, argv);
}
