/**
 * Delivery callbacks on Fastify 5: verify → normalize → `router.handleReceipt()`, answer 200.
 * Start it with `await createFastifyApp(router, config).listen({ port: 3000 })`. See docs/webhooks.md.
 */
import Fastify, { type FastifyInstance } from 'fastify';
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

export function createFastifyApp(router: Router, config: WebhookConfig): FastifyInstance {
  const app = Fastify();
  const options = { onUnknown: config.onUnknown };

  // An encapsulated plugin: the raw-body parser and the error handler apply to the webhook routes only.
  void app.register(
    async (hooks) => {
      // Signatures cover the bytes as sent: every body stays a Buffer, each route with its provider's limit.
      hooks.removeAllContentTypeParsers();
      hooks.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

      hooks.setErrorHandler((error, _request, reply) => {
        const rejected = webhookRejection(error);
        // Anything else keeps Fastify's answer (413 for a body over the limit, else 500: the provider retries).
        if (rejected === undefined) return reply.send(error);
        return reply.code(rejected.status).type('text/plain').send(rejected.message);
      });

      hooks.post<{ Body: Buffer }>('/twilio', { bodyLimit: BODY_LIMITS.twilio }, async (request, reply) => {
        // Twilio signs the public URL it called, query string included.
        const url = config.publicOrigin + request.url;
        verifyTwilioSignature({ url, headers: request.headers, body: request.body }, config.twilio);
        for (const receipt of twilioReceipts(request.body, options)) await router.handleReceipt(receipt);
        return reply.code(200).send();
      });

      hooks.post<{ Body: Buffer }>('/sendgrid', { bodyLimit: BODY_LIMITS.sendgrid }, async (request, reply) => {
        verifySendGridSignature({ headers: request.headers, body: request.body }, config.sendgrid);
        for (const receipt of sendgridReceipts(request.body, options)) await router.handleReceipt(receipt);
        return reply.code(200).send();
      });

      // Meta's verification handshake when the webhook URL is saved: echo `hub.challenge` back.
      hooks.get<{ Querystring: Record<string, string> }>('/whatsapp', async (request, reply) => {
        return reply.type('text/plain').send(whatsappChallenge(request.query, config.whatsapp));
      });

      hooks.post<{ Body: Buffer }>('/whatsapp', { bodyLimit: BODY_LIMITS.whatsapp }, async (request, reply) => {
        verifyWhatsAppSignature({ headers: request.headers, body: request.body }, config.whatsapp);
        for (const receipt of whatsappReceipts(request.body, options)) await router.handleReceipt(receipt);
        return reply.code(200).send();
      });

      hooks.post<{ Body: Buffer }>('/viber', { bodyLimit: BODY_LIMITS.viber }, async (request, reply) => {
        verifyViberSignature({ headers: request.headers, body: request.body }, config.viber);
        // The raw body, not JSON.parse's: `message_token` is a 64-bit integer.
        for (const receipt of viberReceipts(request.body, options)) await router.handleReceipt(receipt);
        return reply.code(200).send();
      });

      // Amazon SES events through SNS (posted as text/plain), including the subscription handshake.
      hooks.post<{ Body: Buffer }>('/ses', { bodyLimit: BODY_LIMITS.ses }, async (request, reply) => {
        await verifySnsSignature(request.body, config.sns);
        const result = sesReceipts(request.body, options);
        if (result.kind === 'subscription-confirmation') await config.sns.confirmSubscription(result.subscribeUrl);
        if (result.kind === 'receipts') for (const receipt of result.receipts) await router.handleReceipt(receipt);
        return reply.code(200).send();
      });

      // Infobip signs nothing: its Basic auth is checked in `onRequest`, before Fastify reads the body.
      hooks.post<{ Body: Buffer }>(
        '/infobip',
        {
          bodyLimit: BODY_LIMITS.infobip,
          onRequest: async (request) => verifyBasicAuth('infobip', request.headers, config.infobip),
        },
        async (request, reply) => {
          for (const receipt of infobipReceipts(request.body, options)) await router.handleReceipt(receipt);
          return reply.code(200).send();
        },
      );
    },
    { prefix: '/webhooks' },
  );
  return app;
}
