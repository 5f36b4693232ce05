/**
 * Delivery callbacks on Node's own `http`, no framework: verify → normalize → `router.handleReceipt()`,
 * answer 200. Start it with `createNodeServer(router, config).listen(3000)`. See docs/webhooks.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Router } from 'cascade-router';
import {
  infobipReceipts,
  sendgridReceipts,
  sesReceipts,
  twilioReceipts,
  verifyBasicAuth,
  verifySendGridSignature,
  verifySnsSignature,
  verifyTwilioSignature,
  verifyViberSignature,
  verifyWhatsAppSignature,
  viberReceipts,
  webhookRejection,
  whatsappChallenge,
  whatsappReceipts,
} from 'cascade-router/receipts';
import { BODY_LIMITS, type WebhookConfig } from './shared.js';

class BodyTooLarge extends Error {}

/** The body byte for byte, as every signature covers it; at most `limit` bytes are read. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

type Handler = (req: IncomingMessage, body: Buffer, url: URL) => Promise<string | void>;

interface Route {
  /** The provider's body limit (BODY_LIMITS), 0 for a GET. */
  readonly limit: number;
  /** Runs before the body is read: the credentials of a provider that signs nothing. */
  readonly authenticate?: (req: IncomingMessage) => void;
  readonly handle: Handler;
}

export function createNodeServer(router: Router, config: WebhookConfig): Server {
  const options = { onUnknown: config.onUnknown };
  const route = (limit: number, handle: Handler, authenticate?: (req: IncomingMessage) => void): Route =>
    authenticate === undefined ? { limit, handle } : { limit, handle, authenticate };
  // A Map, not an object literal: a method and path from the request never reach an inherited property.
  const routes = new Map<string, Route>([
    [
      'POST /webhooks/twilio',
      route(BODY_LIMITS.twilio, async (req, body, url) => {
        // Twilio signs the public URL it called, query string included.
        verifyTwilioSignature({ url: config.publicOrigin + url.pathname + url.search, headers: req.headers, body }, config.twilio);
        for (const receipt of twilioReceipts(body, options)) await router.handleReceipt(receipt);
      }),
    ],
    [
      'POST /webhooks/sendgrid',
      route(BODY_LIMITS.sendgrid, async (req, body) => {
        verifySendGridSignature({ headers: req.headers, body }, config.sendgrid);
        for (const receipt of sendgridReceipts(body, options)) await router.handleReceipt(receipt);
      }),
    ],
    // Meta's verification handshake when the webhook URL is saved: echo `hub.challenge` back.
    ['GET /webhooks/whatsapp', route(0, async (_req, _body, url) => whatsappChallenge(url.searchParams, config.whatsapp))],
    [
      'POST /webhooks/whatsapp',
      route(BODY_LIMITS.whatsapp, async (req, body) => {
        verifyWhatsAppSignature({ headers: req.headers, body }, config.whatsapp);
        for (const receipt of whatsappReceipts(body, options)) await router.handleReceipt(receipt);
      }),
    ],
    [
      'POST /webhooks/viber',
      route(BODY_LIMITS.viber, async (req, body) => {
        verifyViberSignature({ headers: req.headers, body }, config.viber);
        // The raw body, not JSON.parse's: `message_token` is a 64-bit integer.
        for (const receipt of viberReceipts(body, options)) await router.handleReceipt(receipt);
      }),
    ],
    // Amazon SES events through SNS (posted as text/plain), including the subscription handshake.
    [
      'POST /webhooks/ses',
      route(BODY_LIMITS.ses, async (_req, body) => {
        await verifySnsSignature(body, config.sns);
        const result = sesReceipts(body, options);
        if (result.kind === 'subscription-confirmation') await config.sns.confirmSubscription(result.subscribeUrl);
        if (result.kind === 'receipts') for (const receipt of result.receipts) await router.handleReceipt(receipt);
      }),
    ],
    // Infobip signs nothing: its Basic auth is checked before a byte of the body is read.
    [
      'POST /webhooks/infobip',
      route(
        BODY_LIMITS.infobip,
        async (_req, body) => {
          for (const receipt of infobipReceipts(body, options)) await router.handleReceipt(receipt);
        },
        (req) => verifyBasicAuth('infobip', req.headers, config.infobip),
      ),
    ],
  ]);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const found = routes.get(`${req.method} ${url.pathname}`);
    if (found === undefined) return void res.writeHead(404).end();
    let read = false;
    try {
      found.authenticate?.(req);
      const body = await readBody(req, found.limit);
      read = true;
      const text = await found.handle(req, body, url);
      if (text === undefined) res.writeHead(200).end();
      else res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
    } catch (error) {
      // The body of a refused request is never read: close the connection rather than drain it.
      const close = read ? {} : { connection: 'close' };
      // The provider's answer for a refused callback (webhookRejection); else 500 and the provider retries.
      const rejected = webhookRejection(error);
      if (rejected !== undefined) return void res.writeHead(rejected.status, { 'content-type': 'text/plain; charset=utf-8', ...close }).end(rejected.message);
      if (error instanceof BodyTooLarge) return void res.writeHead(413, close).end();
      console.error(error);
      res.writeHead(500).end();
    }
  }

  return createServer((req, res) => void handle(req, res));
}
