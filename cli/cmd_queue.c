/* mixgate queue: list and steer the daemon's queue over the control socket. */
#include "ctl_client.h"

#include <stdio.h>
#include <string.h>

const char cmd_queue_summary[] = "queue list|show ID|hold ID|release ID|delete ID|retry ID|flush";

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mixgate queue [-c CONFIG | -s SOCKET] list [deferred|held|active|all]\n"
        "       mixgate queue [-c CONFIG | -s SOCKET] show|hold|release|delete|retry ID [REASON]\n"
        "       mixgate queue [-c CONFIG | -s SOCKET] flush\n"
        "  list     one line per queued message: id, state, priority, age, sender, recipients\n"
        "  show     envelope and per-recipient state of one message\n"
        "  hold     keep a message from delivery (optional reason) until released\n"
        "  release  make a held message deliverable again\n"
        "  delete   remove a message without delivering it (logged)\n"
        "  retry    try a deferred message now\n"
        "  flush    retry every deferred message now\n");
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
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *op = argv[1];
    int needs_id = !strcmp(op, "show") || !strcmp(op, "hold") || !strcmp(op, "release") ||
                   !strcmp(op, "delete") || !strcmp(op, "retry");
    int ok = needs_id ? argc >= 3 : (!strcmp(op, "list") ? argc <= 3 : !strcmp(op, "flush") && argc == 2);
    if (!ok) {
        usage(stderr);
        return 2;
    }
    /* argv[0] is "queue": the daemon gets the same words. */
    return ctl_client_request(sock, argc, argv);
}
