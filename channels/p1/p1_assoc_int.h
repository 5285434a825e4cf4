/* p1_assoc_int: what the two files of the association machine (p1_assoc.c, the machine and
 * its data phase; p1_assoc_bind.c, its connection phase) share. Internal to mg_p1. */
#ifndef P1_ASSOC_INT_H
#define P1_ASSOC_INT_H

#include "p1_assoc.h"

int p1_assoc_x410(const struct p1_assoc *a);
/* Queue an indication (the caller fills it in). */
struct p1_ind *p1_assoc_push(struct p1_assoc *a, enum p1_ind_type type);
/* Encode SPDU sp, preceded by GT/PT when cat0 is not 0, and send it as one TSDU. */
int p1_assoc_send_spdu(struct p1_assoc *a, uint8_t cat0, const struct p1_spdu *sp);
/* Queue ABORTED with the reason, end transfers, state CLOSED. */
void p1_assoc_abort_ind(struct p1_assoc *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Send the abort fitting the state (DR before the session, AB after). */
void p1_assoc_send_abort(struct p1_assoc *a, int protocol_error);
/* A peer's protocol error: abort, ABORTED with "protocol error: what", MG_EPROTO. */
int p1_assoc_proto_fail(struct p1_assoc *a, const char *what);

int p1_assoc_bind_send_cn(struct p1_assoc *a);
int p1_assoc_bind_on_cn(struct p1_assoc *a, const struct p1_spdu *sp);
int p1_assoc_bind_on_ac_rf(struct p1_assoc *a, const struct p1_spdu *sp);

#endif
