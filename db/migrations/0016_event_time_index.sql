-- Windows that cut days count the events inside the cut parts: found by a B-tree on their instant, whatever
-- order they were written in (a BRIN only helps while events arrive in time order; backfills do not).
CREATE INDEX IF NOT EXISTS case_event_time_idx ON case_event (occurred_at);
DROP INDEX IF EXISTS case_event_time_brin;
