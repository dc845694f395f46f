//! SQS, for SageMaker's EventBridge events (`crate::notify::listen`): counted and timed like SageMaker's
//! calls. Not held by the SageMaker limiter: these calls spend the queue's quota (which is far larger), not
//! SageMaker's, and a long poll would hold a turn for twenty seconds.

use std::time::Duration;

use stepline_types::model::{OwnCode, Upstream};

use super::{upstream, CountCalls, Gateway};

/// How long a receive waits for a message (SQS's longest long poll).
pub const LONG_POLL_SECONDS: i32 = 20;

/// A message read from the queue: its body, and the receipt that deletes it.
#[derive(Clone, Debug)]
pub struct Received {
    pub body: String,
    pub receipt: String,
}

impl Gateway {
    /// Read SageMaker's events from SQS through `client` (a long poll takes up to twenty seconds, so each
    /// attempt may take half a minute).
    pub fn with_sqs(mut self, client: aws_sdk_sqs::Client) -> Gateway {
        let config = client
            .config()
            .to_builder()
            .interceptor(CountCalls(self.calls.clone()))
            .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(super::CONNECT_TIMEOUT)
                    .operation_attempt_timeout(Duration::from_secs(LONG_POLL_SECONDS as u64 + 10))
                    .operation_timeout(Duration::from_secs(LONG_POLL_SECONDS as u64 + 20))
                    .build(),
            )
            .build();
        self.sqs = Some(aws_sdk_sqs::Client::from_conf(config));
        self
    }

    fn sqs(&self) -> Result<&aws_sdk_sqs::Client, Upstream> {
        self.sqs.as_ref().ok_or_else(|| Upstream::own(OwnCode::NotSupported, "SQS is not configured"))
    }

    /// The URL of the queue called `name` in this account and region.
    pub async fn queue_url(&self, name: &str) -> Result<String, Upstream> {
        let out = self.sqs()?.get_queue_url().queue_name(name).send().await.map_err(|e| upstream("GetQueueUrl", e))?;
        out.queue_url()
            .map(String::from)
            .ok_or_else(|| Upstream::own(OwnCode::InvalidResponse, "GetQueueUrl answered no URL"))
    }

    /// Up to ten messages, waiting up to `wait` seconds for the first. Each stays hidden from other readers
    /// for `hide` seconds: deleted by then, or read again.
    pub async fn receive(&self, url: &str, wait: i32, hide: i32) -> Result<Vec<Received>, Upstream> {
        let out = self
            .sqs()?
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .visibility_timeout(hide)
            .send()
            .await
            .map_err(|e| upstream("ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| Some(Received { body: m.body()?.to_string(), receipt: m.receipt_handle()?.to_string() }))
            .collect())
    }

    /// Delete messages once processed (ten at most per call); answers how many could not be.
    pub async fn delete(&self, url: &str, receipts: &[String]) -> Result<usize, Upstream> {
        let mut failed = 0;
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .build()
                        .map_err(|e| Upstream::own(OwnCode::RequestFailed, e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .sqs()?
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| upstream("DeleteMessageBatch", e))?;
            failed += out.failed().len();
        }
        Ok(failed)
    }
}
