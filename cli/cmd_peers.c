/* mixgate peers: per SMTP and X.400 peer, deliveries open, messages queued and deferred, the
 * last error and when, the next attempt. */
#include "ctl_client.h"

#include <stdio.h>
#include <string.h>

const char cmd_peers_summary[] = "per peer: connections, queued, deferred, last error, next attempt";

int cmd_peers_main(int argc, char **argv)
{
    char sock[4096];
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: mixgate peers [-c CONFIG | -s SOCKET] [--json]\n");
        return 0;
    }
    if (ctl_client_socket_path(&argc, argv, sock, sizeof sock) != 0)
        return 2;
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json"))) {
        fprintf(stderr, "usage: mixgate peers [-c CONFIG | -s SOCKET] [--json]\n");
        return 2;
    }
    return ctl_client_request(sock, argc, argv);
}
