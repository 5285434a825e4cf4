/* p1_report: X.400 delivery and non-delivery reports (X.411 Report: ReportTransferEnvelope +
 * ReportTransferContent) for a message that came in over P1, as mta/report.h's X.400 builder
 * (report_x400_build_fn): the report is a new queued message, content type X400_REPORT, whose
 * one recipient is the subject message's originator (routed like any O/R address), whose
 * stored envelope is the ReportTransferEnvelope and whose content is the
 * ReportTransferContent (the p1 channel relays the two as a Report APDU). Per recipient:
 * delivered/relayed -> delivery report; failed -> non-delivery with reason and diagnostic
 * (the channel's X.400 codes, else unable-to-transfer and a diagnostic from the status).
 * The report carries the subject's security label (orig->label; X.411: a report's
 * message-security-label is its subject's): as the queued report's label, and in the
 * ReportTransferEnvelope's extension when it is a valid X.411 SecurityLabel. */
#ifndef P1_REPORT_H
#define P1_REPORT_H

#include "oraddr.h"
#include "report.h"

/* ctx: const struct oraddr * (our global domain identifier). */
int p1_report_build(void *ctx, const struct message *orig, const struct report_item *items,
                    size_t n, const void *content, size_t content_len, int64_t now,
                    struct message **out_msg, unsigned char **out_content, size_t *out_len);

#endif
