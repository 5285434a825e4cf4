/* Fuzz target: the configuration loader (expansion, libconfig parse, validation) on arbitrary
 * text, then route lookups, relay checks and a dump on whatever loads. Beyond "no crash, no
 * leak" it checks that every error names the file and a line inside the input (or 0), and
 * that failure always comes with at least one error. The environment is a fixed table so
 * runs are reproducible. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels.h"
#include "config.h"
#include "mg_err.h"
#include "relay.h"
#include "route.h"

static const char *fuzz_env(void *ctx, const char *name)
{
    (void)ctx;
    static const char *const kv[] = {
        "MIXGATE_VAR", "/var/lib/mixgate", "MIXGATE_RELAY", "127.0.0.1:2626",
        "N", "42", "Q", "a\"b\\c", "NL", "x\ny", "E", "", NULL,
    };
    for (const char *const *p = kv; *p; p += 2)
        if (!strcmp(p[0], name))
            return p[1];
    return NULL;
}

static void exercise(const struct config *cfg)
{
    static const char *const addrs[] = { "user@example.org", "Boss@EXAMPLE.org", "a@b.c.d.test",
                                         "postmaster", "", "x@", "@", "\"q@r\"@sub.example" };
    for (size_t i = 0; i < sizeof addrs / sizeof *addrs; i++) {
        const struct config_route *r = NULL;
        if (route_lookup(cfg, addrs[i], &r) == 0) {
            char d[256];
            route_describe(r, d, sizeof d);
            if (!r->n_chain || !r->chain[r->n_chain - 1]->delivery)
                abort(); /* the loader promised a chain that ends in delivery */
        }
    }
    struct sockaddr_in sin = { .sin_family = AF_INET };
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    inet_pton(AF_INET6, "::ffff:10.0.0.1", &sin6.sin6_addr);
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        struct relay_result res;
        relay_check(cfg, &cfg->listeners[i], (struct sockaddr *)&sin, addrs[i % 8], &res);
        relay_check(cfg, &cfg->listeners[i], (struct sockaddr *)&sin6, addrs[(i + 1) % 8], &res);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f) {
        config_dump(cfg, f);
        fclose(f);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    int rc = channels_config_load_text("fuzz.conf", (const char *)data, size, fuzz_env, NULL, &cfg, &errs);
    if (rc == 0) {
        if (!cfg || errs.n)
            abort();
        exercise(cfg);
        config_free(cfg);
    } else {
        if (cfg || (rc == MG_ECONFIG && errs.n == 0))
            abort();
        for (size_t i = 0; i < errs.n; i++)
            if (errs.v[i].line < 0 || (size_t)errs.v[i].line > lines ||
                strncmp(errs.v[i].text, "fuzz.conf", 9) != 0)
                abort();
    }
    config_errors_free(&errs);
    return 0;
}
