/* smtp_rate: connections per client address per minute, for the listener's connection rate
 * limit. A fixed table (no growth under a flood of addresses): an address that cannot get a
 * slot takes the one used least recently, so the limit may forget a quiet address but never
 * costs memory. No I/O, no clock of its own (the caller passes now). */
#ifndef SMTP_RATE_H
#define SMTP_RATE_H

#include <stdint.h>

#define SMTP_RATE_SLOTS 1024
#define SMTP_RATE_WINDOW_MS 60000

struct smtp_rate_slot {
    char addr[48];       /* "" = free */
    uint64_t start_ms;   /* start of the current window */
    uint64_t last_ms;    /* last connection (for replacement) */
    uint32_t count;      /* connections in the current window */
    uint32_t prev;       /* connections in the window before */
};

struct smtp_rate {
    struct smtp_rate_slot slot[SMTP_RATE_SLOTS];
};

/* Counts a connection from addr at now_ms; returns 1 if it is within limit connections per
 * minute (a sliding window: the previous minute's count weighted by how much of it still
 * overlaps), 0 if over. limit 0 = no limit (nothing counted). A refused connection counts too:
 * a client that keeps hammering stays refused. */
int smtp_rate_allow(struct smtp_rate *r, const char *addr, uint64_t now_ms, unsigned limit);

#endif
