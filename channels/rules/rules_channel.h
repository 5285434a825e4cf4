/* rules_channel: the `rules` processing channel kind (operator policy rules; docs/rules.md).
 * See channel.h for the interface. */
#ifndef RULES_CHANNEL_H
#define RULES_CHANNEL_H

#include "channel.h"

extern const struct channel_kind rules_channel_kind;

#endif
