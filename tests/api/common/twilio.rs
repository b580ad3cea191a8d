//! A stand-in for Twilio's REST API: a real HTTP server on loopback (axum) that checks what it
//! receives as Twilio would (the path, HTTP basic auth, the form fields), records every
//! request, answers `201` with a message sid, and can be told to answer `429`, `500` or `400`
//! for the next few requests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use helpline::config::Settings;
use secrecy::SecretString;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// The account the stand-in serves.
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "tw-test-token-5f1e2d3c4b5a69788796a5b4";
/// The sending number.
pub const FROM: &str = "+13035550100";

/// An answer the stand-in can be told to give instead of accepting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `429` with Twilio's error 20429.
    TooManyRequests,
    /// `500` with Twilio's error 20500.
    ServerError,
    /// `400` with Twilio's error 21211 (the 'To' number is not valid).
    InvalidTo,
}

/// One request as the stand-in received it, and what it answered.
#[derive(Debug, Clone)]
pub struct SmsRequest {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The form fields in the order sent.
    pub form: Vec<(String, String)>,
    /// The status the stand-in answered with.
    pub status: u16,
    /// The message sid it handed out, when it accepted the message.
    pub sid: Option<String>,
}

impl SmsRequest {
    /// The value of a form field (the first, if repeated).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many times a form field was sent.
    pub fn count(&self, name: &str) -> usize {
        self.form.iter().filter(|(k, _)| k == name).count()
    }
}

#[derive(Debug, Default)]
struct Shared {
    faults: Mutex<VecDeque<Fault>>,
    requests: Mutex<Vec<SmsRequest>>,
    arrived: Notify,
}

/// A running stand-in; stops when dropped.
pub struct TwilioStandIn {
    /// `http://127.0.0.1:PORT`: what `twilio.api_base` should be.
    pub base: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl TwilioStandIn {
    pub async fn start() -> TwilioStandIn {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind Twilio stand-in");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(answer).with_state(shared.clone());
        // The listener is already bound, so requests queue up until the server takes them.
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TwilioStandIn {
            base: format!("http://{addr}"),
            shared,
            task,
        }
    }

    /// Points `settings` at this stand-in with its account, and turns SMS on.
    pub fn configure(&self, settings: &mut Settings) {
        settings.twilio.account_sid = Some(ACCOUNT_SID.into());
        settings.twilio.auth_token = Some(SecretString::from(AUTH_TOKEN));
        settings.twilio.from = Some(FROM.into());
        settings.twilio.api_base = url::Url::parse(&self.base).expect("base URL");
        settings.twilio.sms_enabled = true;
    }

    /// Answers the next `n` requests (after any faults already queued) with `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut faults = self.shared.faults.lock().expect("lock");
        faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<SmsRequest> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// Waits (at most 10 s) until `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<SmsRequest> {
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                let arrived = self.shared.arrived.notified();
                let got = self.requests();
                if got.len() >= n {
                    return got;
                }
                arrived.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the stand-in did not get {n} request(s) within 10 s"))
    }
}

impl Drop for TwilioStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `Authorization` header Twilio expects for the stand-in's account.
pub fn expected_authorization() -> String {
    format!(
        "Basic {}",
        base64(format!("{ACCOUNT_SID}:{AUTH_TOKEN}").as_bytes())
    )
}

/// The path a message for the stand-in's account is posted to.
pub fn messages_path() -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let authorization = text(header::AUTHORIZATION);
    let content_type = text(header::CONTENT_TYPE);
    let form: Vec<(String, String)> = if content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let mut request = SmsRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        authorization,
        content_type,
        form,
        status: 0,
        sid: None,
    };
    let (status, json) = judge(&shared, &mut request);
    request.status = status.as_u16();
    shared.requests.lock().expect("lock").push(request);
    shared.arrived.notify_waiters();
    (status, axum::Json(json)).into_response()
}

/// Checks a request as Twilio would, then answers with a queued fault or accepts it.
fn judge(shared: &Shared, r: &mut SmsRequest) -> (StatusCode, serde_json::Value) {
    let error = |status: StatusCode, code: u32, message: &str| {
        (
            status,
            json!({"code": code, "message": message, "status": status.as_u16()}),
        )
    };
    if r.method != "POST" || r.path != messages_path() {
        return error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    }
    if r.authorization.as_deref() != Some(expected_authorization().as_str()) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let to = r.field("To").unwrap_or_default().to_string();
    if to.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    }
    if r.field("From") != Some(FROM) {
        return error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    }
    if r.field("Body").is_none_or(str::is_empty) {
        return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    if let Some(cb) = r.field("StatusCallback")
        && !url::Url::parse(cb).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        return error(StatusCode::BAD_REQUEST, 21609, "Invalid StatusCallback URL");
    }
    if let Some(v) = r.field("ValidityPeriod")
        && !v.parse::<u64>().is_ok_and(|s| (1..=36_000).contains(&s))
    {
        return error(
            StatusCode::BAD_REQUEST,
            21624,
            "ValidityPeriod must be between 1 and 36000 seconds",
        );
    }
    let is_e164 =
        to.len() > 8 && to.starts_with('+') && to[1..].chars().all(|c| c.is_ascii_digit());
    if !is_e164 {
        return error(
            StatusCode::BAD_REQUEST,
            21211,
            "The 'To' number is not a valid phone number.",
        );
    }
    let fault = shared.faults.lock().expect("lock").pop_front();
    match fault {
        Some(Fault::TooManyRequests) => {
            error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests")
        }
        Some(Fault::ServerError) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal Server Error",
        ),
        Some(Fault::InvalidTo) => error(
            StatusCode::BAD_REQUEST,
            21211,
            "The 'To' number is not a valid phone number.",
        ),
        None => {
            let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
            r.sid = Some(sid.clone());
            (StatusCode::CREATED, json!({"sid": sid, "status": "queued"}))
        }
    }
}

/// Standard base64 with padding: enough for a basic-auth header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_the_rfc_examples() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(
        base64(b"Aladdin:open sesame"),
        "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
}
