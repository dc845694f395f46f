-- A delivery sent with the others of its channel's digest (a rule's `digest-minutes`): 1, else 0.
ALTER TABLE notify_deliveries ADD COLUMN digest BIGINT NOT NULL DEFAULT 0;
