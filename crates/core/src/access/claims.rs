//! Who a verified token names: the claim that is the user's name in Stepline (its policy's `users`, the
//! activity log, the SourceIdentity of actions). Shared by the built-in login's ID token and an AWS load
//! balancer's `x-amzn-oidc-data`.
//!
//! The name must be one the person cannot choose: `preferred_username` is editable at many providers and not
//! unique (OpenID Connect Core §5.7), and an `email` the provider has not verified can be anyone's address. So
//! the default is the email only when `email_verified` is true, else `sub` (the provider's stable id).

use serde_json::Value;

/// Which claim names the user (`--user-claim`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum UserClaim {
    /// `email` when `email_verified` is true, else `sub`.
    #[default]
    VerifiedEmail,
    /// This claim (for example `preferred_username`, for a provider where it is managed), else `sub`.
    Named(String),
}

impl UserClaim {
    /// From the flag's value: `email` is the verified email; any other claim name is taken as it is.
    pub fn parse(v: &str) -> Result<UserClaim, String> {
        let v = v.trim();
        if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b)) {
            return Err(format!("'{v}' is not a claim name"));
        }
        Ok(if v == "email" { UserClaim::VerifiedEmail } else { UserClaim::Named(v.to_string()) })
    }
}

/// A name as shown and recorded: trimmed, without control characters, at most 128 characters.
pub fn clean(v: &str) -> String {
    v.trim().chars().filter(|c| !c.is_control()).take(128).collect()
}

/// Whether the provider says it verified the email (a boolean, or the string "true" as some send it).
fn email_verified(claims: &Value) -> bool {
    match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The user a verified token's claims name, cleaned; None when it names nobody.
pub fn user_from_claims(claims: &Value, claim: &UserClaim) -> Option<String> {
    let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).map(clean).filter(|u| !u.is_empty());
    let chosen = match claim {
        UserClaim::VerifiedEmail => text("email").filter(|_| email_verified(claims)),
        UserClaim::Named(name) => text(name),
    };
    chosen.or_else(|| text("sub"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_verified_email_names_the_user_by_default_else_the_stable_sub() {
        let d = UserClaim::default();
        let verified =
            json!({"sub": "u-1", "email": "ana@example.com", "email_verified": true, "preferred_username": "root"});
        assert_eq!(user_from_claims(&verified, &d).as_deref(), Some("ana@example.com"));
        let as_text = json!({"sub": "u-1", "email": "ana@example.com", "email_verified": "true"});
        assert_eq!(user_from_claims(&as_text, &d).as_deref(), Some("ana@example.com"));
        for unverified in [
            json!({"sub": "u-1", "email": "admin@example.com"}),
            json!({"sub": "u-1", "email": "admin@example.com", "email_verified": false}),
            json!({"sub": "u-1", "email": "admin@example.com", "email_verified": "no"}),
        ] {
            assert_eq!(user_from_claims(&unverified, &d).as_deref(), Some("u-1"), "{unverified}");
        }
        assert_eq!(user_from_claims(&json!({"preferred_username": "root"}), &d), None, "no sub, no user");
        assert_eq!(user_from_claims(&json!({"sub": "  \u{7}  "}), &d), None);
    }

    #[test]
    fn a_named_claim_is_used_as_configured_and_bad_names_are_refused() {
        let c = UserClaim::parse("preferred_username").unwrap();
        let claims = json!({"sub": "u-1", "preferred_username": " vera\n"});
        assert_eq!(user_from_claims(&claims, &c).as_deref(), Some("vera"));
        assert_eq!(user_from_claims(&json!({"sub": "u-1"}), &c).as_deref(), Some("u-1"));
        assert_eq!(UserClaim::parse("email").unwrap(), UserClaim::VerifiedEmail);
        assert!(UserClaim::parse("a b").is_err() && UserClaim::parse("").is_err());
    }
}
