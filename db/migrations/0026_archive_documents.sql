-- The 三定 digital archive (數字檔案館): each original file once, by its SHA-256, its bytes unchanged; the document
-- recognised from it (文號, title, dates, type, unit, each with the span it came from); its text per page, with
-- whether OCR read it and how sure it was. A document waits in 'queued' until a worker reads it (the queue).
CREATE TABLE IF NOT EXISTS archive_original (
    sha256 text PRIMARY KEY,                 -- hex of the bytes: the address
    bytes  bytea NOT NULL
);
ALTER TABLE archive_original ALTER COLUMN bytes SET STORAGE EXTERNAL;  -- originals are compressed already

CREATE TABLE IF NOT EXISTS archive_document (
    document_id  bigserial PRIMARY KEY,
    sha256       text NOT NULL UNIQUE REFERENCES archive_original (sha256),
    filename     text NOT NULL,
    kind         text NOT NULL,              -- docx, pdf, image, txt, doc (converted)
    size_bytes   bigint NOT NULL,
    -- queued (waiting for a worker), reading (a worker has it), ready, failed (reason)
    status       text NOT NULL DEFAULT 'queued',
    reason       text,
    attempts     integer NOT NULL DEFAULT 0,
    claimed_at   timestamptz,
    given        jsonb NOT NULL DEFAULT '{}', -- what the caller stated (doc_no, unit_code, doc_type): it overrides
    doc_no       text,
    title        text,
    issued_at    date,
    doc_type     text,
    unit_code    text,
    region_code  text,                       -- the unit's, for the readers' region scope
    effective_at timestamptz,
    spans        jsonb NOT NULL DEFAULT '{}', -- field -> {page, start, end, text}
    pages        integer NOT NULL DEFAULT 0,
    pages_done   integer NOT NULL DEFAULT 0,  -- OCR progress
    ocr          boolean NOT NULL DEFAULT false,
    chars        integer NOT NULL DEFAULT 0,
    low_confidence_pages integer NOT NULL DEFAULT 0,
    proposal_id  text,                       -- org_proposal (0027): what the document proposes
    uploaded_by  text NOT NULL,
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    ready_at     timestamptz,
    tsv          tsvector                    -- every page's words: what a search matches and counts (pages: which page)
);
CREATE INDEX IF NOT EXISTS archive_document_queue_idx ON archive_document (document_id) WHERE status IN ('queued', 'reading');
CREATE INDEX IF NOT EXISTS archive_document_unit_idx ON archive_document (unit_code);
CREATE INDEX IF NOT EXISTS archive_document_doc_no_idx ON archive_document (doc_no);
CREATE INDEX IF NOT EXISTS archive_document_tsv_idx ON archive_document USING gin (tsv) WHERE tsv IS NOT NULL;
CREATE INDEX IF NOT EXISTS archive_document_newest_idx ON archive_document (issued_at DESC NULLS LAST, document_id DESC)
    WHERE status = 'ready';

CREATE TABLE IF NOT EXISTS archive_page (
    document_id bigint NOT NULL REFERENCES archive_document (document_id) ON DELETE CASCADE,
    n           integer NOT NULL,            -- from 1
    text        text NOT NULL,               -- as read
    plain       text,                        -- in simplified characters, where that differs from text (phrases
                                             -- and snippets are found in coalesce(plain, text))
    ocr         boolean NOT NULL,
    confidence  real,                        -- OCR's, 0..1; null for text that was in the file
    low_confidence boolean NOT NULL DEFAULT false,
    tsv         tsvector NOT NULL,           -- jieba's search-mode words of `plain`, 'simple' config
    PRIMARY KEY (document_id, n)
);
CREATE INDEX IF NOT EXISTS archive_page_tsv_idx ON archive_page USING gin (tsv);
