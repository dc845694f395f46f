//! Domain types shared by the server and the browser. The SageMaker gateway turns SDK responses into these;
//! pages and components only ever see these, never the AWS SDK.
//!
//! Layout: `status` (execution and step statuses), `shapes` (pipelines, executions, steps and their
//! metadata), `arn` (ids and ARNs), `links` (the app's URLs), `upstream` (SageMaker's errors), `freshness`
//! (how current a page is); `access`, `activity`, `jobs`, `logs`, `registry`, `version` for their pages' parts.
pub mod access;
pub mod activity;
mod arn;
mod freshness;
pub mod jobs;
pub mod links;
pub mod logs;
pub mod registry;
mod shapes;
mod status;
mod upstream;
pub mod version;

pub use arn::*;
pub use freshness::*;
pub use shapes::*;
pub use status::*;
pub use upstream::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_arns_resolve_to_their_pages() {
        assert_eq!(
            classify(" arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone/execution/abc123def456 "),
            Lookup::Execution { pipeline: "abalone".into(), id: "abc123def456".into() }
        );
        assert_eq!(
            classify("arn:aws:sagemaker:us-east-1:123456789012:pipeline/Abalone"),
            Lookup::Pipeline("Abalone".into())
        );
        assert_eq!(classify("aba"), Lookup::Search("aba".into()));
        assert_eq!(
            classify("arn:aws:sagemaker:us-east-1:1:pipeline/"),
            Lookup::Search("arn:aws:sagemaker:us-east-1:1:pipeline/".into())
        );
    }

    #[test]
    fn links_are_canonical_and_escaped() {
        assert_eq!(
            links::execution("AbalonePipeline", "abc123def456"),
            "/pipelines/AbalonePipeline/executions/abc123def456"
        );
        assert_eq!(links::pipeline("a b/<c>"), "/pipelines/a%20b%2F%3Cc%3E");
        assert_eq!(
            links::execution_arn("arn:aws:sagemaker:us-east-1:1:pipeline/P/execution/x1").as_deref(),
            Some("/pipelines/P/executions/x1")
        );
    }

    #[test]
    fn lower_cased_arns_link_to_the_pipeline_as_created() {
        let arn = "arn:aws:sagemaker:us-east-1:1:pipeline/abalonepipeline/execution/x1";
        assert_eq!(
            links::execution_arn_of("AbalonePipeline", arn).as_deref(),
            Some("/pipelines/AbalonePipeline/executions/x1")
        );
        assert_eq!(links::execution_arn_of("Other", arn).as_deref(), Some("/pipelines/abalonepipeline/executions/x1"));
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_survive() {
        for s in ExecStatus::ALL {
            assert_eq!(ExecStatus::parse(s.as_str()), s);
        }
        assert_eq!(ExecStatus::parse("Paused").as_str(), "Paused");
        assert!(ExecStatus::Failed.is_terminal() && !ExecStatus::Stopping.is_terminal());
        assert!(StepStatus::parse("Starting").is_running());
    }

    #[test]
    fn iterations_of_a_step_have_keys_and_labels_of_their_own() {
        let plain = StepRun::named("Train", StepStatus::Succeeded);
        assert_eq!((plain.key(), plain.label()), ("Train".to_string(), "Train".to_string()));
        let third = StepRun {
            iteration: Some(Iteration {
                parent: Some("PerRegion".into()),
                index: Some(3),
                item: Some("us-east-1".into()),
            }),
            ..plain.clone()
        };
        assert_eq!(third.key(), "Train[3]");
        assert_eq!(third.label(), "Train [3] us-east-1");
        let long = StepRun {
            display_name: Some("Train model".into()),
            iteration: Some(Iteration { parent: None, index: Some(0), item: Some("x".repeat(100)) }),
            ..plain
        };
        assert_eq!(long.key(), "Train[0]");
        assert_eq!(long.label(), format!("Train model [0] {}…", "x".repeat(23)));
    }

    #[test]
    fn generic_jobs_are_known_by_their_arn() {
        let arn = |t: &str| format!("arn:aws:sagemaker:us-east-1:1:{t}/pipelines-abc-x");
        assert_eq!(JobKind::of_arn(&arn("training-job")), JobKind::Training);
        assert_eq!(JobKind::of_arn(&arn("processing-job")), JobKind::Processing);
        assert_eq!(JobKind::of_arn(&arn("transform-job")), JobKind::Transform);
        assert_eq!(JobKind::of_arn(&arn("hyper-parameter-tuning-job")), JobKind::Tuning);
        assert_eq!(JobKind::of_arn(&arn("automl-job")), JobKind::AutoML);
        assert_eq!(JobKind::of_arn(&arn("mystery")), JobKind::Other);
        assert_eq!(JobKind::of_arn("not an arn"), JobKind::Other);
    }
}
