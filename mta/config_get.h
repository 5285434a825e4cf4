/* config_get: the configuration loader's toolkit, shared by the files of the config module
 * (config.c loads the sections; the kinds' own options use config_errors_addf and
 * config_channel_check_keys): the error list, the notations (durations, sizes, CIDR), and the
 * typed getters over libconfig settings that report every problem as file:line with
 * did-you-mean. Not part of the module's interface (config.h). */
#ifndef CONFIG_GET_H
#define CONFIG_GET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define NAME_MAX_LEN 64
#define DOMAIN_MAX_LEN 253
#define MAX_LINES 65535 /* libconfig 1.5 keeps source lines in an unsigned short */
#define HOST_BITS 1
#define BAD_PORT 2

struct loader {
    const char *file;
    const struct channel_kind *const *kinds; /* registry, or the name-only list below */
    bool check_options;        /* a real registry: call each kind's configure() */
    struct config_errors errs;
    int *bad_lines;            /* lines where expansion failed: later errors there are noise */
    size_t n_bad;
    struct config *cfg;
    bool oom;
};

typedef int (*scaled_fn)(const char *, uint64_t, uint64_t *);

/* A CIDR network: 0, HOST_BITS (host bits set), or another nonzero value (not a network). */
int config_get_cidr_parse(const char *s, struct config_cidr *out);

/* Adds "file:line: message" unless the line already failed expansion (then it is noise). */
void config_get_err(struct loader *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool config_get_line_is_bad(const struct loader *L, int line);
int config_get_line(const config_setting_t *s);
char *config_get_strdup(struct loader *L, const char *s);
void *config_get_calloc(struct loader *L, size_t n, size_t sz);
unsigned config_get_edit_distance(const char *a, const char *b);
bool config_get_in_list(const char *const *list, const char *s);
void config_get_check_keys_skip(struct loader *L, const config_setting_t *grp, const char *const *keys,
                            const char *const *skip, const char *kind, const char *what);
void config_get_check_keys_except(struct loader *L, const config_setting_t *grp,
                              const char *const *keys, const char *const *skip, const char *what);
void config_get_check_keys(struct loader *L, const config_setting_t *grp, const char *const *keys,
                       const char *kind, const char *what);
const char *config_get_type_word(const config_setting_t *s);
int config_get_str(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                   const char **out);
int config_get_dup(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                   char **out);
int config_get_bool(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                    bool *out);
int config_get_uint(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                    uint64_t min, uint64_t max, uint32_t *out);
int config_get_scaled(struct loader *L, const config_setting_t *g, const char *key,
                      const char *what, uint64_t min, uint64_t max, uint64_t *out, scaled_fn fn,
                      const char *kind, const char *example);
int config_get_dur(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                   uint64_t min, uint64_t max, uint32_t *out);
int config_get_size(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                    uint64_t min, uint64_t max, uint64_t *out);
int config_get_enum(struct loader *L, const config_setting_t *g, const char *key, const char *what,
                    const char *const *names, int *out);
int config_get_strlist(struct loader *L, const config_setting_t *g, const char *key,
                       const char *what, const config_setting_t **out);
bool config_get_valid_name(const char *s);
char *config_get_norm_domain(struct loader *L, const char *s, bool dot_prefix);
int config_get_split_hostport(const char *s, char **host, uint16_t *port, bool *has_port);

/* An OSI selector key ("text", 'hex'H or #decimal) into out. */
void config_get_sel(struct loader *L, const config_setting_t *g, const char *key,
                    const char *what, struct config_sel *out);

/* config_listeners.c: the listeners section; the check that no two share an address. */
void config_listeners_load(struct loader *L, const config_setting_t *g, size_t idx,
                           struct config_listener *l);
void config_listeners_check(struct loader *L);
/* config_peers.c: the peers and routes sections. */
/* After listeners and peers are loaded: each x400 peer's 'listener' names a p1 listener. */
void config_peers_check_listeners(struct loader *L);
void config_peers_load(struct loader *L, const config_setting_t *g, size_t idx,
                       struct config_peer *p);
void config_peers_load_route(struct loader *L, const config_setting_t *g, size_t idx,
                             struct config_route *rt);

/* Names written in the file, in enum order. */
extern const char *const config_log_names[];
extern const char *const config_level_names[];
extern const enum mg_log_level config_level_values[];
extern const char *const config_protocol_names[];
extern const char *const config_peer_type_names[];
extern const char *const config_starttls_names[];
extern const char *const config_dialogue_names[];

/* The loader's files use the short names. */
#ifdef CONFIG_GET_SHORT_NAMES
#define line_is_bad config_get_line_is_bad
#define lerr config_get_err
#define sline config_get_line
#define xstrdup config_get_strdup
#define xcalloc config_get_calloc
#define edit_distance config_get_edit_distance
#define in_list config_get_in_list
#define check_keys_skip config_get_check_keys_skip
#define check_keys_except config_get_check_keys_except
#define check_keys config_get_check_keys
#define type_word config_get_type_word
#define get_str config_get_str
#define get_dup config_get_dup
#define get_bool config_get_bool
#define get_uint config_get_uint
#define get_scaled config_get_scaled
#define get_dur config_get_dur
#define get_size config_get_size
#define get_enum config_get_enum
#define get_strlist config_get_strlist
#define valid_name config_get_valid_name
#define norm_domain config_get_norm_domain
#define split_hostport config_get_split_hostport
#define cidr_parse config_get_cidr_parse
#define load_sel config_get_sel
#define log_names config_log_names
#define level_names config_level_names
#define level_values config_level_values
#define protocol_names config_protocol_names
#define peer_type_names config_peer_type_names
#define starttls_names config_starttls_names
#define dialogue_names config_dialogue_names
#endif

#endif
