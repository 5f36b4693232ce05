/**
 * The fault suite's moving parts, all real: router processes (test/faults/router.ts), a provider simulator
 * that logs every adapter call and posts delivery receipts back to random routers (retrying, as providers
 * do, when a router refuses or is gone), and redis-servers the suite starts on its own ports, with an
 * append-only file, that it kills, freezes and restarts. Nothing here touches the shared Redis on 6379.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ReceiptStatus } from 'cascade-router';
import { pingRedis, waitFor } from '../redis/helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ROUTER = fileURLToPath(new URL('./router.ts', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A deterministic random stream (mulberry32), so a run's provider behaviour can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Reply {
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { readonly code?: string; readonly message: string };
  readonly ms: number;
  /** When the router answered (its clock: the machine's). */
  readonly at?: number;
}

export interface RouterEventLine {
  readonly event: string;
  readonly router: string;
  readonly cascadeId: string;
  readonly step?: number;
  readonly at: number;
  readonly ended?: readonly number[];
  readonly status?: string;
  readonly code?: string;
  readonly during?: string;
  readonly message?: string;
}

/** One router process. Requests are answered by `Reply`s (a refusal is a reply too); a dead process rejects them. */
export class RouterProcess {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  #serial = 0;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  killedAt: number | undefined;
  stderr = '';

  constructor(
    readonly name: string,
    env: Record<string, string>,
    readonly events: RouterEventLine[],
  ) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', ROUTER], { cwd: ROOT, env: { ...process.env, ...env, INSTANCE: name }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    let started = (): void => {};
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s: ${this.stderr}`)), 30_000);
      started = () => (clearTimeout(timer), resolve());
      void this.exited.then(() => (clearTimeout(timer), reject(new Error(`${name} exited before it was ready: ${this.stderr}`))));
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { ready?: string; id?: number; event?: string } & Reply & RouterEventLine;
      if (message.ready !== undefined) return started();
      if (message.event !== undefined) return void events.push({ ...message, router: name });
      const waiter = this.#waiting.get(message.id!);
      this.#waiting.delete(message.id!);
      waiter?.resolve(message);
    });
    void this.exited.then(() => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(`${name} exited`));
      this.#waiting.clear();
    });
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  request(op: string, fields: Record<string, unknown>, timeoutMs = 15_000): Promise<Reply> {
    if (!this.alive) return Promise.reject(new Error(`${this.name} is dead`));
    const id = ++this.#serial;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => (this.#waiting.delete(id), reject(new Error(`${this.name}: ${op} not answered within ${timeoutMs} ms`))), timeoutMs);
      this.#waiting.set(id, { resolve: (reply) => (clearTimeout(timer), resolve(reply)), reject: (error) => (clearTimeout(timer), reject(error)) });
      this.#child.stdin!.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
  }

  /** SIGKILL: no close, no cleanup, like a crash. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.killedAt = Date.now();
    this.#child.kill('SIGKILL');
    await this.exited;
  }

  async close(): Promise<void> {
    if (!this.alive) return;
    await this.request('close', {}, 10_000).catch(() => {});
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface ProviderCall {
  readonly router: string;
  readonly channel: string;
  readonly key: string;
  readonly try: number;
  readonly cascadeId: string;
  readonly at: number;
  /** When the router called its adapter (the machine's clock): `at` adds the HTTP hop and this process's own lag. */
  readonly calledAt?: number;
  /** Whether this call sent a message to the customer (the first accepted call of its key). */
  sent?: boolean;
}

export interface AcceptedReceipt {
  readonly providerMessageId: string;
  readonly cascadeId: string;
  readonly step: number;
  readonly status: ReceiptStatus;
  readonly outcome: string;
  readonly at: number;
  readonly router: string;
}

/** What the provider does with a message on a channel: its receipt, and how long after the send it comes. */
interface Fate {
  readonly status: ReceiptStatus | undefined;
  readonly latencyMs: number;
}

/**
 * The providers: one HTTP endpoint every router's adapters call. It logs each call, answers with a provider
 * id that depends only on the idempotency key (as providers that deduplicate do), and posts the receipt
 * its fate gives to a random live router, again and again until one accepts it.
 */
export class ProviderSimulator {
  readonly calls: ProviderCall[] = [];
  readonly accepted: AcceptedReceipt[] = [];
  /** Receipts still to be accepted by some router. */
  pending = 0;
  #server: Server | undefined;
  url = '';
  readonly #random: () => number;
  readonly #tried = new Map<string, number>();
  /** Idempotency keys whose message went out. */
  readonly #sent = new Set<string>();
  #stopped = false;

  constructor(
    seed: number,
    readonly routers: () => readonly RouterProcess[],
  ) {
    this.#random = prng(seed);
  }

  async start(): Promise<void> {
    this.#server = createHttpServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const call: ProviderCall = { ...(JSON.parse(body) as Omit<ProviderCall, 'at'>), at: Date.now() };
        this.calls.push(call);
        const answer = this.#answer(call);
        // The provider's API answers after a while: sends are in flight when a fault strikes.
        setTimeout(() => {
          response.setHeader('content-type', 'application/json');
          response.end(JSON.stringify(answer));
        }, 10 + Math.floor(this.#random() * 140));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server!.address() as { port: number }).port}`;
  }

  stop(): Promise<void> {
    this.#stopped = true;
    return new Promise((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  /** A provider id that depends on the idempotency key only; a key already accepted gets it again and no second message. */
  #answer(call: ProviderCall): { id?: string; error?: string; permanent?: boolean } {
    const id = `${call.channel}:${call.key}`;
    if (this.#sent.has(call.key)) return { id };
    const r = this.#random();
    const tries = (this.#tried.get(call.key) ?? 0) + 1;
    this.#tried.set(call.key, tries);
    // A transient failure on some first tries (the router retries after its backoff), a permanent one now and then.
    if (tries === 1 && r < 0.12) return { error: '503 Service Unavailable' };
    if (r > 0.97) return { error: 'invalid address', permanent: true };
    this.#sent.add(call.key);
    call.sent = true;
    const fate = this.#fate(call.channel);
    if (fate.status !== undefined) this.#deliver(id, call.cascadeId, Number(call.key.slice(call.key.lastIndexOf(':') + 1)), fate);
    return { id };
  }

  /**
   * A fifth of receipts come before the API's answer reaches the router (held until its send is stored),
   * most within a second, and some after the step's 4-second timeout (a device back online: late receipts).
   */
  #fate(channel: string): Fate {
    const r = this.#random();
    const when = this.#random();
    const latencyMs = when < 0.2 ? 0 : when < 0.85 ? 50 + Math.floor(this.#random() * 750) : 4500 + Math.floor(this.#random() * 2500);
    if (channel === 'push') return { status: r < 0.45 ? 'delivered' : r < 0.55 ? 'failed' : undefined, latencyMs };
    if (channel === 'email') return { status: r < 0.4 ? 'delivered' : r < 0.6 ? 'failed' : undefined, latencyMs };
    return { status: r < 0.95 ? 'delivered' : 'failed', latencyMs };
  }

  /** Posts a receipt after its latency to a random live router; on a refusal or a dead router, again later. */
  #deliver(providerMessageId: string, cascadeId: string, step: number, fate: Fate): void {
    this.pending++;
    const duplicate = this.#random() < 0.1;
    const post = async (): Promise<void> => {
      if (this.#stopped) return void this.pending--;
      const live = this.routers().filter((r) => r.alive);
      const router = live[Math.floor(this.#random() * live.length)];
      let reply: Reply | undefined;
      try {
        if (router) reply = await router.request('receipt', { receipt: { providerMessageId, status: fate.status } }, 10_000);
      } catch {
        reply = undefined;
      }
      if (!reply?.ok) return void setTimeout(post, 200 + Math.floor(this.#random() * 400));
      const outcome = (reply.result as { outcome: string }).outcome;
      this.accepted.push({ providerMessageId, cascadeId, step, status: fate.status!, outcome, at: reply.at ?? Date.now(), router: router!.name });
      if (duplicate && !this.accepted.some((a) => a.providerMessageId === providerMessageId && a !== this.accepted[this.accepted.length - 1])) {
        this.pending++;
        setTimeout(post, 100);
      }
      this.pending--;
    };
    setTimeout(post, fate.latencyMs);
  }
}

/** A redis-server of the suite's own, on its own port, with an append-only file. */
export class RedisServer {
  #process: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'cr-faults-'));
  port = 0;

  constructor(readonly appendfsync: 'always' | 'everysec' = 'always', readonly extra: readonly string[] = []) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port ||= await freePort();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes', '--appendfsync', this.appendfsync, ...this.extra];
    this.#process = spawn('redis-server', args, { stdio: 'ignore' });
    await waitFor(`redis-server on port ${this.port}`, () => pingRedis(this.url), 15_000, 50);
  }

  /** Whether the server process is running (frozen counts as running). */
  get running(): boolean {
    return this.#process !== undefined && this.#process.exitCode === null && this.#process.signalCode === null;
  }

  async kill(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP: the server keeps its connections but answers nothing until `resume()`. */
  pause(): void {
    this.#process?.kill('SIGSTOP');
  }

  resume(): void {
    this.#process?.kill('SIGCONT');
  }

  async remove(): Promise<void> {
    this.resume();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** True when redis-server and redis-cli are here and Redis is at least 5 (cluster create by redis-cli). */
export function clusterSupported(): boolean {
  const version = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const major = Number(/v=(\d+)/.exec(version.stdout ?? '')?.[1] ?? 0);
  return version.status === 0 && major >= 5 && spawnSync('redis-cli', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Three masters and three replicas, each its own redis-server with an append-only file. */
export class RedisCluster {
  readonly nodes: RedisServer[] = [];

  async start(): Promise<void> {
    for (let i = 0; i < 6; i++) {
      this.nodes.push(new RedisServer('everysec', ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000']));
    }
    await Promise.all(this.nodes.map((node) => node.start()));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...this.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await this.waitHealthy();
  }

  get seeds(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  /** Waits until every live node reports cluster_state:ok and all 16384 slots are served. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor('the cluster to be healthy', async () => {
      const live = this.nodes.filter((n) => n.running);
      for (const node of live) {
        const info = spawnSync('redis-cli', ['-p', String(node.port), 'cluster', 'info'], { encoding: 'utf8', timeout: 5000 });
        if (info.status !== 0) continue;
        if (!/cluster_state:ok/.test(info.stdout) || !/cluster_slots_ok:16384/.test(info.stdout)) return false;
      }
      return true;
    }, timeoutMs, 200);
  }

  /** The master node that serves the slot of `key`. */
  masterFor(key: string): RedisServer {
    const slot = spawnSync('redis-cli', ['-p', String(this.nodes[0]!.port), 'cluster', 'keyslot', key], { encoding: 'utf8' }).stdout.trim();
    const nodes = spawnSync('redis-cli', ['-p', String(this.nodes[0]!.port), 'cluster', 'nodes'], { encoding: 'utf8' }).stdout.trim().split('\n');
    for (const line of nodes) {
      const fields = line.split(' ');
      if (!fields[2]!.includes('master')) continue;
      const port = Number(fields[1]!.split(':')[1]!.split('@')[0]);
      for (const range of fields.slice(8)) {
        const [from, to] = range.split('-').map(Number);
        if (Number(slot) >= from! && Number(slot) <= (to ?? from)!) return this.nodes.find((n) => n.port === port)!;
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  /** Waits until the master that serves `key` has at least one replica online (after a failover, the old master back). */
  async waitReplicated(key: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(`a replica online for the master of ${key}`, async () => {
      let master: RedisServer;
      try {
        master = this.masterFor(key);
      } catch {
        return false;
      }
      const info = spawnSync('redis-cli', ['-p', String(master.port), 'info', 'replication'], { encoding: 'utf8', timeout: 5000 });
      return info.status === 0 && /^slave\d+:.*state=online/m.test(info.stdout);
    }, timeoutMs, 200);
  }

  async remove(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.remove()));
  }
}
