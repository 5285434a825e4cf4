/* mg_err: messages and names for the MG_E* error table. */
#include "mg_err.h"

const char *mg_strerror(int err)
{
    switch (err) {
    case 0: return "success";
#define MG_ERR_MSG(n, v, m) case v: return m;
    MG_ERR_TABLE(MG_ERR_MSG)
#undef MG_ERR_MSG
    default: return "unknown error";
    }
}

const char *mg_errname(int err)
{
    switch (err) {
    case 0: return "OK";
#define MG_ERR_NAME(n, v, m) case v: return #n;
    MG_ERR_TABLE(MG_ERR_NAME)
#undef MG_ERR_NAME
    default: return "MG_E?";
    }
}
