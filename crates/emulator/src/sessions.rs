//! The role sessions of credentials the emulator's STS issued (`crate::sts`): for each temporary access key,
//! the role, the session name, the SourceIdentity and the expiry. A call signed with such a key is named as
//! that session (and so as the person of its SourceIdentity) in CreatedBy and LastModifiedBy, and refused once
//! the credentials expired.
//!
//! The table lives in the store (a reset forgets it) and is written down with `--data-dir`, so credentials a
//! client holds keep naming the same person after a restart. It is bounded: past [`MAX_SESSIONS`] the oldest
//! sessions are forgotten, and their keys then name a plain IAM user, as any key the emulator never issued does.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::state::{Epoch, Principal, SessionIdentity};

/// How many sessions are remembered at most.
pub const MAX_SESSIONS: usize = 10_000;

/// AWS's temporary access keys start with `ASIA`; only such keys can be sessions, so calls signed with any
/// other key never look the table up (nor take the lock it lives under).
pub const ISSUED_PREFIX: &str = "ASIA";

pub fn is_temporary_key(key: &str) -> bool {
    key.starts_with(ISSUED_PREFIX)
}

/// One set of issued credentials. The secret key is not kept: the emulator checks no signature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub access_key: String,
    pub session_token: String,
    pub role_arn: String,
    pub session_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    pub issued: Epoch,
    pub expires: Epoch,
}

impl Session {
    /// The account of the role (checked when the session was issued).
    pub fn account(&self) -> &str {
        parse_role_arn(&self.role_arn).map(|r| r.account).unwrap_or_default()
    }

    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`: the role's path is not part of it.
    pub fn arn(&self) -> String {
        let name = parse_role_arn(&self.role_arn).map(|r| r.name).unwrap_or_default();
        format!("arn:aws:sts::{}:assumed-role/{name}/{}", self.account(), self.session_name)
    }

    /// `<role id>:<session name>`, STS's AssumedRoleId and the session's PrincipalId.
    pub fn principal_id(&self) -> String {
        format!("{}:{}", role_id(&self.role_arn), self.session_name)
    }

    pub fn identity(&self) -> SessionIdentity {
        SessionIdentity {
            arn: self.arn(),
            principal_id: self.principal_id(),
            source_identity: self.source_identity.clone(),
        }
    }
}

/// The parts of an IAM role ARN `arn:aws:iam::<12 digits>:role/<path/><name>`.
#[derive(Debug, PartialEq, Eq)]
pub struct RoleArn<'a> {
    pub account: &'a str,
    pub name: &'a str,
}

/// An IAM role ARN's account and name, or None when the text is not one. Role names are 1..64 of
/// `[\w+=,.@-]` (ASCII); path segments are printable ASCII.
pub fn parse_role_arn(arn: &str) -> Option<RoleArn<'_>> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, rest) = rest.split_once(':')?;
    let path = rest.strip_prefix("role/")?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) || path.len() > 512 {
        return None;
    }
    let (dirs, name) = match path.rsplit_once('/') {
        Some((dirs, name)) => (Some(dirs), name),
        None => (None, path),
    };
    let name_ok = (1..=64).contains(&name.len()) && name.bytes().all(is_name_byte);
    let dirs_ok =
        dirs.is_none_or(|d| d.split('/').all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_graphic())));
    (name_ok && dirs_ok).then_some(RoleArn { account, name })
}

/// The characters of role names, session names and source identities: STS's `[\w+=,.@-]`, where `\w` is
/// ASCII as in the service's (Java) patterns.
pub fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b)
}

/// A role's unique id (`AROA` and 17 characters), the same for the same role ARN on every run, as a role's id
/// stays while the role exists.
pub fn role_id(role_arn: &str) -> String {
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a, twice with different offsets: 17 base-32 characters need 85 bits.
    let fnv = |offset: u64| role_arn.bytes().fold(offset, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4));
    let bits = (u128::from(a) << 64) | u128::from(b);
    let id: String = (0..17).map(|i| BASE32[((bits >> (i * 5)) & 31) as usize] as char).collect();
    format!("AROA{id}")
}

/// Who signed a call.
#[derive(Debug)]
pub enum Who<'a> {
    /// No `Authorization` header.
    Anonymous,
    /// A key the emulator did not issue (or has forgotten): an IAM user named by the key.
    User(&'a str),
    Session(&'a Session),
}

impl Who<'_> {
    /// How a record names the caller.
    pub fn principal(&self) -> Option<Principal> {
        match self {
            Who::Anonymous => None,
            Who::User(key) => Some(Principal::Key(key.to_string())),
            Who::Session(s) => Some(Principal::Session(s.identity())),
        }
    }
}

/// Why issued credentials were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Expired,
    /// The session token sent is not the one issued with the key (or none was sent).
    InvalidToken,
}

/// The issued sessions by access key, and their keys oldest first.
#[derive(Default)]
pub struct Sessions {
    by_key: HashMap<String, Session>,
    order: VecDeque<String>,
}

impl Sessions {
    pub fn get(&self, key: &str) -> Option<&Session> {
        self.by_key.get(key)
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The keys that inserting one more session forgets, oldest first.
    pub fn overflow(&self) -> Vec<String> {
        let n = (self.order.len() + 1).saturating_sub(MAX_SESSIONS);
        self.order.iter().take(n).cloned().collect()
    }

    /// Remember a session (forgetting what [`Sessions::overflow`] named).
    pub fn insert(&mut self, session: Session) {
        for key in self.overflow() {
            self.order.pop_front();
            self.by_key.remove(&key);
        }
        self.order.push_back(session.access_key.clone());
        self.by_key.insert(session.access_key.clone(), session);
    }

    /// Who signed a call with `key` (and `token`, the `X-Amz-Security-Token` sent) at `now`.
    pub fn who<'a>(&'a self, key: Option<&'a str>, token: Option<&str>, now: Epoch) -> Result<Who<'a>, Refusal> {
        let Some(key) = key else { return Ok(Who::Anonymous) };
        let Some(session) = self.by_key.get(key) else { return Ok(Who::User(key)) };
        if token != Some(session.session_token.as_str()) {
            return Err(Refusal::InvalidToken);
        }
        if now >= session.expires {
            return Err(Refusal::Expired);
        }
        Ok(Who::Session(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(key: &str, expires: Epoch) -> Session {
        Session {
            access_key: key.into(),
            session_token: format!("token-{key}"),
            role_arn: "arn:aws:iam::210987654321:role/team/ml/PipelineRunner".into(),
            session_name: "alice-session".into(),
            source_identity: Some("alice@example.com".into()),
            issued: 0.0,
            expires,
        }
    }

    #[test]
    fn role_arns_are_parsed_strictly() {
        let r = parse_role_arn("arn:aws:iam::123456789012:role/service-role/Sage.Maker+Role@x").unwrap();
        assert_eq!(r, RoleArn { account: "123456789012", name: "Sage.Maker+Role@x" });
        for bad in [
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::12345678901:role/R",
            "arn:aws:iam::1234567890123:role/R",
            "arn:aws:iam::12345678901x:role/R",
            "arn:aws:s3:::bucket/role/R",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a//R",
            "arn:aws:iam::123456789012:role//R",
            "arn:aws:iam::123456789012:role/has space",
            "arn:aws:iam::123456789012:role/rôle",
            "not an arn",
        ] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
        assert!(parse_role_arn(&format!("arn:aws:iam::123456789012:role/{}", "R".repeat(65))).is_none());
    }

    #[test]
    fn a_session_is_named_by_its_role_without_the_path() {
        let s = session("ASIAONE", 10.0);
        assert_eq!(s.arn(), "arn:aws:sts::210987654321:assumed-role/PipelineRunner/alice-session");
        let id = s.principal_id();
        assert!(id.starts_with("AROA") && id.ends_with(":alice-session"), "{id}");
        assert_eq!(id.len(), 4 + 17 + 1 + "alice-session".len());
        assert_eq!(role_id(&s.role_arn), role_id(&s.role_arn), "stable");
        assert_ne!(role_id(&s.role_arn), role_id("arn:aws:iam::210987654321:role/Other"));
    }

    #[test]
    fn keys_resolve_to_users_sessions_or_refusals() {
        let mut t = Sessions::default();
        t.insert(session("ASIAONE", 100.0));
        assert!(matches!(t.who(None, None, 0.0), Ok(Who::Anonymous)));
        assert!(matches!(t.who(Some("AKIDPLAIN"), None, 0.0), Ok(Who::User("AKIDPLAIN"))));
        assert!(matches!(t.who(Some("ASIANEVERISSUED"), None, 0.0), Ok(Who::User(_))));
        let who = t.who(Some("ASIAONE"), Some("token-ASIAONE"), 99.0).unwrap();
        let Some(Principal::Session(identity)) = who.principal() else { panic!("{who:?}") };
        assert_eq!(identity.source_identity.as_deref(), Some("alice@example.com"));
        assert_eq!(t.who(Some("ASIAONE"), Some("token-ASIAONE"), 100.0).unwrap_err(), Refusal::Expired);
        assert_eq!(t.who(Some("ASIAONE"), Some("other"), 0.0).unwrap_err(), Refusal::InvalidToken);
        assert_eq!(t.who(Some("ASIAONE"), None, 0.0).unwrap_err(), Refusal::InvalidToken);
    }

    #[test]
    fn the_table_forgets_the_oldest_past_its_bound() {
        let mut t = Sessions::default();
        for i in 0..MAX_SESSIONS {
            t.insert(session(&format!("ASIA{i}"), 1.0));
        }
        assert_eq!(t.overflow(), vec!["ASIA0".to_string()]);
        t.insert(session("ASIANEW", 1.0));
        assert_eq!(t.len(), MAX_SESSIONS);
        assert!(t.get("ASIA0").is_none() && t.get("ASIA1").is_some() && t.get("ASIANEW").is_some());
    }
}
