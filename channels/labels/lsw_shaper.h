/* lsw_shaper: the `shaper` processing channel kind (see lsw_shaper.c for its options). */
#ifndef LSW_SHAPER_H
#define LSW_SHAPER_H

#include "channel.h"

extern const struct channel_kind shaper_channel_kind;

#endif
