/* admin_queue: `mixgate queue list|cat|history|hold|release|delete|retry` in the daemon. */
#ifndef ADMIN_QUEUE_H
#define ADMIN_QUEUE_H

#include "daemon.h"

/* Most words a request can carry (the control protocol allows fewer). */
#define CONTROL_ARGS_MAX 64

/* Handles argv (argv[0] == "queue", argv[1] the operation) and returns 1, or returns 0 when
 * the operation is not one of these. */
int admin_queue_handle(struct daemon *d, struct control_req *req, int argc, char **argv);

#endif
