/* mixgate peer hold|release|flush NAME: steer deliveries to one peer. */
#include "ctl_client.h"

#include <stdio.h>
#include <string.h>

const char cmd_peer_summary[] = "peer hold|release|flush NAME: stop, restart or retry one peer's deliveries";

static void usage(FILE *f)
{
    fprintf(f, "usage: mixgate peer [-c CONFIG | -s SOCKET] hold NAME [--reason TEXT...]\n"
               "       mixgate peer [-c CONFIG | -s SOCKET] release|flush NAME\n"
               "  hold     no delivery to NAME starts (what arrives for it is deferred); kept\n"
               "           across restarts; also holds every message queued now with a\n"
               "           recipient for NAME (reason \"peer NAME held by operator\")\n"
               "  release  release the peer and the messages `peer hold` held\n"
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
    int ok = argc == 3 && (!strcmp(argv[1], "hold") || !strcmp(argv[1], "release") ||
                           !strcmp(argv[1], "flush"));
    ok = ok || (argc >= 5 && !strcmp(argv[1], "hold") && !strcmp(argv[3], "--reason"));
    if (!ok) {
        usage(stderr);
        return 2;
    }
    return ctl_client_request(sock, argc, argv);
}
