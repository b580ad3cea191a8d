//! Email to the help line (`POST /email/inbound`) over real HTTP with the bearer token,
//! against the app with the sample roster; answers and reset links go out over real SMTP to
//! the loopback sink, and a reset link ends in a new password set on the portal. What must not
//! be sent is checked in the outbox itself.

use std::sync::Arc;

use helpline::store::tickets::{self, Ticket};
use mail_parser::MessageParser;
use tokio::sync::Barrier;

use crate::common::outbox::{queued_count, settled};
use crate::common::{helpline, http, logs, run_with_input};
use crate::portal::{GOOD, Portal, assert_logs_clean, login, reset_token, text_of};

/// The token the mail server sends.
pub(crate) const TOKEN: &str = "inbound-test-token-8d1e47c2b6a95f30";
/// C-1001's email on record.
pub(crate) const PAT: &str = "pat@frontrange-roofing.example";
/// Nobody's email on record.
const STRANGER: &str = "someone@elsewhere.example";
/// The neutral answer to a reset request.
const NEUTRAL: &str = "If the number you sent and this email address match our records";

pub(crate) async fn start() -> Portal {
    Portal::start_with(|s| s.mail.inbound_token = Some(TOKEN.to_string().into())).await
}

/// Posts `raw` with `token` (none when `None`); the status and the answer's text.
pub(crate) async fn post(
    p: &Portal,
    token: Option<&str>,
    raw: impl Into<Vec<u8>>,
) -> (u16, String) {
    let mut req = http()
        .post(p.app.url("/email/inbound"))
        .header("content-type", "message/rfc822")
        .body(raw.into());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("post");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

/// Posts `raw` with the right token and expects it taken.
pub(crate) async fn deliver(p: &Portal, raw: impl Into<Vec<u8>>) -> String {
    let (status, body) = post(p, Some(TOKEN), raw).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A plain email from `from` with this Message-ID, subject and text.
pub(crate) fn email(from: &str, id: &str, subject: &str, text: &str) -> String {
    format!(
        "From: Someone <{from}>\r\nTo: help@westminster.example.gov\r\nSubject: {subject}\r\n\
         Date: Thu, 3 Dec 2026 10:00:00 -0700\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
}

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/api/fixtures/email/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

pub(crate) async fn tickets_of(p: &Portal, kind: &str) -> Vec<Ticket> {
    tickets::open_tickets(p.app.state.store.pool())
        .await
        .expect("tickets")
        .into_iter()
        .filter(|t| t.kind == kind)
        .collect()
}

/// `channel:template` of every queued or sent message, in order.
pub(crate) async fn templates(p: &Portal) -> Vec<String> {
    sqlx::query_scalar("SELECT channel || ':' || template FROM outbox ORDER BY id")
        .fetch_all(p.app.state.store.pool())
        .await
        .expect("outbox")
}

pub(crate) fn header(msg: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    msg.headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

#[tokio::test]
async fn the_token_is_checked_first_and_without_one_configured_nothing_is_taken() {
    let p = Portal::start().await;
    let raw = email(STRANGER, "a1@elsewhere.example", "hello", "I need help");
    let (status, body) = post(&p, Some(TOKEN), raw.clone()).await;
    assert_eq!(status, 503, "fail closed: {body}");
    assert!(body.contains("no token is configured"), "{body}");
    assert!(
        logs::captured().contains("HELPLINE_INBOUND_TOKEN"),
        "the log names the setting"
    );
    drop(p);

    let p = start().await;
    for token in [
        None,
        Some("wrong"),
        Some(""),
        Some(&TOKEN[..TOKEN.len() - 1]),
    ] {
        let (status, body) = post(&p, token, raw.clone()).await;
        assert_eq!(status, 401, "{token:?}: {body}");
    }
    // Not even a `Basic` header with the token in it.
    let res = http()
        .post(p.app.url("/email/inbound"))
        .basic_auth(TOKEN, None::<&str>)
        .body(raw.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(queued_count(&p.app.state.store).await, 0);
    assert!(tickets_of(&p, "email_received").await.is_empty());

    assert!(deliver(&p, raw).await.contains("message for staff"));
    assert_eq!(tickets_of(&p, "email_received").await.len(), 1);
    settled(&p.app.state.store).await;
    assert_logs_clean(&[TOKEN]);
}

/// Posts `len` bytes of a message by hand (a declared length, or chunks), reading the answer
/// even when the server stops reading early.
async fn raw_post(p: &Portal, len: usize, chunked: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = p.app.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {len}")
    };
    let head = format!(
        "POST /email/inbound HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: message/rfc822\r\n{framing}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("head");
    if chunked {
        let chunk = vec![b'a'; 1024 * 1024];
        for _ in 0..=len / chunk.len() {
            let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            if s.write_all(&frame).await.is_err() {
                break;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n").await;
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        s.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the server answered within 20 s");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn oversized_and_unreadable_messages_are_refused_clearly() {
    let p = start().await;
    let max = helpline::channels::email_in::MAX_EMAIL_BYTES;
    // A declared length over the cap is refused before the body is read; a chunked body that
    // grows over it is refused while it is read.
    for chunked in [false, true] {
        let answer = raw_post(&p, max + 1, chunked).await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "chunked {chunked}: {answer}"
        );
        assert!(answer.contains("do not retry"), "{answer}");
    }
    // Just under the cap is taken.
    let mut near = email(STRANGER, "near@elsewhere.example", "big", "x").into_bytes();
    near.resize(max - 10, b'x');
    deliver(&p, near).await;

    let (status, body) = post(&p, Some(TOKEN), Vec::new()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        queued_count(&p.app.state.store).await,
        1,
        "only the message under the cap was answered"
    );
}

#[tokio::test]
async fn a_reset_request_from_the_email_on_record_ends_in_a_new_password() {
    let p = start().await;
    // Pat's mail server checked the domain: DMARC passed.
    let raw = format!(
        "Authentication-Results: mx.westminster.example.gov; dkim=pass \
         header.d=frontrange-roofing.example; dmarc=pass header.from=frontrange-roofing.example\r\n{}",
        email(PAT, "r1@frontrange-roofing.example", "RESET C-1001", "")
    );
    let answer = deliver(&p, raw).await;
    assert!(answer.contains("reset request"), "{answer}");

    let mails = p.smtp.wait_for(1).await;
    assert_eq!(mails[0].to, vec![format!("<{PAT}>")]);
    let msg = MessageParser::default()
        .parse(&mails[0].data)
        .expect("parse");
    assert_eq!(
        msg.subject(),
        Some("Westminster: reset your contractor portal password")
    );
    assert_eq!(
        header(&msg, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let token = reset_token(&text_of(&mails[0].data));

    let mut b = p.browser();
    assert_eq!(
        b.get(&format!("/reset/{token}")).await.location(),
        Some("/reset")
    );
    let form = b.get("/reset").await;
    assert!(form.body.contains("C-1001"), "{}", form.body);
    let done = b
        .post(
            "/reset",
            &[
                ("password", GOOD),
                ("confirm", GOOD),
                ("question", "first_pet"),
                ("answer", "rex"),
                ("answer_again", "rex"),
            ],
        )
        .await;
    assert!(
        done.body.contains("Your password was changed"),
        "{}",
        done.body
    );
    assert_eq!(
        login(&mut b, "C-1001", GOOD).await.location(),
        Some("/account")
    );
    assert_eq!(
        templates(&p).await,
        [
            "email:reset_link",
            "email:password_changed",
            "sms:password_changed"
        ],
        "the link and the change notices; no other answer"
    );
    assert!(tickets_of(&p, "email_received").await.is_empty());

    // CLAVE from Sam's address on record: the link in Spanish.
    deliver(
        &p,
        email(
            "sam@milehigh.example",
            "r2@milehigh.example",
            "CLAVE C10-77231",
            "Gracias",
        ),
    )
    .await;
    let mails = p.smtp.wait_for(3).await;
    let es = mails
        .iter()
        .find(|m| m.to == ["<sam@milehigh.example>"])
        .expect("Sam's link");
    let msg = MessageParser::default().parse(&es.data).expect("parse");
    assert_eq!(
        msg.subject(),
        Some("Westminster: elija una contraseña nueva para el portal de contratistas")
    );
    settled(&p.app.state.store).await;
    assert_logs_clean(&[TOKEN, &token, GOOD]);
}

#[tokio::test]
async fn a_reset_request_from_anyone_else_reveals_nothing_and_opens_a_ticket() {
    let p = start().await;
    // A stranger names a real number, another an unknown one, and one forges Pat's address
    // where the receiving server says DMARC failed.
    deliver(
        &p,
        email(STRANGER, "s1@elsewhere.example", "RESET C-1001", ""),
    )
    .await;
    deliver(
        &p,
        email(
            "other@elsewhere.example",
            "s2@elsewhere.example",
            "Re: RESET C-9999",
            "",
        ),
    )
    .await;
    let forged = format!(
        "Authentication-Results: mx.westminster.example.gov; dmarc=fail \
         header.from=frontrange-roofing.example\r\n{}",
        email(PAT, "s3@forger.example", "RESET C-1001", "")
    );
    deliver(&p, forged).await;

    let mails = p.smtp.wait_for(3).await;
    settled(&p.app.state.store).await;
    assert_eq!(
        templates(&p).await,
        ["email:reset_request_received"; 3],
        "no reset link to anyone"
    );
    let texts: Vec<String> = mails.iter().map(|m| text_of(&m.data)).collect();
    assert!(texts[0].contains(NEUTRAL), "{}", texts[0]);
    assert!(
        texts.iter().all(|t| t == &texts[0]),
        "the same words whatever the number: {texts:?}"
    );
    let msg = MessageParser::default()
        .parse(&mails[0].data)
        .expect("parse");
    assert_eq!(
        header(&msg, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    let tickets = tickets_of(&p, "email_received").await;
    assert_eq!(tickets.len(), 3, "{tickets:?}");
    assert!(
        tickets
            .iter()
            .all(|t| t.summary.starts_with("Reset requested by email from"))
    );
    assert!(
        tickets.iter().all(|t| !t.detail.contains(STRANGER)),
        "addresses are masked in tickets"
    );
}

#[tokio::test]
async fn a_message_gets_a_ticket_and_one_threaded_answer_an_hour_and_the_answer_fed_back_gets_nothing()
 {
    let p = start().await;
    deliver(&p, fixture("outlook_reply.eml")).await;
    let mails = p.smtp.wait_for(1).await;
    assert_eq!(mails[0].to, vec!["<sam@milehigh.example>".to_string()]);
    let ack = MessageParser::default()
        .parse(&mails[0].data)
        .expect("parse");
    assert_eq!(ack.subject(), Some("Westminster: we received your email"));
    let incoming = "<BY5PR11MB4001A2E0C1F3B8D4E5F6A7B8C9D0BY5PR11MB4001@BY5PR11MB4001.namprd11.prod.outlook.com>";
    assert_eq!(header(&ack, "In-Reply-To").as_deref(), Some(incoming));
    assert_eq!(header(&ack, "References").as_deref(), Some(incoming));
    assert_eq!(
        header(&ack, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    let tickets = tickets_of(&p, "email_received").await;
    assert_eq!(tickets.len(), 1);
    assert!(
        tickets[0].detail.contains("new office email"),
        "{}",
        tickets[0].detail
    );
    assert!(
        !tickets[0].detail.contains("Sent: Thursday"),
        "quoted text stripped"
    );
    assert!(
        tickets[0].contractor_id.is_some(),
        "Sam's address is on record"
    );

    // The loop test: Helpline's own answer, bounced back by a forwarding rule, is not
    // answered; nor is an out-of-office.
    let answer = deliver(&p, mails[0].data.clone()).await;
    assert!(answer.contains("not answered"), "{answer}");
    let answer = deliver(&p, fixture("auto_reply.eml")).await;
    assert!(
        answer.contains("automatic message, not answered"),
        "{answer}"
    );

    // A second message from Sam within the hour joins the open ticket (issue 11: one sender's
    // mail within a day is one ticket), with no second answer.
    deliver(
        &p,
        email(
            "sam@milehigh.example",
            "m2@milehigh.example",
            "also",
            "One more thing",
        ),
    )
    .await;
    settled(&p.app.state.store).await;
    assert_eq!(templates(&p).await, ["email:email_received"]);
    assert_eq!(tickets_of(&p, "email_received").await.len(), 1);

    // Spanish in, Spanish out.
    deliver(&p, fixture("iso_8859_1.eml")).await;
    let mails = p.smtp.wait_for(2).await;
    let es = MessageParser::default()
        .parse(&mails[1].data)
        .expect("parse");
    assert_eq!(es.subject(), Some("Westminster: recibimos su correo"));
}

#[tokio::test]
async fn a_bounce_for_an_address_on_record_opens_a_ticket_and_is_not_answered() {
    let p = start().await;
    let answer = deliver(&p, fixture("dsn_bounce.eml")).await;
    assert!(answer.contains("bounce"), "{answer}");
    let tickets = tickets_of(&p, "email_bounced").await;
    assert_eq!(tickets.len(), 1, "only the failed address on record");
    assert_eq!(
        tickets[0].contractor_id,
        Some(p.contractor_id("C-1002").await)
    );
    assert!(
        tickets[0].summary.contains("s***@milehigh.example"),
        "{}",
        tickets[0].summary
    );
    assert_eq!(queued_count(&p.app.state.store).await, 0, "never answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_message_id_posted_again_and_at_once_gets_one_answer() {
    const COPIES: usize = 6;
    let p = Arc::new(start().await);
    for round in 0..3u32 {
        let raw = email(
            &format!("writer{round}@elsewhere.example"),
            &format!("dup{round}@elsewhere.example"),
            "question",
            "How do I register?",
        );
        let barrier = Arc::new(Barrier::new(COPIES));
        let mut tasks = Vec::new();
        for _ in 0..COPIES {
            let (p, barrier, raw) = (p.clone(), barrier.clone(), raw.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                post(&p, Some(TOKEN), raw).await
            }));
        }
        for t in tasks {
            let (status, body) = t.await.expect("task");
            assert_eq!(status, 200, "{body}");
        }
        // And once more later: a provider's retry.
        assert!(deliver(&p, raw).await.contains("already received"));
        let n = u32::try_from(queued_count(&p.app.state.store).await).expect("count");
        assert_eq!(n, round + 1, "round {round}: one answer");
        assert_eq!(
            tickets_of(&p, "email_received").await.len(),
            usize::try_from(round + 1).expect("n")
        );
    }
}

#[tokio::test]
async fn header_injection_in_names_subjects_and_ids_never_reaches_outgoing_headers() {
    let p = start().await;
    let raw = "From: =?utf-8?Q?Evil=0D=0ABcc:_victim@evil.example?= <mallory@evil.example>\r\n\
               To: help@westminster.example.gov\r\n\
               Subject: =?utf-8?Q?help=0D=0ABcc:_victim@evil.example=0D=0A?=\r\n\
               Message-ID: <x@evil.example>\r\n\
               MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nplease help\r\n";
    deliver(&p, raw).await;
    let raw2 = "From: mallory2@evil.example\r\n\
                Subject: RESET C-1001\r\n\
                Message-ID: <y@evil.example\r\n Bcc: victim@evil.example>\r\n\r\nRESET C-1001\r\n";
    deliver(&p, raw2).await;
    let mails = p.smtp.wait_for(2).await;
    for m in &mails {
        assert_eq!(m.to.len(), 1, "{:?}", m.to);
        assert!(m.to[0].starts_with("<mallory"), "{:?}", m.to);
        let data = String::from_utf8_lossy(&m.data);
        let head = &data[..data.find("\r\n\r\n").expect("headers")];
        assert!(!head.to_ascii_lowercase().contains("bcc"), "{head}");
        assert!(!head.contains("victim"), "{head}");
    }
    let tickets = tickets_of(&p, "email_received").await;
    assert_eq!(tickets.len(), 2);
    assert!(
        tickets
            .iter()
            .all(|t| !t.summary.contains('\n') && !t.summary.contains('\r')),
        "{tickets:?}"
    );
}

#[tokio::test]
async fn ingest_email_takes_one_message_from_a_pipe_with_sysexits_codes() {
    let p = start().await;
    let ingest = |input: &str, db: &str| {
        run_with_input(
            helpline(p.app.db.dir())
                .env("HELPLINE_DATABASE_URL", db)
                .arg("ingest-email"),
            input,
        )
    };
    let url = p.app.db.url().to_string();
    let raw = email(
        STRANGER,
        "pipe1@elsewhere.example",
        "question",
        "How do I register?",
    );
    let (code, out, err) = ingest(&raw, &url);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("message for staff"), "{out}");
    assert_eq!(tickets_of(&p, "email_received").await.len(), 1);
    assert_eq!(
        templates(&p).await,
        ["email:email_received"],
        "the answer is queued"
    );

    // The same message again (the MTA retried): taken, nothing done twice.
    let (code, out, err) = ingest(&raw, &url);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("already received"), "{out}");
    assert_eq!(tickets_of(&p, "email_received").await.len(), 1);

    // Not an email: 65, the mail server bounces it.
    let (code, _, err) = ingest("", &url);
    assert_eq!(code, 65, "{err}");
    // The database is not there: 75, the mail server keeps it and tries again.
    let (code, _, err) = ingest(&raw, "postgres://helpline@127.0.0.1:9/nowhere");
    assert_eq!(code, 75, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
