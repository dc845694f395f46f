//! Light and dark themes. The page follows the system by default; the toggle pins a choice, kept in
//! `localStorage` so it survives reloads.

use leptos::prelude::*;

/// The three states of the theme choice, cycled by the toggle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn next(self) -> Self {
        match self {
            Theme::System => Theme::Dark,
            Theme::Dark => Theme::Light,
            Theme::Light => Theme::System,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The kept choice; anything else follows the system.
    pub fn parse(s: &str) -> Self {
        s.parse().unwrap_or(Theme::System)
    }

    fn label(self) -> &'static str {
        match self {
            Theme::System => "Theme: system",
            Theme::Light => "Theme: light",
            Theme::Dark => "Theme: dark",
        }
    }
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(Theme::System);

    // After hydration, restore the stored choice and keep <html data-theme> in step with the signal.
    Effect::new(move |first: Option<()>| {
        #[cfg(feature = "hydrate")]
        {
            let document = document();
            if first.is_none() {
                if let Some(stored) =
                    window().local_storage().ok().flatten().and_then(|s| s.get_item("stepline-theme").ok().flatten())
                {
                    theme.set(Theme::parse(&stored));
                }
            }
            let t = theme.get();
            if let Some(root) = document.document_element() {
                let _ = root.set_attribute("data-theme", t.as_str());
            }
            if let Some(storage) = window().local_storage().ok().flatten() {
                let _ = storage.set_item("stepline-theme", t.as_str());
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (first, theme);
    });

    view! {
        <button type="button" class="theme-toggle" data-testid="theme-toggle"
            title="Switch between the system, dark and light themes"
            on:click=move |_| theme.update(|t| *t = t.next())>
            {move || theme.get().label()}
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::Theme;

    #[test]
    fn toggle_cycles_through_every_theme_and_back() {
        let mut t = Theme::System;
        let mut seen = vec![];
        for _ in 0..3 {
            t = t.next();
            seen.push(t);
        }
        assert_eq!(seen, vec![Theme::Dark, Theme::Light, Theme::System]);
        for s in ["system", "light", "dark"] {
            assert_eq!(Theme::parse(s).as_str(), s);
        }
        assert_eq!(Theme::parse("purple"), Theme::System);
    }
}
