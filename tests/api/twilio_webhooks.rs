//! The gate in front of every Twilio route, over real HTTP: `X-Twilio-Signature` checked over
//! the public URL (never the Host header) with Twilio's port quirk, 400/403/413/503 refusals,
//! TwiML served as `text/xml`, and refusals logged with the call's sid but never its digits.
//! Runs against `POST /twilio/voice` (a placeholder answer until the voice flow lands).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TestApp;
use crate::common::logs;
use crate::common::twilio::AUTH_TOKEN;
use crate::common::webhooks::{incoming_call, twilio_sign, with_webhook_token};

const VOICE: &str = "/twilio/voice";
const CALL_SID: &str = "CA0123456789abcdef0123456789abcdef";
/// A number keyed in: it must never reach a log line.
const KEYED: &str = "3036582075";

fn call() -> Vec<(String, String)> {
    incoming_call(CALL_SID, "+13036582075")
}

fn borrowed(p: &[(String, String)]) -> Vec<(&str, &str)> {
    p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn app_at(public_url: &str) -> TestApp {
    let public_url = url::Url::parse(public_url).expect("public URL");
    TestApp::spawn_with(move |s| {
        with_webhook_token(s);
        s.public_url = public_url;
    })
    .await
}

#[tokio::test]
async fn a_signed_call_gets_twiml_as_text_xml() {
    let app = TestApp::spawn_with(with_webhook_token).await;
    let page = app.post_signed_owned(VOICE, &call()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let ct = page.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/xml"), "{ct}");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(
        page.body.starts_with(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="dtmf speech""#
        ),
        "{}",
        page.body
    );
    assert!(page.body.ends_with("</Response>"), "{}", page.body);
}

#[tokio::test]
async fn a_missing_signature_is_400_and_logged_with_the_sid_not_the_digits() {
    let app = TestApp::spawn_with(with_webhook_token).await;
    let mut p = call();
    p.push(("Digits".into(), KEYED.into()));
    let page = app.post_twilio(VOICE, &borrowed(&p), None).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("X-Twilio-Signature"), "{}", page.body);
    let log = logs::captured();
    assert!(log.contains("refused a Twilio webhook"), "{log}");
    assert!(log.contains(CALL_SID), "the sid is logged: {log}");
    assert!(!log.contains(KEYED), "digits keyed in were logged: {log}");
}

#[tokio::test]
async fn a_wrong_signature_is_403() {
    let app = TestApp::spawn_with(with_webhook_token).await;
    let mut p = call();
    p.push(("Digits".into(), KEYED.into()));
    let fields = borrowed(&p);
    let url = app.twilio_url(VOICE);
    let other_token = twilio_sign(&url, &fields, "another account's token");
    let page = app.post_twilio(VOICE, &fields, Some(&other_token)).await;
    assert_eq!(page.status, 403, "{}", page.body);

    // Signed for other digits than those sent.
    let mut keyed_other = fields.clone();
    keyed_other.retain(|(k, _)| *k != "Digits");
    keyed_other.push(("Digits", "3036582076"));
    let sig = twilio_sign(&url, &keyed_other, AUTH_TOKEN);
    assert_eq!(
        app.post_twilio(VOICE, &fields, Some(&sig)).await.status,
        403
    );

    // Signed for another step's query.
    let sig = twilio_sign(&app.twilio_url("/twilio/voice?step=1"), &fields, AUTH_TOKEN);
    let page = app
        .post_twilio("/twilio/voice?step=2", &fields, Some(&sig))
        .await;
    assert_eq!(page.status, 403);

    // Signed over the address the request really went to (what the Host header says).
    let sig = twilio_sign(&app.url(VOICE), &fields, AUTH_TOKEN);
    assert_eq!(
        app.post_twilio(VOICE, &fields, Some(&sig)).await.status,
        403
    );

    assert_eq!(app.post_twilio(VOICE, &fields, Some("")).await.status, 403);
    assert_eq!(
        app.post_twilio(VOICE, &fields, Some("%%%")).await.status,
        403
    );

    let log = logs::captured();
    assert!(log.contains("does not match"), "{log}");
    assert!(!log.contains(KEYED), "digits keyed in were logged: {log}");
    assert!(!log.contains(AUTH_TOKEN), "the auth token was logged");
}

#[tokio::test]
async fn parameter_order_and_encoding_do_not_matter() {
    let app = TestApp::spawn_with(with_webhook_token).await;
    let mut p = call();
    p.push(("SpeechResult".into(), "sí, uno + dos & <tres>".into()));
    p.reverse();
    let page = app.post_signed_owned(VOICE, &p).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

#[tokio::test]
async fn either_port_form_is_accepted_and_no_other() {
    let app = app_at("https://helpline.example.gov/").await;
    let p = call();
    let fields = borrowed(&p);
    for (url, want) in [
        ("https://helpline.example.gov/twilio/voice", 200),
        ("https://helpline.example.gov:443/twilio/voice", 200),
        ("https://helpline.example.gov:8443/twilio/voice", 403),
        ("https://helpline.example.gov:80/twilio/voice", 403),
        ("http://helpline.example.gov/twilio/voice", 403),
        ("https://helpline.example.gov/twilio/voice/", 403),
    ] {
        let sig = twilio_sign(url, &fields, AUTH_TOKEN);
        let page = app.post_twilio(VOICE, &fields, Some(&sig)).await;
        assert_eq!(page.status, want, "signed over {url}: {}", page.body);
    }
    // Twilio's own vector pair: each signature is accepted under either URL form, and the
    // query is part of the URL.
    let path = "/twilio/voice?foo=1&bar=2";
    for url in [
        "https://helpline.example.gov/twilio/voice?foo=1&bar=2",
        "https://helpline.example.gov:443/twilio/voice?foo=1&bar=2",
    ] {
        let sig = twilio_sign(url, &fields, AUTH_TOKEN);
        assert_eq!(
            app.post_twilio(path, &fields, Some(&sig)).await.status,
            200,
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_public_url_written_with_its_port_or_a_path_is_what_is_signed() {
    let app = app_at("https://helpline.example.gov:443/").await;
    let p = call();
    let sig = twilio_sign(
        "https://helpline.example.gov/twilio/voice",
        &borrowed(&p),
        AUTH_TOKEN,
    );
    let page = app.post_twilio(VOICE, &borrowed(&p), Some(&sig)).await;
    assert_eq!(page.status, 200, "{}", page.body);

    let app = app_at("https://city.example.gov/helpline/").await;
    assert_eq!(
        app.twilio_url(VOICE),
        "https://city.example.gov/helpline/twilio/voice"
    );
    assert_eq!(app.post_signed_owned(VOICE, &p).await.status, 200);
    let without_prefix = twilio_sign(
        "https://city.example.gov/twilio/voice",
        &borrowed(&p),
        AUTH_TOKEN,
    );
    let page = app
        .post_twilio(VOICE, &borrowed(&p), Some(&without_prefix))
        .await;
    assert_eq!(page.status, 403);
}

#[tokio::test]
async fn without_an_auth_token_every_webhook_is_refused() {
    let app = TestApp::spawn().await;
    assert!(app.state.settings.twilio.auth_token.is_none());
    let p = call();
    let fields = borrowed(&p);
    for token in [AUTH_TOKEN, ""] {
        let sig = twilio_sign(&app.twilio_url(VOICE), &fields, token);
        let page = app.post_twilio(VOICE, &fields, Some(&sig)).await;
        assert_eq!(page.status, 503, "{}", page.body);
        assert!(!page.body.contains("<Response>"), "{}", page.body);
    }
    assert_eq!(app.post_twilio(VOICE, &fields, None).await.status, 503);
    let log = logs::captured();
    assert!(
        log.contains("HELPLINE_TWILIO_AUTH_TOKEN") && log.contains("ERROR"),
        "the refusal names the missing setting at error level: {log}"
    );
}

#[tokio::test]
async fn a_signed_form_without_the_needed_fields_is_400() {
    let app = TestApp::spawn_with(with_webhook_token).await;
    let page = app.post_signed(VOICE, &[("From", "+13036582075")]).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(
        page.body.contains("missing field `CallSid`"),
        "{}",
        page.body
    );
    assert!(!logs::captured().contains(KEYED));
}

#[tokio::test]
async fn a_huge_body_is_413() {
    let app = TestApp::spawn_with(with_webhook_token).await;
    let mut p = call();
    let big = "9".repeat(helpline::channels::twilio::MAX_WEBHOOK_BYTES);
    p.push(("Digits".into(), big.clone()));
    let page = app.post_signed_owned(VOICE, &p).await;
    assert_eq!(page.status, 413, "{}", page.body);
    // Just under the cap is read and judged on its signature.
    let mut p = call();
    p.push(("Digits".into(), "9".repeat(60_000)));
    assert_eq!(app.post_signed_owned(VOICE, &p).await.status, 200);
    assert!(!logs::captured().contains(&big[..64]));
}

/// A chunked upload declares no length: the cap applies while reading.
#[tokio::test]
async fn a_huge_chunked_body_is_413() {
    let app = TestApp::spawn_with(with_webhook_token).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST {VOICE} HTTP/1.1\r\nHost: {addr}\r\nX-Twilio-Signature: AAAA\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("head");
    let chunk = vec![b'a'; 16 * 1024];
    for _ in 0..5 {
        // The server may answer and stop reading before the last chunk.
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if s.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server answered within 10 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

/// Refusals need nothing but the settings: with the database gone they are still the same
/// refusals, not errors.
#[tokio::test]
async fn refusals_do_not_touch_the_store() {
    let app = TestApp::spawn_with(with_webhook_token).await;
    app.state.store.pool().close().await;
    let p = call();
    let fields = borrowed(&p);
    assert_eq!(app.post_twilio(VOICE, &fields, None).await.status, 400);
    assert_eq!(
        app.post_twilio(VOICE, &fields, Some("AAAA")).await.status,
        403
    );
}
