//! Acting as the person (`--act-role`): each action is sent with credentials from `sts:AssumeRole` on the
//! given role with `SourceIdentity` set to the user, so SageMaker's `CreatedBy`/`LastModifiedBy` and
//! CloudTrail name the person, not the dashboard's own role.
//!
//! The person is carried by a task-local set around an action ([`as_person`]) rather than through every
//! gateway method: only the gateway's action macro reads it, and reads outside an action never need it.

use crate::sync::Unpoisoned;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use stepline_types::model::Upstream;

tokio::task_local! {
    static PERSON: String;
}

/// Run `f` on behalf of `user`.
pub async fn as_person<F: std::future::Future>(user: &str, f: F) -> F::Output {
    PERSON.scope(user.to_string(), f).await
}

/// The person an action is being taken for, if any.
pub fn person() -> Option<String> {
    PERSON.try_with(Clone::clone).ok()
}

/// Credentials are asked again when they have less than this left.
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// People whose credentials are kept at most (then the oldest half is forgotten).
const KEPT: usize = 1000;

pub struct ActRole {
    role_arn: String,
    sts: aws_sdk_sts::Client,
    kept: Mutex<HashMap<String, Credentials>>,
}

impl ActRole {
    pub fn new(role_arn: String, sts: aws_sdk_sts::Client) -> ActRole {
        ActRole { role_arn, sts, kept: Mutex::new(HashMap::new()) }
    }

    /// The person's credentials for the role, if kept and not within five minutes of expiring.
    pub fn kept(&self, user: &str) -> Option<Credentials> {
        let fresh = |c: &&Credentials| c.expiry().is_some_and(|e| e > SystemTime::now() + RENEW_BEFORE);
        self.kept.locked().get(user).filter(fresh).cloned()
    }

    /// Ask STS for the person's credentials (the gateway gives this call its turn in the limiter).
    pub async fn assume(&self, user: &str) -> Result<Credentials, Upstream> {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(sts_name(user))
            .source_identity(sts_name(user))
            .duration_seconds(3600)
            .send()
            .await
            .map_err(|e| crate::gateway::upstream("AssumeRole", e))?;
        let c = out.credentials().ok_or_else(|| Upstream::new("AssumeRole", "STS answered without credentials"))?;
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            expiry,
            "stepline-act-role",
        );
        let mut kept = self.kept.locked();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(user.to_string(), creds.clone());
        Ok(creds)
    }
}

/// A user name as STS takes it for `SourceIdentity` and `RoleSessionName`: `[\w+=,.@-]{2,64}`. Other
/// characters become `-`; what is left is cut at 64 and padded to 2.
pub fn sts_name(user: &str) -> String {
    let mut s: String = user
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) { c } else { '-' })
        .take(64)
        .collect();
    while s.len() < 2 {
        s.push('-');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_become_valid_source_identities() {
        assert_eq!(sts_name("ana@example.com"), "ana@example.com");
        assert_eq!(sts_name("Ana Müller"), "Ana-M-ller");
        assert_eq!(sts_name("x"), "x-");
        assert_eq!(sts_name(&"y".repeat(100)).len(), 64);
        assert_eq!(sts_name("a/b:c"), "a-b-c");
    }

    #[tokio::test]
    async fn the_person_is_known_only_inside_the_action() {
        assert_eq!(person(), None);
        let inside = as_person("ana", async { person() }).await;
        assert_eq!(inside.as_deref(), Some("ana"));
        assert_eq!(person(), None);
    }
}
