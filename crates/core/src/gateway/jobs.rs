//! The jobs behind pipeline steps: one Describe call each, mapped to [`JobDetail`].

use aws_sdk_sagemaker::types as aws;
use stepline_types::model::OwnCode;

use super::{owned, time, Gateway};
use stepline_types::model::jobs::{JobDetail, Metric, Transition};
use stepline_types::model::{JobKind, NameValue, Upstream};

fn pair(name: Option<&str>, value: Option<&str>) -> Option<NameValue> {
    Some(NameValue { name: name.unwrap_or_default().to_string(), value: value?.to_string() })
}

impl Gateway {
    /// The job a step started, by its kind and real name. Kinds without a Describe call here answer
    /// `NotSupported`.
    pub async fn describe_job(&self, kind: JobKind, name: &str) -> Result<JobDetail, Upstream> {
        match kind {
            JobKind::Training => self.describe_training_job(name).await,
            JobKind::Processing => self.describe_processing_job(name).await,
            JobKind::Transform => self.describe_transform_job(name).await,
            JobKind::Tuning => self.describe_tuning_job(name).await,
            JobKind::ModelPackage => self.describe_model_package(name).await,
            _ => Err(Upstream::own(OwnCode::NotSupported, "this kind of step has no job to describe")),
        }
    }

    async fn describe_training_job(&self, name: &str) -> Result<JobDetail, Upstream> {
        let d = self
            .call("DescribeTrainingJob", self.client.describe_training_job().training_job_name(name).send())
            .await?;
        let mut j = JobDetail::empty(
            JobKind::Training,
            d.training_job_name().unwrap_or(name),
            d.training_job_arn(),
            d.training_job_status().map(|s| s.as_str()),
        );
        j.secondary = d.secondary_status().map(|s| s.as_str().to_string());
        j.transitions = d
            .secondary_status_transitions()
            .iter()
            .map(|t| Transition {
                status: t.status().map(|s| s.as_str()).unwrap_or_default().to_string(),
                start: time(t.start_time()),
                end: time(t.end_time()),
                message: owned(t.status_message()),
            })
            .collect();
        j.failure_reason = owned(d.failure_reason());
        if let Some(r) = d.resource_config() {
            j.instance_type = r.instance_type().map(|t| t.as_str().to_string());
            j.instance_count = r.instance_count();
        }
        j.created = time(d.creation_time());
        j.started = time(d.training_start_time());
        j.ended = time(d.training_end_time());
        j.training_seconds = d.training_time_in_seconds();
        j.billable_seconds = d.billable_time_in_seconds();
        j.spot = d.enable_managed_spot_training().unwrap_or(false);
        j.metrics = d
            .final_metric_data_list()
            .iter()
            .map(|m| Metric {
                name: m.metric_name().unwrap_or_default().to_string(),
                value: m.value().unwrap_or(0.0) as f64,
            })
            .collect();
        let mut hp: Vec<NameValue> = d
            .hyper_parameters()
            .map(|h| h.iter().map(|(k, v)| NameValue { name: k.clone(), value: v.clone() }).collect())
            .unwrap_or_default();
        hp.sort_by(|a, b| a.name.cmp(&b.name));
        j.hyperparameters = hp;
        j.inputs = d
            .input_data_config()
            .iter()
            .filter_map(|c| {
                pair(c.channel_name(), c.data_source().and_then(|s| s.s3_data_source()).and_then(|s| s.s3_uri()))
            })
            .collect();
        j.outputs = d.output_data_config().and_then(|o| pair(Some("output"), o.s3_output_path())).into_iter().collect();
        j.model_artifacts = d.model_artifacts().and_then(|m| owned(m.s3_model_artifacts()));
        j.image = d.algorithm_specification().and_then(|a| owned(a.training_image()));
        Ok(j)
    }

    async fn describe_processing_job(&self, name: &str) -> Result<JobDetail, Upstream> {
        let d = self
            .call("DescribeProcessingJob", self.client.describe_processing_job().processing_job_name(name).send())
            .await?;
        let mut j = JobDetail::empty(
            JobKind::Processing,
            d.processing_job_name().unwrap_or(name),
            d.processing_job_arn(),
            d.processing_job_status().map(|s| s.as_str()),
        );
        j.failure_reason = owned(d.failure_reason());
        j.exit_message = owned(d.exit_message());
        if let Some(c) = d.processing_resources().and_then(|r| r.cluster_config()) {
            j.instance_type = c.instance_type().map(|t| t.as_str().to_string());
            j.instance_count = c.instance_count();
        }
        j.created = time(d.creation_time());
        j.started = time(d.processing_start_time());
        j.ended = time(d.processing_end_time());
        j.inputs = d
            .processing_inputs()
            .iter()
            .filter_map(|i| pair(i.input_name(), i.s3_input().and_then(|s| s.s3_uri())))
            .collect();
        j.outputs = d
            .processing_output_config()
            .map(|c| c.outputs())
            .unwrap_or_default()
            .iter()
            .filter_map(|o| pair(o.output_name(), o.s3_output().and_then(|s| s.s3_uri())))
            .collect();
        j.image = d.app_specification().and_then(|a| owned(a.image_uri()));
        Ok(j)
    }

    async fn describe_transform_job(&self, name: &str) -> Result<JobDetail, Upstream> {
        let d = self
            .call("DescribeTransformJob", self.client.describe_transform_job().transform_job_name(name).send())
            .await?;
        let mut j = JobDetail::empty(
            JobKind::Transform,
            d.transform_job_name().unwrap_or(name),
            d.transform_job_arn(),
            d.transform_job_status().map(|s| s.as_str()),
        );
        j.failure_reason = owned(d.failure_reason());
        if let Some(r) = d.transform_resources() {
            j.instance_type = r.instance_type().map(|t| t.as_str().to_string());
            j.instance_count = r.instance_count();
        }
        j.created = time(d.creation_time());
        j.started = time(d.transform_start_time());
        j.ended = time(d.transform_end_time());
        j.inputs = d
            .transform_input()
            .and_then(|i| i.data_source())
            .and_then(|s| s.s3_data_source())
            .and_then(|s| pair(Some("input"), s.s3_uri()))
            .into_iter()
            .collect();
        j.outputs = d.transform_output().and_then(|o| pair(Some("output"), o.s3_output_path())).into_iter().collect();
        j.image = owned(d.model_name()).map(|m| format!("model {m}"));
        Ok(j)
    }

    async fn describe_tuning_job(&self, name: &str) -> Result<JobDetail, Upstream> {
        let d = self
            .call(
                "DescribeHyperParameterTuningJob",
                self.client.describe_hyper_parameter_tuning_job().hyper_parameter_tuning_job_name(name).send(),
            )
            .await?;
        let mut j = JobDetail::empty(
            JobKind::Tuning,
            d.hyper_parameter_tuning_job_name().unwrap_or(name),
            d.hyper_parameter_tuning_job_arn(),
            d.hyper_parameter_tuning_job_status().map(|s| s.as_str()),
        );
        j.failure_reason = owned(d.failure_reason());
        j.created = time(d.creation_time());
        j.ended = time(d.hyper_parameter_tuning_end_time());
        if let Some(best) = d.best_training_job() {
            j.best_training_job = owned(best.training_job_name());
            if let Some(m) = best.final_hyper_parameter_tuning_job_objective_metric() {
                j.metrics.push(Metric {
                    name: m.metric_name().unwrap_or_default().to_string(),
                    value: m.value().unwrap_or(0.0) as f64,
                });
            }
            let mut hp: Vec<NameValue> = best
                .tuned_hyper_parameters()
                .map(|h| h.iter().map(|(k, v)| NameValue { name: k.clone(), value: v.clone() }).collect())
                .unwrap_or_default();
            hp.sort_by(|a, b| a.name.cmp(&b.name));
            j.hyperparameters = hp;
        }
        Ok(j)
    }

    async fn describe_model_package(&self, name: &str) -> Result<JobDetail, Upstream> {
        let d = self
            .call("DescribeModelPackage", self.client.describe_model_package().model_package_name(name).send())
            .await?;
        let mut j = JobDetail::empty(
            JobKind::ModelPackage,
            d.model_package_name().unwrap_or(name),
            d.model_package_arn(),
            d.model_package_status().map(|s| s.as_str()),
        );
        j.approval = d.model_approval_status().map(|s: &aws::ModelApprovalStatus| s.as_str().to_string());
        j.created = time(d.creation_time());
        if let Some(spec) = d.inference_specification() {
            j.image = spec.containers().first().map(|c| c.image().unwrap_or_default().to_string());
            j.model_artifacts = spec.containers().first().and_then(|c| owned(c.model_data_url()));
        }
        Ok(j)
    }
}
