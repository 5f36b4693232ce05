/**
 * Migration 5: the batches' spend ledger as columns. Until version 4 every change of a batch carried its ledger
 * delta inside a jsonb argument: the server parsed each one and took it apart field by field, a few µs per
 * change (about a tenth of its time per cascade, measured with auto_explain). create_batch and commit_batch are
 * create_many and commit_many of migration 3 with the deltas as arrays of numbers instead (six per change, then
 * the per-channel figures): the changes written are summed into one ledger row, and JSON is parsed only for the
 * learned statistics' observations, which a change carries only when learning is on. A held-receipt delta that
 * is empty is no longer applied (a call of an SQL function, planned on each call). create_many and commit_many
 * stay as they were, for a release before this one still running on the schema. `__S__.` stands for the schema.
 */
import { COMMIT_MANY, CREATE_MANY } from './commit-sql.js';

/*
 * add_ledger: one ledger row, the sums of the changes p_items (1-based places in the batch) that carry a delta.
 * p_ledger: six numbers per change (messages, delivered, spend, double spend, SMS-only, without SMS), NULLs for
 * one that carries none; p_channel_counts: how many channels each change names, in order, in p_channels, with
 * three figures each in p_figures (sent, delivered, spend).
 */
const ADD_LEDGER = `
CREATE FUNCTION __S__.add_ledger(p_items integer[], p_ledger bigint[], p_channels text[], p_channel_counts integer[], p_figures bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  starts integer[];
BEGIN
  SELECT array_agg(s.start ORDER BY s.i) INTO starts FROM (
    SELECT c.i, (sum(c.n) OVER (ORDER BY c.i) - c.n + 1)::integer AS start FROM unnest(p_channel_counts) WITH ORDINALITY AS c(n, i)) s;
  INSERT INTO __S__.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
  SELECT sum(p_ledger[w.i * 6 - 5]), sum(p_ledger[w.i * 6 - 4]), sum(p_ledger[w.i * 6 - 3]), sum(p_ledger[w.i * 6 - 2]),
    sum(p_ledger[w.i * 6 - 1]), sum(p_ledger[w.i * 6]),
    coalesce((SELECT jsonb_object_agg(per.name, jsonb_build_object('sent', per.sent, 'delivered', per.delivered, 'spendMicros', per.spend))
      FROM (SELECT p_channels[k] AS name, sum(p_figures[k * 3 - 2]) AS sent, sum(p_figures[k * 3 - 1]) AS delivered, sum(p_figures[k * 3]) AS spend
        FROM unnest(p_items) AS x(i), generate_series(starts[x.i], starts[x.i] + p_channel_counts[x.i] - 1) AS k
        WHERE p_ledger[x.i * 6 - 5] IS NOT NULL GROUP BY 1) AS per), '{}'::jsonb)
  FROM unnest(p_items) AS w(i) WHERE p_ledger[w.i * 6 - 5] IS NOT NULL HAVING count(*) > 0;
END $$;
`;

/** The statistics step of a batch function, for `done`: the places of the changes written, in the order made. */
const STATS_STEP = `  PERFORM __S__.add_ledger(done, p_ledger, p_channels, p_channel_counts, p_figures) WHERE cardinality(done) > 0;
  SELECT coalesce(array_agg(p_observations[d.i] ORDER BY d.k) FILTER (WHERE p_observations[d.i] IS NOT NULL), ARRAY[]::jsonb[]) INTO observed
  FROM unnest(done) WITH ORDINALITY AS d(i, k);
  IF cardinality(observed) > 0 THEN PERFORM __S__.apply_stats(observed); END IF;
`;

/** `text` with each `[from, to]` replaced once; a `from` not found is a mistake in this file, not a runtime case. */
function derived(text: string, replacements: readonly (readonly [string, string])[]): string {
  return replacements.reduce((out, [from, to]) => {
    if (!out.includes(from)) throw new Error(`ledger-sql.ts: migration 3's text changed; not found: ${from}`);
    return out.replace(from, to);
  }, text);
}

const STATS_PARAMS = 'p_ledger bigint[], p_channels text[], p_channel_counts integer[], p_figures bigint[], p_observations jsonb[]';

const COMMIT_BATCH = derived(COMMIT_MANY, [
  ['CREATE OR REPLACE FUNCTION __S__.commit_many(', 'CREATE FUNCTION __S__.commit_batch('],
  ['p_stats jsonb[]', STATS_PARAMS],
  ['  stats jsonb[];\n', '  done integer[];\n  observed jsonb[];\n'],
  ['  SELECT coalesce(array_agg(p_stats[w.i]) FILTER (WHERE p_stats[w.i] IS NOT NULL), ARRAY[]::jsonb[]) INTO stats FROM unnest(written) AS w(i);\n', '  done := written;\n'],
  ['    IF r.ok = 1 AND p_stats[i] IS NOT NULL THEN stats := stats || p_stats[i]; END IF;\n', '    IF r.ok = 1 THEN done := done || i; END IF;\n'],
  ['  IF cardinality(stats) > 0 THEN PERFORM __S__.apply_stats(stats); END IF;\n  PERFORM __S__.apply_delta(delta);\n', `${STATS_STEP}  IF cardinality(delta.shards) > 0 THEN PERFORM __S__.apply_delta(delta); END IF;\n`],
]);

const CREATE_BATCH = derived(CREATE_MANY, [
  ['CREATE OR REPLACE FUNCTION __S__.create_many(', 'CREATE FUNCTION __S__.create_batch('],
  ['p_stats jsonb[]', STATS_PARAMS],
  ['  stats jsonb[];\n', '  done integer[];\n  observed jsonb[];\n'],
  ['  SELECT coalesce(array_agg(p_stats[m.i]) FILTER (WHERE p_stats[m.i] IS NOT NULL), ARRAY[]::jsonb[]) INTO stats FROM unnest(made) AS m(i);\n', '  done := made;\n'],
  ['      IF r.created AND p_stats[i] IS NOT NULL THEN stats := stats || p_stats[i]; END IF;\n', '      IF r.created THEN done := done || i; END IF;\n'],
  ['  IF cardinality(stats) > 0 THEN PERFORM __S__.apply_stats(stats); END IF;\n', STATS_STEP],
]);

export const LEDGER_FUNCTIONS = `${ADD_LEDGER}\n${CREATE_BATCH}\n${COMMIT_BATCH}`;
