/**
 * What every webhook example takes (the providers' secrets, the SNS handshake hooks) and how each turns
 * a rejected callback into an HTTP status. The framework files (express.ts, fastify.ts, hono.ts,
 * node-http.ts) differ only in how they keep the raw body and answer; see docs/webhooks.md.
 */
import type { KeyObject } from 'node:crypto';
import { InvalidReceiptError, isCascadeRouterError } from 'cascade-router';
import { SignatureError, WebhookError } from 'cascade-router/receipts';

export interface WebhookConfig {
  /**
   * Scheme and host the providers call, e.g. `https://hooks.example.com`. Twilio signs the URL it
   * requested, which behind a proxy or load balancer is not the one your server sees.
   */
  readonly publicOrigin: string;
  readonly twilio: { readonly authToken: string };
  /** The Signed Event Webhook verification key, as SendGrid shows it (base64 DER), PEM or a KeyObject. */
  readonly sendgrid: { readonly publicKey: string | KeyObject };
  /** The Meta app's App Secret, and the Verify Token typed into the webhook settings. */
  readonly whatsapp: { readonly appSecret: string; readonly verifyToken: string };
  /** The bot's authentication token. */
  readonly viber: { readonly authToken: string };
  readonly sns: {
    /** The SNS topics your SES configuration set publishes to; any other is refused. */
    readonly topicArns: readonly string[];
    /** Returns the PEM certificate at an already-checked SNS `SigningCertURL`: `snsCertificates()`. */
    readonly getCertificate: (url: string) => Promise<string>;
    /** Confirms a subscription by visiting its (signed) `SubscribeURL`: `confirmSnsSubscription`. */
    readonly confirmSubscription: (subscribeUrl: string) => Promise<void>;
  };
}

/** How a callback that could not be taken is answered; `undefined` for anything else (a 500: the provider retries). */
export function rejection(error: unknown): { readonly status: 400 | 401 | 403 | 503; readonly message: string } | undefined {
  // Not authenticated: never read the body. A missing signature is 401, a wrong or stale one 403.
  if (error instanceof SignatureError) return { status: error.reason === 'missing' ? 401 : 403, message: error.message };
  // Authentic but unreadable: a retry would fail the same way.
  if (error instanceof WebhookError || error instanceof InvalidReceiptError) return { status: 400, message: error.message };
  // The router sheds load beyond maxPending, or the store is away: the provider retries later.
  if (isCascadeRouterError(error) && (error.code === 'OVERLOADED' || error.code === 'STORE_UNAVAILABLE')) return { status: 503, message: error.message };
  return undefined;
}

/**
 * `getCertificate` for `verifySnsSignature`: fetches each signing certificate once and keeps it. The
 * library has already checked that the URL is https on an `sns.<region>.amazonaws.com` host.
 */
export function snsCertificates(): (url: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (url) => {
    let pem = cache.get(url);
    if (pem === undefined) {
      pem = fetch(url).then(async (response) => {
        if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
        return response.text();
      });
      pem.catch(() => cache.delete(url));
      cache.set(url, pem);
    }
    return pem;
  };
}

/** Confirms an SNS subscription. Called only after its signature and topic were verified. */
export async function confirmSnsSubscription(subscribeUrl: string): Promise<void> {
  const response = await fetch(subscribeUrl);
  if (!response.ok) throw new Error(`SNS subscription confirmation failed: ${response.status}`);
}
