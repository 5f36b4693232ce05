/**
 * Migration 2: what routers on one schema share besides cascades (issue #15): provider health, provider rates
 * and recipients' frequency caps, the optional `CascadeStore` methods `health`/`reportHealth`, `pace` and
 * `admit`, with the semantics of the memory store and the Redis scripts (src/redis/scripts/pacing.ts). Each
 * call is one function in its own transaction; a provider's rate and a recipient's cap for a category are one
 * row each, locked by the call that reads and changes it, so concurrent routers take turns on it.
 * `__S__.` stands for the schema.
 */
import { maintainSql } from './functions.js';

export const SHARING_TABLES = `
-- provider health shared between routers: per provider, the latest report (router clock, ms)
CREATE TABLE __S__.provider_health (
  provider text PRIMARY KEY,
  at bigint NOT NULL,
  -- JSON {provider, state, reason, until, at}
  report text NOT NULL
);

-- provider rates: per provider, when each send in the last window went (router clock, ms), and when the last
-- send told to wait retries (NULL: none yet)
CREATE TABLE __S__.provider_pace (
  provider text PRIMARY KEY,
  sends bigint[] NOT NULL,
  tail double precision
);

-- frequency caps: per recipient and category, the messages let through in the last window (keys[i] at ats[i],
-- router clock, ms); maintain() drops a row once its last message left the window (until)
CREATE TABLE __S__.frequency_caps (
  recipient_id text NOT NULL,
  category text NOT NULL,
  keys text[] NOT NULL,
  ats bigint[] NOT NULL,
  until bigint NOT NULL,
  PRIMARY KEY (recipient_id, category)
);
CREATE INDEX frequency_caps_until ON __S__.frequency_caps (until);
`;

export const SHARING_FUNCTIONS = `
/* report_health: keeps a provider's state unless a later one (p_at) is kept already. True when kept. */
CREATE FUNCTION __S__.report_health(p_provider text, p_at bigint, p_report text) RETURNS boolean
LANGUAGE sql AS $$
  INSERT INTO __S__.provider_health AS h (provider, at, report) VALUES (p_provider, p_at, p_report)
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
CREATE FUNCTION __S__.pace(p_provider text, p_limit integer, p_window bigint, p_reserve integer, p_urgent boolean, p_now bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  capacity integer := CASE WHEN p_urgent THEN p_limit ELSE p_limit - p_reserve END;
  kept bigint[];
  last_tail double precision;
  n integer;
BEGIN
  INSERT INTO __S__.provider_pace (provider, sends) VALUES (p_provider, ARRAY[]::bigint[]) ON CONFLICT (provider) DO NOTHING;
  SELECT p.sends, p.tail INTO kept, last_tail FROM __S__.provider_pace p WHERE p.provider = p_provider FOR UPDATE;
  kept := ARRAY(SELECT x FROM unnest(kept) AS x WHERE x > p_now - p_window ORDER BY x);
  n := cardinality(kept);
  IF n < capacity THEN
    UPDATE __S__.provider_pace p SET sends = kept || p_now WHERE p.provider = p_provider;
    RETURN NULL;
  END IF;
  IF p_urgent OR capacity <= 0 THEN
    UPDATE __S__.provider_pace p SET sends = kept WHERE p.provider = p_provider;
    RETURN coalesce(kept[n - capacity + 1], kept[1], p_now) + p_window;
  END IF;
  last_tail := greatest(p_now::double precision, coalesce(last_tail, p_now::double precision)) + p_window::double precision / capacity;
  UPDATE __S__.provider_pace p SET sends = kept, tail = last_tail WHERE p.provider = p_provider;
  RETURN ceil(last_tail)::bigint;
END $$;

/*
 * admit: lets a message (p_key) through a recipient's frequency cap for a category (CascadeStore.admit): true
 * when it was let through within the last p_window ms already (counted once), or fewer than p_max were (it is
 * then counted); false when the cap is reached.
 */
CREATE FUNCTION __S__.admit(p_recipient text, p_category text, p_key text, p_max integer, p_window bigint, p_now bigint)
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
    INSERT INTO __S__.frequency_caps (recipient_id, category, keys, ats, until)
    VALUES (p_recipient, p_category, ARRAY[]::text[], ARRAY[]::bigint[], p_now) ON CONFLICT DO NOTHING;
    SELECT f.keys, f.ats INTO old_keys, old_ats FROM __S__.frequency_caps f
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
  UPDATE __S__.frequency_caps f SET keys = kept_keys, ats = kept_ats,
    until = coalesce((SELECT max(a) FROM unnest(kept_ats) AS a) + p_window, p_now)
  WHERE f.recipient_id = p_recipient AND f.category = p_category;
  RETURN admitted;
END $$;

${maintainSql(
  'CREATE OR REPLACE',
  `  -- frequency caps whose last message left its window (router clock)
  DELETE FROM __S__.frequency_caps f WHERE (f.recipient_id, f.category) IN (
    SELECT x.recipient_id, x.category FROM __S__.frequency_caps x WHERE x.until <= p_now LIMIT 1000 FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS n = ROW_COUNT;
  removed := removed + n;
`,
)}`;
