-- Windows that start or end inside a day are answered exactly from the raw events of their edge days.
CREATE INDEX IF NOT EXISTS case_event_time_idx ON case_event (occurred_at);
