/* fuzz target smtp_session: a whole server session fed bytes through a fake transport (no
 * sockets). The first input byte picks the options (bare LF policy, TLS offered, synchronous
 * or deferred completion, small limits); the rest is split into reads at every 0xFF byte so
 * the fuzzer also explores how commands straddle reads. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_log.h"
#include "smtp_session.h"

struct fz {
    struct smtp_session s;
    int deferred;
    int pending;
};

static void on_message(void *arg, struct smtp_session *sess, struct smtp_envelope *env)
{
    struct fz *f = arg;
    smtp_envelope_free(env);
    free(env);
    if (f->deferred) {
        f->pending = 1;
        return;
    }
    struct smtp_reply r = { .code = 250, .enhanced = "2.0.0", .text = "ok" };
    smtp_session_message_done(sess, &r);
}

static int on_rcpt(void *arg, const struct smtp_envelope *env, const struct smtp_rcpt *rc,
                   struct smtp_reply *reply)
{
    if (rc->addr[0] == 'x') {
        reply->code = 550;
        return 1;
    }
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* One log line per reject would dominate the run time; errors still show. */
    mg_log_set_level(MG_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    struct smtp_server_callbacks cbs = { .rcpt = on_rcpt };
    struct fz f = { .deferred = (opt >> 2) & 1 };
    struct smtp_session_cfg cfg = {
        .hostname = "fuzz.test",
        .max_size = (opt & 8) ? 64 : 0,
        .max_rcpts = (opt & 16) ? 2 : 0,
        .max_errors = 50,
        .bare_lf_reject = opt & 1,
        .tls_available = (opt >> 1) & 1,
        .cbs = &cbs,
        .on_message = on_message,
        .hook_arg = &f,
    };
    smtp_session_init(&f.s, &cfg, "F1", "192.0.2.1", 1);
    smtp_session_greet(&f.s);
    size_t start = 1;
    for (size_t i = 1; i <= size; i++) {
        if (i == size || data[i] == 0xFF) {
            smtp_session_input(&f.s, data + start, i - start);
            if (f.pending) {
                f.pending = 0;
                smtp_session_message_done(&f.s, NULL);
            }
            if (f.s.want_starttls) { /* the transport would switch to TLS here */
                smtp_session_tls_started(&f.s, "TLSv1.3", "TLS_AES_128_GCM_SHA256");
                f.s.want_starttls = 0;
            }
            mg_buf_reset(&f.s.out); /* the transport drained the replies */
            start = i + 1;
        }
    }
    if (f.pending)
        smtp_session_message_done(&f.s, NULL);
    smtp_session_timeout(&f.s);
    smtp_session_free(&f.s);
    return 0;
}
