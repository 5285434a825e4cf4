/* admin_peers: `mixgate peers` and `mixgate peer hold|release|flush NAME` in the daemon. */
#ifndef ADMIN_PEERS_H
#define ADMIN_PEERS_H

#include "daemon.h"

/* Handles argv[0] == "peers" or "peer" and returns 1; 0 for other requests. */
int admin_peers_handle(struct daemon *d, struct control_req *req, int argc, char **argv);

#endif
