/* config_expand: textual ${NAME} / ${NAME:-default} expansion of a configuration file before
 * libconfig parses it. Part of the config module (see config.h). */
#ifndef CONFIG_EXPAND_H
#define CONFIG_EXPAND_H

#include <stddef.h>

#include "config.h"
#include "mg_buf.h"

/* Largest configuration text accepted, before and after expansion. */
#define CONFIG_EXPAND_MAX_INPUT  (4u * 1024 * 1024)
#define CONFIG_EXPAND_MAX_OUTPUT (8u * 1024 * 1024)

/* Expands `in` (len bytes) into `out` (initialised by the caller; NUL-terminated on return).
 * References are expanded in values and inside strings (there the value's '"', '\' and
 * control characters are escaped so the string stays one string); comments are copied as
 * they are, without expansion. "${NAME:-text}" uses text when NAME is unset or empty. A value
 * that would add a line break outside a string is an error (line numbers must stay exact), so
 * is an unset variable without default, a malformed reference, a NUL byte, and an @include
 * directive (not supported: one file is the whole configuration). Each error is added to errs
 * with its line under `name`; the text is still produced (the reference replaced by nothing)
 * so that the caller can go on and find more errors elsewhere.
 * Returns 0 when there was no error, MG_ECONFIG when errors were added, MG_ETOOBIG (also added
 * as an error) or MG_ENOMEM, after which out is not usable. */
int config_expand_text(const char *name, const char *in, size_t len, config_env_fn env,
                       void *env_ctx, struct mg_buf *out, struct config_errors *errs);

#endif
