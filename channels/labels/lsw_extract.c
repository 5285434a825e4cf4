/* lsw_extract: labels found in a message at submission (lsw_find_labels, also the shaper's
 * input) and the submission decision (lsw_submit_extract): the governing label, consistency
 * of the others with it, reject / default / correct, the envelope label; every decision an
 * audit record (audit_append: the submission path has no channel result) and a log line. */
#define _GNU_SOURCE
#include "lsw_int.h"
#include "audit.h"
#include "lbl_ber.h"
#include "lbl_codec.h"
#include "lbl_header.h"
#include "lbl_marking.h"
#include "lbl_xml.h"
#include "lsw_msg.h"
#include "lsw_smime.h"
#include "lsw_x400.h"
#include "mg_err.h"
#include "mg_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LSW_MAX_FOUND 16   /* labels looked at in one message; the rest is ignored */

static void note(char *errs, size_t n, const char *src, const char *msg)
{
    if (!errs || !n)
        return;
    size_t k = strlen(errs);
    snprintf(errs + k, n - k, "%s%s: %s", k ? "; " : "", src, msg);
}

static int push(struct lsw_found **v, size_t *n, enum lsw_src s, struct lbl_label *l)
{
    struct lsw_found *x = realloc(*v, (*n + 1) * sizeof *x);
    if (!x)
        return MG_ENOMEM;
    *v = x;
    x[*n].src = s;
    x[*n].label = *l; /* moved */
    lbl_label_init(l);
    (*n)++;
    return 0;
}

/* X-X411 carries base64 of an X.411 SecurityLabel, or of an ESSSecurityLabel. */
static int xx411_any(const char *v, struct lbl_label *out, struct lbl_err *err)
{
    int rc = lbl_xx411_decode(v, strlen(v), out, err);
    if (rc == 0 || rc == MG_ENOMEM)
        return rc;
    unsigned char *der = NULL;
    size_t n = 0;
    if (lbl_b64_decode(v, strlen(v), &der, &n) == 0 && lbl_ess_decode(der, n, out, NULL) == 0)
        rc = 0;
    free(der);
    return rc;
}

/* A display marking under any loaded policy (the governing one first); rx is re compiled at
 * load (lsw_sources_parse), NULL when it was not. */
static int marking_any(const struct lbl_policy_set *set, const char *text, const char *re,
                       const struct lbl_marking_re *rx, enum lbl_loc loc, struct lbl_label *out,
                       struct lbl_err *err)
{
    int rc = MG_EPARSE;
    for (size_t i = 0; rc && i < lbl_policy_set_count(set); i++)
        rc = rx ? lbl_marking_parse_re(lbl_policy_set_get(set, i), text, rx, "", loc, out, i ? NULL : err)
                : lbl_marking_parse(lbl_policy_set_get(set, i), text, re, "", loc, out, i ? NULL : err);
    return rc;
}

int lsw_find_labels(const struct lsw_sources *s, const struct lbl_policy_set *set, const unsigned char *c,
                    size_t len, const unsigned char *msg_label, size_t msg_label_len, struct lsw_found **found,
                    size_t *n, char *errs, size_t errsn)
{
    *found = NULL;
    *n = 0;
    if (errs && errsn)
        errs[0] = 0;
    struct lbl_label l;
    lbl_label_init(&l);
    int rc = 0;
    /* An X.400 IPM (P22/P772 from P1) has no header: its header fields are in the heading's
     * rfc-822-field extension (lsw_x400.h), read once when a header source needs them. */
    char **xf = NULL;
    size_t nxf = 0;
    int x400 = -1; /* not looked at yet */
    for (size_t k = 0; k < s->nsrc && !rc && *n < LSW_MAX_FOUND; k++) {
        enum lsw_src src = s->src[k];
        const char *sn = lsw_src_name(src);
        struct lbl_err err = { "" };
        const char *hname = NULL;
        switch (src) {
        case LSW_SRC_X411:
            if (msg_label && msg_label_len) {
                if (lbl_x411_decode(msg_label, msg_label_len, &l, &err) == 0 ||
                    lsw_label_decode(msg_label, msg_label_len, &l, &err) == 0)
                    rc = push(found, n, src, &l);
                else
                    note(errs, errsn, sn, err.msg);
            }
            continue;
        case LSW_SRC_ESS: {
            unsigned char *der = NULL;
            size_t dlen = 0;
            int r = lsw_smime_ess_label(c, len, &der, &dlen);
            if (r != 0 && r != MG_ENOMEM) /* a binary X.400 content signed as a whole (P1) */
                r = lsw_smime_ess_label_der(c, len, &der, &dlen);
            if (r == 0) {
                if (lbl_ess_decode(der, dlen, &l, &err) == 0)
                    rc = push(found, n, src, &l);
                else
                    note(errs, errsn, sn, err.msg);
            } else if (r == MG_ENOMEM) {
                rc = r;
            }
            free(der);
            continue;
        }
        case LSW_SRC_XX411: hname = s->xx411_header; break;
        case LSW_SRC_SIO: hname = "SIO-Label"; break;
        case LSW_SRC_XML: hname = s->xml_header; break;
        case LSW_SRC_HEADER: hname = s->text_header; break;
        case LSW_SRC_SUBJECT: hname = "Subject"; break;
        case LSW_SRC_HISTORY: hname = "SIO-Label-History"; break;
        case LSW_SRC_FLOT: {
            size_t off, fl;
            if (lsw_msg_flot(c, len, &off, &fl) || !fl || fl > LSW_HDR_MAX)
                continue;
            char *line = strndup((const char *)c + off, fl);
            if (!line) {
                rc = MG_ENOMEM;
                continue;
            }
            if (strlen(line) == fl && marking_any(set, line, s->flot_re, s->flot_rx, LBL_LOC_FLOT, &l, &err) == 0)
                rc = push(found, n, src, &l);
            free(line);
            continue;
        }
        }
        if (x400 < 0) {
            int xr = lsw_x400_fields(c, len, &xf, &nxf);
            x400 = xr == 0;
            if (xr == MG_ENOMEM)
                rc = xr;
            else if (xr != 0 && xr != MG_ENOTFOUND)
                note(errs, errsn, "x400-heading", mg_strerror(xr));
        }
        for (size_t idx = 0; idx < 8 && !rc && *n < LSW_MAX_FOUND; idx++) {
            char *v = NULL;
            int r;
            if (x400) {
                const char *fv = lsw_x400_field(xf, nxf, hname, idx);
                r = !fv ? MG_ENOTFOUND : (v = strdup(fv)) ? 0 : MG_ENOMEM;
            } else {
                r = lsw_msg_header(c, len, hname, idx, &v);
            }
            if (r == MG_ENOTFOUND)
                break;
            if (r) {
                rc = r == MG_ENOMEM ? r : 0;
                if (r != MG_ENOMEM)
                    note(errs, errsn, sn, mg_strerror(r));
                break;
            }
            int d;
            switch (src) {
            case LSW_SRC_XX411: d = xx411_any(v, &l, &err); break;
            case LSW_SRC_SIO: d = lbl_sio_decode(v, strlen(v), set, &l, &err); break;
            case LSW_SRC_XML: d = lbl_xml_parse_label(v, strlen(v), set, &l, &err); break;
            case LSW_SRC_HISTORY: d = lbl_sio_history_decode(v, strlen(v), set, &l, &err); break;
            case LSW_SRC_HEADER: d = marking_any(set, v, s->header_re, s->header_rx, LBL_LOC_XHEADER, &l, &err); break;
            default: d = marking_any(set, v, s->subject_re, s->subject_rx, LBL_LOC_SUBJECT, &l, &err); break;
            }
            free(v);
            if (d == 0)
                rc = push(found, n, src, &l);
            else if (src != LSW_SRC_SUBJECT && src != LSW_SRC_HEADER) /* plain text is not an error */
                note(errs, errsn, sn, err.msg[0] ? err.msg : mg_strerror(d));
            if (src == LSW_SRC_SUBJECT)
                break;
        }
    }
    lbl_label_free(&l);
    lsw_x400_fields_free(xf, nxf);
    if (rc) {
        lsw_found_free(*found, *n);
        *found = NULL;
        *n = 0;
    }
    return rc;
}

void lsw_found_free(struct lsw_found *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++)
        lbl_label_free(&f[i].label);
    free(f);
}

/* ---- the submission decision ------------------------------------------------------------ */

struct lsw_entry;
struct lsw_entry *lsw_gate_acquire(struct lsw_gate *g, const struct config *cfg, const struct lsw **l);
void lsw_gate_release(struct lsw_gate *g, struct lsw_entry *e);
struct audit *lsw_gate_audit(struct lsw_gate *g);
void lsw_gate_new_id(struct lsw_gate *g, char id[MESSAGE_ID_SIZE]);
struct lsw_pending **lsw_gate_pending(struct lsw_gate *g);
void lsw_pending_free_all(struct lsw_pending *p);

/* The audit append of an accepted submission, until submit_enqueue has waited for it
 * (lsw_submit_commit). Loop thread only: appends complete there and submit runs there. */
struct lsw_pending {
    struct lsw_pending *next;
    struct lsw_pending **head;  /* the gate's list */
    char qid[MESSAGE_ID_SIZE];
    int done, status;
    int64_t since;              /* unix seconds: a message never stored is dropped after a while */
    void (*cb)(void *arg, int status);
    void *arg;
};

static void pending_unlink(struct lsw_pending *p)
{
    for (struct lsw_pending **q = p->head; *q; q = &(*q)->next)
        if (*q == p) {
            *q = p->next;
            break;
        }
}

void lsw_pending_free_all(struct lsw_pending *p)
{
    while (p) {
        struct lsw_pending *n = p->next;
        free(p);
        p = n;
    }
}

static void on_sub_audit(void *arg, int status)
{
    struct lsw_pending *p = arg;
    p->done = 1;
    p->status = status;
    if (p->cb) {
        void (*cb)(void *, int) = p->cb;
        void *a = p->arg;
        pending_unlink(p);
        free(p);
        cb(a, status);
    }
}

int lsw_submit_commit(void *ctx, const char *qid, void (*cb)(void *arg, int status), void *arg)
{
    struct lsw_gate *g = ctx;
    for (struct lsw_pending *p = *lsw_gate_pending(g); p; p = p->next) {
        if (strcmp(p->qid, qid))
            continue;
        if (p->done) {
            int st = p->status;
            pending_unlink(p);
            free(p);
            cb(arg, st);
        } else {
            p->cb = cb;
            p->arg = arg;
        }
        return 0;
    }
    return MG_ENOTFOUND; /* nothing of ours in flight for it */
}

/* Entries whose message was never stored (the store failed) and whose records are durable. */
static void pending_sweep(struct lsw_pending **head, int64_t now)
{
    for (struct lsw_pending **q = head; *q;) {
        struct lsw_pending *p = *q;
        if (p->done && !p->cb && now - p->since > 300) {
            *q = p->next;
            free(p);
        } else {
            q = &p->next;
        }
    }
}

#define LSW_SUB_RECS 24

/* The audit records of one submission, appended at once. */
struct sub_audit {
    struct audit_record r[LSW_SUB_RECS];
    char reason[LSW_SUB_RECS][600];
    unsigned char *subj[LSW_SUB_RECS];
    char *summ[LSW_SUB_RECS];
    size_t n;
};

static void rec(struct sub_audit *a, const struct lsw *l, const char *qid, const char *listener,
                const char *decision, const struct lbl_label *label, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void rec(struct sub_audit *a, const struct lsw *l, const char *qid, const char *listener,
                const char *decision, const struct lbl_label *label, const char *fmt, ...)
{
    if (a->n >= LSW_SUB_RECS)
        return;
    size_t i = a->n++;
    struct audit_record *r = &a->r[i];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->reason[i], sizeof a->reason[i], fmt, ap);
    va_end(ap);
    r->qid = qid;
    r->rcpt = "";
    r->channel = listener;
    r->decision = decision;
    r->reason = a->reason[i];
    r->subject_kind = "";
    if (label) {
        size_t n = 0;
        const struct lbl_policy *p = lbl_policy_set_find(l->set, label->policy);
        if (lsw_label_encode(label, p, &a->subj[i], &n) == 0) {
            r->subject_kind = "label";
            r->subject = a->subj[i];
            r->subject_len = n;
        }
        if (p && lbl_marking(p, label, "", LBL_LOC_PAGEBOTTOM, &a->summ[i], NULL) == 0)
            r->summary = a->summ[i];
    }
    mg_info("event=%s qid=%s listener=%s reason=\"%s\"", decision, qid, listener, a->reason[i]);
}

static void sub_audit_free(struct sub_audit *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->subj[i]);
        free(a->summ[i]);
    }
}

static int reject(struct submit_result *res, int temporary)
{
    res->verdict = SUBMIT_LABEL_REJECTED;
    res->temporary = temporary;
    res->status = temporary ? "4.7.0" : "5.7.1";
    res->reason = temporary ? "security label check not available now"
                            : "message refused: no valid security label for this policy";
    return temporary ? MG_ETEMP : MG_EDENIED;
}

/* valid under the governing SPIF (policy included) */
static int valid(const struct lsw *l, const struct lbl_label *x, struct lbl_reasons *why)
{
    memset(why, 0, sizeof *why);
    if (strcmp(x->policy, lbl_policy_oid(l->gov))) {
        why->n = 1;
        snprintf(why->r[0], sizeof why->r[0], "policy %s is not the governing policy %s",
                 x->policy[0] ? x->policy : "(none)", lbl_policy_oid(l->gov));
        return 0;
    }
    return lbl_validate(l->gov, x, why);
}

static int decide(const struct lsw *l, const struct lsw_extract *ex, const char *qid, const char *lis,
                  struct message *msg, unsigned char **content, size_t *len, struct sub_audit *a,
                  struct submit_result *res)
{
    struct lsw_found *f = NULL;
    size_t n = 0;
    char errs[1000];
    int rc = lsw_find_labels(&ex->s, l->set, *content, *len, msg->label, msg->label_len, &f, &n, errs, sizeof errs);
    if (rc)
        return reject(res, 1);
    if (errs[0])
        rec(a, l, qid, lis, "label-unreadable", NULL, "labels that could not be read: %s", errs);
    /* The governing label. */
    int gi = -1;
    for (size_t i = 0; i < n && gi < 0; i++)
        if (ex->governing < 0 || f[i].src == ex->s.src[ex->governing])
            gi = (int)i;
    struct lbl_label final;
    lbl_label_init(&final);
    const char *added_hdr = NULL;
    char hdr[700];
    if (gi < 0) {
        if (ex->on_missing == LSW_MISSING_REJECT) {
            rec(a, l, qid, lis, "label-rejected", NULL, "no security label found%s", "");
            rc = reject(res, 0);
        } else if (ex->on_missing == LSW_MISSING_DEFAULT) {
            rc = lbl_label_copy(&final, &ex->default_label);
            rec(a, l, qid, lis, "label-defaulted", &final, "no security label found: the default label%s", "");
        } else {
            rec(a, l, qid, lis, "label-missing", NULL, "no security label found: accepted without%s", "");
        }
        goto done;
    }
    struct lbl_label *gl = &f[gi].label;
    const char *gsrc = lsw_src_name(f[gi].src);
    rec(a, l, qid, lis, "label-extracted", gl, "governing label from %s", gsrc);
    struct lbl_reasons why;
    if (valid(l, gl, &why)) {
        rc = lbl_label_copy(&final, gl);
    } else if (ex->on_invalid == LSW_INVALID_CORRECT && !strcmp(gl->policy, lbl_policy_oid(l->gov))) {
        unsigned dropped = 0;
        rc = lbl_label_copy(&final, gl);
        if (!rc)
            rc = lbl_correct(l->gov, &final, LBL_FIX_DROP_UNKNOWN | LBL_FIX_DROP_OBSOLETE, &dropped);
        struct lbl_reasons w2;
        const struct lbl_label *cdef = NULL; /* the default label of its classification */
        for (size_t k = 0; k < ex->nclass_defaults && !cdef; k++)
            if (gl->has_class && ex->class_defaults[k].has_class && ex->class_defaults[k].class_lacv == gl->class_lacv)
                cdef = &ex->class_defaults[k];
        if (!rc && valid(l, &final, &w2)) {
            char t[300];
            snprintf(t, sizeof t, "invalid label corrected (%u categories dropped): %s", dropped, why.r[0]);
            rec(a, l, qid, lis, "label-corrected", &final, "%s", t);
        } else if (!rc && cdef) {
            rc = lbl_label_copy(&final, cdef);
            rec(a, l, qid, lis, "label-defaulted", &final,
                "invalid label not correctable: the default label of its classification (%s)", w2.n ? w2.r[0] : "");
        } else if (!rc && ex->has_default) {
            rc = lbl_label_copy(&final, &ex->default_label);
            rec(a, l, qid, lis, "label-defaulted", &final, "invalid label not correctable: the default label (%s)",
                w2.n ? w2.r[0] : "");
        } else if (!rc) {
            rec(a, l, qid, lis, "label-rejected", gl, "invalid label not correctable: %s", w2.n ? w2.r[0] : "");
            rc = reject(res, 0);
        }
        if (rc)
            goto done;
    } else if (ex->on_invalid == LSW_INVALID_DEFAULT ||
               (ex->on_invalid == LSW_INVALID_CORRECT && ex->has_default && strcmp(gl->policy, lbl_policy_oid(l->gov)))) {
        rc = lbl_label_copy(&final, &ex->default_label);
        rec(a, l, qid, lis, "label-defaulted", &final, "invalid label replaced by the default label: %s",
            why.n ? why.r[0] : "");
        if (rc)
            goto done;
    } else {
        rec(a, l, qid, lis, "label-rejected", gl, "invalid label: %s", why.n ? why.r[0] : "");
        rc = reject(res, 0);
        goto done;
    }
    /* Consistency of every other label found with the governing one. */
    for (size_t i = 0; i < n; i++) {
        if ((int)i == gi || lbl_label_equal(&f[i].label, gl))
            continue;
        char t[300];
        snprintf(t, sizeof t, "label from %s differs from the governing label from %s", lsw_src_name(f[i].src), gsrc);
        rec(a, l, qid, lis, "label-inconsistent", &f[i].label, "%s", t);
        if (ex->on_inconsistent == LSW_INCONS_REJECT) {
            res->verdict = SUBMIT_LABEL_REJECTED;
            res->temporary = 0;
            res->status = "5.7.1";
            res->reason = "message refused: its security labels are inconsistent";
            rc = MG_EDENIED;
            goto done;
        }
        /* an X.400 content (P1) has no RFC 5322 header to add: the record is all there is */
        if (ex->on_inconsistent == LSW_INCONS_HEADER && !added_hdr &&
            msg->content_type == MESSAGE_CONTENT_RFC5322) {
            snprintf(hdr, sizeof hdr, "%s: %s", ex->incons_header, t);
            added_hdr = hdr;
        }
    }
done:
    if (!rc && final.policy[0]) {
        unsigned char *der = NULL;
        size_t dl = 0;
        rc = lsw_label_encode(&final, l->gov, &der, &dl);
        if (!rc)
            rc = message_set_label(msg, der, dl);
        free(der);
        if (rc)
            rc = reject(res, 1);
    }
    if (!rc && added_hdr) {
        const char *add[] = { added_hdr, NULL };
        struct lsw_msg_edit e = { .add = add };
        unsigned char *out = NULL;
        size_t ol = 0;
        if (lsw_msg_rebuild(*content, *len, &e, &out, &ol) == 0) {
            free(*content);
            *content = out;
            *len = ol;
        }
    }
    lbl_label_free(&final);
    lsw_found_free(f, n);
    return rc;
}

int lsw_submit_extract(void *ctx, const struct config *cfg, const struct submit_origin *o, struct message *msg,
                       unsigned char **content, size_t *len, struct submit_result *res)
{
    struct lsw_gate *g = ctx;
    res->verdict = SUBMIT_OK;
    res->temporary = 0;
    res->status = "2.0.0";
    res->reason = "ok";
    const struct lsw *l = NULL;
    struct lsw_entry *e = lsw_gate_acquire(g, cfg, &l);
    if (!e)
        return reject(res, 1);
    const struct lsw_extract *ex = NULL;
    const char *lis = o && o->listener ? o->listener->name : "";
    for (size_t i = 0; l && i < l->nex && !ex; i++)
        if (!strcmp(l->ex[i].listener, lis))
            ex = &l->ex[i];
    if (!ex) {
        lsw_gate_release(g, e);
        return 0; /* this listener extracts nothing */
    }
    if (!msg->id[0])
        lsw_gate_new_id(g, msg->id); /* the audit records name the queue id */
    struct sub_audit a;
    memset(&a, 0, sizeof a);
    int rc = decide(l, ex, msg->id, lis, msg, content, len, &a, res);
    struct audit *au = lsw_gate_audit(g);
    if (au && a.n) {
        struct lsw_pending *p = NULL;
        if (rc == 0) { /* accepted: submit_enqueue waits for these records (lsw_submit_commit) */
            struct lsw_pending **head = lsw_gate_pending(g);
            pending_sweep(head, (int64_t)time(NULL));
            if ((p = calloc(1, sizeof *p))) {
                p->head = head;
                snprintf(p->qid, sizeof p->qid, "%s", msg->id);
                p->since = (int64_t)time(NULL);
                p->next = *head;
                *head = p;
            }
        }
        int ar = audit_append(au, a.r, a.n, p ? on_sub_audit : NULL, p);
        if (ar && p) {
            pending_unlink(p);
            free(p);
        }
        if (ar) {
            mg_error("event=audit_failed qid=%s error=\"%s\"", msg->id, mg_strerror(ar));
            if (!rc) /* no record, no message */
                rc = reject(res, 1);
        }
    }
    sub_audit_free(&a);
    lsw_gate_release(g, e);
    return rc;
}
