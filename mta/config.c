/* config: load, validate and own mixgate's configuration (see config.h for the model).
 *
 * libconfig parses the syntax; everything else (the schema, defaults, cross references,
 * the open-relay rule) is checked here, collecting every error with its line instead of
 * stopping at the first, so that one `mixgate check-config` run shows them all. */
#define _GNU_SOURCE /* asprintf, vasprintf, strndup */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "channel.h"
#define CONFIG_GET_SHORT_NAMES
#include "config_get.h"
#include "config_expand.h"
#include "config_syntax.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_hostport.h"


/* ---- sections ------------------------------------------------------------------------ */

static const char *const top_keys[] = { "global", "queue", "listeners", "channels", "peers", "routes",
                                        "labels", /* read by channels/labels (lsw_load) */ NULL };
static const char *const global_keys[] = { "hostname", "var_dir", "log", "log_level",
                                            "max_message_size", "control_socket",
                                            "audit_retention", "user", "metrics_listen",
                                            "x400_domain", "x400_max_hops", NULL };
static const char *const queue_keys[] = { "retry_min", "retry_max", "max_lifetime", "delay_warning",
                                          "max_active_deliveries", "max_messages",
                                          "max_active_messages", "max_processing", NULL };

/* Without a registry (unit tests of routing): the kinds the project has, by name and role
 * only; nobody checks their options. */
static const struct channel_kind name_only[] = {
    { .name = "file", .role = CHANNEL_ROLE_DELIVERY, .peer = CHANNEL_PEER_NONE },
    { .name = "smtp", .role = CHANNEL_ROLE_DELIVERY, .peer = CHANNEL_PEER_SMTP },
    { .name = "p1", .role = CHANNEL_ROLE_DELIVERY, .peer = CHANNEL_PEER_X400 },
    { .name = "rules", .role = CHANNEL_ROLE_PROCESSING },
    { .name = "cms", .role = CHANNEL_ROLE_PROCESSING },
    { .name = "shaper", .role = CHANNEL_ROLE_PROCESSING },
    { .name = "mixer", .role = CHANNEL_ROLE_PROCESSING },
};
static const struct channel_kind *const name_only_list[] = {
    &name_only[0], &name_only[1], &name_only[2], &name_only[3], &name_only[4], &name_only[5],
    &name_only[6], NULL };

/* A section that must be a group (or absent). */
static const config_setting_t *section_group(struct loader *L, const config_setting_t *root,
                                             const char *name)
{
    const config_setting_t *s = config_setting_get_member(root, name);
    if (s && config_setting_type(s) != CONFIG_TYPE_GROUP) {
        lerr(L, sline(s), "'%s' must be a group: %s = { ... };", name, name);
        return NULL;
    }
    return s;
}

static const config_setting_t *section_list(struct loader *L, const config_setting_t *root,
                                            const char *name)
{
    const config_setting_t *s = config_setting_get_member(root, name);
    if (s && config_setting_type(s) != CONFIG_TYPE_LIST &&
        !(config_setting_type(s) == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)) {
        lerr(L, sline(s), "'%s' must be a list of groups: %s = ( { ... }, { ... } );", name, name);
        return NULL;
    }
    return s;
}

static void load_global(struct loader *L, const config_setting_t *g)
{
    struct config_global *gl = &L->cfg->global;
    char host[256];
    if (gethostname(host, sizeof host) != 0 || !host[0])
        strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';
    gl->hostname = xstrdup(L, host);
    gl->var_dir = xstrdup(L, "/var/lib/mixgate");
    gl->log = CONFIG_LOG_STDERR;
    gl->log_level = MG_LOG_INFO;
    gl->max_message_size = 50u * 1024 * 1024;
    gl->x400_max_hops = 30;
    int var_line = 0;
    if (g) {
        const char *what = "global";
        check_keys(L, g, global_keys, "key", "in 'global'");
        const char *v;
        if (get_str(L, g, "hostname", what, &v) > 0) {
            char *d = norm_domain(L, v, false);
            if (!d) {
                lerr(L, sline(config_setting_get_member(g, "hostname")),
                     "global: 'hostname' = \"%s\" is not a valid host name", v);
            } else {
                free(gl->hostname);
                gl->hostname = d;
            }
        }
        if (get_dup(L, g, "var_dir", what, &gl->var_dir) > 0)
            var_line = sline(config_setting_get_member(g, "var_dir"));
        int e;
        if (get_enum(L, g, "log", what, log_names, &e) > 0)
            gl->log = (enum config_log_sink)e;
        if (get_enum(L, g, "log_level", what, level_names, &e) > 0)
            gl->log_level = level_values[e];
        get_size(L, g, "max_message_size", what, 1024, UINT64_C(1) << 40, &gl->max_message_size);
        get_dur(L, g, "audit_retention", what, 0, UINT32_MAX, &gl->audit_retention);
        get_dup(L, g, "user", what, &gl->user);
        if (get_dup(L, g, "metrics_listen", what, &gl->metrics_listen) > 0) {
            struct mg_hostport hp;
            if (mg_hostport_parse(gl->metrics_listen, MG_HOSTPORT_NEED_PORT | MG_HOSTPORT_NUMERIC |
                                  MG_HOSTPORT_PORT_ZERO, &hp) != 0)
                lerr(L, sline(config_setting_get_member(g, "metrics_listen")),
                     "global: 'metrics_listen' = \"%s\": %s (an address and port: \"127.0.0.1:9464\")",
                     gl->metrics_listen, hp.err);
        }
        get_uint(L, g, "x400_max_hops", what, 1, 1000, &gl->x400_max_hops);
        if (get_str(L, g, "x400_domain", what, &v) > 0) {
            char err[120];
            struct oraddr *o = xcalloc(L, 1, sizeof *o);
            int xl = sline(config_setting_get_member(g, "x400_domain"));
            if (o && oraddr_parse(v, o, err, sizeof err) != 0) {
                lerr(L, xl, "global: 'x400_domain' = \"%s\": %s", v, err);
                free(o);
            } else if (o && (!oraddr_get(o, "C") || !oraddr_get(o, "ADMD"))) {
                lerr(L, xl, "global: 'x400_domain' = \"%s\" needs at least C and ADMD "
                     "(\"/C=GB/ADMD= /PRMD=X/\")", v);
                free(o);
            } else if (o) {
                char buf[ORADDR_TEXT_MAX + 64];
                oraddr_format(o, buf, sizeof buf);
                gl->x400_domain = xstrdup(L, buf);
                gl->x400_gdi = o;
            }
        }
        if (get_dup(L, g, "control_socket", what, &gl->control_socket) > 0) {
            if (strlen(gl->control_socket) >= sizeof ((struct sockaddr_un *)0)->sun_path)
                lerr(L, sline(config_setting_get_member(g, "control_socket")),
                     "global: 'control_socket' path is too long for a Unix socket (max %zu bytes)",
                     sizeof ((struct sockaddr_un *)0)->sun_path - 1);
        }
    }
    if (!gl->control_socket && gl->var_dir) {
        if (asprintf(&gl->control_socket, "%s/control.sock", gl->var_dir) < 0) {
            gl->control_socket = NULL;
            L->oom = true;
        } else if (strlen(gl->control_socket) >= sizeof ((struct sockaddr_un *)0)->sun_path) {
            lerr(L, var_line, "global: '%s' is too long for a Unix socket path; set "
                 "'control_socket' to a shorter path", gl->control_socket);
        }
    }
}

static void load_queue(struct loader *L, const config_setting_t *g)
{
    struct config_queue *q = &L->cfg->queue;
    q->retry_min = 60;
    q->retry_max = 3600;
    q->max_lifetime = 5 * 86400;
    q->delay_warning = 4 * 3600;
    q->max_active_deliveries = 100;
    q->max_active_messages = 1000;
    q->max_processing = 4;
    q->max_messages = 0;
    if (!g)
        return;
    const char *what = "queue";
    check_keys(L, g, queue_keys, "key", "in 'queue'");
    const uint64_t year = 366u * 86400;
    get_dur(L, g, "retry_min", what, 1, year, &q->retry_min);
    int r_max = get_dur(L, g, "retry_max", what, 1, year, &q->retry_max);
    int r_life = get_dur(L, g, "max_lifetime", what, 1, year, &q->max_lifetime);
    int r_warn = get_dur(L, g, "delay_warning", what, 0, year, &q->delay_warning);
    get_uint(L, g, "max_active_deliveries", what, 1, 100000, &q->max_active_deliveries);
    get_uint(L, g, "max_active_messages", what, 1, 1000000, &q->max_active_messages);
    get_uint(L, g, "max_processing", what, 1, 1024, &q->max_processing);
    get_uint(L, g, "max_messages", what, 0, UINT32_MAX, &q->max_messages);
    if (q->retry_max < q->retry_min)
        lerr(L, sline(config_setting_get_member(g, r_max > 0 ? "retry_max" : "retry_min")),
             "queue: retry_max (%" PRIu32 "s) is shorter than retry_min (%" PRIu32 "s)",
             q->retry_max, q->retry_min);
    if (q->max_lifetime < q->retry_min)
        lerr(L, sline(config_setting_get_member(g, r_life > 0 ? "max_lifetime" : "retry_min")),
             "queue: max_lifetime (%" PRIu32 "s) is shorter than retry_min (%" PRIu32 "s)",
             q->max_lifetime, q->retry_min);
    if (q->delay_warning && q->delay_warning >= q->max_lifetime)
        lerr(L, sline(config_setting_get_member(g, r_warn > 0 ? "delay_warning" : "max_lifetime")),
             "queue: delay_warning (%" PRIu32 "s) must be shorter than max_lifetime (%" PRIu32
             "s), or 0 for none", q->delay_warning, q->max_lifetime);
}

static void load_channel(struct loader *L, const config_setting_t *g, size_t idx,
                         struct config_channel *c)
{
    char what[NAME_MAX_LEN + 32];
    c->line = sline(g);
    c->concurrency = 4;
    c->delivery = true; /* until known: do not pile chain errors on top of a type error */
    snprintf(what, sizeof what, "channel #%zu", idx + 1);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        lerr(L, sline(g), "channels: element %zu must be a group { name = ...; type = ...; }", idx + 1);
        return;
    }
    c->settings = g;
    if (get_dup(L, g, "name", what, &c->name) > 0) {
        if (!valid_name(c->name))
            lerr(L, sline(config_setting_get_member(g, "name")),
                 "%s: name \"%s\" must be 1-%d letters, digits, '-', '_' or '.'", what, c->name,
                 NAME_MAX_LEN);
        else
            snprintf(what, sizeof what, "channel '%s'", c->name);
    } else if (!config_setting_get_member(g, "name")) {
        lerr(L, c->line, "%s: missing 'name'", what);
    }
    char known[256] = "";
    for (const struct channel_kind *const *k = L->kinds; *k; k++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                 known[0] ? ", " : "", (*k)->name);
    int r = get_dup(L, g, "type", what, &c->type);
    if (r == 0 && !config_setting_get_member(g, "type"))
        lerr(L, c->line, "%s: missing 'type' (%s)", what, known);
    if (r <= 0)
        return;
    c->kind = channel_kind_find(L->kinds, c->type);
    if (!c->kind) {
        const char *best = NULL;
        size_t bd = 3;
        for (const struct channel_kind *const *k = L->kinds; *k; k++) {
            size_t d = edit_distance(c->type, (*k)->name);
            if (d < bd) {
                bd = d;
                best = (*k)->name;
            }
        }
        if (best)
            lerr(L, sline(config_setting_get_member(g, "type")),
                 "%s: unknown type '%s' (did you mean '%s'?)", what, c->type, best);
        else
            lerr(L, sline(config_setting_get_member(g, "type")),
                 "%s: unknown type '%s' (this build has: %s)", what, c->type, known);
        return;
    }
    c->delivery = c->kind->role == CHANNEL_ROLE_DELIVERY;
    uint32_t conc = 0;
    if (get_uint(L, g, "concurrency", what, 1, 10000, &conc) > 0)
        c->concurrency = conc;
    const config_setting_t *ms = config_setting_get_member(g, "max_message_size");
    if (ms && !c->delivery)
        lerr(L, sline(ms), "%s: 'max_message_size' applies to delivery channels only (a %s "
             "channel delivers nothing)", what, c->type);
    else if (ms)
        get_size(L, g, "max_message_size", what, 1024, UINT64_C(1) << 40, &c->max_message_size);
}

/* The x400 part of a peer: names and passwords both ways, the address (host and selectors
 * and/or the presentation address), the P1 mode and the association parameters. */
/* Reports the second of two same-named items. */
static void check_dups(struct loader *L, const char *kind, const void *base, size_t n, size_t sz,
                       size_t name_off, size_t line_off)
{
    for (size_t i = 1; i < n; i++) {
        const char *bi = (const char *)base + i * sz;
        const char *ni = *(char *const *)(bi + name_off);
        if (!ni)
            continue;
        for (size_t j = 0; j < i; j++) {
            const char *bj = (const char *)base + j * sz;
            const char *nj = *(char *const *)(bj + name_off);
            if (nj && !strcmp(ni, nj)) {
                lerr(L, *(const int *)(bi + line_off), "duplicate %s name '%s' (first defined at line %d)",
                     kind, ni, *(const int *)(bj + line_off));
                break;
            }
        }
    }
}

/* Two rules with the same kind and value: the second can never be chosen. */
static void check_routes(struct loader *L)
{
    struct config *cfg = L->cfg;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const struct config_route *r = &cfg->routes[i];
        if (!r->value || r->match == CONFIG_MATCH_DEFAULT)
            continue;
        for (size_t j = 0; j < i; j++) {
            const struct config_route *p = &cfg->routes[j];
            /* the same address with other label conditions is another rule */
            if (p->match == r->match && p->value && !strcmp(p->value, r->value) && !p->label &&
                !r->label) {
                lerr(L, r->line, "route #%zu: same %s \"%s\" as the route at line %d, so it is "
                     "never used", i + 1, config_match_name(r->match), r->value, p->line);
                break;
            }
        }
    }
}


/* Each channel's kind checks its own options (only with a real registry, and only for a
 * channel whose name and type loaded: its errors would be noise otherwise). */
static void configure_channels(struct loader *L)
{
    if (!L->check_options)
        return;
    for (size_t i = 0; i < L->cfg->n_channels; i++) {
        struct config_channel *c = &L->cfg->channels[i];
        if (!c->kind || !c->name || !c->settings)
            continue;
        if (c->kind->configure) {
            int rc = c->kind->configure(L->cfg, c, &c->conf, &L->errs);
            if (rc == MG_ENOMEM)
                L->oom = true;
            else if (rc != 0 && L->errs.n == 0)
                lerr(L, c->line, "channel '%s': its options were refused (%s)", c->name,
                     mg_strerror(rc));
        } else {
            static const char *const none[] = { "concurrency", "max_message_size", NULL };
            config_channel_check_keys(L->cfg, c, none, &L->errs);
        }
    }
}

#define LOAD_LIST(sec, arr, narr, fn)                                                        \
    do {                                                                                     \
        if (sec) {                                                                           \
            int n_ = config_setting_length(sec);                                             \
            cfg->arr = xcalloc(L, (size_t)n_, sizeof *cfg->arr);                             \
            for (int i_ = 0; cfg->arr && i_ < n_; i_++) {                                    \
                fn(L, config_setting_get_elem(sec, (unsigned)i_), (size_t)i_,                \
                   &cfg->arr[i_]);                                                           \
                cfg->narr++;                                                                 \
            }                                                                                \
        }                                                                                    \
    } while (0)

static void build(struct loader *L)
{
    struct config *cfg = L->cfg;
    const config_setting_t *root = config_root_setting(&cfg->tree);
    check_keys(L, root, top_keys, "section", "at the top level");
    load_global(L, section_group(L, root, "global"));
    load_queue(L, section_group(L, root, "queue"));
    const config_setting_t *ls = section_list(L, root, "listeners");
    const config_setting_t *cs = section_list(L, root, "channels");
    const config_setting_t *ps = section_list(L, root, "peers");
    const config_setting_t *rs = section_list(L, root, "routes");
    if (!config_setting_get_member(root, "listeners"))
        lerr(L, 0, "no 'listeners' section: nothing would accept mail");
    if (!config_setting_get_member(root, "channels"))
        lerr(L, 0, "no 'channels' section: nothing could deliver mail");
    if (!config_setting_get_member(root, "routes"))
        lerr(L, 0, "no 'routes' section: no recipient would have a route");
    LOAD_LIST(ls, listeners, n_listeners, config_listeners_load);
    LOAD_LIST(cs, channels, n_channels, load_channel);
    LOAD_LIST(ps, peers, n_peers, config_peers_load);
    LOAD_LIST(rs, routes, n_routes, config_peers_load_route);
    check_dups(L, "listener", cfg->listeners, cfg->n_listeners, sizeof *cfg->listeners,
               offsetof(struct config_listener, name), offsetof(struct config_listener, line));
    check_dups(L, "channel", cfg->channels, cfg->n_channels, sizeof *cfg->channels,
               offsetof(struct config_channel, name), offsetof(struct config_channel, line));
    check_dups(L, "peer", cfg->peers, cfg->n_peers, sizeof *cfg->peers,
               offsetof(struct config_peer, name), offsetof(struct config_peer, line));
    config_listeners_check(L);
    config_peers_check_listeners(L);
    check_routes(L);
    configure_channels(L);
}

struct keyed_error {
    struct config_error e;
    size_t i;
};

static int err_cmp_keyed(const void *a, const void *b)
{
    const struct keyed_error *x = a, *y = b;
    if (x->e.line != y->e.line)
        return x->e.line < y->e.line ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i; /* same line: the order they were found */
}

/* By line, so the report reads top to bottom (sections are checked in a fixed order, not
 * file order). qsort is not stable, hence the original index as second key. */
static void sort_errors(struct config_errors *e)
{
    if (e->n < 2)
        return;
    struct keyed_error *k = calloc(e->n, sizeof *k);
    if (!k)
        return; /* unsorted is still correct, only less tidy */
    for (size_t i = 0; i < e->n; i++) {
        k[i].e = e->v[i];
        k[i].i = i;
    }
    qsort(k, e->n, sizeof *k, err_cmp_keyed);
    for (size_t i = 0; i < e->n; i++)
        e->v[i] = k[i].e;
    free(k);
}

/* ---- load / free --------------------------------------------------------------------- */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->global.hostname);
    free(cfg->global.var_dir);
    free(cfg->global.control_socket);
    free(cfg->global.user);
    free(cfg->global.metrics_listen);
    free(cfg->global.x400_domain);
    free(cfg->global.x400_gdi);
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        struct config_listener *l = &cfg->listeners[i];
        free(l->name);
        free(l->listen);
        free(l->relay_networks);
        free_strv(l->relay_domains, l->n_relay_domains);
        free_strv(l->local_domains, l->n_local_domains);
        free(l->tls.cert);
        free(l->tls.key);
        free(l->tls.ca);
    }
    free(cfg->listeners);
    for (size_t i = 0; i < cfg->n_channels; i++) {
        struct config_channel *c = &cfg->channels[i];
        if (c->conf && c->kind && c->kind->conf_free)
            c->kind->conf_free(c->conf);
        free(c->name);
        free(c->type);
    }
    free(cfg->channels);
    for (size_t i = 0; i < cfg->n_peers; i++) {
        struct config_peer *p = &cfg->peers[i];
        free(p->name);
        free(p->host);
        free(p->ca);
        free(p->cert);
        free(p->key);
        free(p->mta_name);
        free(p->password);
        free(p->our_mta_name);
        free(p->our_password);
        free(p->presentation_address);
        free(p->clearance);
        free(p->listener);
    }
    free(cfg->peers);
    for (size_t i = 0; i < cfg->n_routes; i++) {
        free(cfg->routes[i].or_rule);
        config_route_label_free(cfg->routes[i].label);
        free(cfg->routes[i].value);
        free(cfg->routes[i].chain);
    }
    free(cfg->routes);
    config_destroy(&cfg->tree);
    free(cfg);
}

/* Moves every error of src to the end of dst (dst may be NULL: they are dropped). */
static int move_errors(struct config_errors *dst, struct config_errors *src)
{
    int rc = 0;
    if (dst) {
        for (size_t i = 0; i < src->n && !rc; i++) {
            const struct config_error *e = &src->v[i];
            rc = config_errors_addf(dst, e->file, e->line, "%s", e->message);
        }
    }
    config_errors_free(src);
    return rc;
}

int config_load_text(const char *name, const char *text, size_t len, config_env_fn env,
                     void *env_ctx, struct config **out, struct config_errors *errs)
{
    struct config_load_opts o = { .env = env, .env_ctx = env_ctx };
    return config_load_text_ex(name, text, len, &o, out, errs);
}

int config_load_text_ex(const char *name, const char *text, size_t len,
                        const struct config_load_opts *o, struct config **out,
                        struct config_errors *errs)
{
    if (!out || (!text && len))
        return MG_EINVAL;
    *out = NULL;
    if (!name)
        name = "(config)";
    static const struct config_load_opts defaults = { 0 };
    if (!o)
        o = &defaults;
    config_env_fn env = o->env;
    void *env_ctx = o->env_ctx;
    struct loader L = { .file = name, .kinds = o->kinds ? o->kinds : name_only_list,
                        .check_options = o->kinds != NULL };
    struct mg_buf buf;
    mg_buf_init(&buf, 0);
    int rc = config_expand_text(name, text ? text : "", len, env, env_ctx, &buf, &L.errs);
    if (rc == MG_ENOMEM || rc == MG_ETOOBIG) {
        mg_buf_free(&buf);
        int mrc = move_errors(errs, &L.errs);
        return rc == MG_ENOMEM || mrc ? MG_ENOMEM : MG_ECONFIG;
    }
    /* Lines where a ${...} failed: whatever else goes wrong there is a consequence. */
    if (L.errs.n) {
        L.bad_lines = calloc(L.errs.n, sizeof *L.bad_lines);
        if (L.bad_lines) {
            for (size_t i = 0; i < L.errs.n; i++)
                L.bad_lines[i] = L.errs.v[i].line;
            L.n_bad = L.errs.n;
        }
    }
    struct config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        mg_buf_free(&buf);
        free(L.bad_lines);
        config_errors_free(&L.errs);
        return MG_ENOMEM;
    }
    config_init(&cfg->tree);
    cfg->path = xstrdup(&L, name);
    L.cfg = cfg;

    size_t lines = 1;
    for (size_t i = 0; i < buf.len; i++)
        lines += buf.data[i] == '\n';
    if (lines > MAX_LINES) {
        lerr(&L, 0, "more than %d lines", MAX_LINES);
    } else if (config_read_string(&cfg->tree, buf.data ? (const char *)buf.data : "") != CONFIG_TRUE) {
        const char *what = config_error_text(&cfg->tree);
        /* libconfig sees an unclosed brace or string only at the end of the file: name the
         * line that opened it instead, when the scan finds one. */
        char why[160];
        int at = config_error_line(&cfg->tree);
        int hint = config_syntax_hint((const char *)buf.data, buf.len, why, sizeof why);
        if (hint > 0 && hint < at && at >= (int)lines - 1)
            lerr(&L, hint, "%s: %s (libconfig stopped at line %d)", what ? what : "syntax error", why, at);
        else
            lerr(&L, at, "%s", what ? what : "syntax error");
    } else {
        build(&L);
    }
    mg_buf_free(&buf);
    free(L.bad_lines);

    if (L.oom) {
        config_errors_free(&L.errs);
        config_free(cfg);
        return MG_ENOMEM;
    }
    if (L.errs.n) {
        sort_errors(&L.errs);
        config_free(cfg);
        return move_errors(errs, &L.errs) ? MG_ENOMEM : MG_ECONFIG;
    }
    config_errors_free(&L.errs);
    *out = cfg;
    return 0;
}

int config_load(const char *path, struct config **out, struct config_errors *errs)
{
    return config_load_ex(path, NULL, out, errs);
}

int config_load_ex(const char *path, const struct config_load_opts *o, struct config **out,
                   struct config_errors *errs)
{
    if (!path || !out)
        return MG_EINVAL;
    *out = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    /* One more than the limit, so that "too big" is told apart from "exactly the limit". */
    int rc = mg_read_file(path, CONFIG_EXPAND_MAX_INPUT + 1, &data, &len);
    if (rc) {
        config_errors_addf(errs, path, 0, "cannot read: %s",
                           rc == MG_ETOOBIG ? "file too large" : (errno ? strerror(errno) : mg_strerror(rc)));
        return rc == MG_ENOMEM ? rc : (rc == MG_ETOOBIG ? MG_ECONFIG : MG_EIO);
    }
    rc = config_load_text_ex(path, (const char *)data, len, o, out, errs);
    free(data);
    return rc;
}

/* ---- lookups ------------------------------------------------------------------------- */

const struct config_channel *config_find_channel(const struct config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_channels; i++)
        if (cfg->channels[i].name && !strcmp(cfg->channels[i].name, name))
            return &cfg->channels[i];
    return NULL;
}

const struct config_peer *config_find_peer(const struct config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (cfg->peers[i].name && !strcmp(cfg->peers[i].name, name))
            return &cfg->peers[i];
    return NULL;
}

const struct config_listener *config_peer_p1_listener(const struct config *cfg,
                                                      const struct config_peer *p)
{
    const struct config_listener *l = p ? config_find_listener(cfg, p->listener) : NULL;
    if (l && l->protocol == CONFIG_PROTO_P1)
        return l;
    for (size_t i = 0; cfg && i < cfg->n_listeners; i++)
        if (cfg->listeners[i].protocol == CONFIG_PROTO_P1)
            return &cfg->listeners[i];
    return NULL;
}

const struct config_listener *config_find_listener(const struct config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        if (cfg->listeners[i].name && !strcmp(cfg->listeners[i].name, name))
            return &cfg->listeners[i];
    return NULL;
}

int config_channel_check_keys(const struct config *cfg, const struct config_channel *ch,
                              const char *const *allowed, struct config_errors *errs)
{
    static const char *const base[] = { "name", "type", NULL };
    static const char *const none[] = { NULL };
    if (!cfg || !ch || !ch->settings)
        return MG_EINVAL;
    struct loader L = { .file = cfg->path };
    char in[NAME_MAX_LEN + 40];
    snprintf(in, sizeof in, "in channel '%s'", ch->name ? ch->name : "?");
    /* the keys every channel has are suggested too ("concurency" -> "concurrency") */
    const char *keys[64];
    size_t nk = 0;
    for (const char *const *k = allowed ? allowed : none; *k && nk < 60; k++)
        keys[nk++] = *k;
    keys[nk++] = "concurrency";
    keys[nk++] = "max_message_size";
    keys[nk] = NULL;
    check_keys_skip(&L, ch->settings, keys, base, "key", in);
    int n = (int)L.errs.n;
    if (L.oom) {
        config_errors_free(&L.errs);
        return MG_ENOMEM;
    }
    return move_errors(errs, &L.errs) ? MG_ENOMEM : n;
}
