/* mixer_channel: the `mixer` processing channel kind: RFC 2156 / 2157 / 6477 conversion of a
 * message group between the Internet and X.400 worlds with the mixer library (docs/mixer.md).
 * See channel.h for the interface. */
#ifndef MIXER_CHANNEL_H
#define MIXER_CHANNEL_H

#include "channel.h"

extern const struct channel_kind mixer_channel_kind;

#endif
