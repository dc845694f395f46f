//! Reads the limits the dashboard and the emulator check (lengths, counts) from the botocore model of the
//! Pipelines API in this crate, so no number is copied by hand: `limits.rs` in `OUT_DIR`, included by
//! `crate::limits`.

use std::fmt::Write as _;

use serde_json::Value;

/// (constant, input shape, member, which bound, what it limits)
const LIMITS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "DISPLAY_NAME_MAX",
        "StartPipelineExecutionRequest",
        "PipelineExecutionDisplayName",
        "max",
        "an execution's display name",
    ),
    (
        "DESCRIPTION_MAX",
        "StartPipelineExecutionRequest",
        "PipelineExecutionDescription",
        "max",
        "an execution's description",
    ),
    (
        "MLFLOW_EXPERIMENT_MAX",
        "StartPipelineExecutionRequest",
        "MlflowExperimentName",
        "max",
        "an MLflow experiment name",
    ),
    ("CLIENT_TOKEN_MIN", "StartPipelineExecutionRequest", "ClientRequestToken", "min", "an idempotency token"),
    ("CLIENT_TOKEN_MAX", "StartPipelineExecutionRequest", "ClientRequestToken", "max", "an idempotency token"),
    ("PARAMETER_NAME_MAX", "Parameter", "Name", "max", "a parameter's name"),
    ("PARAMETER_VALUE_MAX", "Parameter", "Value", "max", "a parameter's value"),
    ("SELECTED_STEPS_MAX", "SelectiveExecutionConfig", "SelectedSteps", "max", "the steps of a selective run"),
    ("CALLBACK_TOKEN_LEN", "SendPipelineExecutionStepFailureRequest", "CallbackToken", "max", "a callback token"),
    (
        "FAILURE_REASON_MAX",
        "SendPipelineExecutionStepFailureRequest",
        "FailureReason",
        "max",
        "a callback step's failure reason",
    ),
    (
        "OUTPUT_PARAMETERS_MAX",
        "SendPipelineExecutionStepSuccessRequest",
        "OutputParameters",
        "max",
        "a callback step's outputs",
    ),
    ("OUTPUT_VALUE_MAX", "OutputParameter", "Value", "max", "an output parameter's value"),
];

fn main() {
    println!("cargo:rerun-if-changed=pipelines-shapes.json");
    let text = std::fs::read_to_string("pipelines-shapes.json").expect("pipelines-shapes.json is in the crate");
    let model: Value = serde_json::from_str(&text).expect("pipelines-shapes.json is JSON");
    let shapes = &model["shapes"];
    let mut out = String::new();
    for (name, input, member, bound, what) in LIMITS {
        let shape = shapes[input]["members"][member]["shape"]
            .as_str()
            .unwrap_or_else(|| panic!("the model has no member {input}.{member}"));
        let n = shapes[shape][bound].as_u64().unwrap_or_else(|| panic!("the model's shape {shape} has no {bound}"));
        writeln!(out, "/// The {bound} length or count of {what} (`{input}.{member}`, shape `{shape}`).").unwrap();
        writeln!(out, "pub const {name}: usize = {n};").unwrap();
    }
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("limits.rs");
    std::fs::write(path, out).unwrap();
}
