//! The outbox against a real SMTP server on loopback.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::{Clock, ManualClock};
use helpline::config::Settings;
use helpline::domain::ids::MessageId;
use helpline::mail::{EmailTransport, SmtpTransport};
use helpline::outbox::{Outcome, Worker};
use helpline::store::Store;
use helpline::store::outbox::{self as queue, QueuedMessage};
use helpline::store::tickets;
use mail_parser::MessageParser;

use crate::common::outbox::{outbox_row, queue_reset_link, test_worker};

use crate::common::smtp::{Mode, SmtpSink, Tls, closed_port};
use crate::common::{TestDb, test_clock};

const LINK: &str = "https://help.example.gov/reset/5b0c1d2e3f405162738495a6b7c8d9e0";

fn worker(store: &Store, clock: &Arc<ManualClock>, smtp_url: &str, max_attempts: u32) -> Worker {
    let transport: Arc<dyn EmailTransport> =
        Arc::new(SmtpTransport::from_url(smtp_url, 2).expect("smtp url"));
    test_worker(store, clock, transport, None, max_attempts)
}

/// Queues a reset-link email whose secret expires in an hour.
async fn queue_reset(store: &Store, clock: &Arc<ManualClock>) -> MessageId {
    queue_reset_link(
        store,
        "pat@frontrange-roofing.example",
        LINK,
        clock.now_ms(),
    )
    .await
}

async fn row(store: &Store, id: MessageId) -> QueuedMessage {
    outbox_row(store, id).await
}

#[tokio::test]
async fn a_message_is_delivered_with_the_right_headers() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let sink = SmtpSink::start(Mode::Accept).await;
    let id = queue_reset(&store, &clock).await;
    let w = worker(&store, &clock, &sink.url(), 5);

    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
    assert_eq!(
        w.run_once().await.expect("run"),
        None,
        "nothing else is due"
    );

    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].to,
        vec!["<pat@frontrange-roofing.example>".to_string()]
    );
    let parsed = MessageParser::default().parse(&got[0].data).expect("parse");
    let stored = row(&store, id).await;
    assert_eq!(
        parsed.message_id().map(|m| format!("<{m}>")),
        Some(stored.message_id.clone())
    );
    assert!(stored.message_id.ends_with("@westminster.example.gov>"));
    assert_eq!(
        parsed.subject(),
        Some("Westminster: reset your contractor portal password")
    );
    let from = parsed.from().and_then(|f| f.first()).expect("from");
    assert_eq!(from.address(), Some("helpline@westminster.example.gov"));
    // The Date header comes from the injected clock, not the machine's.
    assert_eq!(
        parsed.date().map(|d| d.to_timestamp() * 1000),
        Some(crate::common::T0)
    );
    let text = parsed.body_text(0).expect("text part");
    let html = parsed.body_html(0).expect("html part");
    assert!(text.contains(LINK), "{text}");
    assert!(html.contains(LINK), "{html}");

    assert_eq!(stored.status, "sent");
    assert_eq!(stored.attempts, 1);
    assert!(stored.sent_at.is_some());
    assert_eq!(
        stored.body_text, None,
        "the body (and the secret) is cleared once sent"
    );
    assert_eq!(stored.body_html, None);
}

#[tokio::test]
async fn a_server_that_is_down_is_retried_and_delivered_once_back() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    // Kept closed for this test alone until the server "comes back" on it.
    let port = closed_port().await;
    let id = queue_reset(&store, &clock).await;
    let w = worker(
        &store,
        &clock,
        &format!("smtp://127.0.0.1:{}", port.port),
        5,
    );

    let Some(Outcome::Retry { at, .. }) = w.run_once().await.expect("run") else {
        panic!("connection refused must be retried");
    };
    // First retry: 5 s with equal jitter, so between 2.5 s and 5 s.
    let delay = at - clock.now_ms();
    assert!((2_500..=5_000).contains(&delay), "delay {delay}");
    let stored = row(&store, id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("pending", 1));
    assert!(stored.last_error.is_some());
    assert!(stored.body_text.is_some(), "kept for the next try");

    // Not due yet: nothing happens.
    assert_eq!(w.run_once().await.expect("run"), None);

    // A second failure backs off longer.
    clock.set(at);
    let Some(Outcome::Retry { at: at2, .. }) = w.run_once().await.expect("run") else {
        panic!("still down");
    };
    let delay2 = at2 - clock.now_ms();
    assert!((5_000..=10_000).contains(&delay2), "delay {delay2}");

    let sink = SmtpSink::start_on(port, Mode::Accept).await;
    clock.set(at2);
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
    assert_eq!(sink.received().len(), 1);
    assert_eq!(row(&store, id).await.attempts, 3);
}

#[tokio::test]
async fn a_4xx_answer_is_retried() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let sink = SmtpSink::start(Mode::RejectTransient).await;
    let id = queue_reset(&store, &clock).await;
    let w = worker(&store, &clock, &sink.url(), 5);
    assert!(matches!(
        w.run_once().await.expect("run"),
        Some(Outcome::Retry { .. })
    ));
    sink.set_mode(Mode::Accept);
    clock.advance(Duration::from_secs(10));
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
}

#[tokio::test]
async fn a_5xx_answer_dead_letters_and_opens_a_ticket() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let sink = SmtpSink::start(Mode::RejectPermanent).await;
    let id = queue_reset(&store, &clock).await;
    let w = worker(&store, &clock, &sink.url(), 5);

    let Some(Outcome::Dead { ticket, .. }) = w.run_once().await.expect("run") else {
        panic!("550 must dead-letter");
    };
    let stored = row(&store, id).await;
    assert_eq!(stored.status, "dead");
    assert_eq!(stored.body_text, None, "a dead letter keeps no secret");
    let error = stored.last_error.expect("error kept");
    assert!(error.contains("550"), "{error}");
    assert!(
        !error.contains("pat@frontrange-roofing.example"),
        "recipient is masked: {error}"
    );

    let open = tickets::open_tickets(store.pool()).await.expect("tickets");
    let t = open
        .iter()
        .find(|t| t.id == ticket)
        .expect("ticket is open");
    assert_eq!(t.kind, "undeliverable");
    assert_eq!(t.outbox_id, Some(id));
    assert!(
        t.summary.contains("p***@frontrange-roofing.example"),
        "{}",
        t.summary
    );
    assert!(!t.detail.contains(LINK));

    clock.advance(Duration::from_secs(3600));
    assert_eq!(w.run_once().await.expect("run"), None, "never retried");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn too_many_transient_failures_dead_letter() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let port = closed_port().await;
    let id = queue_reset(&store, &clock).await;
    let w = worker(
        &store,
        &clock,
        &format!("smtp://127.0.0.1:{}", port.port),
        2,
    );
    assert!(matches!(
        w.run_once().await.expect("run"),
        Some(Outcome::Retry { .. })
    ));
    clock.advance(Duration::from_secs(60));
    let Some(Outcome::Dead { ticket, .. }) = w.run_once().await.expect("run") else {
        panic!("the second failure of two allowed must dead-letter");
    };
    let stored = row(&store, id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("dead", 2));
    assert_eq!(stored.body_text, None, "a dead letter keeps no secret");
    assert!(
        stored
            .last_error
            .expect("error")
            .contains("gave up after 2 tries")
    );
    // Staff hear of it: an open ticket for this message, naming the masked recipient.
    let open = tickets::open_tickets(store.pool()).await.expect("tickets");
    let t = open
        .iter()
        .find(|t| t.id == ticket)
        .expect("the give-up opens a ticket");
    assert_eq!(t.kind, "undeliverable");
    assert_eq!(t.outbox_id, Some(id));
    assert!(
        t.summary.contains("p***@frontrange-roofing.example"),
        "{}",
        t.summary
    );
    assert!(!t.detail.contains(LINK) && !t.summary.contains(LINK));
    assert_eq!(open.len(), 1, "one ticket, not one per try");
}

#[tokio::test]
async fn an_expired_secret_is_never_sent() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let sink = SmtpSink::start(Mode::Accept).await;
    let id = queue_reset(&store, &clock).await;
    let w = worker(&store, &clock, &sink.url(), 5);
    clock.advance(Duration::from_secs(3600));
    let Some(Outcome::Dead { ticket, .. }) = w.run_once().await.expect("run") else {
        panic!("an expired secret must be dead-lettered");
    };
    assert!(ticket.0 > 0);
    assert!(sink.received().is_empty(), "nothing reached the server");
    let stored = row(&store, id).await;
    assert_eq!(stored.attempts, 0);
    assert!(stored.last_error.expect("reason").contains("expired"));
}

#[tokio::test]
async fn a_worker_killed_mid_delivery_does_not_lose_the_message() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let sink = SmtpSink::start(Mode::HangAfterData).await;
    let id = queue_reset(&store, &clock).await;

    let doomed = worker(&store, &clock, &sink.url(), 5);
    let task = tokio::spawn(async move { doomed.run_once().await });
    tokio::time::timeout(Duration::from_secs(10), sink.data_started())
        .await
        .expect("the message reaches DATA");
    task.abort();
    assert!(task.await.expect_err("aborted").is_cancelled());

    let stored = row(&store, id).await;
    assert_eq!(stored.status, "pending", "the message is still queued");

    // Another worker (another instance) must wait for the lease to run out...
    let survivor = worker(&store, &clock, &sink.url(), 5);
    assert_eq!(survivor.run_once().await.expect("run"), None, "leased");
    // ...and then delivers it.
    sink.set_mode(Mode::Accept);
    clock.advance(Duration::from_secs(121));
    assert_eq!(
        survivor.run_once().await.expect("run"),
        Some(Outcome::Sent { id })
    );
    assert_eq!(sink.received().len(), 1);
    assert_eq!(row(&store, id).await.status, "sent");
}

#[tokio::test]
async fn two_workers_never_claim_the_same_message() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    for _ in 0..10 {
        queue_reset(&store, &clock).await;
    }
    let now = clock.now_ms();
    let mut claims = Vec::new();
    for n in 0..4 {
        let store = store.clone();
        claims.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(m) = queue::claim_due(store.pool(), &format!("w{n}"), now, now + 60_000)
                .await
                .expect("claim")
            {
                mine.push(m.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for c in claims {
        all.extend(c.await.expect("join"));
    }
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!(before, 10, "every message claimed once");
    assert_eq!(all.len(), 10, "no message claimed twice");
}

fn message_id_of(data: &[u8]) -> Option<String> {
    MessageParser::default()
        .parse(data)
        .and_then(|m| m.message_id().map(|id| format!("<{id}>")))
}

/// A server that read the whole message and then answered 451 may still have passed it on;
/// the retry carries the same Message-ID so the copies can be told apart from two messages.
#[tokio::test]
async fn a_retry_after_the_message_was_read_keeps_its_message_id() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let sink = SmtpSink::start(Mode::RejectAfterData).await;
    let id = queue_reset(&store, &clock).await;
    let queued_id = row(&store, id).await.message_id;
    let w = worker(&store, &clock, &sink.url(), 5);

    let Some(Outcome::Retry { at, .. }) = w.run_once().await.expect("run") else {
        panic!("451 after DATA must be retried");
    };
    let first = sink.attempts();
    assert_eq!(first.len(), 1, "the first try reached the server whole");
    sink.set_mode(Mode::Accept);
    clock.set(at);
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
    let second = sink.received();
    assert_eq!(second.len(), 1);

    assert_eq!(message_id_of(&first[0].data), Some(queued_id.clone()));
    assert_eq!(
        message_id_of(&second[0].data),
        Some(queued_id),
        "the same Message-ID on every try"
    );
    assert_eq!(row(&store, id).await.attempts, 2);
}

const RELAY_USER: &str = "helpline";
const RELAY_PASSWORD: &str = "rel4y-Pa55word";

/// Settings as a city writes them for its relay: the URL with the login, and the relay's CA.
fn relay_settings(db: &TestDb, sink: &SmtpSink, url: &str, trust_ca: bool) -> Settings {
    let mut settings = db.settings();
    settings.mail.dir = None;
    settings.mail.smtp_url = Some(url.to_string().into());
    if trust_ca {
        let ca = db.dir().join("relay-ca.pem");
        std::fs::write(&ca, sink.ca_pem()).expect("write the CA");
        settings.mail.tls_ca_file = Some(ca);
    }
    settings
}

fn relay_worker(store: &Store, clock: &Arc<ManualClock>, settings: &Settings) -> Worker {
    let transport = helpline::app::email_transport(settings).expect("transport from settings");
    test_worker(store, clock, transport, None, 5)
}

#[tokio::test]
async fn starttls_and_a_login_are_used_when_the_relay_requires_them() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let sink = SmtpSink::start_secure(Tls::StartTls, RELAY_USER, RELAY_PASSWORD).await;
    let url = format!(
        "smtp://{RELAY_USER}:{RELAY_PASSWORD}@127.0.0.1:{}?tls=required",
        sink.port
    );
    let w = relay_worker(&store, &clock, &relay_settings(&db, &sink, &url, true));
    let id = queue_reset(&store, &clock).await;
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls, "the message went over TLS");
    assert_eq!(got[0].user.as_deref(), Some(RELAY_USER));
    assert!(text_has_link(&got[0].data));
    assert_eq!(sink.refusals(), Vec::<String>::new(), "no step was refused");
}

/// The README's `smtps://user:pass@host`: TLS from the first byte, then the login.
#[tokio::test]
async fn smtps_with_a_login_as_the_readme_shows() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let sink = SmtpSink::start_secure(Tls::Implicit, RELAY_USER, RELAY_PASSWORD).await;
    let url = format!(
        "smtps://{RELAY_USER}:{RELAY_PASSWORD}@127.0.0.1:{}",
        sink.port
    );
    let w = relay_worker(&store, &clock, &relay_settings(&db, &sink, &url, true));
    let id = queue_reset(&store, &clock).await;
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
    assert_eq!(got[0].user.as_deref(), Some(RELAY_USER));
    assert_eq!(sink.refusals(), Vec::<String>::new());
}

/// The relay really requires TLS and the login: a plain client, a client that does not trust
/// the relay's CA and a wrong password each get nothing through, and no error keeps the
/// password.
#[tokio::test]
async fn the_relay_refuses_plain_text_an_untrusted_certificate_and_a_wrong_login() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let sink = SmtpSink::start_secure(Tls::StartTls, RELAY_USER, RELAY_PASSWORD).await;
    let port = sink.port;
    let cases = [
        (
            "no TLS asked for",
            format!("smtp://127.0.0.1:{port}"),
            false,
            Some("530 5.7.0 must issue a STARTTLS command first"),
        ),
        (
            "the relay's CA is not trusted",
            format!("smtp://{RELAY_USER}:{RELAY_PASSWORD}@127.0.0.1:{port}?tls=required"),
            false,
            None,
        ),
        (
            "a wrong password",
            format!("smtp://{RELAY_USER}:Wr0ng-Pa55word@127.0.0.1:{port}?tls=required"),
            true,
            Some("535 5.7.8 authentication credentials invalid"),
        ),
    ];
    for (why, url, trust, refusal) in cases {
        let w = relay_worker(&store, &clock, &relay_settings(&db, &sink, &url, trust));
        let id = queue_reset(&store, &clock).await;
        let outcome = w.run_once().await.expect("run");
        assert!(
            matches!(
                outcome,
                Some(Outcome::Retry { .. }) | Some(Outcome::Dead { .. })
            ),
            "{why}: {outcome:?}"
        );
        let stored = row(&store, id).await;
        assert_ne!(stored.status, "sent", "{why}");
        let error = stored.last_error.expect("the reason is kept");
        assert!(
            !error.contains(RELAY_PASSWORD) && !error.contains("Wr0ng-Pa55word"),
            "{why}: {error}"
        );
        if let Some(answer) = refusal {
            assert!(
                sink.refusals().iter().any(|r| r == answer),
                "{why}: {:?}",
                sink.refusals()
            );
        } else {
            assert!(
                error.to_lowercase().contains("certificate") || error.contains("UnknownIssuer"),
                "{why}: {error}"
            );
        }
        // This message is out of the way of the next case.
        clock.advance(Duration::from_secs(3));
        sqlx::query("UPDATE outbox SET status = 'dead' WHERE id = $1")
            .bind(id)
            .execute(store.pool())
            .await
            .expect("retire");
    }
    assert!(sink.received().is_empty(), "nothing got through");
}

fn text_has_link(data: &[u8]) -> bool {
    MessageParser::default()
        .parse(data)
        .and_then(|m| m.body_text(0).map(|t| t.contains(LINK)))
        .unwrap_or(false)
}
