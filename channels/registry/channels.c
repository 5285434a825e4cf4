/* channels: the registry of channel kinds (see channels.h). */
#include "channels.h"
#include "file_transport.h"
#include "p1_channel.h"
#include "rules_channel.h"
#include "smtp_channel.h"

static const struct channel_kind *const all_kinds[] = {
    &file_channel_kind,
    &smtp_channel_kind,
    &rules_channel_kind,
    &p1_channel_kind,
    NULL,
};

const struct channel_kind *const *channels_registry(void)
{
    return all_kinds;
}

int channels_config_load(const char *path, struct config **out, struct config_errors *errs)
{
    struct config_load_opts o = { .kinds = all_kinds };
    return config_load_ex(path, &o, out, errs);
}

int channels_config_load_text(const char *name, const char *text, size_t len, config_env_fn env,
                              void *env_ctx, struct config **out, struct config_errors *errs)
{
    struct config_load_opts o = { .kinds = all_kinds, .env = env, .env_ctx = env_ctx };
    return config_load_text_ex(name, text, len, &o, out, errs);
}
