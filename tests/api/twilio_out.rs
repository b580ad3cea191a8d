//! Callback calls out through the outbox and Twilio's Calls resource, and the daily caps on
//! texts and calls (the SMS-pumping and toll-fraud guard), against the stand-in for Twilio's
//! REST API on loopback.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::{Clock, ManualClock};
use helpline::config::SendCaps;
use helpline::domain::ids::MessageId;
use helpline::domain::phone::PhoneNumber;
use helpline::mail::{EmailTransport, FolderTransport};
use helpline::outbox::{CALLBACK, Outcome, Worker, queue_call, queue_sms};
use helpline::store::Store;
use helpline::store::tickets;
use helpline::twilio::{CallTransport, SmsTransport, TwilioRest};
use tokio::sync::Barrier;

use crate::common::outbox::{labelled_metric, outbox_row, queued_count, settled, test_worker};
use crate::common::twilio::{
    self as standin, Fault, TwilioStandIn, calls_path, expected_authorization,
};
use crate::common::{TestApp, TestDb, logs, test_clock};

const TO: &str = "+13036582075";
const OTHER: &str = "+13035550142";
const CONVERSATION: &str = "CA0123456789abcdef0123456789abcdef";
const TEN_MINUTES: Duration = Duration::from_secs(600);
const BODY: &str = "Westminster permits: your password was changed. Not you? Call us.";

fn call_path() -> String {
    format!("/twilio/voice/callback?c={CONVERSATION}")
}

fn rest(db: &TestDb, api: &TwilioStandIn) -> Arc<TwilioRest> {
    let mut settings = db.settings();
    api.configure(&mut settings);
    Arc::new(TwilioRest::for_calls(&settings).expect("voice is configured"))
}

fn worker(
    db: &TestDb,
    store: &Store,
    clock: &Arc<ManualClock>,
    api: Option<&TwilioStandIn>,
    max_attempts: u32,
) -> Worker {
    let email: Arc<dyn EmailTransport> =
        Arc::new(FolderTransport::new(&db.dir().join("mail")).expect("mail folder"));
    let twilio = api.map(|a| rest(db, a));
    let sms = twilio.clone().map(|t| t as Arc<dyn SmsTransport>);
    let calls = twilio.map(|t| t as Arc<dyn CallTransport>);
    test_worker(store, clock, email, sms, max_attempts).with_calls(calls)
}

/// Queues a callback to `to` whose secret lives `lifetime` from now, if it has one.
async fn queue_callback(
    store: &Store,
    clock: &Arc<ManualClock>,
    to: &str,
    lifetime: Option<Duration>,
) -> MessageId {
    let now = clock.now_ms();
    let expires = lifetime.map(|l| now + i64::try_from(l.as_millis()).expect("ms"));
    let mut tx = store.begin_write().await.expect("tx");
    let id = queue_call(
        &mut tx,
        &PhoneNumber::parse(to).expect("to"),
        CALLBACK,
        &call_path(),
        None,
        expires,
        now,
    )
    .await
    .expect("queue");
    tx.commit().await.expect("commit");
    id
}

async fn queue_text(store: &Store, now: i64, to: &str) -> MessageId {
    let mut tx = store.begin_write().await.expect("tx");
    let id = queue_sms(
        &mut tx,
        &PhoneNumber::parse(to).expect("to"),
        "password_changed",
        BODY.to_string(),
        None,
        None,
        now,
    )
    .await
    .expect("queue")
    .expect("not stopped");
    tx.commit().await.expect("commit");
    id
}

async fn tickets_of(store: &Store, kind: &str) -> Vec<tickets::Ticket> {
    tickets::open_tickets(store.pool())
        .await
        .expect("tickets")
        .into_iter()
        .filter(|t| t.kind == kind)
        .collect()
}

#[tokio::test]
async fn a_queued_callback_places_exactly_one_call_with_twilios_parameters() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let api = TwilioStandIn::start().await;
    let id = queue_callback(&store, &clock, TO, Some(TEN_MINUTES)).await;
    let stored = outbox_row(&store, id).await;
    assert_eq!(stored.channel, "voice");
    assert_eq!(stored.template, "callback");
    assert_eq!(stored.recipient, TO);
    assert_eq!(stored.subject, call_path(), "the TwiML path is kept");

    let w = worker(&db, &store, &clock, Some(&api), 5);
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
    assert_eq!(w.run_once().await.expect("run"), None, "nothing else due");

    let got = api.requests();
    assert_eq!(got.len(), 1, "exactly one request: {got:?}");
    let r = &got[0];
    assert_eq!(r.status, 201, "the stand-in accepted it: {r:?}");
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", calls_path().as_str())
    );
    assert_eq!(
        r.authorization.as_deref(),
        Some(expected_authorization().as_str())
    );
    assert_eq!(r.field("To"), Some(TO));
    assert_eq!(r.field("From"), Some(standin::FROM));
    assert_eq!(
        r.field("Url"),
        Some(format!("http://127.0.0.1{}", call_path()).as_str()),
        "the public URL and the path, as the signature check rebuilds it"
    );
    assert_eq!(r.field("Method"), Some("POST"));
    assert_eq!(
        r.field("StatusCallback"),
        Some("http://127.0.0.1/twilio/voice/status")
    );
    assert_eq!(r.field("StatusCallbackMethod"), Some("POST"));
    assert_eq!(r.field("StatusCallbackEvent"), Some("completed"));
    assert_eq!(r.field("Timeout"), Some("30"));
    assert_eq!(r.field("TimeLimit"), Some("600"));
    for name in ["To", "From", "Url", "StatusCallback", "StatusCallbackEvent"] {
        assert_eq!(r.count(name), 1, "{name} sent once");
    }
    assert_eq!(r.field("Body"), None);
    assert_eq!(r.field("ValidityPeriod"), None);

    let stored = outbox_row(&store, id).await;
    assert_eq!(stored.status, "sent");
    assert_eq!(stored.provider_id, r.sid, "Twilio's call sid is kept");
    assert!(
        stored
            .provider_id
            .as_deref()
            .is_some_and(|s| s.starts_with("CA"))
    );
    assert_eq!(stored.cap_counted_at, Some(clock.now_ms()));
    assert_eq!(stored.delivery_status, None, "no status reported yet");
}

#[tokio::test]
async fn a_busy_twilio_is_retried_and_the_call_placed_once_and_counted_once() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let api = TwilioStandIn::start().await;
    api.fail_next(1, Fault::TooManyRequests);
    api.fail_next(1, Fault::ServerError);
    let id = queue_callback(&store, &clock, TO, Some(TEN_MINUTES)).await;
    let w = worker(&db, &store, &clock, Some(&api), 5);

    let Some(Outcome::Retry { at, .. }) = w.run_once().await.expect("run") else {
        panic!("429 must be retried");
    };
    let stored = outbox_row(&store, id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("pending", 1));
    let error = stored.last_error.expect("error kept");
    assert!(error.contains("20429"), "{error}");
    assert!(!error.contains("3036582075"), "{error}");
    assert_eq!(w.run_once().await.expect("run"), None, "not due yet");
    clock.set(at);
    let Some(Outcome::Retry { at, .. }) = w.run_once().await.expect("run") else {
        panic!("500 must be retried");
    };
    clock.set(at);
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));

    let statuses: Vec<u16> = api.calls().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        vec![429, 500, 201],
        "one call placed, after two refusals"
    );
    assert!(api.texts().is_empty());
    let counted: i64 = sqlx::query_scalar("SELECT sent FROM send_budgets WHERE key = 'twilio:day'")
        .fetch_one(store.pool())
        .await
        .expect("the day's count");
    assert_eq!(
        counted, 1,
        "three tries of one call count once against the cap"
    );
}

#[tokio::test]
async fn a_call_whose_secret_expired_is_never_placed() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let api = TwilioStandIn::start().await;
    let id = queue_callback(&store, &clock, TO, Some(TEN_MINUTES)).await;
    clock.advance(TEN_MINUTES);
    let w = worker(&db, &store, &clock, Some(&api), 5);
    let Some(Outcome::Dead { ticket, .. }) = w.run_once().await.expect("run") else {
        panic!("an expired secret's call is dead-lettered");
    };
    assert!(api.requests().is_empty(), "Twilio was never asked to call");
    let stored = outbox_row(&store, id).await;
    assert_eq!(stored.status, "dead");
    assert_eq!(stored.provider_id, None);
    assert_eq!(stored.cap_counted_at, None, "not counted against the caps");
    let open = tickets_of(&store, "undeliverable").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, ticket);
    assert!(
        open[0].summary.contains("callback call") && open[0].summary.contains("***-***-2075"),
        "{}",
        open[0].summary
    );
    assert!(!open[0].summary.contains("3036582075"));
}

#[tokio::test]
async fn calls_are_dead_lettered_when_voice_is_off_and_only_paths_here_are_queued() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let id = queue_callback(&store, &clock, TO, None).await;
    let w = worker(&db, &store, &clock, None, 5);
    assert!(matches!(
        w.run_once().await.expect("run"),
        Some(Outcome::Dead { .. })
    ));
    let stored = outbox_row(&store, id).await;
    let error = stored.last_error.expect("why");
    assert!(error.contains("voice calls are not enabled"), "{error}");
    assert_eq!(
        stored.cap_counted_at, None,
        "a call that cannot go is not counted"
    );

    for bad in [
        "https://evil.example/twiml",
        "//evil.example/x",
        "twilio/voice",
        "",
    ] {
        let mut tx = store.begin_write().await.expect("tx");
        let to = PhoneNumber::parse(TO).expect("to");
        let queued = queue_call(&mut tx, &to, CALLBACK, bad, None, None, clock.now_ms()).await;
        assert!(queued.is_err(), "{bad:?} was queued");
        tx.rollback().await.expect("rollback");
    }
    assert_eq!(
        queued_count(&store).await,
        1,
        "only the first call was ever queued"
    );
}

/// The running app with the stand-in and the given caps.
async fn app_with_caps(api: &TwilioStandIn, caps: Option<SendCaps>) -> TestApp {
    TestApp::spawn_with(|s| {
        api.configure(s);
        if let Some(c) = caps {
            s.twilio.caps = c;
        }
    })
    .await
}

async fn refusals(app: &TestApp, channel: &str, cap: &str) -> f64 {
    labelled_metric(
        &app.base,
        "helpline_twilio_cap_refusals_total",
        &[("channel", channel), ("cap", cap)],
    )
    .await
}

#[tokio::test]
async fn the_eleventh_text_to_one_number_in_a_day_is_refused_and_counted() {
    let api = TwilioStandIn::start().await;
    let app = app_with_caps(&api, None).await;
    assert_eq!(
        app.state.settings.twilio.caps.per_destination_per_day, 10,
        "the default"
    );
    let store = app.state.store.clone();
    assert_eq!(refusals(&app, "sms", "destination").await, 0.0);
    let now = app.clock.now_ms();
    let mut ids = Vec::new();
    for _ in 0..11 {
        ids.push(queue_text(&store, now, TO).await);
    }
    app.state.outbox_wake.notify_one();
    settled(&store).await;

    assert_eq!(api.texts().len(), 10, "ten texts reached Twilio");
    let dead: Vec<_> = {
        let mut v = Vec::new();
        for id in &ids {
            let row = outbox_row(&store, *id).await;
            if row.status == "dead" {
                v.push(row);
            }
        }
        v
    };
    assert_eq!(dead.len(), 1, "the eleventh is refused");
    assert_eq!(dead[0].body_text, None, "its body is cleared");
    assert_eq!(refusals(&app, "sms", "destination").await, 1.0);
    assert_eq!(refusals(&app, "sms", "day").await, 0.0);
    let open = tickets_of(&store, "send_cap_reached").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].outbox_id, Some(dead[0].id));
    assert!(
        open[0].summary.contains("***-***-2075"),
        "{}",
        open[0].summary
    );
    assert!(
        open[0].detail.contains("at most 10 in 24 hours"),
        "{}",
        open[0].detail
    );

    // Another number is not held back; a call to the capped number is (texts and calls
    // share the cap).
    queue_text(&store, now, OTHER).await;
    queue_callback(&store, &app.clock, TO, None).await;
    app.state.outbox_wake.notify_one();
    settled(&store).await;
    assert_eq!(api.texts().len(), 11);
    assert!(api.calls().is_empty(), "the call was refused");
    assert_eq!(refusals(&app, "voice", "destination").await, 1.0);

    // A day later the number may be texted again.
    app.clock.advance(Duration::from_secs(24 * 3600));
    queue_text(&store, app.clock.now_ms(), TO).await;
    app.state.outbox_wake.notify_one();
    settled(&store).await;
    assert_eq!(api.texts().len(), 12);
    assert_eq!(refusals(&app, "sms", "destination").await, 1.0);

    let logs = logs::captured();
    assert!(
        logs.contains("refused by the daily cap"),
        "the refusal is logged"
    );
    for leak in ["3036582075", "3035550142", "your password was changed"] {
        assert!(!logs.contains(leak), "«{leak}» reached the logs");
    }
}

#[tokio::test]
async fn the_overall_daily_cap_counts_every_number() {
    let api = TwilioStandIn::start().await;
    let caps = SendCaps {
        per_destination_per_day: 10,
        per_day: 3,
    };
    let app = app_with_caps(&api, Some(caps)).await;
    let store = app.state.store.clone();
    let now = app.clock.now_ms();
    for to in [
        "+13035550101",
        "+13035550102",
        "+13035550103",
        "+13035550104",
    ] {
        queue_text(&store, now, to).await;
    }
    app.state.outbox_wake.notify_one();
    settled(&store).await;
    assert_eq!(api.texts().len(), 3);
    assert_eq!(refusals(&app, "sms", "day").await, 1.0);
    assert_eq!(refusals(&app, "sms", "destination").await, 0.0);
    let open = tickets_of(&store, "send_cap_reached").await;
    assert_eq!(open.len(), 1);
    assert!(
        open[0]
            .detail
            .contains("the help line has sent its texts and calls for the day")
    );
}

/// Four workers deliver at once (on PostgreSQL each in its own connection, row locks deciding):
/// however the deliveries interleave, no cap is passed and every message ends sent or refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_never_pass_a_cap() {
    const WORKERS: usize = 4;
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let api = TwilioStandIn::start().await;
    let caps = SendCaps {
        per_destination_per_day: 5,
        per_day: 9,
    };
    let now = clock.now_ms();
    for _ in 0..12 {
        queue_text(&store, now, TO).await;
    }
    for i in 0..8 {
        queue_text(&store, now, &format!("+1303555{:04}", 200 + i)).await;
    }
    let barrier = Arc::new(Barrier::new(WORKERS));
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let w = worker(&db, &store, &clock, Some(&api), 5).with_caps(caps);
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut outcomes = Vec::new();
            while let Some(o) = w.run_once().await.expect("run") {
                outcomes.push(o);
            }
            outcomes
        }));
    }
    let mut sent = 0;
    let mut dead = 0;
    for t in tasks {
        for o in t.await.expect("worker") {
            match o {
                Outcome::Sent { .. } => sent += 1,
                Outcome::Dead { .. } => dead += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let texts = api.texts();
    assert_eq!(texts.len(), 9, "the overall cap holds: {}", texts.len());
    let to_one = texts.iter().filter(|r| r.field("To") == Some(TO)).count();
    assert!(to_one <= 5, "the cap on one number holds: {to_one}");
    assert_eq!(
        (sent, dead),
        (9, 11),
        "every message is sent or refused, once"
    );
    assert_eq!(tickets_of(&store, "send_cap_reached").await.len(), 11);
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(pending, 0);
}
