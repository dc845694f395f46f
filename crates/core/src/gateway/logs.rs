//! CloudWatch Logs, for a step's job logs: the same limiter and call counter as SageMaker's calls.

use aws_sdk_cloudwatchlogs::types::OrderBy;
use stepline_types::model::OwnCode;

use super::{upstream, Gateway};
use stepline_types::model::logs::{LogLine, StreamRef};
use stepline_types::model::Upstream;

/// One page of a stream read forwards: its events and the token to read on from.
pub struct Chunk {
    /// (timestamp in ms, message)
    pub events: Vec<(i64, String)>,
    /// The token of the next page; CloudWatch gives back the token it was sent when the stream has nothing
    /// newer.
    pub next: Option<String>,
}

/// A match of a search, with the stream it is in.
pub struct Found {
    pub stream: String,
    pub at: i64,
    pub text: String,
}

/// The events CloudWatch returns at most in one GetLogEvents (also bounded by 1 MB).
pub const EVENTS_PER_PAGE: i32 = 10_000;

impl Gateway {
    fn logs(&self) -> Result<&aws_sdk_cloudwatchlogs::Client, Upstream> {
        self.logs.as_ref().ok_or_else(|| Upstream::own(OwnCode::NotSupported, "CloudWatch Logs is not configured"))
    }

    /// The streams of `group` whose names start with `prefix` (a job's streams: `<job name>/…`), a page in
    /// each turn of the limiter.
    pub async fn log_streams(&self, group: &str, prefix: &str) -> Result<Vec<StreamRef>, Upstream> {
        let logs = self.logs()?;
        let mut pages = logs
            .describe_log_streams()
            .log_group_name(group)
            .log_stream_name_prefix(prefix)
            .order_by(OrderBy::LogStreamName)
            .into_paginator()
            .send();
        let mut streams = Vec::new();
        // A job has one stream per instance (and transform jobs a data-log each): a few pages at most.
        for _ in 0..10 {
            let turn = self.limiter.turn("DescribeLogStreams").await?;
            let Some(result) = pages.next().await.map(|r| r.map_err(|e| upstream("DescribeLogStreams", e))) else {
                turn.finish::<()>(&Ok(()));
                break;
            };
            turn.finish(&result);
            let page = result?;
            streams
                .extend(page.log_streams().iter().filter_map(|s| Some(StreamRef::new(s.log_stream_name()?, prefix))));
            if page.next_token().is_none() {
                break;
            }
        }
        Ok(streams)
    }

    /// One page of a stream read forwards from `token` (from its first event without one).
    pub async fn log_events(&self, group: &str, stream: &str, token: Option<String>) -> Result<Chunk, Upstream> {
        let logs = self.logs()?;
        let turn = self.limiter.turn("GetLogEvents").await?;
        let result = logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .limit(EVENTS_PER_PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| upstream("GetLogEvents", e));
        turn.finish(&result);
        let page = result?;
        Ok(Chunk {
            events: page
                .events()
                .iter()
                .map(|e| (e.timestamp().unwrap_or(0), e.message().unwrap_or_default().to_string()))
                .collect(),
            next: page.next_forward_token().map(str::to_string),
        })
    }

    /// The last `n` events of a stream (one call: CloudWatch reads backwards when not from the head).
    pub async fn log_tail(&self, group: &str, stream: &str, n: i32) -> Result<Vec<String>, Upstream> {
        let logs = self.logs()?;
        let turn = self.limiter.turn("GetLogEvents").await?;
        let result = logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(false)
            .limit(n.clamp(1, 100))
            .send()
            .await
            .map_err(|e| upstream("GetLogEvents", e));
        turn.finish(&result);
        Ok(result?.events().iter().map(|e| e.message().unwrap_or_default().trim_end().to_string()).collect())
    }

    /// The events of `stream` that match `pattern` (CloudWatch's filter syntax; plain terms must all
    /// appear), up to `max`, in time order, and whether there were more.
    pub async fn filter_log_events(
        &self,
        group: &str,
        stream: &str,
        pattern: &str,
        max: usize,
    ) -> Result<(Vec<Found>, bool), Upstream> {
        let logs = self.logs()?;
        let mut pages = logs
            .filter_log_events()
            .log_group_name(group)
            .log_stream_names(stream)
            .filter_pattern(pattern)
            .limit(max.clamp(1, 10_000) as i32)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        let mut more = false;
        // CloudWatch may answer a page with no events and a token (it searched a slice of the group):
        // bounded, so a search costs at most this many calls.
        for _ in 0..20 {
            let turn = self.limiter.turn("FilterLogEvents").await?;
            let Some(result) = pages.next().await.map(|r| r.map_err(|e| upstream("FilterLogEvents", e))) else {
                turn.finish::<()>(&Ok(()));
                break;
            };
            turn.finish(&result);
            let page = result?;
            found.extend(page.events().iter().map(|e| Found {
                stream: e.log_stream_name().unwrap_or_default().to_string(),
                at: e.timestamp().unwrap_or(0),
                text: e.message().unwrap_or_default().to_string(),
            }));
            more = page.next_token().is_some();
            if !more || found.len() >= max {
                break;
            }
        }
        // Each page may hold up to `max`: what is cut off here is more too.
        more |= found.len() > max;
        found.truncate(max);
        Ok((found, more))
    }
}

/// A line of a stream, numbered from its first event.
pub fn line(n: u64, at: i64, text: String) -> LogLine {
    LogLine { n, at, text }
}
