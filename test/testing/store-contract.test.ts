import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyStatsUpdate, emptyStoreStats, memoryStore, statsTouched, type CascadeStore, type Observation, type StatsUpdate } from 'cascade-router';
import { storeContractCases } from 'cascade-router/testing';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the store contract as a function any runner calls', () => {
  it('runs under node:test with no vitest loaded: every case of the suite passes on memoryStore', async () => {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', tsx, '--test', '--test-reporter=tap', 'test/testing/runners/node-test.contract.ts'], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
      );
    });
    const cases = storeContractCases({ make: () => memoryStore() }).length;
    expect(output).toMatch(new RegExp(`^# pass ${cases}$`, 'm'));
    expect(output).toMatch(/^# fail 0$/m);
  });

  it('as plain cases, catches a broken store: one whose commit ignores the version fails the compare-and-set case', async () => {
    const broken = (): CascadeStore => {
      const store = memoryStore();
      return { ...store, commit: (next, ids, update, heldThrough) => store.commit({ ...next, version: ((store.get(next.id) as { version: number } | undefined)?.version ?? 0) + 1 }, ids, update, heldThrough) };
    };
    const failures: string[] = [];
    for (const c of storeContractCases({ make: broken })) await c.run().catch(() => failures.push(c.name));
    expect(failures).toContain('rejects a stale version and keeps what is stored (compare-and-set)');
    const healthy: string[] = [];
    for (const c of storeContractCases({ make: () => memoryStore() })) await c.run().catch(() => healthy.push(c.name));
    expect(healthy).toEqual([]);
  });
});

describe('applyStatsUpdate (for store authors)', () => {
  const HALF_LIFE = 1000;
  const o = (outcome: Observation['outcome'], extra: Partial<Observation> = {}): Observation => ({ channel: 'push', recipientId: 'r', outcome, at: 0, weight: 1, ...extra });

  it('ages counts by the half-life: after one half-life an old delivery weighs one half, computed here by hand', () => {
    let stats = applyStatsUpdate(emptyStoreStats(), { observations: [o('delivered', { latencyMs: 1500 })], halfLifeMs: HALF_LIFE }, 0);
    stats = applyStatsUpdate(stats, { observations: [o('failed', { at: HALF_LIFE })], halfLifeMs: HALF_LIFE }, HALF_LIFE);
    const own = stats.recipients.get('r')?.get('push');
    expect(own).toEqual({ at: HALF_LIFE, delivered: 0.5, failed: 1, timeout: 0, skipped: 0 });
    expect(Object.values(stats.channels.get('push')!.latency)).toEqual([0.5]);
  });

  it('adds ledgers exactly, channel by channel, and leaves the input as it was', () => {
    const ledger = { messages: 1, delivered: 1, spendMicros: 7_500, doubleSpendMicros: 0, smsOnlyMicros: 50_000, withoutSms: 0, channels: { sms: { sent: 1, delivered: 1, spendMicros: 7_500 } } };
    const update: StatsUpdate = { ledger };
    const start = emptyStoreStats();
    const twice = applyStatsUpdate(applyStatsUpdate(start, update, 0), update, 1);
    expect(twice.ledger).toEqual({ messages: 2, delivered: 2, spendMicros: 15_000, doubleSpendMicros: 0, smsOnlyMicros: 100_000, withoutSms: 0, channels: { sms: { sent: 2, delivered: 2, spendMicros: 15_000 } } });
    expect(start.ledger.messages).toBe(0);
  });

  it('names what an update touches, each recipient and channel once', () => {
    const touched = statsTouched({ observations: [o('delivered'), o('timeout'), o('failed', { channel: 'sms', recipientId: 's' })], halfLifeMs: HALF_LIFE });
    expect(touched).toEqual({ channels: ['push', 'sms'], recipients: [['r', 'push'], ['s', 'sms']] });
  });
});
