/* mixer_ber: a small BER writer for the content the gateway builds (P22 / P772 headings and
 * bodies). Values are written as definite-length TLVs into an mg_buf; a constructed value is
 * opened, filled, and closed (its length is patched in). The result is checked by the asn1
 * decoder (mg_ipm_decode) before anyone sees it, so the writer stays simple. Also a reader
 * of one TLV (for values kept as plain BER: extension values, the rfc-822-field list). */
#ifndef MIXER_BER_H
#define MIXER_BER_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"

/* Tag classes and forms as X.690 writes them in the first identifier octet. */
#define MIXER_BER_UNIV 0x00
#define MIXER_BER_APP 0x40
#define MIXER_BER_CTX 0x80
#define MIXER_BER_CONS 0x20

/* Universal tag numbers used here. */
enum {
    MIXER_BER_BOOLEAN = 1,
    MIXER_BER_INTEGER = 2,
    MIXER_BER_BITSTRING = 3,
    MIXER_BER_OCTETSTRING = 4,
    MIXER_BER_NULL = 5,
    MIXER_BER_OID = 6,
    MIXER_BER_ENUMERATED = 10,
    MIXER_BER_SEQUENCE = 16,
    MIXER_BER_SET = 17,
    MIXER_BER_NUMERICSTRING = 18,
    MIXER_BER_PRINTABLESTRING = 19,
    MIXER_BER_TELETEXSTRING = 20,
    MIXER_BER_IA5STRING = 22,
    MIXER_BER_UTCTIME = 23,
    MIXER_BER_GENERALIZEDTIME = 24,
    MIXER_BER_GENERALSTRING = 27,
};

#define MIXER_BER_DEPTH 64

/* A writer: out is the caller's buffer (its limit bounds the output). The first error sticks
 * and is returned by mixer_ber_finish. */
struct mixer_ber {
    struct mg_buf *out;
    size_t open[MIXER_BER_DEPTH]; /* offsets of open constructed values' length octets */
    int depth;
    int err;
};

void mixer_ber_init(struct mixer_ber *w, struct mg_buf *out);
/* cls | number (| MIXER_BER_CONS implied by open). */
void mixer_ber_open(struct mixer_ber *w, unsigned cls, unsigned number);
void mixer_ber_close(struct mixer_ber *w);
void mixer_ber_prim(struct mixer_ber *w, unsigned cls, unsigned number, const void *p, size_t n);
void mixer_ber_str(struct mixer_ber *w, unsigned cls, unsigned number, const char *s);
void mixer_ber_int(struct mixer_ber *w, unsigned cls, unsigned number, long v);
void mixer_ber_bool(struct mixer_ber *w, unsigned cls, unsigned number, int v);
/* OBJECT IDENTIFIER from dotted text (universal tag 6 unless cls/number say otherwise). */
void mixer_ber_oid(struct mixer_ber *w, unsigned cls, unsigned number, const char *dotted);
/* Raw, already-encoded bytes (a complete TLV). */
void mixer_ber_raw(struct mixer_ber *w, const void *p, size_t n);
/* 0, or the first error (MG_ETOOBIG, MG_ENOMEM, MG_EINVAL for unbalanced open/close). */
int mixer_ber_finish(struct mixer_ber *w);

/* Reader: one TLV at p[0..n) with a definite length. Sets class|constructed bits in *id,
 * the tag number, the value and the total size. MG_EPARSE on a malformed, indefinite or
 * truncated TLV. */
struct mixer_tlv {
    unsigned id;     /* first octet's class and constructed bits */
    unsigned number; /* tag number */
    const uint8_t *v;
    size_t vlen;
    size_t size; /* header + value */
};
int mixer_ber_read(const void *p, size_t n, struct mixer_tlv *t);

#endif
