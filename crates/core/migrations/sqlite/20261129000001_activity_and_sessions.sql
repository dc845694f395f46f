-- The activity log: every action, login and refusal, append-only (the triggers refuse to change a row).
CREATE TABLE activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    user_name TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    pipeline TEXT,
    execution_arn TEXT,
    request_id TEXT NOT NULL,
    error_code TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX activity_by_user ON activity (user_name, id);
CREATE INDEX activity_by_pipeline ON activity (pipeline, id);
CREATE INDEX activity_by_execution ON activity (execution_arn, id);
CREATE INDEX activity_by_action ON activity (action, id);
CREATE TRIGGER activity_no_update BEFORE UPDATE ON activity
BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
CREATE TRIGGER activity_no_delete BEFORE DELETE ON activity
BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;

-- Logins: only a hash of each session id is kept.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    groups_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);

-- Logins under way: what the provider's answer is checked against (state, nonce, PKCE verifier).
CREATE TABLE login_states (
    state TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
