-- A cancellation may carry region_codes (events.md): the item stops in those regions only and stays in force
-- elsewhere. The regions where a version stands stopped.
ALTER TABLE list_item_version ADD COLUMN IF NOT EXISTS stopped_in text[] NOT NULL DEFAULT '{}';
