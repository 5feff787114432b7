-- The staffing half (機構編制): every change as it came, the versions rebuilt from them (as of any time), who holds
-- which quota, the archive of documents with their segmented text, and the findings with when each opened and
-- closed. A change is applied by its effective time, whatever order it arrives in.
DO $$ BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): substring search of the archive scans', SQLERRM;
END $$;

CREATE TABLE IF NOT EXISTS staffing_change (
    change_id    text PRIMARY KEY,
    kind         text NOT NULL,
    effective_at timestamptz NOT NULL,
    unit_code    text,                       -- the unit it concerns (for a move: the unit moved to, if given)
    person_key   text,
    doc_no       text,
    payload      jsonb NOT NULL,
    -- applied; pending (it does not apply where it stands, e.g. a move of a person not in: an earlier change
    -- may still arrive); dead (still pending after the grace period: dead-lettered with its reason)
    state        text NOT NULL DEFAULT 'applied',
    reason       text,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS staffing_change_unit_idx ON staffing_change (unit_code);
CREATE INDEX IF NOT EXISTS staffing_change_person_idx ON staffing_change (person_key) WHERE person_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS staffing_change_pending_idx ON staffing_change (received_at) WHERE state = 'pending';

-- One row per Kafka record taken (edge delivery key): a record redelivered changes nothing, a change sent twice
-- (same change_id) is a duplicate, and the edge's receipts settle by these keys.
CREATE TABLE IF NOT EXISTS staffing_delivery (
    delivery_key text PRIMARY KEY,
    change_id    text NOT NULL,
    fresh        boolean NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);

-- A unit's parts as of any time: part = unit (its attributes), body, quota (key: quota kind), posts (key: post
-- level), duty (key: duty_id). valid_to NULL: still in force.
CREATE TABLE IF NOT EXISTS org_version (
    unit_code  text NOT NULL,
    part       text NOT NULL,
    key        text NOT NULL DEFAULT '',
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz,
    data       jsonb NOT NULL,
    approved   integer,                      -- quota and posts: the approved figure
    doc_no     text,
    change_id  text NOT NULL,
    tsv        tsvector,                     -- duty: the clause's words (jieba), for search
    PRIMARY KEY (unit_code, part, key, valid_from)
);
CREATE INDEX IF NOT EXISTS org_version_part_idx ON org_version (part, valid_from);
CREATE INDEX IF NOT EXISTS org_version_tsv_idx ON org_version USING gin (tsv) WHERE tsv IS NOT NULL;

-- Who holds a quota when (實名制): one row per span between changes of a person's place.
CREATE TABLE IF NOT EXISTS org_staff (
    person_key text NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz,
    unit_code  text NOT NULL,
    body_code  text,
    quota_kind text NOT NULL,
    post_level text,
    name       text NOT NULL,
    sex        text NOT NULL,
    id_hash    text,                         -- a keyed hash of the identity number: never the number
    change_id  text NOT NULL,
    doc_no     text,
    PRIMARY KEY (person_key, valid_from)
);
CREATE INDEX IF NOT EXISTS org_staff_unit_idx ON org_staff (unit_code, valid_from);

CREATE TABLE IF NOT EXISTS org_document (
    doc_no       text PRIMARY KEY,
    title        text NOT NULL,
    issued_at    date NOT NULL,
    doc_type     text NOT NULL,
    body         text NOT NULL,
    effective_at timestamptz NOT NULL,
    change_id    text NOT NULL,
    tsv          tsvector NOT NULL           -- title and text segmented by jieba (search mode), 'simple' config
);
CREATE INDEX IF NOT EXISTS org_document_tsv_idx ON org_document USING gin (tsv);
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS org_document_trgm_idx ON org_document USING gin ((title || ' ' || body) gin_trgm_ops);
    END IF;
END $$;

-- Findings kept as changes arrive: each opens when its condition starts and closes when it ends.
CREATE TABLE IF NOT EXISTS org_finding (
    unit_code        text NOT NULL,
    kind             text NOT NULL,
    subject          text NOT NULL,          -- the quota kind, post level or body it is about
    opened_at        timestamptz NOT NULL,
    closed_at        timestamptz,
    figures          jsonb NOT NULL,         -- as it opened
    basis            text NOT NULL,
    alerted_open_at  timestamptz,
    alerted_close_at timestamptz,
    PRIMARY KEY (unit_code, kind, subject, opened_at)
);
CREATE INDEX IF NOT EXISTS org_finding_open_idx ON org_finding (unit_code) WHERE closed_at IS NULL;
