//! The store-backed per-account counter: growing waits, the 1-second rule, no counting during
//! a wait, and one counter shared by every instance.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::{Clock, ManualClock, SharedClock};
use helpline::config::GuardSettings;
use helpline::guard::{AccountState, Guard};
use helpline::metrics::Metrics;
use helpline::store::Store;

use crate::common::{TestDb, test_clock};

const MIN: i64 = 60_000;
const WHO: &str = "contractor:C-1001";

fn guard(store: &Store, clock: &Arc<ManualClock>) -> Guard {
    let shared: SharedClock = clock.clone();
    Guard::new(
        store.clone(),
        shared,
        GuardSettings::default(),
        Arc::new(Metrics::default()),
        helpline::domain::keyed::Keys::random(),
    )
}

#[tokio::test]
async fn waits_grow_with_failures_and_cap_at_fifteen_minutes() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let g = guard(&store, &clock);

    for _ in 0..2 {
        let r = g.record_failure(WHO).await.expect("record");
        assert_eq!(r.locked_until, 0);
        clock.advance(Duration::from_secs(5));
    }
    assert_eq!(
        g.account_state(WHO).await.expect("state"),
        AccountState::Open
    );

    // Third failure: the first wait, one minute.
    let r = g.record_failure(WHO).await.expect("record");
    assert_eq!((r.counted, r.failures), (true, 3));
    assert_eq!(r.locked_until, clock.now_ms() + MIN);
    assert_eq!(
        g.account_state(WHO).await.expect("state"),
        AccountState::Waiting {
            until: r.locked_until
        }
    );

    // Each failure after a wait waits again, longer per block of three, up to 15 minutes.
    let mut waits = Vec::new();
    for _ in 0..60 {
        clock.set(g_until(&g).await + 5_000);
        let r = g.record_failure(WHO).await.expect("record");
        waits.push((r.failures, (r.locked_until - clock.now_ms()) / MIN));
    }
    assert_eq!(waits[0], (4, 1));
    assert_eq!(waits[2], (6, 2));
    assert_eq!(waits[5], (9, 3));
    assert!(
        waits.windows(2).all(|w| w[1].1 >= w[0].1),
        "never shrinks: {waits:?}"
    );
    assert_eq!(waits.last().map(|w| w.1), Some(15), "capped: {waits:?}");
}

async fn g_until(g: &Guard) -> i64 {
    match g.account_state(WHO).await.expect("state") {
        AccountState::Waiting { until } => until,
        AccountState::Open => 0,
    }
}

#[tokio::test]
async fn failures_under_one_second_apart_force_the_minimum_wait() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let g = guard(&store, &clock);
    g.record_failure(WHO).await.expect("record");
    clock.advance(Duration::from_millis(999));
    let r = g.record_failure(WHO).await.expect("record");
    assert_eq!(r.failures, 2);
    assert_eq!(
        r.locked_until,
        clock.now_ms() + MIN,
        "quick second failure waits a minute"
    );

    // Exactly one second apart is not "quick".
    let other = "contractor:C-2002";
    g.record_failure(other).await.expect("record");
    clock.advance(Duration::from_millis(1000));
    assert_eq!(
        g.record_failure(other).await.expect("record").locked_until,
        0
    );
}

#[tokio::test]
async fn failures_during_a_wait_are_not_counted() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let g = guard(&store, &clock);
    for _ in 0..3 {
        clock.advance(Duration::from_secs(2));
        g.record_failure(WHO).await.expect("record");
    }
    let until = g_until(&g).await;
    for _ in 0..20 {
        clock.advance(Duration::from_millis(100));
        let r = g.record_failure(WHO).await.expect("record");
        assert!(!r.counted);
        assert_eq!(
            (r.failures, r.locked_until),
            (3, until),
            "the wait neither grows nor moves"
        );
    }
    clock.set(until);
    assert_eq!(
        g.account_state(WHO).await.expect("state"),
        AccountState::Open
    );
}

#[tokio::test]
async fn every_instance_shares_one_counter_and_success_clears_it() {
    let db = TestDb::new().await;
    let clock = test_clock();
    // Two "instances": separate pools and guards on one database.
    let a = guard(&db.store().await, &clock);
    let b = guard(&db.store().await, &clock);
    clock.advance(Duration::from_secs(2));
    a.record_failure(WHO).await.expect("record");
    clock.advance(Duration::from_secs(2));
    b.record_failure(WHO).await.expect("record");
    clock.advance(Duration::from_secs(2));
    let r = a.record_failure(WHO).await.expect("record");
    assert_eq!(r.failures, 3);
    assert!(matches!(
        b.account_state(WHO).await.expect("state"),
        AccountState::Waiting { .. }
    ));

    clock.advance(Duration::from_secs(61));
    b.record_success(WHO).await.expect("success");
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        a.record_failure(WHO).await.expect("record").failures,
        1,
        "counter cleared"
    );
}

#[tokio::test]
async fn concurrent_failures_are_all_counted() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    // Twelve hours between "quick" checks would need a moving clock; use a guard whose
    // first wait comes late so every failure is counted.
    let shared: SharedClock = clock.clone();
    let g = Guard::new(
        store.clone(),
        shared,
        GuardSettings {
            failures_before_wait: 100,
            quick_failure: Duration::ZERO,
            ..GuardSettings::default()
        },
        Arc::new(Metrics::default()),
        helpline::domain::keyed::Keys::random(),
    );
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let g = g.clone();
        tasks.push(tokio::spawn(async move { g.record_failure(WHO).await }));
    }
    for t in tasks {
        t.await.expect("join").expect("record");
    }
    clock.advance(Duration::from_secs(1));
    assert_eq!(g.record_failure(WHO).await.expect("record").failures, 21);
}

#[tokio::test]
async fn the_counter_starts_again_twelve_hours_after_the_last_failure() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let g = guard(&store, &clock);
    for _ in 0..2 {
        clock.advance(Duration::from_secs(2));
        g.record_failure(WHO).await.expect("record");
    }
    clock.advance(Duration::from_secs(12 * 3600 + 1));
    let r = g.record_failure(WHO).await.expect("record");
    assert_eq!((r.failures, r.locked_until), (1, 0));
    let _ = clock.now_ms();
}
