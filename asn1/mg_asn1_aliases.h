/* mg_asn1_aliases: the descriptors of types asn1c defines on another type (U ::= T, or a
 * constrained library type), filled in once before main instead of lazily.
 *
 * asn1c 0.9.28 gives each such type an *_inherit_TYPE_descriptor() function that every codec
 * entry point calls first: it copies the base type's function pointers and then its elements
 * and specifics into the shared descriptor. Two pool threads decoding at once race on that
 * copy: one has already stored ber_decoder = SET_decode_ber while specifics is still NULL, and
 * the other calls it (a NULL dereference in SET_decode_ber, seen in the e2e mixer test). So
 * every such descriptor is resolved here, single-threaded, from a load-time constructor; after
 * that no codec call writes a descriptor again (tests/asn1 test_asn1_aliases checks it). */
#ifndef MG_ASN1_ALIASES_H
#define MG_ASN1_ALIASES_H

#include <stddef.h>

#include "asn_application.h"

/* Generated from the asn1c output (asn1/CMakeLists.txt); ends with NULL, count excludes it. */
extern asn_TYPE_descriptor_t *const mg_asn1_alias_types[];
extern const size_t mg_asn1_alias_types_count;

/* Resolves every alias descriptor (idempotent). Runs before main; programs that start threads
 * before touching asn1 may call it again at start to make the dependency visible. Returns the
 * number of passes it took (aliases of aliases need one per level). */
int mg_asn1_resolve_aliases(void);

#endif
