/* mg_print: print any asn1c-decoded value as a readable tree or as JSON by walking its type
 * descriptor (members, elements, specifics), so no printer is written per type. Open types
 * (ANY) are decoded in a second step through resolvers (IPMS extensions and body parts by
 * OID built in, others supplied by the caller); O/R names and addresses are also shown in
 * RFC 2156 text form; OIDs are named where known. asn1c's own printers are not used because
 * they show ANY and strings in hex and name no OID. */
#ifndef MG_PRINT_H
#define MG_PRINT_H

#include <stdio.h>

#include "asn_application.h"

/* The shape of a type, found from its descriptor (after asn1c's lazy inheritance). */
enum mg_print_kind {
    MG_PK_UNKNOWN,
    MG_PK_SEQUENCE,
    MG_PK_SET,
    MG_PK_CHOICE,
    MG_PK_SEQUENCE_OF,
    MG_PK_SET_OF,
    MG_PK_ANY,
    MG_PK_BOOLEAN,
    MG_PK_INTEGER,    /* NativeInteger (long) */
    MG_PK_ENUMERATED, /* NativeEnumerated (long) */
    MG_PK_BIT_STRING,
    MG_PK_OCTET_STRING,
    MG_PK_NULL,
    MG_PK_OID,
    MG_PK_STRING,     /* character strings, times */
    MG_PK_BIG_INTEGER /* INTEGER_t */
};
enum mg_print_kind mg_print_kind(const asn_TYPE_descriptor_t *td);

/* A resolver gives the type of an ANY member of a SEQUENCE/SET, knowing the parent value
 * (e.g. its OID or integer type field). Return NULL when it does not know; *label may be set
 * to a readable name for the value ("primary-precedence"). */
typedef asn_TYPE_descriptor_t *(*mg_print_resolve_fn)(void *ctx, asn_TYPE_descriptor_t *parent_td,
                                                      const void *parent,
                                                      const asn_TYPE_member_t *any_elm,
                                                      const char **label);
/* Names an OID the built-in table does not know; NULL when unknown. */
typedef const char *(*mg_print_oid_name_fn)(void *ctx, const char *dotted);

struct mg_asn1_pcontext;

struct mg_print_opts {
    int json;                       /* 0: indented tree; 1: JSON */
    size_t max_bytes;               /* octet strings longer than this are cut (0: 4096) */
    mg_print_resolve_fn resolve;    /* optional extra resolver, tried before the built-in */
    mg_print_oid_name_fn oid_name;  /* optional extra OID namer */
    void *ctx;
    /* Presentation contexts (from a CP PPDU, mg_asn1_open_pcontexts) for decoding PDV lists
     * and EXTERNALs by context identifier. Without them, a presentation data value is tried
     * against the syntaxes P1 uses over RTSE (ACSE, RTSE, MTS-APDU) and shown as guessed. */
    const struct mg_asn1_pcontext *pcontexts;
    size_t npcontexts;
};

/* Print value (of type td) under the label name (NULL: the type name). Returns 0 or MG_EIO. */
int mg_print_value(FILE *f, asn_TYPE_descriptor_t *td, const void *value, const char *name,
                   const struct mg_print_opts *opts);

/* RFC 2156 text ("/C=GB/ADMD= /PRMD=smhs/O=percival/S=gal/") of a value shaped like X.411
 * ORName or ORAddress (found by member names). MG_EINVAL if it is not one; the text is
 * cut to size. */
int mg_print_orname(asn_TYPE_descriptor_t *td, const void *value, char *buf, size_t size);

/* Name of an OID from the built-in tables (IPMS, STANAG 4406, a few X.400 ones) or NULL. */
const char *mg_print_oid_name(const char *dotted);

#endif
