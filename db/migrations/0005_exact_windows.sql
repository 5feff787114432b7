-- Windows that start or end inside a day are answered exactly from the raw events of their edge days.
-- BRIN: events arrive roughly in time order, and it costs next to nothing on the hot insert path.
CREATE INDEX IF NOT EXISTS case_event_time_brin ON case_event USING brin (occurred_at) WITH (pages_per_range = 32);
