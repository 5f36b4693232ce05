import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from 'cascade-router';

// The published shape, tested as a user meets it: build, pack, install the tarball into scratch
// ESM and CJS projects outside this repository, and run real cascades from each.

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// npm exports its own config (prefix, local_prefix, …) to scripts: a nested npm must not inherit it.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'NODE_OPTIONS'),
);
env.NO_UPDATE_NOTIFIER = '1';

function run(file: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const how = error.killed ? `killed after ${timeoutMs} ms` : `exit code ${String(error.code)}`;
      reject(new Error(`\`${[file, ...args].join(' ')}\` in ${cwd} failed (${how})\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
    });
  });
}

/** The JSON object a consumer script prints on its last line. */
async function runConsumer(dir: string, nodeFlags: readonly string[] = []): Promise<ConsumerReport> {
  const stdout = await run(process.execPath, [...nodeFlags, 'main.js'], dir, 30_000);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ConsumerReport;
}

interface ConsumerReport {
  outcome: string;
  spend: string;
  plan: string[];
  calls: string[];
  events: string[];
  receipt: string;
  errors: string[];
  tries?: { try: number; at: number }[];
  triesBeforeBackoff?: number;
  attempts?: { channel: string; outcome: string; costMicros: number }[];
  receiptsExports: string[] | null;
  postgres: { exports: string[]; missing: string | null; migrations: number[] } | null;
  testingExports?: string[];
  redisError?: string | null;
  contract?: { passed: number; failed: string[] };
  otelLoaded?: boolean;
}

const esmConsumer = `
import { createRouter, SimulatedClock, formatMicros } from 'cascade-router';

const clock = new SimulatedClock(Date.UTC(2026, 0, 5, 12));
const calls = [];
const events = [];
const errors = [];
const router = createRouter({
  clock,
  channels: {
    email: { kind: 'email', cost: '0.0004', confirm: { timeout: '5m' }, send: async (req) => { calls.push(req.channel + ':' + req.address); return 'email-1'; } },
    sms: { kind: 'sms', cost: '0.0075', send: async (req) => { calls.push(req.channel + ':' + req.address); return 'sms-1'; } },
  },
});
for (const name of ['attempt', 'sent', 'fallback', 'delivered']) router.on(name, (event) => events.push(name + ':' + event.channel));
// The router reports adapter and listener failures here rather than throwing them.
router.on('error', ({ error, during }) => errors.push(during + ': ' + error.message));

const { cascadeId, plan } = await router.send(
  { key: 'order-42', category: 'transactional', content: { text: 'Your order has shipped', sms: 'Order shipped' } },
  { id: 'customer-1', addresses: { email: 'ana@example.com', sms: '+15550100' } },
);
// The email's receipt never comes: after its 5m timeout the cascade falls back to SMS.
await clock.advance(5 * 60_000);
const receipt = await router.handleReceipt({ providerMessageId: 'sms-1', status: 'delivered' });
await router.settled();
const cascade = await router.get(cascadeId);
await router.close();

const receiptsExports = process.env.CHECK_RECEIPTS === '1' ? Object.keys(await import('cascade-router/receipts')) : null;
// cascade-router/postgres without pg installed: it imports, and a store made from a connection string says how to install pg.
let postgres = null;
if (process.env.CHECK_POSTGRES === '1') {
  const entry = await import('cascade-router/postgres');
  let missing = null;
  try {
    entry.postgresStore({ connectionString: 'postgres://127.0.0.1:1/none' });
  } catch (error) {
    missing = error.code + (/npm install pg/.test(error.message) ? ' with install hint' : '');
  }
  postgres = { exports: Object.keys(entry).sort(), missing, migrations: entry.postgresMigrations().map((m) => m.version) };
}

// cascade-router/testing from the tarball: a signed Twilio callback the receipts verifier accepts.
const testing = await import('cascade-router/testing');
const { verifyTwilioSignature } = await import('cascade-router/receipts');
const signed = testing.signTwilioWebhook({ url: 'https://example.com/twilio', authToken: 'tok', params: { MessageSid: 'SM1', MessageStatus: 'delivered' } });
verifyTwilioSignature(signed, { authToken: 'tok' });
// ioredis is not installed here: the store refuses when it is made, naming the package.
let redisError = null;
try {
  (await import('cascade-router/redis')).redisStore({ url: 'redis://127.0.0.1:1' });
} catch (error) {
  redisError = error.code + ': ' + error.message;
}
console.log(JSON.stringify({
  testingExports: Object.keys(testing),
  redisError,
  outcome: cascade.status,
  spend: formatMicros(cascade.spendMicros),
  plan: plan.steps.map((step) => step.channel),
  calls,
  events,
  receipt: receipt.outcome,
  errors,
  receiptsExports,
  postgres,
}));
`;

const cjsConsumer = `
const { createRouter, SimulatedClock, SendError, formatMicros } = require('cascade-router');

/** Polls (no fixed sleep) until the condition holds; the retried send runs off the router's tracked work. */
async function until(condition, what) {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('timed out waiting for ' + what);
}

async function main() {
  const clock = new SimulatedClock(Date.UTC(2026, 0, 5, 12));
  const start = clock.now();
  const calls = [];
  const events = [];
  const errors = [];
  const tries = [];
  const router = createRouter({
    clock,
    channels: {
      sms: {
        kind: 'sms',
        cost: '0.0075',
        retry: { retries: 2, minDelay: '2s' },
        send: async (req) => {
          calls.push(req.channel + ':' + req.address);
          tries.push({ try: req.try, at: clock.now() - start });
          // A transient provider error on the first try: p-retry (bundled into the CJS build) retries it.
          if (req.try === 1) throw new SendError('Provider answered 503', { providerCode: '503' });
          return 'sms-1';
        },
      },
    },
  });
  for (const name of ['attempt', 'sent', 'fallback', 'delivered']) router.on(name, (event) => events.push(name + ':' + event.channel));
  // The router reports adapter and listener failures here rather than throwing them.
  router.on('error', ({ error, during }) => errors.push(during + ': ' + error.message));

  const { cascadeId, plan } = await router.send(
    { key: 'otp-7', category: 'otp', content: { text: 'Your code is 123456' } },
    { id: 'customer-2', addresses: { sms: '+15550101' } },
  );
  await until(() => tries.length === 1, 'the first try');
  await clock.advance(1_999);
  const triesBeforeBackoff = tries.length;
  await clock.advance(1);
  await until(() => tries.length === 2, 'the retry after the 2s backoff');
  await router.settled();
  const receipt = await router.handleReceipt({ providerMessageId: 'sms-1', status: 'delivered' });
  await router.settled();
  const cascade = await router.get(cascadeId);
  await router.close();

  const receiptsExports = process.env.CHECK_RECEIPTS === '1' ? Object.keys(require('cascade-router/receipts')) : null;
  let postgres = null;
  if (process.env.CHECK_POSTGRES === '1') {
    const entry = require('cascade-router/postgres');
    let missing = null;
    try {
      entry.postgresStore({ connectionString: 'postgres://127.0.0.1:1/none' });
    } catch (error) {
      missing = error.code + (/npm install pg/.test(error.message) ? ' with install hint' : '');
    }
    postgres = { exports: Object.keys(entry).sort(), missing, migrations: entry.postgresMigrations().map((m) => m.version) };
  }

  // The store contract suite from the CJS build of cascade-router/testing, against the memory store.
  const { storeContractCases } = require('cascade-router/testing');
  const { memoryStore } = require('cascade-router');
  const contract = { passed: 0, failed: [] };
  for (const c of storeContractCases({ make: () => memoryStore() })) {
    try {
      await c.run();
      contract.passed++;
    } catch (error) {
      contract.failed.push(c.name + ': ' + error.message);
    }
  }
  console.log(JSON.stringify({
    contract,
    // @opentelemetry/api is not installed here: nothing of it was loaded.
    otelLoaded: Object.keys(require.cache).some((path) => path.includes('@opentelemetry')),
    outcome: cascade.status,
    spend: formatMicros(cascade.spendMicros),
    plan: plan.steps.map((step) => step.channel),
    calls,
    events,
    receipt: receipt.outcome,
    errors,
    tries,
    triesBeforeBackoff,
    attempts: cascade.attempts.map((a) => ({ channel: a.channel, outcome: a.outcome, costMicros: a.costMicros })),
    receiptsExports,
    postgres,
  }));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** Type-checks against the installed declarations: a wrong or \`any\` type fails the \`@ts-expect-error\` lines. */
function typesConsumer(withReceipts: boolean, withPostgres: boolean): string {
  return `
import { createRouter, SimulatedClock, SendError, isCascadeRouterError } from 'cascade-router';
import type { Cascade, ChannelConfig, DeliveredEvent, Receipt, ReceiptResult, SendRequest } from 'cascade-router';
${withReceipts ? "import * as receipts from 'cascade-router/receipts';" : ''}
${withPostgres ? "import { postgresStore, type PostgresStore, type PostgresTransaction } from 'cascade-router/postgres';" : ''}
import { memoryStore } from 'cascade-router';
import { fakeProvider, signTwilioWebhook, storeContract, type SignedWebhook } from 'cascade-router/testing';

// A store author's suite, registered with any runner's describe/it.
storeContract('memory', { make: () => memoryStore() }, { describe: (_name: string, body: () => void) => body(), it: (_name: string, _body: () => Promise<void>) => undefined });
export const signed: SignedWebhook = signTwilioWebhook({ url: 'https://example.com', authToken: 't', params: { a: '1' } });
export const provider = fakeProvider({ deliver: () => undefined });
// @ts-expect-error a fake outcome's status is one of a union
fakeProvider({ deliver: () => undefined, outcome: { status: 'teleported' } });

const sms: ChannelConfig = {
  kind: 'sms',
  cost: '0.0075',
  send: async (request: SendRequest) => {
    if (request.signal.aborted) throw new SendError('aborted', { permanent: true });
    return { providerMessageId: request.idempotencyKey, price: '0.0075' };
  },
};
const router = createRouter({ clock: new SimulatedClock(), channels: { sms } });
router.on('delivered', (event: DeliveredEvent) => {
  const late: boolean = event.late;
  void late;
});
const receipt: Receipt = { providerMessageId: 'sms-1', status: 'delivered' };
export const result: Promise<ReceiptResult> = router.handleReceipt(receipt);
export const cascade: Promise<Cascade | undefined> = router.get('id');
export const code: string | undefined = isCascadeRouterError(new Error()) ? 'never' : undefined;

// @ts-expect-error a channel kind outside the union is rejected
export const pigeon: ChannelConfig = { kind: 'pigeon', send: async () => 'id' };
// @ts-expect-error an unknown event name is rejected
router.on('teleported', () => {});
${withReceipts ? 'export const receiptNames: string[] = Object.keys(receipts);' : ''}
${withPostgres ? `export const makeStore = (): PostgresStore => postgresStore({ connectionString: 'postgres://localhost/app', schema: 'shop' });
export const inTransaction = (tx: PostgresTransaction) => router.send({ key: 'k', category: 'transactional', content: { text: 'Hi' } }, { id: 'c', addresses: {} }, { transaction: tx });
// @ts-expect-error the schema is a string
postgresStore({ connectionString: 'postgres://localhost/app', schema: 42 });` : ''}
`;
}

const tsconfig = (module: 'esm' | 'cjs') => ({
  compilerOptions: {
    target: 'ES2022',
    module: 'node16',
    moduleResolution: 'node16',
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    // The package's own declarations are checked too, not skipped.
    skipLibCheck: false,
    types: ['node'],
    typeRoots: [join(root, 'node_modules/@types')],
  },
  files: [module === 'esm' ? 'check.ts' : 'check.cts'],
});

/** What either consumer sees of cascade-router/postgres with pg not installed (an optional peer dependency). */
const POSTGRES_WITHOUT_PG = {
  exports: ['SCHEMA_VERSION', 'StoreUnavailableError', 'postgresMigrations', 'postgresStore'],
  missing: 'INVALID_CONFIG with install hint',
  migrations: [1, 2, 3, 4, 5],
};

describe('the packed tarball', () => {
  let work: string;
  let tarball: string;
  let packedFiles: string[];
  let hasReceipts: boolean;
  let hasPostgres: boolean;
  const esm = () => join(work, 'esm-consumer');
  const cjs = () => join(work, 'cjs-consumer');

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cascade-router-pack-'));
    await run(npm, ['run', 'build'], root, 180_000);
    // The build just ran: --ignore-scripts skips prepack's second build.
    const packed = JSON.parse(await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], root, 60_000)) as {
      filename: string;
      files: { path: string }[];
    }[];
    tarball = join(work, packed[0]!.filename);
    packedFiles = packed[0]!.files.map((file) => file.path);

    for (const [dir, type] of [[esm(), 'module'], [cjs(), 'commonjs']] as const) {
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `${type}-consumer`, private: true, type }));
    }
    // The tarball's dependencies (zod, eventemitter3, p-retry) come from the registry or the npm cache.
    const install = ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--loglevel=error'];
    await Promise.all([run(npm, install, esm(), 180_000), run(npm, install, cjs(), 180_000)]);

    const installed = JSON.parse(readFileSync(join(esm(), 'node_modules/cascade-router/package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    hasReceipts = './receipts' in installed.exports;
    env.CHECK_RECEIPTS = hasReceipts ? '1' : '0';
    hasPostgres = './postgres' in installed.exports;
    env.CHECK_POSTGRES = hasPostgres ? '1' : '0';
    writeFileSync(join(esm(), 'main.js'), esmConsumer);
    writeFileSync(join(cjs(), 'main.js'), cjsConsumer);
    writeFileSync(join(esm(), 'check.ts'), typesConsumer(hasReceipts, hasPostgres));
    writeFileSync(join(cjs(), 'check.cts'), typesConsumer(hasReceipts, hasPostgres));
    writeFileSync(join(esm(), 'tsconfig.json'), JSON.stringify(tsconfig('esm')));
    writeFileSync(join(cjs(), 'tsconfig.json'), JSON.stringify(tsconfig('cjs')));
  }, 600_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the ESM and CJS builds with their declarations, and no sources or tests', () => {
    for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'package.json']) {
      expect(packedFiles).toContain(file);
    }
    if (hasReceipts) {
      for (const file of ['dist/receipts.js', 'dist/receipts.cjs', 'dist/receipts.d.ts', 'dist/receipts.d.cts']) {
        expect(packedFiles).toContain(file);
      }
    }
    if (hasPostgres) {
      for (const file of ['dist/postgres.js', 'dist/postgres.cjs', 'dist/postgres.d.ts', 'dist/postgres.d.cts']) expect(packedFiles).toContain(file);
    }
    for (const file of ['dist/testing.js', 'dist/testing.cjs', 'dist/testing.d.ts', 'dist/testing.d.cts', 'dist/cli.js']) expect(packedFiles).toContain(file);
    expect(packedFiles.filter((file) => /^(src|test|bench)\//.test(file) || file.endsWith('.tgz'))).toEqual([]);
  });

  it('keeps zod\'s types out of the published declarations', () => {
    const dir = join(esm(), 'node_modules/cascade-router/dist');
    const declarations = readdirSync(dir).filter((file) => /\.d\.c?ts$/.test(file));
    expect(declarations.length).toBeGreaterThan(4);
    expect(declarations.filter((file) => /from ['"]zod['"]|import\(['"]zod['"]\)/.test(readFileSync(join(dir, file), 'utf8')))).toEqual([]);
  });

  it('installs the cascade-router command: its usage, and simulate on a small history', async () => {
    const bin = join(esm(), 'node_modules/.bin/cascade-router');
    expect(await run(bin, ['--help'], esm(), 30_000)).toMatch(/cascade-router simulate <history\.csv\|\.jsonl>/);
    const history = join(esm(), 'history.csv');
    writeFileSync(
      history,
      'message_key,recipient,category,channel,sent_at,outcome,receipt_at,price\n' +
        'm1,r1,transactional,push,2026-01-08T10:00:00Z,none,,0\n' +
        'm1,r1,transactional,sms,2026-01-08T10:02:00Z,delivered,2026-01-08T10:02:05Z,0.05\n' +
        'm2,r1,transactional,push,2026-01-09T10:00:00Z,delivered,2026-01-09T10:00:02Z,0\n',
    );
    const out = await run(bin, ['simulate', history, '--html', join(esm(), 'r.html')], esm(), 60_000);
    expect(out).toMatch(/your current order\s+100\.0%\s+0\.05\b/);
  }, 90_000);

  it('the CJS build carries its own copy of the ESM-only p-retry instead of require()-ing it', () => {
    const cjsBuild = readFileSync(join(cjs(), 'node_modules/cascade-router/dist/index.cjs'), 'utf8');
    // Matched pieces, not the whole bundle, so a failure prints one line.
    expect(cjsBuild.match(/require\(["'](p-retry|is-network-error)["']\)/)?.[0]).toBeUndefined();
    expect(cjsBuild.match(/require\(["']eventemitter3["']\)/)?.[0]).toBe('require("eventemitter3")');
  });

  it('an ESM consumer runs a cascade: email times out, SMS is delivered, both billed; imports cascade-router/testing; a store without ioredis refuses when made', async () => {
    const report = await runConsumer(esm());
    expect([...(report.testingExports ?? [])].sort()).toEqual(Object.keys(await import('cascade-router/testing')).sort());
    expect(report.redisError).toMatch(/^INVALID_CONFIG: .*`ioredis`.*npm install ioredis/);
    expect(report.outcome).toBe('delivered');
    expect(report.spend).toBe('0.0079');
    expect(report.plan).toEqual(['email', 'sms']);
    expect(report.calls).toEqual(['email:ana@example.com', 'sms:+15550100']);
    expect(report.events).toEqual(['attempt:email', 'sent:email', 'fallback:email', 'attempt:sms', 'sent:sms', 'delivered:sms']);
    expect(report.receipt).toBe('applied');
    expect(report.errors).toEqual([]);
    // Every export of the source reaches the published build (the new providers, webhookRejection, UnknownStatusError…).
    if (hasReceipts) expect([...(report.receiptsExports ?? [])].sort()).toEqual(Object.keys(await import('cascade-router/receipts')).sort());
    if (hasPostgres) expect(report.postgres).toEqual(POSTGRES_WITHOUT_PG);
  }, 60_000);

  it('a CJS consumer runs a cascade through a transient send error, retried after its backoff in simulated time', async () => {
    // Node >= 20.19 can require() ESM; turning that off proves the CJS build works on every Node 20.
    const flags = process.allowedNodeEnvironmentFlags.has('--experimental-require-module') ? ['--no-experimental-require-module'] : [];
    const report = await runConsumer(cjs(), flags);
    expect(report.contract?.failed).toEqual([]);
    expect(report.contract?.passed).toBe((await import('cascade-router/testing')).storeContractCases({ make: () => memoryStore() }).length);
    expect(report.otelLoaded).toBe(false);
    expect(report.outcome).toBe('delivered');
    expect(report.spend).toBe('0.0075');
    expect(report.tries).toEqual([
      { try: 1, at: 0 },
      { try: 2, at: 2_000 },
    ]);
    expect(report.triesBeforeBackoff).toBe(1);
    expect(report.attempts).toEqual([{ channel: 'sms', outcome: 'delivered', costMicros: 7_500 }]);
    expect(report.events).toEqual(['attempt:sms', 'sent:sms', 'delivered:sms']);
    expect(report.receipt).toBe('applied');
    expect(report.errors).toEqual([]);
    // Every export of the source reaches the published build (the new providers, webhookRejection, UnknownStatusError…).
    if (hasReceipts) expect([...(report.receiptsExports ?? [])].sort()).toEqual(Object.keys(await import('cascade-router/receipts')).sort());
    if (hasPostgres) expect(report.postgres).toEqual(POSTGRES_WITHOUT_PG);
  }, 60_000);

  it('type-checks a TypeScript consumer under moduleResolution node16, as ESM and as CJS', async () => {
    await Promise.all([
      run(process.execPath, [tsc, '-p', join(esm(), 'tsconfig.json')], esm(), 120_000),
      run(process.execPath, [tsc, '-p', join(cjs(), 'tsconfig.json')], cjs(), 120_000),
    ]);
    expect(existsSync(join(esm(), 'check.js'))).toBe(false);
  }, 240_000);
});
