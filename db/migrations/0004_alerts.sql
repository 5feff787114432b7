-- Alert state per rule and group, its history, and an outbox of notifications that are retried until sent.
CREATE TABLE IF NOT EXISTS alert_state (
    id              bigserial UNIQUE,
    rule            text NOT NULL,
    group_key       text NOT NULL,
    status          text NOT NULL,               -- ok, pending, firing, resolving
    value           double precision,
    threshold       double precision,
    severity        text NOT NULL,
    since           timestamptz NOT NULL,        -- the current phase began
    fired_at        timestamptz,
    resolved_at     timestamptz,
    last_notified_at timestamptz,
    acknowledged_by text,
    acknowledged_at timestamptz,
    silenced_until  timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule, group_key)
);

CREATE TABLE IF NOT EXISTS alert_event (
    id          bigserial PRIMARY KEY,
    rule        text NOT NULL,
    group_key   text NOT NULL,
    kind        text NOT NULL,                   -- firing, repeat, resolved, acknowledged, silenced
    value       double precision,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS alert_event_at_idx ON alert_event (at);

CREATE TABLE IF NOT EXISTS alert_notification (
    id              bigserial PRIMARY KEY,
    event_id        bigint NOT NULL REFERENCES alert_event (id),
    receiver        text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending',  -- pending, failed (retrying), sent
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (event_id, receiver)
);
CREATE INDEX IF NOT EXISTS alert_notification_due_idx ON alert_notification (next_attempt_at) WHERE status <> 'sent';
