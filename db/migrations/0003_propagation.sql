-- One sync record per list change: what propagating it to the service platform has come to.
CREATE TABLE IF NOT EXISTS list_sync (
    change_id       text PRIMARY KEY REFERENCES list_change (change_id),
    seq             bigserial NOT NULL UNIQUE,
    item_code       text NOT NULL,
    action          text NOT NULL,
    status          text NOT NULL DEFAULT 'pending',  -- pending, failed (retrying), parked, applied
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,            -- when it took effect, or came in if later
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    applied_at      timestamptz,
    latency_ms      double precision
);
CREATE INDEX IF NOT EXISTS list_sync_open_idx ON list_sync (item_code, seq) WHERE status <> 'applied';
CREATE INDEX IF NOT EXISTS list_sync_applied_idx ON list_sync (applied_at);
