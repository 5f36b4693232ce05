-- cascade-router/postgres: the schema as migrate() creates it, for the default schema `cascade_router`.
-- Generated from postgresMigrations() (test/postgres.schema-doc.test.ts checks it is current). For another schema,
-- call postgresMigrations({ schema }) or replace `cascade_router.` throughout. Apply each migration once, in order,
-- and record its version in cascade_router.migrations: the store refuses to run on an older version.

CREATE SCHEMA IF NOT EXISTS cascade_router;
CREATE TABLE IF NOT EXISTS cascade_router.migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());

-- Migration 1: cascades, provider ids, held receipts, timers, instances, ledger, statistics
CREATE TABLE cascade_router.cascades (
  id text PRIMARY KEY,
  -- the idempotency key when it is not the id
  key text,
  version integer NOT NULL,
  -- names the fixed part: a reader that holds it is sent only the state
  nonce text NOT NULL,
  -- JSON of what no transition changes: id, key, message, recipient, plan, createdAt
  fixed text NOT NULL,
  -- JSON of the rest: status, step, attempts, times, spend, version
  state text NOT NULL,
  -- due time in the router's clock (ms); NULL when none
  timer_at bigint,
  -- a claimed timer is this instance's until then (database time)
  lease_until timestamptz,
  -- set while the current step is sending (claimed, its send not recorded): its owner, '' for none
  owner text,
  -- when it ended (database time): retention counts from here; NULL while open
  ended_at timestamptz
) WITH (fillfactor = 85);
CREATE UNIQUE INDEX cascades_idempotency ON cascade_router.cascades ((coalesce(key, id)));
CREATE INDEX cascades_due ON cascade_router.cascades (timer_at) WHERE timer_at IS NOT NULL;
CREATE INDEX cascades_sending ON cascade_router.cascades (id) WHERE owner IS NOT NULL;
CREATE INDEX cascades_open ON cascade_router.cascades (id) WHERE ended_at IS NULL;
CREATE INDEX cascades_ended ON cascade_router.cascades (ended_at) WHERE ended_at IS NOT NULL;

-- provider message id -> the cascade that sent it; cascade_id NULL while receipts are held for it (the row is
-- what a route holding a receipt and a commit indexing the id both lock, so one sees the other)
CREATE TABLE cascade_router.provider_ids (
  provider_id text PRIMARY KEY,
  cascade_id text
);

-- receipts for provider ids no cascade had indexed; seq gives arrival order
CREATE SEQUENCE cascade_router.held_seq;
CREATE TABLE cascade_router.held (
  seq bigint PRIMARY KEY,
  provider_id text NOT NULL,
  -- the hold ends then (router clock, ms)
  until bigint NOT NULL,
  -- JSON {receipt, receivedAt}
  entry text NOT NULL
);
CREATE INDEX held_provider ON cascade_router.held (provider_id, seq);
CREATE INDEX held_until ON cascade_router.held (until);
CREATE TABLE cascade_router.held_counts (
  shard integer PRIMARY KEY,
  held bigint NOT NULL DEFAULT 0,
  expired bigint NOT NULL DEFAULT 0,
  evicted bigint NOT NULL DEFAULT 0
);
INSERT INTO cascade_router.held_counts (shard) SELECT generate_series(0, 15);

-- router instances: alive until (database time)
CREATE TABLE cascade_router.instances (
  id text PRIMARY KEY,
  alive_until timestamptz NOT NULL
);

-- the spend ledger: one row per change that carried a delta (no row lock shared between changes), folded now and then
CREATE TABLE cascade_router.ledger (
  id bigserial PRIMARY KEY,
  messages bigint NOT NULL,
  delivered bigint NOT NULL,
  spend bigint NOT NULL,
  double_spend bigint NOT NULL,
  sms_only bigint NOT NULL,
  without_sms bigint NOT NULL,
  -- {name: {sent, delivered, spendMicros}}
  channels jsonb NOT NULL
);

-- learned statistics: decayed counts as of at (router clock), per channel and per recipient and channel
CREATE TABLE cascade_router.channel_stats (
  channel text PRIMARY KEY,
  at double precision NOT NULL,
  delivered double precision NOT NULL,
  failed double precision NOT NULL,
  timeout double precision NOT NULL,
  skipped double precision NOT NULL,
  -- {bucket: weight}
  latency jsonb NOT NULL
);
CREATE TABLE cascade_router.recipient_stats (
  recipient_id text NOT NULL,
  channel text NOT NULL,
  at double precision NOT NULL,
  delivered double precision NOT NULL,
  failed double precision NOT NULL,
  timeout double precision NOT NULL,
  skipped double precision NOT NULL,
  -- dropped after eight half-lives without an update (database time)
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (recipient_id, channel)
);
CREATE INDEX recipient_stats_expiry ON cascade_router.recipient_stats (expires_at);


CREATE FUNCTION cascade_router.held_shard(p_provider text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT abs(hashtext(p_provider) % 16) $$;

/*
 * count_held: adds deltas to the held-receipt counters, one shard row at a time in shard order.
 * p_shards, p_held, p_expired, p_evicted: one delta per entry (summed per shard).
 */
CREATE FUNCTION cascade_router.count_held(p_shards integer[], p_held bigint[], p_expired bigint[], p_evicted bigint[]) RETURNS void
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
    UPDATE cascade_router.held_counts hc
    SET held = hc.held + r.held, expired = hc.expired + r.expired, evicted = hc.evicted + r.evicted
    WHERE hc.shard = r.shard;
  END LOOP;
END $$;

/*
 * drop_held: removes held receipts by seq (those another transaction is removing are skipped). Returns the
 * counter shard of each one removed: the caller counts them (in shard order, once, at its end).
 */
CREATE FUNCTION cascade_router.drop_held(p_seqs bigint[]) RETURNS integer[]
LANGUAGE sql AS $$
  WITH gone AS (
    DELETE FROM cascade_router.held h
    WHERE h.seq IN (SELECT x.seq FROM cascade_router.held x WHERE x.seq = ANY (p_seqs) FOR UPDATE SKIP LOCKED)
    RETURNING cascade_router.held_shard(h.provider_id) AS shard)
  SELECT coalesce(array_agg(g.shard), ARRAY[]::integer[]) FROM gone g
$$;

/*
 * Counter deltas carried through a change: per entry a shard and what to add to held, expired and evicted.
 * Every function that holds or drops receipts adds to one, and the change applies it once, at its end, in
 * shard order (count_held): a shard row is locked last and never while a change waits for another lock.
 */
CREATE TYPE cascade_router.held_delta AS (shards integer[], held bigint[], expired bigint[], evicted bigint[]);

CREATE FUNCTION cascade_router.add_delta(d cascade_router.held_delta, p_shards integer[], p_held bigint, p_expired bigint, p_evicted bigint) RETURNS cascade_router.held_delta
LANGUAGE sql IMMUTABLE AS $$
  SELECT ROW(
    coalesce(d.shards, ARRAY[]::integer[]) || p_shards,
    coalesce(d.held, ARRAY[]::bigint[]) || array_fill(p_held, ARRAY[cardinality(p_shards)]),
    coalesce(d.expired, ARRAY[]::bigint[]) || array_fill(p_expired, ARRAY[cardinality(p_shards)]),
    coalesce(d.evicted, ARRAY[]::bigint[]) || array_fill(p_evicted, ARRAY[cardinality(p_shards)]))::cascade_router.held_delta
$$;

CREATE FUNCTION cascade_router.apply_delta(d cascade_router.held_delta) RETURNS void
LANGUAGE sql AS $$ SELECT cascade_router.count_held(d.shards, d.held, d.expired, d.evicted) WHERE cardinality(d.shards) > 0 $$;

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
CREATE FUNCTION cascade_router.create_cascade(
  p_id text, p_key text, p_version integer, p_nonce text, p_fixed text, p_state text, p_timer bigint,
  p_owner text, p_ended boolean, p_retention bigint, p_stats jsonb, p_notify boolean)
RETURNS TABLE (created boolean, nonce text, fixed text, state text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  INSERT INTO cascade_router.cascades AS c (id, key, version, nonce, fixed, state, timer_at, owner, ended_at)
  VALUES (p_id, p_key, p_version, p_nonce, p_fixed, p_state,
    CASE WHEN p_ended THEN NULL ELSE p_timer END, CASE WHEN p_ended THEN NULL ELSE p_owner END,
    CASE WHEN p_ended THEN clock_timestamp() END)
  ON CONFLICT DO NOTHING;
  IF FOUND THEN
    IF p_stats IS NOT NULL THEN PERFORM cascade_router.apply_stats(ARRAY[p_stats]); END IF;
    IF p_ended AND p_retention = 0 THEN DELETE FROM cascade_router.cascades c WHERE c.id = p_id; END IF;
    IF p_notify THEN PERFORM pg_notify('cascade_router_wake', ''); END IF;
    RETURN QUERY SELECT true, NULL::text, NULL::text, NULL::text;
    RETURN;
  END IF;
  RETURN QUERY SELECT false, c.nonce, c.fixed, c.state FROM cascade_router.cascades c WHERE coalesce(c.key, c.id) = coalesce(p_key, p_id);
  IF FOUND THEN RETURN; END IF;
  RETURN QUERY SELECT false, c.nonce, c.fixed, c.state FROM cascade_router.cascades c WHERE c.id = p_id;
END $$;

/*
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
CREATE FUNCTION cascade_router.commit_one(
  p_id text, p_base integer, p_version integer, p_known_nonce text, p_nonce text, p_fixed text, p_state text,
  p_timer bigint, p_owner text, p_ended boolean, p_retention bigint, p_now bigint, p_providers text[],
  p_through bigint, INOUT delta cascade_router.held_delta, OUT ok integer, OUT held text[])
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
  SELECT c.version, c.nonce, c.timer_at, c.ended_at INTO stored FROM cascade_router.cascades c WHERE c.id = p_id FOR UPDATE;
  IF NOT FOUND OR stored.version <> p_base OR (p_fixed IS NULL AND stored.nonce IS DISTINCT FROM p_known_nonce) THEN
    ok := 0;
    RETURN;
  END IF;
  IF cardinality(p_providers) > 0 THEN
    WITH inserted AS (
      INSERT INTO cascade_router.provider_ids (provider_id, cascade_id) SELECT unnest(p_providers), p_id
      ON CONFLICT (provider_id) DO NOTHING RETURNING provider_id)
    SELECT array_agg(i.provider_id) INTO fresh FROM inserted i;
    IF coalesce(cardinality(fresh), 0) < cardinality(p_providers) THEN
      -- Rows that were there: receipts may be held for them. Locked, so no route adds one until this commits.
      SELECT array_agg(s.provider_id) INTO waiting FROM (
        SELECT p.provider_id FROM cascade_router.provider_ids p
        WHERE p.provider_id = ANY (p_providers) AND p.cascade_id IS NULL ORDER BY p.provider_id FOR UPDATE) s;
      IF waiting IS NOT NULL THEN
        SELECT array_agg(h.until || ':' || h.seq || ':' || h.entry ORDER BY h.seq), coalesce(bool_or(h.seq > coalesce(p_through, -1)), false)
        INTO live, unseen FROM cascade_router.held h WHERE h.provider_id = ANY (waiting) AND h.until > p_now;
        IF unseen THEN
          DELETE FROM cascade_router.provider_ids p WHERE p.provider_id = ANY (fresh);
          ok := 2;
          held := live;
          RETURN;
        END IF;
        WITH gone AS (
          DELETE FROM cascade_router.held h WHERE h.provider_id = ANY (waiting)
          RETURNING cascade_router.held_shard(h.provider_id) AS shard, h.until > p_now AS taken)
        SELECT array_agg(g.shard), array_agg(g.taken) INTO shards, taken FROM gone g;
        IF shards IS NOT NULL THEN
          delta := ROW(coalesce(delta.shards, ARRAY[]::integer[]) || shards,
            coalesce(delta.held, ARRAY[]::bigint[]) || array_fill(-1::bigint, ARRAY[cardinality(shards)]),
            coalesce(delta.expired, ARRAY[]::bigint[]) || ARRAY(SELECT CASE WHEN t THEN 0 ELSE 1 END::bigint FROM unnest(taken) AS t),
            coalesce(delta.evicted, ARRAY[]::bigint[]) || array_fill(0::bigint, ARRAY[cardinality(shards)]))::cascade_router.held_delta;
        END IF;
      END IF;
      UPDATE cascade_router.provider_ids p SET cascade_id = p_id WHERE p.provider_id = ANY (p_providers) AND p.cascade_id IS DISTINCT FROM p_id;
    END IF;
  END IF;
  IF p_ended AND p_retention = 0 THEN
    DELETE FROM cascade_router.provider_ids p WHERE p.provider_id IN (
      SELECT a ->> 'providerMessageId' FROM jsonb_array_elements(p_state::jsonb -> 'attempts') AS a);
    DELETE FROM cascade_router.cascades c WHERE c.id = p_id;
  ELSE
    UPDATE cascade_router.cascades c SET
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

/* commit_cascade: commit_one for one change, its counters applied (the parameters and answer of commit_one). */
CREATE FUNCTION cascade_router.commit_cascade(
  p_id text, p_base integer, p_version integer, p_known_nonce text, p_nonce text, p_fixed text, p_state text,
  p_timer bigint, p_owner text, p_ended boolean, p_retention bigint, p_now bigint, p_providers text[],
  p_through bigint, p_stats jsonb)
RETURNS TABLE (ok integer, held text[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM cascade_router.commit_one(p_id, p_base, p_version, p_known_nonce, p_nonce, p_fixed, p_state, p_timer, p_owner, p_ended,
    p_retention, p_now, p_providers, p_through, NULL);
  -- The statistics update lands with the change; counters last (the order every change takes its locks in).
  IF r.ok = 1 AND p_stats IS NOT NULL THEN PERFORM cascade_router.apply_stats(ARRAY[p_stats]); END IF;
  PERFORM cascade_router.apply_delta(r.delta);
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
CREATE FUNCTION cascade_router.route_one(p_provider text, p_entry text, p_until bigint, p_now bigint, p_per_id integer, p_total bigint,
  INOUT delta cascade_router.held_delta, OUT cascade_id text, OUT nonce text, OUT version integer, OUT state text, OUT fixed text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  owner_id text;
  trimmed integer;
  total bigint;
  expired integer[];
  evicted integer[];
BEGIN
  SELECT p.cascade_id INTO owner_id FROM cascade_router.provider_ids p WHERE p.provider_id = p_provider;
  IF owner_id IS NULL THEN
    -- Lock the id's row (made if missing): a commit indexing it now waits for this hold, or this waits for it.
    INSERT INTO cascade_router.provider_ids AS p (provider_id) VALUES (p_provider)
    ON CONFLICT (provider_id) DO UPDATE SET provider_id = p.provider_id
    RETURNING p.cascade_id INTO owner_id;
  END IF;
  IF owner_id IS NOT NULL THEN
    cascade_id := owner_id;
    SELECT c.nonce, c.version, c.state, c.fixed INTO nonce, version, state, fixed FROM cascade_router.cascades c WHERE c.id = owner_id;
    RETURN;
  END IF;
  expired := cascade_router.drop_held(ARRAY(SELECT h.seq FROM cascade_router.held h WHERE h.until <= p_now ORDER BY h.until LIMIT 16));
  INSERT INTO cascade_router.held (seq, provider_id, until, entry) VALUES (nextval('cascade_router.held_seq'), p_provider, p_until, p_entry);
  WITH gone AS (
    DELETE FROM cascade_router.held h WHERE h.provider_id = p_provider AND h.seq <= (
      SELECT x.seq FROM cascade_router.held x WHERE x.provider_id = p_provider ORDER BY x.seq DESC OFFSET p_per_id LIMIT 1)
    RETURNING 1)
  SELECT count(*) INTO trimmed FROM gone;
  -- What is held now: the counters as committed, with what this change (and its batch) added so far.
  SELECT sum(hc.held) INTO total FROM cascade_router.held_counts hc;
  total := total + coalesce((SELECT sum(x) FROM unnest(delta.held) AS x), 0) + 1 - trimmed - cardinality(expired);
  delta := cascade_router.add_delta(delta, expired, -1, 1, 0);
  delta := cascade_router.add_delta(delta, ARRAY[cascade_router.held_shard(p_provider)], 1 - trimmed, 0, trimmed);
  IF total > p_total THEN
    evicted := cascade_router.drop_held(ARRAY(SELECT h.seq FROM cascade_router.held h ORDER BY h.seq LIMIT total - p_total));
    delta := cascade_router.add_delta(delta, evicted, -1, 0, 1);
  END IF;
END $$;

/* route_receipt: route_one for one receipt, its counters applied. Returns a row when the id is indexed, none when held. */
CREATE FUNCTION cascade_router.route_receipt(p_provider text, p_entry text, p_until bigint, p_now bigint, p_per_id integer, p_total bigint)
RETURNS TABLE (cascade_id text, nonce text, version integer, state text, fixed text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM cascade_router.route_one(p_provider, p_entry, p_until, p_now, p_per_id, p_total, NULL);
  PERFORM cascade_router.apply_delta(r.delta);
  IF r.cascade_id IS NOT NULL THEN RETURN QUERY SELECT r.cascade_id, r.nonce, r.version, r.state, r.fixed; END IF;
END $$;

/*
 * claim_due: takes up to p_limit cascades whose timer is due at p_now (router clock) and not claimed, earliest
 * first, skipping rows another transaction holds. A claim is a lease until (database time) + p_lease_ms: the
 * commit that moves or clears the timer ends it; if the claimer dies first, the timer is due again once the
 * lease lapses. p_lease_ms 0 claims for good.
 */
CREATE FUNCTION cascade_router.claim_due(p_now bigint, p_limit integer, p_lease_ms bigint) RETURNS SETOF text
LANGUAGE sql AS $$
  WITH due AS (
    SELECT c.id FROM cascade_router.cascades c
    WHERE c.timer_at <= p_now AND (c.lease_until IS NULL OR c.lease_until <= clock_timestamp())
    ORDER BY c.timer_at LIMIT p_limit FOR UPDATE SKIP LOCKED),
  claimed AS (
    UPDATE cascade_router.cascades c
    SET lease_until = CASE WHEN p_lease_ms > 0 THEN clock_timestamp() + p_lease_ms * interval '1 millisecond' ELSE 'infinity' END
    FROM due WHERE c.id = due.id RETURNING c.id, c.timer_at)
  SELECT claimed.id FROM claimed ORDER BY claimed.timer_at
$$;

/*
 * heartbeat: marks an instance alive until (database time) + p_ttl_ms and forgets lapsed ones.
 * Returns whether its previous heartbeat was still alive.
 */
CREATE FUNCTION cascade_router.heartbeat(p_id text, p_ttl_ms bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  previous timestamptz;
  now_db timestamptz := clock_timestamp();
BEGIN
  SELECT i.alive_until INTO previous FROM cascade_router.instances i WHERE i.id = p_id FOR UPDATE;
  DELETE FROM cascade_router.instances i WHERE i.alive_until <= now_db AND i.id <> p_id;
  INSERT INTO cascade_router.instances AS i (id, alive_until) VALUES (p_id, now_db + p_ttl_ms * interval '1 millisecond')
  ON CONFLICT (id) DO UPDATE SET alive_until = EXCLUDED.alive_until;
  RETURN previous IS NOT NULL AND previous > now_db;
END $$;

/*
 * maintain: the housekeeping no single change does, in batches, by one instance at a time (others skip):
 * finished cascades past their retention deleted with their provider ids (p_retention ms, database time; -1
 * never), held receipts past their hold (p_now, router clock) and the rows left for them, recipients'
 * statistics past their expiry, and the ledger folded into one row once it has many. Returns rows removed.
 */
CREATE FUNCTION cascade_router.maintain(p_retention bigint, p_now bigint) RETURNS integer
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  removed integer := 0;
  n integer;
  shards integer[];
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('cascade_router.maintain')) THEN RETURN 0; END IF;
  IF p_retention >= 0 THEN
    WITH gone AS (
      DELETE FROM cascade_router.cascades c WHERE c.id IN (
        SELECT x.id FROM cascade_router.cascades x WHERE x.ended_at < clock_timestamp() - p_retention * interval '1 millisecond'
        ORDER BY x.ended_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
      RETURNING c.state),
    ids AS (DELETE FROM cascade_router.provider_ids p WHERE p.provider_id IN (
      SELECT a ->> 'providerMessageId' FROM gone g, jsonb_array_elements(g.state::jsonb -> 'attempts') AS a) RETURNING 1)
    SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM ids) INTO n;
    removed := removed + n;
  END IF;
  shards := cascade_router.drop_held(ARRAY(SELECT h.seq FROM cascade_router.held h WHERE h.until <= p_now ORDER BY h.until LIMIT 1000));
  PERFORM cascade_router.apply_delta(cascade_router.add_delta(NULL, shards, -1, 1, 0));
  removed := removed + cardinality(shards);
  WITH gone AS (
    DELETE FROM cascade_router.provider_ids p WHERE p.provider_id IN (
      SELECT x.provider_id FROM cascade_router.provider_ids x
      WHERE x.cascade_id IS NULL AND NOT EXISTS (SELECT 1 FROM cascade_router.held h WHERE h.provider_id = x.provider_id)
      LIMIT 1000 FOR UPDATE SKIP LOCKED)
    RETURNING 1)
  SELECT count(*) INTO n FROM gone;
  removed := removed + n;
  DELETE FROM cascade_router.recipient_stats r WHERE (r.recipient_id, r.channel) IN (
    SELECT x.recipient_id, x.channel FROM cascade_router.recipient_stats x WHERE x.expires_at <= clock_timestamp() LIMIT 1000 FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS n = ROW_COUNT;
  removed := removed + n;
  IF (SELECT count(*) FROM (SELECT 1 FROM cascade_router.ledger LIMIT 1001) AS x) > 1000 THEN PERFORM cascade_router.fold_ledger(); END IF;
  RETURN removed;
END $$;


CREATE FUNCTION cascade_router.decay(p_from double precision, p_to double precision, p_half_life double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_to <= p_from THEN 1::float8 WHEN (p_to - p_from) / p_half_life > 600 THEN 0::float8
    ELSE power(2::float8, -(p_to - p_from) / p_half_life) END
$$;

CREATE FUNCTION cascade_router.kept(p_value double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN p_value < 1e-100 THEN 0::float8 ELSE p_value END $$;

/*
 * apply_stats: the updates of one change, or of every change of a batch, in the order they were made. Rows are
 * locked in one order whatever the changes: the channels' rows by name, then the recipients' by recipient and
 * channel, each row's outcomes in the order of the changes. Two changes (or batches) that touch the same rows
 * so take their locks in the same order and never deadlock.
 */
CREATE FUNCTION cascade_router.apply_stats(p_updates jsonb[]) RETURNS void
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  o record;
  add double precision;
  age double precision;
  cs record;
  buckets jsonb;
BEGIN
  INSERT INTO cascade_router.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
  SELECT (u -> 'l' ->> 'messages')::bigint, (u -> 'l' ->> 'delivered')::bigint, (u -> 'l' ->> 'spendMicros')::bigint,
    (u -> 'l' ->> 'doubleSpendMicros')::bigint, (u -> 'l' ->> 'smsOnlyMicros')::bigint, (u -> 'l' ->> 'withoutSms')::bigint,
    coalesce(u -> 'l' -> 'channels', '{}'::jsonb)
  FROM unnest(p_updates) AS u WHERE jsonb_typeof(u -> 'l') = 'object';
  IF NOT EXISTS (SELECT 1 FROM unnest(p_updates) AS u WHERE jsonb_typeof(u -> 'o') = 'array') THEN RETURN; END IF;
  -- Channel-wide: every field aged, then the outcome (and its latency) added.
  FOR o IN SELECT * FROM (SELECT x ->> 0 AS channel, x ->> 1 AS recipient, x ->> 2 AS outcome, (x ->> 3)::float8 AS at, (x ->> 4)::float8 AS weight,
      (x ->> 5)::integer AS bucket, (u ->> 'n')::float8 AS now_at, (u ->> 'h')::float8 AS h, k, j
    FROM unnest(p_updates) WITH ORDINALITY AS us(u, k),
      jsonb_array_elements(CASE WHEN jsonb_typeof(u -> 'o') = 'array' THEN u -> 'o' ELSE '[]'::jsonb END) WITH ORDINALITY AS xs(x, j)) AS outcomes
    ORDER BY channel, k, j LOOP
    add := o.weight * cascade_router.decay(o.at, o.now_at, o.h);
    INSERT INTO cascade_router.channel_stats (channel, at, delivered, failed, timeout, skipped, latency)
    VALUES (o.channel, o.now_at, 0, 0, 0, 0, '{}') ON CONFLICT (channel) DO NOTHING;
    SELECT * INTO cs FROM cascade_router.channel_stats c WHERE c.channel = o.channel FOR UPDATE;
    age := cascade_router.decay(cs.at, o.now_at, o.h);
    SELECT coalesce(jsonb_object_agg(e.key, cascade_router.kept(e.value::float8 * age)), '{}'::jsonb) INTO buckets FROM jsonb_each_text(cs.latency) AS e;
    IF o.bucket >= 0 AND o.outcome = 'delivered' THEN
      buckets := buckets || jsonb_build_object(o.bucket::text, greatest(0, coalesce((buckets ->> o.bucket::text)::float8, 0) + add));
    END IF;
    UPDATE cascade_router.channel_stats c SET
      at = greatest(cs.at, o.now_at),
      delivered = cascade_router.kept(greatest(0, cs.delivered * age + CASE WHEN o.outcome = 'delivered' THEN add ELSE 0 END)),
      failed = cascade_router.kept(greatest(0, cs.failed * age + CASE WHEN o.outcome = 'failed' THEN add ELSE 0 END)),
      timeout = cascade_router.kept(greatest(0, cs.timeout * age + CASE WHEN o.outcome = 'timeout' THEN add ELSE 0 END)),
      skipped = cascade_router.kept(greatest(0, cs.skipped * age + CASE WHEN o.outcome = 'skipped' THEN add ELSE 0 END)),
      latency = buckets
    WHERE c.channel = o.channel;
  END LOOP;
  -- The recipients' own counts.
  FOR o IN SELECT * FROM (SELECT x ->> 0 AS channel, x ->> 1 AS recipient, x ->> 2 AS outcome, (x ->> 3)::float8 AS at, (x ->> 4)::float8 AS weight,
      (x ->> 5)::integer AS bucket, (u ->> 'n')::float8 AS now_at, (u ->> 'h')::float8 AS h, k, j
    FROM unnest(p_updates) WITH ORDINALITY AS us(u, k),
      jsonb_array_elements(CASE WHEN jsonb_typeof(u -> 'o') = 'array' THEN u -> 'o' ELSE '[]'::jsonb END) WITH ORDINALITY AS xs(x, j)) AS outcomes
    ORDER BY recipient, channel, k, j LOOP
    add := o.weight * cascade_router.decay(o.at, o.now_at, o.h);
    INSERT INTO cascade_router.recipient_stats (recipient_id, channel, at, delivered, failed, timeout, skipped, expires_at)
    VALUES (o.recipient, o.channel, o.now_at, 0, 0, 0, 0, clock_timestamp()) ON CONFLICT (recipient_id, channel) DO NOTHING;
    SELECT * INTO cs FROM cascade_router.recipient_stats r WHERE r.recipient_id = o.recipient AND r.channel = o.channel FOR UPDATE;
    -- An expired row counts as none.
    IF cs.expires_at <= clock_timestamp() THEN age := 0; ELSE age := cascade_router.decay(cs.at, o.now_at, o.h); END IF;
    UPDATE cascade_router.recipient_stats r SET
      at = CASE WHEN age = 0 THEN o.now_at ELSE greatest(cs.at, o.now_at) END,
      delivered = cascade_router.kept(greatest(0, cs.delivered * age + CASE WHEN o.outcome = 'delivered' THEN add ELSE 0 END)),
      failed = cascade_router.kept(greatest(0, cs.failed * age + CASE WHEN o.outcome = 'failed' THEN add ELSE 0 END)),
      timeout = cascade_router.kept(greatest(0, cs.timeout * age + CASE WHEN o.outcome = 'timeout' THEN add ELSE 0 END)),
      skipped = cascade_router.kept(greatest(0, cs.skipped * age + CASE WHEN o.outcome = 'skipped' THEN add ELSE 0 END)),
      expires_at = clock_timestamp() + (8 * o.h) * interval '1 millisecond'
    WHERE r.recipient_id = o.recipient AND r.channel = o.channel;
  END LOOP;
END $$;

/* fold_ledger: replaces the ledger's rows by one row of their sums (rows added meanwhile stay as they are). */
CREATE FUNCTION cascade_router.fold_ledger() RETURNS void
LANGUAGE sql AS $$
  WITH gone AS (DELETE FROM cascade_router.ledger RETURNING *),
  per AS (
    SELECT e.key, sum((e.value ->> 'sent')::bigint) AS sent, sum((e.value ->> 'delivered')::bigint) AS delivered,
      sum((e.value ->> 'spendMicros')::bigint) AS spend
    FROM gone g, jsonb_each(g.channels) AS e GROUP BY e.key)
  INSERT INTO cascade_router.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
  SELECT sum(g.messages), sum(g.delivered), sum(g.spend), sum(g.double_spend), sum(g.sms_only), sum(g.without_sms),
    coalesce((SELECT jsonb_object_agg(per.key, jsonb_build_object('sent', per.sent, 'delivered', per.delivered, 'spendMicros', per.spend)) FROM per), '{}'::jsonb)
  FROM gone g HAVING count(*) > 0
$$;


CREATE FUNCTION cascade_router.create_many(
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
    FOR r IN SELECT * FROM cascade_router.create_cascade(p_ids[i], p_keys[i], p_versions[i], p_nonces[i], p_fixeds[i], p_states[i],
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
  IF cardinality(stats) > 0 THEN PERFORM cascade_router.apply_stats(stats); END IF;
END $$;

CREATE FUNCTION cascade_router.commit_many(
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
  delta cascade_router.held_delta;
  stats jsonb[] := ARRAY[]::jsonb[];
BEGIN
  FOREACH n IN ARRAY p_provider_counts LOOP
    starts := starts || at;
    at := at + n;
  END LOOP;
  FOR i IN SELECT o.i FROM unnest(p_ids) WITH ORDINALITY AS o(id, i) ORDER BY o.id, o.i LOOP
    SELECT * INTO r FROM cascade_router.commit_one(p_ids[i], p_bases[i], p_versions[i], p_known[i], p_nonces[i], p_fixeds[i],
      p_states[i], p_timers[i], p_owners[i], p_endeds[i], p_retention, p_nows[i],
      coalesce(p_providers[starts[i]:starts[i] + p_provider_counts[i] - 1], ARRAY[]::text[]), p_throughs[i], delta);
    delta := r.delta;
    IF r.ok = 1 AND p_stats[i] IS NOT NULL THEN stats := stats || p_stats[i]; END IF;
    idx := i;
    ok := r.ok;
    held := r.held;
    RETURN NEXT;
  END LOOP;
  IF cardinality(stats) > 0 THEN PERFORM cascade_router.apply_stats(stats); END IF;
  PERFORM cascade_router.apply_delta(delta);
END $$;

CREATE FUNCTION cascade_router.route_many(p_providers text[], p_entries text[], p_untils bigint[], p_nows bigint[], p_per_id integer, p_total bigint)
RETURNS TABLE (idx integer, cascade_id text, nonce text, version integer, state text, fixed text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  r record;
  delta cascade_router.held_delta;
BEGIN
  FOR i IN SELECT o.i FROM unnest(p_providers) WITH ORDINALITY AS o(p, i) ORDER BY o.p, o.i LOOP
    SELECT * INTO r FROM cascade_router.route_one(p_providers[i], p_entries[i], p_untils[i], p_nows[i], p_per_id, p_total, delta);
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
  PERFORM cascade_router.apply_delta(delta);
END $$;
INSERT INTO cascade_router.migrations (version, description) VALUES (1, 'cascades, provider ids, held receipts, timers, instances, ledger, statistics');

-- Migration 2: provider health, provider rates and frequency caps shared between routers
-- provider health shared between routers: per provider, the latest report (router clock, ms)
CREATE TABLE cascade_router.provider_health (
  provider text PRIMARY KEY,
  at bigint NOT NULL,
  -- JSON {provider, state, reason, until, at}
  report text NOT NULL
);

-- provider rates: per provider, when each send in the last window went (router clock, ms), and when the last
-- send told to wait retries (NULL: none yet)
CREATE TABLE cascade_router.provider_pace (
  provider text PRIMARY KEY,
  sends bigint[] NOT NULL,
  tail double precision
);

-- frequency caps: per recipient and category, the messages let through in the last window (keys[i] at ats[i],
-- router clock, ms); maintain() drops a row once its last message left the window (until)
CREATE TABLE cascade_router.frequency_caps (
  recipient_id text NOT NULL,
  category text NOT NULL,
  keys text[] NOT NULL,
  ats bigint[] NOT NULL,
  until bigint NOT NULL,
  PRIMARY KEY (recipient_id, category)
);
CREATE INDEX frequency_caps_until ON cascade_router.frequency_caps (until);


/* report_health: keeps a provider's state unless a later one (p_at) is kept already. True when kept. */
CREATE FUNCTION cascade_router.report_health(p_provider text, p_at bigint, p_report text) RETURNS boolean
LANGUAGE sql AS $$
  INSERT INTO cascade_router.provider_health AS h (provider, at, report) VALUES (p_provider, p_at, p_report)
  ON CONFLICT (provider) DO UPDATE SET at = EXCLUDED.at, report = EXCLUDED.report WHERE h.at <= EXCLUDED.at
  RETURNING true
$$;

/*
 * pace: takes a slot of a provider's rate (CascadeStore.pace). A send goes when fewer than p_limit (not urgent:
 * p_limit - p_reserve) sends went in the last p_window ms, that is after p_now - p_window; it is then logged.
 * Returns NULL when it goes, else when to try again: an urgent send (or one with no share) when the send that
 * frees its slot leaves the window; the others one after another, p_window / their share apart, after the
 * last one told to wait.
 */
CREATE FUNCTION cascade_router.pace(p_provider text, p_limit integer, p_window bigint, p_reserve integer, p_urgent boolean, p_now bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  capacity integer := CASE WHEN p_urgent THEN p_limit ELSE p_limit - p_reserve END;
  kept bigint[];
  last_tail double precision;
  n integer;
BEGIN
  INSERT INTO cascade_router.provider_pace (provider, sends) VALUES (p_provider, ARRAY[]::bigint[]) ON CONFLICT (provider) DO NOTHING;
  SELECT p.sends, p.tail INTO kept, last_tail FROM cascade_router.provider_pace p WHERE p.provider = p_provider FOR UPDATE;
  kept := ARRAY(SELECT x FROM unnest(kept) AS x WHERE x > p_now - p_window ORDER BY x);
  n := cardinality(kept);
  IF n < capacity THEN
    UPDATE cascade_router.provider_pace p SET sends = kept || p_now WHERE p.provider = p_provider;
    RETURN NULL;
  END IF;
  IF p_urgent OR capacity <= 0 THEN
    UPDATE cascade_router.provider_pace p SET sends = kept WHERE p.provider = p_provider;
    RETURN coalesce(kept[n - capacity + 1], kept[1], p_now) + p_window;
  END IF;
  last_tail := greatest(p_now::double precision, coalesce(last_tail, p_now::double precision)) + p_window::double precision / capacity;
  UPDATE cascade_router.provider_pace p SET sends = kept, tail = last_tail WHERE p.provider = p_provider;
  RETURN ceil(last_tail)::bigint;
END $$;

/*
 * admit: lets a message (p_key) through a recipient's frequency cap for a category (CascadeStore.admit): true
 * when it was let through within the last p_window ms already (counted once), or fewer than p_max were (it is
 * then counted); false when the cap is reached.
 */
CREATE FUNCTION cascade_router.admit(p_recipient text, p_category text, p_key text, p_max integer, p_window bigint, p_now bigint)
RETURNS boolean
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  old_keys text[];
  old_ats bigint[];
  kept_keys text[];
  kept_ats bigint[];
  admitted boolean;
BEGIN
  LOOP
    INSERT INTO cascade_router.frequency_caps (recipient_id, category, keys, ats, until)
    VALUES (p_recipient, p_category, ARRAY[]::text[], ARRAY[]::bigint[], p_now) ON CONFLICT DO NOTHING;
    SELECT f.keys, f.ats INTO old_keys, old_ats FROM cascade_router.frequency_caps f
    WHERE f.recipient_id = p_recipient AND f.category = p_category FOR UPDATE;
    -- maintain() may drop the row between the two: make it again
    EXIT WHEN FOUND;
  END LOOP;
  SELECT coalesce(array_agg(u.k ORDER BY u.a, u.k), ARRAY[]::text[]), coalesce(array_agg(u.a ORDER BY u.a, u.k), ARRAY[]::bigint[])
  INTO kept_keys, kept_ats FROM unnest(old_keys, old_ats) AS u(k, a) WHERE u.a > p_now - p_window;
  admitted := p_key = ANY (kept_keys);
  IF NOT admitted AND cardinality(kept_keys) < p_max THEN
    kept_keys := kept_keys || p_key;
    kept_ats := kept_ats || p_now;
    admitted := true;
  END IF;
  UPDATE cascade_router.frequency_caps f SET keys = kept_keys, ats = kept_ats,
    until = coalesce((SELECT max(a) FROM unnest(kept_ats) AS a) + p_window, p_now)
  WHERE f.recipient_id = p_recipient AND f.category = p_category;
  RETURN admitted;
END $$;

/*
 * maintain: the housekeeping no single change does, in batches, by one instance at a time (others skip):
 * finished cascades past their retention deleted with their provider ids (p_retention ms, database time; -1
 * never), held receipts past their hold (p_now, router clock) and the rows left for them, recipients'
 * statistics past their expiry, and the ledger folded into one row once it has many. Returns rows removed.
 */
CREATE OR REPLACE FUNCTION cascade_router.maintain(p_retention bigint, p_now bigint) RETURNS integer
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  removed integer := 0;
  n integer;
  shards integer[];
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('cascade_router.maintain')) THEN RETURN 0; END IF;
  IF p_retention >= 0 THEN
    WITH gone AS (
      DELETE FROM cascade_router.cascades c WHERE c.id IN (
        SELECT x.id FROM cascade_router.cascades x WHERE x.ended_at < clock_timestamp() - p_retention * interval '1 millisecond'
        ORDER BY x.ended_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
      RETURNING c.state),
    ids AS (DELETE FROM cascade_router.provider_ids p WHERE p.provider_id IN (
      SELECT a ->> 'providerMessageId' FROM gone g, jsonb_array_elements(g.state::jsonb -> 'attempts') AS a) RETURNING 1)
    SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM ids) INTO n;
    removed := removed + n;
  END IF;
  shards := cascade_router.drop_held(ARRAY(SELECT h.seq FROM cascade_router.held h WHERE h.until <= p_now ORDER BY h.until LIMIT 1000));
  PERFORM cascade_router.apply_delta(cascade_router.add_delta(NULL, shards, -1, 1, 0));
  removed := removed + cardinality(shards);
  WITH gone AS (
    DELETE FROM cascade_router.provider_ids p WHERE p.provider_id IN (
      SELECT x.provider_id FROM cascade_router.provider_ids x
      WHERE x.cascade_id IS NULL AND NOT EXISTS (SELECT 1 FROM cascade_router.held h WHERE h.provider_id = x.provider_id)
      LIMIT 1000 FOR UPDATE SKIP LOCKED)
    RETURNING 1)
  SELECT count(*) INTO n FROM gone;
  removed := removed + n;
  DELETE FROM cascade_router.recipient_stats r WHERE (r.recipient_id, r.channel) IN (
    SELECT x.recipient_id, x.channel FROM cascade_router.recipient_stats x WHERE x.expires_at <= clock_timestamp() LIMIT 1000 FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS n = ROW_COUNT;
  removed := removed + n;
  IF (SELECT count(*) FROM (SELECT 1 FROM cascade_router.ledger LIMIT 1001) AS x) > 1000 THEN PERFORM cascade_router.fold_ledger(); END IF;
  -- frequency caps whose last message left its window (router clock)
  DELETE FROM cascade_router.frequency_caps f WHERE (f.recipient_id, f.category) IN (
    SELECT x.recipient_id, x.category FROM cascade_router.frequency_caps x WHERE x.until <= p_now LIMIT 1000 FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS n = ROW_COUNT;
  removed := removed + n;
  RETURN removed;
END $$;
INSERT INTO cascade_router.migrations (version, description) VALUES (2, 'provider health, provider rates and frequency caps shared between routers');

-- Migration 3: cheaper commits
/*
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
CREATE OR REPLACE FUNCTION cascade_router.commit_one(
  p_id text, p_base integer, p_version integer, p_known_nonce text, p_nonce text, p_fixed text, p_state text,
  p_timer bigint, p_owner text, p_ended boolean, p_retention bigint, p_now bigint, p_providers text[],
  p_through bigint, INOUT delta cascade_router.held_delta, OUT ok integer, OUT held text[])
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
  IF cardinality(p_providers) = 0 AND NOT (p_ended AND p_retention = 0) THEN
    UPDATE cascade_router.cascades c SET
      version = p_version, nonce = p_nonce, fixed = coalesce(p_fixed, c.fixed), state = p_state,
      timer_at = CASE WHEN p_ended THEN NULL ELSE p_timer END,
      lease_until = CASE WHEN NOT p_ended AND p_timer IS NOT DISTINCT FROM c.timer_at THEN c.lease_until END,
      owner = CASE WHEN p_ended THEN NULL ELSE p_owner END,
      ended_at = CASE WHEN p_ended THEN coalesce(c.ended_at, clock_timestamp()) END
    WHERE c.id = p_id AND c.version = p_base AND (p_fixed IS NOT NULL OR c.nonce = p_known_nonce);
    ok := CASE WHEN FOUND THEN 1 ELSE 0 END;
    RETURN;
  END IF;
  SELECT c.version, c.nonce, c.timer_at, c.ended_at INTO stored FROM cascade_router.cascades c WHERE c.id = p_id FOR UPDATE;
  IF NOT FOUND OR stored.version <> p_base OR (p_fixed IS NULL AND stored.nonce IS DISTINCT FROM p_known_nonce) THEN
    ok := 0;
    RETURN;
  END IF;
  IF cardinality(p_providers) > 0 THEN
    WITH inserted AS (
      INSERT INTO cascade_router.provider_ids (provider_id, cascade_id) SELECT unnest(p_providers), p_id
      ON CONFLICT (provider_id) DO NOTHING RETURNING provider_id)
    SELECT array_agg(i.provider_id) INTO fresh FROM inserted i;
    IF coalesce(cardinality(fresh), 0) < cardinality(p_providers) THEN
      -- Rows that were there: receipts may be held for them. Locked, so no route adds one until this commits.
      SELECT array_agg(s.provider_id) INTO waiting FROM (
        SELECT p.provider_id FROM cascade_router.provider_ids p
        WHERE p.provider_id = ANY (p_providers) AND p.cascade_id IS NULL ORDER BY p.provider_id FOR UPDATE) s;
      IF waiting IS NOT NULL THEN
        SELECT array_agg(h.until || ':' || h.seq || ':' || h.entry ORDER BY h.seq), coalesce(bool_or(h.seq > coalesce(p_through, -1)), false)
        INTO live, unseen FROM cascade_router.held h WHERE h.provider_id = ANY (waiting) AND h.until > p_now;
        IF unseen THEN
          DELETE FROM cascade_router.provider_ids p WHERE p.provider_id = ANY (fresh);
          ok := 2;
          held := live;
          RETURN;
        END IF;
        WITH gone AS (
          DELETE FROM cascade_router.held h WHERE h.provider_id = ANY (waiting)
          RETURNING cascade_router.held_shard(h.provider_id) AS shard, h.until > p_now AS taken)
        SELECT array_agg(g.shard), array_agg(g.taken) INTO shards, taken FROM gone g;
        IF shards IS NOT NULL THEN
          delta := ROW(coalesce(delta.shards, ARRAY[]::integer[]) || shards,
            coalesce(delta.held, ARRAY[]::bigint[]) || array_fill(-1::bigint, ARRAY[cardinality(shards)]),
            coalesce(delta.expired, ARRAY[]::bigint[]) || ARRAY(SELECT CASE WHEN t THEN 0 ELSE 1 END::bigint FROM unnest(taken) AS t),
            coalesce(delta.evicted, ARRAY[]::bigint[]) || array_fill(0::bigint, ARRAY[cardinality(shards)]))::cascade_router.held_delta;
        END IF;
      END IF;
      UPDATE cascade_router.provider_ids p SET cascade_id = p_id WHERE p.provider_id = ANY (p_providers) AND p.cascade_id IS DISTINCT FROM p_id;
    END IF;
  END IF;
  IF p_ended AND p_retention = 0 THEN
    DELETE FROM cascade_router.provider_ids p WHERE p.provider_id IN (
      SELECT a ->> 'providerMessageId' FROM jsonb_array_elements(p_state::jsonb -> 'attempts') AS a);
    DELETE FROM cascade_router.cascades c WHERE c.id = p_id;
  ELSE
    UPDATE cascade_router.cascades c SET
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


CREATE OR REPLACE FUNCTION cascade_router.commit_many(
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
  delta cascade_router.held_delta;
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
  PERFORM 1 FROM cascade_router.cascades c WHERE c.id = ANY (p_ids) ORDER BY c.id FOR UPDATE;
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
  JOIN cascade_router.cascades c ON c.id = p_ids[q.i] AND c.version = p_bases[q.i] AND (p_fixeds[q.i] IS NOT NULL OR c.nonce = p_known[q.i])
  WHERE NOT EXISTS (SELECT 1 FROM cascade_router.provider_ids p WHERE p.provider_id = ANY (p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]));
  IF cardinality(quick) > 0 THEN
    WITH wanted AS (
      SELECT x.provider_id, q.i FROM unnest(quick) AS q(i), unnest(p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]) AS x(provider_id)),
    added AS (
      INSERT INTO cascade_router.provider_ids (provider_id, cascade_id)
      SELECT w.provider_id, p_ids[w.i] FROM wanted w ORDER BY w.provider_id
      ON CONFLICT (provider_id) DO NOTHING RETURNING provider_id, cascade_id)
    SELECT coalesce(array_agg(a.provider_id), ARRAY[]::text[]) INTO indexed FROM added a;
    SELECT coalesce(array_agg(DISTINCT q.i), ARRAY[]::integer[]) INTO raced FROM unnest(quick) AS q(i),
      unnest(p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]) AS x(provider_id)
    WHERE NOT (x.provider_id = ANY (indexed));
    IF cardinality(raced) > 0 THEN
      DELETE FROM cascade_router.provider_ids p WHERE p.provider_id = ANY (indexed) AND p.provider_id IN (
        SELECT x.provider_id FROM unnest(raced) AS r(i), unnest(p_providers[starts[r.i]:starts[r.i] + p_provider_counts[r.i] - 1]) AS x(provider_id));
      quick := ARRAY(SELECT q FROM unnest(quick) AS q WHERE NOT (q = ANY (raced)));
    END IF;
    simple := simple || quick;
  END IF;
  WITH changed AS (
    UPDATE cascade_router.cascades c SET
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
    SELECT * INTO r FROM cascade_router.commit_one(p_ids[i], p_bases[i], p_versions[i], p_known[i], p_nonces[i], p_fixeds[i],
      p_states[i], p_timers[i], p_owners[i], p_endeds[i], p_retention, p_nows[i],
      coalesce(p_providers[starts[i]:starts[i] + p_provider_counts[i] - 1], ARRAY[]::text[]), p_throughs[i], delta);
    delta := r.delta;
    IF r.ok = 1 AND p_stats[i] IS NOT NULL THEN stats := stats || p_stats[i]; END IF;
    idx := i;
    ok := r.ok;
    held := r.held;
    RETURN NEXT;
  END LOOP;
  IF cardinality(stats) > 0 THEN PERFORM cascade_router.apply_stats(stats); END IF;
  PERFORM cascade_router.apply_delta(delta);
END $$;


CREATE OR REPLACE FUNCTION cascade_router.create_many(
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
    INSERT INTO cascade_router.cascades AS c (id, key, version, nonce, fixed, state, timer_at, owner, ended_at)
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
    JOIN cascade_router.cascades c ON coalesce(c.key, c.id) = coalesce(p_keys[o.i], p_ids[o.i]) OR c.id = p_ids[o.i]
    WHERE NOT (o.i = ANY (made))
    ORDER BY o.i, (coalesce(c.key, c.id) = coalesce(p_keys[o.i], p_ids[o.i])) DESC;
  SELECT coalesce(array_agg(p_stats[m.i]) FILTER (WHERE p_stats[m.i] IS NOT NULL), ARRAY[]::jsonb[]) INTO stats FROM unnest(made) AS m(i);
  FOR i IN SELECT o.i FROM unnest(p_ids) WITH ORDINALITY AS o(id, i) WHERE NOT (o.i = ANY (plain)) ORDER BY o.id, o.i LOOP
    FOR r IN SELECT * FROM cascade_router.create_cascade(p_ids[i], p_keys[i], p_versions[i], p_nonces[i], p_fixeds[i], p_states[i],
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
  IF cardinality(stats) > 0 THEN PERFORM cascade_router.apply_stats(stats); END IF;
END $$;
INSERT INTO cascade_router.migrations (version, description) VALUES (3, 'cheaper commits');

-- Migration 4: lighter batches: indexed receipts routed by one join, the ledger deltas of a batch as one row
CREATE OR REPLACE FUNCTION cascade_router.route_many(p_providers text[], p_entries text[], p_untils bigint[], p_nows bigint[], p_per_id integer, p_total bigint)
RETURNS TABLE (idx integer, cascade_id text, nonce text, version integer, state text, fixed text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  r record;
  found_ record;
  delta cascade_router.held_delta;
BEGIN
  FOR found_ IN SELECT u.i, p.cascade_id, c.nonce, c.version, c.state, c.fixed
    FROM unnest(p_providers) WITH ORDINALITY AS u(provider_id, i)
    LEFT JOIN cascade_router.provider_ids p ON p.provider_id = u.provider_id
    LEFT JOIN cascade_router.cascades c ON c.id = p.cascade_id
    ORDER BY u.provider_id, u.i LOOP
    i := found_.i;
    IF found_.cascade_id IS NOT NULL THEN
      r := found_;
    ELSE
      SELECT * INTO r FROM cascade_router.route_one(p_providers[i], p_entries[i], p_untils[i], p_nows[i], p_per_id, p_total, delta);
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
  PERFORM cascade_router.apply_delta(delta);
END $$;

/*
 * apply_stats: the updates of one change, or of every change of a batch, in the order they were made. Rows are
 * locked in one order whatever the changes: the channels' rows by name, then the recipients' by recipient and
 * channel, each row's outcomes in the order of the changes. Two changes (or batches) that touch the same rows
 * so take their locks in the same order and never deadlock.
 */
CREATE OR REPLACE FUNCTION cascade_router.apply_stats(p_updates jsonb[]) RETURNS void
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  o record;
  add double precision;
  age double precision;
  cs record;
  buckets jsonb;
BEGIN
  INSERT INTO cascade_router.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
  SELECT sum((u -> 'l' ->> 'messages')::bigint), sum((u -> 'l' ->> 'delivered')::bigint), sum((u -> 'l' ->> 'spendMicros')::bigint),
    sum((u -> 'l' ->> 'doubleSpendMicros')::bigint), sum((u -> 'l' ->> 'smsOnlyMicros')::bigint), sum((u -> 'l' ->> 'withoutSms')::bigint),
    coalesce((SELECT jsonb_object_agg(per.key, jsonb_build_object('sent', per.sent, 'delivered', per.delivered, 'spendMicros', per.spend))
      FROM (SELECT e.key, sum((e.value ->> 'sent')::bigint) AS sent, sum((e.value ->> 'delivered')::bigint) AS delivered,
          sum((e.value ->> 'spendMicros')::bigint) AS spend
        FROM unnest(p_updates) AS v, jsonb_each(CASE WHEN jsonb_typeof(v -> 'l' -> 'channels') = 'object' THEN v -> 'l' -> 'channels' ELSE '{}'::jsonb END) AS e
        GROUP BY e.key) AS per), '{}'::jsonb)
  FROM unnest(p_updates) AS u WHERE jsonb_typeof(u -> 'l') = 'object' HAVING count(*) > 0;
  IF NOT EXISTS (SELECT 1 FROM unnest(p_updates) AS u WHERE jsonb_typeof(u -> 'o') = 'array') THEN RETURN; END IF;
  -- Channel-wide: every field aged, then the outcome (and its latency) added.
  FOR o IN SELECT * FROM (SELECT x ->> 0 AS channel, x ->> 1 AS recipient, x ->> 2 AS outcome, (x ->> 3)::float8 AS at, (x ->> 4)::float8 AS weight,
      (x ->> 5)::integer AS bucket, (u ->> 'n')::float8 AS now_at, (u ->> 'h')::float8 AS h, k, j
    FROM unnest(p_updates) WITH ORDINALITY AS us(u, k),
      jsonb_array_elements(CASE WHEN jsonb_typeof(u -> 'o') = 'array' THEN u -> 'o' ELSE '[]'::jsonb END) WITH ORDINALITY AS xs(x, j)) AS outcomes
    ORDER BY channel, k, j LOOP
    add := o.weight * cascade_router.decay(o.at, o.now_at, o.h);
    INSERT INTO cascade_router.channel_stats (channel, at, delivered, failed, timeout, skipped, latency)
    VALUES (o.channel, o.now_at, 0, 0, 0, 0, '{}') ON CONFLICT (channel) DO NOTHING;
    SELECT * INTO cs FROM cascade_router.channel_stats c WHERE c.channel = o.channel FOR UPDATE;
    age := cascade_router.decay(cs.at, o.now_at, o.h);
    SELECT coalesce(jsonb_object_agg(e.key, cascade_router.kept(e.value::float8 * age)), '{}'::jsonb) INTO buckets FROM jsonb_each_text(cs.latency) AS e;
    IF o.bucket >= 0 AND o.outcome = 'delivered' THEN
      buckets := buckets || jsonb_build_object(o.bucket::text, greatest(0, coalesce((buckets ->> o.bucket::text)::float8, 0) + add));
    END IF;
    UPDATE cascade_router.channel_stats c SET
      at = greatest(cs.at, o.now_at),
      delivered = cascade_router.kept(greatest(0, cs.delivered * age + CASE WHEN o.outcome = 'delivered' THEN add ELSE 0 END)),
      failed = cascade_router.kept(greatest(0, cs.failed * age + CASE WHEN o.outcome = 'failed' THEN add ELSE 0 END)),
      timeout = cascade_router.kept(greatest(0, cs.timeout * age + CASE WHEN o.outcome = 'timeout' THEN add ELSE 0 END)),
      skipped = cascade_router.kept(greatest(0, cs.skipped * age + CASE WHEN o.outcome = 'skipped' THEN add ELSE 0 END)),
      latency = buckets
    WHERE c.channel = o.channel;
  END LOOP;
  -- The recipients' own counts.
  FOR o IN SELECT * FROM (SELECT x ->> 0 AS channel, x ->> 1 AS recipient, x ->> 2 AS outcome, (x ->> 3)::float8 AS at, (x ->> 4)::float8 AS weight,
      (x ->> 5)::integer AS bucket, (u ->> 'n')::float8 AS now_at, (u ->> 'h')::float8 AS h, k, j
    FROM unnest(p_updates) WITH ORDINALITY AS us(u, k),
      jsonb_array_elements(CASE WHEN jsonb_typeof(u -> 'o') = 'array' THEN u -> 'o' ELSE '[]'::jsonb END) WITH ORDINALITY AS xs(x, j)) AS outcomes
    ORDER BY recipient, channel, k, j LOOP
    add := o.weight * cascade_router.decay(o.at, o.now_at, o.h);
    INSERT INTO cascade_router.recipient_stats (recipient_id, channel, at, delivered, failed, timeout, skipped, expires_at)
    VALUES (o.recipient, o.channel, o.now_at, 0, 0, 0, 0, clock_timestamp()) ON CONFLICT (recipient_id, channel) DO NOTHING;
    SELECT * INTO cs FROM cascade_router.recipient_stats r WHERE r.recipient_id = o.recipient AND r.channel = o.channel FOR UPDATE;
    -- An expired row counts as none.
    IF cs.expires_at <= clock_timestamp() THEN age := 0; ELSE age := cascade_router.decay(cs.at, o.now_at, o.h); END IF;
    UPDATE cascade_router.recipient_stats r SET
      at = CASE WHEN age = 0 THEN o.now_at ELSE greatest(cs.at, o.now_at) END,
      delivered = cascade_router.kept(greatest(0, cs.delivered * age + CASE WHEN o.outcome = 'delivered' THEN add ELSE 0 END)),
      failed = cascade_router.kept(greatest(0, cs.failed * age + CASE WHEN o.outcome = 'failed' THEN add ELSE 0 END)),
      timeout = cascade_router.kept(greatest(0, cs.timeout * age + CASE WHEN o.outcome = 'timeout' THEN add ELSE 0 END)),
      skipped = cascade_router.kept(greatest(0, cs.skipped * age + CASE WHEN o.outcome = 'skipped' THEN add ELSE 0 END)),
      expires_at = clock_timestamp() + (8 * o.h) * interval '1 millisecond'
    WHERE r.recipient_id = o.recipient AND r.channel = o.channel;
  END LOOP;
END $$;
INSERT INTO cascade_router.migrations (version, description) VALUES (4, 'lighter batches: indexed receipts routed by one join, the ledger deltas of a batch as one row');

-- Migration 5: batches with their ledger deltas as numbers rather than JSON
CREATE FUNCTION cascade_router.add_ledger(p_items integer[], p_messages bigint[], p_delivered bigint[], p_spend bigint[], p_double bigint[], p_sms_only bigint[], p_without_sms bigint[],
  p_channel_items integer[], p_channels text[], p_sent bigint[], p_channel_delivered bigint[], p_channel_spend bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  n integer := cardinality(p_messages);
BEGIN
  IF cardinality(p_items) = n - 1 THEN
    INSERT INTO cascade_router.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
    SELECT p_messages[n], p_delivered[n], p_spend[n], p_double[n], p_sms_only[n], p_without_sms[n],
      coalesce((SELECT jsonb_object_agg(c.name, jsonb_build_object('sent', c.sent, 'delivered', c.delivered, 'spendMicros', c.spend))
        FROM unnest(p_channel_items, p_channels, p_sent, p_channel_delivered, p_channel_spend) AS c(i, name, sent, delivered, spend)
        WHERE c.i = 0), '{}'::jsonb)
    WHERE p_messages[n] IS NOT NULL;
    RETURN;
  END IF;
  INSERT INTO cascade_router.ledger (messages, delivered, spend, double_spend, sms_only, without_sms, channels)
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


CREATE FUNCTION cascade_router.create_batch(
  p_ids text[], p_keys text[], p_versions integer[], p_nonces text[], p_fixeds text[], p_states text[], p_timers bigint[],
  p_owners text[], p_endeds boolean[], p_messages bigint[], p_delivered bigint[], p_spend bigint[], p_double bigint[], p_sms_only bigint[], p_without_sms bigint[],
  p_channel_items integer[], p_channels text[], p_sent bigint[], p_channel_delivered bigint[], p_channel_spend bigint[], p_observations jsonb[], p_retention bigint)
RETURNS TABLE (idx integer, created boolean, nonce text, fixed text, state text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  r record;
  plain integer[];
  inserted text[];
  made integer[];
  done integer[];
  observed jsonb[];
BEGIN
  SELECT coalesce(array_agg(o.i ORDER BY o.id, o.i), ARRAY[]::integer[]) INTO plain
  FROM unnest(p_ids, p_endeds) WITH ORDINALITY AS o(id, ended, i) WHERE NOT (o.ended AND p_retention = 0);
  WITH added AS (
    INSERT INTO cascade_router.cascades AS c (id, key, version, nonce, fixed, state, timer_at, owner, ended_at)
    SELECT p_ids[u.i], p_keys[u.i], p_versions[u.i], p_nonces[u.i], p_fixeds[u.i], p_states[u.i],
      CASE WHEN p_endeds[u.i] THEN NULL ELSE p_timers[u.i] END, CASE WHEN p_endeds[u.i] THEN NULL ELSE p_owners[u.i] END,
      CASE WHEN p_endeds[u.i] THEN clock_timestamp() END
    FROM unnest(plain) WITH ORDINALITY AS u(i, ord) ORDER BY u.ord
    ON CONFLICT DO NOTHING RETURNING c.id)
  SELECT coalesce(array_agg(a.id), ARRAY[]::text[]) INTO inserted FROM added a;
  -- An id given twice: the first one in the batch was inserted.
  SELECT coalesce(array_agg(f.i), ARRAY[]::integer[]) INTO made FROM (
    SELECT DISTINCT ON (p_ids[u.i]) u.i FROM unnest(plain) WITH ORDINALITY AS u(i, ord) ORDER BY p_ids[u.i], u.ord) f
  WHERE cardinality(inserted) < cardinality(plain) AND p_ids[f.i] = ANY (inserted);
  IF cardinality(inserted) = cardinality(plain) THEN made := plain; END IF;
  RETURN QUERY SELECT m.i::integer, true, NULL::text, NULL::text, NULL::text FROM unnest(made) AS m(i);
  -- The others: the cascade that owns the key, or else the id (none when it was deleted meanwhile: try again).
  RETURN QUERY SELECT DISTINCT ON (o.i) o.i::integer, false, c.nonce, c.fixed, c.state
    FROM unnest(plain) AS o(i)
    JOIN cascade_router.cascades c ON coalesce(c.key, c.id) = coalesce(p_keys[o.i], p_ids[o.i]) OR c.id = p_ids[o.i]
    WHERE cardinality(made) < cardinality(plain) AND NOT (o.i = ANY (made))
    ORDER BY o.i, (coalesce(c.key, c.id) = coalesce(p_keys[o.i], p_ids[o.i])) DESC;
  done := made;
  FOR i IN SELECT o.i FROM unnest(p_ids) WITH ORDINALITY AS o(id, i) WHERE cardinality(plain) < cardinality(p_ids) AND NOT (o.i = ANY (plain)) ORDER BY o.id, o.i LOOP
    FOR r IN SELECT * FROM cascade_router.create_cascade(p_ids[i], p_keys[i], p_versions[i], p_nonces[i], p_fixeds[i], p_states[i],
      p_timers[i], p_owners[i], p_endeds[i], p_retention, NULL, false) LOOP
      IF r.created THEN done := done || i; END IF;
      idx := i;
      created := r.created;
      nonce := r.nonce;
      fixed := r.fixed;
      state := r.state;
      RETURN NEXT;
    END LOOP;
  END LOOP;
  PERFORM cascade_router.add_ledger(done, p_messages, p_delivered, p_spend, p_double, p_sms_only, p_without_sms, p_channel_items, p_channels,
    p_sent, p_channel_delivered, p_channel_spend) WHERE cardinality(done) > 0;
  SELECT coalesce(array_agg(p_observations[d.i] ORDER BY d.k) FILTER (WHERE p_observations[d.i] IS NOT NULL), ARRAY[]::jsonb[]) INTO observed
  FROM unnest(done) WITH ORDINALITY AS d(i, k);
  IF cardinality(observed) > 0 THEN PERFORM cascade_router.apply_stats(observed); END IF;
END $$;


CREATE FUNCTION cascade_router.commit_batch(
  p_ids text[], p_bases integer[], p_versions integer[], p_known text[], p_nonces text[], p_fixeds text[], p_states text[],
  p_timers bigint[], p_owners text[], p_endeds boolean[], p_nows bigint[], p_providers text[], p_provider_counts integer[],
  p_throughs bigint[], p_messages bigint[], p_delivered bigint[], p_spend bigint[], p_double bigint[], p_sms_only bigint[], p_without_sms bigint[],
  p_channel_items integer[], p_channels text[], p_sent bigint[], p_channel_delivered bigint[], p_channel_spend bigint[], p_observations jsonb[], p_retention bigint)
RETURNS TABLE (idx integer, ok integer, held text[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  starts integer[] := ARRAY[]::integer[];
  at integer := 1;
  n integer;
  r record;
  delta cascade_router.held_delta;
  simple integer[];
  quick integer[];
  indexed text[];
  raced integer[];
  written integer[];
  done integer[];
  observed jsonb[];
BEGIN
  FOREACH n IN ARRAY p_provider_counts LOOP
    starts := starts || at;
    at := at + n;
  END LOOP;
  PERFORM 1 FROM cascade_router.cascades c WHERE c.id = ANY (p_ids) ORDER BY c.id FOR UPDATE;
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
  JOIN cascade_router.cascades c ON c.id = p_ids[q.i] AND c.version = p_bases[q.i] AND (p_fixeds[q.i] IS NOT NULL OR c.nonce = p_known[q.i])
  WHERE NOT EXISTS (SELECT 1 FROM cascade_router.provider_ids p WHERE p.provider_id = ANY (p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]));
  IF cardinality(quick) > 0 THEN
    WITH wanted AS (
      SELECT x.provider_id, q.i FROM unnest(quick) AS q(i), unnest(p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]) AS x(provider_id)),
    added AS (
      INSERT INTO cascade_router.provider_ids (provider_id, cascade_id)
      SELECT w.provider_id, p_ids[w.i] FROM wanted w ORDER BY w.provider_id
      ON CONFLICT (provider_id) DO NOTHING RETURNING provider_id, cascade_id)
    SELECT coalesce(array_agg(a.provider_id), ARRAY[]::text[]) INTO indexed FROM added a;
    raced := ARRAY[]::integer[];
    IF cardinality(indexed) < (SELECT sum(p_provider_counts[q.i]) FROM unnest(quick) AS q(i)) THEN
      SELECT coalesce(array_agg(DISTINCT q.i), ARRAY[]::integer[]) INTO raced FROM unnest(quick) AS q(i),
        unnest(p_providers[starts[q.i]:starts[q.i] + p_provider_counts[q.i] - 1]) AS x(provider_id)
      WHERE NOT (x.provider_id = ANY (indexed));
    END IF;
    IF cardinality(raced) > 0 THEN
      DELETE FROM cascade_router.provider_ids p WHERE p.provider_id = ANY (indexed) AND p.provider_id IN (
        SELECT x.provider_id FROM unnest(raced) AS r(i), unnest(p_providers[starts[r.i]:starts[r.i] + p_provider_counts[r.i] - 1]) AS x(provider_id));
      quick := ARRAY(SELECT q FROM unnest(quick) AS q WHERE NOT (q = ANY (raced)));
    END IF;
    simple := simple || quick;
  END IF;
  WITH changed AS (
    UPDATE cascade_router.cascades c SET
      version = p_versions[u.i], nonce = p_nonces[u.i], fixed = coalesce(p_fixeds[u.i], c.fixed), state = p_states[u.i],
      timer_at = CASE WHEN p_endeds[u.i] THEN NULL ELSE p_timers[u.i] END,
      lease_until = CASE WHEN NOT p_endeds[u.i] AND p_timers[u.i] IS NOT DISTINCT FROM c.timer_at THEN c.lease_until END,
      owner = CASE WHEN p_endeds[u.i] THEN NULL ELSE p_owners[u.i] END,
      ended_at = CASE WHEN p_endeds[u.i] THEN coalesce(c.ended_at, clock_timestamp()) END
    FROM unnest(simple) AS u(i)
    WHERE c.id = p_ids[u.i] AND c.version = p_bases[u.i] AND (p_fixeds[u.i] IS NOT NULL OR c.nonce = p_known[u.i])
    RETURNING u.i)
  SELECT coalesce(array_agg(changed.i), ARRAY[]::integer[]) INTO written FROM changed;
  RETURN QUERY SELECT s.i::integer, CASE WHEN w.i IS NULL THEN 0 ELSE 1 END, NULL::text[] FROM unnest(simple) AS s(i) LEFT JOIN unnest(written) AS w(i) ON w.i = s.i;
  done := written;
  FOR i IN SELECT o.i FROM unnest(p_ids) WITH ORDINALITY AS o(id, i) WHERE cardinality(simple) < cardinality(p_ids) AND NOT (o.i = ANY (simple)) ORDER BY o.id, o.i LOOP
    SELECT * INTO r FROM cascade_router.commit_one(p_ids[i], p_bases[i], p_versions[i], p_known[i], p_nonces[i], p_fixeds[i],
      p_states[i], p_timers[i], p_owners[i], p_endeds[i], p_retention, p_nows[i],
      coalesce(p_providers[starts[i]:starts[i] + p_provider_counts[i] - 1], ARRAY[]::text[]), p_throughs[i], delta);
    delta := r.delta;
    IF r.ok = 1 THEN done := done || i; END IF;
    idx := i;
    ok := r.ok;
    held := r.held;
    RETURN NEXT;
  END LOOP;
  PERFORM cascade_router.add_ledger(done, p_messages, p_delivered, p_spend, p_double, p_sms_only, p_without_sms, p_channel_items, p_channels,
    p_sent, p_channel_delivered, p_channel_spend) WHERE cardinality(done) > 0;
  SELECT coalesce(array_agg(p_observations[d.i] ORDER BY d.k) FILTER (WHERE p_observations[d.i] IS NOT NULL), ARRAY[]::jsonb[]) INTO observed
  FROM unnest(done) WITH ORDINALITY AS d(i, k);
  IF cardinality(observed) > 0 THEN PERFORM cascade_router.apply_stats(observed); END IF;
  IF cardinality(delta.shards) > 0 THEN PERFORM cascade_router.apply_delta(delta); END IF;
END $$;
INSERT INTO cascade_router.migrations (version, description) VALUES (5, 'batches with their ledger deltas as numbers rather than JSON');
