/**
 * SQL that applies a `StatsUpdate` inside the create and commit functions, so it lands with the change or not
 * at all, and that folds the ledger. The update travels as one jsonb argument (see `statsArg` in stats.ts):
 * `{ h: halfLifeMs, n: now, l?: ledger delta, o?: [[channel, recipientId, outcome, at, weight, latencyBucket|-1], ...] }`.
 *
 * The ledger gets one row per change (an insert: concurrent changes share no row lock), or since migration 4 one
 * per batch (batch-sql.ts), summed when read and folded into one row by `maintain` once it has many. Counts are aged as `addToCounts` in src/core/learning.ts
 * does: a stored count is multiplied by 2^-(now - at)/h before an observation of weight `w · 2^-(now - observedAt)/h`
 * is added, and nothing goes below 0. PostgreSQL refuses float underflow, so a factor below 2^-600 counts as 0
 * and so does a stored count below 1e-100 (either is 600 half-lives of silence).
 */

/** The ledger rows of apply_stats as migration 1 made it: one row per change that carried a delta. */
const LEDGER_PER_CHANGE = `  INSERT INTO __S__.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
  SELECT (u -> 'l' ->> 'messages')::bigint, (u -> 'l' ->> 'delivered')::bigint, (u -> 'l' ->> 'spendMicros')::bigint,
    (u -> 'l' ->> 'doubleSpendMicros')::bigint, (u -> 'l' ->> 'smsOnlyMicros')::bigint, (u -> 'l' ->> 'withoutSms')::bigint,
    coalesce(u -> 'l' -> 'channels', '{}'::jsonb)
  FROM unnest(p_updates) AS u WHERE jsonb_typeof(u -> 'l') = 'object';
`;

/**
 * apply_stats' text: migration 1 creates it (a ledger row per change); a later migration replaces it with another
 * `ledger` step (statements that add the updates' ledger deltas).
 */
export function applyStatsSql(create: 'CREATE' | 'CREATE OR REPLACE', ledger = LEDGER_PER_CHANGE): string {
  return `/*
 * apply_stats: the updates of one change, or of every change of a batch, in the order they were made. Rows are
 * locked in one order whatever the changes: the channels' rows by name, then the recipients' by recipient and
 * channel, each row's outcomes in the order of the changes. Two changes (or batches) that touch the same rows
 * so take their locks in the same order and never deadlock.
 */
${create} FUNCTION __S__.apply_stats(p_updates jsonb[]) RETURNS void
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  o record;
  add double precision;
  age double precision;
  cs record;
  buckets jsonb;
BEGIN
${ledger}  IF NOT EXISTS (SELECT 1 FROM unnest(p_updates) AS u WHERE jsonb_typeof(u -> 'o') = 'array') THEN RETURN; END IF;
  -- Channel-wide: every field aged, then the outcome (and its latency) added.
  FOR o IN SELECT * FROM (SELECT x ->> 0 AS channel, x ->> 1 AS recipient, x ->> 2 AS outcome, (x ->> 3)::float8 AS at, (x ->> 4)::float8 AS weight,
      (x ->> 5)::integer AS bucket, (u ->> 'n')::float8 AS now_at, (u ->> 'h')::float8 AS h, k, j
    FROM unnest(p_updates) WITH ORDINALITY AS us(u, k),
      jsonb_array_elements(CASE WHEN jsonb_typeof(u -> 'o') = 'array' THEN u -> 'o' ELSE '[]'::jsonb END) WITH ORDINALITY AS xs(x, j)) AS outcomes
    ORDER BY channel, k, j LOOP
    add := o.weight * __S__.decay(o.at, o.now_at, o.h);
    INSERT INTO __S__.channel_stats (channel, at, delivered, failed, timeout, skipped, latency)
    VALUES (o.channel, o.now_at, 0, 0, 0, 0, '{}') ON CONFLICT (channel) DO NOTHING;
    SELECT * INTO cs FROM __S__.channel_stats c WHERE c.channel = o.channel FOR UPDATE;
    age := __S__.decay(cs.at, o.now_at, o.h);
    SELECT coalesce(jsonb_object_agg(e.key, __S__.kept(e.value::float8 * age)), '{}'::jsonb) INTO buckets FROM jsonb_each_text(cs.latency) AS e;
    IF o.bucket >= 0 AND o.outcome = 'delivered' THEN
      buckets := buckets || jsonb_build_object(o.bucket::text, greatest(0, coalesce((buckets ->> o.bucket::text)::float8, 0) + add));
    END IF;
    UPDATE __S__.channel_stats c SET
      at = greatest(cs.at, o.now_at),
      delivered = __S__.kept(greatest(0, cs.delivered * age + CASE WHEN o.outcome = 'delivered' THEN add ELSE 0 END)),
      failed = __S__.kept(greatest(0, cs.failed * age + CASE WHEN o.outcome = 'failed' THEN add ELSE 0 END)),
      timeout = __S__.kept(greatest(0, cs.timeout * age + CASE WHEN o.outcome = 'timeout' THEN add ELSE 0 END)),
      skipped = __S__.kept(greatest(0, cs.skipped * age + CASE WHEN o.outcome = 'skipped' THEN add ELSE 0 END)),
      latency = buckets
    WHERE c.channel = o.channel;
  END LOOP;
  -- The recipients' own counts.
  FOR o IN SELECT * FROM (SELECT x ->> 0 AS channel, x ->> 1 AS recipient, x ->> 2 AS outcome, (x ->> 3)::float8 AS at, (x ->> 4)::float8 AS weight,
      (x ->> 5)::integer AS bucket, (u ->> 'n')::float8 AS now_at, (u ->> 'h')::float8 AS h, k, j
    FROM unnest(p_updates) WITH ORDINALITY AS us(u, k),
      jsonb_array_elements(CASE WHEN jsonb_typeof(u -> 'o') = 'array' THEN u -> 'o' ELSE '[]'::jsonb END) WITH ORDINALITY AS xs(x, j)) AS outcomes
    ORDER BY recipient, channel, k, j LOOP
    add := o.weight * __S__.decay(o.at, o.now_at, o.h);
    INSERT INTO __S__.recipient_stats (recipient_id, channel, at, delivered, failed, timeout, skipped, expires_at)
    VALUES (o.recipient, o.channel, o.now_at, 0, 0, 0, 0, clock_timestamp()) ON CONFLICT (recipient_id, channel) DO NOTHING;
    SELECT * INTO cs FROM __S__.recipient_stats r WHERE r.recipient_id = o.recipient AND r.channel = o.channel FOR UPDATE;
    -- An expired row counts as none.
    IF cs.expires_at <= clock_timestamp() THEN age := 0; ELSE age := __S__.decay(cs.at, o.now_at, o.h); END IF;
    UPDATE __S__.recipient_stats r SET
      at = CASE WHEN age = 0 THEN o.now_at ELSE greatest(cs.at, o.now_at) END,
      delivered = __S__.kept(greatest(0, cs.delivered * age + CASE WHEN o.outcome = 'delivered' THEN add ELSE 0 END)),
      failed = __S__.kept(greatest(0, cs.failed * age + CASE WHEN o.outcome = 'failed' THEN add ELSE 0 END)),
      timeout = __S__.kept(greatest(0, cs.timeout * age + CASE WHEN o.outcome = 'timeout' THEN add ELSE 0 END)),
      skipped = __S__.kept(greatest(0, cs.skipped * age + CASE WHEN o.outcome = 'skipped' THEN add ELSE 0 END)),
      expires_at = clock_timestamp() + (8 * o.h) * interval '1 millisecond'
    WHERE r.recipient_id = o.recipient AND r.channel = o.channel;
  END LOOP;
END $$;

`;
}

export const STATS_FUNCTIONS = `
CREATE FUNCTION __S__.decay(p_from double precision, p_to double precision, p_half_life double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_to <= p_from THEN 1::float8 WHEN (p_to - p_from) / p_half_life > 600 THEN 0::float8
    ELSE power(2::float8, -(p_to - p_from) / p_half_life) END
$$;

CREATE FUNCTION __S__.kept(p_value double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN p_value < 1e-100 THEN 0::float8 ELSE p_value END $$;

${applyStatsSql('CREATE')}/* fold_ledger: replaces the ledger's rows by one row of their sums (rows added meanwhile stay as they are). */
CREATE FUNCTION __S__.fold_ledger() RETURNS void
LANGUAGE sql AS $$
  WITH gone AS (DELETE FROM __S__.ledger RETURNING *),
  per AS (
    SELECT e.key, sum((e.value ->> 'sent')::bigint) AS sent, sum((e.value ->> 'delivered')::bigint) AS delivered,
      sum((e.value ->> 'spendMicros')::bigint) AS spend
    FROM gone g, jsonb_each(g.channels) AS e GROUP BY e.key)
  INSERT INTO __S__.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
  SELECT sum(g.messages), sum(g.delivered), sum(g.spend), sum(g.double_spend), sum(g.sms_only), sum(g.without_sms),
    coalesce((SELECT jsonb_object_agg(per.key, jsonb_build_object('sent', per.sent, 'delivered', per.delivered, 'spendMicros', per.spend)) FROM per), '{}'::jsonb)
  FROM gone g HAVING count(*) > 0
$$;
`;

/** The ledger's totals: one row (messages, delivered, spend, double, smsOnly, withoutSms as text, channels as JSON text). */
export const LEDGER_SQL = (schema: string): string => `
SELECT coalesce(sum(l.messages), 0)::text, coalesce(sum(l.delivered), 0)::text, coalesce(sum(l.spend), 0)::text,
  coalesce(sum(l.double_spend), 0)::text, coalesce(sum(l.sms_only), 0)::text, coalesce(sum(l.without_sms), 0)::text,
  (SELECT coalesce(jsonb_object_agg(x.key, jsonb_build_object('sent', x.sent, 'delivered', x.delivered, 'spendMicros', x.spend)), '{}'::jsonb)::text
   FROM (SELECT e.key, sum((e.value ->> 'sent')::bigint) AS sent, sum((e.value ->> 'delivered')::bigint) AS delivered,
     sum((e.value ->> 'spendMicros')::bigint) AS spend FROM ${schema}.ledger l2, jsonb_each(l2.channels) AS e GROUP BY e.key) AS x)
FROM ${schema}.ledger l`;

/** What has been learned for one recipient over some channels: channel rows ('c') then the recipient's ('r'). */
export const LEARNED_SQL = (schema: string): string => `
SELECT 'c', c.channel, c.at, c.delivered, c.failed, c.timeout, c.skipped, c.latency::text FROM ${schema}.channel_stats c WHERE c.channel = ANY ($1)
UNION ALL
SELECT 'r', r.channel, r.at, r.delivered, r.failed, r.timeout, r.skipped, NULL FROM ${schema}.recipient_stats r
WHERE r.recipient_id = $2 AND r.channel = ANY ($1) AND r.expires_at > clock_timestamp()`;
