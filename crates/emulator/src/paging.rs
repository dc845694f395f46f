//! Opaque `NextToken` paging. A token names the last item of the previous page (and its position, as a
//! fallback when that item has gone), so a page boundary stays put while new executions are added at the
//! top of a newest-first list.

use crate::error::{ApiError, ApiResult};

/// The `MaxResults` used when a request does not set one.
pub const DEFAULT_PAGE: usize = 50;

pub fn encode(offset: usize, last_key: &str) -> String {
    let raw = format!("v1|{offset}|{last_key}");
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode(token: &str) -> Option<(usize, String)> {
    if !token.len().is_multiple_of(2) || token.len() > 8192 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..token.len()).step_by(2).map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    let text = String::from_utf8(bytes?).ok()?;
    let mut parts = text.splitn(3, '|');
    if parts.next()? != "v1" {
        return None;
    }
    let offset = parts.next()?.parse().ok()?;
    Some((offset, parts.next()?.to_string()))
}

/// Cut one page out of `items` (already in list order). `key` names an item uniquely.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    next_token: Option<&str>,
    max_results: Option<i64>,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let size = max_results.map(|m| m.clamp(1, 100) as usize).unwrap_or(DEFAULT_PAGE);
    let start = match next_token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => {
            let (offset, last) = decode(token).ok_or_else(|| {
                ApiError::validation("Invalid pagination token: the NextToken was not issued by this service")
            })?;
            match items.iter().position(|it| key(it) == last) {
                Some(p) => p + 1,
                None => offset.min(items.len()),
            }
        }
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(size).collect();
    let end = start + page.len();
    let next = if end < total { page.last().map(|it| encode(end, &key(it))) } else { None };
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once() {
        let items: Vec<u32> = (0..7).collect();
        let (p1, t1) = page(items.clone(), |i| i.to_string(), None, Some(3)).unwrap();
        assert_eq!(p1, vec![0, 1, 2]);
        let (p2, t2) = page(items.clone(), |i| i.to_string(), t1.as_deref(), Some(3)).unwrap();
        assert_eq!(p2, vec![3, 4, 5]);
        let (p3, t3) = page(items, |i| i.to_string(), t2.as_deref(), Some(3)).unwrap();
        assert_eq!(p3, vec![6]);
        assert_eq!(t3, None);
    }

    #[test]
    fn boundary_holds_when_items_are_added_in_front() {
        let items: Vec<u32> = vec![5, 4, 3, 2, 1];
        let (_, t) = page(items, |i| i.to_string(), None, Some(2)).unwrap();
        let grown: Vec<u32> = vec![7, 6, 5, 4, 3, 2, 1];
        let (p, _) = page(grown, |i| i.to_string(), t.as_deref(), Some(2)).unwrap();
        assert_eq!(p, vec![3, 2]);
    }

    #[test]
    fn foreign_tokens_are_refused() {
        let e = page(vec![1], |i: &i32| i.to_string(), Some("zz"), None).unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert!(page(vec![1], |i: &i32| i.to_string(), Some("abc"), None).is_err());
    }
}
