//! Job log streams read once and shared: every viewer of a stream reads the same buffer, and a running
//! job's stream is followed by one poller however many browsers watch it — the upstream calls do not
//! depend on the number of viewers.
//!
//! A stream is read forwards from its first event (so every line has its number, `#L123`), in pages of up
//! to 10,000 events, and kept in memory up to [`MAX_LINES_KEPT`] lines; the follower asks for what came
//! after the last token every [`POLL`], and once more after the job has ended. A finished job's buffer is
//! complete and costs nothing more until it is evicted.

use crate::sync::Unpoisoned;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::sync::broadcast;

use super::gateway::Gateway;
use stepline_types::model::logs::LogLine;
use stepline_types::model::Upstream;

/// Lines kept of one stream; older ones are dropped (their numbers stay) and the download reads them
/// from CloudWatch again.
pub const MAX_LINES_KEPT: usize = 200_000;
/// Streams kept in memory at once; the least recently used one that nobody follows goes first.
pub const MAX_STREAMS: usize = 64;
/// How often a followed stream is asked for new events.
pub const POLL: Duration = Duration::from_secs(1);
/// How long a read is reused by page views of a running job's stream.
const FRESH: Duration = Duration::from_secs(2);
/// Pages read in one catch-up at most (10,000 events each): the rest is read by the next one.
const MAX_PAGES: usize = 100;

/// A stream, by log group and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub group: String,
    pub stream: String,
}

/// What followers of a stream are told.
#[derive(Clone, Debug)]
pub enum Tail {
    Lines(Arc<Vec<LogLine>>),
    /// Reading failed; the follower keeps trying.
    Problem(Upstream),
    /// The job has ended and its last lines were sent.
    End,
}

/// Whether the job writing a stream still runs (asked of the execution's watcher).
pub type Running = Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

#[derive(Default)]
struct Buffer {
    lines: VecDeque<LogLine>,
    /// Lines in the stream read so far (the number of the newest).
    total: u64,
    token: Option<String>,
    read_at: Option<Instant>,
    /// Read to the end after the job ended: nothing more will come.
    complete: bool,
    /// The first line that looks like an error (`stepline_types::model::logs::looks_like_error`).
    first_error: Option<u64>,
}

/// One stream's buffer and its followers.
pub struct StreamLog {
    key: StreamKey,
    buf: tokio::sync::Mutex<Buffer>,
    tx: broadcast::Sender<Tail>,
    following: AtomicBool,
    used: Mutex<Instant>,
}

/// What a view of a stream shows: lines and how many there are in all.
pub struct Slice {
    pub lines: Vec<LogLine>,
    pub total: u64,
    pub complete: bool,
}

impl StreamLog {
    fn new(key: StreamKey) -> StreamLog {
        StreamLog {
            key,
            buf: Default::default(),
            tx: broadcast::channel(256).0,
            following: AtomicBool::new(false),
            used: Mutex::new(Instant::now()),
        }
    }

    /// Read what CloudWatch has after the buffer's token, at most `pages` pages; the new lines.
    async fn catch_up(&self, gateway: &Gateway, buf: &mut Buffer, pages: usize) -> Result<Vec<LogLine>, Upstream> {
        let mut new = Vec::new();
        for _ in 0..pages {
            let chunk = gateway.log_events(&self.key.group, &self.key.stream, buf.token.clone()).await?;
            let at_end = chunk.events.is_empty() || chunk.next.is_none() || chunk.next == buf.token;
            for (at, text) in chunk.events {
                buf.total += 1;
                if buf.first_error.is_none() && stepline_types::model::logs::looks_like_error(&text) {
                    buf.first_error = Some(buf.total);
                }
                new.push(LogLine { n: buf.total, at, text });
            }
            if chunk.next.is_some() {
                buf.token = chunk.next;
            }
            if at_end {
                break;
            }
        }
        buf.lines.extend(new.iter().cloned());
        let excess = buf.lines.len().saturating_sub(MAX_LINES_KEPT);
        buf.lines.drain(..excess);
        buf.read_at = Some(Instant::now());
        Ok(new)
    }

    /// The buffer brought up to date (unless it was read moments ago or is complete), then `count` lines
    /// before line `before` (the newest without it). `running`: the job may still write.
    pub async fn slice(
        &self,
        gateway: &Gateway,
        running: bool,
        before: Option<u64>,
        count: usize,
    ) -> Result<Slice, Upstream> {
        *self.used.locked() = Instant::now();
        let mut buf = self.buf.lock().await;
        let stale = buf.read_at.is_none_or(|t| t.elapsed() >= FRESH || !running);
        if !buf.complete && stale {
            let new = self.catch_up(gateway, &mut buf, MAX_PAGES).await;
            match new {
                Ok(new) => {
                    if !new.is_empty() && self.following.load(Ordering::Relaxed) {
                        let _ = self.tx.send(Tail::Lines(Arc::new(new)));
                    }
                    buf.complete = !running;
                }
                // What was read before is still good to show; with nothing read, the failure is the answer.
                Err(e) if buf.read_at.is_none() => return Err(e),
                Err(_) => {}
            }
        }
        let end = before.map_or(buf.lines.len(), |b| buf.lines.partition_point(|l| l.n < b));
        let start = end.saturating_sub(count);
        Ok(Slice { lines: buf.lines.range(start..end).cloned().collect(), total: buf.total, complete: buf.complete })
    }

    /// The first line of the stream that looks like an error.
    pub async fn first_error(&self) -> Option<u64> {
        self.buf.lock().await.first_error
    }

    /// Every line kept after line `after`, when the buffer still holds the one right after it.
    pub async fn after(&self, after: u64) -> Option<Vec<LogLine>> {
        let buf = self.buf.lock().await;
        let first = buf.lines.front().map_or(buf.total + 1, |l| l.n);
        (first <= after + 1).then(|| buf.lines.iter().filter(|l| l.n > after).cloned().collect())
    }

    /// The whole stream, when the buffer still holds its first line.
    pub async fn whole(&self) -> Option<Vec<LogLine>> {
        let buf = self.buf.lock().await;
        buf.lines.front().is_none_or(|l| l.n == 1).then(|| buf.lines.iter().cloned().collect())
    }

    /// Line numbers of the lines kept with this time and text: where a search match is.
    pub async fn find(&self, at: i64, text: &str) -> Option<u64> {
        let buf = self.buf.lock().await;
        let from = buf.lines.partition_point(|l| l.at < at);
        buf.lines.range(from..).take_while(|l| l.at == at).find(|l| l.text == text).map(|l| l.n)
    }

    /// Follow the stream: new lines as they come, from one poller shared by every follower.
    pub fn follow(self: &Arc<Self>, gateway: Arc<Gateway>, running: Running) -> broadcast::Receiver<Tail> {
        let rx = self.tx.subscribe();
        if !self.following.swap(true, Ordering::SeqCst) {
            let me = self.clone();
            tokio::spawn(async move { me.poll(gateway, running).await });
        }
        rx
    }

    async fn poll(self: Arc<Self>, gateway: Arc<Gateway>, running: Running) {
        let mut failing = false;
        loop {
            tokio::time::sleep(POLL).await;
            if self.tx.receiver_count() == 0 {
                break;
            }
            // Asked before reading, so a job that ended meanwhile is read once more after its end.
            let still = running().await;
            let mut buf = self.buf.lock().await;
            if buf.complete {
                let _ = self.tx.send(Tail::End);
                break;
            }
            // While the job runs, one page a tick: CloudWatch only says a stream has nothing newer by giving
            // back the token it was sent, and asking that every tick would double the calls. What a full page
            // leaves behind is read at the next tick; after the job ended, everything is read.
            let pages = if still { 1 } else { MAX_PAGES };
            match self.catch_up(&gateway, &mut buf, pages).await {
                Ok(new) => {
                    failing = false;
                    if !new.is_empty() {
                        let _ = self.tx.send(Tail::Lines(Arc::new(new)));
                    }
                    if !still {
                        buf.complete = true;
                        let _ = self.tx.send(Tail::End);
                        break;
                    }
                }
                Err(e) => {
                    if !failing {
                        let _ = self.tx.send(Tail::Problem(e));
                    }
                    failing = true;
                }
            }
        }
        self.following.store(false, Ordering::SeqCst);
    }

    pub fn followers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// Every stream read, by key.
#[derive(Default)]
pub struct LogBook {
    streams: Mutex<HashMap<StreamKey, Arc<StreamLog>>>,
}

impl LogBook {
    /// The stream's shared buffer (made on first use).
    pub fn stream(&self, key: StreamKey) -> Arc<StreamLog> {
        let mut map = self.streams.locked();
        if let Some(s) = map.get(&key) {
            return s.clone();
        }
        if map.len() >= MAX_STREAMS {
            let idle = map
                .iter()
                .filter(|(_, s)| s.followers() == 0 && Arc::strong_count(s) == 1)
                .min_by_key(|(_, s)| *s.used.locked())
                .map(|(k, _)| k.clone());
            if let Some(k) = idle {
                map.remove(&k);
            }
        }
        let s = Arc::new(StreamLog::new(key.clone()));
        map.insert(key, s.clone());
        s
    }

    /// Streams in memory, and how many are followed.
    pub fn sizes(&self) -> (usize, usize) {
        let map = self.streams.locked();
        (map.len(), map.values().filter(|s| s.following.load(Ordering::Relaxed)).count())
    }
}
