/* mixer_dsnp: RFC 3461 DSN parameters <-> X.411 report requests and identifiers (RFC 2156
 * appendix A), and struct mixer_dsnp_env <-> DER MessageTransferEnvelope (see mixer_dsnp.h).
 * Writing uses mixer_ber and the result is decoded again before anyone sees it; reading goes
 * through the asn1 codec (hostile BER). Tags below are X.411's (IMPLICIT TAGS module). */
#include "mixer_dsnp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_asn1.h"
#include "mg_err.h"
#include "mixer_ber.h"
#include "mixer_or.h"
#include "mixer_orname.h"
#include "mixer_report.h"

#include "ContentCorrelator.h"
#include "ExtensionField.h"
#include "Extensions.h"
#include "MessageTransferEnvelope.h"
#include "PerRecipientMessageTransferFields.h"
#include "Redirection.h"
#include "RedirectionHistory.h"
#include "TraceInformationElement.h"

#define WHY(...) (why && whysize ? (void)snprintf(why, whysize, __VA_ARGS__) : (void)0)

/* X.411 standard extensions used here, and the STANAG 4406 priority-level-qualifier. */
#define EXT_CONTENT_CORRELATOR 23
#define EXT_REDIRECTION_HISTORY 25
#define OID_PRIORITY_QUALIFIER "1.3.26.0.4406.0.8.0"
#define OID_EIT_MIXER "1.3.6.1.7.1.3.5"
#define REASON_ALIAS 4

unsigned mixer_dsnp_indicators(unsigned notify)
{
    unsigned ind = MIXER_PRI_RESPONSIBILITY;
    if (notify & MIXER_NOTIFY_NEVER)
        return ind | MIXER_PRI_MTA_NDR; /* the gateway still learns of failures */
    if (notify & MIXER_NOTIFY_SUCCESS)
        return ind | MIXER_PRI_MTA_REPORT | MIXER_PRI_ORIG_REPORT;
    return ind | MIXER_PRI_MTA_NDR | MIXER_PRI_ORIG_NDR;
}

unsigned mixer_dsnp_notify(unsigned indicators)
{
    if (indicators & MIXER_PRI_ORIG_REPORT)
        return MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_FAILURE;
    if (indicators & MIXER_PRI_ORIG_NDR)
        return MIXER_NOTIFY_FAILURE;
    return MIXER_NOTIFY_NEVER;
}

unsigned mixer_dsnp_gateway_notify(unsigned indicators)
{
    /* A.3.2: NOTIFY carries the originator's request; "additional originating MTA
     * requirements are satisfied by the gateway". The MTA's report request (bit 1) asks for
     * delivery and non-delivery reports, its non-delivery-report request (bit 2) for the
     * latter: what the originator's NOTIFY leaves out of that, the gateway reports itself. */
    unsigned onward = mixer_dsnp_notify(indicators), gw = 0;
    if ((indicators & MIXER_PRI_MTA_REPORT) && !(onward & MIXER_NOTIFY_SUCCESS))
        gw |= MIXER_NOTIFY_SUCCESS;
    if ((indicators & (MIXER_PRI_MTA_REPORT | MIXER_PRI_MTA_NDR)) && !(onward & MIXER_NOTIFY_FAILURE))
        gw |= MIXER_NOTIFY_FAILURE;
    return gw;
}

enum mixer_ret mixer_dsnp_ret(bool content_return_request)
{
    return content_return_request ? MIXER_RET_FULL : MIXER_RET_HDRS;
}

bool mixer_dsnp_content_return(enum mixer_ret ret)
{
    (void)ret; /* RFC 2156 5.2: always, even HDRS needs the returned headers */
    return true;
}

int mixer_dsnp_correlator(const char *envid, char *out, size_t outsize)
{
    for (const char *p = envid; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return MG_EINVAL;
    size_t n = strlen(MIXER_DSNP_ENVID_PREFIX) + strlen(envid);
    if (n > MIXER_DSNP_CORRELATOR_MAX || n >= outsize)
        return MG_ETOOBIG;
    snprintf(out, outsize, "%s%s", MIXER_DSNP_ENVID_PREFIX, envid);
    return 0;
}

int mixer_dsnp_envid_of_correlator(const char *correlator, char *out, size_t outsize)
{
    size_t pl = strlen(MIXER_DSNP_ENVID_PREFIX);
    if (strncasecmp(correlator, MIXER_DSNP_ENVID_PREFIX, pl) != 0 || !correlator[pl])
        return MG_ENOTFOUND;
    if (strlen(correlator + pl) >= outsize)
        return MG_ETOOBIG;
    snprintf(out, outsize, "%s", correlator + pl);
    return 0;
}

int mixer_dsnp_envid_of_mts_id(const char *mts_id, char *out, size_t outsize)
{
    size_t n = strlen(MIXER_DSNP_MTSID_PREFIX) + strlen(mts_id);
    if (!mts_id[0] || n > MIXER_DSNP_ENVID_MAX || n >= outsize)
        return MG_ETOOBIG;
    snprintf(out, outsize, "%s%s", MIXER_DSNP_MTSID_PREFIX, mts_id);
    return 0;
}

void mixer_dsnp_env_init(struct mixer_dsnp_env *e)
{
    memset(e, 0, sizeof *e);
    e->precedence = -1;
}

void mixer_dsnp_env_free(struct mixer_dsnp_env *e)
{
    free(e->rcpts);
    e->rcpts = NULL;
    e->nrcpts = e->cap = 0;
}

struct mixer_dsnp_rcpt *mixer_dsnp_env_add(struct mixer_dsnp_env *e)
{
    if (e->nrcpts >= 32767) /* ub-recipients */
        return NULL;
    if (e->nrcpts == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 4;
        struct mixer_dsnp_rcpt *n = realloc(e->rcpts, nc * sizeof *n);
        if (!n)
            return NULL;
        e->rcpts = n;
        e->cap = nc;
    }
    struct mixer_dsnp_rcpt *r = &e->rcpts[e->nrcpts++];
    memset(r, 0, sizeof *r);
    return r;
}

/* ---- writing ---- */

static int write_orname(struct mixer_ber *w, const char *text, const char *what, char *why,
                        size_t whysize)
{
    struct mixer_or or;
    char pw[200] = "";
    int rc = mixer_or_parse(text, strlen(text), &or, pw, sizeof pw);
    if (!rc)
        rc = mixer_orname_write(w, &or, true, 0, 0);
    if (rc)
        WHY("%s \"%.200s\": %s", what, text, pw[0] ? pw : mg_strerror(rc));
    return rc;
}

/* One ExtensionField with a standard type (or a private OID) and the value TLV in vbuf. */
static void extension(struct mixer_ber *w, int standard, const char *oid, const struct mg_buf *v)
{
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    if (oid)
        mixer_ber_oid(w, MIXER_BER_CTX, 3, oid);
    else
        mixer_ber_int(w, MIXER_BER_CTX, 0, standard);
    mixer_ber_open(w, MIXER_BER_CTX, 2); /* an open type: the tag is explicit */
    mixer_ber_raw(w, v->data, v->len);
    mixer_ber_close(w);
    mixer_ber_close(w);
}

static int trace_element(struct mixer_ber *w, const struct mixer_dsnp_env *e, char *why,
                         size_t whysize)
{
    struct mixer_or g;
    if (mixer_or_parse(e->trace_gdi, strlen(e->trace_gdi), &g, NULL, 0) != 0 ||
        !mixer_or_get(&g, MIXER_OR_C, 0) || !e->arrival[0]) {
        WHY("trace domain \"%.200s\" or arrival time missing", e->trace_gdi);
        return MG_EINVAL;
    }
    mixer_ber_open(w, MIXER_BER_APP, 9);
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    mixer_report_ber_gdi(w, mixer_or_get(&g, MIXER_OR_C, 0), mixer_or_get(&g, MIXER_OR_ADMD, 0),
                         mixer_or_get(&g, MIXER_OR_PRMD, 0));
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
    mixer_ber_str(w, MIXER_BER_CTX, 0, e->arrival);
    mixer_ber_prim(w, MIXER_BER_CTX, 2, "\x00", 1); /* relayed */
    /* converted-encoded-information-types: IA5 text and the MIXER pseudo-EIT (5.1.3) */
    mixer_ber_open(w, MIXER_BER_APP, 5);
    mixer_ber_prim(w, MIXER_BER_CTX, 0, "\x05\x20", 2);
    mixer_ber_open(w, MIXER_BER_CTX, 4);
    mixer_ber_oid(w, MIXER_BER_UNIV, MIXER_BER_OID, OID_EIT_MIXER);
    mixer_ber_close(w);
    mixer_ber_close(w);
    mixer_ber_close(w);
    mixer_ber_close(w);
    mixer_ber_close(w);
    return 0;
}

static int per_recipient(struct mixer_ber *w, const struct mixer_dsnp_env *e, size_t i,
                         char *why, size_t whysize)
{
    const struct mixer_dsnp_rcpt *r = &e->rcpts[i];
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
    int rc = write_orname(w, r->addr, "recipient", why, whysize);
    mixer_ber_int(w, MIXER_BER_CTX, 0, (long)i + 1);
    const unsigned char ind[2] = {0x00, (unsigned char)r->indicators};
    mixer_ber_prim(w, MIXER_BER_CTX, 1, ind, sizeof ind);
    if (!rc && r->orcpt[0]) {
        /* RFC 2156 A.3.1: ORCPT as one redirection, reason alias, at the conversion */
        struct mg_buf v;
        mg_buf_init(&v, 64u << 10);
        struct mixer_ber vw;
        mixer_ber_init(&vw, &v);
        mixer_ber_open(&vw, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        mixer_ber_open(&vw, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        mixer_ber_open(&vw, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        rc = write_orname(&vw, r->orcpt, "original recipient", why, whysize);
        mixer_ber_str(&vw, MIXER_BER_UNIV, MIXER_BER_UTCTIME,
                      r->redirected[0] ? r->redirected : e->arrival);
        mixer_ber_close(&vw);
        const unsigned char alias = REASON_ALIAS;
        mixer_ber_prim(&vw, MIXER_BER_UNIV, MIXER_BER_ENUMERATED, &alias, 1);
        mixer_ber_close(&vw);
        mixer_ber_close(&vw);
        int frc = mixer_ber_finish(&vw);
        rc = rc ? rc : frc;
        if (!rc) {
            mixer_ber_open(w, MIXER_BER_CTX, 3);
            extension(w, EXT_REDIRECTION_HISTORY, NULL, &v);
            mixer_ber_close(w);
        }
        mg_buf_free(&v);
    }
    mixer_ber_close(w);
    return rc;
}

int mixer_dsnp_env_to_ber(const struct mixer_dsnp_env *e, struct mg_buf *out, char *why,
                          size_t whysize)
{
    if (!e || e->nrcpts == 0 || !e->originator[0]) {
        WHY("an envelope needs an originator and a recipient");
        return MG_EINVAL;
    }
    struct mixer_ber w;
    mixer_ber_init(&w, out);
    mixer_ber_open(&w, MIXER_BER_UNIV, MIXER_BER_SET);
    /* the SET's components in tag order (universal, application, context) */
    bool builtin = !strchr(e->content_type, '.');
    if (!builtin)
        mixer_ber_oid(&w, MIXER_BER_UNIV, MIXER_BER_OID, e->content_type);
    int rc = write_orname(&w, e->originator, "originator", why, whysize);
    if (!rc)
        rc = mixer_report_ber_mts_id(&w, e->mts_id, why, whysize);
    if (builtin) {
        char *end;
        long ct = strtol(e->content_type[0] ? e->content_type : "22", &end, 10);
        if (*end || ct < 0 || ct > 32767) {
            WHY("content type \"%.60s\" is neither a number nor an OID", e->content_type);
            rc = rc ? rc : MG_EINVAL;
        }
        mixer_ber_int(&w, MIXER_BER_APP, 6, ct);
    }
    int prio = e->priority;
    if (e->precedence >= 0) /* ACP 123: deferred/routine, priority/immediate, flash/override */
        prio = e->precedence >= 4 ? 2 : e->precedence >= 2 ? 0 : 1;
    if (prio == 1 || prio == 2) { /* normal is the DEFAULT: absent in DER */
        const unsigned char p = (unsigned char)prio;
        mixer_ber_prim(&w, MIXER_BER_APP, 7, &p, 1);
    }
    /* per-message-indicators: alternate-recipient-allowed (RFC 2156 5.1.3) and
     * content-return-request; DER: trailing zero bits dropped */
    if (e->content_return)
        mixer_ber_prim(&w, MIXER_BER_APP, 8, "\x04\x30", 2);
    else
        mixer_ber_prim(&w, MIXER_BER_APP, 8, "\x05\x20", 2);
    if (!rc)
        rc = trace_element(&w, e, why, whysize);
    mixer_ber_open(&w, MIXER_BER_CTX, 2);
    for (size_t i = 0; !rc && i < e->nrcpts; i++)
        rc = per_recipient(&w, e, i, why, whysize);
    mixer_ber_close(&w);
    if (!rc && (e->correlator[0] || e->precedence >= 0)) {
        struct mg_buf v;
        mg_buf_init(&v, 4096);
        struct mixer_ber vw;
        mixer_ber_open(&w, MIXER_BER_CTX, 3);
        if (e->correlator[0]) {
            mixer_ber_init(&vw, &v);
            mixer_ber_str(&vw, MIXER_BER_UNIV, MIXER_BER_IA5STRING, e->correlator);
            rc = mixer_ber_finish(&vw);
            extension(&w, EXT_CONTENT_CORRELATOR, NULL, &v);
        }
        if (!rc && e->precedence >= 0) {
            v.len = 0;
            mixer_ber_init(&vw, &v);
            mixer_ber_int(&vw, MIXER_BER_UNIV, MIXER_BER_INTEGER, e->precedence % 2);
            rc = mixer_ber_finish(&vw);
            extension(&w, 0, OID_PRIORITY_QUALIFIER, &v);
        }
        mixer_ber_close(&w);
        mg_buf_free(&v);
    }
    mixer_ber_close(&w);
    int frc = mixer_ber_finish(&w);
    rc = rc ? rc : frc;
    if (!rc) { /* what we wrote must be what X.411 says */
        MessageTransferEnvelope_t *m = NULL;
        struct mg_asn1_err err;
        rc = mg_asn1_decode(&asn_DEF_MessageTransferEnvelope, out->data, out->len, (void **)&m,
                            &err);
        if (rc)
            WHY("the envelope built does not decode: %s", err.what);
        mg_asn1_free(&asn_DEF_MessageTransferEnvelope, m);
        if (rc && rc != MG_ENOMEM)
            rc = MG_EINVAL;
    }
    return rc;
}

/* ---- reading ---- */

static int orname_text(const ORName_t *n, char *out, size_t outsize)
{
    struct mixer_or or;
    int rc = mixer_orname_read(&n->built_in_standard_attributes,
                               n->built_in_domain_defined_attributes, n->extension_attributes, &or);
    return rc ? rc : mixer_or_print(&or, out, outsize);
}

static void ia5(const OCTET_STRING_t *s, char *out, size_t outsize)
{
    size_t n = s && s->buf ? (size_t)s->size : 0;
    if (n >= outsize)
        n = outsize - 1;
    for (size_t i = 0; i < n; i++) /* printable ASCII only: the value goes into SMTP */
        out[i] = s->buf[i] >= 0x20 && s->buf[i] < 0x7f ? (char)s->buf[i] : ' ';
    out[n] = '\0';
}

static const ExtensionField_t *find_ext(const struct Extensions *x, long standard, const char *oid)
{
    for (int i = 0; x && i < x->list.count; i++) {
        const ExtensionField_t *f = x->list.array[i];
        if (!f->value || f->value->size <= 0)
            continue;
        if (!oid && f->type.present == ExtensionType_PR_standard_extension &&
            f->type.choice.standard_extension == standard)
            return f;
        if (oid && f->type.present == ExtensionType_PR_private_extension &&
            mg_asn1_oid_is(&f->type.choice.private_extension, oid))
            return f;
    }
    return NULL;
}

/* The first redirection's intended recipient (A.3.2: the ORCPT). Unreadable: none. */
static void first_redirection(const struct Extensions *x, struct mixer_dsnp_rcpt *r)
{
    const ExtensionField_t *f = find_ext(x, EXT_REDIRECTION_HISTORY, NULL);
    RedirectionHistory_t *h = NULL;
    struct mg_asn1_err err;
    if (!f || mg_asn1_decode(&asn_DEF_RedirectionHistory, f->value->buf, (size_t)f->value->size,
                             (void **)&h, &err) != 0) {
        mg_asn1_free(&asn_DEF_RedirectionHistory, h);
        return;
    }
    if (h->list.count > 0) {
        const IntendedRecipientName_t *n = &h->list.array[0]->intended_recipient_name;
        if (orname_text(&n->intended_recipient, r->orcpt, sizeof r->orcpt) != 0)
            r->orcpt[0] = '\0';
        ia5(&n->redirection_time, r->redirected, sizeof r->redirected);
    }
    mg_asn1_free(&asn_DEF_RedirectionHistory, h);
}

int mixer_dsnp_env_from_ber(const void *ber, size_t len, struct mixer_dsnp_env *e, char *why,
                            size_t whysize)
{
    mixer_dsnp_env_free(e);
    mixer_dsnp_env_init(e);
    MessageTransferEnvelope_t *m = NULL;
    struct mg_asn1_err err;
    int rc = mg_asn1_decode(&asn_DEF_MessageTransferEnvelope, ber, len, (void **)&m, &err);
    if (rc) {
        WHY("message envelope does not decode: %s", err.what);
        return rc == MG_ENOMEM ? rc : MG_EPARSE;
    }
    rc = mixer_report_ber_id_text(&m->message_identifier.global_domain_identifier,
                                  &m->message_identifier.local_identifier, e->mts_id,
                                  sizeof e->mts_id);
    if (!rc && (rc = orname_text(&m->originator_name, e->originator, sizeof e->originator)))
        WHY("originator-name cannot be written as text");
    if (m->content_type.present == ContentType_PR_built_in)
        snprintf(e->content_type, sizeof e->content_type, "%ld", m->content_type.choice.built_in);
    else if (mg_asn1_oid_str(&m->content_type.choice.extended, e->content_type,
                             sizeof e->content_type) != 0)
        e->content_type[0] = '\0';
    e->priority = m->priority == Priority_urgent ? 2 : m->priority == Priority_non_urgent ? 1 : 0;
    const PerMessageIndicators_t *pmi = m->per_message_indicators;
    e->content_return = pmi && pmi->size > 0 && (pmi->buf[0] & 0x10);
    const ExtensionField_t *f = find_ext(m->extensions, EXT_CONTENT_CORRELATOR, NULL);
    ContentCorrelator_t *cc = NULL;
    if (f && mg_asn1_decode(&asn_DEF_ContentCorrelator, f->value->buf, (size_t)f->value->size,
                            (void **)&cc, &err) == 0 &&
        cc->present == ContentCorrelator_PR_ia5text)
        ia5(&cc->choice.ia5text, e->correlator, sizeof e->correlator);
    mg_asn1_free(&asn_DEF_ContentCorrelator, cc);
    f = find_ext(m->extensions, 0, OID_PRIORITY_QUALIFIER);
    if (f && f->value->size == 3 && (f->value->buf[0] == 0x02 || f->value->buf[0] == 0x0a) &&
        f->value->buf[1] == 1 && f->value->buf[2] <= 1) {
        int base = e->priority == 2 ? 2 : e->priority == 1 ? 0 : 1;
        e->precedence = 2 * base + f->value->buf[2];
    }
    if (m->trace_information.list.count > 0) {
        const TraceInformationElement_t *t = m->trace_information.list.array[0];
        char text[MIXER_ADDR_MAX];
        IA5String_t none = {0};
        /* "[gdi;]" without the brackets and the empty local part */
        if (mixer_report_ber_id_text(&t->global_domain_identifier, &none, text, sizeof text) ==
                0 &&
            strlen(text) >= 3) {
            text[strlen(text) - 2] = '\0';
            snprintf(e->trace_gdi, sizeof e->trace_gdi, "%s", text + 1);
        }
        ia5(&t->domain_supplied_information.arrival_time, e->arrival, sizeof e->arrival);
    }
    for (int i = 0; !rc && i < m->per_recipient_fields.list.count; i++) {
        const PerRecipientMessageTransferFields_t *p = m->per_recipient_fields.list.array[i];
        struct mixer_dsnp_rcpt *r = mixer_dsnp_env_add(e);
        if (!r) {
            rc = MG_ENOMEM;
            break;
        }
        if ((rc = orname_text(&p->recipient_name, r->addr, sizeof r->addr))) {
            WHY("recipient %d cannot be written as text", i + 1);
            break;
        }
        const PerRecipientIndicators_t *ind = &p->per_recipient_indicators;
        r->indicators = ind->size > 0 ? ind->buf[0] : 0;
        first_redirection(p->extensions, r);
    }
    mg_asn1_free(&asn_DEF_MessageTransferEnvelope, m);
    if (rc && rc != MG_ENOMEM && rc != MG_ETOOBIG)
        rc = MG_EPARSE;
    return rc;
}
