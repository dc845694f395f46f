//! Quoting text that users or the service wrote, at a bounded length: messages echo what they refuse, and
//! an echo must not carry a megabyte back.

/// At most `max` characters of `s`; when it is longer, the last of them is "…" to say something was cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.char_indices().nth(max).is_none() {
        return s.to_string();
    }
    let keep = max.saturating_sub(1);
    let cut = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
    let mut out = s[..cut].to_string();
    out.push('…');
    out
}

/// Longest pipeline name quoted in a message (names may be 256 characters).
pub const NAME: usize = 80;
/// Longest execution id or step name quoted in a message.
pub const ID: usize = 64;
/// Longest value of a field quoted in a message.
pub const VALUE: usize = 60;

/// Escapes the characters that end or open markup in HTML text.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clips_on_characters_and_says_so() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("exactly", 7), "exactly");
        assert_eq!(clip("abcdef", 3), "ab…");
        // Multi-byte characters are never split.
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("", 0), "");
    }
}

/// A count with thousands separators: 20000 → "20,000".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod thousands_tests {
    #[test]
    fn groups_of_three() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(20_000), "20,000");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }
}

/// Decode a URL's query value or path segment (`%XX` and `+`); invalid escapes stay as they are and
/// invalid UTF-8 becomes U+FFFD, so hostile input never fails.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}
