/**
 * Channels without delivery callbacks (push, Telegram). Two ways to confirm them, side by side:
 *
 * - by acceptance: the provider taking the message counts as delivery (`confirm: { by: 'acceptance' }`).
 *   Telegram here: its `sendMessage` answer is all the Bot API ever says about a message.
 * - by the app's acknowledgement: the push carries an ack id; the app, on receiving (or opening) it,
 *   posts `{ providerMessageId, status: 'delivered' | 'read' }` to your backend, which authenticates it
 *   and passes it to `router.handleReceipt()`. No ack before the step's timeout falls back.
 *
 * See docs/webhooks.md, "Channels without receipts".
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler } from 'express';
import { SendError, type ChannelConfig, type ReceiptStatus, type Router, type SendFunction } from 'cascade-router';

/** Ties an acknowledgement to one message and the user it was sent to: only that user's app can ack it. */
export function ackSignature(secret: string, providerMessageId: string, recipientId: string): string {
  return createHmac('sha256', secret).update(`${providerMessageId}\n${recipientId}`).digest('base64url');
}

/** What your push provider (FCM, APNs, Expo, …) is given; `data` reaches the app with the notification. */
export interface PushPayload {
  readonly title: string | undefined;
  readonly body: string;
  readonly data: { readonly ackId: string; readonly ackSignature: string };
}

/** Sends one push to a device token; resolves once the push provider accepted it. */
export type PushProvider = (deviceToken: string, payload: PushPayload) => Promise<unknown>;

/**
 * A push `send()` whose message id is an ack id of our own, carried in the payload: a push provider's
 * id is known only after the push is on its way, possibly after the app already received it.
 */
export function pushWithAck(push: PushProvider, ackSecret: string): SendFunction {
  return async (request) => {
    // The same for every re-send of this attempt, so an ack of any copy counts.
    const ackId = `push:${request.idempotencyKey}`;
    const data = { ackId, ackSignature: ackSignature(ackSecret, ackId, request.recipient.id) };
    await push(request.address, { title: request.content.subject, body: request.content.text, data });
    return ackId;
  };
}

interface TelegramAnswer {
  readonly ok: boolean;
  readonly result?: { readonly message_id: number; readonly chat: { readonly id: number } };
  readonly error_code?: number;
  readonly description?: string;
  readonly parameters?: { readonly retry_after?: number };
}

/** Telegram Bot API `sendMessage` to the chat id in the recipient's `telegram` address. */
export function telegramSend(botToken: string, apiBase = 'https://api.telegram.org'): SendFunction {
  return async (request) => {
    let response: Response;
    try {
      response = await fetch(`${apiBase}/bot${botToken}/sendMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: request.address, text: request.content.text }),
        signal: request.signal,
      });
    } catch (cause) {
      if (request.signal.aborted) throw cause;
      // No answer at all (connection refused or reset): worth a retry.
      throw new SendError('telegram: the Bot API did not answer', { cause });
    }
    if (response.status >= 500) throw new SendError(`telegram: HTTP ${response.status}`, { providerCode: String(response.status) });
    const answer = (await response.json()) as TelegramAnswer;
    // message_id counts per chat: only with the chat id is it unique among all your messages.
    if (answer.ok && answer.result) return `${answer.result.chat.id}:${answer.result.message_id}`;
    const code = answer.error_code ?? response.status;
    const retryAfter = answer.parameters?.retry_after;
    // 429 is retried after `retry_after`; 403 (bot blocked, user deactivated) and 400 (chat not found) fall back at once.
    throw new SendError(`telegram: ${answer.description ?? `HTTP ${response.status}`}`, {
      permanent: code !== 429,
      providerCode: String(code),
      ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter * 1000 }),
    });
  };
}

/** The two receiptless channels as a router declares them. */
export function receiptlessChannels(options: {
  readonly push: PushProvider;
  readonly ackSecret: string;
  readonly telegramBotToken: string;
  readonly telegramApiBase?: string | undefined;
}): Record<'push' | 'telegram', ChannelConfig> {
  return {
    // Waits up to 2 minutes for the app to say it has the push; then the next channel.
    push: { kind: 'push', cost: 0, send: pushWithAck(options.push, options.ackSecret), confirm: { by: 'receipt', timeout: '2m' } },
    // Accepted by Telegram is as far as anyone can know.
    telegram: { kind: 'messenger', cost: 0, send: telegramSend(options.telegramBotToken, options.telegramApiBase), confirm: { by: 'acceptance' } },
  };
}

export interface AckOptions {
  readonly ackSecret: string;
  /** The signed-in app user behind an `Authorization` header (your session or JWT check), or `undefined`. */
  readonly authenticate: (authorization: string | undefined) => string | undefined | Promise<string | undefined>;
}

const ACK_STATUSES: ReadonlySet<ReceiptStatus> = new Set(['delivered', 'read']);

/** Reads `{ providerMessageId, status }`; a string says what is wrong with it. */
function readAck(body: unknown): { providerMessageId: string; status: 'delivered' | 'read' } | string {
  const { providerMessageId, status } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof providerMessageId !== 'string' || providerMessageId === '') {
    return 'Expected `providerMessageId` to be the `ackId` of the push';
  }
  if (typeof status !== 'string' || !ACK_STATUSES.has(status as ReceiptStatus)) {
    return `Expected \`status\` to be "delivered" or "read", got ${JSON.stringify(status)}`;
  }
  return { providerMessageId, status: status as 'delivered' | 'read' };
}

/**
 * `POST /app/acks` with the user's `Authorization` and the push's `ackSignature` in `X-Ack-Signature`.
 * 401 without a signed-in user, 400 for a malformed ack, 403 when the ack is not for this user's push.
 */
export function createAckApp(router: Router, options: AckOptions): express.Express {
  const app = express();
  app.post('/app/acks', express.json({ limit: '4kb' }), async (req, res) => {
    const userId = await options.authenticate(req.get('authorization'));
    if (userId === undefined) return void res.status(401).type('text/plain').send('Sign in to acknowledge a message');
    const ack = readAck(req.body);
    if (typeof ack === 'string') return void res.status(400).type('text/plain').send(ack);
    const given = Buffer.from(req.get('x-ack-signature') ?? '');
    const expected = Buffer.from(ackSignature(options.ackSecret, ack.providerMessageId, userId));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return void res.status(403).type('text/plain').send('This acknowledgement is not for a message sent to you');
    }
    const result = await router.handleReceipt(ack);
    // `held`: the ack beat the push provider's answer; the router holds it until the send returns.
    res.status(200).json({ outcome: result.outcome });
  });

  // Unparseable JSON and oversized bodies keep body-parser's 400 and 413; anything else is a 500.
  const onError: ErrorRequestHandler = (error: { status?: unknown; message?: unknown }, _req, res, _next) => {
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) console.error(error);
    res.status(status).type('text/plain').send(status === 500 ? 'Internal Server Error' : String(error.message));
  };
  app.use(onError);
  return app;
}
