// cascade-router/testing: webhook signers for every provider cascade-router/receipts verifies, a fake
// provider for integration tests, and the store contract suite for your own CascadeStore.

export type { SignedWebhook } from './request.js';
export {
  signTwilioWebhook,
  signWhatsAppWebhook,
  signViberWebhook,
  signMailgunWebhook,
  signPlivoWebhook,
  signResendWebhook,
  resendSigningSecret,
  basicAuthHeader,
  basicAuthWebhook,
} from './hmac-signers.js';
export type { TwilioWebhookOptions, BodySignerOptions, MailgunWebhookOptions, PlivoWebhookOptions, ResendWebhookOptions } from './hmac-signers.js';
export {
  sendGridKeyPair,
  telnyxKeyPair,
  signSendGridWebhook,
  signTelnyxWebhook,
  signVonageWebhook,
  signVonageSmsWebhook,
} from './key-signers.js';
export type { WebhookKeyPair, KeySignerOptions, VonageWebhookOptions, VonageSmsWebhookOptions } from './key-signers.js';
export { snsSigner } from './sns-signer.js';
export type { SnsSigner, SnsSignerOptions, SnsMessageOptions } from './sns-signer.js';

export { fakeProvider } from './fake-provider.js';
export type { FakeProvider, FakeProviderOptions, FakeOutcome, FakeShares, FakeSend } from './fake-provider.js';

export { storeContract, storeContractCases } from '../store/contract-suite.js';
export type { StoreContractCase, StoreContractOptions, StoreFactory, StoreCleanup, TestRunner } from '../store/contract-suite.js';
