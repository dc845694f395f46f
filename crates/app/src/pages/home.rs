use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::list_pipelines;
use crate::components::stale::StaleNotice;
use crate::components::{error::ErrorPanel, status::StatusBadge, time::Timestamp};
use stepline_types::codec::Json;
use stepline_types::model::{classify, links, Lookup};
use stepline_types::page::Newest;

/// Where a search for `q` should go instead of this page, if `q` is a pasted ARN.
pub fn redirect_for(q: &str) -> Option<String> {
    let q = q.trim();
    // Several execution ARNs of one pipeline: side by side.
    if let Some(to) = links::compare_arns(q) {
        return Some(to);
    }
    match classify(q) {
        Lookup::Pipeline(_) => links::pipeline_arn(q),
        Lookup::Execution { .. } => links::execution_arn(q),
        Lookup::Search(_) => None,
    }
}

/// The pipelines page: every pipeline with its newest execution, and a search box that also takes a
/// pasted pipeline or execution ARN.
#[component]
pub fn HomePage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    // A pasted ARN goes straight to its page (without JavaScript, the server redirects: server::router).
    Effect::new(move |_| {
        if let Some(to) = redirect_for(&q()) {
            if to.starts_with(&format!("{}/", stepline_types::base::get())) {
                // Links are under the base already: the router must not add it again.
                let whole = leptos_router::NavigateOptions { resolve: false, ..Default::default() };
                leptos_router::hooks::use_navigate()(&to, whole);
            } else {
                // Another account or region: its own router base, a whole page load.
                #[cfg(feature = "hydrate")]
                let _ = window().location().assign(&to);
            }
        }
    });
    let data = Resource::<_, Json>::new_with_options(|| (), |_| list_pipelines(), false);
    view! {
        <Title text="Pipelines"/>
        <div class="page-head">
            <h1>"Pipelines"</h1>
            <form method="get" action=stepline_types::base::href("/") class="search" role="search">
                <input type="search" name="q" value=q placeholder="Filter by name, or paste a pipeline or execution ARN"
                    aria-label="Search pipelines or paste an ARN" size="48"/>
                <button type="submit">"Search"</button>
            </form>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading pipelines…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(page) if page.no_grant => {
                        let ask = page.me.contact.clone().unwrap_or_else(|| "the people who run Stepline".into());
                        view! {
                            <div class="notice" data-testid="no-grant" role="status">
                                <strong>{format!("You ({}) have no access to any pipeline yet.", page.me.user)}</strong>
                                <p>{format!("Ask {ask} to add you (or one of your groups) to Stepline's policy.")}</p>
                            </div>
                        }
                        .into_any()
                    }
                    Ok(page) => {
                        let needle = q().to_lowercase();
                        let rows: Vec<_> = page
                            .rows
                            .into_iter()
                            .filter(|r| {
                                needle.is_empty()
                                    || r.pipeline.name.to_lowercase().contains(&needle)
                                    || r.pipeline.description.as_deref().unwrap_or("").to_lowercase().contains(&needle)
                            })
                            .collect();
                        let empty = rows.is_empty();
                        let pending = rows.iter().filter(|r| matches!(r.newest, Newest::Pending)).count();
                        let pending_note = (pending > 0).then(|| {
                            format!(
                                "The newest executions of {} of these {} pipelines are not checked yet: they are asked a few at a \
                                 time, within SageMaker's request quota. Reload to see more.",
                                stepline_types::text::thousands(pending),
                                stepline_types::text::thousands(rows.len())
                            )
                        });
                        let body = rows
                            .into_iter()
                            .map(|r| {
                                let href = links::pipeline(&r.pipeline.name);
                                let last = match r.newest {
                                    Newest::Run(e) => {
                                        let ehref = links::execution(&r.pipeline.name, &e.id);
                                        view! {
                                            <StatusBadge status=e.status.as_str().to_string() tone=e.status.tone()/>
                                            " "
                                            <a href=ehref>{e.display_name.clone().unwrap_or(e.id.clone())}</a>
                                            <div class="sub"><Timestamp at=e.start/></div>
                                        }
                                        .into_any()
                                    }
                                    Newest::Never => view! { <span class="muted">"never run"</span> }.into_any(),
                                    Newest::Pending => {
                                        let last = r.pipeline.last_execution;
                                        view! {
                                            <span class="muted">"not checked yet"</span>
                                            {last.map(|t| view! { <div class="sub">"last run "<Timestamp at=Some(t)/></div> })}
                                        }
                                        .into_any()
                                    }
                                    Newest::Unknown(e) => {
                                        view! { <span class="muted" title=e.to_string()>{format!("not known ({})", e.code)}</span> }.into_any()
                                    }
                                };
                                view! {
                                    <tr>
                                        <td><a href=href class="strong">{r.pipeline.name.clone()}</a></td>
                                        <td>{r.pipeline.description.clone().unwrap_or_default()}</td>
                                        <td>{last}</td>
                                        <td><Timestamp at=r.pipeline.modified/></td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <StaleNotice freshness=page.freshness/>
                            {pending_note.map(|n| view! { <p class="note" data-testid="pending">{n}</p> })}
                            <table class="data" data-testid="pipelines">
                                <thead><tr><th>"Pipeline"</th><th>"Description"</th><th>"Last execution"</th><th>"Modified"</th></tr></thead>
                                <tbody>{body}</tbody>
                            </table>
                            {empty.then(|| view! { <p class="muted">"No pipeline matches."</p> })}
                            <p class="footer-note">"Backend: "{page.backend}</p>
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::redirect_for;

    #[test]
    fn pasted_arns_redirect_and_words_do_not() {
        assert_eq!(
            redirect_for("arn:aws:sagemaker:us-east-1:123456789012:pipeline/P/execution/abc123def456").as_deref(),
            Some("/pipelines/P/executions/abc123def456")
        );
        assert_eq!(
            redirect_for("arn:aws:sagemaker:us-east-1:123456789012:pipeline/P").as_deref(),
            Some("/pipelines/P")
        );
        assert_eq!(redirect_for("abalone"), None);
    }
}
