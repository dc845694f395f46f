//! Server functions that change things: start, stop, retry, answer a callback. Each works as a plain HTML
//! form post (no JavaScript: the browser is redirected to the result, or back to the form with what was
//! typed and what was wrong) and through `PostForm` (no reload: errors appear next to the form).
//! Every form carries its own idempotency token, so a double click or a resubmission acts once.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use stepline_types::error::AppError;
use stepline_types::forms::{CallbackForm, FieldError, StartForm};

/// What the start page keeps in its URL after a refused plain form post: the values and the problems.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StartState {
    pub form: StartForm,
    pub errors: Vec<FieldError>,
}

/// A fresh idempotency token for a form being rendered: 40 characters from a CSPRNG (the operating
/// system's on the server, `crypto.getRandomValues` in the browser), never `Math.random` — a token a page
/// can predict is one it can replay.
pub fn new_token() -> String {
    let mut bytes = [0u8; 40];
    #[cfg(feature = "ssr")]
    let _ = getrandom::fill(&mut bytes);
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 256 = 4 * 62 + 8: the modulo bias leaves about 5.9 bits a character, over 230 in all.
    bytes.iter().map(|b| CHARS[*b as usize % CHARS.len()] as char).collect()
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use axum::http::{header, HeaderMap};

    use stepline_types::error::AppError;
    use stepline_types::model::links;

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
            Err(e) => stepline_types::error::answer(Err(e)),
        }
    }

    /// The inbox after an answer given there, with a notice (or error) and a nonce, as below.
    pub fn inbox_page(notice: Option<(&str, &str)>) -> String {
        let base = stepline_types::base::href("/inbox");
        let nonce = chrono::Utc::now().timestamp_millis();
        match notice {
            Some((k, v)) => format!("{base}?{k}={}&at={nonce}", links::seg(v)),
            None => format!("{base}?at={nonce}"),
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
    use stepline_types::model::links;
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

/// Start (or re-run steps of) an execution: allowed to operators of the pipeline, recorded either way.
#[cfg(feature = "ssr")]
async fn start_inner(form: &StartForm) -> Result<String, AppError> {
    use stepline_types::model::activity::Action;
    let (state, who) = stepline_core::state::enter().await?;
    let selective = !form.steps.is_empty() || !form.source.trim().is_empty();
    let action = if selective { Action::Rerun } else { Action::Start };
    let role = who.operate(&form.pipeline, action, None).await?;
    let mut started = None;
    let token = who.request_token(&form.token);
    let result = who.acting(start_checked(&state, form, &token, &mut started)).await;
    let detail = serde_json::json!({
        "parameters": form.params,
        "display_name": Some(&form.display_name).filter(|s| !s.is_empty()),
        "version": Some(&form.version).filter(|s| !s.is_empty()),
        "steps": form.steps.keys().collect::<Vec<_>>(),
        "source": Some(&form.source).filter(|s| !s.is_empty()),
    });
    who.record(Some(role), action, Some(&form.pipeline), started.as_deref(), result.as_ref().map(|_| ()), detail)
        .await?;
    result
}

#[cfg(feature = "ssr")]
async fn start_checked(
    state: &stepline_core::state::AppState,
    form: &StartForm,
    token: &str,
    started: &mut Option<String>,
) -> Result<String, AppError> {
    use stepline_core::gateway::Start;
    use stepline_types::forms::check_start;
    use stepline_types::model::links;
    if !links::valid_name(&form.pipeline) {
        return Err(AppError::not_found(stepline_types::error::Subject::Pipeline(&form.pipeline)));
    }
    let mut detail =
        state.gateway.describe_pipeline(&form.pipeline).await.map_err(|e| {
            AppError::from_upstream(e, stepline_types::error::Subject::Pipeline(&form.pipeline)).refused()
        })?;
    // The form is checked against the definition of the version it starts (a version never changes, so
    // a kept copy is as good as a fresh one); a malformed number is check_start's to report.
    if let Some(version) = form.version.trim().parse::<i64>().ok().filter(|n| *n >= 1) {
        detail.definition =
            state.watchers.version_definition(&detail.summary.name, version).await.map_err(|e| match e {
                e if e.is_not_found() => AppError::Form(vec![FieldError {
                    field: "version".into(),
                    message: format!("Pipeline version {version} does not exist."),
                }]),
                e => AppError::Refused(e),
            })?;
    }
    let def = stepline_definition::parse(&detail.definition)
        .map_err(|e| AppError::Invalid(format!("The pipeline's definition cannot be read: {}", e.message)))?;
    let graph = stepline_definition::Graph::new(&def);
    let req = check_start(form, &def, &graph).map_err(AppError::Form)?;
    let name = detail.summary.name.clone();
    let source_arn = match req.selective.as_ref().and_then(|(_, s)| s.clone()) {
        // Only an execution of this pipeline, in this account and region: any other ARN would be sent to
        // SageMaker, whose answer would tell whether a pipeline the person may not see has that execution.
        Some(s) if s.starts_with("arn:") => {
            let own = match stepline_types::model::classify(&s) {
                stepline_types::model::Lookup::Execution { pipeline, id }
                    if pipeline.eq_ignore_ascii_case(&name) && links::valid_id(&id) =>
                {
                    Some(state.gateway.execution_arn(&name, &id).await.map_err(AppError::Refused)?)
                }
                _ => None,
            };
            match own {
                Some(arn) if arn.eq_ignore_ascii_case(&s) => Some(arn),
                _ => {
                    return Err(AppError::Form(vec![FieldError {
                        field: "source".into(),
                        message: format!(
                            "Source execution: '{}' is not an execution of {name}.",
                            stepline_types::text::clip(&s, 120)
                        ),
                    }]))
                }
            }
        }
        Some(id) if links::valid_id(&id) => {
            Some(state.gateway.execution_arn(&name, &id).await.map_err(AppError::Refused)?)
        }
        Some(other) => {
            return Err(AppError::Form(vec![FieldError {
                field: "source".into(),
                message: format!(
                    "Source execution: '{}' is neither an execution id nor an ARN.",
                    stepline_types::text::clip(&other, 60)
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
                token,
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
    *started = Some(arn.clone());
    state.watchers.started(&name).await;
    links::execution_arn_of(&name, &arn).ok_or_else(|| AppError::Server(format!("unexpected execution ARN {arn}")))
}

#[server(prefix = "/api", endpoint = "stop")]
pub async fn stop_execution(pipeline: String, id: String, token: String) -> Result<String, AppError> {
    let result = async {
        use stepline_types::model::activity::Action;
        let (state, who, role, arn) = resolve(&pipeline, &id, &token, Action::Stop).await?;
        let done =
            who.acting(state.gateway.stop_execution(&arn, &who.request_token(&token))).await.map_err(AppError::Refused);
        who.record(
            Some(role),
            Action::Stop,
            Some(&pipeline),
            Some(&arn),
            done.as_ref().map(|_| ()),
            serde_json::Value::Null,
        )
        .await?;
        done?;
        state.watchers.touched(&pipeline, &arn).await;
        Ok(server::execution_page(&pipeline, &id, Some(("notice", "stopping"))))
    }
    .await;
    server::finish(result, |e| server::execution_page(&pipeline, &id, Some(("error", &e.notice_code())))).await
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
                    stepline_types::text::clip(t, 20)
                ))
            })?),
        };
        use stepline_types::model::activity::Action;
        let (state, who, role, arn) = resolve(&pipeline, &id, &token, Action::Retry).await?;
        let done = who
            .acting(state.gateway.retry_execution(&arn, &who.request_token(&token), parallelism))
            .await
            .map_err(AppError::Refused);
        let detail = serde_json::json!({ "parallelism": parallelism });
        who.record(Some(role), Action::Retry, Some(&pipeline), Some(&arn), done.as_ref().map(|_| ()), detail).await?;
        done?;
        state.watchers.touched(&pipeline, &arn).await;
        Ok(server::execution_page(&pipeline, &id, Some(("notice", "retrying"))))
    }
    .await;
    server::finish(result, |e| server::execution_page(&pipeline, &id, Some(("error", &e.notice_code())))).await
}

#[server(prefix = "/api", endpoint = "callback")]
pub async fn answer_callback(form: CallbackForm) -> Result<String, AppError> {
    let (pipeline, id) = (form.pipeline.clone(), form.id.clone());
    let back = stepline_types::inbox::Back::of(Some(&form.back));
    let result = callback_inner(&form).await;
    server::finish(result, |e| match back {
        stepline_types::inbox::Back::Inbox => server::inbox_page(Some(("error", &e.notice_code()))),
        stepline_types::inbox::Back::Page => server::execution_page(&pipeline, &id, Some(("error", &e.notice_code()))),
    })
    .await
}

/// Answer a waiting callback step. The step's token is looked up here, by execution and step, in a fresh
/// snapshot: a form can only answer the step it names while that step waits, and never sees the token.
#[cfg(feature = "ssr")]
async fn callback_inner(form: &CallbackForm) -> Result<String, AppError> {
    use stepline_types::forms::Decision;
    use stepline_types::model::activity::Action;
    let action = if form.decision() == Some(Decision::Reject) { Action::Reject } else { Action::Approve };
    let (state, who, role, arn) = resolve(&form.pipeline, &form.id, &form.token, action).await?;
    let token = who.request_token(&form.token);
    let result = who.acting(answer_checked(&state, form, &arn, &token)).await;
    let detail = match &result {
        Ok(stepline_types::forms::CallbackAnswer::Approve(outputs)) => {
            serde_json::json!({ "step": form.step, "outputs": outputs })
        }
        Ok(stepline_types::forms::CallbackAnswer::Reject(reason)) => {
            serde_json::json!({ "step": form.step, "reason": reason })
        }
        Err(_) => serde_json::json!({ "step": stepline_types::text::clip(&form.step, 64) }),
    };
    who.record(Some(role), action, Some(&form.pipeline), Some(&arn), result.as_ref().map(|_| ()), detail).await?;
    result?;
    state.watchers.touched(&form.pipeline, &arn).await;
    state.inbox.invalidate();
    if stepline_types::inbox::Back::of(Some(&form.back)) == stepline_types::inbox::Back::Inbox {
        let notice = if form.decision() == Some(Decision::Approve) { "approved" } else { "rejected" };
        return Ok(server::inbox_page(Some(("notice", notice))));
    }
    Ok(server::execution_page(
        &form.pipeline,
        &form.id,
        Some(("notice", if form.decision() == Some(Decision::Approve) { "approved" } else { "rejected" })),
    ))
}

#[cfg(feature = "ssr")]
async fn answer_checked(
    state: &stepline_core::state::AppState,
    form: &CallbackForm,
    arn: &str,
    token: &str,
) -> Result<stepline_types::forms::CallbackAnswer, AppError> {
    use stepline_definition::ParameterType;
    use stepline_types::forms::{check_callback, CallbackAnswer};
    use stepline_types::model::{StepMetadata, StepStatus};
    // An answer is checked against what SageMaker says now, never against a snapshot kept while it refused.
    let known = state.watchers.execution(arn).await.map_err(AppError::Refused)?;
    if let Some(p) = known.problem {
        return Err(AppError::Refused(p.error));
    }
    let view = known.value;
    let steps = view.steps.clone().map_err(AppError::Upstream)?;
    let callback_token = steps.iter().find_map(|s| match &s.metadata {
        StepMetadata::Callback { token: Some(t), .. } if s.name == form.step && s.status == StepStatus::Executing => {
            Some(t.clone())
        }
        _ => None,
    });
    let Some(callback_token) = callback_token else {
        return Err(AppError::Invalid(format!(
            "Step '{}' is not waiting for an answer.",
            stepline_types::text::clip(&form.step, 64)
        )));
    };
    let definition = state.watchers.definition(arn).await.map_err(AppError::Upstream)?;
    let declared: Vec<(String, ParameterType)> = stepline_definition::parse(&definition)
        .ok()
        .and_then(|d| {
            d.step(&form.step)
                .map(|s| s.output_parameters.iter().map(|o| (o.output_name.clone(), o.output_type)).collect())
        })
        .unwrap_or_default();
    let answer = check_callback(form, &declared).map_err(AppError::Form)?;
    match &answer {
        CallbackAnswer::Approve(outputs) => state.gateway.send_step_success(&callback_token, outputs, token).await,
        CallbackAnswer::Reject(reason) => state.gateway.send_step_failure(&callback_token, reason, token).await,
    }
    .map_err(AppError::Refused)?;
    Ok(answer)
}

/// Check the common fields of an execution action and find the execution's ARN.
#[cfg(feature = "ssr")]
async fn resolve(
    pipeline: &str,
    id: &str,
    token: &str,
    action: stepline_types::model::activity::Action,
) -> Result<
    (stepline_core::state::AppState, stepline_core::access::Who, stepline_types::model::access::Role, String),
    AppError,
> {
    let (state, who) = stepline_core::state::enter().await?;
    // Authorization first: nothing about a pipeline is looked up for someone who may not act on it.
    let role = who.operate(pipeline, action, None).await?;
    if !stepline_types::forms::valid_token(token) {
        return Err(AppError::Invalid("The form is out of date: reload the page and submit again.".into()));
    }
    let arn = stepline_core::queries::execution_arn(&state, pipeline, id).await.map_err(AppError::refused)?;
    Ok((state, who, role, arn))
}

/// Send a test message to a notification channel now; back to the notifications page, which says how it went.
#[server(prefix = "/api", endpoint = "notify_test")]
pub async fn notify_test(channel: String) -> Result<String, AppError> {
    let page = || stepline_types::base::href("/notifications");
    let result = async {
        stepline_core::notify_queries::send_test(&channel).await?;
        Ok(format!("{}?tested={}", page(), stepline_types::model::links::seg(&channel)))
    }
    .await;
    // A channel that did not take it is said by name (the page says what the receiver answered only to a
    // script's post: the address of a plain one carries no words of the receiver's).
    server::finish(result, |e| match e {
        AppError::Server(_) => format!("{}?untested={}", page(), stepline_types::model::links::seg(&channel)),
        e => format!("{}?error={}", page(), e.notice_code()),
    })
    .await
}
