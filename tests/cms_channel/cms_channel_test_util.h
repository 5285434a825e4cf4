/* cms_channel_test_util: what the cms channel's tests share (one file each includes it): the
 * test PKI's directory, the stores, a configuration loader with the cms and file kinds. */
#ifndef CMS_CHANNEL_TEST_UTIL_H
#define CMS_CHANNEL_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cert_store.h"
#include "channel.h"
#include "cms_channel.h"
#include "cms_keys.h"
#include "cms_wrap.h"
#include "config.h"
#include "content.h"
#include "file_transport.h"
#include "message.h"
#include "mg_err.h"

static char g_pki[512];
static char g_store[600];
static char g_store2[600];

static const struct channel_kind *const kinds[] = { &cms_channel_kind, &file_channel_kind, NULL };

static const char *env_fn(void *ctx, const char *name)
{
    (void)ctx;
    if (!strcmp(name, "PKI"))
        return g_pki;
    if (!strcmp(name, "STORE"))
        return g_store;
    if (!strcmp(name, "STORE2"))
        return g_store2;
    return getenv(name);
}

static int load(const char *channel, struct config **cfg, struct config_errors *errs)
{
    char text[4096];
    snprintf(text, sizeof text,
             "global = { hostname = \"t\"; var_dir = \"/tmp\"; }; listeners = ( { name = \"s\";"
             " listen = \"127.0.0.1:1\"; } );\n"
             "channels = (\n%s,\n{ name = \"f\"; type = \"file\"; directory = \"/tmp/none\"; }\n);\n"
             "routes = ( { default = true; chain = [ \"c\", \"f\" ]; } );\n",
             channel);
    struct config_load_opts o = { .kinds = kinds, .env = env_fn };
    return config_load_text_ex("t.conf", text, strlen(text), &o, cfg, errs);
}


#define ID "cert = \"${PKI}/alice.pem\"; key = \"${PKI}/alice.key\"; ca = \"${PKI}/ca.pem\";"

#endif
