/* mixgate peer hold|release|flush NAME: steer deliveries to one peer. */
#include "ctl_client.h"

#include <stdio.h>
#include <string.h>

const char cmd_peer_summary[] = "peer hold|release|flush NAME: stop, restart or retry one peer's deliveries";

static void usage(FILE *f)
{
    fprintf(f, "usage: mixgate peer [-c CONFIG | -s SOCKET] hold|release|flush NAME\n"
               "  hold     hold every message queued now with a recipient for NAME\n"
               "           (reason \"peer NAME held by operator\"; later arrivals are not held)\n"
               "  release  release the messages `peer hold` held\n"
               "  flush    retry every deferred message for NAME now\n");
}

int cmd_peer_main(int argc, char **argv)
{
    char sock[4096];
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (ctl_client_socket_path(&argc, argv, sock, sizeof sock) != 0)
        return 2;
    if (argc != 3 || (strcmp(argv[1], "hold") && strcmp(argv[1], "release") && strcmp(argv[1], "flush"))) {
        usage(stderr);
        return 2;
    }
    return ctl_client_request(sock, argc, argv);
}
