-- What the edges (webhook, files, event logs) acknowledged, recorded before the acknowledgement: "received" in the
-- reconciliation is counted here, so a loss anywhere after the edge (broker, network, worker) shows.
CREATE TABLE IF NOT EXISTS edge_receipt (
    request_id  text PRIMARY KEY,          -- source:request: a retried request (same content) is recorded once
    source      text NOT NULL,
    kind        text NOT NULL,             -- case_event or list_change
    n_received  integer NOT NULL,          -- items in the request
    n_refused   integer NOT NULL,          -- of them, refused at the edge (dead-lettered with their reason)
    -- the Kafka records to send, kept until the workers have processed them all, so that they can be sent
    -- again after a broker lost them (NULL for files: the file itself is the durable copy)
    records     text,
    received_at timestamptz NOT NULL DEFAULT now(),
    relayed_at  timestamptz,
    settled_at  timestamptz
);
CREATE INDEX IF NOT EXISTS edge_receipt_open_idx ON edge_receipt (received_at) WHERE settled_at IS NULL;
-- What a receipt's records become downstream: envelopes (batch ids, with their events), list changes (change
-- ids), dead letters (keys): each found processed by its key.
CREATE TABLE IF NOT EXISTS edge_item (
    key        text PRIMARY KEY,
    request_id text NOT NULL,
    kind       text NOT NULL,              -- batch, change, dead_letter
    n          integer NOT NULL            -- events (1 for a change or a dead letter)
);
CREATE INDEX IF NOT EXISTS edge_item_request_idx ON edge_item (request_id);
