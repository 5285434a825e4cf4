/* fuzz target p1_assoc: the whole inbound association (p1_assoc as responder) fed arbitrary
 * bytes, as mixgated would run it: binds from "percival.smhs.co.uk"/"excalibur" accepted,
 * others refused; APDUs acknowledged at once (then asking for the turn) or after the next
 * read; the turn given when asked; a small APDU limit on one of the runs. Runs the input
 * whole, one TPKT at a time (as a peer that waits for our answers sends it: the recorded
 * initiator streams then play whole associations, transfers and release included) and in
 * small reads (sizes from the input size). The same bytes also go to an initiator (the
 * outbound side reads a peer's answers too), whole or one TPKT at a time: it transfers an
 * APDU once bound and releases once confirmed. Seeds: tests/p1/gen_p1_seeds's associations;
 * hand-* are those cut after 1-3 TPKTs and ended by a peer's ABORT (plain, with a disconnect
 * reason, with user data) or an ACTIVITY END. */
#include <stddef.h>
#include <stdint.h>

#include "p1_assoc.h"

static void events(struct p1_assoc *a, int defer, int *pending)
{
    struct p1_ind ind;
    while (p1_assoc_next_ind(a, &ind)) {
        if (ind.type == P1_IND_BIND_REQUEST) {
            const char *why;
            int err = p1_bind_check(&ind.bind, "percival.smhs.co.uk", "excalibur", &why);
            struct p1_bind ours = {1, "mixgate", "secret", 1};
            if (err)
                p1_assoc_bind_refuse(a, err);
            else
                p1_assoc_bind_accept(a, &ours);
        } else if (ind.type == P1_IND_APDU) {
            volatile uint8_t sum = 0;
            for (size_t i = 0; i < ind.apdu_len; i++)
                sum ^= ind.apdu[i];
            (void)sum;
            if (defer) {
                *pending = 1;
            } else {
                p1_assoc_apdu_durable(a);
                p1_assoc_please_turn(a, 0); /* as a responder with a message of its own */
            }
        } else if (ind.type == P1_IND_TURN_PLEASE) {
            p1_assoc_give_turn(a);
        }
    }
}

/* The length of the TPKT at d (all of it when d does not start one): read one TPKT at a time,
 * as a peer that waits for our answers sends them. */
static size_t one_tpkt(const uint8_t *d, size_t left)
{
    size_t len = left >= 4 && d[0] == 3 ? (size_t)(d[2] << 8 | d[3]) : 0;
    return len >= 4 && len <= left ? len : left;
}

/* chunk 0: one TPKT at a time */
static void run(const uint8_t *data, size_t size, size_t chunk, int defer, size_t max_apdu)
{
    struct p1_assoc_cfg cfg = {.initiator = 0, .max_apdu = max_apdu, .max_tsdu = 1u << 16};
    struct p1_assoc a;
    p1_assoc_init(&a, &cfg);
    int pending = 0;
    for (size_t off = 0, n; off < size; off += n) {
        n = size - off < chunk ? size - off : chunk;
        if (!chunk)
            n = one_tpkt(data + off, size - off);
        if (pending) {
            p1_assoc_apdu_durable(&a);
            pending = 0;
        }
        int rc = p1_assoc_input(&a, data + off, n);
        events(&a, defer, &pending);
        p1_chain_consume(&a.out, a.out.total);
        if (rc)
            break;
    }
    p1_assoc_timeout(&a);
    events(&a, 0, &pending);
    p1_assoc_free(&a);
}

static void run_initiator(const uint8_t *data, size_t size, size_t chunk, enum p1_mode mode)
{
    static const uint8_t apdu[] = {0x04, 0x03, 'a', 'b', 'c'};
    struct p1_assoc_cfg cfg = {.initiator = 1, .mode = mode, .checkpoint_kib = 1,
                               .max_tsdu = 1u << 16, .bind = {1, "percival.smhs.co.uk",
                                                              "excalibur", 1}};
    struct p1_assoc a;
    p1_assoc_init(&a, &cfg);
    p1_assoc_start(&a);
    for (size_t off = 0, n; off < size; off += n) {
        n = chunk ? (size - off < chunk ? size - off : chunk) : one_tpkt(data + off, size - off);
        int rc = p1_assoc_input(&a, data + off, n);
        struct p1_ind ind;
        while (p1_assoc_next_ind(&a, &ind)) {
            if (ind.type == P1_IND_BIND_RESULT && ind.accepted)
                p1_assoc_transfer(&a, apdu, sizeof apdu);
            else if (ind.type == P1_IND_TRANSFER_CONFIRMED ||
                     ind.type == P1_IND_TRANSFER_REFUSED)
                p1_assoc_release(&a);
            else if (ind.type == P1_IND_APDU)
                p1_assoc_apdu_durable(&a);
        }
        p1_chain_consume(&a.out, a.out.total);
        if (rc)
            break;
    }
    p1_assoc_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    run(data, size, size, 0, 0);
    run(data, size, 0, 0, 0);
    run(data, size, size % 29 + 1, 1, 512);
    run_initiator(data, size, (size & 1) ? size : 0, (enum p1_mode)(size % 3));
    return 0;
}
