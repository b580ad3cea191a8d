//! The gate every Twilio webhook passes: [`TwilioForm<T>`], an axum extractor that reads the
//! body (at most [`MAX_WEBHOOK_BYTES`]), checks `X-Twilio-Signature` over the public URL and
//! the form, and only then deserializes the form into `T`. A handler that takes a
//! `TwilioForm` runs only for requests Twilio signed for this server; until then nothing is
//! parsed into `T` and nothing touches the store.
//!
//! Refusals ([`WebhookRefusal`]) and their statuses: no auth token configured → 503 (fail
//! closed: nothing can be checked, so nothing is processed, and an error line says which
//! setting is missing); body too large → 413; header missing → 400; signature wrong → 403; a
//! signed form without the fields the handler needs → 400. Each refusal is logged with its
//! reason and the request's `CallSid`/`MessageSid` (when they look like sids); the other
//! fields — `Digits`, `Body`, `SpeechResult`, numbers — never are: they can be secrets or phone
//! numbers keyed in.
//!
//! The URL signed is `public_url` (its path a prefix) joined with the request's path and query
//! as received, never the `Host` header; see [`webhook_url`] and [`super::signature`].

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, OriginalUri, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use url::Url;

use super::signature::{self, SIGNATURE_HEADER};
use crate::config::Settings;

/// The largest webhook body read. Twilio's voice and SMS webhooks are a few kilobytes (an SMS
/// body is at most 1,600 characters); anything far larger is not Twilio.
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

/// A Twilio webhook's form, deserialized into `T` after its signature was checked. Take it as
/// the handler's last argument (it reads the body).
#[derive(Debug, Clone)]
pub struct TwilioForm<T>(pub T);

/// Why a webhook was not let through. Each variant documents its status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRefusal {
    /// 503: no auth token is configured, so no signature can be checked.
    #[error("Twilio webhooks are not configured on this server (no auth token)")]
    NotConfigured,
    /// 413: the body is over [`MAX_WEBHOOK_BYTES`].
    #[error("the request body is over {MAX_WEBHOOK_BYTES} bytes")]
    TooLarge,
    /// 400: the body could not be read to its end.
    #[error("the request body could not be read")]
    Unreadable,
    /// 400: no `X-Twilio-Signature` header.
    #[error("the X-Twilio-Signature header is missing")]
    MissingSignature,
    /// 403: the signature is not this server's for this URL and form.
    #[error("the X-Twilio-Signature header does not match this request")]
    WrongSignature,
    /// 400: signed, but not the form this step reads.
    #[error("the form is not what this step reads: {0}")]
    BadForm(String),
}

impl WebhookRefusal {
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookRefusal::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            WebhookRefusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookRefusal::Unreadable
            | WebhookRefusal::MissingSignature
            | WebhookRefusal::BadForm(_) => StatusCode::BAD_REQUEST,
            WebhookRefusal::WrongSignature => StatusCode::FORBIDDEN,
        }
    }
}

impl IntoResponse for WebhookRefusal {
    fn into_response(self) -> Response {
        (
            self.status(),
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{self}\n"),
        )
            .into_response()
    }
}

/// A webhook whose signature checked out: its raw body and its decoded fields, in order.
#[derive(Debug, Clone)]
pub struct VerifiedWebhook {
    pub body: Bytes,
    pub params: Vec<(String, String)>,
}

impl VerifiedWebhook {
    /// The first value of a field.
    pub fn field(&self, name: &str) -> Option<&str> {
        field(&self.params, name)
    }
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The URL Twilio signed for a request to `path_and_query` (`/twilio/voice?step=2`):
/// `public_url` without its trailing slash, then the path and query as received.
pub fn webhook_url(public_url: &Url, path_and_query: &str) -> String {
    let base = public_url.as_str();
    let base = base.split(['?', '#']).next().unwrap_or(base);
    format!("{}{path_and_query}", base.trim_end_matches('/'))
}

/// Checks a request as Twilio signed it (see the module docs for each refusal), logging why
/// when it is refused.
pub async fn verify_webhook(
    req: Request,
    settings: &Settings,
) -> Result<VerifiedWebhook, WebhookRefusal> {
    let Some(token) = settings.twilio.auth_token.as_ref() else {
        tracing::error!(
            "refused a Twilio webhook: twilio.auth_token (HELPLINE_TWILIO_AUTH_TOKEN) is not \
             set, so no signature can be checked; every Twilio webhook is refused until it is"
        );
        return Err(WebhookRefusal::NotConfigured);
    };
    let (parts, body) = req.into_parts();
    // Under a nested router the URI has lost its prefix; the original is what was signed.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path(), |pq| pq.as_str());
    let url = webhook_url(&settings.public_url, path_and_query);
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_WEBHOOK_BYTES as u64) {
        return Err(refused(WebhookRefusal::TooLarge, &[]));
    }
    let body = read_capped(body).await.map_err(|r| refused(r, &[]))?;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let Some(claimed) = parts.headers.get(SIGNATURE_HEADER) else {
        return Err(refused(WebhookRefusal::MissingSignature, &params));
    };
    // A header that is not text cannot be a base64 signature.
    let claimed = claimed.to_str().unwrap_or("");
    if !signature::verify(token.expose_secret(), &url, &params, claimed) {
        return Err(refused(WebhookRefusal::WrongSignature, &params));
    }
    Ok(VerifiedWebhook { body, params })
}

/// The body, or `TooLarge` as soon as it passes [`MAX_WEBHOOK_BYTES`] (a chunked body has no
/// length to check up front).
async fn read_capped(body: Body) -> Result<Bytes, WebhookRefusal> {
    match Limited::new(body, MAX_WEBHOOK_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(WebhookRefusal::TooLarge),
        Err(_) => Err(WebhookRefusal::Unreadable),
    }
}

/// A sid as Twilio writes them (two letters, then letters and digits), or a mark that it was
/// something else: a refused request's fields are the sender's words, not to be echoed raw.
fn sid_for_log<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let v = field(params, name)?;
    let looks_like_sid = (2..=64).contains(&v.len())
        && v.bytes().take(2).all(|b| b.is_ascii_alphabetic())
        && v.bytes().all(|b| b.is_ascii_alphanumeric());
    Some(if looks_like_sid { v } else { "(not a sid)" })
}

fn refused(refusal: WebhookRefusal, params: &[(String, String)]) -> WebhookRefusal {
    let call_sid = sid_for_log(params, "CallSid");
    let message_sid = sid_for_log(params, "MessageSid");
    match refusal {
        // Twilio never sends these: someone else is knocking, or a proxy lost the header.
        WebhookRefusal::MissingSignature | WebhookRefusal::WrongSignature => {
            tracing::warn!(
                reason = %refusal,
                call_sid,
                message_sid,
                "refused a Twilio webhook (if Twilio sent it: is HELPLINE_PUBLIC_URL the URL \
                 configured in Twilio, and HELPLINE_TWILIO_AUTH_TOKEN the account's token?)"
            );
        }
        _ => tracing::warn!(reason = %refusal, call_sid, message_sid, "refused a Twilio webhook"),
    }
    refusal
}

/// A short reason a signed form does not fit `T`, without any field's value: serde's
/// messages for a bad value quote it, and the value may be keyed-in digits.
fn form_problem(e: &serde_urlencoded::de::Error) -> String {
    let text = e.to_string();
    if text.starts_with("missing field") || text.starts_with("duplicate field") {
        text
    } else {
        "a field's value is not what this step reads".into()
    }
}

impl<T, S> FromRequest<S> for TwilioForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
    Arc<Settings>: FromRef<S>,
{
    type Rejection = WebhookRefusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let settings = Arc::<Settings>::from_ref(state);
        let hook = verify_webhook(req, &settings).await?;
        serde_urlencoded::from_bytes::<T>(&hook.body)
            .map(TwilioForm)
            .map_err(|e| refused(WebhookRefusal::BadForm(form_problem(&e)), &hook.params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_signed_url_is_the_public_url_and_the_request_path() {
        let at = |base: &str, pq: &str| webhook_url(&url(base), pq);
        assert_eq!(
            at("https://help.city.gov/", "/twilio/voice"),
            "https://help.city.gov/twilio/voice"
        );
        assert_eq!(
            at("https://help.city.gov", "/twilio/voice?step=2&x=%20"),
            "https://help.city.gov/twilio/voice?step=2&x=%20"
        );
        assert_eq!(
            at("https://city.gov/helpline/", "/twilio/sms"),
            "https://city.gov/helpline/twilio/sms",
            "the public URL's path is a prefix"
        );
        assert_eq!(
            at("https://city.gov:8443/helpline", "/twilio/sms"),
            "https://city.gov:8443/helpline/twilio/sms"
        );
        assert_eq!(
            at("https://city.gov/?a=1#f", "/twilio/sms"),
            "https://city.gov/twilio/sms",
            "a query or fragment on the public URL is not part of it"
        );
    }

    #[test]
    fn sids_are_logged_only_when_they_look_like_sids() {
        let p = |v: &str| vec![("CallSid".to_string(), v.to_string())];
        assert_eq!(sid_for_log(&p("CA0123abcd"), "CallSid"), Some("CA0123abcd"));
        assert_eq!(
            sid_for_log(&p("CA12\nfake log line"), "CallSid"),
            Some("(not a sid)")
        );
        assert_eq!(sid_for_log(&p("12345678"), "CallSid"), Some("(not a sid)"));
        assert_eq!(sid_for_log(&p("CA12"), "MessageSid"), None);
    }

    #[test]
    fn form_problems_name_fields_never_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Step {
            #[serde(rename = "CallSid")]
            call_sid: String,
            #[serde(rename = "Digits")]
            digits: u32,
        }
        let missing = serde_urlencoded::from_str::<Step>("Digits=1").err();
        assert_eq!(
            missing.as_ref().map(form_problem).as_deref(),
            Some("missing field `CallSid`")
        );
        let bad = serde_urlencoded::from_str::<Step>("CallSid=CA1&Digits=30365820x75").err();
        let shown = bad.as_ref().map(form_problem).unwrap_or_default();
        assert!(!shown.contains("3036"), "{shown}");
        assert_eq!(shown, "a field's value is not what this step reads");
    }

    /// A router with one signed route, on settings alone (no store: none is needed).
    fn gate(token: Option<&str>) -> axum::Router {
        let mut settings = Settings::for_local("sqlite::memory:");
        settings.public_url = url("https://help.city.gov/");
        settings.twilio.auth_token = token.map(secrecy::SecretString::from);
        axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(
                    |TwilioForm(f): TwilioForm<Vec<(String, String)>>| async move {
                        format!("{} fields", f.len())
                    },
                ),
            )
            .with_state(Arc::new(settings))
    }

    async fn send(token: Option<&str>, req: Request) -> (u16, String) {
        use tower::ServiceExt;
        let res = gate(token)
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let status = res.status().as_u16();
        let body = res.into_body().collect().await.map(|b| b.to_bytes());
        (
            status,
            String::from_utf8_lossy(&body.unwrap_or_default()).into_owned(),
        )
    }

    fn post(body: Body, signature: Option<&str>) -> Request {
        let mut b = Request::builder()
            .method("POST")
            .uri("/hook?step=1")
            .header(header::HOST, "attacker.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(s) = signature {
            b = b.header(SIGNATURE_HEADER, s);
        }
        b.body(body).unwrap_or_else(|e| panic!("{e}"))
    }

    const FORM: &str = "CallSid=CA1&Digits=12%2334&From=%2B13035550100";

    fn signed() -> String {
        let params: Vec<(String, String)> = url::form_urlencoded::parse(FORM.as_bytes())
            .into_owned()
            .collect();
        signature::sign("tok", "https://help.city.gov/hook?step=1", &params)
    }

    #[tokio::test]
    async fn a_signed_form_passes_whatever_the_host_header_says() {
        let (status, body) = send(Some("tok"), post(Body::from(FORM), Some(&signed()))).await;
        assert_eq!((status, body.as_str()), (200, "3 fields"));
        let over_host = signature::sign(
            "tok",
            "http://attacker.example/hook?step=1",
            &[
                ("CallSid", "CA1"),
                ("Digits", "12#34"),
                ("From", "+13035550100"),
            ],
        );
        let (status, _) = send(Some("tok"), post(Body::from(FORM), Some(&over_host))).await;
        assert_eq!(status, 403, "the Host header is not the URL");
    }

    #[tokio::test]
    async fn each_refusal_has_its_status() {
        let sig = signed();
        assert_eq!(send(None, post(Body::from(FORM), Some(&sig))).await.0, 503);
        assert_eq!(send(Some("tok"), post(Body::from(FORM), None)).await.0, 400);
        assert_eq!(
            send(Some("tok2"), post(Body::from(FORM), Some(&sig)))
                .await
                .0,
            403
        );
        let tampered = FORM.replace("12%2334", "12%2335");
        assert_eq!(
            send(Some("tok"), post(Body::from(tampered), Some(&sig)))
                .await
                .0,
            403
        );
        // No Content-Length here: the cap while reading refuses it.
        let big = "x".repeat(MAX_WEBHOOK_BYTES + 1);
        assert_eq!(
            send(Some("tok"), post(Body::from(big), Some(&sig))).await.0,
            413
        );
        let just = "x".repeat(MAX_WEBHOOK_BYTES);
        assert_eq!(
            send(Some("tok"), post(Body::from(just), Some(&sig)))
                .await
                .0,
            403,
            "at the cap: read, then judged"
        );
    }

    #[test]
    fn statuses_are_the_documented_ones() {
        use WebhookRefusal::*;
        let statuses: Vec<u16> = [
            NotConfigured,
            TooLarge,
            Unreadable,
            MissingSignature,
            WrongSignature,
            BadForm("x".into()),
        ]
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
        assert_eq!(statuses, [503, 413, 400, 400, 403, 400]);
    }
}
