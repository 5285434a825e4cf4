/* gen_p1_seeds: writes the seed corpora of the p1 fuzz targets (fuzz/corpus/p1_*) from our
 * own associations in the three modes (no third-party bytes). Not a test; run by hand:
 *   build/tests/p1/gen_p1_seeds fuzz/corpus */
#include <stdio.h>
#include <string.h>

#include "p1_acse.h"
#include "p1_bind.h"
#include "p1_pres.h"
#include "p1_rtse.h"
#include "p1_session.h"
#include "p1_test_util.h"

static const char *root;

static void put(const char *target, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        perror(path);
        if (f)
            fclose(f);
        return;
    }
    fclose(f);
}

/* Every TSDU of a stream into the session corpus. */
static void tsdus(const char *tag, const struct mg_buf *s, int from_initiator)
{
    struct p1_tpkt t;
    p1_tpkt_init(&t, !from_initiator, 1u << 20, 0);
    t.connected = !from_initiator;
    size_t off = 0, k = 0;
    while (off < s->len) {
        struct p1_tpkt_ind ind;
        size_t used;
        if (p1_tpkt_input(&t, s->data + off, s->len - off, &used, &ind))
            break;
        off += used;
        if (ind.type == P1_TPKT_CONNECT)
            t.connected = 1;
        if (ind.type == P1_TPKT_DATA && ind.len < 4096) {
            char name[128];
            snprintf(name, sizeof name, "%s-%02zu", tag, k++);
            put("p1_session", name, ind.data, ind.len);
        }
        if (used == 0)
            break;
    }
    p1_tpkt_free(&t);
}

static void association(enum p1_mode mode, const char *password)
{
    struct p1_assoc_cfg ic = {.initiator = 1, .mode = mode, .checkpoint_kib = 1,
                              .bind = {1, "percival.smhs.co.uk", "", 1}};
    snprintf(ic.bind.password, sizeof ic.bind.password, "%s", password);
    struct p1_assoc_cfg rc = {.initiator = 0};
    struct ptu_side i, r;
    ptu_side_init(&i, &ic);
    ptu_side_init(&r, &rc);
    r.expect_name = "percival.smhs.co.uk";
    r.expect_password = "excalibur";
    r.answer = (struct p1_bind){1, "mixgate", "secret", 1};
    p1_assoc_start(&i.a);
    ptu_run(&i, &r, 0);
    struct mg_buf apdu;
    mg_buf_init(&apdu, 0);
    ptu_make_apdu(&apdu, 2500);
    if (i.bind_accepted) {
        p1_assoc_transfer(&i.a, apdu.data, apdu.len);
        ptu_run(&i, &r, 0);
        p1_assoc_release(&i.a);
        ptu_run(&i, &r, 0);
    }
    char tag[64];
    snprintf(tag, sizeof tag, "%s-%s", p1_mode_name(mode), i.bind_accepted ? "ok" : "refused");
    char name[96];
    snprintf(name, sizeof name, "%s-initiator", tag);
    put("p1_tpkt", name, i.sent.data, i.sent.len);
    put("p1_assoc", name, i.sent.data, i.sent.len);
    snprintf(name, sizeof name, "%s-responder", tag);
    put("p1_tpkt", name, r.sent.data, r.sent.len);
    put("p1_assoc", name, r.sent.data, r.sent.len); /* for the fuzzed initiator */
    snprintf(name, sizeof name, "%s-ini", tag);
    tsdus(name, &i.sent, 1);
    snprintf(name, sizeof name, "%s-rsp", tag);
    tsdus(name, &r.sent, 0); /* starts with a CC: read from the initiator's side */
    mg_buf_free(&apdu);
    ptu_side_free(&i);
    ptu_side_free(&r);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-ROOT\n", argv[0]);
        return 2;
    }
    root = argv[1];
    static const enum p1_mode modes[] = {P1_MODE_1988_NORMAL, P1_MODE_1988_X410, P1_MODE_1984};
    for (size_t m = 0; m < 3; m++) {
        association(modes[m], "excalibur");
        association(modes[m], "wrong");
    }
    /* Presentation and RTSE values. */
    struct mg_buf b, v;
    mg_buf_init(&b, 0);
    mg_buf_init(&v, 0);
    struct p1_bind bind = {1, "percival.smhs.co.uk", "excalibur", 1};
    p1_bind_encode(&v, 16, 1, &bind);
    p1_rtse_rtorq(&b, 0, 63, 3, 1, -1, v.data, v.len);
    put("p1_rtse", "rtorq", b.data, b.len);
    struct mg_buf acse;
    mg_buf_init(&acse, 0);
    p1_acse_aarq(&acse, 3, b.data, b.len);
    put("p1_rtse", "aarq", acse.data, acse.len);
    mg_buf_reset(&b);
    p1_pres_cp(&b, &(struct p1_sel){2, "P1"}, NULL, acse.data, acse.len);
    put("p1_pres", "cp", b.data, b.len);
    struct p1_ppdu cp;
    const char *why;
    p1_pres_decode(P1_PPDU_CP, b.data, b.len, &cp, &why);
    mg_buf_reset(&b);
    p1_pres_cpa(&b, &cp, NULL, acse.data, acse.len);
    put("p1_pres", "cpa", b.data, b.len);
    mg_buf_reset(&b);
    p1_pres_cpr(&b, &cp, acse.data, acse.len);
    put("p1_pres", "cpr", b.data, b.len);
    mg_buf_reset(&b);
    p1_pres_td(&b, 3, (const uint8_t *)"\x02\x01\x05", 3);
    put("p1_pres", "td-rttp", b.data, b.len);
    mg_buf_reset(&b);
    p1_pres_aru(&b, 1, (const uint8_t *)"\x64\x03\x80\x01\x00", 5);
    put("p1_pres", "aru", b.data, b.len);
    mg_buf_reset(&b);
    p1_rtse_rtorq(&b, 1, 8, 3, 1, 12, v.data, v.len);
    put("p1_rtse", "pconnect", b.data, b.len);
    mg_buf_reset(&b);
    p1_rtse_rtoac(&b, 1, 8, 3, v.data, v.len);
    put("p1_rtse", "paccept", b.data, b.len);
    mg_buf_reset(&b);
    mg_buf_reset(&v);
    p1_bind_error_encode(&v, 1, 2);
    p1_rtse_rtorj(&b, 0, -1, v.data, v.len);
    put("p1_rtse", "rtorj-bind-error", b.data, b.len);
    mg_buf_reset(&b);
    p1_rtse_rtorj(&b, 1, 2, NULL, 0);
    put("p1_rtse", "prefuse", b.data, b.len);
    mg_buf_reset(&b);
    p1_rtse_rtab(&b, 2);
    put("p1_rtse", "rtab", b.data, b.len);
    mg_buf_free(&acse);
    mg_buf_free(&b);
    mg_buf_free(&v);
    return 0;
}
