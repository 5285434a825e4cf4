/* mg_err: the one table of mixgate error codes. Functions return 0 or a negative MG_E* code. */
#ifndef MG_ERR_H
#define MG_ERR_H

/* X(name, value, message): keep values stable, they appear in logs. */
#define MG_ERR_TABLE(X)                                                        \
    X(MG_EINVAL,    -1,  "invalid argument")                                   \
    X(MG_ENOMEM,    -2,  "out of memory")                                      \
    X(MG_EIO,       -3,  "input/output error")                                 \
    X(MG_EPARSE,    -4,  "malformed input")                                    \
    X(MG_ETOOBIG,   -5,  "size limit exceeded")                                \
    X(MG_ENOTFOUND, -6,  "not found")                                          \
    X(MG_EEXIST,    -7,  "already exists")                                     \
    X(MG_EDB,       -8,  "database error")                                     \
    X(MG_ECONFIG,   -9,  "configuration error")                                \
    X(MG_EPROTO,    -10, "protocol error")                                     \
    X(MG_ETIMEDOUT, -11, "timed out")                                          \
    X(MG_EDENIED,   -12, "denied by policy")                                   \
    X(MG_ECRYPTO,   -13, "cryptographic operation failed")                     \
    X(MG_EVERIFY,   -14, "verification failed")                                \
    X(MG_ENOKEY,    -15, "no usable key or certificate")                       \
    X(MG_EREVOKED,  -16, "certificate revoked")                                \
    X(MG_EEXPIRED,  -17, "certificate expired or not yet valid")               \
    X(MG_EUNTRUSTED,-18, "certificate not trusted")                            \
    X(MG_ENOTSUP,   -19, "not supported")                                      \
    X(MG_ESTATE,    -20, "operation not allowed in this state")                \
    X(MG_ETEMP,     -21, "temporary failure")                                  \
    X(MG_ECONSTRAINT,-22,"value violates an ASN.1 constraint")                 \
    X(MG_EINCOMPLETE,-23,"input truncated")                                    \
    X(MG_ECLOSED,   -24, "connection closed")

enum mg_err {
#define MG_ERR_ENUM(n, v, m) n = v,
    MG_ERR_TABLE(MG_ERR_ENUM)
#undef MG_ERR_ENUM
};

/* Message for an MG_E* code (or "unknown error"); never NULL, static storage. */
const char *mg_strerror(int err);
/* Symbolic name, e.g. "MG_EPARSE". */
const char *mg_errname(int err);

#endif
