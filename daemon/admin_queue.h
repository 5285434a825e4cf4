/* admin_queue: `mixgate queue list|cat|history|hold|release|delete|retry` in the daemon. */
#ifndef ADMIN_QUEUE_H
#define ADMIN_QUEUE_H

#include "daemon.h"

/* Most words a request can carry (the control protocol allows fewer). */
#define CONTROL_ARGS_MAX 64

/* Every queued id, read before the messages themselves (a list callback must not read
 * messages: one read connection). The caller frees v. */
struct admin_ids {
    char (*v)[MESSAGE_ID_SIZE]; /* owned */
    size_t n, cap;
};
int admin_queue_ids(struct daemon *d, struct admin_ids *iv);

/* Handles argv (argv[0] == "queue", argv[1] the operation) and returns 1, or returns 0 when
 * the operation is not one of these. */
int admin_queue_handle(struct daemon *d, struct control_req *req, int argc, char **argv);

/* Writes s (NULL: "") as a JSON string (RFC 8259): quotes, backslash and control bytes
 * escaped; other bytes as they are. */
void admin_json_str(struct control_req *req, const char *s);

#endif
