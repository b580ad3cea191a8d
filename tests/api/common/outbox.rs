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
    .expect("queue");
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
