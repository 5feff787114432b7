"""PostgreSQL advisory lock ids, all in one place so that no two uses meet by accident."""

MIGRATIONS = 72_190_415  # one upgrader at a time
# Case batches hold it shared, list changes and calendar loads exclusive: a list change then sees every case a
# concurrent batch wrote, and a batch evaluates its cases against the list as of after the change.
LIST = 72_190_416
PROPAGATION_LEADER = 72_190_417  # one worker at a time drives list changes to the platform
ALERTING_LEADER = 72_190_418  # one worker at a time evaluates the alert rules
ANALYSIS_LEADER = 72_190_419  # one worker at a time recomputes decision support on its schedule
PUBLIC_LEADER = 72_190_421  # one worker at a time computes the public portal's snapshots
# writers of demands count an (item, requester) pair again one at a time, each seeing the others' committed demands
# (db/migrations/0031_demand_rollup.sql holds the same number)
DEMAND_PAIRS = 72_190_422
