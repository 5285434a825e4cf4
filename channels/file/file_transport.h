/* file_transport: the `file` channel kind (delivery into a directory, one file per message and
 * recipient). See channel.h for the interface. */
#ifndef FILE_TRANSPORT_H
#define FILE_TRANSPORT_H

#include "channel.h"

extern const struct channel_kind file_channel_kind;

/* The directory of a configured file channel (NULL when not configured through the kind). */
const char *file_transport_directory(const struct config_channel *ch);

#endif
