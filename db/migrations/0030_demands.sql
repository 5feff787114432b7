-- Demands (企業群眾訴求, spec/demands.md): the third source. One row per demand_id, the latest version (by
-- updated_at, else received_at) winning; texts are stored masked and requesters only as a keyed hash.
CREATE TABLE IF NOT EXISTS demand (
    demand_id       text PRIMARY KEY,
    received_at     timestamptz NOT NULL,
    version_at      timestamptz NOT NULL,
    channel         text NOT NULL,
    kind            text NOT NULL,
    region_code     text NOT NULL,
    text            text NOT NULL,
    item_code       text,              -- as given by the source
    department_code text,
    case_id         text,
    requester_hash  text,
    handled_at      timestamptz,
    outcome         text,
    satisfaction    text,
    topics          text[] NOT NULL,   -- the topics, for grouping
    why             jsonb NOT NULL,    -- [{topic, words}]: the words that decided each
    link_item       text,              -- what it is about: given, matched, or linked by a person
    link_department text,
    link_score      double precision,
    link_how        text,              -- given, matched, manual; NULL: unlinked
    linked_by       text,
    linked_at       timestamptz,
    stored_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS demand_received_idx ON demand (received_at);
CREATE INDEX IF NOT EXISTS demand_item_idx ON demand (link_item, received_at);
CREATE INDEX IF NOT EXISTS demand_unlinked_idx ON demand (received_at) WHERE link_how IS NULL;

-- One row per Kafka record taken (the edge's delivery key): a record redelivered changes nothing; `fresh` false
-- when an older or equal copy of a stored demand came (a duplicate); the edge's receipts settle by these keys.
CREATE TABLE IF NOT EXISTS demand_delivery (
    delivery_key text PRIMARY KEY,
    demand_id    text NOT NULL,
    fresh        boolean NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
