import { X509Certificate, verify } from 'node:crypto';
import { systemClock } from '../../clock.js';
import { InvalidConfigError } from '../../errors.js';
import { SignatureError } from '../errors.js';
import { checkFreshness, signedJson, type ReplayOptions } from './shared.js';

export interface SnsSignatureOptions extends ReplayOptions {
  /** The signing certificate (PEM), when you pin or pre-load it. */
  readonly certificate?: string | X509Certificate | undefined;
  /**
   * Returns the PEM certificate at a `SigningCertURL` that has already been checked to be https on an
   * `sns.<region>.amazonaws.com` host. You fetch (and cache) it: this library never fetches a URL.
   */
  readonly getCertificate?: ((url: string) => string | X509Certificate | Promise<string | X509Certificate>) | undefined;
  /** When given, the message's `TopicArn` must be one of these. AWS advises rejecting unexpected topics. */
  readonly topicArns?: readonly string[] | undefined;
}

const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;

/** The fields signed, in order, per message type (AWS "Verifying the signatures of Amazon SNS messages"). */
const SIGNED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

function envelopeOf(body: unknown): Record<string, unknown> {
  const parsed = signedJson('sns', body, 'an SNS JSON message');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SignatureError('sns', 'malformed', 'Expected the body to be an SNS JSON message');
  }
  return parsed as Record<string, unknown>;
}

function text(envelope: Record<string, unknown>, name: string): string {
  const value = envelope[name];
  if (typeof value !== 'string' || value === '') {
    throw new SignatureError('sns', 'missing', `Missing the SNS field \`${name}\`: the message is not signed`);
  }
  return value;
}

/** Throws unless `url` is an https URL on an SNS host: the only place a signing certificate may come from. */
export function checkSigningCertUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const trusted =
    parsed !== undefined &&
    parsed.protocol === 'https:' &&
    parsed.username === '' &&
    parsed.password === '' &&
    parsed.port === '' &&
    SNS_HOST.test(parsed.hostname);
  if (!trusted) {
    throw new SignatureError('sns', 'untrusted', `The \`SigningCertURL\` ${JSON.stringify(url.slice(0, 200))} is not https on an sns.<region>.amazonaws.com host`);
  }
}

/**
 * Checks an Amazon SNS message signature (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over the
 * canonical string of a Notification, SubscriptionConfirmation or UnsubscribeConfirmation, with a
 * certificate you supply, and its `Timestamp` against the replay window.
 */
export async function verifySnsSignature(body: unknown, options: SnsSignatureOptions): Promise<void> {
  if (options.certificate === undefined && options.getCertificate === undefined) {
    throw new InvalidConfigError('Expected `certificate` or `getCertificate` to verify SNS signatures');
  }
  const envelope = envelopeOf(body);
  const type = text(envelope, 'Type');
  const fields = SIGNED_FIELDS[type];
  if (fields === undefined) throw new SignatureError('sns', 'malformed', `Unknown SNS message \`Type\` ${JSON.stringify(type)}`);
  const version = text(envelope, 'SignatureVersion');
  if (version !== '1' && version !== '2') {
    throw new SignatureError('sns', 'malformed', `Expected \`SignatureVersion\` to be "1" or "2", got ${JSON.stringify(version)}`);
  }
  const signature = Buffer.from(text(envelope, 'Signature'), 'base64');
  const certUrl = text(envelope, 'SigningCertURL');
  checkSigningCertUrl(certUrl);
  const topicArn = text(envelope, 'TopicArn');
  if (options.topicArns !== undefined && !options.topicArns.includes(topicArn)) {
    throw new SignatureError('sns', 'untrusted', `The topic ${JSON.stringify(topicArn)} is not one of \`topicArns\``);
  }
  let canonical = '';
  for (const name of fields) {
    // Subject is signed only when present; every other field is required.
    if (name === 'Subject' && (envelope['Subject'] === undefined || envelope['Subject'] === null)) continue;
    const value = envelope[name];
    if (typeof value !== 'string') throw new SignatureError('sns', 'missing', `Missing the SNS field \`${name}\`: the message is not signed`);
    canonical += `${name}\n${value}\n`;
  }
  const certificate = await loadCertificate(certUrl, options);
  let valid = false;
  try {
    valid = verify(version === '1' ? 'sha1' : 'sha256', Buffer.from(canonical, 'utf8'), certificate.publicKey, signature);
  } catch {
    // A signature the key cannot even parse is a forgery like any other.
  }
  if (!valid) throw new SignatureError('sns', 'mismatch', 'The SNS `Signature` does not match the message');
  checkFreshness('sns', Date.parse(text(envelope, 'Timestamp')), options);
}

async function loadCertificate(url: string, options: SnsSignatureOptions): Promise<X509Certificate> {
  const source = options.certificate ?? (await options.getCertificate?.(url));
  let certificate: X509Certificate;
  try {
    certificate = source instanceof X509Certificate ? source : new X509Certificate(source ?? '');
  } catch (cause) {
    throw new SignatureError('sns', 'untrusted', `The certificate for ${url} is not a PEM X.509 certificate`, { cause });
  }
  const now = options.now ?? systemClock.now();
  if (now < Date.parse(certificate.validFrom) || now > Date.parse(certificate.validTo)) {
    throw new SignatureError('sns', 'untrusted', `The certificate for ${url} is not valid at ${new Date(now).toISOString()}`);
  }
  return certificate;
}
