-- Evaluations of units (綜合評估) with the inputs and scorecard they used, kept whole so that they reproduce; and
-- rectification tasks (整改) with every transition and their evidence.
CREATE TABLE IF NOT EXISTS evaluation (
    evaluation_id     bigserial PRIMARY KEY,
    unit_code         text NOT NULL,
    unit_nature       text,
    region_code       text,
    period_from       timestamptz NOT NULL,
    period_to         timestamptz NOT NULL,
    type              text NOT NULL,          -- 执行情况 (compliance) or 使用效益 (use and effect)
    scorecard_version text NOT NULL,
    scorecard         jsonb NOT NULL,         -- the scorecard as it was used
    inputs            jsonb NOT NULL,         -- every figure collected, as collected
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS evaluation_unit_idx ON evaluation (unit_code, period_to);
CREATE INDEX IF NOT EXISTS evaluation_period_idx ON evaluation (period_from, period_to, type);

-- Scores people give where no data exists; the latest per indicator counts, every one is kept.
CREATE TABLE IF NOT EXISTS evaluation_score (
    id            bigserial PRIMARY KEY,
    evaluation_id bigint NOT NULL REFERENCES evaluation (evaluation_id),
    code          text NOT NULL,
    value         double precision NOT NULL,
    note          text,
    given_by      text NOT NULL,
    given_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS evaluation_report (
    evaluation_id bigint PRIMARY KEY REFERENCES evaluation (evaluation_id),
    pdf           bytea NOT NULL,
    sha256        text NOT NULL,
    made_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS rectification (
    task_id           bigserial PRIMARY KEY,
    unit_code         text NOT NULL,
    region_code       text,
    source            text NOT NULL,          -- finding, evaluation, manual
    finding_kind      text,
    finding_subject   text,
    finding_opened_at timestamptz,
    evaluation_id     bigint REFERENCES evaluation (evaluation_id),
    requirement       text NOT NULL,
    days              integer NOT NULL,       -- working days
    opened_at         timestamptz NOT NULL DEFAULT now(),
    due_at            timestamptz NOT NULL,
    state             text NOT NULL DEFAULT 'open',
    opened_by         text NOT NULL,
    submitted_by      text,
    alerted_step      integer NOT NULL DEFAULT 0  -- 0: none; 1: overdue told; 2..: escalations told
);
CREATE INDEX IF NOT EXISTS rectification_due_idx ON rectification (due_at) WHERE state NOT IN ('verified', 'closed');
CREATE INDEX IF NOT EXISTS rectification_unit_idx ON rectification (unit_code);

CREATE TABLE IF NOT EXISTS rectification_event (
    id        bigserial PRIMARY KEY,
    task_id   bigint NOT NULL REFERENCES rectification (task_id),
    from_state text,
    to_state  text NOT NULL,
    actor     text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    reason    text
);
CREATE INDEX IF NOT EXISTS rectification_event_task_idx ON rectification_event (task_id, id);

CREATE TABLE IF NOT EXISTS rectification_evidence (
    id       bigserial PRIMARY KEY,
    task_id  bigint NOT NULL REFERENCES rectification (task_id),
    name     text NOT NULL,
    text     text,
    content  bytea,
    sha256   text NOT NULL,
    size     integer NOT NULL,
    added_by text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now()
);
