//! Reading job logs the way CloudWatch Logs answers: GetLogEvents' forward and backward tokens over one
//! stream, FilterLogEvents' filter patterns and its paging over many streams in time order. Pure: functions
//! of `crate::logs` streams and a moment.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::draws::{fingerprint, mix};
use crate::logs::{Event, Stream};

/// The most events one response carries, and the most bytes (each event counting its message and 26 bytes,
/// as CloudWatch Logs counts them).
pub const MAX_EVENTS: u64 = 10_000;
pub const MAX_BYTES: usize = 1_048_576;
/// Events FilterLogEvents looks at in one call at most; past that it answers what it found with a token,
/// as the service does ("can return empty results while there are more log events available").
pub const MAX_SCANNED: u64 = 2_000_000;

fn size(e: &Event) -> usize {
    e.message.len() + 26
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

const E18: u64 = 1_000_000_000_000_000_000;

/// A GetLogEvents token: `f/` or `b/` and 56 digits naming a position in one stream. The same position
/// always gets the same token (that is how clients see the end of a stream: the forward token comes back
/// unchanged), and the digits around the position check it, so a token of another stream or a made-up one
/// is refused.
pub fn token(direction: Direction, stream: &str, position: u64) -> String {
    let (a, b) = check(direction, stream, position);
    let prefix = if direction == Direction::Forward { 'f' } else { 'b' };
    format!("{prefix}/{a:018}{position:020}{b:018}")
}

fn check(direction: Direction, stream: &str, position: u64) -> (u64, u64) {
    let h = mix(fingerprint(stream), position ^ if direction == Direction::Forward { 0 } else { u64::MAX });
    (h % E18, mix(h, 1) % E18)
}

/// The direction and position of a token issued for `stream`, if it is one.
pub fn read_token(text: &str, stream: &str) -> Option<(Direction, u64)> {
    let (direction, digits) = match text.split_once('/')? {
        ("f", d) => (Direction::Forward, d),
        ("b", d) => (Direction::Backward, d),
        _ => return None,
    };
    if digits.len() != 56 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let position: u64 = digits[18..38].parse().ok()?;
    (token(direction, stream, position) == text).then_some((direction, position))
}

/// A GetLogEvents request, its members read.
#[derive(Clone, Debug, Default)]
pub struct GetRequest {
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub limit: Option<u64>,
    pub start_from_head: bool,
    pub token: Option<(Direction, u64)>,
}

pub struct Page {
    pub events: Vec<Event>,
    pub forward: String,
    pub backward: String,
}

/// One page of a stream as GetLogEvents reads it at `now` (milliseconds): from the token's position in its
/// direction, else the oldest events (`startFromHead`) or the newest ones; within the time range
/// (`endTime` excluded), at most `limit` events and 1 MB.
pub fn get_events(stream: &Stream, key: &str, now: i64, r: &GetRequest) -> Page {
    let n = stream.len(now);
    let lo = r.start_time.map_or(0, |t| stream.lower_bound(t, n));
    let hi = r.end_time.map_or(n, |t| stream.lower_bound(t, n)).max(lo);
    let limit = r.limit.unwrap_or(MAX_EVENTS).clamp(1, MAX_EVENTS);
    let forward = match r.token {
        Some((d, _)) => d == Direction::Forward,
        None => r.start_from_head,
    };
    let mut events = vec![];
    let mut bytes = 0;
    let (from, to) = if forward {
        let from = r.token.map_or(lo, |(_, p)| p.clamp(lo, hi));
        let mut to = from;
        while to < hi && (events.len() as u64) < limit {
            let e = stream.event(to);
            bytes += size(&e);
            if bytes > MAX_BYTES {
                break;
            }
            events.push(e);
            to += 1;
        }
        (from, to)
    } else {
        let to = r.token.map_or(hi, |(_, p)| p.clamp(lo, hi));
        let mut from = to;
        while from > lo && (events.len() as u64) < limit {
            let e = stream.event(from - 1);
            bytes += size(&e);
            if bytes > MAX_BYTES {
                break;
            }
            events.push(e);
            from -= 1;
        }
        events.reverse();
        (from, to)
    };
    Page { events, forward: token(Direction::Forward, key, to), backward: token(Direction::Backward, key, from) }
}

/// A filter pattern of plain terms: every term must appear in the message (case-sensitive), `"a quoted
/// phrase"` as it is, `?term`s are alternatives of which one must appear, `-term`s must not appear. The empty
/// pattern matches every event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterPattern {
    all: Vec<String>,
    any: Vec<String>,
    none: Vec<String>,
}

impl FilterPattern {
    pub fn parse(text: &str) -> Result<FilterPattern, String> {
        let mut p = FilterPattern::default();
        let trimmed = text.trim();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return Err(format!(
                "JSON and space-delimited filter patterns ('{}') are not supported by this emulator: use terms and quoted phrases",
                trimmed.chars().take(40).collect::<String>()
            ));
        }
        let mut chars = trimmed.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                continue;
            }
            let mark = if c == '?' || c == '-' {
                chars.next();
                Some(c)
            } else {
                None
            };
            let mut term = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => term.extend(chars.next()),
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => term.push(c),
                    }
                }
                if !closed {
                    return Err(format!("Invalid filter pattern: unterminated quoted phrase \"{term}"));
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    term.push(c);
                    chars.next();
                }
            }
            if term.is_empty() {
                continue;
            }
            match mark {
                Some('?') => p.any.push(term),
                Some(_) => p.none.push(term),
                None => p.all.push(term),
            }
        }
        Ok(p)
    }

    pub fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|t| message.contains(t.as_str()))
            && !self.none.iter().any(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
    }
}

/// Where a FilterLogEvents page ended: the last event looked at (time, stream, index in it). Events come in
/// that order, so the next page starts after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct After {
    pub timestamp: i64,
    pub stream: String,
    pub index: u64,
}

impl After {
    /// The opaque nextToken: hex of the position with a check.
    pub fn token(&self) -> String {
        let body = format!("{}|{}|{}", self.timestamp, self.index, self.stream);
        let text = format!("v1|{:016x}|{body}", fingerprint(&body));
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    pub fn read(token: &str) -> Option<After> {
        if !token.len().is_multiple_of(2) || token.len() > 4096 {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..token.len())
            .step_by(2)
            .map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect();
        let text = String::from_utf8(bytes?).ok()?;
        let rest = text.strip_prefix("v1|")?;
        let (check, body) = rest.split_once('|')?;
        if check != format!("{:016x}", fingerprint(body)) {
            return None;
        }
        let mut parts = body.splitn(3, '|');
        let timestamp = parts.next()?.parse().ok()?;
        let index = parts.next()?.parse().ok()?;
        Some(After { timestamp, index, stream: parts.next()?.to_string() })
    }
}

/// A FilterLogEvents request, its members read.
pub struct FilterRequest<'a> {
    pub start_time: Option<i64>,
    /// Included, as FilterLogEvents includes it.
    pub end_time: Option<i64>,
    pub pattern: &'a FilterPattern,
    pub limit: Option<u64>,
    pub after: Option<After>,
}

pub struct Found {
    /// Which of the streams searched.
    pub stream: usize,
    pub index: u64,
    pub event: Event,
}

pub struct FilterPage {
    pub found: Vec<Found>,
    pub next: Option<After>,
    /// For each stream searched: whether this page looked at all of it.
    pub searched_completely: Vec<bool>,
}

/// The event ID FilterLogEvents gives an event: 56 digits, the same for the same event.
pub fn event_id(stream: &str, index: u64, timestamp: i64) -> String {
    let h = mix(fingerprint(stream), index);
    format!("{:020}{:018}{:018}", timestamp.max(0), h % E18, index % E18)
}

/// One page of events matching the pattern across `streams` (named, sorted by name) at `now`, in time order
/// (then stream name, then position), after the last event the previous page looked at.
pub fn filter(streams: &[(String, Stream)], now: i64, r: &FilterRequest) -> FilterPage {
    let limit = r.limit.unwrap_or(MAX_EVENTS).clamp(1, MAX_EVENTS);
    let mut heap = BinaryHeap::new();
    let mut ends = vec![];
    for (k, (name, s)) in streams.iter().enumerate() {
        let n = s.len(now);
        let hi = r.end_time.map_or(n, |t| s.lower_bound(t.saturating_add(1), n));
        let mut lo = r.start_time.map_or(0, |t| s.lower_bound(t, n));
        if let Some(a) = &r.after {
            let resume = match name.cmp(&a.stream) {
                std::cmp::Ordering::Less => s.lower_bound(a.timestamp.saturating_add(1), n),
                std::cmp::Ordering::Equal => s.lower_bound(a.timestamp, n).max(a.index + 1),
                std::cmp::Ordering::Greater => s.lower_bound(a.timestamp, n),
            };
            lo = lo.max(resume);
        }
        if lo < hi {
            heap.push(Reverse((s.timestamp(lo), k, lo)));
        }
        ends.push(hi);
    }
    let mut found = vec![];
    let mut bytes = 0;
    let mut scanned = 0u64;
    let mut last: Option<(i64, usize, u64)> = None;
    let mut stopped = false;
    while let Some(Reverse((ts, k, i))) = heap.pop() {
        if found.len() as u64 >= limit || scanned >= MAX_SCANNED {
            heap.push(Reverse((ts, k, i)));
            stopped = true;
            break;
        }
        let event = streams[k].1.event(i);
        if r.pattern.matches(&event.message) {
            bytes += size(&event);
            if bytes > MAX_BYTES {
                heap.push(Reverse((ts, k, i)));
                stopped = true;
                break;
            }
            found.push(Found { stream: k, index: i, event });
        }
        scanned += 1;
        last = Some((ts, k, i));
        if i + 1 < ends[k] {
            heap.push(Reverse((streams[k].1.timestamp(i + 1), k, i + 1)));
        }
    }
    let pending: Vec<usize> = heap.iter().map(|Reverse((_, k, _))| *k).collect();
    let searched_completely = (0..streams.len()).map(|k| !pending.contains(&k)).collect();
    let next = match (stopped, last) {
        (true, Some((timestamp, k, index))) => Some(After { timestamp, stream: streams[k].0.clone(), index }),
        // Stopped before looking at anything (a tiny limit cannot do that): start where this page started.
        (true, None) => r.after.clone(),
        _ => None,
    };
    FilterPage { found, next, searched_completely }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job_view::Job;
    use crate::jobs::JobKind;
    use crate::logs::JobLog;
    use crate::state::{JobRun, JobStatus};
    use serde_json::json;

    fn log(lines: u64, status: JobStatus) -> JobLog {
        let mut run = JobRun::new("job", "Training", 1, 1000.0);
        run.started = Some(1000.0);
        run.due = Some(2000.0);
        run.log_lines = Some(lines);
        run.arguments = json!({"ResourceConfig": {"InstanceCount": 2}});
        if status.is_done() {
            run.end(status, 2000.0, Some("AlgorithmError: needle in the haystack".into()));
        }
        let job = Job {
            kind: JobKind::Training,
            name: "job".into(),
            step_name: "S".into(),
            execution_id: "e".into(),
            execution_arn: "a".into(),
            run,
            tuning: None,
        };
        JobLog::of(&job).unwrap()
    }

    #[test]
    fn tokens_round_trip_and_refuse_strangers() {
        let t = token(Direction::Forward, "s", 1234);
        assert!(t.starts_with("f/") && t.len() == 58 && t[2..].bytes().all(|b| b.is_ascii_digit()), "{t}");
        assert_eq!(read_token(&t, "s"), Some((Direction::Forward, 1234)));
        assert_eq!(t, token(Direction::Forward, "s", 1234), "stable");
        assert_eq!(read_token(&t, "other"), None);
        assert_eq!(read_token(&t.replace("f/", "b/"), "s"), None);
        assert_eq!(read_token("f/123", "s"), None);
        let b = token(Direction::Backward, "s", 0);
        assert_eq!(read_token(&b, "s"), Some((Direction::Backward, 0)));
    }

    #[test]
    fn forward_paging_covers_every_event_once_then_repeats_its_token() {
        let l = log(1000, JobStatus::Failed);
        let s = l.streams()[0];
        let now = i64::MAX;
        let mut r = GetRequest { start_from_head: true, limit: Some(300), ..GetRequest::default() };
        let mut seen = vec![];
        let mut last = String::new();
        for _ in 0..10 {
            let page = get_events(&s, "k", now, &r);
            seen.extend(page.events.iter().map(|e| e.message.clone()));
            if page.forward == last {
                break;
            }
            last = page.forward.clone();
            r.token = read_token(&page.forward, "k");
        }
        assert_eq!(seen.len() as u64, s.len(now));
        // Backward from the end, the newest first page.
        let tail = get_events(&s, "k", now, &GetRequest { limit: Some(10), ..GetRequest::default() });
        assert_eq!(tail.events.last().unwrap().message, "AlgorithmError: needle in the haystack");
        let back = read_token(&tail.backward, "k");
        let before = get_events(&s, "k", now, &GetRequest { token: back, limit: Some(10), ..GetRequest::default() });
        assert_eq!(before.events.len(), 10);
        assert_eq!(
            seen[seen.len() - 20..seen.len() - 10],
            before.events.iter().map(|e| e.message.clone()).collect::<Vec<_>>()[..]
        );
    }

    #[test]
    fn patterns_take_terms_phrases_alternatives_and_exclusions() {
        let p = FilterPattern::parse(r#"epoch "validation:rmse: 2" -WARNING"#).unwrap();
        assert!(p.matches("epoch 3/20 - loss: 0.4 - validation:rmse: 2.113"));
        assert!(!p.matches("epoch 3/20 - validation:rmse: 3.1"));
        assert!(!p.matches("EPOCH validation:rmse: 2"), "case-sensitive");
        let alt = FilterPattern::parse("?ERROR ?Traceback").unwrap();
        assert!(alt.matches("Traceback (most recent call last):") && !alt.matches("INFO ok"));
        assert!(FilterPattern::parse("").unwrap().matches("anything"));
        assert!(FilterPattern::parse("\"open").is_err());
        assert!(FilterPattern::parse("{ $.level = \"ERROR\" }").is_err());
    }

    #[test]
    fn filter_pages_in_time_order_across_streams_and_finds_a_needle() {
        let l = log(100_000, JobStatus::Failed);
        let streams: Vec<(String, Stream)> = l.streams().into_iter().map(|s| (s.name(), s)).collect();
        let needle = FilterPattern::parse("needle").unwrap();
        let page = filter(
            &streams,
            i64::MAX,
            &FilterRequest { start_time: None, end_time: None, pattern: &needle, limit: None, after: None },
        );
        assert_eq!(page.found.len(), 4, "the raise and the last line, on both instances");
        assert!(page.next.is_none() && page.searched_completely.iter().all(|c| *c));
        let all = FilterPattern::default();
        let mut after = None;
        let mut got = vec![];
        loop {
            let p = filter(
                &streams,
                i64::MAX,
                &FilterRequest {
                    start_time: Some(1_500_000),
                    end_time: Some(1_600_000),
                    pattern: &all,
                    limit: Some(7000),
                    after: after.clone(),
                },
            );
            got.extend(p.found.iter().map(|f| (f.event.timestamp, f.stream, f.index)));
            match p.next {
                Some(a) => after = After::read(&a.token()),
                None => break,
            }
        }
        assert!(got.windows(2).all(|w| w[0] < w[1]), "time order, no repeats");
        assert!(got.iter().all(|(t, _, _)| (1_500_000..=1_600_000).contains(t)));
        assert!((20_000..=20_002).contains(&got.len()), "{}", got.len());
        assert!(After::read("zz").is_none() && After::read("7631").is_none());
    }
}
