/* p1_session: the ISO 8327-1 (version 2) SPDUs that RTSE needs, parsed in place and encoded,
 * plus the session state one association keeps: who holds the tokens, the activity, the
 * serial numbers of minor synchronization points. No I/O: a TSDU from p1_tpkt goes in, a
 * list of SPDUs comes out (a category 0 SPDU followed by a category 2 one when concatenated,
 * e.g. GIVE TOKENS + DATA TRANSFER); encoders append SPDUs to a buffer, and the data SPDU
 * header is put in front of a payload chain. */
#ifndef P1_SESSION_H
#define P1_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"
#include "p1_buf.h"
#include "p1_tpkt.h"

/* SPDU identifiers (SI). Some codes have two meanings told apart by context:
 * 1 = GT (category 0) or DT (category 2); 41 = MAP or AE; 42 = MAA or AEA;
 * 25 = AB or AI; 26 = AA or AIA. */
enum p1_si {
    P1_SI_GT = 1, P1_SI_DT = 1, P1_SI_PT = 2, P1_SI_FN = 9, P1_SI_DN = 10, P1_SI_RF = 12,
    P1_SI_CN = 13, P1_SI_AC = 14, P1_SI_CDO = 15, P1_SI_OA = 16, P1_SI_GTC = 21,
    P1_SI_GTA = 22, P1_SI_AB = 25, P1_SI_AI = 25, P1_SI_AA = 26, P1_SI_AIA = 26,
    P1_SI_AE = 41, P1_SI_AEA = 42, P1_SI_AS = 45, P1_SI_ER = 0, P1_SI_ED = 48,
    P1_SI_MIP = 49, P1_SI_MIA = 50, P1_SI_AD = 57, P1_SI_ADA = 58
};

/* Session user requirements (functional units). */
#define P1_SUR_HALF_DUPLEX 0x0001
#define P1_SUR_DUPLEX 0x0002
#define P1_SUR_MINOR_SYNC 0x0008
#define P1_SUR_ACTIVITY 0x0040
#define P1_SUR_EXCEPTIONS 0x0200
#define P1_SUR_RTSE (P1_SUR_HALF_DUPLEX | P1_SUR_MINOR_SYNC | P1_SUR_ACTIVITY | P1_SUR_EXCEPTIONS)

/* Token item bits (data, synchronize-minor, major/activity, release). */
#define P1_TOK_DATA 0x01
#define P1_TOK_MINOR 0x04
#define P1_TOK_MAJOR 0x10
#define P1_TOK_RELEASE 0x40
#define P1_TOK_ALL (P1_TOK_DATA | P1_TOK_MINOR | P1_TOK_MAJOR | P1_TOK_RELEASE)

#define P1_SESSION_UD_MAX 512        /* user data in CN, AC, RF ... */
#define P1_SESSION_EXT_UD_MAX 10240  /* extended user data in CN (version 2) */

struct p1_spdu {
    uint8_t si;
    int cat0;                 /* the first SPDU of a concatenated pair (GT/PT) */
    int has_req, has_tokens, has_token_setting, has_serial, has_reason, has_td, has_version;
    int has_sync_type, has_ud, has_overflow;
    uint16_t requirements;
    uint8_t tokens, token_setting, reason, td, version, sync_type, protocol_options;
    unsigned long serial;
    struct p1_sel calling_ssel, called_ssel;
    const uint8_t *actid;     /* activity identifier (AS) */
    size_t actid_len;
    const uint8_t *ud;        /* user data (PI 193/194, RF reason code rest, or DT/info) */
    size_t ud_len;
};

#define P1_SESSION_MAX_SPDUS 4

/* Parse one TSDU into SPDUs (in place: pointers into tsdu). 0 or MG_EPROTO with *why. */
int p1_session_parse(const uint8_t *tsdu, size_t len, struct p1_spdu *out, size_t *count,
                     const char **why);

/* Encode one SPDU from the fields set in s (user data from s->ud, copied) onto b. For CN,
 * user data over 512 octets goes in the extended user data parameter (up to 10240). */
int p1_session_encode(struct mg_buf *b, const struct p1_spdu *s);
/* Put "category 0 SPDU (GT or PT, no parameters) + DATA TRANSFER header" in front of the
 * user information in c. */
int p1_session_prepend_dt(struct p1_chain *c);

/* The state of one session connection as RTSE uses it. */
struct p1_session {
    int initiator;
    uint16_t requirements;  /* negotiated functional units */
    uint8_t tokens;         /* tokens we hold */
    int in_activity;
    unsigned long vm;       /* next serial number V(M) */
    unsigned long va;       /* oldest unconfirmed serial V(A) */
};

void p1_session_init(struct p1_session *s, int initiator);
/* The fields of CN/AC we send, with our requirements and tokens on the initiator's side. */
void p1_session_cn_fields(struct p1_spdu *sp, const struct p1_sel *calling,
                          const struct p1_sel *called);
void p1_session_ac_fields(struct p1_spdu *sp, uint16_t requirements,
                          const struct p1_sel *responding);
/* After CN/AC: requirements are the intersection; the initiator holds the tokens. */
void p1_session_connected(struct p1_session *s, uint16_t requirements);

#endif
