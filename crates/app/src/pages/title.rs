//! Page titles. Two things make them different from the rest of a page: leptos_meta renders the `<title>`
//! into the head as raw text, so the text must be escaped here (a pipeline named `</title><script>…`
//! would otherwise run in the viewer's browser); and it renders it after the body has streamed, outside
//! the request's reactive arena, where a reactive read would find a disposed value (a panic) or, worse,
//! the value with the same key in another request's arena (another viewer's execution id). So on the
//! server a title is plain text fixed when the page renders; only in the browser does it follow the route.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;
use stepline_types::text::escape_html;

/// The document title for a page's own title: "page · Stepline", or "Stepline" alone.
/// On the server the result is HTML (it goes between `<title>` tags unescaped); in the browser it is
/// assigned to `document.title`, which takes plain text.
pub fn document_title(page: String) -> String {
    let text = if page.is_empty() { "Stepline".to_string() } else { format!("{page} · Stepline") };
    if cfg!(feature = "ssr") {
        escape_html(&text)
    } else {
        text
    }
}

/// A title made from the route's parameters: text fixed at render on the server, following the route in
/// the browser (where one page component serves several executions as links are followed).
pub fn route_title(params: Memo<ParamsMap>, make: fn(&ParamsMap) -> String) -> TextProp {
    if cfg!(feature = "ssr") {
        params.with_untracked(make).into()
    } else {
        (move || params.with(make)).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_title_is_text() {
        assert_eq!(
            escape_html("</title><script>alert('x')</script> & \"q\""),
            "&lt;/title&gt;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape_html("AbalonePipeline"), "AbalonePipeline");
    }

    #[test]
    fn titles_name_the_page_then_the_product() {
        assert_eq!(document_title(String::new()), "Stepline");
        let t = document_title("a<b".into());
        if cfg!(feature = "ssr") {
            assert_eq!(t, "a&lt;b · Stepline");
        } else {
            assert_eq!(t, "a<b · Stepline");
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_server_title_is_fixed_text_that_outlives_its_route() {
        let owner = Owner::new();
        let (name, params, title) = owner.with(|| {
            let name = RwSignal::new("Abalone".to_string());
            let params = Memo::new(move |_| {
                let mut map = ParamsMap::new();
                map.insert("pipeline", name.get());
                map
            });
            (name, params, route_title(params, |p| p.get("pipeline").unwrap_or_default()))
        });
        assert_eq!(title.get(), "Abalone");
        owner.with(|| name.set("Other".into()));
        assert_eq!(title.get(), "Abalone", "the text of the render, not a later reactive read");
        drop(owner);
        assert!(params.try_get().is_none(), "the route's parameters are gone");
        assert_eq!(title.get(), "Abalone", "readable once the route is gone");
    }
}
