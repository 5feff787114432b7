-- Each staffing key's latest change stored (a unit code: its unit changes; "p:" + person key: the person's), kept on
-- its lock row: a take whose changes for a key all come later (an import in time order) takes up from where the key
-- stands (its versions or span in force) instead of working out its whole history again.
ALTER TABLE org_lock ADD COLUMN IF NOT EXISTS last_at timestamptz;
-- what last_at was before the take that holds the row moved it on (the lock's statement returns it)
ALTER TABLE org_lock ADD COLUMN IF NOT EXISTS prev_at timestamptz;
INSERT INTO org_lock AS l (key, last_at)
SELECT unit_code, max(effective_at) FROM staffing_change
 WHERE unit_code IS NOT NULL AND person_key IS NULL AND kind <> 'document' GROUP BY unit_code
UNION ALL
SELECT 'p:' || person_key, max(effective_at) FROM staffing_change WHERE person_key IS NOT NULL GROUP BY person_key
ON CONFLICT (key) DO UPDATE SET last_at = excluded.last_at;
-- a take sweeps a unit's findings over what stands from a time on: its versions in force or ended after it
CREATE INDEX IF NOT EXISTS org_version_unit_to_idx ON org_version (unit_code, valid_to);
-- the units whose bodies cite a document that arrives (their unapproved_body findings change)
CREATE INDEX IF NOT EXISTS org_version_body_doc_idx ON org_version (doc_no) WHERE part = 'body';
-- all units' figures as of a date read from the indexes alone (index-only scans, once vacuumed): each part's validity
-- with what the figures take of it, in place of migration 0024's partial indexes and the staff spans' index
DROP INDEX IF EXISTS org_version_unit_span_idx;
DROP INDEX IF EXISTS org_version_quota_span_idx;
DROP INDEX IF EXISTS org_version_posts_span_idx;
DROP INDEX IF EXISTS org_staff_span_idx;
CREATE INDEX IF NOT EXISTS org_version_unit_cover_idx ON org_version USING gist (span) INCLUDE (unit_code, data)
    WHERE part = 'unit';
CREATE INDEX IF NOT EXISTS org_version_quota_cover_idx ON org_version USING gist (span) INCLUDE (unit_code, key, approved)
    WHERE part = 'quota';
CREATE INDEX IF NOT EXISTS org_version_posts_cover_idx ON org_version USING gist (span) INCLUDE (unit_code, key, approved)
    WHERE part = 'posts';
CREATE INDEX IF NOT EXISTS org_staff_span_cover_idx ON org_staff USING gist (span)
    INCLUDE (unit_code, quota_kind, post_level);
-- a take's sweep reads the spans in force of the units it touches: those begun after its start one by one, those
-- before it counted (by index alone where the pages are all-visible)
CREATE INDEX IF NOT EXISTS org_staff_open_idx ON org_staff (unit_code, valid_from)
    INCLUDE (quota_kind, post_level, person_key) WHERE valid_to IS NULL;
