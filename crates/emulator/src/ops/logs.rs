//! CloudWatch Logs on the same endpoint (`X-Amz-Target: Logs_20140328.<Operation>`): DescribeLogStreams,
//! GetLogEvents and FilterLogEvents over the simulated logs of the jobs pipeline steps run. Requests are
//! validated against Logs' botocore model, faults and quotas apply by operation name, and errors are Logs'
//! (`InvalidParameterException`, `ResourceNotFoundException`, …).
//!
//! The jobs are looked up under the lock; the logs are computed after it is released.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::jobs::{all_of, find};
use super::{identify, strip_nulls, Caller};
use crate::error::{ApiError, ApiResult};
use crate::job_view::Job;
use crate::log_query::{self, After, FilterPattern, FilterRequest, GetRequest};
use crate::logs::{kind_of_group, JobLog, Stream};
use crate::paging;
use crate::runtime::Core;
use crate::shapes::logs_model;

/// Run one CloudWatch Logs operation.
pub fn dispatch(core: &Core, operation: &str, body: &Value, caller: &Caller) -> ApiResult<Value> {
    let m = logs_model();
    if m.operation(operation).is_none() {
        return Err(ApiError::unknown_operation(format!("Operation '{operation}' is not supported by this service")));
    }
    let answer = identify(core, caller)
        .and_then(|_| m.validate_input(operation, body))
        .and_then(|_| match core.lock().scenario.take_fault_of("logs", operation) {
            Some(fault) => Err(fault),
            None => Ok(()),
        })
        .and_then(|_| match operation {
            "DescribeLogStreams" => describe_log_streams(core, body),
            "GetLogEvents" => get_log_events(core, body),
            "FilterLogEvents" => filter_log_events(core, body),
            other => Err(ApiError::unknown_operation(format!("Operation '{other}' is not supported by this service"))),
        });
    answer.map(strip_nulls).map_err(logs_style)
}

/// An error as CloudWatch Logs words it: its codes for what SageMaker calls a validation error, a missing
/// resource or an internal failure.
fn logs_style(e: ApiError) -> ApiError {
    let code = match e.code {
        "ValidationException" => "InvalidParameterException",
        "ResourceNotFound" => "ResourceNotFoundException",
        _ => return e,
    };
    ApiError { code, ..e }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "InvalidParameterException", message)
}

fn no_group() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "ResourceNotFoundException", "The specified log group does not exist.")
}

fn no_stream() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "ResourceNotFoundException", "The specified log stream does not exist.")
}

fn text<'a>(body: &'a Value, member: &str) -> Option<&'a str> {
    body.get(member).and_then(Value::as_str)
}

fn int(body: &Value, member: &str) -> Option<i64> {
    body.get(member).and_then(Value::as_i64)
}

/// The log group a request names, by `logGroupName` or `logGroupIdentifier` (a name or the group's ARN), one
/// of them and not both.
fn group_name(body: &Value, account: &crate::Account) -> ApiResult<String> {
    match (text(body, "logGroupName"), text(body, "logGroupIdentifier")) {
        (Some(_), Some(_)) => {
            Err(invalid("LogGroupName and LogGroupIdentifier are mutually exclusive; specify one of them."))
        }
        (None, None) => Err(invalid("Either LogGroupName or LogGroupIdentifier must be specified.")),
        (Some(name), None) => Ok(name.to_string()),
        (None, Some(id)) => match id.strip_prefix("arn:") {
            None => Ok(id.to_string()),
            Some(_) => {
                let prefix = format!("arn:aws:logs:{}:{}:log-group:", account.region, account.account);
                let name = id.strip_prefix(&prefix).ok_or_else(no_group)?;
                Ok(name.strip_suffix(":*").unwrap_or(name).to_string())
            }
        },
    }
}

/// The jobs with streams in a group at `now`, and the time in milliseconds; the group exists once one of
/// them has started.
fn group_jobs(core: &Core, group: &str) -> ApiResult<(Vec<JobLog>, i64)> {
    let kind = kind_of_group(group).ok_or_else(no_group)?;
    let (jobs, now) = {
        let inner = core.lock();
        let now = inner.clock.now();
        (all_of(&inner, kind, now), now)
    };
    let logs: Vec<JobLog> = jobs.iter().filter_map(JobLog::of).collect();
    let now_ms = (now * 1000.0).round() as i64;
    let logs: Vec<JobLog> =
        logs.into_iter().filter(|l| l.streams().first().is_some_and(|s| s.created() <= now_ms)).collect();
    if logs.is_empty() {
        return Err(no_group());
    }
    Ok((logs, now_ms))
}

fn stream_arn(core: &Core, group: &str, stream: &str) -> String {
    let inner = core.lock();
    format!("arn:aws:logs:{}:{}:log-group:{group}:log-stream:{stream}", inner.account.region, inner.account.account)
}

fn describe_log_streams(core: &Core, body: &Value) -> ApiResult<Value> {
    let account = core.lock().account.clone();
    let group = group_name(body, &account)?;
    let prefix = text(body, "logStreamNamePrefix");
    let by_time = text(body, "orderBy") == Some("LastEventTime");
    if prefix.is_some() && by_time {
        return Err(invalid("Cannot order by LastEventTime with a logStreamNamePrefix."));
    }
    let (logs, now) = group_jobs(core, &group)?;
    struct Listed {
        name: String,
        created: i64,
        first: Option<i64>,
        last: Option<(i64, i64)>,
    }
    let mut items: Vec<Listed> = vec![];
    for log in &logs {
        for s in log.streams() {
            let name = s.name();
            if prefix.is_some_and(|p| !name.starts_with(p)) {
                continue;
            }
            let n = s.len(now);
            let last = n.checked_sub(1).map(|i| {
                let e = s.event(i);
                (e.timestamp, e.ingestion)
            });
            items.push(Listed { name, created: s.created(), first: (n > 0).then(|| s.timestamp(0)), last });
        }
    }
    items.sort_by(|a, b| {
        if by_time {
            a.last.map(|l| l.0).cmp(&b.last.map(|l| l.0)).then_with(|| a.name.cmp(&b.name))
        } else {
            a.name.cmp(&b.name)
        }
    });
    if body.get("descending").and_then(Value::as_bool) == Some(true) {
        items.reverse();
    }
    let (page, next) = paging::page(items, |i| i.name.clone(), text(body, "nextToken"), int(body, "limit"))
        .map_err(|_| invalid("The specified nextToken is invalid."))?;
    let arn_head = stream_arn(core, &group, "");
    let streams: Vec<Value> = page
        .iter()
        .map(|i| {
            json!({
                "logStreamName": i.name,
                "creationTime": i.created,
                "firstEventTimestamp": i.first,
                "lastEventTimestamp": i.last.map(|l| l.0),
                "lastIngestionTime": i.last.map(|l| l.1),
                "arn": format!("{arn_head}{}", i.name),
                "storedBytes": 0,
            })
        })
        .collect();
    Ok(json!({"logStreams": streams, "nextToken": next}))
}

/// The job whose stream a name is: the job name comes before the first `/`.
fn stream_job(core: &Core, group: &str, stream: &str) -> ApiResult<(JobLog, i64)> {
    let kind = kind_of_group(group).ok_or_else(no_group)?;
    let job_name = stream.split('/').next().unwrap_or_default();
    let (job, now): (Option<Job>, f64) = {
        let inner = core.lock();
        let now = inner.clock.now();
        (find(&inner, kind, job_name, now), now)
    };
    let now_ms = (now * 1000.0).round() as i64;
    let log = job.as_ref().and_then(JobLog::of).filter(|l| l.streams().first().is_some_and(|s| s.created() <= now_ms));
    match log {
        Some(l) => Ok((l, now_ms)),
        None => {
            // Which is missing, the group or the stream.
            group_jobs(core, group)?;
            Err(no_stream())
        }
    }
}

fn get_log_events(core: &Core, body: &Value) -> ApiResult<Value> {
    let account = core.lock().account.clone();
    let group = group_name(body, &account)?;
    let name = text(body, "logStreamName").unwrap_or_default();
    let (log, now) = stream_job(core, &group, name)?;
    let stream = log.stream(name).ok_or_else(no_stream)?;
    // A token is tied to its stream: the group and the stream's name.
    let key = format!("{group}:{name}");
    let token = match text(body, "nextToken") {
        Some(t) => Some(log_query::read_token(t, &key).ok_or_else(|| invalid("The specified nextToken is invalid."))?),
        None => None,
    };
    let request = GetRequest {
        start_time: int(body, "startTime"),
        end_time: int(body, "endTime"),
        limit: int(body, "limit").map(|n| n.max(1) as u64),
        start_from_head: body.get("startFromHead").and_then(Value::as_bool).unwrap_or(false),
        token,
    };
    let page = log_query::get_events(&stream, &key, now, &request);
    let events: Vec<Value> = page
        .events
        .iter()
        .map(|e| json!({"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion}))
        .collect();
    Ok(json!({"events": events, "nextForwardToken": page.forward, "nextBackwardToken": page.backward}))
}

fn filter_log_events(core: &Core, body: &Value) -> ApiResult<Value> {
    let account = core.lock().account.clone();
    let group = group_name(body, &account)?;
    let names: Option<Vec<&str>> =
        body.get("logStreamNames").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect());
    let prefix = text(body, "logStreamNamePrefix");
    if names.is_some() && prefix.is_some() {
        return Err(invalid("You cannot specify both logStreamNames and logStreamNamePrefix."));
    }
    let pattern = FilterPattern::parse(text(body, "filterPattern").unwrap_or("")).map_err(invalid)?;
    let after = match text(body, "nextToken") {
        Some(t) => Some(After::read(t).ok_or_else(|| invalid("The specified nextToken is invalid."))?),
        None => None,
    };
    let (logs, now) = group_jobs(core, &group)?;
    let mut streams: Vec<(String, Stream)> = logs
        .iter()
        .flat_map(|l| l.streams())
        .map(|s| (s.name(), s))
        .filter(|(n, _)| prefix.is_none_or(|p| n.starts_with(p)))
        .filter(|(n, _)| names.as_ref().is_none_or(|list| list.contains(&n.as_str())))
        .collect();
    streams.sort_by(|a, b| a.0.cmp(&b.0));
    let request = FilterRequest {
        start_time: int(body, "startTime"),
        end_time: int(body, "endTime"),
        pattern: &pattern,
        limit: int(body, "limit").map(|n| n.max(1) as u64),
        after,
    };
    let page = log_query::filter(&streams, now, &request);
    let events: Vec<Value> = page
        .found
        .iter()
        .map(|f| {
            let name = &streams[f.stream].0;
            json!({
                "logStreamName": name,
                "timestamp": f.event.timestamp,
                "message": f.event.message,
                "ingestionTime": f.event.ingestion,
                "eventId": log_query::event_id(name, f.index, f.event.timestamp),
            })
        })
        .collect();
    let searched: Vec<Value> = streams
        .iter()
        .zip(&page.searched_completely)
        .map(|((n, _), done)| json!({"logStreamName": n, "searchedCompletely": done}))
        .collect();
    Ok(json!({"events": events, "searchedLogStreams": searched, "nextToken": page.next.map(|a| a.token())}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_named_or_identified_by_arn() {
        let account = crate::Account::default();
        let arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:*";
        assert_eq!(group_name(&json!({"logGroupIdentifier": arn}), &account).unwrap(), "/aws/sagemaker/TrainingJobs");
        assert_eq!(group_name(&json!({"logGroupName": "/g"}), &account).unwrap(), "/g");
        let both = group_name(&json!({"logGroupName": "/g", "logGroupIdentifier": "/g"}), &account).unwrap_err();
        assert_eq!(both.code, "InvalidParameterException");
        let other =
            group_name(&json!({"logGroupIdentifier": "arn:aws:logs:us-east-1:999999999999:log-group:/g"}), &account);
        assert_eq!(other.unwrap_err().code, "ResourceNotFoundException");
        assert_eq!(logs_style(ApiError::validation("x")).code, "InvalidParameterException");
    }
}
