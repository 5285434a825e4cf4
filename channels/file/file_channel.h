/* file_channel: the local delivery channel. Writes one file per message and recipient into a
 * directory, atomically (temp file, fsync, rename, fsync directory), so that a reader never
 * sees a partial message and a crash never loses or duplicates one silently. */
#ifndef FILE_CHANNEL_H
#define FILE_CHANNEL_H

#include <stddef.h>

/* Creates dir (and parents) with mode 0750 if missing. */
int file_channel_prepare(const char *dir);

/* Delivers content for one recipient. The file is named "<qid>.<rcpt_index>.eml"; a
 * Return-Path and a Delivered-To header are prepended (as a local delivery agent does).
 * Re-delivery after a crash overwrites the same name, so a recipient never gets two files.
 * On success, the full path is written to path_out (if not NULL). Thread-safe. */
int file_channel_deliver(const char *dir, const char *qid, unsigned rcpt_index,
                         const char *sender, const char *rcpt,
                         const unsigned char *content, size_t len,
                         char *path_out, size_t path_out_len);

/* Delivers an X.400 content for one recipient: "<qid>.<rcpt_index>.ber" holds the content
 * octets exactly as received (BER), "<qid>.<rcpt_index>.txt" the readable envelope summary
 * (written first). Same atomicity and re-delivery rules as above. */
int file_channel_deliver_x400(const char *dir, const char *qid, unsigned rcpt_index,
                              const char *summary, const unsigned char *content, size_t len,
                              char *path_out, size_t path_out_len);

#endif
