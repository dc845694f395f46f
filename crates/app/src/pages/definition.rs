//! An execution's definition against the pipeline's latest (`/pipelines/{name}/executions/{id}/definition`):
//! the lines the pipeline's updates added and removed since the version the execution ran, with a few
//! unchanged lines around each change. `?against=ID` compares it with another execution's definition
//! instead (the compare page's line diff). Rendered on the server; nothing here needs JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::definition_diff;
use crate::components::error::ErrorPanel;
use crate::components::stale::StaleNotice;
use crate::pages::title::route_title;
use stepline_types::codec::Json;
use stepline_types::diff::{Hunk, Tag};
use stepline_types::model::links;
use stepline_types::page::DefinitionDiffPage;

#[component]
pub fn DefinitionPage() -> impl IntoView {
    let params = use_params_map();
    let pipeline = move || params.read().get("pipeline").unwrap_or_default();
    let id = move || params.read().get("id").unwrap_or_default();
    let query = use_query_map();
    let against = move || query.read().get("against").filter(|a| !a.is_empty());
    let data = Resource::<_, Json>::new_with_options(
        move || (pipeline(), id(), against()),
        |(p, i, a)| definition_diff(p, i, a),
        false,
    );
    view! {
        <Title text=route_title(params, |p| format!("Definition · {} · {}", p.get("id").unwrap_or_default(), p.get("pipeline").unwrap_or_default()))/>
        <nav class="crumbs">
            <a href=stepline_types::base::href("/")>"Pipelines"</a>" / "<a href=move || links::pipeline(&pipeline())>{pipeline}</a>" / "
            <a href=move || links::execution(&pipeline(), &id())>{id}</a>" / "<span>"Definition"</span>
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Comparing the definitions…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(page) => view! { <DiffBody page=page/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// "Version 1 against the latest (v3)".
pub fn heading(version: Option<i64>, latest: Option<i64>) -> String {
    let ran = version.map(|v| format!("version {v}")).unwrap_or_else(|| "the definition this execution ran".into());
    let latest = latest.map(|l| format!("the latest (v{l})")).unwrap_or_else(|| "the latest".into());
    let mut text = format!("{ran} against {latest}");
    text[..1].make_ascii_uppercase();
    text
}

/// "Version 1 against execution nightly-2 (v3)".
pub fn heading_against(version: Option<i64>, other: &stepline_types::page::DiffAgainst) -> String {
    let ran = version.map(|v| format!("Version {v}")).unwrap_or_else(|| "The definition this execution ran".into());
    let name = other.display_name.as_deref().unwrap_or(&other.id);
    let theirs = other.version.map(|v| format!(" (v{v})")).unwrap_or_default();
    format!("{ran} against execution {name}{theirs}")
}

#[component]
fn DiffBody(page: DefinitionDiffPage) -> impl IntoView {
    let back = links::execution(&page.pipeline, &page.id);
    let name = page.display_name.clone().unwrap_or_else(|| page.id.clone());
    let (title, other_head, other_text) = match &page.against {
        Some(o) => {
            (heading_against(page.version, o), "Other", format!("in {}", o.display_name.as_deref().unwrap_or(&o.id)))
        }
        None => (heading(page.version, page.latest), "Latest", "in the latest".to_string()),
    };
    let other_link = page.against.as_ref().map(|o| {
        let href = links::execution(&page.pipeline, &o.id);
        view! { " Against "<a href=href>{o.display_name.clone().unwrap_or_else(|| o.id.clone())}</a>"." }
    });
    let d = page.diff;
    let same = d.is_empty();
    let summary = if same {
        "The definitions are the same.".to_string()
    } else {
        format!("{} lines added, {} removed {other_text}.", d.added, d.removed)
    };
    let hunks = d.hunks.into_iter().map(hunk_rows).collect_view();
    let after = (d.skipped_after > 0).then(|| skipped_row(d.skipped_after));
    let table = (!same).then(|| {
        view! {
            <div class="diff-scroll">
                <table class="diff" data-testid="definition-diff">
                    <thead><tr><th scope="col">"Ran"</th><th scope="col">{other_head}</th><th scope="col">"±"</th><th scope="col">"Line"</th></tr></thead>
                    <tbody>{hunks}{after}</tbody>
                </table>
            </div>
        }
    });
    view! {
        <h1>{title}</h1>
        <StaleNotice freshness=page.freshness.clone()/>
        <p class="muted">"Execution "<a href=back>{name}</a>"."{other_link}" "<span data-testid="diff-summary">{summary}</span></p>
        {table}
    }
}

fn skipped_row(n: usize) -> impl IntoView {
    let text = if n == 1 { "1 unchanged line".to_string() } else { format!("{n} unchanged lines") };
    view! { <tr class="diff-skip"><td colspan="4">{text}</td></tr> }
}

fn hunk_rows(h: Hunk) -> impl IntoView {
    let skipped = (h.skipped > 0).then(|| skipped_row(h.skipped));
    let lines = h
        .lines
        .into_iter()
        .map(|l| {
            let (class, sign) = match l.tag {
                Tag::Same => ("diff-same", " "),
                Tag::Added => ("diff-add", "+"),
                Tag::Removed => ("diff-del", "−"),
            };
            let no = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
            view! {
                <tr class=class>
                    <td class="num">{no(l.old)}</td>
                    <td class="num">{no(l.new)}</td>
                    <td class="sign">{sign}</td>
                    <td class="mono"><pre>{l.text}</pre></td>
                </tr>
            }
        })
        .collect_view();
    view! { {skipped}{lines} }
}

#[cfg(test)]
mod tests {
    use super::{heading, heading_against};

    #[test]
    fn the_heading_names_both_versions() {
        assert_eq!(heading(Some(1), Some(3)), "Version 1 against the latest (v3)");
        assert_eq!(heading(None, None), "The definition this execution ran against the latest");
        let other = stepline_types::page::DiffAgainst {
            id: "abc".into(),
            display_name: Some("nightly".into()),
            version: Some(3),
        };
        assert_eq!(heading_against(Some(1), &other), "Version 1 against execution nightly (v3)");
        let unnamed = stepline_types::page::DiffAgainst { id: "abc".into(), display_name: None, version: None };
        assert_eq!(heading_against(None, &unnamed), "The definition this execution ran against execution abc");
    }
}
