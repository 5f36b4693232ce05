/**
 * The calls routers coordinate by through a PostgreSQL store, besides their cascades: due timers and their
 * claims (and the housekeeping that rides on the polls), heartbeats and the sends a dead instance left,
 * breakers, rate limits and frequency caps, and what was learned and spent. Each is one statement.
 */
import type { CascadeStore, Orphan, SharedHealth } from '../store/types.js';
import type { StoreQuery } from './calls.js';
import type { ResolvedPostgresOptions } from './options.js';
import { LEARNED_SQL, LEDGER_SQL } from './stats-sql.js';
import { parseLearned, parseLedger } from './stats.js';

/** Rows asked for per step of the orphans scan (as `open()` asks per step of its own). */
const PAGE = 200;

type Shared = Pick<CascadeStore, 'claimDue' | 'nextDueAt' | 'learned' | 'ledger' | 'heartbeat' | 'leave' | 'orphans' | 'health' | 'reportHealth' | 'pace' | 'admit'>;

/**
 * Those calls over a store's `query`. `block(id)`: the cascade may have changed in a way this instance cannot
 * place (a timer claimed, an owner gone), so its next read asks the database.
 */
export function sharedCalls(query: StoreQuery, { schema: s, retention, leaseMs, pollMs, maintenanceMs, clock }: ResolvedPostgresOptions, block: (id: string) => void): Shared {
  let lastNow: number | undefined;
  let maintainedAt = -Infinity;

  const maintain = (): void => {
    const now = Date.now();
    if (now - maintainedAt < maintenanceMs) return;
    maintainedAt = now;
    void query('maintain', { text: `SELECT ${s}.maintain($1, $2)`, values: [retention, lastNow ?? clock.now()] }).catch(() => {});
  };

  return {
    async claimDue(now, limit) {
      lastNow = now;
      const rows = await query('claimDue', { name: `${s}_claim`, text: `SELECT * FROM ${s}.claim_due($1, $2, $3)`, values: [now, limit, leaseMs] });
      const ids = rows.map((row) => row[0] as string);
      // Their timers may have moved since this tick saw them: the router reads them again.
      for (const id of ids) block(id);
      return ids;
    },

    async nextDueAt() {
      maintain();
      const rows = await query('nextDueAt', {
        name: `${s}_next`,
        text: `SELECT timer_at::float8 FROM ${s}.cascades WHERE timer_at IS NOT NULL AND (lease_until IS NULL OR lease_until <= clock_timestamp()) ORDER BY timer_at LIMIT 1`,
      });
      const due = rows[0] === undefined ? undefined : Number(rows[0][0]);
      if (pollMs <= 0) return due;
      const poll = Math.max(lastNow ?? -Infinity, clock.now()) + pollMs;
      return due === undefined ? poll : Math.min(due, poll);
    },

    async learned(recipientId, channels) {
      const rows = await query('learned', { name: `${s}_learned`, text: LEARNED_SQL(s), values: [channels, recipientId] });
      return parseLearned(rows);
    },

    async ledger() {
      const rows = await query('ledger', { text: LEDGER_SQL(s) });
      return parseLedger(rows[0]!);
    },

    async heartbeat(instanceId, ttlMs) {
      const rows = await query('heartbeat', { name: `${s}_heartbeat`, text: `SELECT ${s}.heartbeat($1, $2)`, values: [instanceId, Math.max(1, Math.ceil(ttlMs))] });
      return rows[0]![0] === true;
    },

    async leave(instanceId) {
      await query('leave', { text: `DELETE FROM ${s}.instances WHERE id = $1`, values: [instanceId] });
    },

    async *orphans(_now, self) {
      let after = '';
      for (;;) {
        const rows = await query('orphans', {
          name: `${s}_orphans`,
          text: `SELECT c.id, c.owner FROM ${s}.cascades c WHERE c.owner IS NOT NULL AND c.id > $1
            AND (c.owner = '' OR c.owner = $2 OR NOT EXISTS (SELECT 1 FROM ${s}.instances i WHERE i.id = c.owner AND i.alive_until > clock_timestamp()))
            ORDER BY c.id LIMIT ${PAGE}`,
          values: [after, self ?? ''],
        });
        for (const [cascadeId, owner] of rows as [string, string][]) {
          // Its owner is gone: whoever takes it over reads it from the database.
          block(cascadeId);
          const orphan: Orphan = { cascadeId, owner: owner === '' ? undefined : owner };
          yield orphan;
        }
        if (rows.length < PAGE) return;
        after = rows[rows.length - 1]![0] as string;
      }
    },

    async health() {
      const rows = await query('health', { name: `${s}_health`, text: `SELECT report FROM ${s}.provider_health` });
      return rows.map(([report]) => {
        const kept = JSON.parse(report as string) as SharedHealth;
        const shared: SharedHealth = { provider: kept.provider, state: kept.state, reason: kept.reason ?? undefined, until: kept.until ?? undefined, at: kept.at };
        return shared;
      });
    },

    async reportHealth(state) {
      await query('reportHealth', { name: `${s}_report_health`, text: `SELECT ${s}.report_health($1, $2, $3)`, values: [state.provider, state.at, JSON.stringify(state)] });
    },

    async pace({ provider, limit, windowMs, reserve, urgent, now }) {
      // No share at all (reserve ≥ limit, which the router never asks): a window from now, as every store answers.
      if (!urgent && limit - reserve <= 0) return { go: false, retryAt: now + windowMs };
      const rows = await query('pace', { name: `${s}_pace`, text: `SELECT ${s}.pace($1, $2, $3, $4, $5, $6)::float8`, values: [provider, limit, windowMs, reserve, urgent, now] });
      const retryAt = rows[0]![0] as number | null;
      return retryAt === null ? { go: true } : { go: false, retryAt };
    },

    async admit({ recipientId, category, key, max, windowMs, now }) {
      const rows = await query('admit', { name: `${s}_admit`, text: `SELECT ${s}.admit($1, $2, $3, $4, $5, $6)`, values: [recipientId, category, key, max, windowMs, now] });
      return rows[0]![0] === true;
    },
  };
}
