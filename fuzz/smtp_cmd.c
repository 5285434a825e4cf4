/* fuzz target smtp_cmd: one SMTP command line through smtp_cmd_parse with every extension
 * allowed and with none, plus the xtext codec on the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct smtp_cmd c;
    struct smtp_reply r;
    const unsigned all = SMTP_CMD_ALLOW_DSN | SMTP_CMD_ALLOW_SMTPUTF8 | SMTP_CMD_ALLOW_8BITMIME |
                         SMTP_CMD_ALLOW_SIZE | SMTP_CMD_ALLOW_MT_PRIORITY;
    smtp_cmd_parse((const char *)data, size, all, 1000000, &c, &r);
    smtp_cmd_parse((const char *)data, size, 0, 0, &c, &r);
    char out[256];
    if (smtp_cmd_xtext_decode((const char *)data, size, out, sizeof out) >= 0) {
        /* Round trip: what decodes must encode and decode back to the same bytes. */
        char enc[800], back[256];
        if (smtp_cmd_xtext_encode(out, enc, sizeof enc) >= 0 &&
            (smtp_cmd_xtext_decode(enc, strlen(enc), back, sizeof back) < 0 || strcmp(out, back)))
            __builtin_trap();
    }
    return 0;
}
