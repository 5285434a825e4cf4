/* p1_bind: the MTA bind of X.411 (MTABindArgument, MTABindResult, MTABindError) as carried in
 * RTSE connection data, and the check of a peer's credentials. In normal mode the bind is a
 * remote operation and its values are wrapped ([16] argument, [17] result, [18] error); in
 * X.410 mode (1988-x410 and 1984) they are bare, the application protocol number saying
 * what they are. Names and simple passwords only (strong credentials are refused). */
#ifndef P1_BIND_H
#define P1_BIND_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"

#define P1_BIND_NAME_MAX 64
#define P1_BIND_PASSWORD_MAX 64

/* MTABindError values. */
enum { P1_BIND_ERR_BUSY = 0, P1_BIND_ERR_AUTHENTICATION = 2,
       P1_BIND_ERR_UNACCEPTABLE_DIALOGUE_MODE = 3, P1_BIND_ERR_SECURITY_CONTEXT = 4 };

struct p1_bind {
    int authenticated;                       /* 0: the unauthenticated NULL */
    char name[P1_BIND_NAME_MAX + 1];
    char password[P1_BIND_PASSWORD_MAX + 1];
    int has_password;
};

/* kind: 16 argument, 17 result; wrapped: in the bind operation's [kind] (normal mode). */
int p1_bind_encode(struct mg_buf *b, int kind, int wrapped, const struct p1_bind *v);
int p1_bind_decode(const uint8_t *p, size_t n, struct p1_bind *out, const char **why);
int p1_bind_error_encode(struct mg_buf *b, int wrapped, long err);
int p1_bind_error_decode(const uint8_t *p, size_t n, long *err);
/* 0 when got names expect_name and carries expect_password (NULL: none required), else
 * P1_BIND_ERR_AUTHENTICATION with *why. Compares in constant time over the password. */
int p1_bind_check(const struct p1_bind *got, const char *expect_name, const char *expect_password,
                  const char **why);
/* What a responder expects of a peer's bind (from the peer's configuration and the
 * listener's state). */
struct p1_bind_expect {
    const char *name;           /* the peer's MTA name (NULL: any) */
    const char *password;       /* the password it must send (NULL: none required) */
    int allow_twa;              /* two-way-alternate dialogue acceptable */
    int busy;                   /* no association can be accepted now */
};
/* The answer to a bind request: 0 accept, or 1 refuse with *err the MTABindError (busy,
 * unacceptable-dialogue-mode, authentication-error, checked in that order; busy is 0) and
 * *why for the log. */
int p1_bind_decide(const struct p1_bind *got, long dialogue, const struct p1_bind_expect *e,
                   long *err, const char **why);
const char *p1_bind_error_name(long err);

#endif
