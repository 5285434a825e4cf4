/* lbl_xml: Surevine and ADatP-4774 XML labels and clearances (lbl_xml.h), parsed with libxml2
 * (no network, no DTD loading) and written as plain text with escaping. */
#include "lbl_xml.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "lbl_spif_int.h"
#include "mg_buf.h"
#include "mg_err.h"

static xmlDocPtr parse(const void *data, size_t len, struct lbl_err *err)
{
    if (!len) {
        lbl_err_set(err, "No data to parse");
        return NULL;
    }
    if (len > LBL_XML_MAX_BYTES) {
        lbl_err_set(err, "XML label larger than %d bytes", LBL_XML_MAX_BYTES);
        return NULL;
    }
    xmlInitParser();
    lbl_xml_quiet();
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        lbl_err_set(err, "out of memory");
        return NULL;
    }
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, data, (int)len, "label", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        lbl_err_set(err, "line %d: not well-formed XML: %s", e ? e->line : 0,
                    e && e->message ? e->message : "parse error");
        size_t n = strlen(err ? err->msg : "");
        while (err && n && err->msg[n - 1] == '\n')
            err->msg[--n] = 0;
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    return doc;
}

/* libxml2 reports encoding and I/O errors of its input (a label's or a SPIF's bytes) through
 * its generic error channel, which writes them to stderr: outside bytes would put raw lines
 * into the daemon's log. The parser's own errors come back through the context (NOERROR; the
 * SPIF reader's serror) and are reported with the failure; these are dropped. The channel is
 * per thread in libxml2 (pool threads parse labels), so every parse sets it. */
static void xml_quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

void lbl_xml_quiet(void)
{
    xmlSetGenericErrorFunc(NULL, xml_quiet);
}

static int in_ns(const xmlNode *n, const char *ns)
{
    return n->ns && n->ns->href && !strcmp((const char *)n->ns->href, ns);
}

static int is(const xmlNode *n, const char *local, const char *ns)
{
    return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, local) && in_ns(n, ns);
}

static const char *attr(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (!a->ns && !strcmp((const char *)a->name, name))
            return a->children && a->children->content ? (const char *)a->children->content : "";
    return NULL;
}

/* Trimmed element text into buf. */
static const char *text(const xmlNode *n, char *buf, size_t bufsz)
{
    xmlChar *c = xmlNodeGetContent(n);
    const char *s = c ? (const char *)c : "";
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    if (len >= bufsz)
        len = bufsz - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
    xmlFree(c);
    return buf;
}

static int line_of(const xmlNode *n)
{
    return n ? (int)xmlGetLineNo(n) : 0;
}

/* ---- Surevine XML ---------------------------------------------------------------------------- */

static int spiffy_cat(const xmlNode *t, char *tagset, enum lbl_tag_type *type, unsigned long *lacv,
                      struct lbl_err *err)
{
    const char *ty = attr(t, "type"), *id = attr(t, "id"), *lv = attr(t, "lacv");
    if (!ty || lbl_tag_type_parse(ty, type)) {
        lbl_err_set(err, "line %d: tag without a known type", line_of(t));
        return MG_EPARSE;
    }
    if (!id || !lbl_oid_valid(id)) {
        lbl_err_set(err, "line %d: tag without a tag set id OID", line_of(t));
        return MG_EPARSE;
    }
    if (!lv || lbl_parse_lacv(lv, lacv)) {
        lbl_err_set(err, "line %d: tag without a valid lacv", line_of(t));
        return MG_EPARSE;
    }
    snprintf(tagset, LBL_OID_MAX, "%s", id);
    return 0;
}

static int spiffy_policy(const xmlNode *root, char *policy, struct lbl_err *err)
{
    for (const xmlNode *c = root->children; c; c = c->next)
        if (is(c, "policy", LBL_NS_SPIFFY)) {
            const char *id = attr(c, "id");
            if (!id || !lbl_oid_valid(id)) {
                lbl_err_set(err, "line %d: policy without a valid id OID", line_of(c));
                return MG_EPARSE;
            }
            snprintf(policy, LBL_OID_MAX, "%s", id);
            return 0;
        }
    lbl_err_set(err, "No policy in label");
    return MG_EPARSE;
}

static int spiffy_label(const xmlNode *root, struct lbl_label *out, struct lbl_err *err)
{
    int rc = spiffy_policy(root, out->policy, err);
    if (rc)
        return rc;
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (is(c, "classification", LBL_NS_SPIFFY) && !out->has_class) {
            const char *lv = attr(c, "lacv");
            if (!lv || lbl_parse_lacv(lv, &out->class_lacv)) {
                lbl_err_set(err, "line %d: classification without a valid lacv", line_of(c));
                return MG_EPARSE;
            }
            out->has_class = 1;
        } else if (is(c, "privacyMark", LBL_NS_SPIFFY)) {
            char buf[256];
            if ((rc = lbl_label_set_privacy(out, text(c, buf, sizeof buf))))
                return rc;
        } else if (is(c, "tag", LBL_NS_SPIFFY)) {
            char ts[LBL_OID_MAX];
            enum lbl_tag_type ty;
            unsigned long lacv;
            if ((rc = spiffy_cat(c, ts, &ty, &lacv, err)) || (rc = lbl_label_add_cat(out, ts, ty, lacv)))
                return rc;
        }
    }
    return 0;
}

static int spiffy_clearance(const xmlNode *root, struct lbl_clearance *out, struct lbl_err *err)
{
    int rc = spiffy_policy(root, out->policy, err);
    if (rc)
        return rc;
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (is(c, "classification", LBL_NS_SPIFFY)) {
            unsigned long lacv;
            const char *lv = attr(c, "lacv");
            if (!lv || lbl_parse_lacv(lv, &lacv)) {
                lbl_err_set(err, "line %d: classification without a valid lacv", line_of(c));
                return MG_EPARSE;
            }
            if ((rc = lbl_clearance_add_class(out, lacv)))
                return rc;
        } else if (is(c, "tag", LBL_NS_SPIFFY)) {
            char ts[LBL_OID_MAX];
            enum lbl_tag_type ty;
            unsigned long lacv;
            if ((rc = spiffy_cat(c, ts, &ty, &lacv, err)) || (rc = lbl_clearance_add_cat(out, ts, ty, lacv)))
                return rc;
        }
    }
    return 0;
}

/* ---- ADatP-4774 ------------------------------------------------------------------------------ */

static const struct lbl_policy *nato_policy(const xmlNode *pi, const struct lbl_policy_set *set, char *oid,
                                            struct lbl_err *err)
{
    char name[256];
    text(pi, name, sizeof name);
    const char *uri = attr(pi, "URI");
    if (!uri)
        uri = attr(pi, "URL");
    const struct lbl_policy *p = NULL;
    if (uri && !strncmp(uri, "urn:oid:", 8)) {
        p = lbl_policy_set_find(set, uri + 8);
        if (!p) {
            lbl_err_set(err, "Unknown policy id: %s", uri + 8);
            return NULL;
        }
    } else {
        p = lbl_policy_set_find_name(set, name);
        if (!p) {
            lbl_err_set(err, "line %d: Unknown policy name: %s", line_of(pi), name);
            return NULL;
        }
    }
    snprintf(oid, LBL_OID_MAX, "%s", p->oid);
    return p;
}

static int nato_type_ok(const char *ty, enum lbl_tag_type t)
{
    if (!strcmp(ty, "PERMISSIVE"))
        return t == LBL_TAG_PERMISSIVE || t == LBL_TAG_ENUM_PERMISSIVE;
    if (!strcmp(ty, "RESTRICTIVE"))
        return t == LBL_TAG_RESTRICTIVE || t == LBL_TAG_ENUM_RESTRICTIVE;
    if (!strcmp(ty, "INFORMATIVE"))
        return t == LBL_TAG_INFORMATIVE;
    return 0;
}

/* One <Category TagName Type><GenericValue>NAME</GenericValue>...: each value by name. */
typedef int (*add_cat_fn)(void *obj, const char *tagset, enum lbl_tag_type type, unsigned long lacv);

static int nato_category(const struct lbl_policy *p, const xmlNode *cat, add_cat_fn add, void *obj,
                         struct lbl_err *err)
{
    const char *tn = attr(cat, "TagName"), *ty = attr(cat, "Type");
    if (!tn || !ty) {
        lbl_err_set(err, "line %d: Category needs TagName and Type", line_of(cat));
        return MG_EPARSE;
    }
    for (const xmlNode *v = cat->children; v; v = v->next) {
        if (v->type != XML_ELEMENT_NODE || strcmp((const char *)v->name, "GenericValue"))
            continue;
        char val[256];
        text(v, val, sizeof val);
        int found = -1;
        for (size_t t = 0; t < p->ntags && found < 0; t++) {
            const struct lbl_tag *tag = &p->tags[t];
            if (!nato_type_ok(ty, tag->type) ||
                (strcmp(p->tagsets[tag->tagset].name, tn) && strcmp(tag->name, tn)))
                continue;
            for (uint32_t o = tag->first; o < tag->first + tag->count; o++)
                if (!strcmp(p->cats[o].name, val)) {
                    found = (int)o;
                    break;
                }
        }
        if (found < 0) {
            lbl_err_set(err, "line %d: %s category \"%s\" of %s is not defined by policy %s", line_of(v), ty, val,
                        tn, p->name);
            return MG_ENOTFOUND;
        }
        const struct lbl_category *c = &p->cats[found];
        int rc = add(obj, p->tagsets[c->tagset].oid, p->tags[c->tag].type, c->lacv);
        if (rc)
            return rc;
    }
    return 0;
}

static int add_label_cat(void *obj, const char *ts, enum lbl_tag_type t, unsigned long lacv)
{
    return lbl_label_add_cat(obj, ts, t, lacv);
}

static int add_clear_cat(void *obj, const char *ts, enum lbl_tag_type t, unsigned long lacv)
{
    return lbl_clearance_add_cat(obj, ts, t, lacv);
}

static int nato_class(const struct lbl_policy *p, const xmlNode *n, unsigned long *lacv, struct lbl_err *err)
{
    char name[256];
    text(n, name, sizeof name);
    for (size_t i = 0; i < p->nclasses; i++)
        if (!strcasecmp(p->classes[i].name, name)) {
            *lacv = p->classes[i].lacv;
            return 0;
        }
    lbl_err_set(err, "line %d: classification \"%s\" is not defined by policy %s", line_of(n), name, p->name);
    return MG_ENOTFOUND;
}

static int nato_label(const xmlNode *root, const struct lbl_policy_set *set, struct lbl_label *out,
                      struct lbl_err *err)
{
    const xmlNode *ci = NULL;
    for (const xmlNode *c = root->children; c && !ci; c = c->next)
        if (is(c, "ConfidentialityInformation", LBL_NS_4774_LABEL))
            ci = c;
    if (!ci) {
        lbl_err_set(err, "line %d: no ConfidentialityInformation", line_of(root));
        return MG_EPARSE;
    }
    const struct lbl_policy *p = NULL;
    for (const xmlNode *c = ci->children; c; c = c->next)
        if (is(c, "PolicyIdentifier", LBL_NS_4774_LABEL) && !(p = nato_policy(c, set, out->policy, err)))
            return MG_ENOTFOUND;
    if (!p) {
        lbl_err_set(err, "No policy in label");
        return MG_EPARSE;
    }
    int rc;
    for (const xmlNode *c = ci->children; c; c = c->next) {
        if (is(c, "Classification", LBL_NS_4774_LABEL)) {
            if ((rc = nato_class(p, c, &out->class_lacv, err)))
                return rc;
            out->has_class = 1;
        } else if (is(c, "PrivacyMark", LBL_NS_4774_LABEL)) {
            char buf[256];
            if ((rc = lbl_label_set_privacy(out, text(c, buf, sizeof buf))))
                return rc;
        } else if (is(c, "Category", LBL_NS_4774_LABEL) && (rc = nato_category(p, c, add_label_cat, out, err)))
            return rc;
    }
    return 0;
}

static int nato_clearance(const xmlNode *root, const struct lbl_policy_set *set, struct lbl_clearance *out,
                          struct lbl_err *err)
{
    const struct lbl_policy *p = NULL;
    for (const xmlNode *c = root->children; c; c = c->next)
        if (is(c, "PolicyIdentifier", LBL_NS_4774_LABEL) && !(p = nato_policy(c, set, out->policy, err)))
            return MG_ENOTFOUND;
    if (!p) {
        lbl_err_set(err, "No policy in clearance");
        return MG_EPARSE;
    }
    int rc;
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "ClassificationList")) {
            for (const xmlNode *k = c->children; k; k = k->next) {
                unsigned long lacv;
                if (!is(k, "Classification", LBL_NS_4774_LABEL))
                    continue;
                if ((rc = nato_class(p, k, &lacv, err)) || (rc = lbl_clearance_add_class(out, lacv)))
                    return rc;
            }
        } else if (is(c, "Category", LBL_NS_4774_LABEL) && (rc = nato_category(p, c, add_clear_cat, out, err)))
            return rc;
    }
    return 0;
}

int lbl_xml_parse_label(const void *data, size_t len, const struct lbl_policy_set *set, struct lbl_label *out,
                        struct lbl_err *err)
{
    lbl_label_free(out);
    xmlDocPtr doc = parse(data, len, err);
    if (!doc)
        return MG_EPARSE;
    const xmlNode *root = xmlDocGetRootElement(doc);
    int rc;
    if (root && is(root, "label", LBL_NS_SPIFFY))
        rc = spiffy_label(root, out, err);
    else if (root && in_ns(root, LBL_NS_4774_LABEL))
        rc = nato_label(root, set, out, err);
    else {
        lbl_err_set(err, "not a label: root <%s> in namespace %s", root ? (const char *)root->name : "",
                    root && root->ns && root->ns->href ? (const char *)root->ns->href : "(none)");
        rc = MG_EPARSE;
    }
    xmlFreeDoc(doc);
    if (rc)
        lbl_label_free(out);
    return rc;
}

int lbl_xml_parse_clearance(const void *data, size_t len, const struct lbl_policy_set *set,
                            struct lbl_clearance *out, struct lbl_err *err)
{
    lbl_clearance_free(out);
    xmlDocPtr doc = parse(data, len, err);
    if (!doc)
        return MG_EPARSE;
    const xmlNode *root = xmlDocGetRootElement(doc);
    int rc;
    if (root && is(root, "clearance", LBL_NS_SPIFFY))
        rc = spiffy_clearance(root, out, err);
    else if (root && in_ns(root, LBL_NS_4774_CLEARANCE))
        rc = nato_clearance(root, set, out, err);
    else {
        lbl_err_set(err, "not a clearance: root <%s>", root ? (const char *)root->name : "");
        rc = MG_EPARSE;
    }
    xmlFreeDoc(doc);
    if (rc)
        lbl_clearance_free(out);
    return rc;
}

/* ---- writers ---------------------------------------------------------------------------------- */

/* Length of the UTF-8 sequence at s when it is one character XML 1.0 allows (production Char:
 * #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]), else 0. Stops at
 * the NUL: a continuation byte is never NUL. */
static size_t xml_char_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
    if (c >= 0xC2 && c <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF; /* no overlong, no surrogate */
        if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
            return 0; /* U+FFFE, U+FFFF */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

int lbl_xml_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = xml_char_len(p);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

/* Text for element content or an attribute value. Tab, LF and CR go as character references:
 * raw, a parser turns CR into LF and, in an attribute, all three into spaces, so the value
 * would come back changed. A character XML 1.0 cannot carry at all is MG_EINVAL (see
 * lbl_xml_text_ok in lbl_xml.h for why it is refused, not dropped or replaced). */
static int esc(struct mg_buf *b, const char *s)
{
    if (!lbl_xml_text_ok(s))
        return MG_EINVAL;
    int rc = 0;
    for (; *s && !rc; s++) {
        switch (*s) {
        case '<': rc = mg_buf_append(b, "&lt;", 4); break;
        case '>': rc = mg_buf_append(b, "&gt;", 4); break;
        case '&': rc = mg_buf_append(b, "&amp;", 5); break;
        case '"': rc = mg_buf_append(b, "&quot;", 6); break;
        case '\'': rc = mg_buf_append(b, "&apos;", 6); break;
        case '\t': rc = mg_buf_append(b, "&#9;", 4); break;
        case '\n': rc = mg_buf_append(b, "&#10;", 5); break;
        case '\r': rc = mg_buf_append(b, "&#13;", 5); break;
        default: rc = mg_buf_append(b, s, 1);
        }
    }
    return rc;
}

static int finish(struct mg_buf *b, int rc, char **out)
{
    if (!rc)
        rc = mg_buf_append(b, "", 1);
    if (rc) {
        mg_buf_free(b);
        return rc;
    }
    *out = (char *)mg_buf_steal(b, NULL);
    return 0;
}

static int spiffy_tags(struct mg_buf *b, const struct lbl_cat *cats, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = mg_buf_appendf(b, "  <tag type=\"%s\" id=\"%s\" lacv=\"%lu\"/>\n", lbl_tag_type_name(cats[i].type),
                            cats[i].tagset, cats[i].lacv) < 0;
    return rc ? MG_ETOOBIG : 0;
}

int lbl_xml_write_label(const struct lbl_label *l, char **out)
{
    if (l->nraw)
        return MG_ENOTSUP; /* the Surevine format has no place for other category types */
    if (!lbl_oid_valid(l->policy))
        return MG_EINVAL; /* <policy id=""/> would not parse back: the format needs a policy */
    if (l->privacy_mark && !lbl_xml_text_ok(l->privacy_mark))
        return MG_EINVAL;
    struct mg_buf b;
    mg_buf_init(&b, LBL_XML_MAX_BYTES);
    int rc = mg_buf_appendf(&b, "<label xmlns=\"%s\">\n  <policy id=\"%s\"/>\n", LBL_NS_SPIFFY, l->policy);
    if (!rc && l->has_class)
        rc = mg_buf_appendf(&b, "  <classification lacv=\"%lu\"/>\n", l->class_lacv);
    if (!rc && l->privacy_mark) {
        rc = mg_buf_appendf(&b, "  <privacyMark>");
        rc = rc ? rc : esc(&b, l->privacy_mark);
        rc = rc ? rc : mg_buf_appendf(&b, "</privacyMark>\n");
    }
    if (!rc)
        rc = spiffy_tags(&b, l->cats, l->ncats);
    if (!rc)
        rc = mg_buf_appendf(&b, "</label>\n");
    return finish(&b, rc, out);
}

int lbl_xml_write_clearance(const struct lbl_clearance *c, char **out)
{
    if (!lbl_oid_valid(c->policy))
        return MG_EINVAL;
    struct mg_buf b;
    mg_buf_init(&b, LBL_XML_MAX_BYTES);
    int rc = mg_buf_appendf(&b, "<clearance xmlns=\"%s\">\n  <policy id=\"%s\"/>\n", LBL_NS_SPIFFY, c->policy);
    for (size_t i = 0; i < c->nclasses && !rc; i++)
        rc = mg_buf_appendf(&b, "  <classification lacv=\"%lu\"/>\n", c->classes[i]);
    if (!rc)
        rc = spiffy_tags(&b, c->cats, c->ncats);
    if (!rc)
        rc = mg_buf_appendf(&b, "</clearance>\n");
    return finish(&b, rc, out);
}

static const char *nato_type(enum lbl_tag_type t)
{
    switch (t) {
    case LBL_TAG_RESTRICTIVE:
    case LBL_TAG_ENUM_RESTRICTIVE: return "RESTRICTIVE";
    case LBL_TAG_PERMISSIVE:
    case LBL_TAG_ENUM_PERMISSIVE: return "PERMISSIVE";
    default: return "INFORMATIVE";
    }
}

/* Categories grouped per tag, in SPIF order. */
static int nato_cats(const struct lbl_policy *p, const struct lbl_cat *cats, size_t n, struct mg_buf *b,
                     struct lbl_err *err)
{
    uint64_t bits[LBL_WORDS];
    memset(bits, 0, sizeof bits);
    for (size_t i = 0; i < n; i++) {
        int ts = lbl_policy_tagset_by_oid(p, cats[i].tagset);
        int o = ts < 0 ? -1 : lbl_policy_cat_lookup(p, ts, cats[i].type, cats[i].lacv);
        if (o < 0) {
            lbl_err_set(err, "%s category %lu of %s is not defined by policy %s", lbl_tag_type_name(cats[i].type),
                        cats[i].lacv, cats[i].tagset, p->name);
            return MG_ENOTFOUND;
        }
        bits[o / 64] |= 1ull << (o % 64);
    }
    int rc = 0, cur = -1;
    for (uint32_t o = 0; o < p->ncats && !rc; o++) {
        if (!((bits[o / 64] >> (o % 64)) & 1))
            continue;
        const struct lbl_category *c = &p->cats[o];
        if (c->tag != cur) {
            if (cur >= 0)
                rc = mg_buf_appendf(b, "</Category>");
            rc = rc ? rc : mg_buf_appendf(b, "<Category TagName=\"");
            rc = rc ? rc : esc(b, p->tagsets[c->tagset].name);
            rc = rc ? rc : mg_buf_appendf(b, "\" Type=\"%s\">", nato_type(p->tags[c->tag].type));
            cur = c->tag;
        }
        rc = rc ? rc : mg_buf_appendf(b, "<GenericValue>");
        rc = rc ? rc : esc(b, c->name);
        rc = rc ? rc : mg_buf_appendf(b, "</GenericValue>");
    }
    if (!rc && cur >= 0)
        rc = mg_buf_appendf(b, "</Category>");
    return rc;
}

int lbl_nato_write_label(const struct lbl_policy *p, const struct lbl_label *l, char **out, struct lbl_err *err)
{
    if (l->nraw) {
        lbl_err_set(err, "ADatP-4774 XML cannot carry security category type %s", l->raw[0].type);
        return MG_ENOTSUP;
    }
    if (strcmp(l->policy, p->oid)) {
        lbl_err_set(err, "label policy %s is not policy %s", l->policy, p->oid);
        return MG_ENOTFOUND;
    }
    if (l->privacy_mark && !lbl_xml_text_ok(l->privacy_mark)) {
        lbl_err_set(err, "%s", LBL_XML_MARK_UNFIT);
        return MG_EINVAL;
    }
    const char *cn = l->has_class ? lbl_policy_class_name(p, l->class_lacv) : NULL;
    if (l->has_class && !cn) {
        lbl_err_set(err, "classification %lu is not defined by policy %s", l->class_lacv, p->name);
        return MG_ENOTFOUND;
    }
    struct mg_buf b;
    mg_buf_init(&b, LBL_XML_MAX_BYTES);
    int rc = mg_buf_appendf(&b,
                            "<originatorConfidentialityLabel xmlns=\"%s\"><ConfidentialityInformation>"
                            "<PolicyIdentifier URI=\"urn:oid:%s\">",
                            LBL_NS_4774_LABEL, p->oid);
    rc = rc ? rc : esc(&b, p->name);
    rc = rc ? rc : mg_buf_appendf(&b, "</PolicyIdentifier>");
    if (!rc && cn) {
        rc = mg_buf_appendf(&b, "<Classification>");
        rc = rc ? rc : esc(&b, cn);
        rc = rc ? rc : mg_buf_appendf(&b, "</Classification>");
    }
    if (!rc && l->privacy_mark) {
        rc = mg_buf_appendf(&b, "<PrivacyMark>");
        rc = rc ? rc : esc(&b, l->privacy_mark);
        rc = rc ? rc : mg_buf_appendf(&b, "</PrivacyMark>");
    }
    if (!rc)
        rc = nato_cats(p, l->cats, l->ncats, &b, err);
    if (!rc)
        rc = mg_buf_appendf(&b, "</ConfidentialityInformation></originatorConfidentialityLabel>\n");
    return finish(&b, rc, out);
}

int lbl_nato_write_clearance(const struct lbl_policy *p, const struct lbl_clearance *c, char **out,
                             struct lbl_err *err)
{
    struct mg_buf b;
    mg_buf_init(&b, LBL_XML_MAX_BYTES);
    int rc = mg_buf_appendf(&b, "<ConfidentialityClearance xmlns=\"%s\"><PolicyIdentifier xmlns=\"%s\" URI=\"urn:oid:%s\">",
                            LBL_NS_4774_CLEARANCE, LBL_NS_4774_LABEL, p->oid);
    rc = rc ? rc : esc(&b, p->name);
    rc = rc ? rc : mg_buf_appendf(&b, "</PolicyIdentifier><ClassificationList>");
    for (size_t i = 0; i < c->nclasses && !rc; i++) {
        const char *cn = lbl_policy_class_name(p, c->classes[i]);
        if (!cn) {
            lbl_err_set(err, "classification %lu is not defined by policy %s", c->classes[i], p->name);
            mg_buf_free(&b);
            return MG_ENOTFOUND;
        }
        rc = mg_buf_appendf(&b, "<Classification xmlns=\"%s\">", LBL_NS_4774_LABEL);
        rc = rc ? rc : esc(&b, cn);
        rc = rc ? rc : mg_buf_appendf(&b, "</Classification>");
    }
    rc = rc ? rc : mg_buf_appendf(&b, "</ClassificationList>");
    /* Category elements of a clearance are in the label namespace. */
    struct mg_buf cb;
    mg_buf_init(&cb, LBL_XML_MAX_BYTES);
    if (!rc)
        rc = nato_cats(p, c->cats, c->ncats, &cb, err);
    if (!rc && cb.len) {
        /* Put the namespace on each Category start tag. */
        const char *s = (const char *)cb.data;
        while (*s && !rc) {
            const char *q = strstr(s, "<Category ");
            if (!q) {
                rc = mg_buf_append(&b, s, strlen(s));
                break;
            }
            rc = mg_buf_append(&b, s, (size_t)(q - s));
            rc = rc ? rc : mg_buf_appendf(&b, "<Category xmlns=\"%s\" ", LBL_NS_4774_LABEL);
            s = q + strlen("<Category ");
        }
    }
    mg_buf_free(&cb);
    rc = rc ? rc : mg_buf_appendf(&b, "</ConfidentialityClearance>\n");
    return finish(&b, rc, out);
}
