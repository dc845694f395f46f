//! The HTML shell, the router and the layout shared by every page.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path, SsrMode,
};

use crate::components::shortcuts::Shortcuts;
use crate::components::theme::ThemeToggle;
use crate::components::time::{TimeZoneChoice, TimeZoneToggle};
use crate::pages::{
    activity::ActivityPage,
    compare::ComparePage,
    definition::DefinitionPage,
    execution::ExecutionPage,
    home::HomePage,
    inbox::InboxPage,
    models::{ModelGroupPage, ModelsPage},
    not_found::NotFound,
    notifications::NotificationsPage,
    pipeline::PipelinePage,
    start::StartPage,
};

const THEME_BOOT: &str = "try{var t=localStorage.getItem('stepline-theme');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}";

/// The document around every page. Rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                // Where the browser finds the base path (see `stepline_types::base`).
                <meta name=stepline_types::base::META content=stepline_types::base::get()/>
                <meta name=stepline_types::base::ROOT_META content=stepline_types::base::root()/>
                {(!stepline_types::base::places().is_empty()).then(|| {
                    let places = serde_json::to_string(stepline_types::base::places()).unwrap_or_default();
                    view! { <meta name=stepline_types::base::PLACES_META content=places/> }
                })}
                <link rel="icon" type="image/svg+xml" href=stepline_types::base::root_href("/favicon.svg")/>
                <AutoReload options=options.clone()/>
                // The stylesheet under its content-hashed name when the site has them (see server::assets).
                <HashedStylesheet options=options.clone() id="stepline" root=stepline_types::base::root()/>
                <HydrationScripts options root=stepline_types::base::root()/>
                <MetaTags/>
                // Apply a pinned theme before the first paint, so a dark-mode user never sees a white flash.
                <script nonce=leptos::nonce::use_nonce()>{THEME_BOOT}</script>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    TimeZoneChoice::provide();
    view! {
        <Title formatter=crate::pages::title::document_title/>
        <Router base=stepline_types::base::get()>
            <header class="topbar">
                <A href=stepline_types::base::href("/") attr:class="brand">"Stepline"</A>
                <nav class="topnav">
                    <A href=stepline_types::base::href("/")>"Pipelines"</A>
                    <A href=stepline_types::base::href("/models")>"Models"</A>
                    <crate::components::inbox_link::InboxLink/>
                    <A href=stepline_types::base::href("/activity")>"Activity"</A>
                    <A href=stepline_types::base::href("/notifications")>"Notifications"</A>
                </nav>
                <crate::components::places::PlaceSwitch/>
                <crate::components::me::WhoAmI/>
                <span class="keys-hint" title="Keyboard shortcuts"><kbd>"?"</kbd>" shortcuts"</span>
                <TimeZoneToggle/>
                <ThemeToggle/>
            </header>
            <Shortcuts/>
            <main class="content">
                <Routes fallback=NotFound>
                    // Async rendering: the whole page (and its status code) is ready before the first byte, so
                    // links open complete, with or without WebAssembly.
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/activity") view=ActivityPage ssr=SsrMode::Async/>
                    <Route path=path!("/notifications") view=NotificationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/models") view=ModelsPage ssr=SsrMode::Async/>
                    <Route path=path!("/inbox") view=InboxPage ssr=SsrMode::Async/>
                    <Route path=path!("/models/:group") view=ModelGroupPage ssr=SsrMode::Async/>
                    <Route path=path!("/pipelines/:pipeline") view=PipelinePage ssr=SsrMode::Async/>
                    <Route path=path!("/pipelines/:pipeline/start") view=StartPage ssr=SsrMode::Async/>
                    <Route path=path!("/pipelines/:pipeline/compare") view=ComparePage ssr=SsrMode::Async/>
                    <Route path=path!("/pipelines/:pipeline/executions/:id") view=ExecutionPage ssr=SsrMode::Async/>
                    <Route path=path!("/pipelines/:pipeline/executions/:id/definition") view=DefinitionPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
