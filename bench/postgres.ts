/**
 * PostgreSQL store throughput, round trips, CPU and size: `npm run bench:postgres` (add `-- --json` for one JSON object).
 * Needs PostgreSQL at PG_URL (default postgres://postgres@127.0.0.1:5432/test); uses schemas of its own and drops them.
 *
 * A cascade here is the shortest real one, as in bench/redis.ts: create, send, one delivered receipt (three state
 * changes), 200 in flight. Workloads: the headline (`async`): the push adapter answers a later turn of the event
 * loop, as an HTTP call does, and the receipt comes a turn after the router recorded that answer; `earlyReceipts`:
 * each receipt comes before the provider answered, so it is held until the commit that records the id (the worst
 * case); `transactional`: each cascade starts inside a transaction of the caller's (BEGIN, an order insert,
 * send(…, { transaction }), COMMIT) and a listening router starts it on the commit's notification: it also reports
 * how long after the COMMIT returned the adapter was called. Two instances of the headline are two processes on
 * one schema, each a router with its own pool, IN_FLIGHT cascades and its own receipts (started together after
 * each one's warm-up; the rate is all their cascades over the time until both finished). Two instances of the
 * transactional start are two routers in this one process (the caller's, which does not listen, and a listener).
 *
 * Round trips are the queries the routers' pools send (each waits for its answer), per state change. CPU per
 * cascade: this process (`process.cpuUsage`) and every `postgres` process on the machine (/proc, user + system:
 * the server is local; whatever else it serves meanwhile counts too). Bytes per open cascade: the growth of the
 * schema's tables and indexes (`pg_total_relation_size`) per cascade left open (sent, no receipt).
 *
 * The store sends the creates, commits and routes of one turn of the event loop as one call (src/postgres/batch.ts),
 * so a round trip carries many state changes: the figure is below 1. `SYNCHRONOUS_COMMIT=off` runs the routers'
 * connections with `synchronous_commit = off` (a server crash may lose the last fraction of a second of
 * acknowledged changes, as Redis with `appendfsync everysec` may): how much of the time is the WAL flush.
 * `-- --where` runs one headline run with `track_functions = all` and prints the server's time per cascade in each
 * store function instead.
 *
 * Each run first takes WARMUP cascades (default 2,000) through the same routers and connections, not measured: V8
 * compiles the hot code and each connection caches its plans (from a cold start, a 4,000-cascade run's client CPU
 * per cascade was about a third higher here). `WARMUP=0` measures from a cold start, as this bench did before.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type * as Library from 'cascade-router';
import type * as PostgresEntry from 'cascade-router/postgres';

const { createRouter } = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof Library;
const { postgresStore } = (await import(new URL('../dist/postgres.js', import.meta.url).href)) as typeof PostgresEntry;

const json = process.argv.includes('--json');
/** `--where`: one headline run with the server's per-function timing (`track_functions`), instead of the benchmark. */
const where = process.argv.includes('--where');
const url = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CASCADES = Number(process.env.CASCADES ?? 4000);
/** Cascades run first on the same routers and connections, not measured (V8's compiler and each connection's cached plans warm up). */
const WARMUP = Number(process.env.WARMUP ?? 2000);
const IN_FLIGHT = 200;
const RUNS = Number(process.env.RUNS ?? 3);
const POOL = Number(process.env.POOL ?? 10);
/** The store's `batchSize` (its default when unset). */
const BATCH = process.env.BATCH === undefined ? undefined : Number(process.env.BATCH);
/** `WORKLOADS=async` runs only those (comma-separated; `two`: the headline on two processes), and skips round trips and size: for quick comparisons. */
const ONLY = process.env.WORKLOADS?.split(',');
const admin = new pg.Pool({ connectionString: url, max: 4 });
const run = randomUUID().replaceAll('-', '').slice(0, 8);
const schemas: string[] = [];
const log = (line: string): void => void (json || console.log(line));

const recipient = { id: 'r', addresses: { push: 'token' } };
const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Hi' } });

let roundTrips = 0;
const TICKS = 100; // clock ticks per second for /proc/<pid>/stat

type Workload = 'async' | 'earlyReceipts' | 'transactional';
const answerLater: Library.SendFunction = ({ cascadeId }) => new Promise((resolve) => setImmediate(() => resolve(`p:${cascadeId}`)));

/** CPU seconds of every postgres process on this machine, or of the given ones. */
function serverCpuSeconds(pids?: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids?.map(String) ?? readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (!stat.slice(stat.indexOf('(') + 1, close).startsWith('postgres')) continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / TICKS;
}

async function newSchema(label: string): Promise<string> {
  const schema = `cr_bench_${run}_${label}`.toLowerCase();
  schemas.push(schema);
  const store = postgresStore({ connectionString: url, schema, poolSize: 1 });
  await store.migrate();
  await store.dispose();
  await admin.query(`CREATE TABLE ${schema}.orders (id text PRIMARY KEY, total numeric NOT NULL)`);
  return schema;
}

/** A router on its own pool; every query the pool runs is one round trip. */
function makeRouter(schema: string, send: Library.SendFunction, listen: boolean): { router: Library.Router; store: Library.CascadeStore; pool: pg.Pool } {
  const settings = [process.env.SYNCHRONOUS_COMMIT === 'off' ? '-c synchronous_commit=off' : '', where ? '-c track_functions=all' : ''].join(' ').trim();
  const pool = new pg.Pool({ connectionString: url, max: POOL, application_name: `crbench_${schema}`, ...(settings === '' ? {} : { options: settings }) });
  pool.on('error', () => {});
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => (roundTrips++, query(...args));
  const store = postgresStore({ pool: pool as unknown as PostgresEntry.PostgresPool, schema, pollMs: 1000, listen, ...(BATCH === undefined ? {} : { batchSize: BATCH }) });
  const router = createRouter({ store, channels: { push: { kind: 'push', send, confirm: { timeout: '10m' } } } });
  return { router, store, pool };
}

interface Run {
  readonly cascadesPerSecond: number;
  /** CPU time of this process and of the PostgreSQL server per cascade, in microseconds. */
  readonly clientCpuUs: number;
  readonly serverCpuUs: number;
  /** CPU time of the routers' own backends per cascade, in microseconds (not the WAL writer, checkpointer, …). */
  readonly backendCpuUs: number;
  /** transactional: ms from the COMMIT's answer to the adapter's call, median and 99th percentile. */
  readonly startMs?: { readonly median: number; readonly p99: number };
}

const quantile = (values: number[], q: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))]!;

/** Runs WARMUP cascades to delivered over the routers, IN_FLIGHT at a time, then CASCADES more, measured. */
async function throughput(instances: number, round: number, workload: Workload): Promise<Run> {
  const schema = await newSchema(`${instances}_${workload}_${round}`);
  const committedAt = new Map<string, number>();
  const startMs: number[] = [];
  const send: Library.SendFunction = (request) => {
    const at = committedAt.get(request.cascadeId);
    if (at !== undefined) startMs.push(performance.now() - at);
    return answerLater(request);
  };
  // Transactional: the caller's router does not listen, so the start is another's, woken by the notification.
  const routers = Array.from({ length: instances }, (_, i) => makeRouter(schema, send, workload !== 'transactional' || i > 0 || instances === 1));
  const sent = new Set<string>();
  const waiting = new Map<string, () => void>();
  for (const { router } of routers) {
    router.on('sent', ({ cascadeId }) => {
      sent.add(cascadeId);
      waiting.get(cascadeId)?.();
    });
  }
  const recorded = (key: string): Promise<void> | undefined => (sent.has(key) ? undefined : new Promise<void>((resolve) => waiting.set(key, resolve)));
  const callers = workload === 'transactional' ? new pg.Pool({ connectionString: url, max: POOL }) : undefined;
  /** Runs `count` cascades to delivered, keys `${prefix}0`…, IN_FLIGHT at a time. */
  const phase = async (count: number, prefix: string): Promise<void> => {
    let next = 0;
    const worker = async (w: number): Promise<void> => {
      const { router } = routers[w % instances]!;
      while (next < count) {
        const key = `${prefix}${next++}`;
        if (callers) {
          const client = await callers.connect();
          await client.query('BEGIN');
          await client.query(`INSERT INTO ${schema}.orders (id, total) VALUES ($1, 42.5)`, [key]);
          await router.send(message(key), recipient, { transaction: client });
          await client.query('COMMIT');
          committedAt.set(key, performance.now());
          client.release();
        } else {
          await router.send(message(key), recipient);
        }
        if (workload !== 'earlyReceipts') await recorded(key), await new Promise((resolve) => setImmediate(resolve));
        await routers[(w + 1) % instances]!.router.handleReceipt({ providerMessageId: `p:${key}`, status: 'delivered' });
      }
    };
    let delivered = 0;
    let allDelivered = (): void => {};
    const done = new Promise<void>((resolve) => (allDelivered = resolve));
    const count1 = (): void => void (++delivered === count && allDelivered());
    for (const { router } of routers) router.on('delivered', count1);
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
    await done;
    for (const { router } of routers) router.off('delivered', count1);
  };
  // The routers' own backends (opened for this run, found by name): their CPU alone, whatever else the server does.
  const backendPids = async (): Promise<number[]> =>
    (await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [`crbench_${schema}`])).rows.map((row: { pid: number }) => row.pid);
  // Not measured: the first cascades warm up V8 and each connection's cached plans.
  if (WARMUP > 0) await phase(WARMUP, 'w');
  roundTrips = 0;
  startMs.length = 0;
  const backendsBefore = new Map((await backendPids()).map((pid) => [pid, serverCpuSeconds([pid])]));
  const serverBefore = serverCpuSeconds();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await phase(CASCADES, 'c');
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const serverCpu = serverCpuSeconds() - serverBefore;
  const backendCpu = (await backendPids()).reduce((sum, pid) => sum + serverCpuSeconds([pid]) - (backendsBefore.get(pid) ?? 0), 0);
  for (const { router, store, pool } of routers) await router.close(), await store.dispose(), await pool.end();
  await callers?.end();
  return {
    cascadesPerSecond: CASCADES / seconds,
    clientCpuUs: (cpu.user + cpu.system) / CASCADES,
    serverCpuUs: (serverCpu * 1e6) / CASCADES,
    backendCpuUs: (backendCpu * 1e6) / CASCADES,
    ...(startMs.length > 0 ? { startMs: { median: quantile(startMs, 0.5), p99: quantile(startMs, 0.99) } } : {}),
  };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Queries per state change (three per cascade), one instance. */
async function roundTripsPerChange(workload: Workload): Promise<number> {
  roundTrips = 0;
  await throughput(1, 99, workload);
  return Math.round((roundTrips / (3 * CASCADES)) * 100) / 100;
}

/** Bytes the schema grows by per open cascade (created and sent, no receipt). */
async function bytesPerOpenCascade(): Promise<number> {
  const schema = await newSchema('size');
  const size = async (): Promise<number> => {
    await admin.query(`VACUUM ANALYZE ${schema}.cascades`);
    const { rows } = await admin.query(`SELECT sum(pg_total_relation_size(c.oid))::float8 AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, [schema]);
    return Number((rows[0] as { bytes: number }).bytes);
  };
  const before = await size();
  const { router, store, pool } = makeRouter(schema, answerLater, true);
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < CASCADES) await router.send(message(`open${next++}`), recipient);
    }),
  );
  await router.settled();
  await new Promise((resolve) => setTimeout(resolve, 200));
  await router.settled();
  const after = await size();
  await router.close(), await store.dispose(), await pool.end();
  return Math.round((after - before) / CASCADES);
}

/** Server time per cascade in each store function (its own time, not the functions it calls), from `pg_stat_user_functions`. */
async function serverTimeByFunction(): Promise<void> {
  const result = await throughput(1, 0, 'async');
  const schema = schemas.at(-1)!;
  // Function statistics reach the view when the backends report them: wait until they stop growing.
  let rows: { funcname: string; calls: number; self_time: number; total_time: number }[] = [];
  for (let total = -1, tries = 0; tries < 20; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    rows = (await admin.query(`SELECT funcname, calls::float8 AS calls, self_time, total_time FROM pg_stat_user_functions WHERE schemaname = $1 ORDER BY self_time DESC`, [schema])).rows;
    const now = rows.reduce((sum, row) => sum + row.self_time, 0);
    if (now === total) break;
    total = now;
  }
  // The function statistics count the warm-up's cascades too.
  const perCascade = (ms: number): number => Math.round((ms * 1000) / (CASCADES + WARMUP));
  const report = { cascadesPerSecond: Math.round(result.cascadesPerSecond), clientCpuUs: Math.round(result.clientCpuUs), serverCpuUs: Math.round(result.serverCpuUs), functions: rows.map((row) => ({ name: row.funcname, calls: row.calls, selfUsPerCascade: perCascade(row.self_time) })) };
  if (json) return void console.log(JSON.stringify(report));
  log(`one headline run: ${report.cascadesPerSecond} cascades/s, CPU ${report.clientCpuUs} µs client + ${report.serverCpuUs} µs server per cascade; server time per cascade by function (self):`);
  for (const f of report.functions) log(`  ${f.name.padEnd(16)} ${String(f.selfUsPerCascade).padStart(5)} µs  (${f.calls} calls)`);
}

/** Drives `count` headline cascades to delivered on one router, IN_FLIGHT at a time, each receipt to the router itself. */
async function drive(router: Library.Router, count: number, prefix: string): Promise<void> {
  const sent = new Set<string>();
  const waiting = new Map<string, () => void>();
  const onSent = ({ cascadeId }: { cascadeId: string }): void => void (sent.add(cascadeId), waiting.get(cascadeId)?.());
  router.on('sent', onSent);
  let delivered = 0;
  let allDelivered = (): void => {};
  const done = new Promise<void>((resolve) => (allDelivered = resolve));
  const count1 = (): void => void (++delivered === count && allDelivered());
  router.on('delivered', count1);
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const key = `${prefix}${next++}`;
        await router.send(message(key), recipient);
        if (!sent.has(key)) await new Promise<void>((resolve) => waiting.set(key, resolve));
        await new Promise((resolve) => setImmediate(resolve));
        await router.handleReceipt({ providerMessageId: `p:${key}`, status: 'delivered' });
      }
    }),
  );
  await done;
  router.off('sent', onSent);
  router.off('delivered', count1);
}

/** One of the two processes of `twoProcesses`: warms up, says so, runs CASCADES when told, answers its time and CPU. */
async function instanceProcess(): Promise<void> {
  const schema = process.env.CRBENCH_SCHEMA!;
  const prefix = process.env.CRBENCH_PREFIX!;
  const { router, store, pool } = makeRouter(schema, answerLater, true);
  if (WARMUP > 0) await drive(router, WARMUP, `${prefix}w`);
  const go = once(process, 'message');
  process.send!('ready');
  await go;
  const cpuBefore = process.cpuUsage();
  await drive(router, CASCADES, `${prefix}c`);
  const cpu = process.cpuUsage(cpuBefore);
  // Connections stay open until the parent has read their backends' CPU.
  const close = once(process, 'message');
  process.send!({ cpuUs: cpu.user + cpu.system });
  await close;
  await router.close(), await store.dispose(), await pool.end();
  process.disconnect();
}

/** The headline on two router processes sharing one schema. */
async function twoProcesses(round: number): Promise<Run> {
  const schema = await newSchema(`2p_${round}`);
  const children: ChildProcess[] = [0, 1].map((i) =>
    fork(fileURLToPath(import.meta.url), ['--instance'], { env: { ...process.env, CRBENCH_SCHEMA: schema, CRBENCH_PREFIX: `i${i}` }, execArgv: process.execArgv }),
  );
  await Promise.all(children.map((child) => once(child, 'message')));
  const backendPids = async (): Promise<number[]> =>
    (await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [`crbench_${schema}`])).rows.map((row: { pid: number }) => row.pid);
  const backendsBefore = new Map((await backendPids()).map((pid) => [pid, serverCpuSeconds([pid])]));
  const serverBefore = serverCpuSeconds();
  const started = performance.now();
  const answers = children.map((child) => once(child, 'message') as Promise<[{ cpuUs: number }]>);
  for (const child of children) child.send('go');
  const results = await Promise.all(answers);
  const seconds = (performance.now() - started) / 1000;
  const serverCpu = serverCpuSeconds() - serverBefore;
  const backendCpu = (await backendPids()).reduce((sum, pid) => sum + serverCpuSeconds([pid]) - (backendsBefore.get(pid) ?? 0), 0);
  const exited = children.map((child) => once(child, 'exit'));
  for (const child of children) child.send('close');
  await Promise.all(exited);
  const total = 2 * CASCADES;
  return {
    cascadesPerSecond: total / seconds,
    clientCpuUs: results.reduce((sum, [r]) => sum + r.cpuUs, 0) / total,
    serverCpuUs: (serverCpu * 1e6) / total,
    backendCpuUs: (backendCpu * 1e6) / total,
  };
}

if (process.argv.includes('--instance')) {
  await instanceProcess();
  process.exit(0);
}

try {
  if (where) await serverTimeByFunction();
  else await benchmark();
} finally {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}

async function benchmark(): Promise<void> {
  const workloads = (['async', 'earlyReceipts', 'transactional'] as const).filter((w) => ONLY === undefined || ONLY.includes(w));
  if (ONLY !== undefined) {
    for (let round = 0; round < RUNS; round++) {
      for (const workload of workloads) {
        const one = await throughput(1, round, workload);
        log(`  round ${round + 1}/${RUNS} ${workload}: ${Math.round(one.cascadesPerSecond)} cascades/s one instance, CPU ${Math.round(one.clientCpuUs)} µs client + ${Math.round(one.serverCpuUs)} µs server (${Math.round(one.backendCpuUs)} µs in its backends) per cascade`);
      }
      if (ONLY.includes('two')) {
        const two = await twoProcesses(round);
        log(`  round ${round + 1}/${RUNS} async, two processes: ${Math.round(two.cascadesPerSecond)} cascades/s, CPU ${Math.round(two.clientCpuUs)} µs client + ${Math.round(two.serverCpuUs)} µs server (${Math.round(two.backendCpuUs)} µs in their backends) per cascade`);
      }
    }
    return;
  }
  const runs = { one: { async: [] as Run[], earlyReceipts: [] as Run[], transactional: [] as Run[] }, two: { async: [] as Run[], transactional: [] as Run[] } };
  for (let round = 0; round < RUNS; round++) {
    for (const workload of workloads) {
      runs.one[workload].push(await throughput(1, round, workload));
      if (workload === 'async') runs.two.async.push(await twoProcesses(round));
      if (workload === 'transactional') runs.two.transactional.push(await throughput(2, round, workload));
      log(`  round ${round + 1}/${RUNS} ${workload}: ${Math.round(runs.one[workload].at(-1)!.cascadesPerSecond)} cascades/s one instance`);
    }
  }
  const trips = { async: await roundTripsPerChange('async'), earlyReceipts: await roundTripsPerChange('earlyReceipts'), transactional: await roundTripsPerChange('transactional') };
  const bytes = await bytesPerOpenCascade();
  const summary = (list: Run[]) => ({
    cascadesPerSecond: Math.round(median(list.map((r) => r.cascadesPerSecond))),
    clientCpuUs: Math.round(median(list.map((r) => r.clientCpuUs))),
    serverCpuUs: Math.round(median(list.map((r) => r.serverCpuUs))),
    backendCpuUs: Math.round(median(list.map((r) => r.backendCpuUs))),
    ...(list[0]?.startMs ? { startMs: { median: Math.round(median(list.map((r) => r.startMs!.median)) * 10) / 10, p99: Math.round(median(list.map((r) => r.startMs!.p99)) * 10) / 10 } } : {}),
  });
  const result = {
    cascades: CASCADES,
    warmup: WARMUP,
    inFlight: IN_FLIGHT,
    runs: RUNS,
    pool: POOL,
    synchronousCommit: process.env.SYNCHRONOUS_COMMIT === 'off' ? 'off' : 'on',
    server: ((await admin.query('SHOW server_version')).rows[0] as { server_version: string }).server_version,
    oneInstance: { async: summary(runs.one.async), earlyReceipts: summary(runs.one.earlyReceipts), transactional: summary(runs.one.transactional) },
    twoInstances: { async: summary(runs.two.async), transactional: summary(runs.two.transactional) },
    roundTripsPerStateChange: trips,
    bytesPerOpenCascade: bytes,
  };
  if (json) console.log(JSON.stringify(result));
  else {
    log(`\nPostgreSQL ${result.server}${process.env.SYNCHRONOUS_COMMIT === 'off' ? ' (synchronous_commit off)' : ''}: ${CASCADES} cascades (create, send, delivered receipt) after ${WARMUP} not measured, ${IN_FLIGHT} in flight, pool ${POOL}, medians of ${RUNS} runs`);
    for (const workload of workloads) {
      const one = result.oneInstance[workload];
      const start = 'startMs' in one && one.startMs ? `; first step ${one.startMs.median} ms after COMMIT (p99 ${one.startMs.p99} ms)` : '';
      log(`  ${workload.padEnd(14)} one instance ${String(one.cascadesPerSecond).padStart(6)} cascades/s, CPU ${one.clientCpuUs} µs client + ${one.serverCpuUs} µs server (${one.backendCpuUs} µs in its backends) per cascade, ${trips[workload]} round trips per state change${start}`);
    }
    const two = result.twoInstances.async;
    log(`  two instances: async ${two.cascadesPerSecond} cascades/s (two processes), CPU ${two.clientCpuUs} µs client + ${two.serverCpuUs} µs server (${two.backendCpuUs} µs in their backends) per cascade; transactional ${result.twoInstances.transactional.cascadesPerSecond} cascades/s (two routers in one process)`);
    log(`  bytes per open cascade: ${bytes}`);
  }
}
