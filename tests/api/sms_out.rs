//! Text messages out: the outbox worker and the real Twilio REST client against a stand-in for
//! Twilio's API on loopback.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::{Clock, ManualClock};
use helpline::domain::ids::MessageId;
use helpline::domain::phone::PhoneNumber;
use helpline::mail::{EmailTransport, FolderTransport};
use helpline::outbox::{Outcome, Worker, queue_sms};
use helpline::store::Store;
use helpline::store::outbox::QueuedMessage;
use helpline::store::tickets;
use helpline::twilio::{SmsTransport, TwilioRest};

use crate::common::outbox::{outbox_row, test_worker};
use crate::common::smtp::closed_port;
use crate::common::twilio::{
    self as standin, Fault, SmsRequest, TwilioStandIn, expected_authorization, messages_path,
};
use crate::common::{TestApp, TestDb, test_clock};

const PASSWORD: &str = "Rk7#mWq2";
const BODY: &str = "Westminster permits: your temporary password is Rk7#mWq2. It works for \
                    10 minutes. Not you? Call 303-555-0100.";
const TO: &str = "+13036582075";
/// `public_url` of the test settings joined with the status callback route.
const STATUS_CALLBACK: &str = "http://127.0.0.1/twilio/sms/status";
const TEN_MINUTES: Duration = Duration::from_secs(600);

/// The real REST client, pointed at the stand-in.
fn twilio(db: &TestDb, twilio: &TwilioStandIn) -> Arc<dyn SmsTransport> {
    let mut settings = db.settings();
    twilio.configure(&mut settings);
    Arc::new(TwilioRest::from_settings(&settings).expect("SMS is configured"))
}

fn worker(
    db: &TestDb,
    store: &Store,
    clock: &Arc<ManualClock>,
    sms: Option<Arc<dyn SmsTransport>>,
    max_attempts: u32,
) -> Worker {
    let email: Arc<dyn EmailTransport> =
        Arc::new(FolderTransport::new(&db.dir().join("mail")).expect("mail folder"));
    test_worker(store, clock, email, sms, max_attempts)
}

/// Queues the temporary-password text; its secret lives `lifetime` from now, if it has one.
async fn queue_text(
    store: &Store,
    clock: &Arc<ManualClock>,
    lifetime: Option<Duration>,
) -> MessageId {
    let now = clock.now_ms();
    let expires = lifetime.map(|l| now + i64::try_from(l.as_millis()).expect("ms"));
    let mut tx = store.begin_write().await.expect("tx");
    let id = queue_sms(
        &mut tx,
        &PhoneNumber::parse(TO).expect("to"),
        "temporary_password",
        BODY.to_string(),
        None,
        expires,
        now,
    )
    .await
    .expect("queue")
    .expect("not stopped");
    tx.commit().await.expect("commit");
    id
}

async fn row(store: &Store, id: MessageId) -> QueuedMessage {
    outbox_row(store, id).await
}

/// Nothing in `text` gives away the secret, the body or the full number.
fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(PASSWORD), "{what} holds the secret: {text}");
    assert!(
        !text.contains("Westminster permits"),
        "{what} holds the body: {text}"
    );
    assert!(
        !text.contains("3036582075"),
        "{what} holds the number: {text}"
    );
}

#[tokio::test]
async fn a_queued_text_is_delivered_and_its_sid_kept() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let api = TwilioStandIn::start().await;
    let id = queue_text(&store, &clock, Some(TEN_MINUTES)).await;
    let stored = row(&store, id).await;
    assert_eq!(stored.channel, "sms");
    assert_eq!(stored.recipient, TO);
    assert_eq!(stored.subject, "");
    assert_eq!(stored.body_html, None);
    assert!(
        stored.message_id.starts_with("sms-"),
        "{}",
        stored.message_id
    );

    let w = worker(&db, &store, &clock, Some(twilio(&db, &api)), 5);
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
    assert_eq!(
        w.run_once().await.expect("run"),
        None,
        "nothing else is due"
    );

    let got = api.requests();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.status, 201, "the stand-in accepted it: {r:?}");
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, messages_path());
    assert_eq!(
        r.authorization.as_deref(),
        Some(expected_authorization().as_str())
    );
    assert!(
        r.content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")),
        "{r:?}"
    );
    assert_eq!(r.field("To"), Some(TO));
    assert_eq!(r.field("From"), Some(standin::FROM));
    assert_eq!(r.field("Body"), Some(BODY));
    assert_eq!(r.field("StatusCallback"), Some(STATUS_CALLBACK));
    assert_eq!(r.field("ValidityPeriod"), Some("600"));
    for name in ["To", "From", "Body", "StatusCallback", "ValidityPeriod"] {
        assert_eq!(r.count(name), 1, "{name} sent once");
    }

    let stored = row(&store, id).await;
    assert_eq!(stored.status, "sent");
    assert_eq!(stored.attempts, 1);
    assert_eq!(stored.sent_at, Some(clock.now_ms()));
    assert_eq!(stored.provider_id, r.sid, "Twilio's message sid is kept");
    assert!(
        stored
            .provider_id
            .as_deref()
            .is_some_and(|s| s.starts_with("SM"))
    );
    assert_eq!(
        stored.body_text, None,
        "the body (and the secret) is cleared once sent"
    );
    assert_eq!(stored.last_error, None);
}

#[tokio::test]
async fn a_text_without_a_secret_has_no_validity_period() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let api = TwilioStandIn::start().await;
    let id = queue_text(&store, &clock, None).await;
    let w = worker(&db, &store, &clock, Some(twilio(&db, &api)), 5);
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
    let got = api.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].status, 201);
    assert_eq!(got[0].field("ValidityPeriod"), None);
}

#[tokio::test]
async fn validity_period_is_the_time_the_secret_has_left() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let api = TwilioStandIn::start().await;
    let w = worker(&db, &store, &clock, Some(twilio(&db, &api)), 5);

    // Queued with 10 minutes left, delivered 4 minutes later: 6 minutes left.
    let id = queue_text(&store, &clock, Some(TEN_MINUTES)).await;
    clock.advance(Duration::from_secs(240));
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
    // Part seconds are dropped: 9 minutes 59.5 seconds left is 599.
    let id = queue_text(&store, &clock, Some(TEN_MINUTES)).await;
    clock.advance(Duration::from_millis(500));
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));
    // A day-long secret is capped at Twilio's 10 hours.
    let id = queue_text(&store, &clock, Some(Duration::from_secs(24 * 3600))).await;
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));

    let got = api.requests();
    let periods: Vec<_> = got.iter().map(|r| r.field("ValidityPeriod")).collect();
    assert_eq!(periods, vec![Some("360"), Some("599"), Some("36000")]);
    assert!(got.iter().all(|r| r.status == 201), "{got:?}");
}

#[tokio::test]
async fn busy_and_failing_answers_are_retried_then_delivered() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let api = TwilioStandIn::start().await;
    api.fail_next(1, Fault::TooManyRequests);
    api.fail_next(1, Fault::ServerError);
    let id = queue_text(&store, &clock, Some(TEN_MINUTES)).await;
    let expires = clock.now_ms() + 600_000;
    let w = worker(&db, &store, &clock, Some(twilio(&db, &api)), 5);

    let Some(Outcome::Retry { at, .. }) = w.run_once().await.expect("run") else {
        panic!("429 must be retried");
    };
    let stored = row(&store, id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("pending", 1));
    assert!(stored.body_text.is_some(), "kept for the next try");
    let error = stored.last_error.expect("error kept");
    assert!(error.contains("429"), "{error}");
    assert!(error.contains("20429"), "Twilio's code is kept: {error}");
    assert_clean("the error", &error);
    assert_eq!(w.run_once().await.expect("run"), None, "not due yet");

    clock.set(at);
    let Some(Outcome::Retry { at: at2, .. }) = w.run_once().await.expect("run") else {
        panic!("500 must be retried");
    };
    assert!(at2 - at >= 5_000, "backs off longer the second time");
    let error = row(&store, id).await.last_error.expect("error kept");
    assert!(error.contains("500"), "{error}");
    assert_clean("the error", &error);

    clock.set(at2);
    assert_eq!(w.run_once().await.expect("run"), Some(Outcome::Sent { id }));

    let got = api.requests();
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 500, 201]);
    assert!(got.iter().all(|r| r.field("Body") == Some(BODY)));
    // Each try asks Twilio to keep the text only as long as the secret still lives.
    let want: Vec<String> = [expires - 600_000, at, at2]
        .iter()
        .map(|t| ((expires - t) / 1000).to_string())
        .collect();
    let periods: Vec<String> = got
        .iter()
        .map(|r| r.field("ValidityPeriod").expect("validity").to_string())
        .collect();
    assert_eq!(periods, want);

    let stored = row(&store, id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("sent", 3));
    assert_eq!(stored.provider_id, got[2].sid);
    assert_eq!(stored.last_error, None);
    assert_eq!(stored.body_text, None);
}

#[tokio::test]
async fn a_rejected_number_dead_letters_and_opens_a_ticket_without_the_secret() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let api = TwilioStandIn::start().await;
    api.fail_next(1, Fault::InvalidTo);
    let id = queue_text(&store, &clock, Some(TEN_MINUTES)).await;
    let w = worker(&db, &store, &clock, Some(twilio(&db, &api)), 5);

    let Some(Outcome::Dead { ticket, .. }) = w.run_once().await.expect("run") else {
        panic!("400 must dead-letter");
    };
    let stored = row(&store, id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("dead", 1));
    assert_eq!(stored.body_text, None, "a dead letter keeps no secret");
    assert_eq!(stored.provider_id, None);
    let error = stored.last_error.expect("error kept");
    assert!(error.contains("21211"), "{error}");
    assert!(error.contains("not a valid phone number"), "{error}");
    assert_clean("the error", &error);

    let open = tickets::open_tickets(store.pool()).await.expect("tickets");
    let t = open
        .iter()
        .find(|t| t.id == ticket)
        .expect("ticket is open");
    assert_eq!(t.kind, "undeliverable");
    assert_eq!(t.channel, "sms");
    assert_eq!(t.outbox_id, Some(id));
    assert!(t.summary.contains("***-***-2075"), "{}", t.summary);
    assert!(t.detail.contains("21211"), "{}", t.detail);
    assert_clean("the ticket summary", &t.summary);
    assert_clean("the ticket detail", &t.detail);

    clock.advance(Duration::from_secs(300));
    assert_eq!(w.run_once().await.expect("run"), None, "never retried");
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test]
async fn a_secret_that_expired_while_waiting_is_never_sent() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let api = TwilioStandIn::start().await;
    let id = queue_text(&store, &clock, Some(TEN_MINUTES)).await;
    let w = worker(&db, &store, &clock, Some(twilio(&db, &api)), 5);
    clock.advance(TEN_MINUTES);

    let Some(Outcome::Dead { ticket, .. }) = w.run_once().await.expect("run") else {
        panic!("an expired secret must be dead-lettered");
    };
    assert!(api.requests().is_empty(), "the stand-in saw no request");
    let stored = row(&store, id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("dead", 0));
    assert_eq!(stored.body_text, None);
    assert!(stored.last_error.expect("reason").contains("expired"));
    let open = tickets::open_tickets(store.pool()).await.expect("tickets");
    let t = open
        .iter()
        .find(|t| t.id == ticket)
        .expect("ticket is open");
    assert_clean("the ticket summary", &t.summary);
    assert_clean("the ticket detail", &t.detail);
}

#[tokio::test]
async fn twilio_out_of_reach_is_retried() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let port = closed_port().await;
    let mut settings = db.settings();
    let api = TwilioStandIn::start().await;
    api.configure(&mut settings);
    settings.twilio.api_base =
        url::Url::parse(&format!("http://127.0.0.1:{}", port.port)).expect("url");
    let sms: Arc<dyn SmsTransport> = Arc::new(TwilioRest::from_settings(&settings).expect("sms"));
    let id = queue_text(&store, &clock, Some(TEN_MINUTES)).await;
    let w = worker(&db, &store, &clock, Some(sms), 5);

    assert!(matches!(
        w.run_once().await.expect("run"),
        Some(Outcome::Retry { .. })
    ));
    let stored = row(&store, id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("pending", 1));
    let error = stored.last_error.expect("error");
    assert!(error.contains("connect"), "{error}");
    assert!(!error.contains(standin::ACCOUNT_SID), "{error}");
    assert!(!error.contains(standin::AUTH_TOKEN), "{error}");
    assert_clean("the error", &error);
}

#[tokio::test]
async fn without_twilio_a_text_is_dead_lettered() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let id = queue_text(&store, &clock, Some(TEN_MINUTES)).await;
    let w = worker(&db, &store, &clock, None, 5);
    assert!(matches!(
        w.run_once().await.expect("run"),
        Some(Outcome::Dead { .. })
    ));
    let stored = row(&store, id).await;
    assert_eq!(stored.status, "dead");
    assert_eq!(stored.body_text, None);
    assert!(
        stored
            .last_error
            .expect("reason")
            .contains("SMS is not enabled")
    );
}

#[tokio::test]
async fn twilio_settings_turn_sms_on_and_the_token_is_never_shown() {
    let db = TestDb::new().await;
    let api = TwilioStandIn::start().await;
    let mut settings = db.settings();
    assert!(
        TwilioRest::from_settings(&settings).is_none(),
        "off by default"
    );
    api.configure(&mut settings);
    let rest = TwilioRest::from_settings(&settings).expect("on once configured");
    let shown = format!("{rest:?}");
    assert!(!shown.contains(standin::AUTH_TOKEN), "{shown}");
    settings.twilio.sms_enabled = false;
    assert!(
        TwilioRest::from_settings(&settings).is_none(),
        "off when disabled"
    );
    api.configure(&mut settings);
    settings.twilio.auth_token = None;
    assert!(
        TwilioRest::from_settings(&settings).is_none(),
        "off without a token"
    );
}

#[tokio::test]
async fn the_running_app_sends_queued_texts_through_twilio() {
    let api = TwilioStandIn::start().await;
    let mut app = TestApp::spawn_with(|s| api.configure(s)).await;
    let store = app.state.store.clone();
    let id = queue_text(&store, &app.clock, Some(TEN_MINUTES)).await;
    app.state.outbox_wake.notify_one();

    let got: Vec<SmsRequest> = api.wait_for(1).await;
    assert_eq!(got[0].status, 201, "{:?}", got[0]);
    assert_eq!(got[0].field("To"), Some(TO));
    assert_eq!(got[0].field("Body"), Some(BODY));
    app.shutdown().await.expect("stops");
    let stored = row(&store, id).await;
    assert_eq!(stored.status, "sent");
    assert_eq!(stored.provider_id, got[0].sid);
}
