//! Estimated compute cost: what a step's job cost (its instances' on-demand price × count × billed hours),
//! what an execution cost in all, and what the cache saved. Prices come from the AWS Price List's product
//! documents (`prices`) or an operator's price file; this module only computes, it reads nothing.
//!
//! It is an estimate, and says so: list prices (unless a price file says otherwise), compute only (no
//! storage, data transfer or endpoints), and processing and transform jobs billed by their start and end.

#[cfg(feature = "ssr")]
pub mod prices;
pub mod trend;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::jobs::JobDetail;
use crate::model::JobKind;

/// What SageMaker prices an instance-hour for: the kind of job it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    Training,
    Processing,
    Transform,
}

impl Component {
    /// The component a job kind is billed as; None for jobs not billed by the instance-hour here (a tuning
    /// job's cost is its training jobs').
    pub fn of(kind: JobKind) -> Option<Component> {
        match kind {
            JobKind::Training => Some(Component::Training),
            JobKind::Processing => Some(Component::Processing),
            JobKind::Transform => Some(Component::Transform),
            _ => None,
        }
    }

    /// As the price file and the CSV name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Training => "training",
            Component::Processing => "processing",
            Component::Transform => "transform",
        }
    }

    pub fn parse(s: &str) -> Option<Component> {
        match s.trim().to_ascii_lowercase().replace([' ', '-', '_'], "").as_str() {
            "training" => Some(Component::Training),
            "processing" => Some(Component::Processing),
            "transform" | "batchtransform" => Some(Component::Transform),
            _ => None,
        }
    }
}

/// Where a price came from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum PriceSource {
    /// The AWS Price List's on-demand price.
    List,
    /// The list price less the price file's discount (percent).
    Discounted(f64),
    /// The operator's price file.
    File,
}

/// An instance-hour's price in USD.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub usd_per_hour: f64,
    pub source: PriceSource,
}

/// How long a job was billed for.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Billed {
    /// A training job's `BillableTimeInSeconds` (spot savings included) and its whole `TrainingTimeInSeconds`.
    Billable { billable: f64, training: Option<f64> },
    /// From start to end (to now while it runs): processing and transform jobs.
    Wall { seconds: f64, running: bool },
}

/// What a job used: the part of it a cost is computed from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobUse {
    pub component: Component,
    pub instance_type: String,
    pub instance_count: i32,
    pub region: String,
    pub billed: Billed,
}

impl JobUse {
    /// What `job` used, as of `now`; None for a job without instances billed here, or not started. The
    /// region is the job ARN's (`fallback` when it has none).
    pub fn of(job: &JobDetail, fallback_region: &str, now: DateTime<Utc>) -> Option<JobUse> {
        let component = Component::of(job.kind)?;
        let instance_type = job.instance_type.clone()?;
        let instance_count = job.instance_count.unwrap_or(1).max(1);
        let region = job.arn.split(':').nth(3).filter(|r| !r.is_empty()).unwrap_or(fallback_region).to_string();
        let billed = match (job.billable_seconds, job.started) {
            (Some(b), _) if component == Component::Training => {
                Billed::Billable { billable: f64::from(b), training: job.training_seconds.map(f64::from) }
            }
            (_, Some(start)) => {
                let running = job.ended.is_none() && !job.is_terminal();
                let end = job.ended.unwrap_or(now);
                Billed::Wall { seconds: ((end - start).num_milliseconds() as f64 / 1000.0).max(0.0), running }
            }
            _ => return None,
        };
        Some(JobUse { component, instance_type, instance_count, region, billed })
    }

    /// "ml.m5.xlarge (training)": how a missing price is named.
    pub fn priced_as(&self) -> String {
        format!("{} ({})", self.instance_type, self.component.as_str())
    }
}

/// A step's estimated cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepCost {
    /// USD; None when there is no price for its instance.
    pub usd: Option<f64>,
    /// What managed spot training saved against on demand (USD).
    pub spot_saved: Option<f64>,
    /// Still running: the cost so far.
    pub running: bool,
    /// "0.23 USD/h × 2 × 0.51 h": how it was computed, or "no price for ml.x.y (training)".
    pub formula: String,
    pub price: Option<Price>,
    /// The Price List could not be asked: no price yet (an estimate with it is not kept).
    #[serde(default)]
    pub price_failed: bool,
}

/// The cost of a job's use at `price`.
pub fn step_cost(u: &JobUse, price: Option<Price>) -> StepCost {
    let (hours, running, whole) = match u.billed {
        Billed::Billable { billable, training } => (billable / 3600.0, false, training.map(|t| t / 3600.0)),
        Billed::Wall { seconds, running } => (seconds / 3600.0, running, None),
    };
    let Some(p) = price else {
        return StepCost {
            usd: None,
            spot_saved: None,
            running,
            formula: format!("no price for {}", u.priced_as()),
            price: None,
            price_failed: false,
        };
    };
    let count = f64::from(u.instance_count);
    let usd = p.usd_per_hour * count * hours;
    let spot_saved = whole.filter(|w| *w > hours).map(|w| p.usd_per_hour * count * (w - hours));
    let basis = match u.billed {
        Billed::Billable { .. } => "billable",
        Billed::Wall { running: true, .. } => "so far",
        Billed::Wall { .. } => "start to end",
    };
    let source = match p.source {
        PriceSource::List => String::new(),
        PriceSource::Discounted(d) => format!(", list less {d}%"),
        PriceSource::File => ", price file".to_string(),
    };
    StepCost {
        usd: Some(usd),
        spot_saved,
        running,
        formula: format!(
            "{} USD/h ({}{source}) × {} × {:.3} h {basis}",
            trim_price(p.usd_per_hour),
            u.instance_type,
            u.instance_count,
            hours
        ),
        price: Some(p),
        price_failed: false,
    }
}

/// A price as the list gives it, without trailing zeros ("0.23").
fn trim_price(p: f64) -> String {
    let s = format!("{p:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A step of an execution as costed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepLine {
    pub step: String,
    pub job: String,
    pub component: Component,
    pub instance: String,
    pub count: i32,
    pub cost: StepCost,
    /// For a step that reused a cached result: the source execution's id and what its step cost.
    pub cache: Option<CacheSaving>,
}

impl StepLine {
    /// In a few words: "$0.42", "$0.42 so far", "no price", "cached: saved $4.12".
    pub fn short(&self) -> String {
        if let Some(c) = &self.cache {
            return match c.usd {
                Some(u) => format!("cached: saved {}", usd(u)),
                None => "cached".into(),
            };
        }
        match self.cost.usd {
            Some(u) if self.cost.running => format!("{} so far", usd(u)),
            Some(u) => usd(u),
            None => "no price".into(),
        }
    }
}

/// What a cache hit saved: the cost of the step it reused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheSaving {
    pub source_execution: String,
    pub usd: Option<f64>,
}

/// An execution's estimated cost: its steps', summed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutionCost {
    pub steps: Vec<StepLine>,
    /// The sum of the steps with a price.
    pub usd: f64,
    /// Some step still runs: the sum is what it cost so far.
    pub running: bool,
    /// The instances without a price, each once: "ml.x.y (training)".
    pub missing: Vec<String>,
    pub spot_saved: f64,
    /// What the cache hits' sources cost (the runs they spared).
    pub cache_saved: f64,
    /// Job steps whose jobs could not be read (the sum leaves them out).
    pub unread: usize,
}

impl ExecutionCost {
    /// Sum `steps` (and count `unread` job steps left out).
    pub fn of(steps: Vec<StepLine>, unread: usize) -> ExecutionCost {
        let mut missing: Vec<String> = vec![];
        for s in &steps {
            if s.cost.usd.is_none() {
                let m = format!("{} ({})", s.instance, s.component.as_str());
                if !missing.contains(&m) {
                    missing.push(m);
                }
            }
        }
        ExecutionCost {
            usd: steps.iter().filter_map(|s| s.cost.usd).sum(),
            running: steps.iter().any(|s| s.cost.running),
            spot_saved: steps.iter().filter_map(|s| s.cost.spot_saved).sum(),
            cache_saved: steps.iter().filter_map(|s| s.cache.as_ref()?.usd).sum(),
            missing,
            unread,
            steps,
        }
    }

    /// The step's line, by name.
    pub fn step(&self, name: &str) -> Option<&StepLine> {
        self.steps.iter().find(|s| s.step == name)
    }

    /// Whether anything was costed at all.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// An execution's cost in one line (the compare page's column).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostTotal {
    pub usd: f64,
    pub running: bool,
    pub unread: usize,
    pub missing: Vec<String>,
    pub cache_saved: f64,
    pub spot_saved: f64,
}

impl From<&ExecutionCost> for CostTotal {
    fn from(c: &ExecutionCost) -> CostTotal {
        CostTotal {
            usd: c.usd,
            running: c.running,
            unread: c.unread,
            missing: c.missing.clone(),
            cache_saved: c.cache_saved,
            spot_saved: c.spot_saved,
        }
    }
}

/// An amount of USD as a page shows it: "$4.12", "$1,234", "< $0.01", "$0.00".
pub fn usd(x: f64) -> String {
    if x == 0.0 {
        return "$0.00".into();
    }
    if x.abs() < 0.005 {
        return "< $0.01".into();
    }
    if x.abs() >= 1000.0 {
        let whole = format!("{:.0}", x.abs());
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        return format!("{}${grouped}", if x < 0.0 { "-" } else { "" });
    }
    format!("${x:.2}")
}

/// What the estimate is, for the footnote and the title of every cost.
pub const ESTIMATE_NOTE: &str =
    "Estimated: on-demand list price (or the price file's) per instance-hour × instances × \
billed hours (training: BillableTimeInSeconds, spot savings included; processing and transform: start to end). \
Storage, data transfer and endpoints are not included.";

#[cfg(all(test, feature = "ssr"))]
mod tests;
