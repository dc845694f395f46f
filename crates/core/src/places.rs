//! The AWS accounts and regions Stepline shows. One by default; several with `--aws a@eu-west-1,b@…`, each
//! with its own gateway (quotas are per account and region), caches and pollers, and its pages under
//! `/{account}/{region}` (see `stepline_types::base`). An ARN names its account and region, so a pasted or shared
//! one opens in its own place, and one from an account Stepline does not show says so instead of opening
//! a same-named pipeline elsewhere.

use std::time::Duration;

/// One account and region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// How it was configured: `prod@eu-west-1`, `AWS us-east-1`, `demo`.
    pub label: String,
    /// The account, as STS says the credentials belong to it; `None` when it could not be asked (one
    /// place only: several need it for their URLs).
    pub account: Option<String>,
    pub region: String,
    /// Its page base: the root alone with one place, `{root}/{account}/{region}` with several.
    pub base: &'static str,
}

impl Place {
    /// The only place: pages at the root.
    pub fn single(label: impl Into<String>, account: Option<String>, region: impl Into<String>) -> Place {
        Place { label: label.into(), account, region: region.into(), base: stepline_types::base::root() }
    }

    /// One of several: pages under `/{account}/{region}`. The base is made once per place and kept for
    /// the life of the process (links are `&'static str` everywhere).
    pub fn among_several(label: impl Into<String>, account: String, region: impl Into<String>) -> Place {
        let region = region.into();
        let base: &'static str =
            Box::leak(format!("{}/{account}/{region}", stepline_types::base::root()).into_boxed_str());
        Place { label: label.into(), account: Some(account), region, base }
    }

    /// What sets this place's keys apart from another's in shared tables and caches (leases, snapshots,
    /// tags): empty with one place.
    pub fn key(&self) -> String {
        match self.base.strip_prefix(stepline_types::base::root()) {
            Some("") | None => String::new(),
            Some(place) => format!("{place} "),
        }
    }

    /// Whether an ARN is of this place. What is unknown (no account learned, no region) counts as this
    /// place: with one place, it is the only one there is.
    pub fn holds(&self, account: &str, region: &str) -> bool {
        self.account.as_deref().is_none_or(|a| a == account) && (self.region.is_empty() || self.region == region)
    }

    /// The header's name for it: the configured label, with the account when it is not in the label.
    pub fn link(&self) -> stepline_types::base::PlaceLink {
        let label = match &self.account {
            Some(a) if !self.label.contains(a.as_str()) => format!("{} · {a}", self.label),
            _ => self.label.clone(),
        };
        stepline_types::base::PlaceLink { label, base: self.base.to_string() }
    }
}

/// An ARN's account and region, when it is a SageMaker ARN.
pub fn of_arn(arn: &str) -> Option<(String, String)> {
    let (account, region) = stepline_types::base::arn_place(arn.trim())?;
    Some((account.to_string(), region.to_string()))
}

/// The first of `places` an ARN belongs to, or why none: its account and region, to say so.
pub fn for_arn<'a, T>(places: &'a [T], place: impl Fn(&T) -> &Place, arn: &str) -> Result<&'a T, Unconfigured> {
    let (account, region) = of_arn(arn).ok_or(Unconfigured { account: None, region: None })?;
    places
        .iter()
        .find(|p| place(p).holds(&account, &region))
        .ok_or(Unconfigured { account: Some(account), region: Some(region) })
}

/// An ARN or URL of an account and region Stepline does not show.
#[derive(Debug, PartialEq, Eq)]
pub struct Unconfigured {
    pub account: Option<String>,
    pub region: Option<String>,
}

impl Unconfigured {
    /// What the page says, naming what is shown instead.
    pub fn message(&self, shown: &[&Place]) -> String {
        let shown: Vec<String> = shown
            .iter()
            .map(|p| match &p.account {
                Some(a) => format!("account {a} in {}", p.region),
                None => format!("{} in {}", p.label, p.region),
            })
            .collect();
        let what = match (&self.account, &self.region) {
            (Some(a), Some(r)) => format!("account {a} in {r}"),
            _ => "that account and region".to_string(),
        };
        format!(
            "This is in {what}, which this Stepline does not show (it shows {}). Open it where that account is \
             configured, or add it with --aws PROFILE@REGION.",
            shown.join(", ")
        )
    }
}

/// The account of a client's credentials, from STS `GetCallerIdentity`, tried three times a second apart
/// (a profile's SSO login or a role may take a moment).
pub async fn account_of(sts: &aws_sdk_sts::Client) -> Result<String, String> {
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        match account_of_once(sts).await {
            Ok(a) => return Ok(a),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The account of a client's credentials, asked once.
pub async fn account_of_once(sts: &aws_sdk_sts::Client) -> Result<String, String> {
    match sts.get_caller_identity().send().await {
        Ok(out) => out.account().map(str::to_string).ok_or_else(|| "STS answered without an account".into()),
        Err(e) => {
            let u = super::gateway::upstream("GetCallerIdentity", e);
            Err(format!("{}: {}", u.code, u.message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(account: Option<&str>, region: &str) -> Place {
        Place { label: "x".into(), account: account.map(Into::into), region: region.into(), base: "/b" }
    }

    #[test]
    fn arns_find_their_place_or_say_where_they_are() {
        let places = [place(Some("111111111111"), "eu-west-1"), place(Some("222222222222"), "us-east-1")];
        let arn = |a: &str, r: &str| format!("arn:aws:sagemaker:{r}:{a}:pipeline/p/execution/x1");
        let found = for_arn(&places, |p| p, &arn("222222222222", "us-east-1")).unwrap();
        assert_eq!(found.account.as_deref(), Some("222222222222"));
        // The same account in another region is another place.
        let miss = for_arn(&places, |p| p, &arn("111111111111", "us-east-1")).unwrap_err();
        assert_eq!(miss, Unconfigured { account: Some("111111111111".into()), region: Some("us-east-1".into()) });
        let text = miss.message(&places.iter().collect::<Vec<_>>());
        assert!(text.contains("account 111111111111 in us-east-1, which this Stepline does not show"), "{text}");
        assert!(text.contains("account 222222222222 in us-east-1"), "{text}");
        assert_eq!(for_arn(&places, |p| p, "not an arn").unwrap_err().account, None);
    }

    #[test]
    fn a_place_whose_account_is_unknown_takes_its_region() {
        let p = place(None, "us-east-1");
        assert!(p.holds("999999999999", "us-east-1"));
        assert!(!p.holds("999999999999", "eu-west-1"));
    }

    #[test]
    fn labels_name_the_account_once() {
        let mut p = place(Some("111111111111"), "eu-west-1");
        p.label = "prod@eu-west-1".into();
        assert_eq!(p.link().label, "prod@eu-west-1 · 111111111111");
        p.label = "111111111111".into();
        assert_eq!(p.link().label, "111111111111");
    }
}
