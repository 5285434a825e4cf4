/* fuzz target smtp_session: a whole server session fed bytes through a fake transport (no
 * sockets). The first input byte picks the options (bare LF policy, TLS offered, synchronous
 * or deferred completion, small limits, bit 5: a trusted relay client); the rest is split into
 * reads at every 0xFF byte so the fuzzer also explores how commands straddle reads.
 * Each message is handed over as the daemon takes it (the content taken from the envelope, the
 * reply set with smtp_reply_set); from a trusted client its RFC 6710 MT-PRIORITY is mapped to
 * the queue priority as the daemon's submission maps it, and the mapping is checked against
 * the STANAG4406 policy it implements. */
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
    int trusted;
};

/* The queue priority of a trusted client's MT-PRIORITY (daemon/inbound.c mt_priority), checked
 * against the STANAG4406 assignment: levels -4 -2 0 2 4 6 are the queue's 0..5, a value between
 * two takes the lower, below -4 is deferred (0), above 6 override (5); and every queue priority
 * maps back to its own level. */
static void map_priority(const struct smtp_envelope *env)
{
    int mt = env->mt_priority;
    if (mt < -9 || mt > 9) /* the parser takes -9..9 only (RFC 6710 section 3) */
        abort();
    int q = smtp_mt_priority_to_queue(mt);
    int level = smtp_mt_priority_of_queue(q);
    if (q < 0 || q > 5 || smtp_mt_priority_to_queue(level) != q)
        abort();
    if (mt < -4 ? q != 0 : mt > 6 ? q != 5 : (level > mt || mt >= level + 2))
        abort();
}

static void on_message(void *arg, struct smtp_session *sess, struct smtp_envelope *env)
{
    struct fz *f = arg;
    if (env->mt_priority_given && f->trusted)
        map_priority(env);
    size_t len = 0;
    unsigned char *content = smtp_envelope_take_content(env, &len); /* the queue's now */
    if (env->content || env->content_len || (!content && len))
        abort();
    free(content);
    smtp_envelope_free(env);
    free(env);
    if (f->deferred) {
        f->pending = 1;
        return;
    }
    struct smtp_reply r;
    smtp_reply_set(&r, 250, "2.0.0", "ok");
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
    struct fz f = { .deferred = (opt >> 2) & 1, .trusted = (opt >> 5) & 1 };
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
