//! A stand-in for Twilio's REST API: a real HTTP server on loopback (axum) that checks what it
//! receives as Twilio would (the path, HTTP basic auth, the form fields of a text on
//! `Messages.json` and of a call on `Calls.json`), records every request, answers `201` with a
//! message sid (`SM…`) or call sid (`CA…`), and can be told to answer `429`, `500` or `400`
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

    /// Points `settings` at this stand-in with its account, and turns SMS and voice on.
    pub fn configure(&self, settings: &mut Settings) {
        settings.twilio.account_sid = Some(ACCOUNT_SID.into());
        settings.twilio.auth_token = Some(SecretString::from(AUTH_TOKEN));
        settings.twilio.from = Some(FROM.into());
        settings.twilio.api_base = url::Url::parse(&self.base).expect("base URL");
        settings.twilio.sms_enabled = true;
        settings.twilio.voice_enabled = true;
    }

    /// The calls received so far (requests to `Calls.json`), oldest first.
    pub fn calls(&self) -> Vec<SmsRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == calls_path())
            .collect()
    }

    /// The texts received so far (requests to `Messages.json`), oldest first.
    pub fn texts(&self) -> Vec<SmsRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == messages_path())
            .collect()
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

/// The path a call for the stand-in's account is posted to.
pub fn calls_path() -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json")
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

fn error(status: StatusCode, code: u32, message: &str) -> (StatusCode, serde_json::Value) {
    (
        status,
        json!({"code": code, "message": message, "status": status.as_u16()}),
    )
}

fn is_http_url(v: &str) -> bool {
    url::Url::parse(v).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// Checks a request as Twilio would, then answers with a queued fault or accepts it.
fn judge(shared: &Shared, r: &mut SmsRequest) -> (StatusCode, serde_json::Value) {
    let is_call = r.path == calls_path();
    if r.method != "POST" || !(is_call || r.path == messages_path()) {
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
    let problem = if is_call {
        judge_call(r)
    } else {
        judge_text(r)
    };
    if let Some(refusal) = problem {
        return refusal;
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
        None if is_call => {
            let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
            r.sid = Some(sid.clone());
            (StatusCode::CREATED, json!({"sid": sid, "status": "queued"}))
        }
        None => {
            let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
            r.sid = Some(sid.clone());
            (StatusCode::CREATED, json!({"sid": sid, "status": "queued"}))
        }
    }
}

/// A text's own fields: a body, and a valid callback and validity period when given.
fn judge_text(r: &SmsRequest) -> Option<(StatusCode, serde_json::Value)> {
    if r.field("Body").is_none_or(str::is_empty) {
        return Some(error(
            StatusCode::BAD_REQUEST,
            21602,
            "Message body is required.",
        ));
    }
    if let Some(cb) = r.field("StatusCallback")
        && !is_http_url(cb)
    {
        return Some(error(
            StatusCode::BAD_REQUEST,
            21609,
            "Invalid StatusCallback URL",
        ));
    }
    if let Some(v) = r.field("ValidityPeriod")
        && !v.parse::<u64>().is_ok_and(|s| (1..=36_000).contains(&s))
    {
        return Some(error(
            StatusCode::BAD_REQUEST,
            21624,
            "ValidityPeriod must be between 1 and 36000 seconds",
        ));
    }
    None
}

/// A call's own fields, as Twilio's Calls resource checks them: an absolute `Url` for the
/// TwiML (there is no `Twiml` or `ApplicationSid` here), GET or POST methods, a valid
/// `StatusCallback`, known `StatusCallbackEvent`s, and `Timeout`/`TimeLimit` in range. A text's
/// `Body` has no place on a call.
fn judge_call(r: &SmsRequest) -> Option<(StatusCode, serde_json::Value)> {
    let bad = |code: u32, message: &str| Some(error(StatusCode::BAD_REQUEST, code, message));
    if r.field("Body").is_some() {
        return bad(21205, "A call takes a Url, not a Body");
    }
    match r.field("Url") {
        Some(u) if is_http_url(u) => {}
        Some(_) => return bad(21205, "Url is not a valid URL"),
        None => return bad(21205, "Url parameter is required"),
    }
    for name in ["Method", "StatusCallbackMethod"] {
        if r.field(name).is_some_and(|m| m != "GET" && m != "POST") {
            return bad(21207, "Method must be GET or POST");
        }
    }
    if let Some(cb) = r.field("StatusCallback")
        && !is_http_url(cb)
    {
        return bad(21609, "Invalid StatusCallback URL");
    }
    let events = ["initiated", "ringing", "answered", "completed"];
    if r.form
        .iter()
        .any(|(k, v)| k == "StatusCallbackEvent" && !events.contains(&v.as_str()))
    {
        return bad(21626, "Invalid StatusCallbackEvent");
    }
    if let Some(t) = r.field("Timeout")
        && !t.parse::<u32>().is_ok_and(|s| (1..=600).contains(&s))
    {
        return bad(21216, "Timeout must be between 1 and 600 seconds");
    }
    if let Some(t) = r.field("TimeLimit")
        && !t.parse::<u32>().is_ok_and(|s| (1..=14_400).contains(&s))
    {
        return bad(21216, "TimeLimit must be between 1 and 14400 seconds");
    }
    None
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
