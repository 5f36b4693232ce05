/**
 * Delivery callbacks on Express 5: verify → normalize → `router.handleReceipt()`, answer 200.
 * Start it with `createExpressApp(router, config).listen(3000)`. See docs/webhooks.md.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
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

/** Signatures cover the bytes as sent: the body stays a Buffer, and nothing over the provider's limit is read. */
const raw = (limit: number) => express.raw({ type: () => true, limit });

export function createExpressApp(router: Router, config: WebhookConfig): express.Express {
  const app = express();
  const options = { onUnknown: config.onUnknown };

  app.post('/webhooks/twilio', raw(BODY_LIMITS.twilio), async (req, res) => {
    // Twilio signs the public URL it called, query string included.
    const url = config.publicOrigin + req.originalUrl;
    verifyTwilioSignature({ url, headers: req.headers, body: req.body }, config.twilio);
    for (const receipt of twilioReceipts(req.body, options)) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  app.post('/webhooks/sendgrid', raw(BODY_LIMITS.sendgrid), async (req, res) => {
    verifySendGridSignature({ headers: req.headers, body: req.body }, config.sendgrid);
    for (const receipt of sendgridReceipts(req.body, options)) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  // Meta's verification handshake when the webhook URL is saved: echo `hub.challenge` back.
  app.get('/webhooks/whatsapp', (req, res) => {
    res.type('text/plain').send(whatsappChallenge(req.query, config.whatsapp));
  });

  app.post('/webhooks/whatsapp', raw(BODY_LIMITS.whatsapp), async (req, res) => {
    verifyWhatsAppSignature({ headers: req.headers, body: req.body }, config.whatsapp);
    for (const receipt of whatsappReceipts(req.body, options)) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  app.post('/webhooks/viber', raw(BODY_LIMITS.viber), async (req, res) => {
    verifyViberSignature({ headers: req.headers, body: req.body }, config.viber);
    // The raw body, not JSON.parse's: `message_token` is a 64-bit integer.
    for (const receipt of viberReceipts(req.body, options)) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  // Amazon SES events through SNS (posted as text/plain), including the subscription handshake.
  app.post('/webhooks/ses', raw(BODY_LIMITS.ses), async (req, res) => {
    await verifySnsSignature(req.body, config.sns);
    const result = sesReceipts(req.body, options);
    if (result.kind === 'subscription-confirmation') await config.sns.confirmSubscription(result.subscribeUrl);
    if (result.kind === 'receipts') for (const receipt of result.receipts) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  // Infobip signs nothing: its Basic auth is checked by a middleware ahead of the body parser, so an
  // unauthenticated body is never read, let alone parsed.
  const infobipAuth: RequestHandler = (req, _res, next) => {
    verifyBasicAuth('infobip', req.headers, config.infobip);
    next();
  };
  app.post('/webhooks/infobip', infobipAuth, raw(BODY_LIMITS.infobip), async (req, res) => {
    for (const receipt of infobipReceipts(req.body, options)) await router.handleReceipt(receipt);
    res.status(200).end();
  });

  // Express 5 passes a rejected handler here: the provider's answer for a refused callback (webhookRejection), else 500.
  const onError: ErrorRequestHandler = (error, _req, res, next) => {
    const rejected = webhookRejection(error);
    if (rejected === undefined) return next(error);
    // An unread body must not be taken for the next request on this connection.
    if (!res.req.readableEnded) res.set('connection', 'close');
    res.status(rejected.status).type('text/plain').send(rejected.message);
  };
  app.use(onError);
  return app;
}
