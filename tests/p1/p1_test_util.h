/* p1_test_util: helpers of the P1 stack tests: reading the shared X.400 vectors (skipping
 * loudly without them), and driving p1_assoc machines (one fed a recorded stream, or two
 * wired to each other in memory) while recording what each side sent. */
#ifndef P1_TEST_UTIL_H
#define P1_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"
#include "p1_assoc.h"
#include "p1_twa.h"

/* Read $MIXGATE_VECTORS/x400/rel into out; 0, or -1 after printing why (caller skips). */
int ptu_vector(const char *rel, struct mg_buf *out);

/* What a test side does with indications. */
struct ptu_side {
    struct p1_assoc a;
    const char *expect_name, *expect_password;  /* responder: the peer it accepts */
    int busy, deny_twa;                         /* responder: p1_bind_decide's other inputs */
    struct p1_bind answer;                      /* responder: our bind result */
    int defer_durable;                          /* APDUs: 1 = leave them unacknowledged */
    /* What happened. */
    int bind_requests, bind_accepted, bind_refused, apdus, confirmed, released, aborted;
    int turn_please, turn_received, transfer_refused, transfer_discarded;
    long bind_error;
    char abort_reason[160];
    struct p1_bind peer_bind;
    struct p1_ind last_bind_request;            /* responder: the whole indication */
    struct mg_buf last_apdu;                    /* copy of the last APDU delivered */
    struct mg_buf sent;                         /* everything this side wrote */
    size_t max_unconfirmed;                     /* largest vm - va seen while sending */
    /* Optional: sees every octet this side writes, in order (pcap writers). */
    void (*tap)(void *arg, int from_responder, const uint8_t *p, size_t n);
    void *tap_arg;
    /* Optional (responder): our sending side over the peer's two-way-alternate association;
     * sees each indication first and is told of the accepted bind. */
    struct p1_twa *twa;
};

void ptu_side_init(struct ptu_side *s, const struct p1_assoc_cfg *cfg);
void ptu_side_free(struct ptu_side *s);
/* Handle the queued indications of s (answers binds, acknowledges APDUs). */
void ptu_side_events(struct ptu_side *s);
/* Move s's pending output to dst's input (whole, or in chunks of `chunk` octets); also
 * appended to s->sent. Returns the count of octets moved. */
size_t ptu_flow(struct ptu_side *s, struct ptu_side *dst, size_t chunk);
/* Exchange until neither side has anything to send. */
void ptu_run(struct ptu_side *i, struct ptu_side *r, size_t chunk);
/* An APDU for tests: a BER value [APPLICATION 0]-like TLV with `content` octets of a pattern. */
void ptu_make_apdu(struct mg_buf *out, size_t content);

#endif
