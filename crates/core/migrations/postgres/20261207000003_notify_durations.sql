-- How long each succeeded execution ran, as the notifications saw it end: a pipeline's usual run (the median
-- of its last ones) makes "running long" relative to it (`long-running-times`).
ALTER TABLE notify_seen ADD COLUMN seconds DOUBLE PRECISION;
CREATE INDEX notify_seen_by_pipeline ON notify_seen (place, pipeline, seen_ms);
