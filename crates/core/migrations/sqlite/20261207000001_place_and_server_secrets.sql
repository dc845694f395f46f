-- Each activity record names the account and region it happened in ("" with one place, "/{account}/{region}"
-- with several), so a reader who may see a pipeline in one place never reads a namesake's records in another.
-- Records written before this column existed have none: they are shown to admins only.
ALTER TABLE activity ADD COLUMN place TEXT;
CREATE INDEX activity_by_place ON activity (place, pipeline, id);

-- Logins under way are kept in a signed cookie now: nothing is written for an unauthenticated request.
DROP TABLE login_states;

-- Secrets every replica shares, made once (the key that signs logins under way).
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL
);
