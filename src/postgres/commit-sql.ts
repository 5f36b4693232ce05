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

export const COMMIT_FUNCTIONS = commitOneSql('CREATE OR REPLACE', FAST_PATH);
