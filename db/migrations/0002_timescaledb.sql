-- TimescaleDB where the extension can be had: indicator_daily becomes a hypertable with compression and
-- retention policies. Without the extension this migration changes nothing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        RAISE NOTICE 'timescaledb is not available: keeping native range partitions';
        RETURN;
    END IF;
    CREATE EXTENSION IF NOT EXISTS timescaledb;
    PERFORM create_hypertable('indicator_daily', 'day', chunk_time_interval => INTERVAL '30 days',
                              if_not_exists => true, migrate_data => true);
    ALTER TABLE indicator_daily SET (timescaledb.compress,
        timescaledb.compress_segmentby = 'region_code, department_code',
        timescaledb.compress_orderby = 'day, item_code, level');
    PERFORM add_compression_policy('indicator_daily', INTERVAL '400 days', if_not_exists => true);
    PERFORM add_retention_policy('indicator_daily', INTERVAL '15 years', if_not_exists => true);
END $$;
