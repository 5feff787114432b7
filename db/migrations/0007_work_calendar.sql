-- Working days, for deadlines from committed days and the overdue alert: Monday to Friday, except the days
-- listed here: statutory holidays (workday false) and the weekend days worked in their place (調休, true).
-- Empty: Monday to Friday. Set with `shenpi calendar load FILE`.
CREATE TABLE IF NOT EXISTS work_calendar (
    day     date PRIMARY KEY,
    workday boolean NOT NULL,
    note    text
);
