-- Proposals (spec/archive.md §2-§4): the staffing changes a document (or a roster) proposes, checked against the
-- unit as it stands and confirmed by a second person before they reach the staffing stream. document_id is the
-- archive's id as text (no foreign key: the archive's tables are another migration's).
CREATE TABLE IF NOT EXISTS org_proposal (
    proposal_id  text PRIMARY KEY,
    source       text NOT NULL,                    -- document, roster, ...
    document_id  text,
    unit_code    text,
    region_code  text,                             -- the unit's region when proposed: the scope it is read in
    doc_no       text,
    effective_at timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'published', 'rejected')),
    changes      jsonb NOT NULL,                   -- staffing changes (spec/staffing.md §1), change_ids derived
    spans        jsonb NOT NULL DEFAULT '[]',      -- per change: field -> the span of text it came from
    unsure       jsonb NOT NULL DEFAULT '[]',      -- what the reader could not settle, for a person
    checks       jsonb,                            -- diff, would_open, would_close, ... as last computed
    checked_at   timestamptz,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    edited_by    text,
    edited_at    timestamptz,
    decided_by   text,
    decided_at   timestamptz,
    reason       text,
    request_id   text                              -- the edge receipt its publication went out under
);
-- a document proposes once, however often its text is reported ready
CREATE UNIQUE INDEX IF NOT EXISTS org_proposal_document_idx ON org_proposal (document_id)
    WHERE document_id IS NOT NULL AND source = 'document';
CREATE INDEX IF NOT EXISTS org_proposal_status_idx ON org_proposal (status, created_at);
CREATE INDEX IF NOT EXISTS org_proposal_unit_idx ON org_proposal (unit_code);

-- Uploaded, extracted, checked/warned, edited, approved or rejected, published: per proposal and document.
CREATE TABLE IF NOT EXISTS org_proposal_trail (
    id          bigserial PRIMARY KEY,
    proposal_id text,
    document_id text,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    step        text NOT NULL,
    detail      jsonb
);
CREATE INDEX IF NOT EXISTS org_proposal_trail_idx ON org_proposal_trail (proposal_id, id);
CREATE INDEX IF NOT EXISTS org_proposal_trail_doc_idx ON org_proposal_trail (document_id, id) WHERE document_id IS NOT NULL;

-- staffing_admin: a person who maintains staffing data (edits, approves or rejects proposals) in their region
ALTER TABLE app_user DROP CONSTRAINT IF EXISTS app_user_role_check;
ALTER TABLE app_user ADD CONSTRAINT app_user_role_check
    CHECK (role IN ('viewer', 'supervisor', 'list_admin', 'staffing_admin', 'admin'));
