/** The parent side of the multi-process tests: spawns `test/redis/instance.ts` and talks to it by JSON lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./instance.ts', import.meta.url));

export interface Failure {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
}

export class Instance {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #serial = 0;
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(readonly name: string, env: Record<string, string>) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
      cwd: ROOT,
      env: { ...process.env, ...env, INSTANCE: name },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
    let started = (): void => {};
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s: ${this.stderr}`)), 20_000);
      started = () => (clearTimeout(timer), resolve());
      void this.exited.then(() => (clearTimeout(timer), reject(new Error(`${name} exited before it was ready: ${this.stderr}`))));
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const reply = JSON.parse(line) as { ready?: string; id?: number; ok?: boolean; result?: unknown; error?: Failure };
      if (reply.ready !== undefined) return started();
      const waiter = this.#waiting.get(reply.id!);
      this.#waiting.delete(reply.id!);
      if (reply.ok) waiter?.resolve(reply.result);
      else waiter?.reject(Object.assign(new Error(reply.error!.message), reply.error));
    });
    void this.exited.then(() => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(`${name} exited`));
      this.#waiting.clear();
    });
  }

  request<T>(op: string, fields: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    const id = ++this.#serial;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: ${op} not answered within ${timeoutMs} ms`)), timeoutMs);
      this.#waiting.set(id, {
        resolve: (value) => (clearTimeout(timer), resolve(value as T)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.#child.stdin!.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
  }

  /** Kills the process at once: no close, no cleanup, like a crash. */
  async kill(): Promise<void> {
    this.#child.kill('SIGKILL');
    await this.exited;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    await this.request('close').catch(() => {});
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
