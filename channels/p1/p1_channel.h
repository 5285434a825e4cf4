/* p1_channel: the `p1` delivery channel kind (X.400 P1 to the route's x400 peer). */
#ifndef P1_CHANNEL_H
#define P1_CHANNEL_H

#include "channel.h"

extern const struct channel_kind p1_channel_kind;

#endif
