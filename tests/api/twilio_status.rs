//! Twilio's status callbacks over real HTTP, signed as Twilio signs them: `/twilio/sms/status`
//! records a text's delivery, and a temporary password that did not arrive opens a ticket and
//! emails the contractor (in their language, never the secret) where to turn instead;
//! `/twilio/voice/status` records a callback's end, opens a ticket when nobody answered, and
//! closes the call's conversation. Replays, parallel deliveries and unknown sids change
//! nothing more.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::Clock;
use helpline::domain::channel::Channel;
use helpline::domain::conversation::{Checks, ConversationKey};
use helpline::domain::ids::{ContractorId, MessageId};
use helpline::domain::language::Lang;
use helpline::domain::phone::PhoneNumber;
use helpline::outbox::{CALLBACK, queue_call};
use helpline::store::conversations::NewConversation;
use helpline::store::outbox::QueuedMessage;
use helpline::store::{Store, tickets};
use tokio::sync::Barrier;

use crate::common::browser::Browser;
use crate::common::outbox::{outbox_row, settled};
use crate::common::twilio::{ACCOUNT_SID, FROM, SmsRequest, TwilioStandIn};
use crate::common::webhooks::with_webhook_token;
use crate::common::{TestApp, logs};
use crate::portal::{Portal, text_of};

const STAFF_PHONE: &str = "+13035550199";

/// The temporary password in a text, English or Spanish: the nine characters after "es " or
/// "is ".
fn temporary_password_in(body: &str) -> String {
    let at = ["password is ", "contratistas es "]
        .iter()
        .find_map(|p| body.find(p).map(|i| i + p.len()))
        .expect("a temporary password");
    body[at..at + 9].to_string()
}

/// The kiosk sends `number`'s temporary password by text to `phone`; returns the request
/// Twilio got (with its sid) and the outbox row.
async fn texted(
    p: &Portal,
    b: &mut Browser,
    number: &str,
    phone: &str,
) -> (SmsRequest, QueuedMessage) {
    let before = p.twilio.texts().len();
    b.get("/help").await;
    let page = b
        .post("/help", &[("number", number), ("phone", phone)])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = b.post("/help/send", &[("destination", "sms")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    p.twilio.wait_for(before + 1).await;
    let text = p.twilio.texts().pop().expect("a text");
    let sid = text.sid.clone().expect("accepted");
    settled(&p.app.state.store).await;
    (text, row_of(&p.app.state.store, &sid).await)
}

async fn row_of(store: &Store, sid: &str) -> QueuedMessage {
    let id: MessageId = sqlx::query_scalar("SELECT id FROM outbox WHERE provider_id = $1")
        .bind(sid)
        .fetch_one(store.pool())
        .await
        .expect("the row of the sid");
    outbox_row(store, id).await
}

/// A message status callback as Twilio posts it.
async fn message_status(app: &TestApp, sid: &str, status: &str, error: Option<&str>) -> u16 {
    let mut form = vec![
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("From", FROM),
        ("MessageSid", sid),
        ("MessageStatus", status),
        ("SmsSid", sid),
        ("SmsStatus", status),
        ("To", "+13036582075"),
    ];
    if let Some(code) = error {
        form.push(("ErrorCode", code));
    }
    let page = app.post_signed("/twilio/sms/status", &form).await;
    assert!(page.body.is_empty(), "{}", page.body);
    page.status
}

/// A call status callback as Twilio posts it.
async fn call_status(app: &TestApp, sid: &str, status: &str) -> u16 {
    let form = [
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("CallDuration", "0"),
        ("CallSid", sid),
        ("CallStatus", status),
        ("Direction", "outbound-api"),
        ("From", FROM),
        ("To", "+13036582075"),
    ];
    app.post_signed("/twilio/voice/status", &form).await.status
}

async fn tickets_of(store: &Store, kind: &str) -> Vec<tickets::Ticket> {
    tickets::open_tickets(store.pool())
        .await
        .expect("tickets")
        .into_iter()
        .filter(|t| t.kind == kind)
        .collect()
}

async fn emails_queued(store: &Store, template: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE template = $1")
        .bind(template)
        .fetch_one(store.pool())
        .await
        .expect("count")
}

/// No phone digits of the roster, no temporary password and no text body in this test's logs.
fn assert_logs_clean(secret: &str) {
    let logs = logs::captured();
    assert!(
        logs.contains("finished processing request"),
        "logs captured"
    );
    for leak in [
        secret,
        "3036582075",
        "6582075",
        "3035550177",
        "password is",
        "contraseña temporal es",
    ] {
        assert!(!logs.contains(leak), "«{leak}» reached the logs");
    }
}

#[tokio::test]
async fn a_delivered_text_is_recorded_and_a_late_report_changes_nothing() {
    let p = Portal::start().await;
    let mut b = p.browser();
    let (text, row) = texted(&p, &mut b, "C-1001", "303.658.2075").await;
    let sid = text.sid.clone().expect("sid");
    let store = &p.app.state.store;
    assert_eq!(row.delivery_status, None);

    assert_eq!(message_status(&p.app, &sid, "sent", None).await, 200);
    assert_eq!(
        row_of(store, &sid).await.delivery_status.as_deref(),
        Some("sent")
    );
    p.app.clock.advance(Duration::from_secs(3));
    let at = p.app.clock.now_ms();
    assert_eq!(message_status(&p.app, &sid, "delivered", None).await, 200);
    let row = row_of(store, &sid).await;
    assert_eq!(row.delivery_status.as_deref(), Some("delivered"));
    assert_eq!(row.delivered_at, Some(at));
    assert_eq!(row.error_code, None);

    // Out of order and replayed: nothing moves back.
    assert_eq!(message_status(&p.app, &sid, "sent", None).await, 200);
    assert_eq!(
        message_status(&p.app, &sid, "failed", Some("30003")).await,
        200
    );
    let row = row_of(store, &sid).await;
    assert_eq!(row.delivery_status.as_deref(), Some("delivered"));
    assert_eq!(row.error_code, None);
    assert!(
        tickets::open_tickets(store.pool())
            .await
            .expect("tickets")
            .is_empty()
    );
    assert_eq!(emails_queued(store, "sms_undelivered").await, 0);
    assert_logs_clean(&temporary_password_in(text.field("Body").expect("body")));
}

#[tokio::test]
async fn a_failed_temporary_password_opens_a_ticket_and_emails_the_contractor_in_spanish() {
    let p = Portal::start_with(|s| {
        s.staff_phone = Some(STAFF_PHONE.into());
        s.staff_office_hours = Some("lunes a viernes, de 8 a 5".into());
    })
    .await;
    let mut b = p.browser();
    b.accept_language = Some("es-MX,es;q=0.9".into());
    let (text, row) = texted(&p, &mut b, "C-1001", "303.658.2075").await;
    let secret = temporary_password_in(text.field("Body").expect("body"));
    let sid = text.sid.clone().expect("sid");
    let store = &p.app.state.store;
    assert_eq!(row.template, "temporary_password");

    assert_eq!(message_status(&p.app, &sid, "sent", None).await, 200);
    assert_eq!(
        message_status(&p.app, &sid, "failed", Some("30006")).await,
        200
    );

    let row = row_of(store, &sid).await;
    assert_eq!(row.delivery_status.as_deref(), Some("failed"));
    assert_eq!(row.error_code.as_deref(), Some("30006"));
    assert_eq!(row.delivered_at, None);

    let open = tickets_of(store, "sms_undelivered").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let t = &open[0];
    assert_eq!(t.priority, "normal");
    assert_eq!(t.channel, "sms");
    assert_eq!(t.contractor_id, Some(p.contractor_id("C-1001").await));
    assert_eq!(
        t.summary,
        "The temporary password text to ***-***-2075 did not arrive"
    );
    assert!(
        t.detail.contains("as failed (Twilio error 30006"),
        "{}",
        t.detail
    );
    assert!(t.detail.contains("landline"), "{}", t.detail);
    assert!(
        t.detail
            .contains("emailed at p***@frontrange-roofing.example"),
        "{}",
        t.detail
    );
    for stored in [&t.summary, &t.detail] {
        assert!(
            !stored.contains("6582075") && !stored.contains(&secret),
            "{stored}"
        );
    }

    // The first email told of the temporary password when it was texted; this one says the
    // text did not arrive.
    let mails = p.smtp.wait_for(2).await;
    assert_eq!(mails.len(), 2);
    assert!(text_of(&mails[0].data).contains("Se envió por mensaje de texto"));
    assert_eq!(
        mails[1].to,
        vec!["<pat@frontrange-roofing.example>".to_string()]
    );
    let raw = String::from_utf8_lossy(&mails[1].data).into_owned();
    let body = text_of(&mails[1].data);
    assert!(body.starts_with("Hola, Pat Alvarez:"), "in Spanish: {body}");
    assert!(body.contains("termina en 2075"), "{body}");
    assert!(body.contains("no se pudo entregar"), "{body}");
    assert!(body.contains("¿Olvidó su contraseña?"), "{body}");
    assert!(
        body.lines().any(|l| l.trim() == "http://127.0.0.1/forgot"),
        "the Forgot password page on a line of its own: {body}"
    );
    assert!(
        body.contains(
            "O llame a la División de Construcción al (303) 555-0199 (lunes a viernes, de 8 a 5)."
        ),
        "{body}"
    );
    assert!(
        !raw.contains(&secret),
        "the secret is never resent by email"
    );
    assert!(!raw.contains("6582075"), "nor the full number");

    // A replay changes nothing more.
    assert_eq!(
        message_status(&p.app, &sid, "failed", Some("30006")).await,
        200
    );
    assert_eq!(
        message_status(&p.app, &sid, "undelivered", Some("30003")).await,
        200
    );
    settled(store).await;
    assert_eq!(tickets_of(store, "sms_undelivered").await.len(), 1);
    assert_eq!(emails_queued(store, "sms_undelivered").await, 1);
    assert_eq!(
        row_of(store, &sid).await.error_code.as_deref(),
        Some("30006")
    );
    assert_logs_clean(&secret);
}

#[tokio::test]
async fn a_failed_text_without_an_email_on_record_opens_a_ticket_only() {
    let p = Portal::start().await;
    let mut b = p.browser();
    let (text, _) = texted(&p, &mut b, "C-1003", "303 555 0177").await;
    let sid = text.sid.clone().expect("sid");
    let store = &p.app.state.store;
    assert_eq!(
        message_status(&p.app, &sid, "undelivered", Some("30003")).await,
        200
    );
    let open = tickets_of(store, "sms_undelivered").await;
    assert_eq!(open.len(), 1);
    assert!(
        open[0].summary.contains("***-***-0177"),
        "{}",
        open[0].summary
    );
    assert!(
        open[0].detail.contains("No email on record"),
        "{}",
        open[0].detail
    );
    assert!(
        open[0].detail.contains("phone was off or out of reach"),
        "{}",
        open[0].detail
    );
    assert_eq!(emails_queued(store, "sms_undelivered").await, 0);
    settled(store).await;
    assert!(p.smtp.received().is_empty());
    assert_logs_clean(&temporary_password_in(text.field("Body").expect("body")));
}

/// The same failure posted many times at once (as retries and a second instance can): one
/// ticket, one email, on either database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failure_posted_in_parallel_opens_one_ticket_and_sends_one_email() {
    const AT_ONCE: usize = 6;
    let p = Arc::new(Portal::start().await);
    let mut b = p.browser();
    let (text, _) = texted(&p, &mut b, "C-1001", "303.658.2075").await;
    let sid = text.sid.clone().expect("sid");
    let barrier = Arc::new(Barrier::new(AT_ONCE));
    let mut tasks = Vec::new();
    for i in 0..AT_ONCE {
        let (p, barrier, sid) = (p.clone(), barrier.clone(), sid.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let (status, code) = if i % 2 == 0 {
                ("failed", "30006")
            } else {
                ("undelivered", "30003")
            };
            message_status(&p.app, &sid, status, Some(code)).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), 200);
    }
    let store = &p.app.state.store;
    assert_eq!(tickets_of(store, "sms_undelivered").await.len(), 1);
    assert_eq!(emails_queued(store, "sms_undelivered").await, 1);
    settled(store).await;
    // The email that told of the temporary password, and one "did not arrive".
    let mails = p.smtp.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(p.smtp.received().len(), 2, "{}", mails.len());
    let row = row_of(store, &sid).await;
    assert!(matches!(
        row.delivery_status.as_deref(),
        Some("failed" | "undelivered")
    ));
}

#[tokio::test]
async fn unknown_sids_and_statuses_are_acknowledged_and_change_nothing() {
    let api = TwilioStandIn::start().await;
    let app = TestApp::spawn_with(|s| api.configure(s)).await;
    let store = &app.state.store;
    let unknown = "SM00000000000000000000000000000000";
    assert_eq!(
        message_status(&app, unknown, "failed", Some("30003")).await,
        200
    );
    assert_eq!(message_status(&app, unknown, "read", None).await, 200);
    assert_eq!(
        message_status(&app, "+13036582075", "failed", None).await,
        200
    );
    assert_eq!(
        call_status(&app, "CA00000000000000000000000000000000", "busy").await,
        200
    );
    assert_eq!(
        call_status(&app, "CA00000000000000000000000000000000", "ringing-ish").await,
        200
    );
    assert!(
        tickets::open_tickets(store.pool())
            .await
            .expect("tickets")
            .is_empty()
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(rows, 0);
    let logs = logs::captured();
    assert!(
        logs.contains("message status for a sid Helpline did not send"),
        "unknown sids are logged at info"
    );
    assert!(logs.contains(unknown));
    assert!(
        !logs.contains("3036582075"),
        "a number in the sid's place is not echoed"
    );
}

#[tokio::test]
async fn status_callbacks_must_be_signed() {
    let app = TestApp::spawn_with(with_webhook_token).await;
    for path in ["/twilio/sms/status", "/twilio/voice/status"] {
        let form = [
            ("MessageSid", "SM1"),
            ("MessageStatus", "failed"),
            ("CallSid", "CA1"),
            ("CallStatus", "busy"),
        ];
        assert_eq!(
            app.post_twilio(path, &form, None).await.status,
            400,
            "{path}"
        );
        let forged = app
            .post_twilio(path, &form, Some("bm90IGEgc2lnbmF0dXJl"))
            .await;
        assert_eq!(forged.status, 403, "{path}");
        // Signed, but without the fields the route reads.
        assert_eq!(
            app.post_signed(path, &[("AccountSid", ACCOUNT_SID)])
                .await
                .status,
            400,
            "{path}"
        );
    }
    assert!(
        tickets::open_tickets(app.state.store.pool())
            .await
            .expect("tickets")
            .is_empty()
    );
}

/// Queues a callback for `contractor` whose TwiML path names `conversation`, lets the app
/// place it, and returns its call sid.
async fn placed_callback(
    app: &TestApp,
    api: &TwilioStandIn,
    contractor: Option<ContractorId>,
    conversation: &str,
) -> String {
    let store = &app.state.store;
    let before = api.calls().len();
    let mut tx = store.begin_write().await.expect("tx");
    queue_call(
        &mut tx,
        &PhoneNumber::parse("+13036582075").expect("to"),
        CALLBACK,
        &format!("/twilio/voice/callback?c={conversation}"),
        contractor,
        Some(app.clock.now_ms() + 600_000),
        app.clock.now_ms(),
    )
    .await
    .expect("queue");
    tx.commit().await.expect("commit");
    app.state.outbox_wake.notify_one();
    api.wait_for(before + 1).await;
    settled(store).await;
    api.calls()
        .pop()
        .and_then(|c| c.sid)
        .expect("a placed call")
}

async fn open_call(app: &TestApp, key: &str) {
    let key = ConversationKey::plain(key).expect("key");
    app.state
        .recovery
        .conversations()
        .open(
            &NewConversation {
                channel: Channel::Voice,
                key: &key,
                contractor_id: None,
                checks: Checks::NONE,
                language: Lang::En,
                state: "callback_intro",
            },
            Duration::from_secs(600),
        )
        .await
        .expect("open");
}

async fn is_live(app: &TestApp, key: &str) -> bool {
    let key = ConversationKey::plain(key).expect("key");
    app.state
        .recovery
        .conversations()
        .live(Channel::Voice, &key)
        .await
        .expect("read")
        .is_some()
}

#[tokio::test]
async fn an_unanswered_callback_opens_one_ticket_and_closes_its_conversation() {
    let api = TwilioStandIn::start().await;
    let app = TestApp::spawn_with(|s| api.configure(s)).await;
    let store = &app.state.store;
    let conversation = "cb-7f3a9e";
    open_call(&app, conversation).await;
    let sid = placed_callback(&app, &api, None, conversation).await;
    assert!(sid.starts_with("CA"));

    assert_eq!(call_status(&app, &sid, "no-answer").await, 200);
    let row = row_of(store, &sid).await;
    assert_eq!(row.delivery_status.as_deref(), Some("no-answer"));
    assert_eq!(row.delivered_at, None);
    let open = tickets_of(store, "callback_unanswered").await;
    assert_eq!(open.len(), 1);
    assert_eq!(
        open[0].summary,
        "Callback not answered: ***-***-2075 (no answer)"
    );
    assert_eq!(open[0].channel, "voice");
    assert!(!open[0].detail.contains("6582075"), "{}", open[0].detail);
    assert!(
        !is_live(&app, conversation).await,
        "the callback's conversation is closed"
    );

    // Replayed, or followed by another final word: nothing more.
    assert_eq!(call_status(&app, &sid, "no-answer").await, 200);
    assert_eq!(call_status(&app, &sid, "busy").await, 200);
    assert_eq!(tickets_of(store, "callback_unanswered").await.len(), 1);
    assert_eq!(
        row_of(store, &sid).await.delivery_status.as_deref(),
        Some("no-answer")
    );

    let logs = logs::captured();
    assert!(logs.contains(&sid), "the call's sid is logged");
    for leak in ["3036582075", "6582075"] {
        assert!(!logs.contains(leak), "«{leak}» reached the logs");
    }
}

#[tokio::test]
async fn an_answered_callback_is_recorded_and_an_inbound_call_closes_its_conversation() {
    let api = TwilioStandIn::start().await;
    let app = TestApp::spawn_with(|s| api.configure(s)).await;
    let store = &app.state.store;
    let sid = placed_callback(&app, &api, None, "cb-1").await;
    app.clock.advance(Duration::from_secs(40));
    assert_eq!(call_status(&app, &sid, "completed").await, 200);
    let row = row_of(store, &sid).await;
    assert_eq!(row.delivery_status.as_deref(), Some("completed"));
    assert_eq!(row.delivered_at, Some(app.clock.now_ms()));
    assert!(tickets_of(store, "callback_unanswered").await.is_empty());

    // An inbound call: its conversation is keyed by its CallSid, and only its end closes it.
    let inbound = "CA11112222333344445555666677778888";
    open_call(&app, inbound).await;
    assert_eq!(call_status(&app, inbound, "in-progress").await, 200);
    assert!(
        is_live(&app, inbound).await,
        "a call still going keeps its conversation"
    );
    assert_eq!(call_status(&app, inbound, "completed").await, 200);
    assert!(!is_live(&app, inbound).await, "the call's end closes it");
    assert_eq!(
        call_status(&app, inbound, "completed").await,
        200,
        "a replay is fine"
    );
    assert!(
        tickets::open_tickets(store.pool())
            .await
            .expect("tickets")
            .is_empty()
    );
}
