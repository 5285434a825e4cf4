/* mixer_channel_int: what the mixer channel's modules share: the instance configuration, the
 * address mapping of one address into the target world (mixer_channel.c), and the envelope
 * parameters for the next hop (mixer_channel_env.c). Internal to channels/mixer. */
#ifndef MIXER_CHANNEL_INT_H
#define MIXER_CHANNEL_INT_H

#include <stdbool.h>

#include "channel.h"
#include "mixer_addr.h"
#include "mixer_conv.h"
#include "mixer_table.h"

enum mixer_dir { MIXER_DIR_AUTO, MIXER_DIR_TO_X400, MIXER_DIR_TO_SMTP };

struct mixer_conf {
    enum mixer_dir dir;
    enum mixer_content content;
    struct mixer_tables tables;
    struct mixer_gw gw; /* gw.tables points at tables above */
    char rfc2or[1024], or2rfc[1024];
    char gate1[1024], gate2[1024]; /* RFC 2156 tables 3 and 4 (preferred gateways), "" = none */
    bool dsn_as_message; /* dsn = "message": a DSN crosses to X.400 as an IPM */
};

/* One address into the target world; 0 with *out (malloc'd) or an error with why. Addresses
 * already in the target form are kept. */
int mixer_channel_map_addr(const struct mixer_conf *c, bool to_x400, const char *a, char **out,
                           enum mixer_addr_how *how, char *why, size_t whysize);
/* The same for an SMTP return address (the originator): towards X.400 always under the local
 * gateway's O/R address (RFC 2156 4.3.4 stage II), never a preferred gateway's. */
int mixer_channel_map_return(const struct mixer_conf *c, bool to_x400, const char *a, char **out,
                             enum mixer_addr_how *how, char *why, size_t whysize);

/* The gateway's global domain identifier (C, ADMD, PRMD of its own O/R address) as RFC 2156
 * text: it names the MTS identifiers the gateway makes. 0 or MG_ETOOBIG. */
int mixer_channel_gdi(const struct mixer_conf *c, char *out, size_t outsize);

/* RFC 2156 appendix A towards X.400: the message transfer envelope of the converted message
 * (each recipient's NOTIFY and ORCPT as report requests and redirection history, ENVID as the
 * content correlator, return of content, priority and precedence) into r->x400_env; the group's
 * next-hop addresses in the canonical O/R form the P1 side compares. data/len: the RFC 5322
 * message as received by the stage; prec: the STANAG 4406 precedence it states (-1 = none).
 * 0 or MG_ENOMEM (a recipient or field that does not fit is left out, never an error). */
int mixer_channel_env_to_x400(const struct mixer_conf *c, const struct channel_task *t,
                              const unsigned char *data, size_t len, int prec,
                              struct channel_result *r);

/* RFC 2156 appendix A towards SMTP: from the X.411 envelope the message arrived with, each
 * recipient's NOTIFY and ORCPT, the ENVID from the MTS identifier and RET from the content
 * return request, into r. Nothing when the message has no envelope or it cannot be read.
 * 0 or MG_ENOMEM. */
int mixer_channel_env_to_smtp(const struct channel_task *t, struct channel_result *r);

#endif
