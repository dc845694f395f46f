//! An execution's estimated cost: the total (so far, while it runs), what spot training and the cache
//! saved, the instances without a price, and each job step's cost with how it was computed.

use leptos::prelude::*;

use crate::components::error::ErrorPanel;
use stepline_types::codec::Json;
use stepline_types::cost::{usd, ExecutionCost, ESTIMATE_NOTE};

/// An execution's estimate, read for (pipeline, id, the page's nonce).
pub type CostResource = Resource<Result<ExecutionCost, stepline_types::error::AppError>, Json>;

/// Made with the execution page, not inside its Suspend: a resource made when another resolves gets its id
/// in the order the server happened to resolve them, which the browser need not repeat.
pub fn cost_resource(key: Signal<(String, String, Option<String>)>) -> CostResource {
    Resource::<_, Json>::new_with_options(move || key.get(), |(p, i, _)| crate::cost::get_execution_cost(p, i), false)
}

/// The estimate of the execution shown; read again when its status changes (a running one's cost grows).
#[component]
pub fn CostPanel(
    data: CostResource,
    status: Signal<String>,
    /// Where the estimate goes once read in the browser, for the step table and the timeline's tooltips.
    sink: RwSignal<Option<ExecutionCost>>,
) -> impl IntoView {
    // A status other than the one first shown: read again (effects run in the browser only).
    let first = status.get_untracked();
    Effect::new(move |seen: Option<String>| {
        let now = status.get();
        if seen.as_ref().map_or(now != first, |s| *s != now) {
            data.refetch();
        }
        now
    });
    // Effects run in the browser only: the server renders the table and timeline without costs, as the
    // browser first hydrates them, and they fill in.
    Effect::new(move |_| {
        if let Some(Ok(c)) = data.get() {
            sink.set(Some(c));
        }
    });
    // While it runs, or jobs were still being read, read again in a few seconds.
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if data.get_untracked().is_some_and(|d| d.is_ok_and(|c| c.running || c.unread > 0)) {
                    data.refetch();
                }
            },
            std::time::Duration::from_secs(5),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }
    view! {
        <section class="cost" data-testid="cost">
            <h2>"Cost "<span class="sub" title=ESTIMATE_NOTE>"(estimated)"</span></h2>
            <Transition fallback=|| view! { <p class="muted">"Estimating…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                        Ok(cost) => cost_body(cost).into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn cost_body(c: ExecutionCost) -> impl IntoView {
    if c.is_empty() && c.unread == 0 {
        return view! { <p class="muted" data-testid="cost-none">"No step ran a training, processing or transform job."</p> }
            .into_any();
    }
    let mut parts = vec![];
    if c.spot_saved > 0.0 {
        parts.push(format!("managed spot saved {}", usd(c.spot_saved)));
    }
    if c.cache_saved > 0.0 {
        parts.push(format!("the cache saved {}", usd(c.cache_saved)));
    }
    let so_far = c.running.then_some(" so far");
    let missing = (!c.missing.is_empty()).then(|| {
        view! { <p class="warn" data-testid="cost-missing">{format!("No price for {}: left out of the total.", c.missing.join(", "))}</p> }
    });
    let unread = (c.unread > 0).then(|| {
        view! { <p class="muted" data-testid="cost-unread">{format!("{} job steps not read yet: left out of the total; reload in a moment.", c.unread)}</p> }
    });
    let rows = c
        .steps
        .iter()
        .map(|s| {
            let cost = s.cost.usd.map(usd).unwrap_or_else(|| "no price".into());
            let saved = s.cache.as_ref().map(|k| {
                let what = k.usd.map(|u| format!("the cache saved {}", usd(u))).unwrap_or_else(|| "from cache".into());
                view! { <div class="sub">{what}" (ran in "<span class="mono">{k.source_execution.clone()}</span>")"</div> }
            });
            let spot = s.cost.spot_saved.map(|v| view! { <div class="sub">{format!("spot saved {}", usd(v))}</div> });
            view! {
                <tr data-cost-step=s.step.clone()>
                    <td data-label="Step">{s.step.clone()}</td>
                    <td data-label="Instances">{format!("{} × {}", s.count, s.instance)}</td>
                    <td class="num" data-label="Cost" title=s.cost.formula.clone()>{cost}{s.cost.running.then_some(" so far")}{saved}{spot}</td>
                    <td class="sub" data-label="How">{s.cost.formula.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="cost-total" data-testid="cost-total" title=ESTIMATE_NOTE>
            <strong>{usd(c.usd)}</strong>{so_far}
            {(!parts.is_empty()).then(|| format!(" · {}", parts.join(" · ")))}
        </p>
        {missing}
        {unread}
        <details data-testid="cost-steps">
            <summary>"Cost of each step"</summary>
            <table class="data" data-testid="cost-table">
                <thead><tr><th scope="col">"Step"</th><th scope="col">"Instances"</th><th scope="col">"Cost"</th><th scope="col">"How"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </details>
        <p class="sub">{ESTIMATE_NOTE}</p>
    }
    .into_any()
}
