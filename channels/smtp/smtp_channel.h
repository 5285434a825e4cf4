/* smtp_channel: the `smtp` channel kind (delivery over SMTP to a smart host or by MX), with its
 * connection pool per instance. See channel.h for the interface. */
#ifndef SMTP_CHANNEL_H
#define SMTP_CHANNEL_H

#include "channel.h"

extern const struct channel_kind smtp_channel_kind;

/* Destination records an instance holds (tests: they are freed when idle). */
size_t smtp_channel_destinations(const void *inst);

#endif
