//! Who is asking, as the guard learned it: the identity, the login it came with, and the request's id.

use super::*;

/// Who is asking: learned once per request by [`guard`], read by everything after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
    /// Logged in through Stepline's own login (so it can log out).
    pub session: bool,
    /// The login's session (its id's digest) and when it ends, for what outlives the request that was
    /// identified: a live stream ends when the session is logged out or expires.
    pub login: Option<SessionRef>,
    /// Nobody in particular (`--auth none`): told by how the identity was made, never by its name, so a
    /// person whose proxy or provider calls them "anonymous" is still a person (and counted as one).
    anonymous: bool,
}

/// A login session, as an identity refers to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRef {
    /// SHA-256 of the session id (the id itself stays in the cookie).
    pub digest: String,
    pub expires_ms: i64,
}

impl Identity {
    /// A person, as a proxy, a load balancer or a login names them.
    pub fn person(user: String, groups: Vec<String>, session: bool) -> Identity {
        Identity { user, groups, session, login: None, anonymous: false }
    }

    pub fn anonymous() -> Identity {
        Identity { user: "anonymous".into(), groups: vec![], session: false, login: None, anonymous: true }
    }

    /// Nobody in particular: no login (`--auth none`).
    pub fn is_anonymous(&self) -> bool {
        self.anonymous
    }

    pub(super) fn as_person(&self) -> Person<'_> {
        Person { user: &self.user, groups: &self.groups }
    }
}

/// The request's id: in the activity log, the `x-request-id` header and error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);
