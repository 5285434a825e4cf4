/* mixer_channel: the `mixer` processing channel kind. Options (docs/mixer.md):
 *   direction = "to-x400" | "to-smtp" | "auto"   (auto: by the content's world; default)
 *   domain    = "x400.example"                   Internet domain of X.400 users (required)
 *   or_address = "/C=GB/ADMD= /PRMD=Example/O=MIXER/"  O/R address of Internet users (required)
 *   tables    = "etc/mixer"                       directory with rfc2or and or2rfc (optional)
 *   rfc2or / or2rfc = "path"                      the two tables named one by one (optional)
 *   gate1 / gate2 = "path"                        RFC 2156 tables 3 and 4, the preferred
 *                                                gateways (optional; "tables" loads its
 *                                                gate1 and gate2 files when they exist)
 *   content   = "p2" | "p22" | "p772"             what RFC 5322 content becomes (default p22)
 *   notifications = "text" | "mdn"               an IPN as RFC 2156 text (default) or an MDN
 *   dsn       = "report" | "message"             a DSN to X.400 as an X.400 report (default,
 *                                                RFC 2156 5.1.8) or as an ordinary IPM
 * The tables are read and checked at load time (check-config names file:line), so a reload
 * (SIGHUP) reads them again. process() converts the content, maps every recipient's and the
 * originator's next-hop address; a recipient whose address does not map fails with a report,
 * content that cannot be converted fails every recipient of the group with a report (RFC 3463
 * 5.6.x, X.411 unable-to-transfer); an internal error holds the group. Nothing is dropped.
 * The queue priority follows the message's STANAG 4406 primary precedence when it has one.
 * Reports (RFC 2156 5.1.8 / 5.3.8, mixer_report): an X.400 report content (X400_REPORT,
 * a ReportTransferContent) becomes an RFC 3464 DSN; an RFC 3464 DSN with the null reverse
 * path becomes an X.400 report content (subject identifier from an "X400-MTS-Identifier: "
 * Original-Envelope-Id, else made up; the whole DSN as an IPM for returned content; its
 * delayed / relayed / expanded recipients get that IPM as a message of its own). A DSN that
 * cannot be mapped is converted as an ordinary message. The DSN parameters and the priority
 * cross with the message (RFC 2156 appendix A, RFC 6710): mixer_channel_env.c. */
#define _GNU_SOURCE /* strdup */
#include "mixer_channel.h"
#include "mixer_channel_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>

#include "mg_buf.h"
#include "mg_err.h"
#include "mixer_addr.h"
#include "mixer_conv.h"
#include "mixer_env.h"
#include "mixer_hdr.h"
#include "mixer_report.h"
#include "mixer_table.h"


/* X.411 codes used in outcomes. */
#define X411_UNABLE_TO_TRANSFER 1
#define X411_DIAG_UNRECOGNISED_OR_NAME 0
#define X411_DIAG_CONVERSION_IMPRACTICAL 8
#define X411_DIAG_CONTENT_SYNTAX_ERROR 12

static int opt_line(const struct config_channel *ch, const char *key)
{
    const config_setting_t *s = config_setting_get_member(ch->settings, key);
    return s ? (int)config_setting_source_line(s) : ch->line;
}

static const char *opt_str(const struct config *cfg, const struct config_channel *ch,
                           const char *key, struct config_errors *errs, int *bad)
{
    const config_setting_t *s = config_setting_get_member(ch->settings, key);
    if (!s)
        return NULL;
    const char *v = config_setting_get_string(s);
    if (!v) {
        config_errors_addf(errs, cfg->path, (int)config_setting_source_line(s),
                           "channel '%s': %s must be a string", ch->name, key);
        (*bad)++;
    }
    return v;
}

/* A library message "file:line: reason" as a configuration error at that file and line. */
static void add_located(struct config_errors *errs, const char *msg, const char *suffix)
{
    const char *p = msg;
    while ((p = strchr(p, ':'))) {
        char *end;
        unsigned long line = strtoul(p + 1, &end, 10);
        if (end != p + 1 && end[0] == ':' && end[1] == ' ') {
            char file[512];
            snprintf(file, sizeof file, "%.*s", (int)(p - msg), msg);
            config_errors_addf(errs, file, (int)line, "%s%s", end + 2, suffix);
            return;
        }
        p++;
    }
    config_errors_addf(errs, NULL, 0, "%s%s", msg, suffix);
}

static int load_table(struct mixer_conf *c, const struct config *cfg, int line,
                      enum mixer_table_kind k, const char *path, struct config_errors *errs)
{
    unsigned char *text = NULL;
    size_t len = 0;
    char err[600] = "";
    int rc = mg_read_file(path, 64u << 20, &text, &len);
    if (rc) {
        config_errors_addf(errs, cfg->path, line, "mixer table %s cannot be read: %s", path,
                           mg_strerror(rc));
        return MG_ECONFIG;
    }
    rc = mixer_tables_load(&c->tables, k, path, (const char *)text, len, err, sizeof err);
    free(text);
    if (rc) {
        /* the table's own file:line, as the operator must fix it there */
        add_located(errs, err, "");
        return MG_ECONFIG;
    }
    return 0;
}

static void mixer_conf_free(void *p)
{
    struct mixer_conf *c = p;
    if (!c)
        return;
    mixer_tables_free(&c->tables);
    free(c);
}

static int mixer_configure(const struct config *cfg, const struct config_channel *ch, void **out,
                           struct config_errors *errs)
{
    static const char *const keys[] = {"direction", "domain", "or_address", "tables",
                                       "rfc2or", "or2rfc", "gate1", "gate2", "content",
                                       "notifications", "dsn", NULL};
    int bad = 0;
    int unknown = config_channel_check_keys(cfg, ch, keys, errs);
    if (unknown < 0)
        return unknown;
    struct mixer_conf *c = calloc(1, sizeof *c);
    if (!c)
        return MG_ENOMEM;
    mixer_tables_init(&c->tables);
    c->gw.tables = &c->tables;
    c->content = MIXER_CONTENT_P22;

    const char *v = opt_str(cfg, ch, "direction", errs, &bad);
    if (v) {
        if (!strcmp(v, "to-x400"))
            c->dir = MIXER_DIR_TO_X400;
        else if (!strcmp(v, "to-smtp"))
            c->dir = MIXER_DIR_TO_SMTP;
        else if (!strcmp(v, "auto"))
            c->dir = MIXER_DIR_AUTO;
        else {
            config_errors_addf(errs, cfg->path, opt_line(ch, "direction"),
                               "channel '%s': direction must be to-x400, to-smtp or auto, not '%s'",
                               ch->name, v);
            bad++;
        }
    }
    if ((v = opt_str(cfg, ch, "content", errs, &bad))) {
        if (!strcasecmp(v, "p22"))
            c->content = MIXER_CONTENT_P22;
        else if (!strcasecmp(v, "p2"))
            c->content = MIXER_CONTENT_P2; /* IPMS 1984 peers (RFC 2156 appendix B) */
        else if (!strcasecmp(v, "p772"))
            c->content = MIXER_CONTENT_P772;
        else {
            config_errors_addf(errs, cfg->path, opt_line(ch, "content"),
                               "channel '%s': content must be p2, p22 or p772, not '%s'", ch->name,
                               v);
            bad++;
        }
    }
    if ((v = opt_str(cfg, ch, "notifications", errs, &bad))) {
        if (!strcmp(v, "mdn"))
            c->gw.flags |= MIXER_GW_IPN_AS_MDN;
        else if (strcmp(v, "text") != 0) {
            config_errors_addf(errs, cfg->path, opt_line(ch, "notifications"),
                               "channel '%s': notifications must be text (RFC 2156) or mdn "
                               "(RFC 8098), not '%s'", ch->name, v);
            bad++;
        }
    }
    if ((v = opt_str(cfg, ch, "dsn", errs, &bad))) {
        if (!strcmp(v, "message"))
            c->dsn_as_message = true;
        else if (strcmp(v, "report") != 0) {
            config_errors_addf(errs, cfg->path, opt_line(ch, "dsn"),
                               "channel '%s': dsn must be report (RFC 2156 5.1.8) or message, "
                               "not '%s'", ch->name, v);
            bad++;
        }
    }
    v = opt_str(cfg, ch, "domain", errs, &bad);
    if (!v || !*v || strlen(v) >= sizeof c->gw.domain || strchr(v, '@') || strchr(v, ' ')) {
        config_errors_addf(errs, cfg->path, opt_line(ch, "domain"),
                           "channel '%s': domain (the Internet domain of X.400 users) %s",
                           ch->name, v ? "is not a domain" : "is required");
        bad++;
    } else {
        snprintf(c->gw.domain, sizeof c->gw.domain, "%s", v);
    }
    v = opt_str(cfg, ch, "or_address", errs, &bad);
    char why[200] = "";
    if (!v || mixer_or_parse(v, strlen(v), &c->gw.or, why, sizeof why) != 0 ||
        !mixer_or_get(&c->gw.or, MIXER_OR_C, 0)) {
        config_errors_addf(errs, cfg->path, opt_line(ch, "or_address"),
                           "channel '%s': or_address (the O/R address of Internet users, e.g. "
                           "\"/C=GB/ADMD= /PRMD=Example/O=MIXER/\") %s%s",
                           ch->name, v ? "is not valid: " : "is required",
                           v ? (why[0] ? why : "it has no C=") : "");
        bad++;
    }
    const char *dir = opt_str(cfg, ch, "tables", errs, &bad);
    const char *t1 = opt_str(cfg, ch, "rfc2or", errs, &bad);
    const char *t2 = opt_str(cfg, ch, "or2rfc", errs, &bad);
    if (dir) {
        snprintf(c->rfc2or, sizeof c->rfc2or, "%s/rfc2or", dir);
        snprintf(c->or2rfc, sizeof c->or2rfc, "%s/or2rfc", dir);
    }
    if (t1)
        snprintf(c->rfc2or, sizeof c->rfc2or, "%s", t1);
    if (t2)
        snprintf(c->or2rfc, sizeof c->or2rfc, "%s", t2);
    /* tables 3 and 4: named, or in the tables directory when present there */
    const char *g1 = opt_str(cfg, ch, "gate1", errs, &bad);
    const char *g2 = opt_str(cfg, ch, "gate2", errs, &bad);
    struct stat st;
    if (g1)
        snprintf(c->gate1, sizeof c->gate1, "%s", g1);
    else if (dir && snprintf(c->gate1, sizeof c->gate1, "%s/gate1", dir) > 0 &&
             stat(c->gate1, &st) != 0)
        c->gate1[0] = '\0';
    if (g2)
        snprintf(c->gate2, sizeof c->gate2, "%s", g2);
    else if (dir && snprintf(c->gate2, sizeof c->gate2, "%s/gate2", dir) > 0 &&
             stat(c->gate2, &st) != 0)
        c->gate2[0] = '\0';
    if (c->rfc2or[0] &&
        load_table(c, cfg, opt_line(ch, t1 ? "rfc2or" : "tables"), MIXER_TABLE_RFC2OR, c->rfc2or,
                   errs) != 0)
        bad++;
    if (c->or2rfc[0] &&
        load_table(c, cfg, opt_line(ch, t2 ? "or2rfc" : "tables"), MIXER_TABLE_OR2RFC, c->or2rfc,
                   errs) != 0)
        bad++;
    if (c->gate1[0] &&
        load_table(c, cfg, opt_line(ch, g1 ? "gate1" : "tables"), MIXER_TABLE_GATE1, c->gate1,
                   errs) != 0)
        bad++;
    if (c->gate2[0] &&
        load_table(c, cfg, opt_line(ch, g2 ? "gate2" : "tables"), MIXER_TABLE_GATE2, c->gate2,
                   errs) != 0)
        bad++;
    char err[600] = "";
    size_t conflicts = mixer_tables_check(&c->tables, err, sizeof err);
    if (conflicts) {
        char suffix[200];
        snprintf(suffix, sizeof suffix, " (%zu conflicting mapping%s, channel '%s')", conflicts,
                 conflicts == 1 ? "" : "s", ch->name);
        add_located(errs, err, suffix);
        bad++;
    }
    if (bad || unknown) {
        mixer_conf_free(c);
        return MG_ECONFIG;
    }
    *out = c;
    return 0;
}

static void mixer_conf_dump(const void *p, FILE *f)
{
    const struct mixer_conf *c = p;
    char or[1024] = "";
    (void)mixer_or_print(&c->gw.or, or, sizeof or);
    fprintf(f, " direction = \"%s\"; domain = \"%s\"; or_address = \"%s\"; content = \"%s\";"
               " notifications = \"%s\";",
            c->dir == MIXER_DIR_TO_X400 ? "to-x400" : c->dir == MIXER_DIR_TO_SMTP ? "to-smtp" : "auto",
            c->gw.domain, or,
            c->content == MIXER_CONTENT_P772 ? "p772" : c->content == MIXER_CONTENT_P2 ? "p2" : "p22",
            (c->gw.flags & MIXER_GW_IPN_AS_MDN) ? "mdn" : "text");
    if (c->dsn_as_message)
        fprintf(f, " dsn = \"message\";");
    if (c->rfc2or[0])
        fprintf(f, " rfc2or = \"%s\";", c->rfc2or);
    if (c->or2rfc[0])
        fprintf(f, " or2rfc = \"%s\";", c->or2rfc);
    if (c->gate1[0])
        fprintf(f, " gate1 = \"%s\";", c->gate1);
    if (c->gate2[0])
        fprintf(f, " gate2 = \"%s\";", c->gate2);
}

static int map_addr_use(const struct mixer_conf *c, bool to_x400, const char *a,
                        enum mixer_addr_use use, char **out, enum mixer_addr_how *how,
                        char *why, size_t whysize);

int mixer_channel_map_addr(const struct mixer_conf *c, bool to_x400, const char *a, char **out,
                           enum mixer_addr_how *how, char *why, size_t whysize)
{
    return map_addr_use(c, to_x400, a, MIXER_ADDR_USE_IPMS, out, how, why, whysize);
}

int mixer_channel_map_return(const struct mixer_conf *c, bool to_x400, const char *a, char **out,
                             enum mixer_addr_how *how, char *why, size_t whysize)
{
    return map_addr_use(c, to_x400, a, MIXER_ADDR_USE_RETURN, out, how, why, whysize);
}

static int map_addr_use(const struct mixer_conf *c, bool to_x400, const char *a,
                        enum mixer_addr_use use, char **out, enum mixer_addr_how *how,
                        char *why, size_t whysize)
{
    char buf[MIXER_ADDR_MAX * 2];
    struct mixer_or or;
    int rc;
    *out = NULL;
    *how = MIXER_ADDR_OR_LHS; /* "already in the target form" unless mapped below */
    if (!*a) { /* the null reverse path stays null */
        *out = strdup("");
        return *out ? 0 : MG_ENOMEM;
    }
    bool is_or = a[0] == '/' || a[0] == ';';
    if (to_x400 && !is_or) {
        rc = mixer_addr_to_or_ex(&c->gw, a, strlen(a), use, &or, how, why, whysize);
        if (!rc)
            rc = mixer_or_print(&or, buf, sizeof buf);
    } else if (!to_x400 && is_or) {
        rc = mixer_or_parse(a, strlen(a), &or, why, whysize);
        if (!rc)
            rc = mixer_addr_to_822(&c->gw, &or, buf, sizeof buf, how, why, whysize);
    } else {
        snprintf(buf, sizeof buf, "%s", a);
        rc = 0;
    }
    if (rc)
        return rc;
    *out = strdup(buf);
    return *out ? 0 : MG_ENOMEM;
}

/* RFC 2156's loop guard: conversions already made, counted by the gateways' trace lines
 * ("Received: ... with MIXER ...") in the RFC 5322 form of the message. */
#define MIXER_MAX_CONVERSIONS 5

static size_t conversions(const unsigned char *m, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i + 9 < len; i++) {
        if ((i == 0 || m[i - 1] == '\n') && !strncasecmp((const char *)m + i, "Received:", 9)) {
            const unsigned char *e = memchr(m + i, '\n', len - i);
            size_t l = e ? (size_t)(e - (m + i)) : len - i;
            for (size_t k = i; k + 11 <= i + l; k++)
                if (!memcmp(m + k, " with MIXER", 11)) {
                    n++;
                    break;
                }
        }
        if ((i == 0 || m[i - 1] == '\n') && (m[i] == '\r' || m[i] == '\n'))
            break; /* end of the header */
    }
    return n;
}

/* RFC 2156 5.3.6: the MTS envelope as X400-* fields (the originator and this group's
 * recipients in their O/R form, the content type) and, when the content has none, a Date
 * from the arrival time (RFC 5322 requires one; X.400 content carries none). */
static int envelope_fields(const struct mixer_conf *c, const struct channel_task *t,
                           const unsigned char *ber, size_t blen, const struct mg_buf *msg,
                           struct mg_buf *out)
{
    struct mixer_env *e = malloc(sizeof *e);
    if (!e)
        return MG_ENOMEM;
    mixer_env_init(e);
    if (t->originator && (t->originator[0] == '/' || t->originator[0] == ';'))
        snprintf(e->originator, sizeof e->originator, "%s", t->originator);
    for (size_t i = 0; i < t->nrcpts && e->nrcpts < MIXER_ENV_MAX_RCPTS; i++)
        if (t->rcpt_addrs[i][0] == '/' || t->rcpt_addrs[i][0] == ';')
            snprintf(e->rcpts[e->nrcpts++], sizeof e->rcpts[0], "%s", t->rcpt_addrs[i]);
    enum mixer_content kind;
    if (mixer_conv_content_kind(ber, blen, &kind) == 0)
        snprintf(e->content_type, sizeof e->content_type, "%s",
                 kind == MIXER_CONTENT_P772 ? mixer_content_oid(kind) : "22");
    /* only whether there is a Date: one walk of the header, nothing kept (a header it
     * refuses counts as none, as a whole parse that failed did) */
    char date[8];
    bool has_date = mixer_hdr_first((const char *)msg->data, msg->len, "Date", date,
                                    sizeof date) == 1;
    if (!has_date) {
        time_t at = (time_t)(t->msg->arrival ? t->msg->arrival : t->now);
        struct tm tm;
        gmtime_r(&at, &tm);
        /* UTCTime has a two-digit year (RFC 2156 3.3.5 reads it back in 1980..2079) */
        snprintf(e->submission_time, sizeof e->submission_time, "%02d%02d%02d%02d%02d%02dZ",
                 tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    int rc = mixer_env_to_headers(&c->gw, e, out);
    free(e);
    return rc;
}

static void fail_rcpt(struct channel_rcpt_result *rr, const char *status, int diag,
                      const char *text)
{
    channel_outcome_set(&rr->outcome, CHANNEL_FAILED, 554, status, text, NULL);
    rr->outcome.x400_reason = X411_UNABLE_TO_TRANSFER;
    rr->outcome.x400_diagnostic = diag;
}

/* X.400 report content -> RFC 3464 DSN (RFC 2156 5.3.8) into r->content. 0 with
 * r->content set, 0 with every recipient failed (the report cannot be read), or an error. */
static int report_to_dsn(const struct mixer_conf *c, const struct channel_task *t,
                         const unsigned char *data, size_t clen, struct channel_result *r)
{
    struct mixer_report *rep = calloc(1, sizeof *rep);
    struct mg_buf ret, ret822, out;
    char why[300] = "", cwhy[300] = "", to[MIXER_ADDR_MAX] = "", mid[300];
    char *to_addr = NULL;
    enum mixer_addr_how how;
    mg_buf_init(&ret, MIXER_CONV_MAX_OUT);
    mg_buf_init(&ret822, MIXER_CONV_MAX_OUT);
    mg_buf_init(&out, MIXER_CONV_MAX_OUT);
    if (!rep) {
        snprintf(r->error, sizeof r->error, "mixer: out of memory");
        return MG_ENOMEM;
    }
    int rc = mixer_report_from_ber(data, clen, rep, &ret, why, sizeof why);
    /* the stored report envelope (when it came over P1 or was made here) gives the report
     * identifier, the reporting domain and the date; without it the DSN is still complete */
    char ewhy[200];
    if (!rc && t->msg->x400_env && t->msg->x400_env_len &&
        mixer_report_envelope_from_ber(t->msg->x400_env, t->msg->x400_env_len, rep, ewhy,
                                       sizeof ewhy) == MG_ENOMEM)
        rc = MG_ENOMEM;
    if (!rc)
        rc = mixer_report_map(rep, &c->gw, 0, why, sizeof why);
    if (!rc && t->nrcpts > 0 &&
        mixer_channel_map_addr(c, false, t->rcpt_addrs[0], &to_addr, &how, why, sizeof why) == 0)
        snprintf(to, sizeof to, "%s", to_addr);
    free(to_addr);
    const char *host = t->cfg->global.hostname ? t->cfg->global.hostname : "localhost";
    snprintf(mid, sizeof mid, "%s.report@%s", t->msg->id[0] ? t->msg->id : "0", host);
    struct mixer_report_dsn_opts o = {.gateway = host, .to = to[0] ? to : "postmaster",
                                      .message_id = mid, .now = t->now};
    /* the returned X.400 content goes back as RFC 822 when it converts, else as BER */
    enum mixer_content kind = MIXER_CONTENT_P22;
    if (!rc && rep->returned &&
        mixer_conv_content_kind(rep->returned, rep->returned_len, &kind) == 0 &&
        mixer_conv_to_822(&c->gw, kind, rep->returned, rep->returned_len, &ret822, cwhy,
                          sizeof cwhy) == 0) {
        rep->returned = ret822.data;
        rep->returned_len = ret822.len;
        o.returned_is_822 = 1;
    }
    if (!rc)
        rc = mixer_report_to_dsn(rep, &o, &out);
    if (!rc) {
        size_t olen = 0;
        unsigned char *bytes = mg_buf_steal(&out, &olen);
        r->content = content_new(MESSAGE_CONTENT_RFC5322, 0, bytes, olen);
        if (!r->content)
            rc = MG_ENOMEM;
    } else if (rc != MG_ENOMEM) {
        char text[400];
        snprintf(text, sizeof text, "MIXER: the X.400 report cannot be mapped to a DSN: %.300s",
                 why[0] ? why : mg_strerror(rc));
        for (size_t i = 0; i < t->nrcpts; i++)
            fail_rcpt(&r->rcpts[i], "5.6.0", X411_DIAG_CONTENT_SYNTAX_ERROR, text);
        rc = 0;
    }
    mg_buf_free(&ret);
    mg_buf_free(&ret822);
    mg_buf_free(&out);
    free(rep);
    if (rc == MG_ENOMEM)
        snprintf(r->error, sizeof r->error, "mixer: out of memory");
    return rc;
}

/* A copy of the DSN whose message/delivery-status part is text/plain (same length: the
 * type is overwritten and padded with blanks), so that the IPM made of it carries the status
 * as IA5 text (RFC 2156 5.1.8.3). NULL when out of memory. */
static unsigned char *dsn_part_as_text(const unsigned char *data, size_t len)
{
    static const char from[] = "message/delivery-status", to[] = "text/plain";
    const size_t fl = sizeof from - 1, tl = sizeof to - 1;
    unsigned char *m = malloc(len ? len : 1);
    if (!m)
        return NULL;
    memcpy(m, data, len);
    for (size_t i = 0; i + 14 + fl <= len; i++) {
        if ((i > 0 && m[i - 1] != '\n') || strncasecmp((const char *)m + i, "Content-Type:", 13))
            continue;
        size_t v = i + 13;
        while (v < len && (m[v] == ' ' || m[v] == '\t'))
            v++;
        if (v + fl <= len && !strncasecmp((const char *)m + v, from, fl)) {
            memcpy(m + v, to, tl);
            memset(m + v + tl, ' ', fl - tl);
        }
    }
    return m;
}

/* An RFC 3464 DSN about an X.400 message -> X.400 report content (RFC 2156 5.1.8) into
 * r->content. Returns 1 when it did, 0 when the message is not such a DSN (convert it as a
 * message), MG_ENOMEM. */
static int dsn_to_report(const struct mixer_conf *c, const struct channel_task *t,
                         const unsigned char *data, size_t clen, struct channel_result *r)
{
    if (t->originator && t->originator[0])
        return 0; /* a DSN has the null reverse path (RFC 3461 6.2) */
    struct mixer_report *rep = calloc(1, sizeof *rep);
    if (!rep) {
        snprintf(r->error, sizeof r->error, "mixer: out of memory");
        return MG_ENOMEM;
    }
    size_t skipped = 0;
    char why[300] = "", now[64];
    time_t tn = (time_t)t->now;
    struct tm tm;
    gmtime_r(&tn, &tm);
    snprintf(now, sizeof now, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    struct mg_buf out;
    mg_buf_init(&out, MIXER_CONV_MAX_OUT);
    int rc = mixer_dsn_parse(data, clen, rep, &skipped, why, sizeof why);
    if (!rc && !rep->subject_id[0]) {
        /* not about a message that left X.400 with its MTS identifier in ENVID: the gateway
         * makes one up (RFC 2156 5.1.8.3), from its own domain and the DSN's queue id */
        char gdi[MIXER_REPORT_ADDR_MAX - 64];
        if (mixer_channel_gdi(c, gdi, sizeof gdi) != 0)
            rc = MG_ETOOBIG;
        else
            snprintf(rep->subject_id, sizeof rep->subject_id, "[%s;DSN.%.28s]", gdi,
                     t->msg->id[0] ? t->msg->id : "0");
    }
    if (!rc)
        rc = mixer_report_map(rep, &c->gw, 1, why, sizeof why);
    /* RFC 2156 5.1.8.1 / 5.1.8.3: the whole DSN, converted as an ordinary message, is the
     * returned content (the DSN text as a body part, the returned message enclosed) */
    struct mg_buf ret;
    mg_buf_init(&ret, MIXER_CONV_MAX_OUT);
    rep->returned = NULL;
    rep->returned_len = 0;
    unsigned char *plain = rc ? NULL : dsn_part_as_text(data, clen);
    if (plain) {
        char cwhy[200];
        if (mixer_conv_to_x400(&c->gw, c->content, plain, clen, &ret, cwhy, sizeof cwhy) == 0) {
            rep->returned = ret.data;
            rep->returned_len = ret.len;
            rep->returned_type = c->content == MIXER_CONTENT_P772 ? mixer_content_oid(c->content)
                                 : c->content == MIXER_CONTENT_P2 ? "2" : "22";
        }
        free(plain);
    }
    if (!rc)
        rc = mixer_report_to_ber(rep, now, &out, why, sizeof why);
    int done = 0;
    if (!rc) {
        size_t olen = 0;
        unsigned char *bytes = mg_buf_steal(&out, &olen);
        r->content = content_new(MESSAGE_CONTENT_X400_REPORT, 0, bytes, olen);
        done = r->content ? 1 : MG_ENOMEM;
    } else if (rc == MG_ENOMEM) {
        done = rc;
    }
    /* RFC 2156 5.1.8.3: recipients reported delayed, relayed or expanded get an IPM (the DSN
     * as a message); with failed or delivered ones in the same DSN, both go. The copy has its
     * status part as text, so it crosses as an IPM and never as a report again. */
    if (done == 1 && skipped > 0) {
        unsigned char *copy = dsn_part_as_text(data, clen);
        for (size_t k = 0; copy && k < t->nrcpts && done == 1; k++)
            if (t->rcpts[k] < t->msg->nrcpts &&
                channel_result_add_message(r, "", t->msg->rcpts[t->rcpts[k]].addr, copy, clen) != 0)
                done = MG_ENOMEM;
        if (!copy)
            done = MG_ENOMEM;
        free(copy);
    }
    mg_buf_free(&out);
    mg_buf_free(&ret);
    free(rep);
    if (done == MG_ENOMEM)
        snprintf(r->error, sizeof r->error, "mixer: out of memory");
    return done;
}

static int mixer_process(const void *p, const struct channel_task *t, struct channel_result *r)
{
    const struct mixer_conf *c = p;
    size_t clen = 0;
    const unsigned char *data = content_data(t->content, &clen);
    enum message_content_type ctype = content_type(t->content);
    bool to_x400;
    char why[512] = "";
    int rc;

    if (c->dir == MIXER_DIR_AUTO)
        to_x400 = ctype == MESSAGE_CONTENT_RFC5322;
    else
        to_x400 = c->dir == MIXER_DIR_TO_X400;
    if (ctype == MESSAGE_CONTENT_OTHER) {
        snprintf(r->error, sizeof r->error, "mixer: content type %d is not converted here",
                 (int)ctype);
        return MG_ENOTSUP;
    }

    int prec = -1; /* the STANAG 4406 precedence the message states */
    /* the content, when it is not already in the target world */
    bool convert = to_x400 ? ctype == MESSAGE_CONTENT_RFC5322 : ctype == MESSAGE_CONTENT_X400_P22;
    if (ctype == MESSAGE_CONTENT_X400_REPORT && !to_x400) {
        rc = report_to_dsn(c, t, data, clen, r);
        if (rc)
            return rc;
        convert = false;
    } else if (convert && to_x400 && !c->dsn_as_message) {
        rc = dsn_to_report(c, t, data, clen, r);
        if (rc < 0)
            return rc;
        if (rc == 1)
            convert = false;
    }
    if (convert && to_x400 && conversions(data, clen) >= MIXER_MAX_CONVERSIONS) {
        for (size_t i = 0; i < t->nrcpts; i++)
            fail_rcpt(&r->rcpts[i], "5.4.6", 3 /* loop-detected */,
                      "MIXER: the message has crossed gateways too often (routing loop)");
        return 0;
    }
    if (convert) {
        struct mg_buf out;
        mg_buf_init(&out, MIXER_CONV_MAX_OUT);
        rc = to_x400 ? mixer_conv_to_x400(&c->gw, c->content, data, clen, &out, why, sizeof why)
                     : mixer_conv_to_822(&c->gw, MIXER_CONTENT_P22, data, clen, &out, why,
                                         sizeof why);
        if (rc == MG_ENOMEM) {
            mg_buf_free(&out);
            snprintf(r->error, sizeof r->error, "mixer: out of memory");
            return rc;
        }
        if (rc) {
            /* the message cannot cross: every recipient of the group gets a report */
            char text[600];
            snprintf(text, sizeof text, "MIXER conversion to %s failed: %.400s",
                     to_x400 ? "X.400" : "RFC 5322", why);
            bool syntax = rc == MG_EPARSE || rc == MG_ECONSTRAINT || rc == MG_EINCOMPLETE;
            for (size_t i = 0; i < t->nrcpts; i++)
                fail_rcpt(&r->rcpts[i], syntax ? "5.6.0" : "5.6.3",
                          syntax ? X411_DIAG_CONTENT_SYNTAX_ERROR : X411_DIAG_CONVERSION_IMPRACTICAL,
                          text);
            mg_buf_free(&out);
            return 0;
        }
        /* the queue priority follows the STANAG 4406 precedence (0..5 = deferred..override) */
        prec = to_x400 ? mixer_conv_precedence(data, clen)
                           : mixer_conv_precedence(out.data, out.len);
        if (prec >= MESSAGE_PRIORITY_MIN && prec <= MESSAGE_PRIORITY_MAX &&
            prec != t->msg->priority)
            r->priority = prec;
        if (!to_x400) {
            /* the gateway's own trace line on top (RFC 2156 5.3.7), which also counts the
             * conversions for the loop guard */
            if (conversions(out.data, out.len) >= MIXER_MAX_CONVERSIONS) {
                mg_buf_free(&out);
                for (size_t i = 0; i < t->nrcpts; i++)
                    fail_rcpt(&r->rcpts[i], "5.4.6", 3 /* loop-detected */,
                              "MIXER: the message has crossed gateways too often (routing loop)");
                return 0;
            }
            char date[64], line[512];
            time_t now = (time_t)t->now;
            struct tm tm;
            gmtime_r(&now, &tm);
            strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
            int w = snprintf(line, sizeof line,
                             "Received: by %s with MIXER (RFC 2156 conversion, channel %s) "
                             "id %s; %s\r\n",
                             t->cfg->global.hostname ? t->cfg->global.hostname : "localhost",
                             t->channel->name, t->msg->id, date);
            struct mg_buf top;
            mg_buf_init(&top, MIXER_CONV_MAX_OUT);
            int erc = w < 0 || (size_t)w >= sizeof line ? MG_ETOOBIG
                                                        : mg_buf_append(&top, line, (size_t)w);
            if (!erc)
                erc = envelope_fields(c, t, data, clen, &out, &top);
            if (erc || mg_buf_append(&top, out.data, out.len)) {
                mg_buf_free(&top);
                mg_buf_free(&out);
                snprintf(r->error, sizeof r->error, "mixer: out of memory");
                return MG_ENOMEM;
            }
            mg_buf_free(&out);
            out = top;
        }
        size_t olen = 0;
        unsigned char *bytes = mg_buf_steal(&out, &olen);
        r->content = content_new(to_x400 ? MESSAGE_CONTENT_X400_P22 : MESSAGE_CONTENT_RFC5322, 0,
                                 bytes, olen);
        /* the X.400 content type of the version made here (what the p1 channel's envelope
         * says): P772 by its OID, P2 / P22 built in; an Internet message has none */
        if (r->content && to_x400 &&
            !(r->content_oid = strdup(c->content == MIXER_CONTENT_P772 ? mixer_content_oid(c->content)
                                      : c->content == MIXER_CONTENT_P2 ? "2" : "22"))) {
            content_unref(r->content);
            r->content = NULL;
        }
        if (!r->content) {
            snprintf(r->error, sizeof r->error, "mixer: out of memory");
            return MG_ENOMEM;
        }
    }

    /* the originator: an unmappable one holds the group (its reports would go nowhere) */
    enum mixer_addr_how how;
    rc = mixer_channel_map_return(c, to_x400, t->originator ? t->originator : "", &r->originator, &how, why,
                  sizeof why);
    if (rc) {
        snprintf(r->error, sizeof r->error, "mixer: originator %.200s cannot be mapped: %.250s",
                 t->originator, why[0] ? why : mg_strerror(rc));
        return rc == MG_ENOMEM ? rc : MG_EDENIED;
    }
    for (size_t i = 0; i < t->nrcpts; i++) {
        struct channel_rcpt_result *rr = &r->rcpts[i];
        if (rr->outcome.action == CHANNEL_FAILED)
            continue;
        why[0] = 0;
        rc = mixer_channel_map_addr(c, to_x400, t->rcpt_addrs[i], &rr->next_addr, &how, why, sizeof why);
        if (rc == MG_ENOMEM) {
            snprintf(r->error, sizeof r->error, "mixer: out of memory");
            return rc;
        }
        /* A recipient that maps only to the gateway itself (an Internet address encapsulated
         * in our O/R address, or an O/R address quoted under our own domain) would come back
         * here: it has no user in the target world (RFC 2156 4.3: never route on these). */
        if (!rc && (how == MIXER_ADDR_DDA && to_x400)) {
            snprintf(why, sizeof why, "it is an Internet address (no MCGAM and no O/R address "
                                      "in its local part)");
            rc = MG_ENOTFOUND;
        } else if (!rc && how == MIXER_ADDR_GATEWAY) {
            snprintf(why, sizeof why, "no MCGAM maps this O/R address to an Internet domain");
            rc = MG_ENOTFOUND;
        }
        if (rc) {
            free(rr->next_addr);
            rr->next_addr = NULL;
        }
        if (rc) {
            char text[700];
            snprintf(text, sizeof text, "MIXER: recipient %.250s has no %s address: %.250s",
                     t->rcpt_addrs[i], to_x400 ? "X.400" : "RFC 822", why);
            fail_rcpt(rr, "5.1.3", X411_DIAG_UNRECOGNISED_OR_NAME, text);
        }
    }
    /* RFC 2156 appendix A: the DSN parameters cross with the message */
    if (convert && to_x400 && r->content &&
        content_type(r->content) == MESSAGE_CONTENT_X400_P22)
        rc = mixer_channel_env_to_x400(c, t, data, clen, prec, r);
    else if (convert && !to_x400)
        rc = mixer_channel_env_to_smtp(t, r);
    else
        rc = 0;
    if (rc) {
        snprintf(r->error, sizeof r->error, "mixer: out of memory");
        return rc;
    }
    return 0;
}

/* Route rules `or_mapped_by` (route.c): an O/R address as the RFC 822 address this channel's
 * tables give it, by an or2rfc entry (RFC 2156 table 2) or an RFC-822 domain-defined attribute;
 * an address no table maps (it would be quoted under the gateway's domain, or sent behind
 * another gateway by table 4) maps to nothing here. */
static int mixer_route_map(const void *conf, const char *address, char *out, size_t outsize)
{
    const struct mixer_conf *c = conf;
    if (!c || !address || !out || (address[0] != '/' && address[0] != ';'))
        return MG_EINVAL;
    struct mixer_or or;
    char why[16];
    enum mixer_addr_how how;
    int rc = mixer_or_parse(address, strlen(address), &or, why, sizeof why);
    if (!rc)
        rc = mixer_addr_to_822(&c->gw, &or, out, outsize, &how, why, sizeof why);
    if (!rc && how != MIXER_ADDR_MCGAM && how != MIXER_ADDR_DDA)
        rc = MG_ENOTFOUND;
    return rc;
}

const struct channel_kind mixer_channel_kind = {
    .name = "mixer",
    .role = CHANNEL_ROLE_PROCESSING,
    .peer = CHANNEL_PEER_NONE,
    .configure = mixer_configure,
    .conf_free = mixer_conf_free,
    .conf_dump = mixer_conf_dump,
    .process = mixer_process,
    .route_map = mixer_route_map,
};
