/* mixer_conv: the parts of the content conversion both directions share: content type names
 * and detection, the precedence an RFC 5322 message states, base64 and quoted-printable. The
 * conversions themselves are mixer_x2r.c (X.400 -> RFC 5322) and mixer_r2x.c (the reverse). */
#include "mixer_conv.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mg_ipm.h"
#include "mixer_hdr.h"

#include "IPN.h"
#include "NotificationExtensionsField.h"

static const char *const prec_names[] = {"deferred", "routine", "priority",
                                         "immediate", "flash", "override"};

const char *mixer_content_oid(enum mixer_content ct)
{
    return ct == MIXER_CONTENT_P772 ? "1.3.26.0.4406.0.4.1"
           : ct == MIXER_CONTENT_P2 ? "2.6.1.10.0"
                                    : "2.6.1.10.1";
}

/* ---- base64 / quoted-printable ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int mixer_conv_b64_encode(const void *vp, size_t n, struct mg_buf *out)
{
    const uint8_t *p = vp;
    char line[80];
    size_t l = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        line[l++] = b64[(v >> 18) & 63];
        line[l++] = b64[(v >> 12) & 63];
        line[l++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        line[l++] = i + 2 < n ? b64[v & 63] : '=';
        if (l >= 76 || i + 3 >= n) {
            line[l++] = '\r';
            line[l++] = '\n';
            if (mg_buf_append(out, line, l))
                return MG_ETOOBIG;
            l = 0;
        }
    }
    return 0;
}

int mixer_conv_b64_decode(const char *s, size_t n, struct mg_buf *out)
{
    uint32_t v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = s[i] ? strchr(b64, s[i]) : NULL;
        if (s[i] == '=')
            break;
        if (!k) {
            if (s[i] == '\r' || s[i] == '\n' || s[i] == ' ' || s[i] == '\t')
                continue;
            return MG_EPARSE;
        }
        v = (v << 6) | (uint32_t)(k - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            uint8_t b = (uint8_t)(v >> bits);
            if (mg_buf_append(out, &b, 1))
                return MG_ETOOBIG;
        }
    }
    return 0;
}

int mixer_conv_qp_decode(const char *s, size_t n, struct mg_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)s[i];
        if (s[i] == '=') {
            if (i + 1 < n && (s[i + 1] == '\r' || s[i + 1] == '\n')) {
                i++;
                if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
                    i++;
                continue; /* soft line break */
            }
            if (i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
                isxdigit((unsigned char)s[i + 2])) {
                char hx[3] = {s[i + 1], s[i + 2], 0};
                b = (uint8_t)strtol(hx, NULL, 16);
                i += 2;
            }
        }
        if (mg_buf_append(out, &b, 1))
            return MG_ETOOBIG;
    }
    return 0;
}

int mixer_conv_content_kind(const void *ber, size_t len, enum mixer_content *out)
{
    InformationObject_t *io = NULL;
    struct mg_ipm_error err;
    *out = MIXER_CONTENT_P22;
    int rc = mg_ipm_decode_info(ber, len, &io, &err);
    if (rc)
        return rc;
    /* the heading's extensions (an IPN's notification extensions have the same shape) */
    IPMSExtension_t **arr = NULL;
    int count = mg_ipm_info_extensions(io, &arr);
    for (int i = 0; i < count; i++) {
        char oid[128];
        if (mg_ipm_oid_str(&arr[i]->type, oid, sizeof oid) == 0 &&
            !strncmp(oid, "1.3.26.0.4406.", 14))
            *out = MIXER_CONTENT_P772;
    }
    mg_ipm_free_info(io);
    return 0;
}

int mixer_conv_precedence(const void *msg, size_t len)
{
    struct mixer_hdrs *h = malloc(sizeof *h);
    int p = -1;
    if (!h)
        return -1;
    if (mixer_hdr_parse(msg, len, h) == 0) {
        struct mixer_field *f = mixer_hdr_find(h, "MMHS-Primary-Precedence");
        char t[32];
        if (f && sscanf(f->value, " %31[A-Za-z0-9]", t) == 1) {
            for (int k = 0; k < 6; k++)
                if (!strcasecmp(t, prec_names[k]))
                    p = k;
            if (p < 0 && isdigit((unsigned char)t[0]) && strlen(t) <= 2) {
                p = atoi(t);
                if (p > 31)
                    p = -1;
            }
        }
        mixer_hdr_free(h);
    }
    free(h);
    return p;
}
