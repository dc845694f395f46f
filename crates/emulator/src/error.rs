//! Service errors as the AWS JSON 1.1 protocol carries them: an HTTP status, the `X-Amzn-ErrorType` header
//! and a `{"__type", "message"}` body. Both the header and `__type` are sent because the Rust SDK reads the
//! header first and botocore reads the body.

use axum::http::StatusCode;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "SerializationException", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ResourceNotFound", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ConflictException", message)
    }
    pub fn limit(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ResourceLimitExceeded", message)
    }
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "AccessDeniedException", message)
    }
    pub fn throttling() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ThrottlingException", "Rate exceeded")
    }
    /// Temporary credentials (from the emulator's STS) past their expiry.
    pub fn expired_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "ExpiredTokenException",
            "The security token included in the request is expired",
        )
    }
    /// Temporary credentials sent without the session token they were issued with.
    pub fn unrecognized_client() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    }
    pub fn unknown_operation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "UnknownOperationException", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

/// What can go wrong outside a request: the data dir, a scenario that does not parse, a setting out of
/// range, a port that cannot be bound. Requests turn it into an `InternalFailure` (or, for a scenario
/// posted to the control route, a `ValidationException`).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot create the data dir {}: {source}", dir.display())]
    DataDir { dir: std::path::PathBuf, source: std::io::Error },
    #[error("cannot open {}: {source}", path.display())]
    Open { path: std::path::PathBuf, source: rusqlite::Error },
    #[error("reading the data dir: {0}")]
    Read(rusqlite::Error),
    #[error("writing the data dir: {0}")]
    Write(rusqlite::Error),
    #[error("a corrupt {what} record in the data dir: {source}")]
    Corrupt { what: &'static str, source: serde_json::Error },
    #[error("a record that cannot be encoded: {0}")]
    Encode(serde_json::Error),
    #[error("invalid scenario: {0}")]
    Scenario(String),
    #[error("speed must be a positive number, not {0}")]
    Speed(f64),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
}

impl From<EmulatorError> for ApiError {
    fn from(e: EmulatorError) -> ApiError {
        match e {
            EmulatorError::Scenario(_) => ApiError::validation(e.to_string()),
            other => ApiError::internal(other.to_string()),
        }
    }
}
