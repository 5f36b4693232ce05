/**
 * Delivery callbacks on Node's own `http`, no framework: verify → normalize → `router.handleReceipt()`,
 * answer 200. Start it with `createNodeServer(router, config).listen(3000)`. See docs/webhooks.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Router } from 'cascade-router';
import {
  sendgridReceipts,
  sesReceipts,
  twilioReceipts,
  verifySendGridSignature,
  verifySnsSignature,
  verifyTwilioSignature,
  verifyViberSignature,
  verifyWhatsAppSignature,
  viberReceipts,
  whatsappChallenge,
  whatsappReceipts,
} from 'cascade-router/receipts';
import { rejection, type WebhookConfig } from './shared.js';

// SendGrid batches reach 768 KB, Meta's 3 MB.
const MAX_BODY = 4 * 1024 * 1024;

class BodyTooLarge extends Error {}

/** The body byte for byte, as every signature covers it. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

type Handler = (req: IncomingMessage, body: Buffer, url: URL) => Promise<string | void>;

export function createNodeServer(router: Router, config: WebhookConfig): Server {
  const routes: Record<string, Handler> = {
    'POST /webhooks/twilio': async (req, body, url) => {
      // Twilio signs the public URL it called, query string included.
      verifyTwilioSignature({ url: config.publicOrigin + url.pathname + url.search, headers: req.headers, body }, config.twilio);
      for (const receipt of twilioReceipts(body)) await router.handleReceipt(receipt);
    },
    'POST /webhooks/sendgrid': async (req, body) => {
      verifySendGridSignature({ headers: req.headers, body }, config.sendgrid);
      for (const receipt of sendgridReceipts(body)) await router.handleReceipt(receipt);
    },
    // Meta's verification handshake when the webhook URL is saved: echo `hub.challenge` back.
    'GET /webhooks/whatsapp': async (_req, _body, url) => whatsappChallenge(url.searchParams, config.whatsapp),
    'POST /webhooks/whatsapp': async (req, body) => {
      verifyWhatsAppSignature({ headers: req.headers, body }, config.whatsapp);
      for (const receipt of whatsappReceipts(body)) await router.handleReceipt(receipt);
    },
    'POST /webhooks/viber': async (req, body) => {
      verifyViberSignature({ headers: req.headers, body }, config.viber);
      // The raw body, not JSON.parse's: `message_token` is a 64-bit integer.
      for (const receipt of viberReceipts(body)) await router.handleReceipt(receipt);
    },
    // Amazon SES events through SNS (posted as text/plain), including the subscription handshake.
    'POST /webhooks/ses': async (_req, body) => {
      await verifySnsSignature(body, config.sns);
      const result = sesReceipts(body);
      if (result.kind === 'subscription-confirmation') await config.sns.confirmSubscription(result.subscribeUrl);
      if (result.kind === 'receipts') for (const receipt of result.receipts) await router.handleReceipt(receipt);
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes[`${req.method} ${url.pathname}`];
    if (route === undefined) return void res.writeHead(404).end();
    try {
      const text = await route(req, await readBody(req), url);
      if (text === undefined) res.writeHead(200).end();
      else res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
    } catch (error) {
      // 401/403 for a bad signature, 400 for a bad body; else 500 and the provider retries.
      const rejected = rejection(error);
      if (rejected !== undefined) return void res.writeHead(rejected.status, { 'content-type': 'text/plain; charset=utf-8' }).end(rejected.message);
      // The rest of an oversized body is never read: close the connection.
      if (error instanceof BodyTooLarge) return void res.writeHead(413, { connection: 'close' }).end();
      console.error(error);
      res.writeHead(500).end();
    }
  }

  return createServer((req, res) => void handle(req, res));
}
