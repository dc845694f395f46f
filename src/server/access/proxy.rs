//! Identity from an authenticating proxy, trusted only when it can be verified:
//! - the TCP peer is one of `--trusted-proxy` (the connection's address, never `X-Forwarded-For`), and the
//!   headers of oauth2-proxy name the user (`X-Forwarded-User`/`-Email`/`-Groups`, `X-Auth-Request-*`);
//! - or an AWS Application Load Balancer's signed `x-amzn-oidc-data` verifies: ES256, its `signer` is
//!   `--alb-arn`, not expired, signed by the key the load balancer publishes under the token's `kid`.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine;

use super::Identity;
use crate::server::config::AccessConfig;

pub struct Proxy {
    trusted: Vec<ipnet::IpNet>,
    alb: Option<Alb>,
    groups_claim: String,
}

struct Alb {
    arn: String,
    keys_url: String,
    keys: moka::sync::Cache<String, std::sync::Arc<jsonwebtoken::DecodingKey>>,
    http: reqwest::Client,
}

/// Headers of oauth2-proxy (and others like it) naming the user, most specific first.
const USER_HEADERS: [&str; 5] = [
    "x-forwarded-preferred-username",
    "x-forwarded-user",
    "x-auth-request-user",
    "x-forwarded-email",
    "x-auth-request-email",
];
const GROUP_HEADERS: [&str; 2] = ["x-forwarded-groups", "x-auth-request-groups"];
const ALB_HEADER: &str = "x-amzn-oidc-data";

impl Proxy {
    pub fn new(config: &AccessConfig) -> Result<Proxy, String> {
        let alb = match &config.alb_arn {
            Some(arn) => {
                let region = arn.split(':').nth(3).filter(|r| !r.is_empty()).ok_or_else(|| {
                    format!("--alb-arn: '{arn}' is not a load balancer ARN (arn:aws:elasticloadbalancing:REGION:…)")
                })?;
                let keys_url = config
                    .alb_keys_url
                    .clone()
                    .unwrap_or_else(|| format!("https://public-keys.auth.elb.{region}.amazonaws.com"));
                Some(Alb {
                    arn: arn.clone(),
                    keys_url,
                    keys: moka::sync::Cache::builder().max_capacity(64).build(),
                    http: reqwest::Client::builder()
                        .timeout(Duration::from_secs(5))
                        .redirect(reqwest::redirect::Policy::none())
                        .build()
                        .map_err(|e| e.to_string())?,
                })
            }
            None => None,
        };
        let groups_claim = config.oidc.as_ref().map(|o| o.groups_claim.clone()).unwrap_or_else(|| "groups".into());
        Ok(Proxy { trusted: config.trusted_proxies.clone(), alb, groups_claim })
    }

    /// The verified identity of a request, or why it is refused.
    pub async fn identify(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<Identity, String> {
        if let (Some(alb), Some(token)) = (&self.alb, headers.get(ALB_HEADER).and_then(|v| v.to_str().ok())) {
            let claims = alb.verify(token, chrono::Utc::now().timestamp()).await?;
            return identity_from_claims(&claims, &self.groups_claim)
                .ok_or_else(|| "the load balancer's token names no user".to_string());
        }
        let trusted = peer.is_some_and(|ip| self.trusted.iter().any(|net| net.contains(&ip)));
        if !trusted {
            return Err(
                "Refused: this request did not come through the authenticating proxy Stepline trusts.".to_string()
            );
        }
        from_headers(headers).ok_or_else(|| "The proxy did not say who is asking (no X-Forwarded-User).".to_string())
    }
}

/// The user and groups named by a trusted proxy's headers.
pub fn from_headers(headers: &HeaderMap) -> Option<Identity> {
    let user = USER_HEADERS.iter().find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()).map(clean))?;
    if user.is_empty() {
        return None;
    }
    let groups = GROUP_HEADERS
        .iter()
        .filter_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .flat_map(|v| v.split(','))
        .map(clean)
        .filter(|g| !g.is_empty())
        .take(256)
        .collect();
    Some(Identity { user, groups, session: false })
}

/// A name as shown and recorded: trimmed, without control characters, at most 128 characters.
fn clean(v: &str) -> String {
    v.trim().chars().filter(|c| !c.is_control()).take(128).collect()
}

fn identity_from_claims(claims: &serde_json::Value, groups_claim: &str) -> Option<Identity> {
    let user = ["preferred_username", "email", "sub"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(|v| v.as_str()))
        .map(clean)
        .filter(|u| !u.is_empty())?;
    let groups = match claims.get(groups_claim) {
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|g| g.as_str()).map(clean).take(256).collect(),
        Some(serde_json::Value::String(s)) => s.split(',').map(clean).filter(|g| !g.is_empty()).collect(),
        _ => vec![],
    };
    Some(Identity { user, groups, session: false })
}

/// The header of an ALB token: what is checked before the signature.
#[derive(serde::Deserialize)]
struct AlbHeader {
    alg: String,
    kid: String,
    signer: String,
    exp: Option<i64>,
}

/// base64url that takes segments with or without `=` padding (the load balancer pads).
const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

impl Alb {
    /// The token's claims when it verifies at time `now` (seconds).
    ///
    /// The load balancer pads each base64url segment with `=` and signs the padded `header.payload`, so
    /// a JWT library's own decoding (strict, unpadded) cannot read it: the signature is checked over the
    /// bytes as sent, and the header and payload are decoded here.
    async fn verify(&self, token: &str, now: i64) -> Result<serde_json::Value, String> {
        let refused = |why: &str| format!("Refused: the load balancer's token {why}.");
        let token = token.trim();
        let (message, signature) = token.rsplit_once('.').ok_or_else(|| refused("is not a JWT"))?;
        let (head, payload) = message.split_once('.').ok_or_else(|| refused("is not a JWT"))?;
        if payload.contains('.') {
            return Err(refused("is not a JWT"));
        }
        let head: AlbHeader = B64
            .decode(head)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| refused("has an unreadable header"))?;
        if head.alg != "ES256" {
            return Err(refused("is not signed with ES256"));
        }
        if head.signer != self.arn {
            return Err(refused("was signed by another load balancer"));
        }
        let key = self.key(&head.kid).await?;
        let verified = jsonwebtoken::crypto::verify(
            signature.trim_end_matches('='),
            message.as_bytes(),
            &key,
            jsonwebtoken::Algorithm::ES256,
        )
        .unwrap_or(false);
        if !verified {
            return Err(refused("has a signature that does not verify"));
        }
        let claims: serde_json::Value = B64
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| refused("has an unreadable payload"))?;
        // The load balancer puts the expiry in the header; a payload's own `exp` is honoured too.
        let exp = head.exp.or_else(|| claims.get("exp").and_then(|e| e.as_i64()));
        match exp {
            Some(exp) if exp + 60 >= now => Ok(claims),
            Some(_) => Err(refused("has expired")),
            None => Err(refused("has no expiry")),
        }
    }

    async fn key(&self, kid: &str) -> Result<std::sync::Arc<jsonwebtoken::DecodingKey>, String> {
        let valid = !kid.is_empty() && kid.len() <= 128 && kid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err("Refused: the load balancer's token names an invalid key id.".into());
        }
        if let Some(k) = self.keys.get(kid) {
            return Ok(k);
        }
        let url = format!("{}/{kid}", self.keys_url.trim_end_matches('/'));
        let fetched = async {
            let res = self.http.get(&url).send().await.map_err(|e| format!("cannot fetch {url}: {e}"))?;
            if !res.status().is_success() {
                return Err(format!("the load balancer's key {url} answered {}", res.status()));
            }
            let pem = res.bytes().await.map_err(|e| e.to_string())?;
            jsonwebtoken::DecodingKey::from_ec_pem(&pem)
                .map(std::sync::Arc::new)
                .map_err(|e| format!("the load balancer's key {url} is not an EC public key: {e}"))
        }
        .await
        .map_err(|e| format!("Refused: {e}"))?;
        self.keys.insert(kid.to_string(), fetched.clone());
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth2_proxy_headers_name_the_user_and_groups_and_hostile_values_are_cleaned() {
        let mut h = HeaderMap::new();
        assert!(from_headers(&h).is_none());
        h.insert("x-forwarded-email", "ana@example.com".parse().unwrap());
        assert_eq!(from_headers(&h).unwrap().user, "ana@example.com");
        h.insert("x-forwarded-user", "ana".parse().unwrap());
        h.insert("x-forwarded-groups", "fraud-ds, analysts,,".parse().unwrap());
        let who = from_headers(&h).unwrap();
        assert_eq!(who.user, "ana", "the user header wins over the email");
        assert_eq!(who.groups, vec!["fraud-ds", "analysts"]);
        h.insert("x-forwarded-user", "x".repeat(500).parse().unwrap());
        assert_eq!(from_headers(&h).unwrap().user.len(), 128);
        h.insert("x-forwarded-user", "   ".parse().unwrap());
        h.remove("x-forwarded-email");
        assert!(from_headers(&h).is_none(), "a blank user is no user");
    }

    #[tokio::test]
    async fn only_trusted_peers_may_name_the_user() {
        let config = AccessConfig { trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()], ..Default::default() };
        let proxy = Proxy::new(&config).unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-user", "ana".parse().unwrap());
        // X-Forwarded-For is never believed: only the connection's own address.
        h.insert("x-forwarded-for", "10.1.2.3".parse().unwrap());
        assert!(proxy.identify(&h, Some("192.168.1.5".parse().unwrap())).await.is_err());
        assert!(proxy.identify(&h, None).await.is_err());
        assert_eq!(proxy.identify(&h, Some("10.9.9.9".parse().unwrap())).await.unwrap().user, "ana");
    }
}
