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
    /// An action (start, stop, retry, answer) that SageMaker refused or did not answer: says whether
    /// anything happened and whether to send it again.
    Refused(Upstream),
    /// The request itself is wrong; the message names the field.
    Invalid(String),
    /// A form with problems, each naming its field.
    Form(Vec<crate::forms::FieldError>),
    /// The person may read this but not do it: the message names the role needed and whom to ask.
    Forbidden(String),
    /// Anything else, including transport failures between the browser and this server.
    Server(String),
}

/// What a request was about, for "… was not found" messages. Names come from URLs and forms, so they are
/// quoted at a bounded length.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    Pipeline(&'a str),
    Execution { pipeline: &'a str, id: &'a str },
    ModelGroup(&'a str),
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::text::{clip, ID, NAME};
        match self {
            Subject::Pipeline(name) => write!(f, "Pipeline '{}'", clip(name, NAME)),
            Subject::Execution { pipeline, id } => {
                write!(f, "Execution '{}' of pipeline '{}'", clip(id, ID), clip(pipeline, NAME))
            }
            Subject::ModelGroup(name) => write!(f, "Model package group '{}'", clip(name, NAME)),
        }
    }
}

impl AppError {
    pub fn not_found(subject: Subject) -> AppError {
        AppError::NotFound(subject.to_string())
    }

    /// What a page's address may say of this error after a plain form post (`?error=`): its kind and the
    /// service's error code, never its words. The page says the words for the code itself (`notice_text`),
    /// so a crafted link can only make it say one of its own fixed sentences.
    pub fn notice_code(&self) -> String {
        let code = |u: &Upstream| -> String {
            let c: String = u.code.chars().filter(|c| c.is_ascii_alphanumeric()).take(64).collect();
            if c.is_empty() {
                "Unknown".into()
            } else {
                c
            }
        };
        match self {
            AppError::NotFound(_) => "not-found".into(),
            AppError::Upstream(u) => format!("upstream-{}", code(u)),
            AppError::Refused(u) => format!("refused-{}", code(u)),
            AppError::Invalid(_) | AppError::Form(_) => "invalid".into(),
            AppError::Forbidden(_) => "forbidden".into(),
            AppError::Server(_) => "server".into(),
        }
    }

    /// The same error as the answer to an action: an upstream failure becomes a refusal that says
    /// whether anything happened.
    pub fn refused(self) -> AppError {
        match self {
            AppError::Upstream(u) => AppError::Refused(u),
            other => other,
        }
    }

    /// Map an upstream error, turning the service's ResourceNotFound into NotFound about `subject`.
    pub fn from_upstream(e: Upstream, subject: Subject) -> AppError {
        if e.is_not_found() {
            AppError::not_found(subject)
        } else {
            AppError::Upstream(e)
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Invalid(_) | AppError::Form(_) => StatusCode::BAD_REQUEST,
            AppError::Upstream(u) | AppError::Refused(u) if u.is_throttling() => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Upstream(_) | AppError::Refused(_) => StatusCode::BAD_GATEWAY,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
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
            && leptos::prelude::use_context::<http::request::Parts>()
                .is_some_and(|p| !p.uri.path().starts_with("/api/"));
        if !rendering_page || status == http::StatusCode::NOT_FOUND {
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
            AppError::Refused(u) => {
                use crate::model::UpstreamKind;
                let after = match u.kind() {
                    UpstreamKind::Unreachable | UpstreamKind::Timeout => {
                        "It may not have been done; sending it again is safe: it is never done twice."
                    }
                    _ if u.is_transient() => "Nothing was done; it is safe to send it again.",
                    _ => "Nothing was done.",
                };
                write!(f, "{}: {u}. {after}", u.summary())
            }
            AppError::Invalid(m) => write!(f, "{m}"),
            AppError::Form(errors) => {
                write!(f, "{}", errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" "))
            }
            AppError::Forbidden(m) => write!(f, "{m}"),
            AppError::Server(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// Arguments that do not decode (wrong types, missing fields, bad JSON) are the caller's error: the
    /// function never ran. Told apart by the framework's variant, and answered 400 on the server.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let e = match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => {
                AppError::Invalid(value.to_string())
            }
            other => AppError::Server(other.to_string()),
        };
        // During a server function call the framework has put the response's options in context; it
        // applies their status after the call, including when the arguments never decoded.
        #[cfg(feature = "ssr")]
        if let Some(r) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            r.set_status(e.status());
        }
        e
    }
}

/// The sentence a page shows for an `?error=` code (`AppError::notice_code`); None for what no action gives.
pub fn notice_text(code: &str) -> Option<String> {
    let service_code = |c: &str| {
        (!c.is_empty() && c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_alphanumeric())).then(|| c.to_string())
    };
    Some(match code {
        "not-found" => "The action was not taken: its execution or pipeline was not found.".into(),
        "invalid" => "The action was not taken: the form was not valid. Open it again to see why.".into(),
        "forbidden" => "The action was not taken: your role here does not allow it.".into(),
        "server" => "The action may not have been taken: Stepline could not finish it. Check the execution before \
                     trying again."
            .into(),
        _ => match code.split_once('-') {
            Some(("refused", c)) => format!("SageMaker refused the action ({}): nothing was done.", service_code(c)?),
            Some(("upstream", c)) => {
                format!("SageMaker could not be asked ({}): nothing was done; try again in a moment.", service_code(c)?)
            }
            _ => return None,
        },
    })
}

#[cfg(test)]
mod notice_tests {
    use super::*;

    #[test]
    fn an_error_travels_as_a_code_and_comes_back_as_a_fixed_sentence() {
        let refused = AppError::Refused(Upstream::new("ConflictException", "<script>alert(1)</script>"));
        assert_eq!(refused.notice_code(), "refused-ConflictException");
        let text = notice_text(&refused.notice_code()).unwrap();
        assert!(text.contains("ConflictException") && !text.contains("script"), "{text}");
        let hostile = AppError::Refused(Upstream::new("<b>Evil</b> code", "x"));
        assert_eq!(hostile.notice_code(), "refused-bEvilbcode");
        for crafted in ["Your account is locked: call +1 555 0100", "refused-", "refused-a b", "upstream-<x>", ""] {
            assert_eq!(notice_text(crafted), None, "{crafted}");
        }
        assert!(notice_text("forbidden").is_some() && notice_text("server").is_some());
    }
}
