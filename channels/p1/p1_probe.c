/* p1_probe: a probe answered from the limits (see p1_probe.h). */
#include "p1_probe.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "channel.h"

/* The IPM content types MIXER reads (built-in 2 and 22, their OIDs, STANAG 4406 P772). */
static int ipm_content(const char *oid)
{
    static const char *const ipm[] = { "2", "22", "2.6.1.10.0", "2.6.1.10.1",
                                       "1.3.26.0.4406.0.4.1", NULL };
    for (int i = 0; ipm[i]; i++)
        if (strcmp(oid, ipm[i]) == 0)
            return 1;
    return 0;
}

static const char *kind_name(const struct config_channel *ch)
{
    return ch->kind ? ch->kind->name : ch->type ? ch->type : "";
}

static void refuse(struct p1_probe_verdict *v, int diag, const char *status)
{
    v->ok = 0;
    v->x400_reason = 1; /* unable-to-transfer */
    v->x400_diagnostic = diag;
    v->status = status;
}

void p1_probe_check(const struct config *cfg, const struct config_listener *l,
                    const struct config_route *rt, const struct p1_mts_in *m,
                    struct p1_probe_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->ok = 1;
    v->x400_reason = v->x400_diagnostic = -1;
    v->status = "2.0.0";
    if (!rt || !rt->n_chain) {
        refuse(v, P1_DIAG_UNRECOGNISED_OR_NAME, "5.1.1");
        snprintf(v->why, sizeof v->why, "no route for this O/R address");
        return;
    }
    uint64_t max = l ? l->max_message_size : cfg->global.max_message_size;
    if (max && m->content_length > max) {
        refuse(v, P1_DIAG_CONTENT_TOO_LONG, "5.3.4");
        snprintf(v->why, sizeof v->why, "content of %" PRIu64 " octets is over the size limit "
                 "of %" PRIu64 " octets", m->content_length, max);
        return;
    }
    /* the route's own limits: its delivery channel's and its peer's (checked again at
     * delivery, before any connection) */
    const struct config_channel *dch = rt->chain[rt->n_chain - 1];
    const struct { uint64_t max; const char *what, *name; } lim[] = {
        { dch->max_message_size, "channel", dch->name },
        { rt->peer ? rt->peer->max_message_size : 0, "peer", rt->peer ? rt->peer->name : "" },
    };
    for (size_t i = 0; i < sizeof lim / sizeof *lim; i++)
        if (lim[i].max && m->content_length > lim[i].max) {
            refuse(v, P1_DIAG_CONTENT_TOO_LONG, "5.3.4");
            snprintf(v->why, sizeof v->why, "content of %" PRIu64 " octets is over the size limit "
                     "of %" PRIu64 " octets of %s '%.64s'", m->content_length, lim[i].max,
                     lim[i].what, lim[i].name);
            return;
        }
    const char *oid = m->content_oid[0] ? m->content_oid : "22";
    int internet = 0; /* a mixer before made it Internet mail */
    for (size_t i = 0; i < rt->n_chain; i++) {
        const struct config_channel *ch = rt->chain[i];
        const char *k = kind_name(ch);
        if (!internet && strcmp(k, "mixer") == 0) {
            const char *dir = "auto";
            if (ch->settings)
                config_setting_lookup_string(ch->settings, "direction", &dir);
            if (strcmp(dir, "to-x400") == 0)
                continue; /* an X.400 content passes it unchanged */
            if (!ipm_content(oid)) {
                refuse(v, P1_DIAG_CONTENT_TYPE_NOT_SUPPORTED, "5.6.1");
                snprintf(v->why, sizeof v->why, "content type %s cannot be converted to "
                         "Internet mail by '%.64s' (it reads P2, P22 and P772)", oid, ch->name);
                return;
            }
            internet = 1;
        } else if (!internet && strcmp(k, "smtp") == 0) {
            refuse(v, P1_DIAG_CONTENT_TYPE_NOT_SUPPORTED, "5.6.1");
            snprintf(v->why, sizeof v->why, "content type %s cannot be delivered over SMTP by "
                     "'%.64s' without a mixer before it", oid, ch->name);
            return;
        } else if (!internet && strcmp(k, "p1") == 0 && rt->peer &&
                   rt->peer->mode == CONFIG_X400_1984) {
            if (strchr(oid, '.')) {
                refuse(v, P1_DIAG_CONTENT_TYPE_NOT_SUPPORTED, "5.6.1");
                snprintf(v->why, sizeof v->why, "content type %s is an object identifier: the "
                         "1984 peer '%.64s' takes built-in content types only", oid, rt->peer->name);
                return;
            }
            if (m->eits_extended) {
                refuse(v, P1_DIAG_EITS_UNSUPPORTED, "5.6.1");
                snprintf(v->why, sizeof v->why, "extended encoded information types cannot go "
                         "to the 1984 peer '%.64s'", rt->peer->name);
                return;
            }
        }
    }
}
