//! The awsQuery protocol, which the AWS SDKs speak to STS: a `POST /` whose form-encoded body names the
//! `Action` and its parameters, answered in XML (`<{Action}Response><{Action}Result>…`), errors as
//! `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`. Everything a client
//! sent is escaped on the way out, so a hostile value can neither break the document nor inject markup.

use std::collections::HashMap;

use crate::error::ApiError;

/// The parameters of a request by name; a repeated name keeps its first value.
pub type Params = HashMap<String, String>;

/// Decode an `application/x-www-form-urlencoded` body. Refuses bad percent escapes and text that is not
/// UTF-8 after decoding, with what is wrong.
pub fn parse_form(body: &[u8]) -> Result<Params, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the request body is not UTF-8".to_string())?;
    let mut params = Params::new();
    for pair in text.split('&').filter(|p| !p.trim().is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name.trim())?;
        let value = decode(value)?;
        params.entry(name).or_insert(value);
    }
    Ok(params)
}

/// One form component: `+` is a space, `%XX` a byte.
fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // Two hex digits exactly (from_str_radix alone would take "+1").
                let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                let hex = hex.and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or_else(|| {
                    let shown: String = s[i..].chars().take(3).collect();
                    format!("'{}' is not a percent escape", escape(&shown))
                })?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "a parameter is not UTF-8 once decoded".to_string())
}

/// Text as XML character data or attribute value. Characters XML 1.0 cannot carry at all (most control
/// characters) become U+FFFD, so the document always parses.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A small XML writer: elements in order, text escaped.
#[derive(Default)]
pub struct Xml(String);

impl Xml {
    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    /// `<tag>text</tag>`.
    pub fn leaf(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag);
        self.0.push_str(&escape(text));
        self.close(tag)
    }

    /// `<tag>text</tag>` when there is a text.
    pub fn leaf_opt(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.leaf(tag, t);
        }
        self
    }

    pub fn finish(self) -> String {
        self.0
    }
}

/// A successful answer: `<{action}Response xmlns=…><{action}Result>…</{action}Result><ResponseMetadata>…`.
pub fn response(action: &str, namespace: &str, request_id: &str, result: impl FnOnce(&mut Xml)) -> String {
    let mut x = Xml::default();
    x.0.push_str(&format!("<{action}Response xmlns=\"{}\">", escape(namespace)));
    x.open(&format!("{action}Result"));
    result(&mut x);
    x.close(&format!("{action}Result"));
    x.open("ResponseMetadata").leaf("RequestId", request_id).close("ResponseMetadata");
    x.close(&format!("{action}Response"));
    x.finish()
}

/// An error answer. `Type` is `Sender` for the caller's faults (4xx) and `Receiver` for the service's.
pub fn error_response(e: &ApiError, namespace: &str, request_id: &str) -> String {
    let mut x = Xml::default();
    x.0.push_str(&format!("<ErrorResponse xmlns=\"{}\">", escape(namespace)));
    x.open("Error")
        .leaf("Type", if e.status.is_server_error() { "Receiver" } else { "Sender" })
        .leaf("Code", e.code)
        .leaf("Message", &e.message)
        .close("Error");
    x.leaf("RequestId", request_id).close("ErrorResponse");
    x.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_as_browsers_and_sdks_encode_them() {
        let p = parse_form(b"Action=AssumeRole&Version=2011-06-15&RoleSessionName=a%2Bb+c&Empty=&Flag&Action=Other")
            .unwrap();
        assert_eq!(p["Action"], "AssumeRole", "the first of a repeated name");
        assert_eq!(p["RoleSessionName"], "a+b c");
        assert_eq!(p["Empty"], "");
        assert_eq!(p["Flag"], "");
        assert_eq!(parse_form(b"").unwrap().len(), 0);
        assert_eq!(parse_form(b"Name=%C3%A9").unwrap()["Name"], "é");
    }

    #[test]
    fn bad_forms_are_refused_with_what_is_wrong() {
        assert!(parse_form(b"A=%G1").unwrap_err().contains("'%G1' is not a percent escape"));
        assert!(parse_form(b"A=%4").unwrap_err().contains("percent escape"));
        assert!(parse_form(b"A=%+1").unwrap_err().contains("percent escape"));
        assert!(parse_form(b"A=%FF").unwrap_err().contains("not UTF-8"));
        assert!(parse_form(&[0xff, b'=', b'1']).unwrap_err().contains("not UTF-8"));
        // An escape cut inside a multi-byte character is shown, not a panic.
        assert!(parse_form("A=%é".as_bytes()).is_err());
    }

    #[test]
    fn text_is_escaped_and_unrepresentable_characters_replaced() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
        assert_eq!(escape("a\u{0}b\u{1b}c\td"), "a\u{FFFD}b\u{FFFD}c\td");
        let e = ApiError {
            status: axum::http::StatusCode::BAD_REQUEST,
            code: "ValidationError",
            message: "Value '</Message><Injected/>' is bad".into(),
        };
        let xml = error_response(&e, "https://sts.amazonaws.com/doc/2011-06-15/", "rid");
        assert_eq!(
            xml,
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
             <Code>ValidationError</Code><Message>Value &apos;&lt;/Message&gt;&lt;Injected/&gt;&apos; is bad</Message>\
             </Error><RequestId>rid</RequestId></ErrorResponse>"
        );
    }

    #[test]
    fn responses_wrap_the_result_and_the_request_id() {
        let xml = response("GetCallerIdentity", "ns", "rid", |x| {
            x.leaf("Account", "123456789012").leaf_opt("Missing", None);
        });
        assert_eq!(
            xml,
            "<GetCallerIdentityResponse xmlns=\"ns\"><GetCallerIdentityResult><Account>123456789012</Account>\
             </GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>\
             </GetCallerIdentityResponse>"
        );
    }
}
