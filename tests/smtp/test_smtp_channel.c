/* test_smtp_channel: the `smtp` channel kind against real Postfix smtp-sinks: deliveries to
 * three destinations relayed, the destination records freed as soon as they are idle (a
 * long-running relay must not grow per destination ever seen), options checked at load time,
 * stop with nothing in flight. */
#include "channel.h"
#include "channels.h"
#include "config.h"
#include "content.h"
#include "message.h"
#include "mg_err.h"
#include "smtp_channel.h"

#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#define NSINK 3

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) != 0)
        return -1;
    close(s);
    return ntohs(a.sin_port);
}

static int port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

static pid_t start_sink(int port)
{
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        /* dies with the test, even one that failed before it could stop the sink, and never
         * holds the test's output pipe open */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl("/usr/sbin/smtp-sink", "smtp-sink", "-u", "root", addr, "10", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !port_open(port); i++)
        usleep(20000);
    return pid;
}

struct done { int n; };
static void on_done(struct channel_delivery *d)
{
    ((struct done *)d->qmgr_data)->n++;
}

static struct config *load(const int *ports, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "global = { hostname = \"chan.test\"; var_dir = \"/tmp\"; };\n"
             "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
             "channels = ( { name = \"out\"; type = \"smtp\"; %s } );\n"
             "peers = ( { name = \"p0\"; type = \"smtp\"; host = \"127.0.0.1:%d\"; starttls = \"none\"; },\n"
             "          { name = \"p1\"; type = \"smtp\"; host = \"127.0.0.1:%d\"; starttls = \"none\"; },\n"
             "          { name = \"p2\"; type = \"smtp\"; host = \"127.0.0.1:%d\"; starttls = \"none\"; } );\n"
             "routes = ( { default = true; chain = [ \"out\" ]; peer = \"p0\"; } );\n",
             extra, ports[0], ports[1], ports[2]);
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    int rc = channels_config_load_text("c.conf", text, strlen(text), NULL, NULL, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.v[i].text);
    config_errors_free(&errs);
    return rc == 0 ? cfg : NULL;
}

static void stopped(void *arg) { *(int *)arg = 1; }

static void test_destinations_freed_when_idle(void **state)
{
    (void)state;
    if (access("/usr/sbin/smtp-sink", X_OK) != 0) {
        fprintf(stderr, "SKIP: Postfix smtp-sink missing\n");
        skip();
    }
    int ports[NSINK];
    pid_t pids[NSINK];
    for (int i = 0; i < NSINK; i++) {
        ports[i] = free_port();
        pids[i] = start_sink(ports[i]);
        assert_true(port_open(ports[i]));
    }
    struct config *cfg = load(ports, "idle_timeout = 0;");
    assert_non_null(cfg);
    const struct config_channel *ch = config_find_channel(cfg, "out");
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct channel_env env = { .loop = &loop, .cfg = cfg };
    void *inst = NULL;
    assert_int_equal(smtp_channel_kind.start(&env, ch, &inst), 0);

    struct message *m = message_create();
    assert_int_equal(message_set_originator(m, "s@example.org"), 0);
    assert_int_equal(message_add_rcpt(m, "r@example.net", NULL, 0, NULL), 0);
    snprintf(m->id, sizeof m->id, "0000000000000A");
    struct content *c = content_copy(MESSAGE_CONTENT_RFC5322, 0, "Subject: x\r\n\r\n.dot\r\n", 20);
    struct channel_delivery d[NSINK];
    struct channel_outcome out[NSINK];
    uint32_t idx = 0;
    const char *addrs[1] = { "r@example.net" };
    struct done done = { 0 };
    for (int i = 0; i < NSINK; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", i);
        d[i] = (struct channel_delivery){ .msg = m, .content = c, .cfg = cfg, .channel = ch,
                                          .peer = config_find_peer(cfg, name), .next_hop = "",
                                          .originator = m->originator, .nrcpts = 1, .rcpts = &idx,
                                          .rcpt_addrs = addrs, .outcomes = &out[i],
                                          .done_cb = on_done, .qmgr_data = &done };
        smtp_channel_kind.deliver(inst, &d[i]);
    }
    assert_int_equal(smtp_channel_destinations(inst), NSINK);  /* one record per destination */
    for (int i = 0; i < 2000 && done.n < NSINK; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(done.n, NSINK);
    for (int i = 0; i < NSINK; i++) {
        assert_int_equal(out[i].action, CHANNEL_RELAYED);
        assert_int_equal(out[i].code, 250);
    }
    /* idle: every connection closes and its destination record goes with it */
    for (int i = 0; i < 2000 && smtp_channel_destinations(inst); i++)
        uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
    assert_int_equal(smtp_channel_destinations(inst), 0);
    assert_int_equal(smtp_channel_kind.connections(inst), 0);

    /* a peer that is down: deferred, flagged as a destination failure, record freed too */
    kill(pids[2], SIGTERM);
    waitpid(pids[2], NULL, 0);
    done.n = 0;
    smtp_channel_kind.deliver(inst, &d[2]);
    for (int i = 0; i < 2000 && done.n < 1; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(out[2].action, CHANNEL_DEFERRED);
    assert_true(out[2].flags & CHANNEL_OUT_DEST_FAILURE);
    for (int i = 0; i < 2000 && smtp_channel_destinations(inst); i++)
        uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
    assert_int_equal(smtp_channel_destinations(inst), 0);

    int st = 0;
    smtp_channel_kind.stop(inst, stopped, &st);
    while (!st)
        uv_run(&loop, UV_RUN_ONCE);
    smtp_channel_kind.inst_free(inst);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    content_unref(c);
    message_free(m);
    config_free(cfg);
    for (int i = 0; i < 2; i++) {
        kill(pids[i], SIGTERM);
        waitpid(pids[i], NULL, 0);
    }
}

/* The queue manager hands the next message over from inside the previous one's completion
 * (its hot path does). When that completion also retires the connection (its
 * messages_per_connection reached), the next message must not be given to that connection
 * and then lose it: it was deferred "421 4.4.0 Connection closed by the sender". */
#define NCHAIN 120
#define NSTART 8
struct chain {
    void *inst;
    struct channel_delivery *d;
    int next, n;
};
static void on_chain_done(struct channel_delivery *d)
{
    struct chain *ch = d->qmgr_data;
    ch->n++;
    if (ch->next < NCHAIN)
        smtp_channel_kind.deliver(ch->inst, &ch->d[ch->next++]);
}

static void test_next_message_not_given_to_retiring_connection(void **state)
{
    (void)state;
    if (access("/usr/sbin/smtp-sink", X_OK) != 0) {
        fprintf(stderr, "SKIP: Postfix smtp-sink missing\n");
        skip();
    }
    int port = free_port();
    pid_t pid = start_sink(port);
    assert_true(port_open(port));
    char text[1024];
    snprintf(text, sizeof text,
             "global = { hostname = \"chan.test\"; var_dir = \"/tmp\"; };\n"
             "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
             "channels = ( { name = \"out\"; type = \"smtp\"; } );\n"
             "peers = ( { name = \"p0\"; type = \"smtp\"; host = \"127.0.0.1:%d\"; starttls = \"none\";\n"
             "            max_connections = 4; messages_per_connection = 2; } );\n"
             "routes = ( { default = true; chain = [ \"out\" ]; peer = \"p0\"; } );\n", port);
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    assert_int_equal(channels_config_load_text("c.conf", text, strlen(text), NULL, NULL, &cfg, &errs), 0);
    config_errors_free(&errs);
    const struct config_channel *ch = config_find_channel(cfg, "out");
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct channel_env env = { .loop = &loop, .cfg = cfg };
    void *inst = NULL;
    assert_int_equal(smtp_channel_kind.start(&env, ch, &inst), 0);

    struct message *m = message_create();
    assert_int_equal(message_set_originator(m, "s@example.org"), 0);
    assert_int_equal(message_add_rcpt(m, "r@example.net", NULL, 0, NULL), 0);
    snprintf(m->id, sizeof m->id, "0000000000000B");
    struct content *c = content_copy(MESSAGE_CONTENT_RFC5322, 0, "Subject: x\r\n\r\nhi\r\n", 17);
    struct channel_delivery d[NCHAIN];
    struct channel_outcome out[NCHAIN];
    uint32_t idx = 0;
    const char *addrs[1] = { "r@example.net" };
    struct chain chain = { .inst = inst, .d = d };
    for (int i = 0; i < NCHAIN; i++)
        d[i] = (struct channel_delivery){ .msg = m, .content = c, .cfg = cfg, .channel = ch,
                                          .peer = config_find_peer(cfg, "p0"), .next_hop = "",
                                          .originator = m->originator, .nrcpts = 1, .rcpts = &idx,
                                          .rcpt_addrs = addrs, .outcomes = &out[i],
                                          .done_cb = on_chain_done, .qmgr_data = &chain };
    for (chain.next = 0; chain.next < NSTART;)
        smtp_channel_kind.deliver(inst, &d[chain.next++]);
    for (int i = 0; i < 50000 && chain.n < NCHAIN; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(chain.n, NCHAIN);
    for (int i = 0; i < NCHAIN; i++) {
        if (out[i].code != 250)
            fprintf(stderr, "message %d: %d %s\n", i, out[i].code, out[i].text);
        assert_int_equal(out[i].action, CHANNEL_RELAYED);
        assert_int_equal(out[i].code, 250);
    }
    int st = 0;
    smtp_channel_kind.stop(inst, stopped, &st);
    while (!st)
        uv_run(&loop, UV_RUN_ONCE);
    smtp_channel_kind.inst_free(inst);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    content_unref(c);
    message_free(m);
    config_free(cfg);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void test_options_checked(void **state)
{
    (void)state;
    int ports[NSINK] = { 2601, 2602, 2603 };
    struct config *cfg = load(ports, "idle_timeout = \"2m\";");
    assert_non_null(cfg);
    config_free(cfg);
    static const char *const bad[] = { "idle_timout = 3;", "idle_timeout = -1;", "idle_timeout = \"2y\";",
                                       "idle_timeout = 7200;" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_null(load(ports, bad[i]));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_destinations_freed_when_idle),
        cmocka_unit_test(test_next_message_not_given_to_retiring_connection),
        cmocka_unit_test(test_options_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
