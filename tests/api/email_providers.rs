//! Email to the help line through the providers' own formats (`/email/inbound/mailgun`,
//! `/sendgrid`, `/postmark`) over real HTTP, against the app with the sample roster: their
//! authentication, raw and parsed modes, replays, sizes, and a reset request through each one
//! ending in a reset email over the loopback SMTP.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use helpline::clock::Clock as _;
use helpline::store::mailgun_tokens;
use helpline::store::tickets::{self, Ticket};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use tokio::sync::Barrier;

use crate::common::http;
use crate::common::outbox::settled;
use crate::portal::{Portal, assert_logs_clean, reset_token, text_of};

/// The basic-auth password of SendGrid and Postmark (the raw route's token).
const TOKEN: &str = "inbound-provider-token-3f9a61c0d27e";
/// Mailgun's signing key.
const KEY: &str = "key-mailgun-signing-7b21e9d04c58a6f3";
/// C-1001's email on record.
const PAT: &str = "pat@frontrange-roofing.example";
const STRANGER: &str = "someone@elsewhere.example";
/// Pat's mail server checked the domain.
const AUTH_PASS: &str = "mx.westminster.example.gov; dkim=pass header.d=frontrange-roofing.example; \
                         dmarc=pass header.from=frontrange-roofing.example";
const BOUNDARY: &str = "----helpline-test-boundary-7d1";

async fn start() -> Portal {
    Portal::start_with(|s| {
        s.mail.inbound_token = Some(TOKEN.to_string().into());
        s.mail.mailgun_signing_key = Some(KEY.to_string().into());
    })
    .await
}

/// A plain email (raw modes).
fn email(from: &str, id: &str, subject: &str, text: &str) -> String {
    format!(
        "Authentication-Results: {AUTH_PASS}\r\nFrom: Someone <{from}>\r\n\
         To: help@westminster.example.gov\r\nSubject: {subject}\r\n\
         Date: Thu, 3 Dec 2026 10:00:00 -0700\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
}

/// A multipart/form-data body of `fields` (name, optional file name, bytes).
fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, bytes) in fields {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some(f) => out.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Posts `body` to `path` with `content_type` and, when given, basic auth with `password`.
async fn post(
    p: &Portal,
    path: &str,
    content_type: &str,
    password: Option<&str>,
    body: Vec<u8>,
) -> (u16, String) {
    let mut req = http()
        .post(p.app.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(pw) = password {
        req = req.basic_auth("helpline", Some(pw));
    }
    let res = req.send().await.expect("post");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

/// Mailgun's signature fields for `token` at `seconds`, signed with `key`.
fn signature(key: &str, seconds: i64, token: &str) -> Vec<(String, String)> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{seconds}{token}").as_bytes());
    vec![
        ("timestamp".into(), seconds.to_string()),
        ("token".into(), token.into()),
        ("signature".into(), hex::encode(mac.finalize().into_bytes())),
    ]
}

fn now_seconds(p: &Portal) -> i64 {
    p.app.clock.now_ms() / 1000
}

/// Mailgun's parsed mode, form-encoded: the headers as JSON and the text.
fn mailgun_parsed(sig: &[(String, String)], headers: &[(&str, &str)], text: &str) -> Vec<u8> {
    let json = serde_json::to_string(headers).unwrap();
    let mut pairs: Vec<(String, String)> = sig.to_vec();
    pairs.push(("message-headers".into(), json));
    pairs.push(("body-plain".into(), text.into()));
    pairs.push(("stripped-text".into(), text.into()));
    serde_urlencoded::to_string(&pairs).unwrap().into_bytes()
}

async fn mailgun_form(p: &Portal, body: Vec<u8>) -> (u16, String) {
    post(
        p,
        "/email/inbound/mailgun",
        "application/x-www-form-urlencoded",
        None,
        body,
    )
    .await
}

/// Mailgun's raw mode (multipart, `body-mime`).
async fn mailgun_mime(p: &Portal, sig: &[(String, String)], mime: &[u8]) -> (u16, String) {
    let mut fields: Vec<(&str, Option<&str>, &[u8])> = sig
        .iter()
        .map(|(n, v)| (n.as_str(), None, v.as_bytes()))
        .collect();
    fields.push(("body-mime", None, mime));
    post(
        p,
        "/email/inbound/mailgun?format=mime",
        &multipart_type(),
        None,
        multipart(&fields),
    )
    .await
}

async fn sendgrid(
    p: &Portal,
    password: Option<&str>,
    fields: &[(&str, Option<&str>, &[u8])],
) -> (u16, String) {
    post(
        p,
        "/email/inbound/sendgrid",
        &multipart_type(),
        password,
        multipart(fields),
    )
    .await
}

async fn postmark(p: &Portal, password: Option<&str>, doc: &serde_json::Value) -> (u16, String) {
    post(
        p,
        "/email/inbound/postmark",
        "application/json",
        password,
        serde_json::to_vec(doc).unwrap(),
    )
    .await
}

async fn tickets_of(p: &Portal, kind: &str) -> Vec<Ticket> {
    tickets::open_tickets(p.app.state.store.pool())
        .await
        .expect("tickets")
        .into_iter()
        .filter(|t| t.kind == kind)
        .collect()
}

async fn templates(p: &Portal) -> Vec<String> {
    sqlx::query_scalar("SELECT channel || ':' || template FROM outbox ORDER BY id")
        .fetch_all(p.app.state.store.pool())
        .await
        .expect("templates")
}

/// The reset email reached Pat over SMTP, with a link.
async fn assert_reset_link_sent(p: &Portal) {
    let mails = p.smtp.wait_for(1).await;
    assert_eq!(mails[0].to, vec![format!("<{PAT}>")]);
    let token = reset_token(&text_of(&mails[0].data));
    assert_eq!(token.len(), 64);
    assert_eq!(templates(p).await, ["email:reset_link"]);
}

#[tokio::test]
async fn mailgun_parsed_reset_request_ends_in_a_reset_email() {
    let p = start().await;
    let sig = signature(
        KEY,
        now_seconds(&p),
        "tok-parsed-0000000000000000000000000000000000001",
    );
    let body = mailgun_parsed(
        &sig,
        &[
            ("Authentication-Results", AUTH_PASS),
            ("From", &format!("Pat <{PAT}>")),
            ("Subject", "RESET C-1001"),
            ("Message-Id", "<mg1@frontrange-roofing.example>"),
            ("Content-Type", "multipart/alternative; boundary=\"gone\""),
        ],
        "",
    );
    let (status, answer) = mailgun_form(&p, body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("reset request"), "{answer}");
    assert_reset_link_sent(&p).await;
    assert_logs_clean(&[KEY, TOKEN]);
}

#[tokio::test]
async fn mailgun_raw_mime_reset_request_ends_in_a_reset_email() {
    let p = start().await;
    let sig = signature(
        KEY,
        now_seconds(&p),
        "tok-mime-00000000000000000000000000000000000000001",
    );
    let raw = email(PAT, "mg2@frontrange-roofing.example", "RESET C-1001", "");
    let (status, answer) = mailgun_mime(&p, &sig, raw.as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    assert_reset_link_sent(&p).await;
    assert_logs_clean(&[KEY, TOKEN]);
}

#[tokio::test]
async fn mailgun_refuses_bad_missing_and_stale_signatures_with_406() {
    let p = start().await;
    let now = now_seconds(&p);
    let headers = [
        ("From", "Pat <pat@frontrange-roofing.example>"),
        ("Subject", "hello"),
    ];
    let bad = signature("key-not-ours", now, "tok-bad-1");
    let (status, answer) = mailgun_form(&p, mailgun_parsed(&bad, &headers, "hi")).await;
    assert_eq!(
        (status, answer.trim()),
        (406, "wrong signature: check HELPLINE_MAILGUN_SIGNING_KEY")
    );
    let (status, answer) = mailgun_form(&p, mailgun_parsed(&[], &headers, "hi")).await;
    assert_eq!(status, 406, "{answer}");
    assert!(answer.contains("missing signature"), "{answer}");
    // A signature of an hour ago, and one from the future.
    for at in [now - 3600, now + 600] {
        let stale = signature(KEY, at, &format!("tok-stale-{at}"));
        let (status, answer) = mailgun_form(&p, mailgun_parsed(&stale, &headers, "hi")).await;
        assert_eq!(status, 406, "{answer}");
        assert!(answer.contains("stale timestamp"), "{answer}");
    }
    // Four minutes off is still fresh.
    let fresh = signature(KEY, now - 240, "tok-fresh-1");
    let (status, answer) = mailgun_form(&p, mailgun_parsed(&fresh, &headers, "hi")).await;
    assert_eq!(status, 200, "{answer}");
    // Signed but malformed: 400, saying what is wrong.
    let sig = signature(KEY, now, "tok-malformed-1");
    let mut pairs = sig.clone();
    pairs.push(("message-headers".into(), "{not json".into()));
    let (status, answer) = mailgun_form(
        &p,
        serde_urlencoded::to_string(&pairs).unwrap().into_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("message-headers"), "{answer}");
    // Not a form at all.
    let (status, answer) = post(
        &p,
        "/email/inbound/mailgun",
        "application/json",
        None,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_logs_clean(&[KEY, TOKEN]);
}

#[tokio::test]
async fn mailgun_without_a_signing_key_is_off() {
    let p = Portal::start_with(|s| s.mail.inbound_token = Some(TOKEN.to_string().into())).await;
    let sig = signature(KEY, now_seconds(&p), "tok-off-1");
    let (status, answer) = mailgun_form(&p, mailgun_parsed(&sig, &[("From", PAT)], "hi")).await;
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("no signing key"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reused_mailgun_token_is_taken_once_even_at_once() {
    const COPIES: usize = 6;
    let p = Arc::new(start().await);
    let sig = signature(
        KEY,
        now_seconds(&p),
        "tok-race-000000000000000000000000000000000000001",
    );
    let body = mailgun_parsed(
        &sig,
        &[
            ("From", &format!("Someone <{STRANGER}>")),
            ("Subject", "question"),
            ("Message-Id", "<race1@elsewhere.example>"),
        ],
        "How do I register?",
    );
    let barrier = Arc::new(Barrier::new(COPIES));
    let mut tasks = Vec::new();
    for _ in 0..COPIES {
        let (p, barrier, body) = (p.clone(), barrier.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            mailgun_form(&p, body).await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let (status, answer) = t.await.expect("task");
        if status == 406 {
            assert!(answer.contains("used before"), "{answer}");
        }
        statuses.push(status);
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 406, 406, 406, 406, 406],
        "exactly one copy acts"
    );
    assert_eq!(tickets_of(&p, "email_received").await.len(), 1);
    // And once more later (a replay with a fresh-looking signature of the same token).
    let (status, _) = mailgun_form(&p, body.clone()).await;
    assert_eq!(status, 406);
}

#[tokio::test]
async fn a_mailgun_resend_after_a_failed_try_is_taken_once_though_stale() {
    let p = start().await;
    let token = "tok-retry-00000000000000000000000000000000000000001";
    let sig = signature(KEY, now_seconds(&p), token);
    let raw = email(
        STRANGER,
        "retry1@elsewhere.example",
        "question",
        "How do I register?",
    );
    let (status, answer) = mailgun_mime(&p, &sig, raw.as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    // As if that try had failed (503): the route marks the token so.
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    mailgun_tokens::allow_retry(p.app.state.store.pool(), &hash)
        .await
        .unwrap();
    // Mailgun resends the same signature ten minutes later: stale, but a retry.
    p.app.clock.advance(Duration::from_secs(10 * 60));
    let (status, answer) = mailgun_mime(&p, &sig, raw.as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = mailgun_mime(&p, &sig, raw.as_bytes()).await;
    assert_eq!(status, 406, "one resend only: {answer}");
    assert!(answer.contains("stale"), "{answer}");
    assert_eq!(tickets_of(&p, "email_received").await.len(), 1);
}

#[tokio::test]
async fn sendgrid_raw_reset_request_ends_in_a_reset_email() {
    let p = start().await;
    let raw = email(PAT, "sg1@frontrange-roofing.example", "RESET C-1001", "");
    let (status, answer) = sendgrid(
        &p,
        Some(TOKEN),
        &[
            ("email", None, raw.as_bytes()),
            ("to", None, b"help@westminster.example.gov"),
            ("charsets", None, br#"{"to":"UTF-8"}"#),
        ],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_reset_link_sent(&p).await;
    assert_logs_clean(&[KEY, TOKEN]);
}

#[tokio::test]
async fn sendgrid_parsed_mode_respects_charsets_and_keeps_headers() {
    let p = start().await;
    let headers = format!(
        "Authentication-Results: {AUTH_PASS}\r\nFrom: Pat <{PAT}>\r\nSubject: RESET C-1001\r\n\
         Message-ID: <sg2@frontrange-roofing.example>\r\nContent-Type: multipart/alternative; \
         boundary=\"x\"\r\n"
    );
    let (status, answer) = sendgrid(
        &p,
        Some(TOKEN),
        &[
            ("headers", None, headers.as_bytes()),
            ("text", None, b"Gracias, se\xf1or"),
            ("html", None, b"<p>Gracias</p>"),
            ("from", None, PAT.as_bytes()),
            ("subject", None, b"RESET C-1001"),
            ("charsets", None, br#"{"text":"iso-8859-1","html":"UTF-8"}"#),
            ("dkim", None, b"{@frontrange-roofing.example : pass}"),
            ("SPF", None, b"pass"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_reset_link_sent(&p).await;

    // A stranger writes in Latin-1: the ticket holds the words, decoded.
    let headers = format!(
        "From: Someone <{STRANGER}>\r\nSubject: pregunta\r\nMessage-ID: <sg3@elsewhere.example>\r\n"
    );
    let (status, answer) = sendgrid(
        &p,
        Some(TOKEN),
        &[
            ("headers", None, headers.as_bytes()),
            ("text", None, b"\xbfC\xf3mo me registro, se\xf1or?"),
            ("charsets", None, br#"{"text":"iso-8859-1"}"#),
        ],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let t = tickets_of(&p, "email_received").await;
    assert_eq!(t.len(), 1);
    assert!(
        t[0].detail.contains("¿Cómo me registro, señor?"),
        "{}",
        t[0].detail
    );
    assert_logs_clean(&[KEY, TOKEN]);
}

#[tokio::test]
async fn sendgrid_and_postmark_need_the_basic_auth_password() {
    let p = start().await;
    let raw = email(STRANGER, "auth1@elsewhere.example", "question", "hi");
    for pw in [None, Some("wrong-password")] {
        let (status, answer) = sendgrid(&p, pw, &[("email", None, raw.as_bytes())]).await;
        assert_eq!(status, 401, "{answer}");
        assert!(answer.contains("credentials"), "{answer}");
        let doc = serde_json::json!({"RawEmail": raw});
        let (status, answer) = postmark(&p, pw, &doc).await;
        assert_eq!(status, 401, "{answer}");
    }
    // A body that is not what the provider sends: 400, saying what is wrong.
    let (status, answer) = post(
        &p,
        "/email/inbound/sendgrid",
        "text/plain",
        Some(TOKEN),
        b"x".to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("multipart/form-data"), "{answer}");
    let (status, answer) = post(
        &p,
        "/email/inbound/postmark",
        "application/json",
        Some(TOKEN),
        b"[1,".to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("Postmark's inbound JSON"), "{answer}");
    assert!(templates(&p).await.is_empty());
    assert_logs_clean(&[KEY, TOKEN]);
}

#[tokio::test]
async fn postmark_parsed_reset_request_ends_in_a_reset_email() {
    let p = start().await;
    let doc = serde_json::json!({
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "From": PAT,
        "FromFull": {"Email": PAT, "Name": "Pat \"Roofer\"", "MailboxHash": ""},
        "To": "help@westminster.example.gov",
        "Subject": "RESET C-1001",
        "TextBody": "",
        "HtmlBody": "",
        "Headers": [
            {"Name": "Authentication-Results", "Value": AUTH_PASS},
            {"Name": "Message-ID", "Value": "<pm1@frontrange-roofing.example>"},
            {"Name": "MIME-Version", "Value": "1.0"}
        ],
        "Attachments": []
    });
    let (status, answer) = postmark(&p, Some(TOKEN), &doc).await;
    assert_eq!(status, 200, "{answer}");
    assert_reset_link_sent(&p).await;
    assert_logs_clean(&[KEY, TOKEN]);
}

#[tokio::test]
async fn postmark_raw_and_its_id_keep_a_message_once_and_machines_unanswered() {
    let p = start().await;
    // Raw mode.
    let raw = email(PAT, "pm2@frontrange-roofing.example", "RESET C-1001", "");
    let (status, answer) = postmark(&p, Some(TOKEN), &serde_json::json!({"RawEmail": raw})).await;
    assert_eq!(status, 200, "{answer}");
    assert_reset_link_sent(&p).await;
    // No Message-ID header: Postmark's MessageID keys it, a retry does nothing.
    let doc = serde_json::json!({
        "MessageID": "9b0b5a4e-1111-4c8e-9d7e-0f5c1a2b3c4d",
        "FromFull": {"Email": STRANGER, "Name": "Someone"},
        "Subject": "question",
        "TextBody": "How do I register?",
        "Headers": []
    });
    assert_eq!(postmark(&p, Some(TOKEN), &doc).await.0, 200);
    let (status, again) = postmark(&p, Some(TOKEN), &doc).await;
    assert_eq!(status, 200);
    assert!(again.contains("already received"), "{again}");
    assert_eq!(tickets_of(&p, "email_received").await.len(), 1);
    // An out-of-office, known only from its headers: never answered.
    let auto = serde_json::json!({
        "MessageID": "9b0b5a4e-2222-4c8e-9d7e-0f5c1a2b3c4d",
        "FromFull": {"Email": STRANGER, "Name": "Someone"},
        "Subject": "Out of office",
        "TextBody": "I am away.",
        "Headers": [{"Name": "Auto-Submitted", "Value": "auto-replied"}]
    });
    let (status, answer) = postmark(&p, Some(TOKEN), &auto).await;
    assert_eq!(status, 200);
    assert!(answer.contains("automatic message"), "{answer}");
    settled(&p.app.state.store).await;
    assert_logs_clean(&[KEY, TOKEN]);
}

#[tokio::test]
async fn a_20_mb_message_gets_each_providers_do_not_retry_status() {
    let p = start().await;
    let big = format!(
        "{}{}",
        email(STRANGER, "big@elsewhere.example", "big", ""),
        "x".repeat(20 * 1024 * 1024)
    );
    let sig = signature(KEY, now_seconds(&p), "tok-big-1");
    let (status, answer) = mailgun_mime(&p, &sig, big.as_bytes()).await;
    assert_eq!(status, 406, "{answer}");
    assert!(answer.contains("larger than 10 MB"), "{answer}");
    let (status, answer) = sendgrid(&p, Some(TOKEN), &[("email", None, big.as_bytes())]).await;
    assert_eq!(status, 413, "{answer}");
    let (status, answer) = postmark(&p, Some(TOKEN), &serde_json::json!({"RawEmail": big})).await;
    assert_eq!(status, 403, "{answer}");
    // Parsed: an attachment Postmark says is 20 MB.
    let doc = serde_json::json!({
        "FromFull": {"Email": STRANGER, "Name": ""},
        "Subject": "plans",
        "Attachments": [{"Name": "plans.pdf", "ContentLength": 20_000_000}]
    });
    assert_eq!(postmark(&p, Some(TOKEN), &doc).await.0, 403);
    // Past what any route reads: refused unread.
    let huge = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 25 * 1024 * 1024]);
    let (status, _) = postmark(&p, Some(TOKEN), &serde_json::json!({"RawEmail": huge})).await;
    assert_eq!(status, 403);
    assert!(templates(&p).await.is_empty());
    assert_logs_clean(&[KEY, TOKEN]);
}
