-- A case's deadline as it stands at an instant (the pause added) is written into each statement that needs it
-- (streams/indicators/edges.py: due_sql, overdue_sql), where the planner runs it without a function call per case:
-- the live view spent 4.5 µs on every open case calling this function. Nothing calls it any more.
DROP FUNCTION IF EXISTS case_due_at(timestamptz, timestamptz, tstzmultirange, timestamptz);
