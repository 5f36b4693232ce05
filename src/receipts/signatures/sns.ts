import { X509Certificate, verify } from 'node:crypto';
import { systemClock } from '../../runtime/clock.js';
import { InvalidConfigError } from '../../core/errors.js';
import { SignatureError } from '../errors.js';
import { REPLAY_WINDOWS, canonicalBase64, checkFreshness, signedJson, type ReplayOptions } from './shared.js';

export interface SnsSignatureOptions extends ReplayOptions {
  /** The signing certificate (PEM), when you pin or pre-load it. */
  readonly certificate?: string | X509Certificate | undefined;
  /**
   * Returns the PEM certificate at a `SigningCertURL`, given normalized (`https://sns.<region>.amazonaws.com/<name>.pem`)
   * once it passed `checkSigningCertUrl`. You fetch (and cache, keyed by this URL) it: this library never fetches.
   */
  readonly getCertificate?: ((url: string) => string | X509Certificate | Promise<string | X509Certificate>) | undefined;
  /**
   * The topics you accept: a message (a subscription handshake too) of any other topic is refused before its
   * certificate is fetched. Required, unless `anyTopic: true` says on purpose that any AWS account's topic may
   * post here (anyone can subscribe your URL to their own topic, and its messages are genuinely AWS-signed).
   */
  readonly topicArns?: readonly string[] | undefined;
  /** Accept every topic. Only when something else pins the sender (a secret in the URL, a network policy). */
  readonly anyTopic?: boolean | undefined;
  /** Refuse SignatureVersion 1 (SHA1withRSA); set the topic's `SignatureVersion` attribute to 2 first. */
  readonly requireSignatureVersion2?: boolean | undefined;
}

// `sns.<region>.amazonaws.com(.cn)`, the region spelled as AWS spells them (us-east-1, cn-northwest-1,
// us-gov-west-1): never an S3 host like `sns.s3.amazonaws.com`, where anyone owning a bucket could serve a PEM.
const SNS_HOST = /^sns\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(?:\.cn)?$/;
// One path segment ending in .pem (AWS serves `/SimpleNotificationService-<hex>.pem`), with no escapes that
// would make one certificate reachable (and cached) under many URLs.
const PEM_PATH = /^\/[A-Za-z0-9._-]{1,200}\.pem$/;

/** The fields signed, in order, per message type (AWS "Verifying the signatures of Amazon SNS messages"). */
const SIGNED_FIELDS = new Map<string, readonly string[]>([
  ['Notification', ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']],
  ['SubscriptionConfirmation', ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']],
  ['UnsubscribeConfirmation', ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']],
]);

function envelopeOf(body: unknown): Record<string, unknown> {
  const parsed = signedJson('sns', body, 'an SNS JSON message');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SignatureError('sns', 'malformed', 'Expected the body to be an SNS JSON message');
  }
  return parsed as Record<string, unknown>;
}

/** An own field of the envelope: inherited names (`constructor`, `__proto__`) are never read as fields. */
function own(envelope: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(envelope, name) ? envelope[name] : undefined;
}

function text(envelope: Record<string, unknown>, name: string): string {
  const value = own(envelope, name);
  if (typeof value !== 'string' || value === '') {
    throw new SignatureError('sns', 'missing', `Missing the SNS field \`${name}\`: the message is not signed`);
  }
  return value;
}

/**
 * Checks that `url` may serve an SNS signing certificate: https, an `sns.<region>.amazonaws.com` host (not
 * S3), no port, user info, query or fragment, a `.pem` path of one plain segment. Returns it normalized
 * (`https://<host><path>`, host lowercased): fetch and cache that. Throws `SignatureError` (`untrusted`).
 */
export function checkSigningCertUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const trusted =
    parsed !== undefined &&
    !/[?#]/.test(url) &&
    parsed.protocol === 'https:' &&
    parsed.username === '' &&
    parsed.password === '' &&
    parsed.port === '' &&
    SNS_HOST.test(parsed.hostname) &&
    PEM_PATH.test(parsed.pathname);
  if (!trusted || parsed === undefined) {
    throw new SignatureError(
      'sns',
      'untrusted',
      `The \`SigningCertURL\` ${JSON.stringify(url.slice(0, 200))} is not an https .pem URL on an sns.<region>.amazonaws.com host`,
    );
  }
  return `https://${parsed.hostname}${parsed.pathname}`;
}

function checkOptions(options: SnsSignatureOptions): void {
  if (options.certificate === undefined && options.getCertificate === undefined) {
    throw new InvalidConfigError('Expected `certificate` or `getCertificate` to verify SNS signatures');
  }
  if (options.anyTopic === true) return;
  if (options.topicArns === undefined || options.topicArns.length === 0) {
    throw new InvalidConfigError(
      'Expected `topicArns` (the SNS topics you accept) to verify SNS messages, or `anyTopic: true` to accept every AWS account\'s topic',
    );
  }
}

/**
 * Checks an Amazon SNS message signature (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over the
 * canonical string of a Notification, SubscriptionConfirmation or UnsubscribeConfirmation, with a
 * certificate you supply, its topic against `topicArns`, and its `Timestamp` against the replay window
 * (default 65 minutes: SNS retries over at most an hour with the original timestamp).
 */
export async function verifySnsSignature(body: unknown, options: SnsSignatureOptions): Promise<void> {
  checkOptions(options);
  const envelope = envelopeOf(body);
  const type = text(envelope, 'Type');
  const fields = SIGNED_FIELDS.get(type);
  if (fields === undefined) throw new SignatureError('sns', 'malformed', `Unknown SNS message \`Type\` ${JSON.stringify(type.slice(0, 60))}`);
  const version = text(envelope, 'SignatureVersion');
  if (version !== '1' && version !== '2') {
    throw new SignatureError('sns', 'malformed', `Expected \`SignatureVersion\` to be "1" or "2", got ${JSON.stringify(version.slice(0, 20))}`);
  }
  if (version === '1' && options.requireSignatureVersion2 === true) {
    throw new SignatureError('sns', 'untrusted', 'SignatureVersion 1 (SHA1withRSA) is refused: `requireSignatureVersion2` is set');
  }
  const signature = canonicalBase64(text(envelope, 'Signature'));
  if (signature === undefined) throw new SignatureError('sns', 'malformed', 'Expected the SNS `Signature` to be base64');
  const certUrl = checkSigningCertUrl(text(envelope, 'SigningCertURL'));
  const topicArn = text(envelope, 'TopicArn');
  if (options.anyTopic !== true && !(options.topicArns ?? []).includes(topicArn)) {
    throw new SignatureError('sns', 'untrusted', `The topic ${JSON.stringify(topicArn.slice(0, 200))} is not one of \`topicArns\``);
  }
  let canonical = '';
  for (const name of fields) {
    // Subject is signed only when present; every other field is required.
    const value = own(envelope, name);
    if (name === 'Subject' && (value === undefined || value === null)) continue;
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
  checkFreshness('sns', Date.parse(text(envelope, 'Timestamp')), options, REPLAY_WINDOWS.sns);
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
