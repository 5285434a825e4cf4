/* config_dump: writes the effective configuration (after expansion, every default filled in)
 * in libconfig syntax, as `mixgate check-config -v` shows it; passwords as "********". */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#define CONFIG_GET_SHORT_NAMES
#include "config_get.h"

/* ---- dump ---------------------------------------------------------------------------- */

static void dump_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        /* A template's ${...} must not become the configuration's variable when the text is
         * read again: libconfig keeps the unknown escape "\$" as it is (a template's own
         * escape, written back so), and "\x24" is a "$" the expansion does not see. */
        if (*p == '\\' && p[1] == '$') {
            fputs("\\$", f);
            p++;
        } else if (*p == '$' && p[1] == '{')
            fputs("\\x24", f);
        else if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void dump_kv_str(FILE *f, const char *ind, const char *k, const char *v)
{
    if (!v)
        return;
    fprintf(f, "%s%s = ", ind, k);
    dump_str(f, v);
    fputs(";\n", f);
}

static void dump_strv(FILE *f, const char *ind, const char *k, char *const *v, size_t n)
{
    fprintf(f, "%s%s = [", ind, k);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : " ", f);
        dump_str(f, v[i]);
    }
    fputs(n ? " ];\n" : " ];\n", f);
}

static void dump_cidr(FILE *f, const struct config_cidr *c)
{
    char a[INET6_ADDRSTRLEN];
    if (!inet_ntop(c->family, c->addr, a, sizeof a))
        strcpy(a, "?");
    fprintf(f, "\"%s/%u\"", a, c->prefix);
}

/* A selector in the notation it is read back from: "text" when printable, else 'hex'H. */
static void dump_sel(FILE *f, const char *k, const struct config_sel *s)
{
    if (!s->len)
        return;
    bool text = true;
    for (size_t i = 0; i < s->len; i++)
        if (s->v[i] < 0x21 || s->v[i] > 0x7e || s->v[i] == '"' || s->v[i] == '\\' ||
            (i == 0 && (s->v[i] == '\'' || s->v[i] == '#')))
            text = false;
    fprintf(f, "    %s = \"", k);
    if (text) {
        fwrite(s->v, 1, s->len, f);
    } else {
        fputc('\'', f);
        for (size_t i = 0; i < s->len; i++)
            fprintf(f, "%02X", s->v[i]);
        fputs("'H", f);
    }
    fputs("\";\n", f);
}

/* ---- options as parsed: the tree ------------------------------------------------------- */

/* Values of these keys are secrets: written as "********" (which loads again as a string). */
static bool secret_key(const char *k)
{
    return k && (strstr(k, "password") || !strcmp(k, "passphrase") || !strcmp(k, "secret"));
}

static void dump_value(FILE *f, const config_setting_t *s, int ind, bool secret);

/* The members of group g, one "key = value;" per line at indent ind, but those in skip. */
static void dump_members(FILE *f, const config_setting_t *g, int ind, const char *const *skip)
{
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *k = config_setting_name(m);
        bool skipped = false;
        for (const char *const *sk = skip; sk && *sk && !skipped; sk++)
            skipped = k && !strcmp(k, *sk);
        if (skipped || !k)
            continue;
        fprintf(f, "%*s%s = ", ind, "", k);
        dump_value(f, m, ind, secret_key(k));
        fputs(";\n", f);
    }
}

/* A value in libconfig syntax, as the parser read it (the environment already expanded); a
 * group or list over several lines, its members at ind + 2. */
static void dump_value(FILE *f, const config_setting_t *s, int ind, bool secret)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP:
        fputs("{\n", f);
        dump_members(f, s, ind + 2, NULL);
        fprintf(f, "%*s}", ind, "");
        break;
    case CONFIG_TYPE_LIST:
    case CONFIG_TYPE_ARRAY: {
        bool list = config_setting_type(s) == CONFIG_TYPE_LIST;
        int n = config_setting_length(s);
        fputs(list ? "(" : "[", f);
        for (int i = 0; i < n; i++) {
            if (list)
                fprintf(f, "%s\n%*s", i ? "," : "", ind + 2, "");
            else
                fputs(i ? ", " : " ", f);
            dump_value(f, config_setting_get_elem(s, (unsigned)i), ind + 2, secret);
        }
        if (list)
            fprintf(f, "%s%*s)", n ? "\n" : "", n ? ind : 0, "");
        else
            fputs(n ? " ]" : "]", f);
        break;
    }
    case CONFIG_TYPE_INT:
        fprintf(f, "%d", config_setting_get_int(s));
        break;
    case CONFIG_TYPE_INT64:
        fprintf(f, "%lldL", (long long)config_setting_get_int64(s));
        break;
    case CONFIG_TYPE_FLOAT: {
        char b[64];
        snprintf(b, sizeof b, "%.17g", config_setting_get_float(s));
        fputs(b, f);
        if (!strpbrk(b, ".eEni")) /* libconfig reads "5" as an integer */
            fputs(".0", f);
        break;
    }
    case CONFIG_TYPE_BOOL:
        fputs(config_setting_get_bool(s) ? "true" : "false", f);
        break;
    case CONFIG_TYPE_STRING:
        dump_str(f, secret ? "********" : config_setting_get_string(s));
        break;
    default:
        fputs("\"\"", f);
        break;
    }
}

/* A channel's options: those its kind writes (conf_dump: parsed, defaults filled in), then
 * every other option of its group as written, so that what a kind does not write itself (or
 * a kind without conf_dump) loads again the same. The keys conf_dump wrote are found by
 * parsing its text; text that does not parse is left out (the group as written instead). */
static void dump_channel_options(FILE *f, const struct config_channel *c)
{
    static const char *const core[] = { "name", "type", "concurrency", "max_message_size", NULL };
    char *text = NULL, *doc = NULL;
    size_t tlen = 0;
    if (c->kind && c->kind->conf_dump && c->conf) {
        FILE *m = open_memstream(&text, &tlen);
        if (m) {
            c->kind->conf_dump(c->conf, m);
            fclose(m);
        }
    }
    config_t kt;
    config_init(&kt);
    const config_setting_t *written = NULL;
    if (text && tlen && asprintf(&doc, "c = {%s};", text) >= 0 && config_read_string(&kt, doc) == CONFIG_TRUE)
        written = config_lookup(&kt, "c");
    if (written)
        fputs(text, f);
    for (int i = 0; c->settings && i < config_setting_length(c->settings); i++) {
        const config_setting_t *m = config_setting_get_elem(c->settings, (unsigned)i);
        const char *k = config_setting_name(m);
        bool skip = !k;
        for (const char *const *sk = core; *sk && !skip; sk++)
            skip = !strcmp(k, *sk);
        if (skip || (written && config_setting_get_member(written, k)))
            continue;
        fprintf(f, "\n    %s = ", k);
        dump_value(f, m, 4, secret_key(k));
        fputc(';', f);
    }
    config_destroy(&kt);
    free(doc);
    free(text);
}

void config_dump(const struct config *cfg, FILE *f)
{
    if (!cfg || !f)
        return;
    const struct config_global *g = &cfg->global;
    fprintf(f, "# effective configuration of %s (environment expanded, defaults filled in)\n\n",
            cfg->path);
    fputs("global = {\n", f);
    dump_kv_str(f, "  ", "hostname", g->hostname);
    dump_kv_str(f, "  ", "var_dir", g->var_dir);
    dump_kv_str(f, "  ", "log", log_names[g->log]);
    for (int i = 0; level_names[i]; i++)
        if (level_values[i] == g->log_level)
            dump_kv_str(f, "  ", "log_level", level_names[i]);
    fprintf(f, "  max_message_size = %" PRIu64 "L;\n", g->max_message_size);
    dump_kv_str(f, "  ", "control_socket", g->control_socket);
    fprintf(f, "  audit_retention = %" PRIu32 ";\n", g->audit_retention);
    if (g->user)
        dump_kv_str(f, "  ", "user", g->user);
    if (g->metrics_listen)
        dump_kv_str(f, "  ", "metrics_listen", g->metrics_listen);
    dump_kv_str(f, "  ", "x400_domain", g->x400_domain);
    fprintf(f, "  x400_max_hops = %" PRIu32 ";\n", g->x400_max_hops);
    fputs("};\n\n", f);

    const struct config_queue *q = &cfg->queue;
    fprintf(f, "queue = {\n  retry_min = %" PRIu32 ";\n  retry_max = %" PRIu32 ";\n"
               "  max_lifetime = %" PRIu32 ";\n  delay_warning = %" PRIu32 ";\n"
               "  max_active_deliveries = %" PRIu32 ";\n  max_messages = %" PRIu32 ";\n"
               "  max_active_messages = %" PRIu32 ";\n  max_processing = %" PRIu32 ";\n};\n\n",
            q->retry_min, q->retry_max, q->max_lifetime, q->delay_warning,
            q->max_active_deliveries, q->max_messages, q->max_active_messages, q->max_processing);

    fputs("listeners = (\n", f);
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const struct config_listener *l = &cfg->listeners[i];
        fputs("  {\n", f);
        dump_kv_str(f, "    ", "name", l->name);
        dump_kv_str(f, "    ", "protocol", protocol_names[l->protocol]);
        dump_kv_str(f, "    ", "listen", l->listen);
        if (l->protocol == CONFIG_PROTO_P1) {
            dump_sel(f, "tsel", &l->tsel);
            dump_sel(f, "ssel", &l->ssel);
            dump_sel(f, "psel", &l->psel);
            fprintf(f, "    max_message_size = %" PRIu64 "L;\n    max_sessions = %" PRIu32 ";\n"
                       "    idle_timeout = %" PRIu32 ";\n  }%s\n",
                    l->max_message_size, l->max_sessions, l->idle_timeout,
                    i + 1 < cfg->n_listeners ? "," : "");
            continue;
        }
        fputs("    relay_networks = [", f);
        for (size_t k = 0; k < l->n_relay_networks; k++) {
            fputs(k ? ", " : " ", f);
            dump_cidr(f, &l->relay_networks[k]);
        }
        fputs(" ];\n", f);
        dump_strv(f, "    ", "relay_domains", l->relay_domains, l->n_relay_domains);
        dump_strv(f, "    ", "local_domains", l->local_domains, l->n_local_domains);
        fprintf(f, "    max_recipients = %" PRIu32 ";\n    max_message_size = %" PRIu64 "L;\n"
                   "    max_line_length = %" PRIu32 ";\n    max_sessions = %" PRIu32 ";\n"
                   "    max_sessions_per_client = %" PRIu32 ";\n    command_timeout = %" PRIu32 ";\n"
                   "    data_timeout = %" PRIu32 ";\n    first_command_timeout = %" PRIu32 ";\n"
                   "    max_connection_rate = %" PRIu32 ";\n",
                l->max_recipients, l->max_message_size, l->max_line_length, l->max_sessions,
                l->max_sessions_per_client, l->command_timeout, l->data_timeout,
                l->first_command_timeout, l->max_connection_rate);
        if (l->tls.cert) {
            fputs("    tls = {\n", f);
            dump_kv_str(f, "      ", "cert", l->tls.cert);
            dump_kv_str(f, "      ", "key", l->tls.key);
            dump_kv_str(f, "      ", "ca", l->tls.ca);
            fprintf(f, "      require_tls = %s;\n    };\n", l->tls.require_tls ? "true" : "false");
        }
        fprintf(f, "    smtputf8 = %s;\n    allow_open_relay = %s;\n  }%s\n",
                l->smtputf8 ? "true" : "false", l->allow_open_relay ? "true" : "false",
                i + 1 < cfg->n_listeners ? "," : "");
    }
    fputs(");\n\nchannels = (\n", f);
    for (size_t i = 0; i < cfg->n_channels; i++) {
        const struct config_channel *c = &cfg->channels[i];
        fputs("  { ", f);
        fputs("name = ", f);
        dump_str(f, c->name);
        fputs("; type = ", f);
        dump_str(f, c->type);
        fputs(";", f);
        /* concurrency: deliveries in flight per destination, a delivery kind's only */
        if (c->delivery)
            fprintf(f, " concurrency = %" PRIu32 ";", c->concurrency);
        if (c->max_message_size)
            fprintf(f, " max_message_size = %" PRIu64 "L;", c->max_message_size);
        dump_channel_options(f, c);
        fprintf(f, " }%s\n", i + 1 < cfg->n_channels ? "," : "");
    }
    fputs(");\n\npeers = (\n", f);
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct config_peer *p = &cfg->peers[i];
        fputs("  {\n", f);
        dump_kv_str(f, "    ", "name", p->name);
        dump_kv_str(f, "    ", "type", peer_type_names[p->type]);
        /* An x400 peer's host and selectors given in its presentation address are dumped
         * there only (giving them twice is an error on reading back). */
        bool in_paddr = false;
        if (p->type == CONFIG_PEER_X400 && p->presentation_address) {
            struct config_sel ps, ss, ts;
            char *h = NULL;
            uint16_t port;
            in_paddr = config_parse_paddr(p->presentation_address, &ps, &ss, &ts, &h, &port) == 0 && h;
            free(h);
        }
        if (p->host && !in_paddr) {
            char hp[300];
            snprintf(hp, sizeof hp, strchr(p->host, ':') ? "[%s]:%u" : "%s:%u", p->host, p->port);
            dump_kv_str(f, "    ", "host", hp);
        }
        fprintf(f, "    max_connections = %" PRIu32 ";\n    messages_per_connection = %" PRIu32 ";\n"
                   "    connect_timeout = %" PRIu32 ";\n",
                p->max_connections, p->messages_per_connection, p->connect_timeout);
        if (p->max_message_size)
            fprintf(f, "    max_message_size = %" PRIu64 "L;\n", p->max_message_size);
        if (p->type == CONFIG_PEER_SMTP) {
            if (p->mx)
                fputs("    mx = true;\n", f);
            dump_kv_str(f, "    ", "starttls", starttls_names[p->starttls]);
            fprintf(f, "    verify = %s;\n", p->verify ? "true" : "false");
            dump_kv_str(f, "    ", "ca", p->ca);
            dump_kv_str(f, "    ", "cert", p->cert);
            dump_kv_str(f, "    ", "key", p->key);
        } else {
            dump_kv_str(f, "    ", "mta_name", p->mta_name);
            if (p->password)
                dump_kv_str(f, "    ", "password", "********");
            dump_kv_str(f, "    ", "our_mta_name", p->our_mta_name);
            if (p->our_password)
                dump_kv_str(f, "    ", "our_password", "********");
            dump_kv_str(f, "    ", "presentation_address", p->presentation_address);
            if (!p->presentation_address) {
                dump_sel(f, "tsel", &p->tsel);
                dump_sel(f, "ssel", &p->ssel);
                dump_sel(f, "psel", &p->psel);
            }
            dump_kv_str(f, "    ", "mode", config_x400_mode_name(p->mode));
            fprintf(f, "    checkpoint_size = %" PRIu32 ";\n    window = %" PRIu32 ";\n",
                    p->checkpoint_size, p->window);
            dump_kv_str(f, "    ", "dialogue", dialogue_names[p->dialogue]);
            fprintf(f, "    idle_timeout = %" PRIu32 ";\n    check_calling_address = %s;\n",
                    p->idle_timeout, p->check_calling_address ? "true" : "false");
            if (p->inbound_only)
                fputs("    inbound_only = true;\n", f);
            dump_kv_str(f, "    ", "clearance", p->clearance);
            dump_kv_str(f, "    ", "listener", p->listener);
        }
        fprintf(f, "  }%s\n", i + 1 < cfg->n_peers ? "," : "");
    }
    fputs(");\n\nroutes = (\n", f);
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const struct config_route *r = &cfg->routes[i];
        fputs("  { ", f);
        if (r->match == CONFIG_MATCH_DEFAULT) {
            fputs("default = true;", f);
        } else {
            fprintf(f, "%s = ", config_match_name(r->match));
            dump_str(f, r->value);
            fputs(";", f);
        }
        fputs(" chain = [", f);
        for (size_t k = 0; k < r->n_chain; k++) {
            fputs(k ? ", " : " ", f);
            dump_str(f, r->chain[k]->name);
        }
        fputs(" ];", f);
        if (r->peer) {
            fputs(" peer = ", f);
            dump_str(f, r->peer->name);
            fputs(";", f);
        }
        if (r->label) {
            fputc('\n', f);
            dump_kv_str(f, "    ", "label_policy", r->label->policy);
            dump_kv_str(f, "    ", "label_at_least", r->label->at_least);
            dump_kv_str(f, "    ", "label_at_most", r->label->at_most);
            if (r->label->ncategories)
                dump_strv(f, "    ", "label_category", r->label->categories, r->label->ncategories);
            fputs(" ", f);
        }
        fprintf(f, " }%s\n", i + 1 < cfg->n_routes ? "," : "");
    }
    fputs(");\n", f);
    /* The labels module's group (channels/labels reads and checks it): as written. */
    const config_setting_t *lg = config_lookup(&cfg->tree, "labels");
    if (lg) {
        fputs("\nlabels = ", f);
        dump_value(f, lg, 0, false);
        fputs(";\n", f);
    }
}

