//! Links from a resource ARN to its page in the AWS console and to its CloudWatch logs, in the ARN's own
//! partition (aws, aws-cn, aws-us-gov), and the real names of pipeline jobs. Pure, so every link form is
//! tested.

use crate::model::JobKind;

/// The parts of an ARN: (partition, region, resource type, resource name).
fn parts(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    let (_, partition, _, region, _, resource) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    let (kind, name) = resource.split_once('/').or_else(|| resource.split_once(':'))?;
    Some((partition, region, kind, name))
}

/// The console of a partition in a region.
fn console(partition: &str, region: &str, path: &str) -> String {
    let host = match partition {
        "aws-cn" => format!("{region}.console.amazonaws.cn"),
        "aws-us-gov" => format!("{region}.console.amazonaws-us-gov.com"),
        _ => format!("{region}.console.aws.amazon.com"),
    };
    format!("https://{host}/{path}")
}

/// The name part of a resource ARN (lower-cased when SageMaker wrote the ARN).
#[cfg(feature = "ssr")]
pub fn resource_name(arn: &str) -> &str {
    parts(arn).map_or(arn, |(_, _, _, name)| name)
}

/// The name of a job a pipeline step started, in its own case. SageMaker names such a job
/// `pipelines-<execution id>-<StepName>-<suffix>` (the step's name cut to fit 63 characters, characters
/// other than letters and digits as `-`) and writes its ARN lower-cased; console pages and CloudWatch log
/// streams go by the real name. The step's own name gives the case back exactly, with no upstream call.
/// A job not named that way keeps the name the ARN has.
#[cfg(feature = "ssr")]
pub fn job_name(arn: &str, step_name: &str) -> String {
    let lower = resource_name(arn);
    let step: String = step_name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let restored = (|| {
        let rest = lower.strip_prefix("pipelines-")?;
        let (id, tail) = (rest.get(..12)?, rest.get(12..)?.strip_prefix('-')?);
        let cut = tail.rfind('-')?;
        let (part, suffix) = (&tail[..cut], &tail[cut..]);
        (!part.is_empty() && step.to_ascii_lowercase().starts_with(part))
            .then(|| format!("pipelines-{id}-{}{suffix}", &step[..part.len()]))
    })();
    restored.unwrap_or_else(|| lower.to_string())
}

/// The console page of a SageMaker job or resource, by its real name.
pub fn job_console(kind: JobKind, arn: &str, name: &str) -> Option<String> {
    let (partition, region, _, in_arn) = parts(arn)?;
    let section = match kind {
        JobKind::Training => "jobs",
        JobKind::Processing => "processing-jobs",
        JobKind::Transform => "transform-jobs",
        JobKind::Tuning => "hyper-tuning-jobs",
        JobKind::AutoML => "automl-jobs",
        JobKind::Model => "models",
        JobKind::Endpoint => "endpoints",
        JobKind::EndpointConfig => "endpointConfig",
        JobKind::ModelPackage => {
            let group = in_arn.split('/').next().unwrap_or(in_arn);
            return Some(console(
                partition,
                region,
                &format!("sagemaker/home?region={region}#/model-packages/{group}"),
            ));
        }
        // No console page known to take these by name: the ARN is shown instead.
        JobKind::InferenceComponent
        | JobKind::BedrockCustomModel
        | JobKind::BedrockCustomModelDeployment
        | JobKind::BedrockProvisionedThroughput
        | JobKind::BedrockModelImport
        | JobKind::Other => return None,
    };
    Some(console(partition, region, &format!("sagemaker/home?region={region}#/{section}/{name}")))
}

/// An execution in SageMaker Studio, from the link template given with `--studio-link` (its `{pipeline}`
/// and `{id}` filled in): Studio's address depends on the team's domain, which no API of the pipeline tells.
#[cfg(feature = "ssr")]
pub fn studio_link(template: &str, pipeline: &str, id: &str) -> String {
    template.replace("{pipeline}", &crate::model::links::seg(pipeline)).replace("{id}", &crate::model::links::seg(id))
}

/// CloudWatch's escaping inside a console fragment: `/` as `$252F`, `=` as `$253D`, `?` as `$253F`.
fn cw(s: &str) -> String {
    s.replace('/', "$252F").replace('=', "$253D").replace('?', "$253F")
}

/// The CloudWatch log events of a job whose containers log to SageMaker's log groups: its streams are
/// named `<job name>/<instance>`, by the job's real name.
pub fn job_logs(kind: JobKind, arn: &str, name: &str) -> Option<String> {
    let (partition, region, _, _) = parts(arn)?;
    let group = match kind {
        JobKind::Training => "/aws/sagemaker/TrainingJobs",
        JobKind::Processing => "/aws/sagemaker/ProcessingJobs",
        JobKind::Transform => "/aws/sagemaker/TransformJobs",
        _ => return None,
    };
    Some(console(
        partition,
        region,
        &format!(
            "cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}/log-events$3FlogStreamNameFilter$3D{}",
            cw(group),
            cw(name)
        ),
    ))
}

/// A Lambda function's console page and its log group.
pub fn lambda_links(arn: &str) -> Option<(String, String)> {
    let (partition, region, kind, name) = parts(arn)?;
    if kind != "function" {
        return None;
    }
    let name = name.split(':').next().unwrap_or(name);
    Some((
        console(partition, region, &format!("lambda/home?region={region}#/functions/{name}")),
        console(
            partition,
            region,
            &format!(
                "cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}",
                cw(&format!("/aws/lambda/{name}"))
            ),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_links_point_at_the_console_and_the_logs() {
        let arn =
            "arn:aws:sagemaker:eu-west-1:123456789012:training-job/pipelines-abc123def456-abalonetrain-x1y2z3w4v5";
        let name = job_name(arn, "AbaloneTrain");
        assert_eq!(name, "pipelines-abc123def456-AbaloneTrain-x1y2z3w4v5");
        assert_eq!(
            job_console(JobKind::Training, arn, &name).unwrap(),
            "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1#/jobs/pipelines-abc123def456-AbaloneTrain-x1y2z3w4v5"
        );
        let logs = job_logs(JobKind::Training, arn, &name).unwrap();
        assert!(logs.contains("$252Faws$252Fsagemaker$252FTrainingJobs"), "{logs}");
        assert!(logs.ends_with("logStreamNameFilter$3Dpipelines-abc123def456-AbaloneTrain-x1y2z3w4v5"), "{logs}");
        assert!(job_logs(JobKind::Model, arn, &name).is_none());
        assert!(job_console(JobKind::Training, "not an arn", "x").is_none());
    }

    #[test]
    fn job_names_get_their_case_back_from_the_step_name() {
        let arn = |name: &str| format!("arn:aws:sagemaker:us-east-1:1:processing-job/{name}");
        // Characters other than letters and digits became '-'; a long name was cut before the suffix.
        assert_eq!(
            job_name(&arn("pipelines-abc123def456-prep-data-0123456789"), "Prep_Data"),
            "pipelines-abc123def456-Prep-Data-0123456789"
        );
        assert_eq!(
            job_name(&arn("pipelines-abc123def456-averyveryverylongstepn-0123456789"), "AVeryVeryVeryLongStepName"),
            "pipelines-abc123def456-AVeryVeryVeryLongStepN-0123456789"
        );
        // Not a pipeline job, or not this step's: the ARN's name as it is.
        assert_eq!(job_name(&arn("my-own-job"), "Train"), "my-own-job");
        assert_eq!(
            job_name(&arn("pipelines-abc123def456-other-0123456789"), "Train"),
            "pipelines-abc123def456-other-0123456789"
        );
    }

    #[test]
    fn links_stay_in_the_arn_partition() {
        let cn = "arn:aws-cn:sagemaker:cn-north-1:123456789012:training-job/pipelines-abc123def456-t-0123456789";
        let url = job_console(JobKind::Training, cn, "x").unwrap();
        assert!(url.starts_with("https://cn-north-1.console.amazonaws.cn/sagemaker/"), "{url}");
        let gov = "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:processing-job/j";
        let url = job_logs(JobKind::Processing, gov, "j").unwrap();
        assert!(url.starts_with("https://us-gov-west-1.console.amazonaws-us-gov.com/cloudwatch/"), "{url}");
        let (page, _) = super::lambda_links("arn:aws-cn:lambda:cn-north-1:1:function:f").unwrap();
        assert!(page.starts_with("https://cn-north-1.console.amazonaws.cn/lambda/"), "{page}");
    }

    #[test]
    fn studio_links_fill_the_template() {
        assert_eq!(
            studio_link(
                "https://studio-d-1.studio.us-east-1.sagemaker.aws/pipelines/view/{pipeline}/executions/{id}/graph",
                "Abalone",
                "abc123"
            ),
            "https://studio-d-1.studio.us-east-1.sagemaker.aws/pipelines/view/Abalone/executions/abc123/graph"
        );
    }

    #[test]
    fn lambda_links() {
        let (page, logs) = super::lambda_links("arn:aws:lambda:us-east-1:123456789012:function:score-batch").unwrap();
        assert_eq!(
            page,
            "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/score-batch"
        );
        assert!(logs.ends_with("log-group/$252Faws$252Flambda$252Fscore-batch"));
    }
}
