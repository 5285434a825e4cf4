/* lbl_spif_load: libxml2's part of loading a SPIF (see lbl_spif_int.h): the bytes parsed into
 * a document with no network and no error printing, optionally validated against the SPIF
 * schema, and the first error of either kept with its line for the operator. Split from
 * lbl_spif.c, which walks and compiles the document. */
#include "lbl_spif_int.h"

#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "mg_err.h"

struct xml_errs {
    char msg[300];
    int line;
    int have;
};

static void keep_first_error(struct xml_errs *e, const xmlError *x)
{
    if (e->have || !x || x->level < XML_ERR_ERROR)
        return;
    e->have = 1;
    e->line = x->line;
    snprintf(e->msg, sizeof e->msg, "%s", x->message ? x->message : "XML error");
    size_t n = strlen(e->msg);
    while (n && (e->msg[n - 1] == '\n' || e->msg[n - 1] == ' '))
        e->msg[--n] = 0;
}

static void parser_serror(void *data, xmlErrorPtr x)
{
    xmlParserCtxtPtr ctxt = data;
    keep_first_error(ctxt->_private, x);
}

static void schema_serror(void *data, xmlErrorPtr x)
{
    keep_first_error(data, x);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int lbl_spif_load_xml(const void *data, size_t len, const char *name,
                      const struct lbl_load_opts *opts, xmlDocPtr *out, struct lbl_err *err)
{
    *out = NULL;
    xmlInitParser();
    lbl_xml_quiet();
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        lbl_err_set(err, "%s: out of memory", name);
        return MG_ENOMEM;
    }
    struct xml_errs xe = { .have = 0 };
    ctxt->_private = &xe;
    ctxt->sax->serror = parser_serror;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;
    /* NONET: a SPIF never pulls anything from the network; no entity expansion beyond XML's own. */
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, data, (int)len, base_name(name), NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    int wf = ctxt->wellFormed;
    xmlFreeParserCtxt(ctxt);
    if (!doc || !wf) {
        if (xe.have)
            lbl_err_set(err, "%s:%d: not well-formed XML: %s", name, xe.line, xe.msg);
        else
            lbl_err_set(err, "%s: not well-formed XML", name);
        xmlFreeDoc(doc);
        return MG_EPARSE;
    }
    if (opts && opts->xsd_path) {
        struct xml_errs se = { .have = 0 };
        xmlSchemaParserCtxtPtr sp = xmlSchemaNewParserCtxt(opts->xsd_path);
        xmlSchemaPtr schema = NULL;
        if (sp) {
            xmlSchemaSetParserStructuredErrors(sp, schema_serror, &se);
            schema = xmlSchemaParse(sp);
            xmlSchemaFreeParserCtxt(sp);
        }
        if (!schema) {
            lbl_err_set(err, "%s: cannot load schema: %s", opts->xsd_path, se.have ? se.msg : "unreadable");
            xmlFreeDoc(doc);
            return MG_ECONFIG;
        }
        xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
        int rc = -1;
        if (vc) {
            xmlSchemaSetValidStructuredErrors(vc, schema_serror, &se);
            rc = xmlSchemaValidateDoc(vc, doc);
            xmlSchemaFreeValidCtxt(vc);
        }
        xmlSchemaFree(schema);
        if (rc != 0) {
            if (se.have)
                lbl_err_set(err, "%s:%d: fails the SPIF schema: %s", name, se.line, se.msg);
            else
                lbl_err_set(err, "%s: fails the SPIF schema", name);
            xmlFreeDoc(doc);
            return MG_EPARSE;
        }
    }
    *out = doc;
    return 0;
}
