-- Demands figures at city scale (spec/demands.md §6): the additive figures of demands summed by local day and by
-- local month, per (region, linked item, linked department, channel) and per topic (topic '' = every demand once,
-- a topic's row = the demands having it). Kept by statement triggers on `demand` in the writer's transaction: what
-- a statement's old rows contributed is retracted and what its new rows contribute added (a later version, a link
-- by hand, a deletion alike), so the rollup equals a recomputation from the rows at every commit.
-- Non-additive repeat_requesters is counted apart: by item from demand_item_requester below, else from the rows.
CREATE TABLE IF NOT EXISTS demand_rollup (
    span            text NOT NULL,     -- day, month
    day             date NOT NULL,     -- the local day, or the first day of the local month
    region_code     text NOT NULL,
    item_code       text NOT NULL,     -- '' unlinked
    department_code text NOT NULL,     -- '' none
    channel         text NOT NULL,
    topic           text NOT NULL,     -- '' every demand once; else the demands having the topic
    demands         bigint NOT NULL,
    complaints      bigint NOT NULL,
    resolved        bigint NOT NULL,   -- outcome 已解决
    handled         bigint NOT NULL,   -- an outcome or a handled_at
    satisfied       bigint NOT NULL,   -- 满意, 基本满意
    rated           bigint NOT NULL,
    timed           bigint NOT NULL,   -- with a handled_at
    handled_us      bigint NOT NULL,   -- the sum of received → handled, microseconds
    PRIMARY KEY (span, day, region_code, item_code, department_code, channel, topic)
);

-- The statement that adds to the rollup what the rows of `source` (sign, then demand's columns) contribute times sign.
CREATE OR REPLACE FUNCTION demand_rollup_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
SELECT format($q$
WITH ch AS (%s),
b AS (
    SELECT (received_at AT TIME ZONE 'Asia/Shanghai')::date AS day, region_code,
           coalesce(link_item, '') AS item_code, coalesce(link_department, '') AS department_code, channel, topics,
           sign AS demands,
           CASE WHEN kind = '投诉' THEN sign ELSE 0 END AS complaints,
           CASE WHEN outcome = '已解决' THEN sign ELSE 0 END AS resolved,
           CASE WHEN outcome IS NOT NULL OR handled_at IS NOT NULL THEN sign ELSE 0 END AS handled,
           CASE WHEN satisfaction IN ('满意', '基本满意') THEN sign ELSE 0 END AS satisfied,
           CASE WHEN satisfaction IS NOT NULL THEN sign ELSE 0 END AS rated,
           CASE WHEN handled_at IS NOT NULL THEN sign ELSE 0 END AS timed,
           coalesce(sign * (extract(epoch FROM handled_at - received_at) * 1000000)::bigint, 0) AS handled_us
    FROM ch
), t AS (
    SELECT b.*, x.topic FROM b CROSS JOIN LATERAL unnest(ARRAY[''] || b.topics) AS x(topic)
), g AS (
    SELECT 'day' AS span, day, region_code, item_code, department_code, channel, topic, demands, complaints, resolved,
           handled, satisfied, rated, timed, handled_us FROM t
    UNION ALL
    SELECT 'month', date_trunc('month', day)::date, region_code, item_code, department_code, channel, topic, demands,
           complaints, resolved, handled, satisfied, rated, timed, handled_us FROM t
)
INSERT INTO demand_rollup AS r
SELECT span, day, region_code, item_code, department_code, channel, topic, sum(demands), sum(complaints),
       sum(resolved), sum(handled), sum(satisfied), sum(rated), sum(timed), sum(handled_us)
FROM g GROUP BY 1, 2, 3, 4, 5, 6, 7
HAVING sum(demands) <> 0 OR sum(complaints) <> 0 OR sum(resolved) <> 0 OR sum(handled) <> 0 OR sum(satisfied) <> 0
    OR sum(rated) <> 0 OR sum(timed) <> 0 OR sum(handled_us) <> 0
ORDER BY 1, 2, 3, 4, 5, 6, 7  -- concurrent writers lock rows in one order
ON CONFLICT (span, day, region_code, item_code, department_code, channel, topic) DO UPDATE SET
    demands = r.demands + EXCLUDED.demands, complaints = r.complaints + EXCLUDED.complaints,
    resolved = r.resolved + EXCLUDED.resolved, handled = r.handled + EXCLUDED.handled,
    satisfied = r.satisfied + EXCLUDED.satisfied, rated = r.rated + EXCLUDED.rated,
    timed = r.timed + EXCLUDED.timed, handled_us = r.handled_us + EXCLUDED.handled_us
$q$, source)
$f$;

-- repeat_requesters by item: each (item, requester) with more than one demand, how many, the first and the last, and
-- the one region and department of them all (NULL when more than one). A window that holds all of a pair's demands, in
-- the scope, is answered from here; the few pairs a window's ends or a scope cut are counted from their demands.
CREATE TABLE IF NOT EXISTS demand_item_requester (
    item_code       text NOT NULL,
    requester_hash  text NOT NULL,
    demands         integer NOT NULL,
    first_at        timestamptz NOT NULL,
    last_at         timestamptz NOT NULL,
    region_code     text,
    department_code text,
    PRIMARY KEY (item_code, requester_hash)
);

-- The pairs the rows of `source` touch, counted again from their demands.
CREATE OR REPLACE FUNCTION demand_item_requester_sql(source text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
SELECT ARRAY[format($q$
DELETE FROM demand_item_requester r USING (SELECT DISTINCT link_item, requester_hash FROM (%s) ch
    WHERE link_item IS NOT NULL AND requester_hash IS NOT NULL) a
WHERE r.item_code = a.link_item AND r.requester_hash = a.requester_hash
$q$, source), format($q$
INSERT INTO demand_item_requester
SELECT d.link_item, d.requester_hash, count(*), min(d.received_at), max(d.received_at),
       CASE WHEN min(d.region_code) = max(d.region_code) THEN min(d.region_code) END,
       CASE WHEN count(DISTINCT d.link_department) = 1 AND count(d.link_department) = count(*)
            THEN min(d.link_department) END
FROM demand d JOIN (SELECT DISTINCT link_item, requester_hash FROM (%s) ch
    WHERE link_item IS NOT NULL AND requester_hash IS NOT NULL) a
    ON d.link_item = a.link_item AND d.requester_hash = a.requester_hash
GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 2
$q$, source)]
$f$;

CREATE OR REPLACE FUNCTION demand_rollup_keep() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
    source text;
    step text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM demand_rollup;  -- not TRUNCATE: the same statement may be truncating it
        DELETE FROM demand_item_requester;
        RETURN NULL;
    END IF;
    source := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_rows'
        ELSE 'SELECT -1 AS sign, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows' END;
    -- core/locks.py DEMAND_PAIRS: a pair is counted again from its demands, so two writers at once would each miss
    -- the other's uncommitted ones; after the lock each statement sees what the other committed. Taken before the
    -- rollup's rows too, so that no writer holds rollup rows while it waits for the lock.
    PERFORM pg_advisory_xact_lock(72190422);
    EXECUTE demand_rollup_sql(source);
    FOREACH step IN ARRAY demand_item_requester_sql(source) LOOP
        EXECUTE step;
    END LOOP;
    RETURN NULL;
END
$f$;

DROP TRIGGER IF EXISTS demand_rollup_insert ON demand;
DROP TRIGGER IF EXISTS demand_rollup_update ON demand;
DROP TRIGGER IF EXISTS demand_rollup_delete ON demand;
DROP TRIGGER IF EXISTS demand_rollup_truncate ON demand;
CREATE TRIGGER demand_rollup_insert AFTER INSERT ON demand REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION demand_rollup_keep();
CREATE TRIGGER demand_rollup_update AFTER UPDATE ON demand REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION demand_rollup_keep();
CREATE TRIGGER demand_rollup_delete AFTER DELETE ON demand REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION demand_rollup_keep();
CREATE TRIGGER demand_rollup_truncate AFTER TRUNCATE ON demand
    FOR EACH STATEMENT EXECUTE FUNCTION demand_rollup_keep();

-- The demands there are already.
TRUNCATE demand_rollup, demand_item_requester;
DO $b$
DECLARE
    step text;
BEGIN
    EXECUTE demand_rollup_sql('SELECT 1 AS sign, * FROM demand');
    FOREACH step IN ARRAY demand_item_requester_sql('SELECT * FROM demand') LOOP
        EXECUTE step;
    END LOOP;
END
$b$;

-- An (item, requester)'s demands, read from the index alone: counted again when they change, and for the pairs a
-- window or a scope cuts.
CREATE INDEX IF NOT EXISTS demand_item_requester_idx ON demand (link_item, requester_hash)
    INCLUDE (received_at, region_code, link_department) WHERE requester_hash IS NOT NULL;
