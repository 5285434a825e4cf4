/* inbound_p1: the P1 listeners of mixgated (see inbound_p1.c). */
#ifndef INBOUND_P1_H
#define INBOUND_P1_H

#include "daemon.h"

/* Starts the p1 listener l into lr->p1: 0 or MG_E*. */
int inbound_p1_start(struct listener_rt *lr, const struct config_listener *l);
/* Closes it; done(lr) when every association is gone. */
void inbound_p1_close(struct listener_rt *lr, void (*done)(void *arg));

/* The queue manager started channel instances (start, reload): the p1 ones learn how to
 * reach the peers' inbound two-way-alternate associations. */
void inbound_p1_channels_started(struct daemon *d);

struct message;
/* The X.411 deferred delivery time of a message that came in over P1 (from its stored
 * envelope), unix seconds; 0 when it has none (or is not an X.400 message, or a report). */
int64_t inbound_p1_not_before(const struct message *m);

struct qmgr_opts;
/* The X.400 report builder (channels/p1/p1_report) with our global domain identifier as the
 * configuration has it at start (a reload does not change the one reports carry), and the
 * deferred delivery hook (inbound_p1_not_before). */
void inbound_p1_report_opts(struct daemon *d, struct qmgr_opts *qo);

#endif
