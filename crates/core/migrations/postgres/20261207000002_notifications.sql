-- Notifications (stepline_core::notify). Each event is written once: its key names the change, so the same
-- change seen twice (SageMaker reporting it again, two replicas) is one row.
CREATE TABLE notify_events (
    id BIGSERIAL PRIMARY KEY,
    event_key TEXT NOT NULL UNIQUE,
    place TEXT NOT NULL,
    kind TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    execution_arn TEXT NOT NULL,
    source TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);

-- The outbox: one delivery per event and channel, written in the event's own transaction, sent by one
-- replica at a time (the claim), retried with backoff until sent or given up ('dead').
CREATE TABLE notify_deliveries (
    id BIGSERIAL PRIMARY KEY,
    event_id BIGINT NOT NULL REFERENCES notify_events (id),
    channel TEXT NOT NULL,
    delivery_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    due_ms BIGINT NOT NULL,
    claimed_until_ms BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_ms BIGINT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (status, due_ms);
CREATE INDEX notify_deliveries_by_event ON notify_deliveries (event_id);

-- What the poller last saw of each execution: a status other than this one is a change.
CREATE TABLE notify_seen (
    execution_arn TEXT PRIMARY KEY,
    place TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    changes BIGINT NOT NULL,
    seen_ms BIGINT NOT NULL
);

-- The pipelines the poller has looked at: the first look only takes note (history is not news).
CREATE TABLE notify_pipelines (
    pipeline_key TEXT PRIMARY KEY,
    since_ms BIGINT NOT NULL
);
