-- A case's contribution is only ever written whole and read back whole by the workers, never queried:
-- kept as the JSON text they send, it costs the hot path no jsonb parsing.
ALTER TABLE case_state
    ALTER COLUMN contrib DROP DEFAULT,
    ALTER COLUMN contrib TYPE text USING contrib::text,
    ALTER COLUMN contrib SET DEFAULT '{}';
