//! AWS STS on the emulator's endpoint, so a client can act as a person: `AssumeRole` (with a `SourceIdentity`)
//! issues temporary credentials, and SageMaker calls signed with them are recorded as that role session,
//! SourceIdentity included, in CreatedBy and LastModifiedBy. `GetCallerIdentity` says who signed.
//!
//! The SDKs speak STS in the awsQuery protocol (`crate::query`); input is checked against STS's botocore model
//! (`crate::shapes::sts_model`) and the rules the service adds: a role ARN must name an IAM role, session
//! names and source identities are ASCII, a chained role session keeps its SourceIdentity and lasts an hour at
//! most. Session policies, tags, external ids and MFA members are accepted and not applied: the emulator
//! has no IAM policies to narrow.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::ops::Caller;
use crate::persist::Write;
use crate::query::{self, Params, Xml};
use crate::runtime::{random_alnum, Core, Inner};
use crate::sessions::{self, Refusal, Session, Who};
use crate::shapes::sts_model;
use crate::state::Epoch;

pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
pub const VERSION: &str = "2011-06-15";
/// The operations served.
pub const OPERATIONS: [&str; 2] = ["AssumeRole", "GetCallerIdentity"];

/// Default and longest life of a chained role session (a role session assuming a role), in seconds.
const DEFAULT_DURATION: i64 = 3600;
const CHAINED_MAX_DURATION: i64 = 3600;
/// AWS's API reference limits SourceIdentity to 64 characters; the botocore model says 256. The service's
/// documented limit is the stricter one, so it is the one enforced.
const SOURCE_IDENTITY_MAX: usize = 64;

fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message)
}

pub fn validation(message: impl Into<String>) -> ApiError {
    error(StatusCode::BAD_REQUEST, "ValidationError", message)
}

pub fn throttling() -> ApiError {
    error(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded")
}

pub fn malformed(message: impl Into<String>) -> ApiError {
    error(StatusCode::BAD_REQUEST, "MalformedQueryString", message)
}

pub fn missing_action() -> ApiError {
    error(StatusCode::BAD_REQUEST, "MissingAction", "The request must contain the parameter Action")
}

pub fn invalid_action(action: &str, version: &str) -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidAction",
        format!("Could not find operation {} for version {}", cut(action, 64), cut(version, 32)),
    )
}

pub fn internal() -> ApiError {
    error(StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", "The request could not be processed")
}

fn refused(r: Refusal) -> ApiError {
    match r {
        Refusal::Expired => {
            error(StatusCode::FORBIDDEN, "ExpiredToken", "The security token included in the request is expired")
        }
        Refusal::InvalidToken => error(
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
    }
}

/// At most `n` characters of a value echoed in a message.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let head: String = s.chars().take(n).collect();
        format!("{head}…")
    } else {
        s.to_string()
    }
}

/// Run one STS action; answers the XML body of a success.
pub fn call(core: &Core, params: &Params, caller: &Caller, request_id: &str) -> ApiResult<String> {
    let action = params.get("Action").ok_or_else(missing_action)?;
    let version = params.get("Version").map(String::as_str).unwrap_or(VERSION);
    if version != VERSION || !OPERATIONS.contains(&action.as_str()) {
        return Err(invalid_action(action, version));
    }
    let mut inner = core.lock();
    let now = inner.clock.now();
    // Who signed comes first, as on the service: unsigned and expired calls are refused whatever they ask.
    let who = inner.store.sessions.who(caller.access_key.as_deref(), caller.session_token.as_deref(), now);
    let signer = match who.map_err(refused)? {
        Who::Anonymous => {
            return Err(error(
                StatusCode::FORBIDDEN,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            ))
        }
        Who::User(key) => Signer::User(key.to_string()),
        Who::Session(s) => Signer::Session(s.clone()),
    };
    match action.as_str() {
        "AssumeRole" => assume_role(&mut inner, params, &signer, now, request_id),
        _ => Ok(get_caller_identity(&inner, &signer, request_id)),
    }
}

/// Who signed an STS call (owned: the session table changes while it is known).
enum Signer {
    User(String),
    Session(Session),
}

impl Signer {
    fn arn(&self, inner: &Inner) -> String {
        match self {
            Signer::User(key) => format!("arn:aws:iam::{}:user/{key}", inner.account.account),
            Signer::Session(s) => s.arn(),
        }
    }
}

fn get_caller_identity(inner: &Inner, signer: &Signer, request_id: &str) -> String {
    let (user_id, account) = match signer {
        Signer::User(key) => (key.clone(), inner.account.account.clone()),
        Signer::Session(s) => (s.principal_id(), s.account().to_string()),
    };
    let arn = signer.arn(inner);
    query::response("GetCallerIdentity", NAMESPACE, request_id, |x| {
        x.leaf("UserId", &user_id).leaf("Account", &account).leaf("Arn", &arn);
    })
}

/// What an AssumeRole request asks for, checked.
struct AssumeRoleInput {
    role_arn: String,
    session_name: String,
    source_identity: Option<String>,
    duration: i64,
}

fn assume_role(inner: &mut Inner, params: &Params, signer: &Signer, now: Epoch, request_id: &str) -> ApiResult<String> {
    let input = check_assume_role(params)?;
    let mut source_identity = input.source_identity.clone();
    if let Signer::Session(current) = signer {
        // Role chaining: the session's SourceIdentity carries over and cannot change, and the new session
        // lasts an hour at most.
        if input.duration > CHAINED_MAX_DURATION {
            return Err(validation(format!(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining ({} seconds asked).",
                input.duration
            )));
        }
        if let Some(set) = &current.source_identity {
            if source_identity.as_ref().is_some_and(|asked| asked != set) {
                return Err(error(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    format!(
                        "User: {} is not authorized to perform: sts:SetSourceIdentity on resource: {}: the source identity '{set}' of a role session cannot be changed by role chaining",
                        current.arn(),
                        input.role_arn
                    ),
                ));
            }
            source_identity = Some(set.clone());
        }
    }
    let mut access_key = format!("{}{}", sessions::ISSUED_PREFIX, random_upper(16));
    while inner.store.sessions.get(&access_key).is_some() {
        access_key = format!("{}{}", sessions::ISSUED_PREFIX, random_upper(16));
    }
    let issued = now.floor();
    let session = Session {
        access_key,
        session_token: random_alnum(256),
        role_arn: input.role_arn,
        session_name: input.session_name,
        source_identity,
        issued,
        expires: issued + input.duration as f64,
    };
    let secret = random_alnum(40);
    let forgotten = inner.store.sessions.overflow();
    let mut batch = vec![Write::Session(&session)];
    batch.extend(forgotten.iter().map(|k| Write::ForgetSession(k)));
    inner.persist(&batch)?;
    let expiration = iso8601(session.expires);
    let body = query::response("AssumeRole", NAMESPACE, request_id, |x: &mut Xml| {
        x.open("Credentials")
            .leaf("AccessKeyId", &session.access_key)
            .leaf("SecretAccessKey", &secret)
            .leaf("SessionToken", &session.session_token)
            .leaf("Expiration", &expiration)
            .close("Credentials");
        x.open("AssumedRoleUser")
            .leaf("AssumedRoleId", &session.principal_id())
            .leaf("Arn", &session.arn())
            .close("AssumedRoleUser");
        x.leaf_opt("SourceIdentity", session.source_identity.as_deref());
    });
    inner.store.sessions.insert(session);
    Ok(body)
}

/// Check an AssumeRole request: the model's constraints first (in the service's message format), then the
/// rules the model cannot say.
fn check_assume_role(params: &Params) -> ApiResult<AssumeRoleInput> {
    let m = sts_model();
    let body = scalar_members(params, "AssumeRoleRequest")?;
    m.validate_input("AssumeRole", &body).map_err(|e| validation(e.message))?;
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(String::from);
    let one = |value: &str, at: &str, rule: &str| {
        validation(format!(
            "1 validation error detected: Value '{}' at '{at}' failed to satisfy constraint: {rule}",
            cut(value, 300)
        ))
    };
    let role_arn = text("RoleArn").unwrap_or_default();
    if sessions::parse_role_arn(&role_arn).is_none() {
        return Err(one(
            &role_arn,
            "roleArn",
            "Member must be the ARN of an IAM role: arn:aws:iam::<12-digit account id>:role/<path/><role name>",
        ));
    }
    let session_name = text("RoleSessionName").unwrap_or_default();
    const PATTERN: &str = "Member must satisfy regular expression pattern: [\\w+=,.@-]*";
    if !session_name.bytes().all(sessions::is_name_byte) {
        return Err(one(&session_name, "roleSessionName", PATTERN));
    }
    let source_identity = text("SourceIdentity");
    if let Some(s) = &source_identity {
        if !s.bytes().all(sessions::is_name_byte) {
            return Err(one(s, "sourceIdentity", PATTERN));
        }
        if s.chars().count() > SOURCE_IDENTITY_MAX {
            return Err(one(s, "sourceIdentity", "Member must have length less than or equal to 64"));
        }
    }
    let duration = body.get("DurationSeconds").and_then(Value::as_i64).unwrap_or(DEFAULT_DURATION);
    Ok(AssumeRoleInput { role_arn, session_name, source_identity, duration })
}

/// The top-level scalar members of an input shape that a request carries, typed as the model says, for the
/// validator. Members of lists and structures (`Tags.member.1.Key`, …) are not checked: nothing uses them.
fn scalar_members(params: &Params, shape: &str) -> ApiResult<Value> {
    let members = sts_model().shape(shape).and_then(|s| s.get("members")).and_then(Value::as_object);
    let mut body = Map::new();
    for (name, member) in members.into_iter().flatten() {
        let Some(value) = params.get(name) else { continue };
        let kind = member
            .get("shape")
            .and_then(Value::as_str)
            .and_then(|t| sts_model().shape(t))
            .and_then(|t| t.get("type"))
            .and_then(Value::as_str);
        match kind {
            Some("string") => {
                body.insert(name.clone(), Value::String(value.clone()));
            }
            Some("integer") | Some("long") => {
                let n: i64 = value.trim().parse().map_err(|_| {
                    let at = lower_camel(name);
                    validation(format!(
                        "1 validation error detected: Value '{}' at '{at}' failed to satisfy constraint: Member must be a whole number",
                        cut(value, 300)
                    ))
                })?;
                body.insert(name.clone(), Value::from(n));
            }
            _ => {}
        }
    }
    Ok(Value::Object(body))
}

fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Random `[A-Z0-9]` characters (access key ids), from the operating system's CSPRNG as every credential.
fn random_upper(len: usize) -> String {
    crate::runtime::secret_chars(len, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
}

/// Epoch seconds as STS writes times: `2026-01-02T03:04:05Z`.
fn iso8601(t: Epoch) -> String {
    chrono::DateTime::from_timestamp(t as i64, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/Runner";

    #[test]
    fn assume_role_input_is_checked_naming_the_member() {
        let ok =
            check_assume_role(&params(&[("RoleArn", ROLE), ("RoleSessionName", "alice"), ("SourceIdentity", "a@b.c")]))
                .unwrap();
        assert_eq!((ok.duration, ok.source_identity.as_deref()), (3600, Some("a@b.c")));
        let cases: [(&[(&str, &str)], &str); 9] = [
            (&[("RoleSessionName", "alice")], "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"),
            (&[("RoleArn", "arn:aws:iam::123456789012:user/bob"), ("RoleSessionName", "alice")], "at 'roleArn' failed to satisfy constraint: Member must be the ARN of an IAM role"),
            (&[("RoleArn", ROLE), ("RoleSessionName", "a")], "Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"),
            (&[("RoleArn", ROLE), ("RoleSessionName", "has space")], "at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern"),
            (&[("RoleArn", ROLE), ("RoleSessionName", "josé")], "Value 'josé' at 'roleSessionName'"),
            (&[("RoleArn", ROLE), ("RoleSessionName", "alice"), ("SourceIdentity", "<b>")], "at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern"),
            (&[("RoleArn", ROLE), ("RoleSessionName", "alice"), ("SourceIdentity", &"x".repeat(65))], "at 'sourceIdentity' failed to satisfy constraint: Member must have length less than or equal to 64"),
            (&[("RoleArn", ROLE), ("RoleSessionName", "alice"), ("DurationSeconds", "43201")], "Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"),
            (&[("RoleArn", ROLE), ("RoleSessionName", "alice"), ("DurationSeconds", "soon")], "Value 'soon' at 'durationSeconds' failed to satisfy constraint: Member must be a whole number"),
        ];
        for (p, expected) in cases {
            let e = check_assume_role(&params(p)).err().unwrap_or_else(|| panic!("{p:?} was accepted"));
            assert_eq!(e.code, "ValidationError");
            assert!(e.message.contains(expected), "{p:?}: {}", e.message);
        }
    }

    #[test]
    fn times_are_written_as_sts_writes_them() {
        assert_eq!(iso8601(1_767_225_600.0), "2026-01-01T00:00:00Z");
        assert_eq!(lower_camel("DurationSeconds"), "durationSeconds");
    }
}
