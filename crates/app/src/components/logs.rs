//! The logs tab of a step: its job's CloudWatch streams, one tab per instance, the newest lines rendered
//! on the server (ANSI colours as styles, markup as text), each line linkable (`#L123`); paging back,
//! search, the first error, a download; and the live tail while the job runs.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use stepline_types::live::StreamEvent;

use super::live::{use_event_source, Link, LiveIndicator};
use crate::api::step_logs;
use stepline_types::model::logs::{ansi, highlight, search_terms, LogLine, LogsPage, LogsState, Styled};
use stepline_types::model::{links, Freshness};

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
    let data = Resource::<_, stepline_types::codec::Json>::new_with_options(
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
        let url = stepline_types::base::events(&format!(
            "{base}/steps/{}/logs?stream={}&after={}",
            links::seg(&step),
            links::seg(stream.as_deref().unwrap_or_default()),
            page.total
        ));
        use_event_source(url, &[StreamEvent::Lines, StreamEvent::Problem], move |event, data| match event {
            StreamEvent::Lines => {
                if let Ok(new) = stepline_types::codec::from_json::<Vec<LogLine>>(&data) {
                    let last = total.get_untracked();
                    let new: Vec<LogLine> = new.into_iter().filter(|l| l.n > last).collect();
                    if let Some(l) = new.last() {
                        total.set(l.n);
                        lines.update(|ls| ls.extend(new));
                        scroll_to_end();
                    }
                }
            }
            _ => freshness.update(|f| f.problem = stepline_types::codec::from_json(&data).ok()),
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
    let summary = format!("{} lines", stepline_types::text::thousands(page.total as usize));
    // Past VIRTUAL_FROM lines (the whole-log view) only the rows on screen are drawn: each line keeps one
    // row of a fixed height (long lines scroll sideways), so the window follows the scroll position exactly.
    let scroll = RwSignal::new(0.0f64);
    let viewport = RwSignal::new(800.0f64);
    // A memo: the drawing below is redone when the mode flips, not with every line added.
    let is_virtual = Memo::new(move |_| lines.with(|l| l.len() > VIRTUAL_FROM));
    let lines_view = move || {
        let terms = terms.clone();
        if !is_virtual.get() {
            // Keyed by line number: a live update adds its rows and leaves the others alone.
            return view! { <For each=move || lines.get() key=|l| l.n children=move |l| line_view(l, &terms, true)/> }
                .into_any();
        }
        let (first, last, n) = window(lines.with(|l| l.len()), scroll.get(), viewport.get());
        let rows = lines.with(|l| l[first..last].to_vec());
        view! {
            <div style=format!("height:{}px", first as f64 * ROW_PX)></div>
            {rows.into_iter().map(|l| line_view(l, &terms, true)).collect_view()}
            <div style=format!("height:{}px", (n - last) as f64 * ROW_PX)></div>
        }
        .into_any()
    };
    let on_scroll = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
                scroll.set(el.scroll_top() as f64);
                viewport.set(el.client_height() as f64);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, scroll, viewport);
    };
    let whole = WholeLog {
        lines,
        pipeline: page.pipeline.clone(),
        id: page.id.clone(),
        step: step.clone(),
        stream: stream.clone().unwrap_or_default(),
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
                <WholeLogButton whole=whole/>
                <span class="muted" data-testid="log-total">{summary}</span>
                {following.then(|| view! { <LiveIndicator state=live freshness=freshness/> })}
            </div>
            {search}
            <div class="log" class:virtual=is_virtual data-testid="log-lines" role="log" aria-live="off" tabindex="0" on:scroll=on_scroll>{lines_view}</div>
        </section>
    }
    .into_any()
}

/// Lines past which only the rows on screen are drawn.
pub const VIRTUAL_FROM: usize = 2_000;
/// The height of one row in the whole-log view (`.log.virtual .ll` in the style sheet).
const ROW_PX: f64 = 19.0;
/// Rows drawn above and below the screen, so a fast scroll does not show blank space.
const OVERSCAN: usize = 60;

/// The rows to draw of `n` for a scroll position and a viewport height: `(first, last, n)`, `last`
/// excluded.
pub fn window(n: usize, scroll_top: f64, viewport: f64) -> (usize, usize, usize) {
    let top = (scroll_top.max(0.0) / ROW_PX) as usize;
    let first = top.saturating_sub(OVERSCAN).min(n);
    let last = (top + (viewport.max(0.0) / ROW_PX).ceil() as usize + OVERSCAN).min(n);
    (first, last.max(first), n)
}

/// What the whole-log view needs to page the stream back to its first line.
#[derive(Clone)]
struct WholeLog {
    lines: RwSignal<Vec<LogLine>>,
    pipeline: String,
    id: String,
    step: String,
    stream: String,
}

/// Loads the whole stream into the view (pages of 50,000 lines, newest first), drawn as a window. Shown
/// only with JavaScript, when earlier lines exist; without it, "Load earlier lines" pages through.
#[component]
fn WholeLogButton(whole: WholeLog) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let loading = RwSignal::new(false);
    let lines = whole.lines;
    let load = move |_| {
        if loading.get_untracked() {
            return;
        }
        loading.set(true);
        let w = whole.clone();
        leptos::task::spawn_local(async move {
            while let Some(first) = w.lines.with_untracked(|l| l.first().map(|l| l.n)) {
                if first <= 1 {
                    break;
                }
                match crate::api::log_lines(
                    w.pipeline.clone(),
                    w.id.clone(),
                    w.step.clone(),
                    w.stream.clone(),
                    first,
                    50_000,
                )
                .await
                {
                    Ok(page) if !page.is_empty() => w.lines.update(|l| {
                        let mut all = page;
                        all.append(l);
                        *l = all;
                    }),
                    _ => break,
                }
            }
            loading.set(false);
        });
    };
    move || {
        let more = lines.with(|l| l.first().is_some_and(|l| l.n > 1));
        (hydrated.get() && more).then(|| {
            view! {
                <button type="button" class="button" on:click=load.clone() disabled=move || loading.get() data-testid="whole-log">
                    {move || if loading.get() { "Loading the whole log…" } else { "Whole log" }}
                </button>
            }
        })
    }
}

/// Copies the lines shown (as plain text, without colours) to the clipboard. Needs JavaScript; without it
/// the download gives the same text.
#[component]
fn CopyButton(lines: RwSignal<Vec<LogLine>>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let text: String = lines.with_untracked(|ls| {
                ls.iter().map(|l| stepline_types::model::logs::strip_ansi(&l.text) + "\n").collect()
            });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_covers_the_screen_and_a_margin() {
        // 100,000 rows, scrolled to row 50,000, a screen of 40 rows.
        let (first, last, n) = window(100_000, 50_000.0 * ROW_PX, 40.0 * ROW_PX);
        assert_eq!((first, last, n), (50_000 - OVERSCAN, 50_000 + 40 + OVERSCAN, 100_000));
        assert_eq!(window(100_000, 0.0, 40.0 * ROW_PX), (0, 40 + OVERSCAN, 100_000));
        // Past the end (a scroll position from before the lines were replaced) stays in bounds.
        let (first, last, _) = window(10, 1e9, 800.0);
        assert!(first <= last && last <= 10);
    }

    #[test]
    fn tab_links_carry_only_what_is_chosen() {
        assert_eq!(
            href("/pipelines/P/executions/e", "Train", None, None, None),
            "/pipelines/P/executions/e?tab=logs&step=Train"
        );
        let h = href("/b", "A B", Some("job/algo-1-1700000000"), Some(42), Some("loss nan"));
        assert!(h.starts_with("/b?tab=logs&step=A%20B&stream=job%2Falgo-1-1700000000&before=42&q=loss%20nan"), "{h}");
    }
}
