/**
 * Migration 3: cheaper state changes. A commit that indexes no provider id (and does not delete the cascade) is
 * one `UPDATE … WHERE version = base`: the row lock, the compare-and-set and the write in one statement, where
 * version 1 locked the row (`FOR UPDATE`, itself a write to the row and the WAL) before updating it. Under READ
 * COMMITTED an UPDATE that waited for a concurrent one re-checks its WHERE on the row that one left, so of two
 * changes based on one version exactly one is written, as before. `__S__.` stands for the schema.
 */
import { commitOneSql } from './functions.js';

const FAST_PATH = `  IF cardinality(p_providers) = 0 AND NOT (p_ended AND p_retention = 0) THEN
    UPDATE __S__.cascades c SET
      version = p_version, nonce = p_nonce, fixed = coalesce(p_fixed, c.fixed), state = p_state,
      timer_at = CASE WHEN p_ended THEN NULL ELSE p_timer END,
      lease_until = CASE WHEN NOT p_ended AND p_timer IS NOT DISTINCT FROM c.timer_at THEN c.lease_until END,
      owner = CASE WHEN p_ended THEN NULL ELSE p_owner END,
      ended_at = CASE WHEN p_ended THEN coalesce(c.ended_at, clock_timestamp()) END
    WHERE c.id = p_id AND c.version = p_base AND (p_fixed IS NOT NULL OR c.nonce = p_known_nonce);
    ok := CASE WHEN FOUND THEN 1 ELSE 0 END;
    RETURN;
  END IF;
`;

/*
 * commit_many, set-based: every cascade row of the batch is locked first, in id order (one statement), so two
 * batches never wait for each other in a cycle; then the changes that keep their row, one per cascade in the
 * batch, and index no provider id or only new ones, are written by one UPDATE (each still its own compare-and-set
 * on its version), their new ids by one INSERT; the others (receipts held for an id they index, several changes
 * of one cascade) go through commit_one one by one, in id order, as in version 1. Statistics and counters last.
 */
export const COMMIT_MANY = `
CREATE OR REPLACE FUNCTION __S__.commit_many(
  p_ids text[], p_bases integer[], p_versions integer[], p_known text[], p_nonces text[], p_fixeds text[], p_states text[],
  p_timers bigint[], p_owners text[], p_endeds boolean[], p_nows bigint[], p_providers text[], p_provider_counts integer[],
  p_throughs bigint[], p_stats jsonb[], p_retention bigint)
RETURNS TABLE (idx integer, ok integer, held text[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  starts integer[] := ARRAY[]::integer[];
  at integer := 1;
  n integer;
  r record;
  delta __S__.held_delta;
  simple integer[];
  quick integer[];
  indexed text[];
  raced integer[];
  written integer[];
  stats jsonb[];
BEGIN
  FOREACH n IN ARRAY p_provider_counts LOOP
    starts := starts || at;
    at := at + n;
  END LOOP;
  PERFORM 1 FROM __S__.cascades c WHERE c.id = ANY (p_ids) ORDER BY c.id FOR UPDATE;
  SELECT coalesce(array_agg(o.i) FILTER (WHERE o.n = 0), ARRAY[]::integer[]),
    coalesce(array_agg(o.i) FILTER (WHERE o.n > 0), ARRAY[]::integer[])
  INTO simple, quick FROM (
    SELECT u.i, u.n, u.ended, count(*) OVER (PARTITION BY u.id) AS same
    FROM unnest(p_ids, p_provider_counts, p_endeds) WITH ORDINALITY AS u(id, n, ended, i)) o
  WHERE NOT (o.ended AND p_retention = 0) AND o.same = 1;
  -- Of those that index provider ids: the ones based on the stored version (their rows are locked: it stays so) whose
  -- ids are all new, with no receipt held for them. Their ids are indexed by one INSERT; one another transaction
  -- made meanwhile (a route holding a receipt) sends its change through commit_one after all, its own ids taken back.
  SELECT coalesce(array_agg(q.i), ARRAY[]::integer[]) INTO quick FROM unnest(quick) AS q(i)
  JOIN __S__.cascades c ON c.id = p_ids[q.i] AND c.version = p_bases[q.i] AND (p_fixeds[q.i] IS NOT NULL OR c.nonce = p_known[q.i])
  WHERE NOT EXISTS (SELECT 1 FROM __S__.provider_ids p WHERE p.provider_id = ANY (p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]));
  IF cardinality(quick) > 0 THEN
    WITH wanted AS (
      SELECT x.provider_id, q.i FROM unnest(quick) AS q(i), unnest(p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]) AS x(provider_id)),
    added AS (
      INSERT INTO __S__.provider_ids (provider_id, cascade_id)
      SELECT w.provider_id, p_ids[w.i] FROM wanted w ORDER BY w.provider_id
      ON CONFLICT (provider_id) DO NOTHING RETURNING provider_id, cascade_id)
    SELECT coalesce(array_agg(a.provider_id), ARRAY[]::text[]) INTO indexed FROM added a;
    SELECT coalesce(array_agg(DISTINCT q.i), ARRAY[]::integer[]) INTO raced FROM unnest(quick) AS q(i),
      unnest(p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]) AS x(provider_id)
    WHERE NOT (x.provider_id = ANY (indexed));
    IF cardinality(raced) > 0 THEN
      DELETE FROM __S__.provider_ids p WHERE p.provider_id = ANY (indexed) AND p.provider_id IN (
        SELECT x.provider_id FROM unnest(raced) AS r(i), unnest(p_providers[starts[r.i]:starts[r.i] + p_provider_counts[r.i] - 1]) AS x(provider_id));
      quick := ARRAY(SELECT q FROM unnest(quick) AS q WHERE NOT (q = ANY (raced)));
    END IF;
    simple := simple || quick;
  END IF;
  WITH changed AS (
    UPDATE __S__.cascades c SET
      version = p_versions[u.i], nonce = p_nonces[u.i], fixed = coalesce(p_fixeds[u.i], c.fixed), state = p_states[u.i],
      timer_at = CASE WHEN p_endeds[u.i] THEN NULL ELSE p_timers[u.i] END,
      lease_until = CASE WHEN NOT p_endeds[u.i] AND p_timers[u.i] IS NOT DISTINCT FROM c.timer_at THEN c.lease_until END,
      owner = CASE WHEN p_endeds[u.i] THEN NULL ELSE p_owners[u.i] END,
      ended_at = CASE WHEN p_endeds[u.i] THEN coalesce(c.ended_at, clock_timestamp()) END
    FROM unnest(simple) AS u(i)
    WHERE c.id = p_ids[u.i] AND c.version = p_bases[u.i] AND (p_fixeds[u.i] IS NOT NULL OR c.nonce = p_known[u.i])
    RETURNING u.i)
  SELECT coalesce(array_agg(changed.i), ARRAY[]::integer[]) INTO written FROM changed;
  RETURN QUERY SELECT s.i::integer, CASE WHEN s.i = ANY (written) THEN 1 ELSE 0 END, NULL::text[] FROM unnest(simple) AS s(i);
  SELECT coalesce(array_agg(p_stats[w.i]) FILTER (WHERE p_stats[w.i] IS NOT NULL), ARRAY[]::jsonb[]) INTO stats FROM unnest(written) AS w(i);
  FOR i IN SELECT o.i FROM unnest(p_ids) WITH ORDINALITY AS o(id, i) WHERE NOT (o.i = ANY (simple)) ORDER BY o.id, o.i LOOP
    SELECT * INTO r FROM __S__.commit_one(p_ids[i], p_bases[i], p_versions[i], p_known[i], p_nonces[i], p_fixeds[i],
      p_states[i], p_timers[i], p_owners[i], p_endeds[i], p_retention, p_nows[i],
      coalesce(p_providers[starts[i]:starts[i] + p_provider_counts[i] - 1], ARRAY[]::text[]), p_throughs[i], delta);
    delta := r.delta;
    IF r.ok = 1 AND p_stats[i] IS NOT NULL THEN stats := stats || p_stats[i]; END IF;
    idx := i;
    ok := r.ok;
    held := r.held;
    RETURN NEXT;
  END LOOP;
  IF cardinality(stats) > 0 THEN PERFORM __S__.apply_stats(stats); END IF;
  PERFORM __S__.apply_delta(delta);
END $$;
`;

/*
 * create_many, set-based: one INSERT for the batch, in id order, then the owner of each key that was taken read by
 * one SELECT. A cascade that ends at once with retention 0 (deleted as it is written) goes through create_cascade.
 */
export const CREATE_MANY = `
CREATE OR REPLACE FUNCTION __S__.create_many(
  p_ids text[], p_keys text[], p_versions integer[], p_nonces text[], p_fixeds text[], p_states text[], p_timers bigint[],
  p_owners text[], p_endeds boolean[], p_stats jsonb[], p_retention bigint)
RETURNS TABLE (idx integer, created boolean, nonce text, fixed text, state text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  r record;
  plain integer[];
  inserted text[];
  made integer[];
  stats jsonb[];
BEGIN
  SELECT coalesce(array_agg(o.i ORDER BY o.id, o.i), ARRAY[]::integer[]) INTO plain
  FROM unnest(p_ids, p_endeds) WITH ORDINALITY AS o(id, ended, i) WHERE NOT (o.ended AND p_retention = 0);
  WITH added AS (
    INSERT INTO __S__.cascades AS c (id, key, version, nonce, fixed, state, timer_at, owner, ended_at)
    SELECT p_ids[u.i], p_keys[u.i], p_versions[u.i], p_nonces[u.i], p_fixeds[u.i], p_states[u.i],
      CASE WHEN p_endeds[u.i] THEN NULL ELSE p_timers[u.i] END, CASE WHEN p_endeds[u.i] THEN NULL ELSE p_owners[u.i] END,
      CASE WHEN p_endeds[u.i] THEN clock_timestamp() END
    FROM unnest(plain) WITH ORDINALITY AS u(i, ord) ORDER BY u.ord
    ON CONFLICT DO NOTHING RETURNING c.id)
  SELECT coalesce(array_agg(a.id), ARRAY[]::text[]) INTO inserted FROM added a;
  -- An id given twice: the first one in the batch was inserted.
  SELECT coalesce(array_agg(f.i), ARRAY[]::integer[]) INTO made FROM (
    SELECT DISTINCT ON (p_ids[u.i]) u.i FROM unnest(plain) WITH ORDINALITY AS u(i, ord) ORDER BY p_ids[u.i], u.ord) f
  WHERE p_ids[f.i] = ANY (inserted);
  RETURN QUERY SELECT m.i::integer, true, NULL::text, NULL::text, NULL::text FROM unnest(made) AS m(i);
  -- The others: the cascade that owns the key, or else the id (none when it was deleted meanwhile: try again).
  RETURN QUERY SELECT DISTINCT ON (o.i) o.i::integer, false, c.nonce, c.fixed, c.state
    FROM unnest(plain) AS o(i)
    JOIN __S__.cascades c ON coalesce(c.key, c.id) = coalesce(p_keys[o.i], p_ids[o.i]) OR c.id = p_ids[o.i]
    WHERE NOT (o.i = ANY (made))
    ORDER BY o.i, (coalesce(c.key, c.id) = coalesce(p_keys[o.i], p_ids[o.i])) DESC;
  SELECT coalesce(array_agg(p_stats[m.i]) FILTER (WHERE p_stats[m.i] IS NOT NULL), ARRAY[]::jsonb[]) INTO stats FROM unnest(made) AS m(i);
  FOR i IN SELECT o.i FROM unnest(p_ids) WITH ORDINALITY AS o(id, i) WHERE NOT (o.i = ANY (plain)) ORDER BY o.id, o.i LOOP
    FOR r IN SELECT * FROM __S__.create_cascade(p_ids[i], p_keys[i], p_versions[i], p_nonces[i], p_fixeds[i], p_states[i],
      p_timers[i], p_owners[i], p_endeds[i], p_retention, NULL, false) LOOP
      IF r.created AND p_stats[i] IS NOT NULL THEN stats := stats || p_stats[i]; END IF;
      idx := i;
      created := r.created;
      nonce := r.nonce;
      fixed := r.fixed;
      state := r.state;
      RETURN NEXT;
    END LOOP;
  END LOOP;
  IF cardinality(stats) > 0 THEN PERFORM __S__.apply_stats(stats); END IF;
END $$;
`;

export const COMMIT_FUNCTIONS = `${commitOneSql('CREATE OR REPLACE', FAST_PATH)}\n${COMMIT_MANY}\n${CREATE_MANY}`;
