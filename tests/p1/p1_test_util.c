/* p1_test_util: vector reading and p1_assoc drivers for the P1 tests. */
#include "p1_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p1_ber.h"

int ptu_vector(const char *rel, struct mg_buf *out)
{
    const char *root = getenv("MIXGATE_VECTORS");
    if (!root || !*root) {
        fprintf(stderr, "*** MIXGATE_VECTORS not set: test SKIPPED ***\n");
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/x400/%s", root, rel);
    unsigned char *d = NULL;
    size_t n = 0;
    if (mg_read_file(path, 64u << 20, &d, &n) != 0) {
        fprintf(stderr, "*** vector %s missing: test SKIPPED ***\n", path);
        return -1;
    }
    mg_buf_init(out, 0);
    int rc = mg_buf_append(out, d, n);
    free(d);
    return rc ? -1 : 0;
}

void ptu_side_init(struct ptu_side *s, const struct p1_assoc_cfg *cfg)
{
    memset(s, 0, sizeof *s);
    p1_assoc_init(&s->a, cfg);
    mg_buf_init(&s->last_apdu, 0);
    mg_buf_init(&s->sent, 0);
    s->bind_error = -1;
}

void ptu_side_free(struct ptu_side *s)
{
    p1_assoc_free(&s->a);
    mg_buf_free(&s->last_apdu);
    mg_buf_free(&s->sent);
}

void ptu_side_events(struct ptu_side *s)
{
    struct p1_ind ind;
    while (p1_assoc_next_ind(&s->a, &ind)) {
        if (s->twa && p1_twa_on_ind(s->twa, &s->a, &ind)) {
            s->turn_please += ind.type == P1_IND_TURN_PLEASE;
            s->turn_received += ind.type == P1_IND_TURN_RECEIVED;
            continue;
        }
        switch (ind.type) {
        case P1_IND_BIND_REQUEST: {
            s->bind_requests++;
            s->peer_bind = ind.bind;
            s->last_bind_request = ind;
            const char *why = NULL;
            const struct p1_bind_expect e = {s->expect_name, s->expect_password, !s->deny_twa,
                                             s->busy};
            long err = -1;
            if (p1_bind_decide(&ind.bind, ind.dialogue, &e, &err, &why))
                p1_assoc_bind_refuse(&s->a, err);
            else if (p1_assoc_bind_accept(&s->a, &s->answer) == 0 && s->twa)
                p1_twa_bound(s->twa, &s->a, ind.dialogue);
            break;
        }
        case P1_IND_BIND_RESULT:
            if (ind.accepted) {
                s->bind_accepted++;
                s->peer_bind = ind.bind;
            } else {
                s->bind_refused++;
                s->bind_error = ind.bind_error;
                snprintf(s->abort_reason, sizeof s->abort_reason, "%s", ind.reason);
            }
            break;
        case P1_IND_APDU:
            s->apdus++;
            mg_buf_reset(&s->last_apdu);
            mg_buf_append(&s->last_apdu, ind.apdu, ind.apdu_len);
            if (!s->defer_durable)
                p1_assoc_apdu_durable(&s->a);
            break;
        case P1_IND_TRANSFER_CONFIRMED: s->confirmed++; break;
        case P1_IND_TURN_PLEASE: s->turn_please++; break;
        case P1_IND_TURN_RECEIVED: s->turn_received++; break;
        case P1_IND_RELEASED: s->released++; break;
        case P1_IND_TRANSFER_REFUSED:
            s->transfer_refused++;
            snprintf(s->abort_reason, sizeof s->abort_reason, "%s", ind.reason);
            break;
        case P1_IND_TRANSFER_DISCARDED:
            s->transfer_discarded++;
            snprintf(s->abort_reason, sizeof s->abort_reason, "%s", ind.reason);
            break;
        case P1_IND_ABORTED:
            s->aborted++;
            snprintf(s->abort_reason, sizeof s->abort_reason, "%s", ind.reason);
            break;
        }
    }
}

size_t ptu_flow(struct ptu_side *s, struct ptu_side *dst, size_t chunk)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    if (s->a.tx_active) {
        size_t u = s->a.sess.vm - s->a.sess.va;
        if (u > s->max_unconfirmed)
            s->max_unconfirmed = u;
    }
    p1_chain_drain(&s->a.out, &b);
    mg_buf_append(&s->sent, b.data, b.len);
    if (s->tap && b.len)
        s->tap(s->tap_arg, !s->a.cfg.initiator, b.data, b.len);
    size_t off = 0;
    while (dst && off < b.len) {
        size_t k = chunk && b.len - off > chunk ? chunk : b.len - off;
        p1_assoc_input(&dst->a, b.data + off, k);
        off += k;
        ptu_side_events(dst);
    }
    size_t n = b.len;
    mg_buf_free(&b);
    return n;
}

void ptu_run(struct ptu_side *i, struct ptu_side *r, size_t chunk)
{
    for (int guard = 0; guard < 10000000; guard++) {
        ptu_side_events(i);
        ptu_side_events(r);
        size_t n = ptu_flow(i, r, chunk);
        n += ptu_flow(r, i, chunk);
        if (n == 0)
            return;
    }
}

void ptu_make_apdu(struct mg_buf *out, size_t content)
{
    uint8_t h[8];
    size_t hl = p1_ber_hdr(h, 0x04, content);
    mg_buf_reset(out);
    mg_buf_append(out, h, hl);
    mg_buf_reserve(out, content);
    for (size_t i = 0; i < content; i++)
        out->data[out->len + i] = (uint8_t)(i * 7 + (i >> 11));
    out->len += content;
}
