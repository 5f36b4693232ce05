/**
 * Migration 4: lighter batches. `__S__.` stands for the schema.
 * - route_many answers the receipts whose provider id is indexed (nearly all of them) from one join, where
 *   version 1 called route_one (a function call and two statements) for each; the others still go through
 *   route_one one by one, in provider id order, as before.
 * - apply_stats adds the ledger deltas of a batch as one row (their sums), where version 1 inserted one row per
 *   change: the ledger is only ever read as sums (LEDGER_SQL, fold_ledger), so the totals are the same.
 */
import { applyStatsSql } from './stats-sql.js';

/*
 * route_many, v4: one statement reads every provider id's row with its cascade (a row per receipt, in provider id
 * order); an indexed id is answered from it, as route_one's first read would; any other (unknown, or receipts held
 * for it) goes through route_one, which looks again and locks. A read is as current as route_one's was: made
 * during this call, by a statement that sees what committed before it.
 */
const ROUTE_MANY = `
CREATE OR REPLACE FUNCTION __S__.route_many(p_providers text[], p_entries text[], p_untils bigint[], p_nows bigint[], p_per_id integer, p_total bigint)
RETURNS TABLE (idx integer, cascade_id text, nonce text, version integer, state text, fixed text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  r record;
  found_ record;
  delta __S__.held_delta;
BEGIN
  FOR found_ IN SELECT u.i, p.cascade_id, c.nonce, c.version, c.state, c.fixed
    FROM unnest(p_providers) WITH ORDINALITY AS u(provider_id, i)
    LEFT JOIN __S__.provider_ids p ON p.provider_id = u.provider_id
    LEFT JOIN __S__.cascades c ON c.id = p.cascade_id
    ORDER BY u.provider_id, u.i LOOP
    i := found_.i;
    IF found_.cascade_id IS NOT NULL THEN
      r := found_;
    ELSE
      SELECT * INTO r FROM __S__.route_one(p_providers[i], p_entries[i], p_untils[i], p_nows[i], p_per_id, p_total, delta);
      delta := r.delta;
    END IF;
    IF r.cascade_id IS NOT NULL THEN
      idx := i;
      cascade_id := r.cascade_id;
      nonce := r.nonce;
      version := r.version;
      state := r.state;
      fixed := r.fixed;
      RETURN NEXT;
    END IF;
  END LOOP;
  PERFORM __S__.apply_delta(delta);
END $$;
`;

/** The ledger step of apply_stats, v4: the deltas of the updates summed into one row (none when none carries one). */
const LEDGER_SUMMED = `  INSERT INTO __S__.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
  SELECT sum((u -> 'l' ->> 'messages')::bigint), sum((u -> 'l' ->> 'delivered')::bigint), sum((u -> 'l' ->> 'spendMicros')::bigint),
    sum((u -> 'l' ->> 'doubleSpendMicros')::bigint), sum((u -> 'l' ->> 'smsOnlyMicros')::bigint), sum((u -> 'l' ->> 'withoutSms')::bigint),
    coalesce((SELECT jsonb_object_agg(per.key, jsonb_build_object('sent', per.sent, 'delivered', per.delivered, 'spendMicros', per.spend))
      FROM (SELECT e.key, sum((e.value ->> 'sent')::bigint) AS sent, sum((e.value ->> 'delivered')::bigint) AS delivered,
          sum((e.value ->> 'spendMicros')::bigint) AS spend
        FROM unnest(p_updates) AS v, jsonb_each(CASE WHEN jsonb_typeof(v -> 'l' -> 'channels') = 'object' THEN v -> 'l' -> 'channels' ELSE '{}'::jsonb END) AS e
        GROUP BY e.key) AS per), '{}'::jsonb)
  FROM unnest(p_updates) AS u WHERE jsonb_typeof(u -> 'l') = 'object' HAVING count(*) > 0;
`;

export const BATCH_FUNCTIONS_V4 = `${ROUTE_MANY}\n${applyStatsSql('CREATE OR REPLACE', LEDGER_SUMMED)}`;
