-- List changes start as drafts: checked for overlapping powers, approved by a second list administrator (or
-- rejected with a reason), only then published to the list topic; every step in one audit trail per item.
CREATE TABLE IF NOT EXISTS list_draft (
    draft_id    text PRIMARY KEY,
    item_code   text NOT NULL,
    action      text NOT NULL,
    change      jsonb NOT NULL,          -- the list change it proposes (change_id assigned: draft:<draft_id>)
    evidence    jsonb,                   -- e.g. the recommendation that motivated it
    checks      jsonb NOT NULL DEFAULT '[]',  -- overlap warnings with their scores
    status      text NOT NULL DEFAULT 'draft',  -- draft, rejected, published
    drafted_by  text NOT NULL,
    drafted_at  timestamptz NOT NULL DEFAULT now(),
    decided_by  text,
    decided_at  timestamptz,
    reason      text
);
CREATE INDEX IF NOT EXISTS list_draft_item_idx ON list_draft (item_code, drafted_at);
CREATE TABLE IF NOT EXISTS list_audit (
    id        bigserial PRIMARY KEY,
    item_code text NOT NULL,
    draft_id  text,
    change_id text,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,
    step      text NOT NULL,           -- drafted, checked, approved, rejected, published
    detail    jsonb
);
CREATE INDEX IF NOT EXISTS list_audit_item_idx ON list_audit (item_code, id);
