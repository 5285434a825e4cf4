/* dsn: RFC 3464 delivery status notifications, built as plain bytes.
 *
 * Written by hand rather than with GMime: the output is a fixed three-part layout whose every
 * field we control, and building it as a pure function keeps GMime's process-wide
 * initialisation out of the report path. The tests parse the output back with GMime 3. */
#define _GNU_SOURCE /* memmem */
#include "dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_buf.h"
#include "mg_err.h"

#define DEFAULT_MAX_RETURNED (10u << 20)
#define FIELD_MAX 900 /* keeps every generated line below the 998-octet limit of RFC 5322 */

static const char *const action_names[] = {
    [DSN_ACTION_FAILED] = "failed",
    [DSN_ACTION_DELAYED] = "delayed",
    [DSN_ACTION_DELIVERED] = "delivered",
    [DSN_ACTION_RELAYED] = "relayed",
    [DSN_ACTION_EXPANDED] = "expanded",
};

const char *dsn_action_name(enum dsn_action a)
{
    if ((unsigned)a >= sizeof(action_names) / sizeof(action_names[0]))
        return "unknown";
    return action_names[a];
}

int dsn_wanted(unsigned notify, enum dsn_action action)
{
    if (notify == 0)
        notify = MESSAGE_NOTIFY_FAILURE | MESSAGE_NOTIFY_DELAY; /* RFC 3461 4.1 default */
    if (notify & MESSAGE_NOTIFY_NEVER)
        return 0;
    switch (action) {
    case DSN_ACTION_FAILED:
        return (notify & MESSAGE_NOTIFY_FAILURE) != 0;
    case DSN_ACTION_DELAYED:
        return (notify & MESSAGE_NOTIFY_DELAY) != 0;
    case DSN_ACTION_DELIVERED:
    case DSN_ACTION_RELAYED:
    case DSN_ACTION_EXPANDED:
        return (notify & MESSAGE_NOTIFY_SUCCESS) != 0;
    }
    return 0;
}

/* Appends s as one header-safe value: control bytes (CR, LF, ...) become spaces and non-ASCII
 * bytes '?', so text from a remote peer can never start a new header line; cut at FIELD_MAX. */
static int append_safe(struct mg_buf *b, const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n < FIELD_MAX; p++, n++) {
        unsigned char c = *p;
        if (c < 0x20 || c == 0x7f)
            c = ' ';
        else if (c >= 0x80)
            c = '?';
        int rc = mg_buf_append(b, &c, 1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void format_date(int64_t t, char out[64])
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        memset(&tm, 0, sizeof(tm));
        tm.tm_mday = 1;
        tm.tm_year = 70;
        tm.tm_wday = 4;
    }
    /* by hand, not strftime: %a and %b follow the locale, RFC 5322 wants English names */
    snprintf(out, 64, "%s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* RFC 3463 status code: class 2, 4 or 5, then two numbers of 1 to 3 digits. */
static int status_valid(const char *s)
{
    if (!s || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
        return 0;
    const char *p = s + 2;
    for (int part = 0; part < 2; part++) {
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            p++;
            digits++;
        }
        if (digits < 1 || digits > 3)
            return 0;
        if (part == 0 && *p++ != '.')
            return 0;
    }
    return *p == '\0';
}

static const char *default_status(enum dsn_action a)
{
    switch (a) {
    case DSN_ACTION_FAILED:
        return "5.0.0";
    case DSN_ACTION_DELAYED:
        return "4.0.0";
    default:
        return "2.0.0";
    }
}

/* ORCPT arrives as "addr-type;xtext" (RFC 3461); the report carries it decoded. */
static int append_orcpt(struct mg_buf *b, const char *orcpt)
{
    const char *semi = strchr(orcpt, ';');
    char tmp[MESSAGE_ADDR_MAX + 1];
    size_t n = 0;
    if (!semi) {
        /* no address type given: treat as an RFC 822 address */
        int rc = mg_buf_append(b, "rfc822;", 7);
        if (rc != 0)
            return rc;
        semi = orcpt - 1;
    } else {
        size_t tl = (size_t)(semi - orcpt);
        if (tl >= sizeof(tmp))
            tl = sizeof(tmp) - 1;
        memcpy(tmp, orcpt, tl);
        tmp[tl] = '\0';
        int rc = append_safe(b, tmp);
        if (rc == 0)
            rc = mg_buf_append(b, ";", 1);
        if (rc != 0)
            return rc;
    }
    for (const char *p = semi + 1; *p && n < sizeof(tmp) - 1; p++) {
        static const char hex[] = "0123456789ABCDEF";
        const char *h1 = p[0] == '+' && p[1] ? strchr(hex, p[1]) : NULL;
        const char *h2 = h1 && p[2] ? strchr(hex, p[2]) : NULL;
        if (h1 && h2) {
            tmp[n++] = (char)(((h1 - hex) << 4) | (h2 - hex));
            p += 2;
        } else {
            tmp[n++] = *p;
        }
    }
    tmp[n] = '\0';
    return append_safe(b, tmp);
}

/* Copies content with every bare LF turned into CRLF (stored content may use either). */
static int append_crlf(struct mg_buf *b, const unsigned char *p, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) {
            int rc = mg_buf_append(b, p + start, i - start);
            if (rc == 0)
                rc = mg_buf_append(b, "\r\n", 2);
            if (rc != 0)
                return rc;
            start = i + 1;
        }
    }
    int rc = mg_buf_append(b, p + start, n - start);
    if (rc == 0 && n > 0 && p[n - 1] != '\n')
        rc = mg_buf_append(b, "\r\n", 2);
    return rc;
}

/* Length of the header section including the empty line that ends it (all when none). */
static size_t header_length(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < n && p[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 3;
    }
    return n;
}

static int is_null_path(const char *s)
{
    return !s || !*s || strcmp(s, "<>") == 0;
}

static int build_body(const struct message *orig, const struct dsn_rcpt *r, size_t n,
                      const unsigned char *content, size_t content_len,
                      const struct dsn_opts *o, const char *boundary, enum dsn_action worst,
                      struct mg_buf *b)
{
    char date[64];
    int rc = 0;
    format_date(o->now, date);
    const char *from = o->from;
    static const char *const subjects[] = {
        [DSN_ACTION_FAILED] = "Delivery Status Notification (Failure)",
        [DSN_ACTION_DELAYED] = "Delivery Status Notification (Delay)",
        [DSN_ACTION_DELIVERED] = "Delivery Status Notification (Success)",
        [DSN_ACTION_RELAYED] = "Delivery Status Notification (Relayed)",
        [DSN_ACTION_EXPANDED] = "Delivery Status Notification (Expanded)",
    };

    /* --- top-level header */
    rc |= mg_buf_append(b, "From: ", 6);
    if (from) {
        rc |= append_safe(b, from);
    } else {
        rc |= mg_buf_append(b, "Mail Delivery System <MAILER-DAEMON@", 36);
        rc |= append_safe(b, o->reporting_mta);
        rc |= mg_buf_append(b, ">", 1);
    }
    rc |= mg_buf_append(b, "\r\nTo: <", 7);
    rc |= append_safe(b, orig->originator);
    rc |= mg_buf_appendf(b, ">\r\nSubject: %s\r\nDate: %s\r\n", subjects[worst], date);
    rc |= mg_buf_appendf(b, "Message-ID: <%s.%lld.dsn@", orig->id, (long long)o->now);
    rc |= append_safe(b, o->reporting_mta);
    rc |= mg_buf_appendf(b, ">\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
                            "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                            "\tboundary=\"%s\"\r\n\r\n"
                            "This is a MIME-encapsulated delivery status notification.\r\n",
                         boundary);

    /* --- part 1: for people */
    rc |= mg_buf_appendf(b, "\r\n--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
                            "Content-Description: Notification\r\n\r\n"
                            "This is the mail system at ", boundary);
    rc |= append_safe(b, o->reporting_mta);
    rc |= mg_buf_append(b, ".\r\n\r\n", 5);
    if (worst == DSN_ACTION_FAILED)
        rc |= mg_buf_appendf(b, "Your message could not be delivered to one or more "
                                "recipients.\r\n");
    else if (worst == DSN_ACTION_DELAYED)
        rc |= mg_buf_appendf(b, "Your message has not been delivered yet to one or more "
                                "recipients; delivery will be retried.\r\n");
    else
        rc |= mg_buf_appendf(b, "Your message was delivered or passed on as requested.\r\n");
    rc |= mg_buf_appendf(b, "Queue id: %s\r\n\r\n", orig->id[0] ? orig->id : "(none)");
    for (size_t i = 0; i < n; i++) {
        const struct message_rcpt *mr = &orig->rcpts[r[i].rcpt];
        rc |= mg_buf_append(b, "<", 1);
        rc |= append_safe(b, mr->addr);
        rc |= mg_buf_appendf(b, ">: %s\r\n", dsn_action_name(r[i].action));
        if (r[i].diagnostic) {
            /* on its own line: address and reply together could pass the line limit */
            rc |= mg_buf_append(b, "    ", 4);
            rc |= append_safe(b, r[i].diagnostic);
            rc |= mg_buf_append(b, "\r\n", 2);
        }
    }

    /* --- part 2: message/delivery-status (RFC 3464 section 2) */
    rc |= mg_buf_appendf(b, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n"
                            "Content-Description: Delivery report\r\n\r\n"
                            "Reporting-MTA: dns; ", boundary);
    rc |= append_safe(b, o->reporting_mta);
    rc |= mg_buf_append(b, "\r\n", 2);
    if (orig->envid) {
        rc |= mg_buf_append(b, "Original-Envelope-Id: ", 22);
        rc |= append_safe(b, orig->envid);
        rc |= mg_buf_append(b, "\r\n", 2);
    }
    if (orig->arrival) {
        format_date(orig->arrival, date);
        rc |= mg_buf_appendf(b, "Arrival-Date: %s\r\n", date);
    }
    for (size_t i = 0; i < n; i++) {
        const struct message_rcpt *mr = &orig->rcpts[r[i].rcpt];
        rc |= mg_buf_append(b, "\r\n", 2);
        if (mr->orcpt) {
            rc |= mg_buf_append(b, "Original-Recipient: ", 20);
            rc |= append_orcpt(b, mr->orcpt);
            rc |= mg_buf_append(b, "\r\n", 2);
        }
        rc |= mg_buf_append(b, "Final-Recipient: rfc822; ", 25);
        rc |= append_safe(b, mr->addr);
        rc |= mg_buf_appendf(b, "\r\nAction: %s\r\nStatus: %s\r\n", dsn_action_name(r[i].action),
                             status_valid(r[i].status) ? r[i].status
                                                       : default_status(r[i].action));
        if (r[i].remote_mta) {
            rc |= mg_buf_append(b, "Remote-MTA: dns; ", 17);
            rc |= append_safe(b, r[i].remote_mta);
            rc |= mg_buf_append(b, "\r\n", 2);
        }
        if (r[i].diagnostic) {
            /* "smtp" when the text is an SMTP reply (three digits first), else our own type */
            const char *d = r[i].diagnostic;
            int smtp = d[0] >= '2' && d[0] <= '5' && d[1] >= '0' && d[1] <= '9' && d[2] >= '0' &&
                       d[2] <= '9' && (d[3] == ' ' || d[3] == '-' || d[3] == '\0');
            rc |= mg_buf_appendf(b, "Diagnostic-Code: %s; ", smtp ? "smtp" : "X-mixgate");
            rc |= append_safe(b, d);
            rc |= mg_buf_append(b, "\r\n", 2);
        }
        if (r[i].last_attempt) {
            format_date(r[i].last_attempt, date);
            rc |= mg_buf_appendf(b, "Last-Attempt-Date: %s\r\n", date);
        }
        if (r[i].action == DSN_ACTION_DELAYED && r[i].will_retry_until) {
            format_date(r[i].will_retry_until, date);
            rc |= mg_buf_appendf(b, "Will-Retry-Until: %s\r\n", date);
        }
    }

    /* --- part 3: the returned content (Internet messages only: an X.400 content cannot be
     * carried as message/rfc822 and is left out, which RFC 3464 allows) */
    if (content && content_len && orig->content_type == MESSAGE_CONTENT_RFC5322) {
        size_t max = o->max_returned ? o->max_returned : DEFAULT_MAX_RETURNED;
        int full = orig->ret == MESSAGE_RET_FULL && content_len <= max;
        size_t take = full ? content_len : header_length(content, content_len);
        rc |= mg_buf_appendf(b, "\r\n--%s\r\nContent-Type: %s\r\n"
                                "Content-Description: %s\r\n\r\n",
                             boundary, full ? "message/rfc822" : "text/rfc822-headers",
                             full ? "Returned message" : "Returned message headers");
        rc |= append_crlf(b, content, take);
    }
    rc |= mg_buf_appendf(b, "\r\n--%s--\r\n", boundary);
    /* every appender returns 0 or a negative code; a nonzero OR means one of them failed */
    return rc ? MG_ENOMEM : 0;
}

int dsn_build(const struct message *orig, const struct dsn_rcpt *r, size_t n,
              const void *content, size_t content_len, const struct dsn_opts *opts,
              struct message **out_msg, unsigned char **out_content, size_t *out_len)
{
    if (!orig || (!r && n) || !opts || !opts->reporting_mta || !*opts->reporting_mta ||
        !out_msg || !out_content || !out_len || (!content && content_len))
        return MG_EINVAL;
    if (opts->priority < MESSAGE_PRIORITY_MIN || opts->priority > MESSAGE_PRIORITY_MAX)
        return MG_EINVAL;
    *out_msg = NULL;
    *out_content = NULL;
    *out_len = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].rcpt >= orig->nrcpts || (unsigned)r[i].action > DSN_ACTION_EXPANDED)
            return MG_EINVAL;
    /* never a report about a report (or about anything with a null reverse path) */
    if (is_null_path(orig->originator))
        return 0;

    /* keep only the recipients whose NOTIFY asks for this action */
    struct dsn_rcpt *keep = n ? calloc(n, sizeof(*keep)) : NULL;
    size_t nk = 0;
    if (n && !keep)
        return MG_ENOMEM;
    enum dsn_action worst = DSN_ACTION_DELIVERED;
    for (size_t i = 0; i < n; i++) {
        if (!dsn_wanted(orig->rcpts[r[i].rcpt].notify, r[i].action))
            continue;
        keep[nk++] = r[i];
        if (r[i].action == DSN_ACTION_FAILED)
            worst = DSN_ACTION_FAILED;
        else if (r[i].action == DSN_ACTION_DELAYED && worst != DSN_ACTION_FAILED)
            worst = DSN_ACTION_DELAYED;
        else if (nk == 1 && (r[i].action == DSN_ACTION_RELAYED ||
                             r[i].action == DSN_ACTION_EXPANDED))
            worst = r[i].action;
    }
    if (nk == 0) {
        free(keep);
        return 0;
    }

    /* A boundary that does not occur in the returned content. */
    char boundary[96];
    for (unsigned k = 0;; k++) {
        snprintf(boundary, sizeof(boundary), "=_mixgate-dsn-%s-%lld-%u", orig->id,
                 (long long)opts->now, k);
        if (!content || !memmem(content, content_len, boundary, strlen(boundary)))
            break;
    }

    struct mg_buf b;
    mg_buf_init(&b, 0);
    struct message *m = message_create();
    int rc = m ? 0 : MG_ENOMEM;
    if (rc == 0)
        rc = build_body(orig, keep, nk, content, content_len, opts, boundary, worst, &b);
    free(keep);
    if (rc == 0)
        rc = message_add_rcpt(m, orig->originator, NULL, MESSAGE_NOTIFY_NEVER, NULL);
    if (rc == 0)
        rc = message_set_received(m, opts->reporting_mta, "DSN");
    /* the report returns (part of) the content, so it carries the original's label */
    if (rc == 0)
        rc = message_set_label(m, orig->label, orig->label_len);
    if (rc != 0) {
        mg_buf_free(&b);
        message_free(m);
        return rc;
    }
    m->priority = opts->priority;
    m->content_type = MESSAGE_CONTENT_RFC5322;
    m->ret = MESSAGE_RET_HDRS;
    *out_content = mg_buf_steal(&b, out_len);
    *out_msg = m;
    return 0;
}
