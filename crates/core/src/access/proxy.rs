//! Identity from an authenticating proxy, trusted only when it can be verified:
//! - the TCP peer is one of `--trusted-proxy` (the connection's address, never `X-Forwarded-For`), and one
//!   fixed set of request headers names the user (`ProxyHeaders`: oauth2-proxy's `X-Forwarded-User`,
//!   `-Email` and `-Groups` by default). No other header is read, so a client cannot add an identity header
//!   the proxy does not know to strip (oauth2-proxy's `X-Auth-Request-*` are its *response* headers, and pass
//!   through it untouched when a client sends them);
//! - or an AWS Application Load Balancer's signed `x-amzn-oidc-data` verifies: ES256, its `signer` is
//!   `--alb-arn`, its `iss` and `client` the configured ones, not expired, signed by the key the load
//!   balancer publishes under the token's `kid`. Keys that cannot be had are remembered for a minute and at
//!   most a few are fetched a minute, so tokens naming made-up keys cannot make Stepline a fetching proxy.

use crate::sync::Unpoisoned;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine;

use super::claims::{clean, user_from_claims, UserClaim};
use super::Identity;
use crate::config::{AccessConfig, ProxyHeaders};
use crate::http_url::HttpUrl;

pub struct Proxy {
    trusted: Vec<ipnet::IpNet>,
    headers: ProxyHeaders,
    alb: Option<Alb>,
    groups_claim: String,
    user_claim: UserClaim,
}

struct Alb {
    arn: String,
    issuer: Option<String>,
    client_id: Option<String>,
    keys_url: String,
    keys: moka::sync::Cache<String, std::sync::Arc<jsonwebtoken::DecodingKey>>,
    /// Key ids that could not be fetched, with why: answered from here for a minute.
    missing: moka::sync::Cache<String, String>,
    /// Fetches in the current minute (start, count): past `KEY_FETCHES_PER_MINUTE`, unknown keys are refused.
    fetches: Mutex<(Instant, u32)>,
    /// One fetch at a time: concurrent requests naming the same new key wait for the first one's answer.
    fetching: tokio::sync::Mutex<()>,
    http: reqwest::Client,
}

/// A load balancer rotates its keys rarely: a handful of new ones a minute is far more than it needs.
const KEY_FETCHES_PER_MINUTE: u32 = 10;
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
                    .as_ref()
                    .map(HttpUrl::to_string)
                    .unwrap_or_else(|| format!("https://public-keys.auth.elb.{region}.amazonaws.com"));
                Some(Alb {
                    arn: arn.clone(),
                    issuer: config.alb_issuer.clone(),
                    client_id: config.alb_client_id.clone(),
                    keys_url,
                    keys: moka::sync::Cache::builder().max_capacity(64).build(),
                    missing: moka::sync::Cache::builder()
                        .max_capacity(1024)
                        .time_to_live(Duration::from_secs(60))
                        .build(),
                    fetches: Mutex::new((Instant::now(), 0)),
                    fetching: tokio::sync::Mutex::new(()),
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
        Ok(Proxy {
            trusted: config.trusted_proxies.clone(),
            headers: config.proxy_headers.clone(),
            alb,
            groups_claim,
            user_claim: config.user_claim.clone(),
        })
    }

    /// The verified identity of a request, or why it is refused.
    pub async fn identify(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<Identity, String> {
        if let (Some(alb), Some(token)) = (&self.alb, headers.get(ALB_HEADER).and_then(|v| v.to_str().ok())) {
            let claims = alb.verify(token, chrono::Utc::now().timestamp()).await?;
            return identity_from_claims(&claims, &self.groups_claim, &self.user_claim)
                .ok_or_else(|| "the load balancer's token names no user".to_string());
        }
        let trusted = peer.is_some_and(|ip| self.trusted.iter().any(|net| net.contains(&ip)));
        if !trusted {
            return Err(
                "Refused: this request did not come through the authenticating proxy Stepline trusts.".to_string()
            );
        }
        from_headers(headers, &self.headers)
            .ok_or_else(|| format!("The proxy did not say who is asking (no {}).", self.headers.user))
    }
}

/// The user and groups named by a trusted proxy's headers: the user header, else the email header; the groups
/// header. Each read once: a repeated header (a client's own copy beside the proxy's) names nobody.
pub fn from_headers(headers: &HeaderMap, names: &ProxyHeaders) -> Option<Identity> {
    let one = |name: &axum::http::HeaderName| -> Option<Option<String>> {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => Some(None),
            (Some(v), None) => Some(Some(v.to_str().ok()?.to_string())),
            (Some(_), Some(_)) => None,
        }
    };
    let user = match one(&names.user)? {
        Some(u) => clean(&u),
        None => clean(&one(&names.email)??),
    };
    if user.is_empty() {
        return None;
    }
    let groups =
        one(&names.groups)?.unwrap_or_default().split(',').map(clean).filter(|g| !g.is_empty()).take(256).collect();
    Some(Identity::person(user, groups, false))
}

fn identity_from_claims(claims: &serde_json::Value, groups_claim: &str, user_claim: &UserClaim) -> Option<Identity> {
    let user = user_from_claims(claims, user_claim)?;
    let groups = match claims.get(groups_claim) {
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|g| g.as_str()).map(clean).take(256).collect(),
        Some(serde_json::Value::String(s)) => s.split(',').map(clean).filter(|g| !g.is_empty()).collect(),
        _ => vec![],
    };
    Some(Identity::person(user, groups, false))
}

/// The header of an ALB token: what is checked before the signature.
#[derive(serde::Deserialize)]
struct AlbHeader {
    alg: String,
    kid: String,
    signer: String,
    exp: Option<i64>,
    iss: Option<String>,
    client: Option<String>,
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
        if self.issuer.as_ref().is_some_and(|i| head.iss.as_ref() != Some(i)) {
            return Err(refused("comes from another identity provider"));
        }
        if self.client_id.as_ref().is_some_and(|c| head.client.as_ref() != Some(c)) {
            return Err(refused("was issued to another client"));
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
        let _one_at_a_time = self.fetching.lock().await;
        // Another request may have fetched it, or failed to, while this one waited.
        if let Some(k) = self.keys.get(kid) {
            return Ok(k);
        }
        if let Some(why) = self.missing.get(kid) {
            return Err(why);
        }
        {
            let mut window = self.fetches.locked();
            if window.0.elapsed() >= Duration::from_secs(60) {
                *window = (Instant::now(), 0);
            }
            if window.1 >= KEY_FETCHES_PER_MINUTE {
                return Err("Refused: the load balancer's token names a key not fetched yet; too many new keys \
                            were asked for this minute."
                    .into());
            }
            window.1 += 1;
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
        .map_err(|e| format!("Refused: {e}"));
        let fetched = match fetched {
            Ok(k) => k,
            Err(why) => {
                self.missing.insert(kid.to_string(), why.clone());
                return Err(why);
            }
        };
        self.keys.insert(kid.to_string(), fetched.clone());
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth2_proxy_headers_name_the_user_and_groups_and_hostile_values_are_cleaned() {
        let names = ProxyHeaders::default();
        let mut h = HeaderMap::new();
        assert!(from_headers(&h, &names).is_none());
        h.insert("x-forwarded-email", "ana@example.com".parse().unwrap());
        assert_eq!(from_headers(&h, &names).unwrap().user, "ana@example.com");
        h.insert("x-forwarded-user", "ana".parse().unwrap());
        h.insert("x-forwarded-groups", "fraud-ds, analysts,,".parse().unwrap());
        let who = from_headers(&h, &names).unwrap();
        assert_eq!(who.user, "ana", "the user header wins over the email");
        assert_eq!(who.groups, vec!["fraud-ds", "analysts"]);
        h.insert("x-forwarded-user", "x".repeat(500).parse().unwrap());
        assert_eq!(from_headers(&h, &names).unwrap().user.len(), 128);
        h.insert("x-forwarded-user", "   ".parse().unwrap());
        h.remove("x-forwarded-email");
        assert!(from_headers(&h, &names).is_none(), "a blank user is no user");
    }

    #[test]
    fn only_the_configured_headers_are_read_and_a_repeated_one_names_nobody() {
        let names = ProxyHeaders::default();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-user", "bob".parse().unwrap());
        h.insert("x-forwarded-groups", "analysts".parse().unwrap());
        // A client's own headers of other names, which oauth2-proxy does not strip, are never read.
        h.insert("x-auth-request-groups", "ml-platform".parse().unwrap());
        h.insert("x-auth-request-user", "root".parse().unwrap());
        h.insert("x-forwarded-preferred-username", "root".parse().unwrap());
        let who = from_headers(&h, &names).unwrap();
        assert_eq!((who.user.as_str(), who.groups.clone()), ("bob", vec!["analysts".to_string()]));
        // A second copy of a header the proxy sets: which one the proxy wrote cannot be told.
        h.append("x-forwarded-groups", "ml-platform".parse().unwrap());
        assert!(from_headers(&h, &names).is_none());
        // Another proxy's names, configured.
        let custom = ProxyHeaders {
            user: axum::http::HeaderName::from_static("remote-user"),
            email: axum::http::HeaderName::from_static("remote-email"),
            groups: axum::http::HeaderName::from_static("remote-groups"),
        };
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-user", "root".parse().unwrap());
        assert!(from_headers(&h, &custom).is_none());
        h.insert("remote-user", "carol".parse().unwrap());
        assert_eq!(from_headers(&h, &custom).unwrap().user, "carol");
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
