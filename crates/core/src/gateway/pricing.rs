//! The AWS Price List (`pricing:GetProducts`), for cost estimates: the same limiter and call counter as
//! SageMaker's calls, with its own rate (see `crate::limiter`).

use aws_sdk_pricing::types::{Filter, FilterType};
use stepline_types::model::{OwnCode, Upstream};

use super::{upstream, Gateway};

/// Pages read at most for one region and instance (a few products each: one per component).
const MAX_PAGES: usize = 5;

impl Gateway {
    /// The product documents (JSON strings, as the list gives them) of SageMaker's `instance` in `region`:
    /// one per component (training, processing, batch transform, hosting…).
    pub async fn products(&self, region: &str, instance: &str) -> Result<Vec<String>, Upstream> {
        let pricing = self
            .pricing
            .as_ref()
            .ok_or_else(|| Upstream::own(OwnCode::NotSupported, "the AWS Price List is not configured"))?;
        let term = |field: &str, value: &str| {
            Filter::builder().r#type(FilterType::TermMatch).field(field).value(value).build().map_err(|e| {
                Upstream::own(OwnCode::NotSupported, format!("a Price List filter could not be built: {e}"))
            })
        };
        let mut pages = pricing
            .get_products()
            .service_code("AmazonSageMaker")
            .format_version("aws_v1")
            .filters(term("regionCode", region)?)
            .filters(term("instanceName", instance)?)
            .max_results(100)
            .into_paginator()
            .send();
        let mut docs = vec![];
        for _ in 0..MAX_PAGES {
            let turn = self.limiter.turn("GetProducts").await?;
            let Some(result) = pages.next().await.map(|r| r.map_err(|e| upstream("GetProducts", e))) else {
                turn.finish::<()>(&Ok(()));
                break;
            };
            turn.finish(&result);
            let page = result?;
            docs.extend(page.price_list().iter().cloned());
            if page.next_token().is_none() {
                break;
            }
        }
        Ok(docs)
    }
}
