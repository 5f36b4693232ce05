// cascade-router/receipts: provider webhook bodies → receipts, and provider signature checks.

export { WebhookError, UnknownStatusError, SignatureError } from './errors.js';
export type { WebhookProvider, SignatureFailure } from './errors.js';
export type { ReceiptOptions } from './input.js';
export { MAX_ID_LENGTH, MAX_CODE_LENGTH, MAX_MESSAGE_LENGTH } from './receipt.js';

export { twilioReceipts } from './twilio.js';
export { sendgridReceipts, sendGridMessageId } from './sendgrid.js';
export type { SendGridEvent, SendGridReceiptOptions } from './sendgrid.js';
export { mailgunReceipts, mailgunLegacyReceipts } from './mailgun.js';
export { sesReceipts } from './ses.js';
export type { SesWebhookResult } from './ses.js';
export { whatsappReceipts } from './whatsapp.js';
export { vonageMessagesReceipts } from './vonage-messages.js';
export { vonageSmsReceipts } from './vonage-sms.js';
export { infobipReceipts, INFOBIP_MAX_RESULTS } from './infobip.js';
export type { InfobipReceiptOptions } from './infobip.js';
export { viberReceipts } from './viber.js';
export { telnyxReceipts } from './telnyx.js';
export { plivoReceipts } from './plivo.js';
export { postmarkReceipts } from './postmark.js';
export { resendReceipts } from './resend.js';
export { brevoReceipts } from './brevo.js';

export { webhookRejection } from './rejection.js';
export type { WebhookRejection } from './rejection.js';

export { verifyTwilioSignature, TWILIO_SIGNATURE_SETTINGS_HEADER } from './signatures/twilio.js';
export type { TwilioSignatureOptions, TwilioSignatureRequest } from './signatures/twilio.js';
export {
  verifySendGridSignature,
  sendGridPublicKey,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
} from './signatures/sendgrid.js';
export type { SendGridSignatureOptions } from './signatures/sendgrid.js';
export { verifyMailgunSignature } from './signatures/mailgun.js';
export type { MailgunSignatureOptions } from './signatures/mailgun.js';
export { verifyWhatsAppSignature, verifyViberSignature } from './signatures/hmac.js';
export type { WhatsAppSignatureOptions, ViberSignatureOptions } from './signatures/hmac.js';
export { whatsappChallenge } from './signatures/whatsapp-challenge.js';
export type { WhatsAppChallengeOptions } from './signatures/whatsapp-challenge.js';
export { verifyVonageSignature } from './signatures/vonage.js';
export type { VonageClaims, VonageSignatureOptions } from './signatures/vonage.js';
export { verifySnsSignature, checkSigningCertUrl } from './signatures/sns.js';
export type { SnsSignatureOptions } from './signatures/sns.js';
export { verifyTelnyxSignature, telnyxPublicKey, TELNYX_SIGNATURE_HEADER, TELNYX_TIMESTAMP_HEADER } from './signatures/telnyx.js';
export type { TelnyxSignatureOptions } from './signatures/telnyx.js';
export { verifyPlivoSignature, PLIVO_SIGNATURE_HEADER, PLIVO_NONCE_HEADER } from './signatures/plivo.js';
export type { PlivoSignatureOptions, PlivoSignatureRequest } from './signatures/plivo.js';
export { verifyResendSignature } from './signatures/svix.js';
export type { ResendSignatureOptions } from './signatures/svix.js';
export { verifyVonageSmsSignature } from './signatures/vonage-sms.js';
export type { VonageSmsSignatureMethod, VonageSmsSignatureOptions } from './signatures/vonage-sms.js';
export { verifyBasicAuth } from './signatures/basic.js';
export type { BasicAuthCredentials } from './signatures/basic.js';
export { REPLAY_WINDOWS } from './signatures/shared.js';
export type { HeadersLike, ReplayOptions, ReplayWindow, SignedRequest } from './signatures/shared.js';

export type { Receipt, ReceiptStatus } from '../core/types.js';
