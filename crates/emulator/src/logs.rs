//! The CloudWatch logs of the jobs behind pipeline steps, simulated.
//!
//! A job's log is a pure function of the job (its name, arguments, timing, outcome) and what the scenario
//! asked of it (`log_lines`, `metrics`): line `i` of a stream is computed when it is asked for, so a job of
//! 100,000 lines per instance costs nothing until someone reads it, and the same line always reads the same.
//! Lines are spread evenly over the job's run and are visible once their time has come, so a running job's
//! stream grows; the lines that say how it ended (success, a Python traceback naming the failure, a stop)
//! follow when it has ended.
//!
//! Streams are named as on AWS: training and processing jobs write `<JobName>/algo-<n>-<epochSeconds>`, one
//! per instance; transform jobs write `<JobName>/<instance-id>-<epochSeconds>` per instance and the batch
//! transform data log `<JobName>/<instance-id>-<epochSeconds>/data-log`. `epochSeconds` is when the job
//! started.

use serde_json::Value;

use crate::draws::{default_metric_value, fingerprint, lower_is_better, mix, unit};
use crate::job_view::Job;
use crate::jobs::{final_metrics, JobKind};
use crate::state::{Epoch, JobStatus};

pub const TRAINING_GROUP: &str = "/aws/sagemaker/TrainingJobs";
pub const PROCESSING_GROUP: &str = "/aws/sagemaker/ProcessingJobs";
pub const TRANSFORM_GROUP: &str = "/aws/sagemaker/TransformJobs";

/// The log group a kind of job writes to.
pub fn group_of(kind: JobKind) -> Option<&'static str> {
    match kind {
        JobKind::Training => Some(TRAINING_GROUP),
        JobKind::Processing => Some(PROCESSING_GROUP),
        JobKind::Transform => Some(TRANSFORM_GROUP),
        _ => None,
    }
}

/// The kind of job whose logs a group holds.
pub fn kind_of_group(group: &str) -> Option<JobKind> {
    [JobKind::Training, JobKind::Processing, JobKind::Transform].into_iter().find(|k| group_of(*k) == Some(group))
}

/// Lines per instance when the scenario does not say: what such jobs write on small data.
fn default_lines(kind: JobKind) -> u64 {
    match kind {
        JobKind::Training => 320,
        JobKind::Transform => 260,
        _ => 220,
    }
}

/// Instances a job's streams are written for, at most.
const MAX_INSTANCES: u64 = 100;

/// One log event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Milliseconds since the epoch, as CloudWatch Logs writes times.
    pub timestamp: i64,
    pub ingestion: i64,
    pub message: String,
}

/// How a job ended, for the last lines of its log.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Completed,
    Failed(String),
    Stopped,
}

/// Everything a job's log is a function of.
#[derive(Clone, Debug)]
pub struct JobLog {
    kind: JobKind,
    pub job_name: String,
    instances: u32,
    instance_type: String,
    image: String,
    /// Milliseconds: when it started, when its run is due to end, when its work stops (a stop request).
    started: i64,
    due: i64,
    cut: i64,
    end: Option<(i64, Outcome)>,
    /// Lines of the main stream of each instance over the whole run.
    lines: u64,
    epochs: u64,
    metrics: Vec<(String, f64)>,
    hyperparameters: Vec<(String, String)>,
    command: String,
    entry: String,
    inputs: Vec<(String, String)>,
    outputs: Vec<(String, String)>,
    /// Transform: the model, and what the data log reports of the batch settings.
    model: String,
    batch: String,
    seed: u64,
}

fn ms(t: Epoch) -> i64 {
    (t * 1000.0).round() as i64
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from)
}

fn count(v: &Value, pointer: &str) -> u32 {
    v.pointer(pointer).and_then(Value::as_u64).unwrap_or(1).clamp(1, MAX_INSTANCES) as u32
}

/// `(name, uri)` of each item of a list of inputs or outputs.
fn named_uris(v: &Value, list: &str, name: &str, uri: &str) -> Vec<(String, String)> {
    v.pointer(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|i| (text(i, name).unwrap_or_else(|| "input".into()), text(i, uri).unwrap_or_else(|| "s3://…".into())))
        .collect()
}

/// A hyperparameter's value as the container sees it (the SageMaker SDK JSON-quotes strings).
fn unquote(v: &str) -> String {
    v.trim().trim_matches('"').to_string()
}

impl JobLog {
    /// The log of a job that has started, if its kind writes one.
    pub fn of(job: &Job) -> Option<JobLog> {
        let run = &job.run;
        let started = run.started?;
        group_of(job.kind)?;
        let args = &run.arguments;
        let due = run.due.unwrap_or(started).max(started);
        let cut = run.stopping.map_or(due, |s| s.min(due)).max(started);
        let end = run.ended.and_then(|e| {
            let outcome = match run.status {
                JobStatus::Completed => Outcome::Completed,
                JobStatus::Failed => Outcome::Failed(run.failure_reason.clone().unwrap_or_default()),
                JobStatus::Stopped => Outcome::Stopped,
                _ => return None,
            };
            Some((ms(e.max(started)), outcome))
        });
        let hyperparameters: Vec<(String, String)> = args
            .get("HyperParameters")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), unquote(v))))
            .collect();
        let epochs = ["epochs", "num_epochs", "n_epochs", "max_epochs", "num_round", "num_boost_round", "iterations"]
            .iter()
            .find_map(|k| hyperparameters.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.parse::<u64>().ok()))
            .unwrap_or(20)
            .clamp(1, 1000);
        let mut log = JobLog {
            kind: job.kind,
            job_name: run.name.clone(),
            instances: 1,
            instance_type: "ml.m5.xlarge".into(),
            image: String::new(),
            started: ms(started),
            due: ms(due),
            cut: ms(cut),
            end,
            lines: run.log_lines.unwrap_or_else(|| default_lines(job.kind)).max(1),
            epochs,
            metrics: vec![],
            hyperparameters,
            command: String::new(),
            entry: String::new(),
            inputs: vec![],
            outputs: vec![],
            model: String::new(),
            batch: String::new(),
            seed: fingerprint(&run.name),
        };
        match job.kind {
            JobKind::Training => {
                log.instances = count(args, "/ResourceConfig/InstanceCount");
                log.instance_type = text(args, "/ResourceConfig/InstanceType").unwrap_or(log.instance_type);
                log.image = text(args, "/AlgorithmSpecification/TrainingImage")
                    .or_else(|| text(args, "/AlgorithmSpecification/AlgorithmName"))
                    .unwrap_or_else(|| "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1".into());
                log.metrics = final_metrics(args, &run.metrics);
                log.entry = log
                    .hyperparameters
                    .iter()
                    .find(|(k, _)| k == "sagemaker_program")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| "train.py".into());
                let flags: Vec<String> = log
                    .hyperparameters
                    .iter()
                    .filter(|(k, _)| !k.starts_with("sagemaker_"))
                    .take(12)
                    .map(|(k, v)| format!("--{k} {v}"))
                    .collect();
                log.command = format!("/miniconda3/bin/python3 {} {}", log.entry, flags.join(" ")).trim_end().into();
                log.inputs = named_uris(args, "/InputDataConfig", "/ChannelName", "/DataSource/S3DataSource/S3Uri");
            }
            JobKind::Processing => {
                log.instances = count(args, "/ProcessingResources/ClusterConfig/InstanceCount");
                log.instance_type =
                    text(args, "/ProcessingResources/ClusterConfig/InstanceType").unwrap_or(log.instance_type);
                log.image = text(args, "/AppSpecification/ImageUri").unwrap_or_else(|| {
                    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3".into()
                });
                let words = |p: &str| -> Vec<String> {
                    args.pointer(p)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                };
                let mut command = words("/AppSpecification/ContainerEntrypoint");
                if command.is_empty() {
                    command = vec!["python3".into(), "/opt/ml/processing/input/code/processing.py".into()];
                }
                command.extend(words("/AppSpecification/ContainerArguments"));
                log.entry = command
                    .iter()
                    .rev()
                    .find(|w| w.ends_with(".py"))
                    .and_then(|w| w.rsplit('/').next())
                    .unwrap_or("processing.py")
                    .to_string();
                log.command = command.join(" ");
                log.inputs = named_uris(args, "/ProcessingInputs", "/InputName", "/S3Input/S3Uri");
                log.outputs = named_uris(args, "/ProcessingOutputConfig/Outputs", "/OutputName", "/S3Output/S3Uri");
            }
            _ => {
                log.instances = count(args, "/TransformResources/InstanceCount");
                log.instance_type = text(args, "/TransformResources/InstanceType").unwrap_or(log.instance_type);
                log.model = text(args, "/ModelName").unwrap_or_else(|| "model".into());
                log.entry = "predictor.py".into();
                let input =
                    text(args, "/TransformInput/DataSource/S3DataSource/S3Uri").unwrap_or_else(|| "s3://…".into());
                log.inputs = vec![("input".into(), input)];
                let num = |p: &str, d: u64| args.pointer(p).and_then(Value::as_u64).unwrap_or(d);
                log.batch = format!(
                    "MaxConcurrentTransforms={}, MaxPayloadInMB={}, BatchStrategy={}",
                    num("/MaxConcurrentTransforms", 1),
                    num("/MaxPayloadInMB", 6),
                    text(args, "/BatchStrategy").unwrap_or_else(|| "MULTI_RECORD".into()).to_uppercase()
                );
            }
        }
        Some(log)
    }

    /// Its streams: one per instance (and a data log each for a transform job), in instance order.
    pub fn streams(&self) -> Vec<Stream<'_>> {
        let mut out = vec![];
        for n in 1..=self.instances {
            out.push(Stream { log: self, instance: n, data_log: false });
            if self.kind == JobKind::Transform {
                out.push(Stream { log: self, instance: n, data_log: true });
            }
        }
        out
    }

    /// The stream of this job with exactly this name.
    pub fn stream(&self, name: &str) -> Option<Stream<'_>> {
        self.streams().into_iter().find(|s| s.name() == name)
    }

    /// The EC2 instance id of a transform instance.
    fn instance_id(&self, n: u32) -> String {
        format!("i-0{:016x}", mix(self.seed, u64::from(n)) >> 4)
    }
}

/// One stream of a job's log.
#[derive(Clone, Copy, Debug)]
pub struct Stream<'a> {
    log: &'a JobLog,
    /// From 1.
    instance: u32,
    data_log: bool,
}

impl<'a> Stream<'a> {
    pub fn job(&self) -> &'a JobLog {
        self.log
    }

    pub fn name(&self) -> String {
        let secs = self.log.started.div_euclid(1000);
        match (self.log.kind, self.data_log) {
            (JobKind::Transform, false) => {
                format!("{}/{}-{secs}", self.log.job_name, self.log.instance_id(self.instance))
            }
            (JobKind::Transform, true) => {
                format!("{}/{}-{secs}/data-log", self.log.job_name, self.log.instance_id(self.instance))
            }
            _ => format!("{}/algo-{}-{secs}", self.log.job_name, self.instance),
        }
    }

    /// When the stream was created: when the job started (milliseconds).
    pub fn created(&self) -> i64 {
        self.log.started
    }

    fn seed(&self) -> u64 {
        mix(self.log.seed, u64::from(self.instance) * 2 + u64::from(self.data_log))
    }

    /// Lines of the run (not counting how it ended).
    fn base_total(&self) -> u64 {
        if self.data_log {
            (self.log.lines / 20).max(8)
        } else {
            self.log.lines
        }
    }

    /// The time of run line `i`: lines are spread evenly from the start (instances a little apart) to when
    /// the run is due to end.
    fn base_time(&self, i: u64) -> i64 {
        let span = (self.log.due - self.log.started).max(0);
        let offset = (i64::from(self.instance - 1) * 97 + i64::from(self.data_log) * 13).min(span / 50);
        let total = self.base_total().max(1);
        let spread = i128::from(span - offset) * i128::from(i) / i128::from(total);
        self.log.started + offset + spread as i64
    }

    /// Run lines whose time is `t` or earlier.
    fn base_count(&self, t: i64) -> u64 {
        let total = self.base_total();
        let (mut lo, mut hi) = (0u64, total);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.base_time(mid) <= t {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Run lines in the final log: those before the job's work stopped.
    fn base_final(&self) -> u64 {
        let end = self.log.end.as_ref().map_or(i64::MAX, |(e, _)| *e);
        self.base_count(self.log.cut.min(end))
    }

    /// Events visible at `now` (milliseconds): the run's lines whose time has come, and once the job has
    /// ended, the lines that say how.
    pub fn len(&self, now: i64) -> u64 {
        match &self.log.end {
            Some((e, _)) if now >= *e => self.base_final() + self.ending().len() as u64,
            _ => self.base_count(now.min(self.log.cut)),
        }
    }

    pub fn is_empty(&self, now: i64) -> bool {
        self.len(now) == 0
    }

    /// The time of event `i`.
    pub fn timestamp(&self, i: u64) -> i64 {
        match &self.log.end {
            Some((e, _)) if i >= self.base_final() => *e,
            _ => self.base_time(i),
        }
    }

    /// The first of the first `n` events whose time is `t` or later (`n` when none is).
    pub fn lower_bound(&self, t: i64, n: u64) -> u64 {
        let (mut lo, mut hi) = (0u64, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.timestamp(mid) < t {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Event `i` (of those visible).
    pub fn event(&self, i: u64) -> Event {
        let timestamp = self.timestamp(i);
        let h = mix(self.seed(), i);
        let ingestion = timestamp + 5 + (h % 40) as i64;
        let base = match &self.log.end {
            Some(_) => self.base_final(),
            None => self.base_total(),
        };
        let message = if i < base {
            self.line(i, timestamp, h)
        } else {
            self.ending().get((i - base) as usize).cloned().unwrap_or_default()
        };
        Event { timestamp, ingestion, message }
    }

    fn host(&self) -> String {
        match self.log.kind {
            JobKind::Transform => self.log.instance_id(self.instance),
            _ => format!("algo-{}", self.instance),
        }
    }

    /// Line `i` of the run.
    fn line(&self, i: u64, ts: i64, h: u64) -> String {
        if self.data_log {
            return self.data_line(i, ts, h);
        }
        let total = self.base_total();
        let s = self.startup_len().min(total);
        if i < s {
            // Only the first lines need the start-up block.
            return self.startup(ts).swap_remove(i as usize);
        }
        let body = total - s;
        let b = i - s;
        match self.log.kind {
            JobKind::Training => self.training_line(b, body, h),
            JobKind::Processing => self.processing_line(b, body, h),
            _ => self.transform_line(b, body, ts, h),
        }
    }

    /// Lines of [`Self::startup`].
    fn startup_len(&self) -> u64 {
        match self.log.kind {
            JobKind::Training => 13,
            JobKind::Processing => 7,
            _ => 9,
        }
    }

    /// How a job starts: the image, the instance, the command ([`Self::startup_len`] lines).
    fn startup(&self, ts: i64) -> Vec<String> {
        let log = self.log;
        let host = self.host();
        let digest = format!(
            "{:016x}{:016x}{:016x}{:016x}",
            mix(log.seed, 1),
            mix(log.seed, 2),
            mix(log.seed, 3),
            mix(log.seed, 4)
        );
        let (cpus, mem) = instance_size(&log.instance_type);
        let gpus = if log.instance_type.starts_with("ml.p") || log.instance_type.starts_with("ml.g") {
            format!("{} GPUs detected", (cpus / 8).max(1))
        } else {
            "No GPUs detected (normal if no gpus installed)".to_string()
        };
        let channels: Vec<String> = log.inputs.iter().map(|(n, u)| format!("{n} ({u})")).collect();
        let of = format!("{} of {}", self.instance, log.instances);
        match log.kind {
            JobKind::Training => {
                let hyper: Vec<String> = log.hyperparameters.iter().map(|(k, v)| format!("\"{k}\": \"{v}\"")).collect();
                let tk = |level: &str, text: &str| toolkit(ts, level, text);
                vec![
                    "bash: cannot set terminal process group (-1): Inappropriate ioctl for device".into(),
                    "bash: no job control in this shell".into(),
                    tk("INFO", &format!("Pulling image {} on {} ({host})", log.image, log.instance_type)),
                    tk("INFO", &format!("Image pulled: sha256:{digest}")),
                    tk(
                        "INFO",
                        &format!("Instance {host} ({of}): {}, {cpus} vCPUs, {mem} GiB memory", log.instance_type),
                    ),
                    tk("INFO", &gpus),
                    tk(
                        "INFO",
                        &format!(
                            "Input channels: {}",
                            if channels.is_empty() { "none".into() } else { channels.join(", ") }
                        ),
                    ),
                    tk("INFO", &format!("Hyperparameters: {{{}}}", hyper.join(", "))),
                    tk("INFO", "Invoking script with the following command:"),
                    log.command.clone(),
                    format!(
                        "{INFO} [{host}] Loading training data: {} rows, 8 columns",
                        3000 + mix(self.seed(), 7) % 2000
                    ),
                    format!("[{host}] Feature schema: <features count=\"8\"> &amp; target <label name=\"rings\"/>"),
                    format!("{INFO} [{host}] Training for {} epochs", log.epochs),
                ]
            }
            JobKind::Processing => vec![
                format!("{} Pulling image {} on {} ({host})", iso(ts), log.image, log.instance_type),
                format!("{} Image pulled: sha256:{digest}", iso(ts)),
                format!("{} Instance {host} ({of}): {}, {cpus} vCPUs, {mem} GiB memory", iso(ts), log.instance_type),
                format!(
                    "{} Inputs: {}",
                    iso(ts),
                    if channels.is_empty() { "none".into() } else { channels.join(", ") }
                ),
                format!("Invoking script with the following command: {}", log.command),
                format!("{INFO} Reading {} records from /opt/ml/processing/input (shard {of})", self.records()),
                "Column schema: <column name=\"sex\" type=\"category\"/> &amp; 7 numeric columns".to_string(),
            ],
            _ => {
                let clf = clf_time(ts);
                vec![
                    format!("Pulling the image of model {} on {} ({host})", log.model, log.instance_type),
                    format!("Starting the inference server with {} workers.", cpus.max(1)),
                    format!("[{clf}] [1] [INFO] Starting gunicorn 20.1.0"),
                    format!("[{clf}] [1] [INFO] Listening at: unix:/tmp/gunicorn.sock (1)"),
                    format!("[{clf}] [1] [INFO] Using worker: gevent"),
                    format!("[{clf}] [18] [INFO] Booting worker with pid: 18"),
                    format!("{INFO} Model loaded from /opt/ml/model (<b>{}</b> &amp; its preprocessing)", log.model),
                    format!("169.254.255.130 - - [{clf}] \"GET /ping HTTP/1.1\" 200 0 \"-\" \"Go-http-client/1.1\""),
                    format!("169.254.255.130 - - [{clf}] \"GET /execution-parameters HTTP/1.1\" 200 84 \"-\" \"Go-http-client/1.1\""),
                ]
            }
        }
    }

    /// Records this instance processes: a million in all, shared between the instances.
    fn records(&self) -> u64 {
        let total = 1_000_000u64;
        let n = u64::from(self.log.instances);
        total / n + u64::from(u64::from(self.instance) <= total % n)
    }

    /// A training line: steps of each epoch, then the epoch's summary with the job's metrics, which reach
    /// their final values at the last epoch.
    fn training_line(&self, b: u64, body: u64, h: u64) -> String {
        let host = self.host();
        let epochs = self.log.epochs.min(body).max(1);
        let epoch = b * epochs / body;
        let first = |e: u64| (e * body).div_ceil(epochs);
        let (start, next) = (first(epoch), first(epoch + 1));
        let steps = (next - start).saturating_sub(1).max(1);
        let p = (b + 1) as f64 / body as f64;
        let noise = unit(h) - 0.5;
        let final_loss =
            self.log.metrics.iter().find(|(n, _)| n.contains("loss")).map_or(default_metric_value("loss"), |m| m.1);
        let loss = final_loss * (1.0 + 3.0 * (1.0 - p).powi(2)) + 0.05 * noise * (1.0 - p);
        let e = epoch + 1;
        let total = self.log.epochs.min(body).max(1);
        if b + 1 == next {
            // The epoch's summary.
            let q = e as f64 / total as f64;
            let mut line = format!(
                "epoch {e}/{total} - loss: {:.4}",
                final_loss * (1.0 + 3.0 * (1.0 - q).powi(2)) + 0.05 * noise * (1.0 - q)
            );
            for (name, value) in self.log.metrics.iter().take(4) {
                let v = metric_at(name, *value, q, noise);
                line.push_str(&format!(" - {name}: {v:.4}"));
            }
            return line;
        }
        let j = b - start + 1;
        match h % 100 {
            0 | 1 => {
                format!("{WARNING} [{host}] gradient norm {:.2} exceeds 10.0; clipping", 10.0 + 5.0 * unit(h >> 7))
            }
            2 => format!("[{host}] <b>checkpoint</b> saved to /opt/ml/checkpoints/epoch-{e}.pt &amp; synced to S3"),
            3..=19 => format!(
                "{INFO} [{host}] epoch {e}/{total} step {j}/{steps} - lr: {:.6} - {:.1} samples/s",
                0.001 * (1.0 - 0.9 * p),
                900.0 + 200.0 * unit(h >> 9)
            ),
            _ => format!("[{host}] epoch {e}/{total} step {j}/{steps} - loss: {loss:.4}"),
        }
    }

    /// A processing line: progress every twentieth of the run, batches between.
    fn processing_line(&self, b: u64, body: u64, h: u64) -> String {
        let records = self.records();
        // Progress at each twentieth: the first line at or past k/20 of the run reports 5k%.
        let k = (b + 1) * 20 / body;
        if k >= 1 && b + 1 == (k * body).div_ceil(20) {
            return format!("Processed {}% ({}/{records} records)", 5 * k, records * k / 20);
        }
        match h % 100 {
            0 => format!("{WARNING} column <rings> has {} outliers &amp; was clipped", 1 + (h >> 8) % 40),
            1..=39 => format!("[{}] transformed batch {} in {} ms", self.host(), b + 1, 20 + (h >> 12) % 180),
            _ => {
                format!("{INFO} batch {}: {} rows read, {} nulls dropped", b + 1, 500 + (h >> 16) % 500, (h >> 24) % 7)
            }
        }
    }

    /// A transform line: the model server's access log, with a prediction summary now and then.
    fn transform_line(&self, b: u64, _body: u64, ts: i64, h: u64) -> String {
        let clf = clf_time(ts);
        match h % 100 {
            0 => format!("169.254.255.130 - - [{clf}] \"GET /ping HTTP/1.1\" 200 0 \"-\" \"Go-http-client/1.1\""),
            1..=10 => format!(
                "{INFO} predicted {} records in {} ms (batch {})",
                50 + (h >> 8) % 450,
                3 + (h >> 20) % 40,
                b + 1
            ),
            _ => format!(
                "169.254.255.130 - - [{clf}] \"POST /invocations HTTP/1.1\" 200 {} \"-\" \"Go-http-client/1.1\"",
                800 + (h >> 8) % 9000
            ),
        }
    }

    /// A line of a batch transform's data log.
    fn data_line(&self, i: u64, ts: i64, h: u64) -> String {
        let at = iso_local(ts);
        let input = self.log.inputs.first().map(|(_, u)| u.as_str()).unwrap_or("s3://…");
        if i == 0 {
            return format!("{at}:[sagemaker logs]: {}", self.log.batch);
        }
        format!(
            "{at}:[sagemaker logs]: {}/part-{:05}.csv: {} records transformed",
            input.trim_end_matches('/'),
            i + u64::from(self.instance) * 10_000,
            200 + (h >> 8) % 800
        )
    }

    /// The lines that say how the job ended.
    fn ending(&self) -> Vec<String> {
        let Some((e, outcome)) = &self.log.end else { return vec![] };
        let ts = *e;
        if self.data_log {
            let at = iso_local(ts);
            let input = self.log.inputs.first().map(|(_, u)| u.as_str()).unwrap_or("s3://…");
            return vec![match outcome {
                Outcome::Completed => format!("{at}:[sagemaker logs]: Transform complete for {input}"),
                Outcome::Failed(reason) => format!("{at}:[sagemaker logs]: {input}: {}", failure_line(reason)),
                Outcome::Stopped => format!("{at}:[sagemaker logs]: Transform stopped."),
            }];
        }
        let (file, calls) = match self.log.kind {
            JobKind::Training => (
                format!("/opt/ml/code/{}", self.log.entry),
                ["main(parse_args())", "model = fit(train, validation, params)"],
            ),
            JobKind::Processing => (
                format!("/opt/ml/processing/input/code/{}", self.log.entry),
                ["main(parse_args())", "frame = transform(read_input(args.input))"],
            ),
            _ => (
                "/opt/program/predictor.py".to_string(),
                ["return handler(request)", "predictions = model.predict(batch)"],
            ),
        };
        let traceback = |reason: &str| {
            let last = failure_line(reason);
            let (class, message) = last.split_once(": ").unwrap_or(("RuntimeError", last.as_str()));
            vec![
                "Traceback (most recent call last):".to_string(),
                format!("  File \"{file}\", line 142, in <module>"),
                format!("    {}", calls[0]),
                format!("  File \"{file}\", line 118, in main"),
                format!("    {}", calls[1]),
                format!("  File \"{file}\", line 87, in run"),
                format!("    raise {class}({message:?})"),
                last.clone(),
            ]
        };
        match self.log.kind {
            JobKind::Training => {
                let tk = |level: &str, text: &str| toolkit(ts, level, text);
                match outcome {
                    Outcome::Completed => vec![
                        tk("INFO", "Waiting for the process to finish and give a return code."),
                        tk("INFO", "Done waiting for a return code. Received 0 from exiting process."),
                        tk("INFO", "Reporting training SUCCESS"),
                    ],
                    Outcome::Failed(reason) => {
                        let mut lines = vec![
                            tk("ERROR", "Reporting training FAILURE"),
                            tk("ERROR", "ExecuteUserScriptError: ExitCode 1"),
                        ];
                        lines.extend(traceback(reason));
                        lines
                    }
                    Outcome::Stopped => vec![tk("INFO", "Received SIGTERM: the job was stopped. Exiting.")],
                }
            }
            JobKind::Processing => match outcome {
                Outcome::Completed => {
                    let outputs: Vec<String> = self.log.outputs.iter().map(|(n, u)| format!("{n} ({u})")).collect();
                    vec![
                        format!(
                            "Writing outputs: {}",
                            if outputs.is_empty() { "none".into() } else { outputs.join(", ") }
                        ),
                        format!(
                            "{INFO} Processing complete: {} records in {} s",
                            self.records(),
                            ((self.log.due - self.log.started) / 1000).max(1)
                        ),
                    ]
                }
                Outcome::Failed(reason) => traceback(reason),
                Outcome::Stopped => vec!["Received SIGTERM: the job was stopped. Exiting.".into()],
            },
            _ => {
                let clf = clf_time(ts);
                match outcome {
                    Outcome::Completed => vec![
                        format!("[{clf}] [1] [INFO] Handling signal: term"),
                        format!("[{clf}] [1] [INFO] Shutting down: Master"),
                    ],
                    Outcome::Failed(reason) => traceback(reason),
                    Outcome::Stopped => vec![format!("[{clf}] [1] [INFO] Handling signal: term")],
                }
            }
        }
    }
}

const INFO: &str = "\u{1b}[32mINFO\u{1b}[0m";
const WARNING: &str = "\u{1b}[33mWARNING\u{1b}[0m";

/// A metric's value at progress `q` of the run (1 at the last epoch, where it is the final value): losses and
/// errors come down to it, scores come up to it.
fn metric_at(name: &str, final_value: f64, q: f64, noise: f64) -> f64 {
    let left = (1.0 - q).max(0.0);
    if lower_is_better(name) {
        final_value * (1.0 + 0.9 * left.powf(1.5)) + 0.02 * noise * left
    } else {
        final_value * (1.0 - 0.35 * left.powf(1.5)) + 0.01 * noise * left
    }
}

/// The last line of a failing job's traceback: the failure reason as Python prints an exception, its own
/// class when it starts with one (`AlgorithmError: out of memory`), else as a RuntimeError.
pub fn failure_line(reason: &str) -> String {
    let flat = reason.replace(['\r', '\n'], " ");
    let named = flat.split_once(": ").is_some_and(|(class, _)| {
        !class.is_empty()
            && class.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && (class.ends_with("Error") || class.ends_with("Exception"))
    });
    if named {
        flat
    } else {
        format!("RuntimeError: {flat}")
    }
}

/// vCPUs and GiB of memory of an instance type, by its size.
fn instance_size(instance_type: &str) -> (u64, u64) {
    let size = instance_type.rsplit('.').next().unwrap_or("xlarge");
    let cpus = match size {
        "medium" => 1,
        "large" => 2,
        "xlarge" => 4,
        s => s.trim_end_matches("xlarge").parse::<u64>().map_or(4, |n| 4 * n),
    };
    (cpus, cpus * 4)
}

fn datetime(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// `2024-05-01 12:00:00,123 sagemaker-training-toolkit INFO     text`, as the training toolkit logs.
fn toolkit(ms: i64, level: &str, text: &str) -> String {
    format!("{} sagemaker-training-toolkit {level:<8} {text}", datetime(ms).format("%Y-%m-%d %H:%M:%S,%3f"))
}

fn iso(ms: i64) -> String {
    datetime(ms).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn iso_local(ms: i64) -> String {
    datetime(ms).format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// An access log's time: `01/May/2024:12:00:00 +0000`.
fn clf_time(ms: i64) -> String {
    datetime(ms).format("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job_view::Job;
    use crate::state::JobRun;
    use serde_json::json;

    fn job(kind: JobKind, status: JobStatus, lines: Option<u64>, instances: u64) -> Job {
        let step_type = kind.step_type();
        let mut run = JobRun::new("pipelines-abc-Train-x1y2z3w4v5", step_type.as_str(), 1, 1000.0);
        run.started = Some(1002.0);
        run.due = Some(1602.0);
        run.log_lines = lines;
        run.arguments = json!({
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": instances, "VolumeSizeInGB": 30},
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": instances, "VolumeSizeInGB": 30}},
            "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": instances},
            "HyperParameters": {"num_round": "10", "eta": "0.2"},
            "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "validation:rmse", "Regex": "x"}]},
        });
        if status.is_done() {
            run.end(status, 1602.0, Some("AlgorithmError: out of memory".into()));
        }
        Job {
            kind,
            name: run.name.clone(),
            step_name: "Train".into(),
            execution_id: "abc".into(),
            execution_arn: "arn".into(),
            run,
            tuning: None,
        }
    }

    fn all(s: &Stream, now: i64) -> Vec<Event> {
        (0..s.len(now)).map(|i| s.event(i)).collect()
    }

    #[test]
    fn streams_are_named_as_on_aws_one_per_instance() {
        let j = job(JobKind::Training, JobStatus::InProgress, None, 2);
        let log = JobLog::of(&j).unwrap();
        let names: Vec<String> = log.streams().iter().map(|s| s.name()).collect();
        assert_eq!(names, ["pipelines-abc-Train-x1y2z3w4v5/algo-1-1002", "pipelines-abc-Train-x1y2z3w4v5/algo-2-1002"]);
        let t = job(JobKind::Transform, JobStatus::InProgress, None, 1);
        let names: Vec<String> = JobLog::of(&t).unwrap().streams().iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), 2);
        assert!(names[0].starts_with("pipelines-abc-Train-x1y2z3w4v5/i-0") && names[0].ends_with("-1002"), "{names:?}");
        assert_eq!(names[1], format!("{}/data-log", names[0]));
    }

    #[test]
    fn start_up_blocks_are_as_long_as_said() {
        for kind in [JobKind::Training, JobKind::Processing, JobKind::Transform] {
            let j = job(kind, JobStatus::InProgress, None, 1);
            let log = JobLog::of(&j).unwrap();
            let s = log.streams()[0];
            assert_eq!(s.startup(0).len() as u64, s.startup_len(), "{kind:?}");
        }
    }

    #[test]
    fn a_running_stream_grows_and_lines_do_not_change() {
        let j = job(JobKind::Training, JobStatus::InProgress, None, 1);
        let log = JobLog::of(&j).unwrap();
        let s = log.streams()[0];
        assert_eq!(s.len(1_001_000), 0, "nothing before the job started");
        let early = all(&s, 1_100_000);
        let later = all(&s, 1_400_000);
        assert!(!early.is_empty() && later.len() > early.len());
        assert_eq!(&later[..early.len()], &early[..]);
        assert!(later.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        assert_eq!(s.len(9_999_999_999), 320, "all the run's lines, and no ending before the job has ended");
    }

    #[test]
    fn training_logs_start_up_report_epochs_and_end() {
        let j = job(JobKind::Training, JobStatus::Completed, None, 1);
        let log = JobLog::of(&j).unwrap();
        let lines: Vec<String> = all(&log.streams()[0], i64::MAX).into_iter().map(|e| e.message).collect();
        let text = lines.join("\n");
        assert!(text.contains("Pulling image img:1 on ml.m5.xlarge (algo-1)"), "{text}");
        assert!(text.contains("Invoking script with the following command:"));
        assert!(lines.iter().any(|l| l.starts_with("epoch 3/10 - loss: ") && l.contains(" - validation:rmse: ")));
        let last_epoch = lines.iter().find(|l| l.starts_with("epoch 10/10")).unwrap();
        assert!(last_epoch.ends_with("validation:rmse: 2.1000"), "{last_epoch}");
        assert!(text.contains("\u{1b}[32mINFO\u{1b}[0m") && text.contains("&amp;") && text.contains("<b>"));
        assert!(lines.last().unwrap().ends_with("Reporting training SUCCESS"));
        assert_eq!(lines.len(), 323);
    }

    #[test]
    fn a_failed_job_ends_with_a_traceback_naming_the_failure() {
        for kind in [JobKind::Training, JobKind::Processing, JobKind::Transform] {
            let j = job(kind, JobStatus::Failed, None, 1);
            let log = JobLog::of(&j).unwrap();
            let lines: Vec<String> = all(&log.streams()[0], i64::MAX).into_iter().map(|e| e.message).collect();
            assert!(lines.iter().any(|l| l == "Traceback (most recent call last):"), "{kind:?}");
            assert_eq!(lines.last().unwrap(), "AlgorithmError: out of memory", "{kind:?}");
        }
        assert_eq!(failure_line("disk full"), "RuntimeError: disk full");
        assert_eq!(failure_line("ClientError: bad\ninput"), "ClientError: bad input");
    }

    #[test]
    fn instances_write_different_lines_and_log_lines_sets_the_length() {
        let j = job(JobKind::Processing, JobStatus::Completed, Some(100_000), 2);
        let log = JobLog::of(&j).unwrap();
        let (a, b) = (log.streams()[0], log.streams()[1]);
        assert_eq!(a.len(i64::MAX), 100_002);
        let differ = (0..200).filter(|i| a.event(*i).message != b.event(*i).message).count();
        assert!(differ > 100, "{differ}");
        let progress: Vec<String> =
            (19_990..20_020).map(|i| a.event(i).message).filter(|m| m.starts_with("Processed ")).collect();
        assert_eq!(progress, ["Processed 20% (100000/500000 records)"]);
        assert_eq!(a.event(a.len(i64::MAX) - 3).message, "Processed 100% (500000/500000 records)");
        // Binary search agrees with the times.
        let t = a.timestamp(54_321);
        let i = a.lower_bound(t, a.len(i64::MAX));
        assert!(a.timestamp(i) == t && (i == 0 || a.timestamp(i - 1) < t));
    }

    #[test]
    fn a_stopped_job_stops_writing_where_it_was_stopped() {
        let mut j = job(JobKind::Training, JobStatus::InProgress, None, 1);
        j.run.stopping = Some(1302.0);
        let before = JobLog::of(&j).unwrap().streams()[0].len(1_305_000);
        j.run.end(JobStatus::Stopped, 1307.0, None);
        let log = JobLog::of(&j).unwrap();
        let s = log.streams()[0];
        assert_eq!(s.len(1_400_000), before + 1);
        assert!(s.event(before).message.contains("SIGTERM"));
    }
}
