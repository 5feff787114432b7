-- Core state of record: raw events, case state, per-case and daily indicator components, the power list.
CREATE TABLE IF NOT EXISTS case_event (
    event_id        text PRIMARY KEY,
    case_id         text NOT NULL,
    type            text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    item_code       text,
    region_code     text,
    department_code text,
    channel         text,
    applicant_key   text,
    deadline        timestamptz,
    outcome         text,
    score           smallint,
    ingested_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS case_event_case_idx ON case_event (case_id);

CREATE TABLE IF NOT EXISTS case_state (
    case_id         text PRIMARY KEY,
    submitted_at    timestamptz,
    region_code     text,
    department_code text,
    item_code       text,
    level           text,
    accepted_at     timestamptz,
    ended_at        timestamptz,
    deadline        timestamptz,
    suspensions     tstzmultirange NOT NULL DEFAULT '{}',
    corrections     integer NOT NULL DEFAULT 0,
    last_event_at   timestamptz,
    -- what the case adds to indicator_daily under its dims: {"YYYY-MM-DD": [one integer per metric]},
    -- kept so that the case can be retracted exactly when it changes
    contrib         jsonb NOT NULL DEFAULT '{}',
    pending_since   timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS case_state_open_idx ON case_state (accepted_at) WHERE submitted_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS case_state_end_idx ON case_state (ended_at) WHERE submitted_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS case_state_pending_idx ON case_state (pending_since) WHERE submitted_at IS NULL;
CREATE INDEX IF NOT EXISTS case_state_item_idx ON case_state (item_code, last_event_at);

-- Daily additive components by local day (Asia/Shanghai) and group: rates are numerator/denominator.
-- TimescaleDB: a hypertable on day (see 0002). Plain PostgreSQL: native range partitions by year.
DO $$
DECLARE
    ts boolean := EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb');
    cols text := $cols$
    day             date NOT NULL,
    region_code     text NOT NULL,
    department_code text NOT NULL,
    item_code       text NOT NULL,
    level           text NOT NULL,
    received bigint NOT NULL DEFAULT 0, online bigint NOT NULL DEFAULT 0, accepted bigint NOT NULL DEFAULT 0,
    rejected bigint NOT NULL DEFAULT 0, completed bigint NOT NULL DEFAULT 0, on_time bigint NOT NULL DEFAULT 0,
    immediate bigint NOT NULL DEFAULT 0, handled bigint NOT NULL DEFAULT 0, handling_us bigint NOT NULL DEFAULT 0,
    corr_cases bigint NOT NULL DEFAULT 0, corr_once bigint NOT NULL DEFAULT 0, evaluated bigint NOT NULL DEFAULT 0,
    satisfied bigint NOT NULL DEFAULT 0, out_of_list bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, region_code, department_code, item_code, level)$cols$;
    y integer;
BEGIN
    IF to_regclass('indicator_daily') IS NOT NULL THEN
        RETURN;
    END IF;
    IF ts THEN
        EXECUTE format('CREATE TABLE indicator_daily (%s)', cols);
    ELSE
        EXECUTE format('CREATE TABLE indicator_daily (%s) PARTITION BY RANGE (day)', cols);
        EXECUTE 'CREATE TABLE indicator_daily_default PARTITION OF indicator_daily DEFAULT';
        FOR y IN 2000..2040 LOOP
            EXECUTE format('CREATE TABLE indicator_daily_%s PARTITION OF indicator_daily'
                           ' FOR VALUES FROM (%L) TO (%L)', y, make_date(y, 1, 1), make_date(y + 1, 1, 1));
        END LOOP;
    END IF;
END $$;

CREATE TABLE IF NOT EXISTS violation (
    event_id        text PRIMARY KEY,
    case_id         text NOT NULL,
    event_type      text NOT NULL,
    item_code       text NOT NULL,
    region_code     text NOT NULL,
    department_code text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    rule            text NOT NULL,
    detected_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS violation_case_idx ON violation (case_id);
CREATE INDEX IF NOT EXISTS violation_time_idx ON violation (occurred_at);

-- One row per input record processed: makes redelivery a no-op and gives the reconciliation totals.
CREATE TABLE IF NOT EXISTS processed_batch (
    batch_id     text PRIMARY KEY,
    source       text NOT NULL,
    n_events     integer NOT NULL,
    n_new        integer NOT NULL,
    n_duplicate  integer NOT NULL,
    n_invalid    integer NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS dead_letter (
    id          bigserial PRIMARY KEY,
    dl_key      text NOT NULL UNIQUE,
    stage       text NOT NULL,   -- edge (refused by a connector), invalid (refused by the stream), orphan
    kind        text NOT NULL,   -- case_event or list_change
    source      text NOT NULL,
    reason      text NOT NULL,
    payload     jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS list_change (
    change_id    text PRIMARY KEY,
    item_code    text NOT NULL,
    action       text NOT NULL,
    effective_at timestamptz NOT NULL,
    payload      jsonb NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS list_change_item_idx ON list_change (item_code, effective_at);

CREATE TABLE IF NOT EXISTS list_item_version (
    item_code       text NOT NULL,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz,
    change_id       text NOT NULL,
    action          text NOT NULL,
    active          boolean NOT NULL,
    was_listed      boolean NOT NULL,
    name            text,
    category        text,
    department_code text,
    level           text,
    region_codes    text[] NOT NULL DEFAULT '{}',
    statutory_days  integer,
    committed_days  integer,
    legal_basis     text,
    devolved_from   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (item_code, valid_from, change_id)
);

-- Workers report here; readiness and `shenpi status` read it.
CREATE TABLE IF NOT EXISTS worker (
    worker_id   text PRIMARY KEY,
    host        text NOT NULL,
    pid         integer NOT NULL,
    started_at  timestamptz NOT NULL,
    seen_at     timestamptz NOT NULL,
    partitions  integer NOT NULL DEFAULT 0
);
