//! Keyboard shortcuts, with a cheat sheet on `?`. The actions are plain functions of the current URL and
//! the steps on the page, so they are tested without a browser.

use leptos::prelude::*;

/// The shortcuts, as the cheat sheet lists them.
pub const SHORTCUTS: [(&str, &str); 9] = [
    ("?", "Show or hide this list"),
    ("g p", "Go to the pipelines"),
    ("1 / 2 / 3", "Timeline, graph or steps of an execution"),
    ("j / k", "Select the next / previous step"),
    ("+ / -", "Zoom the timeline in / out"),
    ("Esc", "Clear the selected step, close this list"),
    ("/", "Focus the search box"),
    ("t", "Switch between UTC and local times"),
    ("d", "Cycle the theme"),
];

/// Where a key press on an execution page leads: the new query string, if any.
pub fn execution_key(query: &str, key: &str, steps_in_order: &[String]) -> Option<String> {
    let mut pairs: Vec<(String, String)> = query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let get = |pairs: &Vec<(String, String)>, k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let set = |pairs: &mut Vec<(String, String)>, k: &str, v: Option<String>| {
        pairs.retain(|(key, _)| key != k);
        if let Some(v) = v {
            pairs.push((k.to_string(), v));
        }
    };
    match key {
        "1" => set(&mut pairs, "tab", Some("timeline".into())),
        "2" => set(&mut pairs, "tab", Some("graph".into())),
        "3" => set(&mut pairs, "tab", Some("steps".into())),
        "Escape" => set(&mut pairs, "step", None),
        "+" | "=" | "-" => {
            let zooms = stepline_types::layout::gantt::ZOOMS;
            let cur = get(&pairs, "zoom").and_then(|z| z.parse::<u32>().ok()).unwrap_or(1);
            let i = zooms.iter().position(|z| *z == cur).unwrap_or(0);
            let next = if key == "-" { i.saturating_sub(1) } else { (i + 1).min(zooms.len() - 1) };
            set(&mut pairs, "zoom", (zooms[next] != 1).then(|| zooms[next].to_string()));
        }
        "j" | "k" => {
            if steps_in_order.is_empty() {
                return None;
            }
            let cur = get(&pairs, "step")
                .and_then(|s| steps_in_order.iter().position(|x| stepline_types::model::links::seg(x) == s));
            let next = match (cur, key) {
                (None, _) => 0,
                (Some(i), "j") => (i + 1).min(steps_in_order.len() - 1),
                (Some(i), _) => i.saturating_sub(1),
            };
            set(&mut pairs, "step", Some(stepline_types::model::links::seg(&steps_in_order[next])));
        }
        _ => return None,
    }
    Some(pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
}

/// Escape closes an open re-run menu (focus back on its summary) or cancels a stop confirmation (the page
/// puts focus back on the "Stop…" link). Whether it did either.
#[cfg(feature = "hydrate")]
fn close_open_menu_or_confirm() -> bool {
    use wasm_bindgen::JsCast;
    let doc = document();
    if let Some(menu) = doc.query_selector("details.rerun[open]").ok().flatten() {
        let _ = menu.remove_attribute("open");
        if let Some(summary) =
            menu.query_selector("summary").ok().flatten().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = summary.focus();
        }
        return true;
    }
    if let Some(cancel) = doc
        .query_selector("[data-testid=stop-confirm] a.button")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        cancel.click();
        return true;
    }
    false
}

/// Tab and Shift+Tab go round the stop confirmation's controls while it is open, as in a dialog.
#[cfg(feature = "hydrate")]
fn keep_focus_in_confirm(ev: &web_sys::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    let doc = document();
    let Some(confirm) = doc.query_selector("[data-testid=stop-confirm]").ok().flatten() else { return };
    let Ok(list) = confirm.query_selector_all("button, a[href]") else { return };
    let items: Vec<web_sys::HtmlElement> =
        (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into().ok()).collect();
    let (Some(first), Some(last)) = (items.first(), items.last()) else { return };
    let active = doc.active_element();
    let is = |e: &web_sys::HtmlElement| active.as_ref().is_some_and(|a| a.is_same_node(Some(e)));
    let inside = active.as_ref().is_some_and(|a| confirm.contains(Some(a)));
    let to = match (ev.shift_key(), inside) {
        (_, false) => Some(first),
        (true, true) if is(first) => Some(last),
        (false, true) if is(last) => Some(first),
        _ => None,
    };
    if let Some(to) = to {
        ev.prevent_default();
        let _ = to.focus();
    }
}

/// Listens for shortcuts after hydration and shows the cheat sheet.
#[component]
pub fn Shortcuts() -> impl IntoView {
    let open = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let navigate = leptos_router::hooks::use_navigate();
        let pending_g = StoredValue::new(false);
        let handle = window_event_listener(leptos::ev::keydown, move |ev: web_sys::KeyboardEvent| {
            if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            // Typing in a field is not a shortcut.
            if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                if matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") {
                    if ev.key() == "Escape" {
                        if let Ok(h) = el.dyn_into::<web_sys::HtmlElement>() {
                            let _ = h.blur();
                        }
                    }
                    return;
                }
            }
            let key = ev.key();
            let doc = document();
            if pending_g.get_value() {
                pending_g.set_value(false);
                if key == "p" {
                    navigate("/", Default::default());
                }
                return;
            }
            match key.as_str() {
                "?" => open.update(|o| *o = !*o),
                "g" => pending_g.set_value(true),
                "/" => {
                    if let Some(input) = doc
                        .query_selector("input[type=search]")
                        .ok()
                        .flatten()
                        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        ev.prevent_default();
                        let _ = input.focus();
                    }
                }
                "t" => {
                    if let Some(b) = doc
                        .query_selector("[data-testid=tz-toggle]")
                        .ok()
                        .flatten()
                        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        b.click();
                    }
                }
                "d" => {
                    if let Some(b) = doc
                        .query_selector("[data-testid=theme-toggle]")
                        .ok()
                        .flatten()
                        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        b.click();
                    }
                }
                "Tab" => keep_focus_in_confirm(&ev),
                _ => {
                    if key == "Escape" && open.get_untracked() {
                        open.set(false);
                        return;
                    }
                    if key == "Escape" && close_open_menu_or_confirm() {
                        return;
                    }
                    let loc = window().location();
                    let path = loc.pathname().unwrap_or_default();
                    if !path.contains("/executions/") {
                        return;
                    }
                    // Steps in the order they are drawn on the current tab.
                    let mut steps = vec![];
                    if let Ok(list) = doc.query_selector_all(".run-main [data-step]") {
                        for i in 0..list.length() {
                            if let Some(name) = list
                                .item(i)
                                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
                                .and_then(|e| e.get_attribute("data-step"))
                            {
                                if !steps.contains(&name) {
                                    steps.push(name);
                                }
                            }
                        }
                    }
                    let query = loc.search().unwrap_or_default();
                    if let Some(q) = execution_key(&query, &key, &steps) {
                        // The location's path has the base in it: the router must not add it again.
                        let whole = leptos_router::NavigateOptions { resolve: false, ..Default::default() };
                        navigate(&format!("{path}?{q}"), whole);
                    }
                }
            }
        });
        on_cleanup(move || handle.remove());
    }
    let rows =
        SHORTCUTS.iter().map(|(k, what)| view! { <tr><th><kbd>{*k}</kbd></th><td>{*what}</td></tr> }).collect_view();
    view! {
        <div class="shortcuts" class:open=move || open.get() data-testid="shortcuts" role="dialog" aria-label="Keyboard shortcuts" hidden=move || !open.get()>
            <h2>"Keyboard shortcuts"</h2>
            <table class="kv"><tbody>{rows}</tbody></table>
            <p class="muted">"Press ? or Esc to close."</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::execution_key;

    fn steps() -> Vec<String> {
        vec!["A".into(), "B".into(), "C".into()]
    }

    #[test]
    fn tabs_zoom_and_escape() {
        assert_eq!(execution_key("?tab=gantt&step=B", "2", &steps()).unwrap(), "step=B&tab=graph");
        assert_eq!(execution_key("?tab=gantt", "+", &steps()).unwrap(), "tab=gantt&zoom=2");
        assert_eq!(execution_key("?tab=gantt&zoom=2", "-", &steps()).unwrap(), "tab=gantt");
        assert_eq!(execution_key("?tab=gantt&zoom=32", "+", &steps()).unwrap(), "tab=gantt&zoom=32");
        assert_eq!(execution_key("?tab=steps&step=A", "Escape", &steps()).unwrap(), "tab=steps");
        assert_eq!(execution_key("?tab=steps", "x", &steps()), None);
    }

    #[test]
    fn j_and_k_walk_the_steps_and_stop_at_the_ends() {
        assert_eq!(execution_key("?tab=gantt", "j", &steps()).unwrap(), "tab=gantt&step=A");
        assert_eq!(execution_key("?step=A", "j", &steps()).unwrap(), "step=B");
        assert_eq!(execution_key("?step=C", "j", &steps()).unwrap(), "step=C");
        assert_eq!(execution_key("?step=A", "k", &steps()).unwrap(), "step=A");
        assert_eq!(execution_key("", "j", &[]), None);
    }
}
