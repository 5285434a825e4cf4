/* mixer_env: the MTS envelope fields RFC 2156 maps to and from RFC 5322 header fields
 * (5.3.6, 5.1.x): X400-MTS-Identifier, X400-Originator, X400-Recipients, X400-Content-Type,
 * X400-Content-Identifier, Original-Encoded-Information-Types, Priority, Conversion,
 * Conversion-With-Loss, Deferred-Delivery, Latest-Delivery-Time, and Date from the submission
 * time, and the trace as X400-Received lines (RFC 2156 5.3.7: "by [mta NAME in] GDI ;
 * [deferred until DATE ;] Relayed|Rerouted ; DATE"), which must come back into the X.400
 * trace or loop detection is defeated. A neutral struct, so the P1 side fills it from its
 * envelope model (or reads it back) without the library knowing P1. */
#ifndef MIXER_ENV_H
#define MIXER_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include "mg_buf.h"
#include "mixer_addr.h"

#define MIXER_ENV_MAX_RCPTS 64
#define MIXER_ENV_MAX_TRACE 32

/* One X.411 trace element (TraceInformationElement, optionally with the MTA name of an
 * internal trace element) as RFC 2156 writes it in X400-Received. */
struct mixer_trace {
    char gdi[256];      /* global domain identifier as O/R text ("/C=GB/ADMD= /PRMD=X/") */
    char mta[33];       /* MTA name (internal trace), "" = none */
    char arrival[32];   /* UTCTime */
    char deferred[32];  /* deferred until (UTCTime), "" = none */
    int action;         /* X.411 RoutingAction: 0 relayed, 1 rerouted */
};

struct mixer_env {
    char mts_gdi[256];     /* MTS identifier: global domain identifier as O/R text ("/C=GB/ADMD= /PRMD=X/") */
    char mts_local[64];    /* and its local identifier; "" = no MTS identifier */
    char content_type[64]; /* "2", "22" or a dotted OID ("1.3.26.0.4406.0.4.1"); "" = none */
    char content_id[64];   /* content-identifier (PrintableString); "" = none */
    unsigned eits;         /* original EITs: bits of X.411 BuiltInEncodedInformationTypes */
    int priority;          /* X.411 Priority: 0 normal, 1 non-urgent, 2 urgent; -1 = absent */
    bool conversion_prohibited;
    bool conversion_with_loss_prohibited;
    char submission_time[32];   /* UTCTime; "" = none */
    char deferred_delivery[32]; /* UTCTime; "" = none */
    char latest_delivery[32];   /* UTCTime; "" = none */
    char originator[MIXER_ADDR_MAX];                   /* O/R text; "" = none */
    size_t nrcpts;
    char rcpts[MIXER_ENV_MAX_RCPTS][MIXER_ADDR_MAX];  /* O/R texts */
    size_t ntrace;
    struct mixer_trace trace[MIXER_ENV_MAX_TRACE];   /* most recent first */
};

void mixer_env_init(struct mixer_env *e);

/* X.400 -> RFC 5322: the header fields for e (addresses mapped with gw), appended to out
 * with CRLF ends, for the caller to put in front of mixer_conv_to_822's output. An address
 * that does not map is written as the O/R text in a comment-free quoted form under the
 * gateway domain (RFC 2156 4.3.5's last resort). */
int mixer_env_to_headers(const struct mixer_gw *gw, const struct mixer_env *e, struct mg_buf *out);

/* RFC 5322 -> X.400: the envelope values an Internet message states (Priority, Conversion,
 * Conversion-With-Loss, X400-Content-Identifier or else the Subject cut to 16 characters as
 * RFC 2156 5.1.3 says, Date as the submission time, Deferred-Delivery, Latest-Delivery-Time);
 * fields of e the message does not state are left as they are. MG_EPARSE when the header
 * cannot be read. */
int mixer_env_from_headers(const void *msg, size_t len, struct mixer_env *e);
/* The X.411 priority a message's Priority field states (RFC 2156 5.3.6: 0 normal, 1
 * non-urgent, 2 urgent), as mixer_env_from_headers reads it, or -1 when it states none or its
 * header cannot be read; without building the whole envelope (the gateway's per-message path). */
int mixer_env_priority(const void *msg, size_t len);

#endif
