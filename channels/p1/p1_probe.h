/* p1_probe: answering a probe from the switch's limits (X.411 12.2.1.2): for one recipient
 * whose route is known, would a message of the probe's content length, content type and
 * encoded information types get through? The answer is an affirmation, or a non-affirmation
 * with unable-to-transfer and the X.411 diagnostic (content-too-long, content-type-not-
 * supported, encoded-information-types-unsupported), an RFC 3463 status and a reason. Pure:
 * no I/O, only the configuration is read. */
#ifndef P1_PROBE_H
#define P1_PROBE_H

#include "config.h"
#include "p1_mts.h"

struct p1_probe_verdict {
    int ok;                      /* 1 = affirmation */
    int x400_reason;             /* NonDeliveryReasonCode: 1 unable-to-transfer; -1 when ok */
    int x400_diagnostic;         /* NonDeliveryDiagnosticCode; -1 when ok */
    const char *status;          /* RFC 3463 ("2.0.0" when ok), static */
    char why[400];               /* one line for the log and the report */
};

/* X.411 NonDeliveryDiagnosticCode values the switch gives. */
enum {
    P1_DIAG_UNRECOGNISED_OR_NAME = 0,
    P1_DIAG_EITS_UNSUPPORTED = 6,
    P1_DIAG_CONTENT_TOO_LONG = 7,
    P1_DIAG_CONTENT_TYPE_NOT_SUPPORTED = 15,
};

/* m: a decoded probe; l: the listener it came in on (its max_message_size applies; NULL =
 * the global one); rt: the recipient's route (NULL = none: unable-to-transfer with
 * unrecognised-OR-name). Fills *v. The checks, in order: the size limits against the probe's
 * content-length (the listener's, then the max_message_size of the route's delivery channel
 * and of its peer); along the route's chain, a mixer that converts to Internet mail reads only
 * the IPM content types (P2, P22, P772); an SMTP delivery with no such conversion before it
 * cannot carry an X.400 content; a P1 delivery to a 1984 peer carries neither an extended
 * (OID) content type nor extended encoded information types. */
void p1_probe_check(const struct config *cfg, const struct config_listener *l,
                    const struct config_route *rt, const struct p1_mts_in *m,
                    struct p1_probe_verdict *v);

#endif
