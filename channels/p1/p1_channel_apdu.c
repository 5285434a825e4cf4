/* p1_channel_apdu: the MTS-APDU the p1 channel sends for one delivery (see
 * p1_channel_int.h): the stored envelope relayed with our trace element (this peer made
 * responsible for the delivery's recipients), a report a processing channel made, or a new
 * envelope for an X.400 message made here; the content type always the delivered content
 * version's (its content_oid, else p1_cms_content_type). */
#include "p1_channel_int.h"
#include "p1_cms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_err.h"
#include "oraddr.h"
#include "p1_mts.h"
#include "p1_mts_xer.h"

/* The APDU for d (owned by the caller). */
int p1_channel_make_apdu(const struct p1_inst *pi, const struct channel_delivery *d, uint8_t **apdu,
                     size_t *len, char *why, size_t whysz)
{
    const struct message *m = d->msg;
    size_t clen = 0;
    const unsigned char *c = content_data(d->content, &clen);
    const struct oraddr *gdi = pi->cfg->global.x400_gdi;
    struct oraddr fallback;
    if (!gdi) {
        oraddr_parse("/C=XX/ADMD= /PRMD=MIXGATE/", &fallback, NULL, 0);
        gdi = &fallback;
    }
    /* The content version this delivery carries names the type, not the message: X.400
     * content a cms channel protected (RFC 3854) is sent as CMS, typed so (RFC 3855); content
     * a cms channel opened (decrypted, stripped) goes as its own type again, though the
     * envelope it came in names the CMS type it travelled as. Content as received (the
     * recipients carry version 0; the group shares one version) keeps what its envelope said. */
    char ctype[72] = "";
    int retype = 0;
    int as_received = d->nrcpts && d->rcpts[0] < m->nrcpts && m->rcpts[d->rcpts[0]].cversion == 0;
    if (m->x400_env && m->x400_env_len && as_received) {
        snprintf(ctype, sizeof ctype, "%s", m->content_oid ? m->content_oid : "");
    } else if (content_type(d->content) == MESSAGE_CONTENT_X400_P22) {
        /* the processing channel that made the version said its type (cms: the inner
         * eContentType it opened, or id-ct-contentInfo it wrapped; mixer: P772 / P22); a
         * version stored before versions had types is read from its bytes */
        const char *voi = content_oid(d->content);
        retype = voi && *voi ? p1_cms_version_type(voi, m->content_oid, ctype, sizeof ctype)
                             : p1_cms_content_type(c, clen, m->content_oid, ctype, sizeof ctype);
        if (retype < 0) {
            snprintf(why, whysz, "the content type cannot be named: %s", mg_strerror(retype));
            return retype;
        }
    }
    int label_ok = d->label && p1_xer_label_ok(d->label, d->label_len);
    if (m->x400_env && m->x400_env_len) {
        int report = m->content_type == MESSAGE_CONTENT_X400_REPORT;
        uint8_t *env = NULL;
        size_t env_len = m->x400_env_len;
        int rc = 0;
        if (retype) {
            rc = p1_cms_set_type(m->x400_env, m->x400_env_len, ctype, &env, &env_len);
        } else if ((env = malloc(m->x400_env_len)) != NULL) {
            memcpy(env, m->x400_env, m->x400_env_len);
        }
        if (!env) {
            snprintf(why, whysz, "the stored envelope cannot be retyped to %s: %s", ctype,
                     mg_strerror(rc ? rc : MG_ENOMEM));
            return rc ? rc : MG_ENOMEM;
        }
        /* The label the gate decided on goes out in the envelope: a shaper may have changed
         * it (its x411-envelope output); a label X.411 cannot carry (an ESS UTF8String privacy
         * mark) leaves the envelope's as received. */
        uint8_t *lenv = NULL;
        size_t lenv_len = 0;
        if (label_ok && (rc = p1_mts_env_set_label(env, env_len, report, d->label, d->label_len, &lenv,
                                                   &lenv_len)) == 0 && lenv) {
            free(env);
            env = lenv;
            env_len = lenv_len;
        }
        /* This peer is responsible for this delivery's recipients only. */
        if (!rc)
            rc = report ? 0 : p1_mts_responsibility(env, env_len, d->rcpt_addrs, d->nrcpts);
        if (!rc)
            rc = p1_mts_relay(env, env_len, report, c, clen, gdi, (long)time(NULL), apdu, len);
        free(env);
        if (rc)
            snprintf(why, whysz, "the stored envelope cannot be relayed: %s", mg_strerror(rc));
        return rc;
    }
    if (content_type(d->content) == MESSAGE_CONTENT_X400_REPORT) {
        /* A report a processing channel made (the mixer's X.400 form of a DSN): a new
         * ReportTransferEnvelope towards the recipient, the subject's originator. */
        if (d->nrcpts != 1) {
            snprintf(why, whysz, "a report goes to one destination, not %zu", d->nrcpts);
            return MG_EINVAL;
        }
        char local[40];
        snprintf(local, sizeof local, "R%.30s", m->id);
        return p1_mts_report_apdu(gdi, local, d->rcpt_addrs[0], (long)time(NULL), c, clen,
                                  label_ok ? d->label : NULL, label_ok ? d->label_len : 0, apdu,
                                  len, why, whysz);
    }
    /* The content version this delivery carries decides (a mixer before us made an X.400
     * content of an Internet message, with the originator mapped to an O/R address). */
    if (content_type(d->content) != MESSAGE_CONTENT_X400_P22 ||
        !oraddr_looks_like(d->originator)) {
        snprintf(why, whysz, "not an X.400 message (an Internet message needs the mixer first)");
        return MG_ENOTSUP;
    }
    const char **rcpts = calloc(d->nrcpts, sizeof *rcpts);
    if (!rcpts)
        return MG_ENOMEM;
    for (size_t i = 0; i < d->nrcpts; i++)
        rcpts[i] = d->rcpt_addrs[i];
    struct p1_mts_out o = {
        .kind = P1_MTS_MESSAGE, .local_id = m->id, .gdi = gdi, .originator = d->originator,
        .rcpts = rcpts, .nrcpts = d->nrcpts,
        .content_oid = ctype,
        .content = c, .content_len = clen, .priority = m->priority, .now = (long)time(NULL),
        .label = label_ok ? d->label : NULL, .label_len = label_ok ? d->label_len : 0,
    };
    int rc = p1_mts_build(&o, apdu, len, why, whysz);
    free(rcpts);
    return rc;
}

unsigned p1_channel_relay_flags(const struct channel_delivery *d, size_t i)
{
    const struct message *m = d->msg;
    if (i >= d->nrcpts || !m->x400_env || !m->x400_env_len ||
        m->content_type == MESSAGE_CONTENT_X400_REPORT)
        return 0;
    /* the envelope we relayed asks the X.400 side for this recipient's delivery report: the
     * peer took the responsibility on and reports itself (an SMTP originator's NOTIFY=SUCCESS
     * became the originator-report request at the mixer, RFC 2156 appendix A) */
    return p1_mts_report_requested(m->x400_env, m->x400_env_len, d->rcpt_addrs[i]) == 1
               ? CHANNEL_OUT_NEXT_HOP_REPORTS
               : 0;
}
