/* ctl_client: talks to mixgated's control socket for `mixgate queue` and `mixgate status`. */
#ifndef CTL_CLIENT_H
#define CTL_CLIENT_H

#include <stddef.h>

/* Finds the control socket: -s SOCKET, else -c CONFIG (its control_socket), else
 * $MIXGATE_CONTROL, else ${MIXGATE_VAR:-./var}/control.sock. Consumes those options from
 * argv (shifting the rest down) and returns the path in buf. Returns 0 or 2 (usage error). */
int ctl_client_socket_path(int *argc, char **argv, char *buf, unsigned long bufsz);

/* Sends the request words, copies body lines to stdout, prints an =ERR message to stderr.
 * Returns the exit status: 0 OK, 1 the daemon refused (e.g. no such id), 2 cannot connect. */
int ctl_client_request(const char *sock, int argc, char **argv);

/* The same, handing each body line (with its '\n', '=' unescaped) to line() instead of
 * stdout. */
int ctl_client_request_lines(const char *sock, int argc, char **argv,
                             void (*line)(void *arg, const char *l, size_t n), void *arg);

#endif
