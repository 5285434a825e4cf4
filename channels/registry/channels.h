/* channels: the registry of every channel kind this build has (a NULL-terminated list for
 * config_load_ex, see mta/channel.h), and the configuration loader that uses it. The daemon,
 * check-config and the fuzz targets load configurations only through here, so every channel's
 * options are always checked. */
#ifndef CHANNELS_H
#define CHANNELS_H

#include "channel.h"
#include "config.h"

const struct channel_kind *const *channels_registry(void);

/* config_load_ex / config_load_text_ex with channels_registry(). */
int channels_config_load(const char *path, struct config **out, struct config_errors *errs);
int channels_config_load_text(const char *name, const char *text, size_t len, config_env_fn env,
                              void *env_ctx, struct config **out, struct config_errors *errs);

/* Whether the configuration at path has a cms channel that names a private key, i.e. needs the
 * key process (cms_keyproc.h) before the real load: 0 and *needs set, or the load's error (the
 * real load then reports it with file:line). Loads no key: the cms channels are only probed. */
int channels_config_needs_keys(const char *path, bool *needs);

#endif
