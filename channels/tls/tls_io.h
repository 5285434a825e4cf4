/* tls_io: TLS for a libuv stream through OpenSSL memory BIOs, shared by the SMTP server and
 * client (STARTTLS) and usable by any other channel.
 *
 * It does no I/O itself: the owner of the uv_tcp_t passes received ciphertext to
 * tls_io_feed(), which returns the decrypted plaintext; plaintext to send goes into
 * tls_io_write(); after either call the owner drains tls_io_take_output() and uv_write()s the
 * ciphertext. That keeps the module free of callbacks (no re-entrancy into the session while it
 * is inside a read callback) and lets tests and fuzzers drive it without sockets.
 *
 * A context (tls_io_ctx) holds the OpenSSL SSL_CTX: create one per listener or per peer
 * configuration and share it between connections. Everything runs on one thread per tls_io. */
#ifndef TLS_IO_H
#define TLS_IO_H

#include <stddef.h>

#include "mg_buf.h"

struct tls_io_ctx;
struct tls_io;

/* Server context from PEM files (the certificate file may hold the chain). Protocol floor is
 * TLS 1.2. Returns 0, MG_ENOKEY (files unreadable or key does not match), MG_ENOMEM. */
int tls_io_ctx_server_create(struct tls_io_ctx **out, const char *cert_file, const char *key_file);

/* Client context. verify = 1: the handshake fails unless the peer's chain verifies against
 * ca_file (PEM; NULL = the system store) and matches the host name given to tls_io_create.
 * verify = 0: any certificate is accepted (the result is still recorded, see
 * tls_io_peer_verified). Returns 0, MG_ENOKEY (ca_file unreadable), MG_ENOMEM. */
int tls_io_ctx_client_create(struct tls_io_ctx **out, int verify, const char *ca_file);
void tls_io_ctx_free(struct tls_io_ctx *ctx);

/* One TLS connection. is_server selects the role; for a client, host (may be NULL) is sent
 * as SNI and, when the context verifies, checked against the certificate. The context must
 * outlive the connection. A client queues its ClientHello at once: drain the output. */
int tls_io_create(struct tls_io **out, struct tls_io_ctx *ctx, int is_server, const char *host);
void tls_io_free(struct tls_io *t);

/* Pass len bytes of received ciphertext. Decrypted application data is appended to plain
 * (which may hit its size limit: MG_ETOOBIG). Returns 0 (more input needed or data produced),
 * MG_EVERIFY (peer certificate refused), MG_ECRYPTO (handshake or record failure; the alert is
 * in the output to send), MG_ECLOSED (peer sent close_notify). Always drain the output after. */
int tls_io_feed(struct tls_io *t, const void *data, size_t len, struct mg_buf *plain);

/* Encrypt len bytes of plaintext into the output. Before the handshake completes the data is
 * held and sent once it does. Returns 0, MG_ECRYPTO or MG_ENOMEM. */
int tls_io_write(struct tls_io *t, const void *data, size_t len);

/* Queue a close_notify alert. */
void tls_io_shutdown(struct tls_io *t);

/* Ciphertext waiting to be sent: bytes pending, and the hand-over. take_output returns a
 * malloc()ed buffer the caller frees (typically after uv_write completes), or NULL if none. */
size_t tls_io_output_pending(const struct tls_io *t);
unsigned char *tls_io_take_output(struct tls_io *t, size_t *len);

/* 1 once the handshake has completed. */
int tls_io_handshake_done(const struct tls_io *t);
/* After the handshake: 1 if the peer's certificate verified (chain and, for a client with a
 * host name, the name), else 0. */
int tls_io_peer_verified(const struct tls_io *t);
/* Negotiated protocol and cipher names (static strings; "" before the handshake). */
const char *tls_io_version(const struct tls_io *t);
const char *tls_io_cipher(const struct tls_io *t);
/* Human-readable reason of the last failure (certificate verification or OpenSSL error);
 * "" if none. Valid until the next call on t. */
const char *tls_io_last_error(const struct tls_io *t);

#endif
