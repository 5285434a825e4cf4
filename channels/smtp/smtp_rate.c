/* smtp_rate: per-address connection rate (see smtp_rate.h). */
#include "smtp_rate.h"

#include <stdio.h>
#include <string.h>

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

#define PROBE 8

int smtp_rate_allow(struct smtp_rate *r, const char *addr, uint64_t now_ms, unsigned limit)
{
    if (!limit)
        return 1;
    uint32_t h = hash(addr) % SMTP_RATE_SLOTS;
    struct smtp_rate_slot *use = NULL, *victim = NULL;
    for (int i = 0; i < PROBE && !use; i++) {
        struct smtp_rate_slot *s = &r->slot[(h + (uint32_t)i) % SMTP_RATE_SLOTS];
        if (!strcmp(s->addr, addr))
            use = s;
        else if (!victim || (victim->addr[0] && (!s->addr[0] || s->last_ms < victim->last_ms)))
            victim = s; /* a free slot, else the least recently used */
    }
    if (!use) {
        use = victim;
        memset(use, 0, sizeof *use);
        snprintf(use->addr, sizeof use->addr, "%s", addr);
        use->start_ms = now_ms;
    }
    /* Roll the window forward. */
    if (now_ms >= use->start_ms + 2 * SMTP_RATE_WINDOW_MS) {
        use->prev = 0;
        use->count = 0;
        use->start_ms = now_ms;
    } else if (now_ms >= use->start_ms + SMTP_RATE_WINDOW_MS) {
        use->prev = use->count;
        use->count = 0;
        use->start_ms += SMTP_RATE_WINDOW_MS;
    }
    use->last_ms = now_ms;
    if (use->count < UINT32_MAX)
        use->count++;
    uint64_t into = now_ms > use->start_ms ? now_ms - use->start_ms : 0;
    /* Estimated connections in the last minute: this window's plus the part of the previous
     * one the sliding minute still covers. */
    uint64_t est = use->count +
                   ((uint64_t)use->prev * (SMTP_RATE_WINDOW_MS - into) + SMTP_RATE_WINDOW_MS - 1) / SMTP_RATE_WINDOW_MS;
    return est <= limit;
}
