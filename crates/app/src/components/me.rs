//! The top bar's "who is looking": the user, their role on the page's pipeline, and "Log out" for the
//! built-in login.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::whoami;
use stepline_types::codec::Json;

/// The pipeline a path is about (`/pipelines/{name}…`), if any.
pub fn pipeline_of_path(path: &str) -> Option<String> {
    let rest = stepline_types::base::strip(path)?.strip_prefix("/pipelines/")?;
    let name = rest.split('/').next().filter(|n| !n.is_empty())?;
    Some(stepline_types::text::percent_decode(name))
}

#[component]
pub fn WhoAmI() -> impl IntoView {
    let location = use_location();
    let pipeline = Memo::new(move |_| pipeline_of_path(&location.pathname.get()));
    let me = Resource::<_, Json>::new_with_options(move || pipeline.get(), whoami, false);
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => {
                        let role = match me.role {
                            Some(r) => r.label().to_string(),
                            None => "no access".to_string(),
                        };
                        let where_ = if pipeline.get_untracked().is_some() { " here" } else { "" };
                        view! {
                            <span class="me" data-testid="me" title=format!("{} — {}{where_}", me.user, role)>
                                <span class="me-user">{me.user.clone()}</span>
                                " "<span class="me-role" data-testid="me-role">{role.clone()}</span>
                            </span>
                            {me.can_log_out.then(|| view! {
                                <form method="post" action=stepline_types::base::root_href("/auth/logout") class="logout">
                                    <button type="submit" class="link" data-testid="logout">"Log out"</button>
                                </form>
                            })}
                        }
                        .into_any()
                    }
                    Err(_) => ().into_any(),
                }
            })}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_of_a_path() {
        assert_eq!(pipeline_of_path("/pipelines/Abalone/executions/x").as_deref(), Some("Abalone"));
        assert_eq!(pipeline_of_path("/pipelines/A%20B").as_deref(), Some("A B"));
        assert_eq!(pipeline_of_path("/activity"), None);
        assert_eq!(pipeline_of_path("/pipelines/"), None);
    }
}
