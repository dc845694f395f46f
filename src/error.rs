//! The error type of every server function: what went wrong, in words a person can act on.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::model::Upstream;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AppError {
    /// The pipeline, execution or step asked for does not exist: "Pipeline 'X' was not found".
    NotFound(String),
    /// SageMaker answered with an error (or could not be reached).
    Upstream(Upstream),
    /// The request itself is wrong; the message names the field.
    Invalid(String),
    /// A form with problems, each naming its field.
    Form(Vec<crate::forms::FieldError>),
    /// Anything else, including transport failures between the browser and this server.
    Server(String),
}

impl AppError {
    /// Map an upstream error, turning "does not exist" into NotFound with a message about `what`.
    pub fn from_upstream(e: Upstream, what: impl FnOnce() -> String) -> AppError {
        if e.is_not_found() {
            AppError::NotFound(what())
        } else {
            AppError::Upstream(e)
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Invalid(_) | AppError::Form(_) => StatusCode::BAD_REQUEST,
            AppError::Upstream(u) if u.is_throttling() => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Upstream(_) => StatusCode::BAD_GATEWAY,
            AppError::Server(m) if m.contains("deserializ") => StatusCode::BAD_REQUEST,
            AppError::Server(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Give a server function's error its HTTP status (a missing execution is a 404, a bad field a 400).
/// During server rendering the page takes the status of a NotFound, so a dead link answers 404.
#[cfg(feature = "ssr")]
pub fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        let status = e.status();
        let rendering_page = leptos::prelude::use_context::<leptos_axum::ResponseOptions>().is_some()
            && leptos::prelude::use_context::<axum::http::request::Parts>()
                .is_some_and(|p| !p.uri.path().starts_with("/api/"));
        if !rendering_page || status == axum::http::StatusCode::NOT_FOUND {
            if let Some(r) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                r.set_status(status);
            }
        }
    }
    result
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::NotFound(what) => write!(f, "{what} was not found"),
            AppError::Upstream(u) => write!(f, "{u}"),
            AppError::Invalid(m) => write!(f, "{m}"),
            AppError::Form(errors) => {
                write!(f, "{}", errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" "))
            }
            AppError::Server(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Server(value.to_string())
    }
}
