-- Rules that several queries (the query API, the alert engine, the Grafana boards) share, written once.

-- Open at `at`: accepted before it and not ended (completed or withdrawn) before it.
CREATE OR REPLACE FUNCTION case_open_at(submitted_at timestamptz, accepted_at timestamptz, ended_at timestamptz,
                                        at timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT submitted_at IS NOT NULL AND accepted_at < at AND (ended_at IS NULL OR ended_at >= at)
$$;

-- A case's deadline as it stands at `at`: pushed back by the time suspended between acceptance and `at`
-- (a suspension still running counts up to `at`). NULL: the case has no deadline and is never overdue.
-- A case open at `at` is overdue when this lies before `at`.
CREATE OR REPLACE FUNCTION case_due_at(deadline timestamptz, accepted_at timestamptz, suspensions tstzmultirange,
                                       at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN deadline IS NULL OR isempty(suspensions) THEN deadline
           ELSE deadline + (SELECT coalesce(sum(upper(r) - lower(r)), interval '0')
                            FROM unnest(suspensions * tstzmultirange(tstzrange(accepted_at, at, '[]'))) r) END
$$;

-- The list items' versions in force at `at` (active or cancelled): one row per item that was ever listed by then.
CREATE OR REPLACE FUNCTION list_items_at(at timestamptz) RETURNS SETOF list_item_version
LANGUAGE sql STABLE AS $$
    SELECT * FROM list_item_version WHERE valid_from <= at AND (valid_to IS NULL OR valid_to > at)
$$;
