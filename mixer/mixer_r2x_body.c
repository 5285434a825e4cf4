/* mixer_r2x_body: RFC 5322 + MIME -> X.420 body parts (RFC 2157): text/plain -> IA5 or
 * general text, message/rfc822 -> forwarded IPM, multipart -> the sequence of parts,
 * application/x400-bp -> the original body part, file types -> FTBP, anything else ->
 * bilaterally defined. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mg_ipm.h"
#include "mixer_ber.h"
#include "mixer_conv.h"
#include "mixer_hdr.h"
#include "mixer_orname.h"
#include "mixer_ps.h"
#include "mixer_r2x.h"

/* the first explanation wins */
#define WHY(...) (c->why && !c->why[0] ? (void)snprintf(c->why, c->whysize, __VA_ARGS__) : (void)0)

/* ---- body (RFC 2157) ---- */

struct mime {
    char type[128]; /* "text/plain", lower case */
    char charset[64];
    char boundary[128];
    char cte[32];
};

static void param(const char *v, const char *name, char *out, size_t outsize)
{
    out[0] = 0;
    for (const char *p = v; (p = strcasestr(p, name));) {
        bool start = p == v || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t';
        const char *q = p + strlen(name);
        while (*q == ' ')
            q++;
        if (!start || *q != '=') {
            p++;
            continue;
        }
        q++;
        while (*q == ' ')
            q++;
        size_t o = 0;
        if (*q == '"') {
            for (q++; *q && *q != '"' && o + 1 < outsize; q++) {
                if (*q == '\\' && q[1])
                    q++;
                out[o++] = *q;
            }
        } else {
            while (*q && *q != ';' && *q != ' ' && o + 1 < outsize)
                out[o++] = *q++;
        }
        out[o] = 0;
        return;
    }
}

static void mime_of(struct mixer_hdrs *h, struct mime *m, bool digest)
{
    struct mixer_field *ct = mixer_hdr_find(h, "Content-Type");
    struct mixer_field *te = mixer_hdr_find(h, "Content-Transfer-Encoding");
    memset(m, 0, sizeof *m);
    snprintf(m->type, sizeof m->type, "%s", digest ? "message/rfc822" : "text/plain");
    snprintf(m->charset, sizeof m->charset, "us-ascii");
    if (ct) {
        size_t l = strcspn(ct->value, "; \t");
        if (l && l < sizeof m->type && memchr(ct->value, '/', l)) {
            for (size_t i = 0; i < l; i++)
                m->type[i] = (char)tolower((unsigned char)ct->value[i]);
            m->type[l] = 0;
        }
        char cs[64];
        param(ct->value, "charset", cs, sizeof cs);
        if (cs[0]) {
            for (char *p = cs; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            snprintf(m->charset, sizeof m->charset, "%s", cs);
        }
        param(ct->value, "boundary", m->boundary, sizeof m->boundary);
    }
    if (te) {
        size_t l = strcspn(te->value, " \t;");
        for (size_t i = 0; i < l && i + 1 < sizeof m->cte; i++)
            m->cte[i] = (char)tolower((unsigned char)te->value[i]);
    }
}

static int decode_cte(const struct mime *m, const char *p, size_t n, struct mg_buf *out)
{
    if (!strcmp(m->cte, "base64"))
        return mixer_conv_b64_decode(p, n, out);
    if (!strcmp(m->cte, "quoted-printable"))
        return mixer_conv_qp_decode(p, n, out);
    return mg_buf_append(out, p, n);
}

static const struct {
    const char *cs;
    long regs[3];
} charsets[] = {
    {"us-ascii", {1, 6, 0}},      {"iso-8859-1", {1, 6, 100}}, {"iso-8859-2", {1, 6, 101}},
    {"iso-8859-3", {1, 6, 109}},  {"iso-8859-4", {1, 6, 110}}, {"iso-8859-5", {1, 6, 144}},
    {"iso-8859-6", {1, 6, 127}},  {"iso-8859-7", {1, 6, 126}}, {"iso-8859-8", {1, 6, 138}},
    {"iso-8859-9", {1, 6, 148}},  {"utf-8", {196, 0, 0}},
};

static void ext_part(struct mixer_ber *w, const char *data_oid, const char *param_oid,
                     const struct mg_buf *params, unsigned data_tag, const void *d, size_t dn)
{
    mixer_ber_open(w, MIXER_BER_CTX, 15);
    if (param_oid) {
        mixer_ber_open(w, MIXER_BER_CTX, 0);
        mixer_ber_oid(w, 0, MIXER_BER_OID, param_oid);
        mixer_ber_open(w, MIXER_BER_CTX, 0);
        mixer_ber_raw(w, params->data, params->len);
        mixer_ber_close(w);
        mixer_ber_close(w);
    }
    mixer_ber_open(w, MIXER_BER_UNIV, 8);
    mixer_ber_oid(w, 0, MIXER_BER_OID, data_oid);
    mixer_ber_open(w, MIXER_BER_CTX, 0);
    mixer_ber_prim(w, 0, data_tag, d, dn);
    mixer_ber_close(w);
    mixer_ber_close(w);
    mixer_ber_close(w);
}

/* RFC 2157: a MIME type with no X.400 equivalent becomes a file transfer body part (X.420
 * FTBP): unstructured binary (FTAM 1.0.8571.5.3), the file name (Content-Disposition or
 * Content-Type name=) as the incomplete pathname, the data octet-aligned, and the entity's
 * Content-* fields in an rfc-822-field extension of the parameters so the MIME part comes
 * back as it was. */
static int ftbp(struct mixer_ber *w, struct mixer_hdrs *h, const struct mg_buf *data)
{
    char name[256] = "";
    struct mixer_field *cd = mixer_hdr_find(h, "Content-Disposition");
    struct mixer_field *ct = mixer_hdr_find(h, "Content-Type");
    if (cd)
        param(cd->value, "filename", name, sizeof name);
    if (!name[0] && ct)
        param(ct->value, "name", name, sizeof name);
    mixer_ber_open(w, MIXER_BER_CTX, 15);
    /* parameters [0] INSTANCE OF: id-ep-file-transfer, FileTransferParameters */
    mixer_ber_open(w, MIXER_BER_CTX, 0);
    mixer_ber_oid(w, 0, MIXER_BER_OID, "2.6.1.11.12");
    mixer_ber_open(w, MIXER_BER_CTX, 0);
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    mixer_ber_open(w, MIXER_BER_CTX, 1); /* contents-type: document-type unstructured binary */
    mixer_ber_open(w, MIXER_BER_CTX, 0);
    mixer_ber_oid(w, 0, MIXER_BER_OID, "1.0.8571.5.3");
    mixer_ber_close(w);
    mixer_ber_close(w);
    if (name[0] && mixer_ps_is_printable(name, strlen(name))) {
        /* file-attributes: incomplete-pathname [0] SEQUENCE OF GraphicString */
        mixer_ber_open(w, MIXER_BER_CTX, 4);
        mixer_ber_open(w, MIXER_BER_CTX, 0);
        mixer_ber_str(w, 0, 25, name);
        mixer_ber_close(w);
        mixer_ber_close(w);
    }
    mixer_ber_open(w, MIXER_BER_CTX, 5); /* extensions: the entity's MIME fields */
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    mixer_ber_oid(w, 0, MIXER_BER_OID, MIXER_OID_RFC822_FIELD_LIST);
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    for (size_t i = 0; i < h->n; i++)
        if (!mixer_hdr_is(&h->f[i], "Content-Transfer-Encoding"))
            mixer_r2x_ia5_field(w, h->f[i].name, h->f[i].namelen, h->f[i].value);
    mixer_ber_close(w);
    mixer_ber_close(w);
    mixer_ber_close(w);
    mixer_ber_close(w); /* FileTransferParameters */
    mixer_ber_close(w);
    mixer_ber_close(w);
    /* data: id-et-file-transfer, SEQUENCE OF EXTERNAL (octet-aligned) */
    mixer_ber_open(w, MIXER_BER_UNIV, 8);
    mixer_ber_oid(w, 0, MIXER_BER_OID, "2.6.1.4.12");
    mixer_ber_open(w, MIXER_BER_CTX, 0);
    mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
    mixer_ber_open(w, MIXER_BER_UNIV, 8);
    mixer_ber_oid(w, 0, MIXER_BER_OID, "1.0.8571.2.3");
    mixer_ber_prim(w, MIXER_BER_CTX, 1, data->data, data->len);
    mixer_ber_close(w);
    mixer_ber_close(w);
    mixer_ber_close(w);
    mixer_ber_close(w);
    mixer_ber_close(w);
    return 0;
}

static int entity(struct r2x *c, struct mixer_ber *w, const char *p, size_t n, bool digest,
                  int depth);

/* The body of an entity whose headers are h, as one or more body parts. */
int mixer_r2x_body_parts(struct r2x *c, struct mixer_ber *w, struct mixer_hdrs *h, const char *p,
                    size_t n, bool digest, int depth)
{
    struct mime m;
    struct mg_buf data;
    int rc = 0;
    if (depth > MIXER_CONV_MAX_DEPTH) {
        WHY("MIME nesting deeper than %d", MIXER_CONV_MAX_DEPTH);
        return MG_ETOOBIG;
    }
    mime_of(h, &m, digest);
    const char *body = p + h->body_off;
    size_t bl = n - h->body_off;
    if (!strncmp(m.type, "multipart/", 10)) {
        if (!m.boundary[0]) {
            WHY("multipart without a boundary");
            return MG_EPARSE;
        }
        char delim[140];
        int dl = snprintf(delim, sizeof delim, "--%s", m.boundary);
        bool dig = !strcmp(m.type, "multipart/digest");
        /* walk delimiter lines */
        const char *cur = NULL;
        size_t i = 0;
        int nparts = 0;
        while (i <= bl) {
            const char *ls = body + i;
            const char *nl = memchr(ls, '\n', bl - i);
            size_t ll = nl ? (size_t)(nl - ls) : bl - i;
            if (ll >= (size_t)dl && !memcmp(ls, delim, (size_t)dl)) {
                bool last = ll >= (size_t)dl + 2 && ls[dl] == '-' && ls[dl + 1] == '-';
                if (cur) {
                    size_t pl = (size_t)(ls - cur);
                    /* the CRLF before the delimiter belongs to it */
                    if (pl && cur[pl - 1] == '\n')
                        pl--;
                    if (pl && cur[pl - 1] == '\r')
                        pl--;
                    if ((rc = entity(c, w, cur, pl, dig, depth + 1)))
                        return rc;
                    nparts++;
                }
                if (last)
                    return nparts ? 0 : (WHY("empty multipart"), MG_EPARSE);
                cur = nl ? nl + 1 : body + bl;
            }
            if (!nl)
                break;
            i += ll + 1;
        }
        WHY("multipart without its closing delimiter");
        return MG_EPARSE;
    }
    mg_buf_init(&data, MIXER_CONV_MAX_OUT);
    if ((rc = decode_cte(&m, body, bl, &data))) {
        WHY("body cannot be decoded (%s)", m.cte);
        mg_buf_free(&data);
        return rc;
    }
    if (!strcmp(m.type, "message/rfc822")) {
        /* forwarded message: [9] { parameters SET {}, data IPM } */
        mixer_ber_open(w, MIXER_BER_CTX, 9);
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
        mixer_ber_close(w);
        /* an empty forwarded message decodes to no buffer at all: "" keeps the pointer
         * arithmetic below defined (found by fuzz_mixer_to_x400, UBSan) */
        rc = mixer_r2x_ipm(c, w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE,
                           data.data ? (const char *)data.data : "", data.len, depth + 1);
        mixer_ber_close(w);
    } else if (!strcmp(m.type, "text/plain") && !strcmp(m.charset, "t.61-8bit")) {
        /* teletex body part: [5] { parameters SET {}, data SEQUENCE OF TeletexString },
         * one string per form-feed separated page */
        long npages = 1;
        for (size_t i = 0; i < data.len; i++)
            npages += data.data[i] == '\f';
        mixer_ber_open(w, MIXER_BER_CTX, 5);
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
        mixer_ber_int(w, MIXER_BER_CTX, 0, npages); /* number-of-pages */
        mixer_ber_close(w);
        mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SEQUENCE);
        size_t st = 0;
        for (size_t i = 0; i <= data.len; i++)
            if (i == data.len || data.data[i] == '\f') {
                mixer_ber_prim(w, 0, MIXER_BER_TELETEXSTRING, data.data + st, i - st);
                st = i + 1;
            }
        mixer_ber_close(w);
        mixer_ber_close(w);
    } else if (!strcmp(m.type, "text/plain")) {
        bool seven = true;
        for (size_t i = 0; i < data.len; i++)
            if (data.data[i] >= 128 || data.data[i] == 0)
                seven = false;
        size_t k;
        for (k = 0; k < sizeof charsets / sizeof charsets[0]; k++)
            if (!strcmp(charsets[k].cs, m.charset))
                break;
        if (seven && (k == 0 || k == sizeof charsets / sizeof charsets[0] ||
                      strcmp(m.charset, "utf-8") != 0)) {
            /* IA5 text: [0] { parameters SET {}, data IA5String } */
            mixer_ber_open(w, MIXER_BER_CTX, 0);
            mixer_ber_open(w, MIXER_BER_UNIV, MIXER_BER_SET);
            mixer_ber_close(w);
            mixer_ber_prim(w, 0, MIXER_BER_IA5STRING, data.data, data.len);
            mixer_ber_close(w);
        } else if (k < sizeof charsets / sizeof charsets[0]) {
            struct mg_buf params;
            struct mixer_ber pw;
            mg_buf_init(&params, 0);
            mixer_ber_init(&pw, &params);
            mixer_ber_open(&pw, MIXER_BER_UNIV, MIXER_BER_SET);
            for (int r = 0; r < 3 && charsets[k].regs[r]; r++)
                mixer_ber_int(&pw, 0, MIXER_BER_INTEGER, charsets[k].regs[r]);
            mixer_ber_close(&pw);
            ext_part(w, "2.6.1.4.11", "2.6.1.11.11", &params, MIXER_BER_GENERALSTRING,
                     data.data, data.len);
            mg_buf_free(&params);
        } else {
            goto bilateral;
        }
    } else if (!strcmp(m.type, "application/x400-bp")) {
        /* a body part that came from X.400: put it back as it was */
        struct mixer_tlv t;
        if (mixer_ber_read(data.data, data.len, &t) != 0 || t.size != data.len) {
            WHY("application/x400-bp does not hold one BER body part");
            rc = MG_EPARSE;
        } else {
            mixer_ber_raw(w, data.data, data.len);
        }
    } else if (!strcmp(m.type, "application/octet-stream")) {
        mixer_ber_prim(w, MIXER_BER_CTX, 14, data.data, data.len);
    } else if (m.type[0]) {
        rc = ftbp(w, h, &data);
    } else {
    bilateral:
        /* text in a charset with no ISO-IR registration here: the whole MIME entity travels
         * as bilaterally defined so nothing is lost */
        mixer_ber_prim(w, MIXER_BER_CTX, 14, p, n);
    }
    mg_buf_free(&data);
    return rc;
}

static int entity(struct r2x *c, struct mixer_ber *w, const char *p, size_t n, bool digest,
                  int depth)
{
    struct mixer_hdrs *h = malloc(sizeof *h);
    if (!h)
        return MG_ENOMEM;
    int rc = mixer_hdr_parse(p, n, h);
    if (rc) {
        WHY("MIME part headers cannot be read");
        free(h);
        return rc;
    }
    rc = mixer_r2x_body_parts(c, w, h, p, n, digest, depth);
    mixer_hdr_free(h);
    free(h);
    return rc;
}
