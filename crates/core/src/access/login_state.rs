//! A login under way, kept in the browser rather than the database: the `stepline_login` cookie holds the
//! state's digest, the nonce, the PKCE verifier, where to return and an expiry, signed with HMAC-SHA256 under
//! a key every replica shares (kept in the database, made once). `GET /auth/login` is public, so keeping the
//! login server-side let anyone write rows in a loop; now it writes nothing.
//!
//! The cookie is HttpOnly and bound to this browser; its MAC stops a forged or edited one, its expiry an old
//! one, and the state it names must be the one the provider sends back. A state is good for one answer: the
//! callback remembers used states until they would have expired anyway.

use aws_lc_rs::hmac;
use base64::Engine;

use crate::store::LoginState;

/// How long a login may take between leaving for the provider and coming back.
pub const LOGIN_SECONDS: i64 = 600;
/// The longest return address kept (the cookie must stay well under browsers' 4 KB): `oidc::safe_return`
/// returns to the home page instead of a longer one.
pub const MAX_RETURN: usize = 1024;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub struct LoginSeal {
    key: hmac::Key,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
    /// The state's digest (the state itself travels only through the provider).
    s: String,
    n: String,
    v: String,
    r: String,
    /// Expiry, Unix milliseconds.
    e: i64,
}

/// Why a login cookie is not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Unsealed {
    Missing,
    Forged,
    Expired,
    OtherLogin,
}

impl Unsealed {
    pub fn message(&self) -> &'static str {
        match self {
            Unsealed::Missing | Unsealed::OtherLogin => {
                "This login was not started in this browser (or took over ten minutes); start again."
            }
            Unsealed::Forged => "This login's cookie has been tampered with; start again.",
            Unsealed::Expired => "This login has expired; start again.",
        }
    }
}

impl LoginSeal {
    pub fn new(secret: &[u8]) -> LoginSeal {
        LoginSeal { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    /// The cookie value for a login with `state`, good until `expires_ms`.
    pub fn seal(&self, state: &str, login: &LoginState, expires_ms: i64) -> String {
        let sealed = Sealed {
            s: crate::store::digest(state),
            n: login.nonce.clone(),
            v: login.pkce_verifier.clone(),
            r: login.return_to.clone(),
            e: expires_ms,
        };
        let payload = B64.encode(serde_json::to_vec(&sealed).unwrap_or_default());
        let tag = hmac::sign(&self.key, payload.as_bytes());
        format!("{payload}.{}", B64.encode(tag.as_ref()))
    }

    /// The login a cookie holds, if it is this server's, unexpired at `now_ms`, and for `state`.
    pub fn open(&self, cookie: Option<&str>, state: &str, now_ms: i64) -> Result<LoginState, Unsealed> {
        let cookie = cookie.filter(|c| !c.is_empty()).ok_or(Unsealed::Missing)?;
        let (payload, tag) = cookie.split_once('.').ok_or(Unsealed::Forged)?;
        let tag = B64.decode(tag).map_err(|_| Unsealed::Forged)?;
        hmac::verify(&self.key, payload.as_bytes(), &tag).map_err(|_| Unsealed::Forged)?;
        let sealed: Sealed =
            B64.decode(payload).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(Unsealed::Forged)?;
        if sealed.e <= now_ms {
            return Err(Unsealed::Expired);
        }
        if sealed.s != crate::store::digest(state) {
            return Err(Unsealed::OtherLogin);
        }
        Ok(LoginState { nonce: sealed.n, pkce_verifier: sealed.v, return_to: sealed.r })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> LoginState {
        LoginState { nonce: "n".into(), pkce_verifier: "v".into(), return_to: "/pipelines/A".into() }
    }

    #[test]
    fn a_sealed_login_opens_only_unchanged_unexpired_and_for_its_own_state() {
        let seal = LoginSeal::new(&[7; 32]);
        let cookie = seal.seal("state-1", &login(), 2_000);
        assert!(cookie.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "cookie-safe: {cookie}");
        assert_eq!(seal.open(Some(&cookie), "state-1", 1_000), Ok(login()));
        assert_eq!(seal.open(Some(&cookie), "state-2", 1_000), Err(Unsealed::OtherLogin));
        assert_eq!(seal.open(Some(&cookie), "state-1", 2_000), Err(Unsealed::Expired));
        assert_eq!(seal.open(None, "state-1", 1_000), Err(Unsealed::Missing));
        // Another server's key, or an edited payload (a longer expiry, another return address).
        assert_eq!(LoginSeal::new(&[8; 32]).open(Some(&cookie), "state-1", 1_000), Err(Unsealed::Forged));
        let (_, tag) = cookie.split_once('.').unwrap();
        let edited = Sealed {
            s: crate::store::digest("state-1"),
            n: "n".into(),
            v: "v".into(),
            r: "https://evil.example".into(),
            e: i64::MAX,
        };
        let forged = format!("{}.{tag}", B64.encode(serde_json::to_vec(&edited).unwrap()));
        assert_eq!(seal.open(Some(&forged), "state-1", 1_000), Err(Unsealed::Forged));
        assert_eq!(seal.open(Some("garbage"), "state-1", 1_000), Err(Unsealed::Forged));
    }
}
