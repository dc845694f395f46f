//! Exports of the activity log, with the activity page's filter and the reader's scope: CSV (for a
//! spreadsheet) and JSON Lines (for a SIEM or `jq`). Streamed a page at a time, so a large log never sits
//! in memory whole.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::access::Who;
use super::state::Places;
use stepline_types::model::activity::{Entry, Filter};

/// Records read from the database at a time.
const BATCH: usize = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
}

pub async fn csv(places: State<Places>, parts: Parts, query: RawQuery) -> Response {
    export(places, parts, query, Format::Csv).await
}

pub async fn json_lines(places: State<Places>, parts: Parts, query: RawQuery) -> Response {
    export(places, parts, query, Format::JsonLines).await
}

/// Exports are at the root, shared by every place: the reader's scope is taken in each place, its own
/// pipelines there (a namesake in another account is not one they may read).
async fn export(State(places): State<Places>, parts: Parts, RawQuery(query): RawQuery, format: Format) -> Response {
    let Some(first) = places.first() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "No place is configured.").into_response();
    };
    let who = match Who::from_parts(&parts.extensions, first.access.clone()) {
        Ok(w) => w,
        Err(e) => return (StatusCode::UNAUTHORIZED, e.to_string()).into_response(),
    };
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = url_pairs(&query);
    let (mut filter, problems) = Filter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if !problems.is_empty() {
        return (StatusCode::BAD_REQUEST, problems.join("\n")).into_response();
    }
    let scope = match super::queries::activity_scope_in(&places, &who).await {
        Ok(s) => s,
        Err(e) => return (e.status(), e.to_string()).into_response(),
    };
    let db = first.access.db.clone();
    let stream = async_stream::stream! {
        if format == Format::Csv {
            yield Ok::<_, std::io::Error>(CSV_HEADER.to_string());
        }
        loop {
            let page = match db.page(&filter, &scope, BATCH).await {
                Ok(p) => p,
                Err(e) => {
                    yield Err(std::io::Error::other(e));
                    break;
                }
            };
            let mut chunk = String::new();
            for e in &page.entries {
                match format {
                    Format::Csv => chunk.push_str(&csv_row(e)),
                    Format::JsonLines => {
                        chunk.push_str(&serde_json::to_string(e).unwrap_or_default());
                        chunk.push('\n');
                    }
                }
            }
            yield Ok(chunk);
            match page.next {
                Some(next) => filter.before = Some(next),
                None => break,
            }
        }
    };
    let (kind, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "stepline-activity.csv"),
        Format::JsonLines => ("application/jsonl; charset=utf-8", "stepline-activity.jsonl"),
    };
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

pub(crate) fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (stepline_types::text::percent_decode(k), stepline_types::text::percent_decode(v)))
        .collect()
}

const CSV_HEADER: &str = "id,time,user,role,action,outcome,pipeline,execution_arn,request_id,error_code,detail\r\n";

fn csv_row(e: &Entry) -> String {
    let detail = if e.detail.is_null() { String::new() } else { e.detail.to_string() };
    let cells = [
        e.id.to_string(),
        e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        e.user.clone(),
        e.role.clone(),
        e.action.label().to_string(),
        e.outcome.label().to_string(),
        e.pipeline.clone().unwrap_or_default(),
        e.execution_arn.clone().unwrap_or_default(),
        e.request_id.clone(),
        e.error_code.clone().unwrap_or_default(),
        detail,
    ];
    let mut row = cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
    row.push_str("\r\n");
    row
}

/// One CSV cell: quoted when it must be, and never read as a formula by a spreadsheet (a user name or a
/// parameter value starting with `=`, `+`, `-` or `@` is prefixed with `'`).
pub(crate) fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.to_string() };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("@SUM(1)"), "'@SUM(1)");
    }

    #[test]
    fn query_strings_decode() {
        let p = url_pairs("user=ana%40example.com&action=stop&x&pipeline=A+B&bad=%zz");
        assert_eq!(p[0], ("user".into(), "ana@example.com".into()));
        assert_eq!(p[2], ("x".into(), "".into()));
        assert_eq!(p[3], ("pipeline".into(), "A B".into()));
        assert_eq!(p[4], ("bad".into(), "%zz".into()));
    }
}
