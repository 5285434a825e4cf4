/* asn1_test_util: vector access, tshark-style O/R name text and tshark -V value extraction
 * for the asn1 tests; see asn1_test_util.h. */
#include "asn1_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "AdministrationDomainName.h"
#include "CommonName.h"
#include "CountryName.h"
#include "ExtensionAttribute.h"
#include "ExtensionAttributes.h"
#include "GlobalDomainIdentifier.h"
#include "MTSIdentifier.h"
#include "OrganizationalUnitNames.h"
#include "PersonalName.h"
#include "PrivateDomainIdentifier.h"
#include "PrivateDomainName.h"
#include "ACSE-apdu.h"
#include "PDV-list.h"
#include "User-data-PPDU.h"
#include "mg_asn1.h"
#include "mg_buf.h"
#include "mg_err.h"

const char *atu_vector_path(const char *rel, char *buf, size_t bufsz)
{
    const char *root = getenv("MIXGATE_VECTORS");
    if (!root || !*root) {
        fprintf(stderr, "*** MIXGATE_VECTORS is not set: third-party vector tests SKIPPED ***\n");
        return NULL;
    }
    snprintf(buf, bufsz, "%s/%s", root, rel);
    FILE *f = fopen(buf, "rb");
    if (!f) {
        fprintf(stderr, "*** vector %s missing: test SKIPPED ***\n", buf);
        return NULL;
    }
    fclose(f);
    return buf;
}

int atu_read_vector(const char *rel, unsigned char **data, size_t *len)
{
    char path[4096];
    if (!atu_vector_path(rel, path, sizeof path))
        return -1;
    return mg_read_file(path, 64u << 20, data, len) == 0 ? 0 : -1;
}

static void add(char *buf, size_t bufsz, const char *key, const OCTET_STRING_t *s)
{
    size_t pos = strlen(buf);
    if (!s || pos >= bufsz)
        return;
    snprintf(buf + pos, bufsz - pos, "%s=%.*s/", key, (int)s->size, (const char *)s->buf);
}

const ORAddress_t *atu_orname_address(const ORName_t *n, ORAddress_t *tmp)
{
    memset(tmp, 0, sizeof *tmp);
    tmp->built_in_standard_attributes = n->built_in_standard_attributes;
    tmp->built_in_domain_defined_attributes = n->built_in_domain_defined_attributes;
    tmp->extension_attributes = n->extension_attributes;
    return tmp;
}

void atu_orname_text(const ORAddress_t *a, char *buf, size_t bufsz)
{
    const BuiltInStandardAttributes_t *b = &a->built_in_standard_attributes;
    snprintf(buf, bufsz, "/");
    /* Both alternatives of these CHOICEs are string types sharing the union's storage. */
    if (b->country_name)
        add(buf, bufsz, "C", &b->country_name->choice.iso_3166_alpha2_code);
    if (b->administration_domain_name)
        add(buf, bufsz, "A", &b->administration_domain_name->choice.printable);
    if (b->private_domain_name)
        add(buf, bufsz, "P", &b->private_domain_name->choice.printable);
    add(buf, bufsz, "O", b->organization_name);
    if (b->organizational_unit_names)
        for (int i = 0; i < b->organizational_unit_names->list.count; i++)
            add(buf, bufsz, "OU", b->organizational_unit_names->list.array[i]);
    if (b->personal_name) {
        add(buf, bufsz, "S", &b->personal_name->surname);
        add(buf, bufsz, "G", b->personal_name->given_name);
        add(buf, bufsz, "I", b->personal_name->initials);
        add(buf, bufsz, "Q", b->personal_name->generation_qualifier);
    }
    if (a->extension_attributes) {
        for (int i = 0; i < a->extension_attributes->list.count; i++) {
            const ExtensionAttribute_t *ea = a->extension_attributes->list.array[i];
            if (ea->extension_attribute_type != 1)
                continue;
            CommonName_t *cn = NULL;
            if (mg_asn1_decode(&asn_DEF_CommonName, ea->extension_attribute_value.buf,
                               (size_t)ea->extension_attribute_value.size, (void **)&cn,
                               NULL) == 0) {
                add(buf, bufsz, "CN", cn);
                mg_asn1_free(&asn_DEF_CommonName, cn);
            }
        }
    }
}

void atu_mtsid_text(const MTSIdentifier_t *id, char *buf, size_t bufsz)
{
    const GlobalDomainIdentifier_t *g = &id->global_domain_identifier;
    snprintf(buf, bufsz, "/");
    add(buf, bufsz, "C", &g->country_name.choice.iso_3166_alpha2_code);
    add(buf, bufsz, "A", &g->administration_domain_name.choice.printable);
    if (g->private_domain_identifier)
        add(buf, bufsz, "P", &g->private_domain_identifier->choice.printable);
    size_t pos = strlen(buf);
    if (pos < bufsz)
        snprintf(buf + pos, bufsz - pos, " $ %.*s", (int)id->local_identifier.size,
                 (const char *)id->local_identifier.buf);
}

size_t atu_tshark_values(const char *tshark_rel, const char *from, const char *to,
                         const char *key, char **vals, size_t max)
{
    unsigned char *text = NULL;
    size_t len = 0, n = 0;
    if (atu_read_vector(tshark_rel, &text, &len))
        return 0;
    char *s = (char *)text;
    char *start = strstr(s, from);
    if (!start) {
        free(text);
        return 0;
    }
    char *stop = to ? strstr(start, to) : NULL;
    if (!stop)
        stop = s + len;
    size_t klen = strlen(key);
    for (char *line = start; line && line < stop && n < max;) {
        char *eol = strchr(line, '\n');
        if (!eol)
            eol = s + len;
        char *p = line;
        while (p < eol && *p == ' ')
            p++;
        if ((size_t)(eol - p) > klen + 2 && strncmp(p, key, klen) == 0) {
            const char *v = NULL, *vend = eol;
            if (p[klen] == ' ' && p[klen + 1] == '(' && eol[-1] == ')') {
                v = p + klen + 2;
                vend = eol - 1;
            } else if (p[klen] == ':' && p[klen + 1] == ' ') {
                v = p + klen + 2;
            }
            if (v) {
                vals[n] = strndup(v, (size_t)(vend - v));
                if (vals[n])
                    n++;
            }
        }
        line = *eol ? eol + 1 : NULL;
    }
    free(text);
    return n;
}

void atu_free_strs(char **vals, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(vals[i]);
}

int atu_append_der(const asn_TYPE_descriptor_t *td, const void *v, struct mg_buf *out)
{
    unsigned char *der = NULL;
    size_t len = 0;
    int rc = mg_asn1_encode_der(td, v, &der, &len);
    if (!rc)
        rc = mg_buf_append(out, der, len);
    free(der);
    return rc;
}

int atu_build_release(int response, struct mg_buf *out)
{
    int rc = MG_ENOMEM;
    struct mg_buf acse;
    mg_buf_init(&acse, 0);
    ACSE_apdu_t *a = calloc(1, sizeof *a);
    long *reason = calloc(1, sizeof *reason);   /* 0 = normal */
    User_data_PPDU_t *ud = calloc(1, sizeof *ud);
    PDV_list_t *pdv = calloc(1, sizeof *pdv);
    if (!a || !reason || !ud || !pdv) {
        free(a); free(reason); free(ud); free(pdv);
        return MG_ENOMEM;
    }
    if (response) {
        a->present = ACSE_apdu_PR_rlre;
        a->choice.rlre.reason = reason;
    } else {
        a->present = ACSE_apdu_PR_rlrq;
        a->choice.rlrq.reason = reason;
    }
    ud->present = User_data_PR_fully_encoded_data;
    pdv->presentation_context_identifier = 1;
    pdv->presentation_data_values.present = PDV_list__presentation_data_values_PR_single_ASN1_type;
    if (ASN_SEQUENCE_ADD(&ud->choice.fully_encoded_data.list, pdv) != 0) {
        free(pdv);
        goto out;
    }
    if ((rc = atu_append_der(&asn_DEF_ACSE_apdu, a, &acse)) != 0)
        goto out;
    /* The ACSE APDU's DER becomes the ANY's bytes; the PPDU owns them from here. */
    ANY_t *any = &pdv->presentation_data_values.choice.single_ASN1_type;
    size_t n = 0;
    any->buf = mg_buf_steal(&acse, &n);
    any->size = (int)n;
out:
    if (!rc)
        rc = atu_append_der(&asn_DEF_User_data_PPDU, ud, out);
    mg_asn1_free_User_data_PPDU(ud);
    mg_asn1_free_ACSE_apdu(a);
    mg_buf_free(&acse);
    return rc;
}
