//! Twilio's REST API over reqwest: one `POST …/Messages.json` per text, one
//! `POST …/Calls.json` per callback call.
//!
//! The answer is classified for the outbox: 2xx is sent (Twilio's message sid is kept), 429,
//! 5xx, timeouts and connection failures are worth another try, any other 4xx will never
//! succeed as it is. Error text carries Twilio's error code and message, with the recipient
//! masked; the body of the text is never put in an error or a log line.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::{
    CALL_RING_SECONDS, CALL_TIME_LIMIT_SECONDS, CallTransport, MAX_VALIDITY_SECONDS, OutgoingCall,
    OutgoingSms, SidFuture, SmsFuture, SmsTransport, is_callback_path,
};
use crate::config::Settings;
use crate::domain::email::mask_address;
use crate::mail::DeliveryError;

/// How long one request to Twilio may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Twilio's answers are small; anything beyond this is not read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Twilio's error messages are a sentence; a longer one is cut.
const MAX_ERROR_CHARS: usize = 300;

/// Sends texts and places calls with Twilio's REST API.
#[derive(Clone)]
pub struct TwilioRest {
    client: reqwest::Client,
    messages_url: Url,
    calls_url: Url,
    account_sid: String,
    auth_token: SecretString,
    from: String,
    /// `{public_url}/twilio/sms/status`.
    status_callback: Url,
    /// `{public_url}/twilio/voice/status`.
    call_status_callback: Url,
    /// The public URL a call's TwiML path is joined to.
    public_url: Url,
}

/// Never prints the auth token.
impl fmt::Debug for TwilioRest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioRest")
            .field("messages_url", &self.messages_url.as_str())
            .field("calls_url", &self.calls_url.as_str())
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"[REDACTED]")
            .field("from", &self.from)
            .field("status_callback", &self.status_callback.as_str())
            .field("call_status_callback", &self.call_status_callback.as_str())
            .finish()
    }
}

impl TwilioRest {
    /// The client for texts, or `None` when SMS is off or the account sid, auth token or
    /// sending number is missing.
    pub fn from_settings(settings: &Settings) -> Option<Self> {
        if !settings.twilio.sms_enabled {
            return None;
        }
        Self::build(settings, "SMS")
    }

    /// The client for callback calls, or `None` when voice is off or the account sid, auth
    /// token or calling number is missing.
    pub fn for_calls(settings: &Settings) -> Option<Self> {
        if !settings.twilio.voice_enabled {
            return None;
        }
        Self::build(settings, "placing calls")
    }

    fn build(settings: &Settings, what: &str) -> Option<Self> {
        let t = &settings.twilio;
        let (Some(sid), Some(token), Some(from)) = (&t.account_sid, &t.auth_token, &t.from) else {
            return None;
        };
        if sid.trim().is_empty() || token.expose_secret().is_empty() || from.trim().is_empty() {
            return None;
        }
        let (Some(messages_url), Some(calls_url)) = (
            resource_url(&t.api_base, sid, "Messages.json"),
            resource_url(&t.api_base, sid, "Calls.json"),
        ) else {
            tracing::error!("twilio.api_base cannot hold a path; {what} is off");
            return None;
        };
        let (Some(status_callback), Some(call_status_callback)) = (
            under_public_url(&settings.public_url, "twilio/sms/status"),
            under_public_url(&settings.public_url, "twilio/voice/status"),
        ) else {
            tracing::error!("public_url cannot hold a path; {what} is off");
            return None;
        };
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("helpline/", env!("CARGO_PKG_VERSION")))
            .build();
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot set up the HTTP client for Twilio; {what} is off");
                return None;
            }
        };
        Some(Self {
            client,
            messages_url,
            calls_url,
            account_sid: sid.clone(),
            auth_token: token.clone(),
            from: from.clone(),
            status_callback,
            call_status_callback,
            public_url: settings.public_url.clone(),
        })
    }

    async fn deliver(&self, sms: OutgoingSms) -> Result<String, DeliveryError> {
        let OutgoingSms {
            to,
            body,
            validity_seconds,
        } = sms;
        let mut form: Vec<(&str, String)> = vec![
            ("To", to.clone()),
            ("From", self.from.clone()),
            ("Body", body),
            ("StatusCallback", self.status_callback.to_string()),
        ];
        if let Some(v) = validity_seconds {
            form.push((
                "ValidityPeriod",
                v.clamp(1, MAX_VALIDITY_SECONDS).to_string(),
            ));
        }
        self.post(&self.messages_url, &form, &to).await
    }

    /// Places a callback: Twilio rings `To` from our number for [`CALL_RING_SECONDS`], then
    /// fetches the TwiML at `Url` with a POST, and reports only the call's end to
    /// `/twilio/voice/status` (a repeated `StatusCallbackEvent` would ask for more).
    async fn place_call(&self, call: OutgoingCall) -> Result<String, DeliveryError> {
        let OutgoingCall { to, path } = call;
        let Some(twiml) = twiml_url(&self.public_url, &path) else {
            return Err(DeliveryError::Permanent(
                "the call's TwiML path is not a path on this server".into(),
            ));
        };
        let form: Vec<(&str, String)> = vec![
            ("To", to.clone()),
            ("From", self.from.clone()),
            ("Url", twiml.to_string()),
            ("Method", "POST".into()),
            ("StatusCallback", self.call_status_callback.to_string()),
            ("StatusCallbackMethod", "POST".into()),
            ("StatusCallbackEvent", "completed".into()),
            ("Timeout", CALL_RING_SECONDS.to_string()),
            ("TimeLimit", CALL_TIME_LIMIT_SECONDS.to_string()),
        ];
        self.post(&self.calls_url, &form, &to).await
    }

    /// Posts `form` to a resource of the account and classifies the answer.
    async fn post(
        &self,
        url: &Url,
        form: &[(&str, String)],
        to: &str,
    ) -> Result<String, DeliveryError> {
        let answer = self
            .client
            .post(url.clone())
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(request_failed)?;
        let status = answer.status();
        let bytes = read_capped(answer).await.map_err(request_failed)?;
        classify(status, &bytes, to)
    }
}

impl SmsTransport for TwilioRest {
    fn send(&self, sms: OutgoingSms) -> SmsFuture<'_> {
        Box::pin(self.deliver(sms))
    }
}

impl CallTransport for TwilioRest {
    fn place(&self, call: OutgoingCall) -> SidFuture<'_> {
        Box::pin(self.place_call(call))
    }
}

/// `{api_base}/2010-04-01/Accounts/{sid}/{resource}`, the sid escaped as a path segment.
fn resource_url(api_base: &Url, account_sid: &str, resource: &str) -> Option<Url> {
    let mut url = api_base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut().ok()?.pop_if_empty().extend([
        "2010-04-01",
        "Accounts",
        account_sid,
        resource,
    ]);
    Some(url)
}

/// `public_url` joined with a relative `route`, under the public URL's path when it has one.
fn under_public_url(public_url: &Url, route: &str) -> Option<Url> {
    let mut base = public_url.clone();
    base.set_query(None);
    base.set_fragment(None);
    if !base.path().ends_with('/') {
        let dir = format!("{}/", base.path());
        base.set_path(&dir);
    }
    base.join(route).ok()
}

/// The URL of a call's TwiML: the public URL (its path a prefix) followed by `path` as given,
/// which is the URL the webhook signature check rebuilds when Twilio fetches it.
fn twiml_url(public_url: &Url, path: &str) -> Option<Url> {
    if !is_callback_path(path) {
        return None;
    }
    let base = public_url.as_str();
    let base = base.split(['?', '#']).next().unwrap_or(base);
    let url = Url::parse(&format!("{}{path}", base.trim_end_matches('/'))).ok()?;
    (url.origin() == public_url.origin()).then_some(url)
}

/// Reads at most [`MAX_ANSWER_BYTES`] of the answer.
async fn read_capped(mut answer: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = answer.chunk().await? {
        let room = MAX_ANSWER_BYTES.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    Ok(out)
}

/// A failure before an answer arrived. The URL (which names the account) is left out.
fn request_failed(e: reqwest::Error) -> DeliveryError {
    let e = e.without_url();
    if e.is_builder() {
        return DeliveryError::Permanent(format!(
            "cannot build the request to Twilio: {}",
            chain(&e)
        ));
    }
    if e.is_timeout() {
        return DeliveryError::Transient(format!(
            "Twilio did not answer within {} s",
            REQUEST_TIMEOUT.as_secs()
        ));
    }
    if e.is_connect() {
        return DeliveryError::Transient(format!("cannot connect to Twilio: {}", chain(&e)));
    }
    DeliveryError::Transient(format!("the request to Twilio failed: {}", chain(&e)))
}

/// An error and its sources, one after the other, without repeats.
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[derive(Deserialize)]
struct Created {
    sid: Option<String>,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

/// Turns Twilio's answer into the message sid or a classified failure.
fn classify(status: StatusCode, answer: &[u8], to: &str) -> Result<String, DeliveryError> {
    if status.is_success() {
        return match serde_json::from_slice::<Created>(answer) {
            Ok(Created { sid: Some(sid) }) if is_sid(&sid) => Ok(sid),
            _ => Err(DeliveryError::Permanent(format!(
                "Twilio accepted the message (HTTP {}) but its answer names no message sid; \
                 check the Twilio console before sending it again",
                status.as_u16()
            ))),
        };
    }
    let detail = describe(status, answer, to);
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Err(DeliveryError::Transient(detail))
    } else if status.is_client_error() {
        Err(DeliveryError::Permanent(detail))
    } else {
        // 1xx and 3xx are not answers Twilio gives; most likely something in between.
        Err(DeliveryError::Transient(detail))
    }
}

/// Twilio's sids are two letters and 32 hex digits; anything plausible is kept.
fn is_sid(sid: &str) -> bool {
    !sid.is_empty() && sid.len() <= 64 && sid.chars().all(|c| c.is_ascii_alphanumeric())
}

/// "Twilio answered HTTP 400 Bad Request (error 21211): …", the recipient masked.
fn describe(status: StatusCode, answer: &[u8], to: &str) -> String {
    let mut text = format!(
        "Twilio answered HTTP {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .trim_end()
    .to_string();
    if let Ok(e) = serde_json::from_slice::<TwilioError>(answer) {
        if let Some(code) = e.code {
            text.push_str(&format!(" (error {code})"));
        }
        if let Some(message) = e.message.filter(|m| !m.trim().is_empty()) {
            text.push_str(": ");
            text.extend(message.trim().chars().take(MAX_ERROR_CHARS));
        }
    }
    mask_number(&text, to)
}

/// Replaces the recipient (with or without its `+`) in `text` by its mask.
fn mask_number(text: &str, to: &str) -> String {
    let digits = to.trim_start_matches('+');
    if digits.len() < 5 {
        return text.to_string();
    }
    let masked = mask_address(to);
    text.replace(to, &masked).replace(digits, &masked)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: &str = "+13036582075";

    #[test]
    fn success_yields_the_sid() {
        let answer = br#"{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}"#;
        assert_eq!(
            classify(StatusCode::CREATED, answer, TO),
            Ok("SM0123456789abcdef0123456789abcdef".to_string())
        );
        assert!(matches!(
            classify(StatusCode::CREATED, b"<html>", TO),
            Err(DeliveryError::Permanent(_))
        ));
        assert!(matches!(
            classify(StatusCode::CREATED, br#"{"sid":"SM 1; drop"}"#, TO),
            Err(DeliveryError::Permanent(_))
        ));
    }

    #[test]
    fn busy_and_broken_are_transient_bad_requests_are_permanent() {
        let busy = br#"{"code":20429,"message":"Too Many Requests","status":429}"#;
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, busy, TO),
            Err(DeliveryError::Transient(_))
        ));
        for code in [500, 502, 503, 504] {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            assert!(matches!(
                classify(status, b"", TO),
                Err(DeliveryError::Transient(_))
            ));
        }
        for code in [400, 401, 403, 404] {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
            assert!(matches!(
                classify(status, b"", TO),
                Err(DeliveryError::Permanent(_))
            ));
        }
    }

    #[test]
    fn errors_carry_twilio_code_and_message_with_the_number_masked() {
        let answer = br#"{"code":21211,"message":"The 'To' number +13036582075 is not a valid phone number.","status":400}"#;
        let Err(DeliveryError::Permanent(text)) = classify(StatusCode::BAD_REQUEST, answer, TO)
        else {
            panic!("400 is permanent");
        };
        assert!(text.contains("HTTP 400 Bad Request"), "{text}");
        assert!(text.contains("21211"), "{text}");
        assert!(text.contains("not a valid phone number"), "{text}");
        assert!(!text.contains("3036582075"), "{text}");
        assert!(text.contains("***-***-2075"), "{text}");

        let bare = mask_number("no 13036582075 here", TO);
        assert_eq!(bare, "no ***-***-2075 here");
    }

    #[test]
    fn urls_are_built_under_the_configured_bases() {
        let base = Url::parse("https://api.twilio.com").unwrap();
        assert_eq!(
            resource_url(&base, "AC123", "Messages.json")
                .unwrap()
                .as_str(),
            "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
        );
        assert_eq!(
            resource_url(&base, "AC123", "Calls.json").unwrap().as_str(),
            "https://api.twilio.com/2010-04-01/Accounts/AC123/Calls.json"
        );
        let prefixed = Url::parse("http://127.0.0.1:9000/twilio/").unwrap();
        assert_eq!(
            resource_url(&prefixed, "AC/../x", "Messages.json")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9000/twilio/2010-04-01/Accounts/AC%2F..%2Fx/Messages.json"
        );
        for (public, want) in [
            (
                "https://help.example.gov/",
                "https://help.example.gov/twilio/sms/status",
            ),
            (
                "https://city.example.gov/helpline",
                "https://city.example.gov/helpline/twilio/sms/status",
            ),
        ] {
            let public = Url::parse(public).unwrap();
            let u = under_public_url(&public, "twilio/sms/status").unwrap();
            assert_eq!(u.as_str(), want);
            let voice = under_public_url(&public, "twilio/voice/status").unwrap();
            assert_eq!(voice.as_str(), want.replace("sms", "voice"));
        }
    }

    #[test]
    fn a_calls_twiml_url_is_the_public_url_and_the_path_as_signed() {
        let at = |public: &str, path: &str| {
            twiml_url(&Url::parse(public).unwrap(), path).map(|u| u.to_string())
        };
        assert_eq!(
            at("https://help.example.gov/", "/twilio/voice/callback?c=CA12").as_deref(),
            Some("https://help.example.gov/twilio/voice/callback?c=CA12")
        );
        assert_eq!(
            at("https://city.example.gov/helpline", "/twilio/voice/cb?c=1").as_deref(),
            Some("https://city.example.gov/helpline/twilio/voice/cb?c=1")
        );
        for bad in ["//evil.example/x", "twilio/voice", "/@evil.example", "/a b"] {
            let got = at("https://help.example.gov", bad);
            assert!(
                got.as_deref()
                    .is_none_or(|u| u.starts_with("https://help.example.gov/")),
                "{bad}: {got:?}"
            );
        }
        assert_eq!(at("https://help.example.gov", "//evil.example/x"), None);
    }

    fn settings() -> Settings {
        let mut s = Settings::for_local("sqlite://unused.db");
        s.twilio.account_sid = Some("AC0123".into());
        s.twilio.auth_token = Some(SecretString::from("tok-very-secret-42"));
        s.twilio.from = Some("+13035550100".into());
        s.twilio.sms_enabled = true;
        s
    }

    #[test]
    fn calls_need_voice_on() {
        let mut s = settings();
        s.twilio.voice_enabled = false;
        assert!(TwilioRest::for_calls(&s).is_none());
        s.twilio.voice_enabled = true;
        s.twilio.sms_enabled = false;
        assert!(TwilioRest::for_calls(&s).is_some());
        assert!(TwilioRest::from_settings(&s).is_none());
    }

    #[test]
    fn built_only_when_sms_is_on_and_complete() {
        assert!(TwilioRest::from_settings(&settings()).is_some());
        let mut off = settings();
        off.twilio.sms_enabled = false;
        assert!(TwilioRest::from_settings(&off).is_none());
        let mut no_token = settings();
        no_token.twilio.auth_token = None;
        assert!(TwilioRest::from_settings(&no_token).is_none());
        let mut no_sid = settings();
        no_sid.twilio.account_sid = None;
        assert!(TwilioRest::from_settings(&no_sid).is_none());
        let mut no_from = settings();
        no_from.twilio.from = None;
        assert!(TwilioRest::from_settings(&no_from).is_none());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = TwilioRest::from_settings(&settings()).unwrap();
        let shown = format!("{t:?}");
        assert!(!shown.contains("tok-very-secret-42"), "{shown}");
        assert!(shown.contains("AC0123"), "{shown}");
    }
}
