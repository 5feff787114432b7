-- The deadline rule as the spec settled it: a case's deadline is the first `accepted` event's own, else the item's
-- committed days, else its statutory days; a completion with none is no longer counted as on time but apart, in
-- no_deadline (the guard figure completed_without_deadline), and left out of on_time_rate on both sides.
ALTER TABLE indicator_daily ADD COLUMN IF NOT EXISTS no_deadline bigint NOT NULL DEFAULT 0;
-- Stored contributions get the new component (0), so that each case can still be retracted exactly ...
UPDATE case_state SET contrib = regexp_replace(contrib, '\]', ',0]', 'g') WHERE contrib <> '{}';
-- ... and every case is re-evaluated under the new rule by `shenpi db upgrade` (or `shenpi up`), which runs the
-- tasks requested here; until then `shenpi status` names the figures that still follow the old rule.
CREATE TABLE IF NOT EXISTS maintenance (
    task         text PRIMARY KEY,
    reason       text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO maintenance (task, reason)
SELECT 'recompute_cases', 'the deadline rule changed (statutory days; completions without a deadline counted apart)'
WHERE EXISTS (SELECT 1 FROM case_state)
ON CONFLICT (task) DO NOTHING;
