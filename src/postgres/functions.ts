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
 * drop_held: removes held receipts by seq (those another transaction is removing are skipped) and counts
 * them as expired or evicted. Returns how many it removed.
 */
CREATE FUNCTION __S__.drop_held(p_seqs bigint[], p_counter text) RETURNS integer
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  shards integer[];
BEGIN
  WITH gone AS (
    DELETE FROM __S__.held h
    WHERE h.seq IN (SELECT x.seq FROM __S__.held x WHERE x.seq = ANY (p_seqs) FOR UPDATE SKIP LOCKED)
    RETURNING __S__.held_shard(h.provider_id) AS shard)
  SELECT array_agg(g.shard) INTO shards FROM gone g;
  IF shards IS NULL THEN RETURN 0; END IF;
  PERFORM __S__.count_held(shards, array_fill(-1::bigint, ARRAY[cardinality(shards)]),
    array_fill(CASE WHEN p_counter = 'expired' THEN 1 ELSE 0 END::bigint, ARRAY[cardinality(shards)]),
    array_fill(CASE WHEN p_counter = 'evicted' THEN 1 ELSE 0 END::bigint, ARRAY[cardinality(shards)]));
  RETURN cardinality(shards);
END $$;

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
    IF p_stats IS NOT NULL THEN PERFORM __S__.apply_stats(p_stats); END IF;
    IF p_ended AND p_retention = 0 THEN DELETE FROM __S__.cascades c WHERE c.id = p_id; END IF;
    IF p_notify THEN PERFORM pg_notify('{{WAKE}}', ''); END IF;
    RETURN QUERY SELECT true, NULL::text, NULL::text, NULL::text;
    RETURN;
  END IF;
  RETURN QUERY SELECT false, c.nonce, c.fixed, c.state FROM __S__.cascades c WHERE coalesce(c.key, c.id) = coalesce(p_key, p_id);
  IF FOUND THEN RETURN; END IF;
  RETURN QUERY SELECT false, c.nonce, c.fixed, c.state FROM __S__.cascades c WHERE c.id = p_id;
END $$;

/*
 * commit_cascade: compare-and-set of a cascade on its version, with everything that must change with it.
 * p_base: the version the change is based on; p_known_nonce: the nonce of the fixed part it is based on (checked
 * when p_fixed is NULL, i.e. the fixed part is not sent again); p_nonce, p_fixed: the new ones (p_fixed NULL: keep).
 * p_timer, p_owner, p_ended, p_retention: as in create_cascade. p_now: the change's time (router clock): held
 * receipts whose hold ends by then are dropped. p_providers: provider ids it indexes. p_through: the seq of the
 * last held receipt the change took in (NULL none). p_stats: the statistics update or NULL.
 * Returns (0) when the stored version (or nonce) differs; (2, entries) when receipts are held for a provider id
 * the change indexes that it did not take in (a seq above p_through): every one still in its hold, as
 * 'until:seq:{"receipt":..,"receivedAt":..}', and nothing written; (1) when written: the held receipts of those
 * ids removed (counted expired when their hold had ended), a moved or cleared timer's claim ended.
 */
CREATE FUNCTION __S__.commit_cascade(
  p_id text, p_base integer, p_version integer, p_known_nonce text, p_nonce text, p_fixed text, p_state text,
  p_timer bigint, p_owner text, p_ended boolean, p_retention bigint, p_now bigint, p_providers text[],
  p_through bigint, p_stats jsonb)
RETURNS TABLE (ok integer, held text[])
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
  SELECT c.version, c.nonce, c.timer_at, c.ended_at INTO stored FROM __S__.cascades c WHERE c.id = p_id FOR UPDATE;
  IF NOT FOUND OR stored.version <> p_base OR (p_fixed IS NULL AND stored.nonce IS DISTINCT FROM p_known_nonce) THEN
    RETURN QUERY SELECT 0, NULL::text[];
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
          RETURN QUERY SELECT 2, live;
          RETURN;
        END IF;
        WITH gone AS (
          DELETE FROM __S__.held h WHERE h.provider_id = ANY (waiting)
          RETURNING __S__.held_shard(h.provider_id) AS shard, h.until > p_now AS taken)
        SELECT array_agg(g.shard), array_agg(g.taken) INTO shards, taken FROM gone g;
        IF shards IS NOT NULL THEN
          PERFORM __S__.count_held(shards, array_fill(-1::bigint, ARRAY[cardinality(shards)]),
            ARRAY(SELECT CASE WHEN t THEN 0 ELSE 1 END::bigint FROM unnest(taken) AS t),
            array_fill(0::bigint, ARRAY[cardinality(shards)]));
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
  IF p_stats IS NOT NULL THEN PERFORM __S__.apply_stats(p_stats); END IF;
  RETURN QUERY SELECT 1, NULL::text[];
END $$;

/*
 * route_receipt: the cascade that sent a provider id, or else hold the receipt for it, within the bounds.
 * p_entry: JSON {receipt, receivedAt}. p_until: when its hold ends; p_now: the router's time (both router
 * clock). p_per_id, p_total: most receipts held per provider id and in all; beyond them the oldest go first
 * (evicted). A few receipts whose hold has ended are dropped on the way (expired).
 * Returns (cascade id, nonce, version, state, fixed) when the id is indexed (the cascade's columns NULL when it
 * is gone); no row when the receipt was held.
 */
CREATE FUNCTION __S__.route_receipt(p_provider text, p_entry text, p_until bigint, p_now bigint, p_per_id integer, p_total bigint)
RETURNS TABLE (cascade_id text, nonce text, version integer, state text, fixed text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  owner_id text;
  expired integer := 0;
  trimmed integer := 0;
  total bigint;
BEGIN
  SELECT p.cascade_id INTO owner_id FROM __S__.provider_ids p WHERE p.provider_id = p_provider;
  IF owner_id IS NULL THEN
    -- Lock the id's row (made if missing): a commit indexing it now waits for this hold, or this waits for it.
    INSERT INTO __S__.provider_ids AS p (provider_id) VALUES (p_provider)
    ON CONFLICT (provider_id) DO UPDATE SET provider_id = p.provider_id
    RETURNING p.cascade_id INTO owner_id;
  END IF;
  IF owner_id IS NOT NULL THEN
    RETURN QUERY SELECT owner_id, c.nonce, c.version, c.state, c.fixed FROM (SELECT 1) AS one LEFT JOIN __S__.cascades c ON c.id = owner_id;
    RETURN;
  END IF;
  expired := __S__.drop_held(ARRAY(SELECT h.seq FROM __S__.held h WHERE h.until <= p_now ORDER BY h.until LIMIT 16), 'expired');
  INSERT INTO __S__.held (seq, provider_id, until, entry) VALUES (nextval('__S__.held_seq'), p_provider, p_until, p_entry);
  WITH gone AS (
    DELETE FROM __S__.held h WHERE h.provider_id = p_provider AND h.seq <= (
      SELECT x.seq FROM __S__.held x WHERE x.provider_id = p_provider ORDER BY x.seq DESC OFFSET p_per_id LIMIT 1)
    RETURNING 1)
  SELECT count(*) INTO trimmed FROM gone;
  SELECT sum(hc.held) INTO total FROM __S__.held_counts hc;
  PERFORM __S__.count_held(ARRAY[__S__.held_shard(p_provider)], ARRAY[1 - trimmed]::bigint[], ARRAY[0]::bigint[], ARRAY[trimmed]::bigint[]);
  total := total + 1 - trimmed;
  IF total > p_total THEN
    PERFORM __S__.drop_held(ARRAY(SELECT h.seq FROM __S__.held h ORDER BY h.seq LIMIT total - p_total), 'evicted');
  END IF;
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

/*
 * maintain: the housekeeping no single change does, in batches, by one instance at a time (others skip):
 * finished cascades past their retention deleted with their provider ids (p_retention ms, database time; -1
 * never), held receipts past their hold (p_now, router clock) and the rows left for them, recipients'
 * statistics past their expiry, and the ledger folded into one row once it has many. Returns rows removed.
 */
CREATE FUNCTION __S__.maintain(p_retention bigint, p_now bigint) RETURNS integer
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  removed integer := 0;
  n integer;
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
  removed := removed + __S__.drop_held(ARRAY(SELECT h.seq FROM __S__.held h WHERE h.until <= p_now ORDER BY h.until LIMIT 1000), 'expired');
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
  RETURN removed;
END $$;
`;
