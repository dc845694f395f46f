//! Parsing, checking and evaluating Amazon SageMaker Pipelines *pipeline
//! definitions* (the JSON document with `"Version": "2020-12-01"`).
//!
//! Stepline uses this crate on both sides: the server-side emulator checks
//! definitions the way `CreatePipeline` does and evaluates step arguments
//! and Condition steps while "running" a pipeline, and the browser UI (built
//! for `wasm32-unknown-unknown`) draws the step graph, validates parameter
//! forms and selective-execution choices with the very same rules and
//! messages. It is therefore pure logic: no I/O, only `serde` and
//! `serde_json`, and no panics on any input.
//!
//! Modules, roughly in dependency order:
//! - [`error`]: [`DefinitionError`], the rejection message.
//! - [`parameter`]: parameter declarations, typed values, and merging the
//!   overrides of `StartPipelineExecution` with defaults.
//! - [`expr`]: `{"Get": ...}` references, property paths, and
//!   [`lookup_path`] over Describe responses.
//! - [`eval`]: [`Scope`] and [`evaluate`] for `Get` / `Std:Join` /
//!   `Std:JsonGet`.
//! - [`condition`]: Condition step conditions and their evaluation.
//! - [`step`]: one step with its retry, cache and output settings.
//! - [`definition`]: the whole document, flattened and cross-checked.
//! - [`graph`]: step dependencies, run order and drawing layers.
//! - [`selective`]: selective-execution rules and re-run helpers.
//!
//! ```
//! let def = stepline_definition::parse(r#"{
//!   "Version": "2020-12-01",
//!   "Parameters": [{"Name": "N", "Type": "Integer", "DefaultValue": 2}],
//!   "Steps": [
//!     {"Name": "A", "Type": "Processing", "Arguments": {"Count": {"Get": "Parameters.N"}}},
//!     {"Name": "B", "Type": "Training", "Arguments": {"In": {"Get": "Steps.A.ProcessingJobArn"}}}
//!   ]
//! }"#).expect("valid definition");
//! let graph = def.graph();
//! assert_eq!(graph.upstream(1), &[0]);
//! ```

pub mod condition;
pub mod definition;
pub mod error;
pub mod eval;
pub mod expr;
pub mod graph;
pub mod parameter;
pub mod selective;
pub mod step;

/// Limits of the Pipelines API (lengths and counts), read at build time from the botocore model of the
/// Pipelines API that this crate carries (`pipelines-shapes.json`).
pub mod limits {
    include!(concat!(env!("OUT_DIR"), "/limits.rs"));
}

/// The botocore model of the Pipelines operations, as the service publishes it (for the emulator's input
/// validation).
pub const PIPELINES_MODEL: &str = include_str!("../pipelines-shapes.json");

pub use condition::{evaluate_condition, evaluate_conditions, parse_conditions, values_equal, CompareOp, Condition};
pub use definition::{from_value, parse, Definition, DEFINITION_VERSION};
pub use error::DefinitionError;
pub use eval::{evaluate, join_string, MapScope, Scope};
pub use expr::{lookup_path, parse_get, parse_path, references, PathSegment, Reference, EXECUTION_VARIABLES};
pub use graph::Graph;
pub use parameter::{
    check_value, parse_value, resolve_parameters, ParameterDef, ParameterError, ParameterType, ResolvedParameter,
    TypedValue,
};
pub use selective::{check_selection, from_failure, with_downstream, SelectionPlan};
pub use step::{
    parse_iso8601_duration, BranchOf, CacheConfig, OutputParameterDef, PropertyFileDef, RetryPolicy, StepDef, StepType,
};
