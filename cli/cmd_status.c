/* mixgate status: the daemon's state, queue counts and connections. */
#include "ctl_client.h"

#include <stdio.h>
#include <string.h>

const char cmd_status_summary[] = "daemon state, queue counts, active deliveries";

int cmd_status_main(int argc, char **argv)
{
    char sock[4096];
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: mixgate status [-c CONFIG | -s SOCKET]\n");
        return 0;
    }
    if (ctl_client_socket_path(&argc, argv, sock, sizeof sock) != 0)
        return 2;
    if (argc != 1) {
        fprintf(stderr, "usage: mixgate status [-c CONFIG | -s SOCKET]\n");
        return 2;
    }
    return ctl_client_request(sock, argc, argv);
}
