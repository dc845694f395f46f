//! `/costs.csv?from=…&to=…&pipeline=…`: the kept estimates of finished executions started in a time range
//! (the last 30 days by default), a row per execution (its total) and one per job step, in every place the
//! reader may read each pipeline. Only estimates already made are exported (an execution is estimated
//! when its page, the compare page or its pipeline's cost trend is read).

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use stepline_types::cost::{ExecutionCost, StepLine};

use super::access::Who;
use super::exports::{csv_cell, url_pairs};
use super::state::Places;
use super::store::KeptCost;

/// Rows (executions) exported at most.
const MOST: i64 = 50_000;

const HEADER: &str =
    "place,pipeline,execution_id,started,step,job,component,instance,count,usd,spot_saved_usd,cache_saved_usd,how\r\n";

pub async fn csv(State(places): State<Places>, parts: Parts, RawQuery(query): RawQuery) -> Response {
    let Some(first) = places.first() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "No place is configured.").into_response();
    };
    let who = match Who::from_parts(&parts.extensions, first.access.clone()) {
        Ok(w) => w,
        Err(e) => return (StatusCode::UNAUTHORIZED, e.to_string()).into_response(),
    };
    let (range, pipeline) = match range_of(&query.unwrap_or_default(), Utc::now()) {
        Ok(r) => r,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let mut out = String::from(HEADER);
    for state in places.iter() {
        let who = who.clone().in_place(state.tag_source());
        let place = state.place.key();
        let kept = match state
            .access
            .db
            .kept_costs(&place, pipeline.as_deref(), range.0.timestamp_millis(), range.1.timestamp_millis(), MOST)
            .await
        {
            Ok(k) => k,
            Err(e) => {
                return (StatusCode::SERVICE_UNAVAILABLE, format!("The estimates could not be read: {e}"))
                    .into_response()
            }
        };
        // Each pipeline's permission asked once.
        let mut readable: HashMap<String, bool> = HashMap::new();
        for k in kept {
            let may = match readable.get(&k.pipeline) {
                Some(m) => *m,
                None => {
                    let m = who.read(&k.pipeline).await.is_ok();
                    readable.insert(k.pipeline.clone(), m);
                    m
                }
            };
            if may {
                out.push_str(&rows(state.place.label.trim(), &k));
            }
        }
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"stepline-costs.csv\"".to_string()),
        ],
        out,
    )
        .into_response()
}

/// The time range (`from`, `to`: dates or times as the lists take them; the last 30 days by default) and the
/// pipeline asked for; an unknown parameter or a malformed time is named.
pub fn range_of(query: &str, now: DateTime<Utc>) -> Result<Asked, String> {
    use stepline_types::layout::timefmt::parse_when;
    let (mut from, mut to, mut pipeline) = (now - chrono::Duration::days(30), now + chrono::Duration::days(1), None);
    for (k, v) in url_pairs(query) {
        match k.as_str() {
            "from" if !v.is_empty() => from = parse_when("from", &v)?,
            "to" if !v.is_empty() => to = parse_when("to", &v)?,
            "pipeline" if !v.is_empty() => {
                if !stepline_types::model::links::valid_name(&v) {
                    return Err(format!("pipeline: '{}' is not a pipeline name", stepline_types::text::clip(&v, 60)));
                }
                pipeline = Some(v)
            }
            "from" | "to" | "pipeline" => {}
            other => {
                return Err(format!(
                    "'{}' is not a parameter of this export (from, to, pipeline)",
                    stepline_types::text::clip(other, 40)
                ))
            }
        }
    }
    if from >= to {
        return Err("from must be before to".into());
    }
    Ok(((from, to), pipeline))
}

/// What an export asks for: the time range of the starts, and one pipeline or all.
pub type Asked = ((DateTime<Utc>, DateTime<Utc>), Option<String>);

/// An execution's total row, then a row per job step.
fn rows(place: &str, k: &KeptCost) -> String {
    let started = DateTime::from_timestamp_millis(k.started_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let c: &ExecutionCost = &k.cost;
    let money = |v: f64| format!("{v:.6}");
    let line = |cells: &[String]| {
        let mut row = cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
        row.push_str("\r\n");
        row
    };
    let total_how = if c.missing.is_empty() {
        "total".to_string()
    } else {
        format!("total; no price for {}", c.missing.join(", "))
    };
    let mut out = line(&[
        place.to_string(),
        k.pipeline.clone(),
        k.execution_id.clone(),
        started.clone(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        money(c.usd),
        money(c.spot_saved),
        money(c.cache_saved),
        total_how,
    ]);
    for s in &c.steps {
        out.push_str(&line(&step_cells(place, k, &started, s, money)));
    }
    out
}

fn step_cells(place: &str, k: &KeptCost, started: &str, s: &StepLine, money: impl Fn(f64) -> String) -> Vec<String> {
    vec![
        place.to_string(),
        k.pipeline.clone(),
        k.execution_id.clone(),
        started.to_string(),
        s.step.clone(),
        s.job.clone(),
        s.component.as_str().to_string(),
        s.instance.clone(),
        s.count.to_string(),
        s.cost.usd.map(&money).unwrap_or_default(),
        s.cost.spot_saved.map(&money).unwrap_or_default(),
        s.cache.as_ref().and_then(|c| c.usd).map(&money).unwrap_or_default(),
        s.cost.formula.clone(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_range_and_pipeline_are_read_and_bad_ones_named() {
        let now = Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0).unwrap();
        let ((from, _), p) = range_of("", now).unwrap();
        assert_eq!(from, now - chrono::Duration::days(30));
        assert_eq!(p, None);
        let ((from, to), p) = range_of("from=2026-12-01&to=2026-12-02&pipeline=Abalone", now).unwrap();
        assert_eq!(
            (from.to_rfc3339(), to.to_rfc3339()),
            ("2026-12-01T00:00:00+00:00".into(), "2026-12-02T00:00:00+00:00".into())
        );
        assert_eq!(p.as_deref(), Some("Abalone"));
        assert!(range_of("from=yesterday-ish", now).unwrap_err().contains("from"));
        assert!(range_of("pipeline=%3Cscript%3E", now).unwrap_err().contains("not a pipeline name"));
        assert!(range_of("format=xlsx", now).unwrap_err().contains("'format' is not a parameter"));
        assert!(range_of("from=2026-12-02&to=2026-12-01", now).unwrap_err().contains("before"));
    }
}
