//! A provider's parsed fields, put back into one RFC 5322 message for [`super::take`]: the
//! original headers (every one the classifier reads: Auto-Submitted, Precedence, In-Reply-To,
//! References, Authentication-Results, Message-ID, X-Failed-Recipients, …) and the text and
//! HTML as `text/plain` / `text/html` parts in base64, each labelled with its charset. So the
//! parsed modes are read by the very code that reads raw mail, and mean the same.
//!
//! The old body structure is gone (the provider took the message apart), so its
//! `Content-Type`, `Content-Transfer-Encoding`, `MIME-Version` and length headers are dropped
//! and written anew. A header name that is not printable ASCII is dropped, and CR or LF in a
//! value becomes a space: no field can start a header of its own. Attachments are left out:
//! staff read the text, and the ticket points at the provider's copy.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Headers the new body structure replaces.
const REPLACED: &[&str] = &[
    "content-type",
    "content-transfer-encoding",
    "mime-version",
    "content-length",
    "content-disposition",
];

/// A body part: its bytes and their charset (`utf-8` when the provider says nothing).
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub bytes: &'a [u8],
    pub charset: &'a str,
}

/// The message: `headers` in order, then a `text/plain` and/or `text/html` body.
pub fn message(
    headers: &[(String, String)],
    text: Option<Part<'_>>,
    html: Option<Part<'_>>,
) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        if !name_ok(name) || REPLACED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
            continue;
        }
        let value: String = value
            .chars()
            .map(|c| if matches!(c, '\r' | '\n') { ' ' } else { c })
            .collect();
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.trim().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    // The boundary holds `_`, which base64 never writes: no part can contain it.
    const BOUNDARY: &str = "=_helpline_alternative";
    match (text, html) {
        (Some(t), Some(h)) => {
            out.extend_from_slice(
                format!("Content-Type: multipart/alternative; boundary=\"{BOUNDARY}\"\r\n\r\n")
                    .as_bytes(),
            );
            for (kind, part) in [("plain", t), ("html", h)] {
                out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
                part_of(&mut out, kind, part);
            }
            out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        }
        (None, Some(h)) => part_of(&mut out, "html", h),
        (Some(t), None) => part_of(&mut out, "plain", t),
        (None, None) => part_of(
            &mut out,
            "plain",
            Part {
                bytes: b"",
                charset: "utf-8",
            },
        ),
    }
    out
}

/// Headers of one part and its bytes in base64 (76-character lines).
fn part_of(out: &mut Vec<u8>, kind: &str, part: Part<'_>) {
    out.extend_from_slice(
        format!(
            "Content-Type: text/{kind}; charset=\"{}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            charset(part.charset)
        )
        .as_bytes(),
    );
    let encoded = STANDARD.encode(part.bytes);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
}

/// A charset name as given when it is a plain token, else `utf-8`.
fn charset(name: &str) -> &str {
    let t = name.trim();
    let ok = !t.is_empty()
        && t.len() <= 40
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok { t } else { "utf-8" }
}

/// A header name: printable ASCII without `:` or spaces.
fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 76
        && name
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b':')
}

/// Adds each `(name, value)` whose name is not among `headers` yet: a provider's own fields
/// (From, Subject, …) where its copy of the headers lacks them.
pub fn add_missing(headers: &mut Vec<(String, String)>, extra: &[(&str, Option<String>)]) {
    for (name, value) in extra {
        let Some(value) = value else { continue };
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            headers.push(((*name).to_string(), value.clone()));
        }
    }
}

/// A raw header block (SendGrid's `headers` field) as name/value pairs, folded lines unfolded.
/// Bytes that are not UTF-8 are replaced (an encoded word stays as written and is decoded
/// when the message is read).
pub fn header_pairs(block: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(block);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = pairs.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            pairs.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::email_in::{self, Meaning};

    #[test]
    fn headers_and_parts_read_back_as_the_same_email() {
        let headers = header_pairs(
            b"From: Pat <pat@frontrange-roofing.example>\r\nSubject: RESET\r\n C-1001\r\n\
Message-ID: <a1@x.example>\r\nContent-Type: multipart/mixed; boundary=old\r\n\
X-Evil: a\r\nBcc: injected@example.com\r\n",
        );
        assert_eq!(headers[1], ("Subject".into(), "RESET C-1001".into()));
        let raw = message(
            &headers,
            Some(Part {
                bytes: b"caf\xe9 --=_helpline_alternative",
                charset: "iso-8859-1",
            }),
            Some(Part {
                bytes: b"<p>hi</p>",
                charset: "bad\"charset",
            }),
        );
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("boundary=old"), "{text}");
        assert!(text.contains("charset=\"utf-8\""), "{text}");
        let mail = email_in::read(&raw).unwrap();
        assert_eq!(mail.message_id.unwrap().as_str(), "a1@x.example");
        assert_eq!(
            mail.meaning,
            Meaning::Reset {
                number: "C-1001".into()
            }
        );
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            parsed.body_text(0).as_deref(),
            Some("café --=_helpline_alternative")
        );
    }

    #[test]
    fn no_value_can_start_a_header() {
        let raw = message(
            &[
                ("Subject".into(), "hi\r\nBcc: x@example.com".into()),
                ("Bad Name".into(), "v".into()),
            ],
            None,
            None,
        );
        let text = String::from_utf8_lossy(&raw);
        assert!(
            text.starts_with("Subject: hi  Bcc: x@example.com\r\nMIME-Version"),
            "{text}"
        );
    }
}
