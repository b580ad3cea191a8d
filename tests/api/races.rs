//! Races the database must settle (issue 7, item 3), with contestants that really overlap:
//! tasks on a multi-threaded runtime released together by a barrier, several rounds each.
//! They matter most on PostgreSQL, where row locks (not SQLite's single writer) keep the
//! peace; `.ci/run` makes sure the suite runs there too, and the first test here checks the
//! suite runs on the database it was asked for.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::SharedClock;
use helpline::config::GuardSettings;
use helpline::guard::{FailureRecord, Guard};
use helpline::metrics::Metrics;
use helpline::store::outbox as queue;
use helpline::store::{Backend, Store};
use tokio::sync::Barrier;

use crate::common::outbox::queue_reset_link;
use crate::common::{T0, TestDb, asked_database_url, postgres_required, test_clock};
use crate::portal::{OLD, Portal, login, reset_token, text_of};

#[tokio::test]
async fn the_suite_runs_on_the_database_it_was_asked_for() {
    let db = TestDb::new().await;
    let store = db.store().await;
    match asked_database_url() {
        Some(url) => {
            assert_eq!(store.backend(), Backend::Postgres, "asked for {url}");
            assert!(db.is_postgres());
            let version: String = sqlx::query_scalar("SELECT version()")
                .fetch_one(store.pool())
                .await
                .expect("server version");
            assert!(version.starts_with("PostgreSQL"), "{version}");
            let name: String = sqlx::query_scalar("SELECT current_database()::text")
                .fetch_one(store.pool())
                .await
                .expect("database name");
            assert!(
                name.starts_with("helpline_t_"),
                "a database of its own: {name}"
            );
        }
        None => {
            assert!(
                !postgres_required(),
                "PostgreSQL was required; TestDb::new should have refused"
            );
            assert_eq!(store.backend(), Backend::Sqlite);
            assert!(!db.is_postgres());
            let version: String = sqlx::query_scalar("SELECT sqlite_version()")
                .fetch_one(store.pool())
                .await
                .expect("sqlite version");
            assert!(version.starts_with('3'), "{version}");
        }
    }
}

/// The `n`th reset link (1-based) the SMTP server has received.
async fn nth_reset_link(p: &Portal, n: usize) -> String {
    let mut want = n;
    loop {
        let mails = p.smtp.wait_for(want).await;
        let links: Vec<String> = mails
            .iter()
            .map(|m| text_of(&m.data))
            .filter(|t| t.contains("/reset/"))
            .map(|t| reset_token(&t))
            .collect();
        if let Some(link) = links.get(n - 1) {
            return link.clone();
        }
        want = mails.len() + 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_reset_link_posted_four_times_at_once_sets_one_password_the_winners() {
    const ROUNDS: usize = 5;
    const CONTESTANTS: [&str; 4] = ["a", "b", "c", "d"];
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    for round in 1..=ROUNDS {
        // One link per round (the send budget allows one every five minutes, five a day).
        p.app.clock.advance(Duration::from_secs(6 * 60));
        p.browser().post("/forgot", &[("username", "C-1001")]).await;
        let token = nth_reset_link(&p, round).await;
        let path = format!("/reset/{token}");

        let barrier = Arc::new(Barrier::new(CONTESTANTS.len()));
        let mut tasks = Vec::new();
        for who in CONTESTANTS {
            let password = format!("Race{round}-Pa55{who}");
            let mut b = p.browser();
            let csrf = b.csrf().await;
            let (barrier, path) = (barrier.clone(), path.clone());
            tasks.push(tokio::spawn(async move {
                let fields = [
                    ("csrf".to_string(), csrf),
                    ("password".to_string(), password.clone()),
                    ("confirm".to_string(), password.clone()),
                ];
                barrier.wait().await;
                (b.post_raw(&path, &fields).await.status, password)
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("task"));
        }
        results.sort_unstable();
        let statuses: Vec<u16> = results.iter().map(|r| r.0).collect();
        assert_eq!(
            statuses,
            [200, 410, 410, 410],
            "round {round}: exactly one wins"
        );
        let winner = &results[0].1;

        let used: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM reset_tokens WHERE used_at IS NOT NULL AND purpose = 'reset'",
        )
        .fetch_one(p.app.state.store.pool())
        .await
        .expect("count");
        assert_eq!(used, i64::try_from(round).expect("small"), "round {round}");

        // The password that took effect is the winner's.
        p.app.clock.advance(Duration::from_secs(2));
        assert_eq!(
            login(&mut p.browser(), "C-1001", winner).await.location(),
            Some("/account"),
            "round {round}: the winner's password works"
        );
        for (_, loser) in &results[1..] {
            p.app.clock.advance(Duration::from_secs(2));
            assert_eq!(
                login(&mut p.browser(), "C-1001", loser).await.status,
                200,
                "round {round}: a loser's password was never set"
            );
        }
    }
}

fn guard_on(store: &Store, settings: GuardSettings) -> (Guard, Arc<Metrics>) {
    let clock: SharedClock = test_clock();
    let metrics = Arc::new(Metrics::default());
    let guard = Guard::new(
        store.clone(),
        clock,
        settings,
        metrics.clone(),
        helpline::domain::keyed::Keys::random(),
    );
    (guard, metrics)
}

/// `n` failures of `subject` released together; what each recording said.
async fn failures_at_once(g: &Guard, subject: &str, n: usize) -> Vec<FailureRecord> {
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (g, barrier, subject) = (g.clone(), barrier.clone(), subject.to_string());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            g.record_failure(&subject).await.expect("record")
        }));
    }
    let mut records = Vec::new();
    for t in tasks {
        records.push(t.await.expect("task"));
    }
    records
}

async fn counter_row(store: &Store, subject: &str) -> (i64, i64) {
    sqlx::query_as("SELECT failures, lockouts FROM attempts WHERE subject = $1")
        .bind(subject)
        .fetch_one(store.pool())
        .await
        .expect("counter")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_failures_at_once_are_each_counted_once() {
    let db = TestDb::new().await;
    let store = db.store().await;
    // No wait before the hundredth failure and no quick-failure rule: every failure counts.
    let (g, _) = guard_on(
        &store,
        GuardSettings {
            failures_before_wait: 100,
            quick_failure: Duration::ZERO,
            ..GuardSettings::default()
        },
    );
    for round in 0..3 {
        let subject = format!("password:contractor:C-{round}");
        let records = failures_at_once(&g, &subject, 20).await;
        assert!(records.iter().all(|r| r.counted));
        let mut seen: Vec<i64> = records.iter().map(|r| r.failures).collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (1..=20).collect::<Vec<i64>>(),
            "round {round}: each failure saw the one before it"
        );
        assert_eq!(counter_row(&store, &subject).await, (20, 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_at_once_start_exactly_one_wait() {
    let db = TestDb::new().await;
    let store = db.store().await;
    // The shipped rules: the second failure within a second starts a one-minute wait, and
    // failures during the wait are not counted.
    let (g, metrics) = guard_on(&store, GuardSettings::default());
    for round in 0..3 {
        let subject = format!("password:contractor:C-{round}");
        let records = failures_at_once(&g, &subject, 20).await;
        let mut counted: Vec<i64> = records
            .iter()
            .filter(|r| r.counted)
            .map(|r| r.failures)
            .collect();
        counted.sort_unstable();
        assert_eq!(
            counted,
            [1, 2],
            "round {round}: two counted, the rest waited"
        );
        let until: Vec<i64> = records
            .iter()
            .map(|r| r.locked_until)
            .filter(|&u| u > 0)
            .collect();
        assert!(
            until.windows(2).all(|w| w[0] == w[1]),
            "round {round}: one wait, not several: {until:?}"
        );
        assert_eq!(counter_row(&store, &subject).await, (2, 1), "round {round}");
    }
    assert_eq!(metrics.lockouts.get(), 3, "one wait started per round");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_claiming_one_message_at_once_one_gets_it() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let now = T0;
    for round in 0..10 {
        let id = queue_reset_link(
            &store,
            "pat@frontrange-roofing.example",
            "https://help.example.gov/reset/5b0c1d2e3f405162738495a6b7c8d9e0",
            now,
        )
        .await;
        let barrier = Arc::new(Barrier::new(2));
        let mut tasks = Vec::new();
        for worker in ["w1", "w2"] {
            let (store, barrier) = (store.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                queue::claim_due(store.pool(), worker, now, now + 60_000)
                    .await
                    .expect("claim")
                    .map(|m| (m.id, worker))
            }));
        }
        let mut claims = Vec::new();
        for t in tasks {
            claims.extend(t.await.expect("task"));
        }
        assert_eq!(
            claims.len(),
            1,
            "round {round}: exactly one claim, {claims:?}"
        );
        assert_eq!(claims[0].0, id, "round {round}: the message just queued");
        let owner: Option<String> =
            sqlx::query_scalar("SELECT lease_owner FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_one(store.pool())
                .await
                .expect("owner");
        assert_eq!(owner.as_deref(), Some(claims[0].1), "round {round}");
    }
}
