/* channels: the registry of channel kinds (see channels.h). */
#include "channels.h"
#include "cms_channel.h"
#include "file_transport.h"
#include "mixer_channel.h"
#include "lsw.h"
#include "lsw_shaper.h"
#include "p1_channel.h"
#include "rules_channel.h"
#include "smtp_channel.h"

static const struct channel_kind *const all_kinds[] = {
    &file_channel_kind,
    &smtp_channel_kind,
    &rules_channel_kind,
    &mixer_channel_kind,
    &cms_channel_kind,
    &shaper_channel_kind,
    &p1_channel_kind,
    NULL,
};

/* The top-level `labels` group is the labels module's (SPIFs, clearances): checked at load. */
static int labels_checked(int rc, struct config **out, struct config_errors *errs)
{
    if (rc == 0 && (rc = lsw_config_check(*out, errs)) != 0) {
        config_free(*out);
        *out = NULL;
    }
    return rc;
}

const struct channel_kind *const *channels_registry(void)
{
    return all_kinds;
}

int channels_config_load(const char *path, struct config **out, struct config_errors *errs)
{
    struct config_load_opts o = { .kinds = all_kinds };
    return labels_checked(config_load_ex(path, &o, out, errs), out, errs);
}

int channels_config_load_text(const char *name, const char *text, size_t len, config_env_fn env,
                              void *env_ctx, struct config **out, struct config_errors *errs)
{
    struct config_load_opts o = { .kinds = all_kinds, .env = env, .env_ctx = env_ctx };
    return labels_checked(config_load_text_ex(name, text, len, &o, out, errs), out, errs);
}

int channels_config_needs_keys(const char *path, bool *needs)
{
    const struct channel_kind *probe[sizeof all_kinds / sizeof *all_kinds];
    for (size_t i = 0; i < sizeof all_kinds / sizeof *all_kinds; i++)
        probe[i] = all_kinds[i] == &cms_channel_kind ? &cms_channel_probe_kind : all_kinds[i];
    struct config_load_opts o = { .kinds = probe };
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    int rc = config_load_ex(path, &o, &cfg, &errs);
    config_errors_free(&errs);
    *needs = false;
    for (size_t i = 0; rc == 0 && i < cfg->n_channels; i++)
        if (cfg->channels[i].kind == &cms_channel_probe_kind && cfg->channels[i].conf)
            *needs = true;
    config_free(cfg);
    return rc;
}
