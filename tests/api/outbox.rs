//! The outbox against a real SMTP server on loopback.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::{Clock, ManualClock};
use helpline::mail::{EmailTransport, SmtpTransport};
use helpline::outbox::{Outcome, Worker};
use helpline::store::Store;
use helpline::store::outbox::{self as queue, QueuedMessage};
use helpline::store::tickets;
use mail_parser::MessageParser;

use crate::common::outbox::{outbox_row, queue_reset_link, test_worker};

use crate::common::smtp::{Mode, SmtpSink, closed_port};
use crate::common::{TestDb, test_clock};

const LINK: &str = "https://help.example.gov/reset/5b0c1d2e3f405162738495a6b7c8d9e0";

fn worker(store: &Store, clock: &Arc<ManualClock>, smtp_url: &str, max_attempts: u32) -> Worker {
    let transport: Arc<dyn EmailTransport> =
        Arc::new(SmtpTransport::from_url(smtp_url, 2).expect("smtp url"));
    test_worker(store, clock, transport, None, max_attempts)
}

/// Queues a reset-link email whose secret expires in an hour.
async fn queue_reset(store: &Store, clock: &Arc<ManualClock>) -> i64 {
    queue_reset_link(
        store,
        "pat@frontrange-roofing.example",
        LINK,
        clock.now_ms(),
    )
    .await
}

async fn row(store: &Store, id: i64) -> QueuedMessage {
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
    assert!(parsed.date().is_some());
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
    let port = closed_port().await;
    let id = queue_reset(&store, &clock).await;
    let w = worker(&store, &clock, &format!("smtp://127.0.0.1:{port}"), 5);

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
    let w = worker(&store, &clock, &format!("smtp://127.0.0.1:{port}"), 2);
    assert!(matches!(
        w.run_once().await.expect("run"),
        Some(Outcome::Retry { .. })
    ));
    clock.advance(Duration::from_secs(60));
    assert!(matches!(
        w.run_once().await.expect("run"),
        Some(Outcome::Dead { .. })
    ));
    let stored = row(&store, id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("dead", 2));
    assert!(
        stored
            .last_error
            .expect("error")
            .contains("gave up after 2 tries")
    );
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
    assert!(ticket > 0);
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
