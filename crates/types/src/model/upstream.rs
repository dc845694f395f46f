//! Errors from SageMaker (or from reaching it), with the service's own code and message.

use serde::{Deserialize, Serialize};

/// The codes Stepline gives failures of its own: a request its limiter held back, or a call no service
/// answered as it should. The service's own codes stay as the service wrote them (`Upstream::code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnCode {
    /// The limiter held the request back to stay inside the quota: throttling by another name.
    HeldBack,
    /// This endpoint or configuration does not offer the operation (or the step has no job).
    NotSupported,
    /// A listing asked for before it was ever loaded.
    NotLoaded,
    /// The service answered without what it must say.
    InvalidResponse,
    /// The request failed without an answer of the service, for another reason than the ones below.
    RequestFailed,
    Timeout,
    EndpointUnreachable,
    CredentialsUnavailable,
}

impl OwnCode {
    pub const ALL: [OwnCode; 8] = [
        OwnCode::HeldBack,
        OwnCode::NotSupported,
        OwnCode::NotLoaded,
        OwnCode::InvalidResponse,
        OwnCode::RequestFailed,
        OwnCode::Timeout,
        OwnCode::EndpointUnreachable,
        OwnCode::CredentialsUnavailable,
    ];

    /// The code as pages, logs and metrics show it.
    pub const fn as_str(self) -> &'static str {
        match self {
            OwnCode::HeldBack => "QuotaHeldBack",
            OwnCode::NotSupported => "NotSupported",
            OwnCode::NotLoaded => "NotLoaded",
            OwnCode::InvalidResponse => "InvalidResponse",
            OwnCode::RequestFailed => "RequestFailed",
            OwnCode::Timeout => "Timeout",
            OwnCode::EndpointUnreachable => "EndpointUnreachable",
            OwnCode::CredentialsUnavailable => "CredentialsUnavailable",
        }
    }

    pub fn parse(code: &str) -> Option<OwnCode> {
        OwnCode::ALL.into_iter().find(|c| c.as_str() == code)
    }

    fn kind(self) -> UpstreamKind {
        match self {
            OwnCode::HeldBack => UpstreamKind::Throttled,
            OwnCode::CredentialsUnavailable => UpstreamKind::Credentials,
            OwnCode::EndpointUnreachable => UpstreamKind::Unreachable,
            OwnCode::Timeout => UpstreamKind::Timeout,
            OwnCode::NotSupported | OwnCode::NotLoaded | OwnCode::InvalidResponse | OwnCode::RequestFailed => {
                UpstreamKind::Service
            }
        }
    }
}

/// The code of a request the dashboard's own limiter held back (`OwnCode::HeldBack`).
pub const HELD_BACK: &str = OwnCode::HeldBack.as_str();

/// An error from SageMaker (or from reaching it), with the service's own code and message, shown as they
/// are: "AccessDeniedException: … is not authorized to perform: sagemaker:ListPipelines".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    pub code: String,
    pub message: String,
}

impl Upstream {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Upstream {
        Upstream { code: code.into(), message: message.into() }
    }

    /// A failure of Stepline's own (see [`OwnCode`]).
    pub fn own(code: OwnCode, message: impl Into<String>) -> Upstream {
        Upstream::new(code.as_str(), message)
    }

    /// Whether this is the failure of Stepline's own `code`.
    pub fn is(&self, code: OwnCode) -> bool {
        self.code == code.as_str()
    }

    /// Whether the service says the thing asked for does not exist: by its error code, never by the words
    /// of its message (an endpoint that says "not found" with a ValidationException shows that error as is).
    pub fn is_not_found(&self) -> bool {
        self.code == "ResourceNotFound"
    }

    pub fn is_throttling(&self) -> bool {
        self.kind() == UpstreamKind::Throttled
    }

    /// What kind of failure this is, by its code: the codes the service and the SDK use, and the ones the
    /// gateway gives failures where no service answered.
    pub fn kind(&self) -> UpstreamKind {
        if let Some(own) = OwnCode::parse(&self.code) {
            return own.kind();
        }
        match self.code.as_str() {
            "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded" => {
                UpstreamKind::Throttled
            }
            "ResourceNotFound" => UpstreamKind::NotFound,
            "AccessDeniedException" | "AccessDenied" => UpstreamKind::AccessDenied,
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch" => UpstreamKind::Credentials,
            _ => UpstreamKind::Service,
        }
    }

    /// Whether a refresh that failed this way may succeed later by itself, so that what was already known
    /// is worth showing meanwhile. A thing that is gone, or a request the service refuses as malformed, is
    /// not: that answer is the answer.
    pub fn is_transient(&self) -> bool {
        match self.kind() {
            UpstreamKind::NotFound => false,
            UpstreamKind::Service => matches!(self.code.as_str(), "InternalFailure" | "ServiceUnavailable"),
            _ => true,
        }
    }

    /// The failure in words, for notices: "SageMaker is throttling".
    pub fn summary(&self) -> &'static str {
        if self.is(OwnCode::HeldBack) {
            return "Stepline is pacing its requests to stay inside SageMaker's quota";
        }
        match self.kind() {
            UpstreamKind::Throttled => "SageMaker is throttling",
            UpstreamKind::NotFound => "SageMaker says it does not exist",
            UpstreamKind::AccessDenied => "SageMaker denied access",
            UpstreamKind::Credentials => "the AWS credentials were refused or are missing",
            UpstreamKind::Unreachable => "the SageMaker endpoint could not be reached",
            UpstreamKind::Timeout => "SageMaker did not answer in time",
            UpstreamKind::Service => "SageMaker answered with an error",
        }
    }
}

impl Upstream {
    /// What to do about it, for a page that has nothing to show.
    pub fn advice(&self) -> &'static str {
        match self.kind() {
            UpstreamKind::Throttled => {
                "SageMaker limits how often an account may ask (Studio, the SDK and CI share the quota). This page \
                 asks again by itself; reload in a few seconds."
            }
            UpstreamKind::NotFound => "Check the name in the address, or go back to the pipelines.",
            UpstreamKind::AccessDenied => {
                "The dashboard's AWS role lacks the permission named above; ask whoever runs it to grant it."
            }
            UpstreamKind::Credentials => {
                "The dashboard's AWS credentials are missing, expired or invalid; whoever runs it must renew them."
            }
            UpstreamKind::Unreachable | UpstreamKind::Timeout => {
                "Check that the SageMaker endpoint is reachable from the dashboard's server, then reload."
            }
            UpstreamKind::Service => "Reload to try again.",
        }
    }
}

/// Kinds of upstream failure, each told to the user in its own words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamKind {
    Throttled,
    NotFound,
    AccessDenied,
    /// Expired, missing or invalid credentials: not a network problem.
    Credentials,
    /// No answer at all: the endpoint is down or not where it was said to be.
    Unreachable,
    /// The attempt or the whole operation ran out of time.
    Timeout,
    /// Any other answer of the service.
    Service,
}

impl std::fmt::Display for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
