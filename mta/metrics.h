/* metrics: a registry of counters, gauges and histograms rendered in the Prometheus text
 * exposition format (version 0.0.4), and the parser of the scrape's HTTP request line.
 *
 * One registry per daemon (passed explicitly). Families are registered at load time (a
 * channel kind's configure step may register its own, e.g. label decisions or crypto
 * operations); series are found or made by label values and updated from any thread.
 *
 *   struct metrics_family *f;
 *   static const char *const labels[] = { "channel", "decision" };
 *   metrics_family(m, "mixgate_label_decisions_total", "Label decisions by outcome.",
 *                  METRICS_COUNTER, labels, 2, NULL, 0, &f);
 *   metrics_inc(f, (const char *[]){ "shaper", "access-denied" }, 1);
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include "mg_buf.h"

struct metrics;
struct metrics_family;

enum metrics_kind { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

int metrics_create(struct metrics **out);
void metrics_free(struct metrics *m);

/* Registers a family, or returns the one already registered under name when kind and label
 * names agree (MG_EEXIST when they do not). Names follow Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]*,
 * label names [a-zA-Z_][a-zA-Z0-9_]* not starting with "__" and not "le"; counters end in
 * "_total". buckets (histograms only; NULL = METRICS_LATENCY_BUCKETS) are upper bounds in
 * increasing order. *out belongs to m. */
int metrics_family(struct metrics *m, const char *name, const char *help, enum metrics_kind kind,
                   const char *const *label_names, size_t nlabels, const double *buckets,
                   size_t nbuckets, struct metrics_family **out);

/* Updates the series with these label values (as many as the family has label names; made
 * on first use). Counters only go up (a negative v is ignored). Thread-safe. 0 or MG_ENOMEM /
 * MG_EINVAL (wrong kind). */
int metrics_inc(struct metrics_family *f, const char *const *label_values, double v);
int metrics_set(struct metrics_family *f, const char *const *label_values, double v);
int metrics_observe(struct metrics_family *f, const char *const *label_values, double v);
/* Drops every series of f (gauges rebuilt at each scrape from the daemon's state). */
void metrics_clear(struct metrics_family *f);

/* Appends the exposition of every family, in registration order. */
int metrics_render(struct metrics *m, struct mg_buf *out);

/* Seconds: 5 ms .. 1 h, for delivery latency. */
extern const double METRICS_LATENCY_BUCKETS[];
extern const size_t METRICS_LATENCY_NBUCKETS;

/* The request head of a scrape (outside input): "GET /metrics HTTP/1.1\r\n...\r\n\r\n".
 * 0 with the path (without query) in path; MG_EINCOMPLETE (no blank line yet), MG_ETOOBIG
 * (a head over METRICS_HTTP_MAX_HEAD), MG_ENOTSUP (a method other than GET or HEAD; *head_only
 * says HEAD), MG_EPARSE (anything malformed). Never reads past len. */
#define METRICS_HTTP_MAX_HEAD 8192
int metrics_http_parse(const char *buf, size_t len, char *path, size_t pathlen, int *head_only);

#endif
