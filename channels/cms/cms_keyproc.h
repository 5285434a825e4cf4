/* cms_keyproc: the key process. Private keys live in a separate process that mixgated starts
 * (fork, before it loads its configuration or opens any socket) and talks to over a
 * socketpair with a small typed protocol, the way OpenSMTPD keeps TLS keys out of its network
 * process: the network-facing process never holds key bytes, so a parser bug there cannot read
 * a key. The key process answers private-key operations only (RSA private decrypt/encrypt as
 * used for key transport and PKCS#1 signatures, ECDSA signing of a digest, ECDH derivation for
 * key agreement); it refuses malformed requests.
 *
 * Bootstrap: mixgated calls cms_keyproc_spawn() and the fd of its end of the socketpair is
 * published as MIXGATE_KEYPROC_FD in its environment (like systemd's LISTEN_FDS): the cms
 * channel's configure() then loads each key through it (cms_keyproc_load_key) and gets back an
 * EVP_PKEY that holds only the public key and a dedicated connection to the key process (passed
 * with SCM_RIGHTS), over which OpenSSL's private-key operations are proxied. Without the
 * variable (mixgate check-config, tests) keys are loaded in process as before.
 *
 * Wire format (all integers big-endian). Request: u8 version (1), u8 type, u16 zero, u32 body
 * length (<= CMS_KEYPROC_MAX_BODY), body. Response: u8 version, u8 status, u16 zero, u32 body
 * length, body (the result, or a one-line reason). Bodies by type:
 *   LOAD          u16 n, path[n], u16 m, passphrase file path[m] (m may be 0); bootstrap only.
 *                 The path is a key file, or a PKCS#11 URI (the key stays in the HSM; the
 *                 passphrase file holds the PIN).
 *                 Answer: SubjectPublicKeyInfo DER, and the new connection's fd (SCM_RIGHTS).
 *   RSA_PRIV_DEC  u32 padding (1 = PKCS#1 v1.5, 3 = none), ciphertext        (key connections)
 *   RSA_PRIV_ENC  u32 padding (1 = PKCS#1 v1.5, 3 = none), data to sign
 *   ECDSA_SIGN    digest (1..64 bytes); answer: DER ECDSA-Sig-Value
 *   ECDH          the peer's SubjectPublicKeyInfo DER; answer: the shared secret */
#ifndef CMS_KEYPROC_H
#define CMS_KEYPROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <openssl/evp.h>

#define CMS_KEYPROC_ENV "MIXGATE_KEYPROC_FD"
#define CMS_KEYPROC_VERSION 1
#define CMS_KEYPROC_HDR 8
#define CMS_KEYPROC_MAX_BODY 16384
#define CMS_KEYPROC_MAX_PATH 4095
#define CMS_KEYPROC_NICE 10          /* the key process yields to the daemon's loop */

enum cms_keyproc_type {
    CMS_KEYPROC_LOAD = 1,
    CMS_KEYPROC_RSA_PRIV_DEC = 2,
    CMS_KEYPROC_RSA_PRIV_ENC = 3,
    CMS_KEYPROC_ECDSA_SIGN = 4,
    CMS_KEYPROC_ECDH = 5,
};

enum cms_keyproc_status { CMS_KEYPROC_OK = 0, CMS_KEYPROC_REFUSED = 1, CMS_KEYPROC_FAILED = 2 };

/* One parsed request; the pointers point into the buffer given to the parser. */
struct cms_keyproc_req {
    enum cms_keyproc_type type;
    uint32_t padding;               /* RSA_* */
    const unsigned char *data;      /* RSA_*, ECDSA_SIGN, ECDH */
    size_t len;
    char path[CMS_KEYPROC_MAX_PATH + 1];     /* LOAD */
    char passfile[CMS_KEYPROC_MAX_PATH + 1]; /* LOAD, "" = none */
};

/* The body length announced by a header (8 bytes): 0 and *body_len set, or MG_EPROTO (wrong
 * version, nonzero reserved bits) / MG_ETOOBIG (over CMS_KEYPROC_MAX_BODY). */
int cms_keyproc_parse_header(const unsigned char hdr[CMS_KEYPROC_HDR], uint8_t *type,
                             size_t *body_len);
/* Parses one whole request (header and body, exactly len bytes): 0, MG_EPROTO, MG_ETOOBIG or
 * MG_EPARSE (a body that does not match its type). Never trusts a length. Pure. */
int cms_keyproc_parse_request(const unsigned char *buf, size_t len, struct cms_keyproc_req *out);
/* Reads or writes (writing = 1) exactly n bytes on the key process socket, retrying on EINTR:
 * 0 or MG_EIO (closed, or an error). Used by both ends. */
int cms_keyproc_io_full(int fd, void *buf, size_t n, int writing);
/* Encodes a header into hdr. */
void cms_keyproc_put_header(unsigned char hdr[CMS_KEYPROC_HDR], uint8_t type_or_status,
                            size_t body_len);

/* mixgated: forks the key process; *fd is the daemon's end (published as CMS_KEYPROC_ENV),
 * *pid the child. The child never returns: it serves until the daemon's end closes. Returns 0
 * or MG_EIO. */
int cms_keyproc_spawn(int *fd, pid_t *pid);
/* mixgated, whenever a configuration needs the key process (at start, or at a SIGHUP reload
 * once pool threads run, where a fork that runs on without exec could inherit a lock another
 * thread held): forks and executes exe (mixgated itself, "/proc/self/exe") with the arguments
 * `flag FD`, where FD is the child's end of the socketpair and the only fd it keeps open
 * besides 0-2. The program must then call cms_keyproc_main(FD). *fd and *pid as for spawn.
 * Returns 0 or MG_EIO. */
int cms_keyproc_spawn_exec(const char *exe, const char *flag, int *fd, pid_t *pid);
/* The key process started by spawn_exec: closes every other fd above 2, ignores the daemon's
 * signals, lowers its priority by CMS_KEYPROC_NICE and serves fd (see cms_keyproc_serve);
 * returns when it is done (then _exit). */
void cms_keyproc_main(int fd);
/* mixgated at exit, after every configuration is freed: closes fd, waits for the child. */
void cms_keyproc_stop(int fd, pid_t pid);
/* A key process no configuration will load keys from any more: closes the bootstrap fd only;
 * the process ends by itself once the keys it handed out are freed (the old configuration's
 * last message done). Reap it with cms_keyproc_reaped. */
void cms_keyproc_retire(int fd);
/* 1 when the child pid has ended (and is reaped now), 0 when it still runs. Never blocks. */
int cms_keyproc_reaped(pid_t pid);
/* The key process itself (the child of spawn; exposed for tests): serves until fd and every
 * key connection it handed out are closed. */
void cms_keyproc_serve(int fd);

/* The daemon side: the fd published in the environment, or -1 when there is no key process. */
int cms_keyproc_env_fd(void);
/* Asks the key process to load the key at path (passfile may be NULL) and returns a proxy key:
 * public key here, private operations over its own connection (thread-safe; the connection
 * closes with the key). why gets the reason on failure. Returns 0, MG_EIO (the key process is
 * gone), MG_ENOKEY (it cannot load that key) or MG_ENOMEM. */
int cms_keyproc_load_key(int fd, const char *path, const char *passfile, EVP_PKEY **out,
                         char *why, size_t whylen);

#endif
