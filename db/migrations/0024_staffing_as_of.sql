-- The staffing half as of any time, one model in SQL: each version's and each staff span's validity as a range,
-- GiST-indexed, and functions every reader goes through (like list_items_at). "Now" is a time like any other: a
-- change dated in the future is not in force before its time, whatever valid_to says today.
ALTER TABLE org_version ADD COLUMN IF NOT EXISTS span tstzrange
    GENERATED ALWAYS AS (tstzrange(valid_from, valid_to, '[)')) STORED;
ALTER TABLE org_staff ADD COLUMN IF NOT EXISTS span tstzrange
    GENERATED ALWAYS AS (tstzrange(valid_from, valid_to, '[)')) STORED;
CREATE INDEX IF NOT EXISTS org_version_span_idx ON org_version USING gist (span);
CREATE INDEX IF NOT EXISTS org_staff_span_idx ON org_staff USING gist (span);
-- the parts every unit's figures read, each its own (partial) index: all units' figures as of a date read 6,500
-- unit versions and 11,000 quotas, not the 83,000 versions of every part standing then (measured: 1,040 -> 270 ms
-- at 6,500 units on a loaded machine)
CREATE INDEX IF NOT EXISTS org_version_unit_span_idx ON org_version USING gist (span) WHERE part = 'unit';
CREATE INDEX IF NOT EXISTS org_version_quota_span_idx ON org_version USING gist (span) WHERE part = 'quota';
CREATE INDEX IF NOT EXISTS org_version_posts_span_idx ON org_version USING gist (span) WHERE part = 'posts';
-- a person's spans and a unit's versions are looked up by key when a change touches them
CREATE INDEX IF NOT EXISTS org_staff_unit_span_idx ON org_staff (unit_code, valid_to);

CREATE OR REPLACE FUNCTION org_versions_at(at timestamptz) RETURNS SETOF org_version
LANGUAGE sql STABLE AS $$
    SELECT * FROM org_version WHERE span @> at
$$;

CREATE OR REPLACE FUNCTION org_staff_at(at timestamptz) RETURNS SETOF org_staff
LANGUAGE sql STABLE AS $$
    SELECT * FROM org_staff WHERE span @> at
$$;

-- the units standing at `at` in the regions matching `region_like` (a LIKE pattern; NULL: all)
CREATE OR REPLACE FUNCTION org_units_at(at timestamptz, region_like text) RETURNS SETOF org_version
LANGUAGE sql STABLE AS $$
    SELECT * FROM org_version WHERE span @> at AND part = 'unit'
        AND (region_like IS NULL OR data->>'region_code' LIKE region_like)
$$;

CREATE OR REPLACE FUNCTION org_findings_at(at timestamptz) RETURNS SETOF org_finding
LANGUAGE sql STABLE AS $$
    SELECT * FROM org_finding WHERE opened_at <= at AND (closed_at IS NULL OR closed_at > at)
$$;

-- The duty checks' findings are computed by the workers (streams/staffing/duties.py): when they last ran, and on
-- what inputs, so that a sweep runs only when something it reads has changed.
CREATE TABLE IF NOT EXISTS org_duty_sweep (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    fingerprint text NOT NULL,
    swept_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS org_finding_kind_idx ON org_finding (kind) WHERE closed_at IS NULL;

-- Staffing takes lock what they touch, one row per unit code or "p:" + person key (streams/staffing/store.lock):
-- takes of different units and persons go on side by side.
CREATE TABLE IF NOT EXISTS org_lock (key text PRIMARY KEY);
