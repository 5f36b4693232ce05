/**
 * Delivery callbacks on Hono (served by @hono/node-server): verify → normalize →
 * `router.handleReceipt()`, answer 200. Start it with `serve({ fetch: createHonoApp(router, config).fetch, port: 3000 })`.
 * See docs/webhooks.md.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
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

/** The body byte for byte: signatures cover the bytes as sent, which `c.req.text()` may not keep for invalid UTF-8. */
async function rawBody(c: Context): Promise<Buffer> {
  return Buffer.from(await c.req.arrayBuffer());
}

export function createHonoApp(router: Router, config: WebhookConfig): Hono {
  const app = new Hono();
  const options = { onUnknown: config.onUnknown };
  // Infobip signs nothing: its Basic auth is checked by the first middleware, before anything reads the body.
  app.use('/webhooks/infobip', async (c, next) => {
    verifyBasicAuth('infobip', c.req.raw.headers, config.infobip);
    await next();
  });
  // Each provider's body limit; nothing bigger is read.
  for (const [provider, maxSize] of Object.entries(BODY_LIMITS)) app.use(`/webhooks/${provider}`, bodyLimit({ maxSize }));

  app.post('/webhooks/twilio', async (c) => {
    const body = await rawBody(c);
    // Twilio signs the public URL it called, query string included.
    const { pathname, search } = new URL(c.req.url);
    verifyTwilioSignature({ url: config.publicOrigin + pathname + search, headers: c.req.raw.headers, body }, config.twilio);
    for (const receipt of twilioReceipts(body, options)) await router.handleReceipt(receipt);
    return c.body(null, 200);
  });

  app.post('/webhooks/sendgrid', async (c) => {
    const body = await rawBody(c);
    verifySendGridSignature({ headers: c.req.raw.headers, body }, config.sendgrid);
    for (const receipt of sendgridReceipts(body, options)) await router.handleReceipt(receipt);
    return c.body(null, 200);
  });

  // Meta's verification handshake when the webhook URL is saved: echo `hub.challenge` back.
  app.get('/webhooks/whatsapp', (c) => c.text(whatsappChallenge(c.req.query(), config.whatsapp)));

  app.post('/webhooks/whatsapp', async (c) => {
    const body = await rawBody(c);
    verifyWhatsAppSignature({ headers: c.req.raw.headers, body }, config.whatsapp);
    for (const receipt of whatsappReceipts(body, options)) await router.handleReceipt(receipt);
    return c.body(null, 200);
  });

  app.post('/webhooks/viber', async (c) => {
    const body = await rawBody(c);
    verifyViberSignature({ headers: c.req.raw.headers, body }, config.viber);
    // The raw body, not `c.req.json()`: `message_token` is a 64-bit integer.
    for (const receipt of viberReceipts(body, options)) await router.handleReceipt(receipt);
    return c.body(null, 200);
  });

  // Amazon SES events through SNS (posted as text/plain), including the subscription handshake.
  app.post('/webhooks/ses', async (c) => {
    const body = await rawBody(c);
    await verifySnsSignature(body, config.sns);
    const result = sesReceipts(body, options);
    if (result.kind === 'subscription-confirmation') await config.sns.confirmSubscription(result.subscribeUrl);
    if (result.kind === 'receipts') for (const receipt of result.receipts) await router.handleReceipt(receipt);
    return c.body(null, 200);
  });

  app.post('/webhooks/infobip', async (c) => {
    for (const receipt of infobipReceipts(await rawBody(c), options)) await router.handleReceipt(receipt);
    return c.body(null, 200);
  });

  // The provider's answer for a refused callback (webhookRejection), 413 over the limit; anything else is a 500 and the provider retries.
  app.onError((error, c) => {
    const rejected = webhookRejection(error);
    if (rejected === undefined) return error instanceof HTTPException ? error.getResponse() : c.text('Internal Server Error', 500);
    return c.text(rejected.message, rejected.status);
  });
  return app;
}
