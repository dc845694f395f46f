//! Links from a resource ARN to its page in the AWS console and to its CloudWatch logs. Pure, so every
//! link form is tested.

use crate::model::JobKind;

/// The parts of an ARN: (region, resource type, resource name).
fn parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    let (_, _, _, region, _, resource) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    let (kind, name) = resource.split_once('/').or_else(|| resource.split_once(':'))?;
    Some((region, kind, name))
}

fn console(region: &str, path: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/{path}")
}

/// The console page of a SageMaker job or resource.
pub fn job_console(kind: JobKind, arn: &str) -> Option<String> {
    let (region, _, name) = parts(arn)?;
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
            let group = name.split('/').next().unwrap_or(name);
            return Some(console(region, &format!("sagemaker/home?region={region}#/model-packages/{group}")));
        }
        JobKind::Other => return None,
    };
    Some(console(region, &format!("sagemaker/home?region={region}#/{section}/{name}")))
}

/// CloudWatch's escaping inside a console fragment: `/` as `$252F`, `=` as `$253D`, `?` as `$253F`.
fn cw(s: &str) -> String {
    s.replace('/', "$252F").replace('=', "$253D").replace('?', "$253F")
}

/// The CloudWatch log events of a job whose containers log to SageMaker's log groups.
pub fn job_logs(kind: JobKind, arn: &str) -> Option<String> {
    let (region, _, name) = parts(arn)?;
    let group = match kind {
        JobKind::Training => "/aws/sagemaker/TrainingJobs",
        JobKind::Processing => "/aws/sagemaker/ProcessingJobs",
        JobKind::Transform => "/aws/sagemaker/TransformJobs",
        _ => return None,
    };
    Some(console(
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
    let (region, kind, name) = parts(arn)?;
    if kind != "function" {
        return None;
    }
    let name = name.split(':').next().unwrap_or(name);
    Some((
        console(region, &format!("lambda/home?region={region}#/functions/{name}")),
        console(
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
        let arn = "arn:aws:sagemaker:eu-west-1:123456789012:training-job/pipelines-abc-train-x1";
        assert_eq!(
            job_console(JobKind::Training, arn).unwrap(),
            "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1#/jobs/pipelines-abc-train-x1"
        );
        let logs = job_logs(JobKind::Training, arn).unwrap();
        assert!(logs.contains("$252Faws$252Fsagemaker$252FTrainingJobs"), "{logs}");
        assert!(logs.ends_with("logStreamNameFilter$3Dpipelines-abc-train-x1"), "{logs}");
        assert!(job_logs(JobKind::Model, arn).is_none());
        assert!(job_console(JobKind::Training, "not an arn").is_none());
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
