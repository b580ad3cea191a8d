//! Outbox helpers shared by the delivery tests: a worker on an injected clock, a queued
//! reset-link email, and reading a queued row back.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::{ManualClock, SharedClock};
use helpline::config::OutboxSettings;
use helpline::domain::email::EmailAddress;
use helpline::domain::ids::MessageId;
use helpline::mail::EmailTransport;
use helpline::messages::{Lang, ResetLinkFields, reset_link_email};
use helpline::metrics::Metrics;
use helpline::outbox::{Worker, queue_email};
use helpline::store::Store;
use helpline::store::outbox::{self as queue, QueuedMessage};
use helpline::twilio::SmsTransport;
use tokio::sync::Notify;

/// A worker with short test backoffs (5 s base, 2 min lease, 50 ms poll).
pub fn test_worker(
    store: &Store,
    clock: &Arc<ManualClock>,
    email: Arc<dyn EmailTransport>,
    sms: Option<Arc<dyn SmsTransport>>,
    max_attempts: u32,
) -> Worker {
    let shared: SharedClock = clock.clone();
    Worker::new(
        store.clone(),
        shared,
        OutboxSettings {
            max_attempts,
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(600),
            poll: Duration::from_millis(50),
        },
        email,
        "Westminster Helpline <helpline@westminster.example.gov>"
            .parse()
            .expect("from"),
        Arc::new(Metrics::default()),
        Arc::new(Notify::new()),
        sms,
    )
}

/// Queues a reset-link email to `to` holding `link`, whose secret expires an hour after `now`.
pub async fn queue_reset_link(store: &Store, to: &str, link: &str, now: i64) -> MessageId {
    let email = reset_link_email(
        Lang::En,
        &ResetLinkFields {
            name: "Pat Alvarez",
            city: "Westminster",
            username: "C-1001",
            link,
            minutes: 60,
        },
    )
    .expect("compose");
    let mut tx = store.begin_write().await.expect("tx");
    let id = queue_email(
        &mut tx,
        &"helpline@westminster.example.gov".parse().expect("from"),
        &EmailAddress::parse(to).expect("to"),
        email,
        None,
        Some(now + 3_600_000),
        now,
    )
    .await
    .expect("queue")
    .expect("not undeliverable");
    tx.commit().await.expect("commit");
    id
}

/// A queued message, read back.
pub async fn outbox_row(store: &Store, id: MessageId) -> QueuedMessage {
    queue::by_id(store.pool(), id)
        .await
        .expect("read")
        .expect("row")
}

/// Every message ever queued, whatever became of it: a test that expects nothing sent checks
/// the queue itself, not a sink that may simply not have been reached yet.
pub async fn queued_count(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(store.pool())
        .await
        .expect("count outbox")
}

/// Waits (at most 10 s) until no message is waiting in the outbox: the worker has sent,
/// dead-lettered or dropped every one.
pub async fn settled(store: &Store) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if queue::depth(store.pool()).await.expect("depth") == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the outbox settles within 10 s");
}

/// The value of a labelled counter on /metrics (`name{a="x",b="y"}`), 0 when it has no
/// series with exactly these labels yet.
pub async fn labelled_metric(base: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = crate::common::http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    assert!(
        text.contains(&format!("# TYPE {}", name.trim_end_matches("_total"))),
        "{name} is not on /metrics:\n{text}"
    );
    let want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    text.lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix('{'))
        .filter_map(|rest| rest.split_once("} "))
        .find(|(set, _)| {
            let mut got: Vec<&str> = set.split(',').collect();
            got.sort_unstable();
            let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
            want.sort_unstable();
            got == want
        })
        .map_or(0.0, |(_, v)| v.trim().parse().expect("a number"))
}
