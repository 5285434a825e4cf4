/* p1_rtse: the Reliable Transfer APDUs (X.228) in normal mode (RTORQ, RTOAC, RTORJ, RTTR,
 * RTTP, RTAB) and their X.410-1984 mode forms (PConnect, PAccept, PRefuse carried directly in
 * session user data), plus the framing of one transferred APDU: in normal mode the APDU is an
 * EXTERNAL (presentation context of MTSE) whose encoding is cut into RTTR OCTET STRING
 * segments, one per session DATA between minor synchronization points; in X.410 mode the
 * APDU's own encoding is cut. Decoded in place; encoders append. */
#ifndef P1_RTSE_H
#define P1_RTSE_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"
#include "p1_buf.h"

enum p1_rtse_type { P1_RTORQ = 1, P1_RTOAC, P1_RTORJ, P1_RTTR, P1_RTTP, P1_RTAB };

enum { P1_DIALOGUE_MONOLOGUE = 0, P1_DIALOGUE_TWA = 1 };
/* RTORJ refuseReason / PRefuse RefuseReason. */
enum { P1_RTS_BUSY = 0, P1_RTS_CANNOT_RECOVER = 1, P1_RTS_VALIDATION_FAILURE = 2,
       P1_RTS_UNACCEPTABLE_DIALOGUE_MODE = 3 };
/* X.410 applicationProtocol: 1 = P1 1984, 12 = 1988 MTS transfer in X.410 mode. */
enum { P1_APP_PROTOCOL_1984 = 1, P1_APP_PROTOCOL_1988 = 12 };
#define P1_RTSE_DEFAULT_WINDOW 3

struct p1_rtse {
    enum p1_rtse_type type;
    long checkpoint;        /* KiB units, 0 = no checkpointing */
    long window;
    long dialogue;
    long app_protocol;      /* X.410 mode, -1 absent */
    int recover;            /* connectionData is recover (not supported: refused) */
    long reason;            /* refuse/abort reason, -1 absent */
    long priority;          /* RTTP */
    const uint8_t *data;    /* open (bind) value or userDataRJ value: a whole TLV */
    size_t len;
};

/* Normal mode APDU (RTSE-apdus). 0 or MG_EPROTO with *why. */
int p1_rtse_decode(const uint8_t *p, size_t n, struct p1_rtse *out, const char **why);
/* X.410 mode: PConnect (want P1_RTORQ), PAccept (P1_RTOAC) or PRefuse (P1_RTORJ). */
int p1_rtse_decode_x410(enum p1_rtse_type want, const uint8_t *p, size_t n, struct p1_rtse *out,
                        const char **why);

/* x410: PConnect/PAccept/PRefuse instead of RTORQ/RTOAC/RTORJ (app_protocol used then). */
int p1_rtse_rtorq(struct mg_buf *b, int x410, long checkpoint, long window, long dialogue,
                  long app_protocol, const uint8_t *open, size_t len);
int p1_rtse_rtoac(struct mg_buf *b, int x410, long checkpoint, long window, const uint8_t *open,
                  size_t len);
/* reason -1: absent; user: the bind error value (may be NULL). */
int p1_rtse_rtorj(struct mg_buf *b, int x410, long reason, const uint8_t *user, size_t len);
int p1_rtse_rtab(struct mg_buf *b, long reason);
int p1_rtse_rttp(struct mg_buf *b, long priority);

/* The EXTERNAL header in front of an APDU of len octets in presentation context pcid;
 * h has room for 24 octets. Returns the header size. */
size_t p1_rtse_external_hdr(uint8_t *h, long pcid, size_t len);
/* The APDU inside a reassembled EXTERNAL. */
int p1_rtse_external_value(const uint8_t *p, size_t n, const uint8_t **apdu, size_t *alen);
/* Put an RTTR OCTET STRING header in front of everything in c. */
int p1_rtse_prepend_rttr(struct p1_chain *c);
/* Append the contents of an RTTR (primitive or segmented OCTET STRING) to r. */
int p1_rtse_rttr_collect(const uint8_t *p, size_t n, struct p1_reasm *r);

#endif
