/**
 * What every webhook example takes (the providers' secrets, the SNS handshake hooks) and the pieces they
 * share. The framework files (express.ts, fastify.ts, hono.ts, node-http.ts) differ only in how they keep
 * the raw body, check credentials before reading it, and answer; see docs/webhooks.md.
 */
import type { KeyObject } from 'node:crypto';
import type { BasicAuthCredentials, UnknownStatusError } from 'cascade-router/receipts';

export interface WebhookConfig {
  /**
   * Scheme and host the providers call, e.g. `https://hooks.example.com`. Twilio signs the URL it
   * requested, which behind a proxy or load balancer is not the one your server sees.
   */
  readonly publicOrigin: string;
  /** The Auth Token (two while you rotate it), and SharedKey secrets if your webhooks use them. */
  readonly twilio: { readonly authToken: string | readonly string[]; readonly sharedKeySecret?: string | readonly string[] };
  /** The Signed Event Webhook verification key(s), as SendGrid shows them (base64 DER), PEM or KeyObjects. */
  readonly sendgrid: { readonly publicKey: string | KeyObject | readonly (string | KeyObject)[] };
  /** The Meta app's App Secret(s), and the Verify Token typed into the webhook settings. */
  readonly whatsapp: { readonly appSecret: string | readonly string[]; readonly verifyToken: string };
  /** The bot's authentication token(s). */
  readonly viber: { readonly authToken: string | readonly string[] };
  readonly sns: {
    /** The SNS topics your SES configuration set publishes to; any other is refused. */
    readonly topicArns: readonly string[];
    /** Returns the PEM certificate at an already-checked, normalized SNS `SigningCertURL`: `snsCertificates()`. */
    readonly getCertificate: (url: string) => Promise<string>;
    /** Confirms a subscription by visiting its (signed) `SubscribeURL`: `confirmSnsSubscription`. */
    readonly confirmSubscription: (subscribeUrl: string) => Promise<void>;
  };
  /** The HTTP Basic credentials set in Infobip's subscription security settings (Infobip signs nothing). */
  readonly infobip: BasicAuthCredentials | readonly BasicAuthCredentials[];
  /** Events skipped for a status this library does not know: log them, the rest of the batch is applied. */
  readonly onUnknown?: ((error: UnknownStatusError) => void) | undefined;
}

/** Body limits per provider: a little over the largest body each documents, so nothing bigger is ever read. */
export const BODY_LIMITS = {
  // A form of about twenty fields.
  twilio: 64 * 1024,
  // "Events post … when the batch size reaches 768 kilobytes": the event that crosses it rides along.
  sendgrid: 1024 * 1024,
  // "Webhook payloads can be up to 3 MB."
  whatsapp: 3.5 * 1024 * 1024,
  viber: 64 * 1024,
  // An SNS message is at most 256 KB, plus its envelope.
  ses: 320 * 1024,
  // 100 delivery reports of about 1 KB (Infobip's default bucket).
  infobip: 256 * 1024,
} as const;

const CERTIFICATES = 16;
const CERTIFICATE_BYTES = 16 * 1024;

/**
 * `getCertificate` for `verifySnsSignature`: fetches each signing certificate once and keeps at most 16, the
 * least recently used going first. Keyed by the normalized URL the library passes (https, an
 * `sns.<region>.amazonaws.com` host, one `.pem` path segment, no query), so a POST with a fresh query string
 * costs no fetch. Only a 200 with a PEM-sized body is kept; a failure is not cached and fails the request (500).
 */
export function snsCertificates(fetchPem: typeof fetch = fetch): (url: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (url) => {
    let pem = cache.get(url);
    if (pem !== undefined) {
      // Most recently used last.
      cache.delete(url);
      cache.set(url, pem);
      return pem;
    }
    pem = fetchPem(url, { redirect: 'error', signal: AbortSignal.timeout(5_000) }).then(async (response) => {
      if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
      const text = await response.text();
      if (text.length > CERTIFICATE_BYTES || !text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`GET ${url}: not a PEM certificate`);
      return text;
    });
    pem.catch(() => cache.delete(url));
    cache.set(url, pem);
    if (cache.size > CERTIFICATES) cache.delete(cache.keys().next().value as string);
    return pem;
  };
}

/** Confirms an SNS subscription. Called only after its signature and topic were verified. */
export async function confirmSnsSubscription(subscribeUrl: string): Promise<void> {
  const response = await fetch(subscribeUrl);
  if (!response.ok) throw new Error(`SNS subscription confirmation failed: ${response.status}`);
}
