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
