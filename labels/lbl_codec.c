/* lbl_codec: format detection and dispatch to the individual codecs (lbl_codec.h). */
#define _GNU_SOURCE /* memmem */
#include "lbl_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lbl_marking.h"
#include "lbl_xml.h"
#include "mg_err.h"
#ifdef MG_LABELS_HAVE_BER
#include "lbl_ber.h"
#include "lbl_header.h"
#endif

static const struct {
    const char *name;
    enum lbl_format f;
} fmts[] = {
    { "auto", LBL_FMT_AUTO }, { "xml", LBL_FMT_XML },     { "nato", LBL_FMT_NATO },
    { "ess", LBL_FMT_ESS },   { "x411", LBL_FMT_X411 },   { "x-x411", LBL_FMT_XX411 },
    { "sio", LBL_FMT_SIO },   { "marking", LBL_FMT_MARKING },
};

int lbl_format_parse(const char *name, enum lbl_format *out)
{
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
        if (!strcasecmp(fmts[i].name, name)) {
            *out = fmts[i].f;
            return 0;
        }
    return MG_EINVAL;
}

const char *lbl_format_name(enum lbl_format f)
{
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
        if (fmts[i].f == f)
            return fmts[i].name;
    return "unknown";
}

static const char *skip_ws(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++;
    return s;
}

enum lbl_format lbl_format_detect(const void *data, size_t len)
{
    const char *s = data, *end = s + len;
    if (!len)
        return LBL_FMT_AUTO;
    /* A BER label or clearance is a SET (0x31) or SEQUENCE (0x30) with a length byte. */
    if ((unsigned char)s[0] == 0x31 || (unsigned char)s[0] == 0x30)
        return LBL_FMT_ESS;
    s = skip_ws(s, end);
    if (s < end && *s == '<') {
        if (memmem(s, (size_t)(end - s), "stanag:4774", 11))
            return LBL_FMT_NATO;
        return LBL_FMT_XML;
    }
    if ((size_t)(end - s) >= 10 && !strncasecmp(s, "SIO-Label:", 10))
        return LBL_FMT_SIO;
    if ((size_t)(end - s) >= 7 && !strncasecmp(s, "X-X411:", 7))
        return LBL_FMT_XX411;
    return LBL_FMT_MARKING;
}

int lbl_decode(const void *data, size_t len, enum lbl_format fmt, const struct lbl_policy_set *set,
               struct lbl_label *out, struct lbl_err *err)
{
    lbl_label_free(out);
    if (!len) {
        lbl_err_set(err, "No data to parse");
        return MG_EPARSE;
    }
    if (fmt == LBL_FMT_AUTO)
        fmt = lbl_format_detect(data, len);
    switch (fmt) {
    case LBL_FMT_XML:
    case LBL_FMT_NATO:
        return lbl_xml_parse_label(data, len, set, out, err);
    case LBL_FMT_MARKING: {
        /* Tried under each loaded SPIF in turn; the first whose marking it is wins. */
        if (!lbl_policy_set_count(set)) {
            lbl_err_set(err, "a display marking needs a SPIF to be parsed");
            return MG_EINVAL;
        }
        char *text = malloc(len + 1);
        if (!text)
            return MG_ENOMEM;
        memcpy(text, data, len);
        text[len] = 0;
        if (strlen(text) != len) {
            free(text);
            lbl_err_set(err, "marking text contains NUL bytes");
            return MG_EPARSE;
        }
        int rc = MG_EPARSE;
        for (size_t i = 0; i < lbl_policy_set_count(set) && rc; i++)
            /* the set's default expression, compiled once (lbl_policy_set_marking_re) */
            rc = lbl_marking_parse_re(lbl_policy_set_get(set, i), text, lbl_policy_set_marking_re(set),
                                      "", LBL_LOC_PAGEBOTTOM, out, i ? NULL : err);
        free(text);
        return rc;
    }
#ifdef MG_LABELS_HAVE_BER
    case LBL_FMT_ESS: {
        /* A label without a policy is not an ESS label; X.411 accepts it. */
        int rc = lbl_ess_decode(data, len, out, err);
        if (rc && lbl_x411_decode(data, len, out, NULL) == 0)
            return 0;
        return rc;
    }
    case LBL_FMT_X411:
        return lbl_x411_decode(data, len, out, err);
    case LBL_FMT_XX411:
        return lbl_xx411_decode(data, len, out, err);
    case LBL_FMT_SIO:
        return lbl_sio_decode(data, len, set, out, err);
#else
    case LBL_FMT_ESS:
    case LBL_FMT_X411:
    case LBL_FMT_XX411:
    case LBL_FMT_SIO:
        lbl_err_set(err, "%s labels need the asn1 component, absent from this build", lbl_format_name(fmt));
        return MG_ENOTSUP;
#endif
    default:
        lbl_err_set(err, "unknown label format");
        return MG_EINVAL;
    }
}

int lbl_encode(const struct lbl_label *l, enum lbl_format fmt, const struct lbl_policy *p, char **out, size_t *len,
               struct lbl_err *err)
{
    int rc;
    *out = NULL;
    switch (fmt) {
    case LBL_FMT_AUTO:
    case LBL_FMT_XML:
        rc = lbl_xml_write_label(l, out);
        if (rc == MG_ENOTSUP)
            lbl_err_set(err, "Surevine XML cannot carry security category type %s", l->raw[0].type);
        else if (rc == MG_EINVAL && !lbl_oid_valid(l->policy))
            lbl_err_set(err, "Surevine XML needs the label's policy OID");
        else if (rc == MG_EINVAL)
            lbl_err_set(err, "%s", LBL_XML_MARK_UNFIT);
        break;
    case LBL_FMT_NATO:
        if (!p) {
            lbl_err_set(err, "ADatP-4774 XML needs the label's SPIF");
            return MG_EINVAL;
        }
        rc = lbl_nato_write_label(p, l, out, err);
        break;
    case LBL_FMT_MARKING:
        if (!p) {
            lbl_err_set(err, "a display marking needs the label's SPIF");
            return MG_EINVAL;
        }
        rc = lbl_marking(p, l, "", LBL_LOC_PAGEBOTTOM, out, err);
        break;
#ifdef MG_LABELS_HAVE_BER
    case LBL_FMT_ESS:
    case LBL_FMT_X411: {
        unsigned char *der = NULL;
        size_t n = 0;
        rc = fmt == LBL_FMT_ESS ? lbl_ess_encode(l, p, &der, &n, err) : lbl_x411_encode(l, p, &der, &n, err);
        if (!rc) {
            *out = (char *)der;
            if (len)
                *len = n;
        }
        return rc;
    }
    case LBL_FMT_XX411:
        rc = lbl_xx411_encode(l, p, out, err);
        break;
    case LBL_FMT_SIO:
        rc = lbl_sio_encode(l, p, out, err);
        break;
#else
    case LBL_FMT_ESS:
    case LBL_FMT_X411:
    case LBL_FMT_XX411:
    case LBL_FMT_SIO:
        lbl_err_set(err, "%s labels need the asn1 component, absent from this build", lbl_format_name(fmt));
        return MG_ENOTSUP;
#endif
    default:
        lbl_err_set(err, "unknown label format");
        return MG_EINVAL;
    }
    if (!rc && len && *out)
        *len = strlen(*out);
    return rc;
}

int lbl_decode_clearance(const void *data, size_t len, const struct lbl_policy_set *set, struct lbl_clearance *out,
                         struct lbl_err *err)
{
    lbl_clearance_free(out);
    if (!len) {
        lbl_err_set(err, "No data to parse");
        return MG_EPARSE;
    }
    enum lbl_format f = lbl_format_detect(data, len);
    if (f == LBL_FMT_XML || f == LBL_FMT_NATO)
        return lbl_xml_parse_clearance(data, len, set, out, err);
#ifdef MG_LABELS_HAVE_BER
    if (f == LBL_FMT_ESS)
        return lbl_clearance_ber_decode(data, len, out, err);
#endif
    lbl_err_set(err, "clearance is neither XML nor BER");
    return MG_EPARSE;
}

const struct lbl_policy *lbl_policy_of(const struct lbl_policy_set *set, const struct lbl_label *l,
                                       struct lbl_err *err)
{
    const struct lbl_policy *p = lbl_policy_set_find(set, l->policy);
    if (!p)
        lbl_err_set(err, "Unknown policy id: %s", l->policy[0] ? l->policy : "(none)");
    return p;
}
