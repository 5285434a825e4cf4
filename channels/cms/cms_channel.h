/* cms_channel: the `cms` processing channel kind: S/MIME and STANAG 4406 triple wrap in the
 * message path (decrypt, verify, strip, sign as the MTA, encrypt per recipient by policy), every
 * decision an audit record. See docs/crypto.md ("The cms channel"). */
#ifndef CMS_CHANNEL_H
#define CMS_CHANNEL_H

#include "channel.h"

extern const struct channel_kind cms_channel_kind;
/* The same kind name, for a probe load (channels_config_needs_keys): configure() only notes, as
 * a non-NULL conf, that the channel names a private key; it loads no key and nothing else. */
extern const struct channel_kind cms_channel_probe_kind;

#endif
