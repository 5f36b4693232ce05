import type { EventEmitter } from 'eventemitter3';
import { isCascadeRouterError } from '../core/errors.js';
import { eventFor, type ErrorStage, type RouterEvents } from './events.js';
import type { Observer } from '../observe/observer.js';
import type { Transition } from '../core/transition.js';
import type { Cascade } from '../core/types.js';

/**
 * Where the router writes what happens, pino-style (an object of fields first, then the message): errors it
 * cannot hand to a caller (a store outage during a timer, an adapter bug) and warnings (a receipt posted to
 * the wrong provider's endpoint, a store refusing work); with `info`, each cascade planned and how it ended
 * (spend, late receipts and their double spend); with `debug`, every attempt, send, receipt, fallback and
 * skipped channel. A pino or bunyan logger fits as it is.
 */
export interface Logger {
  error(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  info?(fields: Record<string, unknown>, message?: string): void;
  debug?(fields: Record<string, unknown>, message?: string): void;
}

/**
 * Turns a persisted transition's notes into events, and errors into `error` events and log lines. An error
 * reaches the `error` listeners and the logger; with neither, it is written once per code and stage to
 * `console.error`, so a store outage is never invisible.
 */
export class Reporter {
  readonly #emitter: EventEmitter<RouterEvents>;
  readonly #logger: Logger | undefined;
  readonly #written = new Set<string>();
  readonly #observers: readonly Observer[];

  constructor(emitter: EventEmitter<RouterEvents>, logger: Logger | undefined, observers: readonly Observer[] = []) {
    this.#emitter = emitter;
    this.#logger = logger;
    this.#observers = observers;
  }

  /** What the observers (OpenTelemetry) capture of the caller's context at `send()`. */
  context(): unknown {
    for (const observer of this.#observers) if (observer.context) return observer.context();
    return undefined;
  }

  /** A cascade this router just created. */
  started(cascade: Cascade, context: unknown): void {
    // try/catch in place rather than `#guard`: no closure per change.
    for (const observer of this.#observers) {
      try {
        observer.started?.(cascade, context);
      } catch (error) {
        this.fail(error, cascade.id, 'listener');
      }
    }
  }

  close(): void {
    for (const observer of this.#observers) this.#guard(() => observer.close?.(), undefined);
  }

  /** An observer's failure (a broken exporter) is reported like a listener's, never thrown into the router. */
  #guard(run: () => void, cascadeId: string | undefined): void {
    try {
      run();
    } catch (error) {
      this.fail(error, cascadeId, 'listener');
    }
  }

  listening(name: keyof RouterEvents): boolean {
    return this.#emitter.listenerCount(name) > 0;
  }

  /** The events of a persisted transition, for the notes someone listens to; `before` for the observers. */
  report(done: Transition, before?: Cascade | 'new'): void {
    for (const observer of this.#observers) {
      try {
        observer.changed(done, before);
      } catch (error) {
        this.fail(error, done.cascade.id, 'listener');
      }
    }
    for (const note of done.notes) {
      if (this.listening(note.type)) this.emit(note.type, eventFor(note, done.cascade) as never);
    }
  }

  emit<K extends keyof RouterEvents>(name: K, event: Parameters<RouterEvents[K]>[0]): void {
    try {
      (this.#emitter.emit as (name: K, event: unknown) => boolean).call(this.#emitter, name, event);
    } catch (error) {
      if (name !== 'error') this.fail(error, 'cascadeId' in event ? (event.cascadeId as string) : undefined, 'listener');
    }
  }

  fail(error: unknown, cascadeId: string | undefined, during: ErrorStage): void {
    const err = error instanceof Error ? error : new Error(String(error));
    const code = isCascadeRouterError(err) ? err.code : err.name;
    this.#logger?.error({ err, code, cascadeId, during }, `cascade-router: ${err.message}`);
    if (this.listening('error')) this.emit('error', { error: err, cascadeId, during });
    else if (this.#logger === undefined) {
      const key = `${code}:${during}`;
      if (this.#written.has(key)) return;
      this.#written.add(key);
      console.error(`cascade-router: ${code} during ${during}${cascadeId === undefined ? '' : ` (cascade ${cascadeId})`}: ${err.message} (listen to 'error' events or pass a \`logger\` to see every one)`);
    }
  }

  warn(fields: Record<string, unknown>, message: string): void {
    this.#logger?.warn(fields, `cascade-router: ${message}`);
  }
}
