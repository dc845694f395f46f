//! Server functions that change things: start, stop, retry, answer a callback. Each works as a plain HTML
//! form post (no JavaScript: the browser is redirected to the result, or back to the form with what was
//! typed and what was wrong) and through `PostForm` (no reload: errors appear next to the form).
//! Every form carries its own idempotency token, so a double click or a resubmission acts once.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::forms::{CallbackForm, FieldError, StartForm};

/// What the start page keeps in its URL after a refused plain form post: the values and the problems.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StartState {
    pub form: StartForm,
    pub errors: Vec<FieldError>,
}

/// A fresh idempotency token for a form being rendered.
pub fn new_token() -> String {
    #[cfg(feature = "ssr")]
    {
        stepline_emulator::runtime::random_alnum(40)
    }
    #[cfg(not(feature = "ssr"))]
    {
        // Forms are rendered on the server; a browser-made form (after client navigation) draws from
        // the browser's random source.
        let mut s = String::with_capacity(40);
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        #[cfg(feature = "hydrate")]
        for _ in 0..40 {
            let i = (js_sys::Math::random() * CHARS.len() as f64) as usize % CHARS.len();
            s.push(CHARS[i] as char);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = CHARS;
        s
    }
}

#[cfg(feature = "ssr")]
mod server {
    use axum::http::{header, HeaderMap};

    use crate::error::AppError;
    use crate::model::links;

    /// A browser's own form submission (no JavaScript) asks for HTML; the app's calls do not.
    pub async fn plain_form_post() -> bool {
        leptos_axum::extract::<HeaderMap>()
            .await
            .ok()
            .and_then(|h| h.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(|a| a.contains("text/html")))
            .unwrap_or(false)
    }

    /// Finish an action: on success go to `to`; on failure a plain form goes to `back` (which shows the
    /// error), an app call gets the error with its status.
    pub async fn finish(
        result: Result<String, AppError>,
        back: impl FnOnce(&AppError) -> String,
    ) -> Result<String, AppError> {
        match result {
            Ok(to) => {
                leptos_axum::redirect(&to);
                Ok(to)
            }
            Err(e) if plain_form_post().await => {
                leptos_axum::redirect(&back(&e));
                Err(e)
            }
            Err(e) => crate::error::answer(Err(e)),
        }
    }

    /// The execution page after an action, with a notice (or error) and a nonce: the page reloads its data
    /// whenever the nonce changes, so what the action did shows at once.
    pub fn execution_page(pipeline: &str, id: &str, notice: Option<(&str, &str)>) -> String {
        let base = links::execution(pipeline, id);
        let nonce = chrono::Utc::now().timestamp_millis();
        match notice {
            Some((k, v)) => format!("{base}?{k}={}&at={nonce}", links::seg(v)),
            None => format!("{base}?at={nonce}"),
        }
    }
}

#[server(prefix = "/api", endpoint = "start")]
pub async fn start_execution(form: StartForm) -> Result<String, AppError> {
    use crate::model::links;
    let pipeline = form.pipeline.clone();
    let result = start_inner(&form).await;
    server::finish(result, |e| {
        let errors = match e {
            AppError::Form(errs) => errs.clone(),
            other => vec![FieldError { field: "form".into(), message: other.to_string() }],
        };
        let state = StartState { form: form.clone(), errors };
        format!(
            "{}/start?state={}",
            links::pipeline(&pipeline),
            links::seg(&serde_json::to_string(&state).unwrap_or_default())
        )
    })
    .await
}

#[cfg(feature = "ssr")]
async fn start_inner(form: &StartForm) -> Result<String, AppError> {
    use crate::forms::check_start;
    use crate::model::links;
    use crate::server::events;
    use crate::server::gateway::Start;
    let (state, _who) = crate::server::state::enter().await?;
    if !events::valid_name(&form.pipeline) {
        return Err(AppError::not_found(crate::error::Subject::Pipeline(&form.pipeline)));
    }
    let detail = state
        .gateway
        .describe_pipeline(&form.pipeline)
        .await
        .map_err(|e| AppError::from_upstream(e, crate::error::Subject::Pipeline(&form.pipeline)).refused())?;
    let def = stepline_definition::parse(&detail.definition)
        .map_err(|e| AppError::Invalid(format!("The pipeline's definition cannot be read: {}", e.message)))?;
    let graph = stepline_definition::Graph::new(&def);
    let req = check_start(form, &def, &graph).map_err(AppError::Form)?;
    let name = detail.summary.name.clone();
    let source_arn = match req.selective.as_ref().and_then(|(_, s)| s.clone()) {
        Some(s) if s.starts_with("arn:") => Some(s),
        Some(id) if events::valid_id(&id) => {
            Some(state.gateway.execution_arn(&name, &id).await.map_err(AppError::Refused)?)
        }
        Some(other) => {
            return Err(AppError::Form(vec![FieldError {
                field: "source".into(),
                message: format!(
                    "Source execution: '{}' is neither an execution id nor an ARN.",
                    crate::text::clip(&other, 60)
                ),
            }]))
        }
        None => None,
    };
    let selective = req.selective.as_ref().map(|(steps, _)| (steps.as_slice(), source_arn.as_deref()));
    let arn = state
        .gateway
        .start_execution(
            &name,
            Start {
                token: &form.token,
                display_name: req.display_name.as_deref(),
                description: req.description.as_deref(),
                parallelism: req.parallelism,
                version: req.version,
                mlflow_experiment: req.mlflow_experiment.as_deref(),
                overrides: &req.overrides,
                selective,
            },
        )
        .await
        .map_err(AppError::Refused)?;
    state.watchers.started(&name).await;
    links::execution_arn_of(&name, &arn).ok_or_else(|| AppError::Server(format!("unexpected execution ARN {arn}")))
}

#[server(prefix = "/api", endpoint = "stop")]
pub async fn stop_execution(pipeline: String, id: String, token: String) -> Result<String, AppError> {
    let result = async {
        let (state, arn) = resolve(&pipeline, &id, &token).await?;
        state.gateway.stop_execution(&arn, &token).await.map_err(AppError::Refused)?;
        state.watchers.touched(&pipeline, &arn).await;
        Ok(server::execution_page(&pipeline, &id, Some(("notice", "stopping"))))
    }
    .await;
    server::finish(result, |e| server::execution_page(&pipeline, &id, Some(("error", &e.to_string())))).await
}

#[server(prefix = "/api", endpoint = "retry")]
pub async fn retry_execution(
    pipeline: String,
    id: String,
    token: String,
    max_parallel: String,
) -> Result<String, AppError> {
    let result = async {
        let parallelism = match max_parallel.trim() {
            "" => None,
            t => Some(t.parse::<i32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                AppError::Invalid(format!(
                    "Parallel steps: '{}' is not a whole number of at least 1.",
                    crate::text::clip(t, 20)
                ))
            })?),
        };
        let (state, arn) = resolve(&pipeline, &id, &token).await?;
        state.gateway.retry_execution(&arn, &token, parallelism).await.map_err(AppError::Refused)?;
        state.watchers.touched(&pipeline, &arn).await;
        Ok(server::execution_page(&pipeline, &id, Some(("notice", "retrying"))))
    }
    .await;
    server::finish(result, |e| server::execution_page(&pipeline, &id, Some(("error", &e.to_string())))).await
}

#[server(prefix = "/api", endpoint = "callback")]
pub async fn answer_callback(form: CallbackForm) -> Result<String, AppError> {
    let (pipeline, id) = (form.pipeline.clone(), form.id.clone());
    let result = callback_inner(&form).await;
    server::finish(result, |e| server::execution_page(&pipeline, &id, Some(("error", &e.to_string())))).await
}

#[cfg(feature = "ssr")]
async fn callback_inner(form: &CallbackForm) -> Result<String, AppError> {
    use crate::forms::{check_callback, CallbackAnswer};
    use crate::model::{StepMetadata, StepStatus};
    use stepline_definition::ParameterType;
    let (state, arn) = resolve(&form.pipeline, &form.id, &form.token).await?;
    // The step must be waiting with exactly this token: a form can only answer what it shows.
    // An answer is checked against what SageMaker says now, never against a snapshot kept while it refused.
    let known = state.watchers.execution(&arn).await.map_err(AppError::Refused)?;
    if let Some(p) = known.problem {
        return Err(AppError::Refused(p.error));
    }
    let view = known.value;
    let steps = view.steps.clone().map_err(AppError::Upstream)?;
    let waiting = steps.iter().find(|s| {
        s.name == form.step
            && s.status == StepStatus::Executing
            && matches!(&s.metadata, StepMetadata::Callback { token: Some(t), .. } if *t == form.callback_token)
    });
    if waiting.is_none() {
        return Err(AppError::Invalid(format!(
            "Step '{}' is not waiting for an answer with this token.",
            crate::text::clip(&form.step, 64)
        )));
    }
    let definition = state.watchers.definition(&arn).await.map_err(AppError::Upstream)?;
    let declared: Vec<(String, ParameterType)> = stepline_definition::parse(&definition)
        .ok()
        .and_then(|d| {
            d.step(&form.step)
                .map(|s| s.output_parameters.iter().map(|o| (o.output_name.clone(), o.output_type)).collect())
        })
        .unwrap_or_default();
    match check_callback(form, &declared).map_err(AppError::Form)? {
        CallbackAnswer::Approve(outputs) => {
            state.gateway.send_step_success(&form.callback_token, &outputs, &form.token).await
        }
        CallbackAnswer::Reject(reason) => {
            state.gateway.send_step_failure(&form.callback_token, &reason, &form.token).await
        }
    }
    .map_err(AppError::Refused)?;
    state.watchers.touched(&form.pipeline, &arn).await;
    Ok(server::execution_page(
        &form.pipeline,
        &form.id,
        Some(("notice", if form.decision == "approve" { "approved" } else { "rejected" })),
    ))
}

/// Check the common fields of an execution action and find the execution's ARN.
#[cfg(feature = "ssr")]
async fn resolve(pipeline: &str, id: &str, token: &str) -> Result<(crate::server::state::AppState, String), AppError> {
    let (state, _who) = crate::server::state::enter().await?;
    if !crate::forms::valid_token(token) {
        return Err(AppError::Invalid("The form is out of date: reload the page and submit again.".into()));
    }
    let arn = crate::server::views::execution_arn(&state, pipeline, id).await.map_err(AppError::refused)?;
    Ok((state, arn))
}
