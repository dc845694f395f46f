-- Personal subscriptions (stepline_core::notify::personal): a person watching a pipeline, or waiting for an
-- execution's end (execution_arn set), told at their own address or webhook. The person's groups are kept as
-- they were when they subscribed: each event checks that the policy still lets them read the pipeline.
CREATE TABLE notify_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    owner_groups TEXT NOT NULL,
    place TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    execution_arn TEXT NOT NULL DEFAULT '',
    execution_id TEXT NOT NULL DEFAULT '',
    events TEXT NOT NULL,
    target TEXT NOT NULL,
    address TEXT NOT NULL,
    secret TEXT,
    created_ms BIGINT NOT NULL,
    ended_ms BIGINT
);
-- The same subscription made twice (a double submit) is one.
CREATE UNIQUE INDEX notify_subscriptions_once ON notify_subscriptions (owner, place, pipeline, execution_arn, target, address);
CREATE INDEX notify_subscriptions_by_place ON notify_subscriptions (place, ended_ms);
-- A delivery to a subscription rather than to a channel of the settings.
ALTER TABLE notify_deliveries ADD COLUMN subscription_id BIGINT;
