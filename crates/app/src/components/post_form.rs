//! A form posted to a server function, working with and without JavaScript.
//!
//! Without JavaScript the browser posts the form and follows the server's redirect (or comes back to
//! the form with what was wrong). Once hydrated, a submit sends the same URL-encoded fields with fetch,
//! moves to the page the server names, and keeps a refusal for the form to show. Unlike leptos's
//! `ActionForm`, the browser never decodes the fields into the server function's argument type and
//! re-encodes them: it posts exactly what a plain form posts. That keeps a query-string codec and
//! an encoder per argument type out of the browser bundle.

use leptos::prelude::*;

use stepline_types::error::AppError;

/// The state of one posted form: in flight, and what the last post answered (where to go, or why not).
#[derive(Clone, Copy)]
pub struct Posting {
    pub pending: RwSignal<bool>,
    pub result: RwSignal<Option<Result<String, AppError>>>,
}

impl Posting {
    pub fn new() -> Self {
        Posting { pending: RwSignal::new(false), result: RwSignal::new(None) }
    }

    /// The refusal of the last post, if it was refused (tracked).
    pub fn error(&self) -> Option<AppError> {
        self.result.with(|r| r.as_ref().and_then(|r| r.as_ref().err().cloned()))
    }

    /// Whether the last post was accepted (tracked).
    pub fn succeeded(&self) -> bool {
        self.result.with(|r| matches!(r, Some(Ok(_))))
    }
}

impl Default for Posting {
    fn default() -> Self {
        Self::new()
    }
}

/// The refusal of a posting's last post, next to its form.
#[component]
pub fn PostError(posting: Posting) -> impl IntoView {
    move || posting.error().map(|e| view! { <p class="field-error" role="alert">{e.to_string()}</p> })
}

/// `<form method="post" action=to>` whose submit, once hydrated, goes through `posting`. Attributes
/// given with `attr:` land on the `<form>`.
#[component]
pub fn PostForm(
    /// The server function's URL (`<Fn as ServerFn>::PATH`).
    to: &'static str,
    posting: Posting,
    /// Another place's page base, to post to its server function (the inbox acts in every place).
    #[prop(default = None)]
    under: Option<String>,
    children: Children,
) -> impl IntoView {
    let here = stepline_types::base::get();
    // Another place is another router: its answer is followed with a whole page load.
    let elsewhere = under.as_deref().is_some_and(|b| b != here);
    let action = match &under {
        Some(base) => stepline_types::base::href_in(base, to),
        None => stepline_types::base::href(to),
    };
    #[cfg(feature = "hydrate")]
    let on_submit = {
        let navigate = leptos_router::hooks::use_navigate();
        let action = action.clone();
        move |ev: leptos::ev::SubmitEvent| {
            use wasm_bindgen::JsCast;
            if ev.default_prevented() {
                return;
            }
            let Some(form) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok()) else { return };
            ev.prevent_default();
            // A second click while the first post is in flight does nothing (the token also makes the
            // server act once, but there is no reason to ask twice).
            if posting.pending.get_untracked() {
                return;
            }
            let Ok(fields) = web_sys::FormData::new_with_form(&form) else { return };
            posting.pending.set(true);
            let (navigate, action) = (navigate.clone(), action.clone());
            leptos::task::spawn_local(async move {
                // Posted as the form's own action would be: under the base path.
                let answer = send::post(&action, fields).await;
                posting.pending.set(false);
                if let Ok(next) = &answer {
                    // The server's redirect is under the base already.
                    if elsewhere {
                        let _ = window().location().assign(next);
                    } else {
                        navigate(next, leptos_router::NavigateOptions { resolve: false, ..Default::default() });
                    }
                }
                posting.result.set(Some(answer));
            });
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let on_submit = {
        let _ = (posting, elsewhere);
        |_ev: leptos::ev::SubmitEvent| {}
    };
    view! { <form method="post" action=action on:submit=on_submit>{children()}</form> }
}

#[cfg(feature = "hydrate")]
mod send {
    use http::Method;
    use leptos::server_fn::client::{browser::BrowserClient, Client};
    use leptos::server_fn::error::{FromServerFnError, IntoAppError, ServerFnErrorErr};
    use leptos::server_fn::request::{browser::BrowserFormData, browser::BrowserRequest, ClientReq};
    use leptos::server_fn::response::ClientRes;

    use stepline_types::error::AppError;

    /// Post a form's fields URL-encoded, as the browser would; the answer is the path to go to next.
    pub async fn post(to: &str, fields: web_sys::FormData) -> Result<String, AppError> {
        let req = <BrowserRequest as ClientReq<AppError>>::try_new_req_form_data(
            to,
            "application/json",
            "application/x-www-form-urlencoded",
            BrowserFormData::from(fields),
            Method::POST,
        )?;
        let res = <BrowserClient as Client<AppError>>::send(req).await?;
        let status = <_ as ClientRes<AppError>>::status(&res);
        let body = <_ as ClientRes<AppError>>::try_into_bytes(res).await?;
        if (200..300).contains(&status) {
            serde_json::from_slice::<String>(&body)
                .map_err(|e| ServerFnErrorErr::Deserialization(e.to_string()).into_app_error())
        } else {
            Err(AppError::de(body))
        }
    }
}
