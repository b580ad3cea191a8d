//! A provider's form, read into named fields: `application/x-www-form-urlencoded` (Mailgun's
//! default) through `serde_urlencoded`, and `multipart/form-data` (Mailgun with attachments or
//! raw MIME, SendGrid always) through `mail-parser`.
//!
//! Why no multipart crate: `multipart/form-data` is MIME (RFC 7578), and the MIME parser that
//! reads the emails is already here. The request body is read as the body of a message whose
//! `Content-Type` is the request's (boundary included); each direct part is one field, named
//! by its `Content-Disposition`, and its bytes are kept exactly as sent (`offset_body` to
//! `offset_end`): a field's bytes are not always UTF-8 (SendGrid sends the text in the
//! message's own charset and says which in `charsets`), so decoding is the caller's choice.

use std::borrow::Cow;

use mail_parser::{MessageParser, MimeHeaders, PartType};

/// One field of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// Set for a file (an attachment, or Mailgun's `body-mime` sent as a file).
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

/// The fields, in the order sent.
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<Field>);

/// Why a body is no form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("send application/x-www-form-urlencoded or multipart/form-data, not {0}")]
    ContentType(String),
    #[error("the multipart/form-data body has no boundary")]
    NoBoundary,
    #[error("the multipart/form-data body holds no field (is the boundary right?)")]
    NoFields,
    #[error("the form is not valid application/x-www-form-urlencoded: {0}")]
    Urlencoded(String),
}

impl Form {
    /// A provider's request body read as a form: over the size limit → `too_large` (the
    /// provider's do-not-retry status), not a form → 400 saying why.
    pub async fn of_request(
        provider: &'static str,
        too_large: axum::http::StatusCode,
        headers: &axum::http::HeaderMap,
        raw: axum::body::Body,
    ) -> Result<Form, axum::response::Response> {
        let Some(bytes) = super::read_body(headers, raw).await else {
            return Err(super::refuse_too_large(provider, too_large));
        };
        let content_type = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Form::read(content_type, &bytes).map_err(|e| {
            tracing::warn!(provider, error = %e, "inbound email refused: no form");
            super::answer(axum::http::StatusCode::BAD_REQUEST, &e.to_string())
        })
    }

    /// Reads `body` as its `content_type` says.
    pub fn read(content_type: &str, body: &[u8]) -> Result<Form, FormError> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-www-form-urlencoded" => urlencoded(body),
            "multipart/form-data" => multipart(content_type, body),
            other => Err(FormError::ContentType(if other.is_empty() {
                "no Content-Type".into()
            } else {
                other.chars().take(60).collect()
            })),
        }
    }

    /// The first field named `name` (ASCII case-insensitive: Mailgun writes `Message-Id`).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.0.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The first field named `name`, as bytes.
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.field(name).map(|f| f.bytes.as_slice())
    }

    /// The first field named `name`, as text (invalid UTF-8 replaced).
    pub fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        self.bytes(name).map(String::from_utf8_lossy)
    }

    /// Bytes of every field but those named in `except`: how large the message they carry is.
    pub fn len_without(&self, except: &[&str]) -> usize {
        self.0
            .iter()
            .filter(|f| !except.iter().any(|e| f.name.eq_ignore_ascii_case(e)))
            .map(|f| f.bytes.len())
            .sum()
    }
}

fn urlencoded(body: &[u8]) -> Result<Form, FormError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|e| FormError::Urlencoded(e.to_string()))?;
    Ok(Form(
        pairs
            .into_iter()
            .map(|(name, value)| Field {
                name,
                filename: None,
                bytes: value.into_bytes(),
            })
            .collect(),
    ))
}

fn multipart(content_type: &str, body: &[u8]) -> Result<Form, FormError> {
    if !content_type.to_ascii_lowercase().contains("boundary=") {
        return Err(FormError::NoBoundary);
    }
    // The request's Content-Type is one header value (no CR or LF can be in it), so it heads
    // the "message" whose body is the form.
    let mut raw = Vec::with_capacity(body.len() + content_type.len() + 20);
    raw.extend_from_slice(b"Content-Type: ");
    raw.extend_from_slice(content_type.as_bytes());
    raw.extend_from_slice(b"\r\n\r\n");
    raw.extend_from_slice(body);
    let parser = MessageParser::new();
    let Some(msg) = parser.parse(&raw) else {
        return Err(FormError::NoFields);
    };
    let children = match msg.parts.first().map(|p| &p.body) {
        Some(PartType::Multipart(ids)) => ids.clone(),
        _ => return Err(FormError::NoFields),
    };
    let mut fields = Vec::with_capacity(children.len());
    for id in children {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        let Some(disposition) = part.content_disposition() else {
            continue;
        };
        let Some(name) = disposition.attribute("name") else {
            continue;
        };
        let (start, end) = (part.offset_body as usize, part.offset_end as usize);
        let bytes = raw.get(start..end.max(start)).unwrap_or_default().to_vec();
        fields.push(Field {
            name: name.to_string(),
            filename: disposition.attribute("filename").map(str::to_string),
            bytes,
        });
    }
    if fields.is_empty() {
        return Err(FormError::NoFields);
    }
    Ok(Form(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn multipart_fields_keep_their_bytes() {
        let body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nRESET C-1001\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nl\xe9ase\r\nsecond line\r\n\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"attachment1\"; filename=\"a.bin\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\x00\x01\xff\r\n--XyZ--\r\n";
        let f = Form::read(CT, body).unwrap();
        assert_eq!(f.text("subject").as_deref(), Some("RESET C-1001"));
        assert_eq!(f.bytes("text"), Some(&b"l\xe9ase\r\nsecond line\r\n"[..]));
        let a = f.field("attachment1").unwrap();
        assert_eq!(a.filename.as_deref(), Some("a.bin"));
        assert_eq!(a.bytes, b"\x00\x01\xff");
        assert_eq!(f.len_without(&["text"]), 12 + 3);
    }

    #[test]
    fn a_field_holding_a_whole_message_is_kept_as_sent() {
        let mime = "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n\
--inner\r\nContent-Type: text/plain\r\n\r\nhi\r\n--inner--\r\n";
        let body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"body-mime\"\r\n\r\n{mime}\r\n--XyZ--\r\n"
        );
        let f = Form::read(CT, body.as_bytes()).unwrap();
        assert_eq!(f.text("Body-Mime").as_deref(), Some(mime));
    }

    #[test]
    fn urlencoded_and_bad_bodies() {
        let f = Form::read(
            "application/x-www-form-urlencoded",
            b"token=abc&body-plain=RESET+C-1001%0A",
        )
        .unwrap();
        assert_eq!(f.text("body-plain").as_deref(), Some("RESET C-1001\n"));
        assert_eq!(
            Form::read("application/json", b"{}").unwrap_err(),
            FormError::ContentType("application/json".into())
        );
        assert_eq!(
            Form::read("multipart/form-data", b"x").unwrap_err(),
            FormError::NoBoundary
        );
        assert_eq!(
            Form::read(CT, b"no parts here").unwrap_err(),
            FormError::NoFields
        );
    }
}
