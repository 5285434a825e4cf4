/* mixer_mdn: an Internet MDN (RFC 8098) answering an X.400 message becomes an X.420 IPN, so
 * the X.400 originator's UA sees the receipt it asked for (mixer_r2x turns its notification
 * request into Disposition-Notification-To). Disposition types: displayed and processed are
 * receipts; deleted, denied and failed are non-receipts (IPM discarded); dispatched is a
 * non-receipt "auto-forwarded". Original-Message-ID gives the subject IPM, Original-Recipient
 * (else Final-Recipient) the intended recipient, the MDN's From the IPN originator, its Date
 * the receipt time. This mapping is the project's (no RFC defines one). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mixer_r2x.h"

#define WHY(...) (why && whysize ? (void)snprintf(why, whysize, __VA_ARGS__) : (void)0)

/* Parameter `name` of a Content-Type value (quoted or token), lower-case compare. */
static void ct_param(const char *v, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    out[0] = 0;
    for (const char *p = strchr(v, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncasecmp(q, name, nl) != 0)
            continue;
        q += nl;
        while (*q == ' ')
            q++;
        if (*q != '=')
            continue;
        q++;
        while (*q == ' ')
            q++;
        size_t o = 0;
        bool quoted = *q == '"';
        if (quoted)
            q++;
        while (*q && o + 1 < size && (quoted ? *q != '"' : (*q != ';' && *q != ' ')))
            out[o++] = *q++;
        out[o] = 0;
        return;
    }
}

static bool type_is(const char *v, const char *type)
{
    size_t l = strlen(type);
    return !strncasecmp(v, type, l) && (v[l] == 0 || v[l] == ';' || v[l] == ' ');
}

/* "rfc822; user@host" -> user@host */
static bool typed_addr(const char *v, char *out, size_t size)
{
    const char *semi = strchr(v, ';');
    if (!semi || strncasecmp(v, "rfc822", 6) != 0)
        return false;
    semi++;
    while (*semi == ' ' || *semi == '\t')
        semi++;
    size_t l = strcspn(semi, " \t\r\n");
    if (!l || l >= size)
        return false;
    memcpy(out, semi, l);
    out[l] = 0;
    return true;
}

int mixer_mdn_to_ipn(const struct mixer_gw *gw, const char *msg, size_t len,
                     struct mixer_ber *w, char *why, size_t whysize)
{
    struct mixer_hdrs *h = malloc(sizeof *h), *d = malloc(sizeof *d);
    struct mixer_mbox *mb = malloc(2 * sizeof *mb);
    char boundary[128], rtype[64];
    int rc = MG_ENOTFOUND;
    bool hparsed = false, dparsed = false;
    if (!h || !d || !mb) {
        rc = MG_ENOMEM;
        goto out;
    }
    if (mixer_hdr_parse(msg, len, h) != 0)
        goto out; /* not readable as an MDN: the IPM path reports it */
    hparsed = true;
    struct mixer_field *ct = mixer_hdr_find(h, "Content-Type");
    if (!ct || !type_is(ct->value, "multipart/report"))
        goto out;
    ct_param(ct->value, "report-type", rtype, sizeof rtype);
    ct_param(ct->value, "boundary", boundary, sizeof boundary);
    if (strcasecmp(rtype, "disposition-notification") != 0 || !boundary[0])
        goto out;
    /* the message/disposition-notification part */
    rc = MG_EPARSE;
    char delim[140];
    int dl = snprintf(delim, sizeof delim, "\n--%s", boundary);
    const char *body = msg + h->body_off, *end = msg + len, *fields = NULL;
    size_t flen = 0;
    for (const char *p = body - 1; p && p < end;) {
        const char *hit = NULL;
        for (const char *q = p; q + dl <= end; q++)
            if (!memcmp(q, delim, (size_t)dl)) {
                hit = q;
                break;
            }
        if (!hit)
            break;
        const char *part = memchr(hit + 1, '\n', (size_t)(end - hit - 1));
        if (!part)
            break;
        part++;
        const char *next = NULL;
        for (const char *q = part - 1; q + dl <= end; q++)
            if (!memcmp(q, delim, (size_t)dl)) {
                next = q;
                break;
            }
        struct mixer_hdrs *ph = malloc(sizeof *ph);
        if (!ph) {
            rc = MG_ENOMEM;
            goto out;
        }
        /* the search starts at the part's own line end (an empty part: "--b\n--b"), so the
         * next delimiter may begin before the part does: then the part is empty */
        size_t plen = next && next < part ? 0 : (size_t)((next ? next : end) - part);
        if (mixer_hdr_parse(part, plen, ph) == 0) {
            struct mixer_field *pct = mixer_hdr_find(ph, "Content-Type");
            if (pct && type_is(pct->value, "message/disposition-notification")) {
                fields = part + ph->body_off;
                flen = plen - ph->body_off;
            }
            mixer_hdr_free(ph);
        }
        free(ph);
        if (fields || !next)
            break;
        p = next;
    }
    if (!fields || mixer_hdr_parse(fields, flen, d) != 0) {
        WHY("MDN without a readable message/disposition-notification part");
        goto out;
    }
    dparsed = true;
    struct mixer_field *omid = mixer_hdr_find(d, "Original-Message-ID");
    struct mixer_field *disp = mixer_hdr_find(d, "Disposition");
    struct mixer_field *rcpt = mixer_hdr_find(d, "Original-Recipient");
    struct mixer_field *fin = mixer_hdr_find(d, "Final-Recipient");
    struct mixer_field *from = mixer_hdr_find(h, "From");
    struct mixer_field *date = mixer_hdr_find(h, "Date");
    char ids[1][MIXER_HDR_ADDR_MAX], utc[32];
    size_t n = 0;
    if (!omid || mixer_hdr_msgids(omid->value, ids, 1, &n) != 0 || n != 1 || !disp || !date ||
        mixer_hdr_date_to_utc(date->value, utc, sizeof utc) != 0) {
        WHY("MDN without Original-Message-ID, Disposition or Date: no IPN can name its IPM");
        goto out;
    }
    /* Disposition: action-mode "/" sending-mode ";" type [ "/" modifier ] */
    const char *semi = strchr(disp->value, ';');
    if (!semi) {
        WHY("MDN Disposition has no type");
        goto out;
    }
    bool automatic = !strncasecmp(disp->value, "automatic-action", 16);
    const char *type = semi + 1;
    while (*type == ' ' || *type == '\t')
        type++;
    bool receipt = !strncasecmp(type, "displayed", 9) || !strncasecmp(type, "processed", 9);
    bool forwarded = !strncasecmp(type, "dispatched", 10);
    memset(mb, 0, 2 * sizeof *mb);
    if (from) {
        size_t k = 0;
        if (mixer_hdr_addrs(from->value, mb, 1, &k) != 0 || k != 1) {
            WHY("MDN From cannot be read");
            goto out;
        }
    }
    char ra[MIXER_HDR_ADDR_MAX] = "";
    bool have_rcpt = (rcpt && typed_addr(rcpt->value, ra, sizeof ra)) ||
                     (fin && typed_addr(fin->value, ra, sizeof ra));
    if (have_rcpt)
        snprintf(mb[1].addr, sizeof mb[1].addr, "%s", ra);

    bool cut;
    mixer_ber_open(w, MIXER_BER_CTX, 1); /* InformationObject ipn [1] IPN (SET) */
    mixer_ber_open(w, MIXER_BER_APP, 11);
    mixer_r2x_ipmid(w, ids[0], &cut);
    mixer_ber_close(w);
    mixer_ber_open(w, MIXER_BER_CTX, 0); /* choice [0] IPNChoice */
    if (receipt) {
        mixer_ber_open(w, MIXER_BER_CTX, 1);
        mixer_ber_str(w, MIXER_BER_CTX, 0, utc);
        if (automatic)
            mixer_ber_int(w, MIXER_BER_CTX, 1, 1);
        mixer_ber_close(w);
    } else {
        mixer_ber_open(w, MIXER_BER_CTX, 0);
        mixer_ber_int(w, MIXER_BER_CTX, 0, forwarded ? 1 : 0);
        mixer_ber_close(w);
    }
    mixer_ber_close(w);
    rc = 0;
    if (from && mb[0].addr[0])
        rc = mixer_r2x_ordesc(gw, w, MIXER_BER_CTX, 1, &mb[0], false, why, whysize);
    if (!rc && have_rcpt)
        rc = mixer_r2x_ordesc(gw, w, MIXER_BER_CTX, 2, &mb[1], false, why, whysize);
    mixer_ber_close(w);
out:
    if (hparsed)
        mixer_hdr_free(h);
    if (dparsed)
        mixer_hdr_free(d);
    free(h);
    free(d);
    free(mb);
    return rc;
}
