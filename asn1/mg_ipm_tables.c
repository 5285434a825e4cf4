/* mg_ipm_tables: the OID -> type table for the second decoding step of IPMS open types
 * (X.420 heading/recipient extensions, advice notifications, extended body parts; STANAG 4406
 * heading extensions and body parts). asn1c 0.9.28 cannot compile the information object
 * sets that X.420 uses for this, so the sets live here as data. */
#include <string.h>

#include "mg_ipm.h"

#include "ACP127DataData.h"
#include "ADatP3Data.h"
#include "ADatP3Parameters.h"
#include "ACP127DataParameters.h"
#include "AbsenceAdvice.h"
#include "Acp127MessageIdentifier.h"
#include "Acp127NotificationResponse.h"
#include "Acp127NotificationType.h"
#include "AddressListIndicator.h"
#include "AuthorizationTime.h"
#include "AutoSubmitted.h"
#include "BilaterallyDefinedBodyPart.h"
#include "ChangeOfAddressAdvice.h"
#include "CirculationList.h"
#include "CirculationListIndicator.h"
#include "CodressMessage.h"
#include "CopyPrecedence.h"
#include "CorrectionsData.h"
#include "CorrectionsParameters.h"
#include "EncryptedData.h"
#include "EncryptedParameters.h"
#include "ExemptedAddressSeq.h"
#include "ExtendedAuthorisationInfo.h"
#include "ExtendedSubject.h"
#include "FileTransferData.h"
#include "FileTransferParameters.h"
#include "ForwardedEncryptedData.h"
#include "ForwardedEncryptedParameters.h"
#include "G3FacsimileData.h"
#include "G3FacsimileParameters.h"
#include "G4Class1BodyPart.h"
#include "GeneralTextData.h"
#include "GeneralTextParameters.h"
#include "HandlingInstructions.h"
#include "IA5String.h"
#include "IA5TextData.h"
#include "IA5TextParameters.h"
#include "IPMDistributionCodes.h"
#include "IPMSecurityLabel.h"
#include "IncompleteCopy.h"
#include "InformationCategories.h"
#include "Languages.h"
#include "MMDistributionCodes.h"
#include "MMMessageData.h"
#include "MMMessageParameters.h"
#include "MMMessageType.h"
#include "ManualHandlingInstructions.h"
#include "MessageData.h"
#include "MessageInstructions.h"
#include "MessageParameters.h"
#include "MixedModeBodyPart.h"
#include "OriginatorPlad.h"
#include "OriginatorReference.h"
#include "OriginatorsReference.h"
#include "OtherRecipientIndicator.h"
#include "PilotInformationSeq.h"
#include "Precedence.h"
#include "PrecedencePolicyIdentifier.h"
#include "PrimaryPrecedence.h"
#include "SecurityInformationLabels.h"
#include "TeletexData.h"
#include "TeletexParameters.h"
#include "VideotexData.h"
#include "VideotexParameters.h"

#define HEX MG_IPM_OID_HEADING_EXT
#define REX MG_IPM_OID_RECIPIENT_EXT
#define NOT MG_IPM_OID_NOTIFICATION
#define BPD MG_IPM_OID_BODY_DATA
#define BPP MG_IPM_OID_BODY_PARAMS
#define CT MG_IPM_OID_CONTENT_TYPE

static const struct mg_ipm_oid_entry table[] = {
    /* X.420 heading extensions, id-hex = {id-ipms 5} */
    {"2.6.1.5.0", "incomplete-copy", HEX, &asn_DEF_IncompleteCopy},
    {"2.6.1.5.1", "languages", HEX, &asn_DEF_Languages},
    {"2.6.1.5.2", "auto-submitted", HEX, &asn_DEF_AutoSubmitted},
    /* body-part-signatures: SIGNED{} over X.509 types; relayed as plain BER */
    {"2.6.1.5.3", "body-part-signatures", HEX, NULL},
    {"2.6.1.5.4", "ipm-security-label", HEX, &asn_DEF_IPMSecurityLabel},
    {"2.6.1.5.5", "authorization-time", HEX, &asn_DEF_AuthorizationTime},
    {"2.6.1.5.6", "circulation-list-recipients", HEX, &asn_DEF_CirculationList},
    {"2.6.1.5.7", "distribution-codes", HEX, &asn_DEF_IPMDistributionCodes},
    {"2.6.1.5.8", "extended-subject", HEX, &asn_DEF_ExtendedSubject},
    {"2.6.1.5.9", "information-category", HEX, &asn_DEF_InformationCategories},
    {"2.6.1.5.10", "manual-handling-instructions", HEX, &asn_DEF_ManualHandlingInstructions},
    {"2.6.1.5.11", "originators-reference", HEX, &asn_DEF_OriginatorsReference},
    {"2.6.1.5.12", "precedence-policy-identifier", HEX, &asn_DEF_PrecedencePolicyIdentifier},
    /* X.420 recipient extensions, id-rex = {id-ipms 20} */
    {"2.6.1.20.0", "circulation-list-indicator", REX, &asn_DEF_CirculationListIndicator},
    {"2.6.1.20.1", "precedence", REX, &asn_DEF_Precedence},
    /* X.420 advice notifications, id-on = {id-ipms 19} */
    {"2.6.1.19.0", "absence-advice", NOT, &asn_DEF_AbsenceAdvice},
    {"2.6.1.19.1", "change-of-address-advice", NOT, &asn_DEF_ChangeOfAddressAdvice},
    /* X.420 extended body parts: data id-et = {id-ipms 4}, parameters id-ep = {id-ipms 11} */
    {"2.6.1.4.0", "ia5-text", BPD, &asn_DEF_IA5TextData},
    {"2.6.1.11.0", "ia5-text-parameters", BPP, &asn_DEF_IA5TextParameters},
    {"2.6.1.4.2", "g3-facsimile", BPD, &asn_DEF_G3FacsimileData},
    {"2.6.1.11.2", "g3-facsimile-parameters", BPP, &asn_DEF_G3FacsimileParameters},
    {"2.6.1.4.3", "g4-class1", BPD, &asn_DEF_G4Class1BodyPart},
    {"2.6.1.4.4", "teletex", BPD, &asn_DEF_TeletexData},
    {"2.6.1.11.4", "teletex-parameters", BPP, &asn_DEF_TeletexParameters},
    {"2.6.1.4.5", "videotex", BPD, &asn_DEF_VideotexData},
    {"2.6.1.11.5", "videotex-parameters", BPP, &asn_DEF_VideotexParameters},
    {"2.6.1.4.6", "encrypted", BPD, &asn_DEF_EncryptedData},
    {"2.6.1.11.6", "encrypted-parameters", BPP, &asn_DEF_EncryptedParameters},
    {"2.6.1.4.7", "message", BPD, &asn_DEF_MessageData},
    {"2.6.1.11.7", "message-parameters", BPP, &asn_DEF_MessageParameters},
    {"2.6.1.4.8", "mixed-mode", BPD, &asn_DEF_MixedModeBodyPart},
    {"2.6.1.4.9", "bilaterally-defined", BPD, &asn_DEF_BilaterallyDefinedBodyPart},
    {"2.6.1.4.11", "general-text", BPD, &asn_DEF_GeneralTextData},
    {"2.6.1.11.11", "general-text-parameters", BPP, &asn_DEF_GeneralTextParameters},
    {"2.6.1.4.12", "file-transfer", BPD, &asn_DEF_FileTransferData},
    {"2.6.1.11.12", "file-transfer-parameters", BPP, &asn_DEF_FileTransferParameters},
    {"2.6.1.4.15", "notification", BPD, &asn_DEF_IPN},
    {"2.6.1.11.15", "notification-parameters", BPP, &asn_DEF_MessageParameters},
    /* STANAG 4406 heading extensions, id-mm = 1.3.26.0.4406.0.2 */
    {"1.3.26.0.4406.0.2.0", "primary-precedence", HEX, &asn_DEF_PrimaryPrecedence},
    {"1.3.26.0.4406.0.2.1", "copy-precedence", HEX, &asn_DEF_CopyPrecedence},
    {"1.3.26.0.4406.0.2.2", "message-type", HEX, &asn_DEF_MMMessageType},
    {"1.3.26.0.4406.0.2.3", "address-list-indicator", HEX, &asn_DEF_AddressListIndicator},
    {"1.3.26.0.4406.0.2.4", "exempted-address", HEX, &asn_DEF_ExemptedAddressSeq},
    {"1.3.26.0.4406.0.2.5", "extended-authorisation-info", HEX,
     &asn_DEF_ExtendedAuthorisationInfo},
    {"1.3.26.0.4406.0.2.6", "distribution-codes", HEX, &asn_DEF_MMDistributionCodes},
    {"1.3.26.0.4406.0.2.7", "handling-instructions", HEX, &asn_DEF_HandlingInstructions},
    {"1.3.26.0.4406.0.2.8", "message-instructions", HEX, &asn_DEF_MessageInstructions},
    {"1.3.26.0.4406.0.2.9", "codress-message", HEX, &asn_DEF_CodressMessage},
    {"1.3.26.0.4406.0.2.10", "originator-reference", HEX, &asn_DEF_OriginatorReference},
    {"1.3.26.0.4406.0.2.11", "other-recipients-indicator", HEX,
     &asn_DEF_OtherRecipientIndicator},
    {"1.3.26.0.4406.0.2.12", "pilot-forwarding-info", HEX, &asn_DEF_PilotInformationSeq},
    {"1.3.26.0.4406.0.2.13", "acp127-message-identifier", HEX,
     &asn_DEF_Acp127MessageIdentifier},
    {"1.3.26.0.4406.0.2.14", "originator-plad", HEX, &asn_DEF_OriginatorPlad},
    {"1.3.26.0.4406.0.2.15", "acp127-notification-request", REX,
     &asn_DEF_Acp127NotificationType},
    {"1.3.26.0.4406.0.2.16", "acp127-notification-response", NOT,
     &asn_DEF_Acp127NotificationResponse},
    {"1.3.26.0.4406.0.2.17", "security-information-labels", HEX,
     &asn_DEF_SecurityInformationLabels},
    /* STANAG 4406 extended body parts, id-et = 1.3.26.0.4406.0.7 */
    {"1.3.26.0.4406.0.7.0", "adatp3", BPD, &asn_DEF_ADatP3Data},
    {"1.3.26.0.4406.0.7.2", "adatp3-parameters", BPP, &asn_DEF_ADatP3Parameters},
    {"1.3.26.0.4406.0.7.1", "corrections", BPD, &asn_DEF_CorrectionsData},
    {"1.3.26.0.4406.0.7.3", "corrections-parameters", BPP, &asn_DEF_CorrectionsParameters},
    {"1.3.26.0.4406.0.7.6", "forwarded-encrypted", BPD, &asn_DEF_ForwardedEncryptedData},
    {"1.3.26.0.4406.0.7.7", "forwarded-encrypted-parameters", BPP,
     &asn_DEF_ForwardedEncryptedParameters},
    {"1.3.26.0.4406.0.7.9", "mm-message", BPD, &asn_DEF_MMMessageData},
    {"1.3.26.0.4406.0.7.10", "mm-message-parameters", BPP, &asn_DEF_MMMessageParameters},
    {"1.3.26.0.4406.0.7.12", "acp127data", BPD, &asn_DEF_ACP127DataData},
    {"1.3.26.0.4406.0.7.13", "acp127data-parameters", BPP, &asn_DEF_ACP127DataParameters},
    /* Private heading extension seen in the field (Nexor UA identification). */
    {"1.2.826.0.1004.10.1.1", "nexor-originating-ua", HEX, &asn_DEF_IA5String},
    /* Content types */
    {"2.6.1.10.0", "p2", CT, &asn_DEF_InformationObject},
    {"2.6.1.10.1", "p22", CT, &asn_DEF_InformationObject},
    {"1.3.26.0.4406.0.4.1", "p772", CT, &asn_DEF_MMInformationObject},
};

const struct mg_ipm_oid_entry *mg_ipm_oid_lookup(const char *dotted)
{
    if (!dotted)
        return NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].oid, dotted) == 0)
            return &table[i];
    return NULL;
}

const struct mg_ipm_oid_entry *mg_ipm_oid_table(size_t *count)
{
    *count = sizeof table / sizeof table[0];
    return table;
}

/* asn1c 0.9.28 keeps names of ENUMERATED values but drops the named numbers of INTEGER and
 * the named bits of BIT STRING; printers get them from here, by type name. */
struct named {
    const char *type;
    long value;
    const char *name;
};

static const struct named numbers[] = {
    {"MMHSPrecedence", 0, "deferred"}, {"MMHSPrecedence", 1, "routine"},
    {"MMHSPrecedence", 2, "priority"}, {"MMHSPrecedence", 3, "immediate"},
    {"MMHSPrecedence", 4, "flash"}, {"MMHSPrecedence", 5, "override"},
    {"TypeMessage", 0, "exercise"}, {"TypeMessage", 1, "operation"},
    {"TypeMessage", 2, "project"}, {"TypeMessage", 3, "drill"},
    {"AddressListRequest", 0, "action"}, {"AddressListRequest", 1, "info"},
    {"AddressListRequest", 2, "both"},
    {"AlphabetIndicator", 0, "ia5"}, {"AlphabetIndicator", 1, "ita2"},
    /* X.411 SecurityClassification, shown in IPM security labels and P772 pilot labels */
    {"SecurityClassification", 0, "unmarked"}, {"SecurityClassification", 1, "unclassified"},
    {"SecurityClassification", 2, "restricted"}, {"SecurityClassification", 3, "confidential"},
    {"SecurityClassification", 4, "secret"}, {"SecurityClassification", 5, "top-secret"},
    /* X.411 MTABindError, shown in refused P1 binds */
    {"MTABindError", 0, "busy"}, {"MTABindError", 2, "authentication-error"},
    {"MTABindError", 3, "unacceptable-dialogue-mode"},
    {"MTABindError", 4, "unacceptable-security-context"},
    {"MTABindError", 5, "inadequate-association-confidentiality"},
    {"VideotexSyntax", 0, "ids"}, {"VideotexSyntax", 1, "data-syntax1"},
    {"VideotexSyntax", 2, "data-syntax2"}, {"VideotexSyntax", 3, "data-syntax3"},
};

static const struct named bits[] = {
    {"NotificationRequests", 0, "rn"}, {"NotificationRequests", 1, "nrn"},
    {"NotificationRequests", 2, "ipm-return"}, {"NotificationRequests", 3, "an-supported"},
    {"NotificationRequests", 4, "suppress-an"},
    {"Acp127NotificationType", 0, "acp127-nn"}, {"Acp127NotificationType", 1, "acp127-pn"},
    {"Acp127NotificationType", 2, "acp127-tn"},
    {"IPMBuiltInEncodedInformationTypes", 0, "unknown"},
    {"IPMBuiltInEncodedInformationTypes", 2, "ia5-text"},
    {"IPMBuiltInEncodedInformationTypes", 3, "g3-facsimile"},
    {"IPMBuiltInEncodedInformationTypes", 4, "g4-class-1"},
    {"IPMBuiltInEncodedInformationTypes", 5, "teletex"},
    {"IPMBuiltInEncodedInformationTypes", 6, "videotex"},
    {"IPMBuiltInEncodedInformationTypes", 7, "voice"},
    {"IPMBuiltInEncodedInformationTypes", 8, "sfd"},
    {"IPMBuiltInEncodedInformationTypes", 9, "mixed-mode"},
};

static const char *alias(const char *type)
{
    if (strcmp(type, "PrimaryPrecedence") == 0 || strcmp(type, "CopyPrecedence") == 0)
        return "MMHSPrecedence";
    return type;
}

static const char *named_lookup(const struct named *t, size_t n, const char *type, long v)
{
    if (!type)
        return NULL;
    type = alias(type);
    for (size_t i = 0; i < n; i++)
        if (t[i].value == v && strcmp(t[i].type, type) == 0)
            return t[i].name;
    return NULL;
}

const char *mg_ipm_number_name(const char *type, long value)
{
    return named_lookup(numbers, sizeof numbers / sizeof numbers[0], type, value);
}

const char *mg_ipm_bit_name(const char *type, long bit)
{
    return named_lookup(bits, sizeof bits / sizeof bits[0], type, bit);
}
