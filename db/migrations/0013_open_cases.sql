-- Cases open at an instant t, i.e. accepted before t and not ended before t: t lies in (accepted_at, ended_at]
-- (no end: unbounded). A GiST index on that span answers in proportion to the cases open at t, not to every case
-- ever accepted before it. A case "ended" before its acceptance (adversarial input) has an empty span: never open
-- (not greatest(): it ignores a NULL, and a case still open has no end).
CREATE INDEX IF NOT EXISTS case_state_open_span_idx ON case_state
    USING gist (tstzrange(accepted_at, CASE WHEN ended_at < accepted_at THEN accepted_at ELSE ended_at END, '(]'))
    WHERE submitted_at IS NOT NULL AND accepted_at IS NOT NULL;

-- the one definition of "open at" every query uses (it replaces the row-wise predicate of 0008)
CREATE OR REPLACE FUNCTION cases_open_at(at timestamptz) RETURNS SETOF case_state
LANGUAGE sql STABLE AS $$
    SELECT * FROM case_state
    WHERE submitted_at IS NOT NULL AND accepted_at IS NOT NULL
      AND tstzrange(accepted_at, CASE WHEN ended_at < accepted_at THEN accepted_at ELSE ended_at END, '(]') @> at
$$;
DROP FUNCTION IF EXISTS case_open_at(timestamptz, timestamptz, timestamptz, timestamptz);
