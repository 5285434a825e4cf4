/* mixer_env: RFC 2156 envelope fields <-> X400-* and related RFC 5322 header fields. */
#include "mixer_env.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mixer_hdr.h"
#include "mixer_ps.h"

void mixer_env_init(struct mixer_env *e)
{
    memset(e, 0, sizeof *e);
    e->priority = -1;
}

static int put(struct mg_buf *out, const char *name, const char *value)
{
    int rc = mg_buf_appendf(out, "%s: ", name);
    for (const char *p = value; !rc && *p; p++) {
        char ch = (*p == '\r' || *p == '\n') ? ' ' : *p;
        rc = mg_buf_append(out, &ch, 1);
    }
    return rc ? rc : mg_buf_append(out, "\r\n", 2);
}

/* An O/R text as an RFC 822 mailbox (4.3.5; the gateway form when nothing maps). */
static void or_to_mailbox(const struct mixer_gw *gw, const char *ortext, char *out, size_t size)
{
    struct mixer_or o;
    if (mixer_or_parse(ortext, strlen(ortext), &o, NULL, 0) == 0 &&
        mixer_addr_to_822(gw, &o, out, size, NULL, NULL, 0) == 0)
        return;
    char q[MIXER_ADDR_MAX];
    if (mixer_addr_quote_local(ortext, strlen(ortext), q, sizeof q) != 0)
        snprintf(q, sizeof q, "\"unrepresentable\"");
    snprintf(out, size, "%s@%s", q, gw->domain[0] ? gw->domain : "unknown.invalid");
}

static int time_hdr(struct mg_buf *out, const char *name, const char *utc)
{
    char d[64];
    if (!utc[0])
        return 0;
    if (mixer_hdr_utc_to_date(utc, strlen(utc), d, sizeof d) != 0)
        return 0; /* a value we cannot read is left out, not invented */
    return put(out, name, d);
}

/* X.411 BuiltInEncodedInformationTypes bit names as RFC 2156 writes them. */
static const char *const eit_names[] = {"Undefined", NULL,      "IA5-Text", "G3-Fax",
                                        "TIF0",      "Teletex", "Videotex", "Voice",
                                        "SFD",       "TIF1"};

int mixer_env_to_headers(const struct mixer_gw *gw, const struct mixer_env *e, struct mg_buf *out)
{
    char v[8192], mb[MIXER_ADDR_MAX * 2];
    int rc = 0;
    /* trace first, most recent first, as a Received block would be */
    for (size_t i = 0; !rc && i < e->ntrace && i < MIXER_ENV_MAX_TRACE; i++) {
        const struct mixer_trace *t = &e->trace[i];
        char d[64], dd[64];
        if (mixer_hdr_utc_to_date(t->arrival, strlen(t->arrival), d, sizeof d) != 0)
            continue; /* an element without a readable time is left out, not invented */
        size_t o = 0;
        o += (size_t)snprintf(v + o, sizeof v - o, "by ");
        if (t->mta[0])
            o += (size_t)snprintf(v + o, sizeof v - o, "mta %s in ", t->mta);
        o += (size_t)snprintf(v + o, sizeof v - o, "%s ; ", t->gdi);
        if (t->deferred[0] &&
            mixer_hdr_utc_to_date(t->deferred, strlen(t->deferred), dd, sizeof dd) == 0)
            o += (size_t)snprintf(v + o, sizeof v - o, "deferred until %s ; ", dd);
        snprintf(v + o, sizeof v - o, "%s ; %s", t->action == 1 ? "Rerouted" : "Relayed", d);
        rc = put(out, "X400-Received", v);
    }
    if (e->mts_local[0]) {
        snprintf(v, sizeof v, "[%s;%s]", e->mts_gdi, e->mts_local);
        rc = put(out, "X400-MTS-Identifier", v);
    }
    if (!rc && e->originator[0]) {
        or_to_mailbox(gw, e->originator, mb, sizeof mb);
        rc = put(out, "X400-Originator", mb);
    }
    if (!rc && e->nrcpts) {
        size_t o = 0;
        v[0] = 0;
        for (size_t i = 0; i < e->nrcpts && i < MIXER_ENV_MAX_RCPTS; i++) {
            or_to_mailbox(gw, e->rcpts[i], mb, sizeof mb);
            int w = snprintf(v + o, sizeof v - o, "%s%s", o ? ", " : "", mb);
            if (w < 0 || (size_t)w >= sizeof v - o)
                break; /* the list is information only: cut rather than fail */
            o += (size_t)w;
        }
        rc = put(out, "X400-Recipients", v);
    }
    if (!rc && e->content_type[0]) {
        if (!strcmp(e->content_type, "2"))
            rc = put(out, "X400-Content-Type", "P2-1984 (2)");
        else if (!strcmp(e->content_type, "22"))
            rc = put(out, "X400-Content-Type", "P2-1988 (22)");
        else {
            /* object-identifier: "(1) (3) (26) ..." */
            size_t o = 0;
            v[0] = 0;
            for (const char *p = e->content_type; *p && o + 16 < sizeof v;) {
                size_t l = strspn(p, "0123456789");
                if (!l)
                    break;
                o += (size_t)snprintf(v + o, sizeof v - o, "%s(%.*s)", o ? " " : "", (int)l, p);
                p += l;
                if (*p == '.')
                    p++;
            }
            rc = put(out, "X400-Content-Type", v);
        }
    }
    if (!rc && e->content_id[0])
        rc = put(out, "X400-Content-Identifier", e->content_id);
    if (!rc && e->eits) {
        size_t o = 0;
        v[0] = 0;
        for (unsigned b = 0; b < sizeof eit_names / sizeof eit_names[0]; b++)
            if ((e->eits & (1u << b)) && eit_names[b])
                o += (size_t)snprintf(v + o, sizeof v - o, "%s%s", o ? ", " : "", eit_names[b]);
        if (o)
            rc = put(out, "Original-Encoded-Information-Types", v);
    }
    if (!rc && e->priority >= 0 && e->priority <= 2) {
        static const char *const pr[] = {"normal", "non-urgent", "urgent"};
        rc = put(out, "Priority", pr[e->priority]);
    }
    if (!rc && e->conversion_prohibited)
        rc = put(out, "Conversion", "Prohibited");
    if (!rc && e->conversion_with_loss_prohibited)
        rc = put(out, "Conversion-With-Loss", "Prohibited");
    if (!rc)
        rc = time_hdr(out, "Deferred-Delivery", e->deferred_delivery);
    if (!rc)
        rc = time_hdr(out, "Latest-Delivery-Time", e->latest_delivery);
    if (!rc)
        rc = time_hdr(out, "Date", e->submission_time);
    return rc;
}

int mixer_env_priority(const void *msg, size_t len)
{
    static const char *const pr[] = {"normal", "non-urgent", "urgent"};
    char v[64];
    if (mixer_hdr_first(msg, len, "Priority", v, sizeof v) != 1)
        return -1;
    for (int k = 0; k < 3; k++)
        if (!strcasecmp(v, pr[k]))
            return k;
    return -1;
}

int mixer_env_from_headers(const void *msg, size_t len, struct mixer_env *e)
{
    struct mixer_hdrs *h = malloc(sizeof *h);
    if (!h)
        return MG_ENOMEM;
    int rc = mixer_hdr_parse(msg, len, h);
    if (rc) {
        free(h);
        return rc;
    }
    struct mixer_field *f;
    if ((f = mixer_hdr_find(h, "Priority"))) {
        static const char *const pr[] = {"normal", "non-urgent", "urgent"};
        for (int k = 0; k < 3; k++)
            if (!strcasecmp(f->value, pr[k]))
                e->priority = k;
    }
    if ((f = mixer_hdr_find(h, "Conversion")))
        e->conversion_prohibited = !strcasecmp(f->value, "Prohibited");
    if ((f = mixer_hdr_find(h, "Conversion-With-Loss")))
        e->conversion_with_loss_prohibited = !strcasecmp(f->value, "Prohibited");
    /* content-identifier: X400-Content-Identifier, else the Subject (5.1.3: more than 16
     * characters are cut to 13 and "..."), in PrintableString characters */
    const char *cid = NULL;
    bool from_subject = false;
    if ((f = mixer_hdr_find(h, "X400-Content-Identifier")))
        cid = f->value;
    else if ((f = mixer_hdr_find(h, "Subject"))) {
        cid = f->value;
        from_subject = true;
    }
    if (cid) {
        size_t o = 0, l = strlen(cid);
        bool cut = from_subject && l > 16;
        for (size_t i = 0; i < l && o + 1 < sizeof e->content_id && (!cut || o < 13); i++)
            if (mixer_ps_is_char((unsigned char)cid[i]))
                e->content_id[o++] = cid[i];
        if (cut && o + 4 < sizeof e->content_id) {
            memcpy(e->content_id + o, "...", 3);
            o += 3;
        }
        e->content_id[o] = 0;
    }
    /* X400-Received lines back into trace elements (in their order: most recent first) */
    for (size_t i = 0; i < h->n && e->ntrace < MIXER_ENV_MAX_TRACE; i++) {
        if (!mixer_hdr_is(&h->f[i], "X400-Received"))
            continue;
        struct mixer_trace t;
        memset(&t, 0, sizeof t);
        /* split at ";" into trimmed parts */
        char buf[2048];
        snprintf(buf, sizeof buf, "%s", h->f[i].value);
        char *parts[8];
        size_t np = 0;
        for (char *p = buf; p && np < 8;) {
            char *semi = strchr(p, ';');
            if (semi)
                *semi = 0;
            while (*p == ' ' || *p == '\t')
                p++;
            size_t l = strlen(p);
            while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
                p[--l] = 0;
            parts[np++] = p;
            p = semi ? semi + 1 : NULL;
        }
        if (np < 3 || strncasecmp(parts[0], "by ", 3) != 0)
            continue;
        const char *by = parts[0] + 3;
        if (!strncasecmp(by, "mta ", 4)) {
            const char *in = strstr(by + 4, " in ");
            if (!in || (size_t)(in - by - 4) >= sizeof t.mta)
                continue;
            memcpy(t.mta, by + 4, (size_t)(in - by - 4));
            t.mta[in - by - 4] = 0;
            by = in + 4;
        }
        snprintf(t.gdi, sizeof t.gdi, "%s", by);
        bool ok = mixer_hdr_date_to_utc(parts[np - 1], t.arrival, sizeof t.arrival) == 0;
        for (size_t k = 1; ok && k + 1 < np; k++) {
            if (!strncasecmp(parts[k], "deferred until ", 15))
                ok = mixer_hdr_date_to_utc(parts[k] + 15, t.deferred, sizeof t.deferred) == 0;
            else if (!strcasecmp(parts[k], "Rerouted"))
                t.action = 1;
        }
        if (ok)
            e->trace[e->ntrace++] = t;
    }
    char u[32];
    if ((f = mixer_hdr_find(h, "Date")) && mixer_hdr_date_to_utc(f->value, u, sizeof u) == 0)
        snprintf(e->submission_time, sizeof e->submission_time, "%s", u);
    if ((f = mixer_hdr_find(h, "Deferred-Delivery")) &&
        mixer_hdr_date_to_utc(f->value, u, sizeof u) == 0)
        snprintf(e->deferred_delivery, sizeof e->deferred_delivery, "%s", u);
    if ((f = mixer_hdr_find(h, "Latest-Delivery-Time")) &&
        mixer_hdr_date_to_utc(f->value, u, sizeof u) == 0)
        snprintf(e->latest_delivery, sizeof e->latest_delivery, "%s", u);
    mixer_hdr_free(h);
    free(h);
    return 0;
}
