/* mixer_x2r_ipn: X.400 -> RFC 5322 for an IPN: the RFC 2156 5.3.5 text message, or (when the
 * subject message asked for it) an RFC 8098 MDN carrying the same text. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mg_ipm.h"
#include "mixer_ber.h"
#include "mixer_conv.h"
#include "mixer_hdr.h"
#include "mixer_orname.h"
#include "mixer_ps.h"

#include "AuthorizingUsersField.h"
#include "BlindCopyRecipientsField.h"
#include "Body.h"
#include "BodyPart.h"
#include "CopyRecipientsField.h"
#include "ExemptedAddressSeq.h"
#include "ExtendedBodyPart.h"
#include "IPMIdentifier.h"
#include "MessageBodyPart.h"
#include "ORDescriptor.h"
#include "ORName.h"
#include "ObsoletedIPMsField.h"
#include "PrimaryRecipientsField.h"
#include "RecipientSpecifier.h"
#include "RelatedIPMsField.h"
#include "ReplyRecipientsField.h"
#include "SubjectChoice.h"
#include "TeletexBodyPart.h"
#include "IPN.h"
#include "NotificationExtensionsField.h"
#include "IPNChoice.h"
#include "NonReceiptFields.h"
#include "ReceiptFields.h"

#include "mixer_x2r.h"

/* ---- notifications (RFC 2156 5.3.5: an IPN becomes a plain text message) ---- */

/* The IPN as an RFC 8098 MDN: the RFC 2156 text, then message/disposition-notification
 * (the inverse of mixer_mdn's mapping). id is the subject IPM's msg-id, to the intended
 * recipient's mailbox ("" when unknown). */
static int ipn_as_mdn(struct x2r *c, const IPN_t *n, const char *id, const char *to,
                      const struct mg_buf *text, struct mg_buf *out)
{
    const char *disp;
    if (n->choice.present == IPNChoice_PR_receipt_fields)
        disp = n->choice.choice.receipt_fields.acknowledgment_mode == 1
                   ? "automatic-action/MDN-sent-automatically; displayed"
                   : "manual-action/MDN-sent-manually; displayed";
    else if (n->choice.present == IPNChoice_PR_non_receipt_fields &&
             n->choice.choice.non_receipt_fields.non_receipt_reason == 1)
        disp = "automatic-action/MDN-sent-automatically; dispatched";
    else if (n->choice.present == IPNChoice_PR_non_receipt_fields)
        disp = "automatic-action/MDN-sent-automatically; deleted";
    else
        disp = "automatic-action/MDN-sent-automatically; processed";
    /* the recipient's address alone (to is a mailbox, maybe with a display name) */
    struct mixer_mbox mb;
    size_t k = 0;
    const char *addr = "";
    if (to[0] && mixer_hdr_addrs(to, &mb, 1, &k) == 0 && k == 1 && mb.addr[0])
        addr = mb.addr;
    /* the report part first, then a boundary neither part contains */
    struct mg_buf rep;
    mg_buf_init(&rep, 1u << 20);
    int rc = mg_buf_appendf(&rep, "Reporting-UA: %s; mixgate MIXER gateway\r\n",
                            c->gw->domain[0] ? c->gw->domain : "localhost");
    if (!rc && addr[0])
        rc = mg_buf_appendf(&rep, "Final-Recipient: rfc822; %s\r\n", addr);
    if (!rc)
        rc = mg_buf_appendf(&rep, "Original-Message-ID: %s\r\nDisposition: %s\r\n", id, disp);
    char b[48];
    for (unsigned k2 = 0; !rc; k2++) {
        snprintf(b, sizeof b, "=_mixer_mdn_%u", k2);
        if ((!text->len || !memmem(text->data, text->len, b, strlen(b))) &&
            !memmem(rep.data, rep.len, b, strlen(b)))
            break;
    }
    if (!rc)
        rc = mg_buf_appendf(out, "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
                                 "report-type=disposition-notification; boundary=\"%s\"\r\n\r\n"
                                 "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
                            b, b);
    if (!rc)
        rc = mg_buf_append(out, text->data, text->len);
    if (!rc)
        rc = mg_buf_appendf(out, "\r\n--%s\r\nContent-Type: message/disposition-notification"
                                 "\r\n\r\n", b);
    if (!rc)
        rc = mg_buf_append(out, rep.data, rep.len);
    if (!rc)
        rc = mg_buf_appendf(out, "\r\n--%s--\r\n", b);
    mg_buf_free(&rep);
    return rc;
}

int mixer_x2r_ipn(struct x2r *c, const IPN_t *n, struct mg_buf *out)
{
    char v[4096], to[2048] = "", id[2048];
    struct mg_buf text;
    int rc = 0;
    bool nrn = n->choice.present == IPNChoice_PR_non_receipt_fields;
    mg_buf_init(&text, 1u << 20);
    if (n->ipn_originator && !(rc = mixer_x2r_ordesc_to_mbox(c, n->ipn_originator, v, sizeof v)))
        rc = mixer_x2r_field(out, "From", v);
    if (!rc && n->ipm_intended_recipient &&
        !(rc = mixer_x2r_ordesc_to_mbox(c, n->ipm_intended_recipient, to, sizeof to)))
        rc = mixer_x2r_field(out, "To", to);
    if (!rc)
        rc = mixer_x2r_field(out, "Subject", nrn ? "X.400 Inter-Personal Notification (failure)"
                                       : "X.400 Inter-Personal Notification");
    if (!rc)
        rc = mixer_x2r_field(out, "Message-Type", "InterPersonal Notification");
    if (!rc && !(rc = mixer_x2r_ipmid_to_msgid(c, &n->subject_ipm, id, sizeof id)))
        rc = mixer_x2r_field(out, "References", id);
    if (!rc && n->choice.present == IPNChoice_PR_receipt_fields) {
        /* the receipt time is when the notification was made: its Date */
        const ReceiptFields_t *rf = &n->choice.choice.receipt_fields;
        char d[64];
        if (mixer_hdr_utc_to_date((const char *)rf->receipt_time.buf,
                                  (size_t)rf->receipt_time.size, d, sizeof d) == 0)
            rc = mixer_x2r_field(out, "Date", d);
    }
    if (rc)
        goto done;
    rc = mg_buf_appendf(&text, "Your message %s to: %s\r\n", id, to[0] ? to : "(unknown)");
    if (n->choice.present == IPNChoice_PR_receipt_fields) {
        const ReceiptFields_t *r = &n->choice.choice.receipt_fields;
        char d[64] = "(unknown time)";
        (void)mixer_hdr_utc_to_date((const char *)r->receipt_time.buf,
                                    (size_t)r->receipt_time.size, d, sizeof d);
        if (!rc)
            rc = mg_buf_appendf(&text, "was received at %s.\r\n"
                                       "This notification was generated %s.\r\n",
                                d, r->acknowledgment_mode == 1 ? "Automatically" : "Manually");
        if (!rc && r->suppl_receipt_info)
            rc = mg_buf_appendf(&text, "Supplementary information: %.*s\r\n",
                                (int)r->suppl_receipt_info->size,
                                (const char *)r->suppl_receipt_info->buf);
    } else if (nrn) {
        const NonReceiptFields_t *f = &n->choice.choice.non_receipt_fields;
        static const char *const why[] = {"Expired", "Obsoleted", "User Subscription Terminated",
                                          "Not Used"};
        if (f->non_receipt_reason == 1) {
            if (!rc)
                rc = mg_buf_appendf(&text, "was automatically forwarded.\r\n");
            if (!rc && f->auto_forward_comment)
                rc = mg_buf_appendf(&text, "The comment was: %.*s\r\n",
                                    (int)f->auto_forward_comment->size,
                                    (const char *)f->auto_forward_comment->buf);
        } else if (!rc) {
            long dr = f->discard_reason ? *f->discard_reason : -1;
            rc = mg_buf_appendf(&text, "was discarded for the following reason: %s\r\n",
                                dr >= 0 && dr <= 3 ? why[dr] : "(not given)");
        }
    } else if (!rc) {
        rc = mg_buf_appendf(&text, "caused a notification of a type this gateway does not "
                                   "map (X.420 other-notification-type-fields).\r\n");
    }
    if (rc)
        goto done;
    if (c->gw->flags & MIXER_GW_IPN_AS_MDN) {
        rc = ipn_as_mdn(c, n, id, to, &text, out);
        goto done;
    }
    rc = mg_buf_append(out, "MIME-Version: 1.0\r\n", 19);
    const IPM_t *returned = nrn ? n->choice.choice.non_receipt_fields.returned_ipm : NULL;
    if (!rc && !returned) {
        rc = mg_buf_append(out, "Content-Type: text/plain; charset=us-ascii\r\n\r\n", 46);
        if (!rc)
            rc = mg_buf_append(out, text.data, text.len);
    } else if (!rc) {
        /* the returned IPM follows the text as message/rfc822 */
        struct mg_buf inner;
        mg_buf_init(&inner, MIXER_CONV_MAX_OUT);
        rc = mixer_x2r_ipm(c, returned, &inner, 1);
        char boundary[48];
        for (unsigned k = 0; !rc; k++) {
            snprintf(boundary, sizeof boundary, "=_mixer_ipn_%u", k);
            if (!memmem(inner.data, inner.len, boundary, strlen(boundary)))
                break;
        }
        if (!rc)
            rc = mg_buf_appendf(out,
                                "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n"
                                "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                                boundary, boundary);
        if (!rc)
            rc = mg_buf_append(out, text.data, text.len);
        if (!rc)
            rc = mg_buf_appendf(out, "\r\n--%s\r\nContent-Type: message/rfc822\r\n\r\n", boundary);
        if (!rc)
            rc = mg_buf_append(out, inner.data, inner.len);
        if (!rc)
            rc = mg_buf_appendf(out, "\r\n--%s--\r\n", boundary);
        mg_buf_free(&inner);
    }
done:
    mg_buf_free(&text);
    return rc;
}
