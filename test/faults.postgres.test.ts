/**
 * The fault suite on the PostgreSQL store (issue #18): the same router processes, provider simulator and
 * invariants as test/faults.redis.test.ts (test/faults/*), with PostgreSQL as the store. Each scenario runs a
 * stream of messages through random routers while it injects the fault, then checks the invariants and prints
 * the counts:
 *   1. three routers, one SIGKILLed and restarted every two seconds (on the shared server, a schema of its own);
 *   2. every router connection killed with pg_terminate_backend, again and again (shared server, own schema,
 *      only connections named for this test);
 *   3. PostgreSQL itself crashed mid-load (`pg_ctl stop -m immediate`) and started again after three seconds,
 *      on a private cluster the test starts on its own port and data directory.
 * Waits are on conditions with bounds; the only timed pauses are the fault's own schedule and the load's pace.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from 'cascade-router/postgres';
import { summary, type Audit } from './faults/audit.js';
import { expectClean } from './faults/clean.js';
import { postgresBackend, runScenario, type ScenarioOptions } from './faults/scenario.js';
import { dropSchema, PG_URL, requirePostgres, uniqueSchema } from './postgres/helpers.js';
import { postgresBinaries, PrivatePostgres } from './postgres/server.js';

const skip = await requirePostgres('test/faults.postgres.test.ts');
const bin = postgresBinaries();
if (!skip && bin === undefined) {
  if (process.env.CI) throw new Error('test/faults.postgres.test.ts: initdb and pg_ctl are needed for the restart scenario; CI must have them (see .ci/run)');
  console.warn('\n  ⚠ SKIPPED the PostgreSQL restart scenario: no initdb/pg_ctl found.\n');
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lines: string[] = [];

/** Routers are taken for dead after 8 s without a heartbeat: longer than any outage here, so none is. */
const OUTAGE_ENV = { INSTANCE_TTL: '8s', COMMAND_TIMEOUT_MS: '1000', LEASE_MS: '3000', POLL_MS: '200', TIMEOUT_MS: '4000' };

type Scenario = Omit<ScenarioOptions, 'backend'>;

/** Runs a scenario in a fresh schema at `url` (migrated first), records its counts and checks it. */
async function inSchema(label: string, url: string, options: Scenario & { readonly appName?: string }): Promise<Audit> {
  const schema = uniqueSchema('faults');
  const setup = postgresStore({ connectionString: url, schema, poolSize: 1 });
  await setup.migrate();
  await setup.dispose();
  try {
    const a = await runScenario({ ...options, backend: postgresBackend(url, schema, options.appName ?? `cr-${schema}`) });
    lines.push(summary(label, a));
    expectClean(a);
    return a;
  } finally {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect().then(() => dropSchema(admin, schema)).catch(() => {});
    await admin.end().catch(() => {});
  }
}

describe.skipIf(skip)('fault suite on PostgreSQL: what the customer receives under real faults', () => {
  afterAll(() => {
    console.log(`\nFault suite counts (PostgreSQL):\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
  });

  it('three routers, receipts to random ones, one SIGKILLed and restarted every two seconds', async () => {
    await inSchema('routers SIGKILLed', PG_URL, {
      name: 'pg-kills',
      seed: 1801,
      routers: 3,
      env: { INSTANCE_TTL: '1s', COMMAND_TIMEOUT_MS: '1000', LEASE_MS: '1500', POLL_MS: '200', TIMEOUT_MS: '4000' },
      loadMs: 10_000,
      perSecond: 12,
      fault: async (run) => {
        while (run.loading()) {
          await pause(2000);
          if (!run.loading()) break;
          await run.replace(run.routers[Math.floor(run.random() * run.routers.length)]!);
        }
      },
    });
  }, 240_000);

  it("every router connection killed with pg_terminate_backend, every 1.5 s", async () => {
    const appName = `cr-terminate-${process.pid}-${Date.now()}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    let killed = 0;
    try {
      const a = await inSchema('connections terminated', PG_URL, {
        name: 'pg-terminate',
        seed: 1802,
        routers: 3,
        appName,
        env: OUTAGE_ENV,
        loadMs: 9000,
        perSecond: 12,
        fault: async (run) => {
          while (run.loading()) {
            await pause(1500);
            const { rows } = await admin.query('SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t', [appName]);
            killed += (rows[0] as { n: number }).n;
          }
        },
      });
      expect(killed, 'connections terminated').toBeGreaterThan(0);
      expect(a.cascades).toBeGreaterThan(20);
    } finally {
      await admin.end();
    }
    lines.push(`  (${killed} connections terminated)`);
  }, 240_000);

  it.skipIf(bin === undefined)('PostgreSQL crashed mid-load (pg_ctl stop -m immediate) and started again after three seconds', async () => {
    const server = new PrivatePostgres(bin!);
    await server.start();
    try {
      const a = await inSchema('PostgreSQL crash + restart', server.url, {
        name: 'pg-crash',
        seed: 1803,
        routers: 3,
        env: OUTAGE_ENV,
        loadMs: 9000,
        perSecond: 12,
        fault: async () => {
          await pause(3000);
          server.crash();
          await pause(3000); // a 3-second outage
          await server.start();
        },
      });
      expect(a.refusals['send:STORE_UNAVAILABLE'] ?? 0, 'sends refused during the outage').toBeGreaterThan(0);
      expect(a.slowestRefusalMs, 'a refused caller was answered within a few command timeouts').toBeLessThan(5000);
    } finally {
      await server.remove();
    }
  }, 240_000);
});
