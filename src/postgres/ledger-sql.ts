/**
 * Migration 5: the batches' spend ledger as columns. Until version 4 every change of a batch carried its ledger
 * delta inside a jsonb argument: the server parsed each one and took it apart field by field, a few µs per
 * change (about a tenth of its time per cascade, measured with auto_explain). create_batch and commit_batch are
 * create_many and commit_many of migration 3 with the deltas as arrays of numbers instead, one per figure: the
 * changes written are summed into one ledger row by one join, and JSON is parsed only for the learned
 * statistics' observations, which a change carries only when learning is on. Also: a held-receipt delta that
 * is empty is no longer applied (a call of an SQL function, planned on each call), and a send commit's new
 * provider ids are checked for a race by their count rather than each against every one indexed.
 * create_many and commit_many stay as they were, for an instance of the previous release still running on the
 * schema. The batch functions are derived from migration 3's text by checked replacements, so the two cannot
 * drift apart unnoticed. `__S__.` stands for the schema.
 */
import { COMMIT_MANY, CREATE_MANY } from './commit-sql.js';

/** The ledger deltas of a batch's changes, as add_ledger and the batch functions take them. */
const LEDGER_PARAMS = `p_messages bigint[], p_delivered bigint[], p_spend bigint[], p_double bigint[], p_sms_only bigint[], p_without_sms bigint[],
  p_channel_items integer[], p_channels text[], p_sent bigint[], p_channel_delivered bigint[], p_channel_spend bigint[]`;
const STATS_PARAMS = `${LEDGER_PARAMS}, p_observations jsonb[]`;

/*
 * add_ledger: one ledger row, the sums of the changes p_items (1-based places in the batch) that carry a delta.
 * p_messages … p_without_sms: one number per change, NULL for one that carries none, and after the last change
 * their sums over the batch (NULL when none carries one); p_channel_items: the place of the change each channel
 * figure (p_channels, p_sent, p_channel_delivered, p_channel_spend) belongs to, 0 for the batch's sums. When
 * every change of the batch was written (the usual case) the row is those sums, as they came.
 */
const ADD_LEDGER = `
CREATE FUNCTION __S__.add_ledger(p_items integer[], ${LEDGER_PARAMS})
RETURNS void
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  n integer := cardinality(p_messages);
BEGIN
  IF cardinality(p_items) = n - 1 THEN
    INSERT INTO __S__.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
    SELECT p_messages[n], p_delivered[n], p_spend[n], p_double[n], p_sms_only[n], p_without_sms[n],
      coalesce((SELECT jsonb_object_agg(c.name, jsonb_build_object('sent', c.sent, 'delivered', c.delivered, 'spendMicros', c.spend))
        FROM unnest(p_channel_items, p_channels, p_sent, p_channel_delivered, p_channel_spend) AS c(i, name, sent, delivered, spend)
        WHERE c.i = 0), '{}'::jsonb)
    WHERE p_messages[n] IS NOT NULL;
    RETURN;
  END IF;
  INSERT INTO __S__.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
  SELECT sum(l.m), sum(l.d), sum(l.s), sum(l.ds), sum(l.so), sum(l.ws),
    coalesce((SELECT jsonb_object_agg(per.name, jsonb_build_object('sent', per.sent, 'delivered', per.delivered, 'spendMicros', per.spend))
      FROM (SELECT c.name, sum(c.sent) AS sent, sum(c.delivered) AS delivered, sum(c.spend) AS spend
        FROM unnest(p_channel_items, p_channels, p_sent, p_channel_delivered, p_channel_spend) AS c(i, name, sent, delivered, spend)
        JOIN unnest(p_items) AS x(i) ON x.i = c.i
        GROUP BY c.name) AS per), '{}'::jsonb)
  FROM unnest(p_messages, p_delivered, p_spend, p_double, p_sms_only, p_without_sms) WITH ORDINALITY AS l(m, d, s, ds, so, ws, i)
  JOIN unnest(p_items) AS w(i) ON w.i = l.i
  WHERE l.m IS NOT NULL HAVING count(*) > 0;
END $$;
`;

/** The statistics step of a batch function, for `done`: the places of the changes written, in the order made. */
const STATS_STEP = `  PERFORM __S__.add_ledger(done, p_messages, p_delivered, p_spend, p_double, p_sms_only, p_without_sms, p_channel_items, p_channels,
    p_sent, p_channel_delivered, p_channel_spend) WHERE cardinality(done) > 0;
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


const COMMIT_BATCH = derived(COMMIT_MANY, [
  ['CREATE OR REPLACE FUNCTION __S__.commit_many(', 'CREATE FUNCTION __S__.commit_batch('],
  ['p_stats jsonb[]', STATS_PARAMS],
  ['  stats jsonb[];\n', '  done integer[];\n  observed jsonb[];\n'],
  ['  SELECT coalesce(array_agg(p_stats[w.i]) FILTER (WHERE p_stats[w.i] IS NOT NULL), ARRAY[]::jsonb[]) INTO stats FROM unnest(written) AS w(i);\n', '  done := written;\n'],
  ['    IF r.ok = 1 AND p_stats[i] IS NOT NULL THEN stats := stats || p_stats[i]; END IF;\n', '    IF r.ok = 1 THEN done := done || i; END IF;\n'],
  ['  IF cardinality(stats) > 0 THEN PERFORM __S__.apply_stats(stats); END IF;\n  PERFORM __S__.apply_delta(delta);\n', `${STATS_STEP}  IF cardinality(delta.shards) > 0 THEN PERFORM __S__.apply_delta(delta); END IF;\n`],
  // Every id indexed (the usual case): none raced, known without comparing each id with every one indexed.
  [
    `    SELECT coalesce(array_agg(DISTINCT q.i), ARRAY[]::integer[]) INTO raced FROM unnest(quick) AS q(i),
      unnest(p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]) AS x(provider_id)
    WHERE NOT (x.provider_id = ANY (indexed));
`,
    `    raced := ARRAY[]::integer[];
    IF cardinality(indexed) < (SELECT sum(p_provider_counts[q.i]) FROM unnest(quick) AS q(i)) THEN
      SELECT coalesce(array_agg(DISTINCT q.i), ARRAY[]::integer[]) INTO raced FROM unnest(quick) AS q(i),
        unnest(p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]) AS x(provider_id)
      WHERE NOT (x.provider_id = ANY (indexed));
    END IF;
`,
  ],
  // Answers and the changes left for commit_one without comparing each place with every other (the usual batch
  // has every change written by the one UPDATE, and none left).
  [
    '  RETURN QUERY SELECT s.i::integer, CASE WHEN s.i = ANY (written) THEN 1 ELSE 0 END, NULL::text[] FROM unnest(simple) AS s(i);\n',
    '  RETURN QUERY SELECT s.i::integer, CASE WHEN w.i IS NULL THEN 0 ELSE 1 END, NULL::text[] FROM unnest(simple) AS s(i) LEFT JOIN unnest(written) AS w(i) ON w.i = s.i;\n',
  ],
  ['WHERE NOT (o.i = ANY (simple)) ORDER BY', 'WHERE cardinality(simple) < cardinality(p_ids) AND NOT (o.i = ANY (simple)) ORDER BY'],
]);

const CREATE_BATCH = derived(CREATE_MANY, [
  ['CREATE OR REPLACE FUNCTION __S__.create_many(', 'CREATE FUNCTION __S__.create_batch('],
  ['p_stats jsonb[]', STATS_PARAMS],
  ['  stats jsonb[];\n', '  done integer[];\n  observed jsonb[];\n'],
  ['  SELECT coalesce(array_agg(p_stats[m.i]) FILTER (WHERE p_stats[m.i] IS NOT NULL), ARRAY[]::jsonb[]) INTO stats FROM unnest(made) AS m(i);\n', '  done := made;\n'],
  ['      IF r.created AND p_stats[i] IS NOT NULL THEN stats := stats || p_stats[i]; END IF;\n', '      IF r.created THEN done := done || i; END IF;\n'],
  ['  IF cardinality(stats) > 0 THEN PERFORM __S__.apply_stats(stats); END IF;\n', STATS_STEP],
  // Every one inserted (the usual batch): no id was given twice or taken, so made is plain, known without
  // comparing each id with every one inserted; nothing is left for create_cascade.
  ['  WHERE p_ids[f.i] = ANY (inserted);\n', '  WHERE cardinality(inserted) < cardinality(plain) AND p_ids[f.i] = ANY (inserted);\n  IF cardinality(inserted) = cardinality(plain) THEN made := plain; END IF;\n'],
  ['    WHERE NOT (o.i = ANY (made))\n', '    WHERE cardinality(made) < cardinality(plain) AND NOT (o.i = ANY (made))\n'],
  ['WHERE NOT (o.i = ANY (plain)) ORDER BY', 'WHERE cardinality(plain) < cardinality(p_ids) AND NOT (o.i = ANY (plain)) ORDER BY'],
]);

export const LEDGER_FUNCTIONS = `${ADD_LEDGER}\n${CREATE_BATCH}\n${COMMIT_BATCH}`;
