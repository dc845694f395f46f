//! `Who`: what server functions and streams ask before anything else (read, act, record).

use super::*;

/// The identity and request id of a server function or page being served, with access to decide.
#[derive(Clone)]
pub struct Who {
    pub identity: Identity,
    pub request_id: String,
    access: Arc<Access>,
    /// The tags of the place being asked about (its gateway's).
    tags: Option<TagSource>,
}

impl Who {
    /// From inside a server function or server rendering. Fails closed: without the guard's identity
    /// (a route it did not cover) nothing is served.
    pub async fn current(access: Arc<Access>) -> Result<Who, AppError> {
        let parts = leptos_axum::extract::<axum::http::request::Parts>()
            .await
            .map_err(|_| AppError::Server("the request could not be read".into()))?;
        Who::from_parts(&parts.extensions, access)
    }

    pub fn from_parts(ext: &axum::http::Extensions, access: Arc<Access>) -> Result<Who, AppError> {
        let identity = ext
            .get::<Identity>()
            .cloned()
            .ok_or_else(|| AppError::Server("no identity for this request: it did not pass the access guard".into()))?;
        let request_id = ext.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        Ok(Who { identity, request_id, access, tags: None })
    }

    /// Asking about the pipelines of the place whose tags are these.
    pub fn in_place(mut self, tags: TagSource) -> Who {
        self.tags = Some(tags);
        self
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The place being asked about, as the activity log records it ("" with one place, else
    /// `/{account}/{region}`); None outside any place.
    pub fn place(&self) -> Option<String> {
        self.tags.as_ref().map(|t| t.key.trim_end().to_string())
    }

    pub async fn role(&self, pipeline: &str) -> Option<Role> {
        self.access.role(&self.identity, pipeline, self.tags.as_ref()).await
    }

    /// What grants naming model package groups give the person on `group`'s versions; `None` when none of
    /// theirs names it (see `policy`).
    pub async fn model_group_role(&self, group: &str) -> Option<Role> {
        self.access.model_group_role(&self.identity, group, self.tags.as_ref()).await
    }

    /// The person may read `pipeline`, or it answers as an unknown pipeline.
    pub async fn read(&self, pipeline: &str) -> Result<Role, AppError> {
        self.role(pipeline).await.ok_or_else(|| AppError::not_found(Subject::Pipeline(pipeline)))
    }

    /// The person may take `action` on `pipeline` (operator), or a recorded refusal: 404 when they may not
    /// even read it, 403 naming the role needed when they may read it.
    pub async fn operate(&self, pipeline: &str, action: Action, execution_arn: Option<&str>) -> Result<Role, AppError> {
        let role = self.role(pipeline).await;
        if role.is_some_and(|r| r >= Role::Operator) {
            return Ok(role.unwrap_or(Role::Operator));
        }
        let place = self.place();
        self.access
            .record(Record {
                place: place.as_deref(),
                user: &self.identity.user,
                role,
                action,
                outcome: Outcome::Denied,
                pipeline: Some(pipeline),
                execution_arn,
                request_id: &self.request_id,
                error_code: Some("AccessDenied"),
                detail: serde_json::Value::Null,
            })
            .await?;
        match role {
            None => Err(AppError::not_found(Subject::Pipeline(pipeline))),
            Some(_) => Err(AppError::Forbidden(self.me(role).cannot_operate().unwrap_or_default())),
        }
    }

    /// Record an action's outcome (before its answer is sent).
    #[allow(clippy::too_many_arguments)]
    pub async fn record(
        &self,
        role: Option<Role>,
        action: Action,
        pipeline: Option<&str>,
        execution_arn: Option<&str>,
        result: Result<(), &AppError>,
        detail: serde_json::Value,
    ) -> Result<(), AppError> {
        let (outcome, code) = match result {
            Ok(()) => (Outcome::Done, None),
            Err(e) => outcome_of(e),
        };
        let place = self.place();
        self.access
            .record(Record {
                place: place.as_deref(),
                user: &self.identity.user,
                role,
                action,
                outcome,
                pipeline,
                execution_arn,
                request_id: &self.request_id,
                error_code: code.as_deref(),
                detail,
            })
            .await
    }

    /// The idempotency token SageMaker is sent for a form's `token`: an HMAC of the person and the token
    /// under a key of this Stepline's. A form's token can travel in an address (a refused start form comes
    /// back with what was typed), and a link crafted with someone else's token must not make a person's start
    /// answer with the crafter's execution, recorded as theirs: the same token from two people is two tokens
    /// upstream. The same person sending the same form again still acts once.
    pub fn request_token(&self, token: &str) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.access.token_key, format!("{}\n{token}", self.identity.user).as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Run an action on the person's behalf (with `--act-role`, with their own credentials).
    pub async fn acting<F: std::future::Future>(&self, f: F) -> F::Output {
        crate::gateway::acting::as_person(&self.identity.user, f).await
    }

    /// What a page says of the person, with their role there (`None` outside a pipeline).
    pub fn me(&self, role: Option<Role>) -> Me {
        Me {
            user: self.identity.user.clone(),
            role,
            can_log_out: self.identity.session,
            contact: self.access.policy().contact.clone(),
        }
    }

    /// The role outside any pipeline, and whether the person has any grant at all.
    pub fn everywhere(&self) -> (Option<Role>, bool) {
        let policy = self.access.policy();
        (policy.everywhere(&self.identity.as_person()), policy.knows(&self.identity.as_person()))
    }
}

/// An error's outcome and code for the activity log.
pub(super) fn outcome_of(e: &AppError) -> (Outcome, Option<String>) {
    match e {
        AppError::Upstream(u) | AppError::Refused(u) => (Outcome::Refused, Some(u.code.clone())),
        AppError::Form(_) | AppError::Invalid(_) => (Outcome::Invalid, Some("InvalidInput".into())),
        AppError::Forbidden(_) => (Outcome::Denied, Some("AccessDenied".into())),
        AppError::NotFound(_) => (Outcome::Refused, Some("ResourceNotFound".into())),
        AppError::Server(_) => (Outcome::Refused, Some("ServerError".into())),
    }
}
