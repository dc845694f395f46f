//! Login sessions and logins under way. A session id is a random 256-bit value given to the browser in an
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

/// How long a login may take between leaving for the provider and coming back.
const LOGIN_MINUTES: i64 = 10;

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
        let row = sqlx::query("SELECT user_name, groups_json FROM sessions WHERE id_hash = $1 AND expires_ms > $2")
            .bind(digest(id))
            .bind(now_ms())
            .fetch_optional(self.pool())
            .await
            .map_err(|e| format!("sessions could not be read: {e}"))?;
        Ok(row.and_then(|r| {
            Some(SessionUser {
                user: r.try_get("user_name").ok()?,
                groups: serde_json::from_str(&r.try_get::<String, _>("groups_json").ok()?).unwrap_or_default(),
            })
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

    /// Remember a login under way by its `state`.
    pub async fn put_login(&self, state: &str, login: &LoginState) -> Result<(), String> {
        sqlx::query(
            "INSERT INTO login_states (state, nonce, pkce_verifier, return_to, expires_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest(state))
        .bind(login.nonce.as_str())
        .bind(login.pkce_verifier.as_str())
        .bind(login.return_to.as_str())
        .bind(now_ms() + LOGIN_MINUTES * 60_000)
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| format!("the login could not be started: {e}"))
    }

    /// The login under way with this `state`, taken (a state is good for one answer only).
    pub async fn take_login(&self, state: &str) -> Result<Option<LoginState>, String> {
        let row = sqlx::query(
            "DELETE FROM login_states WHERE state = $1 AND expires_ms > $2 RETURNING nonce, pkce_verifier, return_to",
        )
        .bind(digest(state))
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| format!("the login could not be read: {e}"))?;
        Ok(row.and_then(|r| {
            Some(LoginState {
                nonce: r.try_get("nonce").ok()?,
                pkce_verifier: r.try_get("pkce_verifier").ok()?,
                return_to: r.try_get("return_to").ok()?,
            })
        }))
    }

    /// Forget expired sessions and abandoned logins.
    pub async fn purge_expired(&self) -> Result<u64, String> {
        let now = now_ms();
        let a = sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1").bind(now).execute(self.pool()).await;
        let b = sqlx::query("DELETE FROM login_states WHERE expires_ms <= $1").bind(now).execute(self.pool()).await;
        Ok(a.map_err(|e| e.to_string())?.rows_affected() + b.map_err(|e| e.to_string())?.rows_affected())
    }
}
