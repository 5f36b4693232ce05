import type { PostgresPool, PostgresPoolClient } from './connection.js';
import { wakeChannel } from './schema.js';

/** How long to wait before listening again after the connection broke, and the longest wait. */
const RETRY_MS = 100;
const RETRY_MAX_MS = 2000;

/**
 * One connection of the pool kept on `LISTEN <schema>_wake`: a transaction that started a cascade notifies
 * it when it commits (PostgreSQL delivers a notification only then, and never for a rollback), and every
 * subscriber is woken. When the connection breaks it listens again, and wakes everyone once it does, since
 * notifications sent meanwhile are lost. Opened on the first subscriber, closed with the last.
 */
export class Listener {
  readonly #pool: PostgresPool;
  readonly #channel: string;
  readonly #wakes = new Set<() => void>();
  #client: PostgresPoolClient | undefined;
  #connecting: Promise<void> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #waitMs = RETRY_MS;
  #closed = false;
  /** Set after the first connection: later ones wake everyone (notifications may have been missed). */
  #listened = false;

  constructor(pool: PostgresPool, schema: string) {
    this.#pool = pool;
    this.#channel = wakeChannel(schema);
  }

  add(wake: () => void): () => void {
    this.#wakes.add(wake);
    this.#closed = false;
    if (this.#client === undefined && this.#connecting === undefined && this.#retry === undefined) this.#connect();
    return () => {
      this.#wakes.delete(wake);
      if (this.#wakes.size === 0) void this.close();
    };
  }

  #wakeAll(): void {
    for (const wake of this.#wakes) wake();
  }

  #connect(): void {
    this.#connecting = (async () => {
      let client: PostgresPoolClient | undefined;
      try {
        client = await this.#pool.connect();
        client.on('notification', (message) => {
          if (message.channel === this.#channel) this.#wakeAll();
        });
        client.on('error', () => this.#lost(client!));
        client.on('end', () => this.#lost(client!));
        await client.query({ text: `LISTEN ${this.#channel}` });
        if (this.#closed) return this.#release(client);
        this.#client = client;
        this.#waitMs = RETRY_MS;
        if (this.#listened) this.#wakeAll();
        this.#listened = true;
      } catch {
        if (client) this.#release(client, true);
        this.#again();
      } finally {
        this.#connecting = undefined;
      }
    })();
  }

  #lost(client: PostgresPoolClient): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#release(client, true);
    this.#again();
  }

  #again(): void {
    if (this.#closed || this.#wakes.size === 0 || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (!this.#closed && this.#wakes.size > 0) this.#connect();
    }, this.#waitMs);
    this.#retry.unref?.();
    this.#waitMs = Math.min(2 * this.#waitMs, RETRY_MAX_MS);
  }

  #release(client: PostgresPoolClient, broken = false): void {
    client.removeAllListeners('notification');
    client.removeAllListeners('end');
    // Keep an error listener: a broken connection may still emit one, and an unheard 'error' would throw.
    client.removeAllListeners('error');
    client.on('error', () => {});
    try {
      client.release(broken);
    } catch {
      // released already
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    await client.query({ text: `UNLISTEN ${this.#channel}` }).catch(() => {});
    this.#release(client);
  }
}
