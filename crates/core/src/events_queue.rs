//! `--events-queue`: where SageMaker's EventBridge events wait, by URL or by name, and which account and
//! region each one serves.

/// A queue as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventsQueue {
    /// `https://sqs.eu-west-1.amazonaws.com/123456789012/sagemaker-events` (or an endpoint's URL).
    Url(String),
    /// A name, looked up in the account and region shown (`GetQueueUrl`): for one place only.
    Name(String),
}

fn valid_name(s: &str) -> bool {
    (1..=80).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl EventsQueue {
    pub fn parse(s: &str) -> Result<EventsQueue, String> {
        let s = s.trim();
        if s.starts_with("http://") || s.starts_with("https://") {
            let url = url::Url::parse(s).map_err(|e| format!("'{s}' is not a URL: {e}"))?;
            let segments: Vec<&str> =
                url.path_segments().map(|p| p.filter(|x| !x.is_empty()).collect()).unwrap_or_default();
            let ok = url.host_str().is_some()
                && url.username().is_empty()
                && url.password().is_none()
                && url.query().is_none()
                && segments.len() == 2
                && segments[0].chars().all(|c| c.is_ascii_digit())
                && valid_name(segments[1]);
            if !ok {
                return Err(format!("'{s}' is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)"));
            }
            return Ok(EventsQueue::Url(url.to_string()));
        }
        if valid_name(s) {
            return Ok(EventsQueue::Name(s.to_string()));
        }
        Err(format!("'{s}' is neither a queue URL nor a queue name (1 to 80 letters, digits, '-' or '_')"))
    }

    /// The account a URL names.
    pub fn account(&self) -> Option<&str> {
        match self {
            EventsQueue::Url(u) => u.split("://").nth(1)?.split('/').nth(1),
            EventsQueue::Name(_) => None,
        }
    }

    /// The region of an SQS URL (`sqs.<region>.amazonaws.com`); none for an endpoint's.
    pub fn region(&self) -> Option<&str> {
        let EventsQueue::Url(u) = self else { return None };
        let host = u.split("://").nth(1)?.split('/').next()?;
        let rest = host.strip_prefix("sqs.")?;
        rest.split_once(".amazonaws.com").map(|(r, _)| r).filter(|r| !r.is_empty())
    }

    /// The queue of each place (`(account, region)`, in order): one place takes any queue; several need
    /// URLs that say whose they are. At most one queue per place.
    pub fn assign(
        queues: &[EventsQueue],
        places: &[(Option<String>, String)],
    ) -> Result<Vec<Option<EventsQueue>>, String> {
        let mut out = vec![None; places.len()];
        for q in queues {
            let matches: Vec<usize> = if places.len() == 1 {
                vec![0]
            } else {
                places
                    .iter()
                    .enumerate()
                    .filter(|(_, (account, region))| {
                        q.account().is_some_and(|a| account.as_deref() == Some(a))
                            && q.region().is_none_or(|r| r == region)
                    })
                    .map(|(i, _)| i)
                    .collect()
            };
            let shown = match q {
                EventsQueue::Url(u) | EventsQueue::Name(u) => u,
            };
            match matches.as_slice() {
                [i] if out[*i].is_none() => out[*i] = Some(q.clone()),
                [_] => return Err(format!("--events-queue {shown}: that account and region already has a queue")),
                [] if places.len() > 1 && q.account().is_none() => {
                    return Err(format!(
                        "--events-queue {shown}: several accounts or regions are shown, so give the queue's URL \
                         (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)"
                    ))
                }
                [] => return Err(format!("--events-queue {shown}: no account and region shown is that queue's")),
                _ => {
                    return Err(format!(
                        "--events-queue {shown}: several regions of that account are shown; use the sqs.REGION.amazonaws.com URL"
                    ))
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_names_parse_and_say_whose_they_are() {
        let q = EventsQueue::parse("https://sqs.eu-west-1.amazonaws.com/123456789012/sagemaker-events").unwrap();
        assert_eq!((q.account(), q.region()), (Some("123456789012"), Some("eu-west-1")));
        let local = EventsQueue::parse("http://127.0.0.1:4566/123456789012/events").unwrap();
        assert_eq!((local.account(), local.region()), (Some("123456789012"), None));
        assert_eq!(EventsQueue::parse("sagemaker-events").unwrap(), EventsQueue::Name("sagemaker-events".into()));
        for bad in ["", "a b", "https://sqs.x.amazonaws.com/q", "https://u:p@h/1/q", "ftp://h/1/q", "http://h/acct/q"] {
            assert!(EventsQueue::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_place_gets_the_queue_of_its_account_and_region() {
        let places =
            vec![(Some("111111111111".into()), "eu-west-1".into()), (Some("222222222222".into()), "us-east-1".into())];
        let a = EventsQueue::parse("https://sqs.us-east-1.amazonaws.com/222222222222/e").unwrap();
        assert_eq!(EventsQueue::assign(std::slice::from_ref(&a), &places).unwrap(), vec![None, Some(a.clone())]);
        let name = EventsQueue::parse("e").unwrap();
        assert!(EventsQueue::assign(std::slice::from_ref(&name), &places)
            .unwrap_err()
            .contains("give the queue's URL"));
        assert_eq!(EventsQueue::assign(std::slice::from_ref(&name), &places[..1]).unwrap(), vec![Some(name)]);
        let elsewhere = EventsQueue::parse("https://sqs.us-east-1.amazonaws.com/333333333333/e").unwrap();
        assert!(EventsQueue::assign(&[elsewhere], &places).unwrap_err().contains("no account"));
        assert!(EventsQueue::assign(&[a.clone(), a], &places).unwrap_err().contains("already has a queue"));
    }
}
