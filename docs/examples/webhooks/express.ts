/**
 * Delivery callbacks on Express 5: verify → normalize → `router.handleReceipt()`, answer 200.
 * Start it with `createExpressApp(router, config).listen(3000)`. See docs/webhooks.md.
 */
import express, { type ErrorRequestHandler } from 'express';
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

export function createExpressApp(router: Router, config: WebhookConfig): express.Express {
  const app = express();
  // Signatures cover the bytes as sent: keep every body as a Buffer. SendGrid batches reach 768 KB, Meta's 3 MB.
  const raw = express.raw({ type: () => true, limit: '4mb' });

  app.post('/webhooks/twilio', raw, async (req, res) => {
    // Twilio signs the public URL it called, query string included.
    const url = config.publicOrigin + req.originalUrl;
    verifyTwilioSignature({ url, headers: req.headers, body: req.body }, config.twilio);
    for (const receipt of twilioReceipts(req.body)) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  app.post('/webhooks/sendgrid', raw, async (req, res) => {
    verifySendGridSignature({ headers: req.headers, body: req.body }, config.sendgrid);
    for (const receipt of sendgridReceipts(req.body)) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  // Meta's verification handshake when the webhook URL is saved: echo `hub.challenge` back.
  app.get('/webhooks/whatsapp', (req, res) => {
    res.type('text/plain').send(whatsappChallenge(req.query, config.whatsapp));
  });

  app.post('/webhooks/whatsapp', raw, async (req, res) => {
    verifyWhatsAppSignature({ headers: req.headers, body: req.body }, config.whatsapp);
    for (const receipt of whatsappReceipts(req.body)) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  app.post('/webhooks/viber', raw, async (req, res) => {
    verifyViberSignature({ headers: req.headers, body: req.body }, config.viber);
    // The raw body, not JSON.parse's: `message_token` is a 64-bit integer.
    for (const receipt of viberReceipts(req.body)) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  // Amazon SES events through SNS (posted as text/plain), including the subscription handshake.
  app.post('/webhooks/ses', raw, async (req, res) => {
    await verifySnsSignature(req.body, config.sns);
    const result = sesReceipts(req.body);
    if (result.kind === 'subscription-confirmation') await config.sns.confirmSubscription(result.subscribeUrl);
    if (result.kind === 'receipts') for (const receipt of result.receipts) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  // Express 5 passes a rejected handler here: 401/403 for a bad signature, 400 for a bad body, else 500.
  const onError: ErrorRequestHandler = (error, _req, res, next) => {
    const rejected = rejection(error);
    if (rejected === undefined) return next(error);
    res.status(rejected.status).type('text/plain').send(rejected.message);
  };
  app.use(onError);
  return app;
}
