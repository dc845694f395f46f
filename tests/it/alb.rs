//! An AWS Application Load Balancer's signed identity (`x-amzn-oidc-data`), verified against a key this
//! test makes and serves the way the load balancer's key endpoint does: good, wrong signer, expired,
//! tampered, unknown key — and the padding the load balancer really uses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use axum::http::HeaderMap;
use base64::Engine;
use stepline_core::access::Proxy;
use stepline_core::config::{AccessConfig, AuthMode, HttpUrl};

const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/stepline/50dc6c495c0c9188";
const KID: &str = "0b6f5a35-4c59-4b2b-9c1e-5c8a3a2d1f00";

/// The P-256 public key as the key endpoint serves it: PEM, SubjectPublicKeyInfo.
fn pem(point: &[u8]) -> String {
    // DER of SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (65 bytes) }, before the point.
    const SPKI_PREFIX: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let der: Vec<u8> = SPKI_PREFIX.iter().chain(point.iter()).copied().collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", b64)
}

/// A token as the load balancer makes it: every segment base64url *with* `=` padding, the signature
/// over the padded `header.payload`.
fn token(key: &EcdsaKeyPair, signer: &str, exp: i64, claims: &serde_json::Value) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE.encode(b);
    let header = serde_json::json!({
        "alg": "ES256", "kid": KID, "signer": signer, "iss": "https://id.example.com",
        "client": "stepline", "exp": exp, "typ": "JWT"
    });
    let message = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = key.sign(&SystemRandom::new(), message.as_bytes()).unwrap();
    format!("{message}.{}", b64(signature.as_ref()))
}

async fn serve_key(pem: String) -> String {
    serve_key_counted(pem).await.0
}

/// The key endpoint, and how many requests it has answered (any key id, known or not).
async fn serve_key_counted(pem: String) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new()
        .route(
            &format!("/{KID}"),
            axum::routing::get(move || {
                let pem = pem.clone();
                async move { pem }
            }),
        )
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            counted.fetch_add(1, Ordering::SeqCst);
            next.run(req)
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

/// A token signed like `token`, with another key id in its header.
fn token_with_kid(key: &EcdsaKeyPair, kid: &str, exp: i64, claims: &serde_json::Value) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE.encode(b);
    let header = serde_json::json!({"alg": "ES256", "kid": kid, "signer": ARN, "iss": "https://id.example.com",
        "client": "stepline", "exp": exp});
    let message = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = key.sign(&SystemRandom::new(), message.as_bytes()).unwrap();
    format!("{message}.{}", b64(signature.as_ref()))
}

#[tokio::test]
async fn unknown_keys_are_fetched_once_a_minute_at_most_and_issuer_and_client_are_pinned() {
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let (keys_url, hits) = serve_key_counted(pem(key.public_key().as_ref())).await;
    let pinned = |issuer: &str, client: &str| AccessConfig {
        auth: AuthMode::Proxy,
        alb_arn: Some(ARN.into()),
        alb_keys_url: Some(HttpUrl::parse(&keys_url).unwrap()),
        alb_issuer: Some(issuer.into()),
        alb_client_id: Some(client.into()),
        ..Default::default()
    };
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({"sub": "1234", "email": "ana@example.com", "exp": now + 120});
    let peer = Some("203.0.113.9".parse().unwrap());

    let proxy = Proxy::new(&pinned("https://id.example.com", "stepline")).unwrap();
    let who = proxy.identify(&headers(&token(&key, ARN, now + 120, &claims)), peer).await.unwrap();
    assert_eq!(who.user, "1234", "an email the provider did not verify does not name the user");
    // Another issuer or client, refused before any key is fetched.
    let other_issuer = Proxy::new(&pinned("https://evil.example.com", "stepline")).unwrap();
    let e = other_issuer.identify(&headers(&token(&key, ARN, now + 120, &claims)), peer).await.unwrap_err();
    assert!(e.contains("another identity provider"), "{e}");
    let other_client = Proxy::new(&pinned("https://id.example.com", "someone-else")).unwrap();
    let e = other_client.identify(&headers(&token(&key, ARN, now + 120, &claims)), peer).await.unwrap_err();
    assert!(e.contains("another client"), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "only the good token's key was fetched");

    // A made-up key id is asked for once; repeats are answered from memory.
    let made_up = token_with_kid(&key, "made-up-1", now + 120, &claims);
    for _ in 0..5 {
        assert!(proxy.identify(&headers(&made_up), peer).await.is_err());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2, "one fetch for the unknown key, however often it is named");
    // Many made-up key ids: at most ten fetches a minute.
    for n in 0..40 {
        let t = token_with_kid(&key, &format!("made-up-{n}-x"), now + 120, &claims);
        assert!(proxy.identify(&headers(&t), peer).await.is_err());
    }
    assert!(hits.load(Ordering::SeqCst) <= 11, "{} fetches", hits.load(Ordering::SeqCst));
    // The real key still works: it is cached.
    assert!(proxy.identify(&headers(&token(&key, ARN, now + 120, &claims)), peer).await.is_ok());
}

fn headers(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-amzn-oidc-data", token.parse().unwrap());
    h
}

#[tokio::test]
async fn load_balancer_tokens_verify_only_when_everything_matches() {
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let keys_url = serve_key(pem(key.public_key().as_ref())).await;
    let config = AccessConfig {
        auth: AuthMode::Proxy,
        alb_arn: Some(ARN.into()),
        alb_keys_url: Some(HttpUrl::parse(&keys_url).unwrap()),
        ..Default::default()
    };
    let proxy = Proxy::new(&config).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({"sub": "1234", "email": "ana@example.com", "email_verified": true,
        "groups": ["fraud-ds"], "exp": now + 120});
    // From anywhere: the signature, not the peer, is what is trusted.
    let peer = Some("203.0.113.9".parse().unwrap());

    let good = token(&key, ARN, now + 120, &claims);
    assert!(good.contains('='), "the load balancer pads its segments");
    let who = proxy.identify(&headers(&good), peer).await.unwrap();
    assert_eq!(who.user, "ana@example.com");
    assert_eq!(who.groups, vec!["fraud-ds"]);

    let other = token(&key, &ARN.replace("stepline", "another"), now + 120, &claims);
    let e = proxy.identify(&headers(&other), peer).await.unwrap_err();
    assert!(e.contains("another load balancer"), "{e}");

    let expired = token(&key, ARN, now - 600, &claims);
    let e = proxy.identify(&headers(&expired), peer).await.unwrap_err();
    assert!(e.contains("expired"), "{e}");

    // A payload changed after signing: "ana" becomes an admin.
    let mut parts: Vec<String> = good.split('.').map(String::from).collect();
    let forged = serde_json::json!({"sub": "1", "email": "root@example.com", "groups": ["platform"], "exp": now + 120});
    parts[1] = base64::engine::general_purpose::URL_SAFE.encode(forged.to_string());
    let e = proxy.identify(&headers(&parts.join(".")), peer).await.unwrap_err();
    assert!(e.contains("does not verify"), "{e}");

    // Signed by a key that is not the load balancer's.
    let stranger = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let e = proxy.identify(&headers(&token(&stranger, ARN, now + 120, &claims)), peer).await.unwrap_err();
    assert!(e.contains("does not verify"), "{e}");

    // Not a token at all, or no token and an untrusted peer.
    assert!(proxy.identify(&headers("garbage"), peer).await.is_err());
    assert!(proxy.identify(&HeaderMap::new(), peer).await.is_err());
    let mut spoofed = HeaderMap::new();
    spoofed.insert("x-forwarded-user", "root".parse().unwrap());
    assert!(proxy.identify(&spoofed, peer).await.is_err(), "headers alone are not an identity");
}
