//! The logs tab of a step: its job's CloudWatch streams, one tab per instance, the newest lines rendered
//! on the server (ANSI colours as styles, markup as text), each line linkable (`#L123`); paging back,
//! search, the first error, a download; and the live tail while the job runs.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::live::{use_event_source, Link, LiveIndicator};
use crate::api::step_logs;
use crate::model::logs::{ansi, highlight, search_terms, LogLine, LogsPage, LogsState, Styled};
use crate::model::{links, Freshness};

/// The URL of the logs tab with these choices.
fn href(base: &str, step: &str, stream: Option<&str>, before: Option<u64>, q: Option<&str>) -> String {
    let mut s = format!("{base}?tab=logs&step={}", links::seg(step));
    if let Some(st) = stream {
        s.push_str(&format!("&stream={}", links::seg(st)));
    }
    if let Some(b) = before {
        s.push_str(&format!("&before={b}"));
    }
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        s.push_str(&format!("&q={}", links::seg(q)));
    }
    s
}

fn run_class(r: &Styled) -> String {
    let mut c = String::new();
    if let Some(fg) = r.fg {
        c.push_str(&format!("a{fg}"));
    }
    if r.bold {
        c.push_str(" ab");
    }
    c
}

/// One line: its number (a link to itself), its time and its text in styled runs — text nodes only, so
/// markup in a log is shown, never interpreted.
fn line_view(l: LogLine, terms: &[String], anchor: bool) -> impl IntoView {
    let runs = highlight(ansi(&l.text), terms);
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(l.at);
    let time = at.map(|t| t.format("%H:%M:%S%.3f").to_string()).unwrap_or_default();
    let full = at.map(|t| t.to_rfc3339()).unwrap_or_default();
    let id = anchor.then(|| format!("L{}", l.n));
    let runs = runs
        .into_iter()
        .map(|r| {
            let class = run_class(&r);
            if r.mark {
                view! { <mark class=class>{r.text}</mark> }.into_any()
            } else if class.is_empty() {
                r.text.into_any()
            } else {
                view! { <span class=class>{r.text}</span> }.into_any()
            }
        })
        .collect_view();
    view! {
        <div class="ll" id=id>
            <a class="ln" href=format!("#L{}", l.n)>{l.n}</a>
            <time class="lt" datetime=full>{time}</time>
            <span class="lm">{runs}</span>
        </div>
    }
}

/// A state of the logs that is not lines, said plainly: where the logs are, or what is missing.
fn state_note(state: &LogsState, group: Option<&str>, job: Option<&str>) -> impl IntoView {
    let (text, testid) = match state {
        LogsState::Ready => return None,
        LogsState::NotStarted => ("This step has not started a job yet; its logs appear here once it does.".to_string(), "logs-not-started"),
        LogsState::NoLogs(why) => (format!("{why}."), "logs-none"),
        LogsState::NoStreams => (
            format!(
                "No log stream yet: {} has not written to {} (its instances are starting).",
                job.unwrap_or("the job"),
                group.unwrap_or("CloudWatch")
            ),
            "logs-no-streams",
        ),
        LogsState::GroupMissing(g) => (
            format!("The log group {g} does not exist in this account and region: no job of this kind has logged here yet, or the logs were deleted."),
            "logs-group-missing",
        ),
        LogsState::Denied { action, message } => (
            format!("CloudWatch Logs refused: Stepline's role needs {action} on {} ({message}).", group.unwrap_or("the log group")),
            "logs-denied",
        ),
        LogsState::Failed(e) => (format!("The logs could not be read: {}: {}", e.code, e.message), "logs-failed"),
    };
    Some(view! { <p class="logs-state" role="status" data-testid=testid>{text}</p> })
}

/// The logs tab of `step`.
#[component]
pub fn StepLogs(pipeline: String, id: String, step: String) -> impl IntoView {
    let query = use_query_map();
    let stream = move || query.read().get("stream");
    let before = move || query.read().get("before").and_then(|b| b.parse::<u64>().ok());
    let q = move || query.read().get("q");
    let (p, i, s) = (pipeline.clone(), id.clone(), step.clone());
    let data = Resource::<_, crate::codec::Json>::new_with_options(
        move || (p.clone(), i.clone(), s.clone(), stream(), before(), q()),
        |(p, i, s, stream, before, q)| step_logs(p, i, s, stream, before, q),
        false,
    );
    let base = links::execution(&pipeline, &id);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the logs…"</p> }>
            {move || {
                let base = base.clone();
                Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::components::error::ErrorPanel error=e/> }.into_any(),
                        Ok(page) => view! { <LogsBody page=page base=base/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn LogsBody(page: LogsPage, base: String) -> impl IntoView {
    let step = page.step.clone();
    let stream = page.stream.clone();
    let note = state_note(&page.state, page.group.as_deref(), page.job.as_deref());
    let tabs = (page.streams.len() > 1).then(|| {
        let items = page
            .streams
            .iter()
            .map(|s| {
                let current = Some(&s.name) == stream.as_ref();
                view! {
                    <a href=href(&base, &step, Some(&s.name), None, None) class=if current { "tab current" } else { "tab" }
                        aria-current=current.then_some("page") title=s.name.clone()>{s.label.clone()}</a>
                }
            })
            .collect_view();
        view! { <nav class="tabs streams" aria-label="Log streams" data-testid="log-streams">{items}</nav> }
    });
    if page.state != LogsState::Ready && page.lines.is_empty() && page.stream.is_none() {
        return view! { <section class="logs" data-testid="logs">{tabs}{note}</section> }.into_any();
    }
    let lines = RwSignal::new(page.lines.clone());
    let following = page.running && page.search.is_none() && page.lines.last().is_none_or(|l| l.n >= page.total);
    let total = RwSignal::new(page.total);
    let freshness = RwSignal::new(Freshness::default());
    let live = if following {
        let url = format!(
            "/events{base}/steps/{}/logs?stream={}&after={}",
            links::seg(&step),
            links::seg(stream.as_deref().unwrap_or_default()),
            page.total
        );
        use_event_source(url, &["lines", "problem"], move |event, data| match event {
            "lines" => {
                if let Ok(new) = crate::codec::from_json::<Vec<LogLine>>(&data) {
                    let last = total.get_untracked();
                    let new: Vec<LogLine> = new.into_iter().filter(|l| l.n > last).collect();
                    if let Some(l) = new.last() {
                        total.set(l.n);
                        lines.update(|ls| ls.extend(new));
                        scroll_to_end();
                    }
                }
            }
            _ => freshness.update(|f| f.problem = crate::codec::from_json(&data).ok()),
        })
    } else {
        RwSignal::new(Link::Done)
    };
    let stream_ref = stream.as_deref();
    let earlier = page.earlier().map(|first| {
        view! { <a class="button" href=href(&base, &step, stream_ref, Some(first), None) data-testid="load-earlier">"Load earlier lines"</a> }
    });
    let newest = page.lines.last().filter(|l| l.n < page.total).map(|_| {
        view! { <a class="button" href=href(&base, &step, stream_ref, None, None) data-testid="newest">"Newest lines"</a> }
    });
    let shown_from = page.lines.first().map(|l| l.n).unwrap_or(0);
    let shown_to = page.lines.last().map(|l| l.n).unwrap_or(0);
    let first_error = page.first_error.map(|n| {
        let target = if n >= shown_from && n <= shown_to {
            format!("#L{n}")
        } else {
            format!("{}#L{n}", href(&base, &step, stream_ref, Some(n + 20), None))
        };
        view! { <a class="button" href=target data-testid="first-error">{format!("First error (line {n})")}</a> }
    });
    let download = format!(
        "{base}/steps/{}/logs.txt?stream={}",
        links::seg(&step),
        links::seg(stream.as_deref().unwrap_or_default())
    );
    let search_value = page.search.as_ref().map(|s| s.query.clone()).unwrap_or_default();
    let search = page.search.clone().map(|s| {
        let terms = search_terms(&s.query);
        let count = if s.more {
            format!("first {} matching lines", s.matches.len())
        } else {
            format!("{} matching lines", s.matches.len())
        };
        let items = s
            .matches
            .into_iter()
            .map(|l| {
                let n = l.n;
                let link = (n > 0).then(|| {
                    let to = if n >= shown_from && n <= shown_to {
                        format!("#L{n}")
                    } else {
                        format!("{}#L{n}", href(&base, &step, stream_ref, Some(n + 20), None))
                    };
                    view! { <a href=to>"show in the log"</a> }
                });
                view! { <li>{line_view(l, &terms, false)}{link}</li> }
            })
            .collect_view();
        view! {
            <div class="log-search" data-testid="log-search">
                <p>{format!("“{}”: {count} in the whole stream.", s.query)}</p>
                <ol class="log matches">{items}</ol>
            </div>
        }
    });
    let terms = page.search.as_ref().map(|s| search_terms(&s.query)).unwrap_or_default();
    let hidden_stream = stream.clone().unwrap_or_default();
    let summary = format!("{} lines", crate::text::thousands(page.total as usize));
    let lines_view = move || {
        let terms = terms.clone();
        lines.get().into_iter().map(move |l| line_view(l, &terms, true)).collect_view()
    };
    view! {
        <section class="logs" data-testid="logs">
            {tabs}
            {note}
            <div class="log-tools">
                <form method="get" action=base.clone() class="log-find" role="search">
                    <input type="hidden" name="tab" value="logs"/>
                    <input type="hidden" name="step" value=step.clone()/>
                    <input type="hidden" name="stream" value=hidden_stream/>
                    <label for="log-q" class="sr-only">"Search this stream"</label>
                    <input id="log-q" name="q" type="search" value=search_value placeholder="Search the whole stream (CloudWatch filter terms)" maxlength="200"/>
                    <button type="submit">"Search"</button>
                </form>
                {first_error}
                {earlier}
                {newest}
                <a class="button" href=download download="" data-testid="download-log">"Download"</a>
                <CopyButton lines=lines/>
                <span class="muted" data-testid="log-total">{summary}</span>
                {following.then(|| view! { <LiveIndicator state=live freshness=freshness/> })}
            </div>
            {search}
            <div class="log" data-testid="log-lines" role="log" aria-live="off">{lines_view}</div>
        </section>
    }
    .into_any()
}

/// Copies the lines shown (as plain text, without colours) to the clipboard. Needs JavaScript; without it
/// the download gives the same text.
#[component]
fn CopyButton(lines: RwSignal<Vec<LogLine>>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let text: String =
                lines.with_untracked(|ls| ls.iter().map(|l| crate::model::logs::strip_ansi(&l.text) + "\n").collect());
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&text);
                copied.set(true);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = lines;
    };
    view! {
        <button type="button" class="button" on:click=copy data-testid="copy-log">
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

/// Keep the newest line in view while following, when the reader is already at the bottom.
fn scroll_to_end() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
        if let Some(el) = doc
            .query_selector("[data-testid=log-lines]")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let near_end = el.scroll_height() - el.scroll_top() - el.client_height() < 80;
            if near_end {
                request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
            }
        }
    }
}
