//! Posting webhooks as Twilio posts them, over real HTTP: signed with the account's auth token
//! over the URL Twilio was given — the app's public URL with the path and query — while the
//! request itself goes to the loopback address the test app listens on.
//!
//! The signing here is written out again from Twilio's description rather than calling the
//! app's own code, so a mistake in one is caught by the other (and by Twilio's vectors, which
//! both must pass).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use helpline::config::Settings;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};

use super::TestApp;
use super::browser::Page;
use super::twilio::AUTH_TOKEN;

/// Twilio's `X-Twilio-Signature` for `params` posted to `url`: base64 of HMAC-SHA1 keyed by
/// `token` over the URL followed by each parameter's name and value, sorted by name.
pub fn twilio_sign(url: &str, params: &[(&str, &str)], token: &str) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

#[test]
fn twilio_sign_matches_twilios_vectors() {
    let params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
        ("Caller", "+14158675309"),
    ];
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(
        twilio_sign(url, &params, "12345"),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    let url = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    assert_eq!(
        twilio_sign(url, &params, "12345"),
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    );
}

/// Gives the app the stand-in account's auth token, so it accepts webhooks signed with it
/// (what [`TestApp::post_signed`] signs with). `TwilioStandIn::configure` does this too.
pub fn with_webhook_token(settings: &mut Settings) {
    settings.twilio.auth_token = Some(SecretString::from(AUTH_TOKEN));
}

/// A call's first webhook, as Twilio sends it (the fields every voice webhook carries).
pub fn incoming_call(call_sid: &str, from: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", super::twilio::ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Called", super::twilio::FROM),
        ("Caller", from),
        ("Direction", "inbound"),
        ("From", from),
        ("To", super::twilio::FROM),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl TestApp {
    /// The URL Twilio would have been given for `path` (`/twilio/voice?step=2`): the public
    /// URL (its path a prefix) and then `path`.
    pub fn twilio_url(&self, path: &str) -> String {
        let public = self.state.settings.public_url.as_str();
        format!("{}{path}", public.trim_end_matches('/'))
    }

    /// Posts `params` to `path` signed as Twilio signs it with the app's auth token.
    pub async fn post_signed(&self, path: &str, params: &[(&str, &str)]) -> Page {
        let token = self
            .state
            .settings
            .twilio
            .auth_token
            .as_ref()
            .map(|t| t.expose_secret().to_string())
            .expect("the app has no Twilio auth token: spawn it with `with_webhook_token`");
        let signature = twilio_sign(&self.twilio_url(path), params, &token);
        self.post_twilio(path, params, Some(&signature)).await
    }

    /// [`post_signed`](TestApp::post_signed) for owned fields (as [`incoming_call`] makes).
    pub async fn post_signed_owned(&self, path: &str, params: &[(String, String)]) -> Page {
        let borrowed: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post_signed(path, &borrowed).await
    }

    /// Posts `params` to `path` with the given `X-Twilio-Signature` (none when `None`).
    pub async fn post_twilio(
        &self,
        path: &str,
        params: &[(&str, &str)],
        signature: Option<&str>,
    ) -> Page {
        let mut req = super::http().post(self.url(path)).form(params);
        if let Some(s) = signature {
            req = req.header("x-twilio-signature", s);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().await.expect("body");
        Page {
            status,
            headers,
            body,
        }
    }
}
