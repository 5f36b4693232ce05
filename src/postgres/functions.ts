/**
 * One PL/pgSQL function per atomic change, called in one round trip (`SELECT * FROM <schema>.fn(...)`), like the
 * Redis store's Lua scripts. Each runs in the caller's transaction: its own (autocommit) for the store's calls,
 * or the caller's open one for a transactional start. Every statement inside sees what committed before it
 * (READ COMMITTED takes a snapshot per statement), and row locks serialize the changes that must not interleave:
 * - a cascade's row, locked by the commit that changes it (`FOR UPDATE`), then compared on `version`;
 * - a provider id's row, written by a route that holds a receipt for it and by a commit that indexes it:
 *   whichever comes second waits for the first and sees what it did, so a receipt is never held for an id
 *   that a commit has just indexed without that commit taking it in;
 * - held-receipt counters, spread over shards and always locked in shard order (no deadlock between them).
 * `__S__.` stands for the schema; `{{WAKE}}` for the channel notified when work is due at once.
 */
export const FUNCTIONS = `
CREATE FUNCTION __S__.held_shard(p_provider text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT abs(hashtext(p_provider) % 16) $$;

/*
 * count_held: adds deltas to the held-receipt counters, one shard row at a time in shard order.
 * p_shards, p_held, p_expired, p_evicted: one delta per entry (summed per shard).
 */
CREATE FUNCTION __S__.count_held(p_shards integer[], p_held bigint[], p_expired bigint[], p_evicted bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT d.shard, sum(d.held) AS held, sum(d.expired) AS expired, sum(d.evicted) AS evicted
    FROM unnest(p_shards, p_held, p_expired, p_evicted) AS d(shard, held, expired, evicted)
    GROUP BY d.shard ORDER BY d.shard
  LOOP
    UPDATE __S__.held_counts hc
    SET held = hc.held + r.held, expired = hc.expired + r.expired, evicted = hc.evicted + r.evicted
    WHERE hc.shard = r.shard;
  END LOOP;
END $$;

/*
 * drop_held: removes held receipts by seq (those another transaction is removing are skipped). Returns the
 * counter shard of each one removed: the caller counts them (in shard order, once, at its end).
 */
CREATE FUNCTION __S__.drop_held(p_seqs bigint[]) RETURNS integer[]
LANGUAGE sql AS $$
  WITH gone AS (
    DELETE FROM __S__.held h
    WHERE h.seq IN (SELECT x.seq FROM __S__.held x WHERE x.seq = ANY (p_seqs) FOR UPDATE SKIP LOCKED)
    RETURNING __S__.held_shard(h.provider_id) AS shard)
  SELECT coalesce(array_agg(g.shard), ARRAY[]::integer[]) FROM gone g
$$;

/*
 * Counter deltas carried through a change: per entry a shard and what to add to held, expired and evicted.
 * Every function that holds or drops receipts adds to one, and the change applies it once, at its end, in
 * shard order (count_held): a shard row is locked last and never while a change waits for another lock.
 */
CREATE TYPE __S__.held_delta AS (shards integer[], held bigint[], expired bigint[], evicted bigint[]);

CREATE FUNCTION __S__.add_delta(d __S__.held_delta, p_shards integer[], p_held bigint, p_expired bigint, p_evicted bigint) RETURNS __S__.held_delta
LANGUAGE sql IMMUTABLE AS $$
  SELECT ROW(
    coalesce(d.shards, ARRAY[]::integer[]) || p_shards,
    coalesce(d.held, ARRAY[]::bigint[]) || array_fill(p_held, ARRAY[cardinality(p_shards)]),
    coalesce(d.expired, ARRAY[]::bigint[]) || array_fill(p_expired, ARRAY[cardinality(p_shards)]),
    coalesce(d.evicted, ARRAY[]::bigint[]) || array_fill(p_evicted, ARRAY[cardinality(p_shards)]))::__S__.held_delta
$$;

CREATE FUNCTION __S__.apply_delta(d __S__.held_delta) RETURNS void
LANGUAGE sql AS $$ SELECT __S__.count_held(d.shards, d.held, d.expired, d.evicted) WHERE cardinality(d.shards) > 0 $$;

/*
 * create_cascade: inserts a cascade unless its idempotency key (or its id) is taken.
 * p_key: the idempotency key, NULL when it is the id. p_fixed, p_state: the two JSON parts; p_nonce names p_fixed.
 * p_timer: due time (router clock) or NULL. p_owner: the owner of a first step already sending ('' none), NULL
 * when it is not. p_ended: the cascade is already terminal. p_retention: ms a finished cascade is kept
 * (-1 forever, 0 not at all). p_stats: the statistics update (see stats-sql.ts) or NULL. p_notify: notify
 * listeners once this transaction commits (a transactional start).
 * Returns (true) when created; (false, nonce, fixed, state) of the cascade owning the key or the id; no row when
 * that one was deleted meanwhile (try again).
 */
CREATE FUNCTION __S__.create_cascade(
  p_id text, p_key text, p_version integer, p_nonce text, p_fixed text, p_state text, p_timer bigint,
  p_owner text, p_ended boolean, p_retention bigint, p_stats jsonb, p_notify boolean)
RETURNS TABLE (created boolean, nonce text, fixed text, state text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  INSERT INTO __S__.cascades AS c (id, key, version, nonce, fixed, state, timer_at, owner, ended_at)
  VALUES (p_id, p_key, p_version, p_nonce, p_fixed, p_state,
    CASE WHEN p_ended THEN NULL ELSE p_timer END, CASE WHEN p_ended THEN NULL ELSE p_owner END,
    CASE WHEN p_ended THEN clock_timestamp() END)
  ON CONFLICT DO NOTHING;
  IF FOUND THEN
    IF p_stats IS NOT NULL THEN PERFORM __S__.apply_stats(ARRAY[p_stats]); END IF;
    IF p_ended AND p_retention = 0 THEN DELETE FROM __S__.cascades c WHERE c.id = p_id; END IF;
    IF p_notify THEN PERFORM pg_notify('{{WAKE}}', ''); END IF;
    RETURN QUERY SELECT true, NULL::text, NULL::text, NULL::text;
    RETURN;
  END IF;
  RETURN QUERY SELECT false, c.nonce, c.fixed, c.state FROM __S__.cascades c WHERE coalesce(c.key, c.id) = coalesce(p_key, p_id);
  IF FOUND THEN RETURN; END IF;
  RETURN QUERY SELECT false, c.nonce, c.fixed, c.state FROM __S__.cascades c WHERE c.id = p_id;
END $$;

${commitOneSql('CREATE')}
/* commit_cascade: commit_one for one change, its counters applied (the parameters and answer of commit_one). */
CREATE FUNCTION __S__.commit_cascade(
  p_id text, p_base integer, p_version integer, p_known_nonce text, p_nonce text, p_fixed text, p_state text,
  p_timer bigint, p_owner text, p_ended boolean, p_retention bigint, p_now bigint, p_providers text[],
  p_through bigint, p_stats jsonb)
RETURNS TABLE (ok integer, held text[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM __S__.commit_one(p_id, p_base, p_version, p_known_nonce, p_nonce, p_fixed, p_state, p_timer, p_owner, p_ended,
    p_retention, p_now, p_providers, p_through, NULL);
  -- The statistics update lands with the change; counters last (the order every change takes its locks in).
  IF r.ok = 1 AND p_stats IS NOT NULL THEN PERFORM __S__.apply_stats(ARRAY[p_stats]); END IF;
  PERFORM __S__.apply_delta(r.delta);
  RETURN QUERY SELECT r.ok, r.held;
END $$;

/*
 * route_receipt: the cascade that sent a provider id, or else hold the receipt for it, within the bounds.
 * p_entry: JSON {receipt, receivedAt}. p_until: when its hold ends; p_now: the router's time (both router
 * clock). p_per_id, p_total: most receipts held per provider id and in all; beyond them the oldest go first
 * (evicted). A few receipts whose hold has ended are dropped on the way (expired).
 * Returns (cascade id, nonce, version, state, fixed) when the id is indexed (the cascade's columns NULL when it
 * is gone); no row when the receipt was held.
 */
CREATE FUNCTION __S__.route_one(p_provider text, p_entry text, p_until bigint, p_now bigint, p_per_id integer, p_total bigint,
  INOUT delta __S__.held_delta, OUT cascade_id text, OUT nonce text, OUT version integer, OUT state text, OUT fixed text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  owner_id text;
  trimmed integer;
  total bigint;
  expired integer[];
  evicted integer[];
BEGIN
  SELECT p.cascade_id INTO owner_id FROM __S__.provider_ids p WHERE p.provider_id = p_provider;
  IF owner_id IS NULL THEN
    -- Lock the id's row (made if missing): a commit indexing it now waits for this hold, or this waits for it.
    INSERT INTO __S__.provider_ids AS p (provider_id) VALUES (p_provider)
    ON CONFLICT (provider_id) DO UPDATE SET provider_id = p.provider_id
    RETURNING p.cascade_id INTO owner_id;
  END IF;
  IF owner_id IS NOT NULL THEN
    cascade_id := owner_id;
    SELECT c.nonce, c.version, c.state, c.fixed INTO nonce, version, state, fixed FROM __S__.cascades c WHERE c.id = owner_id;
    RETURN;
  END IF;
  expired := __S__.drop_held(ARRAY(SELECT h.seq FROM __S__.held h WHERE h.until <= p_now ORDER BY h.until LIMIT 16));
  INSERT INTO __S__.held (seq, provider_id, until, entry) VALUES (nextval('__S__.held_seq'), p_provider, p_until, p_entry);
  WITH gone AS (
    DELETE FROM __S__.held h WHERE h.provider_id = p_provider AND h.seq <= (
      SELECT x.seq FROM __S__.held x WHERE x.provider_id = p_provider ORDER BY x.seq DESC OFFSET p_per_id LIMIT 1)
    RETURNING 1)
  SELECT count(*) INTO trimmed FROM gone;
  -- What is held now: the counters as committed, with what this change (and its batch) added so far.
  SELECT sum(hc.held) INTO total FROM __S__.held_counts hc;
  total := total + coalesce((SELECT sum(x) FROM unnest(delta.held) AS x), 0) + 1 - trimmed - cardinality(expired);
  delta := __S__.add_delta(delta, expired, -1, 1, 0);
  delta := __S__.add_delta(delta, ARRAY[__S__.held_shard(p_provider)], 1 - trimmed, 0, trimmed);
  IF total > p_total THEN
    evicted := __S__.drop_held(ARRAY(SELECT h.seq FROM __S__.held h ORDER BY h.seq LIMIT total - p_total));
    delta := __S__.add_delta(delta, evicted, -1, 0, 1);
  END IF;
END $$;

/* route_receipt: route_one for one receipt, its counters applied. Returns a row when the id is indexed, none when held. */
CREATE FUNCTION __S__.route_receipt(p_provider text, p_entry text, p_until bigint, p_now bigint, p_per_id integer, p_total bigint)
RETURNS TABLE (cascade_id text, nonce text, version integer, state text, fixed text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM __S__.route_one(p_provider, p_entry, p_until, p_now, p_per_id, p_total, NULL);
  PERFORM __S__.apply_delta(r.delta);
  IF r.cascade_id IS NOT NULL THEN RETURN QUERY SELECT r.cascade_id, r.nonce, r.version, r.state, r.fixed; END IF;
END $$;

/*
 * claim_due: takes up to p_limit cascades whose timer is due at p_now (router clock) and not claimed, earliest
 * first, skipping rows another transaction holds. A claim is a lease until (database time) + p_lease_ms: the
 * commit that moves or clears the timer ends it; if the claimer dies first, the timer is due again once the
 * lease lapses. p_lease_ms 0 claims for good.
 */
CREATE FUNCTION __S__.claim_due(p_now bigint, p_limit integer, p_lease_ms bigint) RETURNS SETOF text
LANGUAGE sql AS $$
  WITH due AS (
    SELECT c.id FROM __S__.cascades c
    WHERE c.timer_at <= p_now AND (c.lease_until IS NULL OR c.lease_until <= clock_timestamp())
    ORDER BY c.timer_at LIMIT p_limit FOR UPDATE SKIP LOCKED),
  claimed AS (
    UPDATE __S__.cascades c
    SET lease_until = CASE WHEN p_lease_ms > 0 THEN clock_timestamp() + p_lease_ms * interval '1 millisecond' ELSE 'infinity' END
    FROM due WHERE c.id = due.id RETURNING c.id, c.timer_at)
  SELECT claimed.id FROM claimed ORDER BY claimed.timer_at
$$;

/*
 * heartbeat: marks an instance alive until (database time) + p_ttl_ms and forgets lapsed ones.
 * Returns whether its previous heartbeat was still alive.
 */
CREATE FUNCTION __S__.heartbeat(p_id text, p_ttl_ms bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  previous timestamptz;
  now_db timestamptz := clock_timestamp();
BEGIN
  SELECT i.alive_until INTO previous FROM __S__.instances i WHERE i.id = p_id FOR UPDATE;
  DELETE FROM __S__.instances i WHERE i.alive_until <= now_db AND i.id <> p_id;
  INSERT INTO __S__.instances AS i (id, alive_until) VALUES (p_id, now_db + p_ttl_ms * interval '1 millisecond')
  ON CONFLICT (id) DO UPDATE SET alive_until = EXCLUDED.alive_until;
  RETURN previous IS NOT NULL AND previous > now_db;
END $$;

${maintainSql('CREATE')}`;

/**
 * The batched forms: the store sends every create, commit and route of one turn of its event loop as one call,
 * so they share one round trip and one transaction (one commit, one WAL flush). Each item is still its own
 * compare-and-set, answered on its own (`idx`: its place in the arrays); items are applied in the order of
 * their cascade or provider id, so two batches lock rows in the same order and never deadlock each other.
 */
export const BATCH_FUNCTIONS = `
CREATE FUNCTION __S__.create_many(
  p_ids text[], p_keys text[], p_versions integer[], p_nonces text[], p_fixeds text[], p_states text[], p_timers bigint[],
  p_owners text[], p_endeds boolean[], p_stats jsonb[], p_retention bigint)
RETURNS TABLE (idx integer, created boolean, nonce text, fixed text, state text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  r record;
  stats jsonb[] := ARRAY[]::jsonb[];
BEGIN
  FOR i IN SELECT o.i FROM unnest(p_ids) WITH ORDINALITY AS o(id, i) ORDER BY o.id LOOP
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

CREATE FUNCTION __S__.commit_many(
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
  stats jsonb[] := ARRAY[]::jsonb[];
BEGIN
  FOREACH n IN ARRAY p_provider_counts LOOP
    starts := starts || at;
    at := at + n;
  END LOOP;
  FOR i IN SELECT o.i FROM unnest(p_ids) WITH ORDINALITY AS o(id, i) ORDER BY o.id, o.i LOOP
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

CREATE FUNCTION __S__.route_many(p_providers text[], p_entries text[], p_untils bigint[], p_nows bigint[], p_per_id integer, p_total bigint)
RETURNS TABLE (idx integer, cascade_id text, nonce text, version integer, state text, fixed text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  r record;
  delta __S__.held_delta;
BEGIN
  FOR i IN SELECT o.i FROM unnest(p_providers) WITH ORDINALITY AS o(p, i) ORDER BY o.p, o.i LOOP
    SELECT * INTO r FROM __S__.route_one(p_providers[i], p_entries[i], p_untils[i], p_nows[i], p_per_id, p_total, delta);
    delta := r.delta;
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

/**
 * maintain's text: migration 1 creates it, a later migration replaces it with more steps (`extra`, statements
 * before its answer that may add to `removed` and use `n`).
 */
export function maintainSql(create: 'CREATE' | 'CREATE OR REPLACE', extra = ''): string {
  return `/*
 * maintain: the housekeeping no single change does, in batches, by one instance at a time (others skip):
 * finished cascades past their retention deleted with their provider ids (p_retention ms, database time; -1
 * never), held receipts past their hold (p_now, router clock) and the rows left for them, recipients'
 * statistics past their expiry, and the ledger folded into one row once it has many. Returns rows removed.
 */
${create} FUNCTION __S__.maintain(p_retention bigint, p_now bigint) RETURNS integer
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  removed integer := 0;
  n integer;
  shards integer[];
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('__S__.maintain')) THEN RETURN 0; END IF;
  IF p_retention >= 0 THEN
    WITH gone AS (
      DELETE FROM __S__.cascades c WHERE c.id IN (
        SELECT x.id FROM __S__.cascades x WHERE x.ended_at < clock_timestamp() - p_retention * interval '1 millisecond'
        ORDER BY x.ended_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
      RETURNING c.state),
    ids AS (DELETE FROM __S__.provider_ids p WHERE p.provider_id IN (
      SELECT a ->> 'providerMessageId' FROM gone g, jsonb_array_elements(g.state::jsonb -> 'attempts') AS a) RETURNING 1)
    SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM ids) INTO n;
    removed := removed + n;
  END IF;
  shards := __S__.drop_held(ARRAY(SELECT h.seq FROM __S__.held h WHERE h.until <= p_now ORDER BY h.until LIMIT 1000));
  PERFORM __S__.apply_delta(__S__.add_delta(NULL, shards, -1, 1, 0));
  removed := removed + cardinality(shards);
  WITH gone AS (
    DELETE FROM __S__.provider_ids p WHERE p.provider_id IN (
      SELECT x.provider_id FROM __S__.provider_ids x
      WHERE x.cascade_id IS NULL AND NOT EXISTS (SELECT 1 FROM __S__.held h WHERE h.provider_id = x.provider_id)
      LIMIT 1000 FOR UPDATE SKIP LOCKED)
    RETURNING 1)
  SELECT count(*) INTO n FROM gone;
  removed := removed + n;
  DELETE FROM __S__.recipient_stats r WHERE (r.recipient_id, r.channel) IN (
    SELECT x.recipient_id, x.channel FROM __S__.recipient_stats x WHERE x.expires_at <= clock_timestamp() LIMIT 1000 FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS n = ROW_COUNT;
  removed := removed + n;
  IF (SELECT count(*) FROM (SELECT 1 FROM __S__.ledger LIMIT 1001) AS x) > 1000 THEN PERFORM __S__.fold_ledger(); END IF;
${extra}  RETURN removed;
END $$;
`;
}

/**
 * commit_one's text: migration 1 creates it; a later one replaces it with `fastPath`, statements run first that
 * may answer the change on their own (`ok`, `RETURN`).
 */
export function commitOneSql(create: 'CREATE' | 'CREATE OR REPLACE', fastPath = ''): string {
  return `/*
 * commit_one (under commit_cascade and commit_many): compare-and-set of a cascade on its version, with everything
 * that must change with it but the statistics update and the held-receipt counters, which its caller applies
 * once, last, for the change or the batch (delta carries the counters). p_base: the version the change is based on; p_known_nonce: the nonce of the fixed part it is based on (checked
 * when p_fixed is NULL, i.e. the fixed part is not sent again); p_nonce, p_fixed: the new ones (p_fixed NULL: keep).
 * p_timer, p_owner, p_ended, p_retention: as in create_cascade. p_now: the change's time (router clock): held
 * receipts whose hold ends by then are dropped. p_providers: provider ids it indexes. p_through: the seq of the
 * last held receipt the change took in (NULL none).
 * Returns (0) when the stored version (or nonce) differs; (2, entries) when receipts are held for a provider id
 * the change indexes that it did not take in (a seq above p_through): every one still in its hold, as
 * 'until:seq:{"receipt":..,"receivedAt":..}', and nothing written; (1) when written: the held receipts of those
 * ids removed (counted expired when their hold had ended), a moved or cleared timer's claim ended.
 */
${create} FUNCTION __S__.commit_one(
  p_id text, p_base integer, p_version integer, p_known_nonce text, p_nonce text, p_fixed text, p_state text,
  p_timer bigint, p_owner text, p_ended boolean, p_retention bigint, p_now bigint, p_providers text[],
  p_through bigint, INOUT delta __S__.held_delta, OUT ok integer, OUT held text[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  stored record;
  fresh text[];
  waiting text[];
  live text[];
  unseen boolean;
  shards integer[];
  taken boolean[];
BEGIN
${fastPath}  SELECT c.version, c.nonce, c.timer_at, c.ended_at INTO stored FROM __S__.cascades c WHERE c.id = p_id FOR UPDATE;
  IF NOT FOUND OR stored.version <> p_base OR (p_fixed IS NULL AND stored.nonce IS DISTINCT FROM p_known_nonce) THEN
    ok := 0;
    RETURN;
  END IF;
  IF cardinality(p_providers) > 0 THEN
    WITH inserted AS (
      INSERT INTO __S__.provider_ids (provider_id, cascade_id) SELECT unnest(p_providers), p_id
      ON CONFLICT (provider_id) DO NOTHING RETURNING provider_id)
    SELECT array_agg(i.provider_id) INTO fresh FROM inserted i;
    IF coalesce(cardinality(fresh), 0) < cardinality(p_providers) THEN
      -- Rows that were there: receipts may be held for them. Locked, so no route adds one until this commits.
      SELECT array_agg(s.provider_id) INTO waiting FROM (
        SELECT p.provider_id FROM __S__.provider_ids p
        WHERE p.provider_id = ANY (p_providers) AND p.cascade_id IS NULL ORDER BY p.provider_id FOR UPDATE) s;
      IF waiting IS NOT NULL THEN
        SELECT array_agg(h.until || ':' || h.seq || ':' || h.entry ORDER BY h.seq), coalesce(bool_or(h.seq > coalesce(p_through, -1)), false)
        INTO live, unseen FROM __S__.held h WHERE h.provider_id = ANY (waiting) AND h.until > p_now;
        IF unseen THEN
          DELETE FROM __S__.provider_ids p WHERE p.provider_id = ANY (fresh);
          ok := 2;
          held := live;
          RETURN;
        END IF;
        WITH gone AS (
          DELETE FROM __S__.held h WHERE h.provider_id = ANY (waiting)
          RETURNING __S__.held_shard(h.provider_id) AS shard, h.until > p_now AS taken)
        SELECT array_agg(g.shard), array_agg(g.taken) INTO shards, taken FROM gone g;
        IF shards IS NOT NULL THEN
          delta := ROW(coalesce(delta.shards, ARRAY[]::integer[]) || shards,
            coalesce(delta.held, ARRAY[]::bigint[]) || array_fill(-1::bigint, ARRAY[cardinality(shards)]),
            coalesce(delta.expired, ARRAY[]::bigint[]) || ARRAY(SELECT CASE WHEN t THEN 0 ELSE 1 END::bigint FROM unnest(taken) AS t),
            coalesce(delta.evicted, ARRAY[]::bigint[]) || array_fill(0::bigint, ARRAY[cardinality(shards)]))::__S__.held_delta;
        END IF;
      END IF;
      UPDATE __S__.provider_ids p SET cascade_id = p_id WHERE p.provider_id = ANY (p_providers) AND p.cascade_id IS DISTINCT FROM p_id;
    END IF;
  END IF;
  IF p_ended AND p_retention = 0 THEN
    DELETE FROM __S__.provider_ids p WHERE p.provider_id IN (
      SELECT a ->> 'providerMessageId' FROM jsonb_array_elements(p_state::jsonb -> 'attempts') AS a);
    DELETE FROM __S__.cascades c WHERE c.id = p_id;
  ELSE
    UPDATE __S__.cascades c SET
      version = p_version, nonce = p_nonce, fixed = coalesce(p_fixed, c.fixed), state = p_state,
      timer_at = CASE WHEN p_ended THEN NULL ELSE p_timer END,
      -- a timer that did not move stays claimed; a moved or cleared one ends the claim
      lease_until = CASE WHEN NOT p_ended AND p_timer IS NOT DISTINCT FROM stored.timer_at THEN c.lease_until END,
      owner = CASE WHEN p_ended THEN NULL ELSE p_owner END,
      ended_at = CASE WHEN p_ended THEN coalesce(c.ended_at, clock_timestamp()) END
    WHERE c.id = p_id;
  END IF;
  ok := 1;
END $$;
`;
}
