/* cms_chan_int: the parsed configuration of a `cms` channel instance, shared by its loader
 * (cms_chan_cfg.c) and its process() (cms_channel.c). Immutable once built: process() runs on
 * several pool threads at once and only reads it. */
#ifndef CMS_CHAN_INT_H
#define CMS_CHAN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <openssl/x509.h>

#include "cms_policy.h"
#include "config.h"

enum cmsch_op {
    CMSCH_DECRYPT = 1u << 0,  /* open enveloped layers we hold a key for */
    CMSCH_VERIFY = 1u << 1,   /* check signed layers */
    CMSCH_STRIP = 1u << 2,    /* remove verified signature layers (else a signed-only message
                                 passes as it came, with its status) */
    CMSCH_SIGN = 1u << 3,     /* sign as the MTA */
    CMSCH_ENCRYPT = 1u << 4,  /* encrypt to the recipient's (or the peer's) certificate */
    CMSCH_TRIPLE = 1u << 5,   /* sign, encrypt, sign again (RFC 2634 1.1 / STANAG 4406) */
};

enum cmsch_keyless { CMSCH_KEYLESS_HOLD, CMSCH_KEYLESS_RETURN, CMSCH_KEYLESS_CLEAR };
enum cmsch_nokey { CMSCH_NOKEY_PASS, CMSCH_NOKEY_HOLD };
enum cmsch_badsig { CMSCH_BADSIG_TAG, CMSCH_BADSIG_HOLD, CMSCH_BADSIG_RETURN };
enum cmsch_select {
    CMSCH_SELECT_ALL,
    CMSCH_SELECT_RECIPIENTS,       /* by recipient address (globs) */
    CMSCH_SELECT_KEYWORD,          /* a keyword in the Subject, removed */
    CMSCH_SELECT_HEADER,           /* a header field an earlier stage set (a rules decision), removed */
    CMSCH_SELECT_CLASSIFICATION,   /* the message label's classification at least a minimum */
};

struct cmsch_conf {
    unsigned ops;                    /* enum cmsch_op bits */
    struct cms_policy *policy;       /* owned: signer, keys, anchors, CRLs, algorithms */
    bool has_signer;
    X509 *peer_cert;                 /* owned or NULL: every selected recipient gets this one */
    STACK_OF(X509) *archive;         /* owned or NULL: also encrypted to these */
    char *store;                     /* owned or NULL: certificate store (lookup, harvest) */
    bool harvest;
    enum cmsch_keyless keyless;
    enum cmsch_nokey nokey;
    enum cmsch_badsig badsig;
    enum cmsch_select select;
    char **select_rcpts;             /* owned: fnmatch globs (CMSCH_SELECT_RECIPIENTS) */
    size_t n_select_rcpts;
    char *keyword;                   /* owned (CMSCH_SELECT_KEYWORD) */
    char *select_header;             /* owned (CMSCH_SELECT_HEADER) */
    long classification_min;         /* CMSCH_SELECT_CLASSIFICATION */
    bool status_header;
    char *header_name;               /* owned */
    bool status_footer;
    bool detached;                   /* sign-only output as multipart/signed */
    int revocation;                  /* enum cms_revocation */
    uint32_t refresh_interval;       /* seconds between CRL/OCSP refreshes (store); 0 = never */
    uint32_t refresh_timeout;        /* seconds per fetch */
    char *ocsp_url;                  /* owned or NULL (= each certificate's AIA responder) */
    /* EquivalentLabels in our signatures (cms_chan_equiv.c): fixed labels from the
     * configuration (canonical ESSSecurityLabel DER) and/or the label before the shaper's */
    unsigned char **equiv;           /* owned, n_equiv entries, each owned */
    size_t *equiv_len;               /* owned */
    size_t n_equiv;
    bool equiv_from_shaper;
    struct cmsch_live *live;         /* owned */
    /* the daemon registry's families (cms_chan_metrics.c), set by the metrics hook before the
     * configuration is used; NULL = not counted (check-config, tests without a registry) */
    struct metrics_family *m_ops;
    struct metrics_family *m_decisions;
};

/* Run-time state (cms_chan_live.c): the current policy and the revocation refresh schedule. */
struct cmsch_pol;
struct cmsch_live {
    pthread_mutex_t lock;
    struct cmsch_pol *cur;           /* owned (one reference) */
    int64_t next_refresh;            /* unix seconds; 0 = at the first message */
    bool refreshing;
    bool failed;                     /* the last refresh failed */
    char why[200];
};

int cmsch_live_create(struct cmsch_conf *c);
void cmsch_live_free(struct cmsch_live *l);
/* The policy to use for one group (a reference; give it back with put), and whether the last
 * revocation refresh failed (why). */
struct cmsch_pol *cmsch_live_get(const struct cmsch_conf *c, bool *revocation_failed, char *why,
                                 size_t whylen);
const struct cms_policy *cmsch_pol_policy(const struct cmsch_pol *p);
/* Whether the peer certificate passed this policy's checks (anchors, revocation data, key use):
 * a policy's data does not change, so only the validity period needs checking again. */
bool cmsch_pol_peer_ok(const struct cmsch_pol *p);
void cmsch_pol_set_peer_ok(struct cmsch_pol *p);
void cmsch_live_put(const struct cmsch_conf *c, struct cmsch_pol *p);
/* Runs the revocation refresh when it is due (pool thread; one at a time). */
void cmsch_live_maybe_refresh(const struct cmsch_conf *c, int64_t now);

/* The Subject keyword kw removed (the user's request is not for the recipient to see): 1 with
 * *out the new message when it was there, 0 when not (*out NULL), or MG_E*. */
int cmsch_take_keyword(const char *kw, const unsigned char *data, size_t len,
                       unsigned char **out, size_t *outlen);
/* Every field called name removed (an instruction to this channel, not for the recipient):
 * *out the new message when there was one (else NULL); returns 1 when one of them asked for
 * encryption ("yes", "true", "1", "encrypt"), 0 when not, or MG_E*. */
int cmsch_take_header(const char *name, const unsigned char *data, size_t len,
                      unsigned char **out, size_t *outlen);
/* The security-classification of an ESSSecurityLabel (DER, from outside: every length is
 * checked), or -1 when it has none or is no such label. */
long cmsch_label_classification(const unsigned char *d, size_t len);

/* ---- EquivalentLabels (cms_chan_equiv.c) ---- */
#define CMSCH_EQUIV_MAX 65536        /* bytes of one label */
#define CMSCH_EQUIV_MAX_LABELS 16    /* labels from the configuration */
/* The canonical DER (*out, caller frees) of an ESSSecurityLabel from outside (strictly
 * decoded, every length checked): 0, MG_EPARSE (no such label) or MG_ENOMEM. */
int cmsch_equiv_canon(const unsigned char *d, size_t len, unsigned char **out, size_t *outlen);
/* The EquivalentLabels DER (a SEQUENCE OF ESSSecurityLabel) of n labels; n = 0 gives *out
 * NULL. Returns 0, MG_EPARSE (a label that does not decode) or MG_ENOMEM. */
int cmsch_equiv_build(const unsigned char *const *labels, const size_t *lens, size_t n,
                      unsigned char **out, size_t *outlen);
/* The EquivalentLabels for a signature labelled label: the configured ones (but label itself)
 * and, with equiv_from_shaper, other (the label before or after the shaper's conversion) when
 * it is an ESSSecurityLabel and differs. *out NULL when there are none; *n_conf and *n_shaper
 * say how many came from where. Returns 0 or MG_ENOMEM. */
int cmsch_equiv_for(const struct cmsch_conf *c, const unsigned char *label, size_t label_len,
                    const unsigned char *other, size_t other_len, unsigned char **out,
                    size_t *outlen, size_t *n_conf, size_t *n_shaper);

/* ---- metrics (cms_chan_metrics.c) ---- */
struct metrics;
struct channel_result;
/* channel_kind.metrics: registers mixgate_cms_operations_total and
 * mixgate_cms_decisions_total in m for conf. */
int cmsch_metrics_register(void *conf, struct metrics *m);
/* Counts what r's audit records say this group had done (pool thread; thread-safe). */
void cmsch_metrics_count(const struct cmsch_conf *c, const char *channel,
                         const struct channel_result *r);

void cmsch_conf_free(struct cmsch_conf *c);
int cmsch_configure(const struct config *cfg, const struct config_channel *ch, void **conf,
                    struct config_errors *errs);
void cmsch_conf_dump(const void *conf, FILE *f);

#endif
