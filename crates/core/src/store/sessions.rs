//! Login sessions and the server's shared secrets. A session id is a random 256-bit value given to the browser in an
//! HttpOnly cookie; only its SHA-256 is stored, so the database does not hold usable session ids.

use sqlx::Row;

use super::{digest, now_ms, random_token, Db};

/// Who a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionUser {
    pub user: String,
    pub groups: Vec<String>,
}

/// What a login's answer is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginState {
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
}

impl Db {
    /// A new session for `user`; the id to put in the cookie.
    pub async fn create_session(&self, who: &SessionUser, hours: u32) -> Result<String, String> {
        let id = random_token(32);
        let now = now_ms();
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_name, groups_json, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest(&id))
        .bind(who.user.as_str())
        .bind(serde_json::to_string(&who.groups).unwrap_or_else(|_| "[]".into()))
        .bind(now)
        .bind(now + i64::from(hours) * 3_600_000)
        .execute(self.pool())
        .await
        .map_err(|e| format!("the session could not be saved: {e}"))?;
        Ok(id)
    }

    /// The session's user, if the id is known and the session has not expired.
    pub async fn session(&self, id: &str) -> Result<Option<SessionUser>, String> {
        Ok(self.session_until(id).await?.map(|(who, _)| who))
    }

    /// The session's user and when it expires (Unix milliseconds), if the id is known and it has not.
    pub async fn session_until(&self, id: &str) -> Result<Option<(SessionUser, i64)>, String> {
        let row = sqlx::query(
            "SELECT user_name, groups_json, expires_ms FROM sessions WHERE id_hash = $1 AND expires_ms > $2",
        )
        .bind(digest(id))
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| format!("sessions could not be read: {e}"))?;
        Ok(row.and_then(|r| {
            let who = SessionUser {
                user: r.try_get("user_name").ok()?,
                groups: serde_json::from_str(&r.try_get::<String, _>("groups_json").ok()?).unwrap_or_default(),
            };
            Some((who, r.try_get::<i64, _>("expires_ms").ok()?))
        }))
    }

    pub async fn end_session(&self, id: &str) -> Result<(), String> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(digest(id))
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(|e| format!("the session could not be ended: {e}"))
    }

    /// The secret named `name` every replica shares: 32 random bytes, made by whichever replica asks first.
    pub async fn secret(&self, name: &str) -> Result<Vec<u8>, String> {
        sqlx::query("INSERT INTO server_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(random_token(32))
            .execute(self.pool())
            .await
            .map_err(|e| format!("the server's secrets could not be written: {e}"))?;
        let hex: String = sqlx::query_scalar("SELECT secret FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool())
            .await
            .map_err(|e| format!("the server's secrets could not be read: {e}"))?;
        (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| format!("the server secret {name} is damaged"))
    }

    /// Forget expired sessions.
    pub async fn purge_expired(&self) -> Result<u64, String> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1").bind(now_ms()).execute(self.pool()).await;
        Ok(done.map_err(|e| e.to_string())?.rows_affected())
    }
}
