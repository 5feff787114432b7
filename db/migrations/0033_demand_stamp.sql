-- A count moved by every statement that writes demands, in its transaction: the analyses' cache is keyed by it (with
-- the events' and the list's), so a simplify or devolve computed before demands arrived is not served after them.
-- Upserted, so that a truncated stamp starts again; fired after the rollup's triggers (by name), which take the
-- writers' lock first, so two writers never take the two in opposite orders.
CREATE TABLE IF NOT EXISTS demand_stamp (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    n   bigint  NOT NULL
);

CREATE OR REPLACE FUNCTION demand_stamp_bump() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO demand_stamp (one, n) VALUES (true, 1) ON CONFLICT (one) DO UPDATE SET n = demand_stamp.n + 1;
    RETURN NULL;
END
$f$;

DROP TRIGGER IF EXISTS demand_stamp_bump ON demand;
CREATE TRIGGER demand_stamp_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON demand
    FOR EACH STATEMENT EXECUTE FUNCTION demand_stamp_bump();
